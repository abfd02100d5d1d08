"""Typed tables. Every row carries its workspace (`team_id`): multi-workspace changes no meaning."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
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

    if TYPE_CHECKING:
        # SQLAlchemy types `__table__` as any FromClause, since a class may be mapped to a
        # join or a subquery; every model here is declared with `__tablename__`, so it is a
        # Table, which the ON CONFLICT statements of storage.upserts need.
        __table__: ClassVar[Table]


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
    # Set before a call whose double would show (a post); cleared once Slack answered. Still set
    # when a row is claimed again: the last call's outcome is unknown (a timeout, a kill -9), so
    # the sender looks for the message in Slack before posting it again.
    attempt_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    result_channel: Mapped[str | None] = mapped_column(String(32))
    result_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DmChannel(Base):
    """The `D…` id of the bot's DM with a person, as a post to their user id returned it: a
    lost post is looked for in that channel's history."""

    __tablename__ = "dm_channels"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32))


class SenderLease(Base):
    """Who sends for a workspace: one holder at a time keeps the pace across replicas."""

    __tablename__ = "sender_lease"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WorkspaceState(Base):
    """Whether the outbox may call Slack for a workspace. Every replica's sender reads it, so an
    uninstall or a refused token seen by one of them stops them all until a token works again."""

    __tablename__ = "workspace_state"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # None: sending. Set: stopped since then, for `stop_reason` (app_uninstalled, tokens_revoked,
    # or the error Slack answered a call with: token_revoked, invalid_auth, account_inactive).
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcessedEvent(Base):
    """Slack retries events; a seen `event_id` changes nothing the second time."""

    __tablename__ = "processed_events"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


# ----- Check-ins -----------------------------------------------------------------------------


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
    """A team's recurring check-in, identified by (owner, name): applying again updates it."""

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


# ----- Two-way feedback ----------------------------------------------------------------------


class Feedback(Base):
    """Private feedback between two colleagues (`/feedback`); `manager_id` is set only when the
    sender chose "them and their manager", so the copy's reader is fixed when it is sent."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("team_id", "request_key"),
        Index("ix_feedback_recipient", "team_id", "recipient_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    sender_id: Mapped[str] = mapped_column(String(32))
    recipient_id: Mapped[str] = mapped_column(String(32))
    went_well: Mapped[str | None] = mapped_column(Text)
    could_be_better: Mapped[str | None] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(String(64))
    visibility: Mapped[str] = mapped_column(String(32))  # recipient | recipient_and_manager
    manager_id: Mapped[str | None] = mapped_column(String(32))
    quote_url: Mapped[str | None] = mapped_column(String(512))
    request_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    thanked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FeedbackRequest(Base):
    """`/feedback request`: a requester asks 1-10 people about a topic (or a direct report)."""

    __tablename__ = "feedback_requests"
    __table_args__ = (
        UniqueConstraint("team_id", "request_key"),
        Index("ix_feedback_requests_state_due", "team_id", "state", "due_at"),
        Index("ix_feedback_requests_requester", "team_id", "requester_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    requester_id: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(String(200))
    questions: Mapped[list[str]] = mapped_column(JSON)
    due_on: Mapped[date] = mapped_column(Date)  # in the requester's zone
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the end of that day there
    remind_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16))  # open | closed
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    request_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FeedbackAsked(Base):
    """One person asked in a request: pending -> answered | declined | expired."""

    __tablename__ = "feedback_asked"
    __table_args__ = (
        UniqueConstraint("request_id", "user_id"),
        Index("ix_feedback_asked_user", "team_id", "user_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("feedback_requests.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    answers: Mapped[list[str] | None] = mapped_column(JSON)  # one per question, "" unanswered
    share_with_subject: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The DM asking them, which "Answered ✓" replaces.
    ask_outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))


class ConversationThread(Base):
    """One side of an exchange: a person's DM thread (under `root_outbox_id`'s message) and the
    thread on the other side where what they write there is forwarded.

    `kind` and `item_id` name what the exchange is about: a check-in occurrence, a feedback, or
    one person's answer to a request (`feedback_asked.id`).
    """

    __tablename__ = "conversation_threads"
    __table_args__ = (
        UniqueConstraint("team_id", "kind", "item_id", "user_id", "peer_id"),
        Index("ix_conversation_threads_user", "team_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # checkin | feedback | request
    item_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[str] = mapped_column(String(32))
    root_outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    peer_id: Mapped[str] = mapped_column(String(32))
    peer_root_outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox.id", ondelete="SET NULL")
    )


class ConversationMessage(Base):
    """What someone said in an exchange, kept with its item. `source_key` (the event or view
    that carried it) makes a replay change nothing. Kind `team` is a manager's answer to the
    team's anonymous notes: it has no item, since nothing may tie it to a note's author."""

    __tablename__ = "conversation_messages"
    __table_args__ = (
        UniqueConstraint("team_id", "source_key"),
        Index("ix_conversation_messages_item", "team_id", "kind", "item_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[int | None] = mapped_column(Integer)
    author_id: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    source_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# ----- Weekly digest -------------------------------------------------------------------------


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
    # Its span of weeks had enough answerers to release whatever anonymous note waited, whether
    # or not one did: the next digest's span starts after it (migration 0007).
    anonymity_met: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


# ----- Goals and key results ----------------------------------------------------------------


class Objective(Base):
    """An objective in a cycle (`2030-Q1`, `2030-H1`, `2030`), identified by (cycle, owner,
    title): applying a goals file again updates it rather than adding a second one.

    Progress and status are never stored: they follow from the key results, their updates and
    the date (bot.services.goal_progress).
    """

    __tablename__ = "goal_objectives"
    __table_args__ = (
        UniqueConstraint("team_id", "cycle", "owner_id", "title"),
        Index("ix_goal_objectives_cycle", "team_id", "cycle", "kind"),
        Index("ix_goal_objectives_owner", "team_id", "owner_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    cycle: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # company | team | personal | development
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("goal_objectives.id", ondelete="SET NULL"), index=True
    )
    visibility: Mapped[str] = mapped_column(String(16), default="public")  # public | private
    state: Mapped[str] = mapped_column(String(16), default="active")  # draft | active | closed
    outcome: Mapped[str | None] = mapped_column(String(16))  # achieved | missed | dropped
    score: Mapped[float | None] = mapped_column(Float)  # the owner's final 0.0-1.0, at close
    # The objective of the previous cycle this one carries over (its history stays there).
    carried_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("goal_objectives.id", ondelete="SET NULL")
    )
    created_by: Mapped[str] = mapped_column(String(80))  # "slack:U123" | "cli"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class KeyResult(Base):
    """A measurable result of an objective; its owner may differ from the objective's.

    A target below the start means "decrease". `current` is the latest update's value, kept
    here so that lists need no scan of the updates.
    """

    __tablename__ = "goal_key_results"
    __table_args__ = (
        UniqueConstraint("objective_id", "title"),
        Index("ix_goal_key_results_owner", "team_id", "owner_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    objective_id: Mapped[int] = mapped_column(
        ForeignKey("goal_objectives.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[str] = mapped_column(String(32))
    measure: Mapped[str] = mapped_column(String(16))  # number | percent | currency | milestone
    unit: Mapped[str] = mapped_column(String(16), default="")
    start: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    current: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class KeyResultUpdate(Base):
    """One progress update. The unique (key result, occurrence) makes a check-in's update exactly
    once, and (team, request key) a modal's, however often Slack replays the submission."""

    __tablename__ = "goal_updates"
    __table_args__ = (
        UniqueConstraint("key_result_id", "occurrence_id"),
        UniqueConstraint("team_id", "request_key"),
        Index("ix_goal_updates_kr_created", "key_result_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    key_result_id: Mapped[int] = mapped_column(
        ForeignKey("goal_key_results.id", ondelete="CASCADE")
    )
    value: Mapped[float] = mapped_column(Float)
    confidence: Mapped[str] = mapped_column(String(16))  # on_track | at_risk | off_track
    note: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[str] = mapped_column(String(32))
    occurrence_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkin_occurrences.id", ondelete="SET NULL"), index=True
    )
    request_key: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class KudosGoal(Base):
    """The recipient's objective a kudos names: recognition of impact, grouped in the digest."""

    __tablename__ = "kudos_goals"

    kudos_id: Mapped[int] = mapped_column(
        ForeignKey("kudos.id", ondelete="CASCADE"), primary_key=True
    )
    objective_id: Mapped[int] = mapped_column(
        ForeignKey("goal_objectives.id", ondelete="CASCADE"), index=True
    )


# ----- Data rights ---------------------------------------------------------------------------


class PrivacyAudit(Base):
    """One export, erasure or retention run: what was done, who or what asked, when, and how
    many rows of each kind it touched. Never content; and an erasure's row names nobody, since
    it must not keep the id it erased."""

    __tablename__ = "privacy_audit"
    __table_args__ = (
        # A daily retention run is claimed by inserting its key: one replica runs it.
        UniqueConstraint("run_key"),
        Index("ix_privacy_audit_started", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(32))  # None: every workspace (retention)
    # export | workspace_export | forget | retention
    action: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(80))  # "cli:alice", "slack:U123", "minute job"
    subject_id: Mapped[str | None] = mapped_column(String(32))  # whose data an export holds
    run_key: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    counts: Mapped[dict[str, int]] = mapped_column(JSON)


class ForgottenPerson(Base):
    """A digest of each erased person's id, so that the directory sync does not cache a
    deactivated leaver's name and email again (users.list lists deactivated people too). A
    digest, not the id: no row may hold that."""

    __tablename__ = "privacy_forgotten"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)


# Retention deletes outbox rows and check-ins in batches; the database then clears each
# reference to a deleted row (ON DELETE SET NULL), which without an index is a scan per row.
Index("ix_checkin_occurrences_prompt_outbox", CheckinOccurrence.prompt_outbox_id)
Index("ix_feedback_asked_ask_outbox", FeedbackAsked.ask_outbox_id)
Index("ix_conversation_threads_root_outbox", ConversationThread.root_outbox_id)
Index("ix_conversation_threads_peer_root_outbox", ConversationThread.peer_root_outbox_id)
Index("ix_digests_outbox", Digest.outbox_id)
Index("ix_upward_feedback_occurrence", UpwardFeedback.occurrence_id)
