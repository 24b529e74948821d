"""Write a sample `ORDERS_UNIFIED` into any SQLAlchemy database: the only I/O of the sample data.

It never touches a table it did not make: each table it creates is recorded, with its row count, in
`ordersync_sample_tables` next to it, and a table of that name that is not recorded there (or holds
other rows than it wrote) is refused unless `force` — it may be the real source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ordersync.errors import UsageError
from ordersync.sample_data.generate import DEFAULT_ROWS, DEFAULT_SEED, generate_order_lines
from ordersync.sample_data.source_table import COLUMN_NAMES, orders_unified_table
from ordersync.sample_data.summary import SampleSummary, SummaryTally

Row = Mapping[str, object]

MARKER_TABLE = "ordersync_sample_tables"


def _marker_table(metadata: sa.MetaData, schema: str | None) -> sa.Table:
    """One row per table sample-data created here, with the rows it wrote into it since."""
    return sa.Table(MARKER_TABLE, metadata, sa.Column("table_name", sa.String(255), primary_key=True),
                    sa.Column("row_count", sa.Integer, nullable=False), schema=schema)


def _check_ours(connection: Connection, target: sa.Table, marker: sa.Table, *, force: bool) -> None:
    """Refuse a table of that name that sample-data did not create, or that changed since it wrote it."""
    inspector = sa.inspect(connection)
    if force or not inspector.has_table(target.name, schema=target.schema):
        return
    recorded = None
    if inspector.has_table(marker.name, schema=marker.schema):
        recorded = connection.execute(sa.select(marker.c.row_count).where(
            marker.c.table_name == target.name)).scalar_one_or_none()
    if recorded is not None:
        held = connection.execute(sa.select(sa.func.count()).select_from(target)).scalar_one()
        if held == recorded:
            return
    where = connection.engine.url.render_as_string(hide_password=True)
    why = "did not create it" if recorded is None else "wrote other rows than it holds now"
    raise UsageError(f"refusing to write sample data over table {target.name} in {where}: sample-data {why}, "
                     "so it may hold real order lines",
                     hint="pass --force to replace it anyway, or choose another --table or --url")


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


def _engine(url: str | sa.Engine) -> sa.Engine:
    if isinstance(url, sa.Engine):
        return url
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


def write_sample_data(  # noqa: PLR0913 — one keyword argument per option of `ordersync sample-data`
    url: str | sa.Engine,
    *,
    table: str = "ORDERS_UNIFIED",
    schema: str | None = None,
    seed: int = DEFAULT_SEED,
    rows: int = DEFAULT_ROWS,
    replace: bool = True,
    force: bool = False,
    chunk_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> SampleSummary:
    """Create the sample source table at `url` (or in an engine) and fill it with `rows` generated order lines.

    `replace` drops an existing table of that name first; without it the rows are appended to
    the table (created if missing). Either way a table sample-data did not create is refused
    (`UsageError`) unless `force`. Rows go in chunks of `chunk_size`, one transaction each
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
        metadata = sa.MetaData()
        target, marker = orders_unified_table(metadata, table, schema=schema), _marker_table(metadata, schema)
        ours = marker.c.table_name == table
        with engine.begin() as connection:
            _check_ours(connection, target, marker, force=force)
            if replace:
                target.drop(connection, checkfirst=True)
            target.create(connection, checkfirst=True)
            marker.create(connection, checkfirst=True)
            held = connection.execute(sa.select(sa.func.count()).select_from(target)).scalar_one()
            connection.execute(sa.delete(marker).where(ours))
            connection.execute(sa.insert(marker).values(table_name=table, row_count=held))
        write_chunk = _writer(engine.dialect)
        tally = SummaryTally()
        for chunk in _chunks(order_lines, chunk_size):
            with engine.begin() as connection:  # the rows and the count that vouches for them, together
                write_chunk(connection, target, chunk)
                connection.execute(sa.update(marker).where(ours).values(row_count=marker.c.row_count + len(chunk)))
            for row in chunk:
                tally.add(row)
            if progress is not None:
                progress(len(chunk))
        return tally.summary()
    finally:
        if engine is not url:  # an engine handed in stays its owner's
            engine.dispose()
