"""What part of the source a run covers, and the one test of whether an order line is in it.

A run's `Filters` are what a person typed (`--customer`, `--exclude-customer`, `--po`, seasons,
`--limit`, and `retry`'s keys). `Filters.scope` turns them into a `Scope`: the same restriction
in the form order lines are stored in — canonical customer names (any alias folds onto its
customer), trimmed values. That one `Scope` decides "is this line in the run's scope" everywhere:
- extract reads the source rows in it (`Scope.where` over the source columns, customers spelled
  as the table spells them);
- diff removes only mirror rows in it (`Scope.where` over the mirror's columns);
- reconcile speaks only for board items in it (`Scope.contains` on a mirror row).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ordersync.config import normalise_name
from ordersync.state.schema import SCOPE_FIELDS  # the fields of a line a filter can restrict


def canonical_customers(aliases: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """normalised name or alias → canonical name."""
    lookup: dict[str, str] = {}
    for canonical, names in aliases.items():
        for name in [canonical, *names]:
            lookup[normalise_name(name)] = canonical
    return lookup


def canonical_customer(raw: Any, lookup: Mapping[str, str]) -> str:
    """The canonical customer for a raw name; an unknown name is kept in its normalised form."""
    if raw is None:
        return ""
    folded = normalise_name(str(raw))
    return lookup.get(folded, folded)


@dataclass(frozen=True)
class Scope:
    """Which order lines a run's filters take in, by their stored values. Empty sets mean "any"."""

    customers: frozenset[str] = frozenset()  # canonical names
    exclude_customers: frozenset[str] = frozenset()  # canonical names
    po_numbers: frozenset[str] = frozenset()  # trimmed
    aag_seasons: frozenset[str] = frozenset()
    customer_seasons: frozenset[str] = frozenset()

    @property
    def is_filtered(self) -> bool:
        return bool(self.exclude_customers) or any(allowed for _, allowed in self.required())

    def required(self) -> Iterable[tuple[str, frozenset[str]]]:
        """(field, the values it must have) for each field the filters restrict."""
        for name, allowed in zip(SCOPE_FIELDS, (self.customers, self.po_numbers, self.aag_seasons,
                                                self.customer_seasons), strict=True):
            if allowed:
                yield name, allowed

    def contains(self, customer: str | None, po_number: str | None = None, aag_season: str | None = None,
                 customer_season: str | None = None) -> bool:
        """Is an order line with these stored values in the scope? The test `where` renders in SQL."""
        line = dict(zip(SCOPE_FIELDS, (customer, po_number, aag_season, customer_season), strict=True))
        if any(line[name] not in allowed for name, allowed in self.required()):
            return False
        return customer not in self.exclude_customers

    def where(self, columns: Mapping[str, sa.ColumnElement], *,
              customer_names: Callable[[frozenset[str]], Sequence[str]] | None = None) -> list[sa.ColumnElement]:
        """`contains` as SQL conditions over `columns` (field → column). `customer_names` gives the
        spellings a column holds for canonical customers, when it does not hold canonical names."""
        spell = customer_names or sorted
        conditions: list[sa.ColumnElement] = []
        for name, allowed in self.required():
            values = spell(allowed) if name == "customer" else sorted(allowed)
            conditions.append(columns[name].in_(values) if values else sa.false())
        if self.exclude_customers:
            excluded = spell(self.exclude_customers)
            if excluded:
                customer = columns["customer"]
                conditions.append(sa.or_(customer.is_(None), customer.not_in(excluded)))
        return conditions


@dataclass(frozen=True)
class Filters:
    """What part of the source a run covers. Empty tuples mean "no restriction"."""

    customers: tuple[str, ...] = ()
    exclude_customers: tuple[str, ...] = ()
    po_numbers: tuple[str, ...] = ()
    aag_seasons: tuple[str, ...] = ()
    customer_seasons: tuple[str, ...] = ()
    limit: int | None = None
    item_keys: frozenset[str] = field(default_factory=frozenset)  # `retry`: only these order lines

    @property
    def reaches_every_customer(self) -> bool:
        """True when nothing narrows the run to named customers, POs, seasons, a limit or keys: it
        writes to every customer the source has. `--exclude-customer` alone still does (every
        other customer), so it is guarded like a run with no filter at all (`--all`)."""
        return not (self.customers or self.po_numbers or self.aag_seasons or self.customer_seasons
                    or self.limit or self.item_keys)

    @property
    def is_unfiltered(self) -> bool:
        """True when the run covers the whole source: no filter of any kind, exclusions included."""
        return self.reaches_every_customer and not self.exclude_customers

    @property
    def covers_whole_scope(self) -> bool:
        """True when every row in the filtered scope is read, so a missing row really was removed."""
        return self.limit is None and not self.item_keys

    def scope(self, customer_lookup: Mapping[str, str]) -> Scope:
        """The filters as stored values: customers folded to their canonical names, values trimmed."""
        def canonical(names: Iterable[str]) -> frozenset[str]:
            return frozenset(canonical_customer(name, customer_lookup) for name in names)

        def trimmed(values: Iterable[str]) -> frozenset[str]:
            return frozenset(value.strip() for value in values)

        return Scope(customers=canonical(self.customers), exclude_customers=canonical(self.exclude_customers),
                     po_numbers=trimmed(self.po_numbers), aag_seasons=trimmed(self.aag_seasons),
                     customer_seasons=trimmed(self.customer_seasons))

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> Filters:
        """The filters a run recorded (`as_dict`, kept in `runs.filters`)."""
        def values(name: str) -> tuple[str, ...]:
            return tuple(stored.get(name) or ())

        return cls(customers=values("customers"), exclude_customers=values("exclude_customers"),
                   po_numbers=values("po_numbers"), aag_seasons=values("aag_seasons"),
                   customer_seasons=values("customer_seasons"), limit=stored.get("limit"),
                   item_keys=frozenset(values("item_keys")))

    def as_dict(self) -> dict[str, Any]:
        return {
            "customers": list(self.customers), "exclude_customers": list(self.exclude_customers),
            "po_numbers": list(self.po_numbers), "aag_seasons": list(self.aag_seasons),
            "customer_seasons": list(self.customer_seasons), "limit": self.limit,
            "item_keys": sorted(self.item_keys),
        }
