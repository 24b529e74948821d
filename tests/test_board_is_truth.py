"""The board is the truth of what exists (issue 10, points 1–3): a new, restored or moved state database,
or a board a person changed, never leads to a second item for one business key.

Each test drives `ordersync` through its console entry point against an emulator over loopback HTTP.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from cli_project import Project, cli_project, copy_sqlite
from ordersync.state import StateStore
from routed_boards import keys_on

KEY_COLUMN = "text_ordersync_key"


def board_keys(project: Project) -> Counter[str]:
    """How many active items carry each business key, read through the API."""
    return keys_on(project, project.board_id)


def items_count(project: Project) -> int:
    return project.graphql("query ($ids: [ID!]) { boards(ids: $ids) { items_count } }",
                           ids=[project.board_id])["boards"][0]["items_count"]


def use_state_database(project: Project, name: str) -> None:
    project.edit_config('# url = "sqlite:///ordersync-state.db"', f'url = "sqlite:///{name}"')


@pytest.fixture
def project(tmp_path):
    with cli_project(tmp_path / "project", rows=150) as project:
        yield project


def test_a_new_state_database_adopts_what_the_board_holds(project):
    first = project.run("sync", "--customer", "GREYSON", "--json")
    assert first.exit_code == 0, first.stderr
    made = first.json()["totals"]["items"]["create"]
    assert made > 0
    use_state_database(project, "new-state.db")  # as the README invites: a new, empty state database

    second = project.run("sync", "--customer", "GREYSON", "--json")
    assert second.exit_code == 0, second.stderr
    result = second.json()
    assert result["totals"]["items"].get("create", 0) == 0
    assert result["totals"]["subitems"].get("create", 0) == 0
    assert result["adopted"]["how"] == "read" and result["adopted"]["adopted"] == made
    assert result["api"]["mutations"] == 0  # the board already shows what the source holds
    assert items_count(project) == made and max(board_keys(project).values()) == 1

    third = project.run("sync", "--customer", "GREYSON", "--json")  # now the mirror vouches: no board read
    assert third.json()["adopted"]["how"] == "vouched" and third.json()["api"]["mutations"] == 0
    assert project.run("reconcile", "--customer", "GREYSON", "--json").json()["clean"] is True


def test_a_restored_backup_neither_duplicates_nor_replays_later_writes(project):
    assert project.run("sync", "--customer", "GREYSON", "--json").exit_code == 0
    database = project.directory / "ordersync.db"
    backup = project.directory / "backup.db"
    copy_sqlite(database, backup)  # the nightly backup (source and state tables share the file here)
    later = project.run("sync", "--customer", "PELOTON", "--json")
    assert later.exit_code == 0 and later.json()["totals"]["items"]["create"] > 0
    copy_sqlite(backup, database)  # restored: it knows nothing of PELOTON's items

    # Its next run counts run and intent ids again from where the backup stood: the keys of the
    # PELOTON run must not come back and make Monday replay their answers for other lines.
    other = project.run("sync", "--customer", "SUN DAY RED", "--json")
    again = project.run("sync", "--customer", "PELOTON", "--json")
    assert other.exit_code == 0 and again.exit_code == 0, other.stderr + again.stderr
    assert again.json()["totals"]["items"].get("create", 0) == 0
    assert again.json()["adopted"]["adopted"] == later.json()["totals"]["items"]["create"]
    assert max(board_keys(project).values()) == 1
    for customer in ("GREYSON", "PELOTON", "SUN DAY RED"):
        drift = project.run("reconcile", "--customer", customer, "--json")
        assert drift.json()["clean"] is True, (customer, drift.json()["drift"]["counts"])


def test_an_item_a_person_deleted_is_created_again(project):
    assert project.run("sync", "--customer", "GREYSON", "--json").exit_code == 0
    store = StateStore.from_url(project.source_url)
    with store.engine.connect() as connection:
        key, item_id = connection.execute(sa.select(store.tables.synced_items.c.item_key,
                                                    store.tables.synced_items.c.monday_item_id)).first()
    store.engine.dispose()
    project.graphql("mutation ($id: ID) { delete_item(item_id: $id) { id } }", id=item_id)

    again = project.run("sync", "--customer", "GREYSON", "--json")
    assert again.exit_code == 0, again.stderr
    assert board_keys(project)[key] == 1
    assert again.json()["totals"]["items"]["create"] == 1
    assert again.json()["adopted"]["forgotten"] == 1


def test_a_line_already_on_the_board_is_adopted_not_created(project):
    """A vouched mirror still looks up, by the key column, every line it is about to create."""
    assert project.run("sync", "--customer", "GREYSON", "--json").exit_code == 0
    store = StateStore.from_url(project.source_url)
    with store.engine.begin() as connection:  # the mirror forgets one line, as a lost record would
        key = connection.execute(sa.select(store.tables.synced_items.c.item_key)).scalars().first()
        connection.execute(sa.delete(store.tables.synced_subitems).where(
            store.tables.synced_subitems.c.item_key == key))
        connection.execute(sa.delete(store.tables.synced_items).where(store.tables.synced_items.c.item_key == key))
    store.engine.dispose()

    again = project.run("sync", "--customer", "GREYSON", "--json")
    assert again.exit_code == 0, again.stderr
    assert board_keys(project)[key] == 1
    assert again.json()["totals"]["items"].get("create", 0) == 0
    adopted = again.json()["adopted"]
    assert (adopted["how"], adopted["compared"], adopted["adopted"]) == ("vouched", 1, 1)


def test_reconcile_fix_keeps_the_oldest_item_and_says_so(project):
    assert project.run("sync", "--customer", "GREYSON", "--json").exit_code == 0
    store = StateStore.from_url(project.source_url)
    synced = store.tables.synced_items
    with store.engine.connect() as connection:
        key, original = connection.execute(sa.select(synced.c.item_key, synced.c.monday_item_id)).first()
    create = ("mutation ($b: ID!, $n: String!, $v: JSON) { create_item(board_id: $b, item_name: $n, "
              "column_values: $v) { id } }")
    copy = project.graphql(create, b=project.board_id, n="a copy",
                           v=json.dumps({KEY_COLUMN: key}))["create_item"]["id"]
    with store.engine.begin() as connection:  # the mirror knows the copy, as an older release left it
        connection.execute(sa.update(synced).where(synced.c.item_key == key).values(monday_item_id=copy))
    store.engine.dispose()

    fixed = project.run("reconcile", "--customer", "GREYSON", "--fix", "--json")
    assert fixed.exit_code == 0, fixed.stdout + fixed.stderr
    result = fixed.json()["fixed"]
    assert [entry["id"] for entry in result["archived"]] == [copy]
    assert result["kept"] == [{"key": key, "id": original}]
    states = project.graphql("query ($ids: [ID!]) { items(ids: $ids) { id state } }", ids=[original, copy])["items"]
    assert {item["id"]: item["state"] for item in states} == {original: "active", copy: "archived"}
    printed = project.run("reconcile", "--customer", "GREYSON")
    assert printed.exit_code == 0


def test_an_answer_naming_another_board_is_refused_not_recorded(project, tmp_path, monkeypatch):
    """Two installations whose keys collide (as every release before installation-scoped keys did):
    the second one's creates come back with the first one's answers, which name the first board."""
    from cli_project import _create_board, project_config_text, run_cli
    from ordersync.sample_data import write_sample_data

    monkeypatch.setattr(StateStore, "write_scope", lambda self, board_id: "one-scope-for-everyone", raising=False)
    assert project.run("sync", "--customer", "GREYSON", "--json").exit_code == 0
    other = tmp_path / "other"
    other.mkdir()
    write_sample_data(f"sqlite:///{other / 'ordersync.db'}", rows=150)
    import asyncio

    board = asyncio.run(_create_board(project.base_url))
    config = other / "ordersync.toml"
    config.write_text(project_config_text(project.base_url, board), encoding="utf-8")

    second = run_cli("--config", str(config), "sync", "--customer", "GREYSON", "--json", env=project.env)
    assert second.exit_code == 1, second.stderr
    assert second.json()["totals"]["items"].get("create", 0) == 0  # nothing recorded as created
    assert "replayed answer" in second.stderr or second.json()["totals"]["items"]["failed"] > 0
    store = StateStore.from_url(f"sqlite:///{other / 'ordersync.db'}")
    with store.engine.connect() as connection:
        recorded = connection.execute(sa.select(sa.func.count()).select_from(store.tables.synced_items)).scalar_one()
    store.engine.dispose()
    assert recorded == 0


def test_a_sync_of_everything_archives_board_items_whose_line_is_gone_even_from_a_new_state_database(project):
    assert project.run("sync", "--all", "--json").exit_code == 0
    engine = sa.create_engine(project.source_url)
    with engine.begin() as connection:  # one GREYSON line leaves the warehouse…
        gone = connection.execute(sa.text(
            "SELECT item_key FROM ordersync_synced_items WHERE customer = 'GREYSON' ORDER BY item_key")).scalar()
        po, style = gone.split(" | ")[0], gone.split(" | ")[-1]
        removed = connection.execute(sa.text(
            'DELETE FROM "ORDERS_UNIFIED" WHERE "AAG ORDER NUMBER" = :po AND "CUSTOMER STYLE" = :style'),
            {"po": po, "style": style}).rowcount
    engine.dispose()
    assert removed == 1
    use_state_database(project, "new-state.db")  # …and the state database is new: it never knew that item

    again = project.run("sync", "--all", "--json")
    assert again.exit_code == 0, again.stderr
    assert board_keys(project)[gone] == 0
    assert again.json()["totals"]["items"]["archive"] == 1 and again.json()["adopted"]["gone"] == 1
    assert project.run("reconcile", "--json").json()["clean"] is True


def test_a_restored_backup_older_than_the_boards_values_puts_its_values_back(project):
    """Same items, newer values: the board's mark (its newest update) tells the mirror is older than
    the board, and the items edited since are read and compared — the count alone would not tell."""
    assert project.run("sync", "--customer", "GREYSON", "--json").exit_code == 0
    database = project.directory / "ordersync.db"
    copy_sqlite(database, project.directory / "backup.db")
    time.sleep(1.1)  # later: Monday's times have whole seconds (an edit in the second of the last write keeps it)
    engine = sa.create_engine(project.source_url)
    with engine.begin() as connection:  # the warehouse changes a quantity; the next sync sends it
        changed = connection.execute(sa.text(
            'UPDATE "ORDERS_UNIFIED" SET "M" = "M" + 5 WHERE "CUSTOMER NAME" = \'GREYSON\' AND "M" > 0')).rowcount
    engine.dispose()
    assert changed > 0
    newer = project.run("sync", "--customer", "GREYSON", "--json")
    assert newer.exit_code == 0 and newer.json()["totals"]["subitems"]["update"] > 0
    copy_sqlite(project.directory / "backup.db", database)  # restored: source and mirror from before

    again = project.run("sync", "--customer", "GREYSON", "--json")
    assert again.exit_code == 0, again.stderr
    drift = project.run("reconcile", "--customer", "GREYSON", "--json").json()
    assert drift["clean"] is True, (drift["drift"]["findings"], again.json()["adopted"])
    assert again.json()["adopted"]["how"] == "changed" and again.json()["adopted"]["differing"] > 0
    assert again.json()["totals"]["subitems"]["update"] == newer.json()["totals"]["subitems"]["update"]


def test_the_sync_says_what_it_adopted(project):
    assert project.run("sync", "--customer", "GREYSON").exit_code == 0
    use_state_database(project, "new-state.db")
    printed = project.run("sync", "--customer", "GREYSON")
    assert printed.exit_code == 0, printed.stderr
    assert "board checked first (read the whole board): 81 order lines already on it adopted" in printed.stderr


def test_a_resync_with_nothing_changed_costs_the_schema_reads_alone_and_still_sees_a_later_edit(project):
    """Issue 12: a nothing-changed resync sends at most 2 requests (the board's and its subitem board's
    schema). Its mark comes from those reads, and a person's edit after it still makes the next run check."""
    assert project.run("sync", "--customer", "GREYSON", "--json").exit_code == 0
    for _ in range(2):  # the second no-op trusts the mark the first recorded without a request of its own
        again = project.run("sync", "--customer", "GREYSON", "--json")
        assert again.exit_code == 0, again.stderr
        assert again.json()["adopted"]["how"] == "vouched"
        assert again.json()["api"]["mutations"] == 0 and again.json()["api"]["requests"] == 2, again.json()["api"]
    time.sleep(1.1)  # Monday's times have whole seconds
    item = project.graphql("query ($ids: [ID!]) { boards(ids: $ids) { items_page(limit: 1) { items { id } } } }",
                           ids=[project.board_id])["boards"][0]["items_page"]["items"][0]
    project.emulator("POST", "/operator/edit", json={"board_id": project.board_id, "item_id": item["id"],
                                                     "name": "renamed by a planner", "user_id": 70000001})
    edited = project.run("sync", "--customer", "GREYSON", "--json")
    assert edited.exit_code == 0, edited.stderr
    assert edited.json()["adopted"]["how"] != "vouched"
