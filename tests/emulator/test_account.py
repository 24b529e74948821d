"""The account around the boards (issue 14): workspaces, tags, updates and their replies,
duplicate_group against the item cap, the users filters, and which API versions are answered."""

from __future__ import annotations

import json

import pytest

from ordersync.emulator import EmulatorSettings

from .support import Api

pytestmark = pytest.mark.anyio


async def test_a_board_lives_in_the_workspace_it_was_made_in(api: Api) -> None:
    made = await api.data('mutation { create_workspace(name: "Production", kind: open, description: "Mill") '
                          "{ id name kind description is_default_workspace } }")
    workspace = made["create_workspace"]
    assert workspace["is_default_workspace"] is False and workspace["kind"] == "open"
    board = (await api.data("mutation($w: ID) { create_board(board_name: \"B\", board_kind: public, workspace_id: $w) "
                            "{ id workspace_id workspace { id name } } }", {"w": workspace["id"]}))["create_board"]
    assert board["workspace_id"] == workspace["id"] and board["workspace"]["name"] == "Production"
    main = await api.board("In main")
    listed = await api.data("query($w: [ID]) { boards(workspace_ids: $w) { id } }", {"w": [workspace["id"]]})
    assert listed["boards"] == [{"id": board["id"]}]
    names = await api.data("{ workspaces { name is_default_workspace } }")
    assert names["workspaces"] == [{"name": "Main workspace", "is_default_workspace": True},
                                   {"name": "Production", "is_default_workspace": False}]
    read = await api.data("query($b: [ID!]) { boards(ids: $b) { workspace_id workspace { id } } }", {"b": [main]})
    assert read["boards"] == [{"workspace_id": None, "workspace": None}]


async def test_a_board_in_a_workspace_that_does_not_exist_is_refused(api: Api) -> None:
    errors = await api.errors('mutation { create_board(board_name: "B", board_kind: public, workspace_id: 42) '
                              "{ id } }")
    assert errors[0]["extensions"]["code"] == "InvalidArgumentException"
    assert (await api.data("{ boards { id } }"))["boards"] == []


async def test_tags_are_made_once_and_listed_on_the_boards_that_carry_them(api: Api) -> None:
    first = (await api.data('mutation { create_or_get_tag(tag_name: "rush") { id name color } }'))["create_or_get_tag"]
    again = (await api.data('mutation { create_or_get_tag(tag_name: "rush") { id name color } }'))["create_or_get_tag"]
    assert first == again
    board_id = await api.board()
    await api.column(board_id, "tags", "labels")
    assert (await api.data("query($b: [ID!]) { boards(ids: $b) { tags { id } } }", {"b": [board_id]}))[
        "boards"][0]["tags"] == []
    await api.item(board_id, "Order", {"labels": {"tag_ids": [int(first["id"])]}})
    read = await api.data("query($b: [ID!]) { boards(ids: $b) { tags { id name } } }", {"b": [board_id]})
    assert read["boards"][0]["tags"] == [{"id": first["id"], "name": "rush"}]


POST = "mutation($i: ID, $p: ID, $t: String!) { create_update(item_id: $i, parent_id: $p, body: $t) { id } }"


async def test_updates_are_edited_replied_to_and_deleted_with_their_replies(api: Api) -> None:
    board_id = await api.board()
    item_id = await api.item(board_id, "Order")
    post = (await api.data(POST, {"i": item_id, "t": "Cut"}))["create_update"]["id"]
    reply = (await api.data(POST, {"p": post, "t": "When?"}))["create_update"]["id"]
    refused = await api.errors(POST, {"p": reply, "t": "Monday"})
    assert refused[0]["extensions"]["code"] == "InvalidArgumentException"
    edited = await api.data('mutation($u: ID!) { edit_update(id: $u, body: "<b>Cut</b> &amp; sewn") '
                            "{ body text_body } }", {"u": post})
    assert edited["edit_update"] == {"body": "<b>Cut</b> &amp; sewn", "text_body": "Cut & sewn"}
    listed = await api.data("query($b: [ID!]) { boards(ids: $b) { updates { id item_id replies { id } } } }",
                            {"b": [board_id]})
    assert listed["boards"][0]["updates"] == [{"id": post, "item_id": item_id, "replies": [{"id": reply}]}]
    await api.data("mutation($u: ID!) { delete_update(id: $u) { id } }", {"u": post})
    assert (await api.data("{ updates { id } }"))["updates"] == []
    gone = await api.errors("mutation($u: ID!) { delete_update(id: $u) { id } }", {"u": reply})
    assert gone[0]["extensions"]["code"] == "ResourceNotFoundException"


async def test_updates_page_newest_first(api: Api) -> None:
    board_id = await api.board()
    item_id = await api.item(board_id, "Order")
    posted = [(await api.data(POST, {"i": item_id, "t": f"note {n}"}))["create_update"]["id"] for n in range(3)]
    page = "query($i: [ID!], $p: Int) { items(ids: $i) { updates(limit: 2, page: $p) { body } } }"
    assert [u["body"] for u in (await api.data(page, {"i": [item_id], "p": 1}))["items"][0]["updates"]] == [
        "note 2", "note 1"]
    assert [u["body"] for u in (await api.data(page, {"i": [item_id], "p": 2}))["items"][0]["updates"]] == [
        "note 0"]
    picked = await api.data("query($u: [ID!]) { updates(ids: $u) { body } }", {"u": [posted[0]]})
    assert picked["updates"] == [{"body": "note 0"}]


async def test_a_group_is_duplicated_whole_or_not_at_all(in_process) -> None:
    async with in_process(EmulatorSettings(items_per_board_limit=3)) as client:
        api = Api(client)
        board_id = await api.board()
        await api.column(board_id, "numbers", "qty")
        await api.item(board_id, "A", {"qty": 1})
        duplicate = ('mutation($b: ID!) { duplicate_group(board_id: $b, group_id: "topics", group_title: "Copy") '
                     "{ id title items_page { items { name column_values(ids: [\"qty\"]) { text } } } } }")
        copy = (await api.data(duplicate, {"b": board_id}))["duplicate_group"]
        assert copy["title"] == "Copy" and copy["items_page"]["items"] == [
            {"name": "A", "column_values": [{"text": "1"}]}]
        await api.item(board_id, "B", group_id="topics")
        refused = await api.errors(duplicate, {"b": board_id})  # 3 items on the board, room for 0 more
        assert refused[0]["extensions"]["code"] == "ItemsLimitationException"
        groups = await api.data("query($b: [ID!]) { boards(ids: $b) { groups { title } items_count } }",
                                {"b": [board_id]})
        assert groups["boards"][0] == {"groups": [{"title": "Group Title"}, {"title": "Copy"}], "items_count": 3}


async def test_users_filters(in_process) -> None:
    async with in_process(EmulatorSettings(tokens=["t-one", "t-two"])) as client:
        api = Api(client, token="t-one")
        everyone = (await api.data("{ users { id name kind } }"))["users"]
        assert [u["kind"] for u in everyone] == ["admin", "member"]
        assert (await api.data('{ users(name: "user 2") { name } }'))["users"] == [{"name": "Emulator User 2"}]
        assert (await api.data('{ users(emails: ["USER1@emulator.invalid"]) { id } }'))["users"] == [
            {"id": everyone[0]["id"]}]
        assert (await api.data("{ users(non_active: true) { id } }"))["users"] == []
        assert (await api.data("{ users(kind: guests) { id } }"))["users"] == []
        assert [u["id"] for u in (await api.data("{ users(newest_first: true, limit: 1) { id } }"))["users"]] == [
            everyone[1]["id"]]
        refused = await api.errors("{ users(limit: 0) { id } }")
        assert refused[0]["extensions"]["code"] == "InvalidArgumentException"


@pytest.mark.parametrize(("header", "value", "kind"), [
    ("current", "2026-10", "current"), ("2027-01", "2027-01", "release_candidate"),
    ("2026-07", "2026-07", "maintenance"), ("2025-04", "2025-04", "deprecated"),
    ("2024-10", "2024-10", "deprecated"),
])
async def test_the_versions_answered(api: Api, header: str, value: str, kind: str) -> None:
    assert (await api.data("{ version { value kind } }", API_Version=header))["version"] == {"value": value,
                                                                                           "kind": kind}


@pytest.mark.parametrize("header", ["2026-05", "2027-04", "latest"])
async def test_a_version_monday_does_not_have_is_refused(api: Api, header: str) -> None:
    response = await api.post("{ version { value } }", API_Version=header)
    assert response.json()["errors"][0]["extensions"]["code"] == "InvalidVersionException"


async def test_versions_lists_every_version_served_oldest_first(api: Api) -> None:
    versions = (await api.data("{ versions { value kind display_name } }"))["versions"]
    assert [v["value"] for v in versions] == ["2025-04", "2025-07", "2025-10", "2026-01", "2026-04", "2026-07",
                                              "2026-10", "2027-01"]
    assert versions[-2] == {"value": "2026-10", "kind": "current", "display_name": "Current"}
    assert json.dumps(versions).count('"current"') == 1


async def test_workspaces_tags_and_updates_survive_a_restart_with_a_sqlite_file(in_process, tmp_path) -> None:
    settings = EmulatorSettings(db_path=tmp_path / "emulator.db")
    async with in_process(settings) as client:
        api = Api(client)
        workspace = (await api.data('mutation { create_workspace(name: "Mill", kind: closed) { id } }'))[
            "create_workspace"]["id"]
        tag = (await api.data('mutation { create_or_get_tag(tag_name: "rush") { id } }'))["create_or_get_tag"]["id"]
        item_id = await api.item(await api.board())
        post = (await api.data(POST, {"i": item_id, "t": "Cut"}))["create_update"]["id"]
        await api.data(POST, {"p": post, "t": "When?"})
    async with in_process(settings) as client:
        api = Api(client)
        read = await api.data("query($w: [ID!]) { workspaces(ids: $w) { name kind } tags { id name } "
                              "updates { id body replies { body } } }", {"w": [workspace]})
        assert read == {"workspaces": [{"name": "Mill", "kind": "closed"}], "tags": [{"id": tag, "name": "rush"}],
                        "updates": [{"id": post, "body": "Cut", "replies": [{"body": "When?"}]}]}
        newer = (await api.data(POST, {"i": item_id, "t": "Sewn"}))["create_update"]["id"]
        assert int(newer) > int(post) + 1  # ids keep growing across the restart


async def test_a_tags_cell_holds_the_accounts_tags_only(api: Api) -> None:
    tag = (await api.data('mutation { create_or_get_tag(tag_name: "rush") { id } }'))["create_or_get_tag"]["id"]
    board_id = await api.board()
    await api.column(board_id, "tags", "labels")
    item_id = await api.item(board_id, "Order", {"labels": {"tag_ids": [int(tag)]}})
    read = await api.data("query($i: [ID!]) { items(ids: $i) { column_values(ids: [\"labels\"]) "
                          "{ text ... on TagsValue { tag_ids tags { name } } } } }", {"i": [item_id]})
    assert read["items"][0]["column_values"] == [{"text": "rush", "tag_ids": [int(tag)], "tags": [{"name": "rush"}]}]
    refused = await api.errors('mutation($b: ID!) { create_item(board_id: $b, item_name: "X", '
                               'column_values: "{\\"labels\\": {\\"tag_ids\\": [42]}}") { id } }', {"b": board_id})
    assert refused[0]["extensions"]["code"] == "ColumnValueException"


async def test_a_people_cell_can_hold_the_accounts_team(api: Api) -> None:
    team = (await api.data("{ teams { id name } }"))["teams"][0]
    board_id = await api.board()
    await api.column(board_id, "people", "owner")
    item_id = await api.item(board_id, "Order", {"owner": {"personsAndTeams": [{"id": int(team["id"]),
                                                                                 "kind": "team"}]}})
    read = await api.data("query($i: [ID!]) { items(ids: $i) { column_values(ids: [\"owner\"]) "
                          "{ text ... on PeopleValue { persons_and_teams { id kind } } } } }", {"i": [item_id]})
    assert read["items"][0]["column_values"] == [{"text": team["name"],
                                                  "persons_and_teams": [{"id": team["id"], "kind": "team"}]}]
    refused = await api.errors('mutation($b: ID!) { create_item(board_id: $b, item_name: "X", column_values: '
                               '"{\\"owner\\": {\\"personsAndTeams\\": [{\\"id\\": 5, \\"kind\\": \\"team\\"}]}}") '
                               "{ id } }", {"b": board_id})
    assert refused[0]["extensions"]["code"] == "ColumnValueException"


async def test_a_dependency_links_items_of_the_same_board(api: Api) -> None:
    board_id = await api.board()
    await api.column(board_id, "dependency", "dependent_on")
    cut = await api.item(board_id, "Cut")
    sew = await api.item(board_id, "Sew", {"dependent_on": {"item_ids": [int(cut)]}})
    read = await api.data("query($i: [ID!]) { items(ids: $i) { column_values(ids: [\"dependent_on\"]) "
                          "{ text value ... on DependencyValue { display_value linked_item_ids linked_items { name } "
                          "updated_at } } } }", {"i": [sew]})
    [value] = read["items"][0]["column_values"]
    assert value["updated_at"]
    assert {**value, "updated_at": None} == {"text": None, "value": None, "display_value": "Cut",
                                             "linked_item_ids": [cut], "linked_items": [{"name": "Cut"}],
                                             "updated_at": None}
    found = await api.data("query($b: [ID!], $q: ItemsQuery) { boards(ids: $b) { items_page(query_params: $q) "
                           "{ items { name } } } }",
                           {"b": [board_id], "q": {"rules": [{"column_id": "dependent_on", "compare_value": [cut]}]}})
    assert found["boards"][0]["items_page"]["items"] == [{"name": "Sew"}]
    elsewhere = await api.item(await api.board("Other"), "Elsewhere")
    refused = await api.errors("mutation($b: ID!, $i: ID!, $v: JSON!) { change_multiple_column_values(board_id: $b, "
                               "item_id: $i, column_values: $v) { id } }",
                               {"b": board_id, "i": sew, "v": json.dumps({"dependent_on": {"item_ids": [elsewhere]}})})
    assert refused[0]["extensions"]["code"] == "ColumnValueException"


async def test_the_copies_of_a_duplicated_group_are_created_items_in_the_activity_log(api: Api) -> None:
    board_id = await api.board()
    await api.item(board_id, "A")
    await api.data('mutation($b: ID!) { duplicate_group(board_id: $b, group_id: "topics") { id } }', {"b": board_id})
    logs = await api.data("query($b: [ID!]) { boards(ids: $b) { activity_logs { event } } }", {"b": [board_id]})
    assert [log["event"] for log in logs["boards"][0]["activity_logs"]].count("create_pulse") == 2
