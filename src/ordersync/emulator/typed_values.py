"""The `ColumnValue` implementations of the less common column types — hour, rating, week, world clock,
location, team, vote, creation log and group — read from a `resolvers.ColumnValueView` (its `value` JSON,
its item). Their writes are checked in values.py; creation log, group and vote are computed, never written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo

from ordersync.emulator.model import Group, Item, User

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


TYPED_VALUE_RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {
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
