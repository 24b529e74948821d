"""SIGKILL during rollovers, and two processes rolling one template at once (issue 11).

A real `ordersync sync --all` process over a template route (the emulator's cap lowered to 30, the
route's `rollover_at` to 20) is killed at a random moment — while it makes a board from the template
(the intent committed, `duplicate_board` sent or answered), while it creates the new board's items or
their subitems — then rerun. Each round adds new order lines, so each round rolls over onto new
boards. After every rerun: each board name made once (no second board for one number), no business
key on two boards, every line of the source on a board, reconcile clean on every board.

Then two `sync --all` processes start at the same moment on new lines: the template's lock lets one
plan the route's boards at a time, so both end well and every board is still made once.

The emulator is served over HTTP by the test process, so it outlives each killed client. CI runs
2 kills; `--soak` runs 15.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter

import pytest

from cli_project import Project
from ordersync.engine.transform import business_key
from reliability import ORDERSYNC
from routed_boards import BUSINESS_KEY, keys_on, template_project

CAP, ROLLOVER_AT = 30, 20
PREFIX = "Customer Master Schedule "


@pytest.fixture
def rolling(tmp_path):
    """One template route over the demo board (which stays empty); items rolled over every 20."""
    with template_project(tmp_path / "project", cap=CAP, rollover_at=ROLLOVER_AT) as project:
        project.emulator("PATCH", "/emulator/config", json={"faults": {"latency_ms": 15}})
        yield project


def add_lines(project: Project, tag: str, count: int) -> None:
    """`count` new order lines: copies of existing ones under a new AAG ORDER NUMBER (a new business key)."""
    connection = sqlite3.connect(project.directory / "ordersync.db")
    connection.row_factory = sqlite3.Row
    with connection:
        rows = [dict(row) for row in connection.execute(
            'SELECT * FROM ORDERS_UNIFIED WHERE "AAG ORDER NUMBER" IS NOT NULL ORDER BY rowid LIMIT ?', (count,))]
        for row in rows:
            row["AAG ORDER NUMBER"] = f"{row['AAG ORDER NUMBER']}-{tag}"
        names = list(rows[0])
        connection.executemany(
            f"INSERT INTO ORDERS_UNIFIED ({', '.join(f'[{name}]' for name in names)}) "
            f"VALUES ({', '.join('?' for _ in names)})", [tuple(row[name] for name in names) for row in rows])
    connection.close()


def source_keys(project: Project) -> set[str]:
    connection = sqlite3.connect(project.directory / "ordersync.db")
    connection.row_factory = sqlite3.Row
    try:
        return {key for key, _ in (business_key(dict(row), BUSINESS_KEY)
                                   for row in connection.execute("SELECT * FROM ORDERS_UNIFIED")) if key}
    finally:
        connection.close()


def failed_keys(project: Project) -> set[str]:
    """The keys of the sample's bad rows: recorded as errors (never on a board), every run."""
    connection = sqlite3.connect(project.directory / "ordersync.db")
    try:
        return {key for (key,) in connection.execute(
            "SELECT DISTINCT item_key FROM ordersync_errors WHERE item_key IS NOT NULL")}
    finally:
        connection.close()


def route_boards(project: Project) -> list[str]:
    """The route's boards, oldest first, each name made once (a number made twice fails)."""
    boards = project.graphql("query { boards(limit: 500) { id name } }")["boards"]
    names = Counter(board["name"] for board in boards if board["name"].startswith(PREFIX))
    assert all(count == 1 for count in names.values()), names
    made = {int(board["name"][len(PREFIX):]): board["id"] for board in boards if board["name"].startswith(PREFIX)}
    assert sorted(made) == list(range(1, len(made) + 1)), sorted(made)  # no gap in the numbers
    return [made[number] for number in sorted(made)]


def assert_every_line_on_one_board(project: Project) -> list[str]:
    boards = route_boards(project)
    held: Counter[str] = Counter()
    for board_id in boards:
        on_board = keys_on(project, board_id)
        assert all(count == 1 for count in on_board.values()), board_id
        assert len(on_board) <= CAP
        held.update(on_board.keys())
    assert {key: count for key, count in held.items() if count > 1} == {}  # no business key on two boards
    assert source_keys(project) - set(held) - failed_keys(project) == set()  # nothing missing but bad rows
    reconciled = project.run("reconcile", "--json")
    assert reconciled.exit_code == 0, reconciled.stdout
    assert [board["board_id"] for board in reconciled.json()["boards"]] == boards
    assert all(board["clean"] for board in reconciled.json()["boards"])
    return boards


def sync_process(project: Project, *args: str) -> subprocess.Popen:
    return subprocess.Popen([str(ORDERSYNC), "--config", str(project.config_path), "sync", "--all", "--json", *args],
                            cwd=project.directory, env={**os.environ, **project.env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("kills", [2, pytest.param(15, marks=pytest.mark.slow)], ids=["2-kills", "15-kills"])
def test_syncs_killed_while_they_roll_over_leave_each_board_made_once_and_every_line_on_one(rolling, kills):
    rng = random.Random(1111 + kills)
    ended = {"killed": 0, "finished": 0}
    boards_before = 0
    for round_number in range(kills):
        if round_number:
            add_lines(rolling, f"R{round_number}", ROLLOVER_AT + 5)  # enough for at least one more board
        process = sync_process(rolling)
        time.sleep(rng.uniform(0.2, 2.5))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=300)
        ended["killed" if process.returncode == -signal.SIGKILL else "finished"] += 1
        rerun = rolling.run("sync", "--all", "--json")
        assert rerun.exit_code in (0, 1), rerun.stderr[-3000:]  # the sample's bad rows fail, recorded
        boards = assert_every_line_on_one_board(rolling)
        assert len(boards) > boards_before  # the round rolled over
        boards_before = len(boards)
    assert ended["killed"] >= 1, ended  # the schedule really killed runs in flight


def test_two_processes_rolling_one_template_at_once_make_each_board_once(rolling):
    first = rolling.run("sync", "--all", "--json")
    assert first.exit_code in (0, 1), first.stderr
    before = route_boards(rolling)
    add_lines(rolling, "TWO", 2 * ROLLOVER_AT + 5)  # at least two more boards
    processes = [sync_process(rolling, "--wait", "120") for _ in range(2)]
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode in (0, 1), stderr[-3000:]
    boards = assert_every_line_on_one_board(rolling)
    assert len(boards) >= len(before) + 2
    assert boards[: len(before)] == before
