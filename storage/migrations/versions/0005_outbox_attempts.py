"""outbox: when a call's outcome became unknown; the DM channel of each person posted to

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 18:30:00

Backward compatible for one release: an older replica ignores both (it resends, as before).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attempt_started_at", storage.types.UTCDateTime(), nullable=True)
        )
    op.create_table(
        "dm_channels",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_dm_channels")),
    )


def downgrade() -> None:
    op.drop_table("dm_channels")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("attempt_started_at")
