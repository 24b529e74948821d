"""Items and subitems: create, change (incl. renaming through the `name` key), move, archive,
delete, read back; and Monday's errors for missing items and boards."""

from __future__ import annotations

import json

import pytest

from .support import Api, values_by_id

pytestmark = pytest.mark.anyio


@pytest.fixture
async def board(api: Api) -> dict[str, str]:
    board_id = await api.board("Orders")
    return {
        "id": board_id,
        "key": await api.column(board_id, "text", "text_key"),
        "qty": await api.column(board_id, "numbers", "numeric_qty"),
        "status": await api.column(board_id, "status", "color_state"),
        "group": (await api.data('mutation($b: ID!) { create_group(board_id: $b, group_name: "GREYSON FW25") '
                                 "{ id } }", {"b": board_id}))["create_group"]["id"],
    }


async def test_create_item_lands_in_the_named_group_with_its_values(api: Api, board: dict[str, str]) -> None:
    created = await api.data(
        "mutation($b: ID!, $g: String, $v: JSON) { create_item(board_id: $b, item_name: \"Style A\", group_id: $g,"
        " column_values: $v) { id name state group { id title } board { id } created_at updated_at"
        " column_values(ids: [\"text_key\", \"numeric_qty\"]) { id type text value } } }",
        {"b": board["id"], "g": board["group"], "v": json.dumps({"text_key": "AAG-1", "numeric_qty": 12})},
    )
    item = created["create_item"]
    assert item["name"] == "Style A" and item["state"] == "active"
    assert item["group"] == {"id": board["group"], "title": "GREYSON FW25"} and item["board"]["id"] == board["id"]
    assert item["column_values"] == [
        {"id": "text_key", "type": "text", "text": "AAG-1", "value": '"AAG-1"'},
        {"id": "numeric_qty", "type": "numbers", "text": "12", "value": '"12"'},
    ]
    assert len(item["id"]) == 10 and item["created_at"].endswith("Z") and item["updated_at"] == item["created_at"]


async def test_create_item_without_group_uses_the_top_group(api: Api, board: dict[str, str]) -> None:
    item = await api.read(await api.item(board["id"]))
    assert item["group"]["id"] == board["group"]  # created last, so at the top


async def test_column_values_list_every_column_but_name(api: Api, board: dict[str, str]) -> None:
    item = await api.read(await api.item(board["id"]))
    assert [v["id"] for v in item["column_values"]] == ["text_key", "numeric_qty", "color_state"]
    assert values_by_id(item)["color_state"] == {"id": "color_state", "type": "status", "text": None, "value": None}
    assert values_by_id(item)["text_key"]["text"] == ""


async def test_change_multiple_column_values_writes_all_and_renames_through_name(api: Api, board: dict[str, str]) -> None:
    item_id = await api.item(board["id"], "old name", {"text_key": "K"})
    changed = await api.data(
        "mutation($b: ID!, $i: ID, $v: JSON!) { change_multiple_column_values(board_id: $b, item_id: $i,"
        " column_values: $v) { id name } }",
        {"b": board["id"], "i": item_id, "v": json.dumps({"name": "new name", "numeric_qty": "3.5",
                                                          "color_state": {"label": "Done"}, "text_key": ""})},
    )
    assert changed["change_multiple_column_values"] == {"id": item_id, "name": "new name"}
    values = values_by_id(await api.read(item_id))
    assert values["numeric_qty"]["text"] == "3.5" and values["color_state"]["text"] == "Done"
    assert values["text_key"] == {"id": "text_key", "type": "text", "text": "", "value": None}


async def test_a_refused_value_leaves_the_whole_item_unchanged(api: Api, board: dict[str, str]) -> None:
    item_id = await api.item(board["id"], "keep", {"text_key": "K"})
    errors = await api.errors(
        "mutation($b: ID!, $i: ID, $v: JSON!) { change_multiple_column_values(board_id: $b, item_id: $i,"
        " column_values: $v) { id } }",
        {"b": board["id"], "i": item_id, "v": json.dumps({"text_key": "changed", "numeric_qty": "lots"})},
    )
    assert errors[0]["extensions"]["code"] == "ColumnValueException"
    item = await api.read(item_id)
    assert values_by_id(item)["text_key"]["text"] == "K" and item["name"] == "keep"


async def test_change_simple_and_change_column_value(api: Api, board: dict[str, str]) -> None:
    item_id = await api.item(board["id"])
    await api.data('mutation($b: ID!, $i: ID) { change_simple_column_value(board_id: $b, item_id: $i, '
                   'column_id: "color_state", value: "Stuck") { id } }', {"b": board["id"], "i": item_id})
    await api.data('mutation($b: ID!, $i: ID, $v: JSON!) { change_column_value(board_id: $b, item_id: $i, '
                   'column_id: "numeric_qty", value: $v) { id } }', {"b": board["id"], "i": item_id, "v": '"7"'})
    values = values_by_id(await api.read(item_id))
    assert values["color_state"]["text"] == "Stuck" and json.loads(values["color_state"]["value"])["index"] == 2
    assert values["numeric_qty"]["text"] == "7"
    await api.data('mutation($b: ID!, $i: ID) { change_simple_column_value(board_id: $b, item_id: $i, '
                   'column_id: "name", value: "renamed") { id } }', {"b": board["id"], "i": item_id})
    assert (await api.read(item_id))["name"] == "renamed"


async def test_create_subitem_returns_the_subitem_board_and_reads_back_under_its_parent(
        api: Api, board: dict[str, str]) -> None:
    parent = await api.item(board["id"], "parent")
    made = await api.data('mutation($p: ID!) { create_subitem(parent_item_id: $p, item_name: "M") '
                          "{ id name board { id } parent_item { id } } }", {"p": parent})
    sub = made["create_subitem"]
    await api.column(sub["board"]["id"], "numbers", "numeric_order_qty")
    second = await api.data('mutation($p: ID!, $v: JSON) { create_subitem(parent_item_id: $p, item_name: "L", '
                            "column_values: $v) { id board { id } } }",
                            {"p": parent, "v": json.dumps({"numeric_order_qty": 40})})
    assert second["create_subitem"]["board"] == sub["board"] and sub["parent_item"]["id"] == parent
    read = await api.data("query($i: [ID!]) { items(ids: $i) { subitems { id name column_values { id text } } } }",
                          {"i": [parent]})
    subitems = read["items"][0]["subitems"]
    assert [s["name"] for s in subitems] == ["M", "L"]
    assert subitems[1]["column_values"] == [{"id": "numeric_order_qty", "text": "40"}]
    changed = await api.data('mutation($b: ID!, $i: ID) { change_multiple_column_values(board_id: $b, item_id: $i, '
                             'column_values: "{\\"numeric_order_qty\\": \\"41\\"}") { id } }',
                             {"b": sub["board"]["id"], "i": sub["id"]})
    assert changed["change_multiple_column_values"]["id"] == sub["id"]


async def test_a_subitem_is_changed_through_its_own_board_only(api: Api, board: dict[str, str]) -> None:
    parent = await api.item(board["id"], "parent")
    sub = (await api.data('mutation($p: ID!) { create_subitem(parent_item_id: $p, item_name: "S") { id } }',
                          {"p": parent}))["create_subitem"]["id"]
    errors = await api.errors('mutation($b: ID!, $i: ID) { change_multiple_column_values(board_id: $b, '
                              'item_id: $i, column_values: "{}") { id } }', {"b": board["id"], "i": sub})
    assert errors[0]["extensions"]["code"] == "InvalidItemIdException"


async def test_move_item_to_group(api: Api, board: dict[str, str]) -> None:
    item_id = await api.item(board["id"], group_id="topics")
    moved = await api.data('mutation($i: ID, $g: String!) { move_item_to_group(item_id: $i, group_id: $g) '
                           "{ group { id } } }", {"i": item_id, "g": board["group"]})
    assert moved["move_item_to_group"]["group"]["id"] == board["group"]
    errors = await api.errors('mutation($i: ID) { move_item_to_group(item_id: $i, group_id: "nope") { id } }',
                              {"i": item_id})
    assert errors[0]["extensions"]["code"] == "ResourceNotFoundException"


async def test_archiving_an_item_archives_its_subitems_and_hides_them(api: Api, board: dict[str, str]) -> None:
    parent = await api.item(board["id"], "parent")
    sub = (await api.data('mutation($p: ID!) { create_subitem(parent_item_id: $p, item_name: "S") { id } }',
                          {"p": parent}))["create_subitem"]["id"]
    archived = await api.data("mutation($i: ID) { archive_item(item_id: $i) { id state } }", {"i": parent})
    assert archived["archive_item"] == {"id": parent, "state": "archived"}
    assert (await api.read(sub))["state"] == "archived"
    page = await api.data("query($b: [ID!]) { boards(ids: $b) { items_page { items { id } } } }", {"b": [board["id"]]})
    assert page["boards"][0]["items_page"]["items"] == []


async def test_delete_item_and_subitem(api: Api, board: dict[str, str]) -> None:
    parent = await api.item(board["id"], "parent")
    subs = [(await api.data('mutation($p: ID!) { create_subitem(parent_item_id: $p, item_name: "S") { id } }',
                            {"p": parent}))["create_subitem"]["id"] for _ in range(2)]
    await api.data("mutation($i: ID) { delete_item(item_id: $i) { id } }", {"i": subs[0]})
    assert [s["id"] for s in (await api.read(parent))["subitems"]] == [subs[1]]
    deleted = await api.data("mutation($i: ID) { delete_item(item_id: $i) { id state } }", {"i": parent})
    assert deleted["delete_item"]["state"] == "deleted" and (await api.read(subs[1]))["state"] == "deleted"
    again = await api.errors("mutation($i: ID) { delete_item(item_id: $i) { id } }", {"i": parent})
    assert again[0]["extensions"]["code"] == "InvalidItemIdException"
    active_only = await api.data("query($i: [ID!]) { items(ids: $i, exclude_nonactive: true) { id } }", {"i": [parent]})
    assert active_only["items"] == []


async def test_missing_items_and_boards_give_mondays_codes(api: Api, board: dict[str, str]) -> None:
    cases = {
        'mutation { create_item(board_id: 123, item_name: "x") { id } }': "InvalidBoardIdException",
        'mutation { create_subitem(parent_item_id: 123, item_name: "x") { id } }': "InvalidItemIdException",
        "mutation { archive_item(item_id: 123) { id } }": "InvalidItemIdException",
        f'mutation {{ change_multiple_column_values(board_id: {board["id"]}, item_id: 1, column_values: "{{}}") {{ id }} }}':
            "InvalidItemIdException",
        f'mutation {{ create_item(board_id: {board["id"]}, item_name: "x", group_id: "nope") {{ id }} }}':
            "ResourceNotFoundException",
    }
    for query, code in cases.items():
        errors = await api.errors(query)
        assert errors[0]["extensions"]["code"] == code, query
    unknown = await api.data("{ items(ids: [1, 2]) { id } boards(ids: [3]) { id } }")
    assert unknown == {"items": [], "boards": []}


async def test_item_names_must_be_1_to_255_characters(api: Api, board: dict[str, str]) -> None:
    long = await api.errors('mutation($b: ID!, $n: String!) { create_item(board_id: $b, item_name: $n) { id } }',
                            {"b": board["id"], "n": "x" * 256})
    assert long[0]["extensions"]["code"] == "ItemNameTooLongException"
    await api.item(board["id"], "x" * 255)


async def test_items_query_takes_at_most_100_ids(api: Api) -> None:
    errors = await api.errors("query($i: [ID!]) { items(ids: $i) { id } }", {"i": [str(n) for n in range(101)]})
    assert errors[0]["extensions"]["code"] == "InvalidArgumentException"
    assert (await api.data("query($i: [ID!]) { items(ids: $i) { id } }", {"i": ["1"] * 100}))["items"] == []


async def test_items_per_board_cap_when_configured(in_process) -> None:
    from ordersync.emulator import EmulatorSettings

    async with in_process(EmulatorSettings(items_per_board_limit=2)) as client:
        api = Api(client)
        board_id = await api.board()
        await api.item(board_id)
        await api.item(board_id)
        errors = await api.errors('mutation($b: ID!) { create_item(board_id: $b, item_name: "3") { id } }',
                                  {"b": board_id})
        assert errors[0]["extensions"]["code"] == "ItemsLimitationException"


async def test_me_and_users(api: Api) -> None:
    data = await api.data("{ me { id name email } users { id } }")
    assert data["me"]["name"] == "Emulator User" and data["users"] == [{"id": data["me"]["id"]}]
