"""Diff: compare a run's staged rows with the synced mirror, in SQL, and decide each row's operation.

The synced mirror (what Monday confirmed) is the single source of truth for change detection:
- items: NEW (no mirror row), CHANGED (row hash differs), UNCHANGED, REMOVED (in the mirror,
  inside the run's scope, but no longer in the source);
- subitems, per (order line, size): NEW (a size appeared), CHANGED (its quantity changed),
  UNCHANGED, REMOVED (the size went to zero or disappeared).

Removal is only decided when the run read its whole scope: a `--limit` run, or a `retry`,
cannot know that an unread line is gone. Keys that failed this run are never removed either:
a bad value in the source must not archive the item on the board. And a filtered run removes
only lines gone from the source altogether: a line whose season, PO or customer changed has
left the filter, not the source, and the run that covers it next moves it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Set
from dataclasses import dataclass

import sqlalchemy as sa

from ordersync.config import CancelledPolicy, RemovalPolicy
from ordersync.engine.filters import Scope
from ordersync.state import DiffState, Operation, RowStatus, StateStore
from ordersync.state.schema import SCOPE_FIELDS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemovalScope:
    """Which mirror rows this run speaks for. None: the run cannot decide removals at all."""

    lines: Scope = Scope()  # the order lines the run read
    # Every business key in the whole source, whatever the filter; asked only when a filtered run
    # finds mirror rows it did not read. Without it a filtered run removes no item at all.
    source_keys: Callable[[], Set[str]] | None = None

    @property
    def is_filtered(self) -> bool:
        return self.lines.is_filtered


_REMOVAL_OPERATION = {"archive": Operation.ARCHIVE, "delete": Operation.DELETE, "leave": Operation.NONE}


def diff_run(store: StateStore, run_id: int, board_id: str, *, scope: RemovalScope | None,
             on_removed: RemovalPolicy, on_cancelled: CancelledPolicy, moved_away: Collection[str] = (),
             unchanged: Set[str] | None = None) -> None:
    """Set `state` and `operation` on every staged row of the run; add REMOVED rows from the mirror.

    `moved_away`: lines the run read whose route names another board (`engine.routes`): removed from
    this board whatever the run's filter, so the board they moved to never holds them alongside.
    `unchanged`: lines the run found in its scope but did not stage, their fingerprints unchanged
    (`engine.fingerprints`): still in the source, so never removed."""
    started = time.monotonic()
    with store.engine.begin() as connection:
        _diff_items(connection, store, run_id, board_id)
        if scope is not None:
            _removed_items(connection, store, run_id, board_id, scope, unchanged)
        if moved_away:
            _moved_away_items(connection, store, run_id, board_id, sorted(moved_away))
        _item_operations(connection, store, run_id, on_removed, on_cancelled)
        _diff_subitems(connection, store, run_id, board_id)
        _removed_subitems(connection, store, run_id, board_id)
        _subitem_operations(connection, store, run_id, on_removed)
    if log.isEnabledFor(logging.INFO):
        _log_states(store, run_id, time.monotonic() - started)


def _log_states(store: StateStore, run_id: int, seconds: float) -> None:
    """`diff:` with how many rows are new, changed, unchanged and removed, items and subitems."""
    counts: dict[str, dict[str, int]] = {}
    with store.engine.connect() as connection:
        for kind, table in (("items", store.tables.staged_items), ("subitems", store.tables.staged_subitems)):
            counts[kind] = {str(state).lower(): count for state, count in connection.execute(
                sa.select(table.c.state, sa.func.count()).where(table.c.run_id == run_id).group_by(table.c.state))}
    described = "; ".join(f"{kind} " + (", ".join(f"{count} {state}" for state, count in sorted(found.items()))
                                        or "none") for kind, found in counts.items())
    log.info("diff: %s, in %.2f s", described, seconds, extra={"stage": "diff", **counts, "seconds": round(seconds, 3)})


def _diff_items(connection, store: StateStore, run_id: int, board_id: str) -> None:
    """Staged NEW (`engine.staging`); joined with the mirror, UNCHANGED where the row hash is the one recorded,
    else CHANGED (a NULL hash in the mirror equals nothing). One set-based statement, no per-row subquery:
    a first load rewrites no row."""
    staged, synced = store.tables.staged_items, store.tables.synced_items
    connection.execute(
        sa.update(staged).where(staged.c.run_id == run_id, synced.c.board_id == board_id,
                                synced.c.item_key == staged.c.item_key).values(
            state=sa.case((synced.c.row_hash == staged.c.row_hash, DiffState.UNCHANGED.value),
                          else_=DiffState.CHANGED.value)))


def _unstaged_mirror_rows(store: StateStore, run_id: int, board_id: str) -> tuple[sa.Select, list[sa.ColumnElement]]:
    """Mirror rows of the board the run neither staged nor failed, as REMOVED staged rows; and the conditions."""
    tables = store.tables
    staged, synced, errors = tables.staged_items, tables.synced_items, tables.errors
    conditions = [
        synced.c.board_id == board_id,
        ~sa.select(sa.literal(1)).where(staged.c.run_id == run_id, staged.c.item_key == synced.c.item_key).exists(),
        ~sa.select(sa.literal(1)).where(errors.c.run_id == run_id, errors.c.item_key == synced.c.item_key).exists(),
    ]
    removed = sa.select(
        sa.literal(run_id), synced.c.item_key, synced.c.customer, synced.c.group_name, synced.c.item_name,
        synced.c.po_number, synced.c.aag_season, synced.c.customer_season, synced.c.cancelled,
        sa.literal(DiffState.REMOVED.value), sa.literal(RowStatus.PENDING.value), synced.c.monday_item_id, sa.literal(0),
    )
    return removed, conditions


def _stage_removed(connection, store: StateStore, rows: sa.Select) -> None:
    connection.execute(sa.insert(store.tables.staged_items).from_select(
        ["run_id", "item_key", "customer", "group_name", "item_name", "po_number", "aag_season",
         "customer_season", "cancelled", "state", "status", "monday_item_id", "attempts"],
        rows,
    ))


def _moved_away_items(connection, store: StateStore, run_id: int, board_id: str, keys: list[str]) -> None:
    """Lines routed to another board that this board's mirror holds (and the run did not stage already)."""
    synced = store.tables.synced_items
    removed, conditions = _unstaged_mirror_rows(store, run_id, board_id)
    for start in range(0, len(keys), 500):
        _stage_removed(connection, store, removed.where(*conditions, synced.c.item_key.in_(keys[start:start + 500])))


def _removed_items(connection, store: StateStore, run_id: int, board_id: str, scope: RemovalScope,
                   unchanged: Set[str] | None) -> None:
    synced = store.tables.synced_items
    removed, conditions = _unstaged_mirror_rows(store, run_id, board_id)
    conditions += scope.lines.where({name: synced.c[name] for name in SCOPE_FIELDS})
    removed = removed.where(*conditions)

    def stage_removed(rows: sa.Select) -> None:
        _stage_removed(connection, store, rows)

    if not scope.is_filtered and unchanged is None:
        stage_removed(removed)
        return
    if unchanged is None:
        unread = list(connection.execute(sa.select(synced.c.item_key).where(*conditions)).scalars())
    else:  # the mirror's lines in scope but the unchanged ones (most, in a resync), then the full test on those
        in_scope = conditions[:1] + conditions[3:]
        others = [key for key in connection.execute(sa.select(synced.c.item_key).where(*in_scope)).scalars()
                  if key not in unchanged]
        unread = [key for start in range(0, len(others), 500) for key in connection.execute(
            sa.select(synced.c.item_key).where(*conditions, synced.c.item_key.in_(others[start:start + 500])))
            .scalars()]
    if scope.is_filtered and unread and scope.source_keys is not None:
        still_in_source = scope.source_keys()
        gone = [key for key in unread if key not in still_in_source]
    else:
        gone = unread if not scope.is_filtered else []
    for start in range(0, len(gone), 500):
        stage_removed(removed.where(synced.c.item_key.in_(gone[start:start + 500])))


def _item_operations(connection, store: StateStore, run_id: int, on_removed: RemovalPolicy,
                     on_cancelled: CancelledPolicy) -> None:
    staged = store.tables.staged_items
    archive_cancelled = on_cancelled == "archive"
    state, cancelled = staged.c.state, staged.c.cancelled
    whens = [(state == DiffState.REMOVED.value, _REMOVAL_OPERATION[on_removed].value)]
    if archive_cancelled:
        whens += [
            (sa.and_(cancelled == sa.true(), state == DiffState.NEW.value), Operation.NONE.value),
            (cancelled == sa.true(), Operation.ARCHIVE.value),
        ]
    whens += [
        (state == DiffState.NEW.value, Operation.CREATE.value),
        (state == DiffState.CHANGED.value, Operation.UPDATE.value),
    ]
    operation = sa.case(*whens, else_=Operation.NONE.value)
    connection.execute(sa.update(staged).where(staged.c.run_id == run_id, _differs(staged.c.operation, operation))
                       .values(operation=operation))


def _differs(column: sa.ColumnElement, value: sa.ColumnElement) -> sa.ColumnElement:
    """The rows whose `column` is not `value` already: only those are rewritten (an UPDATE of every staged row
    rewrote 100,000 wide rows of a first load that were all CREATE already)."""
    return sa.or_(column.is_(None), column != value)


def _diff_subitems(connection, store: StateStore, run_id: int, board_id: str) -> None:
    """As `_diff_items`, per (order line, size), comparing the quantity."""
    staged, synced = store.tables.staged_subitems, store.tables.synced_subitems
    connection.execute(
        sa.update(staged).where(staged.c.run_id == run_id, synced.c.board_id == board_id,
                                synced.c.item_key == staged.c.item_key, synced.c.size == staged.c.size).values(
            state=sa.case((synced.c.quantity == staged.c.quantity, DiffState.UNCHANGED.value),
                          else_=DiffState.CHANGED.value)))


def _removed_subitems(connection, store: StateStore, run_id: int, board_id: str) -> None:
    """Sizes in the mirror whose order line is still staged (and stays) but no longer has that size."""
    tables = store.tables
    staged_items, staged, synced = tables.staged_items, tables.staged_subitems, tables.synced_subitems
    parent_stays = sa.and_(staged_items.c.run_id == run_id, staged_items.c.item_key == synced.c.item_key,
                           staged_items.c.state != DiffState.REMOVED.value)
    size_staged = sa.select(sa.literal(1)).where(
        staged.c.run_id == run_id, staged.c.item_key == synced.c.item_key, staged.c.size == synced.c.size,
    ).exists()
    removed = sa.select(
        sa.literal(run_id), synced.c.item_key, synced.c.size, staged_items.c.customer, synced.c.name, synced.c.quantity,
        sa.literal(DiffState.REMOVED.value), sa.literal(RowStatus.PENDING.value), synced.c.monday_subitem_id, sa.literal(0),
    ).select_from(synced.join(staged_items, parent_stays)).where(synced.c.board_id == board_id, ~size_staged)
    connection.execute(
        sa.insert(staged).from_select(
            ["run_id", "item_key", "size", "customer", "name", "quantity", "state", "status",
             "monday_subitem_id", "attempts"],
            removed,
        )
    )


def _subitem_operations(connection, store: StateStore, run_id: int, on_removed: RemovalPolicy) -> None:
    """A subitem follows its parent: nothing to do under an item being archived, deleted or skipped.

    Each subitem's operation from its own state, then — joined with its parent — none under a parent
    that is removed, or new and not created."""
    staged_items, staged = store.tables.staged_items, store.tables.staged_subitems
    operation = sa.case(
        (staged.c.state == DiffState.NEW.value, Operation.CREATE.value),
        (staged.c.state == DiffState.CHANGED.value, Operation.UPDATE.value),
        (staged.c.state == DiffState.REMOVED.value, _REMOVAL_OPERATION[on_removed].value),
        else_=Operation.NONE.value,
    )
    connection.execute(sa.update(staged).where(staged.c.run_id == run_id, _differs(staged.c.operation, operation))
                       .values(operation=operation))
    parent_operation, parent_state = staged_items.c.operation, staged_items.c.state
    connection.execute(
        sa.update(staged).where(
            staged.c.run_id == run_id, staged_items.c.run_id == run_id, staged_items.c.item_key == staged.c.item_key,
            staged.c.operation != Operation.NONE.value,
            sa.or_(parent_operation.in_([Operation.ARCHIVE.value, Operation.DELETE.value]),
                   sa.and_(parent_state == DiffState.NEW.value, parent_operation == Operation.NONE.value)),
        ).values(operation=Operation.NONE.value)
    )
