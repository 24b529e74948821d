"""Stage: bulk-insert a run's transformed items and subitems, and record its bad rows.

Rows arrive as a stream and are written in batches, so memory stays flat at 100,000+ order
lines; only the business keys seen so far are kept, to find lines that share a key. Every line
sharing a key is recorded as an error and none of them is staged: a silent merge would decide
which of two different order lines the board shows. A staged line's warnings (values cut to fit)
go to the errors table too, under their own category, and are counted apart from the errors.
A routed sync reads the source once for all its boards (`stage_runs`): each line goes to the run of
the board its route names.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa

from ordersync.engine.transform import RowError, TransformedLine
from ordersync.errors import WARNING_CATEGORIES
from ordersync.state import DiffState, Operation, RowStatus, StateStore, dumps

log = logging.getLogger(__name__)


@dataclass
class StagingResult:
    order_lines: int = 0
    items: int = 0
    subitems: int = 0
    errors: int = 0
    warnings: int = 0
    duplicate_keys: int = 0
    routed_elsewhere: set[str] = field(default_factory=set)  # lines read whose route names another board


class LineRows(NamedTuple):
    """One transformed order line as the staging tables take it: plain tuples and dicts, so a line crosses
    from a transform process (`engine.parallel`) for little more than its bytes (a pickled `TransformedLine`
    cost ten times as much to send as to make)."""

    item_key: str | None
    customer: str | None
    source_row: int
    board_id: str | None  # a routed run: the board its route names
    item: tuple | None  # ITEM_COLUMNS from item_key to row_hash; None: the line failed
    subitems: tuple[tuple, ...]  # in SUBITEM_COLUMNS order
    records: tuple[dict[str, Any], ...]  # its error (`item` None), or its warnings, as the errors table takes them
    raw_key: tuple[Any, ...] | None = None  # its key columns as read: how a transform process's line is numbered
    fingerprint: str | None = None  # read with it by a transform process (`fingerprints.LineFingerprints`)


def line_rows(result: TransformedLine | RowError, raw_key: tuple[Any, ...] | None = None,
              fingerprint: str | None = None) -> LineRows:
    """The staged rows of a transformed line, or the record of why it failed."""
    if isinstance(result, RowError):
        return LineRows(result.item_key, result.customer, result.source_row, result.board_id, None, (),
                        (result.as_record(),), raw_key, fingerprint)
    item = result.item
    values = item.column_values_json if item.column_values_json is not None else dumps(item.column_values)
    return LineRows(item.item_key, item.customer, item.source_row, result.board_id,
                    (item.item_key, item.customer, item.group_name, item.item_name, item.po_number, item.aag_season,
                     item.customer_season, item.cancelled, values, item.row_hash),
                    tuple(map(tuple, result.subitems)),  # a SubitemRow is a tuple in SUBITEM_COLUMNS order
                    tuple(warning.as_record() for warning in result.warnings), raw_key, fingerprint)


def stage_run(store: StateStore, run_id: int, lines: Iterable[LineRows], *,
              batch_size: int = 2000, keep: Callable[[str], bool] | None = None,
              progress: Callable[[int], None] | None = None,
              fingerprints: Mapping[str, str] | None = None) -> StagingResult:
    """Write the transformed lines under `run_id`, one board's run reading the source alone; `keep`
    narrows to some keys (`retry`). `fingerprints` (`engine.fingerprints`): each line's, by business key,
    staged with it."""
    return stage_runs(store, {"": run_id}, lines, board_of=None, batch_size=batch_size, keep=keep,
                      progress=progress, fingerprints=fingerprints)[""]


def stage_runs(store: StateStore, runs: Mapping[str, int], lines: Iterable[LineRows], *,
               board_of: Callable[[LineRows], str | None] | None,
               batch_size: int = 2000, keep: Callable[[str], bool] | None = None,
               progress: Callable[[int], None] | None = None,
               fingerprints: Mapping[str, str] | None = None) -> dict[str, StagingResult]:
    """One read of the source staged into several boards' runs (`runs`: board → run id): each line under
    the run of the board `board_of` names; a line whose board has no run here (another worker's board, or
    none) is staged by none, and still claims its key, so two lines sharing a key are refused even when
    their routes name two boards; `board_of` None: every line under the one run. Returns each board's
    `StagingResult`."""
    claims = _KeyClaims(only_board=next(iter(runs)) if board_of is None else None)
    batches = _Batches(store, runs, fingerprints, progress)
    try:
        for line in lines:
            if keep is not None and (line.item_key is None or not keep(line.item_key)):
                continue
            board = board_of(line) if board_of is not None else claims.only_board
            board = board if board in runs else None
            admitted = claims.admit(line, board=board)
            if admitted is not None and board is not None:
                batches.add(board, admitted)
                if batches.size >= batch_size or batches.held_subitems >= batch_size * 10:
                    batches.flush()
        batches.flush(last=True)
    finally:
        batches.close()
    for board, outcome in batches.outcomes.items():
        collided = {key: customer for key, customer in claims.collided.items() if claims.board_of_first(key) == board}
        outcome.routed_elsewhere = {key for key, placed in claims.placed.items()
                                    if placed != board and key not in claims.collided}
        if collided:
            outcome.subitems -= _unstage_collisions(store, runs[board], collided, claims.first_row_of)
            outcome.items -= len(collided.keys() - claims.failed_first)
            outcome.duplicate_keys = len(collided)
            outcome.errors += len(collided)
        log.info("stage: %d items and %d subitems staged, %d row errors (%d duplicate keys), in %.2f s",
                 outcome.items, outcome.subitems, outcome.errors, outcome.duplicate_keys, batches.writing,
                 extra={"stage": "stage", "board_id": board or None, "items": outcome.items,
                        "subitems": outcome.subitems, "row_errors": outcome.errors,
                        "seconds": round(batches.writing, 3)})
    return batches.outcomes


class _Batches:
    """The staged rows and error records not yet written, each under its board's run, written in one
    transaction per batch (memory stays flat)."""

    def __init__(self, store: StateStore, runs: Mapping[str, int], fingerprints: Mapping[str, str] | None,
                 progress: Callable[[int], None] | None) -> None:
        self.store, self.runs, self.fingerprints, self.progress = store, runs, fingerprints, progress
        self.outcomes = {board: StagingResult() for board in runs}
        self.items: dict[str, list[tuple]] = {board: [] for board in runs}
        self.subitems: dict[str, list[tuple]] = {board: [] for board in runs}
        self.held_subitems = 0
        self.records: dict[str, list[dict]] = {board: [] for board in runs}  # errors and warnings
        self.size = 0  # items and errors held
        self.lines = 0
        self.writing = 0.0  # time in the state database, not in the extract and transform that feed it
        self.connection: sa.Connection | None = None  # the open transaction, between commits
        self.committed = 0  # lines committed

    def add(self, board: str, admitted: LineRows) -> None:
        outcome = self.outcomes[board]
        outcome.order_lines += 1
        self.lines += 1
        self.size += 1
        if admitted.item is None:
            self.records[board].extend(admitted.records)
            outcome.errors += 1
            return
        fingerprint = admitted.fingerprint if admitted.fingerprint is not None or self.fingerprints is None \
            else self.fingerprints.get(admitted.item_key or "")
        self.items[board].append((*admitted.item, admitted.source_row, fingerprint))
        self.subitems[board].extend(admitted.subitems)  # as they came: run id and state are the INSERT's
        self.held_subitems += len(admitted.subitems)
        self.records[board].extend(admitted.records)
        outcome.items += 1
        outcome.subitems += len(admitted.subitems)
        outcome.warnings += len(admitted.records)

    def flush(self, *, last: bool = False) -> None:
        """Write the rows held; commit every `COMMIT_EVERY_LINES` lines and at the `last` flush (a commit per
        batch cost a WAL sync each on SQLite: 1.3 s of a 100,000-line staging)."""
        started = time.monotonic()
        tables = self.store.tables
        if self.connection is None:
            self.connection = self.store.engine.connect()
            self.connection.begin()
        connection = self.connection
        for board, run_id in self.runs.items():
            constants = {"run_id": run_id, **STAGED_AS}
            self.store.bulk_insert(connection, tables.staged_items, ITEM_COLUMNS, self.items[board], constants)
            self.store.bulk_insert(connection, tables.staged_subitems, SUBITEM_COLUMNS, self.subitems[board],
                                   constants)
            self.store.record_errors(connection, run_id, self.records[board])
            self.records[board].clear()
            self.items[board].clear()
            self.subitems[board].clear()
        self.held_subitems = 0
        if last or self.lines - self.committed >= COMMIT_EVERY_LINES:
            connection.commit()
            self.close()
            self.committed = self.lines
        self.writing += time.monotonic() - started
        self.size = 0
        if self.progress:
            self.progress(self.lines)

    def close(self) -> None:
        """Give the connection back (what was not committed is rolled back)."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class _KeyClaims:
    """Which source row first claimed each business key; a second row with the key collides."""

    def __init__(self, *, only_board: str | None = None) -> None:
        self.only_board = only_board  # every line's, when one run stages them all (no board to keep per key)
        self.first_row_of: dict[str, int] = {}
        self.failed_first: set[str] = set()  # keys whose first line failed the transform, so was never staged
        self.collided: dict[str, str | None] = {}  # key → customer
        self.first_board: dict[str, str] = {}  # key → the board whose run staged (or recorded) its first line
        self.placed: dict[str, str] = {}  # key → the board a good line's route names

    def admit(self, line: LineRows, *, board: str | None) -> LineRows | None:
        """What `board`'s run stages or records for a line: the line, or its error (its own, or a duplicate
        key's); None for a line no run here stages (`board` None), which still claims its key."""
        if line.item is None:
            first = line.item_key is not None and line.item_key not in self.first_row_of
            self.failed(line)
            if board is not None and first and self.only_board is None:
                self.first_board[line.item_key or ""] = board
            return line if board is not None else None
        duplicate = self.claim(line)
        if line.board_id is not None:
            self.placed[line.item_key or ""] = line.board_id
        if board is None:
            return None
        if duplicate is None:
            if self.only_board is None:
                self.first_board[line.item_key or ""] = board
            return line
        return duplicate

    def board_of_first(self, key: str) -> str | None:
        """The board whose run staged (or recorded) the first line with `key`."""
        return self.only_board if self.only_board is not None else self.first_board.get(key)

    def failed(self, error: LineRows) -> None:
        """A bad line still claims its key: the good line sharing it must not be synced either."""
        if error.item_key is None:
            return
        first = self.first_row_of.setdefault(error.item_key, error.source_row)
        if first == error.source_row:
            self.failed_first.add(error.item_key)
        elif error.item_key not in self.failed_first:
            self.collided[error.item_key] = error.customer

    def claim(self, line: LineRows) -> LineRows | None:
        """None when the line is the first with its key; otherwise the duplicate-key error."""
        key = line.item_key or ""
        first = self.first_row_of.setdefault(key, line.source_row)
        if first == line.source_row:
            return None
        self.collided[key] = line.customer
        error = RowError(line.source_row, f"duplicate business key {key!r}: also on row {first}; "
                         "neither row is synced until the key is unique", field="business key",
                         item_key=key, customer=line.customer)
        return line_rows(error)._replace(board_id=line.board_id)


# Staged rows are written as tuples in these column orders (`StateStore.bulk_insert`), each with its run's id
# and `STAGED_AS`; the diff sets `state` and `operation`, apply the rest.
# A row is staged NEW with the operation CREATE: what the diff (`engine.diff`) decides for every row of a first
# load, which then rewrites only the rows the mirror holds or a policy turns (no pass over every staged row).
ITEM_COLUMNS = ("item_key", "customer", "group_name", "item_name", "po_number", "aag_season", "customer_season",
                "cancelled", "column_values", "row_hash", "source_row", "fingerprint")
SUBITEM_COLUMNS = ("item_key", "size", "customer", "name", "quantity", "position")  # a `SubitemRow`'s fields
STAGED_AS = {"state": DiffState.NEW.value, "operation": Operation.CREATE.value, "status": RowStatus.PENDING.value,
             "attempts": 0}
COMMIT_EVERY_LINES = 20_000


def forget_fingerprints(store: StateStore, run_ids: Iterable[int]) -> None:
    """The runs' staged lines keep no fingerprint: the next run reads each of them again."""
    items = store.tables.staged_items
    with store.engine.begin() as connection:
        connection.execute(sa.update(items).where(items.c.run_id.in_(list(run_ids))).values(fingerprint=None))


def _unstage_collisions(store: StateStore, run_id: int, collided: dict[str, str | None],
                        first_row_of: dict[str, int]) -> int:
    """The first line of each shared key was staged (or failed) before its twin appeared: take it back out.

    Returns how many staged subitems went with them.
    """
    tables = store.tables
    keys = list(collided)
    removed_subitems = 0
    with store.engine.begin() as connection:
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            removed_subitems += connection.execute(sa.delete(tables.staged_subitems).where(
                tables.staged_subitems.c.run_id == run_id, tables.staged_subitems.c.item_key.in_(chunk))).rowcount
            connection.execute(sa.delete(tables.staged_items).where(
                tables.staged_items.c.run_id == run_id, tables.staged_items.c.item_key.in_(chunk)))
            connection.execute(sa.delete(tables.errors).where(  # a cut value of a line that is not synced
                tables.errors.c.run_id == run_id, tables.errors.c.item_key.in_(chunk),
                tables.errors.c.category.in_([category.value for category in WARNING_CATEGORIES])))
        store.record_errors(connection, run_id, [
            RowError(first_row_of[key], f"duplicate business key {key!r}: shared with a later row; "
                     "neither row is synced until the key is unique", field="business key",
                     item_key=key, customer=customer).as_record()
            for key, customer in collided.items()
        ])
    return removed_subitems
