"""Line fingerprints (issue 12): a resync reads, transforms and stages only the lines that changed.

Revision ID: 0005_line_fingerprints
Revises: 0004_board_registry
Create Date: 2026-12-03

- `synced_items.fingerprint`: the fingerprint of the source line (over the columns the config reads,
  prefixed by the config's own) that the board was last confirmed to show; NULL when unknown.
- `staged_items.fingerprint`: the fingerprint of the line a run staged, recorded into the mirror once
  the run confirmed every write of the line.
- `unchanged_lines`: per run and customer, the lines (and their sizes) a run left unstaged because their
  fingerprints had not changed — counted as unchanged like the staged ones.
Nothing existing changes meaning, so the release before migrations keeps working: `meta.schema_version`
stays 1.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_line_fingerprints"
down_revision = "0004_board_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    p = op.get_context().opts["table_prefix"]
    for table in ("synced_items", "staged_items"):
        with op.batch_alter_table(f"{p}{table}") as batch:
            batch.add_column(sa.Column("fingerprint", sa.Unicode(length=64), nullable=True))
    op.create_table(f"{p}unchanged_lines",
                    sa.Column("run_id", sa.Integer(), nullable=False),
                    sa.Column("customer", sa.Unicode(length=200), nullable=False),
                    sa.Column("items", sa.Integer(), nullable=False),
                    sa.Column("subitems", sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint("run_id", "customer"))


def downgrade() -> None:
    p = op.get_context().opts["table_prefix"]
    op.drop_table(f"{p}unchanged_lines")
    for table in ("staged_items", "synced_items"):
        with op.batch_alter_table(f"{p}{table}") as batch:
            batch.drop_column("fingerprint")
