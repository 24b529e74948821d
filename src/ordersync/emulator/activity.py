"""Who changed what: the store's journal of item changes, told as events, kept as the boards' activity log.

The `Store` appends a `Change` for every item it creates, renames, re-values, moves, archives or deletes,
without knowing who asked. After each request (an API call, or an operator's edit as another person) the
emulator attributes the journal to the acting user and turns each change into one `ItemEvent`: what
`Board.activity_logs` lists and what webhooks deliver (webhooks.py), so the two always agree. A write that
leaves a value as it was (same text, same value but for `changed_at`) is no event, as nothing changed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from graphql import GraphQLResolveInfo

from ordersync.emulator.errors import invalid_argument
from ordersync.emulator.model import Board, CellValue, Column, Item

ChangeKind = Literal["column_value", "name", "create", "archive", "delete", "move_group"]

EVENT_TYPES: dict[ChangeKind, str] = {
    "column_value": "update_column_value", "name": "update_name", "create": "create_pulse",
    "archive": "archive_pulse", "delete": "delete_pulse", "move_group": "move_pulse_into_group",
}
"""A change → the event `type` Monday's webhook payloads and activity log entries carry."""

HOOK_COLUMN_TYPES = {
    "status": "color", "numbers": "numeric", "people": "multiple-person", "long_text": "long-text",
    "checkbox": "boolean", "timeline": "timerange", "board_relation": "board-relation", "tags": "tag",
}
"""API column type → the type name webhook payloads use (`color` and `multiple-person` are in Monday's
published samples; the others are Monday's internal names as its column ids show them)."""

LABEL_STYLES = {
    "working_orange": ("#fdab3d", "#e99729", "orange"), "done_green": ("#00c875", "#00b461", "green-shadow"),
    "stuck_red": ("#e2445c", "#ce3048", "red-shadow"),
}
_GREY = ("#c4c4c4", "#b0b0b0", "grey")


@dataclass(frozen=True)
class Change:
    """One thing the store did to an item, journaled as it happened (`Store.journal`)."""

    kind: ChangeKind
    item_id: str
    column_id: str | None = None
    previous: CellValue | None = None
    value: CellValue | None = None
    previous_name: str | None = None
    previous_group: str | None = None
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class ItemEvent:
    """A change told as Monday tells it: who, when, on which item of which board, and the values in the
    shape webhook payloads carry. Subitem events name their parent item and its board."""

    type: str
    user_id: int
    at: float
    board_id: str
    item_id: str
    item_name: str
    group_id: str
    group_title: str
    group_color: str
    is_top_group: bool
    parent_item_id: str | None = None
    parent_board_id: str | None = None
    column_id: str | None = None
    column_type: str | None = None  # the API's type (`status`); `hook_column_type` is the payload's
    column_title: str | None = None
    value: Any = None
    previous_value: Any = None
    column_values: dict[str, Any] = field(default_factory=dict)
    source_group_id: str | None = None

    @property
    def is_subitem(self) -> bool:
        return self.parent_item_id is not None

    @property
    def hook_column_type(self) -> str | None:
        return HOOK_COLUMN_TYPES.get(self.column_type, self.column_type) if self.column_type else None


def hook_value(column: Column, cell: CellValue | None) -> Any:
    """A stored value in the shape webhook payloads and activity logs carry (not the API's `value`):
    status as `{"label": {index, text, style, is_done}, "post_id"}`, text and numbers as `{"value"}`,
    dropdowns as `{"chosenValues": [{id, name}]}`, the rest as the stored JSON."""
    if cell is None:
        return None
    stored = json.loads(cell.value) if cell.value else {}
    if column.type == "status":
        label = column.label(int(stored["index"])) if "index" in stored else None
        color, border, var_name = LABEL_STYLES.get((label or {}).get("color", ""), _GREY)
        return {"label": {"index": stored.get("index"), "text": cell.text,
                          "style": {"color": color, "border": border, "var_name": var_name},
                          "is_done": bool((label or {}).get("is_done"))}, "post_id": None}
    if column.type == "text":
        return {"value": cell.text}
    if column.type == "numbers":
        number = float(cell.text) if cell.text else None
        return {"value": int(number) if number is not None and number.is_integer() else number}
    if column.type == "date":
        return {"date": stored.get("date"), "icon": None, "time": stored.get("time"),
                "changed_at": stored.get("changed_at")}
    if column.type == "dropdown":
        labels = (column.label(int(label_id)) for label_id in stored.get("ids", []))
        return {"chosenValues": [{"id": label["id"], "name": label["label"]} for label in labels if label]}
    return stored if isinstance(stored, dict) else {"value": stored}


def _unchanged(previous: CellValue | None, value: CellValue | None) -> bool:
    if previous is None or value is None:
        return previous is value
    return previous.text == value.text and _without_stamp(previous.value) == _without_stamp(value.value)


def _without_stamp(value: str | None) -> Any:
    decoded = json.loads(value) if value else None
    if isinstance(decoded, dict):
        decoded.pop("changed_at", None)
    return decoded


def describe(change: Change, item: Item, board: Board, parent: Item | None, user_id: int) -> ItemEvent | None:
    """The event a change makes, read against the store as it is now (right after the request);
    None for a write that changed nothing."""
    group = board.groups[item.group_id]
    top = board.visible_groups()
    common: dict[str, Any] = {
        "type": EVENT_TYPES[change.kind], "user_id": user_id, "at": change.at, "board_id": board.id,
        "item_id": item.id, "item_name": item.name, "group_id": group.id, "group_title": group.title,
        "group_color": group.color, "is_top_group": bool(top) and top[0].id == group.id,
        "parent_item_id": parent.id if parent else None, "parent_board_id": parent.board_id if parent else None,
    }
    if change.kind == "column_value":
        if _unchanged(change.previous, change.value) or change.column_id not in board.columns:
            return None
        column = board.columns[change.column_id]
        return ItemEvent(**common, column_id=column.id, column_type=column.type, column_title=column.title,
                         value=hook_value(column, change.value), previous_value=hook_value(column, change.previous))
    if change.kind == "name":
        if change.previous_name == item.name:
            return None
        return ItemEvent(**common, value={"name": item.name}, previous_value={"name": change.previous_name})
    if change.kind == "create":
        values = {column_id: hook_value(board.columns[column_id], cell) for column_id, cell in item.values.items()
                  if column_id in board.columns}
        return ItemEvent(**common, column_values=values)
    if change.kind == "move_group":
        return ItemEvent(**common, source_group_id=change.previous_group)
    return ItemEvent(**common)


def events_of(journal: Iterable[Change], items: Mapping[str, Item], boards: Mapping[str, Board],
              user_id: int) -> Iterator[ItemEvent]:
    """The journal's changes as events by `user_id` (the store's `items` and `boards` as they are now),
    skipping writes that changed nothing."""
    for change in journal:
        item = items.get(change.item_id)
        if item is None:
            continue
        parent = items.get(item.parent_id) if item.parent_id else None
        event = describe(change, item, boards[item.board_id], parent, user_id)
        if event is not None:
            yield event


# ---------------------------------------------------------------------------- the activity log


@dataclass(frozen=True)
class ActivityEntry:
    """One `ActivityLogType`: `data` is the JSON text Monday returns, `created_at` its 17-digit stamp
    (ten-millionths of a second since the epoch)."""

    id: str
    event: str
    entity: str
    account_id: str
    user_id: str
    created_at: str
    data: str
    board_id: str
    item_id: str
    group_id: str
    column_id: str | None
    at: float


def _entry_data(event: ItemEvent) -> dict[str, Any]:
    data: dict[str, Any] = {"board_id": int(event.board_id), "group_id": event.group_id,
                            "is_top_group": event.is_top_group, "pulse_id": int(event.item_id),
                            "pulse_name": event.item_name}
    if event.parent_item_id:
        data.update(parent_item_id=int(event.parent_item_id), parent_board_id=int(event.parent_board_id or 0))
    if event.column_id:
        data.update(column_id=event.column_id, column_type=event.hook_column_type, column_title=event.column_title,
                    value=event.value, previous_value=event.previous_value, is_column_with_hide_permissions=False)
    elif event.type == "update_name":
        data.update(value=event.value, previous_value=event.previous_value)
    elif event.type == "create_pulse":
        data.update(group_name=event.group_title, column_values=event.column_values)
    elif event.type == "move_pulse_into_group":
        data.update(source_group_id=event.source_group_id, dest_group_id=event.group_id)
    return data


class ActivityLog:
    """Every board's activity, newest last; in memory only (reset with the store). The newest `limit`
    entries are kept (Monday keeps a board's activity for a limited time too): a load of 400,000 writes
    must not grow the emulator without end."""

    def __init__(self, account_id: Callable[[], int], limit: int | None = None) -> None:
        self._account_id = account_id
        self.entries: deque[ActivityEntry] = deque(maxlen=limit)

    def add(self, event: ItemEvent) -> ActivityEntry:
        entry = ActivityEntry(id=str(uuid.uuid4()), event=event.type, entity="pulse",
                              account_id=str(self._account_id()), user_id=str(event.user_id),
                              created_at=str(int(event.at * 10_000_000)),
                              data=json.dumps(_entry_data(event), ensure_ascii=False, separators=(",", ":")),
                              board_id=event.board_id, item_id=event.item_id, group_id=event.group_id,
                              column_id=event.column_id, at=event.at)
        self.entries.append(entry)
        return entry

    def of_board(self, board_id: str) -> Iterator[ActivityEntry]:
        return (entry for entry in reversed(self.entries) if entry.board_id == board_id)

    def clear(self) -> None:
        self.entries.clear()


def _moment(text: str | None, argument: str) -> float | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise invalid_argument(f"{argument} must be an ISO 8601 date-time", **{argument: text}) from error
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _board_activity_logs(board: Board, info: GraphQLResolveInfo, **arguments: Any) -> list[ActivityEntry]:
    """`Board.activity_logs(column_ids, from, group_ids, item_ids, limit, page, to, user_ids)`: newest
    first, filtered, one page (`**arguments`: `from` is a Python keyword)."""
    log: ActivityLog | None = info.context.activity
    if log is None:
        return []
    start, end = _moment(arguments.get("from"), "from"), _moment(arguments.get("to"), "to")
    wanted = {
        "column_id": arguments.get("column_ids"), "group_id": arguments.get("group_ids"),
        "item_id": arguments.get("item_ids"), "user_id": arguments.get("user_ids"),
    }
    sets = {name: {str(value) for value in values} for name, values in wanted.items() if values is not None}
    found = [entry for entry in log.of_board(board.id)
             if all(getattr(entry, name) in values for name, values in sets.items())
             and (start is None or entry.at >= start) and (end is None or entry.at <= end)]
    limit, page = arguments.get("limit", 25), max(arguments.get("page", 1), 1)
    return found[(page - 1) * limit:page * limit]


ACTIVITY_RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {"Board": {"activity_logs": _board_activity_logs}}
"""Merged into `resolvers.RESOLVERS`."""

