"""Column types beyond the common ones (issue 14): hour, rating, week, world clock, location and team
take Monday's documented values and read back as their `... on XValue` types; creation log, group and
vote are computed and refuse writes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .support import Api

pytestmark = pytest.mark.anyio

WRITTEN: list[tuple[str, Any, str, str]] = [
    # column type, value written, text read back, fragment and what it reads back (JSON)
    ("hour", {"hour": 16, "minute": 5}, "16:05", '... on HourValue { hour minute }|{"hour": 16, "minute": 5}'),
    ("rating", {"rating": 4}, "4", '... on RatingValue { rating }|{"rating": 4}'),
    ("week", {"week": {"startDate": "2026-11-30", "endDate": "2026-12-06"}}, "2026-11-30 - 2026-12-06",
     '... on WeekValue { start_date end_date }|{"start_date": "2026-11-30", "end_date": "2026-12-06"}'),
    ("world_clock", {"timezone": "Europe/Lisbon"}, "Europe/Lisbon",
     '... on WorldClockValue { timezone }|{"timezone": "Europe/Lisbon"}'),
    ("location", {"lat": "38.7223", "lng": "-9.1393", "address": "Lisbon, Portugal", "country_short": "PT"},
     "Lisbon, Portugal",
     '... on LocationValue { lat lng address country_short }|{"lat": 38.7223, "lng": -9.1393, '
     '"address": "Lisbon, Portugal", "country_short": "PT"}'),
    ("team", {"team_id": 900001}, "Emulator Team", '... on TeamValue { team_id }|{"team_id": 900001}'),
]

REFUSED: list[tuple[str, Any]] = [
    ("hour", {"hour": 24, "minute": 0}), ("hour", "16:05"),
    ("rating", {"rating": 6}), ("rating", {"rating": True}),
    ("week", {"week": {"startDate": "2026-12-01", "endDate": "2026-12-07"}}),  # a Tuesday
    ("world_clock", {"timezone": "Mars/Olympus"}),
    ("location", {"lat": "91", "lng": "0"}), ("location", {"address": "nowhere"}),
    ("team", {"team_id": 5}),
    ("vote", {"votes": 3}), ("group", "topics"), ("creation_log", {"created_at": "2026-01-01"}),
]

READ = "query($i: [ID!], $c: [String!]) { items(ids: $i) { column_values(ids: $c) { type text %s } } }"
WRITE = ("mutation($b: ID!, $v: JSON!) { create_item(board_id: $b, item_name: \"Order\", column_values: $v) "
         "{ id } }")


@pytest.mark.parametrize(("column_type", "written", "text", "fragment"), WRITTEN, ids=[case[0] for case in WRITTEN])
async def test_a_typed_value_reads_back_as_its_type(api: Api, column_type: str, written: Any, text: str,
                                                    fragment: str) -> None:
    board_id = await api.board()
    await api.column(board_id, column_type, "cell")
    item_id = await api.item(board_id, "Order", {"cell": written})
    selection, expected = fragment.split("|")
    [value] = (await api.data(READ % selection, {"i": [item_id], "c": ["cell"]}))["items"][0]["column_values"]
    assert value == {"type": column_type, "text": text, **json.loads(expected)}


@pytest.mark.parametrize(("column_type", "written"), REFUSED, ids=[case[0] for case in REFUSED])
async def test_a_value_the_type_does_not_take_is_refused(api: Api, column_type: str, written: Any) -> None:
    board_id = await api.board()
    await api.column(board_id, column_type, "cell")
    errors = await api.errors(WRITE, {"b": board_id, "v": json.dumps({"cell": written})})
    assert errors[0]["extensions"]["code"] == "ColumnValueException"
    assert errors[0]["extensions"]["error_data"]["column_type"] == column_type


async def test_creation_log_group_and_vote_are_computed(api: Api) -> None:
    board_id = await api.board()
    for column_type in ("creation_log", "group", "vote"):
        await api.column(board_id, column_type, column_type)
    item_id = await api.item(board_id, "Order")
    fragments = ("... on CreationLogValue { created_at creator_id creator { name } } "
                 "... on GroupValue { group_id group { title } } ... on VoteValue { vote_count voter_ids voters { id } }")
    read = await api.data(READ % fragments, {"i": [item_id], "c": ["creation_log", "group", "vote"]})
    log, group, vote = read["items"][0]["column_values"]
    item = (await api.data("query($i: [ID!]) { items(ids: $i) { created_at creator_id } }", {"i": [item_id]}))[
        "items"][0]
    assert (log["created_at"], log["creator_id"], log["creator"]) == (item["created_at"], item["creator_id"],
                                                                      {"name": "Emulator User"})
    assert log["text"] == item["created_at"].replace("T", " ").replace("Z", " UTC")
    assert group == {"type": "group", "text": "Group Title", "group_id": "topics", "group": {"title": "Group Title"}}
    assert vote == {"type": "vote", "text": "0", "vote_count": 0, "voter_ids": [], "voters": []}


MIRROR = ("query($i: [ID!]) { items(ids: $i) { column_values(ids: [\"mirror\"]) "
          "{ text ... on MirrorValue { display_value } } } }")


async def test_a_mirror_shows_the_linked_items_columns(api: Api) -> None:
    catalog = await api.board("Catalog")
    await api.column(catalog, "text", "fabric")
    denim = await api.item(catalog, "Denim", {"fabric": "14 oz"})
    twill = await api.item(catalog, "Twill", {"fabric": "9 oz"})
    orders = await api.board("Orders")
    await api.column(orders, "board_relation", "link")
    await api.column(orders, "mirror", "mirror", defaults={"relation_column": {"link": True},
                                                           "displayed_linked_columns": {catalog: ["fabric"]}})
    order = await api.item(orders, "PO-1", {"link": {"item_ids": [int(denim), int(twill)]}})
    [value] = (await api.data(MIRROR, {"i": [order]}))["items"][0]["column_values"]
    assert value == {"text": None, "display_value": "14 oz, 9 oz"}


async def test_a_mirror_of_the_subitems_shows_their_values(api: Api) -> None:
    orders = await api.board("Orders")
    parent = await api.item(orders, "PO-1")
    first = (await api.data('mutation($p: ID!) { create_subitem(parent_item_id: $p, item_name: "S") '
                            "{ id board { id } } }", {"p": parent}))["create_subitem"]
    sub_board = first["board"]["id"]
    await api.column(sub_board, "numbers", "qty")
    await api.data('mutation($b: ID!, $i: ID!) { change_multiple_column_values(board_id: $b, item_id: $i, '
                   'column_values: "{\\"qty\\": 4}") { id } }', {"b": sub_board, "i": first["id"]})
    await api.data('mutation($p: ID!) { create_subitem(parent_item_id: $p, item_name: "M", '
                   'column_values: "{\\"qty\\": 6}") { id } }', {"p": parent})
    subitems_column = (await api.data("query($b: [ID!]) { boards(ids: $b) { columns(types: [subtasks]) { id } } }",
                                      {"b": [orders]}))["boards"][0]["columns"][0]["id"]
    await api.column(orders, "mirror", "mirror", defaults={"relation_column": {subitems_column: True},
                                                           "displayed_linked_columns": {sub_board: ["qty"]}})
    [value] = (await api.data(MIRROR, {"i": [parent]}))["items"][0]["column_values"]
    assert value["display_value"] == "4, 6"
    page = await api.client.get(f"/boards/{orders}")  # and the board shows it, as a person sees it
    assert page.status_code == 200 and ">4, 6<" in page.text.replace("> ", ">").replace(" <", "<")
