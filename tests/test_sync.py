"""The sync engine against the emulator: the board read back through the API equals the source."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ordersync.engine.filters import Filters
from ordersync.errors import ConfigError, UsageError
from ordersync.state import RunStatus, StateStore
from sync_world import make_world

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_a_first_sync_makes_the_board_equal_the_source(database_url):
    async with make_world(database_url, rows=300) as world:
        result = await world.sync()
        assert result.status is RunStatus.COMPLETED
        drift = await world.drift()
        assert drift.clean, drift.findings
        assert drift.board_items == drift.source_items > 250
        assert drift.board_subitems == drift.source_subitems > drift.board_items
        totals = result.as_dict()["totals"]
        assert totals["items"]["create"] == drift.source_items
        assert totals["subitems"]["create"] == drift.source_subitems
        assert result.exit_code == 0


async def test_greyson_po_4755_gets_its_264_subitems(sqlite_url):
    async with make_world(sqlite_url, rows=150) as world:
        result = await world.sync(filters=Filters(customers=("GREYSON",), po_numbers=("4755",)))
        assert result.as_dict()["totals"]["subitems"]["create"] == 264
        board = await world.board()
        assert len(board) == 69
        assert sum(len(entries) for item in board for entries in item.subitems.values()) == 264
        assert {item.group for item in board} == {"GREYSON 2025 FALL"}
        assert (await world.drift(Filters(customers=("GREYSON",), po_numbers=("4755",)))).clean


async def test_items_land_in_one_group_per_customer_and_season_never_all_in_one(sqlite_url):
    async with make_world(sqlite_url, rows=150) as world:  # 150 lines: over 30 customer-seasons
        await world.sync()
        board = await world.board()
        groups = {item.group for item in board}
        assert len(groups) > 20
        for item in board:
            customer = item.texts["dropdown_mkr542p2"]
            assert item.group.startswith(customer) or item.group == "check"


async def test_groups_are_created_once_and_in_alphabetical_order(sqlite_url):
    async with make_world(sqlite_url, rows=150) as world:
        result = await world.sync()
        created = [group["name"] for customer in result.customers.values() for group in customer.groups_created]
        assert len(created) == len(set(created))
        schema = await world.client().board_schema(world.board_id)
        titles = [group["title"] for group in sorted(schema["groups"], key=lambda g: float(g["position"]))]
        assert titles == sorted(titles, key=str.casefold)
        assert set(created) <= set(titles)


async def test_a_second_run_with_no_change_sends_no_mutation(sqlite_url):
    async with make_world(sqlite_url, rows=300) as world:
        await world.sync()
        again = await world.sync()
        assert again.status is RunStatus.COMPLETED
        assert again.stats.mutation_requests == 0 and again.stats.mutations_sent == 0
        totals = again.as_dict()["totals"]
        assert totals["items"]["create"] == totals["items"]["update"] == totals["items"]["archive"] == 0
        assert totals["items"]["unchanged"] > 250


async def test_source_edits_make_exactly_the_matching_api_changes(database_url):
    async with make_world(database_url, rows=300) as world:
        await world.sync()
        # pick a GREYSON line with at least two sizes, and note its key columns
        [(aag, method, style, season)] = world.query(
            'SELECT "AAG ORDER NUMBER", "PLANNED DELIVERY METHOD", "CUSTOMER STYLE", "CUSTOMER SEASON" '
            'FROM "ORDERS_UNIFIED" WHERE "CUSTOMER NAME" = \'GREYSON\' AND "M" > 0 AND "L" > 0 '
            'AND "AAG ORDER NUMBER" IS NOT NULL ORDER BY "AAG ORDER NUMBER" LIMIT 1')
        where = ('"AAG ORDER NUMBER" = :aag AND "PLANNED DELIVERY METHOD" = :method AND "CUSTOMER STYLE" = :style')
        keys = {"aag": aag, "method": method, "style": style}
        world.execute(f'UPDATE "ORDERS_UNIFIED" SET "M" = "M" + 5, "L" = 0, "XXS" = 7 WHERE {where}', **keys)
        world.execute(f'UPDATE "ORDERS_UNIFIED" SET "CUSTOMER SEASON" = \'2031 MOONSHOT\' WHERE {where}', **keys)
        [(removed_aag, removed_method, removed_style)] = world.query(
            'SELECT "AAG ORDER NUMBER", "PLANNED DELIVERY METHOD", "CUSTOMER STYLE" FROM "ORDERS_UNIFIED" '
            'WHERE "CUSTOMER NAME" = \'PELOTON\' AND "AAG ORDER NUMBER" IS NOT NULL ORDER BY "AAG ORDER NUMBER" '
            'LIMIT 1')
        world.execute('DELETE FROM "ORDERS_UNIFIED" WHERE "AAG ORDER NUMBER" = :a AND "PLANNED DELIVERY METHOD" = :m '
                      'AND "CUSTOMER STYLE" = :s', a=removed_aag, m=removed_method, s=removed_style)
        world.execute('INSERT INTO "ORDERS_UNIFIED" ("AAG ORDER NUMBER", "CUSTOMER NAME", "PO NUMBER", '
                      '"AAG SEASON", "CUSTOMER STYLE", "CUSTOMER COLOUR DESCRIPTION", "PLANNED DELIVERY METHOD", '
                      '"ORDER TYPE", "S", "M", "TOTAL QTY") VALUES (\'GRE-99999\', \'GREYSON\', \'9999\', '
                      '\'2025 FALL\', \'NEWSTYLE\', \'BLACK\', \'OCEAN\', \'RECEIVED\', 3, 4, 7)')

        result = await world.sync()
        totals = result.as_dict()["totals"]
        assert totals["items"]["create"] == 1  # the new line
        assert totals["items"]["update"] == 1  # the edited line (values + move to its new group)
        assert totals["items"]["archive"] == 1  # the deleted line
        assert totals["subitems"]["create"] == 2 + 1  # new line's S and M, plus XXS on the edited one
        assert totals["subitems"]["update"] == 1  # M changed
        assert totals["subitems"]["archive"] == 1  # L went to zero
        assert totals["groups"]["create"] == 1  # GREYSON 2031 MOONSHOT
        assert result.stats.by_kind == {"create_group": 1, "create_item": 1, "change_multiple_column_values": 2,
                                        "move_item_to_group": 1, "create_subitem": 3, "archive_item": 2}
        drift = await world.drift()
        assert drift.clean, drift.findings
        moved = [item for item in await world.board() if item.key == f"{aag} | {method} | {style}"]
        assert [item.group for item in moved] == ["GREYSON 2031 MOONSHOT"]
        del season


async def test_bad_rows_are_recorded_and_every_other_row_syncs(sqlite_url):
    async with make_world(sqlite_url, rows=300) as world:
        [(first,), (second,), (third,)] = world.query(
            'SELECT "AAG ORDER NUMBER" FROM "ORDERS_UNIFIED" WHERE "CUSTOMER NAME" = \'PELOTON\' '
            'ORDER BY "AAG ORDER NUMBER" LIMIT 3')
        world.execute('UPDATE "ORDERS_UNIFIED" SET "AAG ORDER NUMBER" = NULL WHERE "AAG ORDER NUMBER" = :a', a=first)
        world.execute('UPDATE "ORDERS_UNIFIED" SET "CUSTOMER PRICE" = \'TBC\' WHERE "AAG ORDER NUMBER" = :a', a=second)
        world.execute('UPDATE "ORDERS_UNIFIED" SET "M" = \'a dozen\' WHERE "AAG ORDER NUMBER" = :a', a=third)
        world.execute('INSERT INTO "ORDERS_UNIFIED" SELECT * FROM "ORDERS_UNIFIED" WHERE "CUSTOMER NAME" = '
                      '\'GREYSON\' AND "PO NUMBER" = \'4755\' ORDER BY "AAG ORDER NUMBER" LIMIT 1')
        result = await world.sync()
        totals = result.as_dict()["totals"]
        assert totals["items"]["failed"] == 5  # no key, bad price, bad quantity, and both lines of the duplicate
        assert result.exit_code == 1
        drift = await world.drift()
        assert drift.clean, drift.findings
        assert drift.board_items == totals["items"]["create"] > 250
        errors = StateStore.from_url(sqlite_url).tables.errors
        engine = sa.create_engine(sqlite_url)
        with engine.connect() as connection:
            recorded = connection.execute(sa.select(errors.c.item_key, errors.c.field, errors.c.message).where(
                errors.c.run_id == result.run_id)).all()
        messages = " | ".join(message for _, _, message in recorded)
        assert "no business key: AAG ORDER NUMBER is empty" in messages
        assert "'TBC' is not a number" in messages
        assert "size M: 'a dozen' is not a number" in messages
        assert messages.count("duplicate business key") == 2
        assert all(key and key.startswith(("PEL-", "GRE-")) for key, field, _ in recorded if field != "AAG ORDER NUMBER")


async def test_cancelled_orders_stay_with_their_new_values_by_default(sqlite_url):
    async with make_world(sqlite_url, rows=150) as world:
        await world.sync()
        [(aag,)] = world.query('SELECT "AAG ORDER NUMBER" FROM "ORDERS_UNIFIED" WHERE "ORDER TYPE" = \'RECEIVED\' '
                               'AND "AAG ORDER NUMBER" IS NOT NULL ORDER BY "AAG ORDER NUMBER" LIMIT 1')
        world.execute('UPDATE "ORDERS_UNIFIED" SET "ORDER TYPE" = \'CANCELLED\' WHERE "AAG ORDER NUMBER" = :a', a=aag)
        result = await world.sync()
        assert result.as_dict()["totals"]["items"]["archive"] == 0
        cancelled = [item for item in await world.board() if item.key and item.key.startswith(aag)]
        assert cancelled and all(item.texts["dropdown_mkr518fc"] == "CANCELLED" for item in cancelled)


async def test_cancelled_orders_are_archived_when_configured(sqlite_url):
    async with make_world(sqlite_url, rows=150) as world:
        await world.sync()
        [(aag,)] = world.query('SELECT "AAG ORDER NUMBER" FROM "ORDERS_UNIFIED" WHERE "ORDER TYPE" = \'RECEIVED\' '
                               'AND "AAG ORDER NUMBER" IS NOT NULL ORDER BY "AAG ORDER NUMBER" LIMIT 1')
        lines = world.execute('UPDATE "ORDERS_UNIFIED" SET "ORDER TYPE" = \'CANCELLED\' WHERE "AAG ORDER NUMBER" = :a',
                              a=aag)
        world.reconfigure(items__on_cancelled="archive")
        result = await world.sync()
        assert result.as_dict()["totals"]["items"]["archive"] >= lines
        assert not [item for item in await world.board() if item.key and item.key.startswith(aag)]
        assert (await world.drift()).clean


async def test_an_unfiltered_sync_refuses_without_all(sqlite_url):
    async with make_world(sqlite_url, rows=150) as world:
        with pytest.raises(UsageError, match="--all"):
            await world.sync(all_customers=False)


async def test_a_sync_needs_a_board_with_the_key_column(sqlite_url):
    async with make_world(sqlite_url, rows=150) as world:
        world.reconfigure(monday__key_column="text_nope")
        with pytest.raises(ConfigError, match="text_nope"):
            await world.sync()


async def test_skip_subitems_leaves_them_for_a_later_run(sqlite_url):
    async with make_world(sqlite_url, rows=200) as world:
        first = await world.sync(skip_subitems=True)
        assert first.status is RunStatus.ITEMS_COMPLETED
        board = await world.board()
        assert board and not any(item.subitems for item in board)
        second = await world.sync()
        assert second.status is RunStatus.COMPLETED
        assert second.as_dict()["totals"]["subitems"]["create"] > len(board)
        assert (await world.drift()).clean


async def test_dry_run_sends_nothing_and_changes_no_state(sqlite_url):
    async with make_world(sqlite_url, rows=200) as world:
        result = await world.sync(dry_run=True)
        assert result.status is RunStatus.PLANNED
        assert result.stats.mutation_requests == 0
        assert result.plan.totals["items"]["create"] > 150
        assert await world.board() == []
        real = await world.sync()
        assert real.as_dict()["totals"]["items"]["create"] == result.plan.totals["items"]["create"]


async def test_a_customer_filter_syncs_only_that_customer_and_archives_nothing_else(sqlite_url):
    async with make_world(sqlite_url, rows=300) as world:
        await world.sync(filters=Filters(customers=("PELOTON",)))
        board = await world.board()
        assert board and {item.texts["dropdown_mkr542p2"] for item in board} == {"PELOTON"}
        await world.sync(filters=Filters(customers=("GREYSON CLOTHIERS",)))  # an alias names the customer
        customers = {item.texts["dropdown_mkr542p2"] for item in await world.board()}
        assert customers == {"PELOTON", "GREYSON"}


async def test_staged_rows_of_old_runs_are_pruned_but_the_mirror_stays(sqlite_url):
    async with make_world(sqlite_url, rows=150) as world:
        # --full: every run stages its lines (a resync otherwise stages only the lines that changed)
        runs = [await world.sync(filters=Filters(customers=("GREYSON",)), full=True) for _ in range(7)]
        store = StateStore.from_url(sqlite_url)
        staged = store.tables.staged_items
        with store.engine.connect() as connection:
            kept = set(connection.execute(sa.select(staged.c.run_id).distinct()).scalars())
        assert kept == {run.run_id for run in runs[-5:]}
        assert (await world.drift(Filters(customers=("GREYSON",)))).clean


@pytest.mark.postgres
async def test_the_state_can_live_in_postgresql(postgres_url, sqlite_url):
    async with make_world(sqlite_url, rows=150) as world:
        world.config = world.config.model_copy(update={
            "state": world.config.state.model_copy(update={"url": postgres_url})})
        first = await world.sync(filters=Filters(customers=("GREYSON", "PELOTON")))
        assert first.status is RunStatus.COMPLETED
        assert (await world.drift(Filters(customers=("GREYSON", "PELOTON")))).clean
        again = await world.sync(filters=Filters(customers=("GREYSON", "PELOTON")))
        assert again.stats.mutations_sent == 0


async def test_a_change_the_board_does_not_show_still_reaches_the_mirror_without_a_call(sqlite_url):
    async with make_world(sqlite_url, rows=150) as world:
        world.reconfigure(hash__columns=["PO NUMBER"])  # the AAG season is then in no hashed column
        await world.sync(filters=Filters(customers=("GREYSON",)))
        world.execute('UPDATE "ORDERS_UNIFIED" SET "AAG SEASON" = \'2031 WINTER\' WHERE UPPER("CUSTOMER NAME") LIKE '
                      '\'%GREYSON%\' AND TRIM("CUSTOMER SEASON") <> \'\'')
        again = await world.sync(filters=Filters(customers=("GREYSON",)))
        assert again.stats.mutations_sent == 0
        store = StateStore.from_url(sqlite_url)
        synced = store.tables.synced_items
        with store.engine.connect() as connection:
            seasons = set(connection.execute(sa.select(synced.c.aag_season).where(
                synced.c.customer == "GREYSON", synced.c.customer_season.is_not(None))).scalars())
        assert seasons == {"2031 WINTER"}
