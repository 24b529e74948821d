"""A board's capacity and how its syncs stand, per routed board: items used against its cap
(`[monday] items_per_board`, Monday's 10,000 by default), groups, the last sync and what it left
pending or failed — with a warning from 90% full. `status`, the run reports and the dashboard show it.

The count comes from the synced mirror (`<prefix>synced_items`: the items ordersync put on the board
and still holds there), read from the state tables: cheap, no API call. Items a person added by hand
are not in it; `ordersync validate` reads the board's own `items_count` from the API and warns too.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ordersync.engine.plan import build_outcome
from ordersync.engine.summary import RunSummary
from ordersync.state import RunKind, StateStore

WARN_AT = 0.9  # share of the cap from which a board is reported nearly full
COUNTED_FROM_MIRROR = "mirror"  # the synced mirror in the state tables (no API call)
COUNTED_FROM_API = "api"  # the board's items_count, read from Monday (validate)


def capacity_warning(board_id: str, items: int, items_per_board: int) -> str | None:
    """The 90% warning, or None below it."""
    if items < WARN_AT * items_per_board:
        return None
    return (f"board {board_id} is {items / items_per_board:.0%} full: {items} of {items_per_board} items "
            f"(warned from {WARN_AT:.0%}); Monday refuses creates beyond {items_per_board} — route some lines to "
            "another board ([[routes]]) or archive finished seasons")


def capacity(board_id: str, items: int, items_per_board: int, *, counted_from: str = COUNTED_FROM_MIRROR,
             groups: int | None = None) -> dict[str, Any]:
    """Items used against the cap as plain data: `items`, `items_per_board`, `used` (a share), `groups`,
    `counted_from` (`mirror` or `api`) and `warning` (None below 90%)."""
    entry: dict[str, Any] = {"board_id": board_id, "items": items, "items_per_board": items_per_board,
                             "used": round(items / items_per_board, 4), "counted_from": counted_from}
    if groups is not None:
        entry["groups"] = groups
    entry["warning"] = capacity_warning(board_id, items, items_per_board)
    return entry


def board_capacity(store: StateStore, board_id: str, items_per_board: int) -> dict[str, Any]:
    """One board's items (the synced mirror) and groups (the groups ordersync knows on it) against its cap."""
    tables = store.tables
    with store.engine.connect() as connection:
        items = connection.execute(sa.select(sa.func.count()).select_from(tables.synced_items)
                                   .where(tables.synced_items.c.board_id == board_id)).scalar_one()
        groups = connection.execute(sa.select(sa.func.count()).select_from(tables.groups)
                                    .where(tables.groups.c.board_id == board_id)).scalar_one()
    return capacity(board_id, int(items), items_per_board, groups=int(groups))


def board_overview(store: StateStore, board_id: str, items_per_board: int) -> dict[str, Any]:
    """`board_capacity` and the board's last sync or retry: `last_run` (id, kind, status, times) and the
    rows it left `pending` and `failed` (items and subitems)."""
    entry = board_capacity(store, board_id, items_per_board)
    runs = store.tables.runs
    with store.engine.connect() as connection:
        last = connection.execute(
            sa.select(runs).where(runs.c.board_id == board_id,
                                  runs.c.kind.in_([RunKind.SYNC.value, RunKind.RETRY.value]))
            .order_by(runs.c.run_id.desc()).limit(1)).mappings().first()
    entry.update(last_run=None, pending=0, failed=0)
    if last is None:
        return entry
    entry["last_run"] = {"run_id": last["run_id"], "kind": last["kind"], "status": last["status"],
                         "started_at": _iso(last["started_at"]), "finished_at": _iso(last["finished_at"])}
    summary = RunSummary.from_stored(last["summary"])
    totals = (summary.totals.model_dump(mode="json") if summary
              else build_outcome(store, last["run_id"]).as_dict()["totals"])  # running, or stopped early
    for kind in ("items", "subitems"):
        counts = totals.get(kind) or {}
        entry["pending"] += counts.get("pending", 0)
        entry["failed"] += counts.get("failed", 0)
    return entry


def _iso(value: Any) -> str | None:
    return value.isoformat(sep=" ", timespec="seconds") if value else None
