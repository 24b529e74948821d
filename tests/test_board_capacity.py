"""Per board, against its item cap (issue 11): `status`, the run reports and the dashboard show each
routed board's items (counted from the synced mirror, no API call) against `[monday] items_per_board`,
its groups, its last sync and what that left pending or failed, with a warning from 90% full."""

from __future__ import annotations

from ordersync.config import parse_config
from ordersync.dashboard import dashboard_app
from ordersync.dashboard.data import dashboard_state
from ordersync.state import StateStore
from routed_boards import keys_on, synced_with_cap
from test_dashboard import TestClient


def test_status_shows_each_board_against_its_cap_with_a_warning_from_90_percent(routed):
    items, cap = synced_with_cap(routed)
    answer = routed.run("status", "--json")
    assert answer.exit_code == 0, answer.stderr
    for board in answer.json()["boards"]:
        capacity = board["capacity"]
        board_id = board["board_id"]
        assert capacity["board_id"] == board_id and capacity["counted_from"] == "mirror"
        assert (capacity["items"], capacity["items_per_board"]) == (items[board_id], cap)
        assert capacity["groups"] > 0
        assert capacity["used"] == round(items[board_id] / cap, 4)
        assert (capacity["warning"] is not None) == (items[board_id] >= 0.9 * cap), capacity
        assert board["last_sync"]["board_id"] == board_id and "pending" in board["totals"]
    fullest = max(items, key=items.__getitem__)
    text = routed.run("status", "--board", fullest)
    assert f"of {cap} items (100%)" in text.stdout and f"warning: board {fullest} is 100% full" in text.stdout


def test_report_without_a_run_id_reports_each_board_last_sync_with_its_capacity(routed):
    first = routed.run("sync", "--all", "--json").json()
    run_ids = {board["board_id"]: board["run_id"] for board in first["boards"]}
    items = {board_id: len(keys_on(routed, board_id)) for board_id in routed.boards}
    answer = routed.run("report", "--json")
    assert answer.exit_code in (0, 1), answer.stderr
    reports = answer.json()["boards"]
    assert [report["board_id"] for report in reports] == routed.boards
    assert [report["run_id"] for report in reports] == [run_ids[board_id] for board_id in routed.boards]
    assert [report["capacity"]["items"] for report in reports] == [items[board_id] for board_id in routed.boards]
    assert all(report["capacity"]["items_per_board"] == 10_000 and report["capacity"]["warning"] is None
               for report in reports)
    one = routed.run("report", "--board", routed.boards[1], "--json").json()
    assert one["run_id"] == run_ids[routed.boards[1]] and "boards" not in one
    markdown = routed.run("report", "--board", routed.boards[1]).stdout
    assert f"- capacity: {items[routed.boards[1]]} of 10000 items" in markdown


def test_the_dashboard_shows_every_routed_board_and_marks_a_nearly_full_one(routed):
    items, cap = synced_with_cap(routed)
    config = parse_config(routed.config_path.read_text(), base_dir=routed.directory)
    store = StateStore.from_url(f"sqlite:///{routed.directory / 'ordersync.db'}")
    try:
        state = dashboard_state(store, None, boards=routed.boards, items_per_board=cap)
    finally:
        store.engine.dispose()
    assert [board["board_id"] for board in state["boards"]] == routed.boards
    for board in state["boards"]:
        assert board["items"] == items[board["board_id"]] and board["items_per_board"] == cap
        assert board["groups"] > 0 and board["last_run"]["status"] in ("COMPLETED", "ITEMS_COMPLETED")
        assert board["failed"] >= 0 and board["pending"] == 0
        assert (board["warning"] is not None) == (board["items"] >= 0.9 * cap)
    assert {run["board_id"] for run in state["runs"]} == set(routed.boards)  # every board's runs, not one

    fullest = max(items, key=items.__getitem__)
    with TestClient(dashboard_app(config)) as client:
        page = client.get("/").text
    assert f'<li class="board nearly-full" data-board="{fullest}">' in page and "nearly full" in page
    assert "boards <strong>" + ", ".join(routed.boards) in page


def test_validate_reads_each_board_items_count_from_the_api_and_warns_from_90_percent(routed):
    items, cap = synced_with_cap(routed)
    answer = routed.run("validate", "--json")
    assert answer.exit_code == 0, answer.stdout  # a warning, not a mismatch
    for board in answer.json()["boards"]:
        capacity = board["capacity"]
        assert capacity["counted_from"] == "api" and capacity["items"] == items[board["board_id"]]
        nearly_full = items[board["board_id"]] >= 0.9 * cap
        assert (capacity["warning"] in board["warnings"]) == nearly_full, board
