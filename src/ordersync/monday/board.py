"""What ordersync needs to know about the target board, read once per run from the API.

Columns (with their labels), groups in board order, and the subitem board — found from the
subitems column's `settings.boardIds`, which exists only once the board has its first subitem.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class BoardColumnInfo:
    id: str
    title: str
    type: str
    labels: frozenset[str] = frozenset()


@dataclass
class BoardInfo:
    board_id: str
    name: str
    columns: dict[str, BoardColumnInfo]
    groups: list[tuple[str, str]]  # (title, id) in board order
    subitem_board_id: str | None = None
    subitem_columns: dict[str, BoardColumnInfo] = field(default_factory=dict)
    items_count: int | None = None  # active items, as the board reported them when read

    def group_id(self, title: str) -> str | None:
        for group_title, group_id in self.groups:
            if group_title == title:
                return group_id
        return None


def _settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    settings = raw.get("settings")
    if isinstance(settings, str):  # settings_str, or a JSON scalar sent as text
        try:
            settings = json.loads(settings)
        except json.JSONDecodeError:
            settings = {}
    return settings if isinstance(settings, dict) else {}


def label_names(settings: Mapping[str, Any]) -> frozenset[str]:
    """Labels of a status/dropdown column, from the 2025-10 list form or the older {id: name} form."""
    labels = settings.get("labels")
    if isinstance(labels, Mapping):
        return frozenset(str(name) for name in labels.values())
    if isinstance(labels, list):
        names = []
        for entry in labels:
            if isinstance(entry, Mapping):
                name = entry.get("label", entry.get("name"))
                if name is not None and not entry.get("is_deactivated"):
                    names.append(str(name))
            elif isinstance(entry, str):
                names.append(entry)
        return frozenset(names)
    return frozenset()


def columns_of(raw_board: Mapping[str, Any]) -> dict[str, BoardColumnInfo]:
    return {
        column["id"]: BoardColumnInfo(column["id"], column["title"], column["type"],
                                      label_names(_settings(column)))
        for column in raw_board.get("columns") or []
    }


def subitem_board_of(raw_board: Mapping[str, Any]) -> str | None:
    for column in raw_board.get("columns") or []:
        if column["type"] == "subtasks":
            board_ids = _settings(column).get("boardIds") or []
            if board_ids:
                return str(board_ids[0])
    return None


def board_info(raw_board: Mapping[str, Any], raw_subitem_board: Mapping[str, Any] | None = None) -> BoardInfo:
    groups = sorted(raw_board.get("groups") or [], key=lambda group: float(group.get("position") or 0))
    return BoardInfo(
        board_id=str(raw_board["id"]),
        name=raw_board.get("name") or "",
        columns=columns_of(raw_board),
        groups=[(group["title"], group["id"]) for group in groups],
        subitem_board_id=subitem_board_of(raw_board),
        subitem_columns=columns_of(raw_subitem_board) if raw_subitem_board else {},
        items_count=int(raw_board["items_count"]) if raw_board.get("items_count") is not None else None,
    )


def placement(existing: Sequence[tuple[str, str]], title: str) -> tuple[str | None, str | None]:
    """Where a new group goes so groups read alphabetically: (position_relative_method, relative_to).

    Before the first existing group whose title sorts after it; after the last one otherwise.
    """
    if not existing:
        return None, None
    for group_title, group_id in existing:
        if group_title.casefold() > title.casefold():
            return "before_at", group_id
    return "after_at", existing[-1][1]
