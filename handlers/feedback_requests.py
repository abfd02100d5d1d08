"""`/feedback request`: the form, Give feedback / Decline in the asking DM, and the answer form.

What each step sends, and the minute job's reminders and closings, live in
bot/notify/feedback_requests.py. `/feedback request` itself is parsed with the rest of
`/feedback` in handlers/feedback.py, which opens the form through `open_request_form`; this
module imports no other listener, so the two never import each other.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.deps import Deps, deps_of
from bot.notify import feedback_requests as notify
from bot.services import feedback_requests as service
from bot.services.directory import Person, people
from bot.services.text import escape
from handlers import ids
from handlers.blocks import feedback_requests as blocks
from handlers.blocks.common import notice_modal, read_metadata
from handlers.payloads import as_int, click, field, people_in, team_of, text_of
from handlers.users import ensure_known, picker_people, with_directory
from handlers.views import ack_submission, open_view


def register(app: App) -> None:
    app.view(ids.REQUEST_MODAL)(on_request)
    app.action(ids.REQUEST_ANSWER_ACTION)(on_answer_click)
    app.action(ids.REQUEST_DECLINE_ACTION)(on_decline)
    app.view(ids.REQUEST_ANSWER_MODAL)(on_answer)


def on_request(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    deps = deps_of(context)
    team_id, user_id = team_of(body), body["user"]["id"]
    draft, asked_in = _draft_from_view(view, user_id)

    def block_of(field: str) -> str:
        """A question's problem goes under that question's own input."""
        index = field.removeprefix("question")
        if index.isdigit() and int(index) < len(asked_in):
            return f"{ids.REQUEST_QUESTION_BLOCK_PREFIX}{asked_in[int(index)]}"
        return blocks.field_block(field)

    ack_submission(
        ack,
        deps,
        lambda: _create(deps, client, team_id, draft, f"view:{view['id']}"),
        service.RequestRefused,
        block_of,
    )


def on_answer_click(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    deps = deps_of(context)
    team_id, user_id, request_id, clicked = click(body)
    now = deps.now()
    try:
        with deps.unit_of_work() as session:
            request, _ = service.open_for(session, team_id, user_id, request_id, now)
    except service.RequestUnavailable as unavailable:
        _late(deps, team_id, user_id, unavailable, clicked, now)
        view = notice_modal("Feedback request", escape(unavailable.message))
    else:
        view = blocks.answer_modal(
            request.id,
            request.requester_id,
            request.topic,
            request.subject_id,
            request.questions,
        )
    open_view(client, body["trigger_id"], view)


def on_decline(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    deps = deps_of(context)
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
                notify.replace_ask(session, request, settled.asked, "declined", text, clicked, now)
    except service.RequestUnavailable as unavailable:
        _late(deps, team_id, user_id, unavailable, clicked, now)
        if unavailable.reason == "denied":
            open_view(
                client,
                body["trigger_id"],
                notice_modal("Feedback request", unavailable.message),
            )
        return
    deps.notify_outbox()


def on_answer(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    deps = deps_of(context)
    team_id, user_id = team_of(body), body["user"]["id"]
    meta = read_metadata(view.get("private_metadata"))
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
                notify.enqueue_answer(session, settled, now)
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
            view=notice_modal("Feedback request", escape(unavailable.message)),
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
        reports = service.reports_to_ask_about(session, team_id, user_id)
        choices = picker_people(deps, session, team_id, user_id)
    view = blocks.request_modal(
        questions=service.DEFAULT_QUESTIONS,
        due_on=service.default_due(deps.now(), me.tz if me else None),
        zone=me.tz if me and me.tz else "UTC",
        people=choices,
        reports=reports,
        topic=topic,
    )
    return open_view(client, trigger_id, view)


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
            notify.enqueue_asks(session, created, now)
        return created

    return with_directory(deps, client, team_id, wanted, work)


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
    with deps.unit_of_work() as session:
        notify.enqueue_closed_notice(session, team_id, user_id, request, clicked, now)
    deps.notify_outbox()


def _draft_from_view(
    view: dict[str, Any], user_id: str
) -> tuple[service.RequestDraft, list[int]]:
    """The draft, and which question input each of its questions came from (empty inputs are
    skipped), so a problem lands under the question it is about."""
    typed = [
        text_of(view, f"{ids.REQUEST_QUESTION_BLOCK_PREFIX}{i}")
        for i in range(service.MAX_QUESTIONS)
    ]
    asked_in = [i for i, question in enumerate(typed) if question]
    raw_due = field(view, ids.REQUEST_DUE_BLOCK).get("selected_date")
    due_on = None
    if raw_due:
        with contextlib.suppress(ValueError):  # a forged date reads as none chosen
            due_on = date.fromisoformat(str(raw_due))
    subject = people_in(field(view, ids.REQUEST_SUBJECT_BLOCK))
    draft = service.RequestDraft(
        requester_id=user_id,
        people=people_in(field(view, ids.REQUEST_PEOPLE_BLOCK)),
        topic=escape(text_of(view, ids.REQUEST_TOPIC_BLOCK)),
        questions=[escape(typed[i]) for i in asked_in],
        due_on=due_on,
        subject_id=subject[0] if subject else None,
    )
    return draft, asked_in
