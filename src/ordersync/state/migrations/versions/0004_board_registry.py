"""The boards template routes made (issue 11, rollover): `board_registry`.

Revision ID: 0004_board_registry
Revises: 0003_budget_ledger
Create Date: 2026-12-03

One row per board a `[[routes]] template_board_id` route made from its template, numbered in the order
made; `board_id` is NULL while the board's creation is an open intent (found again by its name).
Nothing existing changes, so the release before migrations keeps working: `meta.schema_version`
stays 1.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_board_registry"
down_revision = "0003_budget_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    p = op.get_context().opts["table_prefix"]
    op.create_table(f"{p}board_registry",
                    sa.Column("template_board_id", sa.Unicode(length=20), nullable=False),
                    sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column("board_name", sa.Unicode(length=255), nullable=False),
                    sa.Column("board_id", sa.Unicode(length=20), nullable=True),
                    sa.Column("requested_at", sa.DateTime(), nullable=False),
                    sa.Column("created_at", sa.DateTime(), nullable=True),
                    sa.PrimaryKeyConstraint("template_board_id", "sequence"))


def downgrade() -> None:
    p = op.get_context().opts["table_prefix"]
    op.drop_table(f"{p}board_registry")
