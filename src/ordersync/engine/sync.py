"""`ordersync sync`: the whole run, thin over the stages.

lock the board → read the board → settle open write intents of earlier runs → extract,
transform, stage, diff, plan → apply per customer → record the outcome → release the lock.
A rerun after a crash, a kill or a lost answer first settles what the last run left open, then
diffs against the mirror of what Monday confirmed, so it redoes nothing and loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from ordersync.config import Config, load_token
from ordersync.engine.adopt import Adoption, adopt_board_items, board_vouches, record_board_mark
from ordersync.engine.apply import Applier, ApplyOptions, Checkpoint, CustomerResult, Progress
from ordersync.engine.clients import client_for, http_for, token_budget
from ordersync.engine.failures import unresolved_failures
from ordersync.engine.filters import Filters
from ordersync.engine.guards import check_before_writes
from ordersync.engine.intents import resolve_open_intents
from ordersync.engine.pipeline import (
    Databases,
    Prepared,
    Staged,
    discard_staged_rows,
    end_stopped_run,
    plan_staged,
    source_keys_by_board,
    stage_boards,
)
from ordersync.engine.plan import Plan, build_outcome
from ordersync.engine.report import write_run_reports
from ordersync.engine.rollover import has_template_routes, placed_config, roll_over
from ordersync.engine.routes import board_config, boards_of, routes_lines
from ordersync.engine.source import open_source
from ordersync.engine.summary import RunSummary
from ordersync.engine.unmatched import refuse_unmatched_filters
from ordersync.errors import (
    ApiUnavailable,
    ConfigError,
    LockHeld,
    MondayError,
    SyncRefused,
    Unauthorized,
    UsageError,
)
from ordersync.logs import RUN_ID, bound, register_secret
from ordersync.monday.board import BoardInfo
from ordersync.monday.board_check import check_board
from ordersync.monday.budget import ComplexityBudget
from ordersync.monday.client import ClientStats, MondayClient
from ordersync.monday.connect import read_board_schema
from ordersync.state import ErrorCategory, Operation, RowStatus, RunKind, RunStatus, StateStore
from ordersync.state.lock import BoardLock, acquire_lock
from ordersync.state.mirror import Mirror
from ordersync.state.records import BatchWrites
from ordersync.state.shapes import SourceShape

log = logging.getLogger(__name__)


@dataclass
class SyncOptions:
    filters: Filters = field(default_factory=Filters)
    all_customers: bool = False
    dry_run: bool = False
    skip_subitems: bool = False
    wait_for_lock: float = 0.0
    kind: RunKind = RunKind.SYNC
    checkpoint: Checkpoint | None = None
    allow_removals: bool = False  # --allow-removals: pass the removal guard (engine/guards.py)
    accept_source_changes: bool = False  # --accept-source-changes: record the source's new shape
    full: bool = False  # --full: every order line read and compared, not only those whose fingerprint changed


@dataclass
class SyncResult:
    run_id: int
    status: RunStatus
    board_id: str
    plan: Plan
    outcome: Plan
    customers: dict[str, CustomerResult]
    stats: ClientStats
    settled_intents: dict[str, int] = field(default_factory=dict)
    reports: str | None = None  # the folder the run's Markdown and JSON reports were written to
    adoption: Adoption | None = None  # what the run found on the board before it created anything

    @property
    def failed_rows(self) -> int:
        totals = self.outcome.totals
        return totals["items"]["failed"] + totals["subitems"]["failed"]

    @property
    def exit_code(self) -> int:
        return 0 if self.status in (RunStatus.COMPLETED, RunStatus.PLANNED) and not self.failed_rows else 1

    def summary(self) -> RunSummary:
        """The typed summary written into `runs.summary`: the shape of `plan --json` (`totals`,
        `customers`), counting what was done, plus what was planned and the API figures."""
        outcome = self.outcome.as_dict()
        for name, customer in outcome["customers"].items():
            result = self.customers.get(name)
            created = result.groups_created if result else []
            customer["groups"] = {"create": len(created), "created": created}
            if result and result.aborted:
                customer["aborted"] = result.aborted
        totals = outcome["totals"]
        totals["groups"] = {"create": sum(len(result.groups_created) for result in self.customers.values())}
        return RunSummary.model_validate({
            "run_id": self.run_id, "status": self.status, "board_id": self.board_id,
            "totals": totals, "customers": outcome["customers"], "planned": self.plan.as_dict()["totals"],
            "api": {"requests": self.stats.requests, "mutation_requests": self.stats.mutation_requests,
                    "mutations": self.stats.mutations_sent, "retries": self.stats.retries,
                    "rate_limited": self.stats.rate_limited, "complexity_spent": self.stats.complexity_spent,
                    "budget_wait_seconds": round(self.stats.budget_wait_seconds, 3)},
            "settled_intents": self.settled_intents,
            **({"adopted": self.adoption.as_dict()} if self.adoption else {}),
            "reports": self.reports,
        })

    def as_dict(self) -> dict[str, Any]:
        """The same shape as `plan --json` (`totals`, `customers`), counting what was done."""
        return self.summary().as_dict()


_STATUS_ORDER = (RunStatus.PLANNED, RunStatus.COMPLETED, RunStatus.SUBITEMS_COMPLETED, RunStatus.ITEMS_COMPLETED,
                 RunStatus.RUNNING, RunStatus.INTERRUPTED, RunStatus.FAILED)


@dataclass
class RoutedSyncResult:
    """A sync over several routed boards: each board's run in route order. `as_dict()` (`sync --json`)
    is `{"status", "exit_code", "totals", "boards": [each board's SyncResult.as_dict()]}`: the totals
    sum the boards' counts, the status and the exit code are the worst of the boards'."""

    boards: list[SyncResult]

    @property
    def status(self) -> RunStatus:
        return max((result.status for result in self.boards), key=_STATUS_ORDER.index)

    @property
    def failed_rows(self) -> int:
        return sum(result.failed_rows for result in self.boards)

    @property
    def exit_code(self) -> int:
        return max(result.exit_code for result in self.boards)

    def as_dict(self) -> dict[str, Any]:
        boards = [result.as_dict() for result in self.boards]
        totals: dict[str, Any] = {}
        for board in boards:
            totals = _summed(totals, board["totals"])
        return {"status": self.status.value, "exit_code": self.exit_code, "totals": totals, "boards": boards}


def _summed(into: Mapping[str, Any], counts: Mapping[str, Any]) -> dict[str, Any]:
    """Counts added key by key, nested tables too."""
    total = dict(into)
    for key, value in counts.items():
        if isinstance(value, Mapping):
            total[key] = _summed(total.get(key) or {}, value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value
    return total


def refresh_groups(store: StateStore, board: BoardInfo) -> None:
    """The board is the truth for groups: learn the ones a person made, forget the ones a person deleted."""
    groups = store.tables.groups
    on_board = dict(board.groups)
    mirror = Mirror(store.tables, board.board_id)
    with store.engine.begin() as connection:
        known = dict(connection.execute(sa.select(groups.c.group_name, groups.c.group_id).where(
            groups.c.board_id == board.board_id)).all())
        for title, group_id in on_board.items():
            if known.get(title) != group_id:
                mirror.record_group(connection, title, group_id, customer=None, created_by_run=None)
        mirror.forget_groups(connection, [title for title in known if title not in on_board])


_TRANSIENT = (ErrorCategory.RATE_LIMIT, ErrorCategory.SERVER, ErrorCategory.NETWORK)


def _stage_complete(store: StateStore, run_id: int, table: sa.Table, unsettled_categories) -> bool:
    """Every operation of the stage settled: done, or refused for good (a bad value is the row's fault)."""
    errors = store.tables.errors
    with store.engine.connect() as connection:
        unsettled = connection.execute(sa.select(sa.func.count()).select_from(table).where(
            table.c.run_id == run_id, table.c.operation != Operation.NONE.value,
            table.c.status.in_([RowStatus.PENDING.value, RowStatus.SENT.value]))).scalar_one()
        transient = connection.execute(sa.select(sa.func.count()).select_from(errors).where(
            errors.c.run_id == run_id, errors.c.stage == "apply",
            errors.c.category.in_([category.value for category in unsettled_categories]),
            (errors.c.size.is_not(None)) if table is store.tables.staged_subitems else errors.c.size.is_(None),
        )).scalar_one()
    return not unsettled and not transient


def final_status(store: StateStore, run_id: int, *, skip_subitems: bool, aborted: bool) -> RunStatus:
    """COMPLETED when items and subitems both are. An item stage left with transient failures (or a
    group that could not be made) is not complete; once it is, the sizes that wait on a refused
    order line are that line's failure, settled with it, and do not hold the subitem stage open."""
    items_done = not aborted and _stage_complete(store, run_id, store.tables.staged_items,
                                                 (*_TRANSIENT, ErrorCategory.DEPENDENCY))
    subitems_done = items_done and not skip_subitems and _stage_complete(store, run_id, store.tables.staged_subitems,
                                                                         _TRANSIENT)
    if items_done and subitems_done:
        return RunStatus.COMPLETED
    if items_done:
        return RunStatus.ITEMS_COMPLETED
    return RunStatus.FAILED


@dataclass
class _BoardRun:
    """One board's run inside a sync: a routed sync keeps every board's run open between its passes."""

    config: Config  # the board's config (`[monday] board_id` names it)
    client: MondayClient
    lock: BoardLock | None = None
    run_id: int | None = None
    board: BoardInfo | None = None
    settled: dict[str, int] = field(default_factory=dict)
    adoption: Adoption | None = None
    staged: Staged | None = None
    prepared: Prepared | None = None
    shape: SourceShape | None = None
    applier: Applier | None = None
    result: SyncResult | None = None
    stopped_by: BaseException | None = None  # the error that stopped this board's run (not a sibling's)

    @property
    def board_id(self) -> str:
        return self.config.monday.board_id or ""


async def sync_async(config: Config, options: SyncOptions, *, http: httpx.AsyncClient | None = None,
                     token: SecretStr | None = None, budget: ComplexityBudget | None = None,
                     on_progress: Callable[[Progress], None] | None = None,
                     on_client: Callable[[MondayClient], None] | None = None) -> SyncResult:
    """Run one sync of one board, `[monday] board_id`. `http` lets tests hand in a client bound to the
    emulator's ASGI app. A routed config syncs each board with `sync_boards`."""
    board_id = _board_to_sync(config, options)
    results = await sync_boards(config, [board_id], options, http=http, token=token, budget=budget,
                                on_progress=on_progress, on_client=on_client)
    return results[0]


async def sync_routed(config: Config, options: SyncOptions, *, http: httpx.AsyncClient | None = None,
                      token: SecretStr | None = None,
                      on_progress: Callable[[Progress], None] | None = None,
                      boards: Sequence[str] | None = None) -> SyncResult | RoutedSyncResult:
    """`ordersync sync` over every routed board (`engine.routes`), one run each in route order: one
    board's `SyncResult` as before, several boards' `RoutedSyncResult`. `boards`: those routed boards
    only (`--board`, checked by the caller), after the template routes rolled over."""
    if not config.routes:
        return await sync_async(config, options, http=http, token=token, on_progress=on_progress)
    _board_to_sync(config, options)
    if has_template_routes(config):
        config = await _rolled_over(config, options, http=http, token=token)
    board_ids = boards_of(config) if boards is None else list(boards)
    if not board_ids:  # a dry run before a template route's first sync: nothing made yet
        raise UsageError("no board yet: a template route's first board is made from its template by the first "
                         "sync", hint="run `ordersync sync` to make it (and sync its lines), or plan a fixed route")
    results = await sync_boards(config, board_ids, options, http=http, token=token, on_progress=on_progress)
    return results[0] if len(results) == 1 else RoutedSyncResult(results)


async def _rolled_over(config: Config, options: SyncOptions, *, http: httpx.AsyncClient | None,
                       token: SecretStr | None) -> Config:
    """Template routes (`engine.rollover`): their boards made as the lines need them, each line placed on
    its board, before any board's run starts; a dry run makes nothing."""
    if options.dry_run:
        return placed_config(config)
    token = token or load_token(config.monday)
    register_secret(token.get_secret_value())
    databases = Databases.open(config)
    try:
        async with http_for(config, http) as session:
            client = client_for(config, session, token, databases.state)
            return await roll_over(config, databases, client, wait_for_lock=options.wait_for_lock)
    finally:
        databases.close()


async def sync_boards(config: Config, board_ids: Sequence[str], options: SyncOptions, *,
                      http: httpx.AsyncClient | None = None, token: SecretStr | None = None,
                      budget: ComplexityBudget | None = None, on_progress: Callable[[Progress], None] | None = None,
                      on_client: Callable[[MondayClient], None] | None = None) -> list[SyncResult]:
    """Sync these boards, one run each. Every board is planned first and, with several boards, every
    board's removals are applied before any board creates: a line whose route changed leaves its old
    board before it reaches its new one, so a crash never leaves it on two (a crash between the passes
    leaves it on none, and the rerun creates it)."""
    token = token or load_token(config.monday)
    register_secret(token.get_secret_value())
    databases = Databases.open(config)
    own_http = http is None
    http = http or httpx.AsyncClient(timeout=config.monday.timeout_seconds)
    kind = RunKind.PLAN if options.dry_run else options.kind
    budget = budget or token_budget(config, databases.state, token)  # one for every board of the sync
    runs = [_BoardRun(board_config(config, board_id),
                      client_for(board_config(config, board_id), http, token, databases.state, budget=budget))
            for board_id in board_ids]
    for run in runs:
        run.client.key_scope = databases.state.write_scope(run.board_id)
        if on_client:
            on_client(run.client)

    def progressed(progress: Progress) -> None:  # work done keeps every held lock alive
        for run in runs:
            if run.lock is not None:
                run.lock.beat()
        if on_progress:
            on_progress(_all_boards_progress(runs, progress))

    try:
        return await _sync_runs(runs, databases, options, kind, token, progressed)
    except BaseException as error:
        _record_stops(runs, databases.state, token, error, refused=(kind, options.filters))
        raise
    finally:
        RUN_ID.set(None)
        for run in runs:
            if run.lock is not None:
                run.lock.release()
        if own_http:
            await http.aclose()
        databases.close()


async def _sync_runs(runs: Sequence[_BoardRun], databases: Databases, options: SyncOptions, kind: RunKind,
                     token: SecretStr, progressed: Callable[[Progress], None]) -> list[SyncResult]:
    """Plan every board — open each (lock, board, open intents), stage all of them from one read of the
    source, then adopt, diff and plan each; with several, apply every board's removals first; then the
    rest. Each pass runs up to `[monday] concurrent_boards` boards at once (`_each_board`); the next pass
    starts once every board has finished this one, so no board creates before every board has removed."""
    at_once = runs[0].config.monday.concurrent_boards if runs else 1
    await _each_board(runs, at_once, lambda run: _open_board(run, databases, options, kind))
    _stage_every_board(runs, databases, options)
    source_keys = _SourceKeys(databases, runs[0].config) if runs else None
    await _each_board(runs, at_once, lambda run: _plan_board(run, databases, options, source_keys, progressed))
    if not options.dry_run:
        if len(runs) > 1:
            await _each_board(runs, at_once, _remove_first)
            _hold_lines_still_elsewhere(databases.state, runs)
        await _each_board(runs, at_once, lambda run: _finish_board(run, databases.state, options, token))
    return [run.result for run in runs if run.result is not None]


async def _each_board(runs: Sequence[_BoardRun], at_once: int,
                      step: Callable[[_BoardRun], Awaitable[None]]) -> None:
    """One pass: `step` on every board, up to `at_once` of them concurrently, each board its own writer
    (its own lock and Applier) and every one pacing on the token's one budget. The first board that
    fails stops the pass like a kill — the boards still running are cancelled at their next wait (no
    state transaction spans an await) and none starts — and its error is raised here, in the caller's
    task, so Ctrl-C and typed errors end the sync as they do on one board."""
    failures: list[BaseException] = []
    tasks: list[asyncio.Task[None]] = []
    gate = asyncio.Semaphore(at_once)

    async def one(run: _BoardRun) -> None:
        async with gate:
            if failures:
                return
            try:
                await step(run)
            except BaseException as error:  # also KeyboardInterrupt: re-raised by the caller's task, below
                if isinstance(error, asyncio.CancelledError) and failures:
                    return  # cancelled because a sibling failed: that failure is the reason
                run.stopped_by = error
                failures.append(error)
                for task in tasks:
                    if task is not asyncio.current_task():
                        task.cancel()

    if len(runs) == 1:  # one board: no task in between (a Ctrl-C reaches its run directly)
        try:
            await step(runs[0])
        except BaseException as error:
            runs[0].stopped_by = error
            raise
        return
    tasks.extend(asyncio.create_task(one(run)) for run in runs)
    await asyncio.gather(*tasks, return_exceptions=True)  # a task cancelled at the gate ends with nothing to say
    if failures:
        raise failures[0]


def _all_boards_progress(runs: Sequence[_BoardRun], progress: Progress) -> Progress:
    """What the progress bar follows: one board's `Progress`, or every board's summed while several
    boards apply at once (the customer and phase of the one that just reported)."""
    appliers = [run.applier for run in runs if run.applier is not None]
    if len(appliers) < 2:
        return progress
    return Progress(total=sum(applier.progress.total for applier in appliers),
                    done=sum(applier.progress.done for applier in appliers),
                    customer=progress.customer, phase=progress.phase)


def _record_stops(runs: Sequence[_BoardRun], store: StateStore, token: SecretStr, error: BaseException, *,
                  refused: tuple[RunKind, Filters]) -> None:
    """Every board's run the error stopped ends INTERRUPTED or FAILED (`_record_stop`), and so does the
    run of a board whose lock was refused; a board that never started has no run."""
    kind, filters = refused
    for run in runs:
        refused_lock = run.run_id is None and isinstance(run.stopped_by, LockHeld)
        if run.result is None and (run.run_id is not None or refused_lock):
            _record_stop(run.config, store, token, run.run_id, (run.stopped_by or error) if refused_lock else error,
                         refused=(kind, run.board_id, filters))


async def _open_board(run: _BoardRun, databases: Databases, options: SyncOptions, kind: RunKind) -> None:
    """A board's run up to its staging: lock, read and check the board, settle what an earlier run left
    open, refuse filters that match nothing."""
    config, store, client, board_id = run.config, databases.state, run.client, run.board_id
    if not options.dry_run:
        run.lock = await acquire_lock(store, board_id, wait_seconds=options.wait_for_lock)
    run.run_id = _start_run(store, run.lock, kind, board_id, options.filters)
    board = run.board = await read_board_schema(client, board_id)
    check_board(config, board)
    if not options.dry_run:
        run.settled = await resolve_open_intents(store, client, board_id=board_id,
                                                 key_column=config.monday.key_column,
                                                 group_ids={title: group_id for title, group_id in board.groups},
                                                 archive_wait_seconds=config.items.bulk_archive_wait_seconds)
        refresh_groups(store, board)
    refuse_unmatched_filters(config, databases.source, open_source(databases.source, config), store, board_id,
                             options.filters)


def _stage_every_board(runs: Sequence[_BoardRun], databases: Databases, options: SyncOptions) -> None:
    """Every board's order lines staged from one read of the source (`stage_boards`). Skipping the lines
    whose fingerprint is unchanged trusts the mirror: only while it vouches for every board."""
    if not runs:
        return
    full = options.full or not (options.dry_run or all(board_vouches(databases.state, run.board)
                                                       for run in runs if run.board is not None))
    staged = stage_boards(runs[0].config, databases, options.filters,
                          {run.board_id: run.run_id for run in runs if run.run_id is not None}, full=full)
    for run in runs:
        run.staged = staged[run.board_id]


class _SourceKeys:
    """Every business key of the source, read once per sync (key and route columns only) and answered
    per board: what adoption and the removal scope compare the board with."""

    def __init__(self, databases: Databases, config: Config) -> None:
        self.databases, self.config = databases, config
        self.by_board: dict[str | None, set[str]] | None = None

    def of(self, board_id: str) -> set[str]:
        if self.by_board is None:
            self.by_board = source_keys_by_board(self.databases.source,
                                                 open_source(self.databases.source, self.config), self.config)
        return self.by_board.get(board_id if routes_lines(self.config) else None, set())


async def _plan_board(run: _BoardRun, databases: Databases, options: SyncOptions,
                      source_keys: _SourceKeys | None, progressed: Callable[[Progress], None]) -> None:
    """A staged board's run up to its first write: adopt, diff, plan, the guards. A dry run ends here,
    PLANNED."""
    config, store, client, board_id, staged = run.config, databases.state, run.client, run.board_id, run.staged
    assert run.run_id is not None and run.board is not None and staged is not None and source_keys is not None
    run_id = run.run_id
    RUN_ID.set(run_id)
    run.adoption = None if options.dry_run else await adopt_board_items(
        config, store, client, run.board, run_id, source_keys=lambda: source_keys.of(board_id))
    prepared = run.prepared = plan_staged(config, databases, staged, options.filters,
                                          source_keys=lambda: source_keys.of(board_id))
    if options.dry_run:
        store.set_run_status(run_id, RunStatus.PLANNED,
                             summary=RunSummary.model_validate(prepared.plan.as_dict()).as_dict())
        discard_staged_rows(store, run_id)
        run.result = SyncResult(run_id, RunStatus.PLANNED, board_id, prepared.plan, prepared.plan, {}, client.stats,
                                run.settled)
        return
    run.shape = _pass_guards(store, config, prepared, options)
    run.applier = Applier(config, store, client, run.board, run_id,
                          ApplyOptions(skip_subitems=options.skip_subitems, checkpoint=options.checkpoint),
                          on_progress=progressed)


async def _remove_first(run: _BoardRun) -> None:
    """A routed sync's first pass on one board: its archives and deletes (`Applier.remove_items_first`)."""
    assert run.applier is not None and run.run_id is not None
    RUN_ID.set(run.run_id)
    with bound(run_id=run.run_id):
        await run.applier.remove_items_first()
    if run.applier.options.checkpoint:
        run.applier.options.checkpoint("after_removals")


def _hold_lines_still_elsewhere(store: StateStore, runs: Sequence[_BoardRun]) -> None:
    """A line another routed board still holds (its removal there failed) is not created here: its
    create fails with a reason, and the next sync, removing it there first, moves it."""
    staged, synced = store.tables.staged_items, store.tables.synced_items
    for run in runs:
        assert run.run_id is not None
        others = [other.board_id for other in runs if other is not run]
        with store.engine.connect() as connection:
            held = connection.execute(
                sa.select(staged.c.item_key, staged.c.customer, synced.c.board_id)
                .join(synced, synced.c.item_key == staged.c.item_key)
                .where(staged.c.run_id == run.run_id, staged.c.operation == Operation.CREATE.value,
                       staged.c.status == RowStatus.PENDING.value, synced.c.board_id.in_(others))).all()
        if not held:
            continue
        writes = BatchWrites(store, run.run_id, run.board_id)
        for key, customer, elsewhere in held:
            writes.status(staged, key, RowStatus.ERROR)
            writes.error(item_key=key, customer=customer, category=ErrorCategory.DEPENDENCY,
                         message=f"not created: board {elsewhere} still holds this order line (its removal there "
                                 "did not complete); the next sync removes it there first, then creates it here")
        keys = [key for key, _, _ in held]
        with store.engine.begin() as connection:
            writes.flush(connection)
            for table in (staged, store.tables.staged_subitems):  # nothing of it is sent; its sizes follow it
                connection.execute(sa.update(table).where(table.c.run_id == run.run_id, table.c.item_key.in_(keys))
                                   .values(operation=Operation.NONE.value))


async def _finish_board(run: _BoardRun, store: StateStore, options: SyncOptions, token: SecretStr) -> None:
    """Apply a board's plan, per customer, then record the run's outcome, mark and reports."""
    assert run.applier is not None and run.run_id is not None and run.prepared is not None and run.board
    RUN_ID.set(run.run_id)
    run_id, client = run.run_id, run.client
    results = await _apply_every_customer(run.applier, run_id)
    status = final_status(store, run_id, skip_subitems=options.skip_subitems,
                          aborted=any(result.aborted for result in results.values()))
    result = SyncResult(run_id, status, run.board_id, run.prepared.plan, build_outcome(store, run_id), results,
                        client.stats, run.settled, adoption=run.adoption)
    recording = time.monotonic()
    _record_board_state(store, result, run.shape)
    store.set_run_status(run_id, status, summary=result.summary().as_dict())
    await record_board_mark(store, client, run.board, sent_nothing=client.stats.mutation_requests == 0)
    result.reports = _write_reports(run.config, store, run_id, token)
    store.prune_staged_rows(run.board_id)
    _log_recorded(result, time.monotonic() - recording)
    run.result = result


def _record_stop(config: Config, store: StateStore, token: SecretStr, run_id: int | None, error: BaseException, *,
                 refused: tuple[RunKind, str, Filters]) -> None:
    """The run ends INTERRUPTED by a signal, or FAILED with the reason (and its reports). One the lock
    refused never started: it is recorded FAILED all the same, so `status` says why nothing ran."""
    if run_id is None and isinstance(error, LockHeld):
        kind, board_id, filters = refused
        run_id = store.start_run(kind, board_id, filters.as_dict())
    if run_id is not None and end_stopped_run(store, run_id, error, _describe(error)):
        _write_reports(config, store, run_id, token)


def _start_run(store: StateStore, lock: BoardLock | None, kind: RunKind, board_id: str, filters: Filters) -> int:
    """The run is recorded before its first request, so one that cannot read or check its board ends
    FAILED in `status` too. Holding the board's lock, it knows runs left RUNNING there are a dead process's."""
    run_id = store.start_run(kind, board_id, filters.as_dict())
    RUN_ID.set(run_id)  # from here on every log line names the run (until sync_async ends)
    if lock is not None:
        lock.attach_run(run_id)
        store.mark_interrupted_runs(board_id, except_run=run_id)
    return run_id


def _pass_guards(store: StateStore, config: Config, prepared: Prepared, options: SyncOptions) -> SourceShape | None:
    """The guards before the first write (engine/guards.py). A refused run keeps no staged rows: it
    leaves nothing pending, and ends FAILED with the refusal as its message."""
    try:
        return check_before_writes(store, config, prepared, options.filters, allow_removals=options.allow_removals,
                                   accept_source_changes=options.accept_source_changes)
    except SyncRefused:
        discard_staged_rows(store, prepared.run_id)
        raise


def _record_board_state(store: StateStore, result: SyncResult, shape: SourceShape | None) -> None:
    """After the writes: the mirror's scope is refreshed, and the source's shape this run read becomes
    the board's once the run wrote from it (`shape` None: the recorded one still holds; engine/guards.py)."""
    store.refresh_mirror_scope(result.run_id, result.board_id)
    if shape is not None and (result.status is not RunStatus.FAILED or result.outcome.has_writes):
        store.record_source_shape(result.board_id, shape, result.run_id)


def _board_to_sync(config: Config, options: SyncOptions) -> str:
    """Refuse, before anything is opened, a run that would be unsafe or has nowhere to go."""
    if options.filters.reaches_every_customer and not options.all_customers and not options.dry_run:
        raise UsageError("refusing to sync every customer without --all",
                         hint="name customers with --customer (or other filters), or pass --all on purpose")
    if config.routes and not config.monday.board_id:
        return next(iter(boards_of(config)), "")  # a template route's first board is made by its first sync
    if not config.monday.board_id:
        raise ConfigError("no board to sync to: [monday] board_id is not set",
                          problems=["monday.board_id: missing"],
                          hint="set it in ordersync.toml (or run `ordersync demo` to create one on the emulator)")
    return config.monday.board_id


async def _apply_every_customer(applier: Applier, run_id: int) -> dict[str, CustomerResult]:
    """Every customer, phase by phase (a failure in one customer's rows never stops another's)."""
    applier.progress.total = applier.count_operations()
    started = time.monotonic()
    with bound(run_id=run_id):
        results = await applier.apply_all()
        log.info("apply: %d customers, %d of %d operations done, in %.2f s", len(results), applier.progress.done,
                 applier.progress.total, time.monotonic() - started,
                 extra={"stage": "apply", "customers": len(results), "operations": applier.progress.done,
                        "seconds": round(time.monotonic() - started, 3)})
    return results


def _log_recorded(result: SyncResult, seconds: float) -> None:
    totals = result.outcome.totals
    log.info("record: run %d %s; items %s; subitems %s; %d requests, %d retries; reports in %s; in %.2f s",
             result.run_id, result.status.value, _counted(totals["items"]), _counted(totals["subitems"]),
             result.stats.requests, result.stats.retries, result.reports, seconds,
             extra={"stage": "record", "status": result.status.value, "items": totals["items"],
                    "subitems": totals["subitems"], "requests": result.stats.requests,
                    "retries": result.stats.retries, "seconds": round(seconds, 3)})


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {key}" for key, count in counts.items() if count) or "nothing"


def _write_reports(config: Config, store: StateStore, run_id: int, token: SecretStr) -> str | None:
    """Every sync run leaves its Markdown and JSON reports (never failing the run for them)."""
    folder = write_run_reports(config, store, run_id, secrets=[token.get_secret_value()])
    return str(folder) if folder else None


def _describe(error: BaseException) -> str:
    if isinstance(error, Unauthorized):
        return f"the API refused the token ({error.message}): {error.hint}"
    if isinstance(error, ApiUnavailable):
        return f"ApiUnavailable: {error.message}; {error.hint}"
    if isinstance(error, MondayError):
        return f"{type(error).__name__}: {error.message}"
    return f"{type(error).__name__}: {error}"


def failed_keys(store: StateStore, board_id: str,
                customers: Mapping[str, Any] | None = None) -> tuple[int | None, set[str]]:
    """The last sync or retry on this board, and every order line with a failure no later run put
    right, whatever run it failed in (`engine.failures`; a warning, a value cut to fit, is not one)."""
    runs = store.tables.runs
    with store.engine.connect() as connection:
        last = connection.execute(
            sa.select(runs.c.run_id).where(runs.c.board_id == board_id,
                                           runs.c.kind.in_([RunKind.SYNC.value, RunKind.RETRY.value]),
                                           runs.c.status != RunStatus.RUNNING.value)
            .order_by(runs.c.run_id.desc()).limit(1)).scalar_one_or_none()
    if last is None:
        return None, set()
    return last, {failure.item_key for failure in unresolved_failures(store, board_id, customers or {})}


async def retry_failed(config: Config, *, checkpoint: Checkpoint | None = None, wait_for_lock: float = 0.0,
                       boards: Sequence[str] | None = None, **kwargs: Any) -> SyncResult | RoutedSyncResult:
    """`ordersync retry`: sync again only the order lines whose failure no later run put right (on
    each routed board that has some, or on `boards` only — `--board`: one run per board)."""
    config = placed_config(config)
    boards = list(boards) if boards is not None else boards_of(config)
    if not boards:
        raise ConfigError("no board: [monday] board_id is not set", problems=["monday.board_id: missing"])
    databases = Databases.open(config)
    try:
        failed = {board_id: failed_keys(databases.state, board_id, config.customers) for board_id in boards}
    finally:
        databases.close()
    if not any(keys for _, keys in failed.values()):
        last_run = max((run for run, _ in failed.values() if run is not None), default=None)
        raise UsageError(f"nothing to retry: every order line that failed has synced since (last run {last_run})"
                         if last_run
                         else "nothing to retry: no sync has run on this board yet")
    results = []
    for board_id, (_, keys) in failed.items():
        if keys:
            options = SyncOptions(filters=Filters(item_keys=frozenset(keys)), all_customers=True, kind=RunKind.RETRY,
                                  checkpoint=checkpoint, wait_for_lock=wait_for_lock)
            results.append(await sync_async(board_config(config, board_id), options, **kwargs))
    return results[0] if len(results) == 1 else RoutedSyncResult(results)

