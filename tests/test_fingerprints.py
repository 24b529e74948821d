"""Line fingerprints (engine/fingerprints.py): computed in SQL where the database can, and compiled for
SQL Server, which this suite cannot run — never with CHECKSUM, which collides."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mssql, postgresql

from ordersync.engine.fingerprints import Changes, SourceLines, changed_lines, fingerprint_expression

TABLE = sa.Table("ORDERS_UNIFIED", sa.MetaData(), sa.Column("AAG ORDER NUMBER", sa.Unicode(20)),
                 sa.Column("PRICE", sa.Float), sa.Column("ETA", sa.DateTime), sa.Column("M", sa.Integer),
                 *(sa.Column(f"SIZE {index}", sa.Integer) for index in range(300)))


def compiled(dialect: sa.Dialect) -> str:
    expression = fingerprint_expression(list(TABLE.columns), dialect)
    assert expression is not None
    return str(sa.select(expression.label("fingerprint")).compile(dialect=dialect))


def test_sql_server_hashes_every_column_as_text_with_md5_never_checksum():
    sql = compiled(mssql.dialect())
    assert "hashbytes('MD5', concat(" in sql and "checksum" not in sql.lower()
    assert sql.count("coalesce(convert(NVARCHAR(MAX), [ORDERS_UNIFIED].") == len(TABLE.columns)
    assert "[PRICE], 3)" in sql and "[ETA], 126)" in sql  # floats whole, times to the microsecond
    assert all(part.count(",") < 254 * 2 for part in sql.split("concat(")[1:])  # CONCAT's argument limit


def test_postgresql_hashes_the_row_in_sql():
    sql = compiled(postgresql.dialect())
    assert sql.startswith('SELECT md5(CAST(row("ORDERS_UNIFIED"."AAG ORDER NUMBER"')


def test_a_line_is_read_again_when_new_changed_keyless_duplicated_or_unknown_to_the_mirror():
    lines = SourceLines(raw_keys=[("A",), ("B",), ("C",), (None,), ("D",), ("D",), ("E",)],
                        keys=["A", "B", "C", None, "D", "D", "E"],
                        fingerprints=["fa", "fb", "fc", "fn", "fd", "fd", "fe"])
    changes: Changes = changed_lines(lines, {"A": "fa", "B": "old", "D": "fd", "E": None})
    assert changes.unchanged == {"A"}
    assert [number for _, number in changes.rows] == [2, 3, 4, 5, 6, 7]
