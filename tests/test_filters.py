"""Filters: the one test of whether an order line is in a run's scope, and which runs need --all."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ordersync.engine.filters import Filters, Scope, canonical_customers

LOOKUP = canonical_customers({"GREYSON": ["GREYSON CLOTHIERS"], "TITLE NINE": ["TITLE 9"]})


def test_an_exclude_only_run_is_filtered_but_still_reaches_every_other_customer_so_it_needs_all():
    excluding = Filters(exclude_customers=("GREYSON",))
    assert not excluding.is_unfiltered
    assert excluding.reaches_every_customer
    assert Filters().is_unfiltered and Filters().reaches_every_customer


@pytest.mark.parametrize("filters", [
    Filters(customers=("GREYSON",)), Filters(po_numbers=("PO-1",)), Filters(aag_seasons=("2025 FALL",)),
    Filters(customer_seasons=("FA25",)), Filters(limit=10), Filters(item_keys=frozenset({"K"})),
])
def test_a_run_narrowed_to_customers_pos_seasons_a_limit_or_keys_does_not_need_all(filters):
    assert not filters.reaches_every_customer
    assert not filters.is_unfiltered


def test_the_scope_holds_canonical_customers_and_trimmed_values():
    scope = Filters(customers=("greyson clothiers ",), exclude_customers=("TITLE 9",), po_numbers=(" PO-1 ",)).scope(LOOKUP)
    assert scope == Scope(customers=frozenset({"GREYSON"}), exclude_customers=frozenset({"TITLE NINE"}),
                          po_numbers=frozenset({"PO-1"}))


@pytest.mark.parametrize(("filters", "line", "inside"), [
    (Filters(), ("GREYSON", "PO-1", "2025 FALL", "FA25"), True),
    (Filters(customers=("GREYSON CLOTHIERS",)), ("GREYSON", "PO-1", None, None), True),
    (Filters(customers=("GREYSON",)), ("TITLE NINE", "PO-1", None, None), False),
    (Filters(exclude_customers=("TITLE 9",)), ("TITLE NINE", "PO-1", None, None), False),
    (Filters(exclude_customers=("TITLE 9",)), ("GREYSON", "PO-1", None, None), True),
    (Filters(po_numbers=("PO-1",)), ("GREYSON", "PO-2", None, None), False),
    (Filters(aag_seasons=("2025 FALL",)), ("GREYSON", "PO-1", None, None), False),
    (Filters(customer_seasons=("FA25",)), ("GREYSON", "PO-1", None, "FA25"), True),
])
def test_a_line_is_in_scope_in_python_exactly_when_it_is_in_sql(filters, line, inside):
    scope = filters.scope(LOOKUP)
    assert scope.contains(*line) is inside
    table = sa.Table("lines", sa.MetaData(), *(sa.Column(name, sa.String) for name in
                                               ("customer", "po_number", "aag_season", "customer_season")))
    engine = sa.create_engine("sqlite://")
    with engine.begin() as connection:
        table.create(connection)
        connection.execute(sa.insert(table).values(dict(zip(table.c.keys(), line, strict=True))))
        found = connection.execute(sa.select(sa.func.count()).select_from(table).where(
            *scope.where(dict(table.c.items())))).scalar_one()
    assert found == int(inside)


def test_a_sync_that_only_excludes_customers_is_refused_without_all():
    import asyncio

    from ordersync.config import parse_config
    from ordersync.engine.sync import SyncOptions, sync_async
    from ordersync.errors import UsageError

    with pytest.raises(UsageError, match="without --all"):
        asyncio.run(sync_async(parse_config(""), SyncOptions(filters=Filters(exclude_customers=("GREYSON",)))))
