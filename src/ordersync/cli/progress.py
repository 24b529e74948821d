"""Progress bars for long work: Rich on a terminal, silent when piped or under --json."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def progress_bar(description: str, *, total: int | None, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """Yields `update(done)`: call it with the count done so far. Shown only on an interactive terminal."""
    if not enabled or not sys.stderr.isatty():
        yield lambda done: None
        return
    with Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=Console(stderr=True), transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda done: progress.update(task, completed=done)
