"""Feedback, feedback requests and the DM threads of each exchange: the SQL, nothing else.

Query functions take a Session and never commit; the caller's unit of work decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from storage.models import (
    ConversationMessage,
    ConversationThread,
    Feedback,
    FeedbackAsked,
    FeedbackRequest,
    OutboxMessage,
)
from storage.upserts import insert_ignoring_conflict, rowcount

# The request and asked states this module selects by or writes itself (bot/services/states.py
# has them all; callers pass the others).
_OPEN, _CLOSED = "open", "closed"
_PENDING, _ANSWERED, _EXPIRED = "pending", "answered", "expired"


# ----- feedback ---------------------------------------------------------------------------------


def insert_feedback(session: Session, values: dict[str, Any]) -> int | None:
    """The new id, or None when this request key was stored before (a replayed submission)."""
    new_id = insert_ignoring_conflict(session, Feedback.__table__, values)
    return None if new_id is None else int(new_id)


def feedback_by_key(session: Session, team_id: str, request_key: str) -> Feedback | None:
    return session.scalars(
        select(Feedback).where(Feedback.team_id == team_id, Feedback.request_key == request_key)
    ).first()


def get_feedback(session: Session, team_id: str, feedback_id: int) -> Feedback | None:
    return session.scalars(
        select(Feedback).where(Feedback.team_id == team_id, Feedback.id == feedback_id)
    ).first()


def mark_thanked(session: Session, feedback_id: int, now: datetime) -> bool:
    """True for the first thanks only: two clicks racing each other thank once."""
    result = session.execute(
        update(Feedback)
        .where(Feedback.id == feedback_id, Feedback.thanked_at.is_(None))
        .values(thanked_at=now)
    )
    return bool(rowcount(result))


def received(session: Session, team_id: str, user_id: str, limit: int) -> list[Feedback]:
    return list(
        session.scalars(
            select(Feedback)
            .where(Feedback.team_id == team_id, Feedback.recipient_id == user_id)
            .order_by(Feedback.created_at.desc(), Feedback.id.desc())
            .limit(limit)
        )
    )


# ----- requests ---------------------------------------------------------------------------------


def insert_request(session: Session, values: dict[str, Any]) -> int | None:
    new_id = insert_ignoring_conflict(
        session,
        FeedbackRequest.__table__,
        {**values, "state": _OPEN},
    )
    return None if new_id is None else int(new_id)


def request_by_key(session: Session, team_id: str, request_key: str) -> FeedbackRequest | None:
    return session.scalars(
        select(FeedbackRequest).where(
            FeedbackRequest.team_id == team_id, FeedbackRequest.request_key == request_key
        )
    ).first()


def get_request(session: Session, team_id: str, request_id: int) -> FeedbackRequest | None:
    return session.scalars(
        select(FeedbackRequest).where(
            FeedbackRequest.team_id == team_id, FeedbackRequest.id == request_id
        )
    ).first()


def add_asked(session: Session, team_id: str, request_id: int, user_ids: Iterable[str]) -> None:
    session.add_all(
        FeedbackAsked(
            request_id=request_id,
            team_id=team_id,
            user_id=user_id,
            state=_PENDING,
            share_with_subject=False,
        )
        for user_id in user_ids
    )
    session.flush()


def asked_of(session: Session, request_id: int) -> list[FeedbackAsked]:
    return list(
        session.scalars(
            select(FeedbackAsked)
            .where(FeedbackAsked.request_id == request_id)
            .order_by(FeedbackAsked.id)
        )
    )


def asked_row(
    session: Session, team_id: str, request_id: int, user_id: str
) -> FeedbackAsked | None:
    return session.scalars(
        select(FeedbackAsked).where(
            FeedbackAsked.team_id == team_id,
            FeedbackAsked.request_id == request_id,
            FeedbackAsked.user_id == user_id,
        )
    ).first()


def set_ask_outbox(session: Session, asked_id: int, outbox_id: int) -> None:
    session.execute(
        update(FeedbackAsked).where(FeedbackAsked.id == asked_id).values(ask_outbox_id=outbox_id)
    )


def settle(
    session: Session,
    asked_id: int,
    state: str,
    now: datetime,
    answers: Sequence[str] | None = None,
    share: bool = False,
) -> bool:
    """pending -> answered | declined, once: False when it was no longer pending."""
    result = session.execute(
        update(FeedbackAsked)
        .where(FeedbackAsked.id == asked_id, FeedbackAsked.state == _PENDING)
        .values(
            state=state,
            answers=list(answers) if answers is not None else None,
            share_with_subject=share,
            answered_at=now,
        )
    )
    return bool(rowcount(result))


def _due_ids(session: Session, team_id: str | None, column: Any, now: datetime, limit: int) -> Any:
    query = (
        select(FeedbackRequest.id)
        .where(FeedbackRequest.state == _OPEN, column <= now)
        .order_by(column, FeedbackRequest.id)
        .limit(limit)
    )
    if team_id is not None:
        query = query.where(FeedbackRequest.team_id == team_id)
    return list(session.scalars(query))


def claim_reminders(
    session: Session, team_id: str | None, now: datetime, limit: int
) -> list[FeedbackRequest]:
    """Open requests whose reminder time passed, each claimed once (a conditional update), so
    two minute jobs racing write one reminder."""
    claimed = []
    query = select(FeedbackRequest.id).where(
        FeedbackRequest.state == _OPEN,
        FeedbackRequest.reminded_at.is_(None),
        FeedbackRequest.remind_at <= now,
        FeedbackRequest.due_at > now,
        # One due within a day of being asked gets no reminder on top of the ask itself.
        FeedbackRequest.remind_at > FeedbackRequest.created_at,
    )
    if team_id is not None:
        query = query.where(FeedbackRequest.team_id == team_id)
    for request_id in session.scalars(query.order_by(FeedbackRequest.id).limit(limit)):
        result = session.execute(
            update(FeedbackRequest)
            .where(FeedbackRequest.id == request_id, FeedbackRequest.reminded_at.is_(None))
            .values(reminded_at=now)
        )
        if rowcount(result):
            claimed.append(request_id)
    return _requests(session, claimed)


def claim_closings(
    session: Session, team_id: str | None, now: datetime, limit: int
) -> list[FeedbackRequest]:
    """Open requests past their due time, closed once; their pending people expire."""
    claimed = []
    for request_id in _due_ids(session, team_id, FeedbackRequest.due_at, now, limit):
        result = session.execute(
            update(FeedbackRequest)
            .where(FeedbackRequest.id == request_id, FeedbackRequest.state == _OPEN)
            .values(state=_CLOSED, closed_at=now)
        )
        if rowcount(result):
            claimed.append(request_id)
    if claimed:
        session.execute(
            update(FeedbackAsked)
            .where(FeedbackAsked.request_id.in_(claimed), FeedbackAsked.state == _PENDING)
            .values(state=_EXPIRED)
        )
    return _requests(session, claimed)


def close_requests_of(
    session: Session, team_id: str, requester_id: str, now: datetime
) -> list[tuple[FeedbackRequest, list[FeedbackAsked]]]:
    """Close this requester's open requests now, before their due time: no reminder, closing
    or summary follows. Each comes with the people who were still asked (now expired)."""
    open_ids = list(
        session.scalars(
            select(FeedbackRequest.id).where(
                FeedbackRequest.team_id == team_id,
                FeedbackRequest.requester_id == requester_id,
                FeedbackRequest.state == _OPEN,
            )
        )
    )
    closed = []
    for request_id in open_ids:
        result = session.execute(
            update(FeedbackRequest)
            .where(FeedbackRequest.id == request_id, FeedbackRequest.state == _OPEN)
            .values(state=_CLOSED, closed_at=now)
        )
        if rowcount(result):
            closed.append(request_id)
    if not closed:
        return []
    waiting = list(
        session.scalars(
            select(FeedbackAsked)
            .where(FeedbackAsked.request_id.in_(closed), FeedbackAsked.state == _PENDING)
            .order_by(FeedbackAsked.id)
        )
    )
    session.execute(
        update(FeedbackAsked)
        .where(FeedbackAsked.request_id.in_(closed), FeedbackAsked.state == _PENDING)
        .values(state=_EXPIRED)
        .execution_options(synchronize_session=False)
    )
    by_request: dict[int, list[FeedbackAsked]] = {request_id: [] for request_id in closed}
    for asked in waiting:
        by_request[asked.request_id].append(asked)
    return [(request, by_request[request.id]) for request in _requests(session, closed)]


def expire_asks_of(session: Session, team_id: str, user_id: str) -> int:
    """This person will not answer the open requests that asked them: those asks expire, so no
    reminder goes to them and each requester's summary counts them as not answered."""
    open_requests = select(FeedbackRequest.id).where(
        FeedbackRequest.team_id == team_id, FeedbackRequest.state == _OPEN
    )
    result = session.execute(
        update(FeedbackAsked)
        .where(
            FeedbackAsked.team_id == team_id,
            FeedbackAsked.user_id == user_id,
            FeedbackAsked.state == _PENDING,
            FeedbackAsked.request_id.in_(open_requests.scalar_subquery()),
        )
        .values(state=_EXPIRED)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) or 0


def _requests(session: Session, request_ids: list[int]) -> list[FeedbackRequest]:
    if not request_ids:
        return []
    session.expire_all()
    return list(
        session.scalars(
            select(FeedbackRequest)
            .where(FeedbackRequest.id.in_(request_ids))
            .order_by(FeedbackRequest.id)
        )
    )


def waiting_for(
    session: Session, team_id: str, user_id: str, limit: int
) -> list[tuple[FeedbackRequest, FeedbackAsked]]:
    """Open requests this person has not answered or declined yet, soonest due first."""
    rows = session.execute(
        select(FeedbackRequest, FeedbackAsked)
        .join(FeedbackAsked, FeedbackAsked.request_id == FeedbackRequest.id)
        .where(
            FeedbackAsked.team_id == team_id,
            FeedbackAsked.user_id == user_id,
            FeedbackAsked.state == _PENDING,
            FeedbackRequest.state == _OPEN,
        )
        .order_by(FeedbackRequest.due_at, FeedbackRequest.id)
        .limit(limit)
    )
    return [(request, asked) for request, asked in rows]


def open_requests_of(
    session: Session, team_id: str, requester_id: str, limit: int
) -> list[tuple[FeedbackRequest, int, int]]:
    """The requester's open requests with (answered, asked) counts."""
    answered = func.sum(case((FeedbackAsked.state == _ANSWERED, 1), else_=0))
    rows = session.execute(
        select(FeedbackRequest, answered, func.count(FeedbackAsked.id))
        .join(FeedbackAsked, FeedbackAsked.request_id == FeedbackRequest.id)
        .where(
            FeedbackRequest.team_id == team_id,
            FeedbackRequest.requester_id == requester_id,
            FeedbackRequest.state == _OPEN,
        )
        .group_by(FeedbackRequest.id)
        .order_by(FeedbackRequest.due_at, FeedbackRequest.id)
        .limit(limit)
    )
    return [(request, int(done or 0), int(total)) for request, done, total in rows]


# ----- conversation threads ---------------------------------------------------------------------


def link_thread(
    session: Session,
    *,
    team_id: str,
    kind: str,
    item_id: int,
    user_id: str,
    root_outbox_id: int | None,
    peer_id: str,
    peer_root_outbox_id: int | None,
) -> None:
    insert_ignoring_conflict(
        session,
        ConversationThread.__table__,
        {
            "team_id": team_id,
            "kind": kind,
            "item_id": item_id,
            "user_id": user_id,
            "root_outbox_id": root_outbox_id,
            "peer_id": peer_id,
            "peer_root_outbox_id": peer_root_outbox_id,
        },
    )


def threads_at(
    session: Session, team_id: str, user_id: str, channel: str, thread_ts: str
) -> list[ConversationThread]:
    """This person's exchanges whose DM thread starts at that message (channel, ts)."""
    return list(
        session.scalars(
            select(ConversationThread)
            .join(OutboxMessage, OutboxMessage.id == ConversationThread.root_outbox_id)
            .where(
                ConversationThread.team_id == team_id,
                ConversationThread.user_id == user_id,
                OutboxMessage.result_ts == thread_ts,
                OutboxMessage.result_channel == channel,
            )
            .order_by(ConversationThread.id)
        )
    )


def threads_of(
    session: Session, team_id: str, kind: str, item_id: int, user_id: str
) -> list[ConversationThread]:
    return list(
        session.scalars(
            select(ConversationThread)
            .where(
                ConversationThread.team_id == team_id,
                ConversationThread.kind == kind,
                ConversationThread.item_id == item_id,
                ConversationThread.user_id == user_id,
            )
            .order_by(ConversationThread.id)
        )
    )


def add_message(session: Session, values: dict[str, Any]) -> bool:
    """False when the same source (event or view) was stored before: a replay."""
    new_id = insert_ignoring_conflict(
        session,
        ConversationMessage.__table__,
        values,
    )
    return new_id is not None


def messages_of(session: Session, team_id: str, kind: str, item_id: int) -> list[Any]:
    return list(
        session.scalars(
            select(ConversationMessage)
            .where(
                ConversationMessage.team_id == team_id,
                ConversationMessage.kind == kind,
                ConversationMessage.item_id == item_id,
            )
            .order_by(ConversationMessage.id)
        )
    )


def outbox_id(session: Session, team_id: str, key: str) -> int | None:
    """The outbox row written under this idempotency key, e.g. a thread's first message."""
    return session.execute(
        select(OutboxMessage.id).where(
            OutboxMessage.team_id == team_id, OutboxMessage.idempotency_key == key
        )
    ).scalar_one_or_none()
