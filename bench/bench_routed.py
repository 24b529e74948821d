"""Routed sync at scale: order lines routed by season over ≥ 11 boards, the emulator's 10,000-item
cap on, one worker process against three sharing one token on PostgreSQL — measured in the same run.

The sample (`--rows`, default 100,000 order lines) is routed by AAG SEASON; a season too big for one
board is split by customer (`when = { "AAG SEASON" = [...], "CUSTOMER NAME" = [...] }`), so that no
board is planned past `--per-board` items (default 9,000, under Monday's 10,000 cap, which the
emulator enforces), and a last route without `when` takes the rest (lines with no season).

The emulator serves Monday's API from its own process with Monday's Pro-plan budget at `--speedup`
(10×: 10,000,000 complexity points and 2,000 mutations per 6 s window) and 100 ms of latency on
every request. Two contenders, one after the other, each with its own token (its own budget, a
whole idle window before it starts), its own boards and its own state tables in one PostgreSQL
database (the budget ledger on, `[monday] shared_budget = "auto"`):
- 1 worker: one `ordersync sync --all` process over every board (`[monday] concurrent_boards`);
- 3 workers: three processes started at once, each syncing its third of the boards
  (`ordersync sync --all --board ID --board ID …`), pacing together through the token's ledger row.
Each ends with `ordersync reconcile` (every board against its share of the source) and the
emulator's figures for its token: requests refused by a limit, the most complexity spent in one
window. Throughput is mutations per second against the most the budget allows for the same mix of
requests: min(budget / points spent per mutation, mutation cap) per window.

    .venv/bin/python bench/bench_routed.py --quick    # 600 lines over 12 boards, about a minute
    .venv/bin/python bench/bench_routed.py            # 100,000 lines: ~430,000 mutations, hours at 10×
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from ordersync.config import parse_config
from ordersync.emulator import EmulatorSettings, FaultSettings
from ordersync.emulator.settings import token_label
from ordersync.engine.filters import canonical_customer, canonical_customers
from ordersync.monday.board_setup import create_demo_board
from ordersync.monday.connect import make_client
from ordersync.sample_data import SAMPLE_CUSTOMERS, write_sample_data
from ordersync.sample_data.config import sample_config_text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_stage import postgres_database  # noqa: E402
from bench_sync import BUDGET, MINUTE, MUTATIONS_PER_MINUTE, emulator_process  # noqa: E402

ITEMS_PER_BOARD = 10_000  # Monday's cap, on in the emulator
LATENCY_MS = 100
ORDERSYNC = str(Path(sys.executable).with_name("ordersync"))
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/ordersync_bench_routed"
# the emulator's stats name a token by its first 4 characters: these differ there
TOKENS = {"1 worker": "one-worker-bench-token", "3 workers": "three-workers-bench-token"}


@dataclass
class Contender:
    name: str
    workers: int
    token: str
    prefix: str
    config_path: Path | None = None
    boards: list[str] = field(default_factory=list)
    seconds: float = 0.0
    syncs: list[dict[str, Any]] = field(default_factory=list)  # each board's `sync --json`
    reconciled: list[dict[str, Any]] = field(default_factory=list)  # each board's `reconcile --json`
    usage: dict[str, Any] = field(default_factory=dict)  # the emulator's figures for its token
    refused_before: dict[str, int] = field(default_factory=dict)  # refusals before its sync (its boards' setup)
    exit_codes: list[int] = field(default_factory=list)

    def api(self, name: str) -> float:
        return sum(board["api"][name] for board in self.syncs)

    def created(self, kind: str) -> int:
        return sum(board["totals"][kind]["create"] for board in self.syncs)

    def ceiling(self, window: float) -> float:
        """Mutations per second the budget allows for this mix (reads included in the points)."""
        per_mutation = self.api("complexity_spent") / self.api("mutations")
        return min(BUDGET / per_mutation, MUTATIONS_PER_MINUTE) / window

    def as_row(self, window: float) -> dict[str, Any]:
        rate = self.api("mutations") / self.seconds
        on_boards = [board["drift"]["board"]["items"] for board in self.reconciled]
        expected = [board["drift"]["source"]["items"] for board in self.reconciled]
        return {
            "contender": self.name, "boards": len(self.boards), "seconds": round(self.seconds, 1),
            "items": self.created("items"), "subitems": self.created("subitems"),
            "mutations": int(self.api("mutations")), "requests": int(self.api("requests")),
            "mutations_per_second": round(rate, 1), "ceiling": round(self.ceiling(window), 1),
            "share_of_ceiling": round(rate / self.ceiling(window), 3),
            "budget_wait_seconds": round(self.api("budget_wait_seconds"), 1),
            "rate_limited": int(self.api("rate_limited")), "retries": int(self.api("retries")),
            "refused": {code: count - self.refused_before.get(code, 0)
                        for code, count in self.usage.get("refused", {}).items()
                        if count > self.refused_before.get(code, 0)},
            "peak_complexity_in_window": self.usage.get("peak_complexity_in_window"),
            "boards_clean": sum(board["clean"] for board in self.reconciled),
            "largest_board": max(on_boards, default=0), "items_on_boards": sum(on_boards),
            "items_expected": sum(expected), "exit_codes": sorted(set(self.exit_codes)),
        }


# -- the route table -----------------------------------------------------------------------------------

def route_table(source_url: str, per_board: int) -> list[dict[str, list[str]]]:
    """`when` of each route: a season whole when it fits on a board, else its customers packed onto as
    few boards as hold them (first fit, biggest first); lines with no season go to the last route."""
    config = parse_config(sample_config_text(source_url=source_url, board_id="1"))
    lookup = canonical_customers(config.customers)
    engine = sa.create_engine(source_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            'SELECT "AAG SEASON", "CUSTOMER NAME", count(*) FROM ORDERS_UNIFIED GROUP BY 1, 2')).all()
    engine.dispose()
    seasons: dict[str, Counter[str]] = {}
    for season, customer, count in rows:
        if season and str(season).strip():
            seasons.setdefault(str(season).strip(), Counter())[canonical_customer(customer, lookup)] += count
    routes: list[dict[str, list[str]]] = []
    for season, customers in sorted(seasons.items(), key=lambda pair: -sum(pair[1].values())):
        if sum(customers.values()) <= per_board:
            routes.append({"AAG SEASON": [season]})
            continue
        bins: list[tuple[int, list[str]]] = []
        for customer, count in customers.most_common():
            fit = next((index for index, (held, _) in enumerate(bins) if held + count <= per_board), None)
            if fit is None:
                bins.append((count, [customer]))
            else:
                held, names = bins[fit]
                bins[fit] = (held + count, [*names, customer])
        routes.extend({"AAG SEASON": [season], "CUSTOMER NAME": sorted(names)} for _, names in bins)
    return routes


def config_text(base_url: str, source_url: str, state_url: str, prefix: str, boards: list[str],
                routes: list[dict[str, list[str]]]) -> str:
    text = sample_config_text(source_url=source_url, board_id="1")
    text = re.sub(r'(?m)^board_id = "\d+"\n', "", text)
    text = text.replace('api_url = "http://127.0.0.1:8765/v2"', f'api_url = "{base_url}/v2"', 1)
    text = re.sub(r'(?m)^table_prefix = "[^"]*"', f'url = {json.dumps(state_url)}\ntable_prefix = "{prefix}"', text,
                  count=1)
    for board_id, when in zip(boards, [*routes, None], strict=True):
        text += f'\n[[routes]]\nboard_id = "{board_id}"\n'
        if when:
            text += "when = { " + ", ".join(f"{json.dumps(column)} = {json.dumps(values)}"
                                            for column, values in when.items()) + " }\n"
    return text


async def make_boards(base_url: str, token: str, count: int) -> list[str]:
    config = parse_config(sample_config_text(source_url="sqlite://", board_id="1").replace(
        'api_url = "http://127.0.0.1:8765/v2"', f'api_url = "{base_url}/v2"', 1))
    async with httpx.AsyncClient(timeout=120) as http:
        client = make_client(config, http, SecretStr(token))
        return list(await asyncio.gather(*(create_demo_board(client, customers=[customer.name for customer in
                                                                               SAMPLE_CUSTOMERS])
                                           for _ in range(count))))


# -- running the workers ---------------------------------------------------------------------------------

def ordersync(contender: Contender, *args: str) -> tuple[int, Any, str]:
    done = subprocess.run([ORDERSYNC, "--config", str(contender.config_path), *args, "--json"],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "MONDAY_API_TOKEN": contender.token})
    try:
        answer = json.loads(done.stdout)
    except json.JSONDecodeError:
        answer = None
    return done.returncode, answer, done.stderr


def boards_of_answer(answer: Any) -> list[dict[str, Any]]:
    if answer is None:
        return []
    return list(answer.get("boards", [answer]))


def worker(contender: Contender, boards: list[str] | None) -> list[tuple[int, Any, str]]:
    """One worker process: over every board, or over this worker's share (`--board`, repeated), which it
    reads from the source once."""
    if boards is None:
        return [ordersync(contender, "sync", "--all")]
    return [ordersync(contender, "sync", "--all", *(option for board_id in boards for option in ("--board", board_id)))]


def run(contender: Contender, base_url: str) -> None:
    shares = [None] if contender.workers == 1 else [contender.boards[index::contender.workers]
                                                      for index in range(contender.workers)]
    started = time.monotonic()
    with ThreadPoolExecutor(len(shares)) as pool:
        finished = [done for share in pool.map(lambda share: worker(contender, share), shares) for done in share]
    contender.seconds = time.monotonic() - started
    for code, answer, stderr in finished:
        contender.exit_codes.append(code)
        if code not in (0, 1):
            raise SystemExit(f"{contender.name}: sync exited {code}: {stderr[-2000:]}")
        contender.syncs.extend(boards_of_answer(answer))
    contender.usage = usage_of(base_url, contender.token)  # the syncs' figures, before reconcile reads the boards
    code, answer, stderr = ordersync(contender, "reconcile")
    if answer is None:
        raise SystemExit(f"{contender.name}: reconcile exited {code}: {stderr[-2000:]}")
    contender.reconciled = boards_of_answer(answer)


def empty_database(url: str) -> None:
    """The benchmark's own database starts empty: every contender's state tables made afresh."""
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)
    engine.dispose()


def usage_of(base_url: str, token: str) -> dict[str, Any]:
    return httpx.get(f"{base_url}/emulator/stats", timeout=30).json()["usage"][token_label(token)]


def idle_window(base_url: str, token: str) -> None:
    while usage_of(base_url, token)["complexity_used"]:
        time.sleep(0.2)


# -- the report ------------------------------------------------------------------------------------------

def markdown(rows: list[dict[str, Any]], args: argparse.Namespace, lines: int) -> str:
    head = ("| contender | boards | order lines | items | subitems | mutations | requests | seconds | mutations/s "
            "| budget's max | share of max | refused by a limit | boards equal to source | largest board |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    body = "".join(
        f"| {row['contender']} | {row['boards']} | {lines:,} | {row['items']:,} | {row['subitems']:,} "
        f"| {row['mutations']:,} | {row['requests']:,} | {row['seconds']} | {row['mutations_per_second']} "
        f"| {row['ceiling']} | {row['share_of_ceiling']:.0%} | {sum(row['refused'].values())} "
        f"| {row['boards_clean']} of {row['boards']} | {row['largest_board']:,} |\n" for row in rows)
    window = f"speedup {args.speedup:g}×: a {MINUTE / args.speedup:g} s window"
    if len(rows) < 2:
        return f"{head}{body}\n({window}; one contender measured: --contender)\n"
    ratio = rows[1]["mutations_per_second"] / rows[0]["mutations_per_second"]
    return f"{head}{body}\n3 workers / 1 worker, mutations/s: {ratio:.2f}× ({window})\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--per-board", type=int, default=9_000, help="most items planned onto one board")
    parser.add_argument("--speedup", type=float, default=10.0)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--quick", action="store_true", help="600 lines, 55 per board: about a minute")
    parser.add_argument("--contender", choices=["1", "3"], action="append",
                        help="measure only this contender (1 or 3 workers; repeatable); default both")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.per_board = 600, 55
    window = MINUTE / args.speedup
    with tempfile.TemporaryDirectory(prefix="bench-routed-") as folder:
        source_url = f"sqlite:///{Path(folder) / 'orders.db'}"
        lines = write_sample_data(source_url, rows=args.rows, seed=7).rows
        routes = route_table(source_url, args.per_board)
        print(f"{lines:,} order lines routed over {len(routes) + 1} boards (≤ {args.per_board:,} planned per board)",
              file=sys.stderr)
        settings = EmulatorSettings(tokens=list(TOKENS.values()), window_seconds=window, complexity_budget=BUDGET,
                                    mutations_per_window=MUTATIONS_PER_MINUTE, items_per_board_limit=ITEMS_PER_BOARD,
                                    faults=FaultSettings(latency_ms=LATENCY_MS))
        state_url = postgres_database(args.postgres)
        if state_url is None:
            raise SystemExit("this benchmark needs PostgreSQL (--postgres URL): the workers share the budget there")
        empty_database(state_url)
        with emulator_process(settings) as base_url:
            contenders = [contender for contender in (Contender("1 worker", 1, TOKENS["1 worker"], "one_"),
                                                      Contender("3 workers", 3, TOKENS["3 workers"], "three_"))
                          if not args.contender or str(contender.workers) in args.contender]
            began = time.monotonic()
            for contender in contenders:
                contender.boards = asyncio.run(make_boards(base_url, contender.token, len(routes) + 1))
                contender.config_path = Path(folder) / f"{contender.prefix}ordersync.toml"
                contender.config_path.write_text(config_text(base_url, source_url, state_url, contender.prefix,
                                                             contender.boards, routes), encoding="utf-8")
            print(f"boards made in {time.monotonic() - began:.0f} s", file=sys.stderr)
            for contender in contenders:
                idle_window(base_url, contender.token)
                contender.refused_before = dict(usage_of(base_url, contender.token)["refused"])
                run(contender, base_url)
                print(f"{contender.name}: synced in {contender.seconds:.1f} s; done at {time.monotonic() - began:.0f} s",
                      file=sys.stderr)
                # each contender's figures as soon as they are known: a long run stopped later keeps them
                print(json.dumps(contender.as_row(window)), file=sys.stderr)
                if args.json:
                    done = [each.as_row(window) for each in contenders if each.reconciled]
                    args.json.write_text(json.dumps(done, indent=2), encoding="utf-8")
    rows = [contender.as_row(window) for contender in contenders]
    print(markdown(rows, args, lines))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
