"""`/kudos`, the kudos modal and the "Give kudos" message shortcut.

The forms may name one of the recipients' goals: the form asks among the goals of whom it
names (it is rebuilt when the recipients change), and the goal is stored with the kudos.

Each path: parse -> refresh the directory if it lacks someone -> one unit of work (the kudos and
its outbox rows) -> ack. Posting and DMs leave later, from the outbox. A command is answered in
its ack; a form, by turning into its own confirmation, where the giver is looking.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.deps import Deps, deps_of
from bot.notify import kudos as notify
from bot.services import kudos as service
from bot.services import kudos_goals
from bot.services.directory import Person
from bot.services.text import escape, neutralise
from handlers import ids
from handlers.blocks import kudos as blocks
from handlers.blocks.common import read_metadata
from handlers.payloads import as_int, people_in, team_of
from handlers.users import picker_people, with_directory
from handlers.views import open_view, permalink

log = logging.getLogger(__name__)

FORM_FAILED = (
    "I couldn't open the kudos form (Slack took too long or refused it). Please run `/kudos` "
    "again, or give kudos directly: `/kudos @name thanks for… #value`."
)


def register(app: App) -> None:
    app.command(ids.KUDOS_COMMAND)(on_kudos)
    app.view(ids.KUDOS_MODAL)(on_modal)
    app.shortcut(ids.GIVE_KUDOS_SHORTCUT)(on_shortcut)
    app.action(ids.KUDOS_RECIPIENTS_ACTION)(on_recipients_chosen)


def on_kudos(ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    deps = deps_of(context)
    text = (command.get("text") or "").strip()
    word = text.lower()
    team_id, user_id = command["team_id"], command["user_id"]
    if word in {"help", "?"}:
        ack(
            text=blocks.help_text(deps.settings.values, deps.settings.kudos_daily_limit),
            response_type="ephemeral",
        )
    elif word == "stats":
        ack(response_type="ephemeral", **_stats(deps, client, team_id, user_id))
    elif not text:
        # The answer is sent when the listener returns, so the form opens first and a
        # failure can still be said in the ack.
        problem = open_form(
            client,
            command["trigger_id"],
            deps,
            team_id=team_id,
            user_id=user_id,
            channel_id=command.get("channel_id"),
        )
        if problem:
            ack(text=problem, response_type="ephemeral")
        else:
            ack()
    elif service.is_unknown_word(text):
        ack(text=blocks.unknown_word(escape(text)), response_type="ephemeral")
    else:
        draft = service.parse_command(text, user_id, deps.settings.values)
        answer = _give(deps, client, team_id, draft, "command", f"cmd:{command['trigger_id']}")
        ack(text=answer, response_type="ephemeral")


def on_modal(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    deps = deps_of(context)
    team_id, user_id = team_of(body), body["user"]["id"]
    draft = _draft_from_view(view, user_id)
    try:
        given = _store(deps, client, team_id, draft, "modal", f"view:{view['id']}")
    except service.KudosRefused as refused:
        errors = {_block_for(field): message for field, message in refused.errors.items()}
        ack(response_action="errors", errors=errors)
        return
    limit = deps.settings.kudos_daily_limit
    ack(
        response_action="update",
        view=blocks.sent_modal(blocks.confirmation(given.recipient_ids, given.remaining, limit)),
    )


def on_shortcut(
    ack: Ack, shortcut: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    deps = deps_of(context)
    message = shortcut.get("message") or {}
    channel_id = (shortcut.get("channel") or {}).get("id")
    author = message.get("user")
    user_id = shortcut["user"]["id"]
    open_form(
        client,
        shortcut["trigger_id"],
        deps,
        team_id=team_of(shortcut),
        user_id=user_id,
        channel_id=channel_id,
        initial_users=[author] if author and author != user_id else [],
        quote_text=message.get("text") or "",
        quote_url=permalink(client, channel_id, message.get("ts")),
    )


def on_recipients_chosen(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """The form asks "For which goal?" among the goals of whom it now names."""
    ack()
    deps = deps_of(context)
    view = body.get("view") or {}
    team_id, user_id = team_of(body), body["user"]["id"]
    chosen = people_in((body.get("actions") or [{}])[0])
    meta = read_metadata(view.get("private_metadata"))
    with deps.unit_of_work() as session:
        people = picker_people(deps, session, team_id, user_id)
        goals = _goal_choices(deps, session, team_id, chosen)
    # What was typed stays: Slack keeps an input's value across views.update when its block
    # keeps its id, and every block does.
    updated = blocks.modal(
        deps.settings.values,
        people=people,
        channel_id=meta.get("channel"),
        initial_users=chosen,
        quote_text=meta.get("quote_text"),
        quote_url=meta.get("quote_url"),
        goals=goals,
    )
    try:
        client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=updated)
    except (SlackApiError, OSError) as error:
        log.info("views.update of the kudos form failed: %s", error)


def _goal_choices(
    deps: Deps, session: Session, team_id: str, recipient_ids: list[str]
) -> list[kudos_goals.GoalChoice]:
    return kudos_goals.choices(
        session, team_id, recipient_ids, deps.now(), deps.settings.goal_cycle
    )


def _give(
    deps: Deps, client: WebClient, team_id: str, draft: service.KudosDraft, source: str, key: str
) -> str:
    try:
        given = _store(deps, client, team_id, draft, source, key)
    except service.KudosRefused as refused:
        return refused.message
    return blocks.confirmation(
        given.recipient_ids, given.remaining, deps.settings.kudos_daily_limit
    )


def _store(
    deps: Deps,
    client: WebClient,
    team_id: str,
    draft: service.KudosDraft,
    source: str,
    key: str,
) -> service.KudosGiven:
    """Validate, store the kudos and its posts in one transaction; raises KudosRefused."""
    policy = service.KudosPolicy(
        deps.settings.kudos_daily_limit, deps.settings.values, deps.settings.goal_cycle
    )
    # The goals it may name are read before the unit, like the posts below: only a form that
    # names a goal pays for it.
    goals: dict[int, str] | None = None
    if draft.goal_id is not None:
        with deps.unit_of_work() as session:
            goals = kudos_goals.titles_by_id(
                _goal_choices(deps, session, team_id, draft.recipient_ids)
            )
    # Built here, not in the unit: units run one after another in the group-commit writer,
    # which every ack waits for. They are what `give` would store (its message is neutralised).
    posts = notify.posts(
        deps.settings.kudos_channel,
        draft,
        neutralise(draft.message),
        goal_title=(goals or {}).get(draft.goal_id) if draft.goal_id is not None else None,
    )

    def work(
        session: Session, people: dict[str, Person]
    ) -> service.KudosGiven | service.KudosRefused:
        try:
            given = service.give(
                session,
                directory=people,
                team_id=team_id,
                draft=draft,
                policy=policy,
                source=source,
                request_key=key,
                now=deps.now(),
                goals=goals,
            )
        except service.KudosRefused as refused:
            # A refusal writes nothing; returned rather than raised, so it does not cost the
            # other units committed with this one a second run.
            return refused
        if not given.replayed:
            notify.enqueue_posts(session, team_id, given.kudos_id, posts, deps.now())
        return given

    outcome = with_directory(deps, client, team_id, [draft.giver_id, *draft.recipient_ids], work)
    if isinstance(outcome, service.KudosRefused):
        raise outcome
    deps.notify_outbox()
    return outcome


def _stats(deps: Deps, client: WebClient, team_id: str, user_id: str) -> dict[str, Any]:
    now = deps.now()

    def work(session: Session, known: dict[str, Person]) -> tuple[service.KudosStats, int]:
        user = known.get(user_id)
        limit = deps.settings.kudos_daily_limit
        return (
            service.stats(session, team_id, user, user_id, now),
            service.remaining_today(session, team_id, user, user_id, limit, now),
        )

    result, remaining = with_directory(deps, client, team_id, [user_id], work)
    text, stat_blocks = blocks.stats_blocks(
        result.given, result.received, result.top, result.month_label, remaining
    )
    return {"text": text, "blocks": stat_blocks}


def open_form(
    client: WebClient,
    trigger_id: str,
    deps: Deps,
    *,
    team_id: str,
    user_id: str,
    channel_id: str | None,
    initial_users: list[str] | None = None,
    quote_text: str | None = None,
    quote_url: str | None = None,
) -> str | None:
    """Open the kudos form; returns what to tell the giver when Slack refused it."""
    with deps.unit_of_work() as session:
        people = picker_people(deps, session, team_id, user_id)
        goals = _goal_choices(deps, session, team_id, initial_users or [])
    view = blocks.modal(
        deps.settings.values,
        people=people,
        channel_id=channel_id,
        initial_users=initial_users or [],
        quote_text=quote_text,
        quote_url=quote_url,
        goals=goals,
    )
    return None if open_view(client, trigger_id, view) else FORM_FAILED


def _draft_from_view(view: dict[str, Any], user_id: str) -> service.KudosDraft:
    """The form as a draft; values are kept as chosen, so the rules can refuse a forged one."""
    state = view.get("state", {}).get("values", {})
    recipients = people_in(
        state.get(ids.KUDOS_RECIPIENTS_BLOCK, {}).get(ids.KUDOS_RECIPIENTS_ACTION, {})
    )
    raw = state.get(ids.KUDOS_MESSAGE_BLOCK, {}).get(ids.KUDOS_MESSAGE_ACTION, {}).get("value")
    selected = (
        state.get(ids.KUDOS_VALUES_BLOCK, {})
        .get(ids.KUDOS_VALUES_ACTION, {})
        .get("selected_options")
        or []
    )
    metadata = read_metadata(view.get("private_metadata"))
    goal = (state.get(ids.KUDOS_GOAL_BLOCK, {}).get(ids.KUDOS_GOAL_ACTION, {}) or {}).get(
        "selected_option"
    )
    goal_value = goal.get("value") if isinstance(goal, dict) else None
    return service.KudosDraft(
        giver_id=user_id,
        recipient_ids=recipients,
        message=escape((raw or "").strip()),
        values=[str(o.get("value")) for o in selected if isinstance(o, dict)],
        quote_url=metadata.get("quote_url"),
        # Anything but an objective id is no goal of theirs: the rules refuse it (-1).
        goal_id=None if goal_value is None else (as_int(goal_value) or -1),
    )


def _block_for(field: str) -> str:
    return {
        "recipients": ids.KUDOS_RECIPIENTS_BLOCK,
        "message": ids.KUDOS_MESSAGE_BLOCK,
        "values": ids.KUDOS_VALUES_BLOCK,
        "goal": ids.KUDOS_GOAL_BLOCK,
    }.get(field, ids.KUDOS_RECIPIENTS_BLOCK)
