"""API 2027-01's root `items_page(input:, cursor:, limit:)` (issue 14), served to 2027-01 only, in the
shapes of Monday's `dev` SDL: `ItemResult`s with `ItemsPageColumnValue`s, subitems, and the items the
page links to."""

from __future__ import annotations

import pytest

from .support import Api

pytestmark = pytest.mark.anyio

ROOT_PAGE = """
query($input: ItemsPageInput, $cursor: String, $limit: Int, $caps: [ItemsPageColumnCapability!]) {
  items_page(input: $input, cursor: $cursor, limit: $limit) {
    cursor
    items {
      id name state group_id
      column_values(capabilities: $caps) {
        id type text
        ... on ItemsPageStatusValue { label index }
        ... on ItemsPageNumbersValue { number }
        ... on ItemsPageBoardRelationValue { linked_item_ids linked_items { id name } }
        ... on ItemsPageSubtasksValue { subitems { name } }
      }
      subitems { name }
    }
    linked_items { id name }
  }
}
"""


@pytest.fixture
async def board(api: Api) -> dict[str, str]:
    catalog = await api.board("Catalog")
    fabric = await api.item(catalog, "Denim")
    board_id = await api.board("Orders")
    await api.column(board_id, "status", "state")
    await api.column(board_id, "numbers", "qty")
    await api.column(board_id, "board_relation", "fabric")
    await api.column(board_id, "formula", "total")
    first = await api.item(board_id, "PO-1", {"state": {"label": "Done"}, "qty": 3, "fabric": {"item_ids": [fabric]}})
    await api.item(board_id, "PO-2", {"qty": 5})
    await api.item(board_id, "PO-3", {"state": {"label": "Done"}, "qty": 8})
    await api.data('mutation($p: ID!) { create_subitem(parent_item_id: $p, item_name: "Size M") { id } }',
                   {"p": first})
    return {"board": board_id, "fabric": fabric, "first": first}


async def test_root_items_page_walks_a_filtered_board_in_2027_01_shapes(api: Api, board: dict[str, str]) -> None:
    query = {"rules": [{"column_id": "state", "compare_value": [1], "operator": "any_of"}]}
    page = (await api.data(ROOT_PAGE, {"input": {"board_id": board["board"], "query": query}, "limit": 1},
                           API_Version="2027-01"))["items_page"]
    [item] = page["items"]
    assert (item["id"], item["name"], item["state"], item["group_id"]) == (board["first"], "PO-1", "active", "topics")
    values = {value["id"]: value for value in item["column_values"]}
    assert "total" not in values  # a calculated column, left out without CALCULATED
    assert values["state"] == {"id": "state", "type": "status", "text": "Done", "label": "Done", "index": 1}
    assert values["qty"] == {"id": "qty", "type": "numbers", "text": "3", "number": 3.0}
    assert values["fabric"]["linked_items"] == [{"id": board["fabric"], "name": "Denim"}]
    assert [s["name"] for s in next(v for v in item["column_values"] if v["type"] == "subtasks")["subitems"]] == [
        "Size M"]
    assert item["subitems"] == [{"name": "Size M"}]
    assert page["linked_items"] == [{"id": board["fabric"], "name": "Denim"}]

    rest = (await api.data(ROOT_PAGE, {"cursor": page["cursor"], "limit": 5, "caps": ["CALCULATED"]},
                           API_Version="2027-01"))["items_page"]
    assert [i["name"] for i in rest["items"]] == ["PO-3"] and rest["cursor"] is None
    assert any(value["id"] == "total" for value in rest["items"][0]["column_values"])


async def test_root_items_page_takes_input_or_cursor_not_both(api: Api, board: dict[str, str]) -> None:
    page = (await api.data(ROOT_PAGE, {"input": {"board_id": board["board"]}, "limit": 1},
                           API_Version="2027-01"))["items_page"]
    both = await api.errors(ROOT_PAGE, {"input": {"board_id": board["board"]}, "cursor": page["cursor"]},
                            API_Version="2027-01")
    assert both[0]["extensions"]["code"] == "InvalidArgumentException"
    neither = await api.errors(ROOT_PAGE, {}, API_Version="2027-01")
    assert neither[0]["extensions"]["code"] == "InvalidArgumentException"


async def test_root_items_page_is_not_served_before_2027_01(api: Api, board: dict[str, str]) -> None:
    errors = await api.errors("{ items_page(limit: 1) { cursor } }", API_Version="2026-10")
    assert errors[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert errors[0]["message"].startswith("Cannot query field 'items_page' on type 'Query'.")
