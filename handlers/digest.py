"""`/checkin digest`, App Home's "Preview digest", and the digest DM's buttons.

The preview opens a placeholder modal with the trigger (valid 3 s, once), then builds the
digest in one unit of work and queues a views.update of that modal through the outbox
(interactive priority). It never shows anonymous notes nor their count. View more opens the
whole answer (only for its readers: the template's owner or the member's manager); Reply in it
pushes the usual reply modal; Give kudos opens the kudos form for that person.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.deps import Deps, deps_of
from bot.notify import digest as notify
from bot.services import digest as service
from bot.services.directory import people
from handlers import ids, kudos
from handlers.blocks import digest as blocks
from handlers.blocks.checkins import reply_modal
from handlers.payloads import action_value, as_int, team_of
from handlers.views import open_view

log = logging.getLogger(__name__)

NOT_A_MANAGER = (
    "You have no direct reports in pulsebot and no check-in of your own yet, so there is no "
    "digest for you. If you lead a team, `/checkin setup` creates its check-in, and your "
    "digest arrives every week."
)
NOT_YOURS = "I can't show you that answer: only the person's manager can read it."


def register(app: App) -> None:
    app.action(ids.DIGEST_PREVIEW_ACTION)(on_preview)
    app.action(ids.DIGEST_VIEW_MORE_ACTION)(on_view_more)
    app.action(ids.DIGEST_REPLY_ACTION)(on_reply)
    app.action(ids.DIGEST_GIVE_KUDOS_ACTION)(on_give_kudos)


def on_preview(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    open_digest(deps_of(context), client, team_of(body), body["user"]["id"], body["trigger_id"])


def on_view_more(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    deps = deps_of(context)
    team_id, reader_id = team_of(body), body["user"]["id"]
    occurrence_ids = blocks.view_more_ids(action_value(body))
    with deps.unit_of_work() as session:
        reader = people(session, team_id, [reader_id]).get(reader_id)
        zone = service.zone_of(reader.tz if reader else None)
        views = service.answer_view(session, team_id, reader_id, occurrence_ids, zone)
    modal = blocks.answer_modal(views) if views else blocks.notice_modal(NOT_YOURS)
    open_view(client, body["trigger_id"], modal)


def on_reply(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """The same form as the answers DM's Reply, pushed over View more's modal."""
    ack()
    try:
        client.views_push(
            trigger_id=body["trigger_id"], view=reply_modal(as_int(action_value(body)))
        )
    except (SlackApiError, OSError) as error:
        log.warning("views.push of the reply form failed: %s", error)


def on_give_kudos(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    recipient_id = str(action_value(body) or "")
    kudos.open_form(
        client,
        body["trigger_id"],
        deps_of(context),
        team_id=team_of(body),
        user_id=body["user"]["id"],
        channel_id=None,
        initial_users=[recipient_id] if recipient_id else [],
    )


def open_digest(deps: Deps, client: WebClient, team_id: str, user_id: str, trigger_id: str) -> bool:
    """Placeholder first (the trigger's 3 s), then the digest by views.update via the outbox.

    False when Slack would not open the placeholder (the command's ack then says so)."""
    try:
        opened = client.views_open(trigger_id=trigger_id, view=blocks.placeholder_modal())
    except (SlackApiError, OSError) as error:
        log.warning("views.open of the digest preview failed: %s", error)
        return False
    view_id = str((opened.get("view") or {}).get("id") or "")
    now = deps.now()
    with deps.unit_of_work() as session:
        person = people(session, team_id, [user_id]).get(user_id)
        try:
            data = service.preview(
                session,
                team_id,
                user_id,
                now,
                zone=service.zone_of(person.tz if person else None),
                anonymity_min=deps.settings.anonymity_min,
                weekday=deps.settings.digest_weekday,
                at=deps.settings.digest_time,
                goal_cycle=deps.settings.goal_cycle,
                stale_days=deps.settings.goal_stale_days,
            )
            view = blocks.preview_modal(data)
        except service.NotAManager:
            view = blocks.notice_modal(NOT_A_MANAGER)
        notify.fill_preview(session, team_id, view_id, view, now)
    deps.notify_outbox()
    return True
