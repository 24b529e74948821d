"""Webhooks (issue 13): registration with Monday's challenge, deliveries in Monday's payload shapes naming
who made the change, retries once a window, the drop and duplicate faults, signatures, and delete_webhook.
The receiver is a real HTTP server in a thread; where it matters the emulator runs in a process of its own."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest

from emulator_process import emulator_process
from ordersync.emulator import EmulatorSettings, create_app

from .support import Api
from .webhook_receiver import Receiver, webhook_receiver

pytestmark = pytest.mark.anyio

TOKEN = "webhooks-token"
PLANNER = 71_000_001  # the first member's id
CREATE_WEBHOOK = ("mutation($b: ID!, $u: String!, $e: WebhookEventType!, $c: JSON) {"
                  " create_webhook(board_id: $b, url: $u, event: $e, config: $c) { id board_id event config } }")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


def _stats(get: Callable[[str], Any]) -> dict[str, Any]:
    return get("/emulator/webhooks").json()


def _settle(get: Callable[[str], Any], counter: str, count: int, timeout: float = 10.0) -> dict[str, Any]:
    """Wait until the emulator's delivery counter reaches `count` and nothing is pending."""
    deadline = time.monotonic() + timeout
    while True:
        stats = _stats(get)
        if stats["deliveries"].get(counter, 0) >= count and stats["pending"] == 0:
            return stats
        if time.monotonic() > deadline:
            raise AssertionError(f"{counter} never reached {count}: {stats}")
        time.sleep(0.02)


# ---------------------------------------------------------------------------- over real HTTP, own process


def _graphql(base: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = httpx.post(f"{base}/v2", json={"query": query, "variables": variables or {}},
                      headers={"Authorization": TOKEN}, timeout=10).json()
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    with emulator_process("--window-seconds", "1", token=TOKEN) as base_url:
        yield base_url


@pytest.fixture
def live(emulator_url: str) -> str:
    assert httpx.post(f"{emulator_url}/emulator/reset").status_code == 200
    assert httpx.patch(f"{emulator_url}/emulator/config",
                       json={"members": ["Pat Planner"], "faults": {"webhook_drop": 0.0}}).status_code == 200
    return emulator_url


def _status_board(base: str) -> tuple[str, str, str]:
    board = _graphql(base, 'mutation { create_board(board_name: "Orders", board_kind: public) { id } }')["create_board"]["id"]
    column = _graphql(base, "mutation($b: ID!) { create_column(board_id: $b, id: \"status\", title: \"Production\","
                            " column_type: status) { id } }", {"b": board})["create_column"]["id"]
    item = _graphql(base, "mutation($b: ID!) { create_item(board_id: $b, item_name: \"PO-1\","
                          " column_values: \"{\\\"status\\\": {\\\"label\\\": \\\"Working on it\\\"}}\") { id } }",
                    {"b": board})["create_item"]["id"]
    return board, column, item


def test_an_operator_edit_as_another_user_fires_a_webhook_in_mondays_shape_naming_that_user(
        live: str, receiver: Receiver) -> None:
    board, column, item = _status_board(live)
    hook = _graphql(live, CREATE_WEBHOOK, {"b": board, "u": receiver.url(), "e": "change_column_value"})["create_webhook"]
    assert hook == {"id": hook["id"], "board_id": board, "event": "change_column_value", "config": None}

    edit = httpx.post(f"{live}/operator/edit", json={"board_id": board, "item_id": item, "column_id": column,
                                                     "value": {"label": "Done"}, "user_id": PLANNER})
    assert edit.status_code == 200, edit.text
    assert edit.json()["column"]["text"] == "Done" and edit.json()["user_id"] == PLANNER

    [event] = receiver.wait_for(1)
    assert set(event) == {"app", "type", "triggerTime", "subscriptionId", "isRetry", "userId", "originalTriggerUuid",
                          "boardId", "groupId", "pulseId", "pulseName", "columnId", "columnType", "columnTitle",
                          "value", "previousValue", "changedAt", "isTopGroup", "triggerUuid"}
    assert event["type"] == "update_column_value" and event["app"] == "monday"
    assert event["userId"] == PLANNER
    assert (event["boardId"], event["pulseId"], event["subscriptionId"]) == (int(board), int(item), int(hook["id"]))
    assert (event["columnId"], event["columnType"], event["columnTitle"]) == ("status", "color", "Production")
    assert event["value"]["label"]["text"] == "Done" and event["value"]["label"]["is_done"] is True
    assert event["previousValue"]["label"]["text"] == "Working on it"
    assert event["isRetry"] is False and len(event["triggerUuid"]) == 32 and event["pulseName"] == "PO-1"


def test_an_api_write_carries_the_tokens_user_so_the_receiver_can_tell_its_own_echo(
        live: str, receiver: Receiver) -> None:
    board, column, item = _status_board(live)
    me = int(_graphql(live, "{ me { id } }")["me"]["id"])
    _graphql(live, CREATE_WEBHOOK, {"b": board, "u": receiver.url(), "e": "change_specific_column_value",
                                    "c": json.dumps({"columnId": column})})
    _graphql(live, "mutation($b: ID!, $i: ID!) { change_simple_column_value(board_id: $b, item_id: $i,"
                   " column_id: \"status\", value: \"Stuck\") { id } }", {"b": board, "i": item})
    httpx.post(f"{live}/operator/edit", json={"item_id": item, "column_id": column, "value": "Done",
                                              "user_id": PLANNER})
    first, second = receiver.wait_for(2)
    assert (first["userId"], first["value"]["label"]["text"]) == (me, "Stuck")
    assert (second["userId"], second["value"]["label"]["text"]) == (PLANNER, "Done")
    assert me != PLANNER


def test_a_failed_delivery_is_retried_a_window_later_with_the_same_trigger_uuid(live: str, receiver: Receiver) -> None:
    board, column, item = _status_board(live)
    _graphql(live, CREATE_WEBHOOK, {"b": board, "u": receiver.url(), "e": "change_column_value"})
    receiver.statuses.extend([500])
    httpx.post(f"{live}/operator/edit", json={"item_id": item, "column_id": column, "value": "Done",
                                              "user_id": PLANNER})
    failed, retried = receiver.wait_for(2)
    assert retried["triggerUuid"] == failed["triggerUuid"]
    assert (failed["isRetry"], retried["isRetry"]) == (False, True)
    stats = _settle(lambda path: httpx.get(f"{live}{path}"), "delivered", 1)
    assert stats["deliveries"]["failed_attempts"] == 1
    assert len(receiver.events()) == 2


def test_the_drop_fault_loses_deliveries_while_it_is_set(live: str, receiver: Receiver) -> None:
    board, column, item = _status_board(live)
    _graphql(live, CREATE_WEBHOOK, {"b": board, "u": receiver.url(), "e": "change_column_value"})
    httpx.patch(f"{live}/emulator/config", json={"faults": {"webhook_drop": 1.0}})
    httpx.post(f"{live}/operator/edit", json={"item_id": item, "column_id": column, "value": "Stuck",
                                              "user_id": PLANNER})
    httpx.patch(f"{live}/emulator/config", json={"faults": {"webhook_drop": 0.0}})
    httpx.post(f"{live}/operator/edit", json={"item_id": item, "column_id": column, "value": "Done",
                                              "user_id": PLANNER})
    [event] = receiver.wait_for(1)
    assert event["value"]["label"]["text"] == "Done"  # the first edit's delivery was never made
    stats = _settle(lambda path: httpx.get(f"{live}{path}"), "delivered", 1)
    assert stats["deliveries"]["dropped"] == 1
    assert len(receiver.events()) == 1


def test_delete_webhook_stops_its_deliveries_and_cancels_its_retries(live: str, receiver: Receiver) -> None:
    board, column, item = _status_board(live)
    kept = _graphql(live, CREATE_WEBHOOK, {"b": board, "u": receiver.url("/kept"), "e": "change_column_value"})
    gone = _graphql(live, CREATE_WEBHOOK, {"b": board, "u": receiver.url("/gone"), "e": "change_column_value"})
    gone_id = gone["create_webhook"]["id"]
    receiver.statuses.extend([500, 500])  # the first delivery of each fails; retries come a window later
    httpx.post(f"{live}/operator/edit", json={"item_id": item, "column_id": column, "value": "Stuck",
                                              "user_id": PLANNER})
    receiver.wait_for(1, "/gone")
    deleted = _graphql(live, "mutation($i: ID!) { delete_webhook(id: $i) { id board_id } }", {"i": gone_id})
    assert deleted["delete_webhook"] == {"id": gone_id, "board_id": board}
    listed = _graphql(live, "query($b: ID!) { webhooks(board_id: $b) { id } }", {"b": board})["webhooks"]
    assert listed == [{"id": kept["create_webhook"]["id"]}]
    httpx.post(f"{live}/operator/edit", json={"item_id": item, "column_id": column, "value": "Done",
                                              "user_id": PLANNER})
    _settle(lambda path: httpx.get(f"{live}{path}"), "delivered", 2)  # /kept: the retry, then the second edit
    assert len(receiver.events("/gone")) == 1
    assert "Done" in [e["value"]["label"]["text"] for e in receiver.events("/kept")]
    assert _stats(lambda path: httpx.get(f"{live}{path}"))["deliveries"]["cancelled"] == 1


# ---------------------------------------------------------------------------- in process


@pytest.fixture
def hooked(in_process: Callable[[EmulatorSettings], httpx.AsyncClient]) -> Callable[..., httpx.AsyncClient]:
    def open_client(**overrides: Any) -> httpx.AsyncClient:
        return in_process(EmulatorSettings(members=["Pat Planner"], window_seconds=0.3, **overrides))

    return open_client


async def test_create_webhook_is_refused_unless_the_url_echoes_the_challenge(
        hooked: Callable[..., httpx.AsyncClient], receiver: Receiver) -> None:
    async with hooked() as client:
        api = Api(client)
        board = await api.board()
        receiver.echo_challenge = False
        [error] = await api.errors(CREATE_WEBHOOK, {"b": board, "u": receiver.url(), "e": "create_item"})
        assert error["extensions"]["code"] == "InvalidArgumentException" and "challenge" in error["message"]
        assert (await api.data("query($b: ID!) { webhooks(board_id: $b) { id } }", {"b": board}))["webhooks"] == []
        receiver.echo_challenge = True
        made = await api.data(CREATE_WEBHOOK, {"b": board, "u": receiver.url(), "e": "create_item"})
        listed = await api.data("query($b: ID!) { webhooks(board_id: $b) { id event board_id } }", {"b": board})
        assert listed["webhooks"] == [{"id": made["create_webhook"]["id"], "event": "create_item", "board_id": board}]
        assert len(receiver.challenges) == 2


async def test_a_delivery_in_progress_does_not_hold_the_api_answer(
        hooked: Callable[..., httpx.AsyncClient], receiver: Receiver) -> None:
    async with hooked() as client:
        api = Api(client)
        board = await api.board()
        await api.data(CREATE_WEBHOOK, {"b": board, "u": receiver.url(), "e": "create_item"})
        release = threading.Event()
        receiver.hold = release
        try:
            await api.item(board, "PO-1")
            receiver.wait_for(1)
            assert receiver.holding  # the receiver still holds the delivery: the API answered without it
        finally:
            release.set()
        event = receiver.events()[0]
        assert (event["type"], event["pulseName"], event["groupId"], event["isTopGroup"]) == \
            ("create_pulse", "PO-1", "topics", True)


async def test_subitem_events_go_to_the_parent_boards_webhooks_with_the_parent_named(
        hooked: Callable[..., httpx.AsyncClient], receiver: Receiver) -> None:
    async with hooked() as client:
        api = Api(client)
        board = await api.board()
        parent = await api.item(board, "PO-1")
        sub = await api.data('mutation($p: ID!) { create_subitem(parent_item_id: $p, item_name: "S") { id board { id } } }',
                             {"p": parent})
        sub_id, sub_board = sub["create_subitem"]["id"], sub["create_subitem"]["board"]["id"]
        qty = await api.column(sub_board, "numbers", "packed_qty", title="Packed Qty")
        await api.data(CREATE_WEBHOOK, {"b": board, "u": receiver.url(), "e": "change_subitem_column_value"})
        await api.data(CREATE_WEBHOOK, {"b": board, "u": receiver.url("/items"), "e": "change_column_value"})
        edit = await client.post("/operator/edit", json={"board_id": board, "item_id": sub_id, "column_id": qty,
                                                         "value": "12", "user_id": PLANNER})
        assert edit.status_code == 200, edit.text
        [event] = receiver.wait_for(1)
        assert (event["boardId"], event["pulseId"], event["parentItemId"], event["parentItemBoardId"]) == \
            (int(sub_board), int(sub_id), parent, board)
        assert (event["columnId"], event["columnType"], event["value"], event["previousValue"]) == \
            ("packed_qty", "numeric", {"value": 12}, None)
        assert receiver.events("/items") == []  # change_column_value hears the board's own items only


async def test_the_duplicate_fault_sends_one_event_twice_with_one_trigger_uuid(
        hooked: Callable[..., httpx.AsyncClient], receiver: Receiver) -> None:
    async with hooked() as client:
        api = Api(client)
        board = await api.board()
        await api.data(CREATE_WEBHOOK, {"b": board, "u": receiver.url(), "e": "create_item"})
        await client.patch("/emulator/config", json={"faults": {"webhook_duplicate": 1.0}})
        await api.item(board, "PO-1")
        first, second = receiver.wait_for(2)
        assert first["triggerUuid"] == second["triggerUuid"]


async def test_a_receiver_failing_beyond_the_retries_is_given_up(
        hooked: Callable[..., httpx.AsyncClient], receiver: Receiver) -> None:
    async with hooked(webhook_retries=2) as client:
        api = Api(client)
        board = await api.board()
        await api.data(CREATE_WEBHOOK, {"b": board, "u": receiver.url(), "e": "create_item"})
        receiver.statuses.extend([500, 502, 503, 500])
        await api.item(board, "PO-1")
        stats = await _settle_async(client, "given_up", 1)
        assert len({event["triggerUuid"] for event in receiver.events()}) == 1
        assert len(receiver.events()) == 3  # the first attempt and two retries, nothing after
        assert stats["deliveries"]["failed_attempts"] == 3


async def _settle_async(client: httpx.AsyncClient, counter: str, count: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        stats = (await client.get("/emulator/webhooks")).json()
        if stats["deliveries"].get(counter, 0) >= count and stats["pending"] == 0:
            return stats
        assert time.monotonic() < deadline, stats
        await anyio.sleep(0.02)


def _jwt_claims(token: str, secret: str) -> dict[str, Any]:
    """Verify an HS256 JWT independently of the emulator's code and return its claims."""
    header, claims, signature = token.split(".")
    expected = hmac.new(secret.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)) == expected
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))) == {"alg": "HS256", "typ": "JWT"}
    return json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))


async def test_with_a_signing_secret_every_request_carries_a_jwt_signed_with_it(
        hooked: Callable[..., httpx.AsyncClient], receiver: Receiver) -> None:
    async with hooked(webhook_signing_secret="app-signing-secret") as client:
        api = Api(client)
        board = await api.board()
        await api.data(CREATE_WEBHOOK, {"b": board, "u": receiver.url(), "e": "create_item"})
        await api.item(board, "PO-1")
        receiver.wait_for(1)
        challenge_claims = _jwt_claims(receiver.challenges[0]["Authorization"], "app-signing-secret")
        claims = _jwt_claims(receiver.deliveries[0].headers["Authorization"], "app-signing-secret")
        me = int((await api.data("{ me { id } }"))["me"]["id"])
        assert claims["aud"] == challenge_claims["aud"] == receiver.url()
        assert claims["userId"] == me and claims["exp"] > claims["iat"]


async def test_without_a_signing_secret_deliveries_carry_no_authorization(
        hooked: Callable[..., httpx.AsyncClient], receiver: Receiver) -> None:
    async with hooked() as client:
        api = Api(client)
        board = await api.board()
        await api.data(CREATE_WEBHOOK, {"b": board, "u": receiver.url(), "e": "create_item"})
        await api.item(board, "PO-1")
        receiver.wait_for(1)
        assert "Authorization" not in receiver.deliveries[0].headers


async def test_name_archive_and_delete_events_arrive_in_their_own_shapes(
        hooked: Callable[..., httpx.AsyncClient], receiver: Receiver) -> None:
    async with hooked() as client:
        api = Api(client)
        board = await api.board()
        kept, archived, deleted = [await api.item(board, name) for name in ("PO-1", "PO-2", "PO-3")]
        for event in ("change_name", "item_archived", "item_deleted"):
            await api.data(CREATE_WEBHOOK, {"b": board, "u": receiver.url(f"/{event}"), "e": event})
        await client.post("/operator/edit", json={"item_id": kept, "name": "PO-1 (split)", "user_id": PLANNER})
        await api.data("mutation($i: ID!) { archive_item(item_id: $i) { id } }", {"i": archived})
        await api.data("mutation($i: ID!) { delete_item(item_id: $i) { id } }", {"i": deleted})
        [renamed] = receiver.wait_for(1, "/change_name")
        [gone] = receiver.wait_for(1, "/item_archived")
        [bin_] = receiver.wait_for(1, "/item_deleted")
        assert (renamed["type"], renamed["pulseId"], renamed["userId"], renamed["value"], renamed["previousValue"]) == \
            ("update_name", int(kept), PLANNER, {"name": "PO-1 (split)"}, {"name": "PO-1"})
        assert (gone["type"], gone["itemId"], gone["itemName"]) == ("archive_pulse", int(archived), "PO-2")
        assert (bin_["type"], bin_["itemId"], bin_["itemName"]) == ("delete_pulse", int(deleted), "PO-3")
        assert len(receiver.events()) == 3


async def test_deliveries_can_go_to_a_transport_instead_of_the_network() -> None:
    received: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if "challenge" in body:
            return httpx.Response(200, json=body)
        received.append(body["event"])
        return httpx.Response(200)

    app = create_app(EmulatorSettings())
    app.state.emulator.webhooks.transport = httpx.MockTransport(handler)  # what the challenge and deliveries use
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emulator") as client:
        api = Api(client)
        board = await api.board()
        await api.data(CREATE_WEBHOOK, {"b": board, "u": "http://receiver.invalid/hooks", "e": "create_item"})
        await api.item(board, "PO-1")
        await _settle_async(client, "delivered", 1)
        assert [event["pulseName"] for event in received] == ["PO-1"]
