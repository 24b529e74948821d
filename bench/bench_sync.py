"""API throughput: ordersync against the emulator's enforced budget, the old system's pacing and one
mutation per request, all measured in the same run; then incremental resyncs at 100,000 order lines.

The emulator serves Monday's API over HTTP from its own process (`running_emulator` in a child
process, so its CPU is not the client's), with Monday's Pro-plan limits and every per-minute
window `--speedup` times shorter (3×, the default: 10,000,000 complexity points and 2,000 mutations
per 20 s), and 50–150 ms of latency on every request (seeded, not scaled). Each contender syncs into
its own board under its own token (its own budget); the boards are made first, then one idle window
passes, so that each contender starts with its whole budget, as a scheduled run would.

Contenders, all the same engine (`sync_async`), only the request shape and pacing differ:
- ordersync: its defaults — each request filled up to Monday's per-query complexity cap across
  customers, paced by the budget the API reports back, on the whole sample;
- old pacing: what the old system did — 5 mutations per request and a fixed 2 s sleep before every
  write request (0.2 s at 10×), on the first `--baseline-lines` order lines;
- one mutation per request, no sleep, on the same lines.
The baselines run on a fixed slice because they are slow by construction; their rates are per
mutation, and ordersync's rate on the same slice is shown beside them.

Production-sized (`--production-rows`, default 7,250 lines ≈ the old system's 7,224 items): a first
sync with ordersync's defaults on its own emulator at `--production-speedup` (30×; the count of
requests does not depend on the window's length, the time to wait does), Monday's 10,000-item
board cap on: how many requests a production-sized first sync takes.

Incremental (`--incremental-rows`, default 100,000 lines): the first 1% of the lines is synced into
the emulator for real; the mirror of the other 99% is seeded from a staged run (the staged rows of a
plan inserted into the synced tables with placeholder Monday ids, as if a sync had confirmed them),
because creating ~330,000 items and subitems at the budget's pace would take hours. Then: a resync
with nothing changed (reads the board's schema, stages, diffs, plans, writes nothing), and a
resync after a quantity changed on 1% of the lines (the really synced ones), read back and
compared with the source.

    .venv/bin/python bench/bench_sync.py                  # about 15 minutes
    .venv/bin/python bench/bench_sync.py --quick          # a smaller run, a few minutes
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from ordersync.config import Config, parse_config
from ordersync.emulator import FAULT_HEADER, EmulatorSettings, running_emulator
from ordersync.emulator.settings import token_label
from ordersync.engine.filters import Filters
from ordersync.engine.pipeline import Databases, discard_staged_rows, prepare
from ordersync.engine.source import extract_order_lines, open_source
from ordersync.engine.sync import SyncOptions, SyncResult, sync_async
from ordersync.engine.transform import TransformedLine, rules_from_config, transform_order_line
from ordersync.monday.board_setup import create_demo_board
from ordersync.monday.client import MondayClient
from ordersync.monday.connect import make_client
from ordersync.ops.reconcile import compare, expected_items, read_board
from ordersync.sample_data import SAMPLE_CUSTOMERS, write_sample_data
from ordersync.sample_data.config import sample_config_text
from ordersync.state import DiffState, Operation, RunKind, RunStatus, utcnow

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_stage import DEFAULT_POSTGRES, postgres_database, reset_state_tables, vacuum  # noqa: E402

MINUTE = 60.0
BUDGET = 10_000_000  # complexity points per minute, personal token (Monday's rate-limits page)
MUTATIONS_PER_MINUTE = 2_000  # the older pages' mutation cap, kept by the emulator
OLD_MUTATIONS_PER_REQUEST = 5
OLD_SLEEP_SECONDS = 2.0  # the old system's fixed sleep between requests, at real speed
OLD_PRODUCTION = {"items": 7_224, "seconds": 11_329}  # its full production run: items only, no subitems
PRODUCTION_REQUEST_LIMIT = 200  # issue 12: a production-sized first sync in at most this many requests
LATENCY_MS = (50, 150)
PLACEHOLDER_ITEM_ID = 8_000_000_000  # seeded mirror ids: + source row (items), × 1000 + size position (subitems)
PLACEHOLDER_SUBITEM_ID = 9_000_000_000_000


# -- the emulator, in its own process ----------------------------------------------------------------

def _serve(settings_json: str, connection) -> None:
    with running_emulator(EmulatorSettings.model_validate_json(settings_json)) as base_url:
        connection.send(base_url)
        connection.recv()  # until the parent says stop


@contextlib.contextmanager
def emulator_process(settings: EmulatorSettings) -> Iterator[str]:
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(settings.model_dump_json(), child), name="monday-emulator", daemon=True)
    process.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the emulator process did not start")
        yield parent.recv()
    finally:
        with contextlib.suppress(OSError):
            parent.send("stop")
        process.join(10)
        if process.is_alive():
            process.kill()


# -- one contender ------------------------------------------------------------------------------------

def sliding_windows(points: int, budget: int, mutations: int = 0, mutation_cap: int | None = None) -> int:
    """The fewest whole windows between a run's first charge and its last, on a budget that slides: what
    was spent in the last window must stay within `budget` at every moment (the emulator's and Monday's
    rule), so a run that starts with an idle window and spends `points` cannot end its spending sooner
    than ceil(points / budget) − 1 windows after it began — every window-long stretch of the run holds
    at most one budget's worth. The mutation cap per window binds the same way."""
    windows = math.ceil(points / budget) if points else 0
    if mutation_cap:
        windows = max(windows, math.ceil(mutations / mutation_cap))
    return max(0, windows - 1)


@dataclass(frozen=True)
class Scale:
    speedup: float

    @property
    def window(self) -> float:
        return MINUTE / self.speedup

    @property
    def old_sleep(self) -> float:
        return OLD_SLEEP_SECONDS / self.speedup

    def settings(self, tokens: list[str], *, item_cap: bool = False) -> EmulatorSettings:
        # Monday's 10,000-item cap is off unless asked for: the incremental part stands for 100,000 order lines
        # on one board (only 1% is really created, the rest seeded in the mirror), a layout real Monday would
        # refuse; routing lines over several boards with the cap on is the routed benchmark's job, not this one's.
        cap = {} if item_cap else {"items_per_board_limit": None}
        return EmulatorSettings(tokens=tokens, window_seconds=self.window, complexity_budget=BUDGET,
                                mutations_per_window=MUTATIONS_PER_MINUTE, **cap)


@dataclass
class ApiRun:
    name: str
    sample: str
    seconds: float
    result: SyncResult
    costs: dict[str, int]  # mutation → complexity points, as the API reported them

    @property
    def stats(self):
        return self.result.stats

    def created(self, kind: str) -> int:
        return self.stats.by_kind.get(kind, 0)

    @property
    def items(self) -> int:
        return self.created("create_item")

    @property
    def subitems(self) -> int:
        return self.created("create_subitem")

    @property
    def mutations(self) -> int:
        return sum(self.stats.by_kind.values())

    @property
    def mutation_rate(self) -> float:
        return self.mutations / self.seconds

    @property
    def cost_per_mutation(self) -> float:
        spent = sum(count * self.costs.get(kind, 0) for kind, count in self.stats.by_kind.items())
        return spent / self.mutations if self.mutations else 0.0

    def ceiling(self, scale: Scale) -> float:
        """Mutations per second the budget allows for this mix: the points, or the mutation cap if lower."""
        per_window = min(BUDGET / self.cost_per_mutation, MUTATIONS_PER_MINUTE)
        return per_window / scale.window

    @property
    def points(self) -> int:
        """Every complexity point the run spent, as the API reported it (reads included)."""
        return self.stats.complexity_spent

    def least_seconds(self, scale: Scale) -> float:
        """The least time the budget allows for the points (and mutations) this run spent: `sliding_windows`."""
        return sliding_windows(self.points, BUDGET, self.mutations, MUTATIONS_PER_MINUTE) * scale.window

    def budget_share(self, scale: Scale) -> float | None:
        """Share of the budget-bound maximum: the least time over the time taken (None: the run fits in
        the window's budget it starts with, so the budget never bound it)."""
        least = self.least_seconds(scale)
        return least / self.seconds if least > 0 else None

    @property
    def per_thousand_subitems(self) -> float:
        return 1000 * self.stats.requests / self.subitems if self.subitems else 0.0

    def as_dict(self, scale: Scale) -> dict[str, Any]:
        return {
            "name": self.name, "sample": self.sample, "seconds": round(self.seconds, 2), "items": self.items,
            "subitems": self.subitems, "groups": self.created("create_group"), "mutations": self.mutations,
            "requests": self.stats.requests, "mutation_requests": self.stats.mutation_requests,
            "rate_limited": self.stats.rate_limited, "retries": self.stats.retries,
            "budget_wait_seconds": round(self.stats.budget_wait_seconds, 2),
            "cost_per_mutation": round(self.cost_per_mutation), "mutations_per_second": round(self.mutation_rate, 2),
            "ceiling_mutations_per_second": round(self.ceiling(scale), 2), "status": self.result.status.value,
            "points": self.points, "least_seconds": round(self.least_seconds(scale), 2),
            "budget_share": None if self.budget_share(scale) is None else round(self.budget_share(scale) or 0, 4),
            "requests_per_1000_subitems": round(self.per_thousand_subitems, 2), "speedup": scale.speedup,
        }


class LatencyHeader:
    """Asks the emulator to answer every request 50–150 ms late (seeded): the network and Monday's own time."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    async def __call__(self, request: httpx.Request) -> None:
        request.headers[FAULT_HEADER] = f"latency={self._rng.randint(*LATENCY_MS)}"


class FixedPause(httpx.AsyncBaseTransport):
    """The old system's pacing: a fixed sleep before every write request, whatever the budget says."""

    def __init__(self, inner: httpx.AsyncBaseTransport, seconds: float) -> None:
        self.inner, self.seconds = inner, seconds

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.seconds and json.loads(request.content).get("query", "").lstrip().startswith("mutation"):
            await asyncio.sleep(self.seconds)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def bench_config(source_url: str, state_url: str, api_url: str, board_id: str, **monday: Any) -> Config:
    text = sample_config_text(source_url=source_url, board_id=board_id)
    text = text.replace('api_url = "http://127.0.0.1:8765/v2"', f'api_url = "{api_url}"', 1)
    text = text.replace('# url = "sqlite:///ordersync-state.db"', f'url = "{state_url}"', 1)
    config = parse_config(text, origin="the benchmark config")
    return config.model_copy(update={"monday": config.monday.model_copy(update=monday)}) if monday else config


async def new_board(api_url: str, token: str) -> str:
    async with httpx.AsyncClient(timeout=120) as http:
        client = make_client(bench_config("sqlite://", "sqlite://", api_url, "1"), http, SecretStr(token))
        return await create_demo_board(client, customers=[customer.name for customer in SAMPLE_CUSTOMERS])


async def run_contender(name: str, sample: str, *, base_url: str, token: str, board_id: str, source_url: str,
                        state_url: str, filters: Filters, seed: int, pause: float = 0.0,
                        **monday: Any) -> tuple[ApiRun, Config]:
    """One sync of `board_id` (made earlier, its token's window idle since: the run starts with a whole
    window's budget, like a scheduled run)."""
    api_url = f"{base_url}/v2"
    config = bench_config(source_url, state_url, api_url, board_id, **monday)
    clients: list[MondayClient] = []
    transport = FixedPause(httpx.AsyncHTTPTransport(), pause)
    async with httpx.AsyncClient(timeout=120, transport=transport,
                                 event_hooks={"request": [LatencyHeader(seed)]}) as http:
        started = time.perf_counter()
        result = await sync_async(config, SyncOptions(filters=filters, all_customers=True), http=http,
                                  token=SecretStr(token), on_client=clients.append)
        seconds = time.perf_counter() - started
    costs = {kind: clients[0].mutation_cost(kind) for kind in result.stats.by_kind}
    print(f"  {name}: {sum(result.stats.by_kind.values()):,} mutations in {seconds:.1f} s", file=sys.stderr)
    return ApiRun(name, sample, seconds, result, costs), config


async def board_equals_source(config: Config, token: str, filters: Filters,
                              only_keys: set[str] | None = None) -> tuple[bool, dict[str, int], str]:
    """Read the board back through the API and compare it with the source (or the part of it in `only_keys`)."""
    async with httpx.AsyncClient(timeout=120) as http:
        client = make_client(config, http, SecretStr(token))
        board = await read_board(client, config.monday.board_id, key_column=config.monday.key_column,
                                 quantity_column=config.subitems.quantity_column)
    databases = Databases.open(config)
    try:
        expected = expected_items(config, databases, filters)
    finally:
        databases.close()
    if only_keys is not None:
        expected = {key: value for key, value in expected.items() if key in only_keys}
    drift = compare(config, expected, board)
    return drift.clean, {"items": drift.board_items, "subitems": drift.board_subitems}, drift.summary()


# -- the API comparison -------------------------------------------------------------------------------

@dataclass
class ApiComparison:
    scale: Scale
    rows: int
    baseline_lines: int
    sample_bad_rows: int
    runs: list[ApiRun] = field(default_factory=list)
    verified: tuple[bool, dict[str, int], str] | None = None

    def run(self, name: str) -> ApiRun:
        return next(run for run in self.runs if run.name == name)


async def compare_api(base_url: str, tokens: dict[str, str], workdir: Path, *, rows: int, baseline_lines: int,
                      scale: Scale, seed: int) -> ApiComparison:
    source_url = f"sqlite:///{workdir / 'api-source.db'}"
    summary = write_sample_data(source_url, rows=rows, seed=seed)
    comparison = ApiComparison(scale, rows, baseline_lines, summary.bad_rows)
    slice_ = Filters(limit=baseline_lines)
    common = {"base_url": base_url, "source_url": source_url, "seed": seed}
    names = ("ordersync", "slice", "old", "single")
    boards = dict(zip(names, await asyncio.gather(*(new_board(f"{base_url}/v2", tokens[name]) for name in names)),
                      strict=True))
    await asyncio.sleep(scale.window)  # the boards' setup spent budget: each token's window idle again
    everything, config = await run_contender(
        "ordersync", f"all {rows:,} lines", token=tokens["ordersync"], board_id=boards["ordersync"],
        filters=Filters(), state_url=f"sqlite:///{workdir / 'state-ordersync.db'}", **common)
    comparison.runs.append(everything)
    comparison.verified = await board_equals_source(config, tokens["ordersync"], Filters())
    sample = f"first {baseline_lines:,} lines"
    for name, token, monday, pause in (
        ("ordersync on the slice", "slice", {}, 0.0),
        ("old pacing", "old", {"max_mutations_per_request": OLD_MUTATIONS_PER_REQUEST}, scale.old_sleep),
        ("one mutation per request", "single", {"max_mutations_per_request": 1}, 0.0),
    ):
        run, _ = await run_contender(name, sample, token=tokens[token], board_id=boards[token], filters=slice_,
                                     pause=pause, state_url=f"sqlite:///{workdir / f'state-{token}.db'}", **common,
                                     **monday)
        comparison.runs.append(run)
    return comparison


@dataclass
class Production:
    scale: Scale
    rows: int
    run: ApiRun

    @property
    def requests(self) -> int:
        return self.run.stats.requests


async def measure_production(workdir: Path, *, rows: int, scale: Scale, seed: int) -> Production:
    """A production-sized first sync on its own emulator (Monday's item cap on): the requests it takes."""
    token = "bench-production"
    source_url = f"sqlite:///{workdir / 'production-source.db'}"
    write_sample_data(source_url, rows=rows, seed=seed)
    with emulator_process(scale.settings([token], item_cap=True)) as base_url:
        board_id = await new_board(f"{base_url}/v2", token)
        await asyncio.sleep(scale.window)  # the board's setup spent budget: start with a whole window
        run, _ = await run_contender("production-sized first sync", f"{rows:,} lines", base_url=base_url, token=token,
                                     board_id=board_id, source_url=source_url,
                                     state_url=f"sqlite:///{workdir / 'state-production.db'}", filters=Filters(),
                                     seed=seed)
    return Production(scale, rows, run)


def production_report(production: Production) -> list[str]:
    run = production.run
    verdict = "within" if production.requests <= PRODUCTION_REQUEST_LIMIT else "OVER"
    sized = "" if run.items >= OLD_PRODUCTION["items"] else \
        f" — smaller than production ({OLD_PRODUCTION['items']:,} items): the full run measures that"
    return [
        f"## Production-sized first sync ({production.rows:,} order lines, Monday's limits at "
        f"{production.scale.speedup:g}× speed, its 10,000-item board cap on)",
        "",
        "| items | subitems | groups | requests | write requests | requests per 1,000 subitems | mutations per write "
        "request | rate-limited answers | seconds |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {run.items:,} | {run.subitems:,} | {run.created('create_group'):,} | **{production.requests:,}** "
        f"| {run.stats.mutation_requests:,} | {run.per_thousand_subitems:.1f} "
        f"| {run.mutations / max(1, run.stats.mutation_requests):,.0f} | {run.stats.rate_limited} | {run.seconds:.1f} |",
        "",
        f"{production.requests:,} requests in all, reads included: {verdict} the {PRODUCTION_REQUEST_LIMIT} of issue 12 "
        f"(the count does not depend on the window's speed-up; the time does){sized}.",
    ]


# -- incremental ---------------------------------------------------------------------------------------

@dataclass
class Resync:
    name: str
    seconds: float
    result: SyncResult

    @property
    def totals(self) -> dict[str, Any]:
        return self.result.as_dict()["totals"]


@dataclass
class Incremental:
    database: str
    rows: int
    real_lines: int = 0
    real_sync_seconds: float = 0.0
    seeded_items: int = 0
    seeded_subitems: int = 0
    seed_seconds: float = 0.0
    changed_lines: int = 0
    resyncs: list[Resync] = field(default_factory=list)
    verified: tuple[bool, dict[str, int], str] | None = None


def seed_mirror(config: Config, board_id: str) -> tuple[int, int]:
    """Stage and diff every line, then record the NEW ones as synced (placeholder ids) with their
    fingerprints, as if a sync had created them: the state a board of this size would leave after its
    first full sync (so a resync with nothing changed takes the fingerprints' fast path, as it would)."""
    databases = Databases.open(config)
    store = databases.state
    tables = store.tables
    try:
        prepared = prepare(config, databases, Filters(), kind=RunKind.PLAN, board_id=board_id)
        run_id, now = prepared.run_id, utcnow()
        items, subitems, synced_items, synced_subitems = (tables.staged_items, tables.staged_subitems,
                                                          tables.synced_items, tables.synced_subitems)
        new_items = sa.select(
            sa.literal(board_id), items.c.item_key,
            sa.cast(_big(items.c.source_row) + PLACEHOLDER_ITEM_ID, sa.Unicode(20)), items.c.customer,
            items.c.group_name, sa.null(), items.c.item_name, items.c.po_number, items.c.aag_season,
            items.c.customer_season, items.c.cancelled, items.c.column_values, items.c.row_hash,
            sa.literal(run_id), sa.literal(now, sa.DateTime), items.c.fingerprint,
        ).where(items.c.run_id == run_id, items.c.state == DiffState.NEW.value,
                items.c.operation == Operation.CREATE.value)
        new_subitems = sa.select(
            sa.literal(board_id), subitems.c.item_key, subitems.c.size,
            sa.cast(_big(items.c.source_row) * 1000 + subitems.c.position + PLACEHOLDER_SUBITEM_ID, sa.Unicode(20)),
            sa.cast(_big(items.c.source_row) + PLACEHOLDER_ITEM_ID, sa.Unicode(20)), subitems.c.name,
            subitems.c.quantity, sa.literal(run_id), sa.literal(now, sa.DateTime),
        ).join(items, sa.and_(items.c.run_id == subitems.c.run_id, items.c.item_key == subitems.c.item_key)).where(
            subitems.c.run_id == run_id, subitems.c.state == DiffState.NEW.value,
            subitems.c.operation == Operation.CREATE.value, items.c.operation == Operation.CREATE.value)
        with store.engine.begin() as connection:
            connection.execute(sa.insert(synced_items).from_select(
                ["board_id", "item_key", "monday_item_id", "customer", "group_name", "group_id", "item_name",
                 "po_number", "aag_season", "customer_season", "cancelled", "column_values", "row_hash", "run_id",
                 "synced_at", "fingerprint"], new_items))
            connection.execute(sa.insert(synced_subitems).from_select(
                ["board_id", "item_key", "size", "monday_subitem_id", "parent_item_id", "name", "quantity", "run_id",
                 "synced_at"], new_subitems))
            seeded_items, seeded_subitems = (connection.execute(sa.select(sa.func.count()).select_from(table).where(
                table.c.board_id == board_id, table.c.run_id == run_id)).scalar_one()
                for table in (synced_items, synced_subitems))
        store.set_run_status(run_id, RunStatus.PLANNED, message="benchmark: mirror seeded from this run")
        discard_staged_rows(store, run_id)
    finally:
        databases.close()
    return seeded_items, seeded_subitems


def _big(column: sa.ColumnElement) -> sa.ColumnElement:
    return sa.cast(column, sa.BigInteger)


def change_quantities(config: Config, keys: set[str]) -> int:
    """On each line of `keys`, one more piece of its first ordered size (and of its TOTAL QTY)."""
    databases = Databases.open(config)
    try:
        source_table = open_source(databases.source, config)
        rules = rules_from_config(config, source_table.size_columns)
        key_columns = config.source.business_key
        by_size: dict[str, list[dict[str, Any]]] = {}
        row = 0
        for chunk in extract_order_lines(databases.source, source_table, config, Filters()):
            for line in chunk:
                row += 1
                result = transform_order_line(line, rules, row)
                if not isinstance(result, TransformedLine) or result.item.item_key not in keys \
                        or not result.subitems:
                    continue
                size = result.subitems[0].size
                by_size.setdefault(size, []).append({
                    **{f"k{index}": line[name] for index, name in enumerate(key_columns)},
                    "quantity": line[size] + 1, "total": (line["TOTAL QTY"] or 0) + 1})
        table = source_table.table
        where = [table.c[name] == sa.bindparam(f"k{index}") for index, name in enumerate(key_columns)]
        with databases.source.begin() as connection:
            for size, rows in by_size.items():
                connection.execute(sa.update(table).where(*where).values(
                    {size: sa.bindparam("quantity"), "TOTAL QTY": sa.bindparam("total")}), rows)
        return sum(len(rows) for rows in by_size.values())
    finally:
        databases.close()


async def timed_sync(name: str, config: Config, token: str, seed: int, filters: Filters | None = None) -> Resync:
    async with httpx.AsyncClient(timeout=120, event_hooks={"request": [LatencyHeader(seed)]}) as http:
        started = time.perf_counter()
        result = await sync_async(config, SyncOptions(filters=filters or Filters(), all_customers=True), http=http,
                                  token=SecretStr(token))
        seconds = time.perf_counter() - started
    print(f"  {name}: {seconds:.1f} s, {result.stats.mutations_sent:,} mutations", file=sys.stderr)
    return Resync(name, seconds, result)


async def measure_incremental(base_url: str, token: str, url: str, database: str, *, rows: int,
                              seed: int) -> Incremental:
    measured = Incremental(database, rows)
    if not url.startswith("sqlite"):
        reset_state_tables(url)  # an earlier benchmark's state would be read (and pruned) by these syncs
    started = time.perf_counter()
    write_sample_data(url, rows=rows, seed=seed, force=True)  # the benchmark's own database
    print(f"  {database}: wrote {rows:,} sample order lines in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    api_url = f"{base_url}/v2"
    board_id = await new_board(api_url, token)
    config = bench_config(url, url, api_url, board_id)
    measured.real_lines = max(1, rows // 100)
    real = await timed_sync("real sync of the first 1%", config, token, seed, Filters(limit=measured.real_lines))
    measured.real_sync_seconds = real.seconds
    started = time.perf_counter()
    measured.seeded_items, measured.seeded_subitems = seed_mirror(config, board_id)
    measured.seed_seconds = time.perf_counter() - started
    vacuum(url)  # PostgreSQL: the planner's statistics of the seeded tables, as autovacuum keeps them
    await half_window_left(base_url, token)  # the resyncs are timed on their own work, not on the real sync's budget
    measured.resyncs.append(await timed_sync("resync, nothing changed", config, token, seed))
    real_keys = set(_keys_synced_by(config, real.result.run_id))
    measured.changed_lines = change_quantities(config, real_keys)
    measured.resyncs.append(await timed_sync(
        f"resync, 1% of the lines changed ({measured.changed_lines:,}: one more piece of one size)", config, token,
        seed))
    measured.verified = await board_equals_source(config, token, Filters(), only_keys=real_keys)
    return measured


async def half_window_left(base_url: str, token: str) -> None:
    """Until the token has spent at most half the window's budget (the emulator's figures for it)."""
    async with httpx.AsyncClient(timeout=30) as http:
        while True:
            usage = (await http.get(f"{base_url}/emulator/stats")).json()["usage"].get(token_label(token), {})
            if usage.get("complexity_used", 0) <= BUDGET / 2:
                return
            await asyncio.sleep(0.2)


def _keys_synced_by(config: Config, run_id: int) -> list[str]:
    databases = Databases.open(config)
    try:
        synced = databases.state.tables.synced_items
        with databases.state.engine.connect() as connection:
            return list(connection.execute(sa.select(synced.c.item_key).where(synced.c.run_id == run_id)).scalars())
    finally:
        databases.close()


# -- report --------------------------------------------------------------------------------------------

def _rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.1f}" if seconds > 0 and count else "-"


def report(comparison: ApiComparison | None, incremental: list[Incremental],
           production: Production | None = None) -> str:
    lines: list[str] = []
    if comparison:
        lines += api_report(comparison)
    if production:
        lines += ["", *production_report(production)]
    for measured in incremental:
        lines += ["", *incremental_report(measured)]
    return "\n".join(lines).strip()


def api_report(comparison: ApiComparison) -> list[str]:
    scale = comparison.scale
    full = comparison.run("ordersync")
    old, single = comparison.run("old pacing"), comparison.run("one mutation per request")
    ceiling = full.ceiling(scale)
    costs = ", ".join(f"{kind} {cost:,}" for kind, cost in sorted(full.costs.items()))
    lines = [
        f"## API: ordersync against the emulator (Monday's limits at {scale.speedup:g}× speed)",
        "",
        f"The emulator serves Monday's API over HTTP from its own process, with Monday's documented limits "
        f"and every per-minute window {scale.speedup:g}× shorter: {BUDGET:,} complexity points and "
        f"{MUTATIONS_PER_MINUTE:,} mutations per {scale.window:g} s window, and {LATENCY_MS[0]}–{LATENCY_MS[1]} ms "
        f"of latency on every request (not scaled). Each contender has its own board and token (budget) and "
        f"starts with a whole window. Sample: {comparison.rows:,} order lines "
        f"({comparison.sample_bad_rows} bad rows, recorded as row errors). Costs the API reported: {costs} points "
        f"per mutation, so the budget allows at most {ceiling:,.0f} mutations/s "
        f"(min({BUDGET:,} / {full.cost_per_mutation:,.0f}, {MUTATIONS_PER_MINUTE:,}) per {scale.window:g} s).",
        "",
        "| contender | sample | items | subitems | groups | requests | seconds | items/s | subitems/s | mutations/s "
        "| requests per 1,000 subitems | share of the budget's max |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "ordersync": "ordersync (requests filled to the per-query cap across customers, budget pacing)",
        "ordersync on the slice": "ordersync, same slice as the baselines",
        "old pacing": f"old pacing ({OLD_MUTATIONS_PER_REQUEST} per request, {scale.old_sleep:g} s sleep before "
                      f"each = {OLD_SLEEP_SECONDS:g} s at real speed)",
        "one mutation per request": "one mutation per request",
    }
    for run in comparison.runs:
        per_thousand = run.per_thousand_subitems
        lines.append(
            f"| {labels[run.name]} | {run.sample} | {run.items:,} | {run.subitems:,} | {run.created('create_group'):,} "
            f"| {run.stats.requests:,} | {run.seconds:.1f} | {_rate(run.items, run.seconds)} "
            f"| {_rate(run.subitems, run.seconds)} | {run.mutation_rate:,.1f} | {per_thousand:,.1f} "
            f"| {run.mutation_rate / ceiling:.0%} |")
    clean, counts, summary = comparison.verified or (False, {}, "not checked")
    old_production = OLD_PRODUCTION["items"] / OLD_PRODUCTION["seconds"]
    share = full.budget_share(scale)
    lines += [
        "",
        f"- **Share of the budget-bound maximum** (ordersync, whole sample, window {scale.speedup:g}× shorter than "
        f"Monday's minute): **{'-' if share is None else f'{share:.1%}'}** — it spent {full.points:,} points "
        f"(reads included), which the budget allows in no less than {full.least_seconds(scale):.1f} s "
        f"({full.points / BUDGET:.2f} windows' worth: on a sliding window every window-long stretch holds at most "
        f"one budget, so {_windows(full.least_seconds(scale) / scale.window)} at the least from the first "
        f"charge to the last); it took "
        f"{full.seconds:.1f} s, with **{full.stats.rate_limited} rate-limited answers**. "
        f"(The table's last column is the rate against the steady-state ceiling, which a run starting with a "
        f"whole window can exceed.)",
        f"- **Requests per 1,000 subitems**: {full.per_thousand_subitems:.1f} (ordersync, whole sample: "
        f"{full.stats.requests:,} requests, {full.stats.mutation_requests:,} of them writes, "
        f"{full.mutations / max(1, full.stats.mutation_requests):,.0f} mutations per write request).",
        f"- ordersync, whole sample: {full.mutations:,} mutations in {full.stats.mutation_requests:,} write requests "
        f"({full.stats.requests:,} requests in all, {full.stats.rate_limited} rate-limited answers, "
        f"{full.stats.budget_wait_seconds:.1f} s waiting for the budget); the board read back through the API "
        f"{'equals' if clean else 'DIFFERS FROM'} the source ({counts.get('items', 0):,} items, "
        f"{counts.get('subitems', 0):,} subitems{'' if clean else '; ' + summary}).",
        f"- Throughput, mutations/s: ordersync (whole sample) / old pacing = "
        f"**{full.mutation_rate / old.mutation_rate:.1f}×**; ordersync / one mutation per request = "
        f"**{full.mutation_rate / single.mutation_rate:.1f}×**. The baselines' rates are measured on the first "
        f"{comparison.baseline_lines:,} lines; ordersync's is its whole-sample rate, held to the budget "
        f"(on the slice alone it fits in one window's budget and runs faster still).",
        f"- Requests: ordersync sends {1000 * full.stats.requests / full.subitems:,.1f} requests per 1,000 subitems "
        f"(items, groups and reads included); one mutation per request needs "
        f"{1000 * single.stats.requests / single.subitems:,.0f}: at that rate a Pro account's 10,000 daily calls "
        f"would stop a sync after about {10_000 * single.subitems / single.stats.requests:,.0f} subitems.",
        f"- For scale: the old system's production run created {OLD_PRODUCTION['items']:,} items (no subitems) in "
        f"{OLD_PRODUCTION['seconds']:,} s = {old_production:.2f} items/s at real speed.",
        f"- At real speed the budget allows {ceiling / scale.speedup:,.1f} mutations/s; ordersync at "
        f"{full.mutation_rate / ceiling:.0%} of it would sync these {full.items:,} items and {full.subitems:,} "
        f"subitems in about {full.mutations / (full.mutation_rate / scale.speedup) / 60:,.0f} minutes. The old "
        f"pacing at real speed: {OLD_MUTATIONS_PER_REQUEST} mutations per ({OLD_SLEEP_SECONDS:g} s + "
        f"{_request_seconds(old, scale.old_sleep):.2f} s measured per request) = "
        f"{OLD_MUTATIONS_PER_REQUEST / (OLD_SLEEP_SECONDS + _request_seconds(old, scale.old_sleep)):.1f} "
        f"mutations/s (projections, not measurements).",
    ]
    return lines


def _windows(count: float) -> str:
    return f"{count:.0f} window{'' if round(count) == 1 else 's'}"


def _request_seconds(run: ApiRun, pause: float) -> float:
    """Seconds per write request, the fixed sleep left out."""
    return max(0.0, run.seconds / max(1, run.stats.mutation_requests) - pause)


def incremental_report(measured: Incremental) -> list[str]:
    lines = [
        f"## Incremental resync at {measured.rows:,} order lines ({measured.database})",
        "",
        f"The first {measured.real_lines:,} lines were synced into the emulator for real "
        f"({measured.real_sync_seconds:.0f} s); the mirror of the others ({measured.seeded_items:,} items, "
        f"{measured.seeded_subitems:,} subitems) was seeded from a staged run in {measured.seed_seconds:.0f} s "
        f"(placeholder Monday ids), as a first full sync would have left it, its lines' fingerprints with it. Each "
        f"resync reads the board's schema from the emulator, the key columns and fingerprint of every line, and "
        f"extracts, transforms, stages and diffs only the lines new or changed since (and those never confirmed: "
        f"the sample's bad lines), then writes the differences. The resyncs start with at least half a window's "
        f"budget; what they wait for it is the API's time, shown apart.",
        "",
        "| resync | seconds | of which waiting for the budget | order lines/s | items updated | subitems updated "
        "| mutations | requests |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for resync in measured.resyncs:
        totals = resync.totals
        stats = resync.result.stats
        lines.append(f"| {resync.name} | {resync.seconds:.1f} | {stats.budget_wait_seconds:.1f} "
                     f"| {_rate(measured.rows, resync.seconds)} "
                     f"| {totals['items']['update']:,} | {totals['subitems']['update']:,} "
                     f"| {stats.mutations_sent:,} | {stats.requests:,} |")
    clean, counts, summary = measured.verified or (False, {}, "not checked")
    lines += ["", f"After the last resync the board read back through the API "
              f"{'equals' if clean else 'DIFFERS FROM'} the source for the {counts.get('items', 0):,} items "
              f"and {counts.get('subitems', 0):,} subitems on it{'' if clean else ': ' + summary}."]
    return lines


# -- main ----------------------------------------------------------------------------------------------

async def run(options: argparse.Namespace,
              workdir: Path) -> tuple[ApiComparison | None, list[Incremental], Production | None]:
    scale = Scale(options.speedup)
    # the emulator's figures name a token by its first four characters (`token_label`): each its own
    tokens = {name: f"{index:04d}-bench-{name}" for index, name in enumerate((
        "ordersync", "slice", "old", "single", "incremental-sqlite", "incremental-postgresql"))}
    comparison, incremental = None, []
    with emulator_process(scale.settings(list(tokens.values()))) as base_url:
        if not options.skip_api:
            print(f"API comparison on {options.rows:,} order lines:", file=sys.stderr)
            comparison = await compare_api(base_url, tokens, workdir, rows=options.rows,
                                           baseline_lines=options.baseline_lines, scale=scale, seed=options.seed)
        for database in options.incremental_databases:
            url = (f"sqlite:///{workdir / 'incremental.db'}" if database == "sqlite"
                   else postgres_database(options.postgres))
            if url is None:
                continue  # no PostgreSQL server answers: said on stderr
            print(f"Incremental on {options.incremental_rows:,} order lines ({database}):", file=sys.stderr)
            incremental.append(await measure_incremental(
                base_url, tokens[f"incremental-{database}"], url, "SQLite" if database == "sqlite" else "PostgreSQL",
                rows=options.incremental_rows, seed=options.seed))
    production = None
    if not options.skip_api and options.production_rows:
        print(f"Production-sized first sync, {options.production_rows:,} order lines:", file=sys.stderr)
        production = await measure_production(workdir, rows=options.production_rows,
                                              scale=Scale(options.production_speedup), seed=options.seed)
    return comparison, incremental, production


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_300,
                        help="order lines of the API sample (3,300 give ~3,290 items and ~10,700 subitems)")
    parser.add_argument("--baseline-lines", type=int, default=120,
                        help="order lines the baselines sync (120 give ~520 mutations)")
    parser.add_argument("--incremental-rows", type=int, default=100_000)
    parser.add_argument("--incremental-databases", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql (empty: skip the incremental part); PostgreSQL is "
                             "skipped with a message when no server answers")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES,
                        help="PostgreSQL URL for the incremental part (the sample table and ordersync's tables there "
                             "are replaced)")
    parser.add_argument("--speedup", type=float, default=3.0,
                        help="how many times shorter Monday's minute is (issue 12 measures the share at no more than 3)")
    parser.add_argument("--production-rows", type=int, default=7_250,
                        help="order lines of the production-sized first sync (0: skip it)")
    parser.add_argument("--production-speedup", type=float, default=30.0,
                        help="the production-sized sync's window speed-up (its request count does not depend on it)")
    parser.add_argument("--seed", type=int, default=4755)
    parser.add_argument("--skip-api", action="store_true", help="only the incremental part")
    parser.add_argument("--quick", action="store_true",
                        help="a small run: 300 lines, baselines on 20, incremental at 5,000, the first sync of "
                             "1,500 lines instead of a production-sized one")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    parser.add_argument("--workdir", type=Path, help="where the databases go (default: a temporary directory)")
    options = parser.parse_args(argv)
    if options.quick:
        options.rows, options.baseline_lines, options.incremental_rows = 300, 20, 5_000
        options.production_rows = min(options.production_rows, 1_500)
    options.incremental_databases = [name.strip().lower() for name in options.incremental_databases.split(",")
                                     if name.strip()]
    unknown = set(options.incremental_databases) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"--incremental-databases: unknown {', '.join(sorted(unknown))}")
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="ordersync-bench-sync-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        comparison, incremental, production = asyncio.run(run(options, workdir))
    finally:
        if options.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report(comparison, incremental, production))
    if options.json:
        scale = Scale(options.speedup)
        options.json.write_text(json.dumps({
            "api": [run.as_dict(scale) for run in comparison.runs] if comparison else [],
            "production": None if production is None else {
                "rows": production.rows, **production.run.as_dict(production.scale)},
            "incremental": [{"database": m.database, "rows": m.rows, "resyncs": [
                {"name": r.name, "seconds": round(r.seconds, 2), "mutations": r.result.stats.mutations_sent,
                 "requests": r.result.stats.requests} for r in m.resyncs]} for m in incremental],
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
