"""workspace_state: whether the outbox may call Slack for a workspace

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00

An uninstall, a revoked token or a token Slack refuses stops a workspace's sending on every
replica until a token works again; the rows queued meanwhile wait. A new table: an older
replica ignores it and keeps its old behaviour (a refused call fails that row) for one release.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspace_state",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("stopped_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("stop_reason", sa.String(length=32), nullable=True),
        sa.Column("changed_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_workspace_state")),
    )


def downgrade() -> None:
    op.drop_table("workspace_state")
