"""Board conflicts (issue 13): a person's edit of a source-owned column, recorded and settled by policy.

Revision ID: 0006_board_conflicts
Revises: 0005_line_fingerprints
Create Date: 2026-12-03

- `board_conflicts`: one row per distinct value a person left in a source-owned column (who, when, the
  value the sync last wrote, the board's), with the column's policy (`restore` or `keep`).
Nothing existing changes meaning: `meta.schema_version` stays 1.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_board_conflicts"
down_revision = "0005_line_fingerprints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    p = op.get_context().opts["table_prefix"]
    op.create_table(f"{p}board_conflicts",
                    sa.Column("conflict_id", sa.Integer(), autoincrement=True, nullable=False),
                    sa.Column("board_id", sa.Unicode(length=20), nullable=False),
                    sa.Column("item_key", sa.Unicode(length=400), nullable=False),
                    sa.Column("item_id", sa.Unicode(length=20), nullable=False),
                    sa.Column("column_id", sa.Unicode(length=100), nullable=False),
                    sa.Column("policy", sa.Unicode(length=10), nullable=False),
                    sa.Column("source_value", sa.UnicodeText(), nullable=True),
                    sa.Column("board_text", sa.UnicodeText(), nullable=True),
                    sa.Column("board_value", sa.UnicodeText(), nullable=True),
                    sa.Column("user_id", sa.Unicode(length=20), nullable=True),
                    sa.Column("changed_at", sa.DateTime(), nullable=True),
                    sa.Column("recorded_at", sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint("conflict_id"))
    op.create_index(f"ix_{p}board_conflicts_key", f"{p}board_conflicts", ["board_id", "item_key", "column_id"])


def downgrade() -> None:
    p = op.get_context().opts["table_prefix"]
    op.drop_index(f"ix_{p}board_conflicts_key", table_name=f"{p}board_conflicts")
    op.drop_table(f"{p}board_conflicts")
