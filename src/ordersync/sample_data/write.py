"""Write a sample `ORDERS_UNIFIED` into any SQLAlchemy database: the only I/O of the sample data."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ordersync.sample_data.generate import DEFAULT_ROWS, DEFAULT_SEED, generate_order_lines
from ordersync.sample_data.source_table import COLUMN_NAMES, orders_unified_table
from ordersync.sample_data.summary import SampleSummary, SummaryTally

Row = Mapping[str, object]


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _insert_rows(connection: Connection, table: sa.Table, chunk: list[Row]) -> None:
    connection.execute(table.insert(), chunk)


def _executemany_rows(connection: Connection, table: sa.Table, chunk: list[Row]) -> None:
    """SQLite's fast path: the Core INSERT compiled once, rows handed to the driver as tuples.

    Core's per-row parameter processing costs more than SQLite's own insert for 268 columns; the
    column types' own bind processors still convert the few values that need it (dates, uuids).
    """
    dialect = connection.dialect
    statement = str(table.insert().compile(dialect=dialect))
    converters = [(position, processor) for position, column in enumerate(table.columns)
                  if (processor := column.type.bind_processor(dialect)) is not None]
    values = []
    for row in chunk:
        record = [row[name] for name in COLUMN_NAMES]
        for position, processor in converters:
            record[position] = processor(record[position])
        values.append(tuple(record))
    connection.exec_driver_sql(statement, values)


def _copy_rows(connection: Connection, table: sa.Table, chunk: list[Row]) -> None:
    """PostgreSQL's fast path: COPY over psycopg 3, in the connection's open transaction."""
    from psycopg import sql

    target = sql.Identifier(table.schema, table.name) if table.schema else sql.Identifier(table.name)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        target, sql.SQL(", ").join(sql.Identifier(name) for name in COLUMN_NAMES)
    )
    driver_connection = connection.connection.driver_connection
    assert driver_connection is not None
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in chunk:
            copy.write_row([row[name] for name in COLUMN_NAMES])


def _engine(url: str) -> sa.Engine:
    parsed = sa.engine.make_url(url)
    if parsed.drivername == "mssql+pyodbc":
        # pyodbc sends an executemany row by row unless told otherwise.
        return sa.create_engine(parsed, fast_executemany=True)
    return sa.create_engine(parsed)


def _writer(dialect: sa.Dialect) -> Callable[[Connection, sa.Table, list[Row]], None]:
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        return _copy_rows
    if dialect.name == "sqlite":
        return _executemany_rows
    return _insert_rows


def write_sample_data(
    url: str,
    *,
    table: str = "ORDERS_UNIFIED",
    schema: str | None = None,
    seed: int = DEFAULT_SEED,
    rows: int = DEFAULT_ROWS,
    replace: bool = True,
    chunk_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> SampleSummary:
    """Create the sample source table at `url` and fill it with `rows` generated order lines.

    `replace` drops an existing table of that name first; without it the rows are appended to
    the table (created if missing). Rows go in chunks of `chunk_size`, one transaction each
    (COPY on PostgreSQL with psycopg, the driver's executemany on SQLite, Core executemany elsewhere); after each chunk `progress` is
    called with the number of rows that chunk wrote.

        >>> write_sample_data("sqlite:///ordersync.db", rows=3000).fixed_case_pairs
        264
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
    order_lines = generate_order_lines(seed, rows)  # checks rows before anything is dropped
    engine = _engine(url)
    try:
        target = orders_unified_table(sa.MetaData(), table, schema=schema)
        with engine.begin() as connection:
            if replace:
                target.drop(connection, checkfirst=True)
            target.create(connection, checkfirst=True)
        write_chunk = _writer(engine.dialect)
        tally = SummaryTally()
        for chunk in _chunks(order_lines, chunk_size):
            with engine.begin() as connection:
                write_chunk(connection, target, chunk)
            for row in chunk:
                tally.add(row)
            if progress is not None:
                progress(len(chunk))
        return tally.summary()
    finally:
        engine.dispose()
