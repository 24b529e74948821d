"""Recording what Monday confirmed: the writes of one batch, flushed in one transaction with executemany.

The apply stage (and the settling of open intents) collects, for each request that returns,
the staged rows' new statuses, the mirror rows of confirmed writes, the intents to settle and
the errors; `flush` writes them all in one transaction — a batch is recorded entirely or not at
all, and a 100,000-line run costs a handful of statements per request, not one per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ordersync.state import IntentStatus, RowStatus, StateStore, dumps, utcnow


class BatchWrites:
    def __init__(self, store: StateStore, run_id: int, board_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.board_id = board_id
        self._statuses: dict[tuple[str, bool, bool, bool], list[dict[str, Any]]] = defaultdict(list)
        self._items: dict[str, dict[str, Any]] = {}
        self._subitems: dict[tuple[str, str], dict[str, Any]] = {}
        self._intents: list[dict[str, Any]] = []
        self._errors: list[dict[str, Any]] = []

    # -- collecting ------------------------------------------------------------------------------
    def status(self, table: sa.Table, key: str, status: RowStatus, *, size: str | None = None,
               monday_id: str | None = None, attempts: int | None = None) -> None:
        """The one way a staged row changes status."""
        signature = (table.name, size is not None, monday_id is not None, attempts is not None)
        row: dict[str, Any] = {"b_key": key, "b_status": status.value}
        if size is not None:
            row["b_size"] = size
        if monday_id is not None:
            row["b_monday_id"] = monday_id
        if attempts is not None:
            row["b_attempts"] = attempts
        self._statuses[signature].append(row)

    def synced_item(self, staged: Mapping[str, Any], monday_id: str, group_id: str | None,
                    *, run_id: int | None = None) -> None:
        """The mirror row of an item Monday confirmed (or one found on the board and adopted)."""
        self._items[staged["item_key"]] = {
            "board_id": self.board_id, "item_key": staged["item_key"], "monday_item_id": monday_id,
            "customer": staged["customer"], "group_name": staged["group_name"], "group_id": group_id,
            "item_name": staged["item_name"], "po_number": staged["po_number"], "aag_season": staged["aag_season"],
            "customer_season": staged["customer_season"], "cancelled": bool(staged["cancelled"]),
            "column_values": staged["column_values"], "row_hash": staged["row_hash"],
            "run_id": run_id or self.run_id, "synced_at": utcnow(),
        }

    def synced_subitem(self, staged: Mapping[str, Any], monday_id: str, parent_item_id: str,
                       *, run_id: int | None = None) -> None:
        self._subitems[(staged["item_key"], staged["size"])] = {
            "board_id": self.board_id, "item_key": staged["item_key"], "size": staged["size"],
            "monday_subitem_id": monday_id, "parent_item_id": parent_item_id, "name": staged["name"],
            "quantity": staged["quantity"], "run_id": run_id or self.run_id, "synced_at": utcnow(),
        }

    def settle(self, intent_id: int, status: IntentStatus, monday_id: str | None = None) -> None:
        """The one way an intent leaves OPEN."""
        self._intents.append({"b_id": intent_id, "b_status": status.value, "b_monday_id": monday_id,
                              "b_settled_at": utcnow()})

    def error(self, *, item_key: str | None, customer: str | None, message: str, category: str,
              size: str | None = None, attempts: int = 1, stage: str = "apply",
              payload: Mapping[str, Any] | None = None) -> None:
        self._errors.append({
            "item_key": item_key, "size": size, "customer": customer, "stage": stage, "category": category,
            "message": message, "attempts": attempts, "payload": dumps(payload) if payload else None,
        })

    # -- writing ---------------------------------------------------------------------------------
    def flush(self, connection: Connection) -> None:
        tables = self.store.tables
        by_name = {table.name: table for table in (tables.staged_items, tables.staged_subitems)}
        for (name, has_size, has_id, has_attempts), rows in self._statuses.items():
            table = by_name[name]
            where = [table.c.run_id == self.run_id, table.c.item_key == sa.bindparam("b_key")]
            if has_size:
                where.append(table.c.size == sa.bindparam("b_size"))
            values: dict[str, Any] = {"status": sa.bindparam("b_status")}
            if has_id:
                id_column = "monday_item_id" if table is tables.staged_items else "monday_subitem_id"
                values[id_column] = sa.bindparam("b_monday_id")
            if has_attempts:
                values["attempts"] = sa.bindparam("b_attempts")
            connection.execute(sa.update(table).where(*where).values(**values), rows)
        self._replace(connection, tables.synced_items, list(self._items.values()), ("item_key",))
        self._replace(connection, tables.synced_subitems, list(self._subitems.values()), ("item_key", "size"))
        if self._intents:
            intents = tables.write_intents
            connection.execute(sa.update(intents).where(intents.c.intent_id == sa.bindparam("b_id")).values(
                status=sa.bindparam("b_status"), monday_id=sa.bindparam("b_monday_id"),
                settled_at=sa.bindparam("b_settled_at")), self._intents)
        self.store.record_errors(connection, self.run_id, self._errors)
        self._statuses.clear()
        self._items.clear()
        self._subitems.clear()
        self._intents.clear()
        self._errors.clear()

    def _replace(self, connection: Connection, table: sa.Table, rows: list[dict[str, Any]],
                 keys: tuple[str, ...]) -> None:
        """Mirror rows are replaced whole: delete any row with the same key, then insert in bulk."""
        if not rows:
            return
        where = [table.c.board_id == self.board_id]
        where += [table.c[key] == sa.bindparam(f"k_{key}") for key in keys]
        connection.execute(sa.delete(table).where(*where), [{f"k_{key}": row[key] for key in keys} for row in rows])
        connection.execute(sa.insert(table), rows)
