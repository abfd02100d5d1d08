"""Small builders for test data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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


def next_weekday(after: datetime, weekday: int, hour: int, minute: int = 0) -> datetime:
    """The first `weekday` (0 = Monday) at hour:minute UTC at least a day after `after`.

    Tests that apply a template now (the wall clock, moved or not) and then run what is due
    take their `--at` from here, never from a date written as a literal: a literal ages.
    """
    start = after.astimezone(UTC) + timedelta(days=1)
    day = start + timedelta(days=(weekday - start.weekday()) % 7)
    instant = day.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return instant if instant >= start else instant + timedelta(days=7)
