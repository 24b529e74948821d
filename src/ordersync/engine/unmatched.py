"""A filter that matches nothing is a typo until shown otherwise: `plan` and `sync` refuse it before
the run starts (a `UsageError`, exit 2), naming the value and the close names there are.

`--customer GREYSONN` used to read no line, write nothing and end COMPLETED, exit 0. A value is
matched when a source line has it, or when the board's mirror does: then its lines left the source
and the run rightly archives them. A PO or a season is looked for among the lines of the customers
the run names (`--customer GREYSON --po 4756` suggests GREYSON's POs); filters that each match but
have no line in common (`--customer GREYSON --po SDR52544`) are refused too.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Iterable, Sequence
from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ordersync.config import Config, normalise_name
from ordersync.engine.filters import Filters, Scope, canonical_customer, canonical_customers
from ordersync.engine.source import SourceTable, customer_spellings, scope_columns
from ordersync.errors import UsageError
from ordersync.state import StateStore
from ordersync.state.schema import SCOPE_FIELDS

SUGGESTED = 3
HINT = ("filters are compared with the source table's values (a customer by its canonical name or any alias "
        "in [customers]; a PO or a season among the named customers' lines); check the spelling")


def refuse_unmatched_filters(config: Config, source: Engine, source_table: SourceTable, store: StateStore,
                             board_id: str, filters: Filters) -> None:
    """Raise `UsageError` when a filter value (or the filters together) matches no line of the source
    and none the mirror holds for `board_id`; the message offers the close values."""
    lookup = canonical_customers(config.customers)
    scope = filters.scope(lookup)
    if not scope.is_filtered:
        return
    known = _KnownValues(config, source, source_table, store, board_id, scope)
    misses: list[str] = []
    for option, field, typed in _typed_values(filters):
        values = known.of(field)
        for value in typed:
            stored = canonical_customer(value, lookup) if field == "customer" else value.strip()
            if stored not in values:
                misses.append(_miss(option, value, close_values(stored, known.candidates(field))))
    if misses:
        raise UsageError("; ".join(misses), hint=HINT)
    restricted = [name for name, _ in scope.required()] + (["exclude"] if scope.exclude_customers else [])
    if len(restricted) > 1 and not known.any_line():
        given = " ".join(f"{option} {shlex.quote(value)}" for option, _, typed in _typed_values(filters)
                         for value in typed)
        raise UsageError(f"no order line matches {given} together: each matches lines, but none they share",
                         hint=HINT)


def close_values(value: str, candidates: dict[str, str]) -> list[str]:
    """The candidates closest to `value` (compared in upper case), best first: `candidates` maps the
    compared form to the value shown."""
    matches = difflib.get_close_matches(value.upper(), list(candidates), n=SUGGESTED * 2, cutoff=0.6)
    return list(dict.fromkeys(candidates[match] for match in matches))[:SUGGESTED]


def _typed_values(filters: Filters) -> Iterable[tuple[str, str, Sequence[str]]]:
    """(option, scope field, values as typed) for every filter option given."""
    given = [("--customer", "customer", filters.customers),
             ("--exclude-customer", "customer", filters.exclude_customers),
             ("--po", "po_number", filters.po_numbers),
             ("--aag-season", "aag_season", filters.aag_seasons),
             ("--customer-season", "customer_season", filters.customer_seasons)]
    return [(option, field, typed) for option, field, typed in given if typed]


def _miss(option: str, value: str, suggestions: list[str]) -> str:
    message = f"no order line matches {option} {shlex.quote(value)}"
    if not suggestions:
        return message
    shown = [shlex.quote(suggestion) for suggestion in suggestions]
    alternatives = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
    return f"{message}; did you mean {alternatives}?"


class _KnownValues:
    """The values each scope field has in the source and in the board's mirror (read once, on demand)."""

    def __init__(self, config: Config, source: Engine, source_table: SourceTable, store: StateStore,
                 board_id: str, scope: Scope) -> None:
        self.config, self.source, self.source_table = config, source, source_table
        self.store, self.board_id, self.scope = store, board_id, scope
        self.columns = scope_columns(source_table, config)
        self.spellings = customer_spellings(source, source_table, config)
        self._values: dict[str, set[str]] = {}

    def of(self, field: str) -> set[str]:
        if field not in self._values:
            self._values[field] = self._source_values(field) | self._mirror_values(field)
        return self._values[field]

    def candidates(self, field: str) -> dict[str, str]:
        """compared form → shown value, for suggestions: a customer also by its aliases."""
        known = self.of(field)
        if field != "customer":
            return {value.upper(): value for value in known}
        candidates = {normalise_name(name): name for name in known}
        for canonical, aliases in self.config.customers.items():
            if canonical in known:
                candidates |= {normalise_name(alias): canonical for alias in aliases}
        return candidates

    @cached_property
    def _named_customers(self) -> list[str] | None:
        """The raw spellings of the customers the run names; None when it names none."""
        return self.spellings(self.scope.customers) if self.scope.customers else None

    def _source_values(self, field: str) -> set[str]:
        column = self.columns[field]
        query = sa.select(column).distinct()
        if field != "customer" and self._named_customers is not None:
            query = query.where(self.columns["customer"].in_(self._named_customers))
        with self.source.connect() as connection:
            values = connection.execute(query).scalars().all()
        if field == "customer":
            lookup = canonical_customers(self.config.customers)
            return {canonical_customer(value, lookup) for value in values if value is not None}
        return {value for value in values if value is not None}

    def _mirror_values(self, field: str) -> set[str]:
        synced = self.store.tables.synced_items
        query = sa.select(synced.c[field]).distinct().where(synced.c.board_id == self.board_id)
        if field != "customer" and self.scope.customers:
            query = query.where(synced.c.customer.in_(sorted(self.scope.customers)))
        with self.store.engine.connect() as connection:
            return {value for value in connection.execute(query).scalars() if value is not None}

    def any_line(self) -> bool:
        """Does a source line, or a line the mirror holds, match every filter at once?"""
        in_source = sa.select(sa.literal(1)).select_from(self.source_table.table).where(
            *self.scope.where(self.columns, customer_names=self.spellings)).limit(1)
        with self.source.connect() as connection:
            if connection.execute(in_source).first() is not None:
                return True
        synced = self.store.tables.synced_items
        in_mirror = sa.select(sa.literal(1)).select_from(synced).where(
            synced.c.board_id == self.board_id,
            *self.scope.where({name: synced.c[name] for name in SCOPE_FIELDS})).limit(1)
        with self.store.engine.connect() as connection:
            return connection.execute(in_mirror).first() is not None
