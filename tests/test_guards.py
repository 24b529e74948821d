"""Guards before the first write (issue 10, points 4 and 5), through the CLI against the emulator:
a sync that would archive a large share of what it manages refuses unless `--allow-removals`; a
source whose size columns or column types changed since the last sync refuses, naming the columns,
until `--accept-source-changes` (and `validate` reports it)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cli_project import Project, cli_project
from ordersync.config import parse_config
from ordersync.engine.guards import current_shape, shape_drift
from ordersync.engine.source import open_source
from ordersync.sample_data import write_sample_data
from ordersync.sample_data.config import sample_config_text

# GREYSON's lines keep the test small: 69 of the sample's 100 lines, ~250 sizes.
CUSTOMER = ("--customer", "GREYSON")


def board_counts(project: Project, subitem_board: str) -> tuple[int, int]:
    """(active items, active subitems) as the board itself reports them."""
    found = project.graphql("query ($ids: [ID!]) { boards(ids: $ids) { id items_count } }",
                            ids=[project.board_id, subitem_board])["boards"]
    counts = {board["id"]: board["items_count"] for board in found}
    return counts[project.board_id], counts[subitem_board]


def source(project: Project, *statements: str) -> None:
    engine = sa.create_engine(project.source_url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def last_run(project: Project) -> dict:
    return project.run("status", "--json").json()["runs"][0]


def test_a_sync_that_would_archive_half_the_board_refuses_until_removals_are_allowed(tmp_path):
    with cli_project(tmp_path, rows=100) as project:
        first = project.run("sync", *CUSTOMER, "--json")
        assert first.exit_code in (0, 1), first.stderr
        subitem_board = project.run("validate", "--json").json()["subitem_board_id"]
        before = board_counts(project, subitem_board)
        assert before[0] >= 60

        source(project, 'DELETE FROM "ORDERS_UNIFIED" WHERE rowid % 2 = 0')  # an emptied half, whatever the cause
        refused = project.run("sync", *CUSTOMER, "--json")

        assert refused.exit_code == 2, refused.stdout
        error = refused.json()["error"]
        assert error["type"] == "TooManyRemovals"
        assert "items" in error["message"] and "--allow-removals" in error["hint"]
        assert board_counts(project, subitem_board) == before  # not one write
        run = last_run(project)
        assert run["status"] == "FAILED" and "TooManyRemovals" in run["message"]

        planned = project.run("plan", *CUSTOMER, "--json")  # plan warns, never fails
        assert planned.exit_code == 0, planned.stderr
        assert any("--allow-removals" in warning for warning in planned.json()["guards"])

        allowed = project.run("sync", *CUSTOMER, "--allow-removals", "--json")
        assert allowed.exit_code in (0, 1), allowed.stderr
        archived = allowed.json()["totals"]["items"]["archive"]
        assert archived > before[0] * 0.3
        assert board_counts(project, subitem_board)[0] == before[0] - archived


def test_a_few_removals_pass_the_guard_without_a_flag(tmp_path):
    with cli_project(tmp_path, rows=100) as project:
        assert project.run("sync", *CUSTOMER, "--json").exit_code in (0, 1)
        source(project, 'DELETE FROM "ORDERS_UNIFIED" WHERE rowid IN (SELECT rowid FROM "ORDERS_UNIFIED" '
                        "WHERE \"CUSTOMER NAME\" = 'GREYSON' LIMIT 3)")
        passed = project.run("sync", *CUSTOMER, "--json")
        assert passed.exit_code in (0, 1), passed.stdout
        assert 1 <= passed.json()["totals"]["items"]["archive"] <= 3


def test_a_size_column_that_changes_type_or_name_stops_the_sync_until_accepted(tmp_path):
    with cli_project(tmp_path, rows=100) as project:
        assert project.run("sync", *CUSTOMER, "--json").exit_code in (0, 1)
        subitem_board = project.run("validate", "--json").json()["subitem_board_id"]
        before = board_counts(project, subitem_board)

        # a view that wraps a size in ifnull(): "M" has no integer type any more, so it is no size
        engine = sa.create_engine(project.source_url)
        with engine.connect() as connection:
            names = [column["name"] for column in sa.inspect(connection).get_columns("ORDERS_UNIFIED")]
        engine.dispose()
        columns = ", ".join('ifnull("M", 0) AS "M"' if name == "M" else f'"{name}"' for name in names)
        source(project, 'ALTER TABLE "ORDERS_UNIFIED" RENAME TO "ORDERS_BASE"',
               f'CREATE VIEW "ORDERS_UNIFIED" AS SELECT {columns} FROM "ORDERS_BASE"')

        refused = project.run("sync", *CUSTOMER, "--json")
        assert refused.exit_code == 2, refused.stdout
        error = refused.json()["error"]
        assert error["type"] == "SourceShapeChanged"
        assert "'M'" in error["message"] and "--accept-source-changes" in error["hint"]
        assert board_counts(project, subitem_board) == before
        assert last_run(project)["status"] == "FAILED"

        checked = project.run("validate", "--json")
        assert checked.exit_code == 2
        assert any("'M'" in mismatch["problem"] for mismatch in checked.json()["mismatches"])

        accepted = project.run("sync", *CUSTOMER, "--accept-source-changes", "--json")
        assert accepted.exit_code in (0, 1), accepted.stdout
        m_sizes = accepted.json()["totals"]["subitems"]["archive"]
        assert m_sizes > 0 and board_counts(project, subitem_board) == (before[0], before[1] - m_sizes)
        assert project.run("validate", "--json").exit_code == 0  # the new shape is the recorded one
        assert project.run("sync", *CUSTOMER, "--json").exit_code in (0, 1)

        # renaming a size column (XL → X-LARGE) would archive and re-create every XL subitem
        renamed_columns = columns.replace('"XL"', '"X-LARGE"')
        source(project, 'DROP VIEW "ORDERS_UNIFIED"', 'ALTER TABLE "ORDERS_BASE" RENAME COLUMN "XL" TO "X-LARGE"',
               f'CREATE VIEW "ORDERS_UNIFIED" AS SELECT {renamed_columns} FROM "ORDERS_BASE"')
        renamed = project.run("sync", *CUSTOMER, "--json")
        assert renamed.exit_code == 2, renamed.stdout
        message = renamed.json()["error"]["message"]
        assert "'XL'" in message and "'X-LARGE'" in message
        assert project.run("validate", "--json").exit_code == 2


def test_naming_the_size_columns_in_the_config_confirms_a_change(tmp_path):
    with cli_project(tmp_path, rows=100) as project:
        assert project.run("sync", *CUSTOMER, "--json").exit_code in (0, 1)
        source(project, 'ALTER TABLE "ORDERS_UNIFIED" RENAME COLUMN "XL" TO "X-LARGE"')
        assert project.run("sync", *CUSTOMER, "--json").exit_code == 2

        engine = sa.create_engine(project.source_url)
        with engine.connect() as connection:
            columns = sa.inspect(connection).get_columns("ORDERS_UNIFIED")
        engine.dispose()
        names = [column["name"] for column in columns]
        block = columns[names.index("UNIT OF MEASURE") + 1:names.index("TOTAL QTY")]
        sizes = [column["name"] for column in block if isinstance(column["type"], sa.Integer)]
        assert "X-LARGE" in sizes and "XL" not in sizes
        project.edit_config('between = ["UNIT OF MEASURE", "TOTAL QTY"]',
                            "columns = [" + ", ".join(f'"{name}"' for name in sizes) + "]")
        confirmed = project.run("sync", *CUSTOMER, "--json")
        assert confirmed.exit_code in (0, 1), confirmed.stdout
        assert confirmed.json()["totals"]["subitems"]["create"] > 0


@pytest.mark.postgres
def test_alter_column_type_text_on_postgresql_is_a_size_removed(postgres_url):
    """The issue's `ALTER COLUMN "M" TYPE text`: reflected on PostgreSQL, "M" is no size any more, and
    the drift from the shape recorded before names it (a VARCHAR widened is no change)."""
    write_sample_data(postgres_url, rows=100)
    config = parse_config(sample_config_text(source_url=postgres_url, board_id="1"))
    engine = sa.create_engine(postgres_url)
    try:
        recorded = current_shape(open_source(engine, config), config)
        with engine.begin() as connection:
            connection.exec_driver_sql('ALTER TABLE "ORDERS_UNIFIED" ALTER COLUMN "M" TYPE text')
            connection.exec_driver_sql('ALTER TABLE "ORDERS_UNIFIED" ALTER COLUMN "PO NUMBER" TYPE varchar(500)')
        changed = open_source(engine, config)
    finally:
        engine.dispose()

    drift = shape_drift(recorded, current_shape(changed, config), changed)
    assert "M" not in changed.size_columns and recorded.sizes["M"] == "integer"
    assert drift.problems() == [("M", "size column 'M' is no longer a size: its type is now text, not integer")]
