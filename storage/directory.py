"""The cached Slack user directory."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Executable, func, select
from sqlalchemy.orm import Session

from storage.fast_path import driver, prepared
from storage.models import DirectoryUser
from storage.upserts import insert_for


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


class CachedUser(NamedTuple):
    """A directory row as the ack path reads it."""

    user_id: str
    user_team_id: str
    name: str
    real_name: str
    tz: str | None
    is_bot: bool
    deleted: bool
    is_restricted: bool
    fetched_at: datetime


def lookup(session: Session, team_id: str, user_ids: Iterable[str]) -> dict[str, CachedUser]:
    """Plain rows, read at driver level: the ack path reads a handful of people per request,
    and SQLAlchemy's execution machinery would cost more than the query (storage.fast_path)."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    db = driver(session)
    names = ", ".join(f"%(u{i})s" for i in range(len(ids)))
    params: dict[str, Any] = {f"u{i}": uid for i, uid in enumerate(ids)}
    params["team_id"] = team_id
    rows = db.rows(
        "SELECT user_id, user_team_id, name, real_name, tz, is_bot, deleted, is_restricted,"
        f" fetched_at FROM directory_users WHERE team_id = %(team_id)s AND user_id IN ({names})",
        params,
    )
    found = {}
    for user_id, user_team_id, name, real_name, tz, is_bot, deleted, restricted, at in rows:
        fetched_at = db.read_utc(at)
        assert fetched_at is not None
        found[user_id] = CachedUser(
            user_id,
            user_team_id,
            name,
            real_name,
            tz,
            bool(is_bot),
            bool(deleted),
            bool(restricted),
            fetched_at,
        )
    return found


def deleted_flags(session: Session, team_id: str, user_ids: Iterable[str]) -> dict[str, bool]:
    """Whether each of these people is deactivated, as the directory has them (absent: unknown)."""
    ids = sorted(set(user_ids))
    found: dict[str, bool] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(DirectoryUser.user_id, DirectoryUser.deleted).where(
                DirectoryUser.team_id == team_id,
                DirectoryUser.user_id.in_(ids[start : start + 500]),
            )
        )
        found.update((user_id, bool(deleted)) for user_id, deleted in rows)
    return found


def find_by_email(session: Session, team_id: str, email: str) -> DirectoryUser | None:
    return session.scalars(
        select(DirectoryUser).where(
            DirectoryUser.team_id == team_id, DirectoryUser.email == email.lower()
        )
    ).first()


def active_people(
    session: Session, team_id: str, excluding: Iterable[str], limit: int
) -> list[tuple[str, str]]:
    """(user id, name) of this workspace's own people who are neither bots nor deactivated, by
    name; at most `limit` rows, so a caller can tell "more than it can list" from "all of them"."""
    name = func.coalesce(func.nullif(DirectoryUser.name, ""), DirectoryUser.real_name)
    rows = session.execute(
        select(DirectoryUser.user_id, name)
        .where(
            DirectoryUser.team_id == team_id,
            DirectoryUser.user_team_id == team_id,
            DirectoryUser.is_bot.is_(False),
            DirectoryUser.deleted.is_(False),
            DirectoryUser.user_id.not_in(list(excluding)),
        )
        .order_by(func.lower(name), DirectoryUser.user_id)
        .limit(limit)
    ).all()
    return [(user_id, shown or user_id) for user_id, shown in rows]


def upsert_users(
    session: Session, team_id: str, records: Iterable[UserRecord], fetched_at: datetime
) -> int:
    """Insert or refresh, in one statement: two replicas warming the cache at once both win."""
    rows = [
        {
            "team_id": team_id,
            "user_id": r.user_id,
            "user_team_id": r.user_team_id,
            "name": r.name,
            "real_name": r.real_name,
            "email": r.email.lower() if r.email else None,
            "tz": r.tz,
            "is_bot": r.is_bot,
            "deleted": r.deleted,
            "is_restricted": r.is_restricted,
            "fetched_at": fetched_at,
        }
        for r in {record.user_id: record for record in records}.values()
    ]
    if not rows:
        return 0
    statement = prepared(session, "directory.upsert", _upsert_statement)
    session.connection().execute(statement, rows)
    session.expire_all()  # ORM objects loaded earlier must not shadow the new values
    return len(rows)


def _upsert_statement(dialect_name: str) -> Executable:
    table = DirectoryUser.__table__
    insert = insert_for(dialect_name, table)
    refreshed = [c.name for c in table.columns if c.name not in ("team_id", "user_id")]
    return insert.on_conflict_do_update(
        index_elements=[table.c.team_id, table.c.user_id],
        set_={name: insert.excluded[name] for name in refreshed},
    )
