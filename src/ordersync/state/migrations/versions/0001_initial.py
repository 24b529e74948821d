"""The state tables as the release before migrations made them (its schema_version 1).

Revision ID: 0001
Revises:
Create Date: 2026-12-02

Frozen: this is the schema of commit 2910708, written out, not read from build_tables(). Like that
release's create_all, it creates only the tables that are missing: a process that lost the race to
create them, or an unversioned database a crash left half made, finds the rest in place.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    context = op.get_context()
    p = context.opts["table_prefix"]
    existing = set() if context.as_sql else set(sa.inspect(op.get_bind()).get_table_names())

    def create(name: str, *elements: sa.schema.SchemaItem,
               indexes: Sequence[tuple[str, list[str]]] = ()) -> None:
        if f"{p}{name}" in existing:
            return
        op.create_table(f"{p}{name}", *elements)
        for index, columns in indexes:
            op.create_index(f"ix_{p}{index}", f"{p}{name}", columns)

    create("meta",
           sa.Column("name", sa.Unicode(length=100), nullable=False),
           sa.Column("value", sa.Unicode(length=400), nullable=False),
           sa.PrimaryKeyConstraint("name"))
    create("runs",
           sa.Column("run_id", sa.Integer(), autoincrement=True, nullable=False),
           sa.Column("kind", sa.Unicode(length=20), nullable=False),
           sa.Column("board_id", sa.Unicode(length=20), nullable=True),
           sa.Column("status", sa.Unicode(length=30), nullable=False),
           sa.Column("filters", sa.UnicodeText(), nullable=False),
           sa.Column("started_at", sa.DateTime(), nullable=False),
           sa.Column("items_completed_at", sa.DateTime(), nullable=True),
           sa.Column("subitems_completed_at", sa.DateTime(), nullable=True),
           sa.Column("finished_at", sa.DateTime(), nullable=True),
           sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
           sa.Column("owner", sa.Unicode(length=200), nullable=True),
           sa.Column("progress", sa.UnicodeText(), nullable=True),
           sa.Column("summary", sa.UnicodeText(), nullable=True),
           sa.Column("message", sa.UnicodeText(), nullable=True),
           sa.PrimaryKeyConstraint("run_id"))
    create("staged_items",
           sa.Column("run_id", sa.Integer(), nullable=False),
           sa.Column("item_key", sa.Unicode(length=400), nullable=False),
           sa.Column("customer", sa.Unicode(length=200), nullable=False),
           sa.Column("group_name", sa.Unicode(length=255), nullable=True),
           sa.Column("item_name", sa.Unicode(length=255), nullable=True),
           sa.Column("po_number", sa.Unicode(length=200), nullable=True),
           sa.Column("aag_season", sa.Unicode(length=200), nullable=True),
           sa.Column("customer_season", sa.Unicode(length=200), nullable=True),
           sa.Column("cancelled", sa.Boolean(), nullable=False),
           sa.Column("column_values", sa.UnicodeText(), nullable=True),
           sa.Column("row_hash", sa.Unicode(length=64), nullable=True),
           sa.Column("source_row", sa.Integer(), nullable=True),
           sa.Column("state", sa.Unicode(length=12), nullable=True),
           sa.Column("operation", sa.Unicode(length=12), nullable=True),
           sa.Column("status", sa.Unicode(length=12), nullable=False),
           sa.Column("monday_item_id", sa.Unicode(length=20), nullable=True),
           sa.Column("attempts", sa.Integer(), nullable=False),
           sa.PrimaryKeyConstraint("run_id", "item_key"),
           indexes=[("staged_items_customer", ["run_id", "customer"])])
    create("staged_subitems",
           sa.Column("run_id", sa.Integer(), nullable=False),
           sa.Column("item_key", sa.Unicode(length=400), nullable=False),
           sa.Column("size", sa.Unicode(length=30), nullable=False),
           sa.Column("customer", sa.Unicode(length=200), nullable=False),
           sa.Column("name", sa.Unicode(length=255), nullable=True),
           sa.Column("quantity", sa.Integer(), nullable=True),
           sa.Column("position", sa.Integer(), nullable=True),
           sa.Column("state", sa.Unicode(length=12), nullable=True),
           sa.Column("operation", sa.Unicode(length=12), nullable=True),
           sa.Column("status", sa.Unicode(length=12), nullable=False),
           sa.Column("monday_subitem_id", sa.Unicode(length=20), nullable=True),
           sa.Column("attempts", sa.Integer(), nullable=False),
           sa.PrimaryKeyConstraint("run_id", "item_key", "size"),
           indexes=[("staged_subitems_customer", ["run_id", "customer"])])
    create("synced_items",
           sa.Column("board_id", sa.Unicode(length=20), nullable=False),
           sa.Column("item_key", sa.Unicode(length=400), nullable=False),
           sa.Column("monday_item_id", sa.Unicode(length=20), nullable=False),
           sa.Column("customer", sa.Unicode(length=200), nullable=False),
           sa.Column("group_name", sa.Unicode(length=255), nullable=True),
           sa.Column("group_id", sa.Unicode(length=100), nullable=True),
           sa.Column("item_name", sa.Unicode(length=255), nullable=True),
           sa.Column("po_number", sa.Unicode(length=200), nullable=True),
           sa.Column("aag_season", sa.Unicode(length=200), nullable=True),
           sa.Column("customer_season", sa.Unicode(length=200), nullable=True),
           sa.Column("cancelled", sa.Boolean(), nullable=False),
           sa.Column("column_values", sa.UnicodeText(), nullable=True),
           sa.Column("row_hash", sa.Unicode(length=64), nullable=True),
           sa.Column("run_id", sa.Integer(), nullable=True),
           sa.Column("synced_at", sa.DateTime(), nullable=False),
           sa.PrimaryKeyConstraint("board_id", "item_key"),
           indexes=[("synced_items_customer", ["board_id", "customer"]), ("synced_items_monday_id", ["monday_item_id"])])
    create("synced_subitems",
           sa.Column("board_id", sa.Unicode(length=20), nullable=False),
           sa.Column("item_key", sa.Unicode(length=400), nullable=False),
           sa.Column("size", sa.Unicode(length=30), nullable=False),
           sa.Column("monday_subitem_id", sa.Unicode(length=20), nullable=False),
           sa.Column("parent_item_id", sa.Unicode(length=20), nullable=False),
           sa.Column("name", sa.Unicode(length=255), nullable=True),
           sa.Column("quantity", sa.Integer(), nullable=True),
           sa.Column("run_id", sa.Integer(), nullable=True),
           sa.Column("synced_at", sa.DateTime(), nullable=False),
           sa.PrimaryKeyConstraint("board_id", "item_key", "size"))
    create("groups",
           sa.Column("board_id", sa.Unicode(length=20), nullable=False),
           sa.Column("group_name", sa.Unicode(length=255), nullable=False),
           sa.Column("group_id", sa.Unicode(length=100), nullable=False),
           sa.Column("customer", sa.Unicode(length=200), nullable=True),
           sa.Column("created_by_run", sa.Integer(), nullable=True),
           sa.Column("recorded_at", sa.DateTime(), nullable=False),
           sa.PrimaryKeyConstraint("board_id", "group_name"))
    create("errors",
           sa.Column("error_id", sa.Integer(), autoincrement=True, nullable=False),
           sa.Column("run_id", sa.Integer(), nullable=False),
           sa.Column("item_key", sa.Unicode(length=400), nullable=True),
           sa.Column("size", sa.Unicode(length=30), nullable=True),
           sa.Column("customer", sa.Unicode(length=200), nullable=True),
           sa.Column("source_row", sa.Integer(), nullable=True),
           sa.Column("stage", sa.Unicode(length=20), nullable=False),
           sa.Column("category", sa.Unicode(length=20), nullable=False),
           sa.Column("field", sa.Unicode(length=255), nullable=True),
           sa.Column("message", sa.UnicodeText(), nullable=False),
           sa.Column("attempts", sa.Integer(), nullable=False),
           sa.Column("payload", sa.UnicodeText(), nullable=True),
           sa.Column("created_at", sa.DateTime(), nullable=False),
           sa.PrimaryKeyConstraint("error_id"),
           indexes=[("errors_run_id", ["run_id"])])
    create("write_intents",
           sa.Column("intent_id", sa.Integer(), autoincrement=True, nullable=False),
           sa.Column("run_id", sa.Integer(), nullable=False),
           sa.Column("board_id", sa.Unicode(length=20), nullable=False),
           sa.Column("operation", sa.Unicode(length=20), nullable=False),
           sa.Column("item_key", sa.Unicode(length=400), nullable=True),
           sa.Column("size", sa.Unicode(length=30), nullable=True),
           sa.Column("group_name", sa.Unicode(length=255), nullable=True),
           sa.Column("parent_item_id", sa.Unicode(length=20), nullable=True),
           sa.Column("status", sa.Unicode(length=12), nullable=False),
           sa.Column("monday_id", sa.Unicode(length=100), nullable=True),
           sa.Column("created_at", sa.DateTime(), nullable=False),
           sa.Column("settled_at", sa.DateTime(), nullable=True),
           sa.PrimaryKeyConstraint("intent_id"),
           indexes=[("write_intents_open", ["board_id", "status"])])
    create("locks",
           sa.Column("board_id", sa.Unicode(length=20), nullable=False),
           sa.Column("run_id", sa.Integer(), nullable=True),
           sa.Column("owner", sa.Unicode(length=200), nullable=False),
           sa.Column("acquired_at", sa.DateTime(), nullable=False),
           sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
           sa.PrimaryKeyConstraint("board_id"))

    meta = sa.table(f"{p}meta", sa.column("name", sa.Unicode), sa.column("value", sa.Unicode))
    if context.as_sql or op.get_bind().execute(
            sa.select(meta.c.value).where(meta.c.name == "schema_version")).first() is None:
        # What the release before migrations reads, and refuses to work with when above 1.
        op.execute(sa.insert(meta).values(name="schema_version", value="1"))  # (bulk_insert would
        # wrap it in SET IDENTITY_INSERT for SQL Server, refused on a table without an identity)


def downgrade() -> None:
    p = op.get_context().opts["table_prefix"]
    op.drop_table(f"{p}locks")
    op.drop_table(f"{p}write_intents")
    op.drop_table(f"{p}errors")
    op.drop_table(f"{p}groups")
    op.drop_table(f"{p}synced_subitems")
    op.drop_table(f"{p}synced_items")
    op.drop_table(f"{p}staged_subitems")
    op.drop_table(f"{p}staged_items")
    op.drop_table(f"{p}runs")
    op.drop_table(f"{p}meta")
