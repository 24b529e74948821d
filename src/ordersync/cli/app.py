"""The `ordersync` commands: each reads its options, calls one function of `ordersync.api` and
hands the result to `cli.render`. Options live in `cli.options`, the progress bar in `cli.progress`."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.markup import escape

from ordersync import api
from ordersync.cli.options import (
    BoardOption,
    BoardsOption,
    CustomerOption,
    FilterOptions,
    FullOption,
    GlobalOptions,
    JsonOption,
    WaitOption,
    with_filters,
)
from ordersync.cli.progress import progress_bar
from ordersync.cli.render import (
    console,
    error_as_dict,
    print_json,
    render_board_created,
    render_board_description,
    render_counts,
    render_demo,
    render_error,
    render_pull,
    render_reconcile,
    render_report,
    render_status,
    render_sync,
    render_validation,
    render_warnings,
    stdout_console,
)
from ordersync.config import DEFAULT_CONFIG_NAME
from ordersync.emulator.cli import emulator_command
from ordersync.errors import Interrupted, OrdersyncError, UsageError, note_stop_signal
from ordersync.logs import LOG_FORMATS, LOG_LEVELS, configure_logging

app = typer.Typer(
    name="ordersync",
    help="Keep a Monday.com board true to the order lines of a SQL warehouse table.\n\n"
    "Exit codes: 0 ok, 1 some rows failed, 2 config or usage error, 3 database or API unreachable, "
    "4 another run holds the board's lock, 130 / 143 stopped by Ctrl-C / SIGTERM (the run recorded INTERRUPTED).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def _global(
    context: typer.Context,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", envvar="ORDERSYNC_CONFIG",
        help=f"Config file. Default: ./{DEFAULT_CONFIG_NAME}, else the built-in sample config.")] = None,
    profile: Annotated[str | None, typer.Option(
        "--profile", "-p", envvar="ORDERSYNC_PROFILE",
        help="A \\[profiles.NAME] section of the config to apply, e.g. dev or prod.")] = None,
    log_level: Annotated[str, typer.Option(
        "--log-level", envvar="ORDERSYNC_LOG_LEVEL",
        help="Log on stderr from this level: DEBUG, INFO (each stage, request batch, retry and wait), WARNING, "
             "ERROR.")]
    = "WARNING",
    log_format: Annotated[str, typer.Option(
        "--log-format", envvar="ORDERSYNC_LOG_FORMAT",
        help="text (one line a record) or json (one JSON object a line, for schedulers).")] = "text",
) -> None:
    if log_level.upper() not in LOG_LEVELS or log_format.lower() not in LOG_FORMATS:
        raise UsageError(f"unknown log level {log_level!r} or format {log_format!r}",
                         hint=f"levels: {', '.join(LOG_LEVELS)}; formats: {', '.join(LOG_FORMATS)}")
    configure_logging(log_level.upper(), log_format.lower())
    context.obj = GlobalOptions(config, profile)


def _config(context: typer.Context) -> api.Config:
    options: GlobalOptions = context.obj
    return options.load()


# -- setting up -----------------------------------------------------------------------------------

@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the config.")] = Path(DEFAULT_CONFIG_NAME),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    source_url: Annotated[str, typer.Option(help="Source database URL to put in \\[source] url.")]
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
        help="Database URL to write to. Default: \\[source] url of the config.")] = None,
    table: Annotated[str | None, typer.Option(help="Table name. Default: \\[source] table of the config.")] = None,
    rows: Annotated[int, typer.Option(min=100, help="Order lines to generate (at least 100: the sample holds a 69-line PO).")] = 3000,
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 4755,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace the table even if sample-data did not create it (it may hold real orders).")]
    = False,
    json_output: JsonOption = False,
) -> None:
    """Generate realistic sample order lines shaped like the real ORDERS_UNIFIED table (268 columns).

    Deterministic from --seed; includes aliases, fallback seasons, cancelled and zero-quantity lines,
    a few deliberately bad rows, and GREYSON PO 4755 with exactly 264 (line, size) pairs. Rewrites
    a table it created before; refuses any other table of that name unless --force.

    Example: ordersync sample-data --rows 100000 --url postgresql+psycopg://postgres@127.0.0.1/orders
    """
    from dataclasses import asdict

    from ordersync.database import display_url, make_engine
    from ordersync.errors import SourceError
    from ordersync.sample_data import write_sample_data

    config = _config(context)
    target_url = url or config.source.url
    target_table = table or config.source.table
    engine = make_engine(target_url, error=SourceError, section="source", timeouts=config.source.timeouts())
    written = 0
    with progress_bar("writing sample order lines", total=rows, enabled=not json_output) as bar:
        def advance(chunk: int) -> None:
            nonlocal written
            written += chunk
            bar.update(written)

        try:
            summary = write_sample_data(engine, table=target_table, seed=seed, rows=rows, force=force,
                                        progress=advance)
        finally:
            engine.dispose()
    result = {"url": display_url(target_url), "table": target_table, **asdict(summary)}
    if json_output:
        print_json(result)
    else:
        console.print(f"wrote {result.get('rows', rows)} order lines to {target_table} in {result['url']}")


board_app = typer.Typer(help="Make a board shaped like the config, or read a board against it.\n\n"
                              "Example: ordersync board create && ordersync board describe",
                         no_args_is_help=True, rich_markup_mode="rich")
app.add_typer(board_app, name="board")


@board_app.command("create")
def board_create(
    context: typer.Context,
    name: Annotated[str, typer.Option("--name", help="The board's name: how a second run finds it.")]
    = api.DEFAULT_BOARD_NAME,
    from_template: Annotated[str | None, typer.Option(
        "--from-template", metavar="BOARD_ID",
        help="Copy this board's structure (duplicate_board), then add the columns it lacks.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Create a board shaped like the config and write its id into the config file.

    Makes the board (empty, or from a template board), every mapped column, the key column, and the
    subitem board's size and quantity columns; label columns a sync may not extend start with the
    labels the source uses. Then sets \\[monday] board_id in the config file (that one line; the rest
    of the file is kept). A second run finds the board by its name and creates nothing.

    Example: ordersync board create --name "Customer Master Schedule"
    """
    options: GlobalOptions = context.obj
    config_path = options.config_path or Path(DEFAULT_CONFIG_NAME)
    result = api.create_board(options.load(), config_path, name=name, template_board_id=from_template)
    if json_output:
        print_json(result.as_dict())
    else:
        render_board_created(result)


@board_app.command("describe")
def board_describe(
    context: typer.Context,
    board: Annotated[str | None, typer.Option(
        "--board", help="The board to read. Default: \\[monday] board_id.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Print a board's columns and its subitem board's, each with the config keys that map to it.

    Also lists the config keys that name a column the board does not have. Reads the board only.

    Example: ordersync board describe --json
    """
    result = api.describe_board(_config(context), board)
    if json_output:
        print_json(result.as_dict())
    else:
        render_board_description(result)


# -- the sync -------------------------------------------------------------------------------------

@app.command()
@with_filters
def plan(context: typer.Context, filters: FilterOptions, only_board: BoardOption = None, full: FullOption = False,
         json_output: JsonOption = False) -> None:
    """Show what a sync would do, per customer, without calling the API or touching the synced state.

    Groups to create; items and subitems to create, update, archive; unchanged; failed rows.

    Example: ordersync plan --customer GREYSON --po 4755 --json
    """
    config = _config(context)
    with progress_bar("reading order lines", total=filters.limit, enabled=not json_output) as bar:
        result = api.plan(config, **filters.as_kwargs(), on_progress=bar.update, board=only_board, full=full)
    if json_output:
        print_json(result.as_dict())
        return
    for board in _each(result):
        render_counts(board.as_dict(), title=f"plan of board {board.board_id} (run {board.run_id})")
        render_warnings(board.warnings)


def _each(result: Any) -> list[Any]:
    """Each board's result: several of a routed config (`api.BoardResults`), else the one."""
    return list(result.results) if isinstance(result, api.BoardResults) else [result]


def _finish_sync(result: api.SyncResult | api.RoutedSyncResult, json_output: bool) -> None:
    if json_output:
        print_json(result.as_dict())
    else:
        for board in result.boards if isinstance(result, api.RoutedSyncResult) else [result]:
            render_sync(board)
    raise typer.Exit(result.exit_code)


@app.command()
@with_filters
def sync(  # noqa: PLR0913 — one option per keyword argument of `api.sync`
    context: typer.Context,
    filters: FilterOptions,
    all_customers: Annotated[bool, typer.Option(
        "--all", help="Sync every customer. Required when no filter is given, so nobody does it by accident.")]
    = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Read the board and plan, send no write, change no synced state.")] = False,
    skip_subitems: Annotated[bool, typer.Option(
        "--skip-subitems", help="Sync items only; their sizes stay pending for a later run.")] = False,
    wait: Annotated[float, typer.Option(
        "--wait", min=0, help="Seconds to wait for another run on the same board to finish.")] = 0.0,
    allow_removals: Annotated[bool, typer.Option(
        "--allow-removals", help="Archive or delete more than \\[guards] allows (default 10%), on purpose.")] = False,
    accept_source_changes: Annotated[bool, typer.Option(
        "--accept-source-changes",
        help="The source's size columns or column types changed since the last sync: go on, and record them.")]
    = False,
    only_board: BoardsOption = None,
    full: FullOption = False,
    json_output: JsonOption = False,
) -> None:
    """Make the board equal the source: create, update and archive items and their size subitems.

    Settles whatever an interrupted run left open first, so a rerun after a crash never duplicates.
    Refuses before its first write (exit 2) when the source's size columns or column types changed
    since the last sync, or when it would archive more than \\[guards] allows; the flags above confirm.
    Reads again only the order lines whose fingerprint changed since the board last confirmed them
    (all of them with --full, on a first sync, after a config change, or when the board changed
    behind ordersync's back).

    Example: ordersync sync --customer GREYSON --po 4755
    """
    config = _config(context)
    with progress_bar("syncing", enabled=not json_output) as bar:
        result = api.sync(config, **filters.as_kwargs(), all_customers=all_customers, dry_run=dry_run,
                          skip_subitems=skip_subitems, wait_for_lock=wait, allow_removals=allow_removals,
                          accept_source_changes=accept_source_changes, on_progress=bar.follow, board=only_board,
                          full=full)
    _finish_sync(result, json_output)


@app.command()
def retry(context: typer.Context, wait: WaitOption = 0.0, only_board: BoardOption = None,
          json_output: JsonOption = False) -> None:
    """Send again only the order lines that failed in the last sync (any customer, any stage).

    Example: ordersync retry --json
    """
    config = _config(context)
    with progress_bar("syncing", enabled=not json_output) as bar:
        result = api.retry(config, wait_for_lock=wait, on_progress=bar.follow, board=only_board)
    _finish_sync(result, json_output)


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
        if json_output:
            print_json(result.as_dict())
            return
        render_demo(result)
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
    with progress_bar("syncing", enabled=not json_output) as bar:
        result = run_demo(options, serve=show, on_progress=bar.follow)
    raise typer.Exit(0 if result.drift.clean else 1)


# -- operator surfaces: report, status, validate, reconcile, dashboard ----------------------------

@app.command()
def report(
    context: typer.Context,
    run_id: Annotated[int | None, typer.Argument(help="The run to report. Default: the last sync on the board.")]
    = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer's part of the run.")]
    = None,
    only_board: BoardOption = None,
    json_output: JsonOption = False,
) -> None:
    """Print the report of a run: counts per customer, success rate, groups created, errors with reasons.

    Exits 1 when the run's success rate is below 95% (needs attention or critical). Every sync
    writes the same report to the \\[reports] directory: run-ID/summary.md and .json, and
    run-ID/customers/NAME.md and .json. Without --json it prints the Markdown. Without RUN_ID and
    with several routed boards: each board's last sync (--board: that board's).

    Example: ordersync report 12 --customer GREYSON
    """
    result = api.report(_config(context), run_id, customer=customer, board=only_board)
    if json_output:
        print_json(result.as_dict())
    else:
        for board in _each(result):
            render_report(board)
    raise typer.Exit(result.exit_code)


@app.command()
def status(
    context: typer.Context,
    customer: CustomerOption = None,
    runs: Annotated[int, typer.Option("--runs", min=1, help="How many recent runs to list.")] = 10,
    only_board: BoardOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show the real state: last runs, run in progress, pending and failed rows, intents, the lock.

    Lists the last runs with their outcome, the run in progress and how far it got, per customer
    what is on the board and what the last sync left pending or failed, open write intents and
    who holds the board's lock. Reads the state tables only (no API call).

    Example: ordersync status --customer GREYSON --json
    """
    result = api.status(_config(context), runs=runs, customers=customer or (), board=only_board)
    if json_output:
        print_json(result.as_dict())
        return
    for board in _each(result):
        render_status(board.as_dict())


@app.command()
@with_filters
def validate(context: typer.Context, filters: FilterOptions, only_board: BoardOption = None,
             json_output: JsonOption = False) -> None:
    """Compare the config with the live board and list every mismatch; exits 2 if there is any.

    Checks that every mapped column exists with a matching type, the key column (text), the
    subitem board's Size and Order Qty columns, and — for status and dropdown columns that may
    not create labels — that the board has every label the source uses (filters narrow that scan).
    Writes nothing. Run it before the first sync against a real board.

    Example: ordersync --profile prod validate --json
    """
    config = _config(context)
    with progress_bar("reading the labels the source uses", total=filters.limit, enabled=not json_output) as bar:
        result = api.validate(config, **filters.as_kwargs(), on_progress=bar.update, board=only_board)
    if json_output:
        print_json(result.as_dict())
    else:
        for board in _each(result):
            render_validation(board)
    raise typer.Exit(0 if result.ok else 2)


@app.command()
@with_filters
def reconcile(
    context: typer.Context,
    filters: FilterOptions,
    fix: Annotated[bool, typer.Option(
        "--fix", help="Archive what should not be on the board and sync again what differs.")] = False,
    all_customers: Annotated[bool, typer.Option(
        "--all", help="With --fix on a production profile and no filter: fix every customer, on purpose.")] = False,
    wait: WaitOption = 0.0,
    only_board: BoardOption = None,
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
    config = _config(context)
    with progress_bar("reading the board and the source", enabled=not json_output) as bar:
        result = api.reconcile(config, **filters.as_kwargs(), fix=fix, all_customers=all_customers,
                               wait_for_lock=wait, on_progress=bar.follow, board=only_board)
    if json_output:
        print_json(result.as_dict())
    else:
        for board in _each(result):
            render_reconcile(board)
    raise typer.Exit(result.exit_code)


@app.command()
def pull(
    context: typer.Context,
    full: Annotated[bool, typer.Option(
        "--full", help="Read every item, not only those updated since the last pull.")] = False,
    only_board: BoardOption = None,
    json_output: JsonOption = False,
) -> None:
    """Bring what people changed on the board back to the warehouse.

    Reads the items updated since the last pull (its watermark), writes board-owned columns
    (`owner = "board"`) to <prefix>board_edits (append-only: who, when, the value as text and
    typed) and <prefix>board_current in the source database, and records a person's edit of a
    source-owned column as a conflict: `on_edit = "restore"` writes the source value back on the
    next sync, "keep" leaves it until the source changes. ordersync's own writes are never edits.
    Run it on a schedule: it catches whatever webhooks missed.

    Example: ordersync pull --json
    """
    config = _config(context)
    result = api.pull(config, full=full, board=only_board)
    if json_output:
        print_json(result.as_dict())
    else:
        for board in _each(result):
            render_pull(board)


webhooks_app = typer.Typer(help="Receive Monday's webhook events for the board, and subscribe the board to them.\n\n"
                                 "Example: ordersync webhooks serve --port 8790 & ordersync webhooks install "
                                 "https://sync.example.com/",
                            no_args_is_help=True, rich_markup_mode="rich")
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("serve")
def webhooks_serve(
    context: typer.Context,
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="The port to listen on.")] = 8790,
    only_board: BoardOption = None,
) -> None:
    """Receive Monday's webhook events until Ctrl-C: POST / (the URL you install), GET /health.

    Answers Monday's URL challenge, verifies the JWT when the app's signing secret is in
    $MONDAY_SIGNING_SECRET (\\[monday] signing_secret_env), ignores an event seen before (its
    triggerUuid) or made by ordersync's own user, and reads every other event's item again
    through the API, recording it as `ordersync pull` does. An event that cannot be recorded
    is answered 500, so Monday sends it again.

    Example: ordersync webhooks serve --host 0.0.0.0 --port 8790
    """
    config = _config(context)
    with contextlib.suppress(KeyboardInterrupt):
        api.serve_webhooks(config, host=host, port=port, board=only_board,
                           on_ready=lambda url: console.print(f"webhooks: listening on [bold]{url}[/]   (Ctrl-C to stop)"))
    console.print("webhooks: stopped")


@webhooks_app.command("install")
def webhooks_install(
    context: typer.Context,
    url: Annotated[str, typer.Argument(help="The receiver's public URL (where `webhooks serve` answers).")],
    only_board: BoardOption = None,
    json_output: JsonOption = False,
) -> None:
    """Subscribe the receiver at URL to the board's events.

    Values, names, creates, archives and deletes, of items and subitems. Monday challenges the URL
    first: start the receiver before. Subscriptions made before for the same URL are kept; for
    another URL, replaced.

    Example: ordersync webhooks install https://sync.example.com/
    """
    result = api.install_webhooks(_config(context), url, board=only_board)
    if json_output:
        print_json(result.as_dict())
    else:
        stdout_console().print(f"board {result.board_id}: {len(result.created)} webhook(s) created, "
                               f"{len(result.kept)} kept, {len(result.deleted)} replaced")


@webhooks_app.command("uninstall")
def webhooks_uninstall(context: typer.Context, only_board: BoardOption = None, json_output: JsonOption = False) -> None:
    """Delete the board's webhook subscriptions that `ordersync webhooks install` made.

    Example: ordersync webhooks uninstall
    """
    result = api.uninstall_webhooks(_config(context), board=only_board)
    if json_output:
        print_json(result.as_dict())
    else:
        stdout_console().print(f"board {result.board_id}: {len(result.deleted)} webhook(s) deleted")


@app.command()
def boards(context: typer.Context, json_output: JsonOption = False) -> None:
    """List the routed boards, one a line in route order (\\[\\[routes]], else \\[monday] board_id).

    What a scheduler fans out over: one `ordersync sync --all --board ID` per board (the Kestra flow).

    Example: ordersync --profile prod boards --json
    """
    listed = api.boards(_config(context))
    if json_output:
        print_json(listed)
    else:
        for board_id in listed:
            typer.echo(board_id)


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

    config = _config(context)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a dashboard is meant to stop
        serve_dashboard(config, host=host, port=port, refresh_seconds=refresh,
                        on_ready=lambda url: console.print(f"dashboard: [bold]{url}[/]   (Ctrl-C to stop)"))
    console.print("dashboard stopped")


app.command("emulator")(emulator_command)


# -- the entry point ------------------------------------------------------------------------------

INTERRUPTED_BY_TYPER = 130  # what Typer returns for a command a KeyboardInterrupt stopped (no command returns it)

def main(argv: list[str] | None = None) -> None:
    """Console entry point: typed errors become a message and their exit code, never a traceback.

    `argv` (default: the process's arguments) lets tests run the real entry point in-process.
    """
    _log_from_environment()  # until the options are read (a usage error is logged as asked too)
    wants_json = "--json" in (sys.argv[1:] if argv is None else argv)
    previous = _stop_on_sigterm()
    try:
        result = app(args=argv, prog_name="ordersync", standalone_mode=False)
    except OrdersyncError as error:
        render_error(error, as_json=wants_json)
        sys.exit(error.exit_code)
    except (click.exceptions.Exit, typer.Exit) as stop:
        sys.exit(stop.exit_code)
    except (click.exceptions.Abort, typer.Abort, KeyboardInterrupt):
        result = INTERRUPTED_BY_TYPER
    except (click.ClickException, typer.TyperException) as error:  # a usage mistake: unknown option, bad value
        _show_usage_error(error)
        if wants_json:
            print_json({"error": error_as_dict(UsageError(error.format_message(), hint="see --help"))})
        sys.exit(2)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if result == INTERRUPTED_BY_TYPER:  # Ctrl-C or SIGTERM: say so, on stdout too under --json
        interrupted = Interrupted()
        render_error(interrupted, as_json=wants_json)
        sys.exit(interrupted.exit_code)
    sys.exit(result if isinstance(result, int) else 0)


def _log_from_environment() -> None:
    level = os.environ.get("ORDERSYNC_LOG_LEVEL", "WARNING").upper()
    log_format = os.environ.get("ORDERSYNC_LOG_FORMAT", "text").lower()
    configure_logging(level if level in LOG_LEVELS else "WARNING", log_format if log_format in LOG_FORMATS else "text")


def _stop_on_sigterm() -> Any:
    """SIGTERM (a scheduler's timeout, `kill`, a service manager) stops a command the way Ctrl-C does,
    so a sync records its run INTERRUPTED and releases the board's lock instead of dying mid-write.

    The handler hands over to SIGINT's: inside `asyncio.run` that cancels the running command (its
    cleanup runs), elsewhere it raises KeyboardInterrupt. Returns the handler it replaced.
    """
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(number: int, frame: Any) -> None:
        note_stop_signal(signal.Signals(number).name)
        on_sigint = signal.getsignal(signal.SIGINT)
        if not callable(on_sigint):  # SIGINT ignored (a background job): stop all the same
            raise KeyboardInterrupt
        on_sigint(signal.SIGINT, frame)

    return signal.signal(signal.SIGTERM, stop)


def _show_usage_error(error: Any) -> None:
    """Typer (which carries its own copy of click) prints its usage errors as click does: `show()`."""
    show = getattr(error, "show", None)
    if show is not None:
        show()
    else:
        console.print(f"Error: {escape(error.format_message())}")
