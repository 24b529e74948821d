"""The one progress bar of the CLI: Rich on an interactive terminal, silent when piped or under --json.

A command follows either a count (`bar.update(done)`: order lines read) or a sync's `Progress`
(`bar.follow(progress)`: operations done, the customer and phase at work).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, Task, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text


class WorkDone(Protocol):
    """What a sync reports as it goes (`ordersync.Progress`)."""

    total: int
    done: int
    customer: str | None
    phase: str | None


class ProgressBar:
    """One task on a Rich progress display, or nothing at all when `display` is None."""

    def __init__(self, display: Progress | None, task: TaskID | None) -> None:
        self._display, self._task = display, task

    def update(self, done: int) -> None:
        if self._display is not None and self._task is not None:
            self._display.update(self._task, completed=done)

    def follow(self, progress: WorkDone) -> None:
        if self._display is not None and self._task is not None:
            self._display.update(self._task, total=progress.total or None, completed=progress.done,
                                 description=f"{progress.customer or ''} · {progress.phase or ''}")


class _DoneOfTotal(MofNCompleteColumn):
    """`done/total` once the total is known; nothing before (never `0/?`)."""

    def render(self, task: Task) -> Text:
        return Text("") if task.total is None else super().render(task)


@contextmanager
def progress_bar(description: str, *, total: int | None = None, enabled: bool = True) -> Iterator[ProgressBar]:
    """A bar on stderr while the block runs, gone when it ends: what the command prints next (its table)
    is the outcome, and a bar left behind would print its last state a second time beside it."""
    if not enabled or not sys.stderr.isatty():
        yield ProgressBar(None, None)
        return
    with Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), _DoneOfTotal(),
        TimeElapsedColumn(), console=Console(stderr=True, soft_wrap=True), transient=True,
    ) as display:
        yield ProgressBar(display, display.add_task(description, total=total))
