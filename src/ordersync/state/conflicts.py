"""Board conflicts (issue 13): a person's edit of a source-owned column — the only writer of `board_conflicts`.

`ordersync pull` and the webhook receiver record one row per distinct value a person leaves in a source-owned
column; the column's policy settles it: `restore` marks the mirror's value unknown (the next sync writes the
source value back, `Mirror.mark_unknown`), `keep` is read back by the sync (`kept`), which then leaves the
person's value alone for as long as the source still holds the value it had when the edit was met.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ordersync.state.schema import StateTables, dumps, utcnow


@dataclass(frozen=True)
class Conflict:
    item_key: str
    item_id: str
    column_id: str
    policy: str  # the column's `on_edit`: restore | keep
    source_value: Any  # what the sync last wrote there, as the mirror holds it
    board_text: str
    board_value: str | None
    user_id: str | None
    changed_at: datetime | None


class Conflicts:
    """One board's conflicts, inside the caller's transaction."""

    def __init__(self, tables: StateTables, board_id: str) -> None:
        self.table = tables.board_conflicts
        self.board_id = board_id

    def _latest(self, connection: Connection) -> dict[tuple[str, str], Any]:
        """(item key, column id) → its latest conflict."""
        table = self.table
        rows = connection.execute(sa.select(table).where(table.c.board_id == self.board_id)
                                  .order_by(table.c.conflict_id)).mappings()
        return {(row["item_key"], row["column_id"]): row for row in rows}

    def record(self, connection: Connection, conflict: Conflict) -> bool:
        """Record the conflict unless the latest one of its item's column met the same board value already
        (a pull reading the board again, a webhook and a pull for one edit); True when recorded."""
        table = self.table
        latest = connection.execute(sa.select(table.c.board_text).where(
            table.c.board_id == self.board_id, table.c.item_key == conflict.item_key,
            table.c.column_id == conflict.column_id).order_by(table.c.conflict_id.desc()).limit(1)).scalar()
        if latest is not None and latest == conflict.board_text:
            return False
        connection.execute(sa.insert(table).values(
            board_id=self.board_id, item_key=conflict.item_key, item_id=conflict.item_id,
            column_id=conflict.column_id, policy=conflict.policy, source_value=dumps(conflict.source_value),
            board_text=conflict.board_text, board_value=conflict.board_value, user_id=conflict.user_id,
            changed_at=conflict.changed_at, recorded_at=utcnow()))
        return True

    def kept(self, connection: Connection) -> dict[tuple[str, str], Any]:
        """(item key, column id) → the source value at the time, for each column whose latest conflict is to
        be kept: while the source still holds that value the sync leaves the person's value alone."""
        return {key: json.loads(row["source_value"]) if row["source_value"] is not None else None
                for key, row in self._latest(connection).items() if row["policy"] == "keep"}

    def listing(self, connection: Connection, limit: int = 100) -> list[dict[str, Any]]:
        """The newest conflicts first, for reports."""
        table = self.table
        return [dict(row) for row in connection.execute(sa.select(table).where(
            table.c.board_id == self.board_id).order_by(table.c.conflict_id.desc()).limit(limit)).mappings()]
