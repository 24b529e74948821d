"""Status changes, as data: the only writer of the `status` columns of runs and staged rows (DESIGN §7).

Each change names the states it may come from, and the UPDATE's WHERE clause checks it: a row
or run in any other state is left as it is and the change raises `IllegalTransition` — a bug
in ordersync, never a user's mistake. `tests/test_state_ownership.py` checks nothing else
writes these columns.

    staged row:  PENDING ──► SENT ──► DONE            (a create: SENT is committed before the request)
                    │          └────► ERROR
                    ├────────────────► DONE / ERROR   (updates, archives, refusals: no SENT step)
    run:         RUNNING ─► PLANNED | FAILED | INTERRUPTED
                    └─► ITEMS_COMPLETED ─► SUBITEMS_COMPLETED ─► COMPLETED
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ordersync.state.schema import RowStatus, RunStatus, StateTables, dumps, utcnow

ROW_TRANSITIONS: Mapping[RowStatus, frozenset[RowStatus]] = {
    RowStatus.SENT: frozenset({RowStatus.PENDING}),
    RowStatus.DONE: frozenset({RowStatus.PENDING, RowStatus.SENT}),
    # a row refused twice in one request (both halves of an update failed) stays an error
    RowStatus.ERROR: frozenset({RowStatus.PENDING, RowStatus.SENT, RowStatus.ERROR}),
}

RUN_TRANSITIONS: Mapping[RunStatus, frozenset[RunStatus]] = {
    RunStatus.PLANNED: frozenset({RunStatus.RUNNING}),
    RunStatus.ITEMS_COMPLETED: frozenset({RunStatus.RUNNING}),
    RunStatus.SUBITEMS_COMPLETED: frozenset({RunStatus.ITEMS_COMPLETED}),
    RunStatus.COMPLETED: frozenset({RunStatus.SUBITEMS_COMPLETED}),
    RunStatus.FAILED: frozenset({RunStatus.RUNNING}),
    RunStatus.INTERRUPTED: frozenset({RunStatus.RUNNING}),
}

# Where a run that reached this status goes through on its way (each stage is stamped).
RUN_PATH: Mapping[RunStatus, tuple[RunStatus, ...]] = {
    RunStatus.COMPLETED: (RunStatus.ITEMS_COMPLETED, RunStatus.SUBITEMS_COMPLETED, RunStatus.COMPLETED),
    RunStatus.SUBITEMS_COMPLETED: (RunStatus.ITEMS_COMPLETED, RunStatus.SUBITEMS_COMPLETED),
}


class IllegalTransition(RuntimeError):
    """A status change from a state that does not allow it: a bug, never retried or hidden."""


@dataclass(frozen=True)
class RowChange:
    """One staged row's move to a new status, with what Monday answered."""

    item_key: str
    status: RowStatus
    size: str | None = None
    monday_id: str | None = None
    attempts: int | None = None


def move_rows(connection: Connection, tables: StateTables, run_id: int, table: sa.Table,
              changes: Sequence[RowChange]) -> None:
    """Staged rows change status, in bulk (one executemany per shape of change)."""
    if table is not tables.staged_items and table is not tables.staged_subitems:
        raise IllegalTransition(f"{table.name} has no row statuses")
    groups: dict[tuple[RowStatus, bool, bool, bool], list[dict[str, Any]]] = {}
    for change in changes:
        signature = (change.status, change.size is not None, change.monday_id is not None,
                     change.attempts is not None)
        groups.setdefault(signature, []).append({
            "b_key": change.item_key, "b_size": change.size, "b_monday_id": change.monday_id,
            "b_attempts": change.attempts})
    for (status, has_size, has_id, has_attempts), rows in groups.items():
        allowed = ROW_TRANSITIONS[status]
        where = [table.c.run_id == run_id, table.c.item_key == sa.bindparam("b_key"),
                 sa.or_(*(table.c.status == state.value for state in sorted(allowed)))]  # no IN: executemany
        if has_size:
            where.append(table.c.size == sa.bindparam("b_size"))
        values: dict[str, Any] = {"status": status.value}
        if has_id:
            id_column = "monday_item_id" if table is tables.staged_items else "monday_subitem_id"
            values[id_column] = sa.bindparam("b_monday_id")
        if has_attempts:
            values["attempts"] = sa.bindparam("b_attempts")
        result = connection.execute(sa.update(table).where(*where).values(**values), rows)
        if connection.dialect.supports_sane_multi_rowcount and result.rowcount != len(rows):
            raise IllegalTransition(
                f"{table.name} of run {run_id}: {len(rows) - result.rowcount} of {len(rows)} rows could not move "
                f"to {status.value}: only rows in {sorted(state.value for state in allowed)} may")


def move_run(connection: Connection, tables: StateTables, run_id: int, status: RunStatus, *,
             message: str | None = None, summary: Mapping[str, Any] | str | None = None) -> None:
    """A run moves to `status` (walking the stages before it: ITEMS_COMPLETED before COMPLETED)."""
    for step in RUN_PATH.get(status, (status,)):
        _move_run_once(connection, tables, run_id, step, message=message if step is status else None,
                       summary=summary if step is status else None)


def _move_run_once(connection: Connection, tables: StateTables, run_id: int, status: RunStatus, *,
                   message: str | None, summary: Mapping[str, Any] | str | None) -> None:
    runs = tables.runs
    now = utcnow()
    values: dict[str, Any] = {"status": status.value, "heartbeat_at": now, "finished_at": now}
    if status is RunStatus.ITEMS_COMPLETED:
        values["items_completed_at"] = now
    if status is RunStatus.SUBITEMS_COMPLETED:
        values["subitems_completed_at"] = now
    if message is not None:
        values["message"] = message
    if summary is not None:
        values["summary"] = summary if isinstance(summary, str) else dumps(summary)
    allowed = RUN_TRANSITIONS[status]
    moved = connection.execute(sa.update(runs).where(
        runs.c.run_id == run_id, _run_may_become(runs, status)).values(**values)).rowcount
    if moved != 1:
        found = connection.execute(sa.select(runs.c.status).where(runs.c.run_id == run_id)).scalar_one_or_none()
        raise IllegalTransition(f"run {run_id} is {found or 'missing'}: it cannot become {status.value} "
                                f"(only from {sorted(state.value for state in allowed)})")


def fail_unfinished_run(connection: Connection, tables: StateTables, run_id: int, message: str) -> bool:
    """A run stopped by an error becomes FAILED — if it is still RUNNING. One that already reached
    its final status (an error while writing its reports, say) keeps it. True when it moved."""
    runs = tables.runs
    now = utcnow()
    moved = connection.execute(sa.update(runs).where(
        runs.c.run_id == run_id, _run_may_become(runs, RunStatus.FAILED)).values(
        status=RunStatus.FAILED.value, message=message, heartbeat_at=now, finished_at=now)).rowcount
    return bool(moved)


def interrupt_runs(connection: Connection, tables: StateTables, run_ids: Sequence[int], message: str) -> None:
    """Runs found RUNNING whose process is gone (killed or crashed) become INTERRUPTED."""
    if run_ids:
        runs = tables.runs
        connection.execute(sa.update(runs).where(
            runs.c.run_id.in_(list(run_ids)), _run_may_become(runs, RunStatus.INTERRUPTED)).values(
            status=RunStatus.INTERRUPTED.value, finished_at=utcnow(), message=message))


def _run_may_become(runs: sa.Table, status: RunStatus) -> sa.ColumnElement[bool]:
    """The WHERE clause of a run's move to `status`: it is in a state `RUN_TRANSITIONS` allows."""
    return runs.c.status.in_([state.value for state in RUN_TRANSITIONS[status]])
