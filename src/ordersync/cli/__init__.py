"""The `ordersync` command line: a thin layer over the package's functions.

Exit codes: 0 ok · 1 some rows failed · 2 config or usage error · 3 the database or the API
could not be reached · 4 another run holds the board's lock · 130 interrupted.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ordersync.config import DEFAULT_CONFIG_NAME, Config, load_config
from ordersync.database import display_url
from ordersync.emulator.cli import emulator_command
from ordersync.errors import ConfigError, OrdersyncError, UsageError
from ordersync.logs import configure_logging
from ordersync.engine.source import Filters

app = typer.Typer(
    name="ordersync",
    help="Keep a Monday.com board true to the order lines of a SQL warehouse table.\n\n"
    "Exit codes: 0 ok, 1 some rows failed, 2 config or usage error, 3 database or API unreachable, "
    "4 another run holds the board's lock.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
console = Console(stderr=True, soft_wrap=True)  # a message is one line in a log, however long


@dataclass
class GlobalOptions:
    config_path: Path | None = None
    profile: str | None = None

    def load(self) -> Config:
        return load_config(self.config_path, profile=self.profile)


@app.callback()
def _global(
    context: typer.Context,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", envvar="ORDERSYNC_CONFIG",
        help=f"Config file. Default: ./{DEFAULT_CONFIG_NAME}, else the built-in sample config.")] = None,
    profile: Annotated[str | None, typer.Option(
        "--profile", "-p", envvar="ORDERSYNC_PROFILE",
        help="A \\[profiles.NAME] section of the config to apply, e.g. dev or prod.")] = None,
) -> None:
    context.obj = GlobalOptions(config, profile)


# -- shared filter options ------------------------------------------------------------------------

CustomerOption = Annotated[list[str] | None, typer.Option(
    "--customer", help="Only this customer (canonical name or any alias). Repeatable.")]
ExcludeCustomerOption = Annotated[list[str] | None, typer.Option(
    "--exclude-customer", help="Leave this customer out. Repeatable.")]
PoOption = Annotated[list[str] | None, typer.Option("--po", help="Only this PO NUMBER. Repeatable.")]
AagSeasonOption = Annotated[list[str] | None, typer.Option(
    "--aag-season", help="Only this AAG SEASON, e.g. '2025 FALL'. Repeatable.")]
CustomerSeasonOption = Annotated[list[str] | None, typer.Option(
    "--customer-season", help="Only this CUSTOMER SEASON. Repeatable.")]
LimitOption = Annotated[int | None, typer.Option(
    "--limit", min=1, help="At most this many order lines in the whole run (not per customer). "
    "A limited run never archives: it cannot know what was removed.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout and nothing else.")]


def make_filters(customer: list[str] | None, exclude_customer: list[str] | None, po: list[str] | None,
                 aag_season: list[str] | None, customer_season: list[str] | None, limit: int | None) -> Filters:
    return Filters(
        customers=tuple(customer or ()), exclude_customers=tuple(exclude_customer or ()),
        po_numbers=tuple(po or ()), aag_seasons=tuple(aag_season or ()),
        customer_seasons=tuple(customer_season or ()), limit=limit,
    )


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


# -- commands -------------------------------------------------------------------------------------

@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the config.")] = Path(DEFAULT_CONFIG_NAME),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    source_url: Annotated[str, typer.Option(help="Source database URL to put in [source] url.")]
    = "sqlite:///ordersync.db",
) -> None:
    """Write a commented sample ordersync.toml that maps the sample table onto the demo board.

    Example: ordersync init && ordersync sample-data && ordersync plan --customer GREYSON
    """
    from ordersync.config import parse_config
    from ordersync.sample_data.config import sample_config_text

    if path.exists() and not force:
        raise UsageError(f"{path} already exists", hint="pass --force to overwrite it")
    text = sample_config_text(source_url=source_url)
    config = parse_config(text, origin=str(path))  # what we write must load
    path.write_text(text, encoding="utf-8")
    console.print(f"wrote {path}: {len(config.columns)} mapped columns, {len(config.customers)} customers")


@app.command("sample-data")
def sample_data(
    context: typer.Context,
    url: Annotated[str | None, typer.Option(
        help="Database URL to write to. Default: [source] url of the config.")] = None,
    table: Annotated[str | None, typer.Option(help="Table name. Default: [source] table of the config.")] = None,
    rows: Annotated[int, typer.Option(min=1, help="Order lines to generate.")] = 3000,
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 4755,
    json_output: JsonOption = False,
) -> None:
    """Generate realistic sample order lines shaped like the real ORDERS_UNIFIED table (268 columns).

    Deterministic from --seed; includes aliases, fallback seasons, cancelled and zero-quantity lines,
    a few deliberately bad rows, and GREYSON PO 4755 with exactly 264 (line, size) pairs.

    Example: ordersync sample-data --rows 100000 --url postgresql+psycopg://postgres@127.0.0.1/orders
    """
    from ordersync.cli.progress import progress_bar
    from ordersync.sample_data import write_sample_data

    options: GlobalOptions = context.obj
    config = options.load()
    target_url = url or config.source.url
    target_table = table or config.source.table
    written = 0
    with progress_bar("writing sample order lines", total=rows, enabled=not json_output) as update:
        def advance(chunk: int) -> None:
            nonlocal written
            written += chunk
            update(written)

        summary = write_sample_data(target_url, table=target_table, seed=seed, rows=rows, progress=advance)
    result = {"url": display_url(target_url), "table": target_table, **_as_dict(summary)}
    if json_output:
        print_json(result)
    else:
        console.print(f"wrote {result.get('rows', rows)} order lines to {target_table} in {result['url']}")


@app.command()
def plan(
    context: typer.Context,
    customer: CustomerOption = None,
    exclude_customer: ExcludeCustomerOption = None,
    po: PoOption = None,
    aag_season: AagSeasonOption = None,
    customer_season: CustomerSeasonOption = None,
    limit: LimitOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show what a sync would do, per customer, without calling the API or touching the synced state.

    Groups to create; items and subitems to create, update, archive; unchanged; failed rows.

    Example: ordersync plan --customer GREYSON --po 4755 --json
    """
    from ordersync.engine.pipeline import plan_only
    from ordersync.cli.progress import progress_bar

    options: GlobalOptions = context.obj
    config = options.load()
    filters = make_filters(customer, exclude_customer, po, aag_season, customer_season, limit)
    with progress_bar("reading order lines", total=limit, enabled=not json_output) as advance:
        prepared = plan_only(config, filters, progress=advance)
    result = prepared.plan.as_dict()
    if json_output:
        print_json(result)
        return
    render_counts(result, title=f"plan (run {prepared.run_id})")


@contextlib.contextmanager
def sync_progress(enabled: bool):
    """A progress bar over a sync's operations, naming the customer and phase at work."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task("syncing", total=None)

        def update(progress) -> None:
            bar.update(task, total=progress.total or None, completed=progress.done,
                       description=f"{progress.customer or ''} · {progress.phase or ''}")

        yield update


def finish_sync(result, json_output: bool) -> None:
    summary = result.as_dict()
    if json_output:
        print_json(summary)
    else:
        render_counts(summary, title=f"sync run {result.run_id}: {result.status.value}")
        api = summary["api"]
        console.print(f"{api['mutations']} mutations in {api['mutation_requests']} requests, "
                      f"{api['retries']} retries, {api['rate_limited']} rate-limited answers")
        if result.failed_rows:
            console.print(f"[yellow]{result.failed_rows} rows failed[/]: `ordersync report {result.run_id}` "
                          "lists them, `ordersync retry` sends them again")
    raise typer.Exit(result.exit_code)


@app.command()
def sync(
    context: typer.Context,
    customer: CustomerOption = None,
    exclude_customer: ExcludeCustomerOption = None,
    po: PoOption = None,
    aag_season: AagSeasonOption = None,
    customer_season: CustomerSeasonOption = None,
    limit: LimitOption = None,
    all_customers: Annotated[bool, typer.Option(
        "--all", help="Sync every customer. Required when no filter is given, so nobody does it by accident.")]
    = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Read the board and plan, send no write, change no synced state.")] = False,
    skip_subitems: Annotated[bool, typer.Option(
        "--skip-subitems", help="Sync items only; their sizes stay pending for a later run.")] = False,
    wait: Annotated[float, typer.Option(
        "--wait", min=0, help="Seconds to wait for another run on the same board to finish.")] = 0.0,
    json_output: JsonOption = False,
) -> None:
    """Make the board equal the source: create, update and archive items and their size subitems.

    Settles whatever an interrupted run left open first, so a rerun after a crash never duplicates.

    Example: ordersync sync --customer GREYSON --po 4755
    """
    from ordersync.engine.sync import SyncOptions
    from ordersync.engine.sync import sync as run_sync

    options: GlobalOptions = context.obj
    config = options.load()
    filters = make_filters(customer, exclude_customer, po, aag_season, customer_season, limit)
    with sync_progress(not json_output) as on_progress:
        result = run_sync(config, SyncOptions(filters=filters, all_customers=all_customers, dry_run=dry_run,
                                              skip_subitems=skip_subitems, wait_for_lock=wait),
                          on_progress=on_progress)
    finish_sync(result, json_output)


@app.command()
def retry(
    context: typer.Context,
    wait: Annotated[float, typer.Option("--wait", min=0, help="Seconds to wait for the board's lock.")] = 0.0,
    json_output: JsonOption = False,
) -> None:
    """Send again only the order lines that failed in the last sync (any customer, any stage).

    Example: ordersync retry --json
    """
    import asyncio

    from ordersync.engine.sync import retry_failed

    options: GlobalOptions = context.obj
    config = options.load()
    with sync_progress(not json_output) as on_progress:
        result = asyncio.run(retry_failed(config, on_progress=on_progress, wait_for_lock=wait))
    finish_sync(result, json_output)


@app.command()
def demo(
    rows: Annotated[int, typer.Option(min=100, help="Sample order lines to generate.")] = 3000,
    seed: Annotated[int, typer.Option(help="Seed of the sample data.")] = 4755,
    directory: Annotated[Path, typer.Option(help="Where the demo keeps its database, board and config.")]
    = Path(".ordersync/demo"),
    port: Annotated[int, typer.Option(help="Emulator port (a free one is taken if it is busy).")] = 8765,
    speedup: Annotated[float, typer.Option(
        min=1, help="Run Monday's per-minute limits in a window this many times shorter.")] = 20.0,
    serve: Annotated[bool, typer.Option("--serve/--no-serve",
                                        help="Keep the board view running until Ctrl-C.")] = True,
    json_output: JsonOption = False,
) -> None:
    """The main job on the embedded defaults: sample data → SQLite → emulator board, read back and checked.

    Generates sample orders, starts the Monday emulator, builds a board shaped like the real
    Customer Master Schedule, syncs every customer, reads the board back through the API and
    compares it with the source, then serves the board view until Ctrl-C.

    Example: ordersync demo --no-serve --json
    """
    from ordersync.demo import DemoOptions, DemoResult, run_demo

    serving = serve and not json_output  # --json is for schedulers and scripts: print and exit

    def show(result: DemoResult) -> None:
        """Called while the emulator still runs: print the outcome, then keep serving if asked."""
        summary = result.as_dict()
        if json_output:
            print_json(summary)
            return
        render_counts(summary, title=f"demo sync run {summary['run_id']}: {summary['status']}")
        verdict = "[green]equals[/]" if result.drift.clean else f"[red]differs from[/] ({result.drift.summary()})"
        console.print(f"board {result.board_id}: {summary['board']['items']} items, "
                      f"{summary['board']['subitems']} subitems — {verdict} the source "
                      f"({summary['source']['order_lines']} order lines, {summary['source']['size_pairs']} sizes, "
                      f"{summary['source']['bad_rows']} bad rows recorded as errors)")
        console.print(f"config for other commands: ordersync -c {result.config_path} plan")
        if serving:
            console.print(f"\nboard view: [bold]{result.board_url}[/]   (Ctrl-C to stop)")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                console.print("stopped")

    options = DemoOptions(directory=directory, rows=rows, seed=seed, port=port, speedup=speedup)
    if not json_output:
        console.print(f"demo: {rows} sample order lines → SQLite → Monday emulator (its limits at {speedup:g}× "
                      f"speed) → board, kept in {directory}/")
    with sync_progress(not json_output) as on_progress:
        result = run_demo(options, serve=show, on_progress=on_progress)
    raise typer.Exit(0 if result.drift.clean else 1)


# -- operator surfaces: report, status, validate, reconcile, dashboard ----------------------------

@app.command()
def report(
    context: typer.Context,
    run_id: Annotated[int | None, typer.Argument(help="The run to report. Default: the last sync on the board.")]
    = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer's part of the run.")]
    = None,
    json_output: JsonOption = False,
) -> None:
    """Print the report of a run: counts per customer, success rate, groups created, errors with reasons.

    Exits 1 when the run's success rate is below 95% (needs attention or critical). Every sync
    writes the same report to the \\[reports] directory: run-ID/summary.md and .json, and
    run-ID/customers/NAME.md and .json. Without --json it prints the Markdown.

    Example: ordersync report 12 --customer GREYSON
    """
    from ordersync.ops.report import render_customer_markdown, render_markdown
    from ordersync.ops.report import report as run_report

    options: GlobalOptions = context.obj
    result = run_report(options.load(), run_id, customer=customer)
    if json_output:
        print_json(result)
    else:
        print_markdown(render_customer_markdown(result) if customer else render_markdown(result))
    raise typer.Exit(0 if result["success"]["verdict"] == "ok" else 1)


@app.command()
def status(
    context: typer.Context,
    customer: CustomerOption = None,
    runs: Annotated[int, typer.Option("--runs", min=1, help="How many recent runs to list.")] = 10,
    json_output: JsonOption = False,
) -> None:
    """Show the real state: last runs, run in progress, pending and failed rows, intents, the lock.

    Lists the last runs with their outcome, the run in progress and how far it got, per customer
    what is on the board and what the last sync left pending or failed, open write intents and
    who holds the board's lock. Reads the state tables only (no API call).

    Example: ordersync status --customer GREYSON --json
    """
    from ordersync.ops.status import status as read_status

    options: GlobalOptions = context.obj
    result = read_status(options.load(), runs=runs, customers=customer or ())
    if json_output:
        print_json(result)
        return
    render_status(result)


@app.command()
def validate(
    context: typer.Context,
    customer: CustomerOption = None,
    exclude_customer: ExcludeCustomerOption = None,
    po: PoOption = None,
    aag_season: AagSeasonOption = None,
    customer_season: CustomerSeasonOption = None,
    limit: LimitOption = None,
    json_output: JsonOption = False,
) -> None:
    """Compare the config with the live board and list every mismatch; exits 2 if there is any.

    Checks that every mapped column exists with a matching type, the key column (text), the
    subitem board's Size and Order Qty columns, and — for status and dropdown columns that may
    not create labels — that the board has every label the source uses (filters narrow that scan).
    Writes nothing. Run it before the first sync against a real board.

    Example: ordersync --profile prod validate --json
    """
    from ordersync.cli.progress import progress_bar
    from ordersync.ops.validate import validate as check

    options: GlobalOptions = context.obj
    config = options.load()
    filters = make_filters(customer, exclude_customer, po, aag_season, customer_season, limit)
    with progress_bar("reading the labels the source uses", total=limit, enabled=not json_output) as advance:
        result = check(config, filters=filters, progress=advance)
    if json_output:
        print_json(result.as_dict())
    else:
        output = _stdout_console()
        output.print(f"board {result.board_id} ({escape(result.board_name)}): {result.columns_checked} columns and "
                     f"{result.labels_checked} label sets checked against {result.order_lines_read} order lines")
        for warning in result.warnings:
            output.print(f"[yellow]warning:[/] {escape(warning)}")
        for mismatch in result.mismatches:
            output.print(f"[red]✗[/] {escape(str(mismatch))}")
        output.print("[green]the config matches the board[/]" if result.ok else
                     f"[red]{len(result.mismatches)} mismatch(es)[/]: fix the board or ordersync.toml, then run "
                     "`ordersync validate` again")
    raise typer.Exit(0 if result.ok else 2)


@app.command()
def reconcile(
    context: typer.Context,
    customer: CustomerOption = None,
    exclude_customer: ExcludeCustomerOption = None,
    po: PoOption = None,
    aag_season: AagSeasonOption = None,
    customer_season: CustomerSeasonOption = None,
    limit: LimitOption = None,
    fix: Annotated[bool, typer.Option(
        "--fix", help="Archive what should not be on the board and sync again what differs.")] = False,
    all_customers: Annotated[bool, typer.Option(
        "--all", help="With --fix on a production profile and no filter: fix every customer, on purpose.")] = False,
    wait: Annotated[float, typer.Option("--wait", min=0, help="Seconds to wait for the board's lock.")] = 0.0,
    json_output: JsonOption = False,
) -> None:
    """Read the whole board back and report drift against the source; --fix repairs it.

    Drift: items the source does not have (unknown), missing items, duplicates, wrong group,
    name or column values, missing or extra sizes, wrong quantities. --fix archives items that
    carry a business key the source no longer has (and duplicate copies), corrects the synced
    state to what the board really shows, and runs a sync of exactly the drifted order lines.
    Items without a business key are a person's: reported, never touched. Exits 0 when the
    board equals the source (after the fix, with --fix), 1 when drift remains.

    Example: ordersync reconcile --customer GREYSON --fix
    """
    import asyncio

    from ordersync.ops.reconcile import reconcile_async

    options: GlobalOptions = context.obj
    config = options.load()
    filters = make_filters(customer, exclude_customer, po, aag_season, customer_season, limit)
    if fix and config.monday.production and filters.is_unfiltered and not all_customers:
        raise UsageError("refusing to fix every customer of a production board without --all",
                         hint="name customers with --customer (or other filters), or pass --all on purpose")
    with sync_progress(not json_output) as on_progress:
        result = asyncio.run(reconcile_async(config, filters, fix=fix, wait_for_lock=wait, on_progress=on_progress))
    if json_output:
        print_json(result.as_dict())
    else:
        render_drift(result.drift, title="board against the source")
        if result.not_ours:
            _stdout_console().print(f"{result.not_ours} item(s) without a business key (a person's): left alone")
        if result.fixed is not None:
            fixed = result.fixed
            sync = fixed["sync"]
            _stdout_console().print(
                f"fixed: archived {len(fixed['archived'])} (failed {len(fixed['archive_failed'])}), synced "
                f"{fixed['order_lines_resynced']} order lines again"
                + (f" in run {sync['run_id']} ({sync['status']})" if sync else ""))
            if result.after is not None:
                render_drift(result.after, title="after the fix")
    raise typer.Exit(result.exit_code)


def render_drift(drift, *, title: str, shown: int = 10) -> None:
    output = _stdout_console()
    output.print(f"[bold]{title}[/]: board {drift.board_items} items / {drift.board_subitems} subitems, source "
                 f"{drift.source_items} / {drift.source_subitems} — "
                 + ("[green]no drift[/]" if drift.clean else f"[red]{escape(drift.summary())}[/]"))
    for name, findings in drift.findings.items():
        for finding in findings[:shown]:
            output.print(f"  {name}: {escape(finding)}")
        if len(findings) > shown:
            output.print(f"  {name}: …and {len(findings) - shown} more (--json lists all)")


@app.command()
def dashboard(
    context: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback: only this machine).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8780,
    refresh: Annotated[float, typer.Option(min=0.1, help="Seconds between live updates.")] = 1.0,
) -> None:
    """Serve a local web page: runs and their status, the current run's progress live, per-customer
    outcomes, errors with reasons, and a chart of items synced and failures over time.

    It only reads the state tables, so it can run next to a sync (or on another machine pointed at
    the same state database). Ctrl-C stops it.

    Example: ordersync dashboard --port 8780
    """
    from ordersync.dashboard import serve_dashboard

    options: GlobalOptions = context.obj
    config = options.load()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a dashboard is meant to stop
        serve_dashboard(config, host=host, port=port, refresh_seconds=refresh,
                        on_ready=lambda url: console.print(f"dashboard: [bold]{url}[/]   (Ctrl-C to stop)"))
    console.print("dashboard stopped")


def render_status(result: dict[str, Any]) -> None:
    output = _stdout_console()
    profile = f" · profile {result['profile']}" + (" (production)" if result["production"] else "") \
        if result["profile"] else ""
    output.print(f"[bold]board {result['board_id'] or '(not set)'}[/]{profile} · state in {result['state_database']}")
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
                 "message"):
        table.add_column(name)
    for run in result["runs"]:
        table.add_row(str(run["run_id"]), run["kind"], _status_markup(run["status"]), run["started_at"] or "",
                      run["finished_at"] or "", _cuaf(run["items"]), _cuaf(run["subitems"]),
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
    intents = result["open_write_intents"]
    output.print(f"open write intents: {intents['count']}"
                 + (" (the next run looks them up on the board and adopts what it finds)" if intents["count"] else ""))


def _cuaf(counts: dict[str, int] | None) -> str:
    if not counts:
        return ""
    return f"{counts['create']}/{counts['update']}/{counts['archive']}/{counts['failed']}"


def _status_markup(status: str) -> str:
    colour = {"COMPLETED": "green", "PLANNED": "blue", "RUNNING": "yellow", "FAILED": "red",
              "INTERRUPTED": "red"}.get(status, "yellow")
    return f"[{colour}]{status}[/]"


def _stdout_console() -> Console:
    output = Console()
    return output if output.is_terminal else Console(width=160)  # piped into a file or a log


def print_markdown(text: str) -> None:
    """Markdown rendered on a terminal, as plain text when piped (so it can be saved as a .md file)."""
    output = Console()
    if output.is_terminal:
        from rich.markdown import Markdown

        output.print(Markdown(text))
    else:
        sys.stdout.write(text)


def render_counts(result: dict[str, Any], *, title: str) -> None:
    """A per-customer table of groups, items and subitems counts, with totals."""
    table = Table(title=title, show_lines=False)
    table.add_column("customer")
    table.add_column("groups", justify="right")
    for kind in ("items", "subitems"):
        for key in ("create", "update", "archive", "unchanged", "failed"):
            table.add_column(f"{kind[:-1] if kind == 'items' else 'sub'} {key}", justify="right")
    for name, counts in result["customers"].items():
        table.add_row(name, str(counts["groups"]["create"]),
                      *(str(counts[kind][key]) for kind in ("items", "subitems")
                        for key in ("create", "update", "archive", "unchanged", "failed")))
    totals = result["totals"]
    table.add_row("[bold]total", f"[bold]{totals['groups']['create']}",
                  *(f"[bold]{totals[kind][key]}" for kind in ("items", "subitems")
                    for key in ("create", "update", "archive", "unchanged", "failed")))
    output = Console()
    if not output.is_terminal:
        output = Console(width=160)  # piped into a file or a log: no terminal width to respect
    output.print(table)


def _as_dict(value: Any) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    return asdict(value) if is_dataclass(value) else dict(value)


app.command("emulator")(emulator_command)


def _error_as_dict(error: OrdersyncError) -> dict[str, Any]:
    described: dict[str, Any] = {"type": type(error).__name__, "message": error.message,
                                 "hint": error.hint, "exit_code": error.exit_code}
    if isinstance(error, ConfigError) and error.problems:
        described["problems"] = error.problems
    return described


def main(argv: list[str] | None = None) -> None:
    """Console entry point: typed errors become a message and their exit code, never a traceback.

    `argv` (default: the process's arguments) lets tests run the real entry point in-process.
    """
    import click

    try:  # newer Typers vendor their own copy of click and raise that copy's exceptions
        from typer._click.exceptions import ClickException as TyperClickException
    except ImportError:
        TyperClickException = click.ClickException

    configure_logging(os.environ.get("ORDERSYNC_LOG_LEVEL", "WARNING").upper())
    wants_json = "--json" in (sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=argv, prog_name="ordersync", standalone_mode=False)
    except OrdersyncError as error:
        console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        if wants_json:  # a scheduler reads stdout: give it the error too
            print_json({"error": _error_as_dict(error)})
        sys.exit(error.exit_code)
    except (click.exceptions.Exit, typer.Exit) as stop:
        sys.exit(stop.exit_code)
    except (click.exceptions.Abort, typer.Abort):
        console.print("interrupted")
        sys.exit(130)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
    except (click.ClickException, TyperClickException) as error:  # a usage mistake: unknown option, bad value
        error.show()
        if wants_json:
            print_json({"error": _error_as_dict(UsageError(error.format_message(), hint="see --help"))})
        sys.exit(2)
    sys.exit(result if isinstance(result, int) else 0)
