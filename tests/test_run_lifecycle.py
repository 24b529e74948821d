"""Every run ends in a recorded status (issue 10, point 11).

A real `ordersync sync` process stopped by Ctrl-C (SIGINT) or a scheduler's SIGTERM records its run
INTERRUPTED (naming the signal), lets go of the board's lock, prints the `--json` error object and
exits 128 + the signal's number; a run refused before its first write (the board unreadable, the
board check failed, the lock held) is recorded FAILED with the reason, so `status` shows it.
"""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from cli_project import cli_project
from ordersync.emulator import EmulatorSettings, FaultSettings, running_emulator
from ordersync.sample_data import write_sample_data
from ordersync.state import StateStore
from ordersync.state.lock import acquire_lock
from reliability import TOKEN, ProcessProject

ROWS = 100
SYNC = ("sync", "--all", "--json")


@pytest.fixture
def slow_project(tmp_path):
    """An emulator over HTTP that answers each request after 150 ms, and small requests: a sync writes
    for several seconds, so a signal lands while it writes."""
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=2_000_000_000, mutations_per_window=10**9,
                                requests_per_minute=10**9, window_seconds=86_400,
                                faults=FaultSettings(latency_ms=150))
    write_sample_data(f"sqlite:///{tmp_path / 'ordersync.db'}", rows=ROWS)
    with running_emulator(settings) as base_url:
        project = ProcessProject(tmp_path, base_url, monday={"max_mutations_per_request": 5,
                                                            "max_backoff_seconds": 0.2})
        project.new_board()
        yield project


def _started_writing(project: ProcessProject, process, timeout: float = 60) -> bool:
    started, before = time.monotonic(), project.mutations_received()
    while process.poll() is None and time.monotonic() - started < timeout:
        if project.mutations_received() > before:
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize(("stop", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)],
                         ids=["SIGTERM", "SIGINT"])
def test_a_sync_stopped_by_a_signal_is_recorded_interrupted_and_lets_go_of_the_lock(slow_project, stop, exit_code):
    process = slow_project.start(*SYNC)
    assert _started_writing(slow_project, process), "the sync never started writing"
    process.send_signal(stop)
    finished = slow_project.finish(process, timeout=60)

    assert finished.returncode == exit_code, finished.stderr[-2000:]
    error = finished.json()["error"]
    assert error["type"] == "Interrupted" and error["exit_code"] == exit_code
    assert stop.name in error["message"]
    assert "Traceback" not in finished.stderr
    assert slow_project.lock_holders() == []

    status = slow_project.run("status", "--json")
    assert status.returncode == 0, status.stderr
    shown = status.json()
    assert shown["running"] == [] and shown["lock"] is None
    last = shown["runs"][0]
    assert last["status"] == "INTERRUPTED" and stop.name in last["message"]

    slow_project.set_faults(latency_ms=0)
    again = slow_project.run(*SYNC)  # no --wait: the lock is free, nothing to take over
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.json()["status"] == "COMPLETED"


def _last_run(project) -> dict:
    status = project.run("status", "--json")
    assert status.exit_code == 0, status.stderr
    shown = status.json()
    assert shown["running"] == []
    return shown["runs"][0]


def test_a_sync_that_cannot_read_its_board_is_recorded_failed_with_the_reason(tmp_path):
    with cli_project(tmp_path, rows=100) as project:
        project.edit_config(f'board_id = "{project.board_id}"', 'board_id = "987654321"')
        result = project.run("sync", "--customer", "GREYSON", "--json")
        assert result.exit_code != 0 and "error" in result.json()
        last = _last_run(project)
        assert last["status"] == "FAILED" and last["board_id"] == "987654321"
        assert "987654321" in last["message"]


def test_a_sync_refused_by_the_board_check_is_recorded_failed_with_the_reason(tmp_path):
    with cli_project(tmp_path, rows=100) as project:
        project.edit_config('quantity_column = "numeric_mkra7j8e"', 'quantity_column = "numeric_not_there"')
        result = project.run("sync", "--customer", "GREYSON", "--json")
        assert result.exit_code == 2, result.stdout
        last = _last_run(project)
        assert last["status"] == "FAILED" and "numeric_not_there" in last["message"]


def test_a_sync_refused_because_the_lock_is_held_is_recorded_failed_with_the_holder(tmp_path):
    with cli_project(tmp_path, rows=100) as project:
        assert project.run("sync", "--customer", "GREYSON", "--json").exit_code == 0
        store = StateStore.from_url(project.source_url)
        lock = asyncio.run(acquire_lock(store, project.board_id))  # held by this (live) process
        try:
            result = project.run("sync", "--customer", "GREYSON", "--json")
            assert result.exit_code == 4 and result.json()["error"]["type"] == "LockHeld"
            last = _last_run(project)
            assert last["status"] == "FAILED" and "being synced by" in last["message"]
        finally:
            lock.release()
            store.engine.dispose()
        assert project.run("sync", "--customer", "GREYSON", "--json").exit_code == 0
