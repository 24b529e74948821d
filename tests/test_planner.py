"""The planner alone: staged rows in, mutations and refusals out — no database, no HTTP."""

from __future__ import annotations

import json

from ordersync.config import parse_config
from ordersync.engine import planner
from ordersync.errors import ErrorCategory
from ordersync.monday.board import BoardColumnInfo, BoardInfo
from ordersync.sample_data.config import sample_config_text

CONFIG = parse_config(sample_config_text(board_id="1"))
STATUS = next(mapping for mapping in CONFIG.columns if mapping.type == "status")


def board(labels: frozenset[str] = frozenset({"OPEN"})) -> BoardInfo:
    columns = {STATUS.id: BoardColumnInfo(STATUS.id, "Status", "status", labels)}
    return BoardInfo("1", "Orders", columns, [("GREYSON FALL 2025", "g1"), ("TITLE 9 SPRING", "g9")])


def rules(labels: frozenset[str] = frozenset({"OPEN"}), *, create: bool = False) -> planner.LabelRules:
    mapping = STATUS.model_copy(update={"create_labels_if_missing": create})
    return planner.LabelRules({STATUS.id: mapping}, board(labels))


def staged(key: str, values: dict, group: str = "GREYSON FALL 2025", **extra) -> dict:
    return {"item_key": key, "item_name": f"name {key}", "group_name": group, "customer": "GREYSON",
            "column_values": json.dumps(values), **extra}


def test_a_new_line_is_created_in_its_group_with_its_business_key():
    batch = planner.item_creates([staged("K1", {STATUS.id: {"label": "OPEN"}})], {"GREYSON FALL 2025": "g1"},
                                 rules(), key_column="text_key")
    [mutation] = batch.mutations
    assert mutation.document == "create_item" and mutation.variables["group_id"] == "g1"
    assert json.loads(mutation.variables["column_values"])["text_key"] == "K1"
    assert batch.rows["K1"]["item_key"] == "K1" and not batch.refused


def test_a_label_the_board_lacks_is_refused_unless_the_column_may_create_it():
    row = staged("K1", {STATUS.id: {"label": "ON HOLD"}})
    refused = planner.item_creates([row], {"GREYSON FALL 2025": "g1"}, rules(), key_column="text_key")
    assert not refused.mutations and "ON HOLD" in refused.refused[0].reason
    allowed = planner.item_creates([row], {"GREYSON FALL 2025": "g1"}, rules(create=True), key_column="text_key")
    assert allowed.mutations[0].variables["create_labels_if_missing"] is True


def test_a_line_whose_group_failed_is_refused_as_a_dependency():
    batch = planner.item_creates([staged("K1", {})], {}, rules(), key_column="text_key")
    assert batch.refused[0].category is ErrorCategory.DEPENDENCY


def test_an_update_sends_only_what_changed_and_clears_what_the_source_dropped():
    row = staged("K1", {"a": "1", "b": "2"}, synced_values=json.dumps({"a": "1", "b": "1", "c": "9"}),
                 synced_name="name K1", synced_group="GREYSON FALL 2025", item_id="100")
    batch = planner.item_updates([row], {"GREYSON FALL 2025": "g1"}, rules())
    [mutation] = batch.mutations
    assert json.loads(mutation.variables["column_values"]) == {"b": "2", "c": ""}
    assert mutation.ref == ("K1", "values")


def test_an_update_that_changes_group_also_moves_the_item():
    row = staged("K1", {"a": "1"}, group="TITLE 9 SPRING", synced_values=json.dumps({"a": "1"}),
                 synced_name="name K1", synced_group="GREYSON FALL 2025", item_id="100")
    batch = planner.item_updates([row], {"TITLE 9 SPRING": "g9"}, rules())
    assert [(m.document, m.ref) for m in batch.mutations] == [("move_item_to_group", ("K1", "move"))]


def test_a_hash_change_the_board_does_not_show_needs_no_call():
    row = staged("K1", {"a": "1"}, synced_values=json.dumps({"a": "1"}), synced_name="name K1",
                 synced_group="GREYSON FALL 2025", item_id="100")
    batch = planner.item_updates([row], {"GREYSON FALL 2025": "g1"}, rules())
    assert not batch.mutations and batch.unchanged == [row]


def test_a_size_without_its_item_on_the_board_is_refused():
    rows = [{"item_key": "K1", "size": "M", "name": "M", "quantity": 4, "customer": "GREYSON", "parent_item_id": None},
            {"item_key": "K2", "size": "L", "name": "L", "quantity": 2, "customer": "GREYSON", "parent_item_id": "7"}]
    batch = planner.subitem_creates(rows, CONFIG)
    assert [m.ref for m in batch.mutations] == [("K2", "L")]
    assert batch.refused[0].row["item_key"] == "K1" and batch.refused[0].category is ErrorCategory.DEPENDENCY


def test_new_groups_end_up_alphabetical_among_the_existing_ones():
    mutations = planner.group_mutations(board(), ["ZULU", "AAA", "HURLEY"], "alphabetical")
    assert [m.ref for m in mutations][0] == "AAA"
    assert {m.ref for m in mutations} == {"AAA", "HURLEY", "ZULU"}


def test_removed_lines_are_archived_or_deleted_as_the_plan_says():
    rows = [{"item_key": "K1", "operation": "archive", "item_id": "1"},
            {"item_key": "K2", "operation": "delete", "item_id": "2"}]
    assert [m.document for m in planner.removals(rows, "item_id", with_size=False).mutations] == \
        ["archive_item", "delete_item"]
