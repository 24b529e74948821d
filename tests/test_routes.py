"""Routing order lines to several boards (`[[routes]]`, issue 11): each board holds exactly its share of
the source, no business key is on two boards, and a line whose route changes leaves its old board
before it reaches the new one — a crash between the two passes leaves it on none, never on two."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter

import pytest

from cli_project import Project, cli_project
from ordersync.config import parse_config
from ordersync.engine import sync as sync_module
from ordersync.engine.transform import business_key
from ordersync.errors import ConfigError
from routed_boards import BUSINESS_KEY, assert_each_board_is_its_share, boards_holding, keys_on


def source_line(project: Project, season: str, on: Counter[str] | None = None) -> tuple[int, str]:
    """(rowid, business key) of a source line of this AAG SEASON whose key is unique (and on a board)."""
    connection = sqlite3.connect(project.directory / "ordersync.db")
    connection.row_factory = sqlite3.Row
    try:
        rows = connection.execute('SELECT rowid, * FROM ORDERS_UNIFIED WHERE "AAG SEASON" = ?', (season,)).fetchall()
        keys = Counter(business_key(dict(row), BUSINESS_KEY)[0] for row in connection.execute(
            "SELECT * FROM ORDERS_UNIFIED"))
    finally:
        connection.close()
    for row in rows:
        key = business_key(dict(row), BUSINESS_KEY)[0]
        if key and keys[key] == 1 and (on is None or key in on):
            return row["rowid"], key
    raise AssertionError(f"no line of {season}")


def move_season(project: Project, rowid: int, season: str) -> None:
    connection = sqlite3.connect(project.directory / "ordersync.db")
    with connection:
        connection.execute('UPDATE ORDERS_UNIFIED SET "AAG SEASON" = ?, "CUSTOMER SEASON" = ? WHERE rowid = ?',
                           (season, season, rowid))
    connection.close()


def test_three_boards_by_season_each_hold_exactly_their_share_and_a_moved_line_leaves_its_old_board(routed):
    fall, holiday, rest = routed.boards
    first = routed.run("sync", "--all", "--json")
    assert first.exit_code in (0, 1), first.stderr  # the sample's bad rows fail, recorded
    result = first.json()
    assert [board["board_id"] for board in result["boards"]] == [fall, holiday, rest]
    assert result["exit_code"] == max(1 if board["totals"]["items"]["failed"] else 0 for board in result["boards"])
    assert result["totals"]["items"]["create"] == sum(board["totals"]["items"]["create"] for board in result["boards"])
    assert all(board["totals"]["items"]["create"] > 0 for board in result["boards"])
    held = assert_each_board_is_its_share(routed)

    rowid, key = source_line(routed, "2025 FALL", on=keys_on(routed, fall))
    assert held[key] == [fall]
    old_item_count = len(keys_on(routed, fall))
    move_season(routed, rowid, "2025 HOLIDAY")
    moved = routed.run("sync", "--all", "--json")
    assert moved.exit_code in (0, 1), moved.stderr
    by_board = {board["board_id"]: board for board in moved.json()["boards"]}
    assert by_board[fall]["totals"]["items"]["archive"] == 1
    assert by_board[holiday]["totals"]["items"]["create"] == 1
    held = assert_each_board_is_its_share(routed)
    assert held[key] == [holiday]
    assert len(keys_on(routed, fall)) == old_item_count - 1
    status = routed.run("status", "--json").json()  # each board's mirror follows its board
    assert [board["board_id"] for board in status["boards"]] == [fall, holiday, rest]
    assert [board["totals"]["synced_items"] for board in status["boards"]] == [
        len(keys_on(routed, board_id)) for board_id in (fall, holiday, rest)]


def test_a_crash_between_the_passes_leaves_a_moved_line_on_no_board_and_the_rerun_puts_it_on_its_new_one(
        routed, monkeypatch):
    """The line moves from the last board to the first: run board by board, the first board would
    create it before the last one archived it. Every board's removals come first instead."""
    fall, _, rest = routed.boards
    assert routed.run("sync", "--all", "--json").exit_code in (0, 1)
    rowid, key = source_line(routed, "2026 SPRING SUMMER", on=keys_on(routed, rest))
    move_season(routed, rowid, "2025 FALL")
    removed_first = sync_module._remove_first
    passes: list[str] = []

    async def killed_after_every_removal(run):
        await removed_first(run)
        passes.append(run.board_id)
        if len(passes) == len(routed.boards):
            raise KeyboardInterrupt  # the process stops between the passes: every removal done, no create yet

    monkeypatch.setattr(sync_module, "_remove_first", killed_after_every_removal)
    stopped = routed.run("sync", "--all", "--json")
    assert stopped.exit_code == 130, stopped.stderr
    assert passes == routed.boards
    held = boards_holding(routed)
    assert key not in held  # archived on its old board, not yet created on its new one: on none
    assert {k: boards for k, boards in held.items() if len(boards) > 1} == {}

    monkeypatch.setattr(sync_module, "_remove_first", removed_first)
    rerun = routed.run("sync", "--all", "--json")
    assert rerun.exit_code in (0, 1), rerun.stderr
    held = assert_each_board_is_its_share(routed)
    assert held[key] == [fall]


def test_a_filtered_sync_that_reads_a_moved_line_takes_it_off_its_old_board_too(routed):
    """`--aag-season "2025 HOLIDAY"` reads the line by its new season; its old board's mirror knows it
    by the old one, outside the filter — the line is removed there all the same, before it is created."""
    fall, holiday, _ = routed.boards
    assert routed.run("sync", "--all", "--json").exit_code in (0, 1)
    rowid, key = source_line(routed, "2025 FALL", on=keys_on(routed, fall))
    move_season(routed, rowid, "2025 HOLIDAY")
    moved = routed.run("sync", "--aag-season", "2025 HOLIDAY", "--json")
    assert moved.exit_code in (0, 1), moved.stderr
    by_board = {board["board_id"]: board for board in moved.json()["boards"]}
    assert by_board[fall]["totals"]["items"]["archive"] == 1
    assert by_board[holiday]["totals"]["items"]["create"] == 1
    assert boards_holding(routed)[key] == [holiday]
    assert_each_board_is_its_share(routed)


def test_a_line_its_old_board_did_not_let_go_of_is_not_created_on_the_new_one(routed, monkeypatch):
    """The first pass's removals fail (here: never sent): the new board refuses to create the line while
    the old board's mirror holds it — a failed row, never a second copy — and the next sync moves it."""
    from ordersync.engine.apply import Applier

    fall, holiday, _ = routed.boards
    assert routed.run("sync", "--all", "--json").exit_code in (0, 1)
    rowid, key = source_line(routed, "2025 FALL", on=keys_on(routed, fall))
    move_season(routed, rowid, "2025 HOLIDAY")
    first_pass = Applier.remove_items_first

    async def removals_lost(self):
        return None

    monkeypatch.setattr(Applier, "remove_items_first", removals_lost)
    held_back = routed.run("sync", "--all", "--json")
    assert held_back.exit_code == 1, held_back.stderr
    by_board = {board["board_id"]: board for board in held_back.json()["boards"]}
    assert by_board[holiday]["totals"]["items"]["failed"] >= 1
    assert key not in boards_holding(routed)  # the old board's second pass archived it; the new one held back
    report = routed.run("report", str(by_board[holiday]["run_id"]), "--json").json()
    assert any("still holds this order line" in error["message"]
               for customer in report["customers"].values() for error in customer["errors"])

    monkeypatch.setattr(Applier, "remove_items_first", first_pass)
    assert routed.run("sync", "--all", "--json").exit_code in (0, 1)
    assert boards_holding(routed)[key] == [holiday]
    assert_each_board_is_its_share(routed)


def test_a_line_no_route_takes_is_a_row_error_recorded_once(routed):
    fall, holiday, rest = routed.boards
    text = routed.config_path.read_text()
    routed.config_path.write_text(text[:text.rindex("[[routes]]")], encoding="utf-8")  # no default route
    result = routed.run("sync", "--all", "--json")
    assert result.exit_code == 1, result.stderr
    boards = result.json()["boards"]
    assert [board["board_id"] for board in boards] == [fall, holiday]
    assert boards_holding(routed).keys() <= set(keys_on(routed, fall)) | set(keys_on(routed, holiday))
    def unrouted(run_id: int) -> list[str]:
        report = routed.run("report", str(run_id), "--json").json()
        return [error["message"] for customer in report["customers"].values() for error in customer["errors"]
                if "no route takes this order line" in error["message"]]

    assert unrouted(boards[0]["run_id"])  # recorded by the first board's run (no board holds them) …
    assert not unrouted(boards[1]["run_id"])  # … and by that run only


def test_routes_are_checked_when_the_config_loads():
    base = '[monday]\nkey_column = "text_ordersync_key"\n'
    with pytest.raises(ConfigError) as two_defaults:
        parse_config(base + '[[routes]]\nboard_id = "1"\n[[routes]]\nboard_id = "2"\n')
    assert "routes[1]" in str(two_defaults.value.problems)
    with pytest.raises(ConfigError) as both:
        parse_config('[monday]\nboard_id = "3"\n[[routes]]\nboard_id = "1"\n')
    assert "monday.board_id" in str(both.value.problems)
    with pytest.raises(ConfigError):
        parse_config('[[routes]]\nboard_id = "1"\nwhen = { "AAG SEASON" = [] }\n')
    config = parse_config('[[routes]]\nboard_id = "1"\nwhen = { "AAG SEASON" = ["2025 FALL"] }\n'
                          '[[routes]]\nboard_id = "1"\nwhen = { "CUSTOMER NAME" = ["GREYSON"] }\n'
                          '[[routes]]\nboard_id = "2"\n')
    assert [route.board_id for route in config.routes] == ["1", "1", "2"]  # a board may serve several routes


def test_a_route_naming_an_unknown_source_column_is_refused_before_anything_runs(routed):
    fall = routed.boards[0]
    routed.edit_config(f'board_id = "{fall}"\nwhen = {{ "AAG SEASON"', f'board_id = "{fall}"\nwhen = {{ "AAG SEASONS"')
    result = routed.run("plan", "--json")
    assert result.exit_code == 2
    assert any('routes[0].when."AAG SEASONS"' in problem for problem in result.json()["error"]["problems"])


def test_a_single_board_config_syncs_as_before(tmp_path):
    with cli_project(tmp_path / "project", rows=150) as project:
        result = project.run("sync", "--customer", "GREYSON", "--json")
        assert result.exit_code == 0, result.stderr
        assert "boards" not in result.json() and result.json()["board_id"] == project.board_id
        assert project.run("reconcile", "--customer", "GREYSON", "--json").json()["clean"]


def test_a_season_relabelled_moves_its_lines_without_tripping_the_removal_guard(routed):
    """Lines moving to another board are not removals: nothing leaves the source. Half the 2025 FALL
    board moving to the 2025 HOLIDAY board syncs without `--allow-removals`; the same lines deleted
    from the source would refuse (the guard still counts what is really gone)."""
    fall, holiday, _ = routed.boards
    assert routed.run("sync", "--all", "--json").exit_code in (0, 1)
    on_fall = keys_on(routed, fall)
    connection = sqlite3.connect(routed.directory / "ordersync.db")
    with connection:
        rowids = [rowid for (rowid,) in connection.execute(
            'SELECT rowid FROM ORDERS_UNIFIED WHERE "AAG SEASON" = ? ORDER BY rowid', ("2025 FALL",))]
        moving = rowids[: len(rowids) // 2]
        connection.executemany('UPDATE ORDERS_UNIFIED SET "AAG SEASON" = ?, "CUSTOMER SEASON" = ? WHERE rowid = ?',
                               [("2025 HOLIDAY", "2025 HOLIDAY", rowid) for rowid in moving])
    connection.close()
    assert len(moving) > 0.1 * len(on_fall) + 5  # more than [guards] lets a sync remove

    moved = routed.run("sync", "--all", "--json")
    assert moved.exit_code in (0, 1), moved.stdout + moved.stderr
    by_board = {board["board_id"]: board for board in moved.json()["boards"]}
    assert by_board[fall]["totals"]["items"]["archive"] >= len(moving) - 5  # a few may be the sample's bad rows
    assert by_board[holiday]["totals"]["items"]["create"] == by_board[fall]["totals"]["items"]["archive"]
    assert_each_board_is_its_share(routed)

    connection = sqlite3.connect(routed.directory / "ordersync.db")
    with connection:
        rowids = [rowid for (rowid,) in connection.execute(
            'SELECT rowid FROM ORDERS_UNIFIED WHERE "AAG SEASON" = ? ORDER BY rowid', ("2025 FALL",))]
        connection.executemany("DELETE FROM ORDERS_UNIFIED WHERE rowid = ?", [(rowid,) for rowid in rowids])
    connection.close()
    refused = routed.run("sync", "--all", "--json")
    assert refused.exit_code not in (0, 1)
    assert "TooManyRemovals" in refused.stdout + refused.stderr


def test_a_routed_sync_reads_and_transforms_the_source_once_for_all_its_boards(routed):
    """Three boards, one read: the transform's log record appears once per sync, counting every line of
    the source (not once per board, each reading the whole source to keep its share)."""
    result = routed.run("--log-level", "INFO", "--log-format", "json", "sync", "--all", "--json")
    assert result.exit_code in (0, 1), result.stderr[-3000:]
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    transforms = [record for record in records if record.get("stage") == "transform"]
    source_lines = sqlite3.connect(routed.directory / "ordersync.db").execute(
        "SELECT COUNT(*) FROM ORDERS_UNIFIED").fetchone()[0]
    assert [record["order_lines"] for record in transforms] == [source_lines]
    staged = [record for record in records if record.get("stage") == "stage"]
    assert sorted(record["board_id"] for record in staged) == sorted(routed.boards)
    assert sum(record["items"] + record["row_errors"] for record in staged) == source_lines


def test_a_worker_names_its_share_of_the_boards_with_a_repeated_board_option_and_reads_the_source_once(routed):
    fall, holiday, rest = routed.boards
    result = routed.run("--log-level", "INFO", "--log-format", "json", "sync", "--all", "--board", holiday,
                        "--board", fall, "--json")
    assert result.exit_code in (0, 1), result.stderr[-3000:]
    assert sorted(board["board_id"] for board in result.json()["boards"]) == sorted([fall, holiday])
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert len([record for record in records if record.get("stage") == "transform"]) == 1
    assert keys_on(routed, fall) and keys_on(routed, holiday) and not keys_on(routed, rest)  # the rest: another's
    unknown = routed.run("sync", "--all", "--board", fall, "--board", "123")
    assert unknown.exit_code == 2 and "123 is not one of this config's routed boards" in unknown.stderr


def test_reconcile_transforms_only_the_lines_routed_to_its_board(routed):
    fall, holiday, rest = routed.boards
    assert routed.run("sync", "--all").exit_code in (0, 1)
    assert keys_on(routed, holiday) and keys_on(routed, rest)
    result = routed.run("--log-level", "INFO", "--log-format", "json", "reconcile", "--board", fall, "--json")
    assert result.exit_code == 0, result.stderr[-3000:]
    assert result.json()["clean"] is True
    [transform] = [json.loads(line) for line in result.stderr.splitlines()
                   if line.startswith("{") and json.loads(line).get("stage") == "transform"]
    source_lines = sqlite3.connect(routed.directory / "ordersync.db").execute(
        "SELECT COUNT(*) FROM ORDERS_UNIFIED").fetchone()[0]
    assert transform["order_lines"] == source_lines  # every line read (its key counted) ...
    assert transform["items"] == len(keys_on(routed, fall))  # ... only this board's transformed
