"""Extract: read order lines from the wide source table, filtered and streamed in chunks.

Filters are bound parameters, never SQL text. Customer filters accept a canonical name or any
alias: the distinct raw names in the table are folded with the config's alias map first, so
`--customer GREYSON` also reads rows spelled `GREYSON CLOTHIERS` or `greyson `.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ordersync.config import Config, SizeColumnsConfig, check_source_columns
from ordersync.database import Timeouts, display_url, make_engine
from ordersync.engine.filters import Filters, canonical_customer, canonical_customers
from ordersync.errors import ConfigError, SourceError
from ordersync.state import SIZE_LENGTH

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceTable:
    """The reflected source table and what ordersync reads from it."""

    table: sa.Table
    columns: tuple[str, ...]
    size_columns: tuple[str, ...]


_INTEGER_TYPES = (sa.Integer, sa.SmallInteger, sa.BigInteger)


def is_integer_type(column_type: sa.types.TypeEngine) -> bool:
    if isinstance(column_type, _INTEGER_TYPES):
        return True
    return isinstance(column_type, sa.Numeric) and (column_type.scale or 0) == 0 and not isinstance(
        column_type, sa.Float) and column_type.precision is not None


def detect_size_columns(columns: Sequence[tuple[str, sa.types.TypeEngine]], sizes: SizeColumnsConfig) -> list[str]:
    """The size columns: the explicit list, or the integer columns strictly between the two markers."""
    names = [name for name, _ in columns]
    if sizes.columns is not None:
        missing = [name for name in sizes.columns if name not in names]
        if missing:
            raise ConfigError("source.sizes.columns names columns the table does not have",
                              problems=[f"source.sizes.columns: unknown source column {name!r}" for name in missing])
        return _storable_sizes([name for name in sizes.columns if name not in sizes.exclude])
    assert sizes.between is not None
    start, end = sizes.between
    problems = [f"source.sizes.between[{index}]: unknown source column {name!r}"
                for index, name in enumerate(sizes.between) if name not in names]
    if problems:
        raise ConfigError("the size markers are not columns of the table", problems=problems)
    first, last = names.index(start), names.index(end)
    if first >= last:
        raise ConfigError("source.sizes.between: the first marker must come before the second",
                          problems=[f"source.sizes.between: {start!r} is column {first + 1}, {end!r} is {last + 1}"])
    excluded = set(sizes.exclude)
    return _storable_sizes([name for name, column_type in columns[first + 1:last]
                            if is_integer_type(column_type) and name not in excluded])


def _storable_sizes(names: list[str]) -> list[str]:
    """A size column's name is the size itself, kept in the state tables: it must fit there."""
    too_long = [name for name in names if len(name) > SIZE_LENGTH]
    if too_long:
        raise ConfigError(
            f"size column names are stored as the size, at most {SIZE_LENGTH} characters",
            problems=[f"source.sizes: size column {name!r} is {len(name)} characters" for name in too_long],
            hint="leave it out with source.sizes.exclude, or rename the column in a view",
        )
    return names


def create_source_engine(url: str, timeouts: Timeouts | None = None) -> Engine:
    return make_engine(url, error=SourceError, section="source", timeouts=timeouts)


def open_source(engine: Engine, config: Config) -> SourceTable:
    """Reflect the table, check every column the config names, find the size columns."""
    source = config.source
    try:
        inspector = sa.inspect(engine)
        if not inspector.has_table(source.table, schema=source.db_schema):
            raise SourceError(
                f"the source table {source.table!r} does not exist in {display_url(str(engine.url))}",
                hint="check [source] table, or run `ordersync sample-data` to create the sample table",
            )
        metadata = sa.MetaData()
        table = sa.Table(source.table, metadata, schema=source.db_schema, autoload_with=engine)
    except sa.exc.OperationalError as error:
        raise SourceError(f"cannot reach the source database: {error.orig}",
                          hint="is the database server running and the URL right?") from None
    columns = [(column.name, column.type) for column in table.columns]
    check_source_columns(config, (name for name, _ in columns), table=source.table)
    sizes = detect_size_columns(columns, source.sizes)
    if not sizes:
        raise ConfigError("no size columns found",
                          problems=["source.sizes: no integer column lies between the markers"])
    # Plain str, not the reflected `quoted_name`: a size's name is staged with each of its subitems, and
    # sqlite3 binds a str subclass through its adapter lookup (4× the time: 1.3 s over 320,000 sizes).
    return SourceTable(table=table, columns=tuple(str(name) for name, _ in columns),
                       size_columns=tuple(str(name) for name in sizes))


def _text(column: sa.ColumnElement) -> sa.ColumnElement:
    return sa.func.trim(column)


def _raw_customer_names(engine: Engine, source_table: SourceTable, customer_column: str,
                        wanted: frozenset[str], lookup: Mapping[str, str]) -> list[str]:
    """The raw spellings in the table that fold onto one of the wanted canonical customers."""
    column = source_table.table.c[customer_column]
    with engine.connect() as connection:
        raw_names = connection.execute(sa.select(column).distinct()).scalars().all()
    return [name for name in raw_names
            if name is not None and canonical_customer(name, lookup) in wanted]


class _StoredValueIfUnreadable(sa.types.TypeDecorator):
    """A column read with its own type's conversion, or as stored when that conversion fails.

    SQLite keeps whatever a row was given, whatever the column's declared type: one `31/02/2025`
    in a DATE column (or text in a NUMERIC one) made SQLAlchemy's converter raise and stopped the
    whole read. Read this way, that cell arrives as its text and the transform refuses it as that
    line's error, while every valid value arrives exactly as before.
    """

    impl = sa.types.NullType
    cache_ok = True

    def __init__(self, declared: sa.types.TypeEngine) -> None:
        super().__init__()
        self.declared = declared

    def result_processor(self, dialect, coltype):
        convert = self.declared.dialect_impl(dialect).result_processor(dialect, coltype)
        if convert is None:
            return None

        def read(value):
            try:
                return convert(value)
            except (ValueError, TypeError, ArithmeticError):
                return value

        return read


def _readable(table: sa.Table, dialect: sa.Dialect, selected: Set[str] | None = None) -> list[sa.ColumnElement]:
    """The table's columns to select (those `selected`, else all); on SQLite each converted leniently
    (see `_StoredValueIfUnreadable`)."""
    columns: list[sa.ColumnElement] = [column for column in table.columns if selected is None or column.name in selected]
    if dialect.name != "sqlite":
        return columns
    return [sa.type_coerce(column, _StoredValueIfUnreadable(column.type)).label(column.name)
            if column.type.dialect_impl(dialect).result_processor(dialect, None) is not None else column
            for column in columns]


def scope_columns(source_table: SourceTable, config: Config) -> dict[str, sa.ColumnElement]:
    """The source's columns a `Scope` compares, by scope field: customers raw, the others trimmed."""
    source = config.source
    table = source_table.table
    return {"customer": table.c[source.customer_column], "po_number": _text(table.c[source.po_column]),
            "aag_season": _text(table.c[source.aag_season_column]),
            "customer_season": _text(table.c[source.customer_season_column])}


def customer_spellings(engine: Engine, source_table: SourceTable,
                       config: Config) -> Callable[[frozenset[str]], list[str]]:
    """canonical customers → the raw names the table spells them with (what `Scope.where` compares)."""
    lookup = canonical_customers(config.customers)

    def spellings(canonical: frozenset[str]) -> list[str]:
        return _raw_customer_names(engine, source_table, config.source.customer_column, canonical, lookup)

    return spellings


def columns_read(source_table: SourceTable, config: Config, also: Sequence[str] = ()) -> tuple[str, ...]:
    """The columns a sync reads of each line, in table order: every column the config names, the size
    columns, and `also` where the table has them. Of a 268-column table most of what the transform
    never looks at stays in the database."""
    wanted = {*config.referenced_source_columns().values(), *source_table.size_columns, *also}
    return tuple(name for name in source_table.columns if name in wanted)


def scoped_query(engine: Engine, source_table: SourceTable, config: Config, filters: Filters,
                 selected: Sequence[sa.ColumnElement]) -> sa.Select:
    """SELECT `selected` of the filtered order lines, in a stable order (so --limit picks the same rows each
    time, and two reads of the scope meet its lines in the same order)."""
    source = config.source
    table = source_table.table
    lookup = canonical_customers(config.customers)
    customer = table.c[source.customer_column]
    query = sa.select(*selected).where(*filters.scope(lookup).where(
        scope_columns(source_table, config), customer_names=customer_spellings(engine, source_table, config)))
    query = query.order_by(customer, *(table.c[name] for name in source.business_key))
    if filters.limit is not None:
        query = query.limit(filters.limit)
    return query


def count_scope(engine: Engine, source_table: SourceTable, config: Config, filters: Filters) -> int:
    """How many order lines the filters' scope holds (one COUNT in the database)."""
    key = source_table.table.c[config.source.business_key[0]]
    scoped = scoped_query(engine, source_table, config, filters, [key]).order_by(None).subquery()
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(scoped)).scalar_one())


def build_query(engine: Engine, source_table: SourceTable, config: Config, filters: Filters,
                columns: Sequence[str] | None = None, only: sa.ColumnElement | None = None,
                also: Sequence[sa.ColumnElement] = ()) -> sa.Select:
    """SELECT for the filtered order lines (`columns`, else all; the rows `only` names, else all), and the
    labelled expressions `also`."""
    selected = set(columns) if columns is not None else None
    query = scoped_query(engine, source_table, config, filters,
                         [*_readable(source_table.table, engine.dialect, selected), *also])
    return query.where(only) if only is not None else query


def extract_order_lines(engine: Engine, source_table: SourceTable, config: Config, filters: Filters,
                        *, chunk_size: int | None = None, columns: Sequence[str] | None = None,
                        only: sa.ColumnElement | None = None,
                        also: Sequence[sa.ColumnElement] = ()) -> Iterator[list[dict[str, Any]]]:
    """Stream the filtered order lines as chunks of dicts keyed by source column name (`columns`, else
    every column of the table); `only`: just the rows it names (`engine.fingerprints`); `also`: labelled
    expressions read with each line, under their labels. (`read_order_lines`: the same as rows.)"""
    read = read_order_lines(engine, source_table, config, filters, chunk_size=chunk_size, columns=columns,
                            only=only, also=also)
    for rows in read.chunks:
        yield [dict(zip(read.names, row, strict=True)) for row in rows]


@dataclass(frozen=True)
class OrderLineRead:
    """A read of order lines: its columns (`names`, in the rows' order) and its rows, chunk by chunk."""

    names: tuple[str, ...]
    chunks: Iterator[Sequence[Sequence[Any]]]


def read_order_lines(engine: Engine, source_table: SourceTable, config: Config, filters: Filters,
                     *, chunk_size: int | None = None, columns: Sequence[str] | None = None,
                     only: sa.ColumnElement | None = None, also: Sequence[sa.ColumnElement] = ()) -> OrderLineRead:
    """`extract_order_lines` with each line a row of the read's columns, in `names` order: a dict per line of a
    first load's 220 columns cost more than the transform's lookups in it (`TransformRules.reading`)."""
    query = build_query(engine, source_table, config, filters, columns, only, also)
    names = tuple(column.name for column in query.selected_columns)
    return OrderLineRead(names, _rows(engine, source_table, query, chunk_size or config.source.chunk_size))


def _rows(engine: Engine, source_table: SourceTable, query: sa.Select, size: int) -> Iterator[Sequence[Sequence[Any]]]:
    lines, reading, started = 0, 0.0, time.monotonic()  # reading: time in the database, not in the consumer
    try:
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=size).execute(query)
            partitions = result.partitions(size)
            while (partition := next(partitions, None)) is not None:
                reading += time.monotonic() - started
                lines += len(partition)
                yield partition
                started = time.monotonic()
            reading += time.monotonic() - started
    except sa.exc.OperationalError as error:
        raise SourceError(f"reading the source table failed: {error.orig}") from None
    log.info("extract: %d order lines read from %s in %.2f s", lines, source_table.table.name, reading,
             extra={"stage": "extract", "order_lines": lines, "seconds": round(reading, 3)})
