"""Rollover (issue 11): a route naming a template board instead of a fixed one. Its first board is made
from the template on its first sync; once the newest holds `rollover_at` items (counting what the run
would create) the next is made from the template (same columns, same subitem columns), recorded in the
board registry, and the run goes on there — nothing refused for capacity. Making a board is a write with
an intent: a kill right after Monday made it, then a rerun, still leaves exactly one such board."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from cli_project import Project
from ordersync.config import parse_config
from ordersync.errors import ConfigError
from ordersync.state.board_registry import BoardRegistry
from routed_boards import keys_on, template_project

CAP, ROLLOVER_AT = 60, 50


@pytest.fixture
def template_route(tmp_path):
    """One route, by template: the demo board is the template (it stays empty); the emulator's cap 60."""
    with template_project(tmp_path / "project", cap=CAP, rollover_at=ROLLOVER_AT) as project:
        yield project


def boards_named(project: Project, prefix: str) -> dict[str, str]:
    """Every active board whose name starts with `prefix`: name → id (a name twice fails)."""
    boards = project.graphql("query { boards(limit: 500) { id name } }")["boards"]
    named = Counter(board["name"] for board in boards if board["name"].startswith(prefix))
    assert all(count == 1 for count in named.values()), named
    return {board["name"]: board["id"] for board in boards if board["name"].startswith(prefix)}


def structure(project: Project, board_id: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """A board's columns and its subitem board's columns: (id, title, type) each."""
    query = "query ($ids: [ID!]) { boards(ids: $ids) { columns { id title type settings } } }"
    columns = project.graphql(query, ids=[board_id])["boards"][0]["columns"]
    subitems = next(column for column in columns if column["type"] == "subtasks")
    settings = subitems["settings"]
    sub_board = str((json.loads(settings) if isinstance(settings, str) else settings)["boardIds"][0])
    sub_columns = project.graphql(query, ids=[sub_board])["boards"][0]["columns"]
    return ([(c["id"], c["title"], c["type"]) for c in columns], [(c["id"], c["title"], c["type"]) for c in sub_columns])


def registry(project: Project) -> list[tuple[int, str, str | None]]:
    from ordersync.state import StateStore

    store = StateStore.from_url(f"sqlite:///{project.directory / 'ordersync.db'}")
    try:
        return [(board.sequence, board.board_name, board.board_id)
                for board in BoardRegistry(store.engine, store.tables).boards(project.board_id)]
    finally:
        store.engine.dispose()


def assert_every_line_on_one_board(project: Project, boards: list[str]) -> Counter[str]:
    held: Counter[str] = Counter()
    for board_id in boards:
        on_board = keys_on(project, board_id)
        assert all(count == 1 for count in on_board.values())
        held.update(on_board.keys())
    assert {key: count for key, count in held.items() if count > 1} == {}  # no business key on two boards
    reconciled = project.run("reconcile", "--json")
    assert reconciled.exit_code == 0, reconciled.stdout
    assert [board["board_id"] for board in reconciled.json()["boards"]] == boards
    assert all(board["clean"] for board in reconciled.json()["boards"])
    return held


def test_a_template_route_fills_its_first_board_to_the_threshold_and_goes_on_on_a_second_made_from_the_template(
        template_route):
    template = template_route.board_id
    synced = template_route.run("sync", "--all", "--json")
    assert synced.exit_code in (0, 1), synced.stderr  # the sample's bad rows fail, recorded
    made = boards_named(template_route, "Customer Master Schedule ")
    first, second = made["Customer Master Schedule 1"], made["Customer Master Schedule 2"]
    assert set(made) == {"Customer Master Schedule 1", "Customer Master Schedule 2"}
    assert registry(template_route) == [(1, "Customer Master Schedule 1", first),
                                        (2, "Customer Master Schedule 2", second)]
    result = synced.json()
    assert [board["board_id"] for board in result["boards"]] == [first, second]
    created = result["totals"]["items"]["create"]
    assert created > ROLLOVER_AT
    assert len(keys_on(template_route, first)) == ROLLOVER_AT  # filled to the threshold, not to the cap
    assert len(keys_on(template_route, second)) == created - ROLLOVER_AT
    assert len(keys_on(template_route, template)) == 0  # the template only lends its structure
    assert structure(template_route, first) == structure(template_route, second) == structure(template_route,
                                                                                              template)
    report = [template_route.run("report", str(board["run_id"]), "--json").json() for board in result["boards"]]
    assert not [error for run in report for customer in run["customers"].values() for error in customer["errors"]
                if error["category"] == "capacity"]  # nothing refused for capacity
    held = assert_every_line_on_one_board(template_route, [first, second])
    assert sum(held.values()) == created

    again = template_route.run("sync", "--all", "--json")  # existing lines stay where they are
    assert again.exit_code in (0, 1), again.stderr
    assert again.json()["totals"]["items"]["create"] == 0
    assert set(boards_named(template_route, "Customer Master Schedule ")) == set(made)
    status = template_route.run("status", "--json").json()  # status names the route's boards
    assert [board["board_id"] for board in status["boards"]] == [first, second]
    assert [board["totals"]["synced_items"] for board in status["boards"]] == [ROLLOVER_AT, created - ROLLOVER_AT]
    assert [board["rollover"] for board in status["boards"]] == [
        {"template_board_id": template, "board_name": f"Customer Master Schedule {number}", "sequence": number,
         "rollover_at": ROLLOVER_AT, "route_boards": [first, second]} for number in (1, 2)]
    from ordersync.dashboard import dashboard_app
    from test_dashboard import TestClient

    with TestClient(dashboard_app(template_route.config())) as client:  # the dashboard lists them too
        page = client.get("/").text
    assert f"boards <strong>{first}, {second}" in page
    text = template_route.run("status").stdout
    assert (f"rollover: Customer Master Schedule 2, board 2 made from template {template} (the next at "
            f"{ROLLOVER_AT} items); the route's boards: {first}, {second}") in " ".join(text.split())


@pytest.mark.parametrize("killed_at", [1, 2])
def test_a_kill_right_after_monday_made_a_board_then_a_rerun_leaves_exactly_one_such_board(
        template_route, monkeypatch, killed_at):
    """The process dies after `duplicate_board` was answered, before the board was recorded: the intent
    is open; the rerun finds the board by its name and goes on there, making no second one."""
    record_board = BoardRegistry.record_board

    def killed(self, template_board_id, sequence, board_id):
        if sequence == killed_at:
            raise KeyboardInterrupt  # the process stops: Monday made the board, ordersync never heard
        record_board(self, template_board_id, sequence, board_id)

    monkeypatch.setattr(BoardRegistry, "record_board", killed)
    stopped = template_route.run("sync", "--all", "--json")
    assert stopped.exit_code == 130, stopped.stderr
    name = f"Customer Master Schedule {killed_at}"
    assert name in boards_named(template_route, "Customer Master Schedule ")  # Monday made it …
    assert registry(template_route)[-1] == (killed_at, name, None)  # … the intent is open

    monkeypatch.setattr(BoardRegistry, "record_board", record_board)
    rerun = template_route.run("sync", "--all", "--json")
    assert rerun.exit_code in (0, 1), rerun.stderr
    made = boards_named(template_route, "Customer Master Schedule ")  # each name once: no second board
    assert set(made) == {"Customer Master Schedule 1", "Customer Master Schedule 2"}
    boards = [made["Customer Master Schedule 1"], made["Customer Master Schedule 2"]]
    assert [board_id for _, _, board_id in registry(template_route)] == boards
    held = assert_every_line_on_one_board(template_route, boards)
    assert len(keys_on(template_route, boards[0])) == ROLLOVER_AT
    assert sum(held.values()) == rerun.json()["totals"]["items"]["create"]


def test_a_route_names_a_board_or_a_template_checked_when_the_config_loads():
    with pytest.raises(ConfigError) as both:
        parse_config('[[routes]]\nboard_id = "1"\ntemplate_board_id = "2"\n')
    assert "routes[0]" in str(both.value.problems)
    with pytest.raises(ConfigError):
        parse_config('[[routes]]\nwhen = { "AAG SEASON" = ["2025 FALL"] }\n')  # neither
    with pytest.raises(ConfigError):
        parse_config('[[routes]]\nboard_id = "1"\nrollover_at = 50\n')  # a threshold on a fixed board
    with pytest.raises(ConfigError):
        parse_config('[[routes]]\ntemplate_board_id = "2"\nrollover_at = 0\n')
    route = parse_config('[[routes]]\ntemplate_board_id = "2"\n').routes[0]
    assert (route.board_id, route.template_board_id, route.rollover_at) == (None, "2", 9000)


def test_a_dry_run_before_the_first_sync_makes_no_board_and_says_the_sync_will(template_route):
    planned = template_route.run("sync", "--all", "--dry-run", "--json")
    assert planned.exit_code == 2, planned.stdout
    assert "first board is made from its template by the first sync" in planned.json()["error"]["message"]
    assert boards_named(template_route, "Customer Master Schedule ") == {}
    assert registry(template_route) == []


def test_a_kill_after_monday_created_lines_keeps_them_on_their_board_on_the_rerun(template_route, monkeypatch):
    """Killed after Monday answered a board's item creates, before ordersync recorded them: the rerun
    counts those lines as that board's (their creates are open intents there), so they stay on it, the
    first board ends at the threshold, and no third board is made."""
    import sqlalchemy as sa

    from ordersync.engine.apply import Applier

    checkpoint = Applier._checkpoint

    def killed_after_item_creates(self, name):
        intents = self.store.tables.write_intents
        with self.store.engine.connect() as connection:
            open_creates = connection.execute(sa.select(sa.func.count()).select_from(intents).where(
                intents.c.board_id == self.board.board_id, intents.c.operation == "create_item",
                intents.c.status == "OPEN")).scalar_one()
        if name == "after_response" and open_creates:
            raise KeyboardInterrupt
        checkpoint(self, name)

    monkeypatch.setattr(Applier, "_checkpoint", killed_after_item_creates)
    stopped = template_route.run("sync", "--all", "--json")
    assert stopped.exit_code == 130, stopped.stderr
    made = boards_named(template_route, "Customer Master Schedule ")
    boards = [made["Customer Master Schedule 1"], made["Customer Master Schedule 2"]]
    before = {board_id: set(keys_on(template_route, board_id)) for board_id in boards}
    assert any(before.values())  # Monday made some lines, ordersync never heard

    monkeypatch.setattr(Applier, "_checkpoint", checkpoint)
    rerun = template_route.run("sync", "--all", "--json")
    assert rerun.exit_code in (0, 1), rerun.stderr
    assert set(boards_named(template_route, "Customer Master Schedule ")) == set(made)  # no third board
    assert_every_line_on_one_board(template_route, boards)
    for board_id, keys in before.items():
        assert keys <= set(keys_on(template_route, board_id))  # they stayed where Monday made them
    assert len(keys_on(template_route, boards[0])) == ROLLOVER_AT
