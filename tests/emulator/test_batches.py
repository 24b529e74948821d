"""Many aliased mutations in one request: they run one after another, and each succeeds or
fails on its own (partial `data`, `null` at the failed alias, an error whose `path` names it)."""

from __future__ import annotations

import json

import pytest

from .support import Api

pytestmark = pytest.mark.anyio


async def test_each_alias_succeeds_or_fails_on_its_own(api: Api) -> None:
    board_id = await api.board()
    await api.column(board_id, "numbers", "numeric_qty")
    good = json.dumps(json.dumps({"numeric_qty": "5"}))
    bad = json.dumps(json.dumps({"numeric_qty": "five"}))
    response = await api.post(
        f"mutation {{ a: create_item(board_id: {board_id}, item_name: \"A\", column_values: {good}) {{ id name }}"
        f" b: create_item(board_id: {board_id}, item_name: \"B\", column_values: {bad}) {{ id name }}"
        f" c: create_item(board_id: 1, item_name: \"C\") {{ id }}"
        f" d: create_item(board_id: {board_id}, item_name: \"D\") {{ id name }} }}"
    )
    body = response.json()
    assert response.status_code == 200
    assert body["data"]["a"]["name"] == "A" and body["data"]["d"]["name"] == "D"
    assert body["data"]["b"] is None and body["data"]["c"] is None
    by_path = {tuple(error["path"]): error for error in body["errors"]}
    assert set(by_path) == {("b",), ("c",)}
    assert by_path[("b",)]["extensions"]["code"] == "ColumnValueException"
    assert by_path[("c",)]["extensions"]["code"] == "InvalidBoardIdException"
    assert by_path[("b",)]["locations"][0]["line"] == 1
    assert body["extensions"]["request_id"]
    page = await api.data("query($b: [ID!]) { boards(ids: $b) { items_page { items { name } } } }", {"b": [board_id]})
    assert [i["name"] for i in page["boards"][0]["items_page"]["items"]] == ["A", "D"]


async def test_aliases_run_in_order_so_a_later_alias_sees_an_earlier_write(api: Api) -> None:
    board_id = await api.board()
    await api.column(board_id, "status", "color_s")
    item_id = await api.item(board_id)
    data = await api.data(
        "mutation($b: ID!, $i: ID) {"
        ' first: change_multiple_column_values(board_id: $b, item_id: $i, column_values: "{\\"color_s\\": '
        '{\\"label\\": \\"New label\\"}}", create_labels_if_missing: true) { id }'
        ' second: change_multiple_column_values(board_id: $b, item_id: $i, column_values: "{\\"color_s\\": '
        '{\\"label\\": \\"New label\\"}}") { column_values(ids: ["color_s"]) { text } } }',
        {"b": board_id, "i": item_id},
    )
    assert data["second"]["column_values"] == [{"text": "New label"}]


async def test_a_hundred_aliased_subitems_in_one_request(api: Api) -> None:
    board_id = await api.board()
    parents = await api.items_bulk(board_id, [f"p{n}" for n in range(10)])
    aliases = " ".join(f"s{n}: create_subitem(parent_item_id: {parents[n % 10]}, item_name: \"size {n}\") "
                       "{ id board { id } }" for n in range(100))
    data = await api.data(f"mutation {{ complexity {{ query }} {aliases} }}")
    assert len({data[f"s{n}"]["id"] for n in range(100)}) == 100
    assert len({data[f"s{n}"]["board"]["id"] for n in range(100)}) == 1
    assert data["complexity"]["query"] == 100 * (10_000 + 1 + 10 + 1)  # mutation + id + board { id }


async def test_a_document_error_runs_nothing(api: Api) -> None:
    board_id = await api.board()
    response = await api.post(f'mutation {{ a: create_item(board_id: {board_id}, item_name: "A") {{ id }}'
                              f' b: create_item(board_id: {board_id}, item_nam: "B") {{ id }} }}')
    body = response.json()
    assert response.status_code == 200 and "data" not in body
    assert {e["extensions"]["code"] for e in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}
    page = await api.data("query($b: [ID!]) { boards(ids: $b) { items_count } }", {"b": [board_id]})
    assert page["boards"][0]["items_count"] == 0


async def test_parse_errors_read_like_mondays(api: Api) -> None:
    response = await api.post("{ boards(ids: [1] { id } }")
    error = response.json()["errors"][0]
    assert response.status_code == 200
    assert error["message"] == 'Parse error on "{" at [1, 19]'
    assert error["locations"] == [{"line": 1, "column": 19}]


async def test_variables_of_the_wrong_type_are_refused_before_running(api: Api) -> None:
    response = await api.post("query($b: [ID!]) { boards(ids: $b) { id } }", {"b": {"not": "an id"}})
    body = response.json()
    assert "data" not in body or body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_operation_name_picks_one_operation_of_several(api: Api) -> None:
    document = "query A { me { id } } query B { version { value } }"
    response = await api.client.post("/v2", json={"query": document, "operationName": "B"},
                                     headers={"Authorization": api.token})
    assert response.json()["data"] == {"version": {"value": "2026-07"}}
    ambiguous = await api.errors(document)
    assert ambiguous[0]["message"].startswith("Must provide operation name")
    unknown = await api.client.post("/v2", json={"query": document, "operationName": "C"},
                                    headers={"Authorization": api.token})
    assert unknown.json()["errors"][0]["message"] == "Unknown operation named 'C'"
