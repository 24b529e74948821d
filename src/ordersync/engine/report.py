"""Report, the run's last stage: what it did, per run and per customer, as Markdown for people and
JSON for machines. `ordersync report` (ops/report.py) prints a past run's report from here.

Built from the state tables only (the run row, its staged rows, the errors and the groups it
created), so `ordersync report RUN_ID` prints any past run exactly as the sync wrote it. Every
sync writes `reports/run-<id>/summary.{md,json}` and `reports/run-<id>/customers/<slug>.{md,json}`.

Success rate = ok / (ok + failed), counting items and subitems: ok are the writes Monday
confirmed (created, updated, archived), failed the rows that did not reach the board (refused,
failed, or left pending by an aborted customer). Unchanged rows were never at risk and are not
counted. A run with nothing to do is 100%. At least 95% is ok, 80–95% needs attention, below
80% is critical. Warnings (a value cut to fit its column: the line is on the board) are listed
apart from the errors and never count against the rate.

Conflicts (two-way: a person's edit of a source-owned column, `state/conflicts.py`) are the board's, not
the run's: the report counts the board's per policy and lists those recorded while the run ran.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ordersync.config import Config, MondayConfig, normalise_name
from ordersync.engine.capacity import board_capacity
from ordersync.engine.plan import COUNT_KEYS, build_outcome
from ordersync.engine.summary import RunSummary
from ordersync.errors import WARNING_CATEGORIES, UsageError
from ordersync.state import RunKind, RunStatus, StateStore
from ordersync.state.conflicts import Conflicts

log = logging.getLogger(__name__)

OK_THRESHOLD = 0.95
ATTENTION_THRESHOLD = 0.80
WRITE_KEYS = ("create", "update", "archive")
MARKDOWN_ERROR_LIMIT = 200  # the JSON holds every error; the Markdown stays readable
MARKDOWN_CONFLICT_LIMIT = 200  # likewise every conflict the run saw
ITEMS_PER_BOARD = MondayConfig.model_fields["items_per_board"].default  # Monday's cap, 10,000


def verdict(rate: float) -> str:
    """`ok` at 95% and above, `needs attention` from 80%, `critical` below."""
    if rate >= OK_THRESHOLD:
        return "ok"
    if rate >= ATTENTION_THRESHOLD:
        return "needs attention"
    return "critical"


def success(counts: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """Success rate of one run or customer from its items and subitems counts."""
    ok = sum(counts[kind].get(key, 0) for kind in ("items", "subitems") for key in WRITE_KEYS)
    failed = sum(counts[kind].get("failed", 0) + counts[kind].get("pending", 0) for kind in ("items", "subitems"))
    rate = ok / (ok + failed) if ok + failed else 1.0
    return {"ok": ok, "failed": failed, "rate": round(rate, 4), "verdict": verdict(rate)}


def slug(name: str) -> str:
    """A customer name as a file name: `TITLE NINE` → `title-nine`."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "customer"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(sep=" ", timespec="seconds") if value else None


def _counts(value: Mapping[str, Any] | None) -> dict[str, int]:
    counts = {key: 0 for key in COUNT_KEYS}
    for key, count in (value or {}).items():
        if isinstance(count, int):
            counts[key] = count
    return counts


def finished_at(run: Mapping[str, Any]) -> datetime | None:
    """When a run ended: its stamp, else (ITEMS_COMPLETED) its last heartbeat; None while it runs."""
    if run["status"] == RunStatus.RUNNING.value:
        return None
    return run["finished_at"] or run["heartbeat_at"]


def _redact(value: Any, secrets: Iterable[str]) -> Any:
    """A last guard: no secret value survives into a report, whatever a message carried."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    hidden = False
    for secret in secrets:
        if secret and secret in text:
            text, hidden = text.replace(secret, "***"), True
    return json.loads(text) if hidden else value


def column_titles(config: Config) -> dict[str, str]:
    """Board column id → the name people know it by in the config: the source column it is written from
    (a conflict is always on a source-owned column, which names its source), the item's name and a
    size's quantity."""
    return {"name": "item name", config.subitems.quantity_column: "size quantity",
            **{column.id: column.source for column in config.columns if column.source}}


def value_text(value: Any) -> str:
    """What the sync wrote to a cell (the mirror's value: a column value as sent) as a person reads it:
    `{"date": "2026-02-10"}` → `2026-02-10`, `{"label": "Shipped"}` → `Shipped`."""
    if value is None:
        return ""
    if isinstance(value, dict):
        for key in ("label", "date", "text", "index"):
            if value.get(key) not in (None, ""):
                return str(value[key])
        if isinstance(value.get("labels"), list):
            return ", ".join(str(label) for label in value["labels"])
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def conflict_entry(row: Mapping[str, Any], titles: Mapping[str, str]) -> dict[str, Any]:
    """One conflict as the reports, `status` and the dashboard list it: the line, the column (its config
    name), the person's value and the source's (what the sync wrote there), the policy, who and when —
    `changed_at` from the activity log, None while only a sync's adopt has met the value (`recorded_at`)."""
    source_value = json.loads(row["source_value"]) if row["source_value"] else None
    return {"item_key": row["item_key"], "size": row.get("size"), "item_id": row["item_id"],
            "column_id": row["column_id"], "column": titles.get(row["column_id"], row["column_id"]),
            "policy": row["policy"],
            "board_text": row["board_text"], "source_value": source_value, "source_text": value_text(source_value),
            "user_id": row["user_id"], "changed_at": _iso(row["changed_at"]), "recorded_at": _iso(row["recorded_at"])}


def run_conflicts(store: StateStore, run: Mapping[str, Any], titles: Mapping[str, str]) -> dict[str, Any] | None:
    """The run's board's conflicts per policy (`count`, `restore`, `keep`: all it has had) and `during_run`,
    those recorded from the run's start to its end (engine/adopt.py meeting people's edits, or a pull or
    webhook at the same time). None without a board, or on a state database older than the table."""
    if not run["board_id"] or run["started_at"] is None:
        return None
    conflicts = Conflicts(store.tables, run["board_id"])
    with store.engine.connect() as connection:
        if not sa.inspect(connection).has_table(conflicts.table.name):
            return None
        counts = conflicts.counts(connection)
        during = conflicts.recorded_between(connection, run["started_at"], finished_at(run)) if counts["count"] else []
    return {**counts, "during_run": [conflict_entry(row, titles) for row in during]}


def run_report(store: StateStore, run_id: int, *, secrets: Iterable[str] = (),
               items_per_board: int = ITEMS_PER_BOARD, titles: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The report of one run as plain data: the JSON that is written and printed. `capacity`: the
    run's board against its cap when the report is made (engine/capacity.py: the synced mirror).
    `titles`: column id → config name (`column_titles`), naming the columns of its conflicts."""
    tables = store.tables
    run = store.run(run_id)
    if run is None:
        raise UsageError(f"there is no run {run_id}", hint="`ordersync status` lists the last runs")
    summary = RunSummary.from_stored(run["summary"])
    api = summary.api.model_dump(mode="json", exclude_unset=True) if summary and summary.api else {}
    if summary is None or run["kind"] == RunKind.PLAN.value or summary.api is None:
        # still running, or stopped by an error before its summary: count from the staged rows
        customers_counts = build_outcome(store, run_id).as_dict()["customers"]
    else:
        customers_counts = {name: customer.model_dump(mode="json", exclude_unset=True)
                            for name, customer in summary.customers.items()}
    with store.engine.connect() as connection:
        groups = connection.execute(
            sa.select(tables.groups.c.customer, tables.groups.c.group_name, tables.groups.c.group_id)
            .where(tables.groups.c.created_by_run == run_id).order_by(tables.groups.c.group_name)).all()
        errors = [dict(row) for row in connection.execute(
            sa.select(tables.errors.c.customer, tables.errors.c.item_key, tables.errors.c.size,
                      tables.errors.c.source_row, tables.errors.c.stage, tables.errors.c.category,
                      tables.errors.c.field, tables.errors.c.message, tables.errors.c.attempts,
                      tables.errors.c.payload)
            .where(tables.errors.c.run_id == run_id).order_by(tables.errors.c.error_id)).mappings()]
    for error in errors:
        error["order_line"] = _identifying_fields(error.pop("payload"), error)
    groups_by_customer: dict[str, list[dict[str, str]]] = {}
    for customer, name, group_id in groups:
        groups_by_customer.setdefault(customer or "(no customer)", []).append({"name": name, "id": group_id})
    errors_by_customer: dict[str, list[dict[str, Any]]] = {}
    warnings_by_customer: dict[str, list[dict[str, Any]]] = {}
    for error in errors:
        listed = warnings_by_customer if error["category"] in WARNING_CATEGORIES else errors_by_customer
        listed.setdefault(error["customer"] or "(no customer)", []).append(error)

    customers: dict[str, Any] = {}
    for name in sorted(set(customers_counts) | set(groups_by_customer) | set(errors_by_customer)
                       | set(warnings_by_customer)):
        counts = customers_counts.get(name, {})
        entry: dict[str, Any] = {"items": _counts(counts.get("items")), "subitems": _counts(counts.get("subitems")),
                 "groups_created": groups_by_customer.get(name, []), "errors": errors_by_customer.get(name, []),
                 "warnings": warnings_by_customer.get(name, [])}
        entry["success"] = success(entry)
        if counts.get("aborted"):
            entry["aborted"] = counts["aborted"]
        customers[name] = entry
    totals: dict[str, Any] = {}
    for kind in ("items", "subitems"):
        keys = list(dict.fromkeys([*COUNT_KEYS, *(key for entry in customers.values() for key in entry[kind])]))
        totals[kind] = {key: sum(entry[kind].get(key, 0) for entry in customers.values()) for key in keys}
    totals["groups_created"] = sum(len(entry["groups_created"]) for entry in customers.values())
    started, finished = run["started_at"], finished_at(run)
    report = {
        "run_id": run_id, "kind": run["kind"], "status": run["status"], "board_id": run["board_id"],
        "filters": {key: value for key, value in json.loads(run["filters"] or "{}").items() if value},
        "started_at": _iso(started), "finished_at": _iso(finished),
        "duration_seconds": round((finished - started).total_seconds(), 1) if started and finished else None,
        "message": run["message"],
        "totals": totals, "success": success(totals),
        "thresholds": {"ok": OK_THRESHOLD, "needs_attention": ATTENTION_THRESHOLD},
        "customers": customers, "errors": sum(len(listed) for listed in errors_by_customer.values()),
        "warnings": sum(len(listed) for listed in warnings_by_customer.values()), "api": api,
        "capacity": board_capacity(store, run["board_id"], items_per_board) if run["board_id"] else None,
        "conflicts": run_conflicts(store, run, titles or {}),
    }
    return _redact(report, secrets)


def customer_report(report: Mapping[str, Any], customer: str) -> dict[str, Any]:
    """One customer's slice of a run report, with the run it belongs to."""
    by_name = {normalise_name(name): name for name in report["customers"]}
    customer = by_name.get(normalise_name(customer), customer)
    if customer not in report["customers"]:
        known = ", ".join(report["customers"]) or "none"
        raise UsageError(f"run {report['run_id']} did nothing for customer {customer!r} (customers: {known})")
    return {key: report[key] for key in ("run_id", "kind", "status", "board_id", "started_at", "finished_at")} | {
        "customer": customer, **report["customers"][customer], "thresholds": report["thresholds"]}


# -- Markdown -------------------------------------------------------------------------------------

def _cell(value: Any) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _counts_table(rows: Iterable[tuple[str, Mapping[str, Any]]]) -> list[str]:
    lines = ["| | created | updated | archived | unchanged | failed | success |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for label, entry in rows:
        for kind in ("items", "subitems"):
            counts = entry[kind]
            failed = counts["failed"] + counts.get("pending", 0)
            rate = success({"items": counts, "subitems": {}}) if kind == "items" else \
                success({"items": {}, "subitems": counts})
            lines.append(f"| {_cell(label)} {kind} | {counts['create']} | {counts['update']} | {counts['archive']} | "
                         f"{counts['unchanged']} | {failed} | {_percent(rate['rate'])} |")
    return lines


def _identifying_fields(payload: str | None, error: Mapping[str, Any]) -> dict[str, str] | None:
    """A line without a business key is found in SQL by its other columns (PO, style, colour…), which the
    transform recorded with its error: those, without empty values and the customer named beside them."""
    if error["item_key"] or not payload:
        return None
    try:
        fields = json.loads(payload)
    except json.JSONDecodeError:
        return None
    if not isinstance(fields, dict):
        return None
    return {str(name): str(value) for name, value in fields.items()
            if value not in (None, "") and value != error["customer"]} or None


def line_words(fields: Mapping[str, str] | None) -> str:
    """`PO NUMBER 4755 · CUSTOMER STYLE BBWD145 · CUSTOMER COLOUR DESCRIPTION NAVY`."""
    return " · ".join(f"{name} {value}" for name, value in (fields or {}).items())


def _errors_section(errors: list[Mapping[str, Any]]) -> list[str]:
    if not errors:
        return ["No errors."]
    lines = ["| customer | order line | size | stage | category | reason | attempts |",
             "|---|---|---|---|---|---|---:|"]
    for error in errors[:MARKDOWN_ERROR_LIMIT]:
        where = error["item_key"] or line_words(error.get("order_line")) or \
            (f"source row {error['source_row']}" if error["source_row"] else "")
        reason = f"{error['field']}: {error['message']}" if error["field"] else error["message"]
        lines.append(f"| {_cell(error['customer'])} | {_cell(where)} | {_cell(error['size'])} | {error['stage']} | "
                     f"{error['category']} | {_cell(reason)} | {error['attempts']} |")
    if len(errors) > MARKDOWN_ERROR_LIMIT:
        lines.append(f"\n…and {len(errors) - MARKDOWN_ERROR_LIMIT} more in the JSON report.")
    return lines


def _warnings_section(warnings: list[Mapping[str, Any]]) -> list[str]:
    """Values cut to fit their column: the lines are on the board, the report says what was cut."""
    if not warnings:
        return []
    return ["", f"## Warnings ({len(warnings)})", "",
            "Values cut to fit their Monday column (`on_too_long`); these order lines are on the board.", ""
            ] + _errors_section(warnings)


def _conflicts_section(conflicts: Mapping[str, Any] | None, board_id: str) -> list[str]:
    """The board's conflicts per policy and the ones recorded while the run ran: a person's value in a
    source-owned column, and what the column's `on_edit` does with it."""
    if not conflicts:
        return []
    during = conflicts["during_run"]
    if not conflicts["count"]:
        return ["", "## Conflicts (0 during this run)", "", f"No one has edited a source-owned column on board {board_id}."]
    lines = ["", f"## Conflicts ({len(during)} during this run)", "",
             f"People's edits of source-owned columns on board {board_id}: {conflicts['count']} in all "
             f"({conflicts['restore']} restore: the sync writes the source value back; {conflicts['keep']} keep: "
             "the sync leaves the person's value until the source changes).", ""]
    if not during:
        return [*lines, "None recorded during this run."]
    lines += ["| order line | column | person's value | source's value | on_edit | who | when |",
              "|---|---|---|---|---|---|---|"]
    for conflict in during[:MARKDOWN_CONFLICT_LIMIT]:
        when = conflict["changed_at"] or f"met {conflict['recorded_at']}"
        line = conflict["item_key"] + (f" size {conflict['size']}" if conflict.get("size") else "")
        lines.append(f"| {_cell(line)} | {_cell(conflict['column'])} | {_cell(conflict['board_text'])} | "
                     f"{_cell(conflict['source_text'])} | {conflict['policy']} | {_cell(conflict['user_id'] or '—')} | "
                     f"{when} |")
    if len(during) > MARKDOWN_CONFLICT_LIMIT:
        lines.append(f"\n…and {len(during) - MARKDOWN_CONFLICT_LIMIT} more in the JSON report.")
    return lines


def _failed_words(counts: Mapping[str, Any]) -> str:
    """`7 order lines and 12 sizes failed or not sent`, as a planner counts them: items and subitems apart."""
    lines, sizes = ((counts.get(kind) or {}).get("failed", 0) + (counts.get(kind) or {}).get("pending", 0)
                    for kind in ("items", "subitems"))
    return (f"{lines} order line{'' if lines == 1 else 's'} and {sizes} size{'' if sizes == 1 else 's'} "
            "failed or not sent")


def _verdict_line(result: Mapping[str, Any], counts: Mapping[str, Any]) -> str:
    """The verdict, with what failed in `counts` (the run's totals, or one customer's items and subitems)."""
    return (f"**Success rate {_percent(result['rate'])}: {result['verdict']}** "
            f"({result['ok']} writes confirmed, {_failed_words(counts)}; "
            f"≥95% ok, 80–95% needs attention, <80% critical)")


def _capacity_lines(capacity: Mapping[str, Any] | None) -> list[str]:
    if not capacity:
        return []
    lines = [f"- capacity: {capacity['items']} of {capacity['items_per_board']} items ({_percent(capacity['used'])}), "
             f"{capacity.get('groups', 0)} groups (now, from the synced mirror)"]
    if capacity.get("warning"):
        lines.append(f"- **warning: {capacity['warning']}**")
    return lines


def render_markdown(report: Mapping[str, Any]) -> str:
    """The run report as Markdown: header, verdict, counts per customer, groups created, errors."""
    lines = [f"# ordersync {report['kind']} run {report['run_id']}: {report['status']}", ""]
    lines.append(f"- board: {report['board_id']}")
    lines += _capacity_lines(report.get("capacity"))
    lines.append(f"- started: {report['started_at']} UTC, finished: {report['finished_at'] or '—'}"
                 + (f" ({report['duration_seconds']} s)" if report["duration_seconds"] is not None else ""))
    if report["filters"]:
        lines.append("- filters: " + "; ".join(f"{key} = {value}" for key, value in report["filters"].items()))
    if report["message"]:
        lines.append(f"- message: {report['message']}")
    api = report.get("api") or {}
    if api:
        lines.append(f"- API: {api.get('mutations', 0)} mutations in {api.get('mutation_requests', 0)} requests, "
                     f"{api.get('retries', 0)} retries, {api.get('rate_limited', 0)} rate-limited answers")
    lines += ["", _verdict_line(report["success"], report["totals"]), "", "## Per customer", ""]
    customer_lines = ["| customer | success | created | updated | archived | unchanged | failed | groups created |",
                      "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, entry in report["customers"].items():
        both = {key: entry["items"].get(key, 0) + entry["subitems"].get(key, 0) for key in COUNT_KEYS}
        failed = both["failed"] + entry["items"].get("pending", 0) + entry["subitems"].get("pending", 0)
        customer_lines.append(
            f"| {_cell(name)} | {_percent(entry['success']['rate'])} {entry['success']['verdict']} | "
            f"{both['create']} | {both['update']} | {both['archive']} | {both['unchanged']} | {failed} | "
            f"{len(entry['groups_created'])} |")
    lines += customer_lines if report["customers"] else ["Nothing to do."]
    lines += ["", "Counts are items plus subitems (sizes).", "", "## Totals", ""]
    lines += _counts_table([("all", report["totals"])])
    groups = [(name, group) for name, entry in report["customers"].items() for group in entry["groups_created"]]
    lines += ["", f"## Groups created ({len(groups)})", ""]
    lines += [f"- {group['name']} (`{group['id']}`) for {name}" for name, group in groups] or ["None."]
    errors = [error for entry in report["customers"].values() for error in entry["errors"]]
    lines += ["", f"## Errors ({len(errors)})", ""] + _errors_section(errors)
    lines += _warnings_section([warning for entry in report["customers"].values()
                                for warning in entry.get("warnings", [])])
    lines += _conflicts_section(report.get("conflicts"), report["board_id"])
    return "\n".join(lines) + "\n"


def render_customer_markdown(report: Mapping[str, Any]) -> str:
    lines = [f"# {report['customer']}: ordersync {report['kind']} run {report['run_id']} ({report['status']})", "",
             f"- board: {report['board_id']}", f"- started: {report['started_at']} UTC", "",
             _verdict_line(report["success"], report), ""]
    if report.get("aborted"):
        lines += [f"**Stopped early:** {report['aborted']}", ""]
    lines += _counts_table([(report["customer"], report)])
    lines += ["", f"## Groups created ({len(report['groups_created'])})", ""]
    lines += [f"- {group['name']} (`{group['id']}`)" for group in report["groups_created"]] or ["None."]
    lines += ["", f"## Errors ({len(report['errors'])})", ""] + _errors_section(report["errors"])
    lines += _warnings_section(report.get("warnings", []))
    return "\n".join(lines) + "\n"


# -- files ----------------------------------------------------------------------------------------

def run_directory(config: Config, run_id: int) -> Path:
    return Path(config.reports.directory) / f"run-{run_id}"


def write_reports(store: StateStore, run_id: int, directory: Path, *, secrets: Iterable[str] = (),
                  items_per_board: int = ITEMS_PER_BOARD, titles: Mapping[str, str] | None = None) -> Path:
    """Write summary.md/json and customers/<slug>.md/json for one run; returns the run's folder."""
    report = run_report(store, run_id, secrets=list(secrets), items_per_board=items_per_board, titles=titles)
    folder = Path(directory) / f"run-{run_id}"
    (folder / "customers").mkdir(parents=True, exist_ok=True)
    _write(folder / "summary.json", json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    _write(folder / "summary.md", render_markdown(report))
    for name in report["customers"]:
        part = customer_report(report, name)
        _write(folder / "customers" / f"{slug(name)}.json",
               json.dumps(part, indent=2, ensure_ascii=False, default=str) + "\n")
        _write(folder / "customers" / f"{slug(name)}.md", render_customer_markdown(part))
    return folder


def _write(path: Path, text: str) -> None:
    """Write through a temporary file so a reader never sees half a report."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def write_run_reports(config: Config, store: StateStore, run_id: int, *, secrets: Iterable[str] = ()) -> Path | None:
    """The sync's hook: write the run's reports. A full disk, a bad folder or a lost state database is
    logged, never fails the run (nor hides the error that ended it)."""
    try:
        return write_reports(store, run_id, Path(config.reports.directory), secrets=secrets,
                             items_per_board=config.monday.items_per_board, titles=column_titles(config))
    except (OSError, sa.exc.SQLAlchemyError) as error:
        log.warning("could not write the reports of run %s to %s: %s", run_id, config.reports.directory, error)
        return None
