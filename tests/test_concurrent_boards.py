"""The boards of a routed sync are written concurrently inside one process (`[monday] concurrent_boards`,
issue 11): one writer per board, every board pacing on the token's one complexity budget, the state
database's writes never refused for its lock (SQLite and PostgreSQL), all removals before any create.

The emulator runs with a small budget (about six of the largest requests a window) and a short
window, so boards that did not share one budget would meet refusals. The logs show the boards'
customers applied interleaved, which a board-by-board sync never does.
"""

from __future__ import annotations

import re

import httpx
import pytest
from pydantic import SecretStr

from cli_project import TOKEN
from ordersync.emulator import EmulatorSettings
from routed_boards import assert_each_board_is_its_share, keys_on, routed_project

BUDGET = 6_000_000  # about six of the largest requests a window: three boards pacing alone would overrun it
WINDOW_SECONDS = 2.0  # the same rate as 3,000,000 a second, with room for a loaded machine's jitter


def applied_runs(stderr: str) -> list[int]:
    """The run of each `apply: <phase> for N customers` log line, in the order they were logged."""
    return [int(run) for run in re.findall(r"run=(\d+)\b[^\n]*? apply: [a-z ]+ for \d+ customers", stderr)]


def usage(base_url: str) -> dict:
    return next(iter(httpx.get(f"{base_url}/emulator/stats", timeout=30).json()["usage"].values()))


@pytest.fixture
def routed_tight(tmp_path, database_url):
    """Three boards by season on one token with a small budget; the state database is `database_url`'s."""
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=BUDGET, window_seconds=WINDOW_SECONDS,
                                mutations_per_window=10**6, requests_per_minute=10**6)
    state_url = database_url if database_url.startswith("postgresql") else None
    with routed_project(tmp_path / "project", settings=settings, state_url=state_url) as project:
        yield project


def test_three_routed_boards_sync_concurrently_on_one_budget_and_each_equals_its_share(routed_tight):
    project = routed_tight
    refused_before = dict(usage(project.base_url)["refused"])

    synced = project.run("--log-level", "info", "sync", "--all", "--json")

    assert synced.exit_code in (0, 1), synced.stderr[-3000:]  # the sample's bad rows fail, recorded
    result = synced.json()
    assert [board["board_id"] for board in result["boards"]] == project.boards
    assert all(board["totals"]["items"]["create"] > 0 for board in result["boards"])
    assert "database is locked" not in synced.stderr
    stats = usage(project.base_url)
    assert stats["refused"] == refused_before  # not one request refused for the budget (or any limit)
    assert stats["peak_complexity_in_window"] <= BUDGET
    runs = applied_runs(synced.stderr)
    assert len(set(runs)) == 3 and runs != sorted(runs)  # the boards' phases applied interleaved
    assert sum(board["api"]["rate_limited"] for board in result["boards"]) == 0
    held = assert_each_board_is_its_share(project)  # no key on two boards, reconcile clean on each
    assert sorted(held) == sorted(key for board_id in project.boards for key in keys_on(project, board_id))

    again = project.run("sync", "--all", "--json")  # nothing left to do on any board
    assert again.exit_code in (0, 1), again.stderr[-3000:]
    assert again.json()["totals"]["items"].get("create", 0) == 0


def test_one_board_at_a_time_when_concurrent_boards_is_1(routed_tight):
    project = routed_tight
    project.edit_config("[monday]\n", "[monday]\nconcurrent_boards = 1\n")

    synced = project.run("--log-level", "info", "sync", "--all", "--json")

    assert synced.exit_code in (0, 1), synced.stderr[-3000:]
    runs = applied_runs(synced.stderr)
    assert len(set(runs)) == 3 and runs == sorted(runs)  # board after board
    assert_each_board_is_its_share(project)


def test_the_progress_of_a_concurrent_sync_counts_every_boards_operations(routed_tight):
    """What the CLI's progress bar follows (`ordersync.sync(on_progress=…)`): while several boards
    apply at once, their operations summed, ending with every operation of every board done."""
    from ordersync import api

    seen: list[tuple[int, int]] = []
    result = api.sync(routed_tight.config(), all_customers=True,
                      on_progress=lambda progress: seen.append((progress.done, progress.total)),
                      token=SecretStr(TOKEN))

    operations = sum(board.outcome.totals["items"]["create"] + board.outcome.totals["subitems"]["create"]
                     for board in result.boards)
    assert seen[-1] == (operations, operations)
    assert max(total for _, total in seen) == operations
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)  # never back, whichever board reports
