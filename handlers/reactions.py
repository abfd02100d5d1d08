"""`reaction_added` / `reaction_removed`: a kudos emoji on a person's message gives its author
a kudos, by `/kudos`'s own rules, budget, posts and group-commit ack (bot.services.reactions).

The ack path asks Slack nothing once the directory knows both people (as `/kudos`): it commits
the kudos with its posts held back, and returns. Then, off the ack path, chat.getPermalink
says whether the bot can read the message: if not, the kudos is taken back before anything
went out; if so, the posts go at once, quoting the message's link. A process killed in
between still sends them when their hold runs out, only without the link.

The quote is the link, not the message's text: reading a channel's messages would need
`channels:history` / `groups:history`, which pulsebot does not ask for (docs/scopes.md).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.deps import Deps, deps_of
from bot.notify import kudos as notify
from bot.notify import reactions as notify_reactions
from bot.services import kudos, reactions
from bot.services.directory import Person
from bot.services.events import first_time
from bot.services.text import neutralise
from handlers.blocks import kudos as blocks
from handlers.payloads import reaction as reaction_of
from handlers.users import with_directory

log = logging.getLogger(__name__)

# How long a reaction's kudos posts wait for their message's link before going without it.
HOLD = timedelta(seconds=30)
# chat.getPermalink's answers for a message the bot cannot see (or that is gone).
UNREADABLE = frozenset({"channel_not_found", "not_in_channel", "message_not_found"})


def register(app: App) -> None:
    app.event("reaction_added")(on_reaction_added)
    app.event("reaction_removed")(on_reaction_removed)


def on_reaction_added(
    event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    deps = deps_of(context)
    reaction = reaction_of(event)
    team_id = str(body.get("team_id") or "")
    if reaction is None or not team_id:
        return
    settings = deps.settings
    if reactions.ignored(reaction, settings.kudos_reactions, deps.slack.bot_user_id):
        return
    value = reactions.value_of(settings.kudos_reactions, reaction.name)[1]
    message = blocks.reaction_message(reaction.emoji, reaction.channel_id)
    draft = reactions.draft(reaction, value, message)
    policy = kudos.KudosPolicy(settings.kudos_daily_limit, settings.values)
    # Built before the unit, which runs in the group-commit writer every ack waits for.
    posts = notify.posts(settings.kudos_channel, draft, neutralise(message))
    now = deps.now()

    def work(
        session: Session, people: dict[str, Person]
    ) -> kudos.KudosGiven | reactions.Rule | None:
        if not first_time(session, team_id, body, now):
            return None
        author = people.get(draft.recipient_ids[0])
        if reactions.ignored_people(people.get(reaction.giver_id), author):
            return None
        try:
            given = reactions.give(
                session,
                team_id=team_id,
                reaction=reaction,
                draft=draft,
                policy=policy,
                now=now,
                directory=people,
            )
        except kudos.KudosRefused as refused:
            rule = reactions.refusal_rule(author)
            text = blocks.reaction_refused(reaction.emoji, draft.recipient_ids[0], refused.message)
            notify_reactions.refusal_note(session, team_id, reaction, rule, text, now)
            return rule
        if not given.replayed:
            notify.enqueue_posts(
                session, team_id, given.kudos_id, posts, now, hold_until=now + HOLD
            )
        return given

    outcome = with_directory(deps, client, team_id, [reaction.giver_id, *draft.recipient_ids], work)
    if isinstance(outcome, reactions.Rule):
        deps.notify_outbox()
    elif outcome is not None and not outcome.replayed:
        given = outcome
        deps.after_ack(lambda: confirm(deps, client, team_id, given, reaction))


def on_reaction_removed(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    """Within a minute of its kudos, a removed reaction takes it back; later, it stays."""
    deps = deps_of(context)
    reaction = reaction_of(event)
    team_id = str(body.get("team_id") or "")
    if reaction is None or not team_id:
        return
    if not reactions.value_of(deps.settings.kudos_reactions, reaction.name)[0]:
        return
    now = deps.now()

    def work(session: Session) -> reactions.Withdrawn | None:
        if not first_time(session, team_id, body, now):
            return None
        withdrawn = reactions.undo(session, team_id, reaction, now)
        if withdrawn is not None:
            notify.withdraw_posts(session, team_id, withdrawn, now)
        return withdrawn

    if deps.group_unit(work) is not None:
        deps.notify_outbox()


def confirm(
    deps: Deps,
    client: WebClient,
    team_id: str,
    given: kudos.KudosGiven,
    reaction: reactions.Reaction,
) -> None:
    """After the ack: the message's link, then the kudos' posts go (or, where the bot cannot
    read the message, the kudos is taken back before they do). A kudos taken back meanwhile
    (its reaction removed at once) has no held post left to release."""
    link: str | None = None
    unreadable = False
    try:
        answer = client.chat_getPermalink(
            channel=reaction.channel_id, message_ts=reaction.message_ts
        )
        link = str(answer["permalink"])
    except SlackApiError as error:
        code = str(error.response.get("error"))
        unreadable = code in UNREADABLE
        log.info("chat.getPermalink for a kudos reaction: %s", code)
    except (OSError, KeyError) as error:
        log.info("chat.getPermalink for a kudos reaction failed (%s); no link", error)
    now = deps.now()
    quoted = kudos.KudosDraft(
        giver_id=given.giver_id,
        recipient_ids=given.recipient_ids,
        message=given.message,
        values=given.values,
        quote_url=link,
    )
    built = notify.posts(deps.settings.kudos_channel, quoted, given.message)

    def settle(session: Session) -> None:
        if unreadable:
            withdrawn = reactions.withdraw(session, team_id, given.kudos_id)
            if withdrawn is not None:
                notify.withdraw_posts(session, team_id, withdrawn, now)
            return
        if link:
            reactions.quote(session, team_id, given.kudos_id, link)
        notify.release_posts(session, team_id, given.kudos_id, built)

    # Committed with the acks' units: on SQLite a transaction of its own would wait for the
    # writer lock, and make the next ack wait for it.
    deps.group_unit(settle)
    deps.notify_outbox()
