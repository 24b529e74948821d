"""Write intents: what makes every create crash-safe.

Before a create is sent, its intent (operation, business key, size, idempotency key) is
committed. When the answer arrives, the new Monday id is written in the same transaction that
records the row as synced. An intent still OPEN later means the outcome is unknown: the process
died, or the answer was lost. `resolve_open_intents` settles them by looking on the board —
items by the text column that holds their business key, subitems by parent and name, groups by
title — and adopts what it finds. A create is atomic on Monday, so an adopted item carries
exactly the values its staged row had; a key found twice keeps the oldest and archives the rest.
An archive sent in a bulk job is settled by its job (waited for, when its id was recorded) and the
item's state on the board: archived, the mirror forgets it; still active, the diff archives it again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ordersync.monday.client import MondayClient, Mutation, derive_idempotency_key
from ordersync.monday.jobs import archive_outcome, wait_for_job
from ordersync.state import IntentOperation, IntentStatus, StateStore
from ordersync.state.intents import pending_intents
from ordersync.state.records import BatchWrites

log = logging.getLogger(__name__)


def _staged_item(connection: Connection, store: StateStore, run_id: int, key: str) -> dict[str, Any] | None:
    staged = store.tables.staged_items
    row = connection.execute(
        sa.select(staged).where(staged.c.run_id == run_id, staged.c.item_key == key)).mappings().first()
    return dict(row) if row else None


def _staged_subitem(connection: Connection, store: StateStore, run_id: int, key: str,
                    size: str) -> dict[str, Any] | None:
    staged = store.tables.staged_subitems
    row = connection.execute(sa.select(staged).where(
        staged.c.run_id == run_id, staged.c.item_key == key, staged.c.size == size)).mappings().first()
    return dict(row) if row else None


def _key_text(item: Mapping[str, Any], key_column: str) -> str | None:
    for value in item.get("column_values") or []:
        if value.get("id") == key_column:
            return value.get("text")
    return None


def _oldest_first(items: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(items, key=lambda item: (str(item.get("created_at") or ""), int(item["id"])))


Outcome = dict[str, int]


async def resolve_open_intents(store: StateStore, client: MondayClient, *, board_id: str, key_column: str,
                               group_ids: Mapping[str, str] | None = None,
                               archive_wait_seconds: float = 300.0) -> dict[str, int]:
    """Settle every OPEN intent on this board by looking at the board (a bulk archive's job is waited
    for up to `archive_wait_seconds`; one still running stays OPEN). Returns counts by outcome."""
    intents = pending_intents(store, board_id)
    outcome: Outcome = defaultdict(int)
    if not intents:
        return dict(outcome)
    by_operation: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for intent in intents:
        by_operation[intent["operation"]].append(intent)
    if by_operation[IntentOperation.CREATE_GROUP.value]:
        if group_ids is None:
            schema = await client.board_schema(board_id)
            group_ids = {group["title"]: group["id"] for group in schema.get("groups") or []}
        _settle_groups(store, board_id, by_operation[IntentOperation.CREATE_GROUP.value], group_ids, outcome)
    if by_operation[IntentOperation.CREATE_ITEM.value]:
        await _settle_items(store, client, board_id, key_column, by_operation[IntentOperation.CREATE_ITEM.value],
                            outcome)
    if by_operation[IntentOperation.CREATE_SUBITEM.value]:
        await _settle_subitems(store, client, board_id, by_operation[IntentOperation.CREATE_SUBITEM.value], outcome)
    if by_operation[IntentOperation.ARCHIVE_ITEM.value]:
        await _settle_archives(store, client, board_id, by_operation[IntentOperation.ARCHIVE_ITEM.value], outcome,
                               wait_seconds=archive_wait_seconds)
    if outcome:
        log.info("settled %d open write intents on board %s: %s", len(intents), board_id, dict(outcome))
    return dict(outcome)


def _settle_groups(store: StateStore, board_id: str, intents: Sequence[Mapping[str, Any]],
                   group_ids: Mapping[str, str], outcome: Outcome) -> None:
    """A group whose answer was lost exists if the board has a group of that title."""
    writes = BatchWrites(store, 0, board_id)
    with store.engine.begin() as connection:
        for intent in intents:
            found = group_ids.get(intent["group_name"])
            if found:
                writes.mirror.record_group(connection, intent["group_name"], found, customer=None,
                                           created_by_run=intent["run_id"])
                writes.settle(intent["intent_id"], IntentStatus.ADOPTED, found)
                outcome["adopted"] += 1
            else:
                writes.settle(intent["intent_id"], IntentStatus.ABSENT)
                outcome["absent"] += 1
        writes.flush(connection)


async def _settle_items(store: StateStore, client: MondayClient, board_id: str, key_column: str,
                        intents: Sequence[Mapping[str, Any]], outcome: Outcome) -> None:
    """An item whose answer was lost exists if an active item carries its business key; the oldest
    is adopted, later copies archived."""
    keys = sorted({intent["item_key"] for intent in intents})
    by_key: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for item in await client.items_by_column_value(board_id, key_column, keys):
        key = _key_text(item, key_column) if item.get("state") in (None, "active") else None
        if key is not None:
            by_key[key].append(item)
    extras: list[str] = []
    writes = BatchWrites(store, 0, board_id)
    with store.engine.begin() as connection:
        for intent in intents:
            candidates = _oldest_first(by_key.get(intent["item_key"], []))
            staged = _staged_item(connection, store, intent["run_id"], intent["item_key"])
            if not candidates or staged is None:
                writes.settle(intent["intent_id"], IntentStatus.ABSENT)
                outcome["absent"] += 1
                continue
            keep, *duplicates = candidates
            group_id = (keep.get("group") or {}).get("id") or _group_id_of(connection, store, board_id,
                                                                           staged["group_name"])
            writes.synced_item(staged, str(keep["id"]), group_id, run_id=intent["run_id"])
            writes.settle(intent["intent_id"], IntentStatus.ADOPTED, str(keep["id"]))
            extras.extend(str(item["id"]) for item in duplicates)
            by_key[intent["item_key"]] = [keep]
            outcome["adopted"] += 1
        writes.flush(connection)
    outcome["duplicates_archived"] += await _archive(client, board_id, extras, "dup-items")


async def _settle_subitems(store: StateStore, client: MondayClient, board_id: str,
                           intents: Sequence[Mapping[str, Any]], outcome: Outcome) -> None:
    """A size whose answer was lost exists if its parent has an active subitem of that name."""
    parents = sorted({intent["parent_item_id"] for intent in intents if intent["parent_item_id"]})
    subitems = await client.subitems_of(parents)
    extras: list[str] = []
    writes = BatchWrites(store, 0, board_id)
    with store.engine.begin() as connection:
        for intent in intents:
            parent = str(intent["parent_item_id"])
            staged = _staged_subitem(connection, store, intent["run_id"], intent["item_key"], intent["size"])
            named = [sub for sub in subitems.get(parent, [])
                     if staged is not None and sub.get("name") == staged["name"]
                     and sub.get("state") in (None, "active")]
            if not named or staged is None:
                writes.settle(intent["intent_id"], IntentStatus.ABSENT)
                outcome["absent"] += 1
                continue
            keep, *duplicates = _oldest_first(named)
            writes.synced_subitem(staged, str(keep["id"]), parent, run_id=intent["run_id"])
            writes.settle(intent["intent_id"], IntentStatus.ADOPTED, str(keep["id"]))
            extras.extend(str(sub["id"]) for sub in duplicates)
            subitems[parent] = [sub for sub in subitems[parent] if sub not in duplicates]
            outcome["adopted"] += 1
        writes.flush(connection)
    outcome["duplicates_archived"] += await _archive(client, board_id, extras, "dup-subitems")


async def _settle_archives(store: StateStore, client: MondayClient, board_id: str,
                           intents: Sequence[Mapping[str, Any]], outcome: Outcome, *, wait_seconds: float) -> None:
    """Archives sent in bulk jobs whose end was never recorded, job by job: wait for the job (if Monday
    named it before the run stopped), then an item the job archived, or that the board no longer shows
    active, leaves the mirror (ADOPTED); one still active was not archived (ABSENT: the diff sends it
    again). Nothing is sent: a job is never started twice for one intent."""
    synced = store.tables.synced_items
    with store.engine.connect() as connection:
        item_ids = dict(connection.execute(sa.select(synced.c.item_key, synced.c.monday_item_id).where(
            synced.c.board_id == board_id,
            synced.c.item_key.in_(sorted({intent["item_key"] for intent in intents})))).all())
    by_job: dict[str | None, list[Mapping[str, Any]]] = defaultdict(list)
    for intent in intents:
        by_job[intent["monday_id"]].append(intent)
    for job_id, group in by_job.items():
        job = await wait_for_job(client, job_id, timeout_seconds=wait_seconds) if job_id else None
        known = [str(item_ids[intent["item_key"]]) for intent in group if intent["item_key"] in item_ids]
        archived = await archive_outcome(client, known, job)
        if archived.running:
            log.warning("bulk job %s on board %s is still %s after %.0f s: its %d archives stay open for the next "
                        "run", job_id, board_id, job.status if job else "?", wait_seconds, len(group))
            outcome["still_running"] += len(group)
            continue
        writes = BatchWrites(store, 0, board_id)
        with store.engine.begin() as connection:
            for intent in group:
                item_id = item_ids.get(intent["item_key"])
                if item_id is None or str(item_id) in archived.archived:  # gone from the mirror: nothing left to do
                    writes.mirror.forget_items(connection, [intent["item_key"]])
                    writes.settle(intent["intent_id"], IntentStatus.ADOPTED, job_id)
                    outcome["archived"] += 1
                else:
                    writes.settle(intent["intent_id"], IntentStatus.ABSENT, job_id)
                    outcome["absent"] += 1
            writes.flush(connection)


def _group_id_of(connection: Connection, store: StateStore, board_id: str, group_name: str | None) -> str | None:
    groups = store.tables.groups
    return connection.execute(sa.select(groups.c.group_id).where(
        groups.c.board_id == board_id, groups.c.group_name == group_name)).scalar_one_or_none()


async def _archive(client: MondayClient, board_id: str, item_ids: Sequence[str], purpose: str) -> int:
    """Archive duplicates that a lost answer plus a retry left behind (only ever ordersync's own)."""
    if not item_ids:
        return 0
    mutations = [Mutation("archive_item", {"item_id": item_id}, item_id) for item_id in item_ids]
    archived = 0
    for index, batch in enumerate(client.pack(mutations)):
        key = derive_idempotency_key(purpose, sorted(str(mutation.ref) for mutation in batch), index)
        results = await client.send_batch(batch, board_id=board_id, idempotency_key=key)
        archived += sum(1 for result in results if result.ok)
    return archived
