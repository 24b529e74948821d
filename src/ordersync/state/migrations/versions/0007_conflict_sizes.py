"""Board conflicts per size (issue 13): a person's edit of a size's Order Qty is a conflict of that size.

Revision ID: 0007_conflict_sizes
Revises: 0006_board_conflicts
Create Date: 2026-12-03

- `board_conflicts.size`: the size of a subitem column's conflict (the quantity column), empty for an
  item's column or name; the item key and the size name the subitem, as in the mirror.
Nothing existing changes meaning: `meta.schema_version` stays 1.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_conflict_sizes"
down_revision = "0006_board_conflicts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    p = op.get_context().opts["table_prefix"]
    with op.batch_alter_table(f"{p}board_conflicts") as table:
        table.add_column(sa.Column("size", sa.Unicode(length=30), nullable=True))


def downgrade() -> None:
    p = op.get_context().opts["table_prefix"]
    with op.batch_alter_table(f"{p}board_conflicts") as table:
        table.drop_column("size")
