"""Two `ordersync sync` processes started at once on one board: nothing is done twice.

The same-process case (two syncs in one event loop) is in test_sync_recovery.py; here they are two
operating-system processes sharing only the state database and the API, as two scheduled runs
would be. The emulator counts every item and subitem ever created on it, archived or not, so a
write done twice shows even if a later run tidied it away.
"""

from __future__ import annotations

import httpx
import pytest

from ordersync.emulator import EmulatorSettings, FaultSettings, running_emulator
from ordersync.sample_data import write_sample_data
from reliability import TOKEN, ProcessProject, assert_board_equals_source

SYNC = ("sync", "--all", "--json")


@pytest.fixture
def project(tmp_path):
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=10**9, mutations_per_window=10**6,
                                requests_per_minute=10**6, faults=FaultSettings(latency_ms=20))
    write_sample_data(f"sqlite:///{tmp_path / 'ordersync.db'}", rows=100)
    with running_emulator(settings) as base_url:
        project = ProcessProject(tmp_path, base_url, monday={"max_backoff_seconds": 0.2})
        project.new_board()
        yield project


def created_on_the_emulator(project: ProcessProject) -> int:
    """Items and subitems the emulator ever made, archived and deleted ones included."""
    return httpx.get(f"{project.base_url}/emulator/stats", timeout=30).json()["items"]


def test_two_sync_processes_at_once_one_syncs_the_other_refuses_with_exit_4(project):
    before = created_on_the_emulator(project)
    first, second = project.start(*SYNC), project.start(*SYNC)  # the state tables do not exist yet either
    outcomes = sorted((project.finish(first), project.finish(second)), key=lambda finished: finished.returncode)

    synced, refused = outcomes
    assert (synced.returncode, refused.returncode) == (0, 4), [o.stderr[-1500:] for o in outcomes]
    assert "being synced by" in refused.stderr and refused.json()["error"]["type"] == "LockHeld"
    drift = assert_board_equals_source(project)
    totals = synced.json()["totals"]
    assert (totals["items"]["create"], totals["subitems"]["create"]) == (drift.source_items, drift.source_subitems)
    assert created_on_the_emulator(project) - before == drift.source_items + drift.source_subitems
    assert project.lock_holders() == [] and project.open_intents() == 0


def test_with_wait_the_second_process_queues_behind_the_first_and_finds_nothing_to_do(project):
    project.run("plan", "--json")  # state tables made: this case is about the lock alone
    before = created_on_the_emulator(project)
    first, second = project.start(*SYNC, "--wait", "120"), project.start(*SYNC, "--wait", "120")
    outcomes = [project.finish(first), project.finish(second)]

    assert [finished.returncode for finished in outcomes] == [0, 0], [o.stderr[-1500:] for o in outcomes]
    results = sorted((finished.json() for finished in outcomes), key=lambda result: result["run_id"])
    drift = assert_board_equals_source(project)
    assert results[0]["totals"]["items"]["create"] == drift.source_items
    assert results[1]["totals"]["items"]["create"] == 0 and results[1]["totals"]["subitems"]["create"] == 0
    assert results[1]["api"]["mutations"] == 0
    assert created_on_the_emulator(project) - before == drift.source_items + drift.source_subitems
