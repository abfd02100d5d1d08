"""`/checkin`, the buttons of the check-in DM, the answer modal and the manager's Reply.

Each path: parse -> one unit of work (the state change in bot.services.checkins, its messages
through bot.notify.checkins) -> ack. The only Web API calls made here are views.open, which
must use the click's trigger within 3 seconds; every message leaves through the outbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.deps import Deps, deps_of
from bot.notify import checkins as notify
from bot.services import checkins as service
from bot.services.checkins import CheckinRefused, CheckinUnavailable, slack_date
from bot.services.conversations import reply_problem
from bot.services.text import escape
from handlers import ids
from handlers.blocks import checkins as blocks
from handlers.blocks.common import notice_modal, read_metadata
from handlers.checkin_setup import open_setup
from handlers.digest import open_digest
from handlers.payloads import action_value, as_int, click, team_of
from handlers.users import ensure_known
from handlers.views import ack_form, open_view

BUTTON_SNOOZE = timedelta(hours=1)

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


def register(app: App) -> None:
    app.command(ids.CHECKIN_COMMAND)(on_checkin)
    app.action(ids.CHECKIN_START_ACTION)(on_start)
    app.action(ids.CHECKIN_SNOOZE_ACTION)(on_snooze)
    app.action(ids.CHECKIN_SKIP_ACTION)(on_skip)
    app.view(ids.CHECKIN_MODAL)(on_answers)
    app.action(ids.CHECKIN_REPLY_ACTION)(on_reply)
    app.view(ids.CHECKIN_REPLY_MODAL)(on_reply_sent)


def on_checkin(ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    deps = deps_of(context)
    team_id, user_id = command["team_id"], command["user_id"]
    text = command.get("text") or ""
    parsed = service.parse_command(text)
    # Forms open before the ack (the answer goes when the listener returns), so a refused
    # views.open is told in the ack rather than leaving the person with nothing.
    if parsed.verb == "setup" or text.strip().lower().startswith("setup"):
        opened = open_setup(deps, client, team_id, user_id, command["trigger_id"], text)
        ack_form(ack, opened, "/checkin setup")
        return
    if parsed.verb == "digest":
        opened = open_digest(deps, client, team_id, user_id, command["trigger_id"])
        ack_form(ack, opened, "/checkin digest")
        return
    if parsed.verb == "open":
        opened = _open_answer_modal(deps, client, team_id, user_id, None, command["trigger_id"])
        ack_form(ack, opened, "/checkin")
        return
    ack(text=_run_command(deps, client, team_id, user_id, parsed), response_type="ephemeral")


def on_start(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    team_id, user_id, occurrence_id, where = click(body)
    _open_answer_modal(
        deps_of(context), client, team_id, user_id, occurrence_id, body["trigger_id"], clicked=where
    )


def on_snooze(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    team_id, user_id, occurrence_id, where = click(body)
    _button_change(deps_of(context), team_id, user_id, occurrence_id, where, "snooze")


def on_skip(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    team_id, user_id, occurrence_id, where = click(body)
    _button_change(deps_of(context), team_id, user_id, occurrence_id, where, "skip")


def on_answers(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    deps = deps_of(context)
    team_id, user_id = team_of(body), body["user"]["id"]
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
                goal_cycle=deps.settings.goal_cycle,
                goals_shown=blocks.goals_from_metadata(view.get("private_metadata")),
            )
            notify.enqueue_answer(session, submitted, now)
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


def on_reply(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    open_view(client, body["trigger_id"], blocks.reply_modal(as_int(action_value(body))))


def on_reply_sent(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
) -> None:
    deps = deps_of(context)
    team_id, manager_id = team_of(body), body["user"]["id"]
    occurrence_id = as_int(read_metadata(view.get("private_metadata")).get("occurrence_id"))
    text = (
        view.get("state", {})
        .get("values", {})
        .get(ids.CHECKIN_REPLY_BLOCK, {})
        .get(ids.CHECKIN_REPLY_INPUT, {})
        .get("value")
        or ""
    ).strip()
    problem = reply_problem(text)
    if problem:
        ack(response_action="errors", errors={ids.CHECKIN_REPLY_BLOCK: problem})
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
        notify.enqueue_reply(session, team_id, manager_id, reply, view["id"], text, now)
    ack()
    deps.notify_outbox()


# ----- the pieces ---------------------------------------------------------------------------


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
                notify.show_skipped(session, occurrence, "Skipped.", now)
                answer = "Skipped. The next check-in comes at its usual time."
            elif parsed.verb == "snooze":
                assert parsed.duration is not None
                occurrence = service.snooze(session, team_id, user_id, None, parsed.duration, now)
                until = slack_date(occurrence.snoozed_until or now)
                notify.show_snoozed(session, occurrence, f"Snoozed until {until}.", now)
                answer = f"Snoozed. I'll ask again {until}."
            elif parsed.verb == "ooo":
                assert parsed.until is not None
                result = service.set_ooo(session, team_id, user_id, parsed.until, now)
                for occurrence in result.away:
                    notify.show_away(session, occurrence, now)
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
            goals = service.goals_asked(
                session, team_id, user_id, due.template, now, deps.settings.goal_cycle
            )
    except CheckinUnavailable as unavailable:
        if clicked is not None and unavailable.occurrence is not None:
            _show_late_click(deps, unavailable, clicked, now)
        view = _notice(unavailable.message)
    else:
        occurrence = due.occurrence
        view = blocks.answer_modal(
            occurrence.id,
            due.template.name,
            occurrence.local_date,
            due.template.questions,
            readers=blocks.Readers(due.template.owner_id, manager_id, due.template.channel_id),
            anonymity_min=None if offered else minimum,
            release_after=minimum,
            goals=goals,
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
                if clicked is not None:
                    status = "Skipped. The next one comes at its usual time."
                    notify.show_skipped(session, occurrence, status, now, clicked)
            else:
                occurrence = service.snooze(
                    session, team_id, user_id, occurrence_id, BUTTON_SNOOZE, now
                )
                if clicked is not None:
                    status = f"Snoozed until {slack_date(occurrence.snoozed_until or now)}."
                    notify.show_snoozed(session, occurrence, status, now, clicked)
    except CheckinUnavailable as unavailable:
        if clicked is not None and unavailable.occurrence is not None:
            _show_late_click(deps, unavailable, clicked, now)
        return
    except CheckinRefused as refused:
        if clicked is not None:
            with deps.unit_of_work() as session:
                notify.explain_refusal(
                    session, team_id, occurrence_id, clicked, refused.message, now
                )
    deps.notify_outbox()


def _show_late_click(
    deps: Deps, unavailable: CheckinUnavailable, clicked: tuple[str, str], now: datetime
) -> None:
    """A late click: answer "this check-in has closed" by replacing that one message."""
    occurrence = unavailable.occurrence
    assert occurrence is not None
    with deps.unit_of_work() as session:
        notify.show_unavailable(
            session, occurrence, unavailable.reason, unavailable.message, clicked, now
        )
    deps.notify_outbox()


def _notice(message: str) -> dict[str, Any]:
    return notice_modal("Check-in", escape(message))
