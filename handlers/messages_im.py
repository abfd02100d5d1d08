"""`message.im`: a person's reply in one of our DM threads reaches the other side's thread; a
top-level DM gets a short hint about what the bot does (at most once a day per person).

Slack sends every message of the app's DMs here: the bot's own posts and every subtype (edits,
deletions, file shares, joins). Each is answered 200 and ignored unless it is a person's new
message: a listener that filtered subtypes away would leave them unhandled, and Bolt's 404
makes Slack retry them. Retried deliveries are dropped on `event_id`.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.deps import deps_of
from bot.notify import conversations as notify
from bot.services import conversations
from bot.services.events import first_time
from bot.services.text import neutralise


def _in_a_dm(event: dict[str, Any]) -> bool:
    """Only DMs with the app (`message.im`); channel messages are not subscribed to."""
    return event.get("channel_type") == "im"


def register(app: App) -> None:
    app.event("message", matchers=[_in_a_dm])(on_dm)


def on_dm(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    deps = deps_of(context)
    user_id = event.get("user")
    if (
        event.get("subtype") not in (None, "thread_broadcast")  # a reply also sent to the DM
        or event.get("bot_id")
        or not user_id
        or user_id == deps.slack.bot_user_id
    ):
        return
    team_id = str(body.get("team_id") or event.get("team") or "")
    channel, ts = str(event.get("channel") or ""), str(event.get("ts") or "")
    thread_ts = event.get("thread_ts")
    text = str(event.get("text") or "").strip()
    if not team_id or not channel or not ts:
        return
    now = deps.now()
    with deps.unit_of_work() as session:
        if not first_time(session, team_id, body, now):
            return
        if thread_ts and thread_ts != ts:
            if not text:
                return
            safe = neutralise(text)
            for exchange in conversations.at(session, team_id, user_id, channel, thread_ts):
                if conversations.record(
                    session,
                    team_id=team_id,
                    kind=exchange.kind,
                    item_id=exchange.item_id,
                    author_id=user_id,
                    text=safe,
                    source_key=f"im:{channel}:{ts}:{exchange.peer_id}",
                    now=now,
                ):
                    notify.forward_dm(session, exchange, user_id, safe, channel, ts, now)
        elif not thread_ts:
            notify.send_hint(session, team_id, user_id, now)
    deps.notify_outbox()
