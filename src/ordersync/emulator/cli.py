"""`ordersync emulator`: placeholder until the emulator lands."""

import typer


def emulator_command(port: int = typer.Option(8765, help="Port to listen on.")) -> None:
    """Serve a local Monday.com API emulator (not built yet)."""
    raise typer.Exit(2)
