"""`/checkin`, the buttons of the check-in DM, the answer modal and the manager's Reply.

Each path: parse -> one unit of work in bot.services.checkins (state + outbox rows) -> ack.
The only Web API calls made here are views.open/views.push, which must use the click's
trigger within 3 seconds; every message leaves through the outbox.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.deps import Deps
from bot.notify.checkins import enqueue_answer
from bot.notify.conversations import keep_reply
from bot.services import checkins as service
from bot.services import conversations
from bot.services.checkins import CheckinRefused, CheckinUnavailable, slack_date
from bot.services.text import escape
from handlers import ids
from handlers.blocks import checkins as blocks
from handlers.blocks.common import PRIVATE_METADATA_MAX, clip, context, plain, quote, section
from handlers.checkin_setup import open_setup
from handlers.digest import open_digest
from handlers.users import ensure_known
from handlers.views import form_failed, open_view

log = logging.getLogger(__name__)

BUTTON_SNOOZE = timedelta(hours=1)
REPLY_MAX = 3000

HELP = (
    "*Check-ins*\n"
    "• `/checkin` opens your waiting check-in\n"
    "• `/checkin skip` skips it, `/checkin snooze 2h` asks again later (never past closing)\n"
    "• `/checkin ooo until YYYY-MM-DD` pauses check-ins while you're away (inclusive); "
    "`/checkin ooo off` ends it\n"
    "• `/checkin setup [name]` (managers) creates or edits your team's check-in\n"
    "• `/checkin digest` (managers) shows last week's digest of your team, as sent or as it "
    "will be sent"
)


def register(app: App, deps: Deps) -> None:
    @app.command(ids.CHECKIN_COMMAND)
    def on_checkin(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        team_id, user_id = command["team_id"], command["user_id"]
        text = command.get("text") or ""
        parsed = service.parse_command(text)
        # Forms open before the ack (the answer goes when the listener returns), so a refused
        # views.open is told in the ack rather than leaving the person with nothing.
        if parsed.verb == "setup" or text.strip().lower().startswith("setup"):
            opened = open_setup(deps, client, team_id, user_id, command["trigger_id"], text)
            _ack_form(ack, opened, "/checkin setup")
            return
        if parsed.verb == "digest":
            opened = open_digest(deps, client, team_id, user_id, command["trigger_id"])
            _ack_form(ack, opened, "/checkin digest")
            return
        if parsed.verb == "open":
            opened = _open_answer_modal(deps, client, team_id, user_id, None, command["trigger_id"])
            _ack_form(ack, opened, "/checkin")
            return
        ack(text=_run_command(deps, client, team_id, user_id, parsed), response_type="ephemeral")

    @app.action(ids.CHECKIN_START_ACTION)
    def on_start(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        team_id, user_id, occurrence_id, where = _click(body)
        _open_answer_modal(
            deps, client, team_id, user_id, occurrence_id, body["trigger_id"], clicked=where
        )

    @app.action(ids.CHECKIN_SNOOZE_ACTION)
    def on_snooze(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        team_id, user_id, occurrence_id, where = _click(body)
        _button_change(deps, team_id, user_id, occurrence_id, where, "snooze")

    @app.action(ids.CHECKIN_SKIP_ACTION)
    def on_skip(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        team_id, user_id, occurrence_id, where = _click(body)
        _button_change(deps, team_id, user_id, occurrence_id, where, "skip")

    @app.view(ids.CHECKIN_MODAL)
    def on_answers(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        team_id, user_id = _team(body), body["user"]["id"]
        occurrence_id = blocks.occurrence_from_metadata(view.get("private_metadata"))
        if occurrence_id is None:
            ack(response_action="update", view=_notice("I can't find that check-in."))
            return
        now = deps.now()
        try:
            with deps.unit_of_work() as session:
                due = service.open_checkin(session, team_id, user_id, occurrence_id, now)
                raw, anonymous = blocks.read_answers(
                    view.get("state", {}).get("values", {}), due.template.questions
                )
                submitted = service.submit(
                    session,
                    team_id,
                    user_id,
                    occurrence_id,
                    raw,
                    now,
                    anonymous=anonymous,
                    anonymity_min=deps.settings.anonymity_min,
                )
                enqueue_answer(session, submitted, now)
        except service.AnswersInvalid as invalid:
            ack(response_action="errors", errors=blocks.modal_errors(invalid.errors))
            return
        except CheckinUnavailable as unavailable:
            ack(response_action="update", view=_notice(unavailable.message))
            return
        if submitted.upward_anonymous:
            # The only confirmation of an anonymous note: Slack shows it, nothing stores it.
            ack(
                response_action="update",
                view=blocks.anonymous_confirmation(
                    submitted.template.name, deps.settings.anonymity_min
                ),
            )
        else:
            ack()
        deps.notify_outbox()

    @app.action(ids.CHECKIN_REPLY_ACTION)
    def on_reply(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        occurrence_id = _int((body.get("actions") or [{}])[0].get("value"))
        open_view(client, body["trigger_id"], reply_modal(occurrence_id))

    @app.view(ids.CHECKIN_REPLY_MODAL)
    def on_reply_sent(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        team_id, manager_id = _team(body), body["user"]["id"]
        occurrence_id = _int(_metadata(view).get("occurrence_id"))
        text = (
            view.get("state", {})
            .get("values", {})
            .get(ids.CHECKIN_REPLY_BLOCK, {})
            .get(ids.CHECKIN_REPLY_INPUT, {})
            .get("value")
            or ""
        ).strip()
        if not text:
            ack(response_action="errors", errors={ids.CHECKIN_REPLY_BLOCK: "Write a reply."})
            return
        if len(text) > REPLY_MAX:
            ack(
                response_action="errors",
                errors={ids.CHECKIN_REPLY_BLOCK: f"Replies are limited to {REPLY_MAX} characters."},
            )
            return
        now = deps.now()
        with deps.unit_of_work() as session:
            reply = service.reply_target(session, team_id, manager_id, occurrence_id)
            if reply is None:
                ack(
                    response_action="errors",
                    errors={ids.CHECKIN_REPLY_BLOCK: "You can only reply to answers sent to you."},
                )
                return
            outbox.post_message(
                session,
                team_id=team_id,
                key=f"checkin:{occurrence_id}:reply:{view['id']}",
                channel=reply.member_id,
                text=f"<@{manager_id}> replied to your {reply.template_name} check-in: "
                f"{escape(text)}",
                blocks=[
                    section(
                        f":speech_balloon: <@{manager_id}> replied to your *"
                        f"{escape(reply.template_name)}* check-in:\n{quote(escape(text))}"
                    )
                ],
                now=now,
                depends_on=reply.prompt_outbox_id,
                thread_under_parent=reply.prompt_outbox_id is not None,
            )
            keep_reply(
                session,
                team_id=team_id,
                kind=conversations.CHECKIN,
                item_id=occurrence_id,
                author_id=manager_id,
                text=escape(text),
                source_key=f"view:{view['id']}",
                key=f"checkin:{occurrence_id}:reply:{view['id']}",
                now=now,
            )
        ack()
        deps.notify_outbox()


# ----- the pieces ---------------------------------------------------------------------------


def _ack_form(ack: Ack, opened: bool, command: str) -> None:
    if opened:
        ack()
    else:
        ack(text=form_failed(command), response_type="ephemeral")


def _run_command(
    deps: Deps, client: WebClient, team_id: str, user_id: str, parsed: service.CheckinCommand
) -> str:
    """Every `/checkin` verb that answers in text; the answer is the ephemeral reply."""
    if parsed.verb == "help":
        return HELP
    if parsed.verb == "error":
        return parsed.error or HELP
    ensure_known(deps, client, team_id, [user_id])
    now = deps.now()
    try:
        with deps.unit_of_work() as session:
            if parsed.verb == "skip":
                occurrence = service.skip(session, team_id, user_id, None, now)
                _show_status(session, occurrence, "Skipped.", f"skip:{now.timestamp()}", now)
                answer = "Skipped. The next check-in comes at its usual time."
            elif parsed.verb == "snooze":
                assert parsed.duration is not None
                occurrence = service.snooze(session, team_id, user_id, None, parsed.duration, now)
                until = slack_date(occurrence.snoozed_until or now)
                _show_status(
                    session,
                    occurrence,
                    f"Snoozed until {until}.",
                    f"snooze:{occurrence.snooze_count}",
                    now,
                )
                answer = f"Snoozed. I'll ask again {until}."
            elif parsed.verb == "ooo":
                assert parsed.until is not None
                result = service.set_ooo(session, team_id, user_id, parsed.until, now)
                for occurrence in result.away:
                    _show_status(session, occurrence, "Out of office.", "away", now)
                answer = (
                    f"Out of office until {result.until.isoformat()} (inclusive): no check-ins "
                    "until then, and your manager's digest shows you as away. "
                    "`/checkin ooo off` ends it early."
                )
            else:  # ooo_off
                ended = service.end_ooo(session, team_id, user_id)
                answer = (
                    "Welcome back! Check-ins resume at their next usual time."
                    if ended
                    else "You weren't marked out of office."
                )
    except (CheckinUnavailable, CheckinRefused) as problem:
        return problem.message
    deps.notify_outbox()
    return answer


def _open_answer_modal(
    deps: Deps,
    client: WebClient,
    team_id: str,
    user_id: str,
    occurrence_id: int | None,
    trigger_id: str,
    *,
    clicked: tuple[str, str] | None = None,
) -> bool:
    """The answer modal, or a modal saying why not (a late click also replaces its message).

    False when Slack would not open it."""
    now = deps.now()
    try:
        with deps.unit_of_work() as session:
            due = service.open_checkin(session, team_id, user_id, occurrence_id, now)
            minimum = deps.settings.anonymity_min
            manager_id = service.upward_manager(session, team_id, user_id, due.template.owner_id)
            offered = service.anonymity_offered(session, team_id, manager_id, minimum)
    except CheckinUnavailable as unavailable:
        if clicked is not None and unavailable.occurrence is not None:
            _replace_clicked(deps, unavailable, clicked, now)
        view = _notice(unavailable.message)
    else:
        occurrence = due.occurrence
        view = blocks.answer_modal(
            occurrence.id,
            due.template.name,
            occurrence.local_date,
            due.template.questions,
            anonymity_min=None if offered else minimum,
            release_after=minimum,
        )
    return open_view(client, trigger_id, view)


def _button_change(
    deps: Deps,
    team_id: str,
    user_id: str,
    occurrence_id: int | None,
    clicked: tuple[str, str] | None,
    action: str,
) -> None:
    """Snooze 1h / Skip from the DM: change the state and replace that message with it."""
    now = deps.now()
    try:
        with deps.unit_of_work() as session:
            if action == "skip":
                occurrence = service.skip(session, team_id, user_id, occurrence_id, now)
                status = "Skipped. The next one comes at its usual time."
            else:
                occurrence = service.snooze(
                    session, team_id, user_id, occurrence_id, BUTTON_SNOOZE, now
                )
                status = f"Snoozed until {slack_date(occurrence.snoozed_until or now)}."
            if clicked is not None:
                _show_status(
                    session, occurrence, status, f"{action}:{now.timestamp()}", now, clicked
                )
    except CheckinUnavailable as unavailable:
        if clicked is not None and unavailable.occurrence is not None:
            _replace_clicked(deps, unavailable, clicked, now)
        return
    except CheckinRefused as refused:
        if clicked is not None:
            with deps.unit_of_work() as session:
                _enqueue_reply_in_thread(
                    session,
                    team_id,
                    occurrence_id,
                    clicked,
                    refused.message,
                    f"refused:{now.timestamp()}",
                    now,
                )
    deps.notify_outbox()


def _replace_clicked(
    deps: Deps, unavailable: CheckinUnavailable, clicked: tuple[str, str], now: Any
) -> None:
    """A late click: answer "this check-in has closed" by replacing that one message."""
    occurrence = unavailable.occurrence
    assert occurrence is not None
    with deps.unit_of_work() as session:
        name = service.template_name(session, occurrence.team_id, occurrence.template_id)
        if unavailable.reason == "closed":
            text, message_blocks = blocks.closed_message(name, occurrence.local_date)
        else:
            text, message_blocks = blocks.status_message(
                name, occurrence.local_date, escape(unavailable.message)
            )
        outbox.update_message(
            session,
            team_id=occurrence.team_id,
            key=f"checkin:{occurrence.id}:{unavailable.reason}:{clicked[1]}",
            text=text,
            blocks=message_blocks,
            now=now,
            where=clicked,
        )
    deps.notify_outbox()


def _enqueue_reply_in_thread(
    session: Session,
    team_id: str,
    occurrence_id: int | None,
    clicked: tuple[str, str],
    message: str,
    suffix: str,
    now: Any,
) -> None:
    """A refused button (a snooze that would pass closing) says why under the message, whose
    Start button still works."""
    outbox.enqueue(
        session,
        team_id=team_id,
        key=f"checkin:{occurrence_id}:{suffix}",
        method="chat.postMessage",
        payload={"channel": clicked[0], "text": message, "thread_ts": clicked[1]},
        now=now,
    )


def _show_status(
    session: Session,
    occurrence: service.Occurrence,
    status: str,
    suffix: str,
    now: Any,
    clicked: tuple[str, str] | None = None,
) -> None:
    """The DM shows the check-in's new state: the clicked message, else the latest prompt."""
    if clicked is None and occurrence.prompt_outbox_id is None:
        return
    name = service.template_name(session, occurrence.team_id, occurrence.template_id)
    text, message_blocks = blocks.status_message(name, occurrence.local_date, status)
    outbox.update_message(
        session,
        team_id=occurrence.team_id,
        key=f"checkin:{occurrence.id}:{suffix}",
        text=text,
        blocks=message_blocks,
        now=now,
        where=clicked,
        of_row=None if clicked is not None else occurrence.prompt_outbox_id,
    )


def _click(body: dict[str, Any]) -> tuple[str, str, int | None, tuple[str, str] | None]:
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    occurrence_id = _int((body.get("actions") or [{}])[0].get("value"))
    clicked = (channel, ts) if channel and ts else None
    return _team(body), body["user"]["id"], occurrence_id, clicked


def _team(body: dict[str, Any]) -> str:
    return str((body.get("team") or {}).get("id") or body["user"].get("team_id"))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _notice(message: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain("Check-in", 24),
        "close": plain("Close", 24),
        "blocks": [section(escape(message))],
    }


def reply_modal(occurrence_id: int | None) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.CHECKIN_REPLY_MODAL,
        "title": plain("Reply", 24),
        "submit": plain("Send", 24),
        "close": plain("Cancel", 24),
        "private_metadata": clip(
            json.dumps({"occurrence_id": occurrence_id}), PRIVATE_METADATA_MAX
        ),
        "blocks": [
            context("Only the person who answered sees your reply, in their DM with pulsebot."),
            {
                "type": "input",
                "block_id": ids.CHECKIN_REPLY_BLOCK,
                "label": plain("Your reply"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.CHECKIN_REPLY_INPUT,
                    "multiline": True,
                    "max_length": REPLY_MAX,
                },
            },
        ],
    }
