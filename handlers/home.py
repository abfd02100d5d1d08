"""App Home: published through the outbox, so opening the tab never waits on Slack."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.delivery import outbox
from bot.deps import Deps
from bot.services import kudos as kudos_service
from bot.services.directory import people
from bot.services.events import first_time
from handlers.blocks.home import home_view
from handlers.users import ensure_known


def register(app: App, deps: Deps) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") not in (None, "home"):
            return
        team_id, user_id = str(body.get("team_id")), str(event["user"])
        ensure_known(deps, client, team_id, [user_id])
        now = deps.now()
        limit = deps.settings.kudos_daily_limit
        with deps.unit_of_work() as session:
            if not first_time(session, team_id, body, now):
                return
            user = people(session, team_id, [user_id]).get(user_id)
            stats = kudos_service.stats(session, team_id, user, user_id, now)
            remaining = kudos_service.remaining_today(session, team_id, user, user_id, limit, now)
            view = home_view(
                given=stats.given,
                received=stats.received,
                remaining=remaining,
                limit=limit,
                month=stats.month_label,
                top=stats.top,
            )
            outbox.enqueue(
                session,
                team_id=team_id,
                key=f"home:{user_id}:{body.get('event_id')}",
                method="views.publish",
                payload={"user_id": user_id, "view": view},
                now=now,
            )
        deps.notify_outbox()
