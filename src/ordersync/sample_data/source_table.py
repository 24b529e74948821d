"""The shape of the real source table `ORDERS_UNIFIED`: its 268 columns, in order, with SQL types.

Read from the packaged copy of the reference column list, so the sample table, the tests and
the documentation cannot drift from the real table's layout.
"""

from __future__ import annotations

import csv
from importlib import resources

import sqlalchemy as sa
from sqlalchemy.dialects import mssql

COLUMNS_FILE = "orders_unified_columns.tsv"
SIZE_BLOCK_START = "UNIT OF MEASURE"
SIZE_BLOCK_END = "TOTAL QTY"


def _read_source_columns() -> tuple[tuple[str, str], ...]:
    text = resources.files("ordersync.data").joinpath(COLUMNS_FILE).read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))
    positions = [int(row["position"]) for row in rows]
    if positions != list(range(1, len(rows) + 1)):
        raise ValueError(f"{COLUMNS_FILE}: positions are not 1..{len(rows)} in order")
    # The reference writes names as SQL string literals would ('' for one apostrophe).
    return tuple((row["column"].replace("''", "'"), row["sql_type"].upper()) for row in rows)


SOURCE_COLUMNS: tuple[tuple[str, str], ...] = _read_source_columns()
COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in SOURCE_COLUMNS)


def _size_columns() -> tuple[str, ...]:
    start, end = COLUMN_NAMES.index(SIZE_BLOCK_START), COLUMN_NAMES.index(SIZE_BLOCK_END)
    # INFOR COLOUR CODE sits inside the block but is text: the old system's latent bug was to count it.
    return tuple(name for name, sql_type in SOURCE_COLUMNS[start + 1:end] if sql_type == "INT")


SIZE_COLUMNS: tuple[str, ...] = _size_columns()
TEXT_COLUMNS: frozenset[str] = frozenset(name for name, sql_type in SOURCE_COLUMNS if sql_type == "NVARCHAR(MAX)")


def _column_type(sql_type: str) -> sa.types.TypeEngine:
    # Without a live connection the mssql dialect assumes an old server (NTEXT, DATETIME);
    # the variants pin the types the real table has.
    if sql_type == "NVARCHAR(MAX)":
        return sa.UnicodeText().with_variant(mssql.NVARCHAR(), "mssql")
    if sql_type == "DATE":
        return sa.Date().with_variant(mssql.DATE(), "mssql")
    if sql_type == "INT":
        return sa.Integer()
    if sql_type == "UNIQUEIDENTIFIER":
        return sa.Uuid(as_uuid=False)
    raise ValueError(f"{COLUMNS_FILE}: no mapping for SQL type {sql_type!r}")


def orders_unified_table(metadata: sa.MetaData, name: str = "ORDERS_UNIFIED", schema: str | None = None) -> sa.Table:
    """The source table as SQLAlchemy Core: every column nullable, in the real order, no primary key
    (the real table has none, which is why ordersync never trusts a single key column)."""
    return sa.Table(
        name,
        metadata,
        *(sa.Column(column, _column_type(sql_type), nullable=True) for column, sql_type in SOURCE_COLUMNS),
        schema=schema,
    )
