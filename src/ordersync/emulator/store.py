"""The account's data and every change to it, in memory, with the indexes lookups need.

Each mutation resolver calls one method here. Lookups by id are dict hits; finding items by a
column's text (`items_page_by_column_values`, how a client finds a lost create again) uses an
index per (board, column) built on first use and kept current on every write, so a benchmark
with 10,000+ subitems never scans a board per lookup. Changed boards and items are remembered
in `dirty_*` so that `persistence.py` writes only what a request touched.
"""

from __future__ import annotations

import copy
import json
import random
import re
import string
from bisect import insort
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from ordersync.emulator.account import AccountRecords
from ordersync.emulator.activity import Change
from ordersync.emulator.errors import (
    ApiError,
    Code,
    group_not_found,
    invalid_argument,
    invalid_board,
    invalid_column,
    invalid_item,
)
from ordersync.emulator.model import (
    ACTIVE,
    ARCHIVED,
    DELETED,
    LABELLED_TYPES,
    Board,
    CellValue,
    Column,
    Group,
    Item,
    User,
    now_iso,
)
from ordersync.emulator.values import ValueContext, parse_value, search_keys

# Monday's own id prefixes for auto-generated column ids (`text_mkr5wya6`, `color_mkr5yf27` …)
COLUMN_ID_PREFIX = {
    "status": "color", "numbers": "numeric", "mirror": "lookup", "item_id": "pulse_id",
    "last_updated": "pulse_updated", "creation_log": "pulse_log", "checkbox": "boolean",
    "people": "multiple_person", "timeline": "timerange", "tags": "tag",
}
GROUP_COLORS = ("#579bfc", "#00c875", "#fdab3d", "#e2445c", "#a25ddc", "#037f4c", "#ffcb00", "#9cd326")
DEFAULT_STATUS_LABELS = (
    {"id": 0, "label": "Working on it", "color": "working_orange", "index": 0, "is_done": False},
    {"id": 1, "label": "Done", "color": "done_green", "index": 1, "is_done": True},
    {"id": 2, "label": "Stuck", "color": "stuck_red", "index": 2, "is_done": False},
)
_COLUMN_ID = re.compile(r"^[a-z0-9_]{1,100}$")
MAX_NAME_LENGTH = 255
POSITION_STEP = 65_536.0


class IdMint:
    """Monday-looking ids: 10-digit board and item ids that only grow (so creation order is id
    order), `group_mk` + 6 characters for groups. The same seed gives the same ids."""

    def __init__(self, seed: int, next_board: int | None = None, next_item: int | None = None) -> None:
        self._rng = random.Random(f"{seed}:{next_board}:{next_item}")
        self.next_board = next_board or 1_800_000_000 + self._rng.randrange(100_000_000)
        self.next_item = next_item or 9_700_000_000 + self._rng.randrange(100_000_000)

    def board_id(self) -> str:
        self.next_board += self._rng.randint(1, 97)
        return str(self.next_board)

    def item_id(self) -> str:
        self.next_item += self._rng.randint(1, 41)
        return str(self.next_item)

    def suffix(self, length: int = 6) -> str:
        return "".join(self._rng.choices(string.ascii_lowercase + string.digits, k=length))


def _check_name(name: str) -> str:
    if not name or not name.strip():
        raise invalid_argument("Item name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ApiError(
            Code.ITEM_NAME_TOO_LONG,
            f"Item name must be 1 to {MAX_NAME_LENGTH} characters long",
            error_data={"length": len(name)},
        )
    return name


class Store:
    """Boards, items and users of one emulated account."""

    def __init__(self, users: Iterable[User], *, id_seed: int = 0, items_per_board_limit: int | None = None) -> None:
        self.users: dict[int, User] = {user.id: user for user in users}
        self.items_per_board_limit = items_per_board_limit
        self.mint = IdMint(id_seed)
        self.boards: dict[str, Board] = {}
        self.items: dict[str, Item] = {}
        self.records = AccountRecords()  # workspaces, tags, updates (account.py)
        self.dirty_boards: set[str] = set()
        self.dirty_items: set[str] = set()
        self.journal: list[Change] = []  # what happened to items, drained and attributed after each request
        self._active_items: dict[str, int] = defaultdict(int)
        self._text_index: dict[tuple[str, str], dict[str, set[str]]] = {}
        self._next_position = 0.0

    # ------------------------------------------------------------------ lookups

    def board(self, board_id: Any) -> Board:
        board = self.boards.get(str(board_id)) if board_id is not None else None
        if board is None or board.state == DELETED:
            raise invalid_board(board_id)
        return board

    def item(self, item_id: Any) -> Item:
        """An item or subitem that is not deleted (archived ones can still be changed)."""
        item = self.items.get(str(item_id)) if item_id is not None else None
        if item is None or item.state == DELETED:
            raise invalid_item(item_id)
        return item

    def _on_board(self, item_id: str, board: Board) -> bool:
        item = self.items.get(item_id)
        return item is not None and item.board_id == board.id and item.state != DELETED

    def item_name(self, item_id: str) -> str | None:
        item = self.items.get(item_id)
        return item.name if item is not None and item.state != DELETED else None

    def group(self, board: Board, group_id: str) -> Group:
        group = board.groups.get(group_id)
        if group is None or group.deleted:
            raise group_not_found(group_id, board.id)
        return group

    def active_items(self, board: Board, group_id: str | None = None) -> Iterator[Item]:
        for item_id in board.item_ids:
            item = self.items[item_id]
            if item.state == ACTIVE and (group_id is None or item.group_id == group_id):
                yield item

    def active_item_count(self, board_id: str) -> int:
        """Active items on the board: what Monday's per-board cap counts (archived and deleted ones do not)."""
        return self._active_items[board_id]

    def check_room(self, board: Board) -> None:
        """Monday's `ItemsLimitationException` when the board already holds its cap of active items.
        A subitem board is not capped: subitems are not counted against their parent board's cap, and
        Monday documents no cap of its own for the hidden board that holds them (docs/emulator.md)."""
        limit = self.items_per_board_limit
        if limit is not None and not board.is_subitem_board and self._active_items[board.id] >= limit:
            raise ApiError(Code.ITEMS_LIMITATION, f"exceeded the limit of {limit:,} items per board",
                           error_data={"board_id": board.id, "limit": limit})

    def find_by_text(self, board: Board, column_id: str, texts: Iterable[str]) -> set[str]:
        """Ids of the board's items whose `column_id` reads as one of `texts` (dropdown: any label)."""
        index = self._index(board, column_id)
        found: set[str] = set()
        for text in texts:
            found |= index.get(text, set())
        return found

    def _index(self, board: Board, column_id: str) -> dict[str, set[str]]:
        key = (board.id, column_id)
        index = self._text_index.get(key)
        if index is None:
            if column_id != "name" and column_id not in board.columns:
                raise invalid_column(column_id, board.id)
            index = defaultdict(set)
            for item_id in board.item_ids:
                for text in self._keys(board, column_id, self.items[item_id]):
                    index[text].add(item_id)
            self._text_index[key] = index
        return index

    def _keys(self, board: Board, column_id: str, item: Item) -> tuple[str, ...]:
        if column_id == "name":
            return (item.name,)
        return search_keys(board.columns[column_id], item.values.get(column_id))

    def _add_to_indexes(self, board: Board, item: Item) -> None:
        for (index_board, column_id), index in self._text_index.items():
            if index_board == board.id:
                for text in self._keys(board, column_id, item):
                    index[text].add(item.id)

    def _drop_from_indexes(self, board: Board, item: Item) -> None:
        for (index_board, column_id), index in self._text_index.items():
            if index_board == board.id:
                for text in self._keys(board, column_id, item):
                    index.get(text, set()).discard(item.id)

    def _reindex(self, board: Board, item: Item, column_id: str, old_keys: tuple[str, ...] | None) -> None:
        index = self._text_index.get((board.id, column_id))
        if index is None:
            return
        for text in old_keys or ():
            index.get(text, set()).discard(item.id)
        for text in self._keys(board, column_id, item):
            index[text].add(item.id)

    # ------------------------------------------------------------------ boards, columns, groups

    def create_board(self, name: str, kind: str, *, description: str | None = None,
                     workspace_id: str | None = None, parent_board_id: str | None = None) -> Board:
        if not name.strip():
            raise ApiError(Code.CREATE_BOARD, "Board name must not be empty")
        stamp = now_iso()
        board = Board(id=self.mint.board_id(), name=name, kind=kind, created_at=stamp, updated_at=stamp,
                      description=description, workspace_id=workspace_id, parent_board_id=parent_board_id)
        board.columns["name"] = Column(id="name", title="Name", type="name")
        title = "Subitems" if parent_board_id else "Group Title"
        board.groups["topics"] = Group(id="topics", board_id=board.id, title=title, color=GROUP_COLORS[0],
                                       position=POSITION_STEP)
        self.boards[board.id] = board
        self.dirty_boards.add(board.id)
        return board

    def create_column(self, board_id: Any, title: str, column_type: str, *, column_id: str | None = None,
                      defaults: dict[str, Any] | None = None, description: str | None = None,
                      after_column_id: str | None = None) -> Column:
        board = self.board(board_id)
        if column_type == "name":
            raise invalid_argument("A board has exactly one name column")
        if column_type == "subtasks" and self.subitems_column(board) is not None:
            raise invalid_argument("A board can have only one subitems column")
        if column_type == "subtasks" and board.is_subitem_board:
            raise invalid_argument("A subitems board cannot have a subitems column")
        column_id = self._new_column_id(board, column_type, column_id)
        if after_column_id is not None and after_column_id not in board.columns:
            raise invalid_column(after_column_id, board.id)
        column = Column(id=column_id, title=title, type=column_type,
                        settings=_initial_settings(column_type, defaults), description=description)
        if after_column_id is None:
            board.columns[column_id] = column
        else:
            reordered: dict[str, Column] = {}
            for existing_id, existing in board.columns.items():
                reordered[existing_id] = existing
                if existing_id == after_column_id:
                    reordered[column_id] = column
            board.columns = reordered
        if column_type == "subtasks":
            self._ensure_subitem_board(board, column)
        self._touch_board(board)
        return column

    def _new_column_id(self, board: Board, column_type: str, column_id: str | None) -> str:
        """The id asked for when it is well formed and free, else a fresh one like Monday's."""
        if column_id is None:
            prefix = COLUMN_ID_PREFIX.get(column_type, column_type)
            column_id = f"{prefix}_mk{self.mint.suffix()}"
            while column_id in board.columns:
                column_id = f"{prefix}_mk{self.mint.suffix()}"
        elif not _COLUMN_ID.match(column_id):
            raise invalid_argument("Column id may hold only lowercase letters, digits and _", column_id=column_id)
        elif column_id in board.columns:
            raise invalid_argument("Column id already exists on this board", column_id=column_id)
        return column_id

    def subitems_column(self, board: Board) -> Column | None:
        return next((c for c in board.columns.values() if c.type == "subtasks"), None)

    def _ensure_subitem_board(self, board: Board, column: Column | None = None) -> Board:
        """A board's subitem board comes into being with its subitems column (Monday adds that
        column with the first subitem); the column's `settings.boardIds` then names it."""
        if board.subitem_board_id is not None:
            return self.boards[board.subitem_board_id]
        sub_board = self.create_board(f"Subitems of {board.name}", board.kind,
                                      workspace_id=board.workspace_id, parent_board_id=board.id)
        board.subitem_board_id = sub_board.id
        if column is None:
            column = Column(id=f"subtasks_mk{self.mint.suffix()}", title="Subitems", type="subtasks",
                            settings=_initial_settings("subtasks", None))
            board.columns[column.id] = column
        column.settings["boardIds"] = [int(sub_board.id)]
        self._touch_board(board)
        return sub_board

    def create_group(self, board_id: Any, name: str, *, color: str | None = None,
                     relative_method: str | None = None, relative_to: str | None = None) -> Group:
        """New groups go to the top of the board unless placed before/after another group."""
        board = self.board(board_id)
        if not name.strip():
            raise invalid_argument("Group name must not be empty")
        group_id = f"group_mk{self.mint.suffix()}"
        while group_id in board.groups:
            group_id = f"group_mk{self.mint.suffix()}"
        position = self._group_position(board, relative_method, relative_to)
        color = color or GROUP_COLORS[len(board.groups) % len(GROUP_COLORS)]
        group = Group(id=group_id, board_id=board.id, title=name, color=color, position=position)
        board.groups[group_id] = group
        self._touch_board(board)
        return group

    def _group_position(self, board: Board, method: str | None, relative_to: str | None,
                        moving: str | None = None) -> float:
        ordered = [g for g in board.visible_groups() if g.id != moving]
        if relative_to is None:
            return (ordered[0].position - POSITION_STEP) if ordered else POSITION_STEP
        anchor = self.group(board, relative_to)
        if anchor.id == moving:
            raise invalid_argument("A group cannot be placed relative to itself")
        return _between([g.position for g in ordered], ordered.index(anchor), method)

    def update_group(self, board_id: Any, group_id: str, attribute: str, new_value: str) -> Group:
        board = self.board(board_id)
        group = self.group(board, group_id)
        if attribute == "title":
            if not new_value.strip():
                raise invalid_argument("Group title must not be empty")
            group.title = new_value
        elif attribute == "color":
            group.color = new_value
        elif attribute in ("relative_position_after", "relative_position_before"):
            method = "after_at" if attribute == "relative_position_after" else "before_at"
            group.position = self._group_position(board, method, new_value, moving=group.id)
        elif attribute == "position":
            try:
                group.position = float(new_value)
            except ValueError as error:
                raise invalid_argument("position must be a number", position=new_value) from error
        self._touch_board(board)
        return group

    def remove_group(self, board_id: Any, group_id: str, *, archive: bool) -> Group:
        """`delete_group` / `archive_group`: the group's items go with it."""
        board = self.board(board_id)
        group = self.group(board, group_id)
        if len(board.visible_groups()) <= 1 and group.visible:
            raise ApiError(Code.DELETE_LAST_GROUP, "Cannot delete or archive the last group of a board",
                           status_code=409, error_data={"group_id": group_id})
        for item in list(self.active_items(board, group.id)):
            self._set_state(item, ARCHIVED if archive else DELETED)
        if archive:
            group.archived = True
        else:
            group.deleted = True
        self._touch_board(board)
        return group

    def duplicate_group(self, board_id: Any, group_id: str, *, title: str | None = None,
                        add_to_top: bool = False) -> Group:
        """`duplicate_group`: a new group right below the original (or at the top of the board) holding a
        copy of each of its active items, names and column values; subitems and updates are not copied."""
        board = self.board(board_id)
        source = self.group(board, group_id)
        if board.is_subitem_board:
            raise invalid_argument("Groups of a subitems board cannot be duplicated", board_id=board.id)
        items = sorted(self.active_items(board, source.id), key=lambda i: i.position)
        limit = self.items_per_board_limit
        if items and limit is not None and self._active_items[board.id] + len(items) > limit:
            raise ApiError(Code.ITEMS_LIMITATION, f"exceeded the limit of {limit:,} items per board",
                           error_data={"board_id": board.id, "limit": limit})  # and nothing is duplicated
        placed = self.create_group(board.id, title or f"Duplicate of {source.title}", color=source.color,
                                   relative_method=None if add_to_top else "after_at",
                                   relative_to=None if add_to_top else source.id)
        for item in items:
            self._next_position += 1.0
            stamp = now_iso()
            copy_of = Item(id=self.mint.item_id(), board_id=board.id, group_id=placed.id, name=item.name,
                           created_at=stamp, updated_at=stamp, creator_id=item.creator_id,
                           position=self._next_position, values=dict(item.values))
            self.items[copy_of.id] = copy_of
            board.item_ids.append(copy_of.id)
            self._active_items[board.id] += 1
            self._add_to_indexes(board, copy_of)
            self.dirty_items.add(copy_of.id)
            self.journal.append(Change("create", copy_of.id))  # a new item, for the activity log and webhooks
        return placed

    # ------------------------------------------------------------------ items

    def create_item(self, board_id: Any, name: str, *, group_id: str | None = None,
                    column_values: dict[str, Any] | None = None, create_labels: bool = False,
                    relative_method: str | None = None, relative_to: Any = None,
                    creator_id: int) -> Item:
        board = self.board(board_id)
        if board.is_subitem_board:
            raise invalid_argument("Items of a subitems board are created with create_subitem", board_id=board.id)
        if group_id is not None:
            group = self.group(board, group_id)
        else:
            visible = board.visible_groups()
            if not visible:
                raise invalid_argument("The board has no group to put the item in", board_id=board.id)
            group = visible[0]
        position = self._item_position(board, group, relative_method, relative_to)
        return self._new_item(board, group, name, column_values or {}, create_labels, position, creator_id)

    def create_subitem(self, parent_item_id: Any, name: str, *, column_values: dict[str, Any] | None = None,
                       create_labels: bool = False, creator_id: int) -> Item:
        parent = self.item(parent_item_id)
        if parent.parent_id is not None:
            raise invalid_argument("A subitem cannot have subitems on a classic board", item_id=parent.id)
        sub_board = self._ensure_subitem_board(self.boards[parent.board_id])
        group = sub_board.visible_groups()[0]
        position = float(len(parent.subitem_ids) + 1)
        subitem = self._new_item(sub_board, group, name, column_values or {}, create_labels, position,
                                 creator_id, parent=parent)
        parent.subitem_ids.append(subitem.id)
        self._touch_item(parent)
        return subitem

    def _new_item(self, board: Board, group: Group, name: str, column_values: dict[str, Any],
                  create_labels: bool, position: float, creator_id: int, parent: Item | None = None) -> Item:
        _check_name(name)
        self.check_room(board)
        new_name, cells = self._validate_values(board, column_values, create_labels)
        stamp = now_iso()
        item = Item(id=self.mint.item_id(), board_id=board.id, group_id=group.id, name=new_name or name,
                    created_at=stamp, updated_at=stamp, creator_id=str(creator_id), position=position,
                    parent_id=parent.id if parent else None)
        item.values = {column_id: cell for column_id, cell in cells.items() if cell is not None}
        self.items[item.id] = item
        board.item_ids.append(item.id)
        self._active_items[board.id] += 1
        self._add_to_indexes(board, item)
        self.dirty_items.add(item.id)
        self.journal.append(Change("create", item.id))
        self._touch_board(board)
        return item

    def _item_position(self, board: Board, group: Group, method: str | None, relative_to: Any) -> float:
        """New items go to the bottom of their group, or before/after `relative_to`."""
        if relative_to is None:
            self._next_position += 1.0
            return self._next_position
        anchor = self.item(relative_to)
        if anchor.board_id != board.id or anchor.group_id != group.id:
            raise invalid_argument("relative_to must be an item of the same group", relative_to=str(relative_to))
        ordered = sorted(self.active_items(board, group.id), key=lambda i: i.position)
        return _between([i.position for i in ordered], ordered.index(anchor), method)

    def change_values(self, board_id: Any, item_id: Any, column_values: dict[str, Any], *,
                      create_labels: bool = False) -> Item:
        """`change_multiple_column_values` and friends: all values are checked before any is
        written, so a refused value leaves the item as it was. Key `name` renames the item."""
        board = self.board(board_id)
        item = self.item(item_id)
        if item.board_id != board.id:
            raise invalid_item(item_id)
        new_name, cells = self._validate_values(board, column_values, create_labels)
        if new_name is not None:
            old = (item.name,)
            item.name = new_name
            self._reindex(board, item, "name", old)
            self.journal.append(Change("name", item.id, previous_name=old[0]))
        for column_id, cell in cells.items():
            old_keys = self._keys(board, column_id, item) if (board.id, column_id) in self._text_index else None
            self.journal.append(Change("column_value", item.id, column_id, item.values.get(column_id), cell))
            if cell is None:
                item.values.pop(column_id, None)
            else:
                item.values[column_id] = cell
            self._reindex(board, item, column_id, old_keys)
        self._touch_item(item)
        return item

    def _validate_values(self, board: Board, column_values: dict[str, Any],
                         create_labels: bool) -> tuple[str | None, dict[str, CellValue | None]]:
        ctx = ValueContext(create_labels_if_missing=create_labels, users=self.users, item_name=self.item_name,
                           tags=self.records.tags, on_this_board=lambda item_id: self._on_board(item_id, board))
        new_name: str | None = None
        cells: dict[str, CellValue | None] = {}
        for column_id, raw in column_values.items():
            if column_id == "name":
                if not isinstance(raw, str):
                    raise invalid_argument("The item name must be a string")
                new_name = _check_name(raw)
                continue
            column = board.columns.get(column_id)
            if column is None:
                raise invalid_column(column_id, board.id)
            cells[column_id] = parse_value(column, raw, ctx)
        return new_name, cells

    def move_item(self, item_id: Any, group_id: str) -> Item:
        item = self.item(item_id)
        board = self.boards[item.board_id]
        if item.parent_id is not None:
            raise invalid_argument("Subitems cannot be moved between groups", item_id=item.id)
        group = self.group(board, group_id)
        if item.group_id != group.id:
            self.journal.append(Change("move_group", item.id, previous_group=item.group_id))
            item.group_id = group.id
            self._next_position += 1.0
            item.position = self._next_position
            self._touch_item(item)
        return item

    def move_to_board(self, item_id: Any, board_id: Any, group_id: str, *,
                      columns_mapping: list[dict[str, Any]] | None = None,
                      subitems_columns_mapping: list[dict[str, Any]] | None = None) -> Item:
        """`move_item_to_board`: the item keeps its id and takes its subitems along (to the target's
        subitem board). Values travel per the mapping; without one, to the column of the same title and
        type. A column the mapping leaves out, or maps to no target, loses its value, as on Monday."""
        item = self.item(item_id)
        if item.parent_id is not None:
            raise invalid_argument("A subitem moves with its parent item", item_id=item.id)
        source, target = self.boards[item.board_id], self.board(board_id)
        if target.is_subitem_board:
            raise invalid_argument("Items cannot be moved to a subitems board", board_id=target.id)
        group = self.group(target, str(group_id))
        if target.id == source.id:
            return self.move_item(item.id, group.id)
        if item.state == ACTIVE:
            self.check_room(target)
        mapping = _column_mapping(source, target, columns_mapping)
        subitems = [self.items[i] for i in item.subitem_ids if self.items[i].state != DELETED]
        sub_mapping: dict[str, str] = {}
        if subitems:
            sub_source = self.boards[source.subitem_board_id or ""]
            sub_target = self._ensure_subitem_board(target)
            sub_mapping = _column_mapping(sub_source, sub_target, subitems_columns_mapping)
            for subitem in subitems:
                self._relocate(subitem, sub_source, sub_target, sub_target.visible_groups()[0].id, sub_mapping)
        self._relocate(item, source, target, group.id, mapping)
        self._next_position += 1.0
        item.position = self._next_position
        return item

    def _relocate(self, item: Item, source: Board, target: Board, group_id: str, mapping: dict[str, str]) -> None:
        """One item (or subitem) leaves `source` for `target`, its values carried per `mapping`."""
        self._drop_from_indexes(source, item)
        ctx = ValueContext(create_labels_if_missing=True, users=self.users, item_name=self.item_name,
                           tags=self.records.tags)
        values: dict[str, CellValue] = {}
        for source_id, target_id in mapping.items():
            cell = item.values.get(source_id)
            carried = _carry(source.columns[source_id], target.columns[target_id], cell, ctx) if cell else None
            if carried is not None:
                values[target_id] = carried
        item.values = values
        source.item_ids.remove(item.id)
        insort(target.item_ids, item.id, key=int)  # creation order is id order, on every board
        if item.state == ACTIVE:
            self._active_items[source.id] -= 1
            self._active_items[target.id] += 1
        item.board_id, item.group_id = target.id, group_id
        self._add_to_indexes(target, item)
        self._touch_item(item)
        self._touch_board(source)
        self._touch_board(target)

    def duplicate_board(self, board_id: Any, *, name: str | None = None, workspace_id: str | None = None) -> Board:
        """`duplicate_board` with `duplicate_board_with_structure`: the columns (same ids, titles, types
        and settings), the groups and the subitem board's columns; no items."""
        source = self.board(board_id)
        if source.is_subitem_board:
            raise invalid_argument("A subitems board is duplicated with its parent board", board_id=source.id)
        board = self.create_board(name or f"Duplicate of {source.name}", source.kind,
                                  description=source.description,
                                  workspace_id=workspace_id if workspace_id is not None else source.workspace_id)
        _copy_structure(source, board)
        if source.subitem_board_id is not None:
            sub_board = self.create_board(f"Subitems of {board.name}", board.kind, workspace_id=board.workspace_id,
                                          parent_board_id=board.id)
            _copy_structure(self.boards[source.subitem_board_id], sub_board)
            board.subitem_board_id = sub_board.id
            subitems_column = self.subitems_column(board)
            if subitems_column is not None:
                subitems_column.settings["boardIds"] = [int(sub_board.id)]
        return board

    def archive_item(self, item_id: Any) -> Item:
        item = self.item(item_id)
        self._set_state(item, ARCHIVED)
        return item

    def delete_item(self, item_id: Any) -> Item:
        item = self.item(item_id)
        self._set_state(item, DELETED)
        return item

    def _set_state(self, item: Item, state: str) -> None:
        """An item's subitems follow it into the archive or the bin."""
        self._active_items[item.board_id] += (state == ACTIVE) - (item.state == ACTIVE)
        if state in (ARCHIVED, DELETED) and item.state != state:
            self.journal.append(Change("archive" if state == ARCHIVED else "delete", item.id))
        item.state = state
        self._touch_item(item)
        for subitem_id in item.subitem_ids:
            subitem = self.items[subitem_id]
            if subitem.state == ACTIVE or (state == DELETED and subitem.state != DELETED):
                self._set_state(subitem, state)

    def _touch_item(self, item: Item) -> None:
        item.updated_at = now_iso()
        self.dirty_items.add(item.id)

    def _touch_board(self, board: Board) -> None:
        board.updated_at = now_iso()
        self.dirty_boards.add(board.id)

    def load(self, boards: Iterable[Board], items: Iterable[Item], next_board: int, next_item: int,
             id_seed: int) -> None:
        """Replace everything with what persistence read back (item order is id order)."""
        self.boards = {board.id: board for board in boards}
        self.items = {item.id: item for item in items}
        self._active_items.clear()
        for board in self.boards.values():
            board.item_ids = []
        for item in sorted(self.items.values(), key=lambda i: int(i.id)):
            self.boards[item.board_id].item_ids.append(item.id)
            if item.state == ACTIVE:
                self._active_items[item.board_id] += 1
        self.mint = IdMint(id_seed, next_board, next_item)
        self._next_position = max((item.position for item in self.items.values()), default=0.0)
        self._text_index.clear()


def _column_mapping(source: Board, target: Board, mapping: list[dict[str, Any]] | None) -> dict[str, str]:
    """Source column id → target column id for the values that travel. Without a mapping, each
    column goes to the target column of the same title and type (Monday's "best match")."""
    if mapping is None:
        by_title = {(column.title, column.type): column.id for column in reversed(target.columns.values())}
        return {column.id: by_title[(column.title, column.type)] for column in source.columns.values()
                if column.type not in _NOT_CARRIED and (column.title, column.type) in by_title}
    pairs: dict[str, str] = {}
    for entry in mapping:
        source_id, target_id = str(entry["source"]), entry.get("target")
        if source_id not in source.columns:
            raise invalid_column(source_id, source.id)
        if target_id is None or source.columns[source_id].type in _NOT_CARRIED:
            continue
        if str(target_id) not in target.columns:
            raise invalid_column(str(target_id), target.id)
        pairs[source_id] = str(target_id)
    return pairs


_NOT_CARRIED = frozenset({"name", "subtasks", "item_id", "last_updated", "creation_log", "formula", "mirror"})
"""Columns whose values are the item's own (its name) or computed: nothing to carry."""


def _carry(source: Column, target: Column, cell: CellValue, ctx: ValueContext) -> CellValue | None:
    """A value on its way to another board's column: as it is between columns of one type (labels by
    name, created where missing); else written again from its text, and lost if the target refuses it."""
    if source.type == target.type and source.type not in LABELLED_TYPES:
        return cell
    raw: Any = cell.text
    if source.type == target.type == "status":
        raw = {"label": cell.text}
    elif source.type == target.type == "dropdown":
        ids = json.loads(cell.value or "{}").get("ids", [])
        raw = {"labels": [label["label"] for label in map(source.label, ids) if label]}
    try:
        return parse_value(target, raw, ctx)
    except ApiError:
        return None


def _copy_structure(source: Board, board: Board) -> None:
    """Columns and visible groups of `source` onto a new, empty `board` (ids kept, as Monday keeps them)."""
    board.columns = {column_id: Column(id=column.id, title=column.title, type=column.type,
                                       settings=copy.deepcopy(column.settings), description=column.description)
                     for column_id, column in source.columns.items() if not column.archived}
    groups = source.visible_groups()
    if groups:
        board.groups = {group.id: Group(id=group.id, board_id=board.id, title=group.title, color=group.color,
                                        position=group.position) for group in groups}


def _between(positions: list[float], at: int, method: str | None) -> float:
    """A position just before or after `positions[at]` (sorted), between it and its neighbour."""
    if method == "before_at":
        before = positions[at - 1] if at > 0 else positions[at] - 2 * POSITION_STEP
        return (before + positions[at]) / 2
    after = positions[at + 1] if at + 1 < len(positions) else positions[at] + 2 * POSITION_STEP
    return (positions[at] + after) / 2


def _initial_settings(column_type: str, defaults: dict[str, Any] | None) -> dict[str, Any]:
    """A new column's settings; `defaults` (create_column) may carry status/dropdown labels in
    any of the shapes Monday has accepted over the years."""
    defaults = dict(defaults or {})
    if column_type == "subtasks":
        return {"allowMultipleItems": True, "itemTypeName": "column.subtasks.title",
                "displayType": "BOARD_INLINE", "boardIds": []}
    if column_type not in ("status", "dropdown"):
        return defaults
    raw_labels = defaults.pop("labels", None)
    if raw_labels is None and isinstance(defaults.get("settings"), dict):
        raw_labels = defaults.pop("settings").get("labels")
    if raw_labels is None:
        labels = [dict(label) for label in DEFAULT_STATUS_LABELS] if column_type == "status" else []
    else:
        labels = _labels_from_defaults(column_type, raw_labels)
    return {**defaults, "labels": labels}


def _labels_from_defaults(column_type: str, raw_labels: Any) -> list[dict[str, Any]]:
    if isinstance(raw_labels, dict):
        pairs = [(int(key), str(name)) for key, name in raw_labels.items()]
    elif isinstance(raw_labels, list):
        pairs = []
        first_id = 1 if column_type == "dropdown" else 0
        for position, entry in enumerate(raw_labels):
            if isinstance(entry, str):
                pairs.append((first_id + position, entry))
            elif isinstance(entry, dict):
                name = entry.get("label", entry.get("name"))
                pairs.append((int(entry.get("id", first_id + position)), str(name)))
            else:
                raise invalid_argument("Column defaults: labels must be strings or objects")
    else:
        raise invalid_argument("Column defaults: labels must be a list or an object")
    if column_type == "dropdown":
        return [{"id": label_id, "label": name, "is_deactivated": False} for label_id, name in pairs]
    return [{"id": label_id, "label": name, "color": "american_gray", "index": position,
             "is_done": name.lower() == "done"} for position, (label_id, name) in enumerate(pairs)]
