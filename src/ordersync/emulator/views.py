"""What the read-only HTML pages show: the list of boards, and one board as a person sees it in
Monday (groups → items → subitems, one column per board column, display text in each cell).
Plain data for the Jinja2 templates in `templates/`."""

from __future__ import annotations

from typing import Any

from ordersync.emulator.model import ACTIVE, Board, Column, Item
from ordersync.emulator.resolvers import ColumnValueView
from ordersync.emulator.settings import EmulatorSettings
from ordersync.emulator.store import Store
from ordersync.emulator.typed_values import mirror_display


def index_page(store: Store, settings: EmulatorSettings) -> dict[str, Any]:
    boards = [
        {"id": board.id, "name": board.name, "items": store.active_item_count(board.id),
         "subitem_board": board.is_subitem_board, "groups": len(board.visible_groups())}
        for board in store.boards.values() if board.state == ACTIVE
    ]
    return {"boards": boards, "settings": settings}


def _cell(store: Store, board: Board, column: Column, item: Item) -> str:
    """What a person sees in the cell: the display text; for mirror, connect-boards and dependency columns
    (whose API text is null) what Monday's board shows, the mirrored values and the linked items' names."""
    if column.type == "mirror":
        return mirror_display(store, item, column)
    view = ColumnValueView(store, board, column, item)
    return (view.display_value if column.type in ("board_relation", "dependency") else view.text) or ""


def _cells(store: Store, board: Board, item: Item) -> list[str]:
    return [_cell(store, board, column, item) for column in board.columns.values() if column.type != "name"]


def board_page(store: Store, board: Board, group_id: str | None, *, show_subitems: bool) -> dict[str, Any]:
    """One board: its groups in order, each with its active items (by position) and their subitems."""
    sub_board = store.boards.get(board.subitem_board_id) if board.subitem_board_id else None
    by_group: dict[str, list[Item]] = {}
    for item in store.active_items(board):
        by_group.setdefault(item.group_id, []).append(item)
    groups = []
    for group in board.visible_groups():
        if group_id and group.id != group_id:
            continue
        rows = []
        for item in sorted(by_group.get(group.id, []), key=lambda i: i.position):
            subitems = []
            if show_subitems and sub_board is not None:
                subitems = [{"id": sub.id, "name": sub.name, "cells": _cells(store, sub_board, sub)}
                            for sub in (store.items[i] for i in item.subitem_ids) if sub.state == ACTIVE]
            rows.append({"id": item.id, "name": item.name, "cells": _cells(store, board, item), "subitems": subitems})
        groups.append({"id": group.id, "title": group.title, "color": group.color, "rows": rows})
    columns = [column for column in board.columns.values() if column.type != "name"]
    sub_columns = [c for c in sub_board.columns.values() if c.type != "name"] if sub_board else []
    return {"board": board, "columns": columns, "sub_columns": sub_columns, "groups": groups,
            "group_filter": group_id, "show_subitems": show_subitems,
            "parent": store.boards.get(board.parent_board_id) if board.parent_board_id else None}
