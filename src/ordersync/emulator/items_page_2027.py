"""API 2027-01's root `items_page(input:, cursor:, limit:)` (schema_2027_01.graphql, from Monday's `dev` SDL):
a page of a board's items as `ItemResult`s with `ItemsPageColumnValue`s, and the items they link to.

It walks the same cursors and filters as `Board.items_page` (pagination.py); only the shapes differ.
Calculated columns (mirror, formula) are left out unless `capabilities` names CALCULATED, as the SDL
describes. Served to 2027-01 only (executor.schema_edition).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo

from ordersync.emulator.errors import invalid_argument
from ordersync.emulator.model import ACTIVE, Item
from ordersync.emulator.pagination import check_limit, matching_items
from ordersync.emulator.resolvers import ColumnValueView, RequestContext
from ordersync.emulator.store import Store
from ordersync.emulator.typed_values import mirror_display

ITEMS_PAGE_VALUE_TYPES = {
    "text": "ItemsPageTextValue", "long_text": "ItemsPageLongTextValue", "numbers": "ItemsPageNumbersValue",
    "date": "ItemsPageDateValue", "status": "ItemsPageStatusValue", "dropdown": "ItemsPageDropdownValue",
    "checkbox": "ItemsPageCheckboxValue", "email": "ItemsPageEmailValue", "link": "ItemsPageLinkValue",
    "people": "ItemsPagePeopleValue", "phone": "ItemsPagePhoneValue", "timeline": "ItemsPageTimelineValue",
    "country": "ItemsPageCountryValue", "board_relation": "ItemsPageBoardRelationValue",
    "mirror": "ItemsPageMirrorValue", "formula": "ItemsPageFormulaValue", "item_id": "ItemsPageItemIdValue",
    "last_updated": "ItemsPageLastUpdatedValue", "subtasks": "ItemsPageSubtasksValue", "tags": "ItemsPageTagsValue",
    "creation_log": "ItemsPageCreationLogValue",
}
"""Column type → its `ItemsPageColumnValue` implementation (any other type: ItemsPageUnknownValue)."""
CALCULATED = frozenset({"mirror", "formula"})


class ItemsPageValue(ColumnValueView):
    """A `ColumnValueView` under the names the ItemsPage*Value types give its fields."""

    @property
    def link_text(self) -> str | None:
        return self.url_text

    @property
    def from_date(self) -> str | None:
        return self.from_

    @property
    def to_date(self) -> str | None:
        return self.to

    @property
    def country_name(self) -> str | None:
        return self._stored.get("countryName")

    @property
    def tag_ids(self) -> list[str]:
        return [str(tag_id) for tag_id in self._stored.get("tag_ids") or ()]

    @property
    def created_at(self) -> str:
        return self._item.created_at

    @property
    def creator_id(self) -> str:
        return self._item.creator_id

    @property
    def updater_id(self) -> None:
        return None  # the emulator does not record who changed an item last

    @property
    def linked_items(self) -> list[dict[str, str]]:
        return _named(self._store, self.linked_item_ids)

    @property
    def subitems(self) -> list[dict[str, str]]:
        return _named(self._store, self.subitems_ids)

    @property
    def mirrored_items(self) -> list[Any]:
        return []  # the mirrored values travel in display_value only (docs/emulator.md)

    @property
    def display_value(self) -> str:
        if self.type == "mirror":
            return mirror_display(self._store, self._item, self.column)
        return super().display_value


def _named(store: Store, item_ids: list[str]) -> list[dict[str, str]]:
    items = (store.items.get(item_id) for item_id in item_ids)
    return [{"id": item.id, "name": item.name} for item in items if item is not None and item.state == ACTIVE]


def resolve_items_page_value_type(view: ItemsPageValue, info: GraphQLResolveInfo, abstract: Any) -> str:
    return ITEMS_PAGE_VALUE_TYPES.get(view.type, "ItemsPageUnknownValue")


def _ctx(info: GraphQLResolveInfo) -> RequestContext:
    context: RequestContext = info.context
    return context


def _items_page(_: None, info: GraphQLResolveInfo, input: dict[str, Any] | None = None, cursor: str | None = None,
                limit: int | None = None) -> dict[str, Any]:
    ctx = _ctx(info)
    size = check_limit(limit or (input or {}).get("limit") or 25, ctx.settings.page_limit_max)
    if cursor is not None:
        if input is not None:
            raise invalid_argument("Pass either input (for the first page) or cursor, not both")
        page = ctx.cursors.next_page(ctx.store, cursor, size)
    elif input is None:
        raise invalid_argument("items_page needs input for the first page, or a cursor")
    else:
        board = ctx.store.board(input["board_id"])
        group_id = input.get("group_id")
        if group_id is not None:
            ctx.store.group(board, group_id)
        page = ctx.cursors.first_page(ctx.store, matching_items(ctx.store, board, group_id, input.get("query")), size)
    return {"cursor": page.cursor, "items": page.items, "linked_items": _linked_items(ctx.store, page.items)}


def _linked_items(store: Store, items: list[Item]) -> list[Item]:
    """The active items the page's connect-boards cells link to, each once, in link order."""
    on_page = {item.id for item in items}
    linked: dict[str, Item] = {}
    for item in items:
        board = store.boards[item.board_id]
        for column in board.columns.values():
            if column.type != "board_relation":
                continue
            for item_id in ColumnValueView(store, board, column, item).linked_item_ids:
                target = store.items.get(item_id)
                if target is not None and target.state == ACTIVE and item_id not in on_page:
                    linked.setdefault(item_id, target)
    return list(linked.values())


def _item_column_values(item: Item, info: GraphQLResolveInfo, ids: list[str] | None = None,
                        types: list[str] | None = None, capabilities: list[str] | None = None) -> list[ItemsPageValue]:
    store = _ctx(info).store
    board = store.boards[item.board_id]
    calculated = "CALCULATED" in (capabilities or ())
    columns = [column for column in board.columns.values() if column.type != "name"
               and (ids is None or column.id in ids) and (types is None or column.type in types)
               and (calculated or column.type not in CALCULATED)]
    return [ItemsPageValue(store, board, column, item) for column in columns]


def _item_subitems(item: Item, info: GraphQLResolveInfo) -> list[Item]:
    items = _ctx(info).store.items
    return [items[i] for i in item.subitem_ids if items[i].state == ACTIVE]


ITEMS_PAGE_RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {
    "Query": {"items_page": _items_page},
    "ItemResult": {"column_values": _item_column_values, "subitems": _item_subitems},
}
"""Bound on the schema served to 2027-01 only (executor.emulator_schema)."""
