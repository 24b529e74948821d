"""Two state databases, one token, two boards (issue 10): a staging and a production folder syncing
with the same Monday token, interleaved, with SIGKILLs, lost responses and a restored backup — both
boards end equal to their sources, and no business key is on a board twice.

Each folder has its own source and state tables (one SQLite file) and its own board on one emulator
served over HTTP. A seeded schedule picks a folder per round, sometimes edits its source first,
starts a real `ordersync sync` process and sometimes kills it; every few rounds one folder's
database is replaced by an older copy of itself (a restored backup) — every third round. CI runs 4 rounds, `--soak` 30.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter

import pytest

from cli_project import copy_sqlite
from ordersync.emulator import EmulatorSettings, FaultSettings, running_emulator
from ordersync.sample_data import write_sample_data
from reliability import TOKEN, ProcessProject, assert_board_equals_source, edit_source

ROWS = 100
SYNC = ("sync", "--all", "--json")


def board_key_counts(project: ProcessProject) -> Counter[str]:
    config = project.config()
    import asyncio

    board = asyncio.run(project._board(config))
    return Counter(item.key for item in board if item.key is not None)


def folder(tmp_path, name: str, base_url: str) -> ProcessProject:
    directory = tmp_path / name
    directory.mkdir()
    write_sample_data(f"sqlite:///{directory / 'ordersync.db'}", rows=ROWS, seed=4755 if name == "staging" else 4756)
    project = ProcessProject(directory, base_url, monday={"max_mutations_per_request": 20, "max_backoff_seconds": 0.2,
                                                          "max_attempts": 4})
    project.new_board()
    return project


def sync_maybe_killed(project: ProcessProject, rng: random.Random) -> str:
    """A sync that is killed at a random moment one time in two; returns how it ended."""
    process = project.start(*SYNC)
    if rng.random() < 0.5:
        time.sleep(rng.uniform(0.2, 2.5))
        process.send_signal(signal.SIGKILL)
    finished = project.finish(process)
    if finished.returncode == -signal.SIGKILL:
        return "killed"
    assert finished.returncode in (0, 1), finished.stderr[-2000:]  # 1: a lost answer left rows to retry
    return "finished"


@pytest.mark.timeout(3600)
@pytest.mark.parametrize("rounds", [4, pytest.param(30, marks=pytest.mark.slow)], ids=["4-rounds", "30-rounds"])
def test_two_state_databases_one_token_two_boards_stay_exact(tmp_path, rounds):
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=2_000_000_000, mutations_per_window=10**9,
                                requests_per_minute=10**9, faults=FaultSettings(latency_ms=5, seed=7))
    rng = random.Random(1000 + rounds)
    with running_emulator(settings) as base_url:
        projects = {name: folder(tmp_path, name, base_url) for name in ("staging", "production")}
        backups = {}
        endings: Counter[str] = Counter()
        for round_number in range(rounds):
            name = rng.choice(sorted(projects))
            project = projects[name]
            database = project.directory / "ordersync.db"
            if name in backups and round_number % 3 == 2:  # restore the last backup: state and source go back
                copy_sqlite(backups[name], database)
                endings["restored"] += 1
            elif name not in backups or rng.random() < 0.3:
                backups[name] = project.directory / f"backup-{round_number}.db"
                copy_sqlite(database, backups[name])
            if rng.random() < 0.5:
                edit_source(project.source_url, rng)
            project.set_faults(lost_response=0.05, seed=round_number)
            endings[sync_maybe_killed(project, rng)] += 1

        for project in projects.values():  # the faults stop; one clean run each settles everything
            project.set_faults(lost_response=0.0)
            finished = project.run(*SYNC)
            assert finished.returncode == 0, finished.stderr[-2000:]
            assert_board_equals_source(project)
            counts = board_key_counts(project)
            assert counts and max(counts.values()) == 1, [key for key, count in counts.items() if count > 1][:5]
            assert project.open_intents() == 0
        assert endings["restored"] >= 1 and endings["killed"] + endings["finished"] == rounds, endings
