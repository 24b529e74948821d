"""Staging and diff against the synced mirror, on SQLite and PostgreSQL.

Each test stages a hand-made source (`order_table`), confirms a first sync into the mirror the way
the sync records it, edits the source, and reads back exactly what the next run would do.
"""

from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa

from order_table import (
    SIZES,
    confirm_sync,
    create_order_table,
    item_states,
    key,
    make_config,
    order_line,
    plan_run,
    run_errors,
    subitem_states,
)
from ordersync.engine.filters import Filters
from ordersync.errors import UsageError
from ordersync.state import SCHEMA_VERSION, StateStore

NEW_CREATE = ("NEW", "create")
CHANGED_UPDATE = ("CHANGED", "update")
UNCHANGED = ("UNCHANGED", "none")
REMOVED_ARCHIVE = ("REMOVED", "archive")


def synced_once(url, lines, **config_options):
    """A source with these lines, planned and confirmed once: the state a second run diffs against."""
    table = create_order_table(url, lines)
    config = make_config(url, **config_options)
    prepared, store = plan_run(config)
    confirm_sync(store, prepared.run_id)
    return table, config


def test_a_first_run_creates_every_line_and_only_its_ordered_sizes(database_url):
    create_order_table(database_url, [
        order_line("A1", sizes={"XS": 1, "M": 4}),
        order_line("A2", sizes={"S": 0, "L": 2, "XL": None}),
    ])
    prepared, store = plan_run(make_config(database_url))

    assert item_states(store, prepared.run_id) == {key("A1"): NEW_CREATE, key("A2"): NEW_CREATE}
    assert subitem_states(store, prepared.run_id) == {
        (key("A1"), "XS"): ("NEW", "create", 1),
        (key("A1"), "M"): ("NEW", "create", 4),
        (key("A2"), "L"): ("NEW", "create", 2),
    }
    assert prepared.plan.totals == {
        "groups": {"create": 1},
        "items": {"create": 2, "update": 0, "archive": 0, "unchanged": 0, "failed": 0},
        "subitems": {"create": 3, "update": 0, "archive": 0, "unchanged": 0, "failed": 0},
    }


def test_after_a_confirmed_sync_the_same_source_is_unchanged_everywhere(database_url):
    synced_once(database_url, [order_line("A1"), order_line("A2", customer="TITLE 9", sizes={"XL": 7})])
    prepared, store = plan_run(make_config(database_url))

    assert set(item_states(store, prepared.run_id).values()) == {UNCHANGED}
    assert {state[:2] for state in subitem_states(store, prepared.run_id).values()} == {UNCHANGED}
    assert prepared.plan.totals["groups"]["create"] == 0
    assert prepared.plan.has_writes is False


def test_each_kind_of_source_edit_gets_exactly_its_state_and_operation(database_url):
    table, config = synced_once(database_url, [
        order_line("QTY", sizes={"S": 2, "M": 3}),
        order_line("NEWSIZE", sizes={"S": 2}),
        order_line("ZERO", sizes={"S": 2, "M": 3}),
        order_line("GONE", sizes={"S": 1}),
        order_line("SEASON", sizes={"L": 5}),
        order_line("MAPPED", sizes={"M": 1}),
        order_line("UNMAPPED", sizes={"M": 1}),
        order_line("REFORMAT", sizes={"M": 1}),
    ])
    table.update("QTY", S=5)
    table.update("NEWSIZE", XL=3)
    table.update("ZERO", M=0)
    table.delete("GONE")
    table.update("SEASON", CUSTOMER_SEASON="HOLIDAY")
    table.update("MAPPED", CUSTOMER_PRICE="13")
    table.update("UNMAPPED", NOTES="a note no board column shows")
    table.update("REFORMAT", CUSTOMER_PRICE=" 12.5 ")  # the same number, spelled otherwise
    table.insert(order_line("ADDED", sizes={"XS": 8}))

    prepared, store = plan_run(config)

    assert item_states(store, prepared.run_id) == {
        key("QTY"): UNCHANGED,  # a quantity is its subitem's business, not the item's
        key("NEWSIZE"): UNCHANGED,
        key("ZERO"): UNCHANGED,
        key("GONE"): REMOVED_ARCHIVE,
        key("SEASON"): CHANGED_UPDATE,
        key("MAPPED"): CHANGED_UPDATE,
        key("UNMAPPED"): UNCHANGED,
        key("REFORMAT"): UNCHANGED,
        key("ADDED"): NEW_CREATE,
    }
    assert subitem_states(store, prepared.run_id) == {
        (key("QTY"), "S"): ("CHANGED", "update", 5),
        (key("QTY"), "M"): ("UNCHANGED", "none", 3),
        (key("NEWSIZE"), "S"): ("UNCHANGED", "none", 2),
        (key("NEWSIZE"), "XL"): ("NEW", "create", 3),
        (key("ZERO"), "S"): ("UNCHANGED", "none", 2),
        (key("ZERO"), "M"): ("REMOVED", "archive", 3),  # the quantity the board still shows
        (key("SEASON"), "L"): ("UNCHANGED", "none", 5),
        (key("MAPPED"), "M"): ("UNCHANGED", "none", 1),
        (key("UNMAPPED"), "M"): ("UNCHANGED", "none", 1),
        (key("REFORMAT"), "M"): ("UNCHANGED", "none", 1),
        (key("ADDED"), "XS"): ("NEW", "create", 8),
    }
    customer = prepared.plan.as_dict()["customers"]["GREYSON"]
    assert customer["groups"] == {"create": 1, "names": ["GREYSON HOLIDAY"]}
    assert customer["items"] == {"create": 1, "update": 2, "archive": 1, "unchanged": 5, "failed": 0}
    assert customer["subitems"] == {"create": 2, "update": 1, "archive": 1, "unchanged": 7, "failed": 0}


def test_a_second_confirmed_sync_makes_every_edit_unchanged(database_url):
    table, config = synced_once(database_url, [order_line("A1"), order_line("A2")])
    table.update("A1", S=9, L=1, M=0, CUSTOMER_SEASON="HOLIDAY")
    table.delete("A2")
    edited, store = plan_run(config)
    confirm_sync(store, edited.run_id)

    prepared, store = plan_run(config)

    assert item_states(store, prepared.run_id) == {key("A1"): UNCHANGED}
    assert subitem_states(store, prepared.run_id) == {
        (key("A1"), "S"): ("UNCHANGED", "none", 9), (key("A1"), "L"): ("UNCHANGED", "none", 1)}


def test_a_cancelled_line_is_updated_and_kept_under_the_keep_policy(database_url):
    table, config = synced_once(database_url, [order_line("C1"), order_line("C2")], on_cancelled="keep")
    table.update("C1", ORDER_TYPE="CANCELLED")
    table.insert(order_line("C3", ORDER_TYPE="CANCELLED", sizes={"XL": 1}))

    prepared, store = plan_run(config)

    assert item_states(store, prepared.run_id) == {
        key("C1"): CHANGED_UPDATE, key("C2"): UNCHANGED, key("C3"): NEW_CREATE}
    assert subitem_states(store, prepared.run_id)[(key("C3"), "XL")] == ("NEW", "create", 1)


def test_a_cancelled_line_is_archived_and_a_new_one_never_created_under_the_archive_policy(database_url):
    table, config = synced_once(database_url, [order_line("C1"), order_line("C2")], on_cancelled="archive")
    table.update("C1", ORDER_TYPE="CANCELLED", S=4)
    table.insert(order_line("C3", ORDER_TYPE="CANCELLED", sizes={"XL": 1}))

    prepared, store = plan_run(config)

    assert item_states(store, prepared.run_id) == {
        key("C1"): ("CHANGED", "archive"), key("C2"): UNCHANGED, key("C3"): ("NEW", "none")}
    subitems = subitem_states(store, prepared.run_id)
    # sizes under an archived or skipped item are left alone, whatever changed
    assert subitems[(key("C1"), "S")] == ("CHANGED", "none", 4)
    assert subitems[(key("C3"), "XL")] == ("NEW", "none", 1)
    totals = prepared.plan.totals
    assert totals["items"] == {"create": 0, "update": 0, "archive": 1, "unchanged": 2, "failed": 0}
    assert totals["subitems"]["create"] == 0 and totals["subitems"]["update"] == 0


@pytest.mark.parametrize(("policy", "operation"), [("delete", "delete"), ("leave", "none")])
def test_the_removal_policy_decides_what_happens_to_a_deleted_line(database_url, policy, operation):
    table, config = synced_once(database_url, [order_line("A1"), order_line("A2")], on_removed=policy)
    table.delete("A2")
    table.update("A1", M=0)

    prepared, store = plan_run(config)

    assert item_states(store, prepared.run_id)[key("A2")] == ("REMOVED", operation)
    assert subitem_states(store, prepared.run_id)[(key("A1"), "M")] == ("REMOVED", operation, 3)


# -- removal scope ------------------------------------------------------------------------------

@pytest.fixture
def two_customers_synced(database_url):
    """GREYSON (PO 4755 and 4756, two seasons) and TITLE NINE, synced; then one line of each deleted."""
    table, config = synced_once(database_url, [
        order_line("G1"), order_line("G2"), order_line("G3", po="4756", AAG_SEASON="2026 SPRING"),
        order_line("G4", po="4756", AAG_SEASON="2026 SPRING"),
        order_line("T1", customer="TITLE NINE"), order_line("T2", customer="TITLE 9"),
    ])
    for number in ("G2", "G4", "T2"):
        table.delete(number)
    return config


def removed(store, run_id) -> set[str]:
    return {item_key for item_key, (state, _) in item_states(store, run_id).items() if state == "REMOVED"}


def test_a_filtered_run_removes_only_inside_its_filter(two_customers_synced):
    runs = {
        "unfiltered": Filters(),
        "customer": Filters(customers=("GREYSON",)),
        "alias": Filters(customers=("TITLE 9",)),  # an alias names the same customer
        "exclude-customer": Filters(exclude_customers=("GREYSON CLOTHIERS",)),
        "po": Filters(po_numbers=("4755",)),
        "customer-and-po": Filters(customers=("GREYSON",), po_numbers=(" 4756 ",)),
        "aag-season": Filters(aag_seasons=("2026 SPRING",)),
    }
    found = {}
    for name, filters in runs.items():
        prepared, store = plan_run(two_customers_synced, filters)
        found[name] = {item_key.split(" | ")[0] for item_key in removed(store, prepared.run_id)}

    assert found == {
        "unfiltered": {"G2", "G4", "T2"},
        "customer": {"G2", "G4"},
        "alias": {"T2"},
        "exclude-customer": {"T2"},
        "po": {"G2", "T2"},
        "customer-and-po": {"G4"},
        "aag-season": {"G4"},
    }
    with pytest.raises(UsageError, match="no order line matches --customer-season WINTER"):
        plan_run(two_customers_synced, Filters(customer_seasons=("WINTER",)))  # a season no line has


def test_a_line_that_moved_out_of_a_filter_is_not_removed_by_it(database_url):
    table, config = synced_once(database_url, [
        order_line(number) for number in ("AAG", "SEASON", "PO", "CUSTOMER", "STAYS", "GONE")])
    table.update("AAG", AAG_SEASON="2026 SPRING")
    table.update("SEASON", CUSTOMER_SEASON="WINTER")
    table.update("PO", PO_NUMBER="4799")
    table.update("CUSTOMER", CUSTOMER_NAME="TITLE 9")
    table.delete("GONE")
    runs = {
        "AAG": Filters(aag_seasons=("2025 FALL",)),
        "SEASON": Filters(customer_seasons=("FALL",)),
        "PO": Filters(po_numbers=("4755",)),
        "CUSTOMER": Filters(customers=("GREYSON",)),
        "CUSTOMER excluded": Filters(exclude_customers=("TITLE NINE",)),
    }

    removed_by = {}
    for name, filters in runs.items():
        prepared, store = plan_run(config, filters)
        removed_by[name] = removed(store, prepared.run_id)
    whole, store = plan_run(config)

    # each run removes the line gone from the source, not the one that only left its filter
    assert removed_by == dict.fromkeys(runs, {key("GONE")})
    # the run that covers a moved line next changes it (an AAG season change shows on no column)
    assert item_states(store, whole.run_id) == {
        key("AAG"): UNCHANGED, key("SEASON"): CHANGED_UPDATE, key("PO"): CHANGED_UPDATE,
        key("CUSTOMER"): CHANGED_UPDATE, key("STAYS"): UNCHANGED, key("GONE"): REMOVED_ARCHIVE,
    }


def test_a_limited_run_never_decides_that_a_line_was_removed(two_customers_synced):
    read, archived = {}, {}
    for limit in (1, 3, 100):
        prepared, store = plan_run(two_customers_synced, Filters(limit=limit))
        read[limit] = len(item_states(store, prepared.run_id))
        archived[limit] = (removed(store, prepared.run_id), prepared.plan.totals["items"]["archive"])

    assert read == {1: 1, 3: 3, 100: 3}
    assert archived == dict.fromkeys((1, 3, 100), (set(), 0))


def test_a_limited_run_still_removes_a_size_of_a_line_it_read_whole(database_url):
    table, config = synced_once(database_url, [order_line("A1"), order_line("A2")])
    table.update("A1", M=None)

    prepared, store = plan_run(config, Filters(limit=1))

    assert subitem_states(store, prepared.run_id)[(key("A1"), "M")] == ("REMOVED", "archive", 3)


def test_a_line_that_fails_this_run_is_never_removed(database_url):
    table, config = synced_once(database_url, [order_line("A1"), order_line("A2")])
    table.update("A1", CUSTOMER_PRICE="TBC")
    table.update("A2", CUSTOMER_NAME=None, S=None)

    prepared, store = plan_run(config)

    assert item_states(store, prepared.run_id) == {}
    assert subitem_states(store, prepared.run_id) == {}
    assert {error["item_key"] for error in run_errors(store, prepared.run_id)} == {key("A1"), key("A2")}
    assert prepared.plan.totals["items"] == {"create": 0, "update": 0, "archive": 0, "unchanged": 0, "failed": 2}


# -- bad rows -----------------------------------------------------------------------------------

def test_bad_rows_are_recorded_with_key_and_reason_and_every_other_row_stages(database_url):
    # text-typed sizes, listed in the config: any value can sit in them, as in a loosely typed source
    create_order_table(database_url, [
        order_line("OK1", sizes={"S": "2", "M": "3"}),
        order_line(None, sizes={"S": "1"}),
        order_line("WORDS", sizes={"S": "abc"}),
        order_line("NEG", sizes={"M": "-1"}),
        order_line("HALF", sizes={"L": "1.5"}),
        order_line("TWICE", sizes={"S": "1"}),
        order_line("TWICE", sizes={"M": "4"}, CUSTOMER_COLOUR_DESCRIPTION="WHITE"),
        order_line("PRICE", sizes={"S": "1"}, CUSTOMER_PRICE="TBC"),
        order_line("OK2", sizes={"XL": " 7 "}),
    ], size_type=sa.UnicodeText())
    prepared, store = plan_run(make_config(database_url, size_list=SIZES))

    errors = run_errors(store, prepared.run_id)
    by_key = {}
    for error in errors:
        by_key.setdefault(error["item_key"], []).append(error)
    assert set(by_key) == {None, key("WORDS"), key("NEG"), key("HALF"), key("TWICE"), key("PRICE")}
    assert [error["message"] for error in by_key[None]] == ["no business key: AAG ORDER NUMBER is empty"]
    assert json.loads(by_key[None][0]["payload"])["CUSTOMER NAME"] == "GREYSON"  # a person can find the row
    assert by_key[key("WORDS")][0]["field"] == "S" and "'abc' is not a number" in by_key[key("WORDS")][0]["message"]
    assert by_key[key("NEG")][0]["field"] == "M" and "negative" in by_key[key("NEG")][0]["message"]
    assert by_key[key("HALF")][0]["field"] == "L" and "whole number" in by_key[key("HALF")][0]["message"]
    assert len({error["source_row"] for error in by_key[key("TWICE")]}) == 2  # both lines, neither staged
    assert all("duplicate business key" in error["message"] for error in by_key[key("TWICE")])
    assert by_key[key("PRICE")][0]["field"] == "CUSTOMER PRICE"
    assert "'TBC' is not a number" in by_key[key("PRICE")][0]["message"]
    assert all(error["stage"] == "transform" and error["category"] == "validation" for error in errors)

    assert item_states(store, prepared.run_id) == {key("OK1"): NEW_CREATE, key("OK2"): NEW_CREATE}
    assert set(subitem_states(store, prepared.run_id)) == {(key("OK1"), "S"), (key("OK1"), "M"), (key("OK2"), "XL")}
    assert prepared.staging.items == 2 and prepared.staging.subitems == 3 and prepared.staging.duplicate_keys == 1
    assert prepared.plan.totals["items"]["failed"] == 7


def test_sqlite_loose_typing_in_an_integer_size_column_fails_only_that_row(sqlite_url):
    table = create_order_table(sqlite_url, [order_line("OK"), order_line("BAD")])
    with table.engine.begin() as connection:  # SQLite keeps what it cannot convert to an integer
        connection.execute(sa.text('UPDATE "ORDERS_UNIFIED" SET "S" = \'two\', "M" = 2.5 '
                                   'WHERE "AAG ORDER NUMBER" = \'BAD\''))
    prepared, store = plan_run(make_config(sqlite_url))

    [error] = run_errors(store, prepared.run_id)
    assert (error["item_key"], error["field"]) == (key("BAD"), "S")
    assert item_states(store, prepared.run_id) == {key("OK"): NEW_CREATE}


def test_a_duplicate_of_a_line_that_failed_still_keeps_both_off_the_board(database_url):
    create_order_table(database_url, [
        order_line("DUP", CUSTOMER_PRICE="TBC"), order_line("DUP", CUSTOMER_COLOUR_DESCRIPTION="WHITE"),
        order_line("DUP2"), order_line("DUP2", CUSTOMER_PRICE="TBC"),
        order_line("OK"),
    ])
    prepared, store = plan_run(make_config(database_url))

    assert item_states(store, prepared.run_id) == {key("OK"): NEW_CREATE}
    assert {(key_, size) for key_, size in subitem_states(store, prepared.run_id)} == {(key("OK"), "S"), (key("OK"), "M")}
    failed_rows = {(error["item_key"], error["source_row"]) for error in run_errors(store, prepared.run_id)}
    assert failed_rows == {(key("DUP"), 1), (key("DUP"), 2), (key("DUP2"), 3), (key("DUP2"), 4)}
    assert prepared.staging.items == 1 and prepared.staging.subitems == 2
    assert prepared.plan.totals["items"]["failed"] == 4


def test_values_too_long_for_the_state_tables_fail_their_row_not_the_run(database_url):
    create_order_table(database_url, [
        order_line("LONGPO", po="P" * 201),
        order_line("LONGSEASON", CUSTOMER_SEASON="S" * 201),
        order_line("LONGGROUP", customer="C" * 150, CUSTOMER_SEASON="S" * 150),
        order_line("LONGCUSTOMER", customer="C" * 201),
        order_line("OK"),
    ])
    prepared, store = plan_run(make_config(database_url))

    fields = {error["item_key"]: error["field"] for error in run_errors(store, prepared.run_id)}
    assert fields == {key("LONGPO"): "PO NUMBER", key("LONGSEASON"): "CUSTOMER SEASON",
                      key("LONGGROUP"): "group name", key("LONGCUSTOMER"): "CUSTOMER NAME"}
    assert item_states(store, prepared.run_id) == {key("OK"): NEW_CREATE}


def test_a_quantity_beyond_what_the_state_tables_hold_fails_its_row(database_url):
    create_order_table(database_url, [order_line("MANY", sizes={"S": 3_000_000_000}, TOTAL_QTY=None), order_line("OK")],
                       size_type=sa.BigInteger())
    prepared, store = plan_run(make_config(database_url))

    [error] = run_errors(store, prepared.run_id)
    assert (error["item_key"], error["field"]) == (key("MANY"), "S")
    assert "more pieces than a quantity can hold" in error["message"]
    assert item_states(store, prepared.run_id) == {key("OK"): NEW_CREATE}


def test_state_tables_created_by_several_processes_at_once(database_url):
    """Syncs started together on a new database race to create the state tables; none fails."""
    stores = [StateStore.from_url(database_url) for _ in range(6)]
    start = threading.Barrier(len(stores))
    failures: list[BaseException] = []

    def create(store: StateStore) -> None:
        start.wait()
        try:
            store.ensure_schema()
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=create, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with stores[0].engine.connect() as connection:
        meta = stores[0].tables.meta
        assert connection.execute(sa.select(meta.c.value)).scalars().all() == [str(SCHEMA_VERSION)]
    for store in stores:
        store.engine.dispose()
