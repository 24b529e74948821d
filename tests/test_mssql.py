"""SQL Server without a server: ordersync's DDL and every statement it issues compile with the mssql dialect.

The statements are not written out by hand: a whole life of a board — sample data, plans with
every filter, two syncs to the in-process emulator with the source edited between them, a drift
check — runs on SQLite while a listener keeps each Core statement SQLAlchemy is handed. Each is
then compiled for SQL Server. (Compiling proves the SQL can be expressed there; it does not run it.)
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mssql, sqlite

from ordersync.config import parse_config
from ordersync.engine.filters import Filters
from ordersync.engine.pipeline import plan_only
from ordersync.errors import UsageError
from ordersync.sample_data import SIZE_COLUMNS, orders_unified_table
from ordersync.sample_data.config import sample_config_text
from ordersync.state import StateStore, build_tables
from sync_world import make_world

# What a SQL Server 2012 or later tells SQLAlchemy on connecting: NVARCHAR(max), never NTEXT.
SQL_SERVER = mssql.dialect(deprecate_large_types=True)
CLUSTERED_KEY_BYTES = 900
NONCLUSTERED_KEY_BYTES = 1700


def compile_for_sql_server(statement: sa.sql.ClauseElement, **options) -> str:
    return str(statement.compile(dialect=SQL_SERVER, compile_kwargs={"render_postcompile": True, **options}))


# -- DDL ----------------------------------------------------------------------------------------

def test_state_tables_and_their_indexes_compile_for_sql_server():
    tables = build_tables()
    ddl = [compile_for_sql_server(sa.schema.CreateTable(table)) for table in tables.metadata.sorted_tables]
    ddl += [compile_for_sql_server(sa.schema.CreateIndex(index))
            for table in tables.metadata.sorted_tables for index in table.indexes]

    text = "\n".join(ddl)
    named = {field.name for field in dataclasses.fields(tables)} - {"metadata"}
    assert len(tables.metadata.sorted_tables) == len(named)  # every state table, whatever migrations added
    assert all(f"CREATE TABLE {getattr(tables, name).name} " in text for name in named)
    assert "item_key NVARCHAR(400) NOT NULL" in text
    assert "cancelled BIT NOT NULL" in text
    assert "column_values NVARCHAR(max)" in text
    assert "run_id INTEGER NOT NULL IDENTITY" in text
    assert "NTEXT" not in text


def test_source_table_ddl_and_the_sample_writer_compile_for_sql_server():
    table = orders_unified_table(sa.MetaData())

    ddl = compile_for_sql_server(sa.schema.CreateTable(table))
    insert = compile_for_sql_server(table.insert())

    quote = SQL_SERVER.identifier_preparer.quote
    assert all(f"\t{quote(size)} INTEGER NULL" in ddl for size in SIZE_COLUMNS)
    assert "[INFOR COLOUR CODE] NVARCHAR(max)" in ddl
    assert insert.startswith("INSERT INTO [ORDERS_UNIFIED] ([AAG ORDER NUMBER], [CUSTOMER NAME]")


def _key_bytes(column: sa.Column) -> int:
    """The most bytes a column takes in a SQL Server index key."""
    column_type = column.type
    if isinstance(column_type, sa.String):
        assert column_type.length, f"{column} has no length and cannot be in an index"
        return column_type.length * (2 if isinstance(column_type, sa.Unicode) else 1)
    if isinstance(column_type, sa.BigInteger):
        return 8
    if isinstance(column_type, sa.Integer):
        return 4
    raise AssertionError(f"{column}: no size known for {column_type!r}")


def test_every_state_key_fits_sql_servers_index_key_limits():
    for table in build_tables().metadata.sorted_tables:
        primary = sum(_key_bytes(column) for column in table.primary_key.columns)
        assert primary <= CLUSTERED_KEY_BYTES, f"{table.name} primary key: {primary} bytes"
        for index in table.indexes:
            size = sum(_key_bytes(column) for column in index.columns)
            assert size <= NONCLUSTERED_KEY_BYTES, f"{index.name}: {size} bytes"


# -- every statement a run issues ---------------------------------------------------------------

async def _a_board_life(url: str) -> None:
    async with make_world(url, rows=300) as world:
        scope = Filters(customers=("GREYSON", "TITLE NINE"))
        await world.sync(filters=scope)
        greyson = "\"CUSTOMER NAME\" LIKE 'GREYSON%'"
        world.execute(f'UPDATE "ORDERS_UNIFIED" SET "M" = COALESCE("M", 0) + 5 WHERE {greyson}')
        world.execute(f'UPDATE "ORDERS_UNIFIED" SET "L" = 0 WHERE {greyson} AND "AAG ORDER NUMBER" LIKE \'%1\'')
        world.execute(f'UPDATE "ORDERS_UNIFIED" SET "CUSTOMER SEASON" = \'HOLIDAY 25\', '
                      f'"ORDER TYPE" = \'CANCELLED\' WHERE {greyson} AND "AAG ORDER NUMBER" LIKE \'%2\'')
        world.execute(f'DELETE FROM "ORDERS_UNIFIED" WHERE {greyson} AND "AAG ORDER NUMBER" LIKE \'%3\'')
        world.execute('UPDATE "ORDERS_UNIFIED" SET "CUSTOMER PRICE" = \'TBC\' '
                      'WHERE "AAG ORDER NUMBER" LIKE \'%4\' AND "CUSTOMER NAME" = \'TITLE 9\'')
        world.execute('INSERT INTO "ORDERS_UNIFIED" SELECT * FROM "ORDERS_UNIFIED" '
                      f'WHERE rowid = (SELECT MIN(rowid) FROM "ORDERS_UNIFIED" WHERE {greyson})')
        world.execute('UPDATE "ORDERS_UNIFIED" SET "AAG ORDER NUMBER" = NULL WHERE rowid = '
                      '(SELECT MIN(rowid) FROM "ORDERS_UNIFIED" WHERE "CUSTOMER NAME" = \'PELOTON\')')
        await world.sync(filters=scope, allow_removals=True)  # ~10% archived: the guard is test_guards'
        await world.drift(scope)


@pytest.fixture(scope="module")
def issued(tmp_path_factory) -> Iterator[list[sa.sql.ClauseElement]]:
    """Every Core statement (and DDL) handed to any engine during a board's life."""
    url = f"sqlite:///{tmp_path_factory.mktemp('mssql') / 'ordersync.db'}"
    statements: list[sa.sql.ClauseElement] = []

    def keep(connection, clauseelement, multiparams, params, execution_options) -> None:
        if not isinstance(clauseelement, sa.TextClause):  # the test's own edits of the source
            statements.append(clauseelement)

    sa.event.listen(sa.engine.Engine, "before_execute", keep)
    try:
        asyncio.run(_a_board_life(url))
        config = parse_config(sample_config_text(source_url=url))
        for filters in (Filters(), Filters(customers=("GREYSON CLOTHIERS",), exclude_customers=("TITLE 9",),
                                           po_numbers=("4755",), aag_seasons=("2025 FALL",),
                                           customer_seasons=("2025 FALL",)),
                        Filters(customers=("NOBODY",)), Filters(limit=25)):
            try:
                plan_only(config, filters)
            except UsageError:  # a filter matching no line is refused after its check's statements ran
                assert filters.customers == ("NOBODY",)
        store = StateStore.from_url(url)
        store.record_progress(1, {"phase": "done"})
        store.run(1)
        store.engine.dispose()
    finally:
        sa.event.remove(sa.engine.Engine, "before_execute", keep)
    yield statements


def test_every_statement_ordersync_issues_compiles_for_sql_server(issued):
    failures = []
    for statement in issued:
        try:
            compile_for_sql_server(statement)
        except sa.exc.SQLAlchemyError as error:
            failures.append(f"{type(statement).__name__}: {error}")

    assert failures == []


def test_the_statements_cover_every_kind_of_read_and_write(issued):
    distinct: dict[str, str] = {}
    for statement in issued:
        distinct.setdefault(compile_for_sql_server(statement), type(statement).__name__)
    kinds = sorted(set(distinct.values()))

    assert len(distinct) >= 60
    assert {"Select", "Insert", "Update", "Delete", "CreateTable", "CreateIndex"} <= set(kinds)
    insert_selects = [text for text, kind in distinct.items() if kind == "Insert" and " SELECT " in text]
    assert any("ordersync_staged_items" in text for text in insert_selects)  # the mirror rows a run removes
    assert any("ordersync_staged_subitems" in text for text in insert_selects)
    assert any(text.startswith("DELETE FROM ordersync_staged_subitems") and "item_key IN (" in text
               for text in distinct)  # lines sharing a key taken back out
    assert any(text.startswith("UPDATE ordersync_staged_items SET state=CASE") for text in distinct)  # the diff
    assert any(text.startswith("DELETE FROM ordersync_synced_items") for text in distinct)  # archived items


def extracts(issued) -> list[tuple[str, str]]:
    """(SQLite text, SQL Server text) of each read of the source table."""
    found = []
    for statement in issued:
        if isinstance(statement, sa.Select):
            as_run = str(statement.compile(dialect=sqlite.dialect()))
            if 'FROM "ORDERS_UNIFIED"' in as_run:
                found.append((as_run, compile_for_sql_server(statement)))
    return found


def test_the_extract_limit_becomes_top_on_sql_server(issued):
    limited = [on_server for as_run, on_server in extracts(issued) if "LIMIT" in as_run]

    assert any(text.startswith("SELECT TOP 25 ") for text in limited)  # `plan --limit 25`
    assert all(text.startswith(("SELECT TOP 25 ", "SELECT TOP 1 ")) for text in limited)  # + the filter checks
    assert not [text for text in map(compile_for_sql_server, issued) if " LIMIT " in text]


def test_filter_values_reach_sql_server_as_bound_parameters(issued):
    texts = [on_server for _, on_server in extracts(issued) if "WHERE" in on_server]

    assert any("trim([ORDERS_UNIFIED].[PO NUMBER]) IN (:" in text for text in texts)
    assert any("[ORDERS_UNIFIED].[CUSTOMER NAME] NOT IN (:" in text for text in texts)
    assert not [text for text in texts if "4755" in text or "GREYSON" in text or "2025 FALL" in text]
