"""A resync reads again only the order lines whose fingerprint changed (issue 12, goal 1) — and misses
no change: any mapped column, any size quantity, a size column added or dropped, a mapping changed, a
line whose last write failed.

Each test drives `ordersync sync` through its console entry point against an emulator over loopback
HTTP; which lines a run staged is read from its staged rows.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from cli_project import Project, cli_project
from ordersync.state import StateStore

GREYSON = ("--customer", "GREYSON")


@pytest.fixture
def project(tmp_path):
    with cli_project(tmp_path / "project", rows=150) as project:
        synced = project.run("sync", *GREYSON, "--json")
        assert synced.exit_code == 0, synced.stderr
        assert synced.json()["totals"]["items"]["create"] > 5
        yield project


def sync(project: Project, *args: str, code: int = 0) -> dict:
    result = project.run("sync", *GREYSON, "--json", *args)
    assert result.exit_code == code, result.stderr
    return result.json()


def execute(project: Project, statement: str, **values) -> None:
    engine = sa.create_engine(project.source_url)
    with engine.begin() as connection:
        connection.execute(sa.text(statement), values)
    engine.dispose()


def a_line(project: Project, where: str = "1 = 1") -> dict[str, str]:
    """The key columns of one GREYSON line with a quantity in size M."""
    engine = sa.create_engine(project.source_url)
    with engine.connect() as connection:
        row = connection.execute(sa.text(
            'SELECT "AAG ORDER NUMBER", "PLANNED DELIVERY METHOD", "CUSTOMER STYLE" FROM "ORDERS_UNIFIED" '
            f'WHERE "CUSTOMER NAME" = \'GREYSON\' AND "M" > 0 AND "AAG ORDER NUMBER" IS NOT NULL AND {where} '
            'ORDER BY "AAG ORDER NUMBER" LIMIT 1')).one()
    engine.dispose()
    return {"aag": row[0], "method": row[1], "style": row[2]}


THE_LINE = '"AAG ORDER NUMBER" = :aag AND "PLANNED DELIVERY METHOD" = :method AND "CUSTOMER STYLE" = :style'


def staged_keys(project: Project) -> list[str]:
    """The order lines the last run staged (the lines it read, transformed and compared)."""
    store = StateStore.from_url(project.source_url)
    try:
        runs, staged = store.tables.runs, store.tables.staged_items
        with store.engine.connect() as connection:
            last = connection.execute(sa.select(sa.func.max(runs.c.run_id))).scalar_one()
            return list(connection.execute(sa.select(staged.c.item_key).where(
                staged.c.run_id == last, staged.c.state != "REMOVED")).scalars())
    finally:
        store.engine.dispose()


def counts(result: dict, kind: str) -> dict[str, int]:
    return result["totals"][kind]


def test_a_resync_with_nothing_changed_stages_nothing_and_counts_every_line_unchanged(project):
    again = sync(project)
    assert staged_keys(project) == []
    items = counts(again, "items")
    assert items["create"] == items["update"] == items["archive"] == items["failed"] == 0
    assert items["unchanged"] > 5 and counts(again, "subitems")["unchanged"] > items["unchanged"]


def test_a_changed_mapped_column_is_read_again_alone_and_updated(project):
    line = a_line(project)
    execute(project, f'UPDATE "ORDERS_UNIFIED" SET "NOTES" = \'call the mill first\' WHERE {THE_LINE}', **line)
    again = sync(project)
    assert len(staged_keys(project)) == 1
    assert counts(again, "items")["update"] == 1 and counts(again, "items")["unchanged"] > 5
    assert sync(project)["totals"]["items"]["update"] == 0 and staged_keys(project) == []


def test_a_changed_size_quantity_is_read_again_and_its_subitem_updated(project):
    line = a_line(project)
    execute(project, f'UPDATE "ORDERS_UNIFIED" SET "M" = "M" + 3 WHERE {THE_LINE}', **line)
    again = sync(project)
    assert len(staged_keys(project)) == 1
    assert counts(again, "subitems")["update"] == 1 and counts(again, "items")["update"] == 0


def test_a_size_column_dropped_from_the_source_reads_every_line_again(project):
    execute(project, 'ALTER TABLE "ORDERS_UNIFIED" DROP COLUMN "M"')
    dropped = sync(project, "--accept-source-changes", "--allow-removals")
    assert len(staged_keys(project)) > 5  # the size columns changed: every line is read again
    assert counts(dropped, "subitems")["archive"] > 0  # every size M, gone from the source, leaves the board
    assert counts(sync(project), "subitems")["archive"] == 0 and staged_keys(project) == []


def test_a_size_column_added_to_the_source_reads_every_line_again(project):
    line = a_line(project)
    store = StateStore.from_url(project.source_url)
    sizes = store.engine.connect().execute(sa.select(store.tables.source_shapes.c.shape)).scalar_one()
    store.engine.dispose()
    execute(project, 'ALTER TABLE "ORDERS_UNIFIED" ADD COLUMN "5XL" INTEGER')
    execute(project, f'UPDATE "ORDERS_UNIFIED" SET "5XL" = 4 WHERE {THE_LINE}', **line)
    names = [*json.loads(sizes)["sizes"], "5XL"]
    project.edit_config('between = ["UNIT OF MEASURE", "TOTAL QTY"]', f"columns = {json.dumps(names)}")
    added = sync(project, "--accept-source-changes")
    assert len(staged_keys(project)) > 5
    assert counts(added, "subitems")["create"] == 1 and counts(added, "items")["update"] == 0


def test_a_mapping_change_reads_every_line_again(project):
    project.edit_config('source = "CUSTOMER STYLE"\n', 'source = "CUSTOMER STYLE"\ntransform = "lower"\n')
    changed = sync(project)
    assert len(staged_keys(project)) > 5
    assert counts(changed, "items")["update"] > 5


def test_a_line_whose_write_failed_is_read_again_while_its_fingerprint_is_unchanged(project):
    line = a_line(project)
    execute(project, f'UPDATE "ORDERS_UNIFIED" SET "UNIT OF MEASURE" = \'DOZENS\' WHERE {THE_LINE}', **line)
    failed = sync(project, code=1)
    assert counts(failed, "items")["failed"] == 1
    again = sync(project, code=1)  # the source did not change: the line is still sent, and still refused
    assert len(staged_keys(project)) == 1
    assert counts(again, "items")["failed"] == 1 and counts(again, "items")["unchanged"] > 5


def test_a_setting_that_does_not_change_how_a_line_becomes_an_item_keeps_the_fingerprints(project):
    """`[items] on_removed` and the bulk-archive settings act on lines gone from the source, never on how
    a line reads: changing them (or upgrading to a release that adds such a setting) reads nothing again."""
    project.edit_config('on_removed = "archive"', 'on_removed = "delete"\nbulk_archive_over = 50')
    unchanged = sync(project)
    assert staged_keys(project) == []
    assert counts(unchanged, "items")["unchanged"] > 5


def synced_keys(project: Project) -> set[str]:
    store = StateStore.from_url(project.source_url)
    try:
        with store.engine.connect() as connection:
            return set(connection.execute(sa.select(store.tables.synced_items.c.item_key)).scalars())
    finally:
        store.engine.dispose()


def test_a_trial_run_with_a_limit_records_the_fingerprints_of_the_lines_it_wrote(tmp_path):
    """A trial `--limit` sync writes its lines with their fingerprints (read before their values): the next
    run reads only the lines not written yet, not those again."""
    with cli_project(tmp_path / "project", rows=150) as project:
        assert sync(project, "--limit", "4")["totals"]["items"]["create"] == 4
        written = synced_keys(project)

        again = sync(project)

        staged = set(staged_keys(project))
        assert staged and not staged & written  # the lines still new, and none of the four
        assert counts(again, "items")["unchanged"] == 4
