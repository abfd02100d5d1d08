"""two-way feedback: /feedback, feedback requests, conversation threads both ways

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 17:48:39

New tables only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_messages")),
        sa.UniqueConstraint(
            "team_id", "source_key", name=op.f("uq_conversation_messages_team_id_source_key")
        ),
    )
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversation_messages_item", ["team_id", "kind", "item_id"], unique=False
        )

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("sender_id", sa.String(length=32), nullable=False),
        sa.Column("recipient_id", sa.String(length=32), nullable=False),
        sa.Column("went_well", sa.Text(), nullable=True),
        sa.Column("could_be_better", sa.Text(), nullable=True),
        sa.Column("value", sa.String(length=64), nullable=True),
        sa.Column("visibility", sa.String(length=32), nullable=False),
        sa.Column("manager_id", sa.String(length=32), nullable=True),
        sa.Column("quote_url", sa.String(length=512), nullable=True),
        sa.Column("request_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("thanked_at", storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("team_id", "request_key", name=op.f("uq_feedback_team_id_request_key")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(
            "ix_feedback_recipient", ["team_id", "recipient_id", "created_at"], unique=False
        )

    op.create_table(
        "feedback_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("requester_id", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=True),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("due_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("remind_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("reminded_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("closed_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("request_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_requests")),
        sa.UniqueConstraint(
            "team_id", "request_key", name=op.f("uq_feedback_requests_team_id_request_key")
        ),
    )
    with op.batch_alter_table("feedback_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_feedback_requests_requester", ["team_id", "requester_id", "state"], unique=False
        )
        batch_op.create_index(
            "ix_feedback_requests_state_due", ["team_id", "state", "due_at"], unique=False
        )

    op.create_table(
        "conversation_threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("root_outbox_id", sa.Integer(), nullable=True),
        sa.Column("peer_id", sa.String(length=32), nullable=False),
        sa.Column("peer_root_outbox_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["peer_root_outbox_id"],
            ["outbox.id"],
            name=op.f("fk_conversation_threads_peer_root_outbox_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["root_outbox_id"],
            ["outbox.id"],
            name=op.f("fk_conversation_threads_root_outbox_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_threads")),
        sa.UniqueConstraint(
            "team_id",
            "kind",
            "item_id",
            "user_id",
            "peer_id",
            name=op.f("uq_conversation_threads_team_id_kind_item_id_user_id_peer_id"),
        ),
    )
    with op.batch_alter_table("conversation_threads", schema=None) as batch_op:
        batch_op.create_index("ix_conversation_threads_user", ["team_id", "user_id"], unique=False)

    op.create_table(
        "feedback_asked",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=True),
        sa.Column("share_with_subject", sa.Boolean(), nullable=False),
        sa.Column("answered_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("ask_outbox_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ask_outbox_id"],
            ["outbox.id"],
            name=op.f("fk_feedback_asked_ask_outbox_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["feedback_requests.id"],
            name=op.f("fk_feedback_asked_request_id_feedback_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_asked")),
        sa.UniqueConstraint(
            "request_id", "user_id", name=op.f("uq_feedback_asked_request_id_user_id")
        ),
    )
    with op.batch_alter_table("feedback_asked", schema=None) as batch_op:
        batch_op.create_index(
            "ix_feedback_asked_user", ["team_id", "user_id", "state"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("feedback_asked", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_asked_user")

    op.drop_table("feedback_asked")
    with op.batch_alter_table("conversation_threads", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_threads_user")

    op.drop_table("conversation_threads")
    with op.batch_alter_table("feedback_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_requests_state_due")
        batch_op.drop_index("ix_feedback_requests_requester")

    op.drop_table("feedback_requests")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_recipient")

    op.drop_table("feedback")
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_messages_item")

    op.drop_table("conversation_messages")
