"""`/feedback request`: the form, Give feedback / Decline in the asking DM, the answer form, and
the messages the minute job writes (reminders, closings, summaries).

Outbox keys (one Slack call each, ever):
- `request:{id}:ask:{user}`       the DM asking a person (their side's thread root)
- `request:{id}:created`          the requester's confirmation
- `request:{id}:remind:{user}`    the one reminder, a day before the due time
- `request:{id}:answer:{user}`    an answer, to the requester (their side's thread root)
- `request:{id}:answered:{user}`  / `declined:{user}` chat.update of the asking DM
- `request:{id}:summary`          the requester's summary at the close
- `request:{id}:subject`          the shared answers, to the subject at the close
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.deps import Deps
from bot.services import conversations
from bot.services import feedback_requests as service
from bot.services.directory import Person, people
from bot.services.text import escape
from handlers import ids
from handlers.blocks import feedback as common_blocks
from handlers.blocks import feedback_requests as blocks
from handlers.payloads import as_int, click, field, team_of, text_of
from handlers.users import ensure_known, with_directory
from handlers.views import open_view


def register(app: App, deps: Deps) -> None:
    @app.view(ids.REQUEST_MODAL)
    def on_request(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        team_id, user_id = team_of(body), body["user"]["id"]
        draft, problem = _draft_from_view(view, user_id)
        if problem is not None:
            ack(response_action="errors", errors=problem)
            return
        try:
            created = _create(deps, client, team_id, draft, f"view:{view['id']}")
        except service.RequestRefused as refused:
            ack(
                response_action="errors",
                errors={blocks.field_block(refused.field): refused.message},
            )
            return
        ack()
        if not created.replayed:
            deps.notify_outbox()

    @app.action(ids.REQUEST_ANSWER_ACTION)
    def on_answer_click(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        team_id, user_id, request_id, clicked = click(body)
        now = deps.now()
        try:
            with deps.unit_of_work() as session:
                request, _ = service.open_for(session, team_id, user_id, request_id, now)
        except service.RequestUnavailable as unavailable:
            _late(deps, team_id, user_id, unavailable, clicked, now)
            view = common_blocks.notice("Feedback request", escape(unavailable.message))
        else:
            view = blocks.answer_modal(
                request.id,
                request.requester_id,
                request.topic,
                request.subject_id,
                request.questions,
            )
        open_view(client, body["trigger_id"], view)

    @app.action(ids.REQUEST_DECLINE_ACTION)
    def on_decline(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        team_id, user_id, request_id, clicked = click(body)
        now = deps.now()
        try:
            with deps.unit_of_work() as session:
                settled = service.decline(session, team_id, user_id, request_id, now)
                if settled.changed:
                    request = settled.request
                    text = blocks.declined_status(
                        request.requester_id, request.topic, request.subject_id
                    )
                    _replace_ask(session, request, settled.asked, "declined", text, clicked, now)
        except service.RequestUnavailable as unavailable:
            _late(deps, team_id, user_id, unavailable, clicked, now)
            if unavailable.reason == "denied":
                open_view(
                    client,
                    body["trigger_id"],
                    common_blocks.notice("Feedback request", unavailable.message),
                )
            return
        deps.notify_outbox()

    @app.view(ids.REQUEST_ANSWER_MODAL)
    def on_answer(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        team_id, user_id = team_of(body), body["user"]["id"]
        meta = common_blocks.read_metadata(view.get("private_metadata"))
        request_id = as_int(meta.get("request_id"))
        raw = [
            escape(text_of(view, f"{ids.REQUEST_ANSWER_BLOCK_PREFIX}{i}"))
            for i in range(service.MAX_QUESTIONS)
        ]
        share = any(
            option.get("value") == "share"
            for option in field(view, ids.REQUEST_SHARE_BLOCK).get("selected_options") or []
        )
        now = deps.now()
        try:
            with deps.unit_of_work() as session:
                settled = service.answer(session, team_id, user_id, request_id, raw, share, now)
                if settled.changed:
                    _enqueue_answer(session, settled, now)
        except service.AnswersInvalid as invalid:
            ack(
                response_action="errors",
                errors={
                    f"{ids.REQUEST_ANSWER_BLOCK_PREFIX}{i}": message
                    for i, message in invalid.errors.items()
                },
            )
            return
        except service.RequestUnavailable as unavailable:
            ack(
                response_action="update",
                view=common_blocks.notice("Feedback request", escape(unavailable.message)),
            )
            return
        ack()
        deps.notify_outbox()


def open_request_form(
    deps: Deps, client: WebClient, team_id: str, user_id: str, trigger_id: str, topic: str = ""
) -> bool:
    """The request form, due in a week of the requester's own days, the topic prefilled from
    `/feedback request TOPIC`; managers may name a subject. False when Slack would not open it."""
    ensure_known(deps, client, team_id, [user_id])
    with deps.unit_of_work() as session:
        me = people(session, team_id, [user_id]).get(user_id)
        offer_subject = service.may_set_subject(session, team_id, user_id)
    view = blocks.request_modal(
        questions=service.DEFAULT_QUESTIONS,
        due_on=service.default_due(deps.now(), me.tz if me else None),
        offer_subject=offer_subject,
        topic=topic,
    )
    return open_view(client, trigger_id, view)


# ----- what the minute job writes -----------------------------------------------------------


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


# ----- the pieces ---------------------------------------------------------------------------


def _create(
    deps: Deps, client: WebClient, team_id: str, draft: service.RequestDraft, key: str
) -> service.Created:
    now = deps.now()
    wanted = [draft.requester_id, *draft.people, *([draft.subject_id] if draft.subject_id else [])]

    def work(session: Session, known: dict[str, Person]) -> service.Created:
        created = service.create(
            session, team_id=team_id, draft=draft, request_key=key, now=now, directory=known
        )
        if not created.replayed:
            _enqueue_asks(session, created, now)
        return created

    return with_directory(deps, client, team_id, wanted, work)


def _enqueue_asks(session: Session, created: service.Created, now: datetime) -> None:
    request = created.request
    text, ask_blocks = blocks.ask_message(
        request.id,
        request.requester_id,
        request.topic,
        request.subject_id,
        request.questions,
        request.due_on,
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
        )
        service.record_ask(session, asked.id, row)
    outbox.post_message(
        session,
        team_id=request.team_id,
        key=f"request:{request.id}:created",
        channel=request.requester_id,
        text=blocks.created_message(
            [a.user_id for a in created.asked], request.topic, request.subject_id, request.due_on
        ),
        blocks=None,
        now=now,
    )


def _enqueue_answer(session: Session, settled: service.Settled, now: datetime) -> None:
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
    _replace_ask(session, request, asked, "answered", status, None, now)


def _replace_ask(
    session: Session,
    request: service.RequestItem,
    asked: service.AskedItem,
    suffix: str,
    status: str,
    clicked: tuple[str, str] | None,
    now: datetime,
) -> None:
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
    )


def _late(
    deps: Deps,
    team_id: str,
    user_id: str,
    unavailable: service.RequestUnavailable,
    clicked: tuple[str, str] | None,
    now: datetime,
) -> None:
    """A click after the close says so and replaces that one message (chat.update is Tier 3)."""
    request = unavailable.request
    if unavailable.reason != "closed" or request is None or clicked is None:
        return
    text, closed_blocks = blocks.status_message(blocks.closed_status(request.topic, request.due_on))
    with deps.unit_of_work() as session:
        outbox.update_message(
            session,
            team_id=team_id,
            key=f"request:{request.id}:closed:{user_id}:{clicked[1]}",
            text=text,
            blocks=closed_blocks,
            now=now,
            where=clicked,
        )
    deps.notify_outbox()


def _draft_from_view(
    view: dict[str, Any], user_id: str
) -> tuple[service.RequestDraft, dict[str, str] | None]:
    chosen = field(view, ids.REQUEST_PEOPLE_BLOCK).get("selected_users") or []
    questions = [
        escape(question)
        for question in (
            text_of(view, f"{ids.REQUEST_QUESTION_BLOCK_PREFIX}{i}")
            for i in range(service.MAX_QUESTIONS)
        )
        if question
    ]
    raw_due = field(view, ids.REQUEST_DUE_BLOCK).get("selected_date")
    due_on = None
    problem = None
    if raw_due:
        try:
            due_on = date.fromisoformat(str(raw_due))
        except ValueError:
            problem = {ids.REQUEST_DUE_BLOCK: "Choose a date from the calendar."}
    draft = service.RequestDraft(
        requester_id=user_id,
        people=list(dict.fromkeys(str(u) for u in chosen)),
        topic=escape(text_of(view, ids.REQUEST_TOPIC_BLOCK)),
        questions=questions,
        due_on=due_on,
        subject_id=field(view, ids.REQUEST_SUBJECT_BLOCK).get("selected_user") or None,
    )
    return draft, problem
