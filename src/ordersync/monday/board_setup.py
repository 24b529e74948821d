"""Build a board shaped like the real Customer Master Schedule, through the API only.

Used by the demo, the tests and the benchmarks against the emulator (and usable against a real
account: every call is a public Monday mutation). The subitem board only comes into being with
a board's first subitem, so a seed item and subitem are created to make it, its columns (Size,
Order Qty, …) are added, and the seed is deleted.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping

from ordersync.monday.client import MondayClient, derive_idempotency_key
from ordersync.monday.documents import document
from ordersync.sample_data.config import BoardColumn, demo_board_columns, demo_subitem_board_columns

# Columns Monday makes itself: never created through create_column.
_IMPLICIT_TYPES = {"name", "subtasks"}


def default_labels(customers: Iterable[str]) -> dict[str, list[str]]:
    """Labels the demo board starts with where the sample config may not create them."""
    return {
        "CUSTOMER": sorted(customers),
        "ORDER TYPE": ["RECEIVED", "CANCELLED", "REVISED"],
        "UNIT OF MEASURE": ["PCS", "PACKS", "SETS"],
    }


async def _create_columns(client: MondayClient, board_id: str, columns: Iterable[BoardColumn],
                          labels: Mapping[str, list[str]]) -> None:
    for column in columns:
        if column.type in _IMPLICIT_TYPES:
            continue
        variables = {"board_id": board_id, "id": column.id, "title": column.title, "column_type": column.type}
        if column.type in ("status", "dropdown"):
            variables["defaults"] = json.dumps({"labels": labels.get(column.title, [])})
        await client.execute(document("create_column"), variables, cost=10_000,
                             idempotency_key=derive_idempotency_key("create_column", board_id, column.id))


async def create_demo_board(client: MondayClient, *, name: str = "Customer Master Schedule",
                            customers: Iterable[str] = ()) -> str:
    """Create the board and its subitem board; returns the board id."""
    labels = default_labels(customers)
    setup = uuid.uuid4().hex  # every write below carries an Idempotency-Key: a lost answer is replayed, not redone
    created = await client.execute(document("create_board"),
                                   {"board_name": name, "board_kind": "public", "empty": True}, cost=10_000,
                                   idempotency_key=derive_idempotency_key("create_board", setup))
    board_id = str(created["create_board"]["id"])
    await _create_columns(client, board_id, demo_board_columns(), labels)
    seed = await client.execute(document("create_item"), {"board_id": board_id, "item_name": "ordersync seed"},
                                cost=10_000, idempotency_key=derive_idempotency_key("seed_item", setup))
    seed_id = str(seed["create_item"]["id"])
    subitem = await client.execute(document("create_subitem"), {"parent_item_id": seed_id, "item_name": "seed"},
                                   cost=10_000, idempotency_key=derive_idempotency_key("seed_subitem", setup))
    subitem_board_id = str(subitem["create_subitem"]["board"]["id"])
    await _create_columns(client, subitem_board_id, demo_subitem_board_columns(),
                          {"ORDER LINE STATUS": ["OPEN", "CUT", "SEWN", "PACKED", "SHIPPED"]})
    await client.execute(document("delete_item"), {"item_id": seed_id}, cost=10_000,
                         idempotency_key=derive_idempotency_key("delete_seed", setup))
    return board_id
