"""The write-intents table: an intent is committed OPEN before a create (or an archive sent as a
bulk job) is sent, and settled (`BatchWrites.settle`) when its answer — or a later look at the board —
tells what happened. A bulk archive's intents learn their job's id (`record_job`) as soon as Monday
names it, before the job is done, so a run that dies while the job runs can wait for that job.
Settling open intents against the board is the engine's work (`ordersync.engine.intents`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ordersync.state.schema import IntentOperation, IntentStatus, utcnow

if TYPE_CHECKING:
    from ordersync.state import StateStore


def open_intents(connection: Connection, store: StateStore, run_id: int, board_id: str,
                 operation: IntentOperation, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Record OPEN intents (one per row: item_key, size, group_name, parent_item_id); their ids, in order."""
    table = store.tables.write_intents
    now = utcnow()
    values = [{
        "run_id": run_id, "board_id": board_id, "operation": operation.value, "item_key": row.get("item_key"),
        "size": row.get("size"), "group_name": row.get("group_name"), "parent_item_id": row.get("parent_item_id"),
        "status": IntentStatus.OPEN.value, "created_at": now,
    } for row in rows]
    if connection.dialect.insert_executemany_returning_sort_by_parameter_order:
        result = connection.execute(
            sa.insert(table).returning(table.c.intent_id, sort_by_parameter_order=True), values)
        return [int(intent_id) for intent_id in result.scalars()]
    ids = [connection.execute(sa.insert(table).values(**value)).inserted_primary_key for value in values]
    return [int(key[0]) for key in ids if key is not None]


def record_job(connection: Connection, store: StateStore, intent_ids: Sequence[int], job_id: str) -> None:
    """The job Monday started for these OPEN archive intents (they stay OPEN until the job has ended)."""
    table = store.tables.write_intents
    connection.execute(sa.update(table).where(table.c.intent_id.in_(list(intent_ids)),
                                              table.c.status == IntentStatus.OPEN.value).values(monday_id=job_id))


def pending_intents(store: StateStore, board_id: str) -> list[dict[str, Any]]:
    table = store.tables.write_intents
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.select(table).where(table.c.board_id == board_id, table.c.status == IntentStatus.OPEN.value)
            .order_by(table.c.intent_id)
        ).mappings().all()
    return [dict(row) for row in rows]
