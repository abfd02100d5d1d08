"""Small builders for test data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.services.directory import UserRecord, store_users

TEAM = "T0TEAM"


def person(
    user_id: str,
    *,
    tz: str | None = "America/New_York",
    is_bot: bool = False,
    deleted: bool = False,
    team_id: str = TEAM,
    guest: bool = False,
    email: str | None = None,
) -> UserRecord:
    return UserRecord(
        user_id=user_id,
        user_team_id=team_id,
        name=user_id.lower(),
        real_name=user_id.title(),
        email=email,
        tz=tz,
        is_bot=is_bot,
        deleted=deleted,
        is_restricted=guest,
    )


def add_people(session: Session, now: datetime, *records: UserRecord) -> None:
    store_users(session, TEAM, records, now)
