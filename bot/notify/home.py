"""App Home: published through the outbox, so opening the tab never waits on Slack.

Outbox key: `home:{user}:{event}` (views.publish), one per app_home_opened event; interactive,
the person is looking at the tab. Its view is built as it leaves (`publish_home`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.delivery import outbox

HOME_BUILDER = "home"  # the sender's builder of an App Home view (handlers/home.py)


def publish_home(
    session: Session, team_id: str, user_id: str, event_id: str | None, now: datetime
) -> None:
    """The person's App Home, built by the sender when Slack can take it (`HOME_BUILDER`):
    views.publish goes at Slack's pace, so a view built now could be minutes old when it
    leaves, and building it here would cost the request that opened the tab."""
    outbox.enqueue(
        session,
        team_id=team_id,
        key=f"home:{user_id}:{event_id}",
        method="views.publish",
        payload={"user_id": user_id, outbox.BUILD: HOME_BUILDER},
        now=now,
    )


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
