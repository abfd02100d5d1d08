"""privacy: the audit of exports, erasures and retention runs; digests of erased people

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00

`privacy_audit` records each run (what, who or what asked, when, counts; never content).
`privacy_forgotten` keeps a SHA-256 digest of each erased person's workspace and id, so that a
directory sync does not cache a deactivated leaver again. The indexes on columns that point at
outbox rows and check-ins let retention delete those in batches: the database clears each
reference to a deleted row, which without an index is a scan of the referring table per row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


# (index, table, column)
_REFERENCES = (
    ("ix_checkin_occurrences_prompt_outbox", "checkin_occurrences", "prompt_outbox_id"),
    ("ix_feedback_asked_ask_outbox", "feedback_asked", "ask_outbox_id"),
    ("ix_conversation_threads_root_outbox", "conversation_threads", "root_outbox_id"),
    ("ix_conversation_threads_peer_root_outbox", "conversation_threads", "peer_root_outbox_id"),
    ("ix_digests_outbox", "digests", "outbox_id"),
    ("ix_upward_feedback_occurrence", "upward_feedback", "occurrence_id"),
)


def upgrade() -> None:
    for name, table, column in _REFERENCES:
        op.create_index(name, table, [column])
    op.create_table(
        "privacy_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=True),
        sa.Column("run_key", sa.String(length=64), nullable=True),
        sa.Column("started_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_privacy_audit"),
        sa.UniqueConstraint("run_key", name="uq_privacy_audit_run_key"),
    )
    op.create_index("ix_privacy_audit_started", "privacy_audit", ["started_at"])
    op.create_table(
        "privacy_forgotten",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "digest", name="pk_privacy_forgotten"),
    )


def downgrade() -> None:
    for name, table, _ in _REFERENCES:
        op.drop_index(name, table_name=table)
    op.drop_table("privacy_forgotten")
    op.drop_index("ix_privacy_audit_started", table_name="privacy_audit")
    op.drop_table("privacy_audit")
