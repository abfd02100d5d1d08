"""`/feedback`, the give form, the "Give feedback" message shortcut, and the recipient's Thank
and Reply.

Each path: parse -> one unit of work (the rules in bot.services.feedback, what goes out in
bot/notify/feedback.py) -> ack. Every message leaves through the outbox; the Web API calls made
here are the ones that cannot wait for it: views.open while the trigger lasts, views.update of
the form being filled in, chat.getPermalink of the message a shortcut quotes.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.deps import Deps, deps_of
from bot.notify import feedback as notify
from bot.services import feedback as service
from bot.services import feedback_requests as request_service
from bot.services.conversations import reply_problem
from bot.services.directory import Person
from bot.services.text import as_typed, escape, neutralise
from handlers import ids
from handlers.blocks import feedback as blocks
from handlers.blocks.common import notice_modal, read_metadata
from handlers.feedback_requests import open_request_form
from handlers.payloads import as_int, click, field, people_in, selected, team_of, text_of
from handlers.users import picker_people, with_directory
from handlers.views import ack_form, ack_submission, open_view, permalink

log = logging.getLogger(__name__)

MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


def register(app: App) -> None:
    app.command(ids.FEEDBACK_COMMAND)(on_feedback)
    app.shortcut(ids.GIVE_FEEDBACK_SHORTCUT)(on_shortcut)
    app.action(ids.FEEDBACK_RECIPIENT_ACTION)(on_recipient_chosen)
    app.view(ids.FEEDBACK_MODAL)(on_give)
    app.action(ids.FEEDBACK_THANK_ACTION)(on_thank)
    app.action(ids.FEEDBACK_REPLY_ACTION)(on_reply)
    app.view(ids.FEEDBACK_REPLY_MODAL)(on_reply_sent)


def on_feedback(ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    deps = deps_of(context)
    text = (command.get("text") or "").strip()
    team_id, user_id = command["team_id"], command["user_id"]
    word = text.lower()
    if word in {"help", "?"}:
        ack(text=blocks.HELP, response_type="ephemeral")
        return
    if word == "request" or word.startswith("request "):
        topic = as_typed(text[len("request") :].strip())
        too_long = request_service.length_problem(
            "The topic", escape(topic), request_service.TOPIC_MAX
        )
        if too_long:
            ack(text=blocks.not_opened(too_long), response_type="ephemeral")
            return
        opened = open_request_form(
            deps, client, team_id, user_id, command["trigger_id"], topic=topic
        )
        ack_form(ack, opened, "/feedback request")
        return
    recipient_id, went_well = None, ""
    if text:
        first = text.split(maxsplit=1)[0]
        match = MENTION.match(first)
        if match is None:
            ack(text=blocks.unknown_words(escape(text)), response_type="ephemeral")
            return
        # What follows the mention is what went well, as typed: the form opens with it.
        recipient_id, went_well = match.group(1), as_typed(text[len(first) :].strip())
        if len(went_well) > service.TEXT_MAX:
            too_long = service.length_problem(len(went_well))
            ack(text=blocks.not_opened(too_long), response_type="ephemeral")
            return
    opened = _open_give_form(
        deps, client, team_id, user_id, command["trigger_id"], recipient_id, went_well=went_well
    )
    ack_form(ack, opened, "/feedback")


def on_shortcut(
    ack: Ack, shortcut: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    message = shortcut.get("message") or {}
    channel_id = (shortcut.get("channel") or {}).get("id")
    user_id = shortcut["user"]["id"]
    author = message.get("user")
    _open_give_form(
        deps_of(context),
        client,
        team_of(shortcut),
        user_id,
        shortcut["trigger_id"],
        # A users select can't exclude bots: a bot's message prefills no one.
        author if author and author != user_id and not message.get("bot_id") else None,
        quote_text=message.get("text") or "",
        quote_url=permalink(client, channel_id, message.get("ts")),
    )


def on_recipient_chosen(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Re-offer "them and their manager" only when the chosen person has one."""
    ack()
    deps = deps_of(context)
    view = body.get("view") or {}
    team_id, user_id = team_of(body), body["user"]["id"]
    chosen = people_in((body.get("actions") or [{}])[0])
    recipient_id = chosen[0] if chosen else None
    meta = read_metadata(view.get("private_metadata"))
    with deps.unit_of_work() as session:
        offer = _offer_manager(session, team_id, user_id, recipient_id)
        people = picker_people(deps, session, team_id, user_id)
    # The texts typed so far stay: Slack keeps an input's value across views.update when its
    # block keeps its id, and every block does.
    updated = blocks.give_modal(
        deps.settings.values,
        people=people,
        recipient_id=recipient_id,
        offer_manager=offer,
        quote_text=meta.get("quote_text"),
        quote_url=meta.get("quote_url"),
    )
    try:
        client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=updated)
    except (SlackApiError, OSError) as error:
        log.info("views.update of the feedback form failed: %s", error)


def on_give(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    deps = deps_of(context)
    team_id, user_id = team_of(body), body["user"]["id"]
    draft = _draft_from_view(view, user_id)
    ack_submission(
        ack,
        deps,
        lambda: _store(deps, client, team_id, draft, f"view:{view['id']}"),
        service.FeedbackRefused,
        blocks.field_block,
        lambda given: blocks.sent_modal(given.item.recipient_id, given.item.manager_id),
    )


def on_thank(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    deps = deps_of(context)
    team_id, user_id, feedback_id, clicked = click(body)
    now = deps.now()
    try:
        with deps.unit_of_work() as session:
            item, first = service.thank(session, team_id, user_id, feedback_id, now)
            if first:
                notify.enqueue_thanks(session, team_id, item, clicked, now)
    except service.FeedbackDenied as denied:
        open_view(client, body["trigger_id"], notice_modal("Feedback", denied.message))
        return
    deps.notify_outbox()


def on_reply(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    deps = deps_of(context)
    team_id, user_id, feedback_id, _ = click(body)
    try:
        with deps.unit_of_work() as session:
            item = service.for_recipient(session, team_id, user_id, feedback_id)
    except service.FeedbackDenied as denied:
        view = notice_modal("Feedback", denied.message)
    else:
        view = blocks.reply_modal(item.id, item.sender_id)
    open_view(client, body["trigger_id"], view)


def on_reply_sent(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
) -> None:
    deps = deps_of(context)
    team_id, user_id = team_of(body), body["user"]["id"]
    feedback_id = as_int(read_metadata(view.get("private_metadata")).get("feedback_id"))
    text = text_of(view, ids.FEEDBACK_REPLY_BLOCK)
    problem = reply_problem(text)
    if problem:
        ack(response_action="errors", errors={ids.FEEDBACK_REPLY_BLOCK: problem})
        return
    now = deps.now()
    safe = neutralise(escape(text))
    try:
        with deps.unit_of_work() as session:
            item = service.for_recipient(session, team_id, user_id, feedback_id)
            notify.send_reply(
                session,
                team_id=team_id,
                feedback_id=item.id,
                author_id=user_id,
                text=safe,
                view_id=view["id"],
                now=now,
            )
    except service.FeedbackDenied as denied:
        ack(response_action="errors", errors={ids.FEEDBACK_REPLY_BLOCK: denied.message})
        return
    ack()
    deps.notify_outbox()


# ----- the pieces ---------------------------------------------------------------------------


def _open_give_form(
    deps: Deps,
    client: WebClient,
    team_id: str,
    user_id: str,
    trigger_id: str,
    recipient_id: str | None,
    *,
    went_well: str = "",
    quote_text: str | None = None,
    quote_url: str | None = None,
) -> bool:
    with deps.unit_of_work() as session:
        offer = _offer_manager(session, team_id, user_id, recipient_id)
        people = picker_people(deps, session, team_id, user_id)
    view = blocks.give_modal(
        deps.settings.values,
        people=people,
        recipient_id=recipient_id,
        went_well=went_well,
        offer_manager=offer,
        quote_text=quote_text,
        quote_url=quote_url,
    )
    return open_view(client, trigger_id, view)


def _offer_manager(
    session: Session, team_id: str, sender_id: str, recipient_id: str | None
) -> bool | None:
    if not recipient_id:
        return None
    return service.has_manager(session, team_id, recipient_id) and recipient_id != sender_id


def _store(
    deps: Deps, client: WebClient, team_id: str, draft: service.FeedbackDraft, key: str
) -> service.Given:
    """One transaction for the feedback and its messages: neither is ever kept without the
    other. Raises FeedbackRefused when a rule says no."""
    now = deps.now()
    wanted = [draft.sender_id, *([draft.recipient_id] if draft.recipient_id else [])]

    def work(session: Session, known: dict[str, Person]) -> service.Given:
        given = service.give(
            session,
            team_id=team_id,
            draft=draft,
            values=deps.settings.values,
            request_key=key,
            now=now,
            directory=known,
        )
        if not given.replayed:
            notify.enqueue_feedback(session, team_id, given.item, now)
        return given

    return with_directory(deps, client, team_id, wanted, work)


def _draft_from_view(view: dict[str, Any], user_id: str) -> service.FeedbackDraft:
    recipient = people_in(
        field(view, ids.FEEDBACK_RECIPIENT_BLOCK, ids.FEEDBACK_RECIPIENT_ACTION)
    )
    return service.FeedbackDraft(
        sender_id=user_id,
        recipient_id=recipient[0] if recipient else None,
        went_well=escape(text_of(view, ids.FEEDBACK_WELL_BLOCK)),
        could_be_better=escape(text_of(view, ids.FEEDBACK_BETTER_BLOCK)),
        value=selected(view, ids.FEEDBACK_VALUE_BLOCK),
        visibility=selected(view, ids.FEEDBACK_VISIBILITY_BLOCK) or service.RECIPIENT_ONLY,
        quote_url=read_metadata(view.get("private_metadata")).get("quote_url"),
    )
