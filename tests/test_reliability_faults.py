"""A hostile API: 20% rate-limit answers, 5% server errors, 2% lost responses after committed writes,
and latency on every request, over real HTTP — the sync completes and the board is exact.

test_sync_recovery.py covers each fault alone; here they come together at the issue's rates. The
faults are drawn by the emulator from a seeded generator, and a counting transport checks that
they really happened, so a change that stops provoking them fails here instead of passing quietly.
A 429 asks the client to wait a whole second (Monday's retry hints are whole seconds), which is
most of this test's time.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from pydantic import SecretStr

from ordersync.emulator import EmulatorSettings, FaultSettings, running_emulator
from ordersync.engine.filters import Filters
from ordersync.engine.sync import SyncOptions, sync_async
from ordersync.sample_data import write_sample_data
from ordersync.state import RunStatus
from reliability import TOKEN, ProcessProject, assert_board_equals_source

HOSTILE = FaultSettings(rate_limit=0.20, rate_limit_burst_seconds=0.05, server_error=0.05, lost_response=0.02,
                        latency_ms=20)


class CountingTransport(httpx.AsyncBaseTransport):
    """What the network did to each request: its HTTP status, or the connection breaking."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.seen: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self.inner.handle_async_request(request)
            await response.aread()  # a lost response breaks while its body is read
        except httpx.TransportError:
            self.seen["lost"] += 1
            raise
        self.seen[str(response.status_code)] += 1
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def hostile_sync(project: ProcessProject, filters: Filters) -> tuple[RunStatus, Counter[str], int]:
    transport = CountingTransport()
    async with httpx.AsyncClient(transport=transport, timeout=60) as http:
        result = await sync_async(project.config(), SyncOptions(filters=filters, all_customers=True), http=http,
                                  token=SecretStr(TOKEN))
    return result.status, transport.seen, result.stats.rate_limited


def run_hostile(directory, *, rows: int, seed: int, filters: Filters, per_request: int) -> Counter[str]:
    write_sample_data(f"sqlite:///{directory / 'ordersync.db'}", rows=rows)
    settings = EmulatorSettings(tokens=[TOKEN], complexity_budget=10**9, mutations_per_window=10**6,
                                requests_per_minute=10**6)
    with running_emulator(settings) as base_url:
        project = ProcessProject(directory, base_url, monday={"max_backoff_seconds": 0.2, "max_attempts": 12,
                                                              "max_mutations_per_request": per_request})
        project.new_board()
        project.set_faults(**{**HOSTILE.model_dump(), "seed": seed})  # from the sync's first request on
        status, seen, rate_limited = asyncio.run(hostile_sync(project, filters))
        assert status is RunStatus.COMPLETED
        assert_board_equals_source(project, filters)
        assert project.open_intents() == 0
        scope = [f"--customer={name}" for name in filters.customers] or ["--all"]
        again = project.run("sync", "--json", *scope)
        assert again.returncode == 0, again.stderr
        assert again.json()["api"]["mutations"] == 0  # nothing was left half done
    answers = sum(seen.values())
    assert rate_limited == seen["429"] and seen["429"] >= 0.1 * answers, seen
    return seen


def test_rate_limits_server_errors_lost_responses_and_latency_together_still_give_an_exact_board(tmp_path):
    seen = run_hostile(tmp_path, rows=150, seed=45, per_request=20,
                       filters=Filters(customers=("GREYSON", "TITLE NINE", "SUN DAY RED")))
    assert seen["500"] >= 1 and seen["lost"] >= 1, seen  # the seed provokes every fault


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_soak_every_customer_under_the_same_faults(tmp_path, seed):
    seen = run_hostile(tmp_path, rows=400, seed=seed, per_request=25, filters=Filters())
    assert seen["500"] >= 1 and seen["lost"] >= 1, seen
