"""Three season-routed boards on one emulator (issue 11), and what the tests read back from them.

`routed_project` builds the project (the `routed` fixture of tests/conftest.py is its default form);
`keys_on` reads a board's business keys through the API and `assert_each_board_is_its_share` checks
that no key is on two boards and that reconcile finds every board clean.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cli_project import TOKEN, Project, _create_board, cli_project
from ordersync.emulator import EmulatorSettings

KEY_COLUMN = "text_ordersync_key"
BUSINESS_KEY = ("AAG ORDER NUMBER", "PLANNED DELIVERY METHOD", "CUSTOMER STYLE")


@contextmanager
def routed_project(directory: Path, *, settings: EmulatorSettings | None = None,
                   state_url: str | None = None) -> Iterator[Project]:
    """Three boards by season: 2025 FALL; 2025 HOLIDAY and 2026 SPRING; the default takes the rest.
    `project.boards` lists them in that order. `state_url`: a state database other than the default."""
    with cli_project(directory, rows=150, settings=settings) as project:
        fall = project.board_id
        holiday, rest = (asyncio.run(_create_board(project.base_url)) for _ in range(2))
        text = project.config_path.read_text()
        text = re.sub(r'(?m)^board_id = "\d+"\n', "", text)  # [monday] and the prod profile's: the routes say
        if state_url is not None:
            text = text.replace("[state]\n", f'[state]\nurl = "{state_url}"\n', 1)
        text += (f'\n[[routes]]\nboard_id = "{fall}"\nwhen = {{ "AAG SEASON" = ["2025 FALL"] }}\n'
                 f'\n[[routes]]\nboard_id = "{holiday}"\nwhen = {{ "AAG SEASON" = ["2025 HOLIDAY", "2026 SPRING"] }}\n'
                 f'\n[[routes]]\nboard_id = "{rest}"\n')
        project.config_path.write_text(text, encoding="utf-8")
        project.boards = [fall, holiday, rest]  # type: ignore[attr-defined]
        yield project


@contextmanager
def template_project(directory: Path, *, cap: int, rollover_at: int, rows: int = 100) -> Iterator[Project]:
    """One route by template (issue 11's rollover): the demo board is the template (it stays empty),
    the emulator's item cap lowered to `cap`, the route's `rollover_at` as given."""
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=10**9, mutations_per_window=10**6,
                                requests_per_minute=10**6, items_per_board_limit=cap)
    with cli_project(directory, rows=rows, settings=settings) as project:
        text = re.sub(r'(?m)^board_id = "\d+"\n', "", project.config_path.read_text())
        text += f'\n[[routes]]\ntemplate_board_id = "{project.board_id}"\nrollover_at = {rollover_at}\n'
        project.config_path.write_text(text, encoding="utf-8")
        yield project


def keys_on(project: Project, board_id: str) -> Counter[str]:
    """How many active items carry each business key on one board, read through the API."""
    keys: Counter[str] = Counter()
    query = ("query ($ids: [ID!], $cursor: String) { boards(ids: $ids) { items_page(limit: 500, cursor: $cursor) "
             "{ cursor items { id state column_values(ids: [\"" + KEY_COLUMN + "\"]) { text } } } } }")
    cursor = None
    while True:
        page = project.graphql(query, ids=[board_id], cursor=cursor)["boards"][0]["items_page"]
        for item in page["items"]:
            if item["state"] == "active" and item["column_values"][0]["text"]:
                keys[item["column_values"][0]["text"]] += 1
        cursor = page["cursor"]
        if not cursor:
            return keys


def synced_with_cap(project: Project) -> tuple[dict[str, int], int]:
    """Sync every board, then lower the cap to the fullest board's count: that board is 100% full."""
    result = project.run("sync", "--all", "--json")
    assert result.exit_code in (0, 1), result.stderr
    items = {board_id: len(keys_on(project, board_id)) for board_id in project.boards}  # type: ignore[attr-defined]
    cap = max(items.values())
    project.edit_config("[monday]\n", f"[monday]\nitems_per_board = {cap}\n")
    return items, cap


def boards_holding(project: Project) -> dict[str, list[str]]:
    """business key → the boards holding it (each at most once)."""
    held: dict[str, list[str]] = {}
    for board_id in project.boards:  # type: ignore[attr-defined]
        for key, count in keys_on(project, board_id).items():
            assert count == 1, (key, board_id, count)
            held.setdefault(key, []).append(board_id)
    return held


def assert_each_board_is_its_share(project: Project) -> dict[str, list[str]]:
    held = boards_holding(project)
    assert {key: boards for key, boards in held.items() if len(boards) > 1} == {}
    reconciled = project.run("reconcile", "--json")
    assert reconciled.exit_code == 0, reconciled.stdout
    per_board = reconciled.json()["boards"]
    assert [board["board_id"] for board in per_board] == project.boards  # type: ignore[attr-defined]
    assert all(board["clean"] for board in per_board)
    return held
