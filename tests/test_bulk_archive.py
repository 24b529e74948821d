"""Removals in bulk (issue 12, goal 5): more archives than `[items] bulk_archive_over` for a customer go
as one `bulk_archive_items` job, polled with `job_status`, as crash-safe as a create — the intents
committed before the job is sent, its id recorded as soon as Monday names it, settled once it has
ended. A run killed while its job runs, a job whose answer is lost, a job that fails: the rerun leaves
every item archived by one job, the mirror following, and the board equal to the source."""

from __future__ import annotations

import signal
import time

import httpx
import pytest
import sqlalchemy as sa

from cli_project import TOKEN as CLI_TOKEN
from cli_project import cli_project
from ordersync.emulator import EmulatorSettings, running_emulator
from ordersync.engine.filters import Filters
from ordersync.engine.sync import SyncOptions, sync_async
from ordersync.sample_data import write_sample_data
from ordersync.state import IntentOperation, IntentStatus, RunStatus, StateStore
from reliability import TOKEN, ProcessProject, assert_board_equals_source
from sync_world import TOKEN as WORLD_TOKEN
from sync_world import SimulatedCrash, crash_at, make_world

CUSTOMER = "GREYSON"  # the sample's 69-line PO 4755 is GREYSON's
GREYSON = Filters(customers=(CUSTOMER,))
GONE = 15  # past the default bulk_archive_over = 10


def remove_lines(source_url: str, count: int) -> None:
    """`count` of the customer's order lines leave the warehouse."""
    engine = sa.create_engine(source_url)
    table = sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        chosen = connection.execute(sa.select(table.c.record_uuid).where(table.c["CUSTOMER NAME"] == CUSTOMER)
                                    .order_by(table.c.record_uuid).limit(count)).scalars().all()
        assert len(chosen) == count
        connection.execute(sa.delete(table).where(table.c.record_uuid.in_(chosen)))
    engine.dispose()


def archive_intents(source_url: str) -> list[dict]:
    store = StateStore.from_url(source_url)
    intents = store.tables.write_intents
    with store.engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(sa.select(intents).where(
            intents.c.operation == IntentOperation.ARCHIVE_ITEM.value)).mappings()]
    store.engine.dispose()
    return rows


def test_past_the_threshold_lines_gone_from_the_source_are_archived_by_one_bulk_job(tmp_path):
    settings = EmulatorSettings(tokens=[CLI_TOKEN], complexity_budget=10**9, mutations_per_window=10**6,
                                requests_per_minute=10**6, bulk_job_seconds=0.5)
    with cli_project(tmp_path, rows=200, settings=settings) as project:
        assert project.run("sync", "--customer", CUSTOMER, "--json").exit_code == 0

        remove_lines(project.source_url, 3)  # a handful: one archive_item each, as before
        few = project.run("sync", "--customer", CUSTOMER, "--json")
        assert few.exit_code == 0, few.stderr
        fields = project.emulator("GET", "/emulator/stats")["fields"]
        assert fields.get("archive_item") == 3 and "bulk_archive_items" not in fields

        remove_lines(project.source_url, GONE)
        many = project.run("sync", "--customer", CUSTOMER, "--json", "--allow-removals")
        assert many.exit_code == 0, many.stderr
        assert many.json()["status"] == "COMPLETED"
        assert many.json()["totals"]["items"]["archive"] == GONE, many.json()["totals"]
        stats = project.emulator("GET", "/emulator/stats")
        assert stats["fields"]["bulk_archive_items"] == 1 and stats["fields"]["archive_item"] == 3
        assert stats["fields"]["job_status"] >= 1 and stats["jobs"] == {"COMPLETED": 1}
        intents = archive_intents(project.source_url)
        assert len(intents) == GONE and {intent["status"] for intent in intents} == {IntentStatus.CONFIRMED.value}
        assert len({intent["monday_id"] for intent in intents}) == 1  # the job's id

        checked = project.run("reconcile", "--customer", CUSTOMER, "--json")
        assert checked.exit_code == 0, checked.stderr
        assert checked.json()["clean"] is True
        again = project.run("sync", "--customer", CUSTOMER, "--json")
        assert again.exit_code == 0 and again.json()["api"]["mutations"] == 0


def test_a_sync_killed_while_its_bulk_job_runs_is_settled_by_the_rerun_without_a_second_job(tmp_path):
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=10**9, mutations_per_window=10**6,
                                requests_per_minute=10**6, bulk_job_seconds=3_600)  # the job runs until let go
    write_sample_data(f"sqlite:///{tmp_path / 'ordersync.db'}", rows=200)
    with running_emulator(settings) as base_url:
        project = ProcessProject(tmp_path, base_url, monday={"max_backoff_seconds": 0.2})
        project.new_board()
        assert project.run("sync", "--customer", CUSTOMER, "--json").returncode == 0
        remove_lines(project.source_url, GONE)

        process = project.start("sync", "--customer", CUSTOMER, "--json", "--allow-removals")
        started = time.monotonic()
        while stats(base_url)["fields"].get("job_status", 0) < 2 and time.monotonic() - started < 120:
            assert process.poll() is None, project.finish(process).stderr
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)  # polling the job: its id is recorded, the job not done
        assert project.finish(process).returncode == -signal.SIGKILL
        left = archive_intents(project.source_url)
        assert len(left) == GONE and {intent["status"] for intent in left} == {IntentStatus.OPEN.value}
        assert len({intent["monday_id"] for intent in left} - {None}) == 1
        assert stats(base_url)["jobs"] == {"RUNNING": 1} or stats(base_url)["jobs"] == {"PENDING": 1}

        httpx.patch(f"{base_url}/emulator/config", json={"bulk_job_seconds": 2}, timeout=30).raise_for_status()
        rerun = project.run("sync", "--customer", CUSTOMER, "--json", "--allow-removals")
        assert rerun.returncode == 0, rerun.stderr
        assert rerun.json()["status"] == "COMPLETED"
        assert rerun.json()["settled_intents"] == {"archived": GONE}
        assert rerun.json()["api"]["mutations"] == 0  # waited for the job, sent nothing again
        after = stats(base_url)
        assert after["fields"]["bulk_archive_items"] == 1 and "archive_item" not in after["fields"]
        assert after["jobs"] == {"COMPLETED": 1}
        assert {intent["status"] for intent in archive_intents(project.source_url)} == {IntentStatus.ADOPTED.value}
        assert_board_equals_source(project, GREYSON)


def stats(base_url: str) -> dict:
    return httpx.get(f"{base_url}/emulator/stats", timeout=30).json()


class LoseAnswers(httpx.AsyncBaseTransport):
    """Lets the bulk job through to the API, then drops its answers, `times` times over."""

    def __init__(self, inner: httpx.AsyncBaseTransport, times: int) -> None:
        self.inner, self.left = inner, times

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.left and "bulk_archive_items(" in request.content.decode():
            self.left -= 1
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
        return response


@pytest.fixture
def anyio_backend():
    return "asyncio"


def in_process_settings(**overrides) -> EmulatorSettings:
    return EmulatorSettings(tokens=[WORLD_TOKEN], complexity_budget=10**9, mutations_per_window=10**6,
                            requests_per_minute=10**6, **overrides)


@pytest.mark.anyio
async def test_a_bulk_job_whose_answer_is_lost_is_found_archived_on_the_board_and_never_sent_twice(sqlite_url):
    async with make_world(sqlite_url, rows=200, settings=in_process_settings(bulk_job_seconds=0)) as world:
        assert (await world.sync(filters=GREYSON)).status is RunStatus.COMPLETED
        remove_lines(sqlite_url, GONE)
        world.reconfigure(monday__max_attempts=2, monday__max_backoff_seconds=0.01)
        losing = httpx.AsyncClient(transport=LoseAnswers(world.http._transport, times=2), timeout=60)
        first = await sync_async(world.config, SyncOptions(filters=GREYSON, allow_removals=True), http=losing,
                                 token=world.token)
        assert first.stats.retries > 0  # the same Idempotency-Key again: Monday replayed the job's answer
        intents = archive_intents(sqlite_url)
        assert len(intents) == GONE and {intent["status"] for intent in intents} == {IntentStatus.ADOPTED.value}
        rerun = await world.sync(filters=GREYSON)
        assert rerun.status is RunStatus.COMPLETED and rerun.stats.mutations_sent == 0
        emulator = world.app.state.emulator
        assert emulator.fields_run["bulk_archive_items"] == 1 and emulator.fields_run["archive_item"] == 0
        drift = await world.drift(GREYSON)
        assert drift.clean and drift.board_items == drift.source_items


@pytest.mark.anyio
async def test_a_bulk_job_that_fails_archives_nothing_and_the_next_run_archives_the_lines(sqlite_url):
    settings = in_process_settings(bulk_job_seconds=0)
    async with make_world(sqlite_url, rows=200, settings=settings) as world:
        await world.sync(filters=GREYSON)
        remove_lines(sqlite_url, GONE)
        emulator = world.app.state.emulator
        emulator.reconfigure({"faults": {"bulk_job_failure": 1.0}})
        failed = await world.sync(filters=GREYSON, allow_removals=True)
        assert failed.status is not RunStatus.COMPLETED and failed.outcome.totals["items"]["failed"] == GONE
        assert {intent["status"] for intent in archive_intents(sqlite_url)} == {IntentStatus.FAILED.value}
        assert (await world.drift(GREYSON)).board_items == (await world.drift(GREYSON)).source_items + GONE

        emulator.reconfigure({"faults": {"bulk_job_failure": 0.0}})
        rerun = await world.sync(filters=GREYSON, allow_removals=True)
        assert rerun.status is RunStatus.COMPLETED
        assert emulator.jobs.counts() == {"FAILED": 1, "COMPLETED": 1}
        drift = await world.drift(GREYSON)
        assert drift.clean and drift.board_items == drift.source_items


@pytest.mark.anyio
async def test_a_run_stopped_after_its_job_started_whose_job_monday_forgot_archives_the_lines_again(sqlite_url):
    async with make_world(sqlite_url, rows=200, settings=in_process_settings(bulk_job_seconds=3_600)) as world:
        await world.sync(filters=GREYSON)
        remove_lines(sqlite_url, GONE)
        with pytest.raises(SimulatedCrash):
            await world.sync(filters=GREYSON, allow_removals=True, checkpoint=crash_at("job_started"))
        emulator = world.app.state.emulator
        emulator.jobs.reset()  # the job never ran and Monday no longer knows it (expired)
        emulator.reconfigure({"bulk_job_seconds": 0})
        rerun = await world.sync(filters=GREYSON, allow_removals=True)
        assert rerun.settled_intents == {"absent": GONE}  # nothing archived: the rerun archives them itself
        assert rerun.status is RunStatus.COMPLETED
        assert emulator.fields_run["bulk_archive_items"] == 2 and emulator.jobs.counts() == {"COMPLETED": 1}
        drift = await world.drift(GREYSON)
        assert drift.clean and drift.board_items == drift.source_items
