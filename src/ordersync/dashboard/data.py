"""What the dashboard shows, read from the state tables only: the runs, the run in progress, the
per-customer outcome and errors of the run in focus, the trend of items synced and failures, and per
routed board its items against its cap (the synced mirror), groups, last sync, pending and failed, and its
conflicts (people's edits of source-owned columns: per policy, the latest few).

A run still RUNNING carries `progress` (done / total) instead of `success`: its rows not yet written
are not failures, and a rate counting them as such read as a red verdict on a healthy run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ordersync.engine.capacity import board_overview
from ordersync.engine.plan import build_outcome
from ordersync.engine.report import ITEMS_PER_BOARD, WRITE_KEYS, conflict_entry, run_report, success
from ordersync.engine.summary import RunSummary
from ordersync.errors import UsageError
from ordersync.ops.status import recent_runs, run_summary
from ordersync.state import RunKind, RunStatus, StateStore
from ordersync.state.conflicts import Conflicts

RUNS_LISTED = 25
TREND_RUNS = 30
ERRORS_SHOWN = 100
CONFLICTS_SHOWN = 5  # per board; `ordersync status` and the run reports list more
MIN_BAR_SHARE = 0.02  # the shortest bar a positive number gets (the stylesheet adds a pixel floor)
SYNC_KINDS = (RunKind.SYNC, RunKind.RETRY)


def _writes(totals: Mapping[str, Any] | None) -> tuple[int, int]:
    """(writes confirmed, rows failed) from a run's totals, items and subitems together."""
    if not totals:
        return 0, 0
    done = sum((totals.get(kind) or {}).get(key, 0) for kind in ("items", "subitems") for key in WRITE_KEYS)
    failed = sum((totals.get(kind) or {}).get("failed", 0) for kind in ("items", "subitems"))
    return done, failed


def progress(counts: Mapping[str, Any], recorded: Mapping[str, Any] | None = None) -> dict[str, int]:
    """How far a run in progress is: `done` of `total` rows to write. What the run recorded (the
    applier's count, the same the page's progress bar shows) when it has one; else counted from its
    rows so far — written or failed, of those and the ones still pending (items and subitems)."""
    if recorded and recorded.get("total"):
        return {"done": int(recorded.get("done") or 0), "total": int(recorded["total"])}
    done, failed = _writes(counts)
    pending = sum((counts.get(kind) or {}).get("pending", 0) for kind in ("items", "subitems"))
    return {"done": done + failed, "total": done + failed + pending}


def _live_totals(store: StateStore, run_id: int) -> dict[str, Any]:
    return build_outcome(store, run_id).as_dict()["totals"]


def _listed(store: StateStore, run: dict[str, Any]) -> dict[str, Any]:
    entry = run_summary(run)
    if entry["items"] is None and run["kind"] != RunKind.PLAN.value:  # running, or stopped before its summary
        totals = _live_totals(store, run["run_id"])
        entry["items"], entry["subitems"] = totals["items"], totals["subitems"]
    if entry["items"] is None or run["kind"] == RunKind.PLAN.value:
        return entry
    counts = {"items": entry["items"], "subitems": entry["subitems"] or {}}
    if run["status"] == RunStatus.RUNNING.value:
        entry["progress"] = progress(counts, entry.get("progress"))
    else:
        entry["success"] = success(counts)
    return entry


def _in_progress(report: dict[str, Any], recorded: Mapping[str, Any] | None) -> None:
    """A running run's report: progress for the run and each customer in place of a success rate."""
    report["progress"] = progress(report["totals"], recorded)
    report.pop("success", None)
    for entry in report["customers"].values():
        entry["progress"] = progress(entry)
        entry.pop("success", None)


def trend(store: StateStore, board_id: str | None, runs: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Items synced (confirmed writes) and failures per sync run, oldest first, scaled for the chart."""
    runs = runs if runs is not None else recent_runs(store, board_id, limit=TREND_RUNS, kinds=SYNC_KINDS)
    points = []
    for run in reversed(runs):
        summary = RunSummary.from_stored(run.get("summary"))
        totals = summary.totals.model_dump(mode="json") if summary else _live_totals(store, run["run_id"])
        done, failed = _writes(totals)
        points.append({"run_id": run["run_id"], "board_id": run["board_id"], "status": run["status"],
                       "started_at": run["started_at"], "synced": done, "failed": failed})
    return scaled(points)


def bar_share(value: int, top: int) -> float:
    """A bar's length as a share of the longest bar's, on a log scale: a run of 3 writes stays visible
    beside one of 7,000 (a linear scale drew it 0 pixels long); 0 draws nothing, any other number at
    least MIN_BAR_SHARE. The exact number is printed beside each bar."""
    if value <= 0 or top <= 0:
        return 0.0
    return round(max(MIN_BAR_SHARE, math.log1p(value) / math.log1p(top)), 4)


def scaled(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trend's points with `synced_share` and `failed_share` (bar_share), both on one scale."""
    top = max([0, *(max(point["synced"], point["failed"]) for point in points)])
    return [{**point, "synced_share": bar_share(point["synced"], top), "failed_share": bar_share(point["failed"], top)}
            for point in points]


def tables_exist(store: StateStore) -> bool:
    return sa.inspect(store.engine).has_table(store.tables.runs.name)


def board_conflicts(store: StateStore, board_id: str, titles: Mapping[str, str]) -> dict[str, Any]:
    """A board's conflicts: `count`, `restore`, `keep` and the `latest` few, newest first (none on a state
    database older than the table: the dashboard only reads, it upgrades nothing)."""
    conflicts = Conflicts(store.tables, board_id)
    with store.engine.connect() as connection:
        if not sa.inspect(connection).has_table(conflicts.table.name):
            return {"count": 0, "restore": 0, "keep": 0, "latest": []}
        counts = conflicts.counts(connection)
        latest = conflicts.listing(connection, limit=CONFLICTS_SHOWN) if counts["count"] else []
    return {**counts, "latest": [conflict_entry(row, titles) for row in latest]}


def dashboard_state(store: StateStore, board_id: str | None, *, focus: int | None = None,
                    boards: Sequence[str] = (), items_per_board: int = ITEMS_PER_BOARD,
                    titles: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Everything on the page. `focus`: the run whose customers and errors are shown (default: the
    run in progress, else the last sync). `boards`: the routed boards (`engine.routes.boards_of`), each
    shown with its items against `items_per_board` (a warning from 90% full) and its `conflicts`; with
    routes `board_id` is None and the runs are every board's. `titles`: column id → config name
    (`engine.report.column_titles`), naming the conflicts' columns."""
    if not tables_exist(store):
        return {"board_id": board_id, "boards": [], "current": None, "runs": [], "focus": None, "trend": []}
    titles = titles or {}
    overview = [{**board_overview(store, each, items_per_board), "conflicts": board_conflicts(store, each, titles)}
                for each in boards]
    runs = recent_runs(store, board_id, limit=RUNS_LISTED)
    running = next((run for run in runs if run["status"] == RunStatus.RUNNING.value), None)
    current = None
    if running is not None:
        current = run_summary(running)
        current["progress"] = current.get("progress") or {"total": 0, "done": 0, "customer": None, "phase": "planning"}
    focus_id = focus
    if focus_id is None:
        candidates = [run for run in runs if run["kind"] != RunKind.PLAN.value]
        focus_id = running["run_id"] if running else (candidates[0]["run_id"] if candidates else None)
    focus_report = None
    if focus_id is not None:
        try:
            focus_report = run_report(store, focus_id, items_per_board=items_per_board, titles=titles)
        except UsageError:  # no such run: the page says so
            return {"board_id": board_id, "boards": overview, "current": current,
                    "runs": [_listed(store, run) for run in runs], "focus": None, "trend": []}
        errors = [error for entry in focus_report["customers"].values() for error in entry["errors"]]
        focus_report["error_list"] = errors[:ERRORS_SHOWN]
        if focus_report["status"] == RunStatus.RUNNING.value:
            recorded = current["progress"] if current and current["run_id"] == focus_id else None
            _in_progress(focus_report, recorded)
    sync_runs = [run for run in runs if run["kind"] in {kind.value for kind in SYNC_KINDS}][:TREND_RUNS]
    return {
        "board_id": board_id,
        "boards": overview,
        "current": current,
        "runs": [_listed(store, run) for run in runs],
        "focus": focus_report,
        "trend": trend(store, board_id, sync_runs),
    }
