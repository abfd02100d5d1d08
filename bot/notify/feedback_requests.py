"""What feedback requests send: the asks, the answers, the reminders, the closings.

A request goes to several people at once, and its reminders and closings are the minute job's:
those rows are bulk, behind people's own actions. What answers a person's action now (the
requester's confirmation, an answer reaching the requester, a clicked DM replaced) is
interactive.

Outbox keys (one Slack call each, ever):
- `request:{id}:ask:{user}`             the DM asking a person (their side's thread root; bulk:
                                        one request, many people)
- `request:{id}:created`                the requester's confirmation
- `request:{id}:remind:{user}`          the one reminder, a day before the due time (bulk)
- `request:{id}:answer:{user}`          an answer, to the requester (their side's thread root)
- `request:{id}:answered:{user}`        / `declined:{user}` chat.update of the asking DM
- `request:{id}:closed:{user}:{ts}`     chat.update of a message clicked after the close
- `request:{id}:summary`                the requester's summary at the close (bulk)
- `request:{id}:subject`                the shared answers, to the subject at the close (bulk)
- `request:{id}:withdrawn:{user}`       chat.update of a sent asking DM: the requester left
                                        (bulk: one departure, many DMs)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.services import conversations
from bot.services import feedback_requests as service
from handlers.blocks import feedback_requests as blocks


def enqueue_asks(session: Session, created: service.Created, now: datetime) -> None:
    """The asking DMs (each person's side of the thread; bulk, a fan-out) and the requester's
    confirmation (interactive: it answers their own action)."""
    request = created.request
    text, ask_blocks = blocks.ask_message(
        request.id,
        request.requester_id,
        request.topic,
        request.subject_id,
        request.questions,
        request.due_on,
        zone=request.zone,
    )
    for asked in created.asked:
        row = outbox.post_message(
            session,
            team_id=request.team_id,
            key=f"request:{request.id}:ask:{asked.user_id}",
            channel=asked.user_id,
            text=text,
            blocks=ask_blocks,
            now=now,
            bulk=True,
        )
        service.record_ask(session, asked.id, row)
    outbox.post_message(
        session,
        team_id=request.team_id,
        key=f"request:{request.id}:created",
        channel=request.requester_id,
        text=blocks.created_message(
            [a.user_id for a in created.asked],
            request.topic,
            request.subject_id,
            request.due_on,
            request.zone,
        ),
        blocks=None,
        now=now,
    )


def enqueue_answer(session: Session, settled: service.Settled, now: datetime) -> None:
    """The answer to the requester (their side's thread with this giver), the thread pair, and
    the asking DM replaced by "Answered ✓"."""
    request, asked = settled.request, settled.asked
    text, answer_blocks = blocks.answer_for_requester(
        asked.user_id,
        request.topic,
        request.subject_id,
        request.questions,
        asked.answers or [],
        asked.share,
    )
    answer_row = outbox.post_message(
        session,
        team_id=request.team_id,
        key=f"request:{request.id}:answer:{asked.user_id}",
        channel=request.requester_id,
        text=text,
        blocks=answer_blocks,
        now=now,
    )
    conversations.link(
        session,
        request.team_id,
        conversations.REQUEST,
        asked.id,
        (asked.user_id, asked.ask_outbox_id),
        (request.requester_id, answer_row),
    )
    status = blocks.answered_status(request.requester_id, request.topic, request.subject_id)
    replace_ask(session, request, asked, "answered", status, None, now)


def replace_ask(
    session: Session,
    request: service.RequestItem,
    asked: service.AskedItem,
    suffix: str,
    status: str,
    clicked: tuple[str, str] | None,
    now: datetime,
    *,
    bulk: bool = False,
) -> None:
    """The asking DM becomes a one-line status (the clicked copy, else the first one sent);
    `bulk` when it is one of many that one event changes (a requester who left)."""
    if clicked is None and asked.ask_outbox_id is None:
        return
    text, status_blocks = blocks.status_message(status)
    outbox.update_message(
        session,
        team_id=request.team_id,
        key=f"request:{request.id}:{suffix}:{asked.user_id}",
        text=text,
        blocks=status_blocks,
        now=now,
        where=clicked,
        of_row=None if clicked is not None else asked.ask_outbox_id,
        bulk=bulk,
    )


def enqueue_closed_notice(
    session: Session,
    team_id: str,
    user_id: str,
    request: service.RequestItem,
    clicked: tuple[str, str],
    now: datetime,
) -> None:
    """The clicked message, after the close, says the request has closed."""
    text, closed_blocks = blocks.status_message(
        blocks.closed_status(request.topic, request.due_on, request.zone)
    )
    outbox.update_message(
        session,
        team_id=team_id,
        key=f"request:{request.id}:closed:{user_id}:{clicked[1]}",
        text=text,
        blocks=closed_blocks,
        now=now,
        where=clicked,
    )


def enqueue_reminders(
    session: Session,
    request: service.RequestItem,
    pending: list[service.AskedItem],
    now: datetime,
) -> int:
    """One reminder to each person still pending, a fresh DM with the same buttons."""
    text, reminder_blocks = blocks.ask_message(
        request.id,
        request.requester_id,
        request.topic,
        request.subject_id,
        request.questions,
        request.due_on,
        zone=request.zone,
        reminder=True,
    )
    outbox.post_messages(
        session,
        team_id=request.team_id,
        messages=[
            (f"request:{request.id}:remind:{a.user_id}", a.user_id, text, reminder_blocks)
            for a in pending
        ],
        now=now,
        bulk=True,
    )
    return len(pending)


def enqueue_closing(session: Session, closing: service.Closing, now: datetime) -> None:
    """The requester's summary, and the shared answers to the subject (if any were shared)."""
    request = closing.request
    by_state: dict[str, list[str]] = {}
    for asked in closing.asked:
        by_state.setdefault(asked.state, []).append(asked.user_id)
    text, summary_blocks = blocks.summary_message(
        request.topic,
        request.subject_id,
        by_state.get(service.ANSWERED, []),
        by_state.get(service.DECLINED, []),
        by_state.get(service.EXPIRED, []) + by_state.get(service.PENDING, []),
    )
    messages = [(f"request:{request.id}:summary", request.requester_id, text, summary_blocks)]
    if request.subject_id and closing.shared:
        text, subject_blocks = blocks.subject_message(
            request.requester_id,
            request.topic,
            request.questions,
            [(a.user_id, a.answers or []) for a in closing.shared],
        )
        messages.append((f"request:{request.id}:subject", request.subject_id, text, subject_blocks))
    outbox.post_messages(session, team_id=request.team_id, messages=messages, now=now, bulk=True)


def withdraw(
    session: Session,
    request: service.RequestItem,
    waiting: list[service.AskedItem],
    reason: str,
    now: datetime,
) -> int:
    """A request closed before its time because its requester left: the asks and reminders not
    sent yet are cancelled, and each asking DM already sent loses its buttons. Returns how many
    rows were cancelled."""
    cancelled = outbox.withdraw(
        session,
        team_id=request.team_id,
        keys=[f"request:{request.id}:remind:{a.user_id}" for a in waiting],
        reason=reason,
        now=now,
    )
    status = blocks.withdrawn_status(request.requester_id, request.topic, request.subject_id)
    for asked in waiting:
        if asked.ask_outbox_id is None:
            continue
        unsent = outbox.withdraw(
            session, team_id=request.team_id, ids=[asked.ask_outbox_id], reason=reason, now=now
        )
        cancelled += unsent
        if not unsent:
            replace_ask(session, request, asked, "withdrawn", status, None, now, bulk=True)
    return cancelled
