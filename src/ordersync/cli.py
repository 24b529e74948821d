"""The `ordersync` command line: a thin layer over the package's functions.

Exit codes: 0 ok · 1 some rows failed · 2 config or usage error · 3 the database or the API
could not be reached · 4 another run holds the board's lock · 130 interrupted.
"""

from __future__ import annotations

import json
import sys
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
from ordersync.errors import OrdersyncError, UsageError
from ordersync.source import Filters

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
console = Console(stderr=True)


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
    from ordersync.sample_config import sample_config_text

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
    from ordersync.progress import progress_bar
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
    from ordersync.pipeline import plan_only
    from ordersync.progress import progress_bar

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


def main() -> None:
    """Console entry point: typed errors become a message and their exit code, never a traceback."""
    import click

    try:
        result = app(standalone_mode=False)
    except OrdersyncError as error:
        console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        sys.exit(error.exit_code)
    except click.exceptions.Exit as stop:
        sys.exit(stop.exit_code)
    except click.exceptions.Abort:
        console.print("interrupted")
        sys.exit(130)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(2)
    sys.exit(result if isinstance(result, int) else 0)
