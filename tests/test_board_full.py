"""A board at Monday's item cap, through the CLI: the creates Monday refuses with
`ItemsLimitationException` fail their rows as `BoardFull` (category `capacity`), with a message that
names the board, its cap and what to do; the run goes on and exits 1; once the board has room
(here: the operator raises the emulator's cap), `ordersync retry` creates the rest."""

from __future__ import annotations

from cli_project import TOKEN, cli_project
from ordersync.emulator import EmulatorSettings

CAP = 50


def _items_on_board(project) -> int:
    return project.graphql("query($b: [ID!]) { boards(ids: $b) { items_count } }",
                           b=[project.board_id])["boards"][0]["items_count"]


def test_a_full_board_fails_the_creates_it_refuses_and_retry_creates_them_once_there_is_room(tmp_path) -> None:
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=10**9, mutations_per_window=10**6,
                                requests_per_minute=10**6, items_per_board_limit=CAP)
    with cli_project(tmp_path / "project", rows=150, settings=settings) as project:
        synced = project.run("sync", "--all", "--json")
        assert synced.exit_code == 1, synced.stderr
        totals = synced.json()["totals"]["items"]
        assert totals["create"] == CAP and totals["failed"] == synced.json()["planned"]["items"]["create"] - CAP
        assert _items_on_board(project) == CAP

        report = project.run("report", "--json").json()
        refused = [error for customer in report["customers"].values() for error in customer["errors"]
                   if error["size"] is None]
        assert len(refused) == totals["failed"]
        assert {error["category"] for error in refused} == {"capacity"}
        assert {error["message"] for error in refused} == {
            f"ItemsLimitationException: board {project.board_id} holds {CAP} items, Monday's cap: archive old "
            "lines or route new ones to another board"}
        sizes = [error for customer in report["customers"].values() for error in customer["errors"]
                 if error["size"] is not None]
        assert sizes and {error["category"] for error in sizes} == {"dependency"}  # they wait on their line

        project.emulator("PATCH", "/emulator/config", json={"items_per_board_limit": 10_000})
        retried = project.run("retry", "--json")
        assert retried.exit_code == 0, retried.stderr
        assert retried.json()["status"] == "COMPLETED"
        assert retried.json()["totals"]["items"] == {"create": totals["failed"], "update": 0, "archive": 0,
                                                     "unchanged": 0, "failed": 0}
        assert _items_on_board(project) == totals["create"] + totals["failed"]
        assert project.run("reconcile", "--json").exit_code == 0
