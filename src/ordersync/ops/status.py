"""`ordersync status`: the real state of a board's sync, read from the state tables only.

The last runs with their outcome, the run in progress (if any) and how far it got, per customer
what is on the board (the synced mirror) and what the last run left pending or failed, the
write intents still open (creates whose answer never came: the next run settles them) and who
holds the board's lock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersync.config import Config, state_url
from ordersync.database import display_url
from ordersync.engine.capacity import board_capacity
from ordersync.engine.failures import failure_counts, unresolved_failures
from ordersync.engine.filters import canonical_customer, canonical_customers
from ordersync.engine.plan import build_outcome
from ordersync.engine.report import column_titles, conflict_entry, finished_at
from ordersync.engine.rollover import board_rollover
from ordersync.engine.summary import RunSummary
from ordersync.state import IntentStatus, RunKind, RunStatus, StateStore
from ordersync.state.conflicts import Conflicts
from ordersync.state.lock import lock_holder

OPEN_INTENTS_LISTED = 20


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(sep=" ", timespec="seconds") if value else None


def run_summary(run: dict[str, Any]) -> dict[str, Any]:
    """One run as `status` and the dashboard list it: what it was, how it ended, its headline counts."""
    summary = RunSummary.from_stored(run.get("summary"))
    totals = summary.totals.model_dump(mode="json", exclude_unset=True) if summary else {}
    filters = {key: value for key, value in json.loads(run.get("filters") or "{}").items() if value}
    if "item_keys" in filters:
        filters["item_keys"] = len(filters["item_keys"])  # a retry's keys: their count, not the list
    entry = {
        "run_id": run["run_id"], "kind": run["kind"], "status": run["status"], "board_id": run["board_id"],
        "started_at": _iso(run["started_at"]), "finished_at": _iso(finished_at(run)),
        "filters": filters,
        "items": totals.get("items"), "subitems": totals.get("subitems"),
        "warnings": totals.get("warnings", 0),  # values cut to fit their column: not failures
        "message": run.get("message"),
    }
    if run["status"] == RunStatus.RUNNING.value:
        entry["progress"] = json.loads(run["progress"]) if run.get("progress") else None
        entry["heartbeat_at"] = _iso(run.get("heartbeat_at"))
    return entry


def open_store(config: Config) -> StateStore:
    store = StateStore.from_url(state_url(config), config.state.table_prefix, timeouts=config.state.timeouts())
    store.ensure_schema()
    return store


def recent_runs(store: StateStore, board_id: str | None, *, limit: int = 10,
                kinds: Iterable[RunKind] | None = None) -> list[dict[str, Any]]:
    runs = store.tables.runs
    query = sa.select(runs).order_by(runs.c.run_id.desc()).limit(limit)
    if board_id:
        query = query.where(runs.c.board_id == board_id)
    if kinds:
        query = query.where(runs.c.kind.in_([kind.value for kind in kinds]))
    with store.engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def customer_state(store: StateStore, board_id: str | None, last_run: int | None) -> dict[str, dict[str, Any]]:
    """Per customer: items and subitems on the board (the mirror), and what the last sync left pending or failed."""
    tables = store.tables
    synced, synced_subitems = tables.synced_items, tables.synced_subitems
    customers: dict[str, dict[str, Any]] = {}

    def entry(name: str | None) -> dict[str, Any]:
        return customers.setdefault(name or "(no customer)", {"synced_items": 0, "synced_subitems": 0,
                                                              "pending": 0, "failed": 0})

    with store.engine.connect() as connection:
        board = synced.c.board_id == board_id if board_id else sa.true()
        for name, count in connection.execute(
                sa.select(synced.c.customer, sa.func.count()).where(board).group_by(synced.c.customer)):
            entry(name)["synced_items"] = count
        for name, count in connection.execute(
                sa.select(synced.c.customer, sa.func.count())
                .select_from(synced_subitems.join(synced, sa.and_(synced.c.board_id == synced_subitems.c.board_id,
                                                                  synced.c.item_key == synced_subitems.c.item_key)))
                .where(board).group_by(synced.c.customer)):
            entry(name)["synced_subitems"] = count
    if last_run is not None:
        for name, plan in build_outcome(store, last_run).customers.items():
            for counts in (plan.items, plan.subitems):
                entry(name)["pending"] += counts.get("pending", 0)
                entry(name)["failed"] += counts.get("failed", 0)
    return dict(sorted(customers.items()))


def open_intents(store: StateStore, board_id: str | None) -> dict[str, Any]:
    intents = store.tables.write_intents
    where = [intents.c.status == IntentStatus.OPEN.value]
    if board_id:
        where.append(intents.c.board_id == board_id)
    with store.engine.connect() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(intents).where(*where)).scalar_one()
        oldest = connection.execute(
            sa.select(intents.c.intent_id, intents.c.run_id, intents.c.operation, intents.c.item_key,
                      intents.c.size, intents.c.group_name, intents.c.created_at)
            .where(*where).order_by(intents.c.intent_id).limit(OPEN_INTENTS_LISTED)).mappings().all()
    return {"count": int(count),
            "oldest": [{**dict(row), "created_at": _iso(row["created_at"])} for row in oldest]}


def board_conflicts(store: StateStore, board_id: str, titles: Mapping[str, str], *,
                    listed: int = 10) -> dict[str, Any]:
    """The board's conflicts: counts per policy and the latest few, each as the reports list it
    (`engine.report.conflict_entry`: the line and size, the column's name, both values, who, when)."""
    conflicts = Conflicts(store.tables, board_id)
    with store.engine.connect() as connection:
        latest = conflicts.listing(connection, limit=listed)
        counts = conflicts.counts(connection)
    return {**counts, "latest": [conflict_entry(row, titles) for row in latest]}


def status(config: Config, *, runs: int = 10, customers: Iterable[str] = ()) -> dict[str, Any]:
    """`ordersync status` from Python: the same data `ordersync status --json` prints."""
    store = open_store(config)
    try:
        board_id = config.monday.board_id
        listed = recent_runs(store, board_id, limit=runs)
        last_sync = recent_runs(store, board_id, limit=1, kinds=(RunKind.SYNC, RunKind.RETRY))
        last_run = last_sync[0]["run_id"] if last_sync else None
        per_customer = customer_state(store, board_id, last_run)
        wanted = {canonical_customer(name, canonical_customers(config.customers)) for name in customers}
        failures = unresolved_failures(store, board_id, config.customers) if board_id else []
        if wanted:
            per_customer = {name: counts for name, counts in per_customer.items() if name in wanted}
            failures = [failure for failure in failures if failure.customer in wanted]
        # failed: the order lines and sizes no later run put right, from any run — a refused or narrower sync since
        # (a mistyped filter) hides none of them
        for counts in per_customer.values():
            counts["failed"] = 0
        for name, counts in failure_counts(failures)["customers"].items():
            per_customer.setdefault(name or "(no customer)", {"synced_items": 0, "synced_subitems": 0, "pending": 0,
                                                              "failed": 0})["failed"] = counts["order_lines"] + counts["sizes"]
        holder = lock_holder(store, board_id) if board_id else None
        result = {
            "board_id": board_id, "profile": config.profile, "production": config.monday.production,
            "state_database": display_url(state_url(config)),
            "lock": None if holder is None else {**holder, "acquired_at": _iso(holder["acquired_at"]),
                                                 "heartbeat_at": _iso(holder["heartbeat_at"])},
            # items used against the cap, from the synced mirror (no API call); a warning from 90% full
            "capacity": board_capacity(store, board_id, config.monday.items_per_board) if board_id else None,
            # a template route's board: its template, name and number, and the route's boards (engine/rollover.py)
            "rollover": board_rollover(store, config, board_id),
            "running": [run_summary(run) for run in listed if run["status"] == RunStatus.RUNNING.value],
            "last_sync": run_summary(last_sync[0]) if last_sync else None,
            "runs": [run_summary(run) for run in listed],
            "customers": per_customer,
            "totals": {key: sum(counts[key] for counts in per_customer.values())
                       for key in ("synced_items", "synced_subitems", "pending", "failed")},
            "unresolved_failures": failure_counts(failures),  # across runs: what `retry` sends again
            "open_write_intents": open_intents(store, board_id),
            # people's edits of source-owned columns (two-way), settled by each column's on_edit
            "conflicts": board_conflicts(store, board_id, column_titles(config)) if board_id else None,
        }
    finally:
        store.engine.dispose()
    return result
