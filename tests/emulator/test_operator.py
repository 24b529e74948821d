"""People at the board (issue 13): the operator endpoint and the board view's form edit a value or a name
as one of the account's users, through the store the API uses, so the edit shows in `items_page`, the
item's `updated_at` and the board's `activity_logs`, attributed to that person."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from ordersync.emulator import EmulatorSettings

from .support import Api, values_by_id

pytestmark = pytest.mark.anyio

PLANNER, PACKER = 71_000_001, 71_000_002
READ = ("query($b: [ID!]) { boards(ids: $b) { items_page { items { id name updated_at"
        " column_values { id text } } } } }")
LOGS = ("query($b: [ID!], $u: [ID!], $c: [String]) { boards(ids: $b) {"
        " activity_logs(user_ids: $u, column_ids: $c) { event entity user_id account_id created_at data } } }")


@pytest.fixture
async def client(in_process: Callable[[EmulatorSettings], httpx.AsyncClient]) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(EmulatorSettings(members=["Pat Planner", "Kim Packer"])) as opened:
        yield opened


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


async def _board(api: Api) -> tuple[str, str, str]:
    board = await api.board("Orders")
    await api.column(board, "date", "ex_factory", title="Ex-Factory")
    item = await api.item(board, "PO-1", {"ex_factory": "2026-01-05"})
    return board, "ex_factory", item


async def test_an_operator_edit_shows_in_items_page_and_updated_at(
        api: Api, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    board, column, item = await _board(api)
    monkeypatch.setattr("ordersync.emulator.store.now_iso", lambda **_: "2030-01-02T03:04:05Z")
    edit = await client.post("/operator/edit", json={"board_id": board, "item_id": item, "column_id": column,
                                                     "value": {"date": "2026-02-10"}, "user_id": PLANNER})
    assert edit.status_code == 200, edit.text
    assert edit.json()["updated_at"] == "2030-01-02T03:04:05Z"
    [read] = (await api.data(READ, {"b": [board]}))["boards"][0]["items_page"]["items"]
    assert values_by_id(read)[column]["text"] == "2026-02-10"
    assert read["updated_at"] == "2030-01-02T03:04:05Z"


async def test_an_operator_edit_is_in_the_boards_activity_log_as_that_persons(api: Api, client: httpx.AsyncClient) -> None:
    board, column, item = await _board(api)
    me = (await api.data("{ me { id } }"))["me"]["id"]
    await api.data('mutation($b: ID!, $i: ID!) { change_simple_column_value(board_id: $b, item_id: $i,'
                   ' column_id: "ex_factory", value: "2026-01-20") { id } }', {"b": board, "i": item})
    await client.post("/operator/edit", json={"item_id": item, "column_id": column, "value": "2026-02-10",
                                              "user_id": PLANNER})
    logs = (await api.data(LOGS, {"b": [board]}))["boards"][0]["activity_logs"]
    assert [(log["event"], log["user_id"]) for log in logs] == [
        ("update_column_value", str(PLANNER)), ("update_column_value", me), ("create_pulse", me)]
    newest = json.loads(logs[0]["data"])
    assert (newest["pulse_id"], newest["column_id"], newest["column_type"]) == (int(item), column, "date")
    assert (newest["value"]["date"], newest["previous_value"]["date"]) == ("2026-02-10", "2026-01-20")
    assert logs[0]["entity"] == "pulse" and len(logs[0]["created_at"]) == 17
    only_planner = (await api.data(LOGS, {"b": [board], "u": [str(PLANNER)]}))["boards"][0]["activity_logs"]
    assert [log["user_id"] for log in only_planner] == [str(PLANNER)]


async def test_renaming_as_a_person_is_an_update_name(api: Api, client: httpx.AsyncClient) -> None:
    board, _, item = await _board(api)
    edit = await client.post("/operator/edit", json={"item_id": item, "name": "PO-1 (split)", "user_id": PACKER})
    assert edit.status_code == 200 and edit.json()["name"] == "PO-1 (split)"
    assert (await api.read(item))["name"] == "PO-1 (split)"
    [log] = (await api.data(LOGS, {"b": [board], "u": [str(PACKER)]}))["boards"][0]["activity_logs"]
    data = json.loads(log["data"])
    assert (log["event"], data["value"], data["previous_value"]) == \
        ("update_name", {"name": "PO-1 (split)"}, {"name": "PO-1"})


async def test_a_write_that_changes_nothing_is_no_event(api: Api, client: httpx.AsyncClient) -> None:
    board, column, item = await _board(api)
    await client.post("/operator/edit", json={"item_id": item, "column_id": column, "value": "2026-01-05",
                                              "user_id": PLANNER})
    logs = (await api.data(LOGS, {"b": [board], "u": [str(PLANNER)]}))["boards"][0]["activity_logs"]
    assert logs == []


async def test_refused_edits_answer_400_and_write_nothing(api: Api, client: httpx.AsyncClient) -> None:
    board, column, item = await _board(api)
    other = await api.board("Other")
    status = await api.column(board, "status", "status", defaults={"labels": ["Open", "Done"]})
    unknown_user = await client.post("/operator/edit", json={"item_id": item, "column_id": column,
                                                             "value": "2026-03-01", "user_id": 5})
    assert unknown_user.status_code == 400 and PLANNER in unknown_user.json()["users"]
    bad_label = await client.post("/operator/edit", json={"item_id": item, "column_id": status,
                                                          "value": {"label": "Nope"}, "user_id": PLANNER})
    assert bad_label.status_code == 400 and bad_label.json()["code"] == "ColumnValueException"
    wrong_board = await client.post("/operator/edit", json={"board_id": other, "item_id": item,
                                                            "column_id": column, "value": "2026-03-01",
                                                            "user_id": PLANNER})
    assert wrong_board.status_code == 400
    read = await api.read(item)
    assert values_by_id(read)[column]["text"] == "2026-01-05" and values_by_id(read)[status]["text"] is None
    assert (await api.data(LOGS, {"b": [board], "u": [str(PLANNER)]}))["boards"][0]["activity_logs"] == []


async def test_the_board_views_form_edits_as_the_chosen_person(api: Api, client: httpx.AsyncClient) -> None:
    board, column, item = await _board(api)
    page = (await client.get(f"/boards/{board}")).text
    assert 'action="/operator/edit"' in page and "Pat Planner" in page and f'value="{column}"' in page
    posted = await client.post("/operator/edit", data={"board_id": board, "item_id": item, "column_id": column,
                                                       "value": "2026-04-01", "user_id": str(PACKER)})
    assert posted.status_code == 303 and posted.headers["location"] == f"/boards/{board}#item-{item}"
    assert values_by_id(await api.read(item))[column]["text"] == "2026-04-01"
    [log] = (await api.data(LOGS, {"b": [board], "u": [str(PACKER)]}))["boards"][0]["activity_logs"]
    assert log["event"] == "update_column_value"


async def test_members_are_users_of_the_account_beside_the_tokens_user(api: Api, client: httpx.AsyncClient) -> None:
    listed = (await client.get("/operator/users")).json()
    assert [(user["id"], user["name"], user["api"]) for user in listed] == [
        (70_000_001, "Emulator User", True), (PLANNER, "Pat Planner", False), (PACKER, "Kim Packer", False)]
    users = (await api.data("{ users { id name } }"))["users"]
    assert {"id": str(PLANNER), "name": "Pat Planner"} in users


async def test_the_activity_log_keeps_its_newest_entries_only(
        in_process: Callable[[EmulatorSettings], httpx.AsyncClient]) -> None:
    """A long load (hundreds of thousands of writes) must not grow the emulator without end: the log keeps
    the newest `activity_log_entries`, all boards together, and forgets the oldest."""
    async with in_process(EmulatorSettings(members=["Pat Planner"], activity_log_entries=3)) as opened:
        api = Api(opened)
        board, column, item = await _board(api)
        for day in ("2026-02-10", "2026-02-11", "2026-02-12"):
            await opened.post("/operator/edit", json={"item_id": item, "column_id": column, "value": day,
                                                      "user_id": PLANNER})
        logs = (await api.data(LOGS, {"b": [board]}))["boards"][0]["activity_logs"]
        assert [json.loads(log["data"])["value"]["date"] for log in logs] == ["2026-02-12", "2026-02-11",
                                                                             "2026-02-10"]
