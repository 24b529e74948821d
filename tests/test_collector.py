"""`engine.collector`: bulk work collects cyclic garbage less often, and the process's settings come back —
also when blocks in several threads overlap (runs of several boards staged at once)."""

import gc
import threading

from ordersync.engine.collector import BULK_THRESHOLDS, collecting_less


def test_the_thresholds_are_the_bulk_ones_inside_and_the_process_own_after():
    before = gc.get_threshold()
    with collecting_less():
        assert gc.get_threshold() == BULK_THRESHOLDS
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_overlapping_blocks_in_two_threads_restore_the_process_own_thresholds_once_both_end():
    before = gc.get_threshold()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with collecting_less():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(10)
    with collecting_less():  # entered while the first runs, left after it ended
        second_in.set()
        first_out.wait(10)
        assert gc.get_threshold() == BULK_THRESHOLDS, "the first block's end must not restore while this one runs"
    thread.join(10)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
