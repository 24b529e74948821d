"""Monday's limits, scaled down in time: complexity budget over a sliding window, per-query cap,
requests per minute, concurrency, daily calls, mutations and create_board per window — reported
in `complexity` and the RateLimit headers, refused with Monday's error shapes per API version."""

from __future__ import annotations

import anyio
import httpx
import pytest

from ordersync.emulator import CostTable, EmulatorSettings

from .support import Api, wait_until_in_flight

pytestmark = pytest.mark.anyio

CREATE = 'mutation($b: ID!) { complexity { before after query reset_in_x_seconds } create_item(board_id: $b, item_name: "x") { id } }'


async def test_complexity_reports_before_after_query_and_reset(api: Api) -> None:
    board_id = await api.board()
    first = (await api.data(CREATE, {"b": board_id}))["complexity"]
    second = (await api.data(CREATE, {"b": board_id}))["complexity"]
    assert first["query"] == second["query"] == 10_001
    assert first["after"] == first["before"] - 10_001 and second["before"] == first["after"]
    assert 0 < second["reset_in_x_seconds"] <= 60
    read = await api.data("{ complexity { query } boards(limit: 5) { id name } }")
    assert read["complexity"]["query"] == 10 + 5 * 2


async def test_cost_table_is_settable(in_process) -> None:
    settings = EmulatorSettings(costs=CostTable(mutation=30_000, mutation_overrides={"create_board": 500}))
    async with in_process(settings) as client:
        api = Api(client)
        made = await api.data('mutation { complexity { query } create_board(board_name: "b", board_kind: public) { id } }')
        assert made["complexity"]["query"] == 500 + 1
        created = await api.data(CREATE, {"b": made["create_board"]["id"]})
        assert created["complexity"]["query"] == 30_001


async def test_budget_exhaustion_is_refused_then_recovers_after_the_window(in_process) -> None:
    settings = EmulatorSettings(complexity_budget=25_000, window_seconds=1)
    async with in_process(settings) as client:
        api = Api(client)
        board_id = await api.board()  # 10,001 points
        await api.data(CREATE, {"b": board_id})  # 20,002
        refused = await api.post(CREATE, {"b": board_id})
        assert refused.status_code == 429
        assert refused.json()["errors"] == [{"message": "Complexity budget exhausted",
                                             "extensions": {"code": "COMPLEXITY_BUDGET_EXHAUSTED",
                                                            "retry_in_seconds": 1}}]
        assert refused.headers["Retry-After"] == "1"
        await anyio.sleep(1.05)
        recovered = await api.data(CREATE, {"b": board_id})
        assert recovered["complexity"]["before"] == 25_000


async def test_a_query_over_the_per_query_cap_runs_nothing(in_process) -> None:
    async with in_process(EmulatorSettings(query_complexity_cap=15_000)) as client:
        api = Api(client)
        board_id = await api.board()
        response = await api.post(f'mutation {{ a: create_item(board_id: {board_id}, item_name: "a") {{ id }}'
                                  f' b: create_item(board_id: {board_id}, item_name: "b") {{ id }} }}')
        error = response.json()["errors"][0]
        assert response.status_code == 200 and error["extensions"]["code"] == "maxComplexityExceeded"
        assert error["extensions"]["error_data"] == {"complexity": 20_002, "max_complexity": 15_000}
        count = await api.data("query($b: [ID!]) { boards(ids: $b) { items_count } }", {"b": [board_id]})
        assert count["boards"][0]["items_count"] == 0


async def test_a_request_costing_more_than_the_whole_budget_is_over_the_cap(in_process) -> None:
    async with in_process(EmulatorSettings(complexity_budget=15_000, window_seconds=1)) as client:
        api = Api(client)
        response = await api.post('mutation { a: create_board(board_name: "a", board_kind: public) { id }'
                                  ' b: create_board(board_name: "b", board_kind: public) { id } }')
        assert response.status_code == 200
        assert response.json()["errors"][0]["extensions"]["error_data"] == {"complexity": 20_002,
                                                                            "max_complexity": 15_000}


async def test_requests_per_minute(in_process) -> None:
    async with in_process(EmulatorSettings(requests_per_minute=3, window_seconds=1)) as client:
        api = Api(client)
        for _ in range(3):
            await api.data("{ me { id } }")
        refused = await api.post("{ me { id } }")
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"] == {"code": "RATE_LIMIT_EXCEEDED", "retry_in_seconds": 1}
        assert '"minuteRate";r=0;t=' in refused.headers["RateLimit"]
        await anyio.sleep(1.05)
        await api.data("{ me { id } }")


async def test_concurrent_requests_past_the_cap_are_refused(in_process) -> None:
    async with in_process(EmulatorSettings(max_concurrent=1)) as client:
        api = Api(client)
        statuses: list[int] = []

        async def slow() -> None:
            statuses.append((await api.post("{ me { id } }", X_Emulator_Fault="latency=500")).status_code)

        async with anyio.create_task_group() as group:
            group.start_soon(slow)
            await wait_until_in_flight(client)
            refused = await api.post("{ me { id } }")
        assert statuses == [200]
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "maxConcurrencyExceeded"
        await api.data("{ me { id } }")


async def test_daily_calls_count_limited_requests_as_a_tenth(in_process) -> None:
    async with in_process(EmulatorSettings(daily_call_limit=3, day_seconds=86_400)) as client:
        api = Api(client)
        await api.data("{ me { id } }")
        await api.data("{ complexity { query } }")  # complexity alone: 0.1 call
        await api.data("{ me { id } }")
        await api.data("{ me { id } }")
        refused = await api.post("{ me { id } }")
        assert refused.status_code == 429
        extensions = refused.json()["errors"][0]["extensions"]
        assert extensions["code"] == "DAILY_LIMIT_EXCEEDED" and extensions["retry_in_seconds"] >= 1
        await api.post("{ me { id } }")
        usage = (await client.get("/emulator/stats")).json()["usage"]
        assert list(usage.values())[0]["daily_calls"] == 3.3


async def test_daily_limit_resets_with_the_day(in_process) -> None:
    async with in_process(EmulatorSettings(daily_call_limit=1, day_seconds=0.5)) as client:
        api = Api(client)
        await api.data("{ me { id } }")
        refused = await api.post("{ me { id } }")
        if refused.status_code == 200:  # the day turned between the two calls
            refused = await api.post("{ me { id } }")
        assert refused.status_code == 429
        await anyio.sleep(0.55)
        await api.data("{ me { id } }")


async def test_mutations_per_window(in_process) -> None:
    async with in_process(EmulatorSettings(mutations_per_window=3, window_seconds=1)) as client:
        api = Api(client)
        board_id = await api.board()
        two = f'mutation {{ a: create_item(board_id: {board_id}, item_name: "a") {{ id }} b: create_item(board_id: {board_id}, item_name: "b") {{ id }} }}'
        await api.data(two)
        refused = await api.post(two)
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["message"].startswith("Mutation limit exceeded")
        await api.data("{ me { id } }")  # reads are not mutations
        await anyio.sleep(1.05)
        await api.data(two)


async def test_create_board_has_its_own_cap(in_process) -> None:
    async with in_process(EmulatorSettings(create_board_per_window=2)) as client:
        api = Api(client)
        await api.board()
        await api.board()
        refused = await api.post('mutation { create_board(board_name: "third", board_kind: public) { id } }')
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["message"] == "Call limit exceeded for CreateBoard"


async def test_each_token_has_its_own_budget(in_process) -> None:
    async with in_process(EmulatorSettings(tokens=["one", "two"], complexity_budget=15_000)) as client:
        first, second = Api(client, "one"), Api(client, "two")
        await first.board()
        assert (await first.post('mutation { create_board(board_name: "b", board_kind: public) { id } }')).status_code == 429
        await second.board()


async def test_rate_limit_headers_on_every_response(in_process) -> None:
    async with in_process(EmulatorSettings(requests_per_minute=100, max_concurrent=7, complexity_budget=50_000)) as client:
        response = await Api(client).post("{ me { id } }")
        assert response.headers["RateLimit-Policy"] == (
            '"minuteRate";q=100;w=60, "concurrency";q=7;qu="concurrent-requests", '
            '"complexityMinute";q=50000;w=60;qu="content-bytes"')
        assert response.headers["RateLimit"].startswith('"minuteRate";r=99, "concurrency";r=6, "complexityMinute";r=49989;t=')


@pytest.mark.parametrize(("version", "status", "body"), [
    ("2026-07", 429, {"errors": [{"message": "Complexity budget exhausted",
                                  "extensions": {"code": "COMPLEXITY_BUDGET_EXHAUSTED", "retry_in_seconds": 60}}]}),
    ("2025-04", 200, {"errors": [{"message": "Complexity budget exhausted",
                                  "extensions": {"code": "COMPLEXITY_BUDGET_EXHAUSTED", "retry_in_seconds": 60,
                                                 "status_code": 429, "complexity": 10_001,
                                                 "complexity_budget_left": 4_999,
                                                 "complexity_budget_limit": 15_000}}],
                      "account_id": 23_456_789}),
    ("2024-10", 200, {"error_code": "ComplexityException", "status_code": 429,
                      "error_message": "Complexity budget exhausted, query cost 10001 budget remaining 4999 out of "
                                       "15000 reset in 60 seconds",
                      "error_data": {"retry_in_seconds": 60}, "account_id": 23_456_789,
                      "errors": ["Complexity budget exhausted, query cost 10001 budget remaining 4999 out of 15000 "
                                 "reset in 60 seconds"]}),
])
async def test_budget_error_shape_follows_the_api_version(in_process, version: str, status: int, body: dict) -> None:
    async with in_process(EmulatorSettings(complexity_budget=15_000)) as client:
        api = Api(client)
        board_id = await api.board()
        response = await api.post(CREATE.replace("complexity { before after query reset_in_x_seconds } ", ""),
                                  {"b": board_id}, API_Version=version)
        got = response.json()
        got.pop("extensions", None)
        assert (response.status_code, got) == (status, body)
        assert response.headers["Retry-After"] == "60"


async def test_minute_limit_in_the_legacy_shape(in_process) -> None:
    async with in_process(EmulatorSettings(requests_per_minute=1)) as client:
        api = Api(client)
        await api.data("{ me { id } }")
        response = await api.post("{ me { id } }", API_Version="2024-01")
        assert response.status_code == 429
        assert response.json()["error_code"] == "RATE_LIMIT_EXCEEDED"
        assert response.json()["error_message"] == "Minute limit rate exceeded"


async def test_a_malformed_api_version_is_refused(api: Api) -> None:
    response = await api.post("{ me { id } }", API_Version="July")
    assert response.json()["errors"][0]["extensions"]["code"] == "InvalidVersionException"
    assert (await api.data("{ version { value kind } }", API_Version="2026-10"))["version"] == {
        "value": "2026-10", "kind": "current"}


async def test_limits_change_on_a_running_emulator(client: httpx.AsyncClient, api: Api) -> None:
    changed = await client.patch("/emulator/config", json={"complexity_budget": 15, "faults": {"seed": 3}})
    assert changed.status_code == 200 and changed.json()["complexity_budget"] == 15
    assert changed.json()["faults"]["seed"] == 3 and changed.json()["faults"]["server_error"] == 0
    await api.data("{ me { id } }")  # 11 points
    refused = await api.post("{ me { id } }")
    assert refused.status_code == 429
    bad = await client.patch("/emulator/config", json={"complexity_budget": -1})
    assert bad.status_code == 400
    fixed = await client.patch("/emulator/config", json={"db_path": "/tmp/x.db"})
    assert fixed.status_code == 400
