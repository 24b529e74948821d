"""The one column codec: how a value becomes a Monday column value, and how a board cell reads back.

Everything that knows the shape of a column value lives here, as small pure functions:
- writes: `encode` (an item's mapped column), `subitem_values` (a size subitem's Size and Order Qty);
- limits: what each column type (and an item name) holds, and `cut` to fit a text within one;
- labels: `labels_of` (the status or dropdown labels an encoded value sets);
- read-back: `texts_of` (a board item's cells as id → text), `expected_text` (the text Monday shows
  for an encoded value), `same_text` (is a cell what was sent), `quantity_from_text`.

Normalisation, applied to every source value before it is encoded:
- NULL, an empty or blank string, float NaN, and the strings "nan", "nat", "none", "null"
  (any case, as left by spreadsheet and dataframe exports) are empty. An empty value is never
  written as text: the board cell stays empty.
- strings are trimmed (trailing spaces in the source do not become different labels).

Imports nothing of ordersync but the config's types.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from ordersync.config import ColumnMapping, SubitemsConfig

# What Monday holds, in characters. A text column has no limit of its own (Monday caps only all of an
# item's column values together, at about 64 KB); status and dropdown labels are never cut.
MAX_LONG_TEXT = 2000  # "the long text column holds up to 2,000 characters"
MAX_ITEM_NAME = 255  # an item name is 1 to 255 characters, else ItemNameTooLongException
CUT_MARK = "…"  # ends a value cut to fit, so a reader sees there was more
MAX_NUMBER_DIGITS = 15  # beyond this a float on the board would not hold the value
LABEL_TYPES = ("status", "dropdown")
_EMPTY_STRINGS = {"", "nan", "nat", "none", "null"}


# -- source values ------------------------------------------------------------------------------

def clean(value: Any) -> Any:
    """A source value normalised: None for every kind of empty, trimmed strings, everything else as is."""
    if value is None:
        return None
    if isinstance(value, str):
        stripped = value.strip()
        return None if stripped.lower() in _EMPTY_STRINGS else stripped
    try:
        if value != value:  # NaN of any kind: float, Decimal, pandas NaT
            return None
    except TypeError:
        pass
    return value


def as_text(value: Any) -> str | None:
    """The display text of a clean value: dates as ISO, integral numbers without a trailing `.0`."""
    value = clean(value)
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal):
        return format_number(value)
    return str(value)


def format_number(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def parse_number(value: Any) -> Decimal:
    """A number from an int, float, Decimal or a string like "12.50", "1,234.5", "$12"; else ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        if math.isinf(value):
            raise ValueError(f"{value!r} is not a finite number")
        return Decimal(repr(value))
    text = str(value).strip().replace(",", "")
    if text.startswith("$"):
        text = text[1:]
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{str(value)!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{str(value)!r} is not a finite number")
    if number and number.adjusted() > MAX_NUMBER_DIGITS:
        raise ValueError(f"{str(value)!r} is too large for a numbers column")
    return number


def parse_date(value: Any) -> tuple[str, str | None]:
    """(YYYY-MM-DD, HH:MM:SS or None) from a date, datetime or ISO string; else ValueError."""
    if isinstance(value, dt.datetime):
        time = None if value.time() == dt.time(0) else value.time().replace(microsecond=0).isoformat()
        return value.date().isoformat(), time
    if isinstance(value, dt.date):
        return value.isoformat(), None
    text = str(value).strip()
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None
    return parse_date(parsed)


# -- limits -------------------------------------------------------------------------------------

class TooLong(ValueError):  # noqa: N818 - a ValueError like every refusal of `encode`, with the figures
    """A text longer than what takes it: `length` characters where `limit` fit."""

    def __init__(self, length: int, limit: int, holder: str) -> None:
        super().__init__(f"is {length:,} characters; {holder} takes at most {limit:,}")
        self.length, self.limit = length, limit


def cut(text: str, limit: int) -> str:
    """`text` as is when it fits in `limit` characters, else cut to end with `CUT_MARK`, `limit` long at most."""
    if len(text) <= limit:
        return text
    return text[:limit - len(CUT_MARK)].rstrip() + CUT_MARK


def fit(text: str, limit: int, holder: str, *, cut_to_fit: bool) -> str:
    """`text` within `limit`: cut when `cut_to_fit`, else `TooLong` when it does not fit."""
    if len(text) <= limit:
        return text
    if cut_to_fit:
        return cut(text, limit)
    raise TooLong(len(text), limit, holder)


# -- writes -------------------------------------------------------------------------------------

def encode(value: Any, mapping: ColumnMapping, *, cut_to_fit: bool = False) -> Any:
    """The Monday column value for a source value, or None when the cell stays empty.

    Raises ValueError with a reason a person can act on when the column type cannot take it;
    `TooLong` for a text longer than its column type holds, unless `cut_to_fit` (then it is cut).
    """
    value = clean(value)
    if value is None:
        return None
    kind = mapping.type
    if kind == "numbers":
        return format_number(parse_number(value))
    if kind == "date":
        day, time = parse_date(value)
        return {"date": day, "time": time} if time else {"date": day}
    text = value if isinstance(value, str) else as_text(value)  # a clean string is its own text
    assert text is not None
    if mapping.transform == "upper":
        text = text.upper()
    elif mapping.transform == "lower":
        text = text.lower()
    if kind == "text":
        return text
    if kind == "long_text":
        return {"text": fit(text, MAX_LONG_TEXT, "a long text column", cut_to_fit=cut_to_fit)}
    if kind == "status":
        return {"label": text}
    if kind == "dropdown":
        if "," in text:
            raise ValueError(f"{text!r} contains a comma, which Monday reads as two dropdown labels")
        return {"labels": [text]}
    raise ValueError(f"column type {kind!r} is not supported")  # pragma: no cover - config forbids it


def encoder(mapping: ColumnMapping) -> Callable[[Any], Any]:
    """`encode` for one mapped column, resolved once: the transform calls it for every line.

    The common source values (a plain string, an int, a Decimal, a date) take a short path decided
    here from the column's type; anything else, and every refusal, goes through `encode` itself, so
    both always give the same value or the same error."""
    def general(value: Any) -> Any:
        return encode(value, mapping)

    if mapping.transform is None and mapping.type in _TEXT_WRAPPERS:
        return _text_encoder(_TEXT_WRAPPERS[mapping.type], general)
    if mapping.type == "numbers":
        return _number_encoder(general)
    if mapping.type == "date":
        def date_value(value: Any) -> Any:
            return {"date": value.isoformat()} if type(value) is dt.date else general(value)

        return date_value
    return general


def _text_encoder(wrap: Callable[[str], Any] | None, general: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def text_value(value: Any) -> Any:
        if type(value) is not str:
            return general(value)
        text = value.strip()
        if len(text) <= _LONGEST_EMPTY and text.lower() in _EMPTY_STRINGS:
            return None
        if wrap is None:
            return text
        return wrap(text) if "," not in text else general(value)

    return text_value


def _number_encoder(general: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def number_value(value: Any) -> Any:
        if type(value) is str:
            return _number_from_text(value)
        if type(value) is int and -_BIGGEST_PLAIN < value < _BIGGEST_PLAIN:
            return str(value)
        if type(value) is Decimal and value.is_finite() and (not value or value.adjusted() <= MAX_NUMBER_DIGITS):
            return format_number(value)
        return general(value)

    return number_value


@lru_cache(maxsize=65536)  # a source repeats its prices and fees on many lines
def _number_from_text(text: str) -> str | None:
    value = clean(text)
    return None if value is None else format_number(parse_number(value))


_LONGEST_EMPTY = max(len(text) for text in _EMPTY_STRINGS)
_BIGGEST_PLAIN = 10 ** MAX_NUMBER_DIGITS  # an int this small is its own number text


def _long_text(text: str) -> dict[str, Any]:
    return {"text": fit(text, MAX_LONG_TEXT, "a long text column", cut_to_fit=False)}


def _status(text: str) -> dict[str, Any]:
    return {"label": text}


def _dropdown(text: str) -> dict[str, Any]:
    return {"labels": [text]}


# The text-like column types and how each wraps its text (None: the text itself); a comma in a dropdown
# label goes to `encode`, which refuses it.
_TEXT_WRAPPERS: dict[str, Callable[[str], Any] | None] = {
    "text": None, "long_text": _long_text, "status": _status, "dropdown": _dropdown}


def subitem_values(size: str, quantity: int, subitems: SubitemsConfig) -> dict[str, Any]:
    """A size subitem's column values: its Size (as the configured column type) and its Order Qty."""
    if subitems.size_type == "dropdown":
        size_value: Any = {"labels": [size]}
    elif subitems.size_type == "status":
        size_value = {"label": size}
    else:
        size_value = size
    return {subitems.size_column: size_value, subitems.quantity_column: quantity_value(quantity)}


def quantity_value(quantity: int) -> str:
    """An Order Qty as a numbers column takes it."""
    return str(quantity)


def labels_of(value: Any, column_type: str) -> list[str]:
    """The labels an encoded status or dropdown value sets; none for any other column type."""
    if not isinstance(value, Mapping):
        return []
    if column_type == "dropdown":
        return list(value.get("labels") or [])
    if column_type == "status":
        return [value["label"]] if "label" in value else []
    return []


# -- read-back ----------------------------------------------------------------------------------

def texts_of(column_values: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """A board item's cells as the API reads them back: column id → its text ("" when empty)."""
    return {value["id"]: value.get("text") or "" for value in column_values or []}


def expected_text(value: Any, mapping: ColumnMapping) -> str:
    """The text Monday shows for a value `encode` made."""
    if value is None:
        return ""
    if mapping.type == "long_text":
        return str(value["text"])
    if mapping.type == "date":
        return str(value["date"]) + (f" {value['time'][:5]}" if value.get("time") else "")
    if mapping.type == "status":
        return str(value["label"])
    if mapping.type == "dropdown":
        return ", ".join(value["labels"])
    return str(value)


def same_number(left: str, right: str) -> bool:
    """Two number texts that mean the same number ("12.5" and "12.50"); else compared as text."""
    try:
        return Decimal(left) == Decimal(right)
    except InvalidOperation:
        return left == right


def same_text(have: str, want: str, mapping: ColumnMapping) -> bool:
    """Does a board cell's text show what was sent (numbers compared as numbers)?"""
    if mapping.type == "numbers" and have and want:
        return same_number(have, want)
    return have == want


def quantity_from_text(text: str) -> int:
    """A subitem's Order Qty read back: an empty cell is 0, a cell that is not a number is -1."""
    try:
        return int(Decimal(text or "0"))
    except (InvalidOperation, ValueError):
        return -1
