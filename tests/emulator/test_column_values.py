"""Column values per type: what Monday accepts, how it reads back (`text`, `value`), what it
refuses with `ColumnValueException`, clearing, label creation, and read-only columns."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .support import Api, values_by_id

pytestmark = pytest.mark.anyio

COLUMNS = {
    "text": "text", "long_text": "long_text", "numbers": "numbers", "date": "date", "status": "status",
    "dropdown": "dropdown", "checkbox": "checkbox", "email": "email", "link": "link", "people": "people",
    "phone": "phone", "timeline": "timeline", "country": "country", "board_relation": "board_relation",
    "mirror": "mirror", "formula": "formula", "item_id": "item_id", "last_updated": "last_updated",
    "tags": "tags",
}

VALID: list[tuple[str, Any, str | None, dict[str, Any] | str | None]] = [
    # column type, value written, text read back, value read back (dict: a subset of the JSON)
    ("text", "AAG-0001", "AAG-0001", '"AAG-0001"'),
    ("text", 42, "42", '"42"'),
    ("long_text", {"text": "line one\nline two"}, "line one\nline two", {"text": "line one\nline two"}),
    ("long_text", "plain", "plain", {"text": "plain"}),
    ("numbers", "12.5", "12.5", '"12.5"'),
    ("numbers", 7, "7", '"7"'),
    ("numbers", -0.25, "-0.25", '"-0.25"'),
    ("date", {"date": "2025-06-24"}, "2025-06-24", {"date": "2025-06-24"}),
    ("date", {"date": "2025-06-24", "time": "13:00:00"}, "2025-06-24 13:00", {"date": "2025-06-24", "time": "13:00:00"}),
    ("date", "2024-02-29", "2024-02-29", {"date": "2024-02-29"}),
    ("status", {"label": "Done"}, "Done", {"index": 1}),
    ("status", {"index": 2}, "Stuck", {"index": 2}),
    ("status", "Working on it", "Working on it", {"index": 0}),
    ("status", "1", "Done", {"index": 1}),
    ("dropdown", {"labels": ["S", "M"]}, "S, M", {"ids": [1, 2]}),
    ("dropdown", {"ids": [2]}, "M", {"ids": [2]}),
    ("dropdown", {"ids": ["1"]}, "S", {"ids": [1]}),
    ("dropdown", "M, S", "M, S", {"ids": [2, 1]}),
    ("checkbox", {"checked": "true"}, "v", {"checked": True}),
    ("checkbox", {"checked": True}, "v", {"checked": True}),
    ("email", {"email": "a@b.co", "text": "A"}, "a@b.co", {"email": "a@b.co", "text": "A"}),
    ("email", "a@b.co A person", "a@b.co", {"email": "a@b.co", "text": "A person"}),
    ("link", {"url": "https://example.com", "text": "site"}, "site - https://example.com",
     {"url": "https://example.com", "text": "site"}),
    ("phone", {"phone": "+12025550169", "countryShortName": "US"}, "+12025550169", {"countryShortName": "US"}),
    ("timeline", {"from": "2025-01-01", "to": "2025-02-01"}, "2025-01-01 - 2025-02-01", {"from": "2025-01-01"}),
    ("country", {"countryCode": "PT", "countryName": "Portugal"}, "Portugal", {"countryCode": "PT"}),
]

INVALID: list[tuple[str, Any]] = [
    ("text", {"text": "an object"}),
    ("text", ["a", "list"]),
    ("long_text", {"txt": "wrong key"}),
    ("numbers", "twelve"),
    ("numbers", "1,5"),
    ("numbers", True),
    ("numbers", "NaN"),
    ("date", {"date": "2025-02-30"}),
    ("date", "24/06/2025"),
    ("date", {"date": "2025-06-24", "time": "25:00:00"}),
    ("date", {"day": "2025-06-24"}),
    ("status", {"label": "No such label"}),
    ("status", {"index": 99}),
    ("status", ["Done"]),
    ("dropdown", {"labels": ["XL"]}),
    ("dropdown", {"ids": [99]}),
    ("dropdown", {"colors": ["S"]}),
    ("checkbox", {"checked": "maybe"}),
    ("email", {"email": "not-an-email"}),
    ("link", {"text": "no url"}),
    ("people", {"personsAndTeams": [{"id": 1, "kind": "person"}]}),
    ("people", {"personsAndTeams": [{"id": 70000001, "kind": "team"}]}),
    ("phone", {"phone": "call me", "countryShortName": "US"}),
    ("timeline", {"from": "2025-02-01", "to": "2025-01-01"}),
    ("country", {"countryCode": "Portugal"}),
    ("board_relation", {"item_ids": [1]}),
    ("tags", {"tag_ids": [1]}),  # no such tag: tags come from create_or_get_tag (test_account.py)
    ("tags", ["rush"]),
]

READ_ONLY = ["mirror", "formula", "item_id", "last_updated"]


@pytest.fixture
async def board(api: Api) -> str:
    board_id = await api.board("Values")
    for column_type, column_id in COLUMNS.items():
        defaults = {"labels": ["S", "M"]} if column_type == "dropdown" else None
        await api.column(board_id, column_type, column_id, defaults=defaults)
    return board_id


async def write(api: Api, board_id: str, values: dict[str, Any], create_labels: bool = False) -> list[dict]:
    item_id = await api.item(board_id)
    response = await api.post(
        "mutation($b: ID!, $i: ID, $v: JSON!, $c: Boolean) { change_multiple_column_values(board_id: $b, "
        "item_id: $i, column_values: $v, create_labels_if_missing: $c) { id } }",
        {"b": board_id, "i": item_id, "v": json.dumps(values), "c": create_labels},
    )
    return [values_by_id(await api.read(item_id)), response.json().get("errors", [])]


@pytest.mark.parametrize(("column_type", "written", "text", "value"), VALID,
                         ids=[f"{c}-{json.dumps(w)}" for c, w, *_ in VALID])
async def test_valid_value_reads_back_like_monday(api: Api, board: str, column_type: str, written: Any,
                                                  text: str | None, value: Any) -> None:
    values, errors = await write(api, board, {COLUMNS[column_type]: written})
    assert errors == []
    cell = values[COLUMNS[column_type]]
    assert cell["text"] == text
    if isinstance(value, dict):
        stored = json.loads(cell["value"])
        assert {key: stored[key] for key in value} == value
    else:
        assert cell["value"] == value


@pytest.mark.parametrize(("column_type", "written"), INVALID, ids=[f"{c}-{json.dumps(w)}" for c, w in INVALID])
async def test_invalid_value_is_refused_with_column_value_exception(api: Api, board: str, column_type: str,
                                                                    written: Any) -> None:
    values, errors = await write(api, board, {COLUMNS[column_type]: written})
    assert len(errors) == 1
    extensions = errors[0]["extensions"]
    assert extensions["code"] == "ColumnValueException" and extensions["status_code"] == 200
    assert extensions["error_data"]["column_type"] == column_type
    assert extensions["error_data"]["column_id"] == COLUMNS[column_type]
    assert values[COLUMNS[column_type]]["value"] is None


@pytest.mark.parametrize("column_type", READ_ONLY)
async def test_computed_columns_cannot_be_written(api: Api, board: str, column_type: str) -> None:
    _, errors = await write(api, board, {COLUMNS[column_type]: "anything"})
    assert errors[0]["extensions"]["code"] == "ColumnValueException"


async def test_subitems_column_cannot_be_written(api: Api, board: str) -> None:
    parent = await api.item(board)
    await api.data('mutation($p: ID!) { create_subitem(parent_item_id: $p, item_name: "s") { id } }', {"p": parent})
    columns = (await api.data("query($b: [ID!]) { boards(ids: $b) { columns(types: [subtasks]) { id } } }",
                              {"b": [board]}))["boards"][0]["columns"]
    _, errors = await write(api, board, {columns[0]["id"]: "x"})
    assert errors[0]["extensions"]["error_data"]["column_type"] == "subtasks"


async def test_computed_columns_read_back(api: Api, board: str) -> None:
    item_id = await api.item(board)
    values = values_by_id(await api.read(item_id))
    assert values["item_id"]["text"] == item_id
    assert values["mirror"] == {"id": "mirror", "type": "mirror", "text": None, "value": None}
    assert values["last_updated"]["text"].endswith("Z")


@pytest.mark.parametrize("cleared", ["", {}, None])
async def test_empty_value_clears_a_column(api: Api, board: str, cleared: Any) -> None:
    item_id = await api.item(board, values={"text": "x", "status": {"label": "Done"}, "dropdown": "S"})
    await api.data("mutation($b: ID!, $i: ID, $v: JSON!) { change_multiple_column_values(board_id: $b, item_id: $i, "
                   "column_values: $v) { id } }",
                   {"b": board, "i": item_id, "v": json.dumps({"text": cleared, "status": cleared, "dropdown": cleared})})
    values = values_by_id(await api.read(item_id))
    assert values["text"] == {"id": "text", "type": "text", "text": "", "value": None}
    assert values["status"]["text"] is None and values["dropdown"]["text"] is None


async def test_unknown_labels_are_created_when_asked(api: Api, board: str) -> None:
    values, errors = await write(api, board, {"status": {"label": "Shipped"}, "dropdown": {"labels": ["S", "XXL"]}},
                                 create_labels=True)
    assert errors == []
    assert values["status"]["text"] == "Shipped" and values["dropdown"]["text"] == "S, XXL"
    columns = (await api.data("query($b: [ID!]) { boards(ids: $b) { columns(ids: [\"status\", \"dropdown\"]) "
                              "{ id settings } } }", {"b": [board]}))["boards"][0]["columns"]
    labels = {c["id"]: [label["label"] for label in c["settings"]["labels"]] for c in columns}
    assert labels == {"status": ["Working on it", "Done", "Stuck", "Shipped"], "dropdown": ["S", "M", "XXL"]}
    again, errors = await write(api, board, {"status": {"label": "Shipped"}})
    assert errors == []
    assert json.loads(again["status"]["value"])["index"] == json.loads(values["status"]["value"])["index"] == 3


async def test_status_column_holds_at_most_40_labels(api: Api, board: str) -> None:
    for n in range(37):
        _, errors = await write(api, board, {"status": {"label": f"L{n}"}}, create_labels=True)
        assert errors == []
    _, errors = await write(api, board, {"status": {"label": "one too many"}}, create_labels=True)
    assert errors[0]["extensions"]["code"] == "ColumnValueException"


async def test_long_text_holds_2000_characters_and_text_has_no_limit_of_its_own(api: Api, board: str) -> None:
    long_text, text = COLUMNS["long_text"], COLUMNS["text"]
    values, errors = await write(api, board, {long_text: {"text": "L" * 2000}, text: "T" * 10_000})
    assert errors == []
    assert values[long_text]["text"] == "L" * 2000 and values[text]["text"] == "T" * 10_000
    values, errors = await write(api, board, {long_text: {"text": "L" * 2001}})
    assert errors[0]["extensions"]["code"] == "ColumnValueException" and "2,000" in errors[0]["message"]
    assert values[long_text]["value"] is None


async def test_people_must_exist(api: Api, board: str) -> None:
    me = (await api.data("{ me { id name } }"))["me"]
    values, errors = await write(api, board, {"people": {"personsAndTeams": [{"id": int(me["id"]), "kind": "person"}]}})
    assert errors == [] and values["people"]["text"] == me["name"]


async def test_board_relation_links_existing_items(api: Api, board: str) -> None:
    other = await api.item(board, "linked one")
    values, errors = await write(api, board, {"board_relation": {"item_ids": [int(other)]}})
    assert errors == [] and values["board_relation"]["text"] is None
    assert json.loads(values["board_relation"]["value"]) == {"linkedPulseIds": [{"linkedPulseId": int(other)}]}


async def test_unknown_column_and_bad_json(api: Api, board: str) -> None:
    _, errors = await write(api, board, {"no_such_column": "x"})
    assert errors[0]["extensions"]["code"] == "InvalidColumnIdException"
    assert errors[0]["extensions"]["error_data"]["column_id"] == "no_such_column"
    item_id = await api.item(board)
    bad = await api.errors('mutation($b: ID!, $i: ID) { change_multiple_column_values(board_id: $b, item_id: $i, '
                           'column_values: "{not json") { id } }', {"b": board, "i": item_id})
    assert bad[0]["extensions"]["code"] == "JsonParseException"


async def test_column_values_accepts_an_inline_object_too(api: Api, board: str) -> None:
    item_id = await api.item(board)
    await api.data('mutation($b: ID!, $i: ID) { change_multiple_column_values(board_id: $b, item_id: $i, '
                   'column_values: {text: "inline", numbers: "3"}) { id } }', {"b": board, "i": item_id})
    values = values_by_id(await api.read(item_id))
    assert values["text"]["text"] == "inline" and values["numbers"]["text"] == "3"


async def test_typed_column_value_fields(api: Api, board: str) -> None:
    item_id = await api.item(board, values={"status": {"label": "Done"}, "numbers": "4.5", "dropdown": "M",
                                            "date": {"date": "2025-01-02", "time": "03:04:05"},
                                            "checkbox": {"checked": "true"}})
    data = await api.data(
        "query($i: [ID!]) { items(ids: $i) { column_values { id"
        " ... on StatusValue { index label is_done } ... on NumbersValue { number }"
        " ... on DropdownValue { values { id label } } ... on DateValue { date time }"
        " ... on CheckboxValue { checked } ... on ItemIdValue { item_id } } } }", {"i": [item_id]})
    cells = values_by_id(data["items"][0])
    assert cells["status"] == {"id": "status", "index": 1, "label": "Done", "is_done": True}
    assert cells["numbers"]["number"] == 4.5 and cells["dropdown"]["values"] == [{"id": "2", "label": "M"}]
    assert cells["date"] == {"id": "date", "date": "2025-01-02", "time": "03:04:05"}
    assert cells["checkbox"]["checked"] is True and cells["item_id"]["item_id"] == item_id
