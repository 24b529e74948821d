"""Fault injection, forced by header or drawn from seeded rates, in-process and over real HTTP:
429 bursts with a retry hint, 5xx, 423 board locked, added latency, and the lost response
(the write committed, then the connection dropped)."""

from __future__ import annotations

import anyio
import httpx
import pytest

from ordersync.emulator import EmulatorSettings, FaultSettings, ResponseLost

from .support import Api, wait_until_in_flight

pytestmark = pytest.mark.anyio

CREATE = 'mutation($b: ID!) { create_item(board_id: $b, item_name: "x") { id } }'


async def item_count(api: Api, board_id: str) -> int:
    data = await api.data("query($b: [ID!]) { boards(ids: $b) { items_count } }", {"b": [board_id]})
    return data["boards"][0]["items_count"]


@pytest.mark.parametrize(("fault", "status", "code", "retry"), [
    ("rate_limit", 429, "RATE_LIMIT_EXCEEDED", "1"),
    ("server_error", 500, "INTERNAL_SERVER_ERROR", None),
    ("board_locked", 423, "RESOURCE_LOCKED", "1"),
])
async def test_forced_fault_refuses_before_anything_runs(api: Api, fault: str, status: int, code: str,
                                                         retry: str | None) -> None:
    board_id = await api.board()
    response = await api.post(CREATE, {"b": board_id}, X_Emulator_Fault=fault)
    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert response.headers.get("Retry-After") == retry
    if fault == "rate_limit":
        assert response.json()["errors"][0]["extensions"]["retry_in_seconds"] == 1
    assert await item_count(api, board_id) == 0


async def test_lost_response_in_process_raises_after_the_write_committed(api: Api) -> None:
    board_id = await api.board()
    with pytest.raises(httpx.RemoteProtocolError) as lost:
        await api.post(CREATE, {"b": board_id}, X_Emulator_Fault="lost_response")
    assert isinstance(lost.value, ResponseLost)
    assert await item_count(api, board_id) == 1


async def test_added_latency_keeps_the_request_in_flight(in_process) -> None:
    """Latency is observed through concurrency, not the clock: a slow request holds its slot."""
    async with in_process(EmulatorSettings(max_concurrent=1, faults=FaultSettings(latency_ms=500))) as client:
        api = Api(client)
        async with anyio.create_task_group() as group:
            group.start_soon(api.post, "{ me { id } }", None)
            await wait_until_in_flight(client)
            overlapping = await api.post("{ me { id } }")
        assert overlapping.status_code == 429


async def test_rates_are_deterministic_for_a_seed(in_process) -> None:
    async def outcomes(seed: int) -> list[int]:
        faults = FaultSettings(server_error=0.3, board_locked=0.2, seed=seed)
        async with in_process(EmulatorSettings(faults=faults)) as client:
            return [(await Api(client).post("{ me { id } }")).status_code for _ in range(30)]

    first, again, other = await outcomes(7), await outcomes(7), await outcomes(8)
    assert first == again and first != other
    assert {500, 423, 200} <= set(first)


async def test_a_random_rate_limit_starts_a_burst_that_ends(in_process) -> None:
    faults = FaultSettings(rate_limit=1.0, rate_limit_burst_seconds=0.3)
    async with in_process(EmulatorSettings(faults=faults)) as client:
        api = Api(client)
        assert (await api.post("{ me { id } }")).status_code == 429
        await client.patch("/emulator/config", json={"faults": {"rate_limit": 0.0}})
        during = await api.post("{ me { id } }")
        assert during.status_code == 429 and during.json()["errors"][0]["extensions"]["retry_in_seconds"] == 1
        await anyio.sleep(0.35)
        assert (await api.post("{ me { id } }")).status_code == 200


async def test_a_random_lost_response_still_commits(in_process) -> None:
    async with in_process(EmulatorSettings(faults=FaultSettings(lost_response=1.0))) as client:
        api = Api(client)
        with pytest.raises(ResponseLost):
            await api.post('mutation { create_board(board_name: "b", board_kind: public) { id } }')
        await client.patch("/emulator/config", json={"faults": {"lost_response": 0}})
        boards = await api.data("{ boards { name } }")
        assert boards["boards"] == [{"name": "b"}]


async def test_rates_held_back_by_after_mutations_hit_mid_run_and_count_again_when_changed(in_process) -> None:
    """Reads pass meanwhile; the token is refused (401, as if revoked) from the third mutation on."""
    revoked = FaultSettings(unauthorized=1.0, after_mutations=2)
    async with in_process(EmulatorSettings(faults=revoked)) as client:
        api = Api(client)
        board_id = await api.board()  # mutation 1
        assert (await api.post("{ me { id } }")).status_code == 200
        assert (await api.post(CREATE, {"b": board_id})).status_code == 200  # mutation 2
        refused = await api.post(CREATE, {"b": board_id})
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "USER_UNAUTHORIZED"
        assert (await api.post("{ me { id } }")).status_code == 401
        await client.patch("/emulator/config", json={"faults": {"unauthorized": 0.0, "server_error": 1.0,
                                                                "after_mutations": 1}})
        assert (await api.post(CREATE, {"b": board_id})).status_code == 200
        assert (await api.post(CREATE, {"b": board_id})).status_code == 500
        assert await item_count_after_healing(client, api, board_id) == 2


async def item_count_after_healing(client: httpx.AsyncClient, api: Api, board_id: str) -> int:
    await client.patch("/emulator/config", json={"faults": {"server_error": 0.0, "after_mutations": 0}})
    return await item_count(api, board_id)


async def test_an_unknown_fault_is_a_bad_request(api: Api) -> None:
    response = await api.post("{ me { id } }", X_Emulator_Fault="gremlins")
    assert response.status_code == 400 and "unknown fault" in response.json()["errors"][0]["message"]


def test_lost_response_over_http_is_a_dropped_connection_and_a_retry_with_the_key_replays(
        live: httpx.Client) -> None:
    board_id = live.post("/v2", json={"query": 'mutation { create_board(board_name: "b", board_kind: public) '
                                               "{ id } }"}).json()["data"]["create_board"]["id"]
    body = {"query": CREATE, "variables": {"b": board_id}}
    with pytest.raises(httpx.RemoteProtocolError):
        live.post("/v2", json=body, headers={"X-Emulator-Fault": "lost_response", "Idempotency-Key": "w-1"})
    retried = live.post("/v2", json=body, headers={"Idempotency-Key": "w-1"})
    assert retried.headers["Idempotency-Replayed"] == "true"
    count = live.post("/v2", json={"query": "query($b: [ID!]) { boards(ids: $b) { items_count } }",
                                   "variables": {"b": [board_id]}}).json()
    assert count["data"]["boards"][0]["items_count"] == 1


@pytest.mark.parametrize(("fault", "status"), [("rate_limit", 429), ("server_error", 500), ("board_locked", 423),
                                              ("unauthorized", 401)])
def test_forced_faults_over_http(live: httpx.Client, fault: str, status: int) -> None:
    response = live.post("/v2", json={"query": "{ me { id } }"}, headers={"X-Emulator-Fault": fault})
    assert response.status_code == status and "errors" in response.json()


def test_fault_rates_change_on_a_running_server(live: httpx.Client) -> None:
    assert live.patch("/emulator/config", json={"faults": {"server_error": 1.0}}).status_code == 200
    try:
        assert live.post("/v2", json={"query": "{ me { id } }"}).status_code == 500
    finally:
        live.patch("/emulator/config", json={"faults": {"server_error": 0.0}})
    assert live.post("/v2", json={"query": "{ me { id } }"}).status_code == 200
