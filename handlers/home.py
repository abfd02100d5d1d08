"""App Home: built when the tab opens, published through the outbox (bot/notify/home.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.deps import Deps, deps_of
from bot.notify import home as notify
from bot.services import checkins, goal_commands
from bot.services import home as home_data
from bot.services import kudos as kudos_service
from bot.services.checkins import slack_date
from bot.services.directory import Person, people, zone_or_utc
from bot.services.events import first_time
from bot.services.text import escape
from handlers.blocks import goals as goal_blocks
from handlers.blocks import home_sections
from handlers.blocks.home import home_view
from handlers.feedback_home import feedback_home
from handlers.users import with_directory


def register(app: App) -> None:
    app.event("app_home_opened")(on_home_opened)


def on_home_opened(
    event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    if event.get("tab") not in (None, "home"):
        return
    deps = deps_of(context)
    team_id, user_id = str(body.get("team_id")), str(event["user"])
    now = deps.now()

    # The person known (from the directory, or Slack once), then a short write: the view is
    # built by the sender when Slack can take it (`home_builder`), never on the ack's path.
    with_directory(deps, client, team_id, [user_id], lambda _, known: known.get(user_id))

    def publish(session: Session) -> None:
        if first_time(session, team_id, body, now):
            notify.publish_home(session, team_id, user_id, body.get("event_id"), now)

    deps.group_unit(publish)
    deps.notify_outbox()


def home_builder(deps: Deps) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """The sender's builder of a views.publish row written by `notify.publish_home`: the
    person's App Home as it stands when the call leaves, read from a snapshot."""

    def build(team_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        user_id = str(payload["user_id"])
        with deps.read_only() as session:
            person = people(session, team_id, [user_id], deps.people).get(user_id)
            view = build_home(deps, session, team_id, user_id, person, deps.now())
        return {"user_id": user_id, "view": view}

    return build


def build_home(
    deps: Deps,
    session: Session,
    team_id: str,
    user_id: str,
    user: Person | None,
    now: datetime,
) -> dict[str, Any]:
    """The person's App Home as it stands: built when the tab opens, and again when a goal
    form submitted from it changed what it shows."""
    limit = deps.settings.kudos_daily_limit
    stats = kudos_service.stats(session, team_id, user, user_id, now)
    remaining = kudos_service.remaining_today(session, team_id, user, user_id, limit, now)
    checkin = _checkin_line(session, team_id, user_id, now)
    zone = user.zone if user else zone_or_utc(None)
    extra = home_sections.sections(
        home_data.mine(session, team_id, user_id, now, zone),
        home_data.team(session, team_id, user_id, now, zone, deps.settings.anonymity_min),
    )
    return home_view(
        checkin=checkin,
        given=stats.given,
        received=stats.received,
        remaining=remaining,
        limit=limit,
        month=stats.month_label,
        top=stats.top,
        extra=extra,
        goals=_goals(deps, session, team_id, user_id, now.astimezone(zone).date(), now),
        feedback=feedback_home(session, team_id, user_id),
    )


def _goals(
    deps: Deps, session: Session, team_id: str, user_id: str, today: date, now: datetime
) -> list[dict[str, Any]]:
    """The "Your goals" section and, for managers, "Team goals"."""
    settings = deps.settings
    goal_scope = goal_commands.scope(
        team_id,
        user_id,
        admins=settings.admins,
        now=now,
        today=today,
        cycle_kind=settings.goal_cycle,
        stale_days=settings.goal_stale_days,
    )
    goals = goal_commands.people_board(session, goal_scope, user_id, team=True)
    return goal_blocks.home_blocks(
        goals.goals_of(user_id),
        goal_commands.team_goals(session, goals),
        cycle=goal_scope.cycle,
        expected=goal_scope.expected,
    )


def _checkin_line(session: Session, team_id: str, user_id: str, now: datetime) -> str | None:
    """A waiting check-in first (with how to open it), else the next scheduled one."""
    waiting = checkins.pending_for(session, team_id, user_id, now)
    if waiting is not None:
        return (
            f":wave: Your *{escape(waiting.template.name)}* check-in is waiting: `/checkin` "
            f"opens it (closes {slack_date(waiting.occurrence.closes_at)})."
        )
    upcoming = checkins.next_checkin(session, team_id, user_id, now)
    if upcoming is None:
        return None
    template, at = upcoming
    return f"Next: *{escape(template.name)}*, {slack_date(at)}."
