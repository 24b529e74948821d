"""What a sample holds, counted from the rows themselves (not from what the generator meant to do),
so tests and docs can state it and check it against the written table."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from operator import itemgetter

from ordersync.sample_data.catalogue import customer_aliases
from ordersync.sample_data.generate import FIXED_CUSTOMER, FIXED_PO, PRICE_COLUMNS
from ordersync.sample_data.source_table import SIZE_COLUMNS

BUSINESS_KEY = ("AAG ORDER NUMBER", "PLANNED DELIVERY METHOD", "CUSTOMER STYLE")
CHECK_GROUP = "check"
_sizes_of = itemgetter(*SIZE_COLUMNS)
_prices_of = itemgetter(*PRICE_COLUMNS)
# What a price cell may hold: a plain decimal number, or nothing.
_DECIMAL_OR_BLANK = re.compile(r"\s*(?:-?\d+(?:\.\d*)?)?\s*")
_TYPOGRAPHIC_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def fold_customer_name(raw: str) -> str:
    """The form in which customer names match: trimmed, upper case, typographic quotes as ASCII."""
    return raw.translate(_TYPOGRAPHIC_QUOTES).strip().upper()


def canonical_names() -> dict[str, str]:
    """Folded raw name or alias → canonical customer name."""
    return {fold_customer_name(name): canonical
            for canonical, aliases in customer_aliases().items() for name in (canonical, *aliases)}


@dataclass(frozen=True)
class SampleSummary:
    """Counts of a sample: its size, its shape, and each kind of dirt in it.

    Realistic dirt (valid rows a sync must handle): zero-quantity lines, cancelled lines, AAG ORDER
    NUMBERs repeated with another delivery method or style, TBD styles, customer names spelled
    other than canonically, an empty CUSTOMER SEASON (group falls back to AAG SEASON) or both
    seasons empty (group `check`). Bad rows (a sync must report, not write): no AAG ORDER NUMBER,
    rows sharing a whole business key, a price column holding a non-number.
    """

    rows: int
    size_pairs: int  # (order line, size) pairs with quantity > 0: the subitems
    total_quantity: int
    customers: int
    groups: int
    fixed_case_lines: int  # GREYSON PO 4755
    fixed_case_pairs: int
    zero_quantity_lines: int
    cancelled_lines: int
    repeated_order_numbers: int  # AAG numbers on more than one business key
    tbd_style_lines: int
    respelled_customer_rows: int  # alias, spacing, case or quotes differ from the canonical name
    season_fallback_lines: int
    check_group_lines: int
    missing_key_rows: int
    duplicate_key_rows: int  # rows whose whole business key another row has too
    bad_price_rows: int

    @property
    def bad_rows(self) -> int:
        return self.missing_key_rows + self.duplicate_key_rows + self.bad_price_rows


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class SummaryTally:
    """Counts rows as they stream past (the writer feeds it chunk by chunk)."""

    def __init__(self) -> None:
        self._canonical = canonical_names()
        self.rows = self.size_pairs = self.total_quantity = 0
        self.fixed_case_lines = self.fixed_case_pairs = 0
        self.zero_quantity_lines = self.cancelled_lines = self.tbd_style_lines = 0
        self.respelled_customer_rows = self.season_fallback_lines = self.check_group_lines = 0
        self.missing_key_rows = self.bad_price_rows = 0
        self._customers: set[str] = set()
        self._groups: set[str] = set()
        self._keys: Counter[tuple[str, str, str]] = Counter()
        self._keys_of_order_number: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)

    def add(self, row: Mapping[str, object]) -> None:
        self.rows += 1
        ordered = [quantity for quantity in _sizes_of(row) if quantity is not None]
        pairs = sum(1 for quantity in ordered if quantity > 0)
        self.size_pairs += pairs
        total = row["TOTAL QTY"]
        assert isinstance(total, int)
        self.total_quantity += total
        if total == 0:
            self.zero_quantity_lines += 1

        raw = str(row["CUSTOMER NAME"])
        customer = self._canonical.get(fold_customer_name(raw), fold_customer_name(raw))
        self._customers.add(customer)
        if raw != customer:
            self.respelled_customer_rows += 1
        if customer == FIXED_CUSTOMER and row["PO NUMBER"] == FIXED_PO:
            self.fixed_case_lines += 1
            self.fixed_case_pairs += pairs

        customer_season, aag_season = row["CUSTOMER SEASON"], row["AAG SEASON"]
        if not _blank(customer_season):
            self._groups.add(f"{customer} {str(customer_season).strip()}")
        elif not _blank(aag_season):
            self.season_fallback_lines += 1
            self._groups.add(f"{customer} {str(aag_season).strip()}")
        else:
            self.check_group_lines += 1
            self._groups.add(CHECK_GROUP)

        if row["ORDER TYPE"] == "CANCELLED":
            self.cancelled_lines += 1
        if row["CUSTOMER STYLE"] == "TBD":
            self.tbd_style_lines += 1
        prices = [str(price) for price in _prices_of(row) if price is not None]
        if not all(map(_DECIMAL_OR_BLANK.fullmatch, prices)):
            self.bad_price_rows += 1

        key = tuple(row[column] for column in BUSINESS_KEY)
        if any(_blank(part) for part in key):
            self.missing_key_rows += 1
        else:
            order_number, method, style = (str(part) for part in key)
            self._keys[(order_number, method, style)] += 1
            self._keys_of_order_number[order_number].add((method, style))

    def summary(self) -> SampleSummary:
        return SampleSummary(
            rows=self.rows,
            size_pairs=self.size_pairs,
            total_quantity=self.total_quantity,
            customers=len(self._customers),
            groups=len(self._groups),
            fixed_case_lines=self.fixed_case_lines,
            fixed_case_pairs=self.fixed_case_pairs,
            zero_quantity_lines=self.zero_quantity_lines,
            cancelled_lines=self.cancelled_lines,
            repeated_order_numbers=sum(1 for keys in self._keys_of_order_number.values() if len(keys) > 1),
            tbd_style_lines=self.tbd_style_lines,
            respelled_customer_rows=self.respelled_customer_rows,
            season_fallback_lines=self.season_fallback_lines,
            check_group_lines=self.check_group_lines,
            missing_key_rows=self.missing_key_rows,
            duplicate_key_rows=sum(count for count in self._keys.values() if count > 1),
            bad_price_rows=self.bad_price_rows,
        )


def summarise_order_lines(order_lines: Iterable[Mapping[str, object]]) -> SampleSummary:
    """The summary of any order lines shaped like the source (generated or read back)."""
    tally = SummaryTally()
    for row in order_lines:
        tally.add(row)
    return tally.summary()
