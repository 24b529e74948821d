"""The `ColumnValue` implementations of the less common column types — hour, rating, week, world clock,
location, team, vote, creation log and group — read from a `resolvers.ColumnValueView` (its `value` JSON,
its item), and a mirror's `display_value`. Their writes are checked in values.py; creation log, group,
vote and mirror are computed, never written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo

from ordersync.emulator.model import ACTIVE, Column, Group, Item, User
from ordersync.emulator.store import Store

TYPED_VALUE_TYPES = {
    "hour": "HourValue", "rating": "RatingValue", "week": "WeekValue", "world_clock": "WorldClockValue",
    "location": "LocationValue", "team": "TeamValue", "vote": "VoteValue", "creation_log": "CreationLogValue",
    "group": "GroupValue",
}
"""Column type → its `ColumnValue` implementation, beside resolvers.VALUE_TYPES."""
LOCATION_FIELDS = ("city", "city_short", "country", "country_short", "place_id", "street", "street_number",
                   "street_number_short", "street_short")


def _stored(view: Any) -> dict[str, Any]:
    stored = json.loads(view.value) if view.value else {}
    return stored if isinstance(stored, dict) else {}


def _key(name: str, convert: Callable[[Any], Any] = lambda value: value) -> Callable[[Any, GraphQLResolveInfo], Any]:
    def read(view: Any, info: GraphQLResolveInfo) -> Any:
        value = _stored(view).get(name)
        return None if value is None else convert(value)
    return read


def _week(bound: str) -> Callable[[Any, GraphQLResolveInfo], str | None]:
    return lambda view, info: (_stored(view).get("week") or {}).get(bound)


def _item(view: Any, info: GraphQLResolveInfo) -> Item:
    item: Item = info.context.store.items[view.item_id]
    return item


def _creator(view: Any, info: GraphQLResolveInfo) -> User | None:
    users: dict[int, User] = info.context.store.users
    return users.get(int(_item(view, info).creator_id))


def _group(view: Any, info: GraphQLResolveInfo) -> Group | None:
    item = _item(view, info)
    return info.context.store.boards[item.board_id].groups.get(item.group_id)


def _creation_text(view: Any, info: GraphQLResolveInfo) -> str:
    return _item(view, info).created_at.replace("T", " ").replace("Z", " UTC")


def mirror_display(store: Store, item: Item, column: Column) -> str:
    """A mirror column's text: the displayed columns of the items its relation columns link to, joined by
    ", ", as created with `defaults: {"relation_column": {<column id>: true}, "displayed_linked_columns":
    {<board id>: [<column ids>]}}`. The relation is a connect-boards or dependency column of the item's
    board, or its subitems column (a mirror of subitem values). A mirror of a mirror reads empty."""
    board = store.boards[item.board_id]
    relations = [board.columns[c] for c, on in (column.settings.get("relation_column") or {}).items()
                 if on and c in board.columns]
    shown = {str(b): list(ids) for b, ids in (column.settings.get("displayed_linked_columns") or {}).items()}
    texts: list[str] = []
    for relation in relations:
        for linked in _linked(store, item, relation):
            linked_board = store.boards[linked.board_id]
            for column_id in shown.get(linked_board.id, []):
                target = linked_board.columns.get(column_id)
                cell = linked.values.get(column_id) if target is not None and target.type != "mirror" else None
                if column_id == "name":
                    texts.append(linked.name)
                elif cell is not None and cell.text:
                    texts.append(cell.text)
    return ", ".join(texts)


def _linked(store: Store, item: Item, relation: Column) -> list[Item]:
    if relation.type == "subtasks":
        ids = item.subitem_ids
    else:
        cell = item.values.get(relation.id)
        stored = json.loads(cell.value) if cell is not None and cell.value else {}
        ids = [str(entry["linkedPulseId"]) for entry in stored.get("linkedPulseIds", [])]
    found = (store.items.get(item_id) for item_id in ids)
    return [linked for linked in found if linked is not None and linked.state == ACTIVE]


def _mirror(view: Any, info: GraphQLResolveInfo) -> str:
    return mirror_display(info.context.store, _item(view, info), view.column)


TYPED_VALUE_RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {
    "MirrorValue": {"display_value": _mirror},
    "HourValue": {"hour": _key("hour", int), "minute": _key("minute", int)},
    "RatingValue": {"rating": _key("rating", int)},
    "WeekValue": {"start_date": _week("startDate"), "end_date": _week("endDate")},
    "WorldClockValue": {"timezone": _key("timezone")},
    "LocationValue": {"lat": _key("lat", float), "lng": _key("lng", float), "address": _key("address"),
                      **{name: _key(name) for name in LOCATION_FIELDS}},
    "TeamValue": {"team_id": _key("team_id", int)},
    # nobody votes through the API: a vote column counts the votes people cast on the board, here none
    "VoteValue": {"vote_count": lambda view, info: 0, "voter_ids": lambda view, info: [],
                  "voters": lambda view, info: [], "text": lambda view, info: "0"},
    "CreationLogValue": {"created_at": lambda view, info: _item(view, info).created_at,
                         "creator_id": lambda view, info: _item(view, info).creator_id,
                         "creator": _creator, "text": _creation_text},
    "GroupValue": {"group": _group, "group_id": lambda view, info: _item(view, info).group_id,
                   "text": lambda view, info: (group.title if (group := _group(view, info)) else "")},
}
"""Merged into resolvers.RESOLVERS."""
