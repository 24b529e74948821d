"""The business key: its parts joined so that two different order lines never share a key, and an
ordinary key exactly as every earlier version wrote it (mirrors and boards keep matching)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cli_project import cli_project
from ordersync.engine.transform import business_key, split_key

KEY_COLUMNS = ("AAG ORDER NUMBER", "PLANNED DELIVERY METHOD", "CUSTOMER STYLE")
KEY_COLUMN = "text_ordersync_key"


def set_line(project, rowid: int, **values: str) -> None:
    engine = sa.create_engine(project.source_url)
    columns = dict(zip(KEY_COLUMNS, ("aag", "method", "style"), strict=True))
    assignments = ", ".join(f'"{column}" = :{name}' for column, name in columns.items() if name in values)
    with engine.begin() as connection:
        connection.execute(sa.text(f'UPDATE "ORDERS_UNIFIED" SET {assignments} WHERE rowid = :rowid'),
                           {**values, "rowid": rowid})
    engine.dispose()


def board_keys(project) -> dict[str, str]:
    """item name → its key column's text, for every item on the board."""
    data = project.graphql(
        "query ($ids: [ID!]) { boards(ids: $ids) { items_page(limit: 500) { items { name "
        f"column_values(ids: [\"{KEY_COLUMN}\"]) {{ text }} }} }} }} }}", ids=[project.board_id])
    return {item["name"]: item["column_values"][0]["text"] for item in data["boards"][0]["items_page"]["items"]}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    with cli_project(tmp_path_factory.mktemp("business_key"), rows=150) as project:
        yield project


def test_an_ordinary_key_is_its_parts_joined_by_space_bar_space_as_before():
    line = {"AAG ORDER NUMBER": "GRE-04169", "PLANNED DELIVERY METHOD": "AIR", "CUSTOMER STYLE": "MFA25M30"}
    assert business_key(line, KEY_COLUMNS) == ("GRE-04169 | AIR | MFA25M30", None)
    # a bar or a space inside a part, away from its edges, is not the separator: the key keeps it as it is
    line = {"AAG ORDER NUMBER": "GRE|7 A", "PLANNED DELIVERY METHOD": "SEA / AIR", "CUSTOMER STYLE": "M|1"}
    assert business_key(line, KEY_COLUMNS) == ("GRE|7 A | SEA / AIR | M|1", None)


def test_parts_holding_the_separator_are_escaped_so_two_lines_never_share_a_key():
    first = business_key({"A": "X | OCEAN", "B": "AIR"}, ("A", "B"))[0]
    second = business_key({"A": "X", "B": "OCEAN | AIR"}, ("A", "B"))[0]
    assert first == "X \\| OCEAN | AIR" and second == "X | OCEAN \\| AIR"
    pairs = [("X |", "Y"), ("X", "| Y"), ("X \\", "Y"), ("X", "\\ Y"), ("|", "|"), ("X | |", "Y"), ("X", "| | Y"),
             ("X\\|", "Y"), ("X", "\\| Y"), ("X \\|", "Y"), ("X | OCEAN", "AIR"), ("X", "OCEAN | AIR")]
    keys = {pair: business_key({"A": pair[0], "B": pair[1]}, ("A", "B"))[0] for pair in pairs}
    assert len(set(keys.values())) == len(pairs)
    assert all(split_key(key) == list(pair) for pair, key in keys.items())


def test_two_lines_whose_key_parts_differ_only_in_where_the_separator_falls_are_both_synced(project):
    set_line(project, 1, aag="X | OCEAN", method="AIR", style="MFA25M30")
    set_line(project, 2, aag="X", method="OCEAN | AIR", style="MFA25M30")
    synced = project.run("sync", "--customer", "GREYSON", "--json")
    assert synced.exit_code == 0, synced.stdout + synced.stderr
    totals = synced.json()["totals"]
    assert totals["items"]["failed"] == 0 and totals["items"]["create"] == 81
    keys = set(board_keys(project).values())
    assert {"X \\| OCEAN | AIR | MFA25M30", "X | OCEAN \\| AIR | MFA25M30"} <= keys
    assert "GRE-04173 | OCEAN | MFA25Q09" in keys  # an ordinary line's key, byte for byte as before
    report = project.run("report", "--json").json()
    assert not [error for error in report["customers"]["GREYSON"]["errors"] if "duplicate" in error["message"]]


def test_a_key_too_long_names_the_column_that_made_it_so_and_its_length(project):
    set_line(project, 3, style="S" * 450)
    synced = project.run("sync", "--customer", "GREYSON", "--json")
    assert synced.exit_code == 1, synced.stdout + synced.stderr
    [error] = project.run("report", "--json").json()["customers"]["GREYSON"]["errors"]
    assert error["field"] == "CUSTOMER STYLE"
    assert "CUSTOMER STYLE is 450 characters" in error["message"], error
