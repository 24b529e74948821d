"""The things a Monday account holds, as plain records: boards, columns, groups, items, users.

`store.py` changes them; `values.py` turns raw column values into `CellValue`s; resolvers read
them. A subitem is an `Item` on the parent board's subitem board with `parent_id` set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ACTIVE, ARCHIVED, DELETED = "active", "archived", "deleted"

LABELLED_TYPES = frozenset({"status", "dropdown"})


def now_iso(*, millis: bool = False) -> str:
    """UTC timestamps as Monday writes them (`2026-06-24T10:00:00Z`, `changed_at` with millis)."""
    moment = datetime.now(UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class CellValue:
    """One stored column value: `value` is the JSON text Monday returns, `text` its display text."""

    value: str | None
    text: str | None


@dataclass(slots=True)
class User:
    id: int
    name: str
    email: str
    created_at: str


@dataclass
class Column:
    """A board column. Status and dropdown labels live in `settings["labels"]`, as in API 2025-10+
    (`[{id, label, ...}]`); the lookups by name and id are cached because a dropdown can hold
    thousands of labels and every value written is checked against them."""

    id: str
    title: str
    type: str
    settings: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    archived: bool = False
    _by_name: dict[str, int] | None = field(default=None, repr=False, compare=False)
    _by_id: dict[int, dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    def _index_labels(self) -> None:
        labels = self.settings.get("labels", [])
        self._by_id = {int(label["id"]): label for label in labels}
        self._by_name = {}
        for label in labels:
            self._by_name.setdefault(label["label"], int(label["id"]))

    def label_id(self, name: str) -> int | None:
        if self._by_name is None:
            self._index_labels()
        assert self._by_name is not None
        return self._by_name.get(name)

    def label(self, label_id: int) -> dict[str, Any] | None:
        if self._by_id is None:
            self._index_labels()
        assert self._by_id is not None
        return self._by_id.get(label_id)

    def add_label(self, name: str) -> int:
        """Append a label (what `create_labels_if_missing` does) and return its new id."""
        labels = self.settings.setdefault("labels", [])
        new_id = max((int(label["id"]) for label in labels), default=0 if self.type == "dropdown" else -1) + 1
        entry: dict[str, Any] = {"id": new_id, "label": name}
        if self.type == "status":
            entry.update({"color": "american_gray", "index": len(labels), "is_done": False})
        else:
            entry["is_deactivated"] = False
        labels.append(entry)
        self._by_name = self._by_id = None
        return new_id


@dataclass
class Group:
    id: str
    board_id: str
    title: str
    color: str
    position: float
    archived: bool = False
    deleted: bool = False

    @property
    def visible(self) -> bool:
        return not (self.archived or self.deleted)


@dataclass
class Board:
    """A board; `item_ids` is in creation order, which is id order, and shrinks only when an item
    moves to another board (deleted items keep their state, as Monday keeps them restorable), so
    cursors can rely on it."""

    id: str
    name: str
    kind: str
    created_at: str
    updated_at: str
    description: str | None = None
    workspace_id: str | None = None
    state: str = ACTIVE
    columns: dict[str, Column] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    item_ids: list[str] = field(default_factory=list)
    parent_board_id: str | None = None
    subitem_board_id: str | None = None

    @property
    def is_subitem_board(self) -> bool:
        return self.parent_board_id is not None

    def visible_groups(self) -> list[Group]:
        return sorted((g for g in self.groups.values() if g.visible), key=lambda g: g.position)


@dataclass
class Item:
    id: str
    board_id: str
    group_id: str
    name: str
    created_at: str
    updated_at: str
    creator_id: str
    position: float
    values: dict[str, CellValue] = field(default_factory=dict)
    parent_id: str | None = None
    subitem_ids: list[str] = field(default_factory=list)
    state: str = ACTIVE
