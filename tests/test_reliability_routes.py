"""SIGKILL during routed syncs whose lines change boards (issue 11): a real `ordersync sync --all` process
over three routed boards is killed at a random moment while lines move between seasons (so between
boards), then rerun — every board ends equal to its share of the source and no business key is ever on
two boards, whatever pass (removals first, then creates) the kill landed in.

The emulator is served over HTTP by the test process, so it outlives each killed client. CI runs
2 kills; `--soak` runs 20.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time

import pytest

from reliability import ORDERSYNC
from routed_boards import assert_each_board_is_its_share

SEASONS = ("2025 FALL", "2025 HOLIDAY", "2026 SPRING", "2026 SUMMER")


def move_lines(project, rng: random.Random, count: int = 6) -> None:
    """Some lines change season — and so board — and one more piece of their first size each."""
    connection = sqlite3.connect(project.directory / "ordersync.db")
    with connection:
        rowids = [row[0] for row in connection.execute("SELECT rowid FROM ORDERS_UNIFIED")]
        for rowid in rng.sample(rowids, count):
            season = rng.choice(SEASONS)
            connection.execute('UPDATE ORDERS_UNIFIED SET "AAG SEASON" = ?, "CUSTOMER SEASON" = ? WHERE rowid = ?',
                               (season, season, rowid))
    connection.close()


def sync_process(project) -> subprocess.Popen:
    return subprocess.Popen([str(ORDERSYNC), "--config", str(project.config_path), "sync", "--all", "--json"],
                            cwd=project.directory, env={**os.environ, **project.env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("kills", [2, pytest.param(20, marks=pytest.mark.slow)], ids=["2-kills", "20-kills"])
def test_routed_syncs_killed_while_lines_move_between_boards_leave_every_board_its_share(routed, kills):
    project = routed
    project.emulator("PATCH", "/emulator/config", json={"faults": {"latency_ms": 15}})
    first = project.run("sync", "--all", "--json")
    assert first.exit_code == 0, first.stderr
    rng = random.Random(1100 + kills)
    ended = {"killed": 0, "finished": 0}
    for _ in range(kills):
        move_lines(project, rng)
        process = sync_process(project)
        time.sleep(rng.uniform(0.3, 3.0))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=300)
        ended["killed" if process.returncode == -signal.SIGKILL else "finished"] += 1
        rerun = project.run("sync", "--all", "--json")
        assert rerun.exit_code == 0, rerun.stderr[-3000:]
        assert_each_board_is_its_share(project)
    assert ended["killed"] >= 1, ended  # the schedule really killed runs in flight
