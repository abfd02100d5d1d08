"""Retention in SQL: each function takes at most `limit` rows older than a cutoff, changes them,
and returns how many it took, so a caller repeats it in short transactions until a batch comes
back short. Each selects only rows not yet changed, so running one again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from storage.models import (
    CheckinAnswer,
    CheckinOccurrence,
    ConversationMessage,
    ConversationThread,
    Digest,
    Feedback,
    FeedbackAsked,
    FeedbackRequest,
    KeyResultUpdate,
    Kudos,
    KudosBudget,
    KudosRecipient,
    KudosValue,
    OutboxMessage,
    OutOfOffice,
    ProcessedEvent,
    UpwardFeedback,
)
from storage.privacy import REDACTED_KEY, REMOVED, delete_occurrences

SETTLED = ("sent", "failed", "cancelled")
TEXT_REMOVED = "text_removed"  # set in a digest's stored content once its text went


def _is_string(session: Session, column: Any) -> ColumnElement[bool]:
    """A JSON value that is a string (a text or choice answer, never a pulse or a yes/no)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.json_typeof(column) == "string"
    return func.json_type(column) == "text"


def _ids(session: Session, query: Any) -> list[Any]:
    return list(session.scalars(query))


@dataclass
class Cursor:
    """Where a step's last batch ended. A step that keeps the rows it changed (a pulse answer
    left behind, a blanked kudos) starts its next batch there instead of reading those rows
    again, which would make a first run over a year of data quadratic."""

    after: int = 0

    def batch(self, query: Any, key: Any, *, inclusive: bool = False) -> Any:
        """The query, from where the last batch ended, in key order."""
        start = key >= self.after if inclusive else key > self.after
        return query.where(start).order_by(key)

    def moved_to(self, ids: Sequence[int]) -> None:
        if ids:
            self.after = max(self.after, max(ids))


# ----- free text -------------------------------------------------------------------------------


def delete_text_answers(
    session: Session, closed_before: datetime, limit: int, cursor: Cursor | None = None
) -> int:
    """Text and choice answers of check-ins closed before the cutoff; numbers stay."""
    cursor = cursor or Cursor()
    query = (
        select(CheckinAnswer.occurrence_id, CheckinAnswer.question_id)
        .join(CheckinOccurrence, CheckinOccurrence.id == CheckinAnswer.occurrence_id)
        .where(
            CheckinOccurrence.closes_at < closed_before,
            CheckinOccurrence.state != "pending",
            _is_string(session, CheckinAnswer.value),
        )
    )
    # Inclusive: a batch may end inside an occurrence's answers.
    query = cursor.batch(query, CheckinAnswer.occurrence_id, inclusive=True)
    pairs = [
        tuple(row)
        for row in session.execute(query.order_by(CheckinAnswer.question_id).limit(limit))
    ]
    cursor.moved_to([p[0] for p in pairs])
    if pairs:
        session.execute(
            delete(CheckinAnswer).where(
                tuple_(CheckinAnswer.occurrence_id, CheckinAnswer.question_id).in_(pairs)
            )
        )
    return len(pairs)


def delete_notes(session: Session, before_week: str, limit: int) -> int:
    """Upward notes of ISO weeks before `before_week` ("2037-W09": both the same shape, so
    they compare as text). A note is nothing but its text and its week."""
    ids = _ids(
        session, select(UpwardFeedback.id).where(UpwardFeedback.iso_week < before_week).limit(limit)
    )
    if ids:
        session.execute(delete(UpwardFeedback).where(UpwardFeedback.id.in_(ids)))
    return len(ids)


def _take(session: Session, query: Any, key: Any, limit: int, cursor: Cursor | None) -> list[Any]:
    cursor = cursor or Cursor()
    ids = _ids(session, cursor.batch(query, key).limit(limit))
    cursor.moved_to(ids)
    return ids


def blank_feedback(
    session: Session, before: datetime, limit: int, cursor: Cursor | None = None
) -> int:
    query = select(Feedback.id).where(
        Feedback.created_at < before,
        or_(
            Feedback.went_well.is_not(None),
            Feedback.could_be_better.is_not(None),
            Feedback.quote_url.is_not(None),
        ),
    )
    ids = _take(session, query, Feedback.id, limit, cursor)
    if ids:
        session.execute(
            update(Feedback)
            .where(Feedback.id.in_(ids))
            .values(went_well=None, could_be_better=None, quote_url=None)
        )
    return len(ids)


def blank_kudos(
    session: Session, before: datetime, limit: int, cursor: Cursor | None = None
) -> int:
    query = select(Kudos.id).where(
        Kudos.created_at < before, or_(Kudos.message != REMOVED, Kudos.quote_url.is_not(None))
    )
    ids = _take(session, query, Kudos.id, limit, cursor)
    if ids:
        session.execute(
            update(Kudos).where(Kudos.id.in_(ids)).values(message=REMOVED, quote_url=None)
        )
    return len(ids)


def blank_goal_notes(
    session: Session, before: datetime, limit: int, cursor: Cursor | None = None
) -> int:
    """The notes written with key-result updates; the value and confidence stay, since a
    goal's progress and history are read from them."""
    query = select(KeyResultUpdate.id).where(
        KeyResultUpdate.created_at < before, KeyResultUpdate.note != ""
    )
    ids = _take(session, query, KeyResultUpdate.id, limit, cursor)
    if ids:
        session.execute(update(KeyResultUpdate).where(KeyResultUpdate.id.in_(ids)).values(note=""))
    return len(ids)


def delete_goal_updates(session: Session, before: datetime, limit: int) -> int:
    """Key-result updates older than the cut; a key result keeps its current value."""
    ids = _ids(
        session,
        select(KeyResultUpdate.id).where(KeyResultUpdate.created_at < before).limit(limit),
    )
    if ids:
        session.execute(delete(KeyResultUpdate).where(KeyResultUpdate.id.in_(ids)))
    return len(ids)


def blank_requests(
    session: Session, before: datetime, limit: int, cursor: Cursor | None = None
) -> int:
    """Closed requests' topic and questions, and the answers given to them."""
    query = select(FeedbackRequest.id).where(
        FeedbackRequest.created_at < before,
        FeedbackRequest.state == "closed",
        FeedbackRequest.topic != REMOVED,
    )
    ids = _take(session, query, FeedbackRequest.id, limit, cursor)
    if ids:
        session.execute(
            update(FeedbackRequest)
            .where(FeedbackRequest.id.in_(ids))
            .values(topic=REMOVED, questions=[])
        )
        session.execute(
            update(FeedbackAsked).where(FeedbackAsked.request_id.in_(ids)).values(answers=None)
        )
    return len(ids)


def blank_messages(
    session: Session, before: datetime, limit: int, cursor: Cursor | None = None
) -> int:
    """What people said in exchanges; the rows stay, since the digest counts replies."""
    query = select(ConversationMessage.id).where(
        ConversationMessage.created_at < before, ConversationMessage.text != REMOVED
    )
    ids = _take(session, query, ConversationMessage.id, limit, cursor)
    if ids:
        session.execute(
            update(ConversationMessage).where(ConversationMessage.id.in_(ids)).values(text=REMOVED)
        )
    return len(ids)


def digests_with_text(
    session: Session, before: datetime, limit: int, cursor: Cursor | None = None
) -> list[tuple[int, dict[str, Any]]]:
    cursor = cursor or Cursor()
    query = select(Digest.id, Digest.content).where(
        Digest.created_at < before, Digest.content[TEXT_REMOVED].as_string().is_(None)
    )
    rows = [(i, dict(c)) for i, c in session.execute(cursor.batch(query, Digest.id).limit(limit))]
    cursor.moved_to([i for i, _ in rows])
    return rows


def set_digest_content(session: Session, digest_id: int, content: dict[str, Any]) -> None:
    session.execute(update(Digest).where(Digest.id == digest_id).values(content=content))


def redact_outbox(
    session: Session, before: datetime, limit: int, reason: str, cursor: Cursor | None = None
) -> int:
    """Payloads of settled rows: the copy of what was sent. Status, results and times stay
    (a thread's replies still find their root by its channel and ts)."""
    query = select(OutboxMessage.id).where(
        OutboxMessage.created_at < before,
        OutboxMessage.status.in_(SETTLED),
        OutboxMessage.payload[REDACTED_KEY].as_string().is_(None),
    )
    ids = _take(session, query, OutboxMessage.id, limit, cursor)
    if ids:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(payload={REDACTED_KEY: reason})
            .execution_options(synchronize_session=False)
        )
    return len(ids)


# ----- whole rows ------------------------------------------------------------------------------


def delete_checkins(session: Session, closed_before: datetime, limit: int) -> int:
    ids = _ids(
        session,
        select(CheckinOccurrence.id)
        .where(CheckinOccurrence.closes_at < closed_before, CheckinOccurrence.state != "pending")
        .limit(limit),
    )
    by_team: dict[str, list[int]] = {}
    for occurrence_id, team_id in session.execute(
        select(CheckinOccurrence.id, CheckinOccurrence.team_id).where(CheckinOccurrence.id.in_(ids))
    ):
        by_team.setdefault(team_id, []).append(occurrence_id)
    for team_id, chosen in by_team.items():
        delete_occurrences(session, team_id, chosen)
    return len(ids)


def delete_kudos(session: Session, before: datetime, limit: int) -> int:
    ids = _ids(session, select(Kudos.id).where(Kudos.created_at < before).limit(limit))
    if ids:
        session.execute(delete(KudosRecipient).where(KudosRecipient.kudos_id.in_(ids)))
        session.execute(delete(KudosValue).where(KudosValue.kudos_id.in_(ids)))
        session.execute(delete(Kudos).where(Kudos.id.in_(ids)))
    return len(ids)


def delete_budget(session: Session, before: date, limit: int) -> int:
    keys = [
        tuple(row)
        for row in session.execute(
            select(KudosBudget.team_id, KudosBudget.giver_id, KudosBudget.local_date)
            .where(KudosBudget.local_date < before)
            .limit(limit)
        )
    ]
    if keys:
        session.execute(
            delete(KudosBudget).where(
                tuple_(KudosBudget.team_id, KudosBudget.giver_id, KudosBudget.local_date).in_(keys)
            )
        )
    return len(keys)


def _delete_exchanges(session: Session, kind: str, item_ids: Sequence[int]) -> None:
    for model in (ConversationMessage, ConversationThread):
        session.execute(delete(model).where(model.kind == kind, model.item_id.in_(item_ids)))


def delete_feedback(session: Session, before: datetime, limit: int) -> int:
    ids = _ids(session, select(Feedback.id).where(Feedback.created_at < before).limit(limit))
    if ids:
        _delete_exchanges(session, "feedback", ids)
        session.execute(delete(Feedback).where(Feedback.id.in_(ids)))
    return len(ids)


def delete_requests(session: Session, before: datetime, limit: int) -> int:
    ids = _ids(
        session,
        select(FeedbackRequest.id)
        .where(FeedbackRequest.created_at < before, FeedbackRequest.state == "closed")
        .limit(limit),
    )
    if ids:
        asked = _ids(session, select(FeedbackAsked.id).where(FeedbackAsked.request_id.in_(ids)))
        if asked:
            _delete_exchanges(session, "request", asked)
        session.execute(delete(FeedbackAsked).where(FeedbackAsked.request_id.in_(ids)))
        session.execute(delete(FeedbackRequest).where(FeedbackRequest.id.in_(ids)))
    return len(ids)


def delete_messages(session: Session, before: datetime, limit: int) -> int:
    ids = _ids(
        session,
        select(ConversationMessage.id).where(ConversationMessage.created_at < before).limit(limit),
    )
    if ids:
        session.execute(delete(ConversationMessage).where(ConversationMessage.id.in_(ids)))
    return len(ids)


def delete_digests(session: Session, before: datetime, limit: int) -> int:
    ids = _ids(session, select(Digest.id).where(Digest.created_at < before).limit(limit))
    if ids:
        session.execute(delete(Digest).where(Digest.id.in_(ids)))
    return len(ids)


def delete_outbox(session: Session, before: datetime, limit: int) -> int:
    """Settled rows, except a parent whose child still waits (it needs the parent's ts).

    The waiting children's parents are read once (few rows wait at any time): a correlated
    NOT EXISTS is planned as a scan of the outbox per row, since nearly every depends_on_id is
    NULL and its index looks useless to the planner."""
    waiting = (
        select(OutboxMessage.depends_on_id)
        .where(OutboxMessage.status == "pending", OutboxMessage.depends_on_id.is_not(None))
        .scalar_subquery()
    )
    ids = _ids(
        session,
        select(OutboxMessage.id)
        .where(
            OutboxMessage.created_at < before,
            OutboxMessage.status.in_(SETTLED),
            OutboxMessage.id.not_in(waiting),
        )
        .limit(limit),
    )
    if ids:
        session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
    return len(ids)


def delete_events(session: Session, before: datetime, limit: int) -> int:
    keys = [
        tuple(row)
        for row in session.execute(
            select(ProcessedEvent.team_id, ProcessedEvent.event_id)
            .where(ProcessedEvent.received_at < before)
            .limit(limit)
        )
    ]
    if keys:
        session.execute(
            delete(ProcessedEvent).where(
                tuple_(ProcessedEvent.team_id, ProcessedEvent.event_id).in_(keys)
            )
        )
    return len(keys)


def delete_ooo(session: Session, before: date, limit: int) -> int:
    keys = [
        tuple(row)
        for row in session.execute(
            select(OutOfOffice.team_id, OutOfOffice.user_id)
            .where(OutOfOffice.until < before)
            .limit(limit)
        )
    ]
    if keys:
        session.execute(
            delete(OutOfOffice).where(tuple_(OutOfOffice.team_id, OutOfOffice.user_id).in_(keys))
        )
    return len(keys)
