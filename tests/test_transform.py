"""Transform rules: one order line → item name, group, column values, row hash, size subitems."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordersync.config import ColumnMapping, parse_config
from ordersync.engine.transform import (
    ItemRow,
    RowError,
    TransformedLine,
    parse_quantity,
    rules_from_config,
    transform_order_line,
)
from ordersync.monday.codec import clean, encode

SIZES = ("XXS", "XS", "S", "S/M", "M", "L", "L/XL", "XL", "4XL", "30/32", "28-30L", "2T", "6T", "0-3M",
         "32DD", "38DDD", "ONE SIZE", "OS")

CONFIG = parse_config('''
[customers]
GREYSON = ["GREYSON CLOTHIERS"]
"TITLE NINE" = ["TITLE 9"]
"B'HOOD" = []

[[columns]]
source = "CUSTOMER NAME"
id = "dropdown_customer"
type = "dropdown"
[[columns]]
source = "PO NUMBER"
id = "text_po"
type = "text"
[[columns]]
source = "STYLE DESCRIPTION"
id = "long_text_desc"
type = "long_text"
[[columns]]
source = "CUSTOMER PRICE"
id = "numeric_price"
type = "numbers"
[[columns]]
source = "EX FACTORY DATE"
id = "date_xf"
type = "date"
[[columns]]
source = "UNIT OF MEASURE"
id = "color_uom"
type = "status"
[[columns]]
source = "NOTES"
id = "text_notes"
type = "text"
''')
RULES = rules_from_config(CONFIG, SIZES)


def order_line(**values) -> dict:
    line = {
        "AAG ORDER NUMBER": "GRE-04169", "CUSTOMER NAME": "GREYSON", "PO NUMBER": "4755",
        "AAG SEASON": "2025 FALL", "CUSTOMER SEASON": "FALL", "CUSTOMER STYLE": "MSP25B50",
        "CUSTOMER COLOUR DESCRIPTION": "942 - BONNEVILLE", "PLANNED DELIVERY METHOD": "OCEAN",
        "ORDER TYPE": "RECEIVED", "STYLE DESCRIPTION": "Polo", "CUSTOMER PRICE": "12.50",
        "EX FACTORY DATE": dt.date(2025, 7, 1), "UNIT OF MEASURE": "PCS", "NOTES": None,
        **{size: None for size in SIZES},
    }
    line.update({key.replace("_", " "): value for key, value in values.items()})
    return line


def transform(line: dict) -> TransformedLine:
    result = transform_order_line(line, RULES, 7)
    assert isinstance(result, TransformedLine), result
    return result


def item(**values) -> ItemRow:
    return transform(order_line(**values)).item


def error(line: dict) -> RowError:
    result = transform_order_line(line, RULES, 7)
    assert isinstance(result, RowError), result
    return result


# -- groups ---------------------------------------------------------------------------------------

def test_group_is_customer_and_customer_season():
    assert item().group_name == "GREYSON FALL"


@pytest.mark.parametrize("empty", [None, "", "   ", "nan", "None", "NULL"])
def test_season_falls_back_to_aag_season_when_customer_season_empty(empty):
    line = order_line()
    line["CUSTOMER SEASON"] = empty
    assert transform(line).item.group_name == "GREYSON 2025 FALL"


def test_group_falls_back_to_check_when_both_seasons_empty():
    line = order_line()
    line["CUSTOMER SEASON"], line["AAG SEASON"] = None, " "
    assert transform(line).item.group_name == "check"


def test_group_uses_the_canonical_customer_name():
    line = order_line()
    line["CUSTOMER NAME"] = " greyson clothiers  "
    assert transform(line).item.group_name == "GREYSON FALL"


# -- customers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, canonical", [
    ("GREYSON CLOTHIERS", "GREYSON"),
    ("GREYSON ", "GREYSON"),
    ("title 9", "TITLE NINE"),
    ("B\u2019HOOD", "B'HOOD"),
    ("b'hood", "B'HOOD"),
    ("NEW  BRAND ", "NEW BRAND"),
])
def test_customer_aliases_fold_onto_the_canonical_name_everywhere(raw, canonical):
    line = order_line()
    line["CUSTOMER NAME"] = raw
    result = transform(line).item
    assert result.customer == canonical
    assert result.column_values["dropdown_customer"] == {"labels": [canonical]}


def test_a_line_without_customer_is_a_row_error():
    line = order_line()
    line["CUSTOMER NAME"] = "  "
    problem = error(line)
    assert problem.field == "CUSTOMER NAME" and "no customer" in problem.reason
    assert problem.item_key == "GRE-04169 | OCEAN | MSP25B50"


# -- names and keys -------------------------------------------------------------------------------

def test_item_name_joins_style_colour_and_order_number():
    assert item().item_name == "MSP25B50 942 - BONNEVILLE GRE-04169"


def test_item_name_skips_empty_fields_without_doubling_the_separator():
    line = order_line()
    line["CUSTOMER COLOUR DESCRIPTION"] = "  "
    assert transform(line).item.item_name == "MSP25B50 GRE-04169"


def test_item_name_separator_is_configurable():
    config = CONFIG.model_copy(update={"items": CONFIG.items.model_copy(update={"separator": ""})})
    rules = rules_from_config(config, SIZES)
    result = transform_order_line(order_line(), rules, 1)
    assert result.item.item_name == "MSP25B50942 - BONNEVILLEGRE-04169"


def test_business_key_is_composite_and_trimmed():
    line = order_line()
    line["CUSTOMER STYLE"] = "TBD "
    assert transform(line).item.item_key == "GRE-04169 | OCEAN | TBD"


@pytest.mark.parametrize("column", ["AAG ORDER NUMBER", "PLANNED DELIVERY METHOD", "CUSTOMER STYLE"])
def test_a_line_without_a_business_key_part_is_a_row_error_that_says_which(column):
    line = order_line()
    line[column] = None
    problem = error(line)
    assert problem.field == column and problem.item_key is None
    assert problem.reason == f"no business key: {column} is empty"
    assert dict(problem.row_fields)["PO NUMBER"] == "4755"


def test_an_item_name_longer_than_monday_takes_is_cut_with_a_warning():
    line = order_line()
    line["CUSTOMER COLOUR DESCRIPTION"] = "X" * 300
    result = transform(line)
    assert len(result.item.item_name) == 255 and result.item.item_name.endswith("…")
    [warning] = result.warnings
    assert warning.field == "item name" and warning.category == "truncated" and "255" in warning.reason


def test_an_item_name_longer_than_monday_takes_is_a_row_error_when_items_reject_it():
    rules = replace(RULES, cut_long_names=False)
    line = order_line()
    line["CUSTOMER COLOUR DESCRIPTION"] = "X" * 300
    result = transform_order_line(line, rules, 7)
    assert isinstance(result, RowError) and result.field == "item name" and "255" in result.reason


# -- values ---------------------------------------------------------------------------------------

def test_column_values_are_encoded_per_type():
    values = item().column_values
    assert values == {
        "dropdown_customer": {"labels": ["GREYSON"]},
        "text_po": "4755",
        "long_text_desc": {"text": "Polo"},
        "numeric_price": "12.5",
        "date_xf": {"date": "2025-07-01"},
        "color_uom": {"label": "PCS"},
    }


@pytest.mark.parametrize("empty", [None, "", "  ", float("nan"), "nan", "NaT", "None", Decimal("NaN")])
def test_an_empty_source_value_leaves_the_cell_empty_never_the_text_none(empty):
    line = order_line()
    line["NOTES"] = empty
    line["CUSTOMER PRICE"] = empty
    line["EX FACTORY DATE"] = empty
    values = transform(line).item.column_values
    assert "text_notes" not in values and "numeric_price" not in values and "date_xf" not in values


def test_pandas_nat_is_empty():
    pandas = pytest.importorskip("pandas")
    assert clean(pandas.NaT) is None


@pytest.mark.parametrize("raw, encoded", [
    ("12.50", "12.5"), (" 1,234.00 ", "1234"), ("$7", "7"), (5, "5"), (2.25, "2.25"), (Decimal("0.0400"), "0.04"),
    ("-3.5", "-3.5"), ("0", "0"),
])
def test_numbers_are_sent_as_normalised_number_strings(raw, encoded):
    assert encode(raw, ColumnMapping(source="x", id="n", type="numbers")) == encoded


@pytest.mark.parametrize("raw", ["TBC", "12,5%", "N/A ok", "inf", "1e999999999"])
def test_a_value_a_numbers_column_cannot_take_fails_the_row_with_the_column_named(raw):
    line = order_line()
    line["CUSTOMER PRICE"] = raw
    problem = error(line)
    assert problem.field == "CUSTOMER PRICE"
    assert "numeric_price (numbers)" in problem.reason


@pytest.mark.parametrize("raw, encoded", [
    (dt.date(2025, 6, 24), {"date": "2025-06-24"}),
    (dt.datetime(2025, 6, 24), {"date": "2025-06-24"}),
    ("2025-06-24 00:00:00", {"date": "2025-06-24"}),
    (dt.datetime(2025, 6, 24, 13, 5), {"date": "2025-06-24", "time": "13:05:00"}),
])
def test_dates_are_sent_as_date_objects(raw, encoded):
    assert encode(raw, ColumnMapping(source="x", id="d", type="date")) == encoded


def test_a_bad_date_string_is_a_row_error():
    line = order_line()
    line["EX FACTORY DATE"] = "next tuesday"
    assert "not a date" in error(line).reason


def test_long_text_over_2000_characters_is_cut_to_2000_with_a_warning_naming_the_field():
    line = order_line()
    line["STYLE DESCRIPTION"] = "x" * 2001
    result = transform(line)
    assert result.item.column_values["long_text_desc"] == {"text": "x" * 1999 + "…"}
    [warning] = result.warnings
    assert warning.field == "STYLE DESCRIPTION" and warning.item_key == result.item.item_key
    assert "2,001 characters" in warning.reason and "2,000" in warning.reason


def test_long_text_over_2000_characters_is_refused_with_the_limit_when_its_column_rejects_it():
    columns = tuple(column.model_copy(update={"on_too_long": "reject"}) if column.id == "long_text_desc" else column
                    for column in RULES.columns)
    line = order_line()
    line["STYLE DESCRIPTION"] = "x" * 2001
    problem = transform_order_line(line, replace(RULES, columns=columns), 7)
    assert isinstance(problem, RowError) and problem.field == "STYLE DESCRIPTION" and "2,000" in problem.reason


def test_a_text_column_has_no_length_limit_of_its_own():
    assert transform(order_line(NOTES="n" * 10_000)).item.column_values["text_notes"] == "n" * 10_000


def test_dropdown_label_with_a_comma_is_refused():
    with pytest.raises(ValueError, match="comma"):
        encode("A, B", ColumnMapping(source="x", id="d", type="dropdown"))


def test_upper_transform_applies_before_encoding():
    mapping = ColumnMapping(source="x", id="s", type="status", transform="upper")
    assert encode(" pcs ", mapping) == {"label": "PCS"}


# -- sizes ----------------------------------------------------------------------------------------

def test_sizes_melt_to_subitems_only_where_quantity_is_positive():
    line = order_line(XS=3, S=0, M=None, **{"ONE SIZE": 2})
    line["4XL"], line["30/32"] = 7, "4"
    subitems = transform(line).subitems
    assert [(s.size, s.name, s.quantity) for s in subitems] == [
        ("XS", "Size XS", 3), ("4XL", "Size 4XL", 7), ("30/32", "Size 30/32", 4), ("ONE SIZE", "Size ONE SIZE", 2),
    ]
    assert all(s.item_key == "GRE-04169 | OCEAN | MSP25B50" for s in subitems)


@pytest.mark.parametrize("size", SIZES)
def test_every_size_family_becomes_a_subitem(size):
    line = order_line()
    line[size] = 12
    [subitem] = transform(line).subitems
    assert (subitem.size, subitem.name, subitem.quantity) == (size, f"Size {size}", 12)


def test_a_line_with_zero_quantity_is_an_item_without_subitems():
    result = transform(order_line())
    assert result.subitems == () and result.item.item_name


@pytest.mark.parametrize("raw, reason", [("abc", "not a number"), (-2, "negative"), (2.5, "whole number"),
                                         ("1.5", "whole number")])
def test_a_bad_size_quantity_fails_the_row_naming_the_size(raw, reason):
    line = order_line()
    line["S/M"] = raw
    problem = error(line)
    assert problem.field == "S/M" and reason in problem.reason


@pytest.mark.parametrize("raw, quantity", [(3, 3), ("3", 3), (3.0, 3), (" 12 ", 12), (None, 0), ("", 0)])
def test_size_quantities_accept_whole_numbers_in_any_form(raw, quantity):
    assert parse_quantity(raw) == quantity


# -- hash and state -------------------------------------------------------------------------------

def test_row_hash_changes_with_a_mapped_value_name_or_group_and_not_otherwise():
    base = item().row_hash
    assert item(**{"CUSTOMER PRICE": "13.00"}).row_hash != base
    assert item(**{"CUSTOMER SEASON": "SPRING"}).row_hash != base
    assert item(**{"CUSTOMER COLOUR DESCRIPTION": "BLACK"}).row_hash != base
    assert item(**{"CUSTOMER PRICE": "12.5"}).row_hash == base  # same value, other spelling
    assert item(**{"PATTERN ID": "P-1"}).row_hash == base  # not mapped, not hashed


def test_hash_can_be_limited_to_configured_columns():
    config = parse_config('[hash]\ncolumns = ["PO NUMBER"]\n[[columns]]\nsource = "NOTES"\nid = "t"\ntype = "text"\n')
    rules = rules_from_config(config, SIZES)
    first = transform_order_line(order_line(NOTES="a"), rules, 1).item.row_hash
    assert transform_order_line(order_line(NOTES="b"), rules, 1).item.row_hash == first
    assert transform_order_line(order_line(**{"PO NUMBER": "1"}), rules, 1).item.row_hash != first


@pytest.mark.parametrize("order_type, cancelled", [("CANCELLED", True), ("cancelled ", True), ("RECEIVED", False),
                                                   (None, False)])
def test_cancelled_orders_are_flagged(order_type, cancelled):
    assert item(**{"ORDER TYPE": order_type}).cancelled is cancelled


# -- properties -----------------------------------------------------------------------------------

text_or_empty = st.one_of(st.none(), st.just(""), st.just("nan"), st.text(max_size=20))
quantity = st.one_of(st.none(), st.integers(min_value=0, max_value=500))


@given(
    notes=text_or_empty, colour=text_or_empty, season=text_or_empty,
    quantities=st.lists(quantity, min_size=len(SIZES), max_size=len(SIZES)),
)
def test_no_value_is_ever_the_text_of_an_empty_and_subitems_sum_to_the_quantities(notes, colour, season, quantities):
    line = order_line(NOTES=notes, **{"CUSTOMER COLOUR DESCRIPTION": colour, "CUSTOMER SEASON": season})
    line.update(dict(zip(SIZES, quantities, strict=True)))
    result = transform_order_line(line, RULES, 1)
    if isinstance(result, RowError):  # a name too long or similar: always explained
        assert result.reason
        return
    for value in result.item.column_values.values():
        text = str(value)
        assert text.strip().lower() not in {"none", "nan", "nat", "null", ""}
    assert "None" not in result.item.item_name and "None" not in result.item.group_name
    assert sum(s.quantity for s in result.subitems) == sum(q or 0 for q in quantities)
    assert all(s.quantity > 0 for s in result.subitems)
    assert not math.isnan(len(result.subitems))


def test_a_column_whose_values_never_repeat_is_no_longer_remembered_and_encodes_the_same():
    """The transform remembers each column's encoded values (a source repeats its labels and prices); a column
    holding a value of its own on nearly every line (an order number, a note) stops being remembered — its
    memory freed — and its lines come out exactly as before."""
    from ordersync.engine.transform import _UNREPEATED_AFTER

    rules, fresh = rules_from_config(CONFIG, SIZES), rules_from_config(CONFIG, SIZES)
    lines = [order_line(NOTES=f"note {number}", PO_NUMBER=str(number % 40), M=number % 3 + 1)
             for number in range(_UNREPEATED_AFTER + 500)]
    results = [transform_order_line(line, rules, number) for number, line in enumerate(lines, 1)]
    encodings = rules.encodings
    notes, po = encodings.ids.index("text_notes"), encodings.ids.index("text_po")
    assert encodings.forgetting[notes] and list(encodings.known[notes]) == [None]
    assert not encodings.forgetting[po] and len(encodings.known[po]) == 41  # 40 numbers and None
    for number in (1, _UNREPEATED_AFTER + 400):  # remembered, then not: each as a fresh transform makes it
        assert results[number - 1] == transform_order_line(lines[number - 1], fresh, number)
