"""Apply: carry out a run's plan on Monday, phase by phase for every customer at once, recording every
write as it returns.

In order, each phase for all customers together: ensure the groups → create items → update items →
create subitems → update subitems; then per customer: archive subitems → archive items. Groups come
before items and items before subitems because each needs the ids of the one before; within a phase
requests are filled across customers (`MondayClient.pack`), while what is recorded stays per row and
per customer (each row's outcome and error names its customer; each customer's result its groups).
Each phase reads its rows from the staged
tables, hands them to the pure planner (`ordersync.engine.planner`) for the mutations to send
and the rows to refuse, packs the mutations into aliased requests and, after each request,
records in one transaction what Monday confirmed (`ordersync.state.records`): the synced mirror
changes only for confirmed writes. Creates commit their write intent before the request (see
`ordersync.state.intents`; open ones are settled by `ordersync.engine.intents`), and so do archives
past `[items] bulk_archive_over`, which go as `bulk_archive_items` jobs (`ordersync.monday.jobs`).

`checkpoint(name)` is called at the points where a crash matters most — "before_request",
"after_response" (the write happened, nothing is recorded yet), "job_started" (a bulk job's id is
recorded, the job may still be running), "between_items_and_subitems",
"after_customer" — so tests can stop the engine exactly there.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ordersync.config import Config
from ordersync.engine import planner
from ordersync.engine.intents import resolve_open_intents
from ordersync.engine.plan import groups_to_create
from ordersync.errors import (
    ApiUnavailable,
    ForeignAnswer,
    MondayError,
    NotFound,
    ServerError,
    TerminalError,
    Unauthorized,
)
from ordersync.logs import bound
from ordersync.monday.board import BoardInfo, subitem_board_of
from ordersync.monday.client import MondayClient, Mutation, MutationResult, derive_idempotency_key
from ordersync.monday.jobs import JOB_ITEMS_MAX, archive_outcome, bulk_archive, job_id_of, wait_for_job
from ordersync.state import (
    ErrorCategory,
    IntentOperation,
    IntentStatus,
    Operation,
    RowStatus,
    StateStore,
)
from ordersync.state.intents import open_intents, record_job
from ordersync.state.mirror import Mirror
from ordersync.state.records import BatchWrites

log = logging.getLogger(__name__)

Checkpoint = Callable[[str], None]
PROGRESS_INTERVAL_SECONDS = 0.5


@dataclass
class ApplyOptions:
    skip_subitems: bool = False
    checkpoint: Checkpoint | None = None


@dataclass
class CustomerResult:
    customer: str
    groups_created: list[dict[str, str]] = field(default_factory=list)
    aborted: str | None = None


@dataclass
class Progress:
    total: int = 0
    done: int = 0
    customer: str | None = None
    phase: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "done": self.done, "customer": self.customer, "phase": self.phase}


class Applier:
    """Applies one run's staged operations to one board."""

    def __init__(self, config: Config, store: StateStore, client: MondayClient, board: BoardInfo, run_id: int,
                 options: ApplyOptions | None = None,
                 on_progress: Callable[[Progress], None] | None = None) -> None:
        self.config = config
        self.store = store
        self.client = client
        self.board = board
        self.run_id = run_id
        self.options = options or ApplyOptions()
        self.on_progress = on_progress
        self.progress = Progress()
        self.labels = planner.LabelRules.of(config, board)
        self.tables = store.tables
        self.unsettled_intents = False
        self._progress_recorded_at = 0.0

    # -- bookkeeping ------------------------------------------------------------------------------
    def _checkpoint(self, name: str) -> None:
        if self.options.checkpoint:
            self.options.checkpoint(name)

    def count_operations(self) -> int:
        staged_items, staged_subitems = self.tables.staged_items, self.tables.staged_subitems
        with self.store.engine.connect() as connection:
            items = connection.execute(sa.select(sa.func.count()).select_from(staged_items).where(
                staged_items.c.run_id == self.run_id, staged_items.c.operation != Operation.NONE.value)).scalar_one()
            subitems = 0
            if not self.options.skip_subitems:
                subitems = connection.execute(sa.select(sa.func.count()).select_from(staged_subitems).where(
                    staged_subitems.c.run_id == self.run_id,
                    staged_subitems.c.operation != Operation.NONE.value)).scalar_one()
        return int(items) + int(subitems)

    def _advance(self, count: int) -> None:
        """Count work done; the runs table hears of it at most twice a second (the dashboard reads it)."""
        self.progress.done += count
        now = time.monotonic()
        if now - self._progress_recorded_at >= PROGRESS_INTERVAL_SECONDS or self.progress.done >= self.progress.total:
            self._progress_recorded_at = now
            self.store.record_progress(self.run_id, self.progress.as_dict())
        if self.on_progress:
            self.on_progress(self.progress)

    def _writes(self) -> BatchWrites:
        return BatchWrites(self.store, self.run_id, self.board.board_id)

    @staticmethod
    def _error(writes: BatchWrites, *, item_key: str | None, customer: str | None, error: MondayError | str,
               size: str | None = None, attempts: int = 1, payload: Mapping[str, Any] | None = None) -> None:
        if isinstance(error, MondayError):
            message = f"{error.code}: {error.message}" if error.code else error.message
            category = error.category
        else:
            message, category = error, ErrorCategory.VALIDATION
        writes.error(item_key=item_key, customer=customer, message=message, category=category, size=size,
                     attempts=attempts, payload=payload)

    def _flush(self, writes: BatchWrites) -> None:
        with self.store.engine.begin() as connection:
            writes.flush(connection)

    def _rows(self, table: sa.Table, customers: Sequence[str], operations: Sequence[Operation],
              order: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """The run's rows of these customers still to do for these operations."""
        query = sa.select(table).where(
            table.c.run_id == self.run_id, table.c.customer.in_(customers),
            table.c.operation.in_([operation.value for operation in operations]),
            table.c.status != RowStatus.DONE.value,
        ).order_by(*order)
        with self.store.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    # -- the run ----------------------------------------------------------------------------------
    def customers(self) -> list[str]:
        staged_items, staged_subitems = self.tables.staged_items, self.tables.staged_subitems
        with self.store.engine.connect() as connection:
            names = set(connection.execute(sa.select(staged_items.c.customer).distinct().where(
                staged_items.c.run_id == self.run_id, staged_items.c.operation != Operation.NONE.value)).scalars())
            names |= set(connection.execute(sa.select(staged_subitems.c.customer).distinct().where(
                staged_subitems.c.run_id == self.run_id,
                staged_subitems.c.operation != Operation.NONE.value)).scalars())
        return sorted(name for name in names if name)

    async def apply_all(self) -> dict[str, CustomerResult]:
        """Every phase, each for all customers at once (requests filled across them). A failure that
        stops a phase (not a row's: those are recorded with the row) stops it for the customers in
        it, recorded for each; they sit out the later phases, the others go on."""
        results = {customer: CustomerResult(customer) for customer in self.customers()}
        active = list(results)
        self.progress.customer = active[0] if len(active) == 1 else f"{len(active)} customers"

        async def groups(customers: Sequence[str]) -> None:
            await self._ensure_groups(customers, results)
            if self.unsettled_intents:  # a group whose answer was lost: find it before its items need it
                await self.settle_intents()

        active = await self._phase(results, active, groups)
        group_ids = self._group_ids()
        active = await self._phase(results, active, lambda customers: self._create_items(customers, group_ids))
        if self.unsettled_intents:  # items whose answers were lost: adopt them before their subitems
            await self.settle_intents()
        active = await self._phase(results, active, lambda customers: self._update_items(customers, group_ids))
        self._checkpoint("between_items_and_subitems")
        if not self.options.skip_subitems:
            active = await self._phase(results, active, self._create_subitems)
            active = await self._phase(results, active, self._update_subitems)
        for customer in active:
            self.progress.customer = customer
            await self._phase(results, [customer], self._remove_customer)
            self._checkpoint("after_customer")
        if self.unsettled_intents:
            await self.settle_intents()
        return results

    async def _remove_customer(self, customers: Sequence[str]) -> None:
        [customer] = customers
        if not self.options.skip_subitems:
            await self._remove_subitems(customer)
        await self._remove_items(customer)

    async def _phase(self, results: Mapping[str, CustomerResult], customers: list[str],
                     step: Callable[[Sequence[str]], Awaitable[None]]) -> list[str]:
        """Run one phase for `customers`; returns those still going. A failure that stops it is recorded
        for each of them (`Unauthorized` and `ApiUnavailable` stop the whole run instead)."""
        if not customers:
            return customers
        started, done_before, count = time.monotonic(), self.progress.done, len(customers)
        try:
            # a phase of one customer names it on its log lines, as the per-customer loop did
            with bound(customer=customers[0]) if count == 1 else contextlib.nullcontext():
                await step(customers)
        except (Unauthorized, ApiUnavailable):
            raise  # the token was refused or the API is down: the whole run stops (see engine.sync)
        except MondayError as error:
            writes = self._writes()
            for customer in customers:
                results[customer].aborted = str(error)
                log.warning("customer %s stopped: %s", customer, error)
                self._error(writes, item_key=None, customer=customer, error=error)
            self._flush(writes)
            customers = []
        seconds = time.monotonic() - started
        log.info("apply: %s for %d customers: %d operations done%s, in %.2f s", self.progress.phase,
                 count, self.progress.done - done_before,
                 "" if customers else " (stopped)", seconds,
                 extra={"stage": "apply", "phase": self.progress.phase, "operations": self.progress.done - done_before,
                        "aborted": not customers, "seconds": round(seconds, 3)})
        return customers

    async def remove_items_first(self) -> None:
        """A routed sync's first pass: every item this run archives or deletes, before any board creates
        (a line whose route changed is never on two boards). A failure is recorded; the second pass
        (`apply_customer`) tries what is left again."""
        for customer in self.customers():
            self.progress.customer = customer
            try:
                await self._remove_items(customer)
            except (Unauthorized, ApiUnavailable):
                raise
            except MondayError as error:
                log.warning("customer %s: removals stopped: %s", customer, error)
                writes = self._writes()
                self._error(writes, item_key=None, customer=customer, error=error)
                self._flush(writes)

    async def settle_intents(self) -> None:
        """Intents whose answer never came (retries exhausted): look on the board now."""
        try:
            await resolve_open_intents(self.store, self.client, board_id=self.board.board_id,
                                       key_column=self.config.monday.key_column,
                                       archive_wait_seconds=self.config.items.bulk_archive_wait_seconds)
            self.unsettled_intents = False
        except (Unauthorized, ApiUnavailable):
            raise
        except MondayError as error:  # still unreachable: the next run settles them first
            log.warning("open write intents stay open for the next run: %s", error)

    # -- groups -----------------------------------------------------------------------------------
    async def _ensure_groups(self, customers: Sequence[str], results: Mapping[str, CustomerResult]) -> None:
        """Create the customers' missing groups together, each next to its alphabetical neighbour."""
        self.progress.phase = "groups"
        with self.store.engine.connect() as connection:
            needed = sorted((name, owner) for owner, name in groups_to_create(connection, self.store, self.run_id,
                                                                              self.board.board_id)
                            if owner in customers)
        missing: dict[str, str] = {}  # group name → the customer it is for
        with self.store.engine.begin() as connection:
            for name, owner in needed:
                existing = self.board.group_id(name)
                if existing:  # made by a person or another run since the plan was read
                    Mirror(self.tables, self.board.board_id).record_group(
                        connection, name, existing, customer=owner, created_by_run=None)
                else:
                    missing[name] = owner
        if missing:
            await self._create_groups(missing, results)

    def _group_ids(self) -> dict[str, str]:
        groups = self.tables.groups
        with self.store.engine.connect() as connection:
            return dict(connection.execute(sa.select(groups.c.group_name, groups.c.group_id).where(
                groups.c.board_id == self.board.board_id)).all())

    async def _create_groups(self, owners: Mapping[str, str], results: Mapping[str, CustomerResult]) -> None:
        """`owners`: each group to make → the customer it is for (its errors and its result name them)."""
        mutations = planner.group_mutations(self.board, sorted(owners), self.config.groups.order)
        for batch in self.client.pack(mutations):
            self._checkpoint("before_request")
            with self.store.engine.begin() as connection:
                intent_ids = open_intents(connection, self.store, self.run_id, self.board.board_id,
                                          IntentOperation.CREATE_GROUP, [{"group_name": m.ref} for m in batch])
            key = derive_idempotency_key("create_group", self.run_id, intent_ids)
            outcomes = await self.client.send_batch(batch, board_id=self.board.board_id, idempotency_key=key)
            self._checkpoint("after_response")
            writes = self._writes()
            with self.store.engine.begin() as connection:
                for intent_id, outcome in zip(intent_ids, outcomes, strict=True):
                    name = str(outcome.mutation.ref)
                    customer = owners[name]
                    if outcome.ok:
                        group_id = _confirmed_id(outcome)
                        writes.mirror.record_group(connection, name, group_id, customer=customer,
                                                   created_by_run=self.run_id)
                        writes.settle(intent_id, IntentStatus.CONFIRMED, group_id)
                        variables = outcome.mutation.variables
                        self._insert_group(name, group_id, variables.get("position_relative_method"),
                                           variables.get("relative_to"))
                        results[customer].groups_created.append({"name": name, "id": group_id})
                    else:
                        self._error(writes, item_key=None, customer=customer, error=_refusal(outcome),
                                    attempts=outcome.attempts, payload={"group_name": name})
                        self._settle_failed(writes, intent_id, outcome)
                writes.flush(connection)

    def _insert_group(self, title: str, group_id: str, method: str | None, relative_to: str | None) -> None:
        """Keep our picture of the board's group order current for the next placement."""
        groups = self.board.groups
        index = len(groups)
        for position, (_, existing_id) in enumerate(groups):
            if existing_id == relative_to:
                index = position if method == "before_at" else position + 1
        groups.insert(index, (title, group_id))

    # -- recording outcomes -----------------------------------------------------------------------
    def _settle_failed(self, writes: BatchWrites, intent_id: int, outcome: MutationResult) -> None:
        """A create Monday refused was never made; one whose answer never came may have been: look later."""
        if isinstance(outcome.error, TerminalError):
            writes.settle(intent_id, IntentStatus.FAILED)
        else:
            self.unsettled_intents = True

    def _fail(self, writes: BatchWrites, table: sa.Table, row: Mapping[str, Any], outcome: MutationResult) -> None:
        """A write Monday refused (terminal) or never confirmed (transient, retries used up)."""
        self._error(writes, item_key=row["item_key"], size=row.get("size"), customer=row["customer"],
                    error=_refusal(outcome), attempts=outcome.attempts,
                    payload={"operation": outcome.mutation.document, **_loggable(outcome.mutation.variables)})
        writes.status(table, row["item_key"], RowStatus.ERROR, size=row.get("size"), attempts=outcome.attempts)

    def _refuse_all(self, table: sa.Table, batch: planner.Batch) -> None:
        """Rows the planner would not send, recorded with their reason; they count as done work."""
        writes = self._writes()
        for refusal in batch.refused:
            row = refusal.row
            writes.error(item_key=row["item_key"], size=row.get("size"), customer=row["customer"],
                         message=refusal.reason, category=refusal.category)
            writes.status(table, row["item_key"], RowStatus.ERROR, size=row.get("size"))
        self._flush(writes)

    async def _send_creates(self, batch: planner.Batch, operation: IntentOperation,
                            intent_fields: Callable[[Mutation, Mapping[str, Any]], dict[str, Any]], table: sa.Table,
                            record: Callable[[BatchWrites, Mutation, Mapping[str, Any], dict[str, Any]], str]) -> None:
        """Creates, crash-safe: intents committed and rows marked SENT before each request; after it,
        in one transaction, confirmed rows recorded (by `record`, which returns the new id) and the
        intents settled."""
        for request in self.client.pack(batch.mutations):
            self._checkpoint("before_request")
            with self.store.engine.begin() as connection:
                intent_ids = open_intents(connection, self.store, self.run_id, self.board.board_id, operation,
                                          [intent_fields(mutation, batch.rows[mutation.ref]) for mutation in request])
                writes = self._writes()
                for mutation in request:
                    key, size = _key_and_size(mutation.ref)
                    writes.status(table, key, RowStatus.SENT, size=size)
                writes.flush(connection)
            idempotency_key = derive_idempotency_key(operation.value, self.run_id, intent_ids)
            results = await self.client.send_batch(request, board_id=self.board.board_id,
                                                   idempotency_key=idempotency_key)
            self._checkpoint("after_response")
            writes = self._writes()
            for intent_id, outcome in zip(intent_ids, results, strict=True):
                key, size = _key_and_size(outcome.mutation.ref)
                row = batch.rows[outcome.mutation.ref]
                _refuse_foreign_answer(outcome, self.board.board_id)
                if outcome.ok:
                    monday_id = record(writes, outcome.mutation, row, outcome.data or {})
                    writes.status(table, key, RowStatus.DONE, size=size, monday_id=monday_id,
                                  attempts=outcome.attempts)
                    writes.settle(intent_id, IntentStatus.CONFIRMED, monday_id)
                else:
                    self._fail(writes, table, row, outcome)
                    self._settle_failed(writes, intent_id, outcome)
            self._flush(writes)
            self._advance(len(request))

    # -- items ------------------------------------------------------------------------------------
    async def _create_items(self, customers: Sequence[str], group_ids: Mapping[str, str]) -> None:
        self.progress.phase = "create items"
        staged = self.tables.staged_items
        rows = self._rows(staged, customers, [Operation.CREATE], order=[staged.c.customer, staged.c.source_row])
        batch = planner.item_creates(rows, group_ids, self.labels, self.config.monday.key_column)
        self._refuse_all(staged, batch)
        self._advance(len(batch.refused))

        def record(writes: BatchWrites, mutation: Mutation, row: Mapping[str, Any], data: dict[str, Any]) -> str:
            item_id = str(data["id"])
            writes.synced_item(row, item_id, mutation.variables["group_id"])
            return item_id

        await self._send_creates(
            batch, IntentOperation.CREATE_ITEM,
            lambda mutation, row: {"item_key": row["item_key"], "group_name": row["group_name"]}, staged, record)

    async def _update_items(self, customers: Sequence[str], group_ids: Mapping[str, str]) -> None:
        self.progress.phase = "update items"
        staged, synced = self.tables.staged_items, self.tables.synced_items
        with self.store.engine.connect() as connection:
            rows = [dict(row) for row in connection.execute(
                sa.select(staged, synced.c.column_values.label("synced_values"),
                          synced.c.group_name.label("synced_group"), synced.c.item_name.label("synced_name"),
                          synced.c.monday_item_id.label("item_id"))
                .join(synced, sa.and_(synced.c.board_id == self.board.board_id,
                                      synced.c.item_key == staged.c.item_key))
                .where(staged.c.run_id == self.run_id, staged.c.customer.in_(customers),
                       staged.c.operation == Operation.UPDATE.value, staged.c.status != RowStatus.DONE.value)
                .order_by(staged.c.customer, staged.c.source_row)
            ).mappings()]
        batch = planner.item_updates(rows, group_ids, self.labels)
        self._refuse_all(staged, batch)
        writes = self._writes()
        for row in batch.unchanged:
            self._confirm_update(writes, row, group_ids)
        self._flush(writes)
        self._advance(len(batch.refused) + len(batch.unchanged))
        parts_left: dict[str, int] = {}
        for item_key, _ in cast(dict[tuple[str, str], Any], batch.rows):
            parts_left[item_key] = parts_left.get(item_key, 0) + 1
        failed: set[str] = set()  # an update with a failed part is never confirmed in this run
        for request in self.client.pack(batch.mutations):
            key = derive_idempotency_key("update_item", self.run_id, [(m.ref, m.variables) for m in request])
            self._checkpoint("before_request")
            results = await self.client.send_batch(request, board_id=self.board.board_id, idempotency_key=key)
            self._checkpoint("after_response")
            finished = 0
            writes = self._writes()
            with self.store.engine.begin() as connection:
                for outcome in results:
                    item_key, part = cast(tuple[str, str], outcome.mutation.ref)
                    row = batch.rows[outcome.mutation.ref]
                    parts_left[item_key] -= 1
                    if not outcome.ok:
                        self._fail(writes, staged, row, outcome)
                        failed.add(item_key)
                        continue
                    self._record_part(connection, writes, row, part, group_ids)
                    if parts_left[item_key] == 0 and item_key not in failed:
                        self._confirm_update(writes, row, group_ids)
                        finished += 1
                writes.flush(connection)
            self._advance(finished)

    @staticmethod
    def _record_part(connection: Connection, writes: BatchWrites, row: Mapping[str, Any], part: str,
                     group_ids: Mapping[str, str]) -> None:
        """Half of an update landed: the mirror learns that half, but not the new row hash."""
        if part == "values":
            writes.mirror.record_item_part(connection, row["item_key"], values={
                "column_values": row["column_values"], "item_name": row["item_name"]})
        else:
            writes.mirror.record_item_part(connection, row["item_key"],
                                           group=(row["group_name"], group_ids[row["group_name"]]))

    def _confirm_update(self, writes: BatchWrites, row: Mapping[str, Any], group_ids: Mapping[str, str]) -> None:
        writes.synced_item(row, row["item_id"], group_ids.get(row["group_name"]))
        writes.status(self.tables.staged_items, row["item_key"], RowStatus.DONE, monday_id=row["item_id"])

    # -- subitems ---------------------------------------------------------------------------------
    async def _create_subitems(self, customers: Sequence[str]) -> None:
        self.progress.phase = "create subitems"
        staged, staged_items, synced = self.tables.staged_subitems, self.tables.staged_items, self.tables.synced_items
        with self.store.engine.connect() as connection:
            rows = [dict(row) for row in connection.execute(
                sa.select(staged, synced.c.monday_item_id.label("parent_item_id"))
                .join(staged_items, sa.and_(staged_items.c.run_id == staged.c.run_id,
                                            staged_items.c.item_key == staged.c.item_key))
                .outerjoin(synced, sa.and_(synced.c.board_id == self.board.board_id,
                                           synced.c.item_key == staged.c.item_key))
                .where(staged.c.run_id == self.run_id, staged.c.customer.in_(customers),
                       staged.c.operation == Operation.CREATE.value, staged.c.status != RowStatus.DONE.value)
                .order_by(staged.c.customer, staged_items.c.source_row, staged.c.position)
            ).mappings()]
        batch = planner.subitem_creates(rows, self.config)
        self._refuse_all(staged, batch)
        self._advance(len(batch.refused))

        def record(writes: BatchWrites, mutation: Mutation, row: Mapping[str, Any], data: dict[str, Any]) -> str:
            subitem_id = str(data["id"])
            board = (data.get("board") or {}).get("id")
            if board and not self.board.subitem_board_id:
                self.board.subitem_board_id = str(board)
            writes.synced_subitem(row, subitem_id, mutation.variables["parent_item_id"])
            return subitem_id

        await self._send_creates(
            batch, IntentOperation.CREATE_SUBITEM,
            lambda mutation, row: {"item_key": row["item_key"], "size": row["size"],
                                   "parent_item_id": row["parent_item_id"]},
            staged, record)

    async def _subitem_board(self) -> str:
        if not self.board.subitem_board_id:
            schema = await self.client.board_schema(self.board.board_id)
            self.board.subitem_board_id = subitem_board_of(schema)
        if not self.board.subitem_board_id:
            raise NotFound(f"board {self.board.board_id} has no subitem board yet, but subitems are recorded "
                           "as synced", hint="run `ordersync reconcile` to compare the board with the state")
        return self.board.subitem_board_id

    def _synced_subitem_rows(self, customers: Sequence[str], operations: Sequence[Operation]) -> list[dict[str, Any]]:
        staged, synced = self.tables.staged_subitems, self.tables.synced_subitems
        with self.store.engine.connect() as connection:
            return [dict(row) for row in connection.execute(
                sa.select(staged, synced.c.monday_subitem_id.label("subitem_id"),
                          synced.c.parent_item_id.label("parent_item_id"))
                .join(synced, sa.and_(synced.c.board_id == self.board.board_id,
                                      synced.c.item_key == staged.c.item_key, synced.c.size == staged.c.size))
                .where(staged.c.run_id == self.run_id, staged.c.customer.in_(customers),
                       staged.c.operation.in_([operation.value for operation in operations]),
                       staged.c.status != RowStatus.DONE.value)
            ).mappings()]

    async def _update_subitems(self, customers: Sequence[str]) -> None:
        self.progress.phase = "update subitems"
        rows = self._synced_subitem_rows(customers, [Operation.UPDATE])
        if not rows:
            return
        subitem_board = await self._subitem_board()
        batch = planner.subitem_updates(rows, subitem_board, self.config.subitems.quantity_column)
        staged = self.tables.staged_subitems
        for request in self.client.pack(batch.mutations):
            key = derive_idempotency_key("update_subitem", self.run_id, [(m.ref, m.variables) for m in request])
            self._checkpoint("before_request")
            results = await self.client.send_batch(request, board_id=subitem_board, idempotency_key=key)
            self._checkpoint("after_response")
            writes = self._writes()
            for outcome in results:
                row = batch.rows[outcome.mutation.ref]
                if outcome.ok:
                    writes.synced_subitem(row, row["subitem_id"], row["parent_item_id"])
                    writes.status(staged, row["item_key"], RowStatus.DONE, size=row["size"])
                else:
                    self._fail(writes, staged, row, outcome)
            self._flush(writes)
            self._advance(len(request))

    async def _remove_subitems(self, customer: str) -> None:
        self.progress.phase = "archive subitems"
        rows = self._synced_subitem_rows([customer], [Operation.ARCHIVE, Operation.DELETE])
        staged = self.tables.staged_subitems

        def forget(connection: Connection, writes: BatchWrites, row: Mapping[str, Any]) -> None:
            writes.mirror.forget_subitems(connection, [(row["item_key"], row["size"])])
            writes.status(staged, row["item_key"], RowStatus.DONE, size=row["size"])

        await self._remove(planner.removals(rows, "subitem_id", with_size=True), staged, forget)

    async def _remove_items(self, customer: str) -> None:
        self.progress.phase = "archive items"
        staged, synced = self.tables.staged_items, self.tables.synced_items
        with self.store.engine.connect() as connection:
            rows = [dict(row) for row in connection.execute(
                sa.select(staged, synced.c.monday_item_id.label("item_id"))
                .join(synced, sa.and_(synced.c.board_id == self.board.board_id,
                                      synced.c.item_key == staged.c.item_key))
                .where(staged.c.run_id == self.run_id, staged.c.customer == customer,
                       staged.c.operation.in_([Operation.ARCHIVE.value, Operation.DELETE.value]),
                       staged.c.status != RowStatus.DONE.value)
            ).mappings()]

        def forget(connection: Connection, writes: BatchWrites, row: Mapping[str, Any]) -> None:
            writes.mirror.forget_items(connection, [row["item_key"]])
            writes.status(staged, row["item_key"], RowStatus.DONE)

        archives = [row for row in rows if row["operation"] == Operation.ARCHIVE.value]
        if len(archives) > self.config.items.bulk_archive_over:
            await self._archive_in_bulk(archives, forget)
            rows = [row for row in rows if row["operation"] != Operation.ARCHIVE.value]
        await self._remove(planner.removals(rows, "item_id", with_size=False), staged, forget)

    async def _archive_in_bulk(self, rows: Sequence[Mapping[str, Any]],
                               forget: Callable[[Connection, BatchWrites, Mapping[str, Any]], None]) -> None:
        """Archives as `bulk_archive_items` jobs, crash-safe like creates: before each job, its intents
        committed and its rows SENT; when Monday names the job, its id recorded on the intents; once the
        job has ended, in one transaction, the archived rows forgotten by the mirror (`forget`) and DONE,
        the others ERROR, the intents settled. A job whose answer was lost leaves its intents OPEN for
        `settle_intents`; one still running after `[items] bulk_archive_wait_seconds`, for the next run."""
        staged = self.tables.staged_items
        for start in range(0, len(rows), JOB_ITEMS_MAX):
            chunk = rows[start:start + JOB_ITEMS_MAX]
            self._checkpoint("before_request")
            with self.store.engine.begin() as connection:
                intent_ids = open_intents(connection, self.store, self.run_id, self.board.board_id,
                                          IntentOperation.ARCHIVE_ITEM, [{"item_key": row["item_key"]} for row in chunk])
                writes = self._writes()
                for row in chunk:
                    writes.status(staged, row["item_key"], RowStatus.SENT)
                writes.flush(connection)
            job = bulk_archive(self.board.board_id, [str(row["item_id"]) for row in chunk], "job")
            key = derive_idempotency_key("bulk_archive", self.run_id, intent_ids)
            [sent] = await self.client.send_batch([job], board_id=self.board.board_id, idempotency_key=key)
            self._checkpoint("after_response")
            if not sent.ok:
                writes = self._writes()
                for intent_id, row in zip(intent_ids, chunk, strict=True):
                    self._fail(writes, staged, row, sent)
                    self._settle_failed(writes, intent_id, sent)
                self._flush(writes)
                self._advance(len(chunk))
                continue
            await self._finish_job(job_id_of(sent), intent_ids, chunk, forget)

    async def _finish_job(self, job_id: str, intent_ids: Sequence[int], rows: Sequence[Mapping[str, Any]],
                          forget: Callable[[Connection, BatchWrites, Mapping[str, Any]], None]) -> None:
        """Wait for one bulk job, then record what it archived."""
        staged = self.tables.staged_items
        with self.store.engine.begin() as connection:
            record_job(connection, self.store, intent_ids, job_id)
        self._checkpoint("job_started")
        wait = self.config.items.bulk_archive_wait_seconds
        ended = await wait_for_job(self.client, job_id, timeout_seconds=wait)
        archived = await archive_outcome(self.client, [str(row["item_id"]) for row in rows], ended)
        writes = self._writes()
        with self.store.engine.begin() as connection:
            for intent_id, row in zip(intent_ids, rows, strict=True):
                item_id = str(row["item_id"])
                if archived.running:  # the intent stays OPEN with its job: the next run waits for it
                    self._error(writes, item_key=row["item_key"], customer=row["customer"], error=ServerError(
                        f"bulk job {job_id} had not ended after {wait:.0f} s",
                        hint="the next run waits for the job and records what it archived"))
                    writes.status(staged, row["item_key"], RowStatus.ERROR)
                elif item_id in archived.archived:
                    forget(connection, writes, row)
                    writes.settle(intent_id, IntentStatus.CONFIRMED, job_id)
                else:
                    self._error(writes, item_key=row["item_key"], customer=row["customer"],
                                error=MondayError(archived.not_archived[item_id]), payload={"job_id": job_id})
                    writes.status(staged, row["item_key"], RowStatus.ERROR)
                    writes.settle(intent_id, IntentStatus.FAILED, job_id)
            writes.flush(connection)
        self._advance(len(rows))

    async def _remove(self, batch: planner.Batch, staged: sa.Table,
                      forget: Callable[[Connection, BatchWrites, Mapping[str, Any]], None]) -> None:
        """Archive or delete; an item already gone from the board counts as removed."""
        for request in self.client.pack(batch.mutations):
            key = derive_idempotency_key("remove", self.run_id, [m.ref for m in request])
            self._checkpoint("before_request")
            results = await self.client.send_batch(request, board_id=self.board.board_id, idempotency_key=key)
            self._checkpoint("after_response")
            writes = self._writes()
            with self.store.engine.begin() as connection:
                for outcome in results:
                    row = batch.rows[outcome.mutation.ref]
                    if outcome.ok or isinstance(outcome.error, NotFound):
                        forget(connection, writes, row)
                    else:
                        self._fail(writes, staged, row, outcome)
                writes.flush(connection)
            self._advance(len(request))


def _refuse_foreign_answer(outcome: MutationResult, board_id: str) -> None:
    """An answer that names another board or parent item than the create asked for is a
    replayed answer to someone else's request (the same Idempotency-Key): it becomes the write's
    refusal, never a record of something ours."""
    if not outcome.ok:
        return
    data, variables = outcome.data or {}, outcome.mutation.variables
    named = {"create_item": ("board", (data.get("board") or {}).get("id"), variables.get("board_id")),
             "create_subitem": ("parent item", (data.get("parent_item") or {}).get("id"),
                                variables.get("parent_item_id"))}.get(outcome.mutation.document)
    if named is None or named[1] is None or str(named[1]) == str(named[2]):
        return
    what, found, asked = named
    outcome.data, outcome.error = None, ForeignAnswer(
        f"Monday answered this create of board {board_id} with {what} {found}, not {asked}: a replayed answer "
        "to another request with the same Idempotency-Key; nothing was recorded, the next run creates it",
        hint="two state databases or installations may share a token and board; see README \"Operating safely\"")


def _confirmed_id(outcome: MutationResult) -> str:
    """The id Monday gave what it created (an answer without one is not `ok`)."""
    return str((outcome.data or {})["id"])


def _refusal(outcome: MutationResult) -> MondayError:
    return outcome.error or MondayError("Monday sent no answer for this mutation")


def _key_and_size(ref: Any) -> tuple[str, str | None]:
    return (ref[0], ref[1]) if isinstance(ref, tuple) else (ref, None)


def _loggable(variables: Mapping[str, Any]) -> dict[str, Any]:
    """Mutation variables as stored with an error: the values sent, never a credential."""
    return {key: value for key, value in variables.items() if "token" not in key.lower()}
