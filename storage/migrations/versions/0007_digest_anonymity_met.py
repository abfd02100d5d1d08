"""digests.anonymity_met: whether a sent digest's span of weeks could release anonymous notes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 10:00:00

The release rule counts the people who answered since the last digest that could have released
whatever waited, so each digest keeps whether it could. Digests written before this column
existed are marked as such: each of them released its waiting notes or said that they waited,
so a reader already knew, after each one, which notes were still to come; starting the next span
after the latest of them can only count fewer answerers, never more.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("anonymity_met", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    digests = sa.table("digests", sa.column("anonymity_met", sa.Boolean()))
    op.get_bind().execute(digests.update().values(anonymity_met=True))


def downgrade() -> None:
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.drop_column("anonymity_met")
