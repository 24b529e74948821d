"""`Idempotency-Key` on mutations: replay without writing again, 409 while the first runs, no
caching of refused (429) requests, keys per token, ignored on queries, forgotten after the TTL."""

from __future__ import annotations

import anyio
import pytest

from ordersync.emulator import EmulatorSettings

from .support import Api, wait_until_in_flight

pytestmark = pytest.mark.anyio

CREATE = 'mutation($b: ID!) { create_item(board_id: $b, item_name: "once") { id } }'


async def item_count(api: Api, board_id: str) -> int:
    data = await api.data("query($b: [ID!]) { boards(ids: $b) { items_count } }", {"b": [board_id]})
    return data["boards"][0]["items_count"]


async def test_same_key_replays_the_first_response_without_writing_again(api: Api) -> None:
    board_id = await api.board()
    first = await api.post(CREATE, {"b": board_id}, Idempotency_Key="row-1")
    again = await api.post(CREATE, {"b": board_id}, Idempotency_Key="row-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["Idempotency-Replayed"] == "true"
    assert "Idempotency-Replayed" not in first.headers
    assert await item_count(api, board_id) == 1
    other = await api.post(CREATE, {"b": board_id}, Idempotency_Key="row-2")
    assert other.json()["data"]["create_item"]["id"] != first.json()["data"]["create_item"]["id"]


async def test_a_partial_failure_is_replayed_as_it_was(api: Api) -> None:
    board_id = await api.board()
    batch = (f'mutation {{ a: create_item(board_id: {board_id}, item_name: "a") {{ id }}'
             ' b: create_item(board_id: 1, item_name: "b") { id } }')
    first = await api.post(batch, Idempotency_Key="batch-1")
    again = await api.post(batch, Idempotency_Key="batch-1")
    assert again.json() == first.json() and first.json()["errors"][0]["path"] == ["b"]
    assert await item_count(api, board_id) == 1


async def test_same_key_while_the_first_is_running_gets_409(api: Api) -> None:
    board_id = await api.board()
    first_status: list[int] = []

    async def first() -> None:
        response = await api.post(CREATE, {"b": board_id}, Idempotency_Key="k", X_Emulator_Fault="latency=500")
        first_status.append(response.status_code)

    async with anyio.create_task_group() as group:
        group.start_soon(first)
        await wait_until_in_flight(api.client)
        conflict = await api.post(CREATE, {"b": board_id}, Idempotency_Key="k")
    assert first_status == [200]
    assert conflict.status_code == 409 and conflict.headers["Retry-After"] == "1"
    assert conflict.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert await item_count(api, board_id) == 1


async def test_a_rate_limited_request_is_not_kept(api: Api) -> None:
    board_id = await api.board()
    limited = await api.post(CREATE, {"b": board_id}, Idempotency_Key="k", X_Emulator_Fault="rate_limit")
    assert limited.status_code == 429
    retried = await api.post(CREATE, {"b": board_id}, Idempotency_Key="k")
    assert retried.status_code == 200 and "Idempotency-Replayed" not in retried.headers
    assert await item_count(api, board_id) == 1


async def test_server_errors_and_locks_are_not_kept_either(api: Api) -> None:
    board_id = await api.board()
    for fault in ("server_error", "board_locked"):
        refused = await api.post(CREATE, {"b": board_id}, Idempotency_Key="k", X_Emulator_Fault=fault)
        assert refused.status_code in (500, 423)
    assert (await api.post(CREATE, {"b": board_id}, Idempotency_Key="k")).status_code == 200
    assert await item_count(api, board_id) == 1


async def test_keys_are_per_token(in_process) -> None:
    async with in_process(EmulatorSettings(tokens=["one", "two"])) as client:
        one, two = Api(client, "one"), Api(client, "two")
        board_id = await one.board()
        await one.post(CREATE, {"b": board_id}, Idempotency_Key="k")
        second = await two.post(CREATE, {"b": board_id}, Idempotency_Key="k")
        assert "Idempotency-Replayed" not in second.headers
        assert await item_count(one, board_id) == 2


async def test_queries_ignore_the_key(api: Api) -> None:
    board_id = await api.board()
    query = "query($b: [ID!]) { boards(ids: $b) { items_count } }"
    await api.post(query, {"b": [board_id]}, Idempotency_Key="q")
    await api.post(CREATE, {"b": board_id})
    again = await api.post(query, {"b": [board_id]}, Idempotency_Key="q")
    assert "Idempotency-Replayed" not in again.headers
    assert again.json()["data"]["boards"][0]["items_count"] == 1


async def test_a_key_is_forgotten_after_the_ttl(in_process) -> None:
    async with in_process(EmulatorSettings(idempotency_ttl_seconds=0.1)) as client:
        api = Api(client)
        board_id = await api.board()
        await api.post(CREATE, {"b": board_id}, Idempotency_Key="k")
        await anyio.sleep(0.15)
        later = await api.post(CREATE, {"b": board_id}, Idempotency_Key="k")
        assert "Idempotency-Replayed" not in later.headers
        assert await item_count(api, board_id) == 2
