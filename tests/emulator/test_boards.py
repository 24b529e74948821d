"""Boards, columns and groups: building a board shaped like the real Customer Master Schedule
through the API alone, the subitem board, and group placement."""

from __future__ import annotations

import json

import pytest

from .support import Api, board_columns

pytestmark = pytest.mark.anyio

BOARD_QUERY = """query($b: [ID!]) { boards(ids: $b) { id name board_kind type state items_count
  columns { id title type settings settings_str } groups { id title color position archived deleted } } }"""


async def read_board(api: Api, board_id: str) -> dict:
    return (await api.data(BOARD_QUERY, {"b": [board_id]}))["boards"][0]


async def test_create_board_starts_with_a_name_column_and_one_group(api: Api) -> None:
    board = await read_board(api, await api.board("Plain"))
    assert board["name"] == "Plain" and board["board_kind"] == "public" and board["type"] == "board"
    assert [c["id"] for c in board["columns"]] == ["name"]
    assert [(g["id"], g["title"]) for g in board["groups"]] == [("topics", "Group Title")]
    assert len(board["id"]) == 10 and board["id"].isdigit()


async def test_customer_master_schedule_is_reproduced_column_for_column_through_the_api(api: Api) -> None:
    wanted = board_columns("board_customer_master_schedule.columns.tsv")
    sub_wanted = board_columns("board_subitems_of_customer_master_schedule.columns.tsv")
    board_id = await api.board("Customer Master Schedule")
    for column in wanted:
        if column["type"] not in ("name", "subtasks"):
            await api.column(board_id, column["type"], column["column_id"], title=column["title"])
    parent = await api.item(board_id, "seed")
    created = await api.data('mutation($p: ID!) { create_subitem(parent_item_id: $p, item_name: "seed") '
                             "{ id board { id name } } }", {"p": parent})
    sub_board = created["create_subitem"]["board"]
    assert sub_board["name"] == "Subitems of Customer Master Schedule"
    for column in sub_wanted:
        if column["type"] != "name":
            await api.column(sub_board["id"], column["type"], column["column_id"], title=column["title"])

    board = await read_board(api, board_id)
    got = {c["id"]: (c["title"], c["type"]) for c in board["columns"]}
    for column in wanted:
        if column["type"] != "subtasks":
            assert got[column["column_id"]] == (column["title"], column["type"])
    subtasks = [c for c in board["columns"] if c["type"] == "subtasks"]
    assert len(subtasks) == 1 and subtasks[0]["settings"]["boardIds"] == [int(sub_board["id"])]
    assert json.loads(subtasks[0]["settings_str"])["boardIds"] == [int(sub_board["id"])]
    sub = await read_board(api, sub_board["id"])
    assert sub["type"] == "sub_items_board"
    assert [(c["id"], c["type"]) for c in sub["columns"]] == [(c["column_id"], c["type"]) for c in sub_wanted]


async def test_subitem_board_does_not_exist_before_the_first_subitem(api: Api) -> None:
    board_id = await api.board()
    board = await read_board(api, board_id)
    assert not [c for c in board["columns"] if c["type"] == "subtasks"]
    await api.data('mutation($p: ID!) { create_subitem(parent_item_id: $p, item_name: "s") { id } }',
                   {"p": await api.item(board_id)})
    subtasks = [c for c in (await read_board(api, board_id))["columns"] if c["type"] == "subtasks"]
    assert subtasks[0]["title"] == "Subitems" and subtasks[0]["id"].startswith("subtasks_mk")


async def test_created_subtasks_column_makes_the_subitem_board_and_a_second_one_is_refused(api: Api) -> None:
    board_id = await api.board()
    await api.column(board_id, "subtasks", "subtasks_mkr5c0kp", title="Subitems")
    board = await read_board(api, board_id)
    sub_board_id = str(board["columns"][-1]["settings"]["boardIds"][0])
    errors = await api.errors('mutation($b: ID!) { create_column(board_id: $b, title: "S", column_type: subtasks) '
                              "{ id } }", {"b": board_id})
    assert errors[0]["extensions"]["code"] == "InvalidArgumentException"
    created = await api.data('mutation($p: ID!) { create_subitem(parent_item_id: $p, item_name: "s") '
                             "{ board { id } } }", {"p": await api.item(board_id)})
    assert created["create_subitem"]["board"]["id"] == sub_board_id


async def test_create_column_generates_monday_like_ids_and_honours_defaults_and_after_column(api: Api) -> None:
    board_id = await api.board()
    status_id = await api.column(board_id, "status", defaults={"labels": {"1": "Done", "7": "Late"}})
    dropdown_id = await api.column(board_id, "dropdown", defaults={"labels": ["S", "M"]})
    text_id = await api.data('mutation($b: ID!, $after: ID) { create_column(board_id: $b, title: "T", '
                             "column_type: text, after_column_id: $after) { id } }",
                             {"b": board_id, "after": status_id})
    board = await read_board(api, board_id)
    ids = [c["id"] for c in board["columns"]]
    assert ids == ["name", status_id, text_id["create_column"]["id"], dropdown_id]
    assert status_id.startswith("color_mk") and dropdown_id.startswith("dropdown_mk") and len(status_id) == 14
    status = board["columns"][1]
    assert [(label["id"], label["label"]) for label in status["settings"]["labels"]] == [(1, "Done"), (7, "Late")]
    assert json.loads(status["settings_str"])["labels"] == {"1": "Done", "7": "Late"}
    dropdown = board["columns"][3]
    assert [(label["id"], label["label"]) for label in dropdown["settings"]["labels"]] == [(1, "S"), (2, "M")]
    assert json.loads(dropdown["settings_str"])["labels"] == [{"id": 1, "name": "S"}, {"id": 2, "name": "M"}]


async def test_create_column_refuses_a_taken_id_and_a_missing_board(api: Api) -> None:
    board_id = await api.board()
    await api.column(board_id, "text", "text_key")
    taken = await api.errors('mutation($b: ID!) { create_column(board_id: $b, id: "text_key", title: "again", '
                             "column_type: text) { id } }", {"b": board_id})
    assert taken[0]["extensions"]["code"] == "InvalidArgumentException"
    missing = await api.errors('mutation { create_column(board_id: 1, title: "x", column_type: text) { id } }')
    assert missing[0]["extensions"]["code"] == "InvalidBoardIdException"


async def test_groups_go_to_the_top_or_before_or_after_another_group(api: Api) -> None:
    board_id = await api.board()
    create = ("mutation($b: ID!, $n: String!, $m: PositionRelative, $r: String) { create_group(board_id: $b, "
              "group_name: $n, position_relative_method: $m, relative_to: $r) { id title } }")
    first = (await api.data(create, {"b": board_id, "n": "First"}))["create_group"]["id"]
    after = (await api.data(create, {"b": board_id, "n": "After first", "m": "after_at", "r": first}))
    before = (await api.data(create, {"b": board_id, "n": "Before first", "m": "before_at", "r": first}))
    titles = [g["title"] for g in (await read_board(api, board_id))["groups"]]
    assert titles == ["Before first", "First", "After first", "Group Title"]
    assert after["create_group"]["id"].startswith("group_mk") and len(before["create_group"]["id"]) == 14


async def test_update_group_changes_title_color_and_place(api: Api) -> None:
    board_id = await api.board()
    group = (await api.data('mutation($b: ID!) { create_group(board_id: $b, group_name: "G") { id } }',
                            {"b": board_id}))["create_group"]["id"]
    update = ("mutation($b: ID!, $g: String!, $a: GroupAttributes!, $v: String!) { update_group(board_id: $b, "
              "group_id: $g, group_attribute: $a, new_value: $v) { id title color } }")
    await api.data(update, {"b": board_id, "g": group, "a": "title", "v": "Renamed"})
    await api.data(update, {"b": board_id, "g": group, "a": "color", "v": "#ff0000"})
    await api.data(update, {"b": board_id, "g": group, "a": "relative_position_after", "v": "topics"})
    groups = (await read_board(api, board_id))["groups"]
    assert [(g["title"], g["color"]) for g in groups][-1] == ("Renamed", "#ff0000")
    assert groups[0]["id"] == "topics"


async def test_delete_and_archive_group_take_their_items_but_not_the_last_group(api: Api) -> None:
    board_id = await api.board()
    group = (await api.data('mutation($b: ID!) { create_group(board_id: $b, group_name: "G") { id } }',
                            {"b": board_id}))["create_group"]["id"]
    item = await api.item(board_id, "in G", group_id=group)
    deleted = await api.data('mutation($b: ID!, $g: String!) { delete_group(board_id: $b, group_id: $g) '
                             "{ id deleted } }", {"b": board_id, "g": group})
    assert deleted["delete_group"] == {"id": group, "deleted": True}
    assert (await api.read(item))["state"] == "deleted"
    assert [g["id"] for g in (await read_board(api, board_id))["groups"]] == ["topics"]
    last = await api.errors('mutation($b: ID!) { archive_group(board_id: $b, group_id: "topics") { id } }',
                            {"b": board_id})
    assert last[0]["extensions"]["code"] == "DeleteLastGroupException"
    missing = await api.errors('mutation($b: ID!) { delete_group(board_id: $b, group_id: "nope") { id } }',
                               {"b": board_id})
    assert missing[0]["extensions"]["code"] == "ResourceNotFoundException"


async def test_boards_query_filters_by_state_and_skips_unknown_ids(api: Api) -> None:
    first, second = await api.board("One"), await api.board("Two")
    data = await api.data("query($b: [ID!]) { boards(ids: $b) { id name } }", {"b": [second, "1", first]})
    assert [b["name"] for b in data["boards"]] == ["Two", "One"]
    listed = await api.data("{ boards(limit: 1, page: 2) { name } }")
    assert listed["boards"] == [{"name": "Two"}]


async def test_ids_are_deterministic_for_a_seed(in_process) -> None:
    from ordersync.emulator import EmulatorSettings

    async def ids(seed: int) -> list[str]:
        async with in_process(EmulatorSettings(id_seed=seed)) as client:
            api = Api(client)
            board_id = await api.board()
            group = (await api.data('mutation($b: ID!) { create_group(board_id: $b, group_name: "G") { id } }',
                                    {"b": board_id}))["create_group"]["id"]
            return [board_id, group, await api.item(board_id), await api.item(board_id)]

    first, again, other = await ids(1), await ids(1), await ids(2)
    assert first == again and first != other
    assert int(first[3]) > int(first[2]) and len(first[2]) == 10 and first[1].startswith("group_mk")
