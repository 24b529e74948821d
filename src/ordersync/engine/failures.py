"""Unresolved failures: the order lines (and sizes) that failed on a board and have not synced since,
whatever run they failed in — what `ordersync retry` sends again and `ordersync status` counts.

Reading only the last run's errors hid earlier ones: after a full sync with failures, a sync of one
other customer had none, and `retry` said there was nothing to retry. A failure (an error row of a
sync or retry on the board, warnings aside) stays unresolved until a later run puts it right:
- the mirror holds the line (or the size) from a later run: Monday confirmed it since; or
- a later run COMPLETED over the line's whole scope without an error for it — a sync that read
  every line of the customer (no PO, season, limit or key filter), or a retry of that key: the line
  synced, or it is no longer in the source.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ordersync.engine.filters import Filters, Scope, canonical_customers
from ordersync.errors import WARNING_CATEGORIES
from ordersync.state import RunKind, RunStatus, StateStore

_KINDS = (RunKind.SYNC.value, RunKind.RETRY.value)


@dataclass(frozen=True)
class Failure:
    """An order line (`size` None) or one of its sizes whose last failure no later run put right."""

    item_key: str
    size: str | None
    customer: str | None
    run_id: int  # the last run it failed in


@dataclass(frozen=True)
class _Covering:
    """A COMPLETED run that read a whole scope: a failure before it, in its scope, was retried by it."""

    run_id: int
    scope: Scope | None  # a sync's customers; None for a retry
    item_keys: frozenset[str]

    def covers(self, failure: Failure) -> bool:
        if failure.run_id >= self.run_id:
            return False
        if self.scope is None:
            return failure.item_key in self.item_keys
        return self.scope.contains(failure.customer)


def unresolved_failures(store: StateStore, board_id: str, customers: Mapping[str, Any]) -> list[Failure]:
    """Every failure on `board_id` no later run put right, oldest key first. `customers` is the
    config's `[customers]` aliases (a sync's `--customer` is read as its canonical name)."""
    tables = store.tables
    errors, runs = tables.errors, tables.runs
    with store.engine.connect() as connection:
        failed = connection.execute(
            sa.select(errors.c.item_key, errors.c.size, sa.func.max(errors.c.customer),
                      sa.func.max(errors.c.run_id))
            .select_from(errors.join(runs, runs.c.run_id == errors.c.run_id))
            .where(runs.c.board_id == board_id, runs.c.kind.in_(_KINDS), errors.c.item_key.is_not(None),
                   errors.c.category.not_in([category.value for category in WARNING_CATEGORIES]))
            .group_by(errors.c.item_key, errors.c.size)).all()
        if not failed:
            return []
        completed = connection.execute(
            sa.select(runs.c.run_id, runs.c.kind, runs.c.filters)
            .where(runs.c.board_id == board_id, runs.c.kind.in_(_KINDS),
                   runs.c.status == RunStatus.COMPLETED.value)).all()
        first_failed = min(run_id for *_, run_id in failed)
        covering = [run for run in _covering_runs(completed, canonical_customers(customers))
                    if run.run_id > first_failed]
        failures = [Failure(key, size, customer, run_id) for key, size, customer, run_id in failed]
        failures = [failure for failure in failures if not any(run.covers(failure) for run in covering)]
        confirmed = _confirmed_since(connection, store, board_id, failures)
    return sorted((failure for failure in failures if (failure.item_key, failure.size) not in confirmed),
                  key=lambda failure: (failure.item_key, failure.size or ""))


def _covering_runs(completed: Sequence[Any], lookup: Mapping[str, str]) -> list[_Covering]:
    runs = []
    for run_id, kind, stored in completed:
        filters = Filters.from_dict(json.loads(stored or "{}"))
        if kind == RunKind.RETRY.value:
            runs.append(_Covering(run_id, None, filters.item_keys))
        elif filters.covers_whole_scope and not (filters.po_numbers or filters.aag_seasons
                                                 or filters.customer_seasons):
            runs.append(_Covering(run_id, filters.scope(lookup), frozenset()))
    return runs


def _confirmed_since(connection: sa.Connection, store: StateStore, board_id: str,
                     failures: list[Failure]) -> set[tuple[str, str | None]]:
    """(key, size) of the failures the mirror holds from a later run than the one they failed in."""
    synced, synced_subitems = store.tables.synced_items, store.tables.synced_subitems
    last_failed = {(failure.item_key, failure.size): failure.run_id for failure in failures}
    keys = sorted({failure.item_key for failure in failures})
    confirmed: set[tuple[str, str | None]] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        for key, run_id in connection.execute(sa.select(synced.c.item_key, synced.c.run_id).where(
                synced.c.board_id == board_id, synced.c.item_key.in_(chunk))):
            if run_id is not None and run_id > last_failed.get((key, None), run_id):
                confirmed.add((key, None))
        for key, size, run_id in connection.execute(
                sa.select(synced_subitems.c.item_key, synced_subitems.c.size, synced_subitems.c.run_id).where(
                    synced_subitems.c.board_id == board_id, synced_subitems.c.item_key.in_(chunk))):
            if run_id is not None and run_id > last_failed.get((key, size), run_id):
                confirmed.add((key, size))
    return confirmed


def failure_counts(failures: list[Failure]) -> dict[str, Any]:
    """What `status` shows: order lines with an unresolved failure (what `retry` sends again) and
    their failed sizes, in all and per customer."""
    def counts(chosen: list[Failure]) -> dict[str, int]:
        return {"order_lines": len({failure.item_key for failure in chosen}),
                "sizes": sum(1 for failure in chosen if failure.size is not None)}

    by_customer: dict[str, list[Failure]] = {}
    for failure in failures:
        by_customer.setdefault(failure.customer or "(no customer)", []).append(failure)
    return {**counts(failures), "customers": {name: counts(chosen) for name, chosen in sorted(by_customer.items())}}
