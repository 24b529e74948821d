"""The complexity budget shared by every worker of one Monday token (issue 11): `budget_ledger`.

Revision ID: 0003_budget_ledger
Revises: 0002_source_shape
Create Date: 2026-12-03

One row per token fingerprint (a hash, never the token): the budget per window the API reported,
its window, a hold-off time after a rate-limit answer, and the sliding log of reservations (JSON).
Nothing existing changes, so the release before migrations keeps working: `meta.schema_version`
stays 1.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_budget_ledger"
down_revision = "0002_source_shape"
branch_labels = None
depends_on = None


def upgrade() -> None:
    p = op.get_context().opts["table_prefix"]
    op.create_table(f"{p}budget_ledger",
                    sa.Column("token_fingerprint", sa.Unicode(length=64), nullable=False),
                    sa.Column("limit_points", sa.Integer(), nullable=True),
                    sa.Column("window_seconds", sa.Float(), nullable=True),
                    sa.Column("held_until", sa.Float(), nullable=True),
                    sa.Column("reservations", sa.UnicodeText(), nullable=False),
                    sa.Column("updated_at", sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint("token_fingerprint"))


def downgrade() -> None:
    p = op.get_context().opts["table_prefix"]
    op.drop_table(f"{p}budget_ledger")
