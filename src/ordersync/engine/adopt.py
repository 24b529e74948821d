"""Adopt: the board is the truth of what exists (DESIGN §7).

The mirror (the synced tables) says which item holds each order line. It can be wrong about the
board: a new state database knows nothing, a restored backup knows less than the board holds, a
second checkout or a person may have added or deleted items. Creating what the mirror does not know
would then make a second item for one business key. So between staging and the diff, a sync makes
its mirror tell the truth for the order lines it staged:

- when the mirror can vouch for the board — the board's active item count is the one this state
  database recorded when its last sync ended — only the lines it would create are looked up by the
  key column, in bulk (100 keys per request);
- otherwise (a new, restored or moved database, a board someone else changed) the whole board is
  read once, page by page, and every staged line is compared with what the board shows.

An item found for a line is adopted: the mirror records it, with the line's row hash when the board
shows what the source holds and without one when it differs (the diff then sends an update), and
its sizes likewise. Of several items with one key the oldest is kept — the one people have worked
on — and `reconcile --fix` archives the later copies. A mirror row whose item the board no longer
has is forgotten, so the line is created again. `ordersync reconcile` compares the same way.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ordersync.config import Config
from ordersync.engine.transform import ItemRow, SubitemRow
from ordersync.monday.board import BoardInfo
from ordersync.monday.client import MondayClient
from ordersync.monday.codec import expected_text, quantity_from_text, same_text, texts_of
from ordersync.state import StateStore
from ordersync.state.mirror import Mirror, item_row, subitem_row
from ordersync.state.schema import dumps

log = logging.getLogger(__name__)


@dataclass
class BoardItem:
    """An active item as a person sees it: name, group title, cell texts, subitems by name."""

    id: str
    name: str
    group: str
    key: str | None
    texts: dict[str, str]
    subitems: dict[str, list[tuple[str, str]]]  # subitem name → [(id, quantity text)]
    created_at: str = ""


@dataclass
class ExpectedItem:
    item: ItemRow
    subitems: dict[str, SubitemRow]  # subitem name → row


def board_item(raw: Mapping[str, Any], *, key_column: str, quantity_column: str) -> BoardItem | None:
    """The item of an API answer (the `BoardItem` fragment); None when it is archived or deleted."""
    if raw.get("state") not in (None, "active"):
        return None
    texts = texts_of(raw.get("column_values"))
    subitems: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for sub in raw.get("subitems") or []:
        if sub.get("state") in (None, "active"):
            subitems[sub["name"]].append((str(sub["id"]), texts_of(sub.get("column_values")).get(quantity_column, "")))
    return BoardItem(str(raw["id"]), raw["name"], (raw.get("group") or {}).get("title", ""),
                     texts.get(key_column) or None, texts, dict(subitems), str(raw.get("created_at") or ""))


async def read_board(client: MondayClient, board_id: str, *, key_column: str, quantity_column: str) -> list[BoardItem]:
    """Every active item of the board with its cells and subitems, page by page."""
    return [item async for raw in client.board_items(board_id)
            if (item := board_item(raw, key_column=key_column, quantity_column=quantity_column)) is not None]


def oldest(items: Iterable[BoardItem]) -> BoardItem:
    """The item made first: Monday's creation time, then its id (ids grow with time)."""
    return min(items, key=lambda item: (item.created_at, int(item.id)))


def correct_mirror(connection: Connection, board_mirror: Mirror, config: Config, wanted: ExpectedItem,
                   on_board: BoardItem | None, mirrored: Mapping[str, Any] | None,
                   mirror_sizes: Mapping[tuple[str, str], Mapping[str, Any]], group_ids: Mapping[str, str]) -> bool:
    """Make one order line's mirror rows say what the board shows; True when a sync must fix something.

    A column the board shows differently is recorded as unknown (JSON null) and a differing line
    without a row hash, so the next diff sends what the source holds (see `ordersync.state.mirror`)."""
    item = wanted.item
    key = item.item_key
    if on_board is None:  # the board lacks it: forget it, and the sync creates it with its sizes
        if mirrored is not None:
            board_mirror.forget_items(connection, [key])
        return True
    values: dict[str, Any] = {}
    item_differs = on_board.name != item.item_name or on_board.group != item.group_name
    for mapping in config.columns:
        value = item.column_values.get(mapping.id)
        if same_text(on_board.texts.get(mapping.id, ""), expected_text(value, mapping), mapping):
            if value is not None:
                values[mapping.id] = value
        else:
            values[mapping.id] = None
            item_differs = True
    sizes_differ = _correct_sizes(connection, board_mirror, wanted, on_board, mirror_sizes)
    if item_differs or mirrored is None or mirrored["monday_item_id"] != on_board.id:
        shown = {
            "item_key": key, "customer": item.customer, "group_name": on_board.group, "item_name": on_board.name,
            "po_number": item.po_number, "aag_season": item.aag_season, "customer_season": item.customer_season,
            "cancelled": item.cancelled, "column_values": dumps(values),
            "row_hash": None if item_differs else item.row_hash,
        }
        board_mirror.record_items(connection, [item_row(board_mirror.board_id, shown, on_board.id,
                                                        group_ids.get(on_board.group), run_id=None)])
    return item_differs or sizes_differ


def _correct_sizes(connection: Connection, board_mirror: Mirror, wanted: ExpectedItem, on_board: BoardItem,
                   mirror_sizes: Mapping[tuple[str, str], Mapping[str, Any]]) -> bool:
    """The sizes of one order line, as the board shows them under its item; True when any differs."""
    key = wanted.item.item_key
    differ = False
    for name, subitem in wanted.subitems.items():
        entries = on_board.subitems.get(name, [])
        known = mirror_sizes.get((key, subitem.size))
        if not entries:  # the board lacks the size: forget it, and the sync creates it
            if known is not None:
                board_mirror.forget_subitems(connection, [(key, subitem.size)])
            differ = True
            continue
        sub_id = known["monday_subitem_id"] if known and any(e[0] == known["monday_subitem_id"] for e in entries) \
            else entries[0][0]
        quantity = quantity_from_text(next(text for entry_id, text in entries if entry_id == sub_id))
        differ = differ or quantity != subitem.quantity
        if known and (known["monday_subitem_id"], known["quantity"], known["parent_item_id"]) == \
                (sub_id, quantity, on_board.id):
            continue
        shown = {"item_key": key, "size": subitem.size, "name": name, "quantity": quantity}
        board_mirror.record_subitems(connection, [subitem_row(board_mirror.board_id, shown, sub_id, on_board.id,
                                                              run_id=None)])
    return differ


# -- the adopt stage of a sync --------------------------------------------------------------------

@dataclass
class Adoption:
    """What the adopt stage found; `how` is `vouched` (lookup of new lines), `read` (whole board) or `empty`."""

    how: str
    board_items: int | None
    looked_up: int = 0  # staged lines compared with the board
    adopted: int = 0  # lines the mirror did not know (or knew by another item) found on the board
    differing: int = 0  # adopted or compared lines whose board values differ: the sync sends the source's
    forgotten: int = 0  # lines the mirror knew whose item the board no longer has: created again
    duplicates: list[str] = field(default_factory=list)  # keys held by more than one item

    def as_dict(self) -> dict[str, Any]:
        return {"how": self.how, "board_items": self.board_items, "looked_up": self.looked_up,
                "adopted": self.adopted, "differing": self.differing, "forgotten": self.forgotten,
                "duplicates": len(self.duplicates)}


async def adopt_board_items(config: Config, store: StateStore, client: MondayClient, board: BoardInfo,
                            run_id: int) -> Adoption:
    """Make the mirror true to the board for the lines run `run_id` staged, before anything is created."""
    board_id = board.board_id
    count = board.items_count
    recorded = store.vouched_items_count(board_id)
    key_column, quantity_column = config.monday.key_column, config.subitems.quantity_column
    if count is not None and count == recorded:
        keys = _unknown_keys(store, run_id, board_id)
        adoption = Adoption("vouched", count, looked_up=len(keys))
        if not keys or count == 0:
            return adoption
        raws = await client.items_by_column_value(board_id, key_column, keys)
        found = [item for raw in raws
                 if (item := board_item(raw, key_column=key_column, quantity_column=quantity_column)) is not None]
    else:
        log.info("board %s holds %s items; this state database last saw %s: reading the board to adopt what it "
                 "holds before anything is created", board_id, count, "nothing" if recorded is None else recorded)
        keys = None
        adoption = Adoption("empty" if count == 0 else "read", count)
        found = [] if count == 0 else await read_board(client, board_id, key_column=key_column,
                                                       quantity_column=quantity_column)
    _adopt(config, store, run_id, board_id, keys, found, adoption)
    if adoption.duplicates:
        log.warning("board %s holds %d business keys more than once (the oldest item is kept): run "
                    "`ordersync reconcile --fix` to archive the later copies", board_id, len(adoption.duplicates))
    if adoption.adopted or adoption.forgotten:
        log.info("board %s: adopted %d order lines already on the board, forgot %d the board no longer has",
                 board_id, adoption.adopted, adoption.forgotten)
    return adoption


def _adopt(config: Config, store: StateStore, run_id: int, board_id: str, keys: Sequence[str] | None,
           found: Sequence[BoardItem], adoption: Adoption) -> None:
    """Compare the staged lines (`keys`, or all of the run's) with the board's items and correct the mirror."""
    by_key: dict[str, list[BoardItem]] = defaultdict(list)
    for item in found:
        if item.key is not None:
            by_key[item.key].append(item)
    tables = store.tables
    board_mirror = Mirror(tables, board_id)
    with store.engine.begin() as connection:
        expected = staged_expectations(connection, store, run_id, keys)
        mirror = _mirror_rows(connection, store, board_id, None if keys is None else expected.keys())
        mirror_sizes = {(row["item_key"], row["size"]): dict(row) for row in connection.execute(
            sa.select(tables.synced_subitems).where(tables.synced_subitems.c.board_id == board_id)).mappings()
            if row["item_key"] in expected}
        group_ids = dict(connection.execute(sa.select(tables.groups.c.group_name, tables.groups.c.group_id).where(
            tables.groups.c.board_id == board_id)).all())
        adoption.looked_up = len(expected)
        for key, wanted in expected.items():
            items = by_key.get(key, [])
            if len(items) > 1:
                adoption.duplicates.append(key)
            keep = oldest(items) if items else None
            mirrored = mirror.get(key)
            if keep is None and mirrored is None:
                continue
            differs = correct_mirror(connection, board_mirror, config, wanted, keep, mirrored, mirror_sizes, group_ids)
            if keep is None:
                adoption.forgotten += 1
                continue
            adoption.adopted += mirrored is None or mirrored["monday_item_id"] != keep.id
            adoption.differing += differs


def _unknown_keys(store: StateStore, run_id: int, board_id: str) -> list[str]:
    """The lines the run staged that the mirror does not know: what it would create."""
    staged, synced = store.tables.staged_items, store.tables.synced_items
    known = sa.select(sa.literal(1)).where(synced.c.board_id == board_id, synced.c.item_key == staged.c.item_key)
    with store.engine.connect() as connection:
        return list(connection.execute(sa.select(staged.c.item_key).where(
            staged.c.run_id == run_id, ~known.exists()).order_by(staged.c.item_key)).scalars())


def _mirror_rows(connection: Connection, store: StateStore, board_id: str,
                 keys: Collection[str] | None) -> dict[str, dict[str, Any]]:
    synced = store.tables.synced_items
    query = sa.select(synced).where(synced.c.board_id == board_id)
    if keys is None:
        return {row["item_key"]: dict(row) for row in connection.execute(query).mappings()}
    rows: dict[str, dict[str, Any]] = {}
    wanted = sorted(keys)
    for start in range(0, len(wanted), 500):
        rows |= {row["item_key"]: dict(row) for row in connection.execute(
            query.where(synced.c.item_key.in_(wanted[start:start + 500]))).mappings()}
    return rows


def staged_expectations(connection: Connection, store: StateStore, run_id: int,
                        keys: Sequence[str] | None = None) -> dict[str, ExpectedItem]:
    """What the board should show for the run's staged lines (all of them, or those of `keys`)."""
    staged_items, staged_subitems = store.tables.staged_items, store.tables.staged_subitems
    chunks = [None] if keys is None else [list(keys[start:start + 500]) for start in range(0, len(keys), 500)]
    expected: dict[str, ExpectedItem] = {}
    for chunk in chunks:
        items = sa.select(staged_items).where(staged_items.c.run_id == run_id)
        sizes = sa.select(staged_subitems).where(staged_subitems.c.run_id == run_id)
        if chunk is not None:
            items = items.where(staged_items.c.item_key.in_(chunk))
            sizes = sizes.where(staged_subitems.c.item_key.in_(chunk))
        for row in connection.execute(items).mappings():
            expected[row["item_key"]] = ExpectedItem(ItemRow(
                item_key=row["item_key"], customer=row["customer"], group_name=row["group_name"] or "",
                item_name=row["item_name"] or "", po_number=row["po_number"], aag_season=row["aag_season"],
                customer_season=row["customer_season"], cancelled=bool(row["cancelled"]),
                column_values=json.loads(row["column_values"] or "{}"), row_hash=row["row_hash"] or "",
                source_row=row["source_row"] or 0), {})
        for row in connection.execute(sizes).mappings():
            if row["item_key"] in expected:
                expected[row["item_key"]].subitems[row["name"]] = SubitemRow(
                    item_key=row["item_key"], customer=row["customer"], size=row["size"], name=row["name"],
                    quantity=row["quantity"], position=row["position"] or 0)
    return expected
