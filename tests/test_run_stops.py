"""A run stops at once, says why, and exits 3 when the API cannot be used any more (issue 10, points 8
and 9): a token refused in mid-run (401/403), or an API that has answered nothing but transport
faults and 5xx for longer than `[monday] max_outage_seconds` (the circuit breaker). The run is
recorded FAILED with the reason, the lock is released, and nothing that was never tried is
marked failed: the rows not sent stay PENDING for the next run, which finishes the board."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from cli_project import Project, cli_project
from fake_clock import FakeClock
from ordersync.errors import ApiUnavailable, NetworkError, ServerError
from ordersync.monday.budget import ComplexityBudget
from ordersync.monday.client import MondayClient, RetryPolicy
from ordersync.state import RowStatus, StateStore

# GREYSON (150 sample rows): 4 groups in one request, 81 items in one, then 311 subitems in four.
AFTER_GROUPS_AND_ITEMS = 2


def break_the_api(project: Project, **faults: Any) -> None:
    project.emulator("PATCH", "/emulator/config",
                     json={"faults": {**faults, "after_mutations": AFTER_GROUPS_AND_ITEMS}})


def heal_the_api(project: Project) -> None:
    project.emulator("PATCH", "/emulator/config",
                     json={"faults": {"unauthorized": 0.0, "server_error": 0.0, "after_mutations": 0}})


def state_rows(project: Project, run_id: int) -> dict[str, Any]:
    """What the state tables hold for one run: its error rows and its staged rows by status."""
    store = StateStore.from_url(project.source_url)
    tables = store.tables
    with store.engine.connect() as connection:
        errors = connection.execute(sa.select(sa.func.count()).select_from(tables.errors).where(
            tables.errors.c.run_id == run_id)).scalar_one()
        statuses: dict[str, int] = {}
        for table in (tables.staged_items, tables.staged_subitems):
            for status, count in connection.execute(
                    sa.select(table.c.status, sa.func.count()).where(table.c.run_id == run_id)
                    .group_by(table.c.status)).all():
                statuses[status] = statuses.get(status, 0) + count
    store.engine.dispose()
    return {"errors": errors, "statuses": statuses}


def assert_stopped_and_recoverable(project: Project, stopped: Any, *, error_type: str, message: str) -> None:
    """FAILED with the reason, nothing untried marked failed, the lock free, and the next run finishes."""
    assert stopped.exit_code == 3, stopped.stdout + stopped.stderr
    error = stopped.json()["error"]
    assert error["type"] == error_type and error["exit_code"] == 3

    status = project.run("status", "--json").json()
    run = status["last_sync"]
    assert run["status"] == "FAILED" and message in run["message"], run
    assert status["lock"] is None
    held = state_rows(project, run["run_id"])
    assert held["errors"] == 0, held
    assert held["statuses"].get(RowStatus.ERROR.value, 0) == 0, held
    # the subitems never sent, or sent in the request the API refused (their intents are open: the
    # next run settles them by reading the board) — neither marked failed
    assert held["statuses"].get(RowStatus.PENDING.value, 0) + held["statuses"].get(RowStatus.SENT.value, 0) > 0, held

    heal_the_api(project)
    again = project.run("sync", "--customer", "GREYSON", "--json")
    assert again.exit_code == 0, again.stdout + again.stderr  # the lock was released
    drift = project.run("reconcile", "--customer", "GREYSON", "--json")
    assert drift.exit_code == 0 and drift.json()["clean"] is True, drift.stdout


def test_a_token_revoked_in_mid_run_stops_it_failed_with_exit_3(tmp_path):
    with cli_project(tmp_path, rows=150) as project:
        break_the_api(project, unauthorized=1.0)
        stopped = project.run("sync", "--customer", "GREYSON", "--json")
        error = stopped.json().get("error") or {}
        assert "MONDAY_API_TOKEN" in (error.get("hint") or ""), stopped.stdout
        assert_stopped_and_recoverable(project, stopped, error_type="Unauthorized",
                                       message="the API refused the token")
        assert "MONDAY_API_TOKEN" in project.run("status", "--json").json()["runs"][1]["message"]


def test_a_dead_api_trips_the_circuit_breaker_and_stops_the_run_with_exit_3(tmp_path):
    with cli_project(tmp_path, rows=150) as project:
        # 50 attempts of at most 0.2 s each outlast a 0.5 s outage: the breaker, not the retries, ends it
        project.edit_config("max_backoff_seconds = 0.2",
                            "max_backoff_seconds = 0.2\nmax_attempts = 50\nmax_outage_seconds = 0.5")
        break_the_api(project, server_error=1.0)
        stopped = project.run("sync", "--customer", "GREYSON", "--json")
        assert "status.monday.com" in (stopped.json().get("error") or {}).get("hint", ""), stopped.stdout
        assert_stopped_and_recoverable(project, stopped, error_type="ApiUnavailable",
                                       message="ApiUnavailable")


# -- the breaker in the client, on a fake clock --------------------------------------------------

def breaker_client(answers, clock: FakeClock, *, max_outage: float = 120.0, attempts: int = 50) -> MondayClient:
    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return MondayClient(http, url="https://api.example/v2", token=SecretStr("t"),
                        budget=ComplexityBudget(clock=clock, sleep=clock.sleep),
                        retry=RetryPolicy(max_attempts=attempts, max_delay=30.0, max_outage=max_outage),
                        sleep=clock.sleep)


def server_errors():
    while True:
        yield httpx.Response(500, json={"errors": [{"message": "boom"}]})


def test_the_breaker_opens_once_failures_have_lasted_longer_than_max_outage():
    clock = FakeClock()
    client = breaker_client(server_errors(), clock, max_outage=120.0)
    with pytest.raises(ApiUnavailable) as caught:
        asyncio.run(client.execute("{ me { id } }"))
    assert 120.0 < sum(clock.slept) <= 120.0 + 30.0  # one backoff past the limit at most
    assert caught.value.exit_code == 3
    assert "https://api.example/v2" in caught.value.hint and "status.monday.com" in caught.value.hint
    assert isinstance(caught.value.__cause__, ServerError)


def test_one_outage_spans_requests_until_an_answer_comes():
    clock = FakeClock()
    dropped = httpx.ConnectError("refused")
    client = breaker_client(iter([dropped] * 7), clock, max_outage=100.0, attempts=3)
    for _ in range(2):  # each call spends its 3 attempts within the limit: the caller sees the fault
        with pytest.raises(NetworkError):
            asyncio.run(client.execute("{ me { id } }"))
        clock.now += 60
    with pytest.raises(ApiUnavailable):  # no answer since the first failure, 120 s ago
        asyncio.run(client.execute("{ me { id } }"))


def test_an_answer_ends_the_outage():
    clock = FakeClock()
    dropped = httpx.ConnectError("refused")
    ok = httpx.Response(200, json={"data": {"me": {"id": "1"}}})
    client = breaker_client(iter([dropped] * 3 + [ok] + [dropped] * 3), clock, max_outage=100.0, attempts=3)
    with pytest.raises(NetworkError):
        asyncio.run(client.execute("{ me { id } }"))
    clock.now += 1_000
    asyncio.run(client.execute("{ me { id } }"))
    clock.now += 1_000
    with pytest.raises(NetworkError):  # a new outage, counted from its own first failure
        asyncio.run(client.execute("{ me { id } }"))


def test_rate_limits_with_a_retry_time_are_no_outage():
    clock = FakeClock()
    limited = httpx.Response(429, json={"errors": [{"message": "Minute limit", "extensions": {
        "code": "RATE_LIMIT_EXCEEDED", "retry_in_seconds": 50}}]})
    answers = iter([limited] * 5 + [httpx.Response(200, json={"data": {"me": {"id": "1"}}})])
    client = breaker_client(answers, clock, max_outage=60.0, attempts=8)
    assert asyncio.run(client.execute("{ me { id } }")) == {"me": {"id": "1"}}
    assert clock.now - 1000.0 > 250  # it waited the limits out, and did not call them an outage
