"""ordersync's own tables (DESIGN §3), one SQLAlchemy Core schema for SQLite, PostgreSQL and SQL Server.

The states a row can be in are declared here, once, and every table is created (and migrated)
by `StateStore.ensure_schema`. Queries elsewhere use these Table objects and bound parameters only.
"""

from __future__ import annotations

import enum
import json
import os
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ordersync.database import make_engine
from ordersync.errors import StateError

# `<prefix>meta.schema_version`: all the release before migrations reads (it refuses a higher one).
# The Alembic revision in `<prefix>alembic_version` is the real version; a migration that leaves
# tables that release cannot use raises this number (and writes it) so that it stops cleanly.
SCHEMA_VERSION = 1

# Widths of the columns the transform fills: a longer value is a row error, never a failed insert.
# A key NVARCHAR(400) and a size NVARCHAR(30) fit SQL Server's 900-byte clustered index key next to
# the board id NVARCHAR(20): 2 × (20 + 400 + 30) = 900 bytes for the synced subitems' primary key.
KEY_LENGTH = 400
SIZE_LENGTH = 30
NAME_LENGTH = 200  # customer, PO number, seasons
TITLE_LENGTH = 255  # group and item names: what Monday takes
MAX_QUANTITY = 2_147_483_647  # INTEGER on every engine


class RunStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    PLANNED = "PLANNED"  # a dry run: nothing a sync relies on was changed
    ITEMS_COMPLETED = "ITEMS_COMPLETED"
    SUBITEMS_COMPLETED = "SUBITEMS_COMPLETED"
    COMPLETED = "COMPLETED"  # items and subitems both completed
    FAILED = "FAILED"
    INTERRUPTED = "INTERRUPTED"  # found RUNNING by a later run: killed or crashed


class RunKind(enum.StrEnum):
    SYNC = "sync"
    PLAN = "plan"
    RETRY = "retry"


class DiffState(enum.StrEnum):
    NEW = "NEW"
    CHANGED = "CHANGED"
    UNCHANGED = "UNCHANGED"
    REMOVED = "REMOVED"


class Operation(enum.StrEnum):
    """What the plan does with a staged row."""

    CREATE = "create"
    UPDATE = "update"
    ARCHIVE = "archive"
    DELETE = "delete"
    NONE = "none"


class RowStatus(enum.StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    DONE = "DONE"
    ERROR = "ERROR"


class IntentStatus(enum.StrEnum):
    OPEN = "OPEN"  # committed before the request; the outcome is not known yet
    CONFIRMED = "CONFIRMED"  # the response carried the new id
    FAILED = "FAILED"  # the API refused it: nothing was created
    ADOPTED = "ADOPTED"  # resolved later: found on the board and adopted
    ABSENT = "ABSENT"  # resolved later: not on the board, so never created


class IntentOperation(enum.StrEnum):
    CREATE_GROUP = "create_group"
    CREATE_ITEM = "create_item"
    CREATE_SUBITEM = "create_subitem"


class ErrorCategory(enum.StrEnum):
    SOURCE = "source"
    VALIDATION = "validation"
    RATE_LIMIT = "rate_limit"
    AUTH = "auth"
    NOT_FOUND = "not_found"
    SERVER = "server"
    NETWORK = "network"
    DEPENDENCY = "dependency"  # could not be sent because something it needs failed (its item, its group)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _key() -> sa.Unicode:
    return sa.Unicode(KEY_LENGTH)


@dataclass(frozen=True)
class StateTables:
    """The Table objects, named with the configured prefix."""

    metadata: sa.MetaData
    meta: sa.Table
    runs: sa.Table
    staged_items: sa.Table
    staged_subitems: sa.Table
    synced_items: sa.Table
    synced_subitems: sa.Table
    groups: sa.Table
    errors: sa.Table
    write_intents: sa.Table
    locks: sa.Table


def build_tables(prefix: str = "ordersync_") -> StateTables:
    md = sa.MetaData()
    p = prefix
    meta = sa.Table(
        f"{p}meta", md,
        sa.Column("name", sa.Unicode(100), primary_key=True),
        sa.Column("value", sa.Unicode(400), nullable=False),
    )
    runs = sa.Table(
        f"{p}runs", md,
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.Unicode(20), nullable=False),
        sa.Column("board_id", sa.Unicode(20)),
        sa.Column("status", sa.Unicode(30), nullable=False),
        sa.Column("filters", sa.UnicodeText, nullable=False, default="{}"),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("items_completed_at", sa.DateTime),
        sa.Column("subitems_completed_at", sa.DateTime),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("heartbeat_at", sa.DateTime),
        sa.Column("owner", sa.Unicode(200)),
        sa.Column("progress", sa.UnicodeText),  # JSON: what the apply stage has done so far
        sa.Column("summary", sa.UnicodeText),  # JSON: counts per customer when finished
        sa.Column("message", sa.UnicodeText),
    )
    staged_items = sa.Table(
        f"{p}staged_items", md,
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("item_key", _key(), primary_key=True),
        sa.Column("customer", sa.Unicode(NAME_LENGTH), nullable=False),
        sa.Column("group_name", sa.Unicode(TITLE_LENGTH)),
        sa.Column("item_name", sa.Unicode(TITLE_LENGTH)),
        sa.Column("po_number", sa.Unicode(NAME_LENGTH)),
        sa.Column("aag_season", sa.Unicode(NAME_LENGTH)),
        sa.Column("customer_season", sa.Unicode(NAME_LENGTH)),
        sa.Column("cancelled", sa.Boolean, nullable=False, default=False),
        sa.Column("column_values", sa.UnicodeText),
        sa.Column("row_hash", sa.Unicode(64)),
        sa.Column("source_row", sa.Integer),
        sa.Column("state", sa.Unicode(12)),
        sa.Column("operation", sa.Unicode(12)),
        sa.Column("status", sa.Unicode(12), nullable=False, default=RowStatus.PENDING.value),
        sa.Column("monday_item_id", sa.Unicode(20)),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Index(f"ix_{p}staged_items_customer", "run_id", "customer"),
    )
    staged_subitems = sa.Table(
        f"{p}staged_subitems", md,
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("item_key", _key(), primary_key=True),
        sa.Column("size", sa.Unicode(SIZE_LENGTH), primary_key=True),
        sa.Column("customer", sa.Unicode(NAME_LENGTH), nullable=False),
        sa.Column("name", sa.Unicode(TITLE_LENGTH)),
        sa.Column("quantity", sa.Integer),
        sa.Column("position", sa.Integer),  # the size's place in the table: subitems are created in this order
        sa.Column("state", sa.Unicode(12)),
        sa.Column("operation", sa.Unicode(12)),
        sa.Column("status", sa.Unicode(12), nullable=False, default=RowStatus.PENDING.value),
        sa.Column("monday_subitem_id", sa.Unicode(20)),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Index(f"ix_{p}staged_subitems_customer", "run_id", "customer"),
    )
    synced_items = sa.Table(
        f"{p}synced_items", md,
        sa.Column("board_id", sa.Unicode(20), primary_key=True),
        sa.Column("item_key", _key(), primary_key=True),
        sa.Column("monday_item_id", sa.Unicode(20), nullable=False),
        sa.Column("customer", sa.Unicode(NAME_LENGTH), nullable=False),
        sa.Column("group_name", sa.Unicode(TITLE_LENGTH)),
        sa.Column("group_id", sa.Unicode(100)),
        sa.Column("item_name", sa.Unicode(TITLE_LENGTH)),
        sa.Column("po_number", sa.Unicode(NAME_LENGTH)),
        sa.Column("aag_season", sa.Unicode(NAME_LENGTH)),
        sa.Column("customer_season", sa.Unicode(NAME_LENGTH)),
        sa.Column("cancelled", sa.Boolean, nullable=False, default=False),
        sa.Column("column_values", sa.UnicodeText),
        sa.Column("row_hash", sa.Unicode(64)),
        sa.Column("run_id", sa.Integer),
        sa.Column("synced_at", sa.DateTime, nullable=False),
        sa.Index(f"ix_{p}synced_items_monday_id", "monday_item_id"),
        sa.Index(f"ix_{p}synced_items_customer", "board_id", "customer"),
    )
    synced_subitems = sa.Table(
        f"{p}synced_subitems", md,
        sa.Column("board_id", sa.Unicode(20), primary_key=True),
        sa.Column("item_key", _key(), primary_key=True),
        sa.Column("size", sa.Unicode(SIZE_LENGTH), primary_key=True),
        sa.Column("monday_subitem_id", sa.Unicode(20), nullable=False),
        sa.Column("parent_item_id", sa.Unicode(20), nullable=False),
        sa.Column("name", sa.Unicode(TITLE_LENGTH)),
        sa.Column("quantity", sa.Integer),
        sa.Column("run_id", sa.Integer),
        sa.Column("synced_at", sa.DateTime, nullable=False),
    )
    groups = sa.Table(
        f"{p}groups", md,
        sa.Column("board_id", sa.Unicode(20), primary_key=True),
        sa.Column("group_name", sa.Unicode(TITLE_LENGTH), primary_key=True),
        sa.Column("group_id", sa.Unicode(100), nullable=False),
        sa.Column("customer", sa.Unicode(NAME_LENGTH)),
        sa.Column("created_by_run", sa.Integer),  # NULL: found on the board, not created by ordersync
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    errors = sa.Table(
        f"{p}errors", md,
        sa.Column("error_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False, index=True),
        sa.Column("item_key", _key()),
        sa.Column("size", sa.Unicode(SIZE_LENGTH)),
        sa.Column("customer", sa.Unicode(NAME_LENGTH)),
        sa.Column("source_row", sa.Integer),
        sa.Column("stage", sa.Unicode(20), nullable=False),
        sa.Column("category", sa.Unicode(20), nullable=False),
        sa.Column("field", sa.Unicode(255)),
        sa.Column("message", sa.UnicodeText, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, default=1),
        sa.Column("payload", sa.UnicodeText),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    write_intents = sa.Table(
        f"{p}write_intents", md,
        sa.Column("intent_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("board_id", sa.Unicode(20), nullable=False),
        sa.Column("operation", sa.Unicode(20), nullable=False),
        sa.Column("item_key", _key()),
        sa.Column("size", sa.Unicode(SIZE_LENGTH)),
        sa.Column("group_name", sa.Unicode(TITLE_LENGTH)),
        sa.Column("parent_item_id", sa.Unicode(20)),
        sa.Column("status", sa.Unicode(12), nullable=False),
        sa.Column("monday_id", sa.Unicode(100)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("settled_at", sa.DateTime),
        sa.Index(f"ix_{p}write_intents_open", "board_id", "status"),
    )
    locks = sa.Table(
        f"{p}locks", md,
        sa.Column("board_id", sa.Unicode(20), primary_key=True),
        sa.Column("run_id", sa.Integer),
        sa.Column("owner", sa.Unicode(200), nullable=False),
        sa.Column("acquired_at", sa.DateTime, nullable=False),
        sa.Column("heartbeat_at", sa.DateTime, nullable=False),
    )
    return StateTables(md, meta, runs, staged_items, staged_subitems, synced_items, synced_subitems,
                       groups, errors, write_intents, locks)


def process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def dumps(value: Any) -> str:
    """JSON as stored in the state tables: stable key order so equal values compare equal."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


SCHEMA_ATTEMPTS = 5
_RACE_MESSAGES = ("already exists", "duplicate key", "unique constraint", "there is already an object named")


def _lost_creation_race(error: sa.exc.DBAPIError) -> bool:
    """Another process created the same table, index or version row a moment before this one."""
    return isinstance(error, sa.exc.IntegrityError) or any(
        message in str(error.orig).lower() for message in _RACE_MESSAGES)


def create_state_engine(url: str) -> Engine:
    return make_engine(url, error=StateError, section="state")


class StateStore:
    """Access to the state tables through one engine."""

    def __init__(self, engine: Engine, prefix: str = "ordersync_") -> None:
        self.engine = engine
        self.tables = build_tables(prefix)

    @classmethod
    def from_url(cls, url: str, prefix: str = "ordersync_") -> StateStore:
        return cls(create_state_engine(url), prefix)

    def ensure_schema(self) -> None:
        """Create or upgrade the tables (Alembic migrations); refuse a schema newer than this code knows.

        Two processes starting at once on a new database both find a table missing and both
        create it; the one that loses that race sees "already exists" (or a duplicate key) and
        simply looks again, when everything is there.
        """
        for attempt in range(SCHEMA_ATTEMPTS):
            try:
                self._create_schema()
                return
            except sa.exc.DBAPIError as error:
                if attempt + 1 < SCHEMA_ATTEMPTS and _lost_creation_race(error):
                    time.sleep(0.05 * (attempt + 1))
                    continue
                if isinstance(error, sa.exc.OperationalError):
                    raise StateError(f"cannot reach the state database: {error.orig}",
                                     hint="is the database server running and the URL right?") from None
                raise

    def _create_schema(self) -> None:
        """Alembic upgrades the tables to the newest revision (see state/migrations), in one transaction."""
        from ordersync.state import migrations  # Alembic loads only when the tables are checked

        prefix = self.tables.meta.name.removesuffix("meta")
        with self.engine.begin() as connection:
            migrations.upgrade(connection, prefix)

    # -- bulk load ---------------------------------------------------------------------------
    def bulk_insert(self, connection: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """Each engine's fast path: PostgreSQL COPY, SQL Server fast_executemany, SQLite executemany."""
        if not rows:
            return
        if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
            _copy_rows(connection, table, rows)
        else:
            connection.execute(sa.insert(table), list(rows))

    # -- runs --------------------------------------------------------------------------------
    def start_run(self, kind: RunKind, board_id: str | None, filters: Mapping[str, Any]) -> int:
        runs = self.tables.runs
        now = utcnow()
        with self.engine.begin() as connection:
            result = connection.execute(
                sa.insert(runs).values(
                    kind=kind.value, board_id=board_id, status=RunStatus.RUNNING.value,
                    filters=dumps(dict(filters)), started_at=now, heartbeat_at=now, owner=process_owner(),
                )
            )
            return int(result.inserted_primary_key[0])

    def set_run_status(self, run_id: int, status: RunStatus, *, message: str | None = None,
                       summary: Mapping[str, Any] | None = None) -> None:
        """The one way a run changes state. Terminal states stamp `finished_at`."""
        runs = self.tables.runs
        values: dict[str, Any] = {"status": status.value, "heartbeat_at": utcnow()}
        if status is RunStatus.ITEMS_COMPLETED:
            values["items_completed_at"] = utcnow()
        if status in (RunStatus.SUBITEMS_COMPLETED, RunStatus.COMPLETED):
            values["subitems_completed_at"] = utcnow()
        if status is not RunStatus.RUNNING:  # every other status is where a run ends
            values["finished_at"] = utcnow()
        if message is not None:
            values["message"] = message
        if summary is not None:
            values["summary"] = dumps(summary)
        with self.engine.begin() as connection:
            connection.execute(sa.update(runs).where(runs.c.run_id == run_id).values(**values))

    def record_progress(self, run_id: int, progress: Mapping[str, Any]) -> None:
        runs = self.tables.runs
        with self.engine.begin() as connection:
            connection.execute(
                sa.update(runs).where(runs.c.run_id == run_id).values(progress=dumps(progress), heartbeat_at=utcnow())
            )

    def run(self, run_id: int) -> dict[str, Any] | None:
        runs = self.tables.runs
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
        return dict(row) if row else None

    def mark_interrupted_runs(self, board_id: str | None, *, except_run: int) -> list[int]:
        """Runs still RUNNING on this board whose process is gone become INTERRUPTED."""
        runs = self.tables.runs
        with self.engine.begin() as connection:
            stale = connection.execute(
                sa.select(runs.c.run_id).where(
                    runs.c.status == RunStatus.RUNNING.value,
                    runs.c.run_id != except_run,
                    runs.c.board_id == board_id if board_id is not None else runs.c.board_id.is_(None),
                )
            ).scalars().all()
            if stale:
                connection.execute(
                    sa.update(runs).where(runs.c.run_id.in_(stale)).values(
                        status=RunStatus.INTERRUPTED.value, finished_at=utcnow(),
                        message="found unfinished by a later run (killed or crashed); its work is resumed",
                    )
                )
        return list(stale)

    def refresh_mirror_scope(self, run_id: int, board_id: str) -> None:
        """Lines the board shows unchanged may still have moved in what scopes a filtered run (an AAG
        season nothing displays, say): the mirror learns it, so later removals are scoped right."""
        staged, synced = self.tables.staged_items, self.tables.synced_items
        fields = ("customer", "po_number", "aag_season", "customer_season")

        def of_staged(name: str) -> sa.ScalarSelect:
            return sa.select(staged.c[name]).where(
                staged.c.run_id == run_id, staged.c.item_key == synced.c.item_key).scalar_subquery()

        differs = sa.or_(*(sa.not_(synced.c[name].is_not_distinct_from(staged.c[name])) for name in fields))
        unchanged = sa.select(sa.literal(1)).where(
            staged.c.run_id == run_id, staged.c.item_key == synced.c.item_key,
            staged.c.state == DiffState.UNCHANGED.value, differs).exists()
        with self.engine.begin() as connection:
            connection.execute(sa.update(synced).where(synced.c.board_id == board_id, unchanged).values(
                **{name: of_staged(name) for name in fields}))

    def prune_staged_rows(self, board_id: str, *, keep_runs: int = 5) -> int:
        """Staged rows are a run's working set: keep the last few runs' (for reports and retry),
        and any run with a write intent still open (settling it reads them); drop the rest."""
        runs, intents = self.tables.runs, self.tables.write_intents
        with self.engine.begin() as connection:
            recent = connection.execute(
                sa.select(runs.c.run_id).where(runs.c.board_id == board_id)
                .order_by(runs.c.run_id.desc()).limit(keep_runs)).scalars().all()
            needed = set(recent) | set(connection.execute(sa.select(intents.c.run_id).distinct().where(
                intents.c.status == IntentStatus.OPEN.value)).scalars().all())
            old = connection.execute(sa.select(runs.c.run_id).where(
                runs.c.board_id == board_id, runs.c.run_id.not_in(needed) if needed else sa.true(),
                runs.c.status != RunStatus.RUNNING.value)).scalars().all()
            removed = 0
            for start in range(0, len(old), 500):
                chunk = old[start:start + 500]
                for table in (self.tables.staged_subitems, self.tables.staged_items):
                    removed += connection.execute(sa.delete(table).where(table.c.run_id.in_(chunk))).rowcount
        return removed

    # -- errors ------------------------------------------------------------------------------
    def record_errors(self, connection: Connection, run_id: int, errors: Iterable[Mapping[str, Any]]) -> int:
        rows = [
            {"run_id": run_id, "created_at": utcnow(), "attempts": 1, **error}
            for error in errors
        ]
        if rows:
            connection.execute(sa.insert(self.tables.errors), rows)
        return len(rows)


def _copy_rows(connection: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """PostgreSQL COPY through psycopg 3: values travel as data, never as SQL text."""
    names = list(rows[0].keys())
    preparer = connection.dialect.identifier_preparer
    statement = "COPY {} ({}) FROM STDIN".format(
        preparer.format_table(table), ", ".join(preparer.quote(name) for name in names)
    )
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])

