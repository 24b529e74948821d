"""Transform: one order line → one item (name, group, Monday column values, row hash) and its size subitems.

Pure functions over plain data, no I/O. A line that cannot become an item comes back as a
`RowError` naming the field and the reason; the caller records it and goes on. A value longer
than its column holds (and an item name over 255 characters) is cut to fit, as the column's
`on_too_long` (`[items] on_too_long` for the name) says, and the line carries a TRUNCATED warning
for it; with "reject" the line fails instead.

Source values are normalised and encoded for their board column by the one column codec,
`ordersync.monday.codec` (what counts as empty, number and date formats, labels).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from itertools import compress, repeat
from operator import is_, itemgetter
from typing import Any, NamedTuple

from ordersync.config import ColumnMapping, Config, template_fields
from ordersync.engine.filters import canonical_customer, canonical_customers
from ordersync.errors import ErrorCategory
from ordersync.monday.codec import MAX_ITEM_NAME, TooLong, as_text, clean, cut, encode, encoder, parse_number
from ordersync.state import KEY_LENGTH, MAX_QUANTITY, NAME_LENGTH, TITLE_LENGTH

KEY_SEPARATOR = " | "
KEY_ESCAPE = "\\"

Line = Mapping[str, Any] | Sequence[Any]
"""An order line: its values by source column name, or — with rules `reading` a read's columns — the row
of a read, its values in the read's column order."""


# -- the data crossing the seams ----------------------------------------------------------------

@dataclass(frozen=True)
class ItemRow:
    item_key: str
    customer: str
    group_name: str
    item_name: str
    po_number: str | None
    aag_season: str | None
    customer_season: str | None
    cancelled: bool
    column_values: dict[str, Any]
    row_hash: str
    source_row: int
    column_values_json: str | None = None  # `column_values` as the state tables store it, when already written


class SubitemRow(NamedTuple):
    """One size of a line with its quantity; a tuple in the staging table's column order (`staging.LineRows`
    takes it as it is), made 320,000 times in a first load of 100,000 lines."""

    item_key: str
    size: str
    customer: str
    name: str
    quantity: int
    position: int


@dataclass(frozen=True)
class RowError:
    """Why an order line (or one of its values) could not be synced."""

    source_row: int
    reason: str
    field: str | None = None
    item_key: str | None = None
    customer: str | None = None
    category: ErrorCategory = ErrorCategory.VALIDATION
    row_fields: tuple[tuple[str, str | None], ...] = ()  # what identifies the line to a person
    board_id: str | None = None  # a routed run: the board its route names (None: no route takes it)

    def as_record(self) -> dict[str, Any]:
        return {
            "source_row": self.source_row, "item_key": self.item_key, "customer": self.customer,
            "field": self.field, "message": self.reason, "category": self.category.value, "stage": "transform",
            "payload": json.dumps(dict(self.row_fields), ensure_ascii=False) if self.row_fields else None,
        }


@dataclass(frozen=True)
class TransformedLine:
    item: ItemRow
    subitems: tuple[SubitemRow, ...]
    warnings: tuple[RowError, ...] = ()  # values cut to fit their column: the line syncs, the run says so
    board_id: str | None = None  # a routed run: the board its route names (None: no route takes it)


@dataclass(frozen=True)
class TransformRules:
    """Everything the transform needs, resolved once from the config and the source table."""

    business_key: tuple[str, ...]
    customer_column: str
    po_column: str
    aag_season_column: str
    customer_season_column: str
    order_type_column: str
    cancelled_values: frozenset[str]
    customer_lookup: Mapping[str, str]
    group_rules: tuple[str, ...]
    group_fallback: str
    name_fields: tuple[str, ...]
    name_separator: str
    columns: tuple[ColumnMapping, ...]
    hash_columns: frozenset[str]
    size_columns: tuple[str, ...]
    subitem_name: str
    subitems_enabled: bool = True
    mapped_sources: frozenset[str] = frozenset()
    cut_long_names: bool = True  # `[items] on_too_long = "truncate"`
    layout: tuple[str, ...] | None = None  # lines are rows of these columns, in this order (None: mappings)

    # How a line's values are found: by name in a mapping, or by position in a row (`reading`).
    def reading(self, names: Sequence[str]) -> TransformRules:
        """These rules for the rows of a read of `names` (its columns, in its order): each value is found
        by its position, so a line needs no dict of its 200-odd columns. One copy per column order, kept
        with what it encoded so far."""
        names = tuple(names)
        if names == self.layout:
            return self
        bound = self._readings.get(names)
        if bound is None:
            bound = self._readings[names] = replace(self, layout=names)
        return bound

    @cached_property
    def _readings(self) -> dict[tuple[str, ...], TransformRules]:
        return {}

    @cached_property
    def _positions(self) -> dict[str, int]:
        positions: dict[str, int] = {}
        for position, name in enumerate(self.layout or ()):
            positions.setdefault(name, position)
        return positions

    def values_of(self, names: Sequence[str], *, lenient: bool = False) -> Callable[[Any], tuple[Any, ...]]:
        """The values of `names` in a line, as a tuple, read in one call. A column the line lacks: None in a
        row; in a mapping, KeyError — or None when `lenient`."""
        if self.layout is None:
            names = tuple(names)
            return (lambda line: tuple(map(line.get, names))) if lenient else values_getter(names)
        return positions_getter([self._positions.get(name) for name in names])

    def value(self, line: Line, column: str) -> Any:
        """One value of a line (None: the line lacks the column)."""
        if self.layout is None:
            return line.get(column)  # type: ignore[union-attr]
        position = self._positions.get(column)
        return None if position is None else line[position]  # type: ignore[index]

    def has(self, line: Line, column: str) -> bool:
        return column in (line if self.layout is None else self._positions)

    @cached_property
    def key_values(self) -> Callable[[Line], tuple[Any, ...]]:
        """A line's business key columns, as read."""
        return self.values_of(self.business_key, lenient=True)

    @cached_property
    def text_values(self) -> Callable[[Line], tuple[Any, ...]]:
        """A line's `text_columns`, as read."""
        return self.values_of(self.text_columns, lenient=True)

    # Derived once per run rather than once per line (the transform runs 100,000+ times).
    @cached_property
    def text_fields(self) -> tuple[str, ...]:
        """The columns group and item names are made of."""
        return tuple({name: None for rule in self.group_rules for name in _template_fields(rule)}
                     | dict.fromkeys(self.name_fields))

    @cached_property
    def text_columns(self) -> tuple[str, ...]:
        """Every column the transform reads as text: the name and group fields, PO, seasons, order type."""
        return tuple(dict.fromkeys([*self.text_fields, self.po_column, self.aag_season_column,
                                    self.customer_season_column, self.order_type_column]))

    @cached_property
    def _customers(self) -> dict[str, str | None]:
        return {}

    def customer_of(self, raw: Any) -> str | None:
        """The canonical customer of a line's raw customer name (None: empty); the source repeats a few dozen
        names on every line, so each is canonicalised once."""
        if type(raw) is str and raw in self._customers:
            return self._customers[raw]
        customer = canonical_customer(clean(raw), self.customer_lookup) or None
        if type(raw) is str and len(self._customers) < _KNOWN_CUSTOMERS:
            self._customers[raw] = customer
        return customer

    @cached_property
    def encodings(self) -> _Encodings:
        """The mapped columns' encoders and the values they encoded so far."""
        return _Encodings(self)

    @cached_property
    def size_values(self) -> Callable[[Line], tuple[Any, ...]]:
        """A line's size quantities, in size column order."""
        return self.values_of(self.size_columns)

    @cached_property
    def subitem_names(self) -> tuple[str, ...]:
        return tuple(subitem_name(self.subitem_name, size) for size in self.size_columns)

    @cached_property
    def hashed_unmapped(self) -> tuple[str, ...]:
        """Hashed columns no board column shows: hashed by their text."""
        return tuple(sorted(self.hash_columns - self.mapped_sources))


def values_getter(names: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The values of `names` in a line, as a tuple, read in one call (KeyError when one is missing)."""
    if len(names) == 1:
        return lambda line: (line[names[0]],)
    return itemgetter(*names) if names else lambda line: ()


def positions_getter(positions: Sequence[int | None]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """The values at `positions` in a row, as a tuple, read in one call (None where a position is None)."""
    if None in positions:
        return lambda row: tuple(None if position is None else row[position] for position in positions)
    if len(positions) == 1:
        only = int(positions[0] or 0)
        return lambda row: (row[only],)
    return itemgetter(*positions) if positions else lambda row: ()


def rules_from_config(config: Config, size_columns: Sequence[str]) -> TransformRules:
    source = config.source
    return TransformRules(
        business_key=tuple(source.business_key),
        customer_column=source.customer_column,
        po_column=source.po_column,
        aag_season_column=source.aag_season_column,
        customer_season_column=source.customer_season_column,
        order_type_column=source.order_type_column,
        cancelled_values=frozenset(value.upper() for value in source.cancelled_values),
        customer_lookup=canonical_customers(config.customers),
        group_rules=tuple(config.groups.rules),
        group_fallback=config.groups.fallback,
        name_fields=tuple(config.items.name_fields),
        name_separator=config.items.separator,
        columns=tuple(config.synced_columns()),
        hash_columns=frozenset(config.hash_columns()),
        size_columns=tuple(size_columns),
        subitem_name=config.subitems.name,
        subitems_enabled=config.subitems.enabled,
        mapped_sources=frozenset(column.source for column in config.synced_columns()),
        cut_long_names=config.items.on_too_long == "truncate",
    )


# -- values -------------------------------------------------------------------------------------

def parse_quantity(value: Any) -> int:
    """A size quantity: a whole number ≥ 0 (0 or empty means "not ordered"); else ValueError."""
    value = clean(value)
    if value is None:
        return 0
    number = parse_number(value)
    if number != number.to_integral_value():
        raise ValueError(f"{as_text(value)!r} is not a whole number of pieces")
    if number < 0:
        raise ValueError(f"{as_text(value)!r} is negative")
    if number > MAX_QUANTITY:
        raise ValueError(f"{as_text(value)!r} is more pieces than a quantity can hold ({MAX_QUANTITY:,})")
    return int(number)


# -- names and keys -----------------------------------------------------------------------------

def business_key(order_line: Mapping[str, Any], key_columns: Sequence[str]) -> tuple[str | None, str | None]:
    """(key, None) or (None, the first empty key column)."""
    return key_of_values([order_line.get(column) for column in key_columns], key_columns)


def key_of_values(values: Sequence[Any], key_columns: Sequence[str]) -> tuple[str | None, str | None]:
    """`business_key` of the key columns' values as read, in `key_columns` order."""
    parts = []
    for column, value in zip(key_columns, values, strict=True):
        text = as_text(value)
        if text is None:
            return None, column
        parts.append(key_part(text))
    return KEY_SEPARATOR.join(parts), None


def key_part(text: str) -> str:
    """One part of a business key as the key holds it: as it is, unless it could be mistaken for a
    separator's neighbour — it holds ` | ` or a backslash, or starts or ends with a bar. Then every
    backslash and bar in it is escaped with a backslash, so no two different lines share a key
    (`X | OCEAN`+`AIR` and `X`+`OCEAN | AIR` did), while every ordinary part — and so every key
    mirrors and boards already hold — stays byte for byte what it was."""
    if KEY_SEPARATOR not in text and KEY_ESCAPE not in text and not text.startswith("|") and not text.endswith("|"):
        return text
    return text.replace(KEY_ESCAPE, KEY_ESCAPE * 2).replace("|", KEY_ESCAPE + "|")


def split_key(key: str) -> list[str]:
    """A business key back into its parts, as the source columns held them: the one inverse of
    `business_key` (a ` | ` whose bar is escaped is text, not a separator)."""
    parts: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(key):
        if key[index] == KEY_ESCAPE and index + 1 < len(key):
            current.append(key[index + 1])
            index += 2
        elif key.startswith(KEY_SEPARATOR, index):
            parts.append("".join(current))
            current = []
            index += len(KEY_SEPARATOR)
        else:
            current.append(key[index])
            index += 1
    parts.append("".join(current))
    return parts


@lru_cache(maxsize=256)
def _template_fields(template: str) -> tuple[str, ...]:
    return tuple(template_fields(template))


def fill_template(template: str, values: Mapping[str, str | None]) -> str | None:
    """The template with its fields filled, or None when any field is empty."""
    filled = {}
    for name in _template_fields(template):
        value = values.get(name)
        if not value:
            return None
        filled[name] = value
    return " ".join(template.format_map(filled).split())


def group_name(values: Mapping[str, str | None], rules: Sequence[str], fallback: str) -> str:
    """The first rule whose fields are all filled, e.g. `GREYSON 2025 FALL`; else the fallback."""
    for rule in rules:
        name = fill_template(rule, values)
        if name:
            return name
    return fallback


def item_name(values: Mapping[str, str | None], fields: Sequence[str], separator: str) -> str:
    """The non-empty name fields joined by the separator (empty fields are skipped, not doubled)."""
    return separator.join(value for value in (values.get(name) for name in fields) if value)


def row_hash(name: str, group: str, hashed: Mapping[str, Any]) -> str:
    """Hash of what the board shows: name, group, and the hashed columns as they are encoded for Monday."""
    return _row_hash_of(name, group, _VALUE_JSON.encode(hashed))


def _row_hash_of(name: str, group: str, hashed_json: str) -> str:
    """`row_hash` with the hashed columns already JSON: `{"group":…,"name":…,"values":…}`, keys sorted."""
    payload = '{"group":' + _VALUE_JSON.encode(group) + ',"name":' + _VALUE_JSON.encode(name) + \
        ',"values":' + hashed_json + "}"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# Built once (json.dumps with options builds an encoder on every call); what the state tables store.
_VALUE_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def subitem_name(template: str, size: str) -> str:
    return template.format(size=size)


# -- the transform ------------------------------------------------------------------------------

IDENTIFYING_COLUMNS = ("record_uuid",)


def identify(order_line: Line, rules: TransformRules) -> tuple[tuple[str, str | None], ...]:
    """The values a person finds a source row by: customer, PO, key columns, the item name's columns (style,
    colour…), and its uuid if it has one."""
    columns = dict.fromkeys([rules.customer_column, rules.po_column, *rules.business_key, *rules.name_fields,
                             *IDENTIFYING_COLUMNS])
    return tuple((column, as_text(rules.value(order_line, column))) for column in columns
                 if rules.has(order_line, column))


class _Refused(Exception):  # noqa: N818 - a line's refusal inside the transform, never raised out of it
    """Why a line cannot be synced; `keyless` when even its business key cannot be recorded."""

    def __init__(self, column: str | None, reason: str, *, keyless: bool = False) -> None:
        super().__init__(reason)
        self.column, self.reason, self.keyless = column, reason, keyless


def transform_order_line(order_line: Line, rules: TransformRules, source_row: int) -> TransformedLine | RowError:
    """One order line → its item and size subitems, or the reason it cannot be synced. The line is a mapping,
    or a row of the columns `rules` are `reading`."""
    key, missing = key_of_values(rules.key_values(order_line), rules.business_key)
    customer = rules.customer_of(rules.value(order_line, rules.customer_column))
    try:
        key, customer = _identity(key, missing, customer, rules)
        return _transform(order_line, rules, source_row, key, customer)
    except _Refused as refused:
        # a customer name too long to store would make the error record itself fail to insert
        known = customer if customer is None or len(customer) <= NAME_LENGTH else None
        return RowError(source_row, refused.reason, field=refused.column, item_key=None if refused.keyless else key,
                        customer=known, row_fields=identify(order_line, rules))


def _identity(key: str | None, missing: str | None, customer: str | None,
              rules: TransformRules) -> tuple[str, str]:
    """The business key and the customer, both present and storable."""
    if key is None:
        raise _Refused(missing, f"no business key: {missing} is empty")
    if len(key) > KEY_LENGTH:
        column, length = _longest_key_part(key, rules.business_key)
        raise _Refused(column, f"business key is {len(key)} characters; at most {KEY_LENGTH} fit: "
                       f"{column} is {length} characters", keyless=True)
    if not customer:
        raise _Refused(rules.customer_column, f"no customer: {rules.customer_column} is empty")
    if len(customer) > NAME_LENGTH:
        raise _Refused(rules.customer_column, f"the customer name is {len(customer)} characters; "
                       f"at most {NAME_LENGTH} fit")
    return key, customer


def _longest_key_part(key: str, key_columns: Sequence[str]) -> tuple[str, int]:
    """(source column, length) of the key's longest part: the one to shorten when the key is too long."""
    lengths = [len(part) for part in split_key(key)]
    longest = max(range(len(lengths)), key=lengths.__getitem__)
    return key_columns[longest], lengths[longest]


def _transform(order_line: Line, rules: TransformRules, source_row: int, key: str,
               customer: str) -> TransformedLine:
    texts = dict(zip(rules.text_columns, map(as_text, rules.text_values(order_line)), strict=True))
    if rules.customer_column in texts:
        texts[rules.customer_column] = customer

    def text_of(column: str) -> str | None:
        return texts[column] if column in texts else as_text(rules.value(order_line, column))

    cuts: list[tuple[str, str]] = []  # (field, what was cut)
    encoded, fragments = _encoded_columns(order_line, rules, customer, cuts)
    column_values = dict(compress(zip(rules.encodings.ids, encoded, strict=True), encoded))  # never a falsy value
    group, name = _group_and_name(texts, rules, cuts)
    for column in (rules.po_column, rules.aag_season_column, rules.customer_season_column):
        text = text_of(column)
        if text is not None and len(text) > NAME_LENGTH:
            raise _Refused(column, f"{column} is {len(text)} characters; at most {NAME_LENGTH} fit")
    if len(group) > TITLE_LENGTH:
        raise _Refused("group name", f"the group name is {len(group)} characters; at most {TITLE_LENGTH} fit")
    subitems = _size_rows(order_line, rules, key, customer)
    encodings = rules.encodings
    hashed_json = encodings.hashed_json(fragments, column_values, text_of, rules.hashed_unmapped)
    order_type = text_of(rules.order_type_column)
    item = ItemRow(
        item_key=key,
        customer=customer,
        group_name=group,
        item_name=name,
        po_number=text_of(rules.po_column),
        aag_season=text_of(rules.aag_season_column),
        customer_season=text_of(rules.customer_season_column),
        cancelled=bool(order_type and order_type.upper() in rules.cancelled_values),
        column_values=column_values,
        row_hash=_row_hash_of(name, group, hashed_json),
        source_row=source_row,
        column_values_json=encodings.values_json(fragments, encoded, column_values),
    )
    fields = identify(order_line, rules) if cuts else ()
    warnings = tuple(RowError(source_row, reason, field=field, item_key=key, customer=customer,
                              category=ErrorCategory.TRUNCATED, row_fields=fields) for field, reason in cuts)
    return TransformedLine(item, tuple(subitems), warnings)


def _encoded_columns(order_line: Line, rules: TransformRules, customer: str,
                     cuts: list[tuple[str, str]]) -> tuple[Sequence[Any], Sequence[str]]:
    """Each mapped column encoded for Monday (by the codec), and each one's JSON (`"id":value`), in column id
    order (`_Encodings.ids`). A value too long for its column is cut when the column says so (noted in `cuts`), else
    refused.

    A source repeats its labels, seasons, prices and dates on many lines: each (column, value) is
    encoded — and written as JSON — once, then looked up, all the line's columns in one pass."""
    encodings = rules.encodings
    encodings.lines += 1
    raws = encodings.raw_values(order_line)
    if encodings.customer_at is not None and raws[encodings.customer_at] is not None:
        raws = (*raws[:encodings.customer_at], customer, *raws[encodings.customer_at + 1:])
    if not raws:
        return [], []
    try:  # one lookup a column: (encoded, JSON fragment)
        encoded, fragments = zip(*map(dict.get, encodings.known, raws, repeat(_NOT_KNOWN)), strict=True)
    except TypeError:  # a value that cannot be a dict key (a list, say): every column encoded afresh
        encoded, fragments = (_UNKNOWN,) * len(raws), ("",) * len(raws)
    if _UNKNOWN not in encoded:
        return encoded, fragments
    encoding, writing = list(encoded), list(fragments)
    _encode_unknown(encoding, writing, raws, encodings, cuts)
    return encoding, writing


def _encode_unknown(encoded: list[Any], fragments: list[str], raws: Sequence[Any], encodings: _Encodings,
                    cuts: list[tuple[str, str]]) -> None:
    """Encode the values not seen before, in the config's column order (a line is refused for its first bad
    column), and remember them."""
    unknown = list(compress(encodings.positions, map(is_, encoded, repeat(_UNKNOWN))))  # often one: an order number
    if len(unknown) > 1:
        unknown.sort(key=encodings.config_rank.__getitem__)
    for position in unknown:
        mapping, encode_value = encodings.encoders[position]
        raw = raws[position]
        try:
            value = encode_value(raw)
        except TooLong as problem:
            if mapping.on_too_long == "reject":
                raise _Refused(mapping.source, f'{_column(mapping)}: {problem} (on_too_long = "reject")') from None
            encoded[position] = value = encode(raw, mapping, cut_to_fit=True)
            fragments[position] = encodings.fragment(position, value)
            cuts.append((mapping.source, f"{_column(mapping)}: {problem}; cut to fit"))
            continue
        except ValueError as problem:
            raise _Refused(mapping.source, f"{_column(mapping)}: {problem}") from None
        encoded[position], fragments[position] = value, encodings.remember(position, raw, value)


class _Encodings:
    """The mapped columns in column id order (the order JSON with sorted keys writes them), each with its
    codec encoder; and the values each encoded so far with their JSON, keyed by (column, type, value):
    the type keeps True apart from 1, which a text column shows differently.

    The row hash (`row_hash`) covers name, group and the hashed columns as sorted-key JSON; its "values"
    object is made here from the same pieces as the staged column values, byte for byte what `row_hash`
    writes — so a line is encoded and written as JSON once, and every recorded hash stays valid."""

    def __init__(self, rules: TransformRules) -> None:
        order = sorted(range(len(rules.columns)), key=lambda index: rules.columns[index].id)
        mappings = [rules.columns[index] for index in order]
        self.encoders = tuple((mapping, encoder(mapping)) for mapping in mappings)
        self.config_rank = tuple(order)  # position → the mapping's place in the config
        self.positions = tuple(range(len(mappings)))
        self.ids = tuple(mapping.id for mapping in mappings)
        self.keys_json = tuple(_VALUE_JSON.encode(mapping.id) + ":" for mapping in mappings)
        self.raw_values = rules.values_of(tuple(mapping.source for mapping in mappings))
        customer = [position for position, mapping in enumerate(mappings) if mapping.source == rules.customer_column]
        self.customer_at = customer[0] if len(customer) == 1 else None
        if len(customer) > 1:
            self.raw_values = self._customer_everywhere(self.raw_values, customer)
        hashed = {mapping.id: position for position, mapping in enumerate(mappings)
                  if mapping.source in rules.hash_columns}
        unmapped = {column: None for column in rules.hashed_unmapped}
        # Each hashed key once, sorted: a column id, or an unmapped column hashed by its text.
        self.hash_layout = tuple((_VALUE_JSON.encode(name) + ":", hashed.get(name)) for name in sorted(
            {**dict.fromkeys(hashed), **unmapped}))
        self.hash_is_every_column = len(hashed) == len(mappings) and not unmapped and len(set(self.ids)) == len(
            self.ids)
        self.exact = len(set(self.ids)) == len(self.ids) and not set(unmapped) & set(hashed)
        # Per column, source value → (encoded value, its JSON fragment) (None: empty, `"id":null`).
        self.known: tuple[dict[Any, tuple[Any, str]], ...] = tuple({None: (None, key + "null")}
                                                                     for key in self.keys_json)
        self._room = _KNOWN_VALUES
        self.lines = 0  # lines encoded (`_encoded_columns` counts them)
        self.stored = [0] * len(mappings)  # values each column remembered
        self.forgetting = [False] * len(mappings)  # a column whose values do not repeat (an order number)

    @staticmethod
    def _customer_everywhere(read: Callable[[Line], tuple[Any, ...]],
                             positions: list[int]) -> Callable[[Line], tuple[Any, ...]]:
        def raw_values(order_line: Line) -> tuple[Any, ...]:  # the canonical name in each
            raws = list(read(order_line))
            for position in positions[1:]:
                raws[position] = raws[positions[0]]
            return tuple(raws)

        return raw_values

    def fragment(self, position: int, value: Any) -> str:
        return self.keys_json[position] + _VALUE_JSON.encode(value)

    def remember(self, position: int, raw: Any, value: Any) -> str:
        """`value`'s JSON fragment, remembered with it while there is room."""
        fragment = self.fragment(position, value)
        if self._room > 0 and not self.forgetting[position] and _rememberable(raw):
            self.known[position][raw] = (value, fragment)
            self._room -= 1
            self.stored[position] += 1
            if self.stored[position] >= _UNREPEATED_AFTER and self.stored[position] > self.lines * 0.9:
                self._forget(position)
        return fragment

    def _forget(self, position: int) -> None:
        """Remember no more of a column nearly every line of which holds a value of its own (a line's number):
        remembering them helped no line and cost a worker 14 MB of its 100."""
        known = self.known[position]
        self.forgetting[position] = True
        self._room += len(known) - 1
        empty = known[None]
        known.clear()
        known[None] = empty

    def values_json(self, fragments: Sequence[str], encoded: Sequence[Any], column_values: Mapping[str, Any]) -> str:
        """The staged column values as JSON: the fragments of the columns with a value (`encoded`, by position:
        never a falsy value, see `_encoded_columns`)."""
        if not self.exact:
            return dumps_sorted(column_values)
        return "{" + ",".join(compress(fragments, encoded)) + "}"

    def hashed_json(self, fragments: Sequence[str], encoded: Mapping[str, Any],
                    unmapped_text: Callable[[str], str | None], unmapped: Sequence[str]) -> str:
        """The "values" object `row_hash` covers, as JSON."""
        if self.hash_is_every_column:
            return "{" + ",".join(fragments) + "}"
        if not self.exact:
            hashed = {self.ids[position]: encoded.get(self.ids[position]) for _, position in self.hash_layout
                      if position is not None}
            return dumps_sorted(hashed | {column: unmapped_text(column) for column in unmapped})
        return "{" + ",".join(fragments[position] if position is not None
                              else key + _VALUE_JSON.encode(unmapped_text(json.loads(key[:-1])))
                              for key, position in self.hash_layout) + "}"


def _rememberable(raw: Any) -> bool:
    """A value looked up by equality gets the encoding of any equal value: True equals 1 (and 1.0, and
    Decimal 1) but a text column shows "true" — so a bool, and what equals one, is encoded each time."""
    if type(raw) is str:
        return True
    try:
        hash(raw)
        return type(raw) is not bool and not (raw == 0 or raw == 1)
    except TypeError:  # unhashable, or a value that will not compare with a number
        return False


def dumps_sorted(value: Any) -> str:
    return _VALUE_JSON.encode(value)


_UNKNOWN = object()
_NOT_KNOWN = (_UNKNOWN, "")
_KNOWN_VALUES = 200_000  # memory stays bounded whatever the source holds
_KNOWN_CUSTOMERS = 10_000
_UNREPEATED_AFTER = 5_000  # values a column remembers before it may be found never to repeat them


def _column(mapping: ColumnMapping) -> str:
    return f"{mapping.source} → {mapping.id} ({mapping.type})"


def _group_and_name(values: Mapping[str, str | None], rules: TransformRules,
                    cuts: list[tuple[str, str]]) -> tuple[str, str]:
    """The group and the item name. A name over Monday's limit is cut (noted in `cuts`) or refused, as
    `[items] on_too_long` says; a group name is never cut (two groups would become one)."""
    group = group_name(values, rules.group_rules, rules.group_fallback)
    full_name = item_name(values, rules.name_fields, rules.name_separator)
    if not full_name:
        raise _Refused(rules.name_fields[0], "the item name is empty: every name field is empty")
    name = cut(full_name, MAX_ITEM_NAME)
    if name != full_name:
        too_long = f"the item name is {len(full_name):,} characters; Monday takes 1 to {MAX_ITEM_NAME}"
        if not rules.cut_long_names:
            raise _Refused("item name", f'{too_long} ([items] on_too_long = "reject")')
        cuts.append(("item name", f"{too_long}; cut to fit"))
    return group, name


def _size_rows(order_line: Line, rules: TransformRules, key: str, customer: str) -> list[SubitemRow]:
    """Wide → tall: one subitem per size column with a quantity above zero."""
    try:
        values = rules.size_values(order_line)
    except KeyError:  # a mapping without some size column: not ordered in that size
        values = tuple(rules.value(order_line, size) for size in rules.size_columns)
    subitems: list[SubitemRow] = []
    for position in compress(range(len(values)), values):  # None, 0 and "" are never a quantity above zero
        value = values[position]
        if type(value) is int and 0 <= value <= MAX_QUANTITY:  # what an INTEGER column gives: nothing to parse
            quantity = value
        else:
            size = rules.size_columns[position]
            try:
                quantity = parse_quantity(value)
            except ValueError as problem:
                raise _Refused(size, f"size {size}: {problem}") from None
        if quantity > 0 and rules.subitems_enabled:
            subitems.append(SubitemRow(key, rules.size_columns[position], customer, rules.subitem_names[position],
                                       quantity, position))
    return subitems
