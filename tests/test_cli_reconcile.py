"""`ordersync reconcile [--fix]`: the whole board read back over HTTP and compared with the source;
drift made by hand on the board is found, and --fix puts it right through an ordinary sync."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from cli_project import cli_project, run_cli
from ordersync.state import StateStore
from ordersync.state.lock import acquire_lock

ALT_PO = "text_mkrh94rx"  # CUSTOMER ALT PO, a text column
QUANTITY = "numeric_mkra7j8e"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    with cli_project(tmp_path_factory.mktemp("reconcile"), rows=150) as project:
        synced = project.run("sync", "--all", "--json")
        assert synced.exit_code == 0, synced.stderr
        yield project


def mirror(project) -> tuple[list[dict], list[dict]]:
    engine = sa.create_engine(project.source_url)
    with engine.connect() as connection:
        items = [dict(row) for row in connection.execute(sa.text(
            "SELECT item_key, monday_item_id, customer, group_id FROM ordersync_synced_items "
            "ORDER BY item_key")).mappings()]
        sizes = [dict(row) for row in connection.execute(sa.text(
            "SELECT item_key, size, monday_subitem_id FROM ordersync_synced_subitems "
            "ORDER BY item_key, size")).mappings()]
    engine.dispose()
    return items, sizes


def test_right_after_a_sync_the_board_equals_the_source(project):
    checked = project.run("reconcile", "--json")
    assert checked.exit_code == 0, checked.stderr
    result = checked.json()
    assert result["clean"] is True and result["not_ours"] == 0
    assert result["drift"]["board"] == {"items": result["drift"]["source"]["items"],
                                        "subitems": result["drift"]["source"]["subitems"]}
    printed = project.run("reconcile")
    assert printed.exit_code == 0 and "no drift" in " ".join(printed.stdout.split())
    for width in ("60", "80"):  # prose folds at a narrow terminal's width (COLUMNS), words whole
        narrow = project.run("reconcile", env={"COLUMNS": width})
        assert "no drift" in " ".join(narrow.stdout.split()), narrow.stdout
        assert all(len(line) <= int(width) for line in narrow.stdout.splitlines()), narrow.stdout


def test_drift_made_by_hand_is_reported_then_fixed_by_reconcile_fix(project):
    items, sizes = mirror(project)
    greyson = [item for item in items if item.get("customer") == "GREYSON"]
    archived, tampered, moved, duplicated = greyson[:4]
    other_group = next(item["group_id"] for item in items if item["group_id"] != moved["group_id"])
    with_sizes = [size for size in sizes if size["item_key"] == greyson[5]["item_key"]]
    deleted_size, changed_size = with_sizes[0], with_sizes[1]
    subitem_board = project.graphql("query ($ids: [ID!]) { items(ids: $ids) { board { id } } }",
                                    ids=[changed_size["monday_subitem_id"]])["items"][0]["board"]["id"]
    board = project.board_id

    project.graphql("mutation ($id: ID) { archive_item(item_id: $id) { id } }", id=archived["monday_item_id"])
    project.graphql("mutation ($b: ID!, $id: ID, $v: JSON!) { change_multiple_column_values(board_id: $b, "
                    "item_id: $id, column_values: $v) { id } }", b=board, id=tampered["monday_item_id"],
                    v=json.dumps({ALT_PO: "tampered"}))
    project.graphql("mutation ($g: String!, $id: ID) { move_item_to_group(group_id: $g, item_id: $id) { id } }",
                    g=other_group, id=moved["monday_item_id"])
    project.graphql("mutation ($id: ID) { delete_item(item_id: $id) { id } }", id=deleted_size["monday_subitem_id"])
    project.graphql("mutation ($b: ID!, $id: ID, $v: JSON!) { change_multiple_column_values(board_id: $b, "
                    "item_id: $id, column_values: $v) { id } }", b=subitem_board,
                    id=changed_size["monday_subitem_id"], v=json.dumps({QUANTITY: "999"}))
    create = ("mutation ($b: ID!, $n: String!, $v: JSON) { create_item(board_id: $b, item_name: $n, "
              "column_values: $v) { id } }")
    stray = project.graphql(create, b=board, n="not in the source",
                            v=json.dumps({"text_ordersync_key": "ZZZ|GONE|LINE"}))["create_item"]["id"]
    copy = project.graphql(create, b=board, n="a copy",
                           v=json.dumps({"text_ordersync_key": duplicated["item_key"]}))["create_item"]["id"]
    persons = project.graphql(create, b=board, n="a person's note", v=None)["create_item"]["id"]

    found = project.run("reconcile", "--json")
    assert found.exit_code == 1
    drift = found.json()["drift"]
    counts = {name: count for name, count in drift["counts"].items() if count}
    assert counts == {"missing": 1, "unknown": 1, "duplicates": 1, "wrong_group": 1, "wrong_values": 1,
                      "missing_subitems": 1, "wrong_quantities": 1}
    assert found.json()["not_ours"] == 1
    assert any("tampered" in finding for finding in drift["findings"]["wrong_values"])
    elsewhere = project.run("reconcile", "--customer", "TITLE 9", "--json")
    assert elsewhere.exit_code == 0 and elsewhere.json()["clean"]  # the drift is all GREYSON's

    fixed = project.run("reconcile", "--fix", "--json")
    assert fixed.exit_code == 0, fixed.stdout + fixed.stderr
    result = fixed.json()
    assert result["clean"] is True and result["after"]["clean"] is True
    assert {entry["id"] for entry in result["fixed"]["archived"]} == {stray, copy}
    assert result["fixed"]["order_lines_resynced"] == 4  # archived, tampered, moved, the one with sizes
    sync = result["fixed"]["sync"]
    assert sync["totals"]["items"]["create"] == 1 and sync["totals"]["items"]["update"] == 2
    sizes_of_archived = sum(size["item_key"] == archived["item_key"] for size in sizes)
    assert sync["totals"]["subitems"]["create"] == 1 + sizes_of_archived  # the deleted size, the archived item's
    assert sync["totals"]["subitems"]["update"] == 1
    still_there = project.graphql("query ($ids: [ID!]) { items(ids: $ids) { id state } }", ids=[persons])["items"]
    assert still_there == [{"id": persons, "state": "active"}]

    again = project.run("sync", "--all", "--json")
    assert again.exit_code == 0
    assert again.json()["api"]["mutations"] == 0  # the mirror says exactly what the board shows


def test_reconcile_fix_of_every_customer_on_a_production_board_needs_all(project):
    text = project.config_path.read_text().replace("production = false", "production = true", 1)
    config = project.directory / "production.toml"
    config.write_text(text)
    refused = run_cli("--config", str(config), "reconcile", "--fix", env=project.env)
    assert refused.exit_code == 2
    assert "refusing to fix every customer of a production board without --all" in refused.stderr
    allowed = run_cli("--config", str(config), "reconcile", "--fix", "--all", "--json", env=project.env)
    assert allowed.exit_code == 0, allowed.stderr


def test_reconcile_fix_refuses_while_another_run_holds_the_lock(project):
    import asyncio

    store = StateStore.from_url(project.source_url)
    lock = asyncio.run(acquire_lock(store, project.board_id))
    try:
        busy = project.run("reconcile", "--fix")
        read_only = project.run("reconcile", "--json")
        syncing = project.run("sync", "--customer", "GREYSON", "--json")
    finally:
        lock.release()
        store.engine.dispose()
    assert busy.exit_code == 4
    assert f"board {project.board_id} is being synced by" in busy.stderr and "--wait" in busy.stderr
    assert read_only.exit_code == 0  # reading takes no lock
    assert syncing.exit_code == 4 and syncing.json()["error"]["type"] == "LockHeld"
    assert f"board {project.board_id} is being synced by" in syncing.stderr
