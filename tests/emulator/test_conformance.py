"""The emulator driven as its users drive it (issue 14): `ordersync emulator` in a process of its own,
reached over loopback HTTP by third-party tooling — gql, which fetches the schema by introspection before
anything else and checks every document against it, and `monday` from PyPI, a Monday client whose URL is
Monday's own, pointed at the emulator the way its users point it at a test server. Each test starts from
an empty account (POST /emulator/reset)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import monday.resources.base
import pytest
from gql import Client, GraphQLRequest, gql
from gql.client import SyncClientSession
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXTransport
from graphql import GraphQLError
from monday import MondayClient
from monday.exceptions import MondayQueryError
from monday.resources.types import BoardKind, BoardsOrderBy

from emulator_process import emulator_process

TOKEN = "conformance-token"


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    with emulator_process(token=TOKEN) as base_url:
        yield base_url


@pytest.fixture
def fresh(emulator_url: str) -> str:
    assert httpx.post(f"{emulator_url}/emulator/reset").status_code == 200
    return emulator_url


def _session(base_url: str, version: str) -> Client:
    transport = HTTPXTransport(url=f"{base_url}/v2", headers={"Authorization": TOKEN, "API-Version": version},
                               timeout=30)
    return Client(transport=transport, fetch_schema_from_transport=True)


@pytest.fixture
def session(fresh: str) -> Iterator[SyncClientSession]:
    with _session(fresh, "2026-10") as opened:
        yield opened


@pytest.fixture
def client(fresh: str, monkeypatch: pytest.MonkeyPatch) -> MondayClient:
    """`monday` as shipped: its own default API-Version (2026-01), only its URL pointed at the emulator."""
    monkeypatch.setitem(monday.resources.base._URLS, "prod", f"{fresh}/v2")
    return MondayClient(TOKEN)


# ---------------------------------------------------------------------------- gql


def test_gql_fetches_the_schema_of_the_version_it_asks_for(fresh: str) -> None:
    with _session(fresh, "2026-07") as july, _session(fresh, "2026-10") as october, \
            _session(fresh, "2027-01") as january:
        assert "enabled" in july.client.schema.type_map["User"].fields  # deprecated in 2026-07 …
        assert "enabled" not in october.client.schema.type_map["User"].fields  # … gone from 2026-10 on
        assert "items_page" in january.client.schema.type_map["Query"].fields  # the root items_page of 2027-01
        assert "items_page" not in october.client.schema.type_map["Query"].fields
        assert {"Update", "Team", "Workspace", "Tag", "Account"} <= set(october.client.schema.type_map)
        versions = october.execute(gql("{ version { value kind } versions { value kind } }"))
    assert versions["version"] == {"value": "2026-10", "kind": "current"}
    assert {"value": "2027-01", "kind": "release_candidate"} in versions["versions"]


def test_gql_refuses_a_field_the_schema_does_not_serve_before_sending_it(session: SyncClientSession) -> None:
    with pytest.raises(GraphQLError, match="Cannot query field 'enabled' on type 'User'"):
        session.execute(gql("{ me { id enabled } }"))


BOARD = gql("""
mutation ($name: String!) { create_board(board_name: $name, board_kind: public) { id name permissions } }
""")
BUILD = gql("""
mutation ($board: ID!) {
  group: create_group(board_id: $board, group_name: "Spring orders") { id title }
  status: create_column(board_id: $board, title: "Status", column_type: status) { id }
}
""")
ITEM = gql("""
mutation ($board: ID!, $group: String!, $values: JSON!) {
  create_item(board_id: $board, group_id: $group, item_name: "Order 1001", column_values: $values) { id }
}
""")
SUBITEM = gql("""
mutation ($parent: ID!) { create_subitem(parent_item_id: $parent, item_name: "Size M") { id board { id } } }
""")
UPDATE = gql("""
mutation ($item: ID!) {
  post: create_update(item_id: $item, body: "<p>Fabric arrived</p>") { id text_body creator { id } }
}
""")
REPLY = gql("mutation ($post: ID!) { create_update(parent_id: $post, body: \"Thanks!\") { id item_id } }")
READ = gql("""
query ($board: ID!) {
  boards(ids: [$board]) {
    name permissions workspace { id } tags { id }
    groups { id title items_page { items {
      name creator { name }
      column_values(types: [status]) { ... on StatusValue { label index } }
      subitems { name parent_item { name } }
      updates { body text_body creator { email } replies { body kind creator_id } assets { id } }
    } } }
  }
}
""")


def test_gql_round_trip_of_board_group_item_subitem_and_update(session: SyncClientSession) -> None:
    board = session.execute(GraphQLRequest(BOARD, variable_values={"name": "Production"}))["create_board"]
    assert board["permissions"] == "everyone"
    built = session.execute(GraphQLRequest(BUILD, variable_values={"board": board["id"]}))
    group_id, status_id = built["group"]["id"], built["status"]["id"]
    values = json.dumps({status_id: {"label": "Done"}})
    item_id = session.execute(GraphQLRequest(ITEM, variable_values={"board": board["id"], "group": group_id,
                                                     "values": values}))["create_item"]["id"]
    subitem = session.execute(GraphQLRequest(SUBITEM, variable_values={"parent": item_id}))["create_subitem"]
    assert subitem["board"]["id"] != board["id"]
    post = session.execute(GraphQLRequest(UPDATE, variable_values={"item": item_id}))["post"]
    assert post["text_body"] == "Fabric arrived"
    reply = session.execute(GraphQLRequest(REPLY, variable_values={"post": post["id"]}))["create_update"]
    assert reply["item_id"] == item_id

    read = session.execute(GraphQLRequest(READ, variable_values={"board": board["id"]}))["boards"][0]
    assert (read["name"], read["workspace"], read["tags"]) == ("Production", None, [])
    group = next(g for g in read["groups"] if g["id"] == group_id)
    assert group["title"] == "Spring orders"
    [item] = group["items_page"]["items"]
    assert item["name"] == "Order 1001" and item["creator"]["name"] == "Emulator User"
    assert item["column_values"] == [{"label": "Done", "index": 1}]
    assert item["subitems"] == [{"name": "Size M", "parent_item": {"name": "Order 1001"}}]
    assert item["updates"] == [{"body": "<p>Fabric arrived</p>", "text_body": "Fabric arrived",
                                "creator": {"email": "user1@emulator.invalid"},
                                "replies": [{"body": "Thanks!", "kind": "text", "creator_id": post["creator"]["id"]}],
                                "assets": []}]


def test_gql_round_trip_of_users_teams_and_the_account(session: SyncClientSession) -> None:
    read = session.execute(gql("""
    { me { id account { id slug first_day_of_the_week } kind status is_email_confirmed teams { id name } }
      users(limit: 5) { id name email account_id }
      teams { id name users { id } owners { id } }
      account { id active_members_count } }
    """))
    me = read["me"]
    assert me["kind"] == "admin" and me["status"] == "ACTIVE" and me["is_email_confirmed"] is True
    assert read["users"] == [{"id": me["id"], "name": "Emulator User", "email": "user1@emulator.invalid",
                              "account_id": me["account"]["id"]}]
    [team] = read["teams"]
    assert me["teams"] == [{"id": team["id"], "name": team["name"]}]
    assert team["users"] == team["owners"] == [{"id": me["id"]}]
    assert read["account"] == {"id": me["account"]["id"], "active_members_count": 1}
    assert session.execute(gql('{ users(emails: ["nobody@example.com"]) { id } }'))["users"] == []


def test_gql_reports_an_application_error_of_one_alias_with_the_others_data(session: SyncClientSession) -> None:
    with pytest.raises(TransportQueryError) as raised:
        session.execute(gql('mutation { ok: create_board(board_name: "A", board_kind: public) { id } '
                            'bad: create_update(item_id: 1, body: "x") { id } }'))
    assert raised.value.data["ok"]["id"] and raised.value.data["bad"] is None
    assert raised.value.errors[0]["extensions"]["code"] == "InvalidItemIdException"


# ---------------------------------------------------------------------------- monday (PyPI)


def test_monday_client_round_trip_of_board_group_item_subitem(client: MondayClient) -> None:
    board_id = client.boards.create_board("Production", BoardKind.PUBLIC)["data"]["create_board"]["id"]
    group_id = client.groups.create_group(board_id, "Spring orders")["data"]["create_group"]["id"]
    column_id = client.columns.create_column(board_id, "Quantity", "numbers")["data"]["create_column"]["id"]
    item = client.items.create_item(board_id, group_id, 'Order "1001"', {column_id: 12})["data"]["create_item"]
    subitem = client.items.create_subitem(item["id"], "Size M")["data"]["create_subitem"]
    assert subitem["name"] == "Size M"
    client.items.change_multiple_column_values(board_id, item["id"], {column_id: "14", "name": "Order 1001"})

    [board] = client.boards.fetch_boards_by_id(board_id)["data"]["boards"]
    assert board["permissions"] == "everyone" and board["tags"] == []
    assert {"id": group_id, "title": "Spring orders"} in board["groups"]
    assert {"id": column_id, "title": "Quantity", "type": "numbers", "settings_str": "{}"} in board["columns"]
    [read] = client.boards.fetch_all_items_by_board_id(board_id)
    assert read["name"] == "Order 1001" and read["group"]["id"] == group_id
    assert {"id": column_id, "text": "14", "type": "numbers", "value": '"14"'} in read["column_values"]
    by_value = client.items.fetch_items_by_column_value(board_id, column_id, "14")
    assert [i["id"] for i in by_value["data"]["items_page_by_column_values"]["items"]] == [item["id"]]
    in_group = client.groups.get_items_by_group(board_id, group_id)["data"]["boards"][0]["groups"][0]
    assert in_group["items_page"]["items"] == [{"id": item["id"], "name": "Order 1001"}]


def test_monday_client_round_trip_of_updates(client: MondayClient) -> None:
    board_id = client.boards.create_board("Production", BoardKind.PUBLIC)["data"]["create_board"]["id"]
    groups = client.groups.get_groups_by_board(board_id)["data"]["boards"][0]["groups"]
    item_id = client.items.create_item(board_id, groups[0]["id"], "Order 1001")["data"]["create_item"]["id"]
    first = client.updates.create_update(item_id, "Cut on Monday")["data"]["create_update"]["id"]
    second = client.updates.create_update(item_id, "Sewn on Tuesday")["data"]["create_update"]["id"]

    [item] = client.updates.fetch_updates_for_item(item_id)["data"]["items"]
    assert [(u["id"], u["body"]) for u in item["updates"]] == [(second, "Sewn on Tuesday"), (first, "Cut on Monday")]
    assert item["updates"][0]["creator"]["name"] == "Emulator User" and item["updates"][0]["replies"] == []
    assert [u["id"] for u in client.updates.fetch_updates(limit=1)["data"]["updates"]] == [second]
    assert client.updates.delete_update(first)["data"]["delete_update"]["id"] == first
    found = client.items.fetch_items_by_column_value(board_id, "name", "Order 1001")
    [read] = found["data"]["items_page_by_column_values"]["items"]
    assert read["updates"] == [{"id": second, "body": "Sewn on Tuesday"}]


def test_monday_client_round_trip_of_users_and_me(client: MondayClient) -> None:
    [user] = client.users.fetch_users()["data"]["users"]
    assert user["enabled"] is True and user["email"] == "user1@emulator.invalid"
    assert user["teams"] == [{"id": user["teams"][0]["id"], "name": "Emulator Team"}]
    me = client.me.get_details()["data"]["me"]
    assert me["id"] == user["id"] and me["account"]["id"] and me["is_admin"] is True
    assert (me["is_guest"], me["is_pending"], me["is_view_only"]) == (False, False, False)


def test_monday_client_on_2026_10_meets_the_fields_monday_removed(fresh: str, monkeypatch) -> None:
    """`me.get_details` asks User fields deprecated in 2026-07 and gone from 2026-10, as on Monday."""
    monkeypatch.setitem(monday.resources.base._URLS, "prod", f"{fresh}/v2")
    october = MondayClient(TOKEN, headers={"API-Version": "2026-10"})
    with pytest.raises(MondayQueryError, match="Cannot query field 'birthday'|Cannot query field 'join_date'"):
        october.me.get_details()


def test_monday_client_duplicates_a_group_with_its_items(client: MondayClient) -> None:
    board_id = client.boards.create_board("Production", BoardKind.PUBLIC)["data"]["create_board"]["id"]
    group_id = client.groups.get_groups_by_board(board_id)["data"]["boards"][0]["groups"][0]["id"]
    client.items.create_item(board_id, group_id, "Order 1001")
    copy_id = client.groups.duplicate_group(board_id, group_id)["data"]["duplicate_group"]["id"]
    groups = client.groups.get_groups_by_board(board_id)["data"]["boards"][0]["groups"]
    assert [g["id"] for g in groups] == [group_id, copy_id]
    assert groups[1]["title"] == "Duplicate of Group Title"
    copied = client.groups.get_items_by_group(board_id, copy_id)["data"]["boards"][0]["groups"][0]
    assert [i["name"] for i in copied["items_page"]["items"]] == ["Order 1001"]


def test_monday_client_lists_boards_in_the_order_it_asks_for(client: MondayClient) -> None:
    first = client.boards.create_board("First", BoardKind.PUBLIC)["data"]["create_board"]["id"]
    second = client.boards.create_board("Second", BoardKind.PRIVATE)["data"]["create_board"]["id"]
    newest_first = client.boards.fetch_boards(order_by=BoardsOrderBy.CREATED_AT)["data"]["boards"]
    assert [b["id"] for b in newest_first] == [second, first]
    private = client.boards.fetch_boards(board_kind=BoardKind.PRIVATE)["data"]["boards"]
    assert [b["id"] for b in private] == [second]
    in_main = client.boards.fetch_boards(workspace_ids=[1000001])["data"]["boards"]
    assert {b["id"] for b in in_main} == {first, second}
    assert client.boards.fetch_boards(workspace_ids=[42])["data"]["boards"] == []


def test_monday_client_round_trip_of_workspaces_tags_and_complexity(client: MondayClient) -> None:
    created = client.workspaces.create_workspace("Production", "open", "The mill's boards")["data"]
    workspace_id = created["create_workspace"]["id"]
    listed = client.workspaces.get_workspaces()["data"]["workspaces"]
    assert {"id": workspace_id, "name": "Production", "kind": "open", "description": "The mill's boards"} in listed
    board_id = client.boards.create_board("Orders", BoardKind.PUBLIC, workspace_id)["data"]["create_board"]["id"]
    in_workspace = client.boards.fetch_boards(workspace_ids=[int(workspace_id)])["data"]["boards"]
    assert [b["id"] for b in in_workspace] == [board_id]
    tag_id = client.tags.create_or_get_tag("rush")["data"]["create_or_get_tag"]["id"]
    assert client.tags.fetch_tags([int(tag_id)])["data"]["tags"][0]["name"] == "rush"
    complexity = client.complexity.get_complexity()["data"]["complexity"]
    assert complexity["after"] > 0 and complexity["reset_in_x_seconds"] >= 0
