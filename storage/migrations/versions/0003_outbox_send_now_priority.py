"""outbox: rows to send now carry no not-before time; interactive rows go before bulk ones

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 18:00:00

Backward compatible for one release: an older replica still writes `next_attempt_at` and no
`priority` (the server default, interactive, applies); it reads a NULL `next_attempt_at` as not
due, which only delays those rows until a new replica sends them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.SmallInteger(), server_default="0", nullable=False)
        )
        batch_op.alter_column(
            "next_attempt_at", existing_type=storage.types.UTCDateTime(), nullable=True
        )
    # Rows written before this revision for "now" become sendable by every process at once.
    op.execute(
        "UPDATE outbox SET next_attempt_at = NULL WHERE status = 'pending' AND attempts = 0 "
        "AND next_attempt_at = created_at"
    )


def downgrade() -> None:
    op.execute("UPDATE outbox SET next_attempt_at = created_at WHERE next_attempt_at IS NULL")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column(
            "next_attempt_at", existing_type=storage.types.UTCDateTime(), nullable=False
        )
        batch_op.drop_column("priority")
