"""Engines for the source and state databases, with the settings each engine family needs.

SQLite gets WAL journaling and a busy timeout: the state tables live in the same file as the
sample source by default, and staging writes while the extract still streams from it (with a
rollback journal the reader would block the writer). A dashboard can also read during a sync.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ordersync.errors import OrdersyncError


def display_url(url: str) -> str:
    """A URL as it may be printed: never with its password."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable URL>"


def make_engine(url: str, *, error: type[OrdersyncError], section: str) -> Engine:
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 60}
    elif url.startswith("mssql+pyodbc"):
        kwargs["fast_executemany"] = True
    try:
        engine = sa.create_engine(url, **kwargs)
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
    return engine
