"""`ordersync validate`: the config against the live board, before a sync finds out the hard way.

Reads the board's schema through the API (and the source, for the labels it uses) and lists
every mismatch: mapped columns the board lacks or whose type differs, the key column, the
subitem board's Size and Order Qty columns, size columns or column types of the source that
changed since the last sync (what a sync would refuse), and — for status and dropdown columns
that may not create labels — the labels the source uses that the board does not have. Writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import httpx
from pydantic import SecretStr

from ordersync.config import Config, format_path, load_token
from ordersync.engine.capacity import COUNTED_FROM_API, capacity
from ordersync.engine.clients import client_for, http_for
from ordersync.engine.filters import Filters
from ordersync.engine.guards import source_drift
from ordersync.engine.lines import transformed_order_lines
from ordersync.engine.pipeline import Databases
from ordersync.engine.source import open_source
from ordersync.engine.transform import TransformedLine, rules_from_config
from ordersync.errors import ConfigError
from ordersync.monday.board import BoardInfo
from ordersync.monday.board_check import Mismatch, Validation, check_schema, type_problem
from ordersync.monday.codec import LABEL_TYPES, labels_of
from ordersync.monday.connect import read_board_schema

LABELS_LISTED = 20


def _labels_listed(labels: set[str]) -> str:
    shown = sorted(labels)[:LABELS_LISTED]
    more = f" and {len(labels) - LABELS_LISTED} more" if len(labels) > LABELS_LISTED else ""
    return ", ".join(repr(label) for label in shown) + more


def labels_in_source(config: Config, databases: Databases, column_ids: set[str], *, sizes: bool,
                     filters: Filters | None = None,
                     progress: Callable[[int], None] | None = None) -> tuple[dict[str, set[str]], set[str], int]:
    """The labels the source's order lines would send to these columns (and the sizes), as a sync encodes them."""
    source_table = open_source(databases.source, config)
    rules = rules_from_config(config, source_table.size_columns)
    types = {mapping.id: mapping.type for mapping in config.columns}
    used: dict[str, set[str]] = defaultdict(set)
    used_sizes: set[str] = set()
    read = 0
    for line in transformed_order_lines(databases.source, source_table, config, filters or Filters(), rules,
                                        progress=progress):
        read += 1
        if not isinstance(line, TransformedLine):
            continue
        for column_id in column_ids:
            used[column_id].update(labels_of(line.item.column_values.get(column_id), types.get(column_id, "")))
        if sizes:
            used_sizes.update(subitem.size for subitem in line.subitems)
    return used, used_sizes, read


def check_labels(config: Config, board: BoardInfo, databases: Databases, result: Validation, *,
                 filters: Filters | None = None, progress: Callable[[int], None] | None = None) -> None:
    """Labels the source uses that the board lacks, where the config does not let a sync create them."""
    fixed = {index: mapping for index, mapping in enumerate(config.columns)
             if mapping.type in LABEL_TYPES and not mapping.create_labels_if_missing
             and mapping.id in board.columns and not type_problem(board.columns[mapping.id], mapping.type)}
    subitems = config.subitems
    size_column = board.subitem_columns.get(subitems.size_column)
    check_sizes = (subitems.enabled and subitems.size_type in LABEL_TYPES
                   and not subitems.create_labels_if_missing and size_column is not None)
    if not fixed and not check_sizes:
        return
    used, used_sizes, result.order_lines_read = labels_in_source(
        config, databases, {mapping.id for mapping in fixed.values()}, sizes=check_sizes, filters=filters,
        progress=progress)
    for index, mapping in fixed.items():
        result.labels_checked += 1
        column = board.columns[mapping.id]
        missing = used.get(mapping.id, set()) - column.labels
        if missing:
            result.mismatches.append(Mismatch(
                format_path(("columns", index, "create_labels_if_missing")), mapping.id,
                f"the source uses {len(missing)} label(s) that column {column.title} ({mapping.id}) lacks: "
                f"{_labels_listed(missing)} — add them on the board, or set create_labels_if_missing = true"))
    if check_sizes and size_column is not None:
        result.labels_checked += 1
        missing = used_sizes - size_column.labels
        if missing:
            result.mismatches.append(Mismatch(
                "subitems.create_labels_if_missing", subitems.size_column,
                f"the source uses {len(missing)} size(s) that the subitem column {size_column.title} lacks: "
                f"{_labels_listed(missing)} — add them on the board, or set create_labels_if_missing = true"))


def check_source_shape(config: Config, databases: Databases, result: Validation) -> None:
    """The source's size columns and column types against those the board's last sync recorded:
    a change a sync would refuse (`SourceShapeChanged`) is a mismatch here too."""
    assert config.monday.board_id is not None
    source_table = open_source(databases.source, config)
    drift = source_drift(databases.state, config.monday.board_id, source_table, config)
    if drift is None:
        return
    named = {name: format_path(path) for path, name in reversed(config.referenced_source_columns().items())}
    for column, problem in drift.problems():
        path = "source.sizes" if column in drift.sizes_removed or column in drift.sizes_added else named.get(
            column, "source")
        result.mismatches.append(Mismatch(path, column, f"since the last sync, {problem} — a sync refuses until "
                                                         "`ordersync sync --accept-source-changes` confirms it"))


async def validate_async(config: Config, *, filters: Filters | None = None, http: httpx.AsyncClient | None = None,
                         token: SecretStr | None = None,
                         progress: Callable[[int], None] | None = None) -> Validation:
    """`ordersync validate` from Python: the same data `--json` prints."""
    if not config.monday.board_id:
        raise ConfigError("nothing to validate against: [monday] board_id is not set",
                          problems=["monday.board_id: missing"])
    token = token or load_token(config.monday)
    databases = Databases.open(config)
    try:
        async with http_for(config, http) as session:  # the token's budget, shared as a sync shares it
            board = await read_board_schema(client_for(config, session, token, databases.state),
                                            config.monday.board_id)
        result = check_schema(config, board)
        if board.items_count is not None:  # the board's own count, read with its schema: a warning from 90% full
            result.capacity = capacity(board.board_id, board.items_count, config.monday.items_per_board,
                                       counted_from=COUNTED_FROM_API)
            if result.capacity["warning"]:
                result.warnings.append(result.capacity["warning"])
        check_source_shape(config, databases, result)
        check_labels(config, board, databases, result, filters=filters, progress=progress)
    finally:
        databases.close()
    return result

