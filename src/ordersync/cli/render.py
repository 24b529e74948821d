"""Everything the CLI shows: JSON on stdout, tables and lines for people (Rich), messages on stderr.

Commands hand results here and print nothing themselves.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ordersync.api import ReconcileResult, ReportResult, RunStatus, SyncResult, Validation
from ordersync.errors import OrdersyncError

console = Console(stderr=True, soft_wrap=True)  # a message is one line in a log, however long

COUNT_KEYS = ("create", "update", "archive", "unchanged", "failed")


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def stdout_console() -> Console:
    output = Console()
    return output if output.is_terminal else Console(width=160)  # piped into a file or a log


def error_as_dict(error: OrdersyncError) -> dict[str, Any]:
    """An error as `--json` prints it on stdout: {type, message, hint, exit_code[, problems]}."""
    described: dict[str, Any] = {"type": type(error).__name__, "message": error.message,
                                 "hint": error.hint, "exit_code": error.exit_code}
    if error.problems:
        described["problems"] = error.problems
    return described


def render_error(error: OrdersyncError, *, as_json: bool) -> None:
    console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
    if as_json:  # a scheduler reads stdout: give it the error too
        print_json({"error": error_as_dict(error)})


def render_counts(result: dict[str, Any], *, title: str) -> None:
    """A per-customer table of groups, items and subitems counts, with totals."""
    table = Table(title=title, show_lines=False)
    table.add_column("customer")
    table.add_column("groups", justify="right")
    for kind in ("items", "subitems"):
        for key in COUNT_KEYS:
            table.add_column(f"{kind[:-1] if kind == 'items' else 'sub'} {key}", justify="right")
    for name, counts in result["customers"].items():
        table.add_row(name, str(counts["groups"]["create"]),
                      *(str(counts[kind][key]) for kind in ("items", "subitems") for key in COUNT_KEYS))
    totals = result["totals"]
    table.add_row("[bold]total", f"[bold]{totals['groups']['create']}",
                  *(f"[bold]{totals[kind][key]}" for kind in ("items", "subitems") for key in COUNT_KEYS))
    stdout_console().print(table)


def render_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)


def render_sync(result: SyncResult) -> None:
    summary = result.as_dict()
    render_counts(summary, title=f"sync run {result.run_id}: {result.status.value}")
    api = summary["api"]
    console.print(f"{api['mutations']} mutations in {api['mutation_requests']} requests, "
                  f"{api['retries']} retries, {api['rate_limited']} rate-limited answers")
    if result.failed_rows:
        console.print(f"[yellow]{result.failed_rows} rows failed[/]: `ordersync report {result.run_id}` "
                      "lists them, `ordersync retry` sends them again")
    if summary["totals"].get("warnings"):
        console.print(f"[yellow]{summary['totals']['warnings']} warnings[/]: values cut to fit their Monday column, "
                      f"their order lines synced; `ordersync report {result.run_id}` lists them")
    render_adoption(summary.get("adopted"))


def render_adoption(adopted: dict[str, Any] | None) -> None:
    """What the sync found on the board before it created anything, when it found something."""
    if not adopted or not any(adopted.get(name) for name in ("adopted", "forgotten", "gone", "duplicates")):
        return
    how = {"read": "read the whole board", "changed": "read the items edited since the last sync",
           "vouched": "looked up the lines to create"}.get(adopted["how"], adopted["how"])
    console.print(f"board checked first ({how}): {adopted['adopted']} order lines already on it adopted, "
                  f"{adopted['differing']} differing from the source, {adopted['forgotten']} gone from it "
                  f"(created again), {adopted['gone']} whose line left the source")
    if adopted.get("duplicates"):
        console.print(f"[yellow]{adopted['duplicates']} business keys are on the board more than once[/]: the oldest "
                      "item is used; `ordersync reconcile --fix` archives the later copies")


def render_demo(result: Any) -> None:
    """A demo's outcome: the sync's counts, then the board read back against the source."""
    summary = result.as_dict()
    render_counts(summary, title=f"demo sync run {summary['run_id']}: {summary['status']}")
    verdict = "[green]equals[/]" if result.drift.clean else f"[red]differs from[/] ({result.drift.summary()})"
    console.print(f"board {result.board_id}: {summary['board']['items']} items, "
                  f"{summary['board']['subitems']} subitems — {verdict} the source "
                  f"({summary['source']['order_lines']} order lines, {summary['source']['size_pairs']} sizes, "
                  f"{summary['source']['bad_rows']} bad rows recorded as errors)")
    console.print(f"config for other commands: ordersync -c {result.config_path} plan")


def render_validation(result: Validation) -> None:
    output = stdout_console()
    output.print(f"board {result.board_id} ({escape(result.board_name)}): {result.columns_checked} columns and "
                 f"{result.labels_checked} label sets checked against {result.order_lines_read} order lines")
    for warning in result.warnings:
        output.print(f"[yellow]warning:[/] {escape(warning)}")
    for mismatch in result.mismatches:
        output.print(f"[red]✗[/] {escape(str(mismatch))}")
    output.print("[green]the config matches the board[/]" if result.ok else
                 f"[red]{len(result.mismatches)} mismatch(es)[/]: fix the board or ordersync.toml, then run "
                 "`ordersync validate` again")


def render_reconcile(result: ReconcileResult) -> None:
    render_drift(result.drift, title="board against the source")
    if result.not_ours:
        stdout_console().print(f"{result.not_ours} item(s) without a business key (a person's): left alone")
    if result.fixed is not None:
        fixed = result.fixed
        sync = fixed["sync"]
        stdout_console().print(
            f"fixed: archived {len(fixed['archived'])} (failed {len(fixed['archive_failed'])}), synced "
            f"{fixed['order_lines_resynced']} order lines again"
            + (f" in run {sync['run_id']} ({sync['status']})" if sync else ""))
        for kept in fixed.get("kept", [])[:10]:
            stdout_console().print(f"  kept item {kept['id']} for {escape(kept['key'])} (the oldest); later copies archived")
        if result.after is not None:
            render_drift(result.after, title="after the fix")


def render_drift(drift: Any, *, title: str, shown: int = 10) -> None:
    output = stdout_console()
    output.print(f"[bold]{title}[/]: board {drift.board_items} items / {drift.board_subitems} subitems, source "
                 f"{drift.source_items} / {drift.source_subitems} — "
                 + ("[green]no drift[/]" if drift.clean else f"[red]{escape(drift.summary())}[/]"))
    for name, findings in drift.findings.items():
        for finding in findings[:shown]:
            output.print(f"  {name}: {escape(finding)}")
        if len(findings) > shown:
            output.print(f"  {name}: …and {len(findings) - shown} more (--json lists all)")


def render_report(result: ReportResult) -> None:
    """Markdown rendered on a terminal, as plain text when piped (so it can be saved as a .md file)."""
    text = result.markdown()
    output = Console()
    if output.is_terminal:
        from rich.markdown import Markdown

        output.print(Markdown(text))
    else:
        sys.stdout.write(text)


def render_status(result: dict[str, Any]) -> None:
    output = stdout_console()
    profile = f" · profile {result['profile']}" + (" (production)" if result["production"] else "") \
        if result["profile"] else ""
    output.print(f"[bold]board {result['board_id'] or '(not set)'}[/]{profile} · state in {result['state_database']}")
    if result.get("capacity"):
        render_capacity(result["capacity"], output)
    if result.get("rollover"):
        rollover = result["rollover"]
        output.print(f"rollover: {escape(rollover['board_name'])}, board {rollover['sequence']} made from template "
                     f"{rollover['template_board_id']} (the next at {rollover['rollover_at']} items); the route's "
                     f"boards: {', '.join(rollover['route_boards'])}")
    lock = result["lock"]
    if lock is None:
        output.print("lock: free")
    else:
        gone = " — its holder is gone; the next run takes it over" if lock["holder_gone"] else ""
        output.print(f"lock: held by {lock['owner']} (run {lock['run_id']}) since {lock['acquired_at']} UTC, "
                     f"last heartbeat {lock['heartbeat_at']}{gone}")
    for run in result["running"]:
        progress = run.get("progress") or {}
        output.print(f"[yellow]running[/]: {run['kind']} run {run['run_id']} since {run['started_at']} UTC — "
                     f"{progress.get('done', 0)}/{progress.get('total', '?')} operations, "
                     f"{progress.get('customer') or ''} {progress.get('phase') or ''}".rstrip())
    table = Table(title="last runs")
    for name in ("run", "kind", "status", "started (UTC)", "finished", "items c/u/a/failed", "subitems c/u/a/failed",
                 "warnings", "message"):
        table.add_column(name)
    for run in result["runs"]:
        table.add_row(str(run["run_id"]), run["kind"], _status_markup(run["status"]), run["started_at"] or "",
                      run["finished_at"] or "", _cuaf(run["items"]), _cuaf(run["subitems"]),
                      f"[yellow]{run['warnings']}[/]" if run.get("warnings") else "",
                      escape((run["message"] or "")[:80]))
    output.print(table if result["runs"] else "no runs yet")
    customers = Table(title=f"per customer (pending and failed: last sync, run "
                            f"{(result['last_sync'] or {}).get('run_id', '—')})")
    for name in ("customer", "items on board", "subitems on board", "pending", "failed"):
        customers.add_column(name, justify="left" if name == "customer" else "right")
    for name, counts in result["customers"].items():
        customers.add_row(name, str(counts["synced_items"]), str(counts["synced_subitems"]), str(counts["pending"]),
                          f"[red]{counts['failed']}[/]" if counts["failed"] else "0")
    if result["customers"]:
        output.print(customers)
    unresolved = result["unresolved_failures"]
    if unresolved["order_lines"]:
        lines = unresolved["order_lines"]
        output.print(f"[red]unresolved failures: {lines} order line{'s' if lines != 1 else ''}[/] "
                     f"({unresolved['sizes']} sizes), from any run and not synced since; `ordersync retry` "
                     "sends them again")
    else:
        output.print("unresolved failures: none")
    intents = result["open_write_intents"]
    output.print(f"open write intents: {intents['count']}"
                 + (" (the next run looks them up on the board and adopts what it finds)" if intents["count"] else ""))


def render_capacity(capacity: dict[str, Any], output: Console) -> None:
    """Items used against the board's cap (from the synced mirror), its groups, the 90% warning."""
    groups = f", {capacity['groups']} groups" if capacity.get("groups") is not None else ""
    output.print(f"capacity: {capacity['items']} of {capacity['items_per_board']} items "
                 f"({capacity['used']:.0%}){groups} — counted from the {capacity['counted_from']}"
                 + (" (no API call)" if capacity["counted_from"] == "mirror" else ""))
    if capacity.get("warning"):
        output.print(f"[yellow]warning: {escape(capacity['warning'])}[/]")


def _cuaf(counts: dict[str, int] | None) -> str:
    if not counts:
        return ""
    return f"{counts['create']}/{counts['update']}/{counts['archive']}/{counts['failed']}"


def _status_markup(status: str) -> str:
    colours: dict[str, str] = {RunStatus.COMPLETED: "green", RunStatus.PLANNED: "blue", RunStatus.RUNNING: "yellow",
                               RunStatus.FAILED: "red", RunStatus.INTERRUPTED: "red"}
    colour = colours.get(status, "yellow")
    return f"[{colour}]{status}[/]"
