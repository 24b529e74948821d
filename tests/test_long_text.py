"""Text too long for Monday (issue 10, point 7): a planner would rather see the order with its note
cut than not see the order. A value longer than its column type holds (long text: 2,000 characters;
item name: 255) is cut to fit by default and recorded as a warning, not a failure; a column mapped
with `on_too_long = "reject"` keeps the old behaviour: the line fails, naming the field."""

from __future__ import annotations

import sqlalchemy as sa

from cli_project import Project, cli_project
from ordersync.emulator import store as emulator_store
from ordersync.emulator import values as emulator_values
from ordersync.monday import codec

NOTES_COLUMN = "long_text_mkr5hass"
MARKED = "GRE-LONG-1"  # the AAG ORDER NUMBER of the line under test: in its item's name and key
NOTES_MAPPING = 'source = "NOTES"\nid = "long_text_mkr5hass"   # NOTES\ntype = "long_text"\n'


def give_one_greyson_line(project: Project, **values: str) -> None:
    """One GREYSON order line gets a unique order number and `values` (column name → text)."""
    engine = sa.create_engine(project.source_url)
    changes = {"AAG ORDER NUMBER": MARKED, **values}
    assignments = ", ".join(f'"{column}" = :v{number}' for number, column in enumerate(changes))
    with engine.begin() as connection:
        connection.execute(sa.text(
            f'UPDATE "ORDERS_UNIFIED" SET {assignments} WHERE rowid = (SELECT min(rowid) FROM "ORDERS_UNIFIED" '
            "WHERE upper(\"CUSTOMER NAME\") LIKE 'GREYSON%')"),
            {f"v{number}": value for number, value in enumerate(changes.values())})
    engine.dispose()


def marked_items(project: Project) -> list[dict]:
    """The items on the board (as the emulator's API reads them back) whose name carries MARKED."""
    data = project.graphql(
        "query ($ids: [ID!]) { boards(ids: $ids) { items_page(limit: 500) { items { name "
        "column_values(ids: [\"long_text_mkr5hass\"]) { id text } } } } }", ids=[project.board_id])
    items = data["boards"][0]["items_page"]["items"]
    return [item for item in items if MARKED in item["name"]]


def test_a_note_longer_than_long_text_holds_is_cut_and_the_order_is_on_the_board_with_a_warning(tmp_path):
    note = "".join(f"line {number:05d}; " for number in range(1_000))[:10_000]
    with cli_project(tmp_path, rows=100) as project:
        give_one_greyson_line(project, NOTES=note)

        finished = project.run("sync", "--customer", "GREYSON", "--json")

        assert finished.exit_code == 0, finished.stdout + finished.stderr
        result = finished.json()
        assert result["status"] == "COMPLETED"
        assert result["totals"]["items"]["failed"] == 0
        assert result["totals"]["warnings"] == 1
        [item] = marked_items(project)
        [cell] = item["column_values"]
        assert len(cell["text"]) == 2_000 and cell["text"].endswith("…")
        assert note.startswith(cell["text"][:-1])

        report = project.run("report", "--json")
        assert report.exit_code == 0, report.stdout
        summary = report.json()
        assert summary["errors"] == 0 and summary["warnings"] == 1
        [warning] = summary["customers"]["GREYSON"]["warnings"]
        assert warning["field"] == "NOTES" and warning["category"] == "truncated" and MARKED in warning["item_key"]
        assert "10,000 characters" in warning["message"] and "2,000" in warning["message"]
        assert summary["customers"]["GREYSON"]["errors"] == []
        markdown = project.run("report").stdout
        assert "## Warnings (1)" in markdown and "## Errors (0)" in markdown

        status = project.run("status", "--json").json()
        assert status["last_sync"]["warnings"] == 1
        assert status["customers"]["GREYSON"]["failed"] == 0

        nothing = project.run("retry", "--json")  # a warning is not a failure: there is nothing to send again
        assert nothing.exit_code == 2, nothing.stdout


def test_a_column_set_to_reject_fails_the_line_naming_the_field(tmp_path):
    with cli_project(tmp_path, rows=100) as project:
        project.edit_config(NOTES_MAPPING, NOTES_MAPPING + 'on_too_long = "reject"\n')
        give_one_greyson_line(project, NOTES="N" * 10_000)

        finished = project.run("sync", "--customer", "GREYSON", "--json")

        assert finished.exit_code == 1, finished.stdout + finished.stderr
        assert finished.json()["totals"]["items"]["failed"] == 1
        assert marked_items(project) == []
        report = project.run("report", "--json").json()
        [error] = report["customers"]["GREYSON"]["errors"]
        assert error["field"] == "NOTES" and MARKED in error["item_key"]
        assert "NOTES" in error["message"] and "10,000 characters" in error["message"]
        assert report["warnings"] == 0


def test_an_item_name_longer_than_monday_takes_is_cut_with_a_warning(tmp_path):
    with cli_project(tmp_path, rows=100) as project:
        give_one_greyson_line(project, **{"CUSTOMER COLOUR DESCRIPTION": "NAVY " * 60})

        finished = project.run("sync", "--customer", "GREYSON", "--json")

        assert finished.exit_code == 0, finished.stdout + finished.stderr
        assert finished.json()["totals"]["warnings"] == 1
        names = [item["name"] for item in project.graphql(
            "query ($ids: [ID!]) { boards(ids: $ids) { items_page(limit: 500) { items { name } } } }",
            ids=[project.board_id])["boards"][0]["items_page"]["items"] if item["name"].endswith("…")]
        assert len(names) == 1 and 250 < len(names[0]) <= 255


def test_the_codec_and_the_emulator_agree_on_the_limits():
    assert codec.MAX_LONG_TEXT == emulator_values.MAX_LONG_TEXT == 2_000
    assert codec.MAX_ITEM_NAME == emulator_store.MAX_NAME_LENGTH == 255
