"""Recording what a board shows: the one code path `ordersync pull` and the webhook receiver share.

Given items as the API read them (the `BoardItem` fragment) and the board's activity log, each board-owned
cell goes to the warehouse (`Warehouse.record`: the current view, and an edit when a person changed it) and
each source-owned cell that no longer shows what the sync last wrote becomes a conflict, settled by its
column's `on_edit` — the item's name (column `name`, `[items] on_name_edit`) and a size's quantity (the
quantity column with the size, `[subitems] on_quantity_edit`) too, both built from the source. A change made by ordersync's own user (`me`) is never a person's: not an edit, not a
conflict (echo suppression).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ordersync.config import ColumnMapping, Config
from ordersync.monday.codec import expected_text, quantity_from_text, same_text
from ordersync.state import StateStore
from ordersync.state.conflicts import Conflict, Conflicts
from ordersync.state.mirror import Mirror
from ordersync.twoway.warehouse import BoardValue, Warehouse

Raw = Mapping[str, Any]
NAME = "name"  # the item name's column id, as conflicts and the activity log's renames name it


def monday_time(stamp: Any) -> datetime | None:
    """A time as Monday writes it — the activity log's 17-digit ten-millionths of a second since the epoch, an
    ISO text, or epoch seconds — as a naive UTC datetime."""
    if stamp is None or stamp == "":
        return None
    text = str(stamp)
    try:
        if text.isdigit() and len(text) >= 16:
            return datetime.fromtimestamp(int(text) / 10_000_000, UTC).replace(tzinfo=None)
        if isinstance(stamp, int | float):
            return datetime.fromtimestamp(float(stamp), UTC).replace(tzinfo=None)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


@dataclass(frozen=True)
class Change:
    user_id: str | None
    at: datetime | None


def log_text(column_type: str, value: Any) -> str:
    """The text Monday shows for a value as the activity log (and webhooks) carry it."""
    if not isinstance(value, dict):
        return "" if value is None else str(value)
    if column_type == "name":  # a rename: {"name": ...}
        return str(value.get("name") or "")
    if column_type == "status":
        return str((value.get("label") or {}).get("text") or "")
    if column_type == "dropdown":
        return ", ".join(str(chosen.get("name")) for chosen in value.get("chosenValues") or [])
    if column_type == "date":
        return " ".join(str(part) for part in (value.get("date"), value.get("time")) if part)
    if column_type == "long_text":
        return str(value.get("text") or "")
    found = value.get("value")
    if isinstance(found, float) and found.is_integer():
        found = int(found)
    return "" if found is None else str(found)


class Attribution:
    """Who last changed each (item, column), every change of it with its value, and who made each item, from
    activity log entries."""

    def __init__(self, entries: Iterable[Raw] = ()) -> None:
        self.columns: dict[tuple[str, str], Change] = {}
        self.created: dict[str, Change] = {}
        self.history: dict[tuple[str, str], dict[datetime | None, tuple[Change, Any]]] = {}
        for entry in entries:
            self._add(entry)

    def _add(self, entry: Raw) -> None:
        try:
            data = json.loads(entry.get("data") or "{}")
        except (TypeError, json.JSONDecodeError):
            return
        if not isinstance(data, dict):
            return
        change = Change(str(entry["user_id"]) if entry.get("user_id") else None, monday_time(entry.get("created_at")))
        item_id = str(data.get("pulse_id") or "")
        if entry.get("event") == "create_pulse":
            self.created.setdefault(item_id, change)
        elif entry.get("event") in ("update_column_value", "update_name") and \
                (data.get("column_id") or entry.get("event") == "update_name"):
            cell = (item_id, str(data.get("column_id") or NAME))
            self.history.setdefault(cell, {})[change.at] = (change, data.get("value"))
            known = self.columns.get(cell)
            if known is None or (change.at and known.at and change.at > known.at):
                self.columns[cell] = change

    def merge(self, other: Attribution) -> Attribution:
        for key, change in other.columns.items():
            known = self.columns.get(key)
            if known is None or (change.at and known.at and change.at > known.at):
                self.columns[key] = change
        for item_id, change in other.created.items():
            self.created.setdefault(item_id, change)
        for cell, changes in other.history.items():
            self.history.setdefault(cell, {}).update(changes)
        return self

    def changes(self, item_id: str, column_id: str) -> list[tuple[Change, Any]]:
        """Every change of the cell the entries list, oldest first, each with the value it left."""
        return sorted(self.history.get((item_id, column_id), {}).values(), key=lambda found: found[0].at or datetime.min)

    def split(self, item_id: str, mapping: ColumnMapping, text: str) -> tuple[Change | None, list[tuple[Change, Any]]]:
        """The change that left the cell showing `text` (the latest entry that left that value; the item's
        creation when no entry tells of the cell), and every other change of it with its value: changes a
        person made before — or, read after the item, since — the board showed it."""
        changes = self.changes(item_id, mapping.id)
        for index in range(len(changes) - 1, -1, -1):
            if _same_text(log_text(mapping.type, changes[index][1]), text, mapping.type):
                return changes[index][0], changes[:index] + changes[index + 1:]
        return (None if changes else self.created.get(item_id)), changes

    def of(self, item_id: str, column_id: str) -> Change | None:
        """The cell's last change; else, for a cell never changed since, the item's creation."""
        return self.columns.get((item_id, column_id)) or self.created.get(item_id)


@dataclass
class Recorded:
    """What one pull (or one webhook event) recorded."""

    items: int = 0  # items read
    subitems: int = 0  # subitems read
    edits: int = 0  # rows appended to board_edits
    echoes: int = 0  # differences made by ordersync's own user: not taken for a person's
    conflicts: int = 0  # people's edits of source-owned columns recorded
    restore: int = 0  # of them: to be written back by the next sync
    keep: int = 0  # of them: kept until the source changes
    not_ours: int = 0  # items without a business key, or subitems of lines ordersync does not know

    def add(self, other: Recorded) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _same_text(logged: str, shown: str, column_type: str) -> bool:
    if column_type == "numbers" and logged and shown:
        try:
            return float(logged.replace(",", "")) == float(shown.replace(",", ""))
        except ValueError:
            return False
    return logged.strip() == shown.strip()


def _count(recorded: Recorded, policy: str, new: bool) -> None:
    if new:
        recorded.conflicts += 1
        recorded.restore += policy == "restore"
        recorded.keep += policy == "keep"


def _cells(raw: Raw) -> dict[str, Raw]:
    return {str(cell["id"]): cell for cell in raw.get("column_values") or []}


def _value_json(cell: Raw | None) -> str | None:
    value = (cell or {}).get("value")
    return None if value is None else str(value)


class BoardRecorder:
    """Records one board's items for `pull` and the webhook receiver."""

    def __init__(self, config: Config, store: StateStore, warehouse: Warehouse, me: str) -> None:
        self.config, self.store, self.warehouse, self.me = config, store, warehouse, me
        self.board_id = config.monday.board_id or ""
        self.board_owned = config.board_owned_columns()
        self.source_owned = [column for column in config.columns if column.owner == "source"]

    def record(self, items: Sequence[Raw], subitems: Sequence[Raw], attribution: Attribution, *,
               via: str) -> Recorded:
        recorded = Recorded(items=len(items), subitems=len(subitems))
        values: list[BoardValue] = []
        with self.store.engine.begin() as connection:
            mirror = self._mirror(connection, items)
            for raw in items:
                key = (_cells(raw).get(self.config.monday.key_column) or {}).get("text") or None
                if raw.get("state") not in (None, "active") or not key:
                    recorded.not_ours += raw.get("state") in (None, "active")
                    continue
                values += self._board_values(raw, key, None, self.board_owned, attribution)
                row = mirror.get(key)
                if row is not None and row["monday_item_id"] == str(raw["id"]):
                    self._conflicts(connection, raw, row, attribution, recorded)
            sizes = self._subitem_mirror(connection, subitems)
            owned = [ColumnMapping(id=column.id, type=column.type, owner="board") for column in
                     self.config.subitems.columns]
            for raw in subitems:
                known = sizes.get(str(raw["id"]))
                if known is None or raw.get("state") not in (None, "active"):
                    recorded.not_ours += known is None
                    continue
                values += self._board_values(raw, known["item_key"], known["size"], owned, attribution)
                self._quantity_conflicts(connection, raw, known, attribution, recorded)
        recorded.echoes += sum(value.by_ordersync for value in values)
        recorded.edits += self.warehouse.record(values, via)
        return recorded

    def _board_values(self, raw: Raw, key: str, size: str | None, columns: Sequence[ColumnMapping],
                      attribution: Attribution) -> list[BoardValue]:
        cells = _cells(raw)
        item_id = str(raw["id"])
        updated = monday_time(raw.get("updated_at"))
        found = []
        for mapping in columns:
            cell = cells.get(mapping.id)
            text = str((cell or {}).get("text") or "")
            change, others = attribution.split(item_id, mapping, text)
            found += [BoardValue(board_id=self.board_id, item_id=item_id, item_key=key, size=size,
                                 column_id=mapping.id, column_type=mapping.type,
                                 text=log_text(mapping.type, value), value=None if value is None else json.dumps(value),
                                 user_id=other.user_id, changed_at=other.at, history=True)
                      for other, value in others if other.user_id != self.me]
            found.append(BoardValue(
                board_id=self.board_id, item_id=item_id, item_key=key, size=size, column_id=mapping.id,
                column_type=mapping.type, text=text, value=_value_json(cell),
                user_id=change.user_id if change else None, changed_at=change.at if change else updated,
                by_ordersync=change is not None and change.user_id == self.me,
                logged=change is not None and change is not attribution.created.get(item_id)))
        return found

    def _conflicts(self, connection: Connection, raw: Raw, row: Mapping[str, Any], attribution: Attribution,
                   recorded: Recorded) -> None:
        """People's edits of source-owned cells — every one the activity log lists, and a cell that no longer
        shows what the sync last wrote — recorded as conflicts; `restore` ones make the next sync write the
        source value back."""
        synced = json.loads(row["column_values"] or "{}")
        cells = _cells(raw)
        item_id, key = str(raw["id"]), row["item_key"]
        conflicts = Conflicts(self.store.tables, self.board_id)
        restore: list[str] = []
        for mapping in self.source_owned:
            for change, value in attribution.changes(item_id, mapping.id):
                if change.user_id != self.me:
                    _count(recorded, mapping.on_edit, conflicts.record(connection, Conflict(
                        key, item_id, mapping.id, mapping.on_edit, synced.get(mapping.id), log_text(mapping.type, value),
                        None if value is None else json.dumps(value), change.user_id, change.at)))
            last = attribution.columns.get((item_id, mapping.id))
            if not self._edited_by_someone(mapping, synced, cells, last, recorded):
                continue
            cell = cells.get(mapping.id)
            _count(recorded, mapping.on_edit, conflicts.record(connection, Conflict(
                key, item_id, mapping.id, mapping.on_edit, synced.get(mapping.id), str((cell or {}).get("text") or ""),
                _value_json(cell), last.user_id if last else None, last.at if last else None)))
            if mapping.on_edit == "restore":
                restore.append(mapping.id)
        renamed = self._name_conflicts(connection, conflicts, raw, row, attribution, recorded)
        if restore or renamed is not None:
            Mirror(self.store.tables, self.board_id).mark_unknown(connection, key, restore, name=renamed)

    def _name_conflicts(self, connection: Connection, conflicts: Conflicts, raw: Raw, row: Mapping[str, Any],
                        attribution: Attribution, recorded: Recorded) -> str | None:
        """People's renames of the item (its name is built from the source): every one the log lists, and a
        name that is not the one the sync last wrote. The board's name when the name is to be restored."""
        item_id, key, written = str(raw["id"]), row["item_key"], row["item_name"]
        policy = self.config.items.on_name_edit
        for change, value in attribution.changes(item_id, NAME):
            if change.user_id != self.me:
                _count(recorded, policy, conflicts.record(connection, Conflict(
                    key, item_id, NAME, policy, written, log_text(NAME, value),
                    None if value is None else json.dumps(value), change.user_id, change.at)))
        name = str(raw.get("name") or "")
        last = attribution.columns.get((item_id, NAME))
        if not written or name == written:
            return None
        if last is not None and last.user_id == self.me:
            recorded.echoes += 1  # ordersync's own rename whose answer was lost
            return None
        _count(recorded, policy, conflicts.record(connection, Conflict(
            key, item_id, NAME, policy, written, name, None, last.user_id if last else None,
            last.at if last else None)))
        return name if policy == "restore" else None

    def _quantity_conflicts(self, connection: Connection, raw: Raw, known: Mapping[str, Any],
                            attribution: Attribution, recorded: Recorded) -> None:
        """People's edits of a size's quantity (the source's): every one the log lists, and a quantity that is
        not the one the sync last wrote — conflicts of the line's key and the size, settled by `[subitems]
        on_quantity_edit` (`restore`: the mirror's quantity unknown, so the next sync writes it back)."""
        column, policy = self.config.subitems.quantity_column, self.config.subitems.on_quantity_edit
        item_id, key, size, written = str(raw["id"]), known["item_key"], known["size"], known["quantity"]
        conflicts = Conflicts(self.store.tables, self.board_id)
        for change, value in attribution.changes(item_id, column):
            if change.user_id != self.me:
                _count(recorded, policy, conflicts.record(connection, Conflict(
                    key, item_id, column, policy, written, log_text("numbers", value),
                    None if value is None else json.dumps(value), change.user_id, change.at, size=size)))
        cell = _cells(raw).get(column)
        text = str((cell or {}).get("text") or "")
        if written is None or quantity_from_text(text) == written:
            return  # as written — or already known to differ: the next sync writes it
        last = attribution.columns.get((item_id, column))
        if last is not None and last.user_id == self.me:
            recorded.echoes += 1
            return
        _count(recorded, policy, conflicts.record(connection, Conflict(
            key, item_id, column, policy, written, text, _value_json(cell), last.user_id if last else None,
            last.at if last else None, size=size)))
        if policy == "restore":
            Mirror(self.store.tables, self.board_id).mark_quantity_unknown(connection, key, size)

    def _edited_by_someone(self, mapping: ColumnMapping, synced: Mapping[str, Any], cells: Mapping[str, Raw],
                           change: Change | None, recorded: Recorded) -> bool:
        """The cell no longer shows what the sync last wrote, and its last change was not ordersync's own."""
        if mapping.id in synced and synced[mapping.id] is None:
            return False  # already known to differ: the next sync writes it
        have = str((cells.get(mapping.id) or {}).get("text") or "")
        if same_text(have, expected_text(synced.get(mapping.id), mapping), mapping):
            return False
        if change is not None and change.user_id == self.me:
            recorded.echoes += 1  # ordersync's own write whose answer was lost: the mirror catches up on a sync
            return False
        return True

    def _mirror(self, connection: Connection, items: Sequence[Raw]) -> dict[str, Mapping[str, Any]]:
        synced = self.store.tables.synced_items
        ids = sorted({str(raw["id"]) for raw in items})
        rows: dict[str, Mapping[str, Any]] = {}
        for start in range(0, len(ids), 500):
            rows |= {row["item_key"]: row for row in connection.execute(sa.select(synced).where(
                synced.c.board_id == self.board_id, synced.c.monday_item_id.in_(ids[start:start + 500]))).mappings()}
        return rows

    def _subitem_mirror(self, connection: Connection, subitems: Sequence[Raw]) -> dict[str, Mapping[str, Any]]:
        """subitem id → its mirror row (item key, size, the quantity last written) of the sizes ordersync made."""
        synced = self.store.tables.synced_subitems
        ids = sorted({str(raw["id"]) for raw in subitems})
        found: dict[str, Mapping[str, Any]] = {}
        for start in range(0, len(ids), 500):
            found |= {str(row["monday_subitem_id"]): dict(row) for row in connection.execute(
                sa.select(synced.c.monday_subitem_id, synced.c.item_key, synced.c.size, synced.c.quantity).where(
                    synced.c.board_id == self.board_id,
                    synced.c.monday_subitem_id.in_(ids[start:start + 500]))).mappings()}
        return found
