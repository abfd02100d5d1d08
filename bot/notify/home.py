"""App Home: published through the outbox, so opening the tab never waits on Slack.

Outbox key: `home:{user}:{event}` (views.publish), one per app_home_opened event; interactive,
the person is looking at the tab.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.delivery import outbox


def publish_home(
    session: Session,
    team_id: str,
    user_id: str,
    event_id: str | None,
    view: dict[str, Any],
    now: datetime,
) -> None:
    publish(session, team_id, user_id, f"home:{user_id}:{event_id}", view, now)


def publish(
    session: Session, team_id: str, user_id: str, key: str, view: dict[str, Any], now: datetime
) -> None:
    """One views.publish of someone's App Home under the key its caller's scheme gives."""
    outbox.enqueue(
        session,
        team_id=team_id,
        key=key,
        method="views.publish",
        payload={"user_id": user_id, "view": view},
        now=now,
    )
