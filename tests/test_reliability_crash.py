"""SIGKILL at random moments: a real `ordersync sync` process killed mid-run and rerun leaves the board
equal to the source — no duplicate item or subitem, nothing missing, every value right.

The emulator is served over HTTP by the test process, so it outlives each killed client. Trials
follow a seeded schedule: half start a fresh board (the killed run was creating groups, items and
subitems), half edit the source first (it was creating, updating and archiving); some kill the
rerun too. A kill leaves the board's lock behind; the rerun takes it over because its holder's
process is gone. CI runs 6 kills; `--soak` runs 50.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from dataclasses import dataclass

import pytest

from ordersync.emulator import EmulatorSettings, FaultSettings, running_emulator
from ordersync.sample_data import write_sample_data
from reliability import TOKEN, ProcessProject, assert_board_equals_source, edit_source

ROWS = 100  # ~100 items, ~350 subitems, ~25 groups
LATENCY_MS = 10  # per request: a run lasts a few seconds, so kills land between and during requests
SYNC = ("sync", "--all", "--json")


@dataclass
class Landing:
    """Where a kill found the run: starting, preparing, applying, finishing, or already gone."""

    where: str
    lock_left: bool = False


@pytest.fixture
def project(tmp_path):
    # a window longer than the test: the emulator's mutation count only grows, and tells when writes start
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=2_000_000_000, mutations_per_window=10**9,
                                requests_per_minute=10**9, window_seconds=86_400,
                                faults=FaultSettings(latency_ms=LATENCY_MS))
    write_sample_data(f"sqlite:///{tmp_path / 'ordersync.db'}", rows=ROWS)
    with running_emulator(settings) as base_url:
        # small requests: more of them, so more moments where a kill matters
        project = ProcessProject(tmp_path, base_url, monday={"max_mutations_per_request": 20,
                                                            "max_backoff_seconds": 0.2})
        project.new_board()
        yield project


def started_writing(project: ProcessProject, process, timeout: float = 60) -> float | None:
    """Seconds until the emulator received the process's first mutation (None if it ended first)."""
    started, before = time.monotonic(), project.mutations_received()
    while process.poll() is None and time.monotonic() - started < timeout:
        if project.mutations_received() > before:
            return time.monotonic() - started
        time.sleep(0.01)
    return None


@dataclass
class Timing:
    """An uninterrupted run of one kind of trial: until its first write, then writing until its outcome."""

    until_writes: float
    writing: float


def timed_sync(project: ProcessProject) -> Timing:
    """An uninterrupted sync: until its first write, then until its outcome is written (after that it only
    records the board's mark, waiting for the second of its last write to pass, and lets go of the lock)."""
    started = time.monotonic()
    process = project.start(*SYNC)
    until_writes = started_writing(project, process)
    while process.poll() is None and project.runs()[-1]["status"] == "RUNNING":
        time.sleep(0.01)
    written = time.monotonic()
    finished = project.finish(process)
    assert finished.returncode == 0 and until_writes is not None, finished.stderr
    return Timing(until_writes, written - started - until_writes)


def kill(project: ProcessProject, timing: Timing, rng: random.Random) -> Landing:
    """Start a sync and SIGKILL it at a seeded random moment — mostly while it writes to the board,
    sometimes anywhere from its start — then reap it and say where it was."""
    runs_before, mutations_before = len(project.runs()), project.mutations_received()
    process = project.start(*SYNC)
    if rng.random() < 0.75:
        started_writing(project, process)
        time.sleep(rng.uniform(0, 0.9 * timing.writing))
    else:
        time.sleep(rng.uniform(0, timing.until_writes + timing.writing))
    process.send_signal(signal.SIGKILL)
    finished = project.finish(process)  # reaped: a zombie would still look alive to the lock's pid check
    if finished.returncode != -signal.SIGKILL:
        assert finished.returncode == 0, finished.stderr
        return Landing("finished")
    runs = project.runs()
    lock_left = bool(project.lock_holders())
    if len(runs) == runs_before:
        return Landing("starting", lock_left)
    last = runs[-1]
    if last["status"] != "RUNNING":  # its outcome was written: killed while it wrote reports or let go of the lock
        return Landing("finishing", lock_left)
    wrote = project.mutations_received() > mutations_before
    return Landing("applying" if wrote else "preparing", lock_left)


def rerun(project: ProcessProject) -> None:
    """One rerun finishes the job: exit 0 (never 4: a dead holder's lock is taken over), run COMPLETED."""
    finished = project.run(*SYNC)
    assert finished.returncode == 0, finished.stderr
    assert finished.json()["status"] == "COMPLETED", finished.stdout[-2000:]


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("trials", [6, pytest.param(50, marks=pytest.mark.slow)], ids=["6-kills", "50-kills"])
def test_a_sync_killed_at_random_moments_and_rerun_leaves_the_board_equal_to_the_source(project, trials):
    rng = random.Random(4755 + trials)
    timings = {"fresh board": timed_sync(project)}  # uninterrupted runs of each kind: where kills can land
    assert_board_equals_source(project)
    edit_source(project.source_url, rng)
    timings["source edits"] = timed_sync(project)
    assert_board_equals_source(project)

    landings: Counter[str] = Counter()
    takeovers = 0
    for trial in range(trials):
        kind = "fresh board" if trial % 2 == 0 else "source edits"
        if kind == "fresh board":
            project.new_board()
        else:
            edit_source(project.source_url, rng)
        killed = [kill(project, timings[kind], rng)]
        if killed[0].where != "finished" and rng.random() < 0.25:  # the rerun is killed too
            killed.append(kill(project, timings[kind], rng))
        landings.update(landing.where for landing in killed)
        takeovers += sum(landing.lock_left for landing in killed)
        rerun(project)

        assert_board_equals_source(project)
        assert project.open_intents() == 0
        assert project.lock_holders() == []
        assert project.runs()[-1]["status"] == "COMPLETED"

    # the schedule did what it claims: most kills landed while the run was writing to the board,
    # and each of those left the lock behind for the rerun to take over
    assert landings["applying"] >= trials // 2, landings
    assert takeovers >= landings["applying"], (takeovers, landings)
