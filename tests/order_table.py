"""A small hand-made `ORDERS_UNIFIED` for tests of extract, staging, diff and plan.

Laid out like the real table (key and business columns, then `UNIT OF MEASURE`, the sizes with
the text column `INFOR COLOUR CODE` among them, then `TOTAL QTY`), but with five sizes, so a
test can say exactly which rows and sizes it expects. `confirm_sync` writes the synced mirror
the way a sync that Monday fully confirmed writes it, through the sync's own recording.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ordersync.config import Config, parse_config
from ordersync.engine.filters import Filters
from ordersync.engine.pipeline import Databases, Prepared, prepare
from ordersync.engine.transform import KEY_SEPARATOR
from ordersync.state import Operation, RunKind, StateStore
from ordersync.state.records import BatchWrites

BOARD = "4242"
SIZES = ("XS", "S", "M", "L", "XL")
TEXT_COLUMNS = (
    "AAG ORDER NUMBER", "CUSTOMER NAME", "PO NUMBER", "AAG SEASON", "CUSTOMER SEASON", "CUSTOMER STYLE",
    "CUSTOMER COLOUR DESCRIPTION", "PLANNED DELIVERY METHOD", "ORDER TYPE", "CUSTOMER PRICE", "NOTES",
    "UNIT OF MEASURE",
)

CONFIG = """
[source]
url = "{url}"
{sizes}

[monday]
board_id = "{board}"

[items]
on_cancelled = "{on_cancelled}"
on_removed = "{on_removed}"

[customers]
GREYSON = ["GREYSON CLOTHIERS"]
"TITLE NINE" = ["TITLE 9"]

[[columns]]
source = "CUSTOMER NAME"
id = "dropdown_customer"
type = "dropdown"

[[columns]]
source = "PO NUMBER"
id = "text_po"
type = "text"

[[columns]]
source = "CUSTOMER PRICE"
id = "numeric_price"
type = "numbers"

[[columns]]
source = "ORDER TYPE"
id = "status_order_type"
type = "status"
"""


def make_config(url: str, *, on_cancelled: str = "keep", on_removed: str = "archive",
                size_list: Iterable[str] | None = None) -> Config:
    """The test config; `size_list` names the size columns instead of finding them between the markers."""
    sizes = ""
    if size_list is not None:
        sizes = "[source.sizes]\ncolumns = [" + ", ".join(f'"{size}"' for size in size_list) + "]"
    return parse_config(CONFIG.format(url=url, sizes=sizes, board=BOARD, on_cancelled=on_cancelled,
                                      on_removed=on_removed))


def orders_table(metadata: sa.MetaData, *, size_type: sa.types.TypeEngine | None = None,
                 extra_text_after: str | None = None) -> sa.Table:
    """The table; `size_type` types the size columns (Integer by default), `extra_text_after` puts
    one more text column (`REMARK`) after that size."""
    size_type = size_type if size_type is not None else sa.Integer()
    columns = [sa.Column(name, sa.UnicodeText) for name in TEXT_COLUMNS]
    for size in SIZES:
        columns.append(sa.Column(size, size_type))
        if size == "S":
            columns.append(sa.Column("INFOR COLOUR CODE", sa.UnicodeText))
        if size == extra_text_after:
            columns.append(sa.Column("REMARK", sa.UnicodeText))
    columns.append(sa.Column("TOTAL QTY", sa.Integer))
    return sa.Table("ORDERS_UNIFIED", metadata, *columns)


def order_line(number: str, *, customer: str = "GREYSON", po: str = "4755", sizes: Mapping[str, Any] | None = None,
               **values: Any) -> dict[str, Any]:
    """One source row; keyword names use `_` for spaces (`CUSTOMER_SEASON="HOLIDAY"`)."""
    sizes = {"S": 2, "M": 3} if sizes is None else sizes
    line: dict[str, Any] = {
        "AAG ORDER NUMBER": number, "CUSTOMER NAME": customer, "PO NUMBER": po, "AAG SEASON": "2025 FALL",
        "CUSTOMER SEASON": "FALL", "CUSTOMER STYLE": "MSP25B50", "CUSTOMER COLOUR DESCRIPTION": "BLACK",
        "PLANNED DELIVERY METHOD": "OCEAN", "ORDER TYPE": "RECEIVED", "CUSTOMER PRICE": "12.50", "NOTES": None,
        "UNIT OF MEASURE": "PCS", "INFOR COLOUR CODE": "BLK01",
    }
    line.update({size: sizes.get(size) for size in SIZES})
    line["TOTAL QTY"] = sum(value for value in sizes.values() if isinstance(value, int))
    line.update({name.replace("_", " "): value for name, value in values.items()})
    return line


def key(number: str, method: str = "OCEAN", style: str = "MSP25B50") -> str:
    """The business key ordersync gives a line of this table."""
    return KEY_SEPARATOR.join((number, method, style))


@dataclass
class OrderTable:
    """The source table in one database, and the state store beside it."""

    url: str
    engine: sa.Engine
    table: sa.Table

    def insert(self, *lines: Mapping[str, Any]) -> None:
        columns = [column.name for column in self.table.columns]
        with self.engine.begin() as connection:
            connection.execute(self.table.insert(), [{name: line.get(name) for name in columns} for line in lines])

    def update(self, number: str, **values: Any) -> None:
        changes = {name.replace("_", " "): value for name, value in values.items()}
        with self.engine.begin() as connection:
            connection.execute(self.table.update().where(self.table.c["AAG ORDER NUMBER"] == number)
                               .values(changes))

    def delete(self, number: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(self.table.delete().where(self.table.c["AAG ORDER NUMBER"] == number))

    def count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(self.table)).scalar_one()


def create_order_table(url: str, lines: Iterable[Mapping[str, Any]] = (), **layout: Any) -> OrderTable:
    engine = sa.create_engine(url)
    table = orders_table(sa.MetaData(), **layout)
    table.create(engine)
    order_table = OrderTable(url, engine, table)
    lines = list(lines)
    if lines:
        order_table.insert(*lines)
    return order_table


def plan_run(config: Config, filters: Filters | None = None) -> tuple[Prepared, StateStore]:
    """Extract → transform → stage → diff → plan, keeping the staged rows for the test to read."""
    databases = Databases.open(config)
    try:
        prepared = prepare(config, databases, filters or Filters(), kind=RunKind.SYNC)
    finally:
        databases.close()  # the store reconnects when the test reads it
    return prepared, databases.state


def item_states(store: StateStore, run_id: int) -> dict[str, tuple[str, str]]:
    """item key → (diff state, operation) of every staged item of the run."""
    staged = store.tables.staged_items
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(staged.c.item_key, staged.c.state, staged.c.operation)
                                  .where(staged.c.run_id == run_id)).all()
    return {item_key: (state, operation) for item_key, state, operation in rows}


def subitem_states(store: StateStore, run_id: int) -> dict[tuple[str, str], tuple[str, str, int | None]]:
    """(item key, size) → (diff state, operation, quantity) of every staged subitem of the run."""
    staged = store.tables.staged_subitems
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(staged.c.item_key, staged.c.size, staged.c.state, staged.c.operation,
                                            staged.c.quantity).where(staged.c.run_id == run_id)).all()
    return {(item_key, size): (state, operation, quantity) for item_key, size, state, operation, quantity in rows}


def run_errors(store: StateStore, run_id: int) -> list[dict[str, Any]]:
    errors = store.tables.errors
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(errors).where(errors.c.run_id == run_id)
                                  .order_by(errors.c.source_row, errors.c.error_id)).mappings().all()
    return [dict(row) for row in rows]


_monday_ids = itertools.count(9_000_000_001)


def confirm_sync(store: StateStore, run_id: int, board_id: str = BOARD) -> None:
    """Write the mirror as a sync that Monday confirmed in full would, through the sync's own
    recording: every group, create and update recorded (new ones with made-up Monday ids), every
    archived or deleted row forgotten."""
    tables = store.tables
    staged_items, staged_subitems = tables.staged_items, tables.staged_subitems
    synced_items, synced_subitems, groups = tables.synced_items, tables.synced_subitems, tables.groups
    writes = [Operation.CREATE.value, Operation.UPDATE.value]
    removals = [Operation.ARCHIVE.value, Operation.DELETE.value]
    confirmed = BatchWrites(store, run_id, board_id)
    with store.engine.begin() as connection:
        group_ids = dict(connection.execute(sa.select(groups.c.group_name, groups.c.group_id)
                                            .where(groups.c.board_id == board_id)).all())
        item_ids = dict(connection.execute(sa.select(synced_items.c.item_key, synced_items.c.monday_item_id)
                                           .where(synced_items.c.board_id == board_id)).all())
        subitem_ids = {(item_key, size): subitem_id for item_key, size, subitem_id in connection.execute(
            sa.select(synced_subitems.c.item_key, synced_subitems.c.size, synced_subitems.c.monday_subitem_id)
            .where(synced_subitems.c.board_id == board_id)).all()}
        items = connection.execute(sa.select(staged_items).where(staged_items.c.run_id == run_id)).mappings().all()
        for item in items:
            if item["operation"] in writes:
                if item["group_name"] not in group_ids:
                    group_ids[item["group_name"]] = f"group_{next(_monday_ids)}"
                    confirmed.mirror.record_group(connection, item["group_name"], group_ids[item["group_name"]],
                                                  customer=item["customer"], created_by_run=run_id)
                item_id = item_ids.setdefault(item["item_key"], str(next(_monday_ids)))
                confirmed.synced_item(item, item_id, group_ids[item["group_name"]])
            elif item["operation"] in removals:
                confirmed.mirror.forget_items(connection, [item["item_key"]])
        subitems = connection.execute(
            sa.select(staged_subitems).where(staged_subitems.c.run_id == run_id)).mappings().all()
        for subitem in subitems:
            ref = (subitem["item_key"], subitem["size"])
            if subitem["operation"] in writes:
                subitem_id = subitem_ids.get(ref) or str(next(_monday_ids))
                confirmed.synced_subitem(subitem, subitem_id, item_ids[subitem["item_key"]])
            elif subitem["operation"] in removals:
                confirmed.mirror.forget_subitems(connection, [ref])
        confirmed.flush(connection)
