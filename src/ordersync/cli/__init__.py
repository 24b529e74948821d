"""The `ordersync` command line: a thin layer over `ordersync.api`.

Exit codes: 0 ok · 1 some rows failed · 2 config or usage error · 3 the database or the API
could not be reached · 4 another run holds the board's lock · 130 interrupted by Ctrl-C (SIGINT) ·
143 stopped by SIGTERM (the run recorded INTERRUPTED, its lock released).

`cli.app` holds the commands, `cli.options` the options (each written once), `cli.render`
everything printed, `cli.progress` the progress bar.
"""

from ordersync.cli.app import app, main

__all__ = ["app", "main"]
