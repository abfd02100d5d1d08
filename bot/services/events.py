"""Slack retries events up to three times; the first delivery is the one that counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from storage import events as store


def first_time_seen(session: Session, team_id: str, event_id: str, now: datetime) -> bool:
    return store.first_time_seen(session, team_id, event_id, now)


def first_time(session: Session, team_id: str, body: dict[str, Any], now: datetime) -> bool:
    """True unless this event envelope's `event_id` was handled before."""
    event_id = body.get("event_id")
    return event_id is None or store.first_time_seen(session, team_id, str(event_id), now)
