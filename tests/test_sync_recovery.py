"""Nothing lost, nothing duplicated: crashes, lost answers, faults, overlap — and the rerun converges."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import sqlalchemy as sa

from ordersync.emulator import EmulatorSettings, FaultSettings
from ordersync.engine.filters import Filters
from ordersync.engine.sync import SyncOptions, retry_failed, sync_async
from ordersync.errors import LockHeld, Unauthorized
from ordersync.state import IntentStatus, RunStatus, StateStore
from sync_world import TOKEN, SimulatedCrash, crash_at, make_world

pytestmark = pytest.mark.anyio

SMALL = Filters(customers=("GREYSON", "TITLE NINE", "SUN DAY RED"))


@pytest.fixture
def anyio_backend():
    return "asyncio"


def open_intents(url: str) -> int:
    store = StateStore.from_url(url)
    intents = store.tables.write_intents
    with store.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(intents).where(
            intents.c.status == IntentStatus.OPEN.value)).scalar_one()


async def assert_converged(world, filters: Filters = SMALL) -> None:
    drift = await world.drift(filters)
    assert drift.clean, drift.findings
    assert drift.board_items == drift.source_items and drift.board_subitems == drift.source_subitems


@pytest.mark.parametrize("point, nth", [
    ("before_request", 1), ("before_request", 4),
    ("after_response", 1), ("after_response", 3), ("after_response", 6),
    ("between_items_and_subitems", 1),
    ("after_customer", 1), ("after_customer", 2),
])
async def test_a_sync_stopped_at_any_step_then_rerun_leaves_the_board_equal_to_the_source(sqlite_url, point, nth):
    async with make_world(sqlite_url, rows=300) as world:
        world.reconfigure(monday__max_mutations_per_request=20)  # several requests per phase, to stop between them
        with pytest.raises(SimulatedCrash):
            await world.sync(filters=SMALL, checkpoint=crash_at(point, nth))
        rerun = await world.sync(filters=SMALL)
        assert rerun.status is RunStatus.COMPLETED
        await assert_converged(world)
        assert open_intents(sqlite_url) == 0
        if point == "after_response":  # the write happened, the answer was never recorded: found and adopted
            assert rerun.settled_intents.get("adopted", 0) >= 1
        again = await world.sync(filters=SMALL)
        assert again.stats.mutations_sent == 0


async def test_stopping_twice_in_a_row_still_converges(sqlite_url):
    async with make_world(sqlite_url, rows=300) as world:
        world.reconfigure(monday__max_mutations_per_request=20)  # several requests per phase, to stop between them
        for point, nth in (("after_response", 2), ("after_response", 1), ("before_request", 2)):
            with pytest.raises(SimulatedCrash):
                await world.sync(filters=SMALL, checkpoint=crash_at(point, nth))
        await world.sync(filters=SMALL)
        await assert_converged(world)


async def test_lost_answers_are_replayed_by_idempotency_key_not_written_twice(sqlite_url):
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=10**9, mutations_per_window=10**6,
                                requests_per_minute=10**6, faults=FaultSettings(lost_response=0.3, seed=7))
    async with make_world(sqlite_url, rows=300, settings=settings) as world:
        world.reconfigure(monday__max_backoff_seconds=0.1)
        result = await world.sync(filters=SMALL)
        assert result.status is RunStatus.COMPLETED
        assert result.stats.retries > 0
        await assert_converged(world)


class LoseAnswers(httpx.AsyncBaseTransport):
    """Lets writes of one kind through to the API, then drops their answers, `times` times over."""

    def __init__(self, inner: httpx.AsyncBaseTransport, mutation: str, times: int) -> None:
        self.inner, self.mutation, self.left = inner, mutation, times

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.left and f"{self.mutation}(" in request.content.decode():
            self.left -= 1
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
        return response


@pytest.mark.parametrize("mutation", ["create_item", "create_subitem", "create_group"])
async def test_writes_whose_answers_never_come_are_found_on_the_board_and_adopted(sqlite_url, mutation):
    async with make_world(sqlite_url, rows=300) as world:
        world.reconfigure(monday__max_attempts=2, monday__max_backoff_seconds=0.01)
        losing = httpx.AsyncClient(transport=LoseAnswers(world.http._transport, mutation, times=6), timeout=60)
        first = await sync_async(world.config, SyncOptions(filters=SMALL), http=losing, token=world.token)
        assert open_intents(sqlite_url) == 0  # settled in the same run by looking on the board
        rerun = await world.sync(filters=SMALL)
        assert rerun.status is RunStatus.COMPLETED
        await assert_converged(world)
        assert first.stats.retries > 0


async def test_rate_limits_server_errors_and_locked_boards_are_retried_until_done(sqlite_url):
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=10**9, mutations_per_window=10**6,
                                requests_per_minute=10**6,
                                faults=FaultSettings(rate_limit=0.05, rate_limit_burst_seconds=0.2, server_error=0.1,
                                                     board_locked=0.05, seed=11))
    # a rate-limit answer says how long to wait (here 1 s): the client waits that, not its own backoff
    async with make_world(sqlite_url, rows=300, settings=settings) as world:
        world.reconfigure(monday__max_backoff_seconds=0.2)
        result = await world.sync(filters=SMALL)
        assert result.status is RunStatus.COMPLETED
        assert result.stats.retries > 0
        await assert_converged(world)


async def test_a_small_complexity_budget_paces_the_sync_instead_of_failing_it(sqlite_url):
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=1_000_000, window_seconds=1.0,
                                mutations_per_window=10**6, requests_per_minute=10**6)
    async with make_world(sqlite_url, rows=150, settings=settings) as world:
        result = await world.sync(filters=Filters(customers=("GREYSON",), po_numbers=("4755",)))
        assert result.status is RunStatus.COMPLETED
        assert result.stats.budget_wait_seconds > 0 or result.stats.rate_limited > 0
        assert result.as_dict()["totals"]["subitems"]["create"] == 264
        await assert_converged(world, Filters(customers=("GREYSON",), po_numbers=("4755",)))


class FailOneCustomer(httpx.AsyncBaseTransport):
    """Refuses as a whole, before running any of it, every write that carries a customer's name (as
    Monday refuses a document with a value it cannot take); everything else goes through. Requests
    are filled across customers, so the client cuts a refused one smaller until the customer's own
    mutations fail alone."""

    def __init__(self, inner: httpx.AsyncBaseTransport, customer: str) -> None:
        self.inner, self.customer = inner, customer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        if "mutation Batch" in body and self.customer in body:
            return httpx.Response(200, json={"errors": [{"message": "Variable has an invalid value",
                                                         "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]})
        return await self.inner.handle_async_request(request)


async def test_one_customers_failure_is_recorded_while_the_others_complete(sqlite_url):
    async with make_world(sqlite_url, rows=300) as world:
        world.reconfigure(monday__max_attempts=2, monday__max_backoff_seconds=0.05)
        failing = httpx.AsyncClient(transport=FailOneCustomer(world.http._transport, "TITLE NINE"), timeout=60)
        result = await sync_async(world.config, SyncOptions(filters=SMALL), http=failing, token=world.token)
        assert result.status is RunStatus.FAILED
        customers = result.as_dict()["customers"]
        assert customers["TITLE NINE"]["items"]["failed"] > 0 or customers["TITLE NINE"].get("aborted")
        assert customers["GREYSON"]["items"]["create"] > 0 and customers["GREYSON"]["items"]["failed"] == 0
        board = await world.board()
        assert {item.texts["dropdown_mkr542p2"] for item in board} >= {"GREYSON", "SUN DAY RED"}
        await world.sync(filters=SMALL)  # the next run finishes TITLE NINE
        await assert_converged(world)


async def test_retry_resends_only_the_failed_rows(sqlite_url):
    async with make_world(sqlite_url, rows=300) as world:
        world.reconfigure(monday__max_attempts=1)
        failing = httpx.AsyncClient(transport=FailOneCustomer(world.http._transport, "SUN DAY RED"), timeout=60)
        first = await sync_async(world.config, SyncOptions(filters=SMALL), http=failing, token=world.token)
        failed = first.failed_rows
        assert failed > 0
        retried = await retry_failed(world.config, http=world.http, token=world.token)
        assert retried.status is RunStatus.COMPLETED
        totals = retried.as_dict()["totals"]
        assert 0 < totals["items"]["create"] <= failed
        assert totals["items"]["unchanged"] == 0  # only the failed lines were read back in
        await assert_converged(world)


async def test_a_bad_token_stops_at_once_with_nothing_recorded_as_synced(sqlite_url):
    async with make_world(sqlite_url, rows=150) as world:
        with pytest.raises(Unauthorized) as caught:
            await sync_async(world.config, SyncOptions(filters=SMALL), http=world.http,
                             token=type(world.token)("not-the-token"))
        assert "not-the-token" not in str(caught.value)
        assert caught.value.exit_code == 3
        store = StateStore.from_url(sqlite_url)
        with store.engine.connect() as connection:
            assert connection.execute(sa.select(sa.func.count()).select_from(store.tables.synced_items)).scalar() == 0


async def test_a_label_the_board_lacks_is_a_clear_row_error_without_permission(sqlite_url):
    async with make_world(sqlite_url, rows=150) as world:
        world.execute('UPDATE "ORDERS_UNIFIED" SET "UNIT OF MEASURE" = \'DOZENS\' WHERE "AAG ORDER NUMBER" IN '
                      '(SELECT "AAG ORDER NUMBER" FROM "ORDERS_UNIFIED" WHERE "CUSTOMER NAME" = \'GREYSON\' '
                      'ORDER BY "AAG ORDER NUMBER" LIMIT 1)')
        result = await world.sync(filters=Filters(customers=("GREYSON",)))
        assert result.as_dict()["totals"]["items"]["failed"] == 1
        store = StateStore.from_url(sqlite_url)
        with store.engine.connect() as connection:
            errors = store.tables.errors
            [message] = connection.execute(sa.select(errors.c.message).where(
                errors.c.run_id == result.run_id, errors.c.size.is_(None))).scalars().all()
            sizes = connection.execute(sa.select(errors.c.category).where(
                errors.c.run_id == result.run_id, errors.c.size.is_not(None))).scalars().all()
        assert "'DOZENS' does not exist in column UNIT OF MEASURE" in message
        assert "create_labels_if_missing" in message
        assert set(sizes) <= {"dependency"}  # its sizes wait for their order line
        assert result.status is RunStatus.COMPLETED  # all it could do is done; the refused line is its failure
        assert result.exit_code == 1


SLOW_API = EmulatorSettings(tokens=[TOKEN], complexity_budget=10**9, mutations_per_window=10**6,
                            requests_per_minute=10**6, faults=FaultSettings(latency_ms=5))


async def test_two_syncs_started_at_once_on_one_board_do_nothing_twice(sqlite_url):
    async with make_world(sqlite_url, rows=300, settings=SLOW_API) as world:
        outcomes = await asyncio.gather(world.sync(filters=SMALL), world.sync(filters=SMALL),
                                        return_exceptions=True)
        finished = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
        refused = [outcome for outcome in outcomes if isinstance(outcome, LockHeld)]
        assert len(finished) == 1 and len(refused) == 1, outcomes
        assert "being synced" in str(refused[0])
        await assert_converged(world)


async def test_a_second_sync_can_wait_for_the_first_and_then_finds_nothing_to_do(sqlite_url):
    async with make_world(sqlite_url, rows=300, settings=SLOW_API) as world:
        first, second = await asyncio.gather(world.sync(filters=SMALL),
                                             world.sync(filters=SMALL, wait_for_lock=120))
        creates = [result.as_dict()["totals"]["items"]["create"] for result in (first, second)]
        assert sorted(creates)[0] == 0 and sorted(creates)[1] > 0
        await assert_converged(world)
