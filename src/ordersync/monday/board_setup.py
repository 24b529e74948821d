"""Boards made through the API only: the demo's copy of the real Customer Master Schedule, and a board
shaped like a config (`ordersync board create`).

Every call is a public Monday mutation or query, so the same code makes a board on the emulator and on a
real account. The subitem board only comes into being with a board's first subitem, so a seed item and
subitem are created to make it, its columns (Size, Order Qty, …) are added, and the seed is deleted.
Making a board's shape is idempotent: columns the board has are left alone, only missing ones are made.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ordersync.monday.board import subitem_board_of
from ordersync.monday.client import MondayClient, derive_idempotency_key
from ordersync.monday.documents import document
from ordersync.sample_data.config import BoardColumn, demo_board_columns, demo_subitem_board_columns

# Columns Monday makes itself: never created through create_column.
_IMPLICIT_TYPES = {"name", "subtasks"}
SETUP_COST = 10_000  # complexity of one board, column, item or subitem create (Monday's documented 10,000)
BOARDS_PAGE = 100  # boards read a page when a board is looked up by its name


def default_labels(customers: Iterable[str]) -> dict[str, list[str]]:
    """Labels the demo board starts with where the sample config may not create them."""
    return {
        "CUSTOMER": sorted(customers),
        "ORDER TYPE": ["RECEIVED", "CANCELLED", "REVISED"],
        "UNIT OF MEASURE": ["PCS", "PACKS", "SETS"],
    }


def column_defaults(column_type: str, labels: Sequence[str]) -> str | None:
    """`create_column`'s `defaults` for a label column, in the shapes Monday documents: a status column's
    labels by index, a dropdown's as a list under `settings`; None for other types."""
    if column_type == "status":
        return json.dumps({"labels": {str(index): label for index, label in enumerate(labels, start=1)}})
    if column_type == "dropdown":
        return json.dumps({"settings": {"labels": [{"id": index, "label": label}
                                                   for index, label in enumerate(labels, start=1)]}})
    return None


@dataclass(frozen=True)
class ColumnSpec:
    """A column a board should have: its id, title, Monday type and the labels it starts with."""

    id: str
    title: str
    type: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class BoardShape:
    """What a board should hold: its columns and its subitem board's."""

    columns: tuple[ColumnSpec, ...]
    subitem_columns: tuple[ColumnSpec, ...]


@dataclass
class ShapeMade:
    """What making a board's shape created: column ids on the board and on its subitem board, and the
    columns Monday gave another id than the one asked for (asked → given)."""

    subitem_board_id: str | None
    columns: list[str] = field(default_factory=list)
    subitem_columns: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)


async def create_column(client: MondayClient, board_id: str, column: ColumnSpec) -> str:
    """One column; the id Monday gave it (the one asked for, where Monday accepts it)."""
    variables: dict[str, object] = {"board_id": board_id, "id": column.id, "title": column.title,
                                    "column_type": column.type}
    defaults = column_defaults(column.type, column.labels)
    if defaults is not None:
        variables["defaults"] = defaults
    created = await client.execute(document("create_column"), variables, cost=SETUP_COST,
                                   idempotency_key=derive_idempotency_key("create_column", board_id, column.id))
    return str(created["create_column"]["id"])


async def _create_columns(client: MondayClient, board_id: str, columns: Iterable[BoardColumn],
                          labels: Mapping[str, list[str]]) -> None:
    for column in columns:
        if column.type not in _IMPLICIT_TYPES:
            await create_column(client, board_id, ColumnSpec(column.id, column.title, column.type,
                                                             tuple(labels.get(column.title, []))))


async def make_subitem_board(client: MondayClient, board_id: str, purpose: str) -> str:
    """Make the board's subitem board (Monday makes it with the first subitem): a seed item and subitem,
    created then deleted. Returns the subitem board's id."""
    seed = await client.execute(document("create_item"), {"board_id": board_id, "item_name": "ordersync seed"},
                                cost=SETUP_COST, idempotency_key=derive_idempotency_key("seed_item", purpose))
    seed_id = str(seed["create_item"]["id"])
    subitem = await client.execute(document("create_subitem"), {"parent_item_id": seed_id, "item_name": "seed"},
                                   cost=SETUP_COST, idempotency_key=derive_idempotency_key("seed_subitem", purpose))
    await client.execute(document("delete_item"), {"item_id": seed_id}, cost=SETUP_COST,
                         idempotency_key=derive_idempotency_key("delete_seed", purpose))
    return str(subitem["create_subitem"]["board"]["id"])


async def create_demo_board(client: MondayClient, *, name: str = "Customer Master Schedule",
                            customers: Iterable[str] = ()) -> str:
    """Create the board and its subitem board; returns the board id."""
    labels = default_labels(customers)
    setup = uuid.uuid4().hex  # every write below carries an Idempotency-Key: a lost answer is replayed, not redone
    created = await client.execute(document("create_board"),
                                   {"board_name": name, "board_kind": "public", "empty": True}, cost=SETUP_COST,
                                   idempotency_key=derive_idempotency_key("create_board", setup))
    board_id = str(created["create_board"]["id"])
    await _create_columns(client, board_id, demo_board_columns(), labels)
    subitem_board_id = await make_subitem_board(client, board_id, setup)
    await _create_columns(client, subitem_board_id, demo_subitem_board_columns(),
                          {"ORDER LINE STATUS": ["OPEN", "CUT", "SEWN", "PACKED", "SHIPPED"]})
    return board_id


async def board_named(client: MondayClient, name: str) -> str | None:
    """The id of the active board with this name (the newest, when several), page by page; None when none."""
    found: str | None = None
    page = 1
    while True:
        boards = (await client.query("boards_page", {"limit": BOARDS_PAGE, "page": page}))["boards"] or []
        found = next((str(board["id"]) for board in reversed(boards) if board["name"] == name), found)
        if len(boards) < BOARDS_PAGE:
            return found
        page += 1


async def create_empty_board(client: MondayClient, name: str) -> str:
    """A new empty board named `name` (its name keys the request: a lost answer is replayed, not redone)."""
    created = await client.execute(document("create_board"),
                                   {"board_name": name, "board_kind": "public", "empty": True}, cost=SETUP_COST,
                                   idempotency_key=derive_idempotency_key("create_board", name))
    return str(created["create_board"]["id"])


async def duplicate_structure(client: MondayClient, template_board_id: str, name: str) -> str:
    """A new board named `name` with the template's structure (columns, groups, subitem columns), no items."""
    made = await client.execute(document("duplicate_board"), {"board_id": template_board_id, "board_name": name},
                                cost=SETUP_COST,
                                idempotency_key=derive_idempotency_key("duplicate_board", template_board_id, name))
    return str(made["duplicate_board"]["board"]["id"])


async def ensure_shape(client: MondayClient, board_id: str, shape: BoardShape) -> ShapeMade:
    """Make what the board lacks of `shape`: its missing columns, its subitem board (when the shape has
    subitem columns) and that board's missing columns. A board that has them all is read, not written."""
    schema = await client.board_schema(board_id)
    made = ShapeMade(subitem_board_of(schema))
    made.columns = await _missing_columns(client, board_id, schema, shape.columns, made.renamed)
    if not shape.subitem_columns:
        return made
    if made.subitem_board_id is None:
        made.subitem_board_id = await make_subitem_board(client, board_id, f"board {board_id}")
    made.subitem_columns = await _missing_columns(client, made.subitem_board_id,
                                                  await client.board_schema(made.subitem_board_id),
                                                  shape.subitem_columns, made.renamed)
    return made


async def _missing_columns(client: MondayClient, board_id: str, schema: Mapping[str, Any],
                           columns: Sequence[ColumnSpec], renamed: dict[str, str]) -> list[str]:
    present = {str(column["id"]) for column in schema.get("columns") or []}
    created = []
    for column in columns:
        if column.id in present:
            continue
        given = await create_column(client, board_id, column)
        created.append(given)
        if given != column.id:
            renamed[column.id] = given
    return created
