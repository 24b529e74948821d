"""Two-way latency (issue 13): a planner's edit on the board to its row in the warehouse, webhook path
against the pull path, measured in the same run.

The emulator serves Monday's API and delivers webhooks from its own process; `ordersync webhooks serve`
receives them in another, as a person starts it (`ordersync webhooks install URL` registers it). The
sample (`--rows` order lines) is synced with CUSTOMER EX FACTORY DATE owned by the board, then a
planner (a member of the emulator's account without a token) sets that date on one item after another
through the emulator's operator endpoint — the same store the API writes through:

- webhook: `--edits` edits, one at a time; each is timed from the edit's request until its row is in
  `<prefix>board_edits` (the warehouse table, polled every 5 ms);
- pull (the baseline: what a scheduled `ordersync pull` gives at best): `--pulls` edits, each followed at
  once by `ordersync pull` in a process of its own, timed from the edit until the pull has recorded it.
  A pull scheduled every N minutes adds up to N minutes more (N/2 on average) to every edit.

p50, p95 and the largest latency of each, and p50 pull / p50 webhook. Webhook deliveries get no
injected latency (the emulator answers API requests without any either): the figures are ordersync's
own share — the receiver's re-read of the item and its activity log through the API, and the write.

    .venv/bin/python bench/bench_webhooks.py              # 200 edits by webhook, 20 by pull
    .venv/bin/python bench/bench_webhooks.py --quick      # 40 and 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from pydantic import SecretStr

from ordersync.config import parse_config
from ordersync.emulator import EmulatorSettings
from ordersync.monday.board_setup import create_demo_board
from ordersync.monday.connect import make_client
from ordersync.sample_data import SAMPLE_CUSTOMERS, write_sample_data
from ordersync.sample_data.config import sample_config_text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sync import emulator_process  # noqa: E402

ORDERSYNC = str(Path(sys.executable).with_name("ordersync"))
TOKEN = "webhook-bench-token"
PLANNER = 71_000_001  # the emulator's first member
EX_FACTORY = "date_mkr57811"  # CUSTOMER EX FACTORY DATE, owned by the board here
KEY_COLUMN = "text_ordersync_key"


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return int(listener.getsockname()[1])


def config_text(base_url: str, source_url: str, board_id: str) -> str:
    text = sample_config_text(source_url=source_url, board_id=board_id)
    text = text.replace('api_url = "http://127.0.0.1:8765/v2"', f'api_url = "{base_url}/v2"', 1)
    old = 'source = "EX FACTORY DATE"\nid = "date_mkr57811"   # CUSTOMER EX FACTORY DATE\n'
    if old not in text:
        raise SystemExit("the sample config no longer maps EX FACTORY DATE to date_mkr57811: update the benchmark")
    return text.replace(old, 'id = "date_mkr57811"   # CUSTOMER EX FACTORY DATE\nowner = "board"\n', 1)


async def make_board(base_url: str) -> str:
    config = parse_config(sample_config_text(source_url="sqlite://", board_id="1").replace(
        'api_url = "http://127.0.0.1:8765/v2"', f'api_url = "{base_url}/v2"', 1))
    async with httpx.AsyncClient(timeout=120) as http:
        client = make_client(config, http, SecretStr(TOKEN))
        return await create_demo_board(client, customers=[customer.name for customer in SAMPLE_CUSTOMERS])


class Project:
    def __init__(self, directory: Path, base_url: str, rows: int) -> None:
        self.directory, self.base_url = directory, base_url
        self.database = directory / "orders.db"
        self.source_url = f"sqlite:///{self.database}"
        write_sample_data(self.source_url, rows=rows, seed=4755)
        self.board_id = asyncio.run(make_board(base_url))
        self.config_path = directory / "ordersync.toml"
        self.config_path.write_text(config_text(base_url, self.source_url, self.board_id), encoding="utf-8")
        self.env = {**os.environ, "MONDAY_API_TOKEN": TOKEN}

    def run(self, *args: str) -> dict:
        done = subprocess.run([ORDERSYNC, "--config", str(self.config_path), *args, "--json"], capture_output=True,
                              text=True, check=False, env=self.env)
        if done.returncode not in (0, 1):
            raise SystemExit(f"ordersync {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
        return json.loads(done.stdout)

    def item_ids(self) -> list[str]:
        query = "query ($b: [ID!]) { boards(ids: $b) { items_page(limit: 500) { items { id } } } }"
        answer = httpx.post(f"{self.base_url}/v2", json={"query": query, "variables": {"b": [self.board_id]}},
                            headers={"Authorization": TOKEN}, timeout=60).json()
        return [item["id"] for item in answer["data"]["boards"][0]["items_page"]["items"]]

    def edit(self, item_id: str, day: dt.date) -> None:
        answer = httpx.post(f"{self.base_url}/operator/edit", timeout=30, json={
            "board_id": self.board_id, "item_id": item_id, "column_id": EX_FACTORY,
            "value": {"date": day.isoformat()}, "user_id": PLANNER})
        answer.raise_for_status()

    def recorded(self, item_id: str, day: dt.date) -> str | None:
        """How the edit reached the warehouse (`via`), once it has."""
        with contextlib.closing(sqlite3.connect(self.database, timeout=30)) as connection:
            found = connection.execute(
                'SELECT via FROM "ordersync_board_edits" WHERE item_id = ? AND column_id = ? AND value_date = ?',
                (item_id, EX_FACTORY, day.isoformat())).fetchone()
        return found[0] if found else None


@contextlib.contextmanager
def receiver(project: Project) -> Iterator[str]:
    """`ordersync webhooks serve` in a process of its own; yields its URL."""
    port = free_port()
    process = subprocess.Popen([ORDERSYNC, "--config", str(project.config_path), "webhooks", "serve", "--port",
                                str(port)], env=project.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the receiver stopped: {process.stderr.read() if process.stderr else ''}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("the receiver did not start")
            time.sleep(0.1)
        yield url + "/"
    finally:
        process.terminate()
        process.wait(timeout=10)


def by_webhook(project: Project, items: list[str], edits: int, first_day: dt.date) -> list[float]:
    latencies = []
    for index in range(edits):
        item_id, day = items[index % len(items)], first_day + dt.timedelta(days=index)
        started = time.perf_counter()
        project.edit(item_id, day)
        deadline = started + 60
        while (via := project.recorded(item_id, day)) is None:
            if time.perf_counter() > deadline:
                raise SystemExit(f"edit {index + 1} (item {item_id}) never reached the warehouse")
            time.sleep(0.005)
        if via != "webhook":
            raise SystemExit(f"edit {index + 1} came back by {via}, not by its webhook")
        latencies.append(time.perf_counter() - started)
        print(f"\rwebhook: {index + 1}/{edits}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return latencies


def by_pull(project: Project, items: list[str], pulls: int, first_day: dt.date) -> list[float]:
    latencies = []
    for index in range(pulls):
        item_id, day = items[index % len(items)], first_day + dt.timedelta(days=index)
        started = time.perf_counter()
        project.edit(item_id, day)
        project.run("pull")
        if project.recorded(item_id, day) is None:
            raise SystemExit(f"pull {index + 1} did not record the edit of item {item_id}")
        latencies.append(time.perf_counter() - started)
        print(f"\rpull: {index + 1}/{pulls}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def report(rows: int, measured: dict[str, list[float]]) -> str:
    lines = [f"## Two-way latency: a planner's edit to its warehouse row ({rows:,} order lines on the board)", "",
             "| path | edits | p50 ms | p95 ms | largest ms |", "|---|---:|---:|---:|---:|"]
    for path, values in measured.items():
        lines.append(f"| {path} | {len(values)} | {statistics.median(values) * 1000:,.0f} | "
                     f"{percentile(values, 0.95) * 1000:,.0f} | {max(values) * 1000:,.0f} |")
    webhook, pull = (statistics.median(measured[path]) for path in ("webhook", "pull right after the edit"))
    lines += ["", f"pull right after the edit / webhook, p50: {pull / webhook:.1f}× (a pull every N minutes adds "
                  "up to N minutes to each edit)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200, help="order lines synced to the board")
    parser.add_argument("--edits", type=int, default=200, help="edits timed on the webhook path")
    parser.add_argument("--pulls", type=int, default=20, help="edits timed on the pull path")
    parser.add_argument("--quick", action="store_true", help="40 webhook edits and 5 pulls")
    parser.add_argument("--json", type=Path, help="also write the latencies (seconds) here")
    options = parser.parse_args(argv)
    if options.quick:
        options.edits, options.pulls = 40, 5
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=10**9, mutations_per_window=10**6,
                                requests_per_minute=10**6, members=["Pat Planner"])
    with tempfile.TemporaryDirectory(prefix="ordersync-bench-webhooks-") as directory, \
            emulator_process(settings) as base_url:
        project = Project(Path(directory), base_url, options.rows)
        project.run("sync", "--all")
        project.run("pull")  # the current view starts from the board as the sync left it
        items = project.item_ids()
        with receiver(project) as url:
            project.run("webhooks", "install", url)
            measured = {"webhook": by_webhook(project, items, options.edits, dt.date(2027, 1, 1))}
            project.run("webhooks", "uninstall")
        measured["pull right after the edit"] = by_pull(project, items, options.pulls, dt.date(2029, 1, 1))
    print(report(options.rows, measured))
    if options.json:
        options.json.write_text(json.dumps({path: [round(value, 4) for value in values]
                                            for path, values in measured.items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
