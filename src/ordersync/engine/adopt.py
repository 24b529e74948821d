"""Adopt: the board is the truth of what exists (DESIGN §7).

The mirror (the synced tables) says which item holds each order line and what it shows. It can be
wrong about the board: a new state database knows nothing, a restored backup knows less than the
board holds (and older values), a second checkout or a person may have added, edited or deleted
items. Creating what the mirror does not know would then make a second item for one business key.
So between staging and the diff, a sync makes its mirror tell the truth. It compares the board's
mark — its active item count and most recently updated item, and its subitem board's — with the
mark this state database recorded when its last sync ended (`record_board_mark`):

- the same (`vouched`): only the lines it would create are looked up by the key column, in bulk
  (100 keys per request);
- the same counts, newer updates (`changed`): people or another installation edited items; those
  items (and the parents of edited subitems) are read, newest first, down to the recorded mark;
- anything else (`read`): a new, restored or moved database, items added or removed by someone
  else — the whole board is read once, page by page.

Each line read is compared with what the board shows: a staged line with the source's values, a
line the run does not sync with what the mirror recorded. An item found for a line the mirror did
not know is adopted; the mirror records it with the line's row hash when the board shows what the
source holds and without one when it differs (the diff then sends an update), and its sizes
likewise. Of several items with one key the oldest is kept — the one people have worked on — and
`reconcile --fix` archives the later copies. A mirror row whose item the board no longer has is
forgotten, so the line is created again; an item whose line the source no longer has is adopted so
that the diff removes it. `ordersync reconcile` compares the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ordersync.config import ColumnMapping, Config
from ordersync.engine.transform import ItemRow, SubitemRow
from ordersync.errors import MondayError
from ordersync.monday.board import BoardInfo, BoardMark, board_mark
from ordersync.monday.client import MondayClient
from ordersync.monday.codec import expected_text, quantity_from_text, same_text, texts_of
from ordersync.state import StateStore
from ordersync.state.conflicts import Conflict, Conflicts
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
                   mirror_sizes: Mapping[tuple[str, str], Mapping[str, Any]], group_ids: Mapping[str, str], *,
                   conflicts: Conflicts | None = None) -> bool:
    """Make one order line's mirror rows say what the board shows; True when a sync must fix something.

    A column the board shows differently is recorded as unknown (JSON null) and a differing line
    without a row hash, so the next diff sends what the source holds (see `ordersync.state.mirror`).
    A source-owned column the board shows otherwise than the sync last wrote it was changed by someone
    else: a conflict (recorded in `conflicts` when given), and with `on_edit = "keep"` the person's value
    stays — the mirror keeps the source's — while the source still holds what the sync wrote."""
    item = wanted.item
    key = item.item_key
    if on_board is None:  # the board lacks it: forget it, and the sync creates it with its sizes
        if mirrored is not None:
            board_mirror.forget_items(connection, [key])
        return True
    values: dict[str, Any] = {}
    kept_name = _kept_name(connection, conflicts, config, item, on_board, mirrored)
    item_differs = (on_board.name != item.item_name and not kept_name) or on_board.group != item.group_name
    written = _written_values(mirrored, on_board)
    for mapping in config.columns:
        if mapping.owner == "board":  # what people wrote there is the board's truth, never a difference
            continue
        value = item.column_values.get(mapping.id)
        have = on_board.texts.get(mapping.id, "")
        if same_text(have, expected_text(value, mapping), mapping) or \
                _kept_edit(connection, conflicts, mapping, key, on_board, written, value):
            if value is not None:
                values[mapping.id] = value
        else:
            values[mapping.id] = None
            item_differs = True
    sizes_differ = _correct_sizes(connection, board_mirror, config, wanted, on_board, mirror_sizes, conflicts)
    if item_differs or mirrored is None or mirrored["monday_item_id"] != on_board.id:
        shown = {
            "item_key": key, "customer": item.customer, "group_name": on_board.group,
            "item_name": item.item_name if kept_name else on_board.name,
            "po_number": item.po_number, "aag_season": item.aag_season, "customer_season": item.customer_season,
            "cancelled": item.cancelled, "column_values": dumps(values),
            "row_hash": None if item_differs else item.row_hash,
        }
        board_mirror.record_items(connection, [item_row(board_mirror.board_id, shown, on_board.id,
                                                        group_ids.get(on_board.group), run_id=None)])
    return item_differs or sizes_differ


def _written_values(mirrored: Mapping[str, Any] | None, on_board: BoardItem) -> dict[str, Any] | None:
    """What the sync last wrote to this item (None: the mirror holds another item, or none)."""
    if mirrored is None or mirrored["monday_item_id"] != on_board.id:
        return None
    return dict(json.loads(mirrored["column_values"] or "{}"))


def _kept_edit(connection: Connection, conflicts: Conflicts | None, mapping: ColumnMapping, key: str,
               on_board: BoardItem, written: Mapping[str, Any] | None, value: Any) -> bool:
    """A source-owned cell the board shows otherwise than the sync last wrote it: someone changed it — a
    conflict, recorded. True when its column keeps the person's value (the source still holds what was
    written); False when the sync writes the source's value (`restore`, or the source changed)."""
    if written is None or (mapping.id in written and written[mapping.id] is None):
        return False  # nothing known to have been written: no one's edit to tell
    have = on_board.texts.get(mapping.id, "")
    if same_text(have, expected_text(written.get(mapping.id), mapping), mapping):
        return False  # the board shows what was written: the source changed, not the board
    if conflicts is not None:
        conflicts.record(connection, Conflict(key, on_board.id, mapping.id, mapping.on_edit, written.get(mapping.id),
                                              have, None, None, None))
    return mapping.on_edit == "keep" and written.get(mapping.id) == value


def _kept_name(connection: Connection, conflicts: Conflicts | None, config: Config, item: ItemRow,
               on_board: BoardItem, mirrored: Mapping[str, Any] | None) -> bool:
    """The item's name (built from the source) is not the one the sync last wrote: a person renamed it — a
    conflict (column `name`), recorded. True when `[items] on_name_edit = "keep"` keeps the person's name
    (the source still makes the name that was written)."""
    if mirrored is None or mirrored["monday_item_id"] != on_board.id or not mirrored["item_name"] \
            or on_board.name == mirrored["item_name"]:
        return False
    policy = config.items.on_name_edit
    if conflicts is not None:
        conflicts.record(connection, Conflict(item.item_key, on_board.id, "name", policy, mirrored["item_name"],
                                              on_board.name, None, None, None))
    return policy == "keep" and mirrored["item_name"] == item.item_name


def _kept_quantity(connection: Connection, conflicts: Conflicts | None, config: Config, subitem: SubitemRow,
                   sub_id: str, text: str, quantity: int | None, known: Mapping[str, Any] | None) -> bool:
    """A size's quantity (the source's) is not the one the sync last wrote: a person changed it — a conflict
    (the quantity column, with the size), recorded. True when `[subitems] on_quantity_edit = "keep"` keeps
    the person's quantity (the source still holds what was written)."""
    if known is None or known["monday_subitem_id"] != sub_id or known["quantity"] is None \
            or quantity == known["quantity"]:
        return False
    policy = config.subitems.on_quantity_edit
    if conflicts is not None:
        conflicts.record(connection, Conflict(subitem.item_key, sub_id, config.subitems.quantity_column, policy,
                                              known["quantity"], text, None, None, None, size=subitem.size))
    return policy == "keep" and known["quantity"] == subitem.quantity


def _correct_sizes(connection: Connection, board_mirror: Mirror, config: Config, wanted: ExpectedItem,
                   on_board: BoardItem, mirror_sizes: Mapping[tuple[str, str], Mapping[str, Any]],
                   conflicts: Conflicts | None = None) -> bool:
    """The sizes of one order line, as the board shows them under its item; True when any differs. A size
    whose quantity a person changed is a conflict, settled by `[subitems] on_quantity_edit`."""
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
        text = next(text for entry_id, text in entries if entry_id == sub_id)
        quantity = quantity_from_text(text)
        if _kept_quantity(connection, conflicts, config, subitem, sub_id, text, quantity, known):
            continue  # the mirror keeps the quantity written, which the source still holds
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
    """What the adopt stage found. `how`: `vouched` (the board is as this database last saw it: only the
    lines to create were looked up), `changed` (only items were edited since: those were read), `read`
    (the whole board was read) or `empty` (the board holds no item)."""

    how: str
    board_items: int | None
    compared: int = 0  # lines compared with the board
    adopted: int = 0  # lines the mirror did not know (or knew by another item) found on the board
    differing: int = 0  # compared lines whose board values differ: the sync sends the source's
    forgotten: int = 0  # lines the mirror knew whose item the board no longer has: created again
    gone: int = 0  # items whose line the source no longer has, adopted so the diff removes them
    conflicts: int = 0  # people's edits of source-owned columns met on the board (state/conflicts.py)
    duplicates: list[str] = field(default_factory=list)  # keys held by more than one item

    def as_dict(self) -> dict[str, Any]:
        return {"how": self.how, "board_items": self.board_items, "compared": self.compared,
                "adopted": self.adopted, "differing": self.differing, "forgotten": self.forgotten,
                "gone": self.gone, "duplicates": len(self.duplicates), "conflicts": self.conflicts}


def _mark(mark: BoardMark | None, subitem_mark: BoardMark | None) -> dict[str, Any] | None:
    """The board's mark and its subitem board's, as the meta table keeps them (JSON)."""
    if mark is None:
        return None
    return {"items": mark.as_list(), "subitems": subitem_mark.as_list() if subitem_mark else None}


def _vouches(now: Mapping[str, Any] | None, recorded: Mapping[str, Any] | None) -> bool:
    """The board is as this database last saw it whole (and its marks can tell)."""
    if now is None or now != recorded:
        return False
    return all(mark is None or mark[3] for mark in (now["items"], now.get("subitems")))


def _recorded_mark(store: StateStore, board_id: str) -> dict[str, Any] | None:
    text = store.board_mark(board_id)
    try:
        found = json.loads(text) if text else None
    except json.JSONDecodeError:
        return None
    return found if isinstance(found, dict) else None


def board_vouches(store: StateStore, board: BoardInfo) -> bool:
    """The board is as this state database last saw it whole: what the mirror records of it holds."""
    return _vouches(_mark(board.mark, board.subitem_mark), _recorded_mark(store, board.board_id))


async def record_board_mark(store: StateStore, client: MondayClient, board: BoardInfo, *,
                            sent_nothing: bool = False) -> None:
    """The board's mark as a run leaves it, its mirror true to the board: while nobody else changes
    the board, the next run trusts its mirror and looks up only the lines it would create.

    `sent_nothing`: the run sent the board no mutation, so the mark read with its schema is still the
    board's as far as this run knows — recorded without a request (a nothing-changed resync costs the
    schema reads alone). Someone else's edit since then leaves a newer mark on the board, which the next
    run finds different from this one and checks, as it would any edit."""
    if sent_nothing and (mark := _mark(board.mark, board.subitem_mark)) is not None and _unsettled(mark) <= 0:
        store.record_board_mark(board.board_id, dumps(mark))
        return
    ids = [board.board_id, *([board.subitem_board_id] if board.subitem_board_id else [])]
    for waited in (False, True):
        try:
            answers = await client.board_marks(ids)
        except MondayError as error:  # the next run reads the board instead: slower, never wrong
            log.warning("could not read board %s's mark (%s): the next sync reads the board whole",
                        board.board_id, error.message)
            return
        mark = _mark(board_mark(answers.get(board.board_id)),
                     board_mark(answers.get(board.subitem_board_id)) if board.subitem_board_id else None)
        if mark is None:
            return
        if (wait := _unsettled(mark)) <= 0:
            break
        if waited or wait > MARK_SETTLE_SECONDS:  # this clock behind Monday's: a mark the next run checks
            mark = {name: [*found[:3], False] if found else found for name, found in mark.items()}
            break
        await asyncio.sleep(wait)
    store.record_board_mark(board.board_id, dumps(mark))


MARK_SETTLE_SECONDS = 2.0  # the longest a run waits for the second of its last write to pass


def _unsettled(mark: Mapping[str, Any]) -> float:
    """Seconds until the newest second in the mark has passed (≤ 0: it has). Monday's times have whole
    seconds: an item edited later in the second the mark's newest item was written keeps that time, and a
    mark read before that second is over could not tell it was edited."""
    newest = [found[1] for found in mark.values() if found and found[1]]
    try:
        latest = max(datetime.fromisoformat(text) for text in newest) if newest else None
    except ValueError:
        return 0.0
    if latest is None:
        return 0.0
    if latest.tzinfo is None:
        latest = latest.replace(tzinfo=UTC)
    return (latest + timedelta(seconds=1) - datetime.now(UTC)).total_seconds() + 0.05


async def adopt_board_items(config: Config, store: StateStore, client: MondayClient, board: BoardInfo,
                            run_id: int, *, source_keys: Callable[[], Set[str]]) -> Adoption:
    """Make the mirror true to the board for the lines run `run_id` staged, before anything is created.

    `source_keys` reads every business key of the source: board items whose line the source no
    longer has — left by a restored or another state database — are adopted too when the board is
    read, and the diff removes them like any line gone from the source."""
    board_id, count = board.board_id, board.items_count
    now, recorded = _mark(board.mark, board.subitem_mark), _recorded_mark(store, board_id)
    new_keys = _unknown_keys(store, run_id, board_id)
    if board_vouches(store, board):
        adoption = Adoption("vouched", count)
        found = await _look_up(config, client, board_id, new_keys) if count else []
        _adopt(config, store, run_id, board_id, new_keys, found, adoption)
        return adoption
    if now is not None and recorded is not None and _same_counts(now, recorded):
        adoption = Adoption("changed", count)
        touched = await _items_changed_since(config, client, board, recorded)
        known = {item.key for item in touched}
        found = [*touched, *await _look_up(config, client, board_id, [key for key in new_keys if key not in known])]
        keys = sorted({*new_keys, *(key for key in known if key is not None)})
        _adopt(config, store, run_id, board_id, keys, found, adoption)
        if touched:
            _adopt_gone_lines(config, store, board_id, touched, source_keys(), adoption)
    else:
        log.info("board %s holds %s items and this state database %s: reading the board to adopt what it "
                 "holds before anything is created", board_id, count,
                 "never saw it" if recorded is None else "last saw it otherwise")
        adoption = Adoption("empty" if count == 0 else "read", count)
        key_column, quantity_column = config.monday.key_column, config.subitems.quantity_column
        found = [] if count == 0 else await read_board(client, board_id, key_column=key_column,
                                                       quantity_column=quantity_column)
        _adopt(config, store, run_id, board_id, None, found, adoption)
        if found:
            _adopt_gone_lines(config, store, board_id, found, source_keys(), adoption)
    if adoption.duplicates:
        log.warning("board %s holds %d business keys more than once (the oldest item is kept): run "
                    "`ordersync reconcile --fix` to archive the later copies", board_id, len(adoption.duplicates))
    if adoption.adopted or adoption.forgotten or adoption.differing:
        log.info("board %s: adopted %d order lines already on the board, %d differ from the source, %d are gone "
                 "from the board", board_id, adoption.adopted, adoption.differing, adoption.forgotten)
    return adoption


def _same_counts(now: Mapping[str, Any], recorded: Mapping[str, Any]) -> bool:
    """Nobody added or removed an item or a subitem since: only edits, which can be read alone."""
    def counts(mark: Mapping[str, Any]) -> tuple[Any, Any]:
        return mark["items"][0], (mark.get("subitems") or [None])[0]

    return counts(now) == counts(recorded) and (now.get("subitems") is None) == (recorded.get("subitems") is None)


async def _look_up(config: Config, client: MondayClient, board_id: str, keys: Sequence[str]) -> list[BoardItem]:
    """The board's items holding these business keys, found by the key column in bulk."""
    if not keys:
        return []
    raws = await client.items_by_column_value(board_id, config.monday.key_column, keys)
    return _board_items(config, raws)


async def _items_changed_since(config: Config, client: MondayClient, board: BoardInfo,
                               recorded: Mapping[str, Any]) -> list[BoardItem]:
    """Items updated since the recorded mark, and the parents of subitems updated since."""
    raws: dict[str, dict[str, Any]] = {}
    if board.mark is not None and board.mark.as_list() != recorded["items"]:
        since = recorded["items"][1] or ""
        raws |= {str(raw["id"]): raw for raw in await client.items_updated_since(board.board_id, since)}
    subitems = recorded.get("subitems")
    if board.subitem_board_id and board.subitem_mark is not None and subitems \
            and board.subitem_mark.as_list() != subitems:
        since = subitems[1] or ""
        changed = await client.items_updated_since(board.subitem_board_id, since)
        parents = {str(raw["parent_item"]["id"]) for raw in changed if raw.get("parent_item")} - raws.keys()
        raws |= {str(raw["id"]): raw for raw in await client.items_by_id(sorted(parents))}
    return _board_items(config, raws.values())


def _board_items(config: Config, raws: Iterable[Mapping[str, Any]]) -> list[BoardItem]:
    key_column, quantity_column = config.monday.key_column, config.subitems.quantity_column
    return [item for raw in raws
            if (item := board_item(raw, key_column=key_column, quantity_column=quantity_column)) is not None]


def _adopt(config: Config, store: StateStore, run_id: int, board_id: str, keys: Sequence[str] | None,
           found: Sequence[BoardItem], adoption: Adoption) -> None:
    """Compare lines (`keys`, or every line the run staged or the mirror knows) with the board's items and
    correct the mirror. A staged line is expected to show what the source holds; a line the run did
    not stage, what the mirror says it showed."""
    by_key: dict[str, list[BoardItem]] = defaultdict(list)
    for item in found:
        if item.key is not None:
            by_key[item.key].append(item)
    tables = store.tables
    board_mirror = Mirror(tables, board_id)
    with store.engine.begin() as connection:
        mirror = _mirror_rows(connection, store, board_id, keys)
        expected = staged_expectations(connection, store, run_id, keys)
        mirror_sizes = _mirror_sizes(connection, store, board_id, None if keys is None else mirror.keys())
        sizes_by_key: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for (key, _), size in mirror_sizes.items():
            sizes_by_key[key].append(size)
        for key, row in mirror.items():
            if key not in expected:
                expected[key] = _mirrored_expectation(row, sizes_by_key.get(key, []))
        group_ids = dict(connection.execute(sa.select(tables.groups.c.group_name, tables.groups.c.group_id).where(
            tables.groups.c.board_id == board_id)).all())
        conflicts = Conflicts(tables, board_id)
        conflicts_before = conflicts.counts(connection)["count"]
        for key, wanted in expected.items():
            items = by_key.get(key, [])
            if len(items) > 1:
                adoption.duplicates.append(key)
            keep = oldest(items) if items else None
            mirrored = mirror.get(key)
            if keep is None and mirrored is None:
                continue  # a line to create, nowhere on the board
            adoption.compared += 1
            differs = correct_mirror(connection, board_mirror, config, wanted, keep, mirrored, mirror_sizes, group_ids,
                                     conflicts=conflicts)
            if keep is None:
                adoption.forgotten += 1
                continue
            adoption.adopted += mirrored is None or mirrored["monday_item_id"] != keep.id
            adoption.differing += differs
        adoption.conflicts += conflicts.counts(connection)["count"] - conflicts_before


def _mirror_sizes(connection: Connection, store: StateStore, board_id: str,
                  keys: Collection[str] | None) -> dict[tuple[str, str], dict[str, Any]]:
    return {(row["item_key"], row["size"]): row
            for row in _board_rows(connection, store.tables.synced_subitems, board_id, keys)}


def _mirrored_expectation(row: Mapping[str, Any], sizes: Iterable[Mapping[str, Any]]) -> ExpectedItem:
    """What the board showed of a line when the mirror recorded it (a line this run does not sync)."""
    values = dict(json.loads(row["column_values"] or "{}"))
    item = ItemRow(item_key=row["item_key"], customer=row["customer"], group_name=row["group_name"] or "",
                   item_name=row["item_name"] or "", po_number=row["po_number"], aag_season=row["aag_season"],
                   customer_season=row["customer_season"], cancelled=bool(row["cancelled"]), column_values=values,
                   row_hash=row["row_hash"] or "", source_row=0)
    shown = {size["name"]: SubitemRow(item_key=row["item_key"], customer=row["customer"], size=size["size"],
                                      name=size["name"], quantity=size["quantity"], position=0)
             for size in sizes if size["name"]}
    return ExpectedItem(item, shown)


def _adopt_gone_lines(config: Config, store: StateStore, board_id: str, found: Sequence[BoardItem],
                      in_source: Set[str], adoption: Adoption) -> None:
    """Board items carrying a key the source no longer has, unknown to the mirror: recorded with their
    sizes as the board shows them (so a line that comes back later is updated, never duplicated)."""
    board_mirror = Mirror(store.tables, board_id)
    synced = store.tables.synced_items
    size_of = _size_reader(config.subitems.name)
    with store.engine.begin() as connection:
        known = set(connection.execute(sa.select(synced.c.item_key).where(synced.c.board_id == board_id)).scalars())
        customers = sorted({*config.customers, *connection.execute(sa.select(synced.c.customer).distinct().where(
            synced.c.board_id == board_id)).scalars()}, key=len, reverse=True)
        group_ids = dict(connection.execute(sa.select(store.tables.groups.c.group_name,
                                                      store.tables.groups.c.group_id).where(
            store.tables.groups.c.board_id == board_id)).all())
        by_key: dict[str, list[BoardItem]] = defaultdict(list)
        for item in found:
            if item.key is not None and item.key not in in_source and item.key not in known:
                by_key[item.key].append(item)
        for key, items in by_key.items():
            keep = oldest(items)
            customer = next((name for name in customers if keep.group.casefold().startswith(name.casefold())),
                            keep.group)
            shown = {"item_key": key, "customer": customer, "group_name": keep.group, "item_name": keep.name,
                     "po_number": None, "aag_season": None, "customer_season": None, "cancelled": False,
                     "column_values": "{}", "row_hash": None}
            board_mirror.record_items(connection, [item_row(board_id, shown, keep.id, group_ids.get(keep.group),
                                                            run_id=None)])
            sizes = [subitem_row(board_id, {"item_key": key, "size": size, "name": name,
                                            "quantity": quantity_from_text(entries[0][1])}, entries[0][0], keep.id,
                                 run_id=None)
                     for name, entries in keep.subitems.items() if (size := size_of(name)) is not None]
            if sizes:
                board_mirror.record_subitems(connection, sizes)
            adoption.gone += 1
    if adoption.gone:
        log.info("board %s: %d items carry a line the source no longer has: adopted, so this run removes them",
                 board_id, adoption.gone)


def _size_reader(template: str) -> Callable[[str], str | None]:
    """The size in a subitem name made from `[subitems] name` (e.g. "Size {size}" → "Size M" → "M")."""
    prefix, _, suffix = template.partition("{size}")
    pattern = re.compile(re.escape(prefix) + "(?P<size>.+)" + re.escape(suffix) + r"\Z")

    def size_of(name: str) -> str | None:
        matched = pattern.match(name)
        return matched.group("size") if matched else None

    return size_of


def _unknown_keys(store: StateStore, run_id: int, board_id: str) -> list[str]:
    """The lines the run staged that the mirror does not know: what it would create."""
    staged, synced = store.tables.staged_items, store.tables.synced_items
    known = sa.select(sa.literal(1)).where(synced.c.board_id == board_id, synced.c.item_key == staged.c.item_key)
    with store.engine.connect() as connection:
        return list(connection.execute(sa.select(staged.c.item_key).where(
            staged.c.run_id == run_id, ~known.exists()).order_by(staged.c.item_key)).scalars())


def _mirror_rows(connection: Connection, store: StateStore, board_id: str,
                 keys: Collection[str] | None) -> dict[str, dict[str, Any]]:
    return {row["item_key"]: row for row in _board_rows(connection, store.tables.synced_items, board_id, keys)}


def _board_rows(connection: Connection, table: sa.Table, board_id: str,
                keys: Collection[str] | None) -> list[dict[str, Any]]:
    """A mirror table's rows of the board: all of them (`keys` None) or those of `keys`, 500 keys a query."""
    query = sa.select(table).where(table.c.board_id == board_id)
    if keys is None:
        return [dict(row) for row in connection.execute(query).mappings()]
    wanted = sorted(keys)
    return [dict(row) for start in range(0, len(wanted), 500)
            for row in connection.execute(query.where(table.c.item_key.in_(wanted[start:start + 500]))).mappings()]


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
