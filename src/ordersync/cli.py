"""The `ordersync` command line: a thin layer over the package's functions."""

from __future__ import annotations

import sys

import typer

from ordersync.emulator.cli import emulator_command
from ordersync.errors import OrdersyncError

app = typer.Typer(
    name="ordersync",
    help="Keep a Monday.com board true to the order lines of a SQL warehouse table.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command("emulator")(emulator_command)


def main() -> None:
    """Console entry point: typed errors become a message and their exit code, never a traceback."""
    try:
        app(standalone_mode=False)
    except OrdersyncError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(error.exit_code)
    except typer.Exit as stop:
        sys.exit(stop.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except Exception as error:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(error, click.ClickException):
            error.show()
            sys.exit(2)
        raise
