"""Several `ordersync sync` processes, each on its own board, share one Monday token (one account's
complexity budget) through the state database on PostgreSQL (`state/budget_ledger.py`, issue 11).

The emulator runs in the test process with a small budget (about three of the largest requests a
window) and a short window; the workers are real operating-system processes started at once. With
the shared ledger the emulator refuses none of their requests for the budget and every board equals
its source; with `shared_budget = false` (each process pacing only itself, as before) the same run
meets budget refusals — the proof this test can fail.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ordersync.emulator import EmulatorSettings, running_emulator
from ordersync.sample_data import write_sample_data
from ordersync.state import StateStore
from ordersync.state.budget_ledger import BudgetLedger, token_fingerprint
from reliability import TOKEN, ProcessProject, assert_board_equals_source

BUDGET = 3_000_000  # a window's budget: the largest request of a 100-line sync costs about 1,000,000
WINDOW_SECONDS = 1.0
BUDGET_REFUSED = "COMPLEXITY_BUDGET_EXHAUSTED"

pytestmark = pytest.mark.postgres


def usage(base_url: str) -> dict[str, Any]:
    """The emulator's figures for the one token: spend in the window, refusals by limit."""
    return next(iter(httpx.get(f"{base_url}/emulator/stats", timeout=30).json()["usage"].values()))


def settle_the_window(base_url: str) -> None:
    """Wait until the emulator counts nothing spent in its window (the boards' setup is not the workers')."""
    while usage(base_url)["complexity_used"]:
        time.sleep(0.1)


def workers(tmp_path: Path, base_url: str, count: int, state_url: str, shared: bool | str) -> list[ProcessProject]:
    """`count` projects, each with its own source (100 order lines) and its own board, one state database."""
    projects = []
    for index in range(count):
        directory = tmp_path / f"worker{index}"
        directory.mkdir()
        write_sample_data(f"sqlite:///{directory / 'ordersync.db'}", rows=100, seed=index)
        project = ProcessProject(directory, base_url, monday={"max_backoff_seconds": 0.2, "shared_budget": shared})
        project.new_board()
        text = project.config_path.read_text(encoding="utf-8")
        project.config_path.write_text(text.replace("[state]\n", f"[state]\nurl = {json.dumps(state_url)}\n", 1),
                                       encoding="utf-8")
        projects.append(project)
    return projects


def run_side_by_side(projects: list[ProcessProject]) -> list[Any]:
    """One `ordersync sync` process per project, all started at once; each one's end."""
    started = [project.start("--log-level", "info", "sync", "--all", "--json") for project in projects]
    finished = [ProcessProject.finish(process, timeout=300) for process in started]
    for index, (project, done) in enumerate(zip(projects, finished, strict=True)):  # for whoever reads a failure
        (project.directory / f"sync-{index}.log").write_text(done.stderr, encoding="utf-8")
    return finished


@pytest.fixture
def emulator():
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=BUDGET, window_seconds=WINDOW_SECONDS,
                                mutations_per_window=10**6, requests_per_minute=10**6)
    with running_emulator(settings) as base_url:
        yield base_url


@pytest.mark.parametrize("count", [pytest.param(2, marks=pytest.mark.slow), 3])  # 3 in CI: it holds 2's case
def test_workers_sharing_one_token_on_postgresql_never_meet_the_budget_limit(tmp_path, postgres_url, emulator, count):
    projects = workers(tmp_path, emulator, count, postgres_url, "auto")  # auto: on, the state is PostgreSQL
    settle_the_window(emulator)
    refused_before = dict(usage(emulator)["refused"])

    finished = run_side_by_side([*projects, projects[0]])  # and a second worker on the first board

    *finished, second = finished
    if finished[0].returncode == 4:  # the board's lock (a row in the state database) let one of the two in
        finished[0], second = second, finished[0]
    assert second.returncode == 4 and second.json()["error"]["type"] == "LockHeld", second.stderr[-2000:]
    for done in finished:
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.json()["api"]["rate_limited"] == 0
    stats = usage(emulator)
    assert stats["refused"] == refused_before  # not one request refused for the budget, or any other limit
    assert stats["peak_complexity_in_window"] <= BUDGET
    assert sum(done.json()["api"]["complexity_spent"] for done in finished) > 3 * BUDGET  # they did compete
    assert any("s: shared complexity budget, the workers of this token have" in done.stderr
               for done in finished)  # and waited for each other
    for project in projects:
        assert_board_equals_source(project)
    store = StateStore.from_url(postgres_url)
    try:  # one ledger row, named by the token's fingerprint, never the token
        with store.engine.connect() as connection:
            rows = connection.execute(sa.select(store.tables.budget_ledger)).mappings().all()
    finally:
        store.engine.dispose()
    assert [row["token_fingerprint"] for row in rows] == [token_fingerprint(TOKEN)]
    assert TOKEN not in json.dumps([dict(row) for row in rows], default=str)
    assert rows[0]["limit_points"] == BUDGET


def test_without_the_shared_ledger_the_same_workers_meet_budget_refusals(tmp_path, postgres_url, emulator):
    projects = workers(tmp_path, emulator, 3, postgres_url, False)
    settle_the_window(emulator)
    refused_before = usage(emulator)["refused"].get(BUDGET_REFUSED, 0)

    finished = run_side_by_side(projects)

    assert usage(emulator)["refused"].get(BUDGET_REFUSED, 0) > refused_before, [done.stderr[-2000:] for done in finished]
    assert sum(done.json()["api"]["rate_limited"] for done in finished if done.stdout) > 0


def test_the_ledger_makes_a_worker_wait_while_the_others_fill_the_window(postgres_url):
    store = StateStore.from_url(postgres_url)
    store.ensure_schema()
    try:
        first, second = (BudgetLedger(store.engine, store.tables, token_fingerprint(TOKEN)) for _ in range(2))
        probe = first.reserve(100, limit=None, window=None)  # nobody knows the budget: one request at a time
        assert probe.reservation
        assert second.reserve(100, limit=None, window=None).wait_seconds > 0
        first.settle(probe.reservation, 100)
        big = second.reserve(600_000, limit=1_000_000, window=60)
        assert big.reservation
        waiting = first.reserve(500_000, limit=None, window=None)  # the limit the other worker learnt is used
        assert waiting.reservation is None and waiting.wait_seconds > 0
        assert "600100 of its 980000 points" in waiting.reason
        second.settle(big.reservation, 300_000)  # the answer cost less than the estimate: room again
        assert first.reserve(500_000, limit=None, window=None).reservation
        first.hold(30)  # a rate-limit answer: everyone holds off
        held = second.reserve(1, limit=None, window=None)
        assert held.reservation is None and 29 < held.wait_seconds <= 30
    finally:
        store.engine.dispose()


@pytest.mark.parametrize("command", [("validate", "--json"), ("reconcile", "--json")])
def test_validate_and_reconcile_pace_on_the_shared_budget_as_sync_does(tmp_path, postgres_url, command):
    """Every command that talks to Monday builds its client in one place (`engine/clients.py`): on a
    PostgreSQL state database its requests are reserved in the token's ledger row like a sync's."""
    from cli_project import TOKEN as CLI_TOKEN
    from cli_project import cli_project

    with cli_project(tmp_path / "project", rows=100) as project:
        project.edit_config("[state]\n", f"[state]\nurl = {json.dumps(postgres_url)}\n")
        done = project.run(*command)
        assert done.exit_code in (0, 1), done.stdout + done.stderr[-2000:]
    store = StateStore.from_url(postgres_url)
    try:
        with store.engine.connect() as connection:
            rows = connection.execute(sa.select(store.tables.budget_ledger)).mappings().all()
    finally:
        store.engine.dispose()
    assert [row["token_fingerprint"] for row in rows] == [token_fingerprint(CLI_TOKEN)]
    assert json.loads(rows[0]["reservations"])  # its requests, reserved and settled there
