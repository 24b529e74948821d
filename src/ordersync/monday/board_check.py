"""A config held against a board's schema: which mapped columns the board lacks or types differently.

`ordersync validate` reports the result (adding what the source's labels need); a sync calls
`check_board` to refuse before its first write when the board cannot hold what the config maps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ordersync.config import Config, format_path
from ordersync.errors import ConfigError
from ordersync.monday.board import BoardColumnInfo, BoardInfo

# Config column type → the board column types that accept its values (older API versions say `color`).
BOARD_TYPES: dict[str, frozenset[str]] = {
    "text": frozenset({"text"}),
    "long_text": frozenset({"long_text"}),
    "numbers": frozenset({"numbers", "numeric"}),
    "date": frozenset({"date"}),
    "status": frozenset({"status", "color"}),
    "dropdown": frozenset({"dropdown"}),
}


@dataclass
class Mismatch:
    path: str  # the config key it concerns
    column: str | None
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass
class Validation:
    board_id: str
    board_name: str
    subitem_board_id: str | None
    columns_checked: int = 0
    labels_checked: int = 0
    order_lines_read: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    capacity: dict[str, Any] | None = None  # the board's items_count against its cap (engine/capacity.py)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "board_id": self.board_id, "board_name": self.board_name,
            "subitem_board_id": self.subitem_board_id,
            "checked": {"columns": self.columns_checked, "label_columns": self.labels_checked,
                        "order_lines": self.order_lines_read},
            "mismatches": [{"path": m.path, "column": m.column, "problem": m.problem} for m in self.mismatches],
            "warnings": self.warnings,
            "capacity": self.capacity,
        }


def type_problem(column: BoardColumnInfo, wanted: str) -> str | None:
    if column.type in BOARD_TYPES.get(wanted, frozenset({wanted})):
        return None
    return f"board column {column.id!r} ({column.title}) is a {column.type} column, the config says {wanted}"


def _check_key_column(config: Config, board: BoardInfo, result: Validation) -> None:
    key = board.columns.get(config.monday.key_column)
    if key is None:
        result.mismatches.append(Mismatch("monday.key_column", config.monday.key_column,
                                          f"the board has no column {config.monday.key_column!r} to hold the "
                                          "business key: add a text column and put its id here"))
    elif key.type != "text":
        result.mismatches.append(Mismatch("monday.key_column", key.id,
                                          f"column {key.id!r} ({key.title}) is a {key.type} column; it must be text"))


def _check_mapped_columns(config: Config, board: BoardInfo, result: Validation) -> None:
    for index, mapping in enumerate(config.columns):
        path = format_path(("columns", index))
        result.columns_checked += 1
        column = board.columns.get(mapping.id)
        if column is None:
            result.mismatches.append(Mismatch(f"{path}.id", mapping.id,
                                              f"the board has no column {mapping.id!r} "
                                              + (f"(mapped from source column {mapping.source!r})"
                                                 if mapping.source else "(owned by the board)")))
            continue
        problem = type_problem(column, mapping.type)
        if problem:
            result.mismatches.append(Mismatch(f"{path}.type", mapping.id, problem))


def _check_subitem_columns(config: Config, board: BoardInfo, result: Validation) -> None:
    subitems = config.subitems
    if not subitems.enabled:
        return
    if board.subitem_board_id is None:
        result.warnings.append("the board has no subitem board yet (Monday makes one with the first subitem): "
                               f"its Size ({subitems.size_column}) and Order Qty ({subitems.quantity_column}) "
                               "columns cannot be checked until then")
        return
    checks = [("subitems.size_column", "subitems.size_type", subitems.size_column, subitems.size_type),
              ("subitems.quantity_column", "subitems.quantity_column", subitems.quantity_column, "numbers")]
    checks += [(f"subitems.columns[{index}].id", f"subitems.columns[{index}].type", column.id, column.type)
               for index, column in enumerate(subitems.columns)]  # board-owned, pulled back
    for id_key, type_key, column_id, wanted in checks:
        result.columns_checked += 1
        column = board.subitem_columns.get(column_id)
        if column is None:
            result.mismatches.append(Mismatch(id_key, column_id, f"the subitem board {board.subitem_board_id} has no "
                                              f"column {column_id!r}"))
            continue
        problem = type_problem(column, wanted)
        if problem:
            result.mismatches.append(Mismatch(type_key, column_id, problem))


def check_schema(config: Config, board: BoardInfo) -> Validation:
    """Everything that needs only the board's schema: columns, types, the key column, subitem columns."""
    result = Validation(board.board_id, board.name, board.subitem_board_id)
    _check_key_column(config, board, result)
    _check_mapped_columns(config, board, result)
    _check_subitem_columns(config, board, result)
    return result


def check_board(config: Config, board: BoardInfo) -> None:
    """Refuse before any write when the board cannot hold what the config maps: a missing or mistyped
    column would otherwise fail every row, one request at a time. `ordersync validate` lists the same."""
    found = check_schema(config, board)
    if found.mismatches:
        raise ConfigError(f"board {board.board_id} does not match the config; nothing was written:",
                          problems=[str(mismatch) for mismatch in found.mismatches],
                          hint="fix the config (or the board); `ordersync validate` checks them without syncing")
