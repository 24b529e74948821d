"""The cyclic garbage collector, set for bulk work: staging or transforming 100,000 lines makes millions of
short-lived rows (tuples, dicts, strings) that their reference counts free, and none of them cycles.

With Python's thresholds (700, 10, 10) a collection ran every 700 new container objects and, every hundred
of those, walked everything the process had imported: a quarter of a transform process's time (measured on
the 100,000-line sample). `collecting_less` sets what exists aside for good (`gc.freeze`: the imports, the
config) and collects after 50,000 new objects, for the time of the bulk work, then puts both back — once
the last of the blocks running at once (runs staged by several threads) has ended.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

BULK_THRESHOLDS = (50_000, 20, 100)

_lock = threading.Lock()
_running = 0  # blocks inside `collecting_less`, in every thread
_thresholds: tuple[int, int, int] = gc.get_threshold()  # the process's own, while any runs


@contextlib.contextmanager
def collecting_less() -> Iterator[None]:
    """Collect cyclic garbage less often while the block runs (process-wide; restored after the last)."""
    global _running, _thresholds
    with _lock:
        if _running == 0:
            _thresholds = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(*BULK_THRESHOLDS)
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0:
                gc.set_threshold(*_thresholds)
                gc.unfreeze()
