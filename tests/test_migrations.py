"""The state tables are versioned by Alembic (ordersync.state.migrations).

A database the release before migrations made (tests/fixtures, written by that release's own code:
see make_state_before_migrations.py) upgrades in place with every row intact, on SQLite and on
PostgreSQL; a new database gets exactly the tables `build_tables()` declares; SQL Server gets the
same DDL (compiled offline); a database newer than this code is refused.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.dialects import mssql

from ordersync.errors import StateError
from ordersync.state import SCHEMA_VERSION, StateStore, build_tables, migrations
from ordersync.state.board_registry import BoardRegistry
from ordersync.state.budget_ledger import BudgetLedger, token_fingerprint
from ordersync.state.conflicts import Conflict, Conflicts
from ordersync.state.shapes import SourceShape

FIXTURES = Path(__file__).parent / "fixtures"
BEFORE_MIGRATIONS_SQLITE = FIXTURES / "state_before_migrations.sqlite"
BEFORE_MIGRATIONS_POSTGRESQL = FIXTURES / "state_before_migrations.postgresql.sql"
TABLES_BEFORE_MIGRATIONS = ("meta", "runs", "staged_items", "staged_subitems", "synced_items", "synced_subitems",
                            "groups", "errors", "write_intents", "locks")
TABLES = (*TABLES_BEFORE_MIGRATIONS, "source_shapes", "budget_ledger",  # 0002_source_shape, 0003_budget_ledger
          "board_registry", "unchanged_lines",  # 0004_board_registry, 0005_line_fingerprints
          "board_conflicts")  # 0006_board_conflicts
LATER_COLUMNS = {"fingerprint"}  # 0005_line_fingerprints: synced_items, staged_items
SQL_SERVER = mssql.dialect(deprecate_large_types=True)


def all_rows(url: str, prefix: str = "ordersync_") -> dict[str, list[dict[str, Any]]]:
    """Every row of every state table the fixture has, in primary-key order, typed as build_tables() declares."""
    tables = build_tables(prefix)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {name: [dict(row) for row in connection.execute(
                sa.select(*(column for column in table.columns if column.name not in LATER_COLUMNS))
                .order_by(*table.primary_key.columns)).mappings()]
                for name in TABLES_BEFORE_MIGRATIONS for table in [getattr(tables, name)]}
    finally:
        engine.dispose()


def database_before_migrations(url: str) -> None:
    """Put the release-before-migrations fixture at `url` (an empty SQLite file path or PostgreSQL db)."""
    if url.startswith("sqlite"):
        shutil.copyfile(BEFORE_MIGRATIONS_SQLITE, url.removeprefix("sqlite:///"))
        return
    lines = BEFORE_MIGRATIONS_POSTGRESQL.read_text(encoding="utf-8").splitlines(keepends=True)
    script = "".join(line for line in lines if not line.startswith("--"))
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for statement in filter(str.strip, script.split(";\n")):
            connection.exec_driver_sql(statement)
    engine.dispose()


def revisions(store: StateStore, prefix: str = "ordersync_") -> tuple[str, ...]:
    with store.engine.connect() as connection:
        return migrations.current_revisions(connection, prefix)


def schema_differences(store: StateStore, prefix: str) -> list[Any]:
    """What Alembic's autogenerate finds between the database and build_tables(prefix)."""
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "include_name": lambda name, type_, parent: type_ != "table" or (
                name.startswith(prefix) and name != migrations.version_table(prefix))})
        return compare_metadata(context, build_tables(prefix).metadata)


@pytest.fixture
def stores() -> Any:
    made: list[StateStore] = []

    def make(url: str, prefix: str = "ordersync_") -> StateStore:
        made.append(StateStore.from_url(url, prefix))
        return made[-1]

    yield make
    for store in made:
        store.engine.dispose()


# -- (a) the release before migrations upgrades in place --------------------------------------

def test_the_fixture_is_a_database_made_before_migrations(database_url):
    database_before_migrations(database_url)
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        names = set(sa.inspect(connection).get_table_names())
    engine.dispose()
    assert names == {f"ordersync_{name}" for name in TABLES_BEFORE_MIGRATIONS}  # no version table: unversioned
    rows = all_rows(database_url)
    assert rows["meta"] == [{"name": "schema_version", "value": "1"}]
    assert {name: len(found) for name, found in rows.items()} == {
        "meta": 1, "runs": 2, "staged_items": 1, "staged_subitems": 1, "synced_items": 2,
        "synced_subitems": 2, "groups": 2, "errors": 1, "write_intents": 2, "locks": 0}


def test_a_database_made_before_migrations_upgrades_in_place_with_every_row(database_url, stores):
    database_before_migrations(database_url)
    before = all_rows(database_url)
    store = stores(database_url)

    store.ensure_schema()

    assert revisions(store) == (migrations.head(),)
    assert all_rows(database_url) == before
    assert before["synced_items"][0]["customer"] == "Åhléns"
    assert schema_differences(store, "ordersync_") == []
    with store.engine.begin() as connection:  # the tables take new rows, ids after the old ones
        runs = store.tables.runs
        new_run = connection.execute(sa.insert(runs).values(
            kind="sync", status="RUNNING", filters="{}", started_at=sa.func.current_timestamp())
        ).inserted_primary_key[0]
    assert new_run == 3

    store.ensure_schema()  # and again: nothing to do
    assert revisions(store) == (migrations.head(),)
    assert all_rows(database_url)["meta"] == [{"name": "schema_version", "value": str(SCHEMA_VERSION)}]


def test_a_database_at_0001_gains_the_source_shapes_table_with_every_row_kept(database_url, stores):
    database_before_migrations(database_url)  # the fixture holds 0001's schema: stamped, it is a 0001 database
    store = stores(database_url)
    with store.engine.begin() as connection:
        command.stamp(migrations.alembic_config("ordersync_", connection=connection), "0001")
    before = all_rows(database_url)

    store.ensure_schema()

    assert revisions(store) == (migrations.head(),)
    assert all_rows(database_url) == before
    assert schema_differences(store, "ordersync_") == []
    shape = SourceShape(sizes={"M": "integer"}, columns={"PO NUMBER": "text"}, size_rule={"columns": ["M"]})
    store.record_source_shape("42", shape, run_id=2)
    store.record_source_shape("42", shape, run_id=2)  # recorded again: still one row per board
    assert store.source_shape("42") == shape and store.source_shape("43") is None


def test_a_database_at_0002_gains_the_budget_ledger_with_every_row_kept(database_url, stores):
    database_before_migrations(database_url)
    store = stores(database_url)
    with store.engine.begin() as connection:
        command.upgrade(migrations.alembic_config("ordersync_", connection=connection), "0002_source_shape")
    assert revisions(store) == ("0002_source_shape",)
    with store.engine.connect() as connection:
        assert not sa.inspect(connection).has_table("ordersync_budget_ledger")
    shape = SourceShape(sizes={"M": "integer"}, columns={}, size_rule={})
    store.record_source_shape("42", shape, run_id=2)
    before = all_rows(database_url)

    store.ensure_schema()

    assert revisions(store) == (migrations.head(),) == ("0007_conflict_sizes",)
    assert all_rows(database_url) == before and store.source_shape("42") == shape
    assert schema_differences(store, "ordersync_") == []
    ledger = BudgetLedger(store.engine, store.tables, token_fingerprint("a-token"))
    grant = ledger.reserve(100, limit=1_000, window=60)
    assert grant.reservation and grant.wait_seconds == 0
    ledger.settle(grant.reservation, 80)
    with store.engine.connect() as connection:
        row = connection.execute(sa.select(store.tables.budget_ledger)).mappings().one()
    assert row["token_fingerprint"] == token_fingerprint("a-token") != "a-token" and row["limit_points"] == 1_000
    assert "a-token" not in str(dict(row))


def test_a_database_at_0003_gains_the_board_registry_with_every_row_kept(database_url, stores):
    database_before_migrations(database_url)
    store = stores(database_url)
    with store.engine.begin() as connection:
        command.upgrade(migrations.alembic_config("ordersync_", connection=connection), "0003_budget_ledger")
    assert revisions(store) == ("0003_budget_ledger",)
    with store.engine.connect() as connection:
        assert not sa.inspect(connection).has_table("ordersync_board_registry")
    BudgetLedger(store.engine, store.tables, token_fingerprint("a-token")).reserve(100, limit=1_000, window=60)
    before = all_rows(database_url)

    store.ensure_schema()

    assert revisions(store) == (migrations.head(),) == ("0007_conflict_sizes",)
    assert all_rows(database_url) == before
    with store.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(store.tables.budget_ledger)).scalar_one() == 1
    assert schema_differences(store, "ordersync_") == []
    registry = BoardRegistry(store.engine, store.tables)
    registry.record_intent("42", 1, "Orders 1")
    registry.record_intent("42", 1, "Orders 1")  # asked again: still one row
    assert [(board.sequence, board.board_id) for board in registry.boards("42")] == [(1, None)]
    registry.record_board("42", 1, "4201")
    assert [(board.board_name, board.board_id) for board in registry.boards("42")] == [("Orders 1", "4201")]


def test_a_database_at_0004_gains_line_fingerprints_with_every_row_kept(database_url, stores):
    database_before_migrations(database_url)
    store = stores(database_url)
    with store.engine.begin() as connection:
        command.upgrade(migrations.alembic_config("ordersync_", connection=connection), "0004_board_registry")
    assert revisions(store) == ("0004_board_registry",)
    with store.engine.connect() as connection:
        assert not sa.inspect(connection).has_table("ordersync_unchanged_lines")
        assert "fingerprint" not in {column["name"] for column in sa.inspect(connection).get_columns(
            "ordersync_synced_items")}
    before = all_rows(database_url)

    store.ensure_schema()

    assert revisions(store) == (migrations.head(),) == ("0007_conflict_sizes",)
    assert all_rows(database_url) == before
    assert schema_differences(store, "ordersync_") == []
    synced = store.tables.synced_items
    with store.engine.connect() as connection:  # every line the mirror held is read again by the next sync
        assert connection.execute(sa.select(sa.func.count()).where(synced.c.fingerprint.is_not(None))).scalar() == 0
        assert connection.execute(sa.select(sa.func.count()).select_from(synced)).scalar() > 0


def test_a_database_at_0006_gains_the_conflicts_size_with_every_conflict_kept(database_url, stores):
    database_before_migrations(database_url)
    store = stores(database_url)
    with store.engine.begin() as connection:
        command.upgrade(migrations.alembic_config("ordersync_", connection=connection), "0006_board_conflicts")
        assert "size" not in {column["name"] for column in sa.inspect(connection).get_columns(
            "ordersync_board_conflicts")}
        connection.execute(sa.text(
            "INSERT INTO ordersync_board_conflicts (board_id, item_key, item_id, column_id, policy, board_text, "
            "recorded_at) VALUES ('42', 'PO-1 | OCEAN | ST-1', '101', 'text_pattern', 'keep', 'B', "
            "'2026-12-03 12:00:00')"))

    store.ensure_schema()

    assert revisions(store) == (migrations.head(),) == ("0007_conflict_sizes",)
    assert schema_differences(store, "ordersync_") == []
    conflicts = Conflicts(store.tables, "42")
    with store.engine.begin() as connection:
        [kept] = conflicts.listing(connection)
        assert (kept["item_key"], kept["column_id"], kept["size"], kept["board_text"]) == (
            "PO-1 | OCEAN | ST-1", "text_pattern", None, "B")
        # the same column of a size is a conflict of its own: the size tells the subitem
        assert conflicts.record(connection, Conflict("PO-1 | OCEAN | ST-1", "201", "text_pattern", "keep", 1, "B",
                                                     None, None, None, size="M"))
        assert not conflicts.record(connection, Conflict("PO-1 | OCEAN | ST-1", "201", "text_pattern", "keep", 1,
                                                         "B", None, None, None, size="M"))
        assert [row["size"] for row in conflicts.listing(connection)] == ["M", None]


def test_a_new_database_gets_exactly_the_declared_tables_from_the_migrations(database_url, stores):
    store = stores(database_url)
    store.ensure_schema()

    assert revisions(store) == (migrations.head(),)
    assert schema_differences(store, "ordersync_") == []
    assert all_rows(database_url)["meta"] == [{"name": "schema_version", "value": str(SCHEMA_VERSION)}]


def test_several_prefixes_share_a_database_each_with_its_own_version(database_url, stores):
    database_before_migrations(database_url)
    legacy, east = stores(database_url), stores(database_url, "east_")

    east.ensure_schema()
    assert revisions(legacy) == ()  # the other prefix's unversioned tables are left alone
    legacy.ensure_schema()

    assert revisions(east, "east_") == revisions(legacy) == (migrations.head(),)
    assert schema_differences(east, "east_") == []
    assert all_rows(database_url, "east_")["runs"] == []
    assert len(all_rows(database_url)["runs"]) == 2


# -- (b) SQL Server, compile-level ------------------------------------------------------------

def _normalized(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def test_the_migrations_write_the_declared_ddl_for_sql_server():
    sql = migrations.offline_sql("ordersync_", "mssql", deprecate_large_types=True)
    text = _normalized(sql)

    tables = build_tables()
    for table in tables.metadata.sorted_tables:  # exactly what build_tables() compiles to there
        created = _normalized(str(sa.schema.CreateTable(table).compile(dialect=SQL_SERVER)))
        if table.name == "ordersync_board_conflicts":  # its size added by 0007_conflict_sizes
            created = created.replace(" size NVARCHAR(30) NULL,", "")
            assert f"ALTER TABLE {table.name} ADD size NVARCHAR(30) NULL" in text
        assert created.replace(" fingerprint NVARCHAR(64) NULL,", "") in text  # added by 0005_line_fingerprints:
        if "fingerprint" in table.c:
            assert f"ALTER TABLE {table.name} ADD fingerprint NVARCHAR(64) NULL" in text
        for index in table.indexes:
            assert _normalized(str(sa.schema.CreateIndex(index).compile(dialect=SQL_SERVER))) in text
    assert "CREATE TABLE ordersync_alembic_version ( version_num VARCHAR(32) NOT NULL" in text
    assert "item_key NVARCHAR(400) NOT NULL" in text
    assert "run_id INTEGER NOT NULL IDENTITY" in text
    assert "column_values NVARCHAR(max)" in text
    assert "NTEXT" not in text and "IF NOT EXISTS" not in text
    assert "INSERT INTO ordersync_meta (name, value) VALUES (N'schema_version', N'1');" in text
    assert "IDENTITY_INSERT" not in text  # SQL Server refuses it on a table without an identity
    assert ("INSERT INTO ordersync_alembic_version (version_num) OUTPUT inserted.version_num "
            "VALUES ('0001')") in text  # then each later revision moves it on, up to the head
    assert f"UPDATE ordersync_alembic_version SET version_num='{migrations.head()}'" in text
    assert sql.count("CREATE TABLE") == len(TABLES) + 1
    assert "\nGO\n" in sql  # batches a SQL Server client runs one by one


def test_the_migrations_name_every_table_and_index_from_the_prefix():
    sql = migrations.offline_sql("east_", "mssql", deprecate_large_types=True)

    assert "ordersync_" not in sql
    names = set(re.findall(r"CREATE (?:TABLE|INDEX) (\w+)", sql))
    assert len(names) == len(TABLES) + 1 + 7  # the alembic version table, the indexes
    assert all(name.startswith(("east_", "ix_east_")) for name in names)


# -- (c) a database newer than this code -------------------------------------------------------

def test_a_database_at_an_unknown_newer_revision_is_refused(database_url, stores):
    store = stores(database_url)
    store.ensure_schema()
    version = sa.table(migrations.version_table("ordersync_"), sa.column("version_num"))
    with store.engine.begin() as connection:
        connection.execute(sa.update(version).values(version_num="9999"))

    with pytest.raises(StateError) as refused:
        StateStore.from_url(database_url).ensure_schema()

    assert "the state tables are at migration 9999, which this ordersync does not know" in str(refused.value)
    assert refused.value.hint == "upgrade ordersync"
    assert revisions(store) == ("9999",)  # nothing was touched


def test_an_unversioned_database_with_a_newer_schema_version_is_refused(database_url, stores):
    database_before_migrations(database_url)
    meta = build_tables().meta
    store = stores(database_url)
    with store.engine.begin() as connection:
        connection.execute(sa.update(meta).values(value="2"))

    with pytest.raises(StateError, match="schema version 2, this ordersync knows 1") as refused:
        store.ensure_schema()

    assert refused.value.hint == "upgrade ordersync"
    assert revisions(store) == ()


def test_the_head_read_from_the_revision_files_is_alembics_own():
    from ordersync.state import schema_head

    assert schema_head() == migrations.head()


def test_a_state_database_at_head_opens_without_loading_alembic(tmp_path):
    """The usual start-up (tables already at the newest revision) reads the version table and goes on:
    Alembic, a second of imports on a resync that has nothing to do, loads only to create or upgrade."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'state.db'}"
    script = ("import sys; from ordersync.state import StateStore; store = StateStore.from_url(%r, 'ordersync_');"
              " store.ensure_schema(); print('alembic' in sys.modules)")
    first = subprocess.run([sys.executable, "-c", script % url], capture_output=True, text=True, check=True)
    again = subprocess.run([sys.executable, "-c", script % url], capture_output=True, text=True, check=True)
    assert (first.stdout.strip(), again.stdout.strip()) == ("True", "False")
