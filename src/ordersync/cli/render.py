"""Everything the CLI shows: JSON on stdout, tables and lines for people (Rich), messages on stderr.

Commands hand results here and print nothing themselves.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ordersync.api import (
    BoardCreated,
    BoardDescription,
    PullResult,
    ReconcileResult,
    ReportResult,
    RunStatus,
    SyncResult,
    Validation,
)
from ordersync.errors import OrdersyncError

console = Console(stderr=True, soft_wrap=True)  # a message is one line in a log, however long

COUNT_KEYS = ("create", "update", "archive", "unchanged", "failed")


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def stdout_console() -> Console:
    """A terminal's width; piped into a file or a log, 160 columns unless COLUMNS says otherwise."""
    output = Console()
    return output if output.is_terminal or os.environ.get("COLUMNS", "").isdigit() else Console(width=160)


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


@dataclass(frozen=True)
class Column:
    """A table column: its header, its cells, and how readily it is left out at a narrow width (0: never;
    the highest goes first). Numbers are never cut; text columns wrap on words."""

    header: str
    cells: list[str]
    drop: int = 0
    numeric: bool = True


def _plain_width(cell: str) -> int:
    return len(Text.from_markup(cell).plain)


def _needed(column: Column) -> int:
    """The narrowest a column can be without cutting: a number whole, a text's and a header's longest word."""
    words = [word for cell in [column.header, *column.cells] for word in Text.from_markup(cell).plain.split()]
    longest_word = max((len(word) for word in words), default=1)
    return max(longest_word, *(_plain_width(cell) for cell in column.cells)) if column.numeric else longest_word


def fitted_table(title: str, columns: list[Column], width: int) -> tuple[Table, list[str]]:
    """A table that fits `width`: the most droppable columns left out until the rest fit whole; returns the
    table and the headers left out (for a note saying where they are)."""
    shown = list(columns)
    left_out: list[str] = []
    while sum(_needed(column) + 3 for column in shown) + 1 > width:
        candidates = [column for column in shown if column.drop]
        if not candidates:
            break
        dropped = max(candidates, key=lambda column: (column.drop, shown.index(column)))
        shown.remove(dropped)
        left_out.append(dropped.header)
    table = Table(title=title)
    natural = sum(max(_plain_width(cell) for cell in [column.header, *column.cells]) + 3 for column in shown) + 1
    texts = [column for column in shown if not column.numeric] or shown
    spare = max(width - 1 - sum(_needed(column) + 3 for column in shown), 0)
    share = {id(column): spare // len(texts) + (spare % len(texts) if index == 0 else 0)
             for index, column in enumerate(texts)}
    for column in shown:  # too narrow for every header on one line: numbers as wide as they need, text the rest
        fixed = None if natural <= width else _needed(column) + share.get(id(column), 0)
        table.add_column(column.header, justify="right" if column.numeric else "left", width=fixed,
                         min_width=_needed(column), overflow="fold")
    for row in zip(*(column.cells for column in shown), strict=True):
        table.add_row(*row)
    return table, [header for header in (column.header for column in columns) if header in left_out]


def print_fitted(output: Console, title: str, columns: list[Column]) -> None:
    table, left_out = fitted_table(title, columns, output.width)
    output.print(table)
    if left_out:
        output.print(f"[dim]left out at {output.width} columns: {', '.join(left_out)} (a wider terminal or --json "
                     "shows them)[/]", highlight=False)


# Which counts give way first on a narrow terminal: unchanged, then the subitems' updates and archives.
_DROP_ORDER = {("subitems", "unchanged"): 6, ("items", "unchanged"): 5, ("subitems", "archive"): 4,
               ("subitems", "update"): 3, ("items", "archive"): 2, ("groups", "create"): 1}


def render_counts(result: dict[str, Any], *, title: str) -> None:
    """A per-customer table of groups, items and subitems counts, with totals."""
    rows = [*result["customers"].items(), ("total", result["totals"])]
    bold = ["", "[bold]"]
    columns = [Column("customer", [f"{bold[index == len(rows) - 1]}{escape(name)}" for index, (name, _) in
                                   enumerate(rows)], numeric=False),
               Column("groups", [f"{bold[index == len(rows) - 1]}{counts['groups']['create']}"
                                 for index, (_, counts) in enumerate(rows)], drop=_DROP_ORDER[("groups", "create")])]
    for kind in ("items", "subitems"):
        for key in COUNT_KEYS:
            header = f"{'item' if kind == 'items' else 'sub'} {key}"
            columns.append(Column(header, [f"{bold[index == len(rows) - 1]}{counts[kind][key]}"
                                           for index, (_, counts) in enumerate(rows)],
                                  drop=_DROP_ORDER.get((kind, key), 0)))
    print_fitted(stdout_console(), title, columns)


def render_board_created(result: BoardCreated) -> None:
    output = stdout_console()
    how = (f"created from template {result.from_template}" if result.from_template else "created") \
        if result.created_board else "found by its name"
    output.print(f"board {result.board_id} ({escape(result.board_name)}): {how}; subitem board "
                 f"{result.subitem_board_id or '(none)'}", highlight=False)
    if result.created_anything:
        output.print(f"made {len(result.columns_created)} columns and {len(result.subitem_columns_created)} subitem "
                     "columns (`ordersync board describe` lists them)")
    else:
        output.print("nothing created: the board already has every column the config maps")
    output.print(f"{result.config_path}: " + ("board_id set to " + result.board_id if result.config_changed
                                               else "already names this board"), highlight=False)


def render_board_description(result: BoardDescription) -> None:
    output = stdout_console()
    output.print(f"board {result.board_id} ({escape(result.board_name)}), subitem board "
                 f"{result.subitem_board_id or '(none yet)'}", highlight=False)
    for title, columns in (("columns", result.columns), ("subitem columns", result.subitem_columns)):
        table = Table(title=title)
        table.add_column("id", no_wrap=True, overflow="fold")
        table.add_column("title", overflow="fold")
        table.add_column("type", no_wrap=True)
        table.add_column("config key (source column)", overflow="fold")
        for column in columns:
            mapped = ", ".join(column.config) + (f" ({column.source})" if column.source else "")
            table.add_row(column.id, escape(column.title), column.type, escape(mapped) or "[dim]—[/]")
        if columns:
            output.print(table)
    for missing in result.missing:
        output.print(f"[red]✗[/] {escape(missing['config'])}: the {missing['board']} board has no column "
                     f"{escape(missing['column'])}", highlight=False)


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
        console.print(f"[yellow]{failed_words(summary['totals'])}[/]: `ordersync report {result.run_id}` "
                      "lists them, `ordersync retry` sends them again")
    if summary["totals"].get("warnings"):
        console.print(f"[yellow]{summary['totals']['warnings']} warnings[/]: values cut to fit their Monday column, "
                      f"their order lines synced; `ordersync report {result.run_id}` lists them")
    render_adoption(summary.get("adopted"))


def _counted(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def failed_words(totals: dict[str, Any]) -> str:
    """What failed, as a planner counts it: order lines (items) and sizes (subitems), never summed as rows."""
    lines, sizes = totals["items"]["failed"], totals["subitems"]["failed"]
    parts = [_counted(lines, "order line") if lines else "", _counted(sizes, "size") if sizes else ""]
    return " and ".join(part for part in parts if part) + " failed"


def render_adoption(adopted: dict[str, Any] | None) -> None:
    """What the sync found on the board before it created anything, when it found something."""
    if not adopted or not any(adopted.get(name) for name in ("adopted", "forgotten", "gone", "duplicates",
                                                               "conflicts")):
        return
    how = {"read": "read the whole board", "changed": "read the items edited since the last sync",
           "vouched": "looked up the lines to create"}.get(adopted["how"], adopted["how"])
    console.print(f"board checked first ({how}): {adopted['adopted']} order lines already on it adopted, "
                  f"{adopted['differing']} differing from the source, {adopted['forgotten']} gone from it "
                  f"(created again), {adopted['gone']} whose line left the source")
    if adopted.get("duplicates"):
        console.print(f"[yellow]{adopted['duplicates']} business keys are on the board more than once[/]: the oldest "
                      "item is used; `ordersync reconcile --fix` archives the later copies")
    if adopted.get("conflicts"):
        console.print(f"[yellow]{adopted['conflicts']} edit(s) by people of source-owned columns[/] met on the board: "
                      "recorded as conflicts and settled by each column's on_edit (`ordersync status` lists them)")


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


def render_pull(result: PullResult) -> None:
    counts = result.recorded
    stdout_console().print(
        f"board {result.board_id}: read {counts.items} items and {counts.subitems} subitems changed since "
        f"{result.since.get('items') or 'the start'}; {counts.edits} edit(s) into the warehouse, "
        f"{counts.conflicts} conflict(s) ({counts.restore} to restore, {counts.keep} kept), "
        f"{counts.echoes} of ordersync's own writes left out")


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
    runs = result["runs"]
    if runs:  # at a narrow width the finish time, the warnings, the kind, the sizes go first, in that order
        print_fitted(output, "last runs", [
            Column("run", [str(run["run_id"]) for run in runs]),
            Column("kind", [run["kind"] for run in runs], drop=4, numeric=False),
            Column("status", [_status_markup(run["status"]) for run in runs], numeric=False),
            Column("started (UTC)", [run["started_at"] or "" for run in runs], numeric=False),
            Column("finished", [run["finished_at"] or "" for run in runs], drop=6, numeric=False),
            Column("items c/u/a/failed", [_cuaf(run["items"]) for run in runs]),
            Column("subitems c/u/a/failed", [_cuaf(run["subitems"]) for run in runs], drop=3),
            Column("warnings", [f"[yellow]{run['warnings']}[/]" if run.get("warnings") else "" for run in runs],
                   drop=5),
            Column("message", [escape((run["message"] or "")[:80]) for run in runs], drop=1, numeric=False)])
    else:
        output.print("no runs yet")
    customers = result["customers"]
    if customers:
        print_fitted(output, f"per customer (pending: last sync, run {(result['last_sync'] or {}).get('run_id', '—')}; "
                             "failed: order lines and sizes not synced since)", [
            Column("customer", [escape(name) for name in customers], numeric=False),
            Column("items on board", [str(counts["synced_items"]) for counts in customers.values()]),
            Column("subitems on board", [str(counts["synced_subitems"]) for counts in customers.values()], drop=1),
            Column("pending", [str(counts["pending"]) for counts in customers.values()]),
            Column("failed", [f"[red]{counts['failed']}[/]" if counts["failed"] else "0"
                              for counts in customers.values()])])
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
    conflicts = result.get("conflicts")
    if conflicts and conflicts["count"]:
        output.print(f"conflicts (people's edits of source-owned columns): {conflicts['count']} "
                     f"({conflicts['restore']} by restore, {conflicts['keep']} by keep); the latest:")
        for row in conflicts["latest"][:5]:
            size = f" size {escape(row['size'])}" if row.get("size") else ""
            output.print(f"  {escape(row['item_key'])}{size} {escape(row['column'])}: {escape(repr(row['board_text']))}"
                         f" (the source's {escape(repr(row['source_text']))}) by user {row['user_id'] or '?'} at "
                         f"{row['changed_at'] or row['recorded_at']} ({row['policy']})")


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
