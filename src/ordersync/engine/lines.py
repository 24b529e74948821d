"""The one extract → transform loop: the filtered source, one order line at a time, as items or row errors.

`prepare` (plan and sync), `validate` (the labels the source uses) and `reconcile` (what the board
should hold) all read the source through this, so they see the same lines numbered the same way.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ordersync.config import Config
from ordersync.engine.filters import Filters
from ordersync.engine.fingerprints import Changes, LineFingerprints, changed_rows_filter
from ordersync.engine.source import SourceTable, columns_read, read_order_lines
from ordersync.engine.transform import (
    IDENTIFYING_COLUMNS,
    RowError,
    TransformedLine,
    TransformRules,
    key_of_values,
    transform_order_line,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShareOfScope:
    """A transform process's part of a read of the whole scope (`engine.parallel`): the rows `where` names,
    each fingerprinted as the scope's key read would (`fingerprints`; None: not)."""

    where: sa.ColumnElement
    fingerprints: LineFingerprints | None = None


def transformed_order_lines(source_engine: Engine, source_table: SourceTable, config: Config, filters: Filters,
                            rules: TransformRules, *,
                            progress: Callable[[int], None] | None = None,
                            router: Callable[[Mapping[str, Any]], str | None] | None = None,
                            changes: Changes | None = None, board: str | None = None,
                            other_keys: Counter[str] | None = None) -> Iterator[TransformedLine | RowError]:
    """Every order line in `filters`, transformed, numbered from 1 in read order (as reports show them).

    `progress`, when given, hears the number of lines read so far after each chunk. `router`, when
    given (a routed config, `engine.routes.Router`), names each line's board in its `board_id`.
    `changes` (`engine.fingerprints`): only the new and changed lines, read by key in the SQL (or, when
    there are too many to name, skipped before the transform), each with its number in the whole scope.
    `board` (with `router`): only the lines routed to that board are transformed and yielded; the business
    key of each other line is counted in `other_keys` (a key two lines share belongs on no board).
    """
    only_board = (board, other_keys if other_keys is not None else Counter()) if board is not None else None
    for _, result, _ in keyed_order_lines(source_engine, source_table, config, filters, rules, progress=progress,
                                          router=router, changes=changes, only_board=only_board):
        yield result


def keyed_order_lines(source_engine: Engine, source_table: SourceTable, config: Config, filters: Filters,
                      rules: TransformRules, *,
                      progress: Callable[[int], None] | None = None,
                      router: Callable[[Mapping[str, Any]], str | None] | None = None,
                      changes: Changes | None = None, only_board: tuple[str, Counter[str]] | None = None,
                      share: ShareOfScope | None = None,
                      ) -> Iterator[tuple[tuple[Any, ...], TransformedLine | RowError, str | None]]:
    """`transformed_order_lines`, each line with its key columns as read and its fingerprint (None unless
    `share` fingerprints them); `only_board`: (board, other_keys); `share`: only its rows (a transform
    process's share of the scope, `engine.parallel`)."""
    row, items, subitems, errors, transforming = 0, 0, 0, 0, 0.0
    fingerprints = share.fingerprints if share is not None else None
    fingerprinted, also = fingerprints.read_with_line() if fingerprints is not None else ((), [])
    columns = columns_read(source_table, config, also=(*IDENTIFYING_COLUMNS, *fingerprinted))
    only = None if changes is None else changed_rows_filter(source_table, config, changes, source_engine.dialect)
    if share is not None:
        only = share.where if only is None else sa.and_(only, share.where)
    numbers = None if changes is None else changes.numbers()
    key_names = tuple(config.source.business_key)
    read = read_order_lines(source_engine, source_table, config, filters, columns=columns, only=only, also=also)
    names = read.names
    rules = rules.reading(names)  # each line is a row of `names`: its values found by position
    key_of = rules.key_values
    fingerprint_of = fingerprints.of_rows(names) if fingerprints is not None else None
    for chunk in read.chunks:
        for order_line in chunk:
            row += 1
            number = row
            fingerprint = fingerprint_of(order_line) if fingerprint_of is not None else None
            raw_key = key_of(order_line)
            if numbers is not None:
                found = numbers.get(raw_key)
                if not found:  # unchanged (read with the whole scope), or come since the scope was read
                    if changes is not None and only is None:
                        continue
                else:
                    number = found.popleft()
            routed = router(dict(zip(names, order_line, strict=True))) if router is not None else None
            if only_board is not None and routed != only_board[0]:
                only_board[1][key_of_values(raw_key, key_names)[0] or ""] += 1
                continue
            started = time.monotonic()
            result = transform_order_line(order_line, rules, number)
            if router is not None:
                result = replace(result, board_id=routed)
            transforming += time.monotonic() - started
            if isinstance(result, RowError):
                errors += 1
            else:
                items, subitems = items + 1, subitems + len(result.subitems)
            yield raw_key, result, fingerprint
        if progress:
            progress(row)
    log.info("transform: %d order lines into %d items and %d subitems, %d row errors, in %.2f s", row, items,
             subitems, errors, transforming, extra={"stage": "transform", "order_lines": row, "items": items,
                                                    "subitems": subitems, "row_errors": errors,
                                                    "seconds": round(transforming, 3)})
