"""Guards a sync passes after its plan and before its first write; `plan` shows them as warnings.

- The source's shape: the size columns and the types of the columns the config reads must be the
  ones the board's last sync read (`state/shapes.py` keeps them). A size column retyped (a view's
  `ifnull()`, an `ALTER COLUMN … TYPE text`) or renamed silently stops being a size, and the sync
  would archive its subitems: such a change refuses until `--accept-source-changes` (or a
  `[source.sizes]` rule that changed in the config) confirms it.
- Removals: a run that would archive or delete more than `[guards]` allows of the items (or of the
  subitems) it manages refuses unless `--allow-removals`. Subitems of size columns whose removal
  was just confirmed are not counted again, nor are lines moving to another routed board (their
  route changed: they leave this board and are created on theirs, nothing left the source).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa

from ordersync.config import Config, GuardsConfig
from ordersync.engine.filters import Filters, canonical_customers
from ordersync.engine.plan import Plan
from ordersync.engine.source import SourceTable, is_integer_type
from ordersync.engine.staging import StagingResult
from ordersync.errors import SourceShapeChanged, SyncRefused, TooManyRemovals
from ordersync.state import Operation, StateStore
from ordersync.state.schema import SCOPE_FIELDS
from ordersync.state.shapes import SourceShape

_REMOVALS = [Operation.ARCHIVE.value, Operation.DELETE.value]
_FAMILIES: tuple[tuple[type[sa.types.TypeEngine], str], ...] = (
    (sa.Float, "float"), (sa.Numeric, "decimal"), (sa.DateTime, "datetime"), (sa.Date, "date"), (sa.Time, "time"),
    (sa.Boolean, "boolean"), (sa.String, "text"), (sa.LargeBinary, "binary"), (sa.types.NullType, "untyped"),
)


def type_family(column_type: sa.types.TypeEngine) -> str:
    """What a column's type means to a sync: a VARCHAR(50) widened to VARCHAR(100) is no change,
    an integer that became text (or lost its type in a view's expression) is."""
    if is_integer_type(column_type):
        return "integer"
    for generic, family in _FAMILIES:
        if isinstance(column_type, generic):
            return family
    return type(column_type).__name__.lower()


def current_shape(source_table: SourceTable, config: Config) -> SourceShape:
    """The shape this run reads: its size columns, and every other column the config names."""
    types = {column.name: type_family(column.type) for column in source_table.table.columns}
    sizes = {name: types[name] for name in source_table.size_columns}
    named = set(config.referenced_source_columns().values()) - set(sizes)
    return SourceShape(sizes=sizes, columns={name: types[name] for name in sorted(named) if name in types},
                       size_rule=config.source.sizes.model_dump(mode="json"))


@dataclass(frozen=True)
class ShapeDrift:
    """How the source differs from the shape the board's last sync recorded."""

    sizes_removed: dict[str, str | None] = field(default_factory=dict)  # name → its type now (None: gone)
    sizes_added: tuple[str, ...] = ()
    retyped: dict[str, tuple[str, str]] = field(default_factory=dict)  # name → (recorded, now)
    size_rule_changed: bool = False  # the config's [source.sizes] changed: its size set is what was asked

    def problems(self) -> list[tuple[str, str]]:
        """(column, what changed) for each change that refuses a sync until it is confirmed."""
        found: list[tuple[str, str]] = []
        if not self.size_rule_changed:
            for name, now in self.sizes_removed.items():
                found.append((name, f"size column {name!r} is no longer a size: " + (
                    "the table has no such column any more" if now is None else
                    "it has no declared type now (an expression in a view?), sizes are integer columns"
                    if now == "untyped" else f"its type is now {now}, not integer")))
            found += [(name, f"{name!r} is a new size column") for name in self.sizes_added]
        found += [(name, f"column {name!r} was {was}, is now {now}") for name, (was, now) in self.retyped.items()]
        return found


def shape_drift(recorded: SourceShape, current: SourceShape, source_table: SourceTable) -> ShapeDrift:
    types = {column.name: type_family(column.type) for column in source_table.table.columns}
    rule_changed = recorded.size_rule != current.size_rule
    retyped = {name: (was, types[name]) for name, was in {**recorded.sizes, **recorded.columns}.items()
               if name in types and types[name] != was and (name in current.sizes or name in current.columns)
               and not (rule_changed and name in current.sizes)}
    return ShapeDrift(
        sizes_removed={name: types.get(name) for name in recorded.sizes if name not in current.sizes},
        sizes_added=tuple(name for name in current.sizes if name not in recorded.sizes),
        retyped=retyped, size_rule_changed=rule_changed)


def source_drift(store: StateStore, board_id: str, source_table: SourceTable, config: Config) -> ShapeDrift | None:
    """The drift from the board's recorded shape; None when no sync has recorded one yet."""
    recorded = store.source_shape(board_id)
    return None if recorded is None else shape_drift(recorded, current_shape(source_table, config), source_table)


@dataclass(frozen=True)
class Removals:
    """What a run would archive or delete of one kind, against what it manages on the board."""

    kind: str  # "items" or "subitems"
    removed: int
    managed: int
    moving: int = 0  # leaving for another routed board: not removals, not counted in `removed`

    def trips(self, guards: GuardsConfig) -> bool:
        return self.removed > guards.allow_removals_up_to and self.removed > guards.max_removed_share * self.managed

    def __str__(self) -> str:
        share = self.removed / self.managed if self.managed else 1.0
        moving = f"; {self.moving} more move to another board" if self.moving else ""
        return f"{self.removed} of the {self.managed} {self.kind} it manages on the board ({share:.0%}{moving})"


def count_removals(store: StateStore, config: Config, run_id: int, board_id: str, filters: Filters, *,
                   sizes_confirmed: frozenset[str] = frozenset(), moving: Collection[str] = ()) -> list[Removals]:
    """The run's archives and deletes, items and subitems, against the mirror rows in its scope;
    those of the keys `moving` to another routed board are counted apart. What the board manages is
    counted only for a kind with removals (a resync that removes nothing skips two scans of the mirror)."""
    tables = store.tables
    staged_items, staged_subitems = tables.staged_items, tables.staged_subitems
    synced_items, synced_subitems = tables.synced_items, tables.synced_subitems
    in_scope = filters.scope(canonical_customers(config.customers)).where(
        {name: synced_items.c[name] for name in SCOPE_FIELDS})
    count = sa.select(sa.func.count())
    key = sa.literal_column("item_key", sa.String)
    per_key = sa.select(key, sa.func.count()).group_by(key)
    with store.engine.connect() as connection:
        items_removed = {key: count for key, count in connection.execute(per_key.select_from(staged_items).where(
            staged_items.c.run_id == run_id, staged_items.c.operation.in_(_REMOVALS)))}
        subitems_removed = {key: count for key, count in connection.execute(per_key.select_from(staged_subitems).where(
            staged_subitems.c.run_id == run_id, staged_subitems.c.operation.in_(_REMOVALS),
            staged_subitems.c.size.not_in(sorted(sizes_confirmed)) if sizes_confirmed else sa.true()))}
        items_managed = connection.execute(count.select_from(synced_items).where(
            synced_items.c.board_id == board_id, *in_scope)).scalar_one() if _removes(items_removed, moving) else 0
        subitems_managed = connection.execute(count.select_from(synced_subitems.join(synced_items, sa.and_(
            synced_items.c.board_id == synced_subitems.c.board_id,
            synced_items.c.item_key == synced_subitems.c.item_key))).where(
            synced_subitems.c.board_id == board_id, *in_scope)).scalar_one() if _removes(subitems_removed, moving) else 0
    return [_removals("items", items_removed, items_managed, moving),
            _removals("subitems", subitems_removed, subitems_managed, moving)]


def _removes(removed_per_key: dict[str, int], moving: Collection[str]) -> bool:
    return any(key not in moving for key in removed_per_key)


def _removals(kind: str, removed_per_key: dict[str, int], managed: int, moving: Collection[str]) -> Removals:
    moved = sum(count for key, count in removed_per_key.items() if key in moving)
    return Removals(kind, sum(removed_per_key.values()) - moved, managed, moved)


class PlannedRun(Protocol):
    """A run taken up to its plan (`engine.pipeline.Prepared`): staged, diffed, counted."""

    run_id: int
    board_id: str
    plan: Plan
    staging: StagingResult  # its `routed_elsewhere`: the lines moving to another board
    source_table: SourceTable


@dataclass(frozen=True)
class Verdict:
    """What the guards say about a planned run: the refusals, and the shape to record once it wrote."""

    refusals: list[SyncRefused]
    shape_to_record: SourceShape | None


def assess(store: StateStore, config: Config, run: PlannedRun, filters: Filters, *,
           accept_source_changes: bool = False, allow_removals: bool = False) -> Verdict:
    """Both guards over a planned run (its staged rows carry their operations)."""
    current = current_shape(run.source_table, config)
    recorded = store.source_shape(run.board_id)
    drift = None if recorded is None else shape_drift(recorded, current, run.source_table)
    refusals: list[SyncRefused] = []
    if drift is not None and drift.problems() and not accept_source_changes:
        refusals.append(_shape_refusal(drift, run.board_id, run.plan))
    confirmed = drift is not None and (accept_source_changes or drift.size_rule_changed)
    sizes_confirmed = frozenset(drift.sizes_removed) if drift is not None and confirmed else frozenset()
    if not allow_removals:
        tripped = [removals for removals in count_removals(store, config, run.run_id, run.board_id, filters,
                                                           sizes_confirmed=sizes_confirmed,
                                                           moving=run.staging.routed_elsewhere)
                   if removals.trips(config.guards)]
        if tripped:
            refusals.append(_removal_refusal(tripped, run.board_id, config.guards))
    return Verdict(refusals, current if current != recorded else None)


def check_before_writes(store: StateStore, config: Config, run: PlannedRun, filters: Filters, *,
                        accept_source_changes: bool, allow_removals: bool) -> SourceShape | None:
    """Raise the first refusal (`SourceShapeChanged`, `TooManyRemovals`); else the shape the run
    records once it wrote (None: the recorded one still holds)."""
    verdict = assess(store, config, run, filters, accept_source_changes=accept_source_changes,
                     allow_removals=allow_removals)
    if verdict.refusals:
        raise verdict.refusals[0]
    return verdict.shape_to_record


def warnings(store: StateStore, config: Config, run: PlannedRun, filters: Filters) -> list[str]:
    """What `plan` shows: each refusal a sync of this plan would meet, on one line."""
    verdict = assess(store, config, run, filters)
    return [f"a sync would refuse: {refusal.message.splitlines()[0]}: {'; '.join(refusal.problems)} "
            f"({refusal.hint})" for refusal in verdict.refusals]


def _shape_refusal(drift: ShapeDrift, board_id: str, plan: Plan) -> SourceShapeChanged:
    subitems = plan.totals["subitems"]
    columns = ", ".join(repr(name) for name, _ in drift.problems())
    return SourceShapeChanged(
        f"refusing to sync board {board_id}: the source table changed since its last sync ({columns}); "
        f"this run would archive {subitems['archive']} and create {subitems['create']} subitems",
        problems=[problem for _, problem in drift.problems()],
        hint="if the change is intended, run `ordersync sync --accept-source-changes` once (the new shape is "
             "recorded), or name the size columns in [source.sizes] columns; if not, restore the columns "
             "(a view can CAST a size back to an integer) — `ordersync validate` shows the same list")


def _removal_refusal(tripped: list[Removals], board_id: str, guards: GuardsConfig) -> TooManyRemovals:
    return TooManyRemovals(
        f"refusing to sync board {board_id}: this run would archive or delete "
        + " and ".join(str(removals) for removals in tripped)
        + f", more than [guards] allows ({guards.max_removed_share:.0%}, beyond {guards.allow_removals_up_to})",
        problems=[f"{removals.kind}: {removals}" for removals in tripped],
        hint="if the source really lost these lines, run again with --allow-removals; if not, check the "
             "source table and the filters (`ordersync plan` shows the counts), or raise [guards] max_removed_share")
