"""Optional SQLite file behind the in-memory store, so boards survive a restart (`--db PATH`).

Memory stays the working copy; after each request the boards and items it touched are written
in one transaction (JSON bodies keyed by id), before the response leaves — so a "lost response"
fault still finds its write on disk. Cursors, idempotency keys and limit counters are not kept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert

from ordersync.emulator.account import AccountRecords
from ordersync.emulator.model import Board, CellValue, Column, Group, Item
from ordersync.emulator.store import Store

metadata = sa.MetaData()
meta_table = sa.Table("emulator_meta", metadata, sa.Column("key", sa.Text, primary_key=True),
                      sa.Column("value", sa.Text, nullable=False))
boards_table = sa.Table("emulator_boards", metadata, sa.Column("id", sa.Text, primary_key=True),
                        sa.Column("body", sa.Text, nullable=False))
items_table = sa.Table("emulator_items", metadata, sa.Column("id", sa.Text, primary_key=True),
                       sa.Column("board_id", sa.Text, nullable=False), sa.Column("body", sa.Text, nullable=False))


def _board_body(board: Board) -> str:
    return json.dumps({
        "id": board.id, "name": board.name, "kind": board.kind, "created_at": board.created_at,
        "updated_at": board.updated_at, "description": board.description, "workspace_id": board.workspace_id,
        "state": board.state, "parent_board_id": board.parent_board_id, "subitem_board_id": board.subitem_board_id,
        "columns": [{"id": c.id, "title": c.title, "type": c.type, "settings": c.settings,
                     "description": c.description, "archived": c.archived} for c in board.columns.values()],
        "groups": [{"id": g.id, "title": g.title, "color": g.color, "position": g.position,
                    "archived": g.archived, "deleted": g.deleted} for g in board.groups.values()],
    })


def _board_from(body: dict[str, Any]) -> Board:
    columns = [Column(**column) for column in body.pop("columns")]
    groups = [Group(board_id=body["id"], **group) for group in body.pop("groups")]
    board = Board(**body)
    board.columns = {c.id: c for c in columns}
    board.groups = {g.id: g for g in groups}
    return board


def _item_body(item: Item) -> str:
    return json.dumps({
        "id": item.id, "board_id": item.board_id, "group_id": item.group_id, "name": item.name,
        "created_at": item.created_at, "updated_at": item.updated_at, "creator_id": item.creator_id,
        "position": item.position, "parent_id": item.parent_id, "subitem_ids": item.subitem_ids,
        "state": item.state, "values": {key: [cell.value, cell.text] for key, cell in item.values.items()},
    })


def _item_from(body: dict[str, Any]) -> Item:
    values = {key: CellValue(value, text) for key, (value, text) in body.pop("values").items()}
    return Item(values=values, **body)


class SqliteMirror:
    """Reads the whole account at start, then writes what each request changed."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(f"sqlite:///{path}")
        metadata.create_all(self.engine)

    def load_into(self, store: Store, id_seed: int) -> None:
        with self.engine.connect() as connection:
            meta = dict(connection.execute(sa.select(meta_table.c.key, meta_table.c.value)).all())
            if not meta:
                return
            boards = [_board_from(json.loads(body)) for body in connection.execute(sa.select(boards_table.c.body)).scalars()]
            items = [_item_from(json.loads(body)) for body in connection.execute(sa.select(items_table.c.body)).scalars()]
        store.load(boards, items, int(meta["next_board"]), int(meta["next_item"]), id_seed)
        if "account_records" in meta:  # workspaces, tags, updates (account.py)
            store.records = AccountRecords.from_json(json.loads(meta["account_records"]))

    def flush(self, store: Store) -> None:
        """Write the boards and items touched since the last flush, in one transaction."""
        if not store.dirty_boards and not store.dirty_items and not store.records.dirty:
            return
        board_rows = [{"id": i, "body": _board_body(store.boards[i])} for i in store.dirty_boards]
        item_rows = [{"id": i, "board_id": store.items[i].board_id, "body": _item_body(store.items[i])}
                     for i in store.dirty_items]
        meta_rows = [{"key": "next_board", "value": str(store.mint.next_board)},
                     {"key": "next_item", "value": str(store.mint.next_item)}]
        if store.records.dirty:
            meta_rows.append({"key": "account_records", "value": json.dumps(store.records.as_json())})
        with self.engine.begin() as connection:
            for table, rows, updated in ((boards_table, board_rows, ("body",)),
                                         (items_table, item_rows, ("board_id", "body")),
                                         (meta_table, meta_rows, ("value",))):
                if rows:
                    statement = insert(table)
                    statement = statement.on_conflict_do_update(
                        index_elements=[table.primary_key.columns.values()[0]],
                        set_={name: statement.excluded[name] for name in updated},
                    )
                    connection.execute(statement, rows)
        store.dirty_boards.clear()
        store.dirty_items.clear()
        store.records.dirty = False

    def clear(self) -> None:
        with self.engine.begin() as connection:
            for table in (items_table, boards_table, meta_table):
                connection.execute(table.delete())

    def close(self) -> None:
        self.engine.dispose()
