"""digest: digests (one per manager and covered week), unlinkable upward notes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 19:00:00

`upward_feedback` is rebuilt: random string ids instead of an autoincrement (whose order
followed the answers' times), no rowid on SQLite (same reason), and `released_week`. Existing
rows keep their content under new random ids; rows are copied in random order.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COPY = ("team_id", "manager_id", "author_id", "occurrence_id", "anonymous", "text", "iso_week")


def _upward_table(name: str, sqlite: bool) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("manager_id", sa.String(length=32), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=True),
        sa.Column("occurrence_id", sa.Integer(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("iso_week", sa.String(length=8), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("released_week", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["checkin_occurrences.id"],
            name="fk_upward_feedback_occurrence_id_checkin_occurrences",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_upward_feedback"),
        **({"sqlite_with_rowid": False} if sqlite else {}),
    )


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    old = sa.table(
        "upward_feedback",
        *(sa.column(c) for c in _COPY),
        sa.column("released"),
    )
    rows = [dict(r._mapping) for r in bind.execute(sa.select(old))]
    with op.batch_alter_table("upward_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_upward_feedback_manager_week")
    op.drop_table("upward_feedback")
    _upward_table("upward_feedback", sqlite)
    with op.batch_alter_table("upward_feedback", schema=None) as batch_op:
        batch_op.create_index(
            "ix_upward_feedback_manager_week", ["team_id", "manager_id", "iso_week"], unique=False
        )
    if rows:
        secrets.SystemRandom().shuffle(rows)
        new = sa.table(
            "upward_feedback",
            sa.column("id"),
            *(sa.column(c) for c in _COPY),
            sa.column("released"),
            sa.column("released_week"),
        )
        bind.execute(
            new.insert(),
            [{**r, "id": secrets.token_hex(16), "released_week": None} for r in rows],
        )

    with op.batch_alter_table("checkin_occurrences", schema=None) as batch_op:
        batch_op.create_index(
            "ix_checkin_occurrences_user_date", ["team_id", "user_id", "local_date"], unique=False
        )
        batch_op.create_index(
            "ix_checkin_occurrences_template_date", ["template_id", "local_date"], unique=False
        )

    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("manager_id", sa.String(length=32), nullable=False),
        sa.Column("iso_week", sa.String(length=8), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_digests_outbox_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
        sa.UniqueConstraint(
            "team_id", "manager_id", "iso_week", name=op.f("uq_digests_team_id_manager_id_iso_week")
        ),
    )


def downgrade() -> None:
    op.drop_table("digests")
    with op.batch_alter_table("checkin_occurrences", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_occurrences_template_date")
        batch_op.drop_index("ix_checkin_occurrences_user_date")
    bind = op.get_bind()
    cols = sa.table("upward_feedback", *(sa.column(c) for c in _COPY), sa.column("released"))
    rows = [dict(r._mapping) for r in bind.execute(sa.select(cols))]
    with op.batch_alter_table("upward_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_upward_feedback_manager_week")
    op.drop_table("upward_feedback")
    op.create_table(
        "upward_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("manager_id", sa.String(length=32), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=True),
        sa.Column("occurrence_id", sa.Integer(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("iso_week", sa.String(length=8), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["checkin_occurrences.id"],
            name="fk_upward_feedback_occurrence_id_checkin_occurrences",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_upward_feedback"),
    )
    with op.batch_alter_table("upward_feedback", schema=None) as batch_op:
        batch_op.create_index(
            "ix_upward_feedback_manager_week", ["team_id", "manager_id", "iso_week"], unique=False
        )
    if rows:
        bind.execute(
            sa.table("upward_feedback", *(sa.column(c) for c in (*_COPY, "released"))).insert(),
            rows,
        )
