"""Board conflicts (issue 13): a person's edit of a source-owned column — the only writer of `board_conflicts`.

`ordersync pull` and the webhook receiver record one row per distinct value a person leaves in a source-owned
column; the column's policy settles it: `restore` marks the mirror's value unknown (the next sync writes the
source value back, `Mirror.mark_unknown`); `keep` leaves the mirror as it is, and a sync's adopt, which
meets the person's value on the board (and records the conflict too, when no pull did first), leaves it
alone for as long as the source still holds what the sync wrote.
"""

from __future__ import annotations

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
    size: str | None = None  # a size's conflict (its quantity, `column_id` the quantity column); None: the item's


class Conflicts:
    """One board's conflicts, inside the caller's transaction."""

    def __init__(self, tables: StateTables, board_id: str) -> None:
        self.table = tables.board_conflicts
        self.board_id = board_id

    def record(self, connection: Connection, conflict: Conflict) -> bool:
        """Record the conflict unless it is recorded already; True when recorded.

        A change the activity log dates is one conflict per cell and time; one met on the board without a
        date (a sync's adopt) is the one its cell's newest conflict already shows, if that shows the same
        value — and a dated one that matches an undated one of the same value dates it (who, when)."""
        table = self.table
        self._hold(connection)
        cell = (table.c.board_id == self.board_id, table.c.item_key == conflict.item_key,
                table.c.column_id == conflict.column_id,
                table.c.size.is_(None) if conflict.size is None else table.c.size == conflict.size)
        if conflict.changed_at is not None:
            if connection.execute(sa.select(table.c.conflict_id).where(
                    *cell, table.c.changed_at == conflict.changed_at)).first() is not None:
                return False
            undated = connection.execute(sa.select(table.c.conflict_id).where(
                *cell, table.c.changed_at.is_(None), table.c.board_text == conflict.board_text)).scalar()
            if undated is not None:
                connection.execute(sa.update(table).where(table.c.conflict_id == undated).values(
                    user_id=conflict.user_id, changed_at=conflict.changed_at))
                return False
        else:
            latest = connection.execute(sa.select(table.c.board_text).where(*cell).order_by(  # the newest change
                sa.func.coalesce(table.c.changed_at, table.c.recorded_at).desc(), table.c.conflict_id.desc()
            ).limit(1)).first()
            if latest is not None and latest.board_text == conflict.board_text:
                return False
        connection.execute(sa.insert(table).values(
            board_id=self.board_id, item_key=conflict.item_key, item_id=conflict.item_id,
            column_id=conflict.column_id, size=conflict.size, policy=conflict.policy,
            source_value=dumps(conflict.source_value),
            board_text=conflict.board_text, board_value=conflict.board_value, user_id=conflict.user_id,
            changed_at=conflict.changed_at, recorded_at=utcnow()))
        return True

    def _hold(self, connection: Connection) -> None:
        """The board's conflicts held until the caller's transaction ends, before anything is read: a sync's
        adopt and the webhook receiver (two processes) recording the same edit at once would otherwise both
        find it missing and record it twice. SQLite: a write (that changes nothing) takes the database's
        write lock; PostgreSQL: a transaction-scoped advisory lock per board; SQL Server: an applock."""
        resource = f"{self.table.name}:{self.board_id}"
        dialect = connection.dialect.name
        if dialect == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(resource))))
        elif dialect == "mssql":
            connection.execute(sa.text("EXEC sp_getapplock @Resource = :resource, @LockMode = 'Exclusive', "
                                       "@LockOwner = 'Transaction'"), {"resource": resource})
        else:
            connection.execute(sa.update(self.table).where(sa.false()).values(policy=self.table.c.policy))

    def counts(self, connection: Connection) -> dict[str, int]:
        """How many conflicts the board has had, in all and per policy."""
        table = self.table
        per_policy: dict[str, int] = dict(connection.execute(sa.select(table.c.policy, sa.func.count()).where(
            table.c.board_id == self.board_id).group_by(table.c.policy)).all())
        return {"count": sum(per_policy.values()), "restore": int(per_policy.get("restore", 0)),
                "keep": int(per_policy.get("keep", 0))}

    def listing(self, connection: Connection, limit: int = 100) -> list[dict[str, Any]]:
        """The newest conflicts first, for reports."""
        table = self.table
        return [dict(row) for row in connection.execute(sa.select(table).where(
            table.c.board_id == self.board_id).order_by(table.c.conflict_id.desc()).limit(limit)).mappings()]

    def recorded_between(self, connection: Connection, start: datetime,
                         end: datetime | None = None) -> list[dict[str, Any]]:
        """The conflicts recorded from `start` to `end` (no end: until now), oldest first — a run's report
        lists those recorded while it ran. The table names no run: a pull or the webhook receiver recording
        in the same minutes is listed too, and a conflict a pull later dates (who, when) stays where its
        first recording put it."""
        table = self.table
        where = [table.c.board_id == self.board_id, table.c.recorded_at >= start]
        if end is not None:
            where.append(table.c.recorded_at <= end)
        return [dict(row) for row in connection.execute(
            sa.select(table).where(*where).order_by(table.c.conflict_id)).mappings()]
