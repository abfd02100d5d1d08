"""Typed tables. Every row carries its workspace (`team_id`): multi-workspace changes no meaning."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DirectoryUser(Base):
    """Cache of Slack's users.info: validation on the ack path must not call Slack per request."""

    __tablename__ = "directory_users"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_team_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255), default="")
    real_name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str | None] = mapped_column(String(255))
    tz: Mapped[str | None] = mapped_column(String(64))
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    is_restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Kudos(Base):
    __tablename__ = "kudos"
    __table_args__ = (
        UniqueConstraint("team_id", "request_key"),
        Index("ix_kudos_team_created", "team_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    giver_id: Mapped[str] = mapped_column(String(32), index=True)
    message: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    request_key: Mapped[str] = mapped_column(String(128))
    quote_url: Mapped[str | None] = mapped_column(String(512))
    giver_local_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    recipients: Mapped[list[KudosRecipient]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    values: Mapped[list[KudosValue]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class KudosRecipient(Base):
    __tablename__ = "kudos_recipients"

    kudos_id: Mapped[int] = mapped_column(
        ForeignKey("kudos.id", ondelete="CASCADE"), primary_key=True
    )
    recipient_id: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class KudosValue(Base):
    __tablename__ = "kudos_values"

    kudos_id: Mapped[int] = mapped_column(
        ForeignKey("kudos.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[str] = mapped_column(String(64), primary_key=True)


class KudosBudget(Base):
    """Recipients given per giver per local day: the row the budget check locks and bumps."""

    __tablename__ = "kudos_budget"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    giver_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    spent: Mapped[int] = mapped_column(Integer, default=0)


class OutboxMessage(Base):
    """A Web API call that must happen exactly once, written with the state it reports."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("team_id", "idempotency_key"),
        Index("ix_outbox_due", "team_id", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    depends_on_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # None: send as soon as possible, whatever clock the writer was given. Set only for rows
    # delayed on purpose (a retry's backoff, a message scheduled for later).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # 0 interactive (acks' follow-ups, kudos DMs, App Home, modals), 1 bulk (fan-outs, digests).
    priority: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    result_channel: Mapped[str | None] = mapped_column(String(32))
    result_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SenderLease(Base):
    """Who sends for a workspace: one holder at a time keeps the pace across replicas."""

    __tablename__ = "sender_lease"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcessedEvent(Base):
    """Slack retries events; a seen `event_id` changes nothing the second time."""

    __tablename__ = "processed_events"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


# ----- Check-ins (issue 3) ----------------------------------------------------------------------


class OrgEdge(Base):
    """Who reports to whom: Slack has no manager field, so the app keeps its own (one each)."""

    __tablename__ = "org_chart"
    __table_args__ = (Index("ix_org_chart_manager", "team_id", "manager_id"),)

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    manager_id: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))  # "csv" | "template" | "slack"
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutOfOffice(Base):
    """A person's away period, in their own local dates, both ends inclusive."""

    __tablename__ = "ooo_periods"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    starts_on: Mapped[date] = mapped_column(Date)
    until: Mapped[date] = mapped_column(Date)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CheckinTemplate(Base):
    """A team's recurring check-in, identified by (owner, name) as in DESIGN.md section 3."""

    __tablename__ = "checkin_templates"
    __table_args__ = (UniqueConstraint("team_id", "owner_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(80))
    weekdays: Mapped[list[str]] = mapped_column(JSON)  # ["mon", "fri"]
    local_time: Mapped[str] = mapped_column(String(5))  # "HH:MM", in each member's zone
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    post_to_manager: Mapped[bool] = mapped_column(Boolean, default=True)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    remind_after_minutes: Mapped[int | None] = mapped_column(Integer)
    close_after_minutes: Mapped[int] = mapped_column(Integer)
    # Occurrences begin after this instant: creation, or the last change of days/time, so a new
    # schedule never produces "missed" rows for times that only exist under it retroactively.
    schedule_from: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CheckinMember(Base):
    """A person in a template; prompts only begin after `added_at`."""

    __tablename__ = "checkin_members"

    template_id: Mapped[int] = mapped_column(
        ForeignKey("checkin_templates.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    team_id: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CheckinOccurrence(Base):
    """One (template, member, local date): the unique key is what makes a prompt exactly once."""

    __tablename__ = "checkin_occurrences"
    __table_args__ = (
        UniqueConstraint("template_id", "user_id", "local_date"),
        Index("ix_checkin_occurrences_state_closes", "team_id", "state", "closes_at"),
        Index("ix_checkin_occurrences_user", "team_id", "user_id", "state"),
        # The digest reads a person's weeks by date (migration 0004).
        Index("ix_checkin_occurrences_user_date", "team_id", "user_id", "local_date"),
        Index("ix_checkin_occurrences_template_date", "template_id", "local_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    template_id: Mapped[int] = mapped_column(ForeignKey("checkin_templates.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    local_date: Mapped[date] = mapped_column(Date)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16))  # pending|answered|skipped|missed|away
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    snooze_count: Mapped[int] = mapped_column(Integer, default=0)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The outbox row of the message "Submitted ✓" replaces: the prompt, or the latest re-prompt.
    prompt_outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CheckinAnswer(Base):
    """One answer to one question (upward feedback is kept apart, in `upward_feedback`)."""

    __tablename__ = "checkin_answers"

    occurrence_id: Mapped[int] = mapped_column(
        ForeignKey("checkin_occurrences.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    value: Mapped[Any] = mapped_column(JSON)


class UpwardFeedback(Base):
    """Feedback for a manager. Anonymous rows have no author and no occurrence: nothing to trace.

    Named feedback is delivered at once (`released` true); anonymous waits for a weekly digest
    whose team reached the anonymity threshold. The id is random (an autoincrement would follow
    the order of answers) and, on SQLite, the table has no rowid for the same reason; the week
    is the manager's, and the only time a row carries (migration 0004).
    """

    __tablename__ = "upward_feedback"
    __table_args__ = (
        Index("ix_upward_feedback_manager_week", "team_id", "manager_id", "iso_week"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    manager_id: Mapped[str] = mapped_column(String(32))
    author_id: Mapped[str | None] = mapped_column(String(32))
    occurrence_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkin_occurrences.id", ondelete="SET NULL")
    )
    anonymous: Mapped[bool] = mapped_column(Boolean)
    text: Mapped[str] = mapped_column(Text)
    iso_week: Mapped[str] = mapped_column(String(8))  # "2026-W48", in the manager's zone
    released: Mapped[bool] = mapped_column(Boolean, default=False)
    # The covered week of the sent digest that released an anonymous note.
    released_week: Mapped[str | None] = mapped_column(String(8))


# ----- Weekly digest (issue 7) ------------------------------------------------------------------


class CheckinReply(Base):
    """A manager's reply to an answer: the digest counts them (follow-through) and View more
    shows them."""

    __tablename__ = "checkin_replies"
    __table_args__ = (Index("ix_checkin_replies_occurrence", "occurrence_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    occurrence_id: Mapped[int] = mapped_column(
        ForeignKey("checkin_occurrences.id", ondelete="CASCADE")
    )
    author_id: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Digest(Base):
    """One weekly digest per (manager, covered ISO week): the unique key makes it once.

    `content` is the digest's data as it was built when written; a sent digest never changes,
    and `/checkin digest` shows this copy once it exists.
    """

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("team_id", "manager_id", "iso_week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    manager_id: Mapped[str] = mapped_column(String(32))
    iso_week: Mapped[str] = mapped_column(String(8))
    week_start: Mapped[date] = mapped_column(Date)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
