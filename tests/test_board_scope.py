"""One board per command (issue 11, the scheduler): `--board ID` restricts sync, plan, validate, reconcile,
retry and status to one routed board — how several workers or Kestra tasks split the boards — and
`ordersync boards` lists the routed boards a scheduler fans out over."""

from __future__ import annotations

from routed_boards import assert_each_board_is_its_share, keys_on


def test_board_restricts_every_command_to_one_routed_board_and_the_workers_together_sync_them_all(routed):
    fall, holiday, rest = routed.boards
    result = routed.run("sync", "--all", "--board", holiday, "--json")
    assert result.exit_code in (0, 1), result.stderr
    synced = result.json()
    assert "boards" not in synced and synced["board_id"] == holiday
    assert len(keys_on(routed, holiday)) > 0
    assert not keys_on(routed, fall) and not keys_on(routed, rest)  # the other boards' lines: not this run's business
    report = routed.run("report", str(synced["run_id"]), "--json").json()
    assert not [error for customer in report["customers"].values() for error in customer["errors"]
                if "route" in error["message"]]  # a line routed to another board is no error here

    for command in ("plan", "validate", "status"):
        answer = routed.run(command, "--board", fall, "--json")
        assert answer.exit_code == 0, (command, answer.stdout, answer.stderr)
        assert "boards" not in answer.json(), command
    assert routed.run("status", "--board", holiday, "--json").json()["board_id"] == holiday

    for board_id in (fall, rest):  # two more "workers", one board each
        assert routed.run("sync", "--all", "--board", board_id, "--json").exit_code in (0, 1)
    reconciled = routed.run("reconcile", "--board", rest, "--json")
    assert reconciled.exit_code == 0 and reconciled.json()["board_id"] == rest
    assert_each_board_is_its_share(routed)
    retried = routed.run("retry", "--board", fall, "--json")
    assert retried.exit_code in (0, 1, 2), retried.stdout
    if retried.exit_code != 2:  # the sample's bad rows on that board, sent again: that board only
        assert retried.json()["board_id"] == fall


def test_a_board_the_config_does_not_route_to_is_a_usage_error_naming_the_routed_ones(routed):
    for command in (("sync", "--all"), ("plan",), ("validate",), ("reconcile",), ("retry",), ("status",)):
        answer = routed.run(*command, "--board", "42", "--json")
        assert answer.exit_code == 2, (command, answer.stdout)
        error = answer.json()["error"]
        assert error["type"] == "UsageError"
        assert "42" in error["message"] and all(board in error["message"] for board in routed.boards), error


def test_ordersync_boards_lists_the_routed_boards_in_route_order(routed, tmp_path):
    answer = routed.run("boards", "--json")
    assert answer.exit_code == 0, answer.stderr
    assert answer.json() == routed.boards
    text = routed.run("boards")
    assert text.stdout.split() == routed.boards
