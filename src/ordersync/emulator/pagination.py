"""`items_page` / `next_items_page` / `items_page_by_column_values`: filters, order and cursors.

The first page of a walk fixes the list of matching item ids (as Monday's cursor does: it is
valid for 60 minutes after the *initial* request) and hands out an opaque cursor naming that
list and an offset. Items archived or deleted after the first page are skipped when their page
comes. Without `order_by` the order is creation order (= id order).
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from ordersync.emulator.date_rules import BLANK, date_rule_holds
from ordersync.emulator.errors import ApiError, Code, invalid_argument, invalid_column
from ordersync.emulator.model import ACTIVE, Board, Item
from ordersync.emulator.store import Store
from ordersync.emulator.values import empty_text

ORDER_BY_SPECIAL = {"__creation_log__": "created_at", "__last_updated__": "updated_at"}


@dataclass
class _Walk:
    item_ids: list[str]
    started: float


@dataclass
class Page:
    items: list[Item]
    cursor: str | None


@dataclass
class CursorRegistry:
    """Cursor id → the ids of one walk. In memory only: cursors do not survive a restart."""

    ttl_seconds: float
    walks: dict[str, _Walk] = field(default_factory=dict)

    def first_page(self, store: Store, item_ids: list[str], limit: int) -> Page:
        now = time.monotonic()
        self._forget_expired(now)
        walk_id = secrets.token_urlsafe(9)
        self.walks[walk_id] = _Walk(item_ids, now)
        return self._page(store, walk_id, 0, limit)

    def next_page(self, store: Store, cursor: str, limit: int) -> Page:
        walk_id, offset = _decode(cursor)
        walk = self.walks.get(walk_id)
        if walk is None:
            raise ApiError(Code.CURSOR_EXPIRED, "The cursor is invalid or has expired; start again from items_page",
                           error_data={"cursor": cursor})
        if time.monotonic() - walk.started > self.ttl_seconds:
            del self.walks[walk_id]
            raise ApiError(Code.CURSOR_EXPIRED, "The cursor has expired (60 minutes after the first page)",
                           error_data={"cursor": cursor})
        return self._page(store, walk_id, offset, limit)

    def _page(self, store: Store, walk_id: str, offset: int, limit: int) -> Page:
        walk = self.walks[walk_id]
        end = min(offset + limit, len(walk.item_ids))
        items = [store.items[item_id] for item_id in walk.item_ids[offset:end]]
        items = [item for item in items if item.state == ACTIVE]
        if end >= len(walk.item_ids):
            del self.walks[walk_id]
            return Page(items, None)
        return Page(items, _encode(walk_id, end))

    def _forget_expired(self, now: float) -> None:
        expired = [key for key, walk in self.walks.items() if now - walk.started > self.ttl_seconds]
        for key in expired:
            del self.walks[key]


def _encode(walk_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{walk_id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        offset, walk_id = base64.urlsafe_b64decode(padded.encode()).decode().split(":", 1)
        return walk_id, int(offset)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(Code.CURSOR_EXPIRED, "The cursor is invalid or has expired; start again from items_page",
                       error_data={"cursor": cursor}) from error


def check_limit(limit: int, maximum: int) -> int:
    if limit < 1 or limit > maximum:
        raise invalid_argument(f"limit must be between 1 and {maximum}", limit=limit)
    return limit


def matching_items(store: Store, board: Board, group_id: str | None, query: dict[str, Any] | None) -> list[str]:
    """Ids of the board's active items that satisfy `query_params` (ItemsQuery), in order."""
    items = list(store.active_items(board, group_id))
    if not query:
        return [item.id for item in items]
    ids = query.get("ids")
    if ids is not None:
        if len(ids) > 100:
            raise invalid_argument("ItemsQuery.ids takes at most 100 ids", count=len(ids))
        wanted = {str(item_id) for item_id in ids}
        items = [item for item in items if item.id in wanted]
    if query.get("rules") or query.get("groups"):
        items = [item for item in items if _group_holds(board, item, query)]
    for order in reversed(query.get("order_by") or []):
        column_id = order["column_id"]
        items.sort(key=lambda item: _sort_key(board, item, column_id), reverse=order.get("direction") == "desc")
    return [item.id for item in items]


def _group_holds(board: Board, item: Item, group: dict[str, Any]) -> bool:
    results = itertools.chain(
        (_rule_holds(board, item, rule) for rule in group.get("rules") or []),
        (_group_holds(board, item, inner) for inner in group.get("groups") or []),
    )
    return any(results) if group.get("operator") == "or" else all(results)


def _cell_text(board: Board, item: Item, column_id: str) -> str:
    if column_id == "name":
        return item.name
    column = board.columns.get(column_id)
    if column is None:
        raise invalid_column(column_id, board.id)
    cell = item.values.get(column_id)
    return (cell.text if cell else empty_text(column.type)) or ""


def _cell_ids(item: Item, column_id: str) -> set[str]:
    """Label ids of a status/dropdown cell, or `person-<id>`/`team-<id>` of a people cell, which `any_of`
    rules may compare against."""
    cell = item.values.get(column_id)
    if cell is None or not cell.value or not cell.value.startswith("{"):
        return set()
    stored = json.loads(cell.value)
    if "index" in stored:
        return {str(stored["index"])}
    if "linkedPulseIds" in stored:  # connect boards and dependency: the linked items' ids
        return {str(entry["linkedPulseId"]) for entry in stored["linkedPulseIds"]}
    if "personsAndTeams" in stored:
        return {f"{entry.get('kind', 'person')}-{entry['id']}" for entry in stored["personsAndTeams"]}
    return {str(label_id) for label_id in stored.get("ids", [])}


def _as_number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _compare_values(rule: dict[str, Any]) -> list[str]:
    raw = rule.get("compare_value")
    values = raw if isinstance(raw, list) else [raw]
    return [str(value) for value in values if value is not None and value != "EXACT"]


def _rule_holds(board: Board, item: Item, rule: dict[str, Any]) -> bool:
    column_id = str(rule["column_id"])
    operator = rule.get("operator") or "any_of"
    column = board.columns.get(column_id)
    if column is not None and column.type in ("date", "timeline", "week"):
        return date_rule_holds(item, column, operator, rule)
    if column_id == "group" and column is None and operator in ("any_of", "not_any_of"):
        hit = item.group_id in _compare_values(rule)  # the board's groups, by id (a column of every board)
        return hit if operator == "any_of" else not hit
    text = _cell_text(board, item, column_id)
    values = _compare_values(rule)
    if operator in ("any_of", "not_any_of"):
        hit = (text in values or bool(_cell_ids(item, column_id) & set(values))
               or (text == "" and ("" in values or BLANK in values)))
        return hit if operator == "any_of" else not hit
    if operator == "is_empty":
        return text == ""
    if operator == "is_not_empty":
        return text != ""
    lowered = text.lower()
    if operator in ("contains_text", "not_contains_text"):
        hit = any(value.lower() in lowered for value in values)
        return hit if operator == "contains_text" else not hit
    if operator == "contains_terms":
        return all(term.lower() in lowered for value in values for term in value.split())
    if operator == "starts_with":
        return any(lowered.startswith(value.lower()) for value in values)
    if operator == "ends_with":
        return any(lowered.endswith(value.lower()) for value in values)
    if operator in ("greater_than", "greater_than_or_equals", "lower_than", "lower_than_or_equal", "between"):
        return _ordered_rule(text, operator, values)
    raise invalid_argument(f"The emulator does not support the rule operator {operator}", operator=operator)


def _ordered_rule(text: str, operator: str, values: list[str]) -> bool:
    if text == "" or not values:
        return False
    left: Any = _as_number(text)
    rights: list[Any] = [_as_number(value) for value in values]
    if left is None or None in rights:
        left, rights = text, values  # dates and other text compare as ISO strings
    if operator == "between":
        return len(rights) >= 2 and rights[0] <= left <= rights[1]
    right = rights[0]
    return {
        "greater_than": left > right,
        "greater_than_or_equals": left >= right,
        "lower_than": left < right,
        "lower_than_or_equal": left <= right,
    }[operator]


def _sort_key(board: Board, item: Item, column_id: str) -> tuple[int, float, str]:
    """Empty values last; numbers by value, everything else by text."""
    if column_id in ORDER_BY_SPECIAL:
        return (0, 0.0, getattr(item, ORDER_BY_SPECIAL[column_id]))
    text = _cell_text(board, item, column_id)
    if text == "":
        return (1, 0.0, "")
    column = board.columns.get(column_id)
    number = _as_number(text) if column is not None and column.type == "numbers" else None
    return (0, number, "") if number is not None else (0, 0.0, text.lower())
