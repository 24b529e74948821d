"""Engines for the source and state databases, with the settings each engine family needs, and the
one place a database that cannot be used becomes a typed error.

SQLite gets WAL journaling and a busy timeout: the state tables live in the same file as the
sample source by default, and staging writes while the extract still streams from it (with a
rollback journal the reader would block the writer). A dashboard can also read during a sync.

No wait is endless: SQLite waits `lock_seconds` for another process's write lock (its busy
timeout), PostgreSQL sessions set `lock_timeout`, `statement_timeout` and a connect timeout. What
ends such a wait — and a locked, read-only, full, missing or unreachable database — is turned into
the engine's typed error (`StateError`, `SourceError`) by `database_failure`, hooked into every
engine `make_engine` builds, so no caller needs its own try/except.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ordersync.errors import OrdersyncError


@dataclass(frozen=True)
class Timeouts:
    """How long one session waits: for a lock another process holds (SQLite's busy timeout,
    PostgreSQL's lock_timeout), for one statement and for a connection (PostgreSQL)."""

    lock_seconds: float = 30.0
    statement_seconds: float = 300.0
    connect_seconds: float = 10.0


def display_url(url: str) -> str:
    """A URL as it may be printed: never with its password."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable URL>"


def make_engine(url: str, *, error: type[OrdersyncError], section: str, timeouts: Timeouts | None = None) -> Engine:
    """An engine whose failures to use the database raise `error` naming the [section] to check."""
    timeouts = timeouts or Timeouts()
    try:
        parsed = sa.engine.make_url(url)
        engine = sa.create_engine(parsed, **_engine_options(parsed, timeouts))
    except Exception as problem:  # a bad URL or a missing driver: say which, never echo a password
        raise error(f"cannot use database {display_url(url)}: {problem}",
                    hint=f"check [{section}] url in ordersync.toml") from None
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    @sa.event.listens_for(engine, "handle_error")
    def _typed(context: sa.engine.ExceptionContext) -> None:
        failure = database_failure(context.original_exception, url=url, section=section, timeouts=timeouts)
        if failure is not None:
            message, hint = failure
            raise error(message, hint=hint)

    return engine


def _engine_options(url: sa.engine.URL, timeouts: Timeouts) -> dict[str, Any]:
    if url.get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": timeouts.lock_seconds}}
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("psycopg", "psycopg2"):
        # jit off: PostgreSQL compiles a query with JIT when its estimate is large, and the wide source
        # table's estimates always are — compiling the changed lines' read took 1.4 s of its 1.5 s, to scan
        # 100,000 rows in 0.07 s (measured, PostgreSQL 15). A URL's `options=-c jit=on` turns it back on.
        options = (f"-c lock_timeout={round(timeouts.lock_seconds * 1000)} "
                   f"-c statement_timeout={round(timeouts.statement_seconds * 1000)} -c jit=off")
        given = url.query.get("options")  # the URL's own options come last: they win
        connect_args: dict[str, Any] = {"options": f"{options} {given}" if isinstance(given, str) else options}
        if "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = max(1, round(timeouts.connect_seconds))
        return {"connect_args": connect_args}
    if url.drivername == "mssql+pyodbc":
        return {"fast_executemany": True}
    return {}


# (what the driver says, in lower case) → the problem; SQLite speaks only in messages.
_LOCKED = ("database is locked", "database table is locked")
_READ_ONLY = ("readonly database", "read-only transaction")
_FULL = ("database or disk is full", "no space left on device", "could not extend file")
_DAMAGED = ("file is not a database", "database disk image is malformed")
_NOT_THERE = ("unable to open database file",)
_LOGIN = ("password authentication failed", "authentication failed", "role \"")
_UNREACHABLE = ("connection failed", "could not connect", "connection refused", "could not translate host name",
                "timeout expired", "server closed the connection", "connection timed out", "connection is closed",
                "terminating connection")
# PostgreSQL's SQLSTATE classes of a server that cannot serve: connection, resources, operator, system.
_SERVER_CLASSES = ("08", "53", "57", "58")


def database_failure(problem: BaseException, *, url: str, section: str,
                     timeouts: Timeouts) -> tuple[str, str] | None:
    """(message, hint) when `problem` says the database cannot be used — locked past the wait, a
    statement past its timeout, read-only, full, damaged, missing, refusing the login, unreachable;
    None for anything else (a constraint, a missing table, a bug), which keeps its own exception."""
    said = str(problem).strip()
    text = said.lower()
    state = str(getattr(problem, "sqlstate", None) or getattr(problem, "pgcode", None) or "")
    reason = said.splitlines()[0] if said else type(problem).__name__
    what = f"the {section} database {display_url(url)}"
    if state == "55P03" or any(sign in text for sign in _LOCKED):
        return (f"{what} is locked by another process: gave up after waiting {timeouts.lock_seconds:g} s",
                "let the other process finish (another ordersync, a migration, a backup, an open transaction in a "
                f"SQL client) and run again; [{section}] lock_timeout_seconds sets how long to wait")
    if state == "57014" or "statement timeout" in text:
        return (f"a statement on {what} ran longer than {timeouts.statement_seconds:g} s and was stopped",
                f"find what slows or blocks the database, or raise [{section}] statement_timeout_seconds")
    if state == "53100" or any(sign in text for sign in _FULL):
        return f"{what} is full: no room to write", "free disk space where the database lives, then run again"
    if state == "25006" or any(sign in text for sign in _READ_ONLY):
        return (f"{what} is read-only: ordersync cannot write to it",
                "make the file and its folder writable by this user (SQLite writes -wal and -shm files next to it), "
                f"or point [{section}] url at a writable database")
    if any(sign in text for sign in _DAMAGED):
        return (f"{what} is damaged or not a SQLite database ({reason})",
                f"restore it from a backup, or point [{section}] url at the right file")
    if any(sign in text for sign in _NOT_THERE):
        return (f"cannot open {what}: the file cannot be created or read there",
                f"check the path in [{section}] url: SQLite creates the file, not its folder")
    if state == "3D000" or ('database "' in text and "does not exist" in text):
        return (f"{what} does not exist",
                f"create it first (createdb {_database_name(url)}), or fix the database name in [{section}] url")
    if state.startswith("28") or any(sign in text for sign in _LOGIN):
        return f"{what} refused the login: {reason}", f"check the user and password in [{section}] url"
    if state[:2] in _SERVER_CLASSES or any(sign in text for sign in _UNREACHABLE):
        return (f"cannot reach {what}: {reason}",
                f"is the database server running and reachable from here, and [{section}] url right?")
    return None


def _database_name(url: str) -> str:
    try:
        return sa.engine.make_url(url).database or "NAME"
    except sa.exc.ArgumentError:
        return "NAME"
