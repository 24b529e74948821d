"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Name every table and index from the prefix `p` (several prefixes share a database), never from
the default prefix written out. Write the change here, frozen: never call build_tables().
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    p = op.get_context().opts["table_prefix"]
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    p = op.get_context().opts["table_prefix"]
    ${downgrades if downgrades else "pass"}
