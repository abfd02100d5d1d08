"""goals: objectives, key results, their updates, and the objective a kudos names

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09 10:00:00

New tables only: a replica still on 0009 ignores them. An update's unique (key result,
occurrence) makes a check-in's goal update exactly once; (team, request key) does so for a
modal's. Progress and status are computed, never stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "goal_objectives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("cycle", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("carried_from_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("closed_at", storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["carried_from_id"],
            ["goal_objectives.id"],
            name=op.f("fk_goal_objectives_carried_from_id_goal_objectives"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["goal_objectives.id"],
            name=op.f("fk_goal_objectives_parent_id_goal_objectives"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_objectives")),
        sa.UniqueConstraint(
            "team_id",
            "cycle",
            "owner_id",
            "title",
            name=op.f("uq_goal_objectives_team_id_cycle_owner_id_title"),
        ),
    )
    with op.batch_alter_table("goal_objectives", schema=None) as batch_op:
        batch_op.create_index(
            "ix_goal_objectives_cycle", ["team_id", "cycle", "kind"], unique=False
        )
        batch_op.create_index("ix_goal_objectives_owner", ["team_id", "owner_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_goal_objectives_parent_id"), ["parent_id"], unique=False
        )

    op.create_table(
        "goal_key_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("objective_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("current", sa.Float(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["objective_id"],
            ["goal_objectives.id"],
            name=op.f("fk_goal_key_results_objective_id_goal_objectives"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_key_results")),
        sa.UniqueConstraint(
            "objective_id", "title", name=op.f("uq_goal_key_results_objective_id_title")
        ),
    )
    with op.batch_alter_table("goal_key_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_goal_key_results_objective_id"), ["objective_id"], unique=False
        )
        batch_op.create_index("ix_goal_key_results_owner", ["team_id", "owner_id"], unique=False)

    op.create_table(
        "kudos_goals",
        sa.Column("kudos_id", sa.Integer(), nullable=False),
        sa.Column("objective_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kudos_id"],
            ["kudos.id"],
            name=op.f("fk_kudos_goals_kudos_id_kudos"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["objective_id"],
            ["goal_objectives.id"],
            name=op.f("fk_kudos_goals_objective_id_goal_objectives"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kudos_id", name=op.f("pk_kudos_goals")),
    )
    with op.batch_alter_table("kudos_goals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kudos_goals_objective_id"), ["objective_id"], unique=False
        )

    op.create_table(
        "goal_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("key_result_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("confidence", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=True),
        sa.Column("request_key", sa.String(length=128), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_result_id"],
            ["goal_key_results.id"],
            name=op.f("fk_goal_updates_key_result_id_goal_key_results"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["checkin_occurrences.id"],
            name=op.f("fk_goal_updates_occurrence_id_checkin_occurrences"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_updates")),
        sa.UniqueConstraint(
            "key_result_id",
            "occurrence_id",
            name=op.f("uq_goal_updates_key_result_id_occurrence_id"),
        ),
        sa.UniqueConstraint(
            "team_id", "request_key", name=op.f("uq_goal_updates_team_id_request_key")
        ),
    )
    with op.batch_alter_table("goal_updates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_goal_updates_kr_created", ["key_result_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_goal_updates_occurrence_id"), ["occurrence_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("goal_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goal_updates_occurrence_id"))
        batch_op.drop_index("ix_goal_updates_kr_created")

    op.drop_table("goal_updates")
    with op.batch_alter_table("kudos_goals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kudos_goals_objective_id"))

    op.drop_table("kudos_goals")
    with op.batch_alter_table("goal_key_results", schema=None) as batch_op:
        batch_op.drop_index("ix_goal_key_results_owner")
        batch_op.drop_index(batch_op.f("ix_goal_key_results_objective_id"))

    op.drop_table("goal_key_results")
    with op.batch_alter_table("goal_objectives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goal_objectives_parent_id"))
        batch_op.drop_index("ix_goal_objectives_owner")
        batch_op.drop_index("ix_goal_objectives_cycle")

    op.drop_table("goal_objectives")
