"""The planner: from one customer's staged rows to the mutations apply sends — pure, no I/O.

Each function takes rows as read from the staged tables (joined with the mirror where it
matters) and what is known of the board, and returns a `Batch`: the mutations to send, each
with the staged row it speaks for, and the rows refused before sending, each with its reason.
`ordersync.engine.apply` reads the rows, sends the mutations and records the outcome.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

from ordersync.config import ColumnMapping, Config
from ordersync.errors import ErrorCategory
from ordersync.monday.board import BoardInfo, placement
from ordersync.monday.client import Mutation
from ordersync.monday.codec import labels_of, quantity_value, subitem_values
from ordersync.state import Operation

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Refusal:
    """A row ordersync will not send, and why (a missing label; a group or parent that failed)."""

    row: Row
    reason: str
    category: ErrorCategory = ErrorCategory.VALIDATION


@dataclass
class Batch:
    """What one phase sends, and what it refuses or settles without a call."""

    mutations: list[Mutation] = field(default_factory=list)
    rows: dict[Any, Row] = field(default_factory=dict)  # mutation ref → the staged row it speaks for
    refused: list[Refusal] = field(default_factory=list)
    unchanged: list[Row] = field(default_factory=list)  # the hash moved but nothing the board shows did

    def add(self, mutation: Mutation, row: Row) -> None:
        self.mutations.append(mutation)
        self.rows[mutation.ref] = row


@dataclass(frozen=True)
class LabelRules:
    """Which status/dropdown columns may create the labels they lack, and the labels each has."""

    mappings: Mapping[str, ColumnMapping]
    board: BoardInfo

    @classmethod
    def of(cls, config: Config, board: BoardInfo) -> LabelRules:
        return cls({mapping.id: mapping for mapping in config.columns}, board)

    def problem(self, values: Mapping[str, Any]) -> str | None:
        """A status/dropdown label the board lacks, in a column not allowed to create labels."""
        for column_id, value in values.items():
            mapping = self.mappings.get(column_id)
            if mapping is None or mapping.type not in ("status", "dropdown") or mapping.create_labels_if_missing:
                continue
            column = self.board.columns.get(column_id)
            if column is None:
                continue  # Monday answers InvalidColumnIdException for the row
            for label in labels_of(value, mapping.type):
                if label not in column.labels:
                    return (f"label {label!r} does not exist in column {column.title} ({column_id}) and "
                            f"create_labels_if_missing is off for it: add the label on the board or allow it "
                            f"in the config")
        return None

    @property
    def board_owned(self) -> frozenset[str]:
        """Columns people own: an update never sends them (a create may, with `initial`)."""
        return frozenset(column_id for column_id, mapping in self.mappings.items() if mapping.owner == "board")

    def create_labels(self, values: Mapping[str, Any]) -> bool:
        return any(self.mappings[column_id].create_labels_if_missing for column_id in values
                   if column_id in self.mappings)


def group_mutations(board: BoardInfo, names: Sequence[str], order: str) -> list[Mutation]:
    """Aliases run in order: groups placed before an existing one go in ascending order, groups
    appended after the last one in descending order, so all end up alphabetical."""
    before: list[Mutation] = []
    after: list[Mutation] = []
    for name in names:
        if order == "alphabetical":
            method, relative_to = placement(board.groups, name)
        else:
            method, relative_to = ("after_at", board.groups[-1][1]) if board.groups else (None, None)
        variables: dict[str, Any] = {"board_id": board.board_id, "group_name": name}
        if relative_to:
            variables |= {"position_relative_method": method, "relative_to": relative_to}
        (after if method == "after_at" else before).append(Mutation("create_group", variables, name))
    return sorted(before, key=lambda m: str(m.ref)) + sorted(after, key=lambda m: str(m.ref), reverse=True)


def item_creates(rows: Sequence[Row], group_ids: Mapping[str, str], labels: LabelRules,
                 key_column: str) -> Batch:
    """New order lines: one create_item each, with the business key written into the key column."""
    batch = Batch()
    for row in rows:
        values = json.loads(row["column_values"] or "{}")
        group_id = group_ids.get(row["group_name"])
        if group_id is None:
            batch.refused.append(Refusal(row, f"group {row['group_name']!r} could not be created, so its items "
                                              "cannot be either", ErrorCategory.DEPENDENCY))
            continue
        problem = labels.problem(values)
        if problem:
            batch.refused.append(Refusal(row, problem))
            continue
        values[key_column] = row["item_key"]
        batch.add(Mutation("create_item", {
            "board_id": labels.board.board_id, "item_name": row["item_name"], "group_id": group_id,
            "column_values": json.dumps(values, ensure_ascii=False),
            "create_labels_if_missing": labels.create_labels(values),
        }, row["item_key"]), row)
    return batch


def changed_values(row: Row, board_owned: Set[str] = frozenset()) -> dict[str, Any]:
    """What an update sends: the columns whose value differs from the mirror's (a column the source
    no longer fills is cleared), and the name when it changed — never a board-owned column."""
    new = json.loads(row["column_values"] or "{}")
    old = json.loads(row["synced_values"] or "{}")
    changes = {column_id: value for column_id, value in new.items()
               if old.get(column_id) != value and column_id not in board_owned}
    changes |= {column_id: "" for column_id in old if column_id not in new and column_id not in board_owned}
    if row["item_name"] != row["synced_name"]:
        changes["name"] = row["item_name"]
    return changes


def item_updates(rows: Sequence[Row], group_ids: Mapping[str, str], labels: LabelRules) -> Batch:
    """Changed order lines: their changed values, and a move when their group changed. Refs are
    (item_key, "values") and (item_key, "move"): an update is done when all its parts are."""
    batch = Batch()
    for row in rows:
        changes = changed_values(row, labels.board_owned)
        moved = row["group_name"] != row["synced_group"]
        if moved and row["group_name"] not in group_ids:
            batch.refused.append(Refusal(row, f"group {row['group_name']!r} could not be created, so the item "
                                              "cannot move there", ErrorCategory.DEPENDENCY))
            continue
        problem = labels.problem(changes)
        if problem:
            batch.refused.append(Refusal(row, problem))
            continue
        if changes:
            batch.add(Mutation("change_multiple_column_values", {
                "board_id": labels.board.board_id, "item_id": row["item_id"],
                "column_values": json.dumps(changes, ensure_ascii=False),
                "create_labels_if_missing": labels.create_labels(changes),
            }, (row["item_key"], "values")), row)
        if moved:
            batch.add(Mutation("move_item_to_group", {
                "item_id": row["item_id"], "group_id": group_ids[row["group_name"]]}, (row["item_key"], "move")), row)
        if not changes and not moved:
            batch.unchanged.append(row)
    return batch


def subitem_creates(rows: Sequence[Row], config: Config) -> Batch:
    """New sizes: one create_subitem each, under the order line's item (refused when it has none)."""
    batch = Batch()
    for row in rows:
        if row["parent_item_id"] is None:
            batch.refused.append(Refusal(row, "its order line is not on the board (the item was not created), "
                                              "so the size cannot be added under it", ErrorCategory.DEPENDENCY))
            continue
        batch.add(Mutation("create_subitem", {
            "parent_item_id": row["parent_item_id"], "item_name": row["name"],
            "column_values": json.dumps(subitem_values(row["size"], row["quantity"], config.subitems),
                                        ensure_ascii=False),
            "create_labels_if_missing": config.subitems.create_labels_if_missing,
        }, (row["item_key"], row["size"])), row)
    return batch


def subitem_updates(rows: Sequence[Row], subitem_board: str, quantity_column: str) -> Batch:
    """Sizes whose quantity changed: the Order Qty column, on the subitem board."""
    batch = Batch()
    for row in rows:
        batch.add(Mutation("change_multiple_column_values", {
            "board_id": subitem_board, "item_id": row["subitem_id"],
            "column_values": json.dumps({quantity_column: quantity_value(row["quantity"])}),
        }, (row["item_key"], row["size"])), row)
    return batch


def removals(rows: Sequence[Row], id_field: str, with_size: bool) -> Batch:
    """Lines or sizes gone from the source: archived, or deleted where the config says so."""
    batch = Batch()
    for row in rows:
        document = "delete_item" if row["operation"] == Operation.DELETE.value else "archive_item"
        ref = (row["item_key"], row["size"]) if with_size else row["item_key"]
        batch.add(Mutation(document, {"item_id": row[id_field]}, ref), row)
    return batch
