"""The one column codec: what a sync writes for each column type, and how the board's cells read back."""

from __future__ import annotations

import pytest

from ordersync.config import ColumnMapping, SubitemsConfig
from ordersync.monday.codec import (
    encode,
    expected_text,
    labels_of,
    quantity_from_text,
    same_text,
    subitem_values,
    texts_of,
)


def mapping(kind: str, **extra) -> ColumnMapping:
    return ColumnMapping(source="x", id="c", type=kind, **extra)


@pytest.mark.parametrize(("kind", "raw", "shown"), [
    ("text", " PO-1 ", "PO-1"),
    ("long_text", "a note", "a note"),
    ("numbers", "1,234.50", "1234.5"),
    ("date", "2025-03-01", "2025-03-01"),
    ("date", "2025-03-01T09:30:15", "2025-03-01 09:30"),
    ("status", "open", "open"),
    ("dropdown", "GREYSON", "GREYSON"),
])
def test_what_a_sync_sends_reads_back_as_the_text_the_board_shows(kind, raw, shown):
    column = mapping(kind)
    assert expected_text(encode(raw, column), column) == shown
    assert same_text(shown, expected_text(encode(raw, column), column), column)


def test_an_empty_source_value_is_an_empty_cell():
    assert encode("  nan ", mapping("text")) is None
    assert expected_text(None, mapping("status")) == ""


def test_numbers_compare_as_numbers_other_columns_as_text():
    assert same_text("12.50", "12.5", mapping("numbers"))
    assert not same_text("12.50", "12.5", mapping("text"))
    assert not same_text("", "0", mapping("numbers"))


@pytest.mark.parametrize(("size_type", "size_value"), [
    ("dropdown", {"labels": ["XL"]}), ("status", {"label": "XL"}), ("text", "XL"),
])
def test_a_size_subitem_sends_its_size_as_the_configured_type_and_its_quantity_as_text(size_type, size_value):
    subitems = SubitemsConfig(size_type=size_type, size_column="size", quantity_column="qty")
    assert subitem_values("XL", 12, subitems) == {"size": size_value, "qty": "12"}


def test_labels_are_read_from_status_and_dropdown_values_only():
    assert labels_of(encode("open", mapping("status")), "status") == ["open"]
    assert labels_of(encode("GREYSON", mapping("dropdown")), "dropdown") == ["GREYSON"]
    assert labels_of(encode("free text", mapping("text")), "text") == []
    assert labels_of(None, "status") == []


def test_a_quantity_cell_reads_back_as_a_whole_number_empty_as_zero_garbage_as_minus_one():
    assert quantity_from_text("12") == 12
    assert quantity_from_text("") == 0
    assert quantity_from_text("twelve") == -1


def test_board_cells_read_back_by_column_id_with_empty_text_for_an_empty_cell():
    assert texts_of([{"id": "a", "text": "x"}, {"id": "b", "text": None}]) == {"a": "x", "b": ""}
    assert texts_of(None) == {}
