"""Monday's per-board item cap (on by default at 10,000 active items, refused with
`ItemsLimitationException`), and the two mutations that spread order lines over several boards:
`duplicate_board` (structure only) and `move_item_to_board` (with column mappings, subitems along)."""

from __future__ import annotations

import json

import pytest

from ordersync.emulator import EmulatorSettings
from ordersync.emulator.cli import _items_per_board
from ordersync.errors import UsageError

from .support import Api, values_by_id

pytestmark = pytest.mark.anyio

CREATE = 'mutation($b: ID!) { create_item(board_id: $b, item_name: "one more") { id } }'
MOVE = ("mutation($b: ID!, $g: ID!, $i: ID!, $m: [ColumnMappingInput!], $s: [ColumnMappingInput!]) {"
        " move_item_to_board(board_id: $b, group_id: $g, item_id: $i, columns_mapping: $m,"
        " subitems_columns_mapping: $s) { id board { id } group { id } } }")
DUPLICATE = ("mutation($b: ID!, $n: String) { duplicate_board(board_id: $b, board_name: $n,"
             " duplicate_type: duplicate_board_with_structure) { is_async board { id name } } }")


async def _subitem(api: Api, parent_id: str, name: str, values: dict | None = None) -> dict:
    data = await api.data("mutation($p: ID!, $n: String!, $v: JSON) { create_subitem(parent_item_id: $p,"
                          " item_name: $n, column_values: $v) { id board { id } } }",
                          {"p": parent_id, "n": name, "v": json.dumps(values or {})})
    return data["create_subitem"]


async def _structure(api: Api, board_id: str) -> dict:
    data = await api.data("query($b: [ID!]) { boards(ids: $b) { items_count groups { id title }"
                          " columns { id title type settings } } }", {"b": [board_id]})
    return data["boards"][0]


async def _items_count(api: Api, board_id: str) -> int:
    return (await _structure(api, board_id))["items_count"]


# ---------------------------------------------------------------------------- the cap


async def test_the_cap_is_on_by_default_at_mondays_10000_items(client) -> None:
    assert EmulatorSettings().items_per_board_limit == 10_000
    assert (await client.get("/emulator/config")).json()["items_per_board_limit"] == 10_000


async def test_a_full_board_refuses_the_next_create_in_mondays_shape(in_process) -> None:
    async with in_process(EmulatorSettings(items_per_board_limit=2)) as client:
        api = Api(client)
        board_id = await api.board()
        await api.items_bulk(board_id, ["a", "b"])
        response = await api.post(CREATE, {"b": board_id})
        body = response.json()
        assert response.status_code == 200 and body["data"] == {"create_item": None}
        [error] = body["errors"]
        assert error["message"] == "exceeded the limit of 2 items per board" and error["path"] == ["create_item"]
        assert error["extensions"] == {"code": "ItemsLimitationException", "status_code": 200,
                                       "error_data": {"board_id": board_id, "limit": 2}}
        assert await _items_count(api, board_id) == 2


async def test_archived_and_deleted_items_free_room_and_subitems_do_not_count(in_process) -> None:
    async with in_process(EmulatorSettings(items_per_board_limit=2)) as client:
        api = Api(client)
        board_id = await api.board()
        first, second = await api.items_bulk(board_id, ["a", "b"])
        for n in range(3):  # the subitem board is not capped, and subitems leave the parent board's count alone
            await _subitem(api, first, f"size {n}")
        await api.data("mutation($i: ID) { archive_item(item_id: $i) { id } }", {"i": first})
        await api.data(CREATE, {"b": board_id})
        await api.data("mutation($i: ID) { delete_item(item_id: $i) { id } }", {"i": second})
        await api.data(CREATE, {"b": board_id})
        assert (await api.errors(CREATE, {"b": board_id}))[0]["extensions"]["code"] == "ItemsLimitationException"


async def test_the_operator_raises_or_lifts_the_cap_on_a_running_emulator(in_process) -> None:
    async with in_process(EmulatorSettings(items_per_board_limit=1)) as client:
        api = Api(client)
        board_id = await api.board()
        await api.item(board_id)
        assert (await api.errors(CREATE, {"b": board_id}))[0]["extensions"]["code"] == "ItemsLimitationException"
        assert (await client.patch("/emulator/config", json={"items_per_board_limit": 2})).status_code == 200
        await api.data(CREATE, {"b": board_id})
        lifted = await client.patch("/emulator/config", json={"items_per_board_limit": 0})
        assert lifted.json()["items_per_board_limit"] is None
        await api.data(CREATE, {"b": board_id})


def test_the_command_line_turns_the_cap_off_only_when_asked() -> None:
    assert [_items_per_board(text) for text in ("10000", "10,000", "50", "0", "off", "OFF")] == [
        10_000, 10_000, 50, None, None, None]
    for wrong in ("", "-5", "many"):
        with pytest.raises(UsageError, match="--items-per-board"):
            _items_per_board(wrong)
    assert EmulatorSettings(items_per_board_limit=0).items_per_board_limit is None


# ---------------------------------------------------------------------------- duplicate_board


@pytest.fixture
async def season_board(api: Api) -> dict[str, str]:
    """A board laid out like ordersync's: a key, a quantity, a status, a group; subitems with a quantity."""
    board_id = await api.board("Orders FW25")
    board = {"id": board_id, "key": await api.column(board_id, "text", "text_key", title="Key"),
             "qty": await api.column(board_id, "numbers", "numeric_qty", title="Qty"),
             "state": await api.column(board_id, "status", "color_state", title="State",
                                       defaults={"labels": {"1": "Open", "2": "Shipped"}}),
             "note": await api.column(board_id, "text", "text_note", title="Note")}
    board["group"] = (await api.data('mutation($b: ID!) { create_group(board_id: $b, group_name: "GREYSON") '
                                     "{ id } }", {"b": board_id}))["create_group"]["id"]
    parent = await api.item(board_id, "seed")
    board["sub_board"] = (await _subitem(api, parent, "S"))["board"]["id"]
    board["sub_qty"] = await api.column(board["sub_board"], "numbers", "numeric_size_qty", title="Quantity")
    await api.data("mutation($i: ID) { delete_item(item_id: $i) { id } }", {"i": parent})
    return board


async def test_duplicate_board_copies_columns_groups_and_the_subitem_columns_but_no_items(
        api: Api, season_board: dict[str, str]) -> None:
    copy = (await api.data(DUPLICATE, {"b": season_board["id"], "n": "Orders SS26"}))["duplicate_board"]
    assert copy["is_async"] is False and copy["board"]["name"] == "Orders SS26"
    new_id = copy["board"]["id"]
    original, duplicate = await _structure(api, season_board["id"]), await _structure(api, new_id)
    assert duplicate["items_count"] == 0 and duplicate["groups"] == original["groups"]

    def without_board_ids(columns: list[dict]) -> list[dict]:
        return [{**column, "settings": {k: v for k, v in column["settings"].items() if k != "boardIds"}}
                for column in columns]

    assert without_board_ids(duplicate["columns"]) == without_board_ids(original["columns"])
    [subitems_column] = [c for c in duplicate["columns"] if c["type"] == "subtasks"]
    new_sub_board = str(subitems_column["settings"]["boardIds"][0])
    assert new_sub_board != season_board["sub_board"]
    sub_columns = await _structure(api, new_sub_board)
    assert sub_columns["columns"] == (await _structure(api, season_board["sub_board"]))["columns"]


async def test_duplicate_board_copies_structure_only(api: Api, season_board: dict[str, str]) -> None:
    errors = await api.errors("mutation($b: ID!) { duplicate_board(board_id: $b, duplicate_type:"
                              " duplicate_board_with_pulses) { board { id } } }", {"b": season_board["id"]})
    assert errors[0]["extensions"]["code"] == "InvalidArgumentException"


async def test_duplicate_board_counts_against_the_create_board_cap(in_process) -> None:
    async with in_process(EmulatorSettings(create_board_per_window=1)) as client:
        api = Api(client)
        board_id = await api.board()
        response = await api.post(DUPLICATE, {"b": board_id})
        assert response.status_code == 429 and response.json()["errors"][0]["extensions"]["code"] == \
            "RATE_LIMIT_EXCEEDED"


# ---------------------------------------------------------------------------- move_item_to_board


async def _line_with_sizes(api: Api, board: dict[str, str]) -> tuple[str, list[str]]:
    item_id = await api.item(board["id"], "Style A", {"text_key": "AAG-1", "numeric_qty": 12,
                                                      "color_state": {"label": "Shipped"}, "text_note": "fragile"},
                             group_id=board["group"])
    sizes = [(await _subitem(api, item_id, size, {"numeric_size_qty": qty}))["id"]
             for size, qty in (("S", 5), ("M", 7))]
    return item_id, sizes


async def test_move_item_to_board_takes_the_subitems_and_maps_the_columns(api: Api,
                                                                          season_board: dict[str, str]) -> None:
    target = (await api.data(DUPLICATE, {"b": season_board["id"]}))["duplicate_board"]["board"]["id"]
    target_sub_board = next(str(c["settings"]["boardIds"][0]) for c in (await _structure(api, target))["columns"]
                            if c["type"] == "subtasks")
    item_id, sizes = await _line_with_sizes(api, season_board)
    mapping = [{"source": "text_key", "target": "text_key"}, {"source": "numeric_qty", "target": "numeric_qty"},
               {"source": "color_state", "target": "color_state"}, {"source": "text_note", "target": None}]
    moved = (await api.data(MOVE, {"b": target, "g": season_board["group"], "i": item_id, "m": mapping,
                                   "s": [{"source": "numeric_size_qty", "target": "numeric_size_qty"}]}))
    assert moved["move_item_to_board"] == {"id": item_id, "board": {"id": target},
                                           "group": {"id": season_board["group"]}}
    item = await api.read(item_id)
    values = values_by_id(item)
    assert item["name"] == "Style A" and values["text_key"]["text"] == "AAG-1"
    assert values["numeric_qty"]["text"] == "12" and values["color_state"]["text"] == "Shipped"
    assert values["text_note"]["text"] == ""  # mapped to no target: its value is dropped, as on Monday
    assert [s["id"] for s in item["subitems"]] == sizes
    for size_id, qty in zip(sizes, ("5", "7"), strict=True):
        size = await api.read(size_id)
        assert size["board"]["id"] == target_sub_board and values_by_id(size)["numeric_size_qty"]["text"] == qty
    assert await _items_count(api, season_board["id"]) == 0 and await _items_count(api, target) == 1
    found = await api.data("query($b: ID!) { items_page_by_column_values(board_id: $b, columns: [{column_id:"
                           ' "text_key", column_values: ["AAG-1"]}]) { items { id } } }', {"b": target})
    assert found["items_page_by_column_values"]["items"] == [{"id": item_id}]
    left = await api.data("query($b: ID!) { items_page_by_column_values(board_id: $b, columns: [{column_id:"
                          ' "text_key", column_values: ["AAG-1"]}]) { items { id } } }', {"b": season_board["id"]})
    assert left["items_page_by_column_values"]["items"] == []


async def test_move_item_to_board_without_a_mapping_matches_columns_by_title_and_type(
        api: Api, season_board: dict[str, str]) -> None:
    target = await api.board("Other layout")
    await api.column(target, "text", "text_other_key", title="Key")  # same title and type: carried
    await api.column(target, "text", "text_qty", title="Qty")  # same title, other type: not carried
    group = (await api.data('mutation($b: ID!) { create_group(board_id: $b, group_name: "G") { id } }',
                            {"b": target}))["create_group"]["id"]
    item_id, _ = await _line_with_sizes(api, season_board)
    await api.data(MOVE, {"b": target, "g": group, "i": item_id})
    values = values_by_id(await api.read(item_id))
    assert values["text_other_key"]["text"] == "AAG-1" and values["text_qty"]["text"] == ""
    assert len((await api.read(item_id))["subitems"]) == 2  # the target got a subitem board for them


async def test_move_item_to_board_refuses_a_full_board_and_leaves_the_item_where_it_was(
        in_process) -> None:
    async with in_process(EmulatorSettings(items_per_board_limit=1)) as client:
        api = Api(client)
        source, target = await api.board("From"), await api.board("To")
        item_id = await api.item(source)
        await api.item(target)
        group = (await api.data("query($b: [ID!]) { boards(ids: $b) { groups { id } } }",
                                {"b": [target]}))["boards"][0]["groups"][0]["id"]
        errors = await api.errors(MOVE, {"b": target, "g": group, "i": item_id})
        assert errors[0]["extensions"]["code"] == "ItemsLimitationException"
        assert errors[0]["extensions"]["error_data"] == {"board_id": target, "limit": 1}
        assert (await api.read(item_id))["board"]["id"] == source


async def test_move_item_to_board_names_an_unknown_column_or_group(api: Api, season_board: dict[str, str]) -> None:
    target = (await api.data(DUPLICATE, {"b": season_board["id"]}))["duplicate_board"]["board"]["id"]
    item_id, _ = await _line_with_sizes(api, season_board)
    wrong_column = await api.errors(MOVE, {"b": target, "g": season_board["group"], "i": item_id,
                                           "m": [{"source": "text_key", "target": "nowhere"}]})
    assert wrong_column[0]["extensions"]["code"] == "InvalidColumnIdException"
    wrong_group = await api.errors(MOVE, {"b": target, "g": "group_missing", "i": item_id})
    assert wrong_group[0]["extensions"]["code"] == "ResourceNotFoundException"
    assert (await api.read(item_id))["board"]["id"] == season_board["id"]


async def test_move_item_to_board_costs_one_mutation_like_any_other(api: Api, season_board: dict[str, str]) -> None:
    target = (await api.data(DUPLICATE, {"b": season_board["id"]}))["duplicate_board"]["board"]["id"]
    item_id, _ = await _line_with_sizes(api, season_board)
    data = await api.data("mutation($b: ID!, $g: ID!, $i: ID!) { move_item_to_board(board_id: $b, group_id: $g,"
                          " item_id: $i) { id } complexity { query } }",
                          {"b": target, "g": season_board["group"], "i": item_id})
    assert data["complexity"]["query"] == 10_000 + 1  # the mutation + id, as for create_item
