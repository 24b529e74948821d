"""Which source lines changed since the board was last confirmed to show them: line fingerprints.

A line's fingerprint covers exactly the source columns the config reads (`source.columns_read`),
computed where it is cheapest — in SQL on PostgreSQL (`md5` over the row) and SQL Server
(`HASHBYTES('MD5', …)` over the columns as text; never `CHECKSUM`, which collides), and on SQLite over
the row as it writes it out (`quote()` of each column, joined in SQL, hashed by an md5 function the
connection gets from Python) — and is prefixed by a
fingerprint of the config itself, so a mapping change, a size column added or dropped, or a new
release of the transform (`FORMAT`) makes every line differ.

The mirror records a line's fingerprint only once a run confirmed every write of it
(`state.mirror.Mirror.record_fingerprints`), and forgets it whenever any of its rows is written again:
a line whose last write failed, was cut short or is unknown is read again whatever its fingerprint.
A resync reads the key columns and fingerprints of the whole scope, compares them with the mirror's,
and only new and changed lines go through the wide extract, transform and staging.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ordersync.config import Config
from ordersync.engine.filters import Filters
from ordersync.engine.routes import route_columns
from ordersync.engine.source import SourceTable, columns_read, scoped_query
from ordersync.engine.transform import TransformRules, key_of_values
from ordersync.errors import SourceError
from ordersync.state import StateStore

log = logging.getLogger(__name__)

FORMAT = "1"  # raise when the transform's output for the same line and config changes
CONFIG_PREFIX = 16  # characters of the config's fingerprint that lead every line's
MAX_KEYS_IN_QUERY = 5000  # changed lines read by key in one query; more, and the whole scope is read
MSSQL_MAX_KEYS_IN_QUERY = 600  # SQL Server takes 2,100 parameters, and has no (a, b) IN ((…)) form


REMOVAL_SETTINGS = ("on_removed", "bulk_archive_over", "bulk_archive_wait_seconds")
"""`[items]` settings that act on lines gone from the source (found by a key-only read), never on how a
line reads: left out of the config's fingerprint, so changing them reads nothing again."""
EDIT_SETTINGS = {"items": {"on_name_edit"}, "subitems": {"on_quantity_edit"}}
"""Policies for people's edits met on the board (by adopt and pull), never how a line reads: left out too —
a new policy settles the edits met from then on."""


def config_fingerprint(config: Config, rules: TransformRules) -> str:
    """What decides how a line becomes an item: the transform's rules, the routes, the items (but
    `REMOVAL_SETTINGS`), groups and subitems settings. Any change to them makes every line's
    fingerprint differ."""
    described = {
        "format": FORMAT,
        "rules": {name: _canonical(getattr(rules, name)) for name in rules.__dataclass_fields__},
        "items": config.items.model_dump(mode="json", exclude={*REMOVAL_SETTINGS, *EDIT_SETTINGS["items"]}),
        "groups": config.groups.model_dump(mode="json"),
        "subitems": config.subitems.model_dump(mode="json", exclude=EDIT_SETTINGS["subitems"]),
        "key_column": config.monday.key_column,
        "routes": [route.model_dump(mode="json") for route in config.routes],
    }
    text = json.dumps(described, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:CONFIG_PREFIX]


def _canonical(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, Mapping):
        return sorted(value.items())
    if isinstance(value, tuple | list):
        return [_canonical(item) for item in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


def fingerprinted_columns(source_table: SourceTable, config: Config) -> tuple[str, ...]:
    """Exactly the columns the config reads (and the routes), in table order."""
    return columns_read(source_table, config, also=route_columns(config))


# -- the fingerprint of each row, by dialect -------------------------------------------------------------

def fingerprint_expression(columns: Sequence[sa.ColumnElement], dialect: sa.Dialect) -> sa.ColumnElement | None:
    """A SQL expression for the row's fingerprint (32 hex digits), or the row's text for Python to hash
    (SQLite), or None: Python hashes the raw values."""
    if dialect.name == "postgresql":
        return sa.func.md5(sa.cast(sa.func.row(*columns), sa.Text))
    if dialect.name == "mssql":
        # Each column as text (NULL as a character no text holds), separated by another such character;
        # CONCAT takes at most 254 arguments, so hundreds of columns are joined as a tree.
        texts: list[sa.ColumnElement] = [sa.func.coalesce(_mssql_text(column), sa.literal_column("NCHAR(30)"))
                                         for column in columns]
        separator: sa.ColumnElement = sa.literal_column("NCHAR(31)")
        joined = _balanced(texts, lambda parts: sa.func.concat(*_separated(parts, separator)), 100)
        return sa.func.lower(sa.func.convert(sa.literal_column("VARCHAR(32)"),
                                             sa.func.hashbytes(sa.literal_column("'MD5'"), joined),
                                             sa.literal_column("2")))
    if dialect.name == "sqlite":
        # json_array: NULL, numbers and "text" each written unambiguously, a hundred columns a call (SQLite
        # takes at most 127 arguments), 4× faster than quote() joined by ||; a binary column by quote().
        # Hashed inside the query (`_sqlite_md5`), so the sort by key carries 32 characters a row.
        values = [sa.func.quote(column) if isinstance(column.type, sa.LargeBinary) else column for column in columns]
        arrays = [sa.func.json_array(*values[start:start + 100]) for start in range(0, len(values), 100)]
        return getattr(sa.func, SQLITE_MD5)(_concat(arrays))
    return None


SQLITE_MD5 = "ordersync_md5"


def register_sqlite_md5(driver_connection: Any) -> None:
    """SQLite has no md5: a connection (sqlite3's) gets one, written in Python, for the fingerprint query."""
    driver_connection.create_function(SQLITE_MD5, 1, _text_fingerprint, deterministic=True)


def _mssql_text(column: sa.ColumnElement) -> sa.ColumnElement:
    """A column as text that keeps its value whole: floats with 17 digits, times to the microsecond."""
    kind = column.type
    style = 3 if isinstance(kind, sa.Float) else 126 if isinstance(kind, sa.DateTime | sa.Date | sa.Time) else None
    target: sa.ColumnElement = sa.literal_column("NVARCHAR(MAX)")
    return sa.func.convert(target, column, sa.literal_column(str(style))) if style is not None \
        else sa.func.convert(target, column)


def _separated(parts: Sequence[sa.ColumnElement], separator: sa.ColumnElement) -> list[sa.ColumnElement]:
    separated: list[sa.ColumnElement] = []
    for part in parts:
        if separated:
            separated.append(separator)
        separated.append(part)
    return separated


def _concat(parts: Sequence[sa.ColumnElement]) -> sa.ColumnElement:
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.op("||")(part)
    return joined


def _balanced(parts: Sequence[sa.ColumnElement], join, width: int) -> sa.ColumnElement:
    """`join` over `parts` as a tree `width` wide, so hundreds of columns never nest hundreds deep."""
    level = list(parts)
    while len(level) > 1:
        level = [join(level[start:start + width]) if len(level[start:start + width]) > 1 else level[start]
                 for start in range(0, len(level), width)]
    return level[0]


def _python_fingerprint(values: Iterable[Any]) -> str:
    return hashlib.md5(repr(tuple(values)).encode("utf-8"), usedforsecurity=False).hexdigest()


def _text_fingerprint(text: str | None) -> str:
    return hashlib.md5((text or "").encode("utf-8"), usedforsecurity=False).hexdigest()


# -- the lines of a run and what changed -----------------------------------------------------------------

@dataclass
class SourceLines:
    """The lines in a run's scope, read by key: each row's key columns as stored, its business key and its
    fingerprint, in read order (the numbers reports give the lines) — or, read without fingerprints, the key
    columns alone."""

    raw_keys: list[tuple[Any, ...]] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)
    fingerprints: list[str] = field(default_factory=list)

    def fingerprint_of(self) -> dict[str, str]:
        return {key: fingerprint for key, fingerprint in zip(self.keys, self.fingerprints, strict=True)
                if key is not None}


def read_source_lines(engine: Engine, source_table: SourceTable, config: Config, filters: Filters,
                      rules: TransformRules, *, fingerprinted: bool = True) -> SourceLines:
    """Every line of the run's scope: key columns and fingerprint only (the wide columns stay in the database
    unless the fingerprint is computed in Python). Not `fingerprinted`: the key columns alone (the transform
    processes of a first load fingerprint the lines as they read them whole, `LineFingerprints`)."""
    started = time.monotonic()
    fingerprints = LineFingerprints.of(source_table, config, rules, engine.dialect) if fingerprinted else None
    try:
        lines = _read_lines(engine, source_table, config, filters, fingerprints)
    except sa.exc.OperationalError as error:
        if fingerprints is None or engine.dialect.name != "sqlite" or not refused_a_blob(str(error.orig)):
            raise SourceError(f"reading the source table failed: {error.orig}") from None
        # SQLite keeps a blob in any column, and json_array refuses one: hash those rows' values in Python
        lines = _read_lines(engine, source_table, config, filters, fingerprints.in_python())
    log.info("fingerprints: %d order lines read by key%s in %.2f s", len(lines.raw_keys),
             "" if fingerprinted else " (their key columns alone: the transform processes fingerprint them)",
             time.monotonic() - started, extra={"stage": "fingerprints", "order_lines": len(lines.raw_keys),
                    "seconds": round(time.monotonic() - started, 3)})
    return lines


def _read_lines(engine: Engine, source_table: SourceTable, config: Config, filters: Filters,
                fingerprints: LineFingerprints | None) -> SourceLines:
    key_names = list(config.source.business_key)
    selected = [source_table.table.c[name] for name in key_names] + (fingerprints.selected(source_table)
                                                                     if fingerprints is not None else [])
    query = scoped_query(engine, source_table, config, filters, selected)
    lines = SourceLines()
    width = len(key_names)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            register_sqlite_md5(connection.connection.driver_connection)
        result = connection.execution_options(stream_results=True, yield_per=config.source.chunk_size)
        if fingerprints is None:  # the lines' order alone (`engine.parallel` numbers them by it)
            lines.raw_keys.extend(map(tuple, result.execute(query)))
            return lines
        for row in result.execute(query):
            raw = tuple(row[:width])
            lines.raw_keys.append(raw)
            lines.keys.append(key_of_values(raw, key_names)[0])
            lines.fingerprints.append(fingerprints.of_selected(row[width:]))
    return lines


FINGERPRINT_LABEL = "ordersync fingerprint"  # the fingerprint's name in a row read whole with it


@dataclass(frozen=True)
class LineFingerprints:
    """How each line of a scope is fingerprinted, by the key read and by a read of whole lines alike: the
    config's fingerprint, then the row's — computed by the database (`expression`) or, where it cannot
    (a SQLite blob), in Python over the fingerprinted columns' values (`expression` None)."""

    prefix: str
    columns: tuple[str, ...]
    expression: sa.ColumnElement | None

    @classmethod
    def of(cls, source_table: SourceTable, config: Config, rules: TransformRules,
           dialect: sa.Dialect) -> LineFingerprints:
        columns = fingerprinted_columns(source_table, config)
        return cls(config_fingerprint(config, rules), columns,
                   fingerprint_expression([source_table.table.c[name] for name in columns], dialect))

    def in_python(self) -> LineFingerprints:
        return LineFingerprints(self.prefix, self.columns, None)

    def selected(self, source_table: SourceTable) -> list[sa.ColumnElement]:
        """What a query selects, after the key columns, for `of_selected`."""
        if self.expression is None:
            return [source_table.table.c[name] for name in self.columns]
        return [self.expression.label(FINGERPRINT_LABEL)]

    def of_selected(self, selected: Sequence[Any]) -> str:
        return self.prefix + (str(selected[0]) if self.expression is not None else _python_fingerprint(selected))

    def read_with_line(self) -> tuple[tuple[str, ...], list[sa.ColumnElement]]:
        """What a read of whole lines adds for `of_line`: the columns it must read besides its own (computed
        in Python), and the labelled expression it selects (computed by the database)."""
        if self.expression is None:
            return self.columns, []
        return (), [self.expression.label(FINGERPRINT_LABEL)]

    def of_rows(self, names: Sequence[str]) -> Callable[[Sequence[Any]], str]:
        """The fingerprint of each row of a read of whole lines (its columns: `names`) that selected what
        `read_with_line` says: `FINGERPRINT_LABEL`'s value or, computed in Python, every fingerprinted column's."""
        if self.expression is not None:
            at = names.index(FINGERPRINT_LABEL)
            return lambda row: self.prefix + str(row[at])
        positions = [names.index(name) for name in self.columns]
        return lambda row: self.prefix + _python_fingerprint(row[position] for position in positions)


def refused_a_blob(message: str) -> bool:
    """SQLite's json_array refused a blob: the fingerprints must be computed in Python."""
    return "BLOB" in message


@dataclass
class Changes:
    """What a run must read of its scope: the rows of new and changed lines (by their key columns as stored,
    with the number each has in the whole scope), and the lines it leaves unstaged."""

    rows: list[tuple[tuple[Any, ...], int]]  # (key columns as stored, line number), in read order
    unchanged: set[str]  # business keys whose fingerprint is the one the mirror recorded
    fingerprints: dict[str, str]  # every line's, by business key

    def numbers(self) -> dict[tuple[Any, ...], deque[int]]:
        """The line numbers of each stored key, in read order (two rows may store the same key)."""
        numbers: dict[tuple[Any, ...], deque[int]] = defaultdict(deque)
        for raw, number in self.rows:
            numbers[raw].append(number)
        return numbers


def changed_lines(lines: SourceLines, recorded: Mapping[str, str | None]) -> Changes:
    """Compare the scope's fingerprints with those the mirror recorded: a line is read again when it is new,
    changed, has no recorded fingerprint, has no business key, or shares its key with another line."""
    counts = Counter(lines.keys)
    rows: list[tuple[tuple[Any, ...], int]] = []
    unchanged: set[str] = set()
    for number, (raw, key, fingerprint) in enumerate(zip(lines.raw_keys, lines.keys, lines.fingerprints,
                                                         strict=True), 1):
        if key is not None and counts[key] == 1 and recorded.get(key) == fingerprint:
            unchanged.add(key)
        else:
            rows.append((raw, number))
    return Changes(rows, unchanged, lines.fingerprint_of())


def recorded_fingerprints(store: StateStore, boards: Sequence[str]) -> dict[str, str | None]:
    """The fingerprint each line's mirror row recorded, over the given boards (a line two boards hold, or
    held with two fingerprints, has none)."""
    synced = store.tables.synced_items
    recorded: dict[str, str | None] = {}
    with store.engine.connect() as connection:
        for key, fingerprint in connection.execute(sa.select(synced.c.item_key, synced.c.fingerprint).where(
                synced.c.board_id.in_(list(boards)))):
            recorded[key] = fingerprint if key not in recorded else None
    return recorded


def changed_rows_filter(source_table: SourceTable, config: Config, changes: Changes,
                        dialect: sa.Dialect) -> sa.ColumnElement | None:
    """The WHERE clause that reads only the changed rows by their key columns as stored (a key column that
    is NULL, a line without a business key, is read by that); None when there are too many to name."""
    limit = MSSQL_MAX_KEYS_IN_QUERY if dialect.name == "mssql" else MAX_KEYS_IN_QUERY
    raws = list(dict.fromkeys(raw for raw, _ in changes.rows))
    if len(raws) > limit:
        return None
    key_columns = [source_table.table.c[name] for name in config.source.business_key]
    complete = [raw for raw in raws if None not in raw]
    conditions: list[sa.ColumnElement] = []
    if complete:
        if dialect.name == "mssql":
            conditions += [sa.and_(*(column == value for column, value in zip(key_columns, raw, strict=True)))
                           for raw in complete]
        elif dialect.name == "postgresql":  # a VALUES list it joins by hash; a row-value IN list it scans per row
            keys = sa.values(*(sa.column(f"k{index}", column.type) for index, column in enumerate(key_columns)),
                             name="changed_keys").data(complete)
            conditions.append(sa.exists().where(*(keys.c[f"k{index}"] == column
                                                  for index, column in enumerate(key_columns))))
        else:
            conditions.append(sa.tuple_(*key_columns).in_(complete))
    for index, column in enumerate(key_columns):
        if any(raw[index] is None for raw in raws):
            conditions.append(column.is_(None))
    return sa.or_(*conditions) if conditions else sa.false()


def record_unchanged(store: StateStore, run_id: int, board_id: str, unchanged: Set[str]) -> dict[str, int]:
    """Count, per customer, the lines of this board the run leaves unstaged (and their sizes), so plans,
    outcomes and reports count them as unchanged like staged ones. Returns the items per customer.

    Two reads of the board's mirror, each over one table (the sizes counted per line by the database,
    summed per customer here): a join of the two tables cost seconds on PostgreSQL at 300,000 sizes."""
    tables = store.tables
    synced, sizes, counted = tables.synced_items, tables.synced_subitems, tables.unchanged_lines
    items: Counter[str] = Counter()
    subitems: Counter[str] = Counter()
    with store.engine.begin() as connection:
        customer_of: dict[str, str] = {}
        for key, customer in connection.execute(sa.select(synced.c.item_key, synced.c.customer).where(
                synced.c.board_id == board_id)):
            if key in unchanged:
                items[customer] += 1
                customer_of[key] = customer
        for key, count in connection.execute(sa.select(sizes.c.item_key, sa.func.count()).where(
                sizes.c.board_id == board_id).group_by(sizes.c.item_key)):
            customer = customer_of.get(key)
            if customer is not None:
                subitems[customer] += count
        rows = [{"run_id": run_id, "customer": customer, "items": count, "subitems": subitems[customer]}
                for customer, count in sorted(items.items())]
        if rows:
            connection.execute(sa.insert(counted), rows)
    return dict(items)
