"""What each field of the emulator's schema returns, read from or written to the `Store`.

Root mutations are thin: they decode arguments the way Monday does (`column_values` is a JSON
scalar, usually a JSON-encoded string) and call one `Store` method. Raising `ApiError` fails
only the field that raised, which is how one alias of a batch fails while the others succeed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from graphql import GraphQLResolveInfo

from ordersync.emulator.account_fields import ACCOUNT_RESOLVERS, board_workspace_matches, version_of
from ordersync.emulator.activity import ACTIVITY_RESOLVERS, ActivityLog
from ordersync.emulator.errors import ApiError, Code, column_value_error, invalid_argument
from ordersync.emulator.jobs import Job, Jobs
from ordersync.emulator.limits import Charge
from ordersync.emulator.model import ACTIVE, Board, CellValue, Column, Group, Item, User
from ordersync.emulator.pagination import CursorRegistry, Page, check_limit, matching_items
from ordersync.emulator.responses import ApiVersion
from ordersync.emulator.settings import EmulatorSettings
from ordersync.emulator.store import Store
from ordersync.emulator.typed_values import TYPED_VALUE_RESOLVERS, TYPED_VALUE_TYPES
from ordersync.emulator.values import empty_text
from ordersync.emulator.webhooks import WEBHOOK_RESOLVERS, Webhooks

VALUE_TYPES = {
    "text": "TextValue", "long_text": "LongTextValue", "numbers": "NumbersValue", "date": "DateValue",
    "status": "StatusValue", "dropdown": "DropdownValue", "checkbox": "CheckboxValue", "email": "EmailValue",
    "link": "LinkValue", "people": "PeopleValue", "phone": "PhoneValue", "timeline": "TimelineValue",
    "country": "CountryValue", "board_relation": "BoardRelationValue", "mirror": "MirrorValue",
    "formula": "FormulaValue", "item_id": "ItemIdValue", "last_updated": "LastUpdatedValue",
    "subtasks": "SubtasksValue", "tags": "TagsValue", "dependency": "DependencyValue", **TYPED_VALUE_TYPES,
}
"""Column type → the `ColumnValue` implementation Monday returns for it (others: UnsupportedValue)."""


@dataclass
class RequestContext:
    """What resolvers of one request share."""

    store: Store
    cursors: CursorRegistry
    settings: EmulatorSettings
    user: User
    version: ApiVersion
    base_url: str
    jobs: Jobs
    charge: Charge | None = None
    job_failure: bool = False  # the fault header asked that a bulk job started here fail
    webhooks: Webhooks | None = None  # subscriptions and deliveries (webhooks.py)
    activity: ActivityLog | None = None  # the boards' activity logs (activity.py)


def _ctx(info: GraphQLResolveInfo) -> RequestContext:
    context: RequestContext = info.context
    return context


def _decode_json(raw: Any, argument: str) -> Any:
    """A JSON scalar argument: a JSON-encoded string (what Monday documents) or an inline object."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise ApiError(Code.JSON_PARSE, f"{argument} is not valid JSON: {error.msg}", status_code=400,
                       error_data={"argument": argument}) from error


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _column_values(raw: Any) -> dict[str, Any]:
    values = _decode_json(raw, "column_values")
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise invalid_argument("column_values must be a JSON object keyed by column id")
    return values


# ---------------------------------------------------------------------------- column values


class ColumnValueView:
    """One `ColumnValue` as a client reads it; typed fields (StatusValue.index, …) are properties."""

    def __init__(self, store: Store, board: Board, column: Column, item: Item) -> None:
        self._store = store
        self._board = board
        self.column = column
        self._item = item
        self.id = column.id
        self.type = column.type
        self.cell = item.values.get(column.id) or self._computed()

    def _computed(self) -> CellValue | None:
        """Values Monday computes: item id, last update, subitems; mirror and formula stay empty."""
        item, kind = self._item, self.column.type
        if kind == "item_id":
            return CellValue(None, item.id)
        if kind == "last_updated":
            return CellValue(_compact({"updated_at": item.updated_at}), item.updated_at)
        if kind == "subtasks":
            subitems = [self._store.items[i] for i in item.subitem_ids if self._store.items[i].state == ACTIVE]
            if not subitems:
                return None
            linked = {"linkedPulseIds": [{"linkedPulseId": int(s.id)} for s in subitems]}
            return CellValue(_compact(linked), ", ".join(s.name for s in subitems))
        return None

    @property
    def text(self) -> str | None:
        return self.cell.text if self.cell else empty_text(self.type)

    @property
    def value(self) -> str | None:
        return self.cell.value if self.cell else None

    @cached_property
    def _stored(self) -> dict[str, Any]:
        if self.cell is None or not self.cell.value:
            return {}
        decoded = json.loads(self.cell.value)
        return decoded if isinstance(decoded, dict) else {}

    @property
    def is_leaf(self) -> bool:
        return not any(self._store.items[i].state == ACTIVE for i in self._item.subitem_ids)

    # StatusValue
    @property
    def index(self) -> int | None:
        return self._stored.get("index")

    @property
    def label(self) -> str | None:
        if self.type == "email":
            return self._stored.get("text")
        return self.cell.text if self.cell else None

    @property
    def is_done(self) -> bool | None:
        label = self.column.label(self._stored["index"]) if "index" in self._stored else None
        return bool(label.get("is_done")) if label else None

    # NumbersValue
    @property
    def number(self) -> float | None:
        return float(self.cell.text) if self.cell and self.cell.text else None

    # DateValue, TimelineValue, LastUpdatedValue
    @property
    def date(self) -> str | None:
        return self._stored.get("date")

    @property
    def time(self) -> str | None:
        return self._stored.get("time")

    @property
    def from_(self) -> str | None:
        return self._stored.get("from")

    @property
    def to(self) -> str | None:
        return self._stored.get("to")

    @property
    def updated_at(self) -> str | None:
        return self._item.updated_at if self.type == "last_updated" else self._stored.get("changed_at")

    # DropdownValue
    @property
    def values(self) -> list[dict[str, Any]]:
        labels = (self.column.label(label_id) for label_id in self._stored.get("ids", []))
        return [{"id": label["id"], "label": label["label"]} for label in labels if label]

    # CheckboxValue
    @property
    def checked(self) -> bool:
        return bool(self._stored.get("checked"))

    # EmailValue, LinkValue, PhoneValue
    @property
    def email(self) -> str | None:
        return self._stored.get("email")

    @property
    def url(self) -> str | None:
        return self._stored.get("url")

    @property
    def url_text(self) -> str | None:
        return self._stored.get("text")

    @property
    def phone(self) -> str | None:
        return self._stored.get("phone")

    @property
    def country_short_name(self) -> str | None:
        return self._stored.get("countryShortName")

    # PeopleValue
    @property
    def persons_and_teams(self) -> list[dict[str, Any]]:
        return list(self._stored.get("personsAndTeams", []))

    # BoardRelationValue, SubtasksValue, MirrorValue, FormulaValue, ItemIdValue
    @property
    def linked_item_ids(self) -> list[str]:
        return [str(entry["linkedPulseId"]) for entry in self._stored.get("linkedPulseIds", [])]

    @property
    def subitems_ids(self) -> list[str]:
        return self.linked_item_ids

    @property
    def display_value(self) -> str:
        if self.type in ("board_relation", "dependency"):
            names = (self._store.item_name(item_id) for item_id in self.linked_item_ids)
            return ", ".join(name for name in names if name)
        return (self.cell.text if self.cell else None) or ""

    @property
    def item_id(self) -> str:
        return self._item.id


def resolve_value_type(view: ColumnValueView, info: GraphQLResolveInfo, abstract: Any) -> str:
    return VALUE_TYPES.get(view.type, "UnsupportedValue")


# ---------------------------------------------------------------------------- object types


def _board_columns(board: Board, info: GraphQLResolveInfo, ids: list[str] | None = None,
                   types: list[str] | None = None) -> list[Column]:
    columns = list(board.columns.values())
    if ids is not None:
        wanted = set(ids)
        columns = [c for c in columns if c.id in wanted]
    if types is not None:
        kinds = set(types)
        columns = [c for c in columns if c.type in kinds]
    return columns


def _board_groups(board: Board, info: GraphQLResolveInfo, ids: list[str] | None = None) -> list[Group]:
    groups = board.visible_groups()
    return groups if ids is None else [g for g in groups if g.id in set(ids)]


def _items_page(ctx: RequestContext, board: Board, group_id: str | None, limit: int,
                cursor: str | None, query_params: dict[str, Any] | None) -> Page:
    check_limit(limit, ctx.settings.page_limit_max)
    if cursor is not None:
        if query_params is not None:
            raise invalid_argument("Pass either cursor or query_params, not both")
        return ctx.cursors.next_page(ctx.store, cursor, limit)
    return ctx.cursors.first_page(ctx.store, matching_items(ctx.store, board, group_id, query_params), limit)


def _board_items_page(board: Board, info: GraphQLResolveInfo, limit: int = 25, cursor: str | None = None,
                      query_params: dict[str, Any] | None = None) -> Page:
    return _items_page(_ctx(info), board, None, limit, cursor, query_params)


def _group_items_page(group: Group, info: GraphQLResolveInfo, limit: int = 25, cursor: str | None = None,
                      query_params: dict[str, Any] | None = None) -> Page:
    ctx = _ctx(info)
    return _items_page(ctx, ctx.store.boards[group.board_id], group.id, limit, cursor, query_params)


def _settings_str(column: Column, info: GraphQLResolveInfo) -> str:
    """The deprecated string form, in the shape older API versions used for labels."""
    settings = dict(column.settings)
    if column.type == "status":
        settings["labels"] = {str(label["id"]): label["label"] for label in column.settings.get("labels", [])}
    elif column.type == "dropdown":
        settings["labels"] = [{"id": label["id"], "name": label["label"]} for label in settings.get("labels", [])]
    return json.dumps(settings)


def _item_column_values(item: Item, info: GraphQLResolveInfo, ids: list[str] | None = None,
                        types: list[str] | None = None) -> list[ColumnValueView]:
    """Every column but `name` (the item's name is `Item.name`), in board order."""
    store = _ctx(info).store
    board = store.boards[item.board_id]
    columns = _board_columns(board, info, ids, types)
    return [ColumnValueView(store, board, column, item) for column in columns if column.type != "name"]


def _item_subitems(item: Item, info: GraphQLResolveInfo) -> list[Item]:
    items = _ctx(info).store.items
    return [items[i] for i in item.subitem_ids if items[i].state == ACTIVE]


def _item_board(item: Item, info: GraphQLResolveInfo) -> Board:
    return _ctx(info).store.boards[item.board_id]


def _item_group(item: Item, info: GraphQLResolveInfo) -> Group:
    return _ctx(info).store.boards[item.board_id].groups[item.group_id]


def _item_parent(item: Item, info: GraphQLResolveInfo) -> Item | None:
    return _ctx(info).store.items.get(item.parent_id) if item.parent_id else None


def _item_url(item: Item, info: GraphQLResolveInfo) -> str:
    return f"{_ctx(info).base_url}/boards/{item.board_id}/pulses/{item.id}"


def _board_top_group(board: Board, info: GraphQLResolveInfo) -> Group:
    return board.visible_groups()[0]


def _board_items_count(board: Board, info: GraphQLResolveInfo) -> int:
    return sum(1 for _ in _ctx(info).store.active_items(board))


# ---------------------------------------------------------------------------- Query


def _boards(_: None, info: GraphQLResolveInfo, ids: list[str] | None = None, limit: int = 25, page: int = 1,
            state: str = "active", board_kind: str | None = None, order_by: str | None = None,
            workspace_ids: list[str | None] | None = None, latest: bool | None = None) -> list[Board]:
    """`latest` changes nothing: the emulator always answers from its latest data. `order_by` sorts newest
    first, by creation (`created_at`) or by the last change to the board or its items (`used_at`)."""
    store = _ctx(info).store
    if ids is not None:
        boards = [store.boards[i] for i in dict.fromkeys(ids) if i in store.boards]
    else:
        boards = [b for b in store.boards.values() if not b.is_subitem_board]
    boards = [b for b in boards if (state == "all" or b.state == state) and board_kind in (None, b.kind)]
    if workspace_ids is not None:
        boards = [b for b in boards if board_workspace_matches(b, workspace_ids)]
    if order_by == "created_at":
        boards.sort(key=lambda b: int(b.id), reverse=True)
    elif order_by == "used_at":
        boards.sort(key=lambda b: (b.updated_at, int(b.id)), reverse=True)
    if ids is None:
        start = (max(page, 1) - 1) * limit
        boards = boards[start:start + limit]
    return boards


def _items(_: None, info: GraphQLResolveInfo, ids: list[str] | None = None, limit: int = 25, page: int = 1,
           newest_first: bool | None = None, exclude_nonactive: bool | None = None) -> list[Item]:
    ctx = _ctx(info)
    maximum = ctx.settings.items_ids_max
    if ids is not None and len(ids) > maximum:
        raise invalid_argument(f"items(ids:) takes at most {maximum} ids", count=len(ids))
    if ids is not None:
        found = [ctx.store.items[i] for i in dict.fromkeys(ids) if i in ctx.store.items]
    else:
        found = sorted(ctx.store.items.values(), key=lambda i: int(i.id), reverse=True)
        found = found[(max(page, 1) - 1) * limit:][:limit]
    if exclude_nonactive:
        found = [item for item in found if item.state == ACTIVE]
    if newest_first:
        found.sort(key=lambda i: int(i.id), reverse=True)
    return found


def _next_items_page(_: None, info: GraphQLResolveInfo, cursor: str, limit: int = 25) -> Page:
    ctx = _ctx(info)
    check_limit(limit, ctx.settings.page_limit_max)
    return ctx.cursors.next_page(ctx.store, cursor, limit)


def _items_page_by_column_values(_: None, info: GraphQLResolveInfo, board_id: str, limit: int = 25,
                                 columns: list[dict[str, Any]] | None = None, cursor: str | None = None) -> Page:
    """Items whose columns read as one of the given values: AND across columns, OR within one."""
    ctx = _ctx(info)
    check_limit(limit, ctx.settings.page_limit_max)
    if cursor is not None:
        return ctx.cursors.next_page(ctx.store, cursor, limit)
    board = ctx.store.board(board_id)
    found: set[str] | None = None
    for rule in columns or []:
        texts = [str(value) if value is not None else "" for value in rule["column_values"]]
        hits = ctx.store.find_by_text(board, rule["column_id"], texts)
        found = hits if found is None else found & hits
    if found is None:
        ids = [item.id for item in ctx.store.active_items(board)]
    else:
        ids = sorted((i for i in found if ctx.store.items[i].state == ACTIVE), key=int)
    return ctx.cursors.first_page(ctx.store, ids, limit)


def _complexity(_: None, info: GraphQLResolveInfo) -> Charge | None:
    return _ctx(info).charge


def _me(_: None, info: GraphQLResolveInfo) -> User:
    return _ctx(info).user


def _version(_: None, info: GraphQLResolveInfo) -> dict[str, str]:
    return version_of(_ctx(info).version)


# ---------------------------------------------------------------------------- Mutation


def _create_board(_: None, info: GraphQLResolveInfo, board_name: str, board_kind: str,
                  description: str | None = None, folder_id: str | None = None,
                  workspace_id: str | None = None, empty: bool = False) -> Board:
    store = _ctx(info).store
    return store.create_board(board_name, board_kind, description=description,
                              workspace_id=store.records.check_workspace(workspace_id))


def _create_column(_: None, info: GraphQLResolveInfo, board_id: str, title: str, column_type: str,
                   id: str | None = None, description: str | None = None, after_column_id: str | None = None,
                   defaults: Any = None) -> Column:
    decoded = _decode_json(defaults, "defaults")
    if decoded is not None and not isinstance(decoded, dict):
        raise invalid_argument("defaults must be a JSON object")
    return _ctx(info).store.create_column(board_id, title, column_type, column_id=id, defaults=decoded,
                                          description=description, after_column_id=after_column_id)


def _create_group(_: None, info: GraphQLResolveInfo, board_id: str, group_name: str,
                  group_color: str | None = None, position: str | None = None,
                  position_relative_method: str | None = None, relative_to: str | None = None) -> Group:
    return _ctx(info).store.create_group(board_id, group_name, color=group_color,
                                         relative_method=position_relative_method, relative_to=relative_to)


def _update_group(_: None, info: GraphQLResolveInfo, board_id: str, group_id: str, group_attribute: str,
                  new_value: str) -> Group:
    return _ctx(info).store.update_group(board_id, group_id, group_attribute, new_value)


def _delete_group(_: None, info: GraphQLResolveInfo, board_id: str, group_id: str) -> Group:
    return _ctx(info).store.remove_group(board_id, group_id, archive=False)


def _archive_group(_: None, info: GraphQLResolveInfo, board_id: str, group_id: str) -> Group:
    return _ctx(info).store.remove_group(board_id, group_id, archive=True)


def _create_item(_: None, info: GraphQLResolveInfo, board_id: str, item_name: str, group_id: str | None = None,
                 column_values: Any = None, create_labels_if_missing: bool | None = None,
                 position_relative_method: str | None = None, relative_to: str | None = None) -> Item:
    ctx = _ctx(info)
    if any(refused in item_name for refused in ctx.settings.faults.refuse_item_names):
        raise column_value_error("name", "name", "The item name was refused (emulator fault refuse_item_names)",
                                 item_name)
    return ctx.store.create_item(board_id, item_name, group_id=group_id, column_values=_column_values(column_values),
                                 create_labels=bool(create_labels_if_missing),
                                 relative_method=position_relative_method, relative_to=relative_to,
                                 creator_id=ctx.user.id)


def _create_subitem(_: None, info: GraphQLResolveInfo, parent_item_id: str, item_name: str,
                    column_values: Any = None, create_labels_if_missing: bool | None = None) -> Item:
    ctx = _ctx(info)
    return ctx.store.create_subitem(parent_item_id, item_name, column_values=_column_values(column_values),
                                    create_labels=bool(create_labels_if_missing), creator_id=ctx.user.id)


def _change_multiple_column_values(_: None, info: GraphQLResolveInfo, board_id: str, column_values: Any,
                                   item_id: str | None = None,
                                   create_labels_if_missing: bool | None = None) -> Item:
    return _ctx(info).store.change_values(board_id, item_id, _column_values(column_values),
                                          create_labels=bool(create_labels_if_missing))


def _change_simple_column_value(_: None, info: GraphQLResolveInfo, board_id: str, column_id: str,
                                item_id: str | None = None, value: str | None = None,
                                create_labels_if_missing: bool | None = None) -> Item:
    return _ctx(info).store.change_values(board_id, item_id, {column_id: value},
                                          create_labels=bool(create_labels_if_missing))


def _change_column_value(_: None, info: GraphQLResolveInfo, board_id: str, column_id: str, value: Any,
                         item_id: str | None = None, create_labels_if_missing: bool | None = None) -> Item:
    return _ctx(info).store.change_values(board_id, item_id, {column_id: _decode_json(value, "value")},
                                          create_labels=bool(create_labels_if_missing))


def _move_item_to_group(_: None, info: GraphQLResolveInfo, group_id: str, item_id: str | None = None) -> Item:
    return _ctx(info).store.move_item(item_id, group_id)


def _move_item_to_board(_: None, info: GraphQLResolveInfo, board_id: str, group_id: str, item_id: str,
                        columns_mapping: list[dict[str, Any]] | None = None,
                        subitems_columns_mapping: list[dict[str, Any]] | None = None) -> Item:
    return _ctx(info).store.move_to_board(item_id, board_id, group_id, columns_mapping=columns_mapping,
                                          subitems_columns_mapping=subitems_columns_mapping)


def _duplicate_board(_: None, info: GraphQLResolveInfo, board_id: str, duplicate_type: str,
                     board_name: str | None = None, folder_id: str | None = None,
                     keep_subscribers: bool | None = None, workspace_id: str | None = None) -> dict[str, Any]:
    """Structure only: copying items (and updates) is not emulated, and said so rather than faked."""
    if duplicate_type != "duplicate_board_with_structure":
        raise invalid_argument("The emulator duplicates a board's structure only "
                               "(duplicate_type: duplicate_board_with_structure)", duplicate_type=duplicate_type)
    store = _ctx(info).store
    board = store.duplicate_board(board_id, name=board_name, workspace_id=store.records.check_workspace(workspace_id))
    return {"board": board, "is_async": False}


def _archive_item(_: None, info: GraphQLResolveInfo, item_id: str | None = None) -> Item:
    return _ctx(info).store.archive_item(item_id)


def _delete_item(_: None, info: GraphQLResolveInfo, item_id: str | None = None) -> Item:
    return _ctx(info).store.delete_item(item_id)


def _bulk_archive_items(_: None, info: GraphQLResolveInfo, board_id: str, item_ids: list[str]) -> dict[str, str]:
    """A job id at once; the items are archived when the job runs (jobs.py)."""
    ctx = _ctx(info)
    if not item_ids:
        raise invalid_argument("item_ids must name at least one item")
    if len(item_ids) > ctx.settings.bulk_items_max:
        raise invalid_argument(f"bulk_archive_items takes at most {ctx.settings.bulk_items_max} item ids",
                               count=len(item_ids))
    board = ctx.store.board(board_id)
    job = ctx.jobs.start_archive(board.id, item_ids, failure_rate=ctx.settings.faults.bulk_job_failure,
                                 forced_failure=ctx.job_failure)
    return {"job_id": job.id}


def _job_status(_: None, info: GraphQLResolveInfo, job_id: str) -> Job:
    return _ctx(info).jobs.status(job_id)


def _attribute(name: str) -> Callable[[Any, GraphQLResolveInfo], Any]:
    return lambda obj, info: getattr(obj, name)


RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {
    "Query": {
        "boards": _boards, "items": _items, "next_items_page": _next_items_page,
        "items_page_by_column_values": _items_page_by_column_values, "complexity": _complexity,
        "job_status": _job_status, "me": _me, "version": _version,
    },
    "Mutation": {
        "create_board": _create_board, "create_column": _create_column, "create_group": _create_group,
        "update_group": _update_group, "delete_group": _delete_group, "archive_group": _archive_group,
        "create_item": _create_item, "create_subitem": _create_subitem,
        "change_multiple_column_values": _change_multiple_column_values,
        "change_simple_column_value": _change_simple_column_value, "change_column_value": _change_column_value,
        "move_item_to_group": _move_item_to_group, "archive_item": _archive_item, "delete_item": _delete_item,
        "move_item_to_board": _move_item_to_board, "duplicate_board": _duplicate_board,
        "bulk_archive_items": _bulk_archive_items, "complexity": _complexity,
    },
    "Board": {
        "board_kind": _attribute("kind"), "columns": _board_columns, "groups": _board_groups,
        "items_page": _board_items_page, "items_count": _board_items_count, "top_group": _board_top_group,
        "type": lambda board, info: "sub_items_board" if board.is_subitem_board else "board",
        "url": lambda board, info: f"{_ctx(info).base_url}/boards/{board.id}",
    },
    "Column": {"settings_str": _settings_str},
    "Group": {"items_page": _group_items_page, "position": lambda group, info: f"{group.position:.3f}"},
    "Item": {
        "board": _item_board, "group": _item_group, "column_values": _item_column_values,
        "subitems": _item_subitems, "parent_item": _item_parent, "url": _item_url,
        "relative_link": lambda item, info: f"/boards/{item.board_id}/pulses/{item.id}",
    },
    "TimelineValue": {"from": _attribute("from_")},
}
for _type_name, _fields in (*ACCOUNT_RESOLVERS.items(), *TYPED_VALUE_RESOLVERS.items()):  # account_fields.py, typed_values.py
    RESOLVERS.setdefault(_type_name, {}).update(_fields)
"""Fields whose value is not simply the attribute of the same name."""

for _type_name, _fields in (*ACTIVITY_RESOLVERS.items(), *WEBHOOK_RESOLVERS.items()):  # activity.py, webhooks.py
    RESOLVERS.setdefault(_type_name, {}).update(_fields)
