"""The thin glue for everything before the first API call: extract → transform → stage → diff → plan.

`ordersync plan` is exactly this with a run of kind `plan`; a sync runs it and then applies.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ordersync.config import Config, state_url
from ordersync.engine.diff import RemovalScope, diff_run
from ordersync.engine.filters import Filters, canonical_customers
from ordersync.engine.lines import transformed_order_lines
from ordersync.engine.plan import Plan, build_plan
from ordersync.engine.source import SourceTable, create_source_engine, open_source
from ordersync.engine.staging import StagingResult, stage_run
from ordersync.engine.transform import business_key, rules_from_config
from ordersync.engine.unmatched import refuse_unmatched_filters
from ordersync.state import RunKind, RunStatus, StateStore

UNASSIGNED_BOARD = "unassigned"


@dataclass
class Prepared:
    run_id: int
    board_id: str
    plan: Plan
    staging: StagingResult
    source_table: SourceTable


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
    """The business key of every line in the source table, unfiltered: only the key columns are read."""
    names = list(config.source.business_key)
    query = sa.select(*(source_table.table.c[name] for name in names))
    keys: set[str] = set()
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=config.source.chunk_size).execute(query)
        for row in result:
            key, _ = business_key(dict(zip(names, row, strict=True)), names)
            if key is not None:
                keys.add(key)
    return keys


def prepare(config: Config, databases: Databases, filters: Filters, *, kind: RunKind,
            board_id: str | None = None, progress: Callable[[int], None] | None = None) -> Prepared:
    """Start a run and take it up to its plan. Bad rows are recorded in the errors table, never dropped."""
    board = board_id or config.monday.board_id or UNASSIGNED_BOARD
    source_table = open_source(databases.source, config)
    rules = rules_from_config(config, source_table.size_columns)
    store = databases.state
    refuse_unmatched_filters(config, databases.source, source_table, store, board, filters)
    run_id = store.start_run(kind, board, filters.as_dict())
    try:
        lines = transformed_order_lines(databases.source, source_table, config, filters, rules)
        keep = (lambda key: key in filters.item_keys) if filters.item_keys else None
        staging = stage_run(store, run_id, lines, keep=keep, progress=progress)
        scope = removal_scope(config, filters,
                              source_keys=lambda: all_source_keys(databases.source, source_table, config))
        diff_run(store, run_id, board, scope=scope,
                 on_removed=config.items.on_removed, on_cancelled=config.items.on_cancelled)
        plan = build_plan(store, run_id, board)
    except BaseException as error:
        store.fail_unfinished_run(run_id, f"{type(error).__name__}: {error}")
        raise
    return Prepared(run_id, board, plan, staging, source_table)


def discard_staged_rows(store: StateStore, run_id: int) -> None:
    """A dry run's staged rows are nobody's input: remove them once its plan is read."""
    tables = store.tables
    with store.engine.begin() as connection:
        for table in (tables.staged_subitems, tables.staged_items):
            connection.execute(sa.delete(table).where(table.c.run_id == run_id))


def plan_only(config: Config, filters: Filters, *, progress: Callable[[int], None] | None = None) -> Prepared:
    """`ordersync plan`: everything but the writes. Changes nothing a later sync relies on."""
    databases = Databases.open(config)
    try:
        prepared = prepare(config, databases, filters, kind=RunKind.PLAN, progress=progress)
        databases.state.set_run_status(prepared.run_id, RunStatus.PLANNED, summary=prepared.plan.as_dict())
        discard_staged_rows(databases.state, prepared.run_id)
        return prepared
    finally:
        databases.close()
