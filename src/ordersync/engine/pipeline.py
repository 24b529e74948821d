"""The thin glue for everything before the first write: extract → transform → stage (→ adopt) → diff → plan.

`ordersync plan` is exactly this with a run of kind `plan`; a sync stages, adopts what the board already
holds (`engine.adopt`), then diffs, plans and applies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping, Set
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ordersync.config import Config, state_url
from ordersync.engine import guards
from ordersync.engine.collector import collecting_less
from ordersync.engine.diff import RemovalScope, diff_run
from ordersync.engine.filters import Filters, canonical_customers
from ordersync.engine.fingerprints import (
    Changes,
    SourceLines,
    changed_lines,
    read_source_lines,
    record_unchanged,
    recorded_fingerprints,
)
from ordersync.engine.lines import transformed_order_lines
from ordersync.engine.parallel import TransformProcesses, transform_processes
from ordersync.engine.plan import Plan, build_plan
from ordersync.engine.routes import Router, boards_of, routed_lines, routes_lines
from ordersync.engine.source import SourceTable, count_scope, create_source_engine, open_source
from ordersync.engine.staging import (
    LineRows,
    StagingResult,
    forget_fingerprints,
    line_rows,
    stage_run,
    stage_runs,
)
from ordersync.engine.transform import (
    TransformRules,
    business_key,
    rules_from_config,
)
from ordersync.engine.unmatched import refuse_unmatched_filters
from ordersync.errors import Interrupted
from ordersync.state import RunKind, RunStatus, StateStore

log = logging.getLogger(__name__)
UNASSIGNED_BOARD = "unassigned"
ANALYZE_AFTER_LINES = 2_000  # staged in one run: the staging tables' statistics are refreshed (PostgreSQL)


@dataclass
class Prepared:
    run_id: int
    board_id: str
    plan: Plan
    staging: StagingResult
    source_table: SourceTable
    warnings: list[str] = field(default_factory=list)  # `plan`: the guards a sync of it would meet


@dataclass
class Databases:
    source: Engine
    state: StateStore

    @classmethod
    def open(cls, config: Config) -> Databases:
        prefix, timeouts = config.state.table_prefix, config.state.timeouts()
        if state_url(config) == config.source.url:  # one engine for both: it speaks as the state database
            store = StateStore.from_url(config.source.url, prefix, timeouts=timeouts)
            source = store.engine
        else:
            source = create_source_engine(config.source.url, config.source.timeouts())
            store = StateStore.from_url(state_url(config), prefix, timeouts=timeouts)
        store.ensure_schema()
        return cls(source, store)

    def close(self) -> None:
        self.state.engine.dispose()
        self.source.dispose()


def removal_scope(config: Config, filters: Filters, *,
                  source_keys: Callable[[], Set[str]] | None = None) -> RemovalScope | None:
    """The mirror rows a run speaks for; None when it cannot know what was removed (--limit, retry).

    `source_keys` gives every business key in the whole source: a filtered run removes only lines
    gone from the source, not those that moved out of its filter.
    """
    if not filters.covers_whole_scope:
        return None
    return RemovalScope(filters.scope(canonical_customers(config.customers)), source_keys=source_keys)


def all_source_keys(engine: Engine, source_table: SourceTable, config: Config) -> set[str]:
    """The business key of every line in the source table, unfiltered: only the key columns are read.

    A routed config (`engine.routes`): every key whose line routes to this config's board, so a line
    routed to another board counts as gone from this one (and its item here is removed)."""
    by_board = source_keys_by_board(engine, source_table, config)
    return by_board.get(config.monday.board_id if routes_lines(config) else None, set())


def source_keys_by_board(engine: Engine, source_table: SourceTable, config: Config) -> dict[str | None, set[str]]:
    """Every business key of the source table, unfiltered, by the board its route names (a config that
    routes nothing: all under None); only the key and route columns are read."""
    names = list(config.source.business_key)
    router = Router(config) if routes_lines(config) else None
    read = list(dict.fromkeys([*names, *(router.columns if router else [])]))
    query = sa.select(*(source_table.table.c[name] for name in read))
    keys: dict[str | None, set[str]] = {}
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=config.source.chunk_size).execute(query)
        for row in result:
            line = dict(zip(read, row, strict=True))
            key, _ = business_key(line, names)
            if key is not None:
                keys.setdefault(router(line) if router is not None else None, set()).add(key)
    return keys


@dataclass
class Staged:
    """A run whose order lines are staged, before the diff: where a sync adopts what the board holds."""

    run_id: int
    board_id: str
    staging: StagingResult
    source_table: SourceTable
    unchanged: frozenset[str] | None = None  # lines left unstaged, their fingerprints unchanged (None: all read)


def stage_lines(config: Config, databases: Databases, filters: Filters, *, kind: RunKind,
                board_id: str | None = None, progress: Callable[[int], None] | None = None,
                run_id: int | None = None, full: bool = False) -> Staged:
    """Start a run (or go on with `run_id`, one a sync started before it read the board) and stage its
    order lines (`stage_boards` with one board)."""
    board = board_id or config.monday.board_id or UNASSIGNED_BOARD
    source_table = open_source(databases.source, config)
    refuse_unmatched_filters(config, databases.source, source_table, databases.state, board, filters)
    run_id = run_id if run_id is not None else databases.state.start_run(kind, board, filters.as_dict())
    return stage_boards(config, databases, filters, {board: run_id}, progress=progress, full=full,
                        source_table=source_table)[board]


@collecting_less()  # millions of short-lived rows (`engine.collector`)
def stage_boards(config: Config, databases: Databases, filters: Filters, runs: Mapping[str, int], *,
                 progress: Callable[[int], None] | None = None, full: bool = False,
                 source_table: SourceTable | None = None) -> dict[str, Staged]:
    """Stage the order lines of each board's run (`runs`: board → run id, runs already started) from
    one read of the source: a routed sync transforms each line once, whatever the number of boards,
    and stages it under the run of the board its route names. Bad rows are recorded in the errors
    table, never dropped. An error ends every one of these runs.

    Only the new and changed lines are read, transformed and staged (`engine.fingerprints`) unless `full`
    (`--full`, a board the mirror cannot vouch for), the run reads part of its scope (`--limit`, `retry`),
    or nothing is unchanged (a first load, a changed config). `source_table`: the table as the caller
    already opened it (reflected once, not again here)."""
    source_table = source_table or open_source(databases.source, config)
    rules = rules_from_config(config, source_table.size_columns)
    store = databases.state
    workers: TransformProcesses | None = None
    try:
        router = Router(config) if routes_lines(config) else None
        recorded = None if full else recorded_fingerprints(store, boards_of(config) if router else list(runs))
        if (recorded is None or not any(recorded.values())) and filters.limit is None and not filters.item_keys:
            # every line will be read: the workers start now, their start-up beside the key read, and
            # fingerprint the lines as they read them (the key read reads the key columns alone)
            workers = _transform_processes(config, databases, filters, lambda: count_scope(
                databases.source, source_table, config, filters), fingerprinted=True)
        scope, fingerprints, changes = _changes(databases, source_table, config, filters, rules, recorded,
                                                fingerprinted=workers is None)
        if workers is None and scope is not None and changes is None:  # a changed config: every line differs
            workers = _transform_processes(config, databases, filters, lambda: len(scope.raw_keys))
        rows = workers.line_rows(scope) if workers is not None and scope is not None else _line_rows(
            config, databases, source_table, filters, rules, router, changes)
        keep = (lambda key: key in filters.item_keys) if filters.item_keys else None
        if router is not None:
            outcomes = stage_runs(store, runs, rows, board_of=_board_of(store, config),
                                  keep=keep, progress=progress, fingerprints=fingerprints)
        else:
            (board, run_id), = runs.items()
            outcomes = {board: stage_run(store, run_id, rows, keep=keep, progress=progress,
                                         fingerprints=fingerprints)}
        if workers is not None and workers.fingerprinted_apart:
            # a blob: its worker fingerprinted its lines in Python (as the next key read will every line), the
            # others in SQL. Read again now, a line's fingerprint would be newer than its staged values (one
            # changed in between would pass for unchanged): none is kept, the next run reads every line again
            forget_fingerprints(store, runs.values())
        if changes is not None:
            for board, run_id in runs.items():
                record_unchanged(store, run_id, board, changes.unchanged)
        if sum(outcome.order_lines for outcome in outcomes.values()) >= ANALYZE_AFTER_LINES:
            store.refresh_statistics(store.tables.staged_items, store.tables.staged_subitems)
    except BaseException as error:
        for run_id in runs.values():
            end_stopped_run(store, run_id, error)
        raise
    finally:
        if workers is not None:
            workers.close()
    unchanged = frozenset(changes.unchanged) if changes is not None else None
    return {board: Staged(run_id, board, outcomes[board], source_table, unchanged=unchanged)
            for board, run_id in runs.items()}


def _changes(databases: Databases, source_table: SourceTable, config: Config, filters: Filters,
             rules: TransformRules, recorded: Mapping[str, str | None] | None, *,
             fingerprinted: bool = True) -> tuple[SourceLines | None, dict[str, str] | None, Changes | None]:
    """The scope's key read, each line's fingerprint, to stage with it, and — on the fast path — which lines
    changed (None: every line is read). A run over part of its scope (`--limit`, `retry`): no scope to
    number lines by, every line of it read, and the fingerprints to stage with them. `recorded`: the mirror's
    fingerprints (None: `--full`). Not `fingerprinted`: the key columns alone, every line read (the lines'
    transform processes fingerprint them)."""
    if filters.limit is not None or filters.item_keys:
        # read before the lines' values: a line changed in between is staged with its older fingerprint, and
        # the next run reads it again (recorded with none, a trial run's lines were all read again)
        return None, read_source_lines(databases.source, source_table, config, filters, rules).fingerprint_of(), None
    lines = read_source_lines(databases.source, source_table, config, filters, rules, fingerprinted=fingerprinted)
    if not fingerprinted:
        return lines, None, None
    if recorded is None:
        return lines, lines.fingerprint_of(), None
    changes = changed_lines(lines, recorded)
    log.info("fingerprints: %d of %d order lines new or changed", len(changes.rows), len(lines.keys),
             extra={"stage": "fingerprints", "changed": len(changes.rows), "order_lines": len(lines.keys)})
    return lines, changes.fingerprints, changes if changes.unchanged else None


def _transform_processes(config: Config, databases: Databases, filters: Filters, lines: Callable[[], int], *,
                         fingerprinted: bool = False) -> TransformProcesses | None:
    """Worker processes, started, for a run that reads every line of its scope, when its `lines` (asked only
    when the setting leaves it to them) are enough to be worth them (`engine.parallel`); None: the lines are
    transformed here. `fingerprinted`: the workers fingerprint each line they read."""
    if config.source.transform_processes == 1:
        return None
    processes = transform_processes(config, databases.source.dialect, lines())
    return TransformProcesses(config, filters, processes, fingerprinted=fingerprinted) if processes > 1 else None


def _line_rows(config: Config, databases: Databases, source_table: SourceTable, filters: Filters,
               rules: TransformRules, router: Router | None, changes: Changes | None) -> Iterator[LineRows]:
    """The run's lines, transformed here, as the staging takes them."""
    lines = transformed_order_lines(databases.source, source_table, config, filters, rules, router=router,
                                    changes=changes)
    return map(line_rows, routed_lines(lines, router) if router is not None else lines)


def _board_of(store: StateStore, config: Config) -> Callable[[LineRows], str]:
    """Whose each of a routed sync's lines is: the board its route names, and for a line no route takes
    (a row error) the board that holds it, else, held nowhere, the first board — each recorded once, and
    an item whose line lost its route stays where it is."""
    boards = boards_of(config)
    holder: dict[str, str] | None = None

    def board_of(line: LineRows) -> str:
        nonlocal holder
        if line.board_id is not None:
            return line.board_id
        if holder is None:  # read once, and only when a line has no route
            synced = store.tables.synced_items
            with store.engine.connect() as connection:
                holder = {key: board_id for key, board_id in connection.execute(
                    sa.select(synced.c.item_key, synced.c.board_id).where(synced.c.board_id.in_(boards)))}
        owner = holder.get(line.item_key or "")
        return owner or boards[0]

    return board_of


def plan_staged(config: Config, databases: Databases, staged: Staged, filters: Filters, *,
                source_keys: Callable[[], Set[str]] | None = None) -> Prepared:
    """Diff a staged run against the mirror and read its plan. `source_keys`: every key of the source
    routed to this board (read here when not given)."""
    store = databases.state
    try:
        scope = removal_scope(config, filters, source_keys=source_keys or (
            lambda: all_source_keys(databases.source, staged.source_table, config)))
        diff_run(store, staged.run_id, staged.board_id, scope=scope,
                 on_removed=config.items.on_removed, on_cancelled=config.items.on_cancelled,
                 moved_away=staged.staging.routed_elsewhere, unchanged=staged.unchanged)
        plan = build_plan(store, staged.run_id, staged.board_id)
    except BaseException as error:
        end_stopped_run(store, staged.run_id, error)
        raise
    return Prepared(staged.run_id, staged.board_id, plan, staged.staging, staged.source_table)


def prepare(config: Config, databases: Databases, filters: Filters, *, kind: RunKind,
            board_id: str | None = None, progress: Callable[[int], None] | None = None,
            run_id: int | None = None, full: bool = False) -> Prepared:
    """Start a run (or go on with `run_id`) and take it up to its plan: stage, then diff and plan."""
    staged = stage_lines(config, databases, filters, kind=kind, board_id=board_id, progress=progress, run_id=run_id,
                         full=full)
    return plan_staged(config, databases, staged, filters)


def end_stopped_run(store: StateStore, run_id: int, error: BaseException, reason: str | None = None) -> bool:
    """A run an error or a signal stopped: INTERRUPTED naming the signal (Ctrl-C, SIGTERM), else FAILED
    with `reason` — unless it already reached its final status. True when it became FAILED."""
    if isinstance(error, KeyboardInterrupt | asyncio.CancelledError):
        store.interrupt_run(run_id, f"{Interrupted().message}; the next sync resumes its work")
        return False
    return store.fail_unfinished_run(run_id, reason or f"{type(error).__name__}: {error}")


def discard_staged_rows(store: StateStore, run_id: int) -> None:
    """A dry run's staged rows are nobody's input: remove them once its plan is read."""
    tables = store.tables
    with store.engine.begin() as connection:
        for table in (tables.staged_subitems, tables.staged_items, tables.unchanged_lines):
            connection.execute(sa.delete(table).where(table.c.run_id == run_id))


def plan_only(config: Config, filters: Filters, *, progress: Callable[[int], None] | None = None,
              full: bool = False) -> Prepared:
    """`ordersync plan`: everything but the writes. Changes nothing a later sync relies on."""
    databases = Databases.open(config)
    try:
        prepared = prepare(config, databases, filters, kind=RunKind.PLAN, progress=progress, full=full)
        prepared.warnings = guards.warnings(databases.state, config, prepared, filters)
        databases.state.set_run_status(prepared.run_id, RunStatus.PLANNED, summary=prepared.plan.as_dict())
        discard_staged_rows(databases.state, prepared.run_id)
        return prepared
    finally:
        databases.close()
