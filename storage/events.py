"""Seen Slack `event_id`s, so a retried event changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from storage.models import ProcessedEvent
from storage.upserts import insert_ignoring_conflict


def first_time_seen(session: Session, team_id: str, event_id: str, now: datetime) -> bool:
    inserted = insert_ignoring_conflict(
        session,
        ProcessedEvent.__table__,
        {"team_id": team_id, "event_id": event_id, "received_at": now},
    )
    return bool(inserted)
