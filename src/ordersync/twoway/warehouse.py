"""The warehouse's copy of what people write on the board: `<prefix>board_edits` (append-only, one row per
item per board-owned column per distinct change: business key, value as text and typed where the column
type allows, who and when) and `<prefix>board_current` (each item's board-owned values now). Both live in
the source database beside the order lines they join to by business key; this module creates them when
missing and is their only writer. Nothing here is ever deleted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ordersync.state import KEY_LENGTH, SIZE_LENGTH
from ordersync.state.schema import utcnow


@dataclass(frozen=True)
class BoardValue:
    """One board-owned cell as the API read it, with who changed it last and when (None: not known)."""

    board_id: str
    item_id: str
    item_key: str
    size: str | None  # a subitem's size; None for an item
    column_id: str
    column_type: str
    text: str
    value: str | None  # the API's value JSON
    user_id: str | None
    changed_at: datetime | None
    by_ordersync: bool = False  # written by ordersync's own user (an initial value): never an edit
    history: bool = False  # a change the activity log lists before the cell's last: an edit, not the view
    logged: bool = False  # its last change is in the activity log (who and when are the log's)

    def change_key(self) -> str:
        """What makes one change of a cell distinct: when it was made (the log's time, to a ten-millionth of a
        second), else — when no log tells — the value it left."""
        if self.changed_at is not None:
            return hashlib.sha256(self.changed_at.isoformat().encode()).hexdigest()
        return hashlib.sha256("\x1f".join((self.text, self.value or "")).encode()).hexdigest()


def _cells() -> list[sa.Column[Any]]:
    return [
        sa.Column("item_key", sa.Unicode(KEY_LENGTH), nullable=False),
        sa.Column("size", sa.Unicode(SIZE_LENGTH)),
        sa.Column("column_type", sa.Unicode(30), nullable=False),
        sa.Column("value_text", sa.UnicodeText),
        sa.Column("value_json", sa.UnicodeText),
        sa.Column("value_number", sa.Float),
        sa.Column("value_date", sa.Date),
        sa.Column("user_id", sa.Unicode(20)),
        sa.Column("changed_at", sa.DateTime),
        sa.Column("pulled_at", sa.DateTime, nullable=False),
        sa.Column("via", sa.Unicode(10), nullable=False),  # pull | webhook
    ]


def warehouse_tables(prefix: str, schema: str | None = None) -> tuple[sa.MetaData, sa.Table, sa.Table]:
    md = sa.MetaData(schema=schema)
    edits = sa.Table(
        f"{prefix}board_edits", md,
        sa.Column("edit_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("board_id", sa.Unicode(20), nullable=False),
        sa.Column("item_id", sa.Unicode(20), nullable=False),
        sa.Column("column_id", sa.Unicode(100), nullable=False),
        sa.Column("change_key", sa.Unicode(64), nullable=False),
        *_cells(),
        sa.UniqueConstraint("board_id", "item_id", "column_id", "change_key", name=f"uq_{prefix}board_edits_change"),
        sa.Index(f"ix_{prefix}board_edits_key", "board_id", "item_key"),
    )
    current = sa.Table(
        f"{prefix}board_current", md,
        sa.Column("board_id", sa.Unicode(20), primary_key=True),
        sa.Column("item_id", sa.Unicode(20), primary_key=True),
        sa.Column("column_id", sa.Unicode(100), primary_key=True),
        *_cells(),
        sa.Index(f"ix_{prefix}board_current_key", "board_id", "item_key"),
    )
    return md, edits, current


def typed(column_type: str, text: str) -> tuple[float | None, date | None]:
    """The cell as a number (numbers) or a date (date), where its text reads as one."""
    if not text:
        return None, None
    if column_type == "numbers":
        try:
            return float(text.replace(",", "")), None
        except ValueError:
            return None, None
    if column_type == "date":
        try:
            return None, date.fromisoformat(text[:10])
        except ValueError:
            return None, None
    return None, None


class Warehouse:
    """The board's values in the warehouse database (tables made on first use)."""

    def __init__(self, engine: Engine, prefix: str, schema: str | None = None) -> None:
        self.engine = engine
        metadata, self.edits, self.current = warehouse_tables(prefix, schema)
        metadata.create_all(engine, checkfirst=True)

    def record(self, values: Sequence[BoardValue], via: str) -> int:
        """Bring the current view up to these cells, appending an edit for each cell a person changed since
        the view last saw it; the number of edits appended. A cell the view already shows is no change, so
        reading the board again (a re-pull, a webhook after a pull) never appends twice."""
        if not values:
            return 0
        try:
            with self.engine.begin() as connection:
                return self._record(connection, values, via)
        except sa.exc.IntegrityError:  # another receiver recorded the same change first: the view now shows it
            with self.engine.begin() as connection:
                return self._record(connection, values, via)

    def _record(self, connection: Connection, values: Sequence[BoardValue], via: str) -> int:
        current = self.current
        appended = 0
        now = utcnow()
        shown_now = self._shown(connection, values)
        for cell in values:
            if cell.history:
                appended += self._append(connection, cell, via, now)
                continue
            shown = shown_now.get((cell.board_id, cell.item_id, cell.column_id))
            if shown is not None and (shown[0] or "") == cell.text and shown[1] == cell.value:
                if cell.logged and not cell.by_ordersync:  # changed and changed back since the view was made
                    appended += self._append(connection, cell, via, now)
                continue
            if shown is None and not cell.text and cell.value is None:
                continue  # an empty cell never written: nothing to show
            if shown is not None:
                connection.execute(sa.update(current).where(
                    current.c.board_id == cell.board_id, current.c.item_id == cell.item_id,
                    current.c.column_id == cell.column_id).values(**_row(cell, via, now)))
            else:
                connection.execute(sa.insert(current).values(board_id=cell.board_id, item_id=cell.item_id,
                                                             column_id=cell.column_id, **_row(cell, via, now)))
            shown_now[(cell.board_id, cell.item_id, cell.column_id)] = (cell.text, cell.value)
            if not cell.by_ordersync:
                appended += self._append(connection, cell, via, now)
        return appended

    def _shown(self, connection: Connection, values: Sequence[BoardValue]) -> dict[tuple[str, str, str],
                                                                                      tuple[str | None, str | None]]:
        """What the current view shows of these cells' items, read in bulk."""
        current = self.current
        shown: dict[tuple[str, str, str], tuple[str | None, str | None]] = {}
        items = sorted({(cell.board_id, cell.item_id) for cell in values})
        for board_id in sorted({board for board, _ in items}):
            ids = [item_id for board, item_id in items if board == board_id]
            for start in range(0, len(ids), 500):
                shown |= {(row.board_id, row.item_id, row.column_id): (row.value_text, row.value_json)
                          for row in connection.execute(sa.select(
                              current.c.board_id, current.c.item_id, current.c.column_id, current.c.value_text,
                              current.c.value_json).where(current.c.board_id == board_id,
                                                          current.c.item_id.in_(ids[start:start + 500])))}
        return shown

    def _append(self, connection: Connection, cell: BoardValue, via: str, now: datetime) -> int:
        """The change as an edit, unless it is recorded already (read again from the log or the board)."""
        edits = self.edits
        key = cell.change_key()
        if connection.execute(sa.select(edits.c.edit_id).where(
                edits.c.board_id == cell.board_id, edits.c.item_id == cell.item_id,
                edits.c.column_id == cell.column_id, edits.c.change_key == key)).first() is not None:
            return 0
        connection.execute(sa.insert(edits).values(board_id=cell.board_id, item_id=cell.item_id,
                                                   column_id=cell.column_id, change_key=key, **_row(cell, via, now)))
        return 1


def _row(cell: BoardValue, via: str, now: datetime) -> dict[str, Any]:
    number, day = typed(cell.column_type, cell.text)
    return {"item_key": cell.item_key, "size": cell.size, "column_type": cell.column_type,
            "value_text": cell.text, "value_json": cell.value, "value_number": number, "value_date": day,
            "user_id": cell.user_id, "changed_at": cell.changed_at, "pulled_at": now, "via": via}
