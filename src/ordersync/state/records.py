"""Recording what Monday confirmed: the writes of one batch, flushed in one transaction with executemany.

The apply stage (and the settling of open intents) collects, for each request that returns,
the staged rows' new statuses, the mirror rows of confirmed writes, the intents to settle and
the errors; `flush` writes them all in one transaction — a batch is recorded entirely or not at
all, and a 100,000-line run costs a handful of statements per request, not one per row.
Statuses go through `transitions`, mirror rows through `Mirror`: this class only collects.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ordersync.errors import ErrorCategory
from ordersync.state import transitions
from ordersync.state.mirror import Mirror, item_row, subitem_row
from ordersync.state.schema import IntentStatus, RowStatus, dumps, utcnow
from ordersync.state.transitions import RowChange

if TYPE_CHECKING:  # the store imports this module's neighbours; only its type is needed here
    from ordersync.state import StateStore

log = logging.getLogger(__name__)


class BatchWrites:
    def __init__(self, store: StateStore, run_id: int, board_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.board_id = board_id
        self.mirror = Mirror(store.tables, board_id)
        self._statuses: dict[str, tuple[sa.Table, list[RowChange]]] = {}
        self._items: dict[str, dict[str, Any]] = {}
        self._subitems: dict[tuple[str, str], dict[str, Any]] = {}
        self._intents: list[dict[str, Any]] = []
        self._errors: list[dict[str, Any]] = []

    # -- collecting ------------------------------------------------------------------------------
    def status(self, table: sa.Table, key: str, status: RowStatus, *, size: str | None = None,
               monday_id: str | None = None, attempts: int | None = None) -> None:
        """A staged row's next status (checked against where it comes from when flushed)."""
        self._statuses.setdefault(table.name, (table, []))[1].append(
            RowChange(key, status, size=size, monday_id=monday_id, attempts=attempts))

    def synced_item(self, staged: Mapping[str, Any], monday_id: str, group_id: str | None,
                    *, run_id: int | None = None) -> None:
        """The mirror row of an item Monday confirmed (or one found on the board and adopted)."""
        self._items[staged["item_key"]] = item_row(self.board_id, staged, monday_id, group_id, run_id or self.run_id)

    def synced_subitem(self, staged: Mapping[str, Any], monday_id: str, parent_item_id: str,
                       *, run_id: int | None = None) -> None:
        self._subitems[(staged["item_key"], staged["size"])] = subitem_row(
            self.board_id, staged, monday_id, parent_item_id, run_id or self.run_id)

    def settle(self, intent_id: int, status: IntentStatus, monday_id: str | None = None) -> None:
        """The one way an intent leaves OPEN."""
        self._intents.append({"b_id": intent_id, "b_status": status.value, "b_monday_id": monday_id,
                              "b_settled_at": utcnow()})

    def error(self, *, item_key: str | None, customer: str | None, message: str, category: ErrorCategory,
              size: str | None = None, attempts: int = 1, stage: str = "apply",
              payload: Mapping[str, Any] | None = None) -> None:
        self._errors.append({
            "item_key": item_key, "size": size, "customer": customer, "stage": stage,
            "category": ErrorCategory(category).value, "message": message, "attempts": attempts,
            "payload": dumps(payload) if payload else None,
        })

    # -- writing ---------------------------------------------------------------------------------
    def flush(self, connection: Connection) -> None:
        tables = self.store.tables
        started = time.monotonic()
        counts = (sum(len(changes) for _, changes in self._statuses.values()), len(self._items), len(self._subitems),
                  len(self._intents), len(self._errors))
        for table, changes in self._statuses.values():
            transitions.move_rows(connection, tables, self.run_id, table, changes)
        self.mirror.record_items(connection, list(self._items.values()))
        self.mirror.record_subitems(connection, list(self._subitems.values()))
        if self._intents:
            intents = tables.write_intents
            connection.execute(sa.update(intents).where(intents.c.intent_id == sa.bindparam("b_id")).values(
                status=sa.bindparam("b_status"), monday_id=sa.bindparam("b_monday_id"),
                settled_at=sa.bindparam("b_settled_at")), self._intents)
        self.store.record_errors(connection, self.run_id, self._errors)
        log.debug("record: %d row statuses, %d items and %d subitems confirmed, %d intents settled, %d errors, "
                  "in %.3f s", *counts, time.monotonic() - started)
        self._statuses.clear()
        self._items.clear()
        self._subitems.clear()
        self._intents.clear()
        self._errors.clear()
