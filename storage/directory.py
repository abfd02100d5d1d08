"""The cached Slack user directory."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, Row, bindparam, select
from sqlalchemy.orm import Session

from storage.dialect import prepared
from storage.models import DirectoryUser


@dataclass(frozen=True, slots=True)
class UserRecord:
    """What the app keeps of a Slack user; built from users.info/users.list by the caller."""

    user_id: str
    user_team_id: str
    name: str
    real_name: str
    email: str | None
    tz: str | None
    is_bot: bool
    deleted: bool
    is_restricted: bool


def get_users(session: Session, team_id: str, user_ids: Iterable[str]) -> dict[str, DirectoryUser]:
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = session.scalars(
        select(DirectoryUser).where(
            DirectoryUser.team_id == team_id, DirectoryUser.user_id.in_(ids)
        )
    )
    return {row.user_id: row for row in rows}


def lookup(session: Session, team_id: str, user_ids: Iterable[str]) -> dict[str, Row[Any]]:
    """Plain rows (no ORM identity map): the ack path reads a handful of people per request."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    statement = prepared(session, "directory.lookup", _lookup_statement)
    rows = session.connection().execute(statement, {"team_id": team_id, "ids": ids})
    return {row.user_id: row for row in rows}


def _lookup_statement(_: str) -> Executable:
    table = DirectoryUser.__table__
    return select(table).where(
        table.c.team_id == bindparam("team_id"),
        table.c.user_id.in_(bindparam("ids", expanding=True)),
    )


def find_by_email(session: Session, team_id: str, email: str) -> DirectoryUser | None:
    return session.scalars(
        select(DirectoryUser).where(
            DirectoryUser.team_id == team_id, DirectoryUser.email == email.lower()
        )
    ).first()


def upsert_users(
    session: Session, team_id: str, records: Iterable[UserRecord], fetched_at: datetime
) -> int:
    records = list(records)
    existing = get_users(session, team_id, (r.user_id for r in records))
    for record in records:
        row = existing.get(record.user_id)
        if row is None:
            row = DirectoryUser(team_id=team_id, user_id=record.user_id)
            session.add(row)
        row.user_team_id = record.user_team_id
        row.name = record.name
        row.real_name = record.real_name
        row.email = record.email.lower() if record.email else None
        row.tz = record.tz
        row.is_bot = record.is_bot
        row.deleted = record.deleted
        row.is_restricted = record.is_restricted
        row.fetched_at = fetched_at
    session.flush()
    return len(records)
