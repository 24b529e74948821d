"""ordersync's state: its own tables and the one way to change each (DESIGN §3, §7).

    schema.py       the tables and the states a row or run can be in (re-exported here)
    transitions.py  the only writer of status columns: each change names the states it may come from
    mirror.py       the only writer of the synced mirror (items, subitems, groups)
    records.py      one request's outcome recorded in one transaction (statuses, mirror, intents, errors)
    intents.py      the write-intents table (committed before a create, settled after)
    shapes.py       the source's shape per board, as its last sync read it (the only writer)
    migrations/     Alembic revisions: `ensure_schema` upgrades any earlier database in place
    lock.py         one writer per board

`StateStore` (here) holds the engine, creates and migrates the tables (`ensure_schema`), starts runs.
"""

from __future__ import annotations

import functools
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ordersync.database import Timeouts, make_engine
from ordersync.errors import StateError
from ordersync.state import transitions
from ordersync.state.mirror import Mirror
from ordersync.state.schema import (  # the state package's names, re-exported (__all__)
    KEY_LENGTH,
    MAX_QUANTITY,
    NAME_LENGTH,
    SIZE_LENGTH,
    TITLE_LENGTH,
    DiffState,
    ErrorCategory,
    IntentOperation,
    IntentStatus,
    Operation,
    RowStatus,
    RunKind,
    RunStatus,
    StateTables,
    build_tables,
    dumps,
    process_owner,
    utcnow,
)
from ordersync.state.shapes import SourceShape, record_shape, recorded_shape

# `<prefix>meta.schema_version`: all the release before migrations reads (it refuses a higher one).
# The Alembic revision in `<prefix>alembic_version` is the real version; a migration that leaves
# tables that release cannot use raises this number (and writes it) so that it stops cleanly.
__all__ = [
    "KEY_LENGTH", "MAX_QUANTITY", "NAME_LENGTH", "SIZE_LENGTH", "TITLE_LENGTH", "DiffState", "ErrorCategory",
    "IntentOperation", "IntentStatus", "Operation", "RowStatus", "RunKind", "RunStatus", "StateStore",
    "StateTables", "build_tables", "create_state_engine", "dumps", "process_owner", "utcnow",
]

SCHEMA_VERSION = 1


SCHEMA_ATTEMPTS = 10
_RACE_MESSAGES = ("already exists", "duplicate key", "unique constraint", "there is already an object named")
# "database is locked" (a StateError by then, see ordersync.database): SQLite refuses at once (no busy
# wait) a transaction that read the version table and then wants to write while another process
# migrates; looking again a moment later works. A lock held past the whole busy wait is no race.
_IMMEDIATE_SECONDS = 1.0


def _lost_creation_race(error: sa.exc.DBAPIError | StateError, waited: float) -> bool:
    """Another process created the same table, index or version row a moment before this one."""
    if isinstance(error, sa.exc.IntegrityError):
        return True
    said = str(error.orig if isinstance(error, sa.exc.DBAPIError) else error.__cause__).lower()
    if "database is locked" in said:
        return waited < _IMMEDIATE_SECONDS
    return any(message in said for message in _RACE_MESSAGES)


def create_state_engine(url: str, timeouts: Timeouts | None = None) -> Engine:
    return make_engine(url, error=StateError, section="state", timeouts=timeouts)


class StateStore:
    """Access to the state tables through one engine."""

    def __init__(self, engine: Engine, prefix: str = "ordersync_") -> None:
        self.engine = engine
        self.tables = build_tables(prefix)

    @classmethod
    def from_url(cls, url: str, prefix: str = "ordersync_", *, timeouts: Timeouts | None = None) -> StateStore:
        return cls(create_state_engine(url, timeouts), prefix)

    def ensure_schema(self) -> None:
        """Create or upgrade the tables (Alembic migrations); refuse a schema newer than this code knows.

        Two processes starting at once on a new database both find a table missing and both
        create it; the one that loses that race sees "already exists" (or a duplicate key) and
        simply looks again, when everything is there.
        """
        if self._schema_at_head():
            return  # the usual case, answered without loading Alembic (a second or so of imports)
        for attempt in range(SCHEMA_ATTEMPTS):
            started = time.monotonic()
            try:
                self._create_schema()
                return
            except (sa.exc.DBAPIError, StateError) as error:
                if attempt + 1 < SCHEMA_ATTEMPTS and _lost_creation_race(error, time.monotonic() - started):
                    time.sleep(0.05 * (attempt + 1))
                    continue
                if isinstance(error, sa.exc.OperationalError):
                    raise StateError(f"cannot reach the state database: {error.orig}",
                                     hint="is the database server running and the URL right?") from None
                raise

    def _schema_at_head(self) -> bool:
        """The version table names the newest revision (`schema_head`); False when unsure (no table yet,
        an older or unknown revision, revisions that do not form one line): Alembic then decides."""
        head = schema_head()
        if head is None:
            return False
        prefix = self.tables.meta.name.removesuffix("meta")
        version = sa.table(f"{prefix}alembic_version", sa.column("version_num"))
        try:
            with self.engine.connect() as connection:
                found = connection.execute(sa.select(version.c.version_num)).scalars().all()
        except sa.exc.DBAPIError:
            return False
        return found == [head]

    def _create_schema(self) -> None:
        """Alembic upgrades the tables to the newest revision (see state/migrations), in one transaction."""
        from ordersync.state import migrations  # Alembic loads only when the tables are checked

        prefix = self.tables.meta.name.removesuffix("meta")
        with self.engine.begin() as connection:
            migrations.upgrade(connection, prefix)

    def installation_id(self) -> str:
        """A random id made once per state database (kept in the meta table): what tells this
        installation's writes from another's that shares the same Monday token."""
        meta = self.tables.meta
        query = sa.select(meta.c.value).where(meta.c.name == "installation_id")
        with self.engine.connect() as connection:
            found = connection.execute(query).scalar_one_or_none()
        if found is not None:
            return str(found)
        try:
            with self.engine.begin() as connection:
                connection.execute(sa.insert(meta).values(name="installation_id", value=uuid.uuid4().hex))
        except sa.exc.IntegrityError:  # another process made it a moment ago: theirs is ours
            pass
        with self.engine.connect() as connection:
            return str(connection.execute(query).scalar_one())

    def write_scope(self, board_id: str) -> str:
        """What every Idempotency-Key of one sync is derived with: this installation, the board, and a
        random part new for each run — a restored backup counts its run and intent ids again from where
        the backup stood, and must not send a key of the writes made after it (Monday would replay
        the old answer, naming another order line's item)."""
        return f"{self.installation_id()}/{board_id}/{uuid.uuid4().hex[:12]}"

    def board_mark(self, board_id: str) -> str | None:
        """How the board looked when this database last knew it whole (see `engine.adopt`); None: never."""
        meta = self.tables.meta
        with self.engine.connect() as connection:
            found = connection.execute(sa.select(meta.c.value).where(
                meta.c.name == _mark_name(board_id))).scalar_one_or_none()
        return str(found) if found is not None else None

    def record_board_mark(self, board_id: str, mark: str) -> None:
        """After a run that left its mirror true to the board: the mark the next run compares with."""
        meta = self.tables.meta
        with self.engine.begin() as connection:
            connection.execute(sa.delete(meta).where(meta.c.name == _mark_name(board_id)))
            connection.execute(sa.insert(meta).values(name=_mark_name(board_id), value=mark))

    def pull_mark(self, board_id: str) -> str | None:
        """Where `ordersync pull` left the board (JSON: the newest update it read, of items and subitems)."""
        return self._meta_value(f"pull_mark:{board_id}")

    def record_pull_mark(self, board_id: str, mark: str) -> None:
        self._record_meta_value(f"pull_mark:{board_id}", mark)

    def webhook_subscriptions(self, board_id: str) -> str | None:
        """The board's webhooks `ordersync webhooks install` made (JSON: the URL's hash and the ids)."""
        return self._meta_value(f"webhooks:{board_id}")

    def record_webhook_subscriptions(self, board_id: str, subscriptions: str | None) -> None:
        self._record_meta_value(f"webhooks:{board_id}", subscriptions)

    def _meta_value(self, name: str) -> str | None:
        meta = self.tables.meta
        with self.engine.connect() as connection:
            found = connection.execute(sa.select(meta.c.value).where(meta.c.name == name)).scalar_one_or_none()
        return str(found) if found is not None else None

    def _record_meta_value(self, name: str, value: str | None) -> None:
        meta = self.tables.meta
        with self.engine.begin() as connection:
            connection.execute(sa.delete(meta).where(meta.c.name == name))
            if value is not None:
                connection.execute(sa.insert(meta).values(name=name, value=value))

    # -- bulk load ---------------------------------------------------------------------------
    def bulk_insert(self, connection: Connection, table: sa.Table, columns: Sequence[str],
                    rows: Sequence[Sequence[Any]], constants: Mapping[str, Any] | None = None) -> None:
        """Each engine's fast path: PostgreSQL COPY, SQL Server fast_executemany, SQLite executemany.

        `rows` are tuples in `columns` order: a staging of 100,000 lines writes them without a dict per
        row, through the INSERT SQLAlchemy compiles for the table (or COPY). `constants`: the columns every
        row gets the same value in, written once in the INSERT (SQLite) rather than bound for each row."""
        if not rows:
            return
        constants = constants or {}
        if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
            same = tuple(constants.values())
            _copy_rows(connection, table, [*columns, *constants], [(*row, *same) for row in rows] if same else rows)
        elif connection.dialect.paramstyle == "qmark":
            insert = sa.insert(table).inline().values({name: _sql_literal(value, table.c[name].type, connection.dialect)
                                              for name, value in constants.items()})
            compiled = insert.compile(dialect=connection.dialect, column_keys=list(columns))
            assert list(compiled.positiontup or ()) == list(columns), "the INSERT takes the values in column order"
            connection.exec_driver_sql(str(compiled), rows)
        else:
            connection.execute(sa.insert(table), [dict(zip(columns, row, strict=True)) | dict(constants)
                                                  for row in rows])

    def refresh_statistics(self, *tables: sa.Table) -> None:
        """PostgreSQL: ANALYZE `tables` after a bulk load, so the joins that read them next are planned on
        their real size. Autovacuum analyzes a table only after the fact, when it gets to it: the diff of a
        first load, planned on the statistics of the staging tables while they were empty, joined 320,000
        staged sizes with 100,000 staged lines by nested loops and ran past the 300 s statement timeout
        (measured). SQL Server updates its statistics as it plans; SQLite's planner needs none here."""
        if self.engine.dialect.name != "postgresql" or not tables:
            return
        with self.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE " + ", ".join(
                self.engine.dialect.identifier_preparer.format_table(table) for table in tables))

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
            return _new_id(result.inserted_primary_key)

    def set_run_status(self, run_id: int, status: RunStatus, *, message: str | None = None,
                       summary: Mapping[str, Any] | str | None = None) -> None:
        """A run reaches `status`, checked by `ordersync.state.transitions` (which stamps the times)."""
        with self.engine.begin() as connection:
            transitions.move_run(connection, self.tables, run_id, status, message=message, summary=summary)

    def fail_unfinished_run(self, run_id: int, message: str) -> bool:
        """FAILED, if the run is still RUNNING (see `transitions.fail_unfinished_run`)."""
        with self.engine.begin() as connection:
            return transitions.fail_unfinished_run(connection, self.tables, run_id, message)

    def interrupt_run(self, run_id: int, message: str) -> None:
        """INTERRUPTED, if the run is still RUNNING: a signal stopped it (one that already reached its
        final status keeps it)."""
        with self.engine.begin() as connection:
            transitions.interrupt_runs(connection, self.tables, [run_id], message)

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
            transitions.interrupt_runs(
                connection, self.tables, stale,
                "found unfinished by a later run (killed or crashed); its work is resumed")
        return list(stale)

    def source_shape(self, board_id: str) -> SourceShape | None:
        """The source's shape the board's last recorded sync read (see `state/shapes.py`)."""
        with self.engine.connect() as connection:
            return recorded_shape(connection, self.tables, board_id)

    def record_source_shape(self, board_id: str, shape: SourceShape, run_id: int | None) -> None:
        with self.engine.begin() as connection:
            record_shape(connection, self.tables, board_id, shape, run_id)

    def refresh_mirror_scope(self, run_id: int, board_id: str) -> None:
        """After a sync's writes: see `Mirror.refresh_scope` and `Mirror.record_fingerprints`."""
        with self.engine.begin() as connection:
            board_mirror = Mirror(self.tables, board_id)
            board_mirror.refresh_scope(connection, run_id)
            board_mirror.record_fingerprints(connection, run_id)

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
                unchanged = self.tables.unchanged_lines
                connection.execute(sa.delete(unchanged).where(unchanged.c.run_id.in_(chunk)))
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


MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_REVISION = re.compile(r'^(down_revision|revision)\s*=\s*(?:"([^"]*)"|\'([^\']*)\'|None)', re.MULTILINE)


@functools.cache
def schema_head() -> str | None:
    """The newest revision of `state/migrations/versions`, read from the revision files' own
    `revision`/`down_revision` lines, without Alembic; None unless they form one line of revisions."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in MIGRATIONS.glob("*.py"):
        for name, double, single in _REVISION.findall(path.read_text(encoding="utf-8")):
            value = double or single
            if value:
                (revisions if name == "revision" else parents).add(value)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def _mark_name(board_id: str) -> str:
    return f"board_mark:{board_id}"


def _sql_literal(value: Any, kind: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> sa.ColumnElement[Any]:
    """A constant (a state, a number: never text from outside) written into the statement, as the dialect
    writes that type's literal."""
    return sa.literal_column(str(sa.literal(value, kind).compile(dialect=dialect,
                                                                 compile_kwargs={"literal_binds": True})))


def _copy_rows(connection: Connection, table: sa.Table, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """PostgreSQL COPY through psycopg 3: values travel as data, never as SQL text."""
    preparer = connection.dialect.identifier_preparer
    statement = "COPY {} ({}) FROM STDIN".format(
        preparer.format_table(table), ", ".join(preparer.quote(name) for name in names)
    )
    raw = connection.connection.driver_connection
    assert raw is not None, "a checked-out connection has its driver connection"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _new_id(primary_key: Any) -> int:
    """The id the database gave the row just inserted."""
    assert primary_key is not None, "an INSERT of an autoincrement key returns it"
    return int(primary_key[0])
