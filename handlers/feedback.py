"""`/feedback`, the give form, the "Give feedback" message shortcut, and the recipient's Thank
and Reply.

Each path: parse -> one unit of work in bot.services.feedback (the feedback, its thread pair
and its outbox rows) -> ack. The only Web API calls made here are views.open/views.update,
which use the request's trigger; every message leaves through the outbox.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.deps import Deps
from bot.notify.conversations import echo, forward
from bot.services import conversations
from bot.services import feedback as service
from bot.services.directory import Person
from bot.services.text import escape, neutralise
from handlers import ids
from handlers.blocks import feedback as blocks
from handlers.blocks.common import notice_modal, read_metadata
from handlers.feedback_requests import open_request_form
from handlers.payloads import as_int, click, field, selected, team_of, text_of
from handlers.users import with_directory
from handlers.views import form_failed, open_view

log = logging.getLogger(__name__)

MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


def register(app: App, deps: Deps) -> None:
    @app.command(ids.FEEDBACK_COMMAND)
    def on_feedback(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        text = (command.get("text") or "").strip()
        team_id, user_id = command["team_id"], command["user_id"]
        word = text.lower()
        if word in {"help", "?"}:
            ack(text=blocks.HELP, response_type="ephemeral")
            return
        if word == "request" or word.startswith("request "):
            topic = text[len("request") :].strip()
            opened = open_request_form(
                deps, client, team_id, user_id, command["trigger_id"], topic=topic
            )
            _ack_form(ack, opened, "/feedback request")
            return
        recipient_id = None
        if text:
            match = MENTION.match(text.split()[0])
            if match is None:
                ack(
                    text=f"I didn't understand `{escape(text)}`.\n{blocks.HELP}",
                    response_type="ephemeral",
                )
                return
            recipient_id = match.group(1)
        opened = _open_give_form(
            deps, client, team_id, user_id, command["trigger_id"], recipient_id
        )
        _ack_form(ack, opened, "/feedback")

    @app.shortcut(ids.GIVE_FEEDBACK_SHORTCUT)
    def on_shortcut(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        ack()
        message = shortcut.get("message") or {}
        channel_id = (shortcut.get("channel") or {}).get("id")
        user_id = shortcut["user"]["id"]
        author = message.get("user")
        _open_give_form(
            deps,
            client,
            team_of(shortcut),
            user_id,
            shortcut["trigger_id"],
            # A users select can't exclude bots: a bot's message prefills no one.
            author if author and author != user_id and not message.get("bot_id") else None,
            quote_text=message.get("text") or "",
            quote_url=_permalink(client, channel_id, message.get("ts")),
        )

    @app.action(ids.FEEDBACK_RECIPIENT_ACTION)
    def on_recipient_chosen(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """Re-offer "them and their manager" only when the chosen person has one."""
        ack()
        view = body.get("view") or {}
        recipient_id = (body.get("actions") or [{}])[0].get("selected_user")
        meta = read_metadata(view.get("private_metadata"))
        with deps.unit_of_work() as session:
            offer = _offer_manager(session, team_of(body), body["user"]["id"], recipient_id)
        updated = blocks.give_modal(
            deps.settings.values,
            recipient_id=recipient_id,
            offer_manager=offer,
            quote_text=meta.get("quote_text"),
            quote_url=meta.get("quote_url"),
        )
        try:
            client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=updated)
        except (SlackApiError, OSError) as error:
            log.info("views.update of the feedback form failed: %s", error)

    @app.view(ids.FEEDBACK_MODAL)
    def on_give(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        team_id, user_id = team_of(body), body["user"]["id"]
        draft = _draft_from_view(view, user_id)
        try:
            given = _store(deps, client, team_id, draft, f"view:{view['id']}")
        except service.FeedbackRefused as refused:
            ack(
                response_action="errors",
                errors={blocks.field_block(refused.field): refused.message},
            )
            return
        ack()
        if not given.replayed:
            deps.notify_outbox()

    @app.action(ids.FEEDBACK_THANK_ACTION)
    def on_thank(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        team_id, user_id, feedback_id, clicked = click(body)
        now = deps.now()
        try:
            with deps.unit_of_work() as session:
                item, first = service.thank(session, team_id, user_id, feedback_id, now)
                if first:
                    _enqueue_thanks(session, team_id, item, clicked, now)
        except service.FeedbackDenied as denied:
            open_view(client, body["trigger_id"], notice_modal("Feedback", denied.message))
            return
        deps.notify_outbox()

    @app.action(ids.FEEDBACK_REPLY_ACTION)
    def on_reply(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        team_id, user_id, feedback_id, _ = click(body)
        try:
            with deps.unit_of_work() as session:
                item = service.for_recipient(session, team_id, user_id, feedback_id)
        except service.FeedbackDenied as denied:
            view = notice_modal("Feedback", denied.message)
        else:
            view = blocks.reply_modal(item.id, item.sender_id)
        open_view(client, body["trigger_id"], view)

    @app.view(ids.FEEDBACK_REPLY_MODAL)
    def on_reply_sent(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
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
                key = f"feedback:{item.id}:reply:{view['id']}"
                if conversations.record(
                    session,
                    team_id=team_id,
                    kind=conversations.FEEDBACK,
                    item_id=item.id,
                    author_id=user_id,
                    text=safe,
                    source_key=f"view:{view['id']}",
                    now=now,
                ):
                    for exchange in conversations.of(
                        session, team_id, conversations.FEEDBACK, item.id, user_id
                    ):
                        forward(session, exchange, user_id, safe, key, now)
                        echo(session, exchange, safe, key, now)
        except service.FeedbackDenied as denied:
            ack(response_action="errors", errors={ids.FEEDBACK_REPLY_BLOCK: denied.message})
            return
        ack()
        deps.notify_outbox()


def reply_problem(text: str) -> str | None:
    """What is wrong with a reply typed in a modal, if anything."""
    if not text:
        return "Write a reply."
    if len(text) > blocks.TEXT_MAX:
        return f"Replies are limited to {blocks.TEXT_MAX} characters."
    return None


# ----- the pieces ---------------------------------------------------------------------------


def _ack_form(ack: Ack, opened: bool, command: str) -> None:
    if opened:
        ack()
    else:
        ack(text=form_failed(command), response_type="ephemeral")


def _open_give_form(
    deps: Deps,
    client: WebClient,
    team_id: str,
    user_id: str,
    trigger_id: str,
    recipient_id: str | None,
    *,
    quote_text: str | None = None,
    quote_url: str | None = None,
) -> bool:
    with deps.unit_of_work() as session:
        offer = _offer_manager(session, team_id, user_id, recipient_id)
    view = blocks.give_modal(
        deps.settings.values,
        recipient_id=recipient_id,
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
    """Validate and store the feedback with its messages in one transaction."""
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
            _enqueue_feedback(session, team_id, given.item, now)
        return given

    return with_directory(deps, client, team_id, wanted, work)


def _enqueue_feedback(session: Session, team_id: str, item: service.FeedbackItem, now: Any) -> None:
    """The recipient's DM, the sender's copy (their side's thread), the manager's copy."""
    body = (item.went_well, item.could_be_better, item.value, item.quote_url)
    text, dm_blocks = blocks.recipient_dm(item.id, item.sender_id, *body, item.manager_id)
    dm_row = outbox.post_message(
        session,
        team_id=team_id,
        key=f"feedback:{item.id}:dm",
        channel=item.recipient_id,
        text=text,
        blocks=dm_blocks,
        now=now,
    )
    text, copy_blocks = blocks.sender_copy(item.recipient_id, *body, item.manager_id)
    copy_row = outbox.post_message(
        session,
        team_id=team_id,
        key=f"feedback:{item.id}:sent",
        channel=item.sender_id,
        text=text,
        blocks=copy_blocks,
        now=now,
    )
    if item.manager_id:
        text, manager_blocks = blocks.manager_copy(item.sender_id, item.recipient_id, *body)
        outbox.post_message(
            session,
            team_id=team_id,
            key=f"feedback:{item.id}:manager",
            channel=item.manager_id,
            text=text,
            blocks=manager_blocks,
            now=now,
        )
    conversations.link(
        session,
        team_id,
        conversations.FEEDBACK,
        item.id,
        (item.recipient_id, dm_row),
        (item.sender_id, copy_row),
    )


def _enqueue_thanks(
    session: Session,
    team_id: str,
    item: service.FeedbackItem,
    clicked: tuple[str, str] | None,
    now: Any,
) -> None:
    """Tell the sender once, in their thread; the recipient's DM loses its Thank button."""
    for exchange in conversations.of(
        session, team_id, conversations.FEEDBACK, item.id, item.recipient_id
    ):
        root = exchange.peer_root_outbox_id
        outbox.post_message(
            session,
            team_id=team_id,
            key=f"feedback:{item.id}:thanks",
            channel=item.sender_id,
            text=blocks.thanks_note(item.recipient_id),
            blocks=None,
            now=now,
            depends_on=root,
            thread_under_parent=root is not None,
        )
    text, dm_blocks = blocks.recipient_dm(
        item.id,
        item.sender_id,
        item.went_well,
        item.could_be_better,
        item.value,
        item.quote_url,
        item.manager_id,
        thanked=True,
    )
    dm_row = conversations.root_row(session, team_id, f"feedback:{item.id}:dm")
    if clicked is None and dm_row is None:
        return
    outbox.update_message(
        session,
        team_id=team_id,
        key=f"feedback:{item.id}:thanked",
        text=text,
        blocks=dm_blocks,
        now=now,
        where=clicked,
        of_row=None if clicked is not None else dm_row,
    )


def _draft_from_view(view: dict[str, Any], user_id: str) -> service.FeedbackDraft:
    recipient = field(view, ids.FEEDBACK_RECIPIENT_BLOCK, ids.FEEDBACK_RECIPIENT_ACTION)
    return service.FeedbackDraft(
        sender_id=user_id,
        recipient_id=recipient.get("selected_user") or None,
        went_well=escape(text_of(view, ids.FEEDBACK_WELL_BLOCK)),
        could_be_better=escape(text_of(view, ids.FEEDBACK_BETTER_BLOCK)),
        value=selected(view, ids.FEEDBACK_VALUE_BLOCK),
        visibility=selected(view, ids.FEEDBACK_VISIBILITY_BLOCK) or service.RECIPIENT_ONLY,
        quote_url=read_metadata(view.get("private_metadata")).get("quote_url"),
    )


def _permalink(client: WebClient, channel_id: str | None, ts: str | None) -> str | None:
    if not channel_id or not ts:
        return None
    try:
        return str(client.chat_getPermalink(channel=channel_id, message_ts=ts)["permalink"])
    except (SlackApiError, OSError, KeyError) as error:
        log.info("chat.getPermalink failed (%s); quoting without a link", error)
        return None
