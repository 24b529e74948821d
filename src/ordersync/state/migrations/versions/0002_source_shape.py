"""The source's shape per board: what a sync's source-shape guard compares with (issue 10, point 4).

Revision ID: 0002_source_shape
Revises: 0001
Create Date: 2026-12-03

One row per board: the size columns and the types of the columns the config reads, as JSON, from the
sync that last wrote to it. Nothing existing changes, so the release before migrations (which ignores
tables it does not know) keeps working on these tables: `meta.schema_version` stays 1.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_source_shape"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    p = op.get_context().opts["table_prefix"]
    op.create_table(f"{p}source_shapes",
                    sa.Column("board_id", sa.Unicode(length=20), nullable=False),
                    sa.Column("shape", sa.UnicodeText(), nullable=False),
                    sa.Column("run_id", sa.Integer(), nullable=True),
                    sa.Column("recorded_at", sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint("board_id"))


def downgrade() -> None:
    p = op.get_context().opts["table_prefix"]
    op.drop_table(f"{p}source_shapes")
