"""What ordersync needs to know about the target board, read once per run from the API.

Columns (with their labels), groups in board order, and the subitem board — found from the
subitems column's `settings.boardIds`, which exists only once the board has its first subitem.
"""

from __future__ import annotations

import hashlib
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


MARK_PAGE = 500  # the most recently updated items a mark reads (`board_schema`, `board_marks`): Monday's most


@dataclass(frozen=True)
class BoardMark:
    """What changes when anyone adds, removes or edits an item of a board: its active item count, the
    newest `updated_at`, and a digest of the most recently updated items (ids and times). Monday's
    times have whole seconds: an item edited in the second it was last written keeps its time. A
    mark whose page holds nothing but that newest second is not `complete` (more items may share it)
    and never vouches for the board."""

    items_count: int
    newest: str | None
    digest: str = ""
    complete: bool = True

    def as_list(self) -> list[Any]:
        return [self.items_count, self.newest, self.digest, self.complete]


def board_mark(raw_board: Mapping[str, Any] | None) -> BoardMark | None:
    """The mark of a board as `board_schema` or `board_marks` read it; None if the answer lacks it."""
    if not raw_board or raw_board.get("items_count") is None or "items_page" not in raw_board:
        return None
    items = (raw_board.get("items_page") or {}).get("items") or []
    newest = str(items[0].get("updated_at") or "") if items else None
    seen = "\n".join(f"{item['id']} {item.get('updated_at') or ''}" for item in items)
    complete = len(items) < MARK_PAGE or str(items[-1].get("updated_at") or "") != newest
    return BoardMark(int(raw_board["items_count"]), newest, hashlib.sha256(seen.encode()).hexdigest(), complete)


@dataclass
class BoardInfo:
    board_id: str
    name: str
    columns: dict[str, BoardColumnInfo]
    groups: list[tuple[str, str]]  # (title, id) in board order
    subitem_board_id: str | None = None
    subitem_columns: dict[str, BoardColumnInfo] = field(default_factory=dict)
    items_count: int | None = None  # active items, as the board reported them when read
    mark: BoardMark | None = None  # the board's mark when read (see `engine.adopt`)
    subitem_mark: BoardMark | None = None  # its subitem board's

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
        mark=board_mark(raw_board),
        subitem_mark=board_mark(raw_subitem_board),
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
