"""Reading a board page by page: `items_page` → `next_items_page` to the end of a 1,200-item
board, Monday's page limits, `query_params` filters, and `items_page_by_column_values`."""

from __future__ import annotations

import json

import anyio
import pytest

from ordersync.emulator import EmulatorSettings, create_app

from .support import Api

pytestmark = pytest.mark.anyio


@pytest.fixture
def emulator_app():
    """1,200 creates cost 12M points: more than a minute's default budget (10M) allows."""
    return create_app(EmulatorSettings(complexity_budget=20_000_000))

FIRST_PAGE = """query($b: [ID!], $l: Int!) { boards(ids: $b) { items_page(limit: $l) { cursor items { id name } } } }"""
NEXT_PAGE = """query($c: String!, $l: Int!) { next_items_page(cursor: $c, limit: $l) { cursor items { id name } } }"""


@pytest.fixture
async def big_board(api: Api) -> tuple[str, list[str]]:
    board_id = await api.board("Big")
    await api.column(board_id, "text", "text_key")
    await api.column(board_id, "numbers", "numeric_qty")
    ids = await api.items_bulk(board_id, [f"item {n}" for n in range(1200)],
                               values=lambda n: {"text_key": f"AAG-{n:04d}", "numeric_qty": n % 10})
    return board_id, ids


async def test_paging_to_the_end_of_a_1200_item_board_returns_each_item_once_in_order(
        api: Api, big_board: tuple[str, list[str]]) -> None:
    board_id, ids = big_board
    page = (await api.data(FIRST_PAGE, {"b": [board_id], "l": 500}))["boards"][0]["items_page"]
    seen = [item["id"] for item in page["items"]]
    sizes = [len(page["items"])]
    while page["cursor"]:
        page = (await api.data(NEXT_PAGE, {"c": page["cursor"], "l": 500}))["next_items_page"]
        seen += [item["id"] for item in page["items"]]
        sizes.append(len(page["items"]))
    assert sizes == [500, 500, 200]
    assert seen == ids


async def test_page_limit_is_1_to_500(api: Api, big_board: tuple[str, list[str]]) -> None:
    board_id, _ = big_board
    for limit in (0, 501):
        errors = await api.errors(FIRST_PAGE, {"b": [board_id], "l": limit})
        assert errors[0]["extensions"]["code"] == "InvalidArgumentException"
    default = await api.data("query($b: [ID!]) { boards(ids: $b) { items_page { items { id } } } }", {"b": [board_id]})
    assert len(default["boards"][0]["items_page"]["items"]) == 25


async def test_a_cursor_is_opaque_and_a_bad_one_is_refused(api: Api, big_board: tuple[str, list[str]]) -> None:
    board_id, _ = big_board
    errors = await api.errors(NEXT_PAGE, {"c": "not-a-cursor", "l": 10})
    assert errors[0]["extensions"]["code"] == "CursorExpiredError"


async def test_cursor_expires_after_its_ttl(in_process) -> None:
    async with in_process(EmulatorSettings(cursor_ttl_seconds=0.05)) as client:
        api = Api(client)
        board_id = await api.board()
        await api.items_bulk(board_id, ["a", "b"])
        page = (await api.data(FIRST_PAGE, {"b": [board_id], "l": 1}))["boards"][0]["items_page"]
        await anyio.sleep(0.1)
        errors = await api.errors(NEXT_PAGE, {"c": page["cursor"], "l": 1})
        assert errors[0]["extensions"]["code"] == "CursorExpiredError"


async def test_items_archived_after_the_first_page_are_skipped(api: Api) -> None:
    board_id = await api.board()
    ids = await api.items_bulk(board_id, ["a", "b", "c"])
    page = (await api.data(FIRST_PAGE, {"b": [board_id], "l": 1}))["boards"][0]["items_page"]
    await api.data("mutation($i: ID) { archive_item(item_id: $i) { id } }", {"i": ids[1]})
    rest = (await api.data(NEXT_PAGE, {"c": page["cursor"], "l": 5}))["next_items_page"]
    assert [i["id"] for i in rest["items"]] == [ids[2]] and rest["cursor"] is None


async def test_query_params_rules_ids_and_order(api: Api, big_board: tuple[str, list[str]]) -> None:
    board_id, ids = big_board
    query = ("query($b: [ID!], $q: ItemsQuery) { boards(ids: $b) { items_page(limit: 500, query_params: $q) "
             "{ cursor items { id name } } } }")

    async def names(params: dict) -> list[str]:
        page = (await api.data(query, {"b": [board_id], "q": params}))["boards"][0]["items_page"]
        return [item["name"] for item in page["items"]]

    assert await names({"rules": [{"column_id": "text_key", "compare_value": ["AAG-0007", "AAG-1100"]}]}) == \
        ["item 7", "item 1100"]
    assert len(await names({"rules": [{"column_id": "numeric_qty", "compare_value": [9],
                                       "operator": "greater_than_or_equals"}]})) == 120
    either = {"operator": "or", "rules": [{"column_id": "text_key", "compare_value": ["AAG-0001"]},
                                          {"column_id": "name", "compare_value": ["item 2"]}]}
    assert await names(either) == ["item 1", "item 2"]
    assert await names({"ids": [ids[5], ids[3]]}) == ["item 3", "item 5"]
    ordered = await names({"ids": ids[:12], "order_by": [{"column_id": "numeric_qty", "direction": "desc"}]})
    assert ordered[:3] == ["item 9", "item 8", "item 7"]
    contains = await names({"rules": [{"column_id": "name", "compare_value": ["item 119"],
                                       "operator": "starts_with"}]})
    assert contains == ["item 119", "item 1190", "item 1191", "item 1192", "item 1193", "item 1194",
                        "item 1195", "item 1196", "item 1197", "item 1198", "item 1199"]


async def test_group_items_page(api: Api) -> None:
    board_id = await api.board()
    group = (await api.data('mutation($b: ID!) { create_group(board_id: $b, group_name: "G") { id } }',
                            {"b": board_id}))["create_group"]["id"]
    inside = await api.item(board_id, "inside", group_id=group)
    await api.item(board_id, "outside", group_id="topics")
    data = await api.data("query($b: [ID!], $g: [String]) { boards(ids: $b) { groups(ids: $g) { items_page "
                          "{ items { id } } } } }", {"b": [board_id], "g": [group]})
    assert data["boards"][0]["groups"][0]["items_page"]["items"] == [{"id": inside}]


BY_VALUES = """query($b: ID!, $c: [ItemsPageByColumnValuesQuery!], $l: Int!, $cur: String) {
  items_page_by_column_values(board_id: $b, columns: $c, limit: $l, cursor: $cur) { cursor items { id name } } }"""


async def test_items_page_by_column_values_finds_an_item_by_its_business_key(
        api: Api, big_board: tuple[str, list[str]]) -> None:
    board_id, ids = big_board
    found = await api.data(BY_VALUES, {"b": board_id, "l": 5,
                                       "c": [{"column_id": "text_key", "column_values": ["AAG-0042"]}]})
    assert found["items_page_by_column_values"] == {"cursor": None, "items": [{"id": ids[42], "name": "item 42"}]}
    both = await api.data(BY_VALUES, {"b": board_id, "l": 500, "c": [
        {"column_id": "numeric_qty", "column_values": ["3"]},
        {"column_id": "text_key", "column_values": ["AAG-0003", "AAG-0013", "AAG-0014"]}]})
    assert [i["name"] for i in both["items_page_by_column_values"]["items"]] == ["item 3", "item 13"]


async def test_items_page_by_column_values_sees_later_writes_and_pages(api: Api) -> None:
    board_id = await api.board()
    await api.column(board_id, "text", "text_key")
    ids = await api.items_bulk(board_id, ["a", "b", "c"], values=lambda n: {"text_key": "same"})
    await api.data('mutation($b: ID!, $i: ID) { change_simple_column_value(board_id: $b, item_id: $i, '
                   'column_id: "text_key", value: "other") { id } }', {"b": board_id, "i": ids[1]})
    first = (await api.data(BY_VALUES, {"b": board_id, "l": 1, "c": [
        {"column_id": "text_key", "column_values": ["same"]}]}))["items_page_by_column_values"]
    second = (await api.data(BY_VALUES, {"b": board_id, "l": 1, "cur": first["cursor"]}))
    assert [first["items"][0]["id"], second["items_page_by_column_values"]["items"][0]["id"]] == [ids[0], ids[2]]
    later = await api.item(board_id, "d", {"text_key": "other"})
    other = await api.data(BY_VALUES, {"b": board_id, "l": 5, "c": [{"column_id": "text_key", "column_values": ["other"]}]})
    assert [i["id"] for i in other["items_page_by_column_values"]["items"]] == [ids[1], later]
    missing = await api.errors(BY_VALUES, {"b": board_id, "l": 5, "c": [{"column_id": "nope", "column_values": ["x"]}]})
    assert missing[0]["extensions"]["code"] == "InvalidColumnIdException"


async def test_items_page_by_column_values_matches_dropdown_labels(api: Api) -> None:
    board_id = await api.board()
    await api.column(board_id, "dropdown", "dropdown_c", defaults={"labels": ["GREYSON", "AESCAPE"]})
    a = await api.item(board_id, "a", {"dropdown_c": {"labels": ["GREYSON", "AESCAPE"]}})
    await api.item(board_id, "b", {"dropdown_c": json.loads('{"labels": ["AESCAPE"]}')})
    found = await api.data(BY_VALUES, {"b": board_id, "l": 5, "c": [{"column_id": "dropdown_c",
                                                                     "column_values": ["GREYSON"]}]})
    assert [i["id"] for i in found["items_page_by_column_values"]["items"]] == [a]
