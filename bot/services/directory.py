"""Who people are, from the cached directory: kinds of user, time zones, freshness."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from bot.services.slack_limits import SELECT_OPTIONS_MAX
from storage import checkins as checkins_store
from storage import directory as store
from storage import privacy as privacy_store
from storage.directory import CachedUser, UserRecord

CACHE_TTL = timedelta(hours=24)
SLACKBOT = "USLACKBOT"
UTC_ZONE = ZoneInfo("UTC")

__all__ = [
    "CACHE_TTL",
    "Changes",
    "PeopleCache",
    "Person",
    "UserRecord",
    "choosable",
    "people",
    "record_from_slack",
    "stale_ids",
    "store_changes",
    "store_users",
]


@dataclass(frozen=True, slots=True)
class Person:
    user_id: str
    name: str
    tz: str | None
    is_bot: bool
    deleted: bool
    external: bool
    is_guest: bool

    @property
    def zone(self) -> ZoneInfo:
        """The person's zone; UTC when Slack gave none or an unknown one."""
        return zone_or_utc(self.tz)

    def local_date(self, now: datetime) -> date:
        return now.astimezone(self.zone).date()


def zone_or_utc(tz: str | None) -> ZoneInfo:
    if not tz:
        return UTC_ZONE
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC_ZONE


def record_from_slack(user: Mapping[str, Any], fallback_team_id: str) -> UserRecord:
    """users.info / users.list member -> what we keep. Slackbot reports is_bot false: it is one."""
    profile = user.get("profile") or {}
    user_id = str(user["id"])
    return UserRecord(
        user_id=user_id,
        user_team_id=str(user.get("team_id") or fallback_team_id),
        name=str(profile.get("display_name") or user.get("real_name") or user.get("name") or ""),
        real_name=str(user.get("real_name") or profile.get("real_name") or ""),
        email=profile.get("email"),
        tz=user.get("tz"),
        is_bot=bool(user.get("is_bot")) or bool(user.get("is_app_user")) or user_id == SLACKBOT,
        deleted=bool(user.get("deleted", False)),
        is_restricted=bool(user.get("is_restricted")) or bool(user.get("is_ultra_restricted")),
    )


def stale_ids(session: Session, team_id: str, user_ids: Iterable[str], now: datetime) -> list[str]:
    """Ids missing from the cache or older than the TTL: the ones worth a users.info."""
    return lookup(session, team_id, user_ids, now)[1]


class PeopleCache:
    """Directory rows this process read in the last `hold_seconds`, so a request does not read
    them from the database again: on the `/kudos` ack path that read was a round trip.

    The database stays the directory; this only holds what it said, or what this process wrote
    to it (users.info, users.list, user_change), a moment ago. A change stored by another
    process is seen here within `hold_seconds`.
    """

    def __init__(self, hold_seconds: float = 60.0) -> None:
        self._hold = hold_seconds
        self._rows: dict[tuple[str, str], tuple[float, CachedUser]] = {}
        self._lock = threading.Lock()

    def get(self, team_id: str, ids: list[str]) -> tuple[dict[str, CachedUser], list[str]]:
        """(held rows, ids to read)."""
        now = time.monotonic()
        found: dict[str, CachedUser] = {}
        missing: list[str] = []
        rows = self._rows
        for uid in ids:
            held = rows.get((team_id, uid))
            if held is not None and held[0] > now:
                found[uid] = held[1]
            else:
                missing.append(uid)
        return found, missing

    def put(self, team_id: str, rows: Iterable[CachedUser]) -> None:
        until = time.monotonic() + self._hold
        with self._lock:
            for row in rows:
                self._rows[(team_id, row.user_id)] = (until, row)

    def remember(self, team_id: str, records: Iterable[UserRecord], fetched_at: datetime) -> None:
        """What this process has just stored (and committed): the freshest it knows."""
        self.put(
            team_id,
            (
                CachedUser(
                    r.user_id,
                    r.user_team_id,
                    r.name,
                    r.real_name,
                    r.tz,
                    r.is_bot,
                    r.deleted,
                    r.is_restricted,
                    fetched_at,
                )
                for r in records
            ),
        )

    def forget(self, team_id: str, ids: Iterable[str]) -> None:
        with self._lock:
            for uid in ids:
                self._rows.pop((team_id, uid), None)


def lookup(
    session: Session,
    team_id: str,
    user_ids: Iterable[str],
    now: datetime,
    cache: PeopleCache | None = None,
) -> tuple[dict[str, Person], list[str]]:
    """The cached people, and the ids worth a users.info (missing, or older than the TTL)."""
    ids = list(dict.fromkeys(user_ids))
    rows = _rows(session, team_id, ids, cache)
    stale = [uid for uid in ids if uid not in rows or now - rows[uid].fetched_at > CACHE_TTL]
    return {uid: _person(team_id, row) for uid, row in rows.items()}, stale


def _rows(
    session: Session, team_id: str, ids: list[str], cache: PeopleCache | None
) -> dict[str, CachedUser]:
    if cache is None:
        return store.lookup(session, team_id, ids)
    found, missing = cache.get(team_id, ids)
    if missing:
        read = store.lookup(session, team_id, missing)
        cache.put(team_id, read.values())
        found.update(read)
    return found


@dataclass(frozen=True, slots=True)
class Changes:
    """What storing a batch of Slack users changed, beyond their names and zones."""

    stored: int
    left: list[str]  # deactivated since the directory last had them (known before, active)
    returned: list[str]  # active again after a deactivation


def store_users(
    session: Session, team_id: str, records: Iterable[UserRecord], now: datetime
) -> int:
    return store_changes(session, team_id, records, now).stored


def store_changes(
    session: Session, team_id: str, records: Iterable[UserRecord], now: datetime
) -> Changes:
    """Store these users and say who left or came back, whichever way Slack told (an event,
    users.list, users.info).

    Someone back from a deactivation is prompted from their next check-in on: their template
    memberships begin again now, so planning never writes the dates they were away (which it
    skipped while they were deactivated) as missed. A person the directory never had is
    neither: nothing of theirs can be open yet.
    """
    latest = list({record.user_id: record for record in records}.values())
    latest = _without_erased(session, team_id, latest)
    if not latest:
        return Changes(0, [], [])
    before = store.deleted_flags(session, team_id, [r.user_id for r in latest])
    left = [r.user_id for r in latest if r.deleted and before.get(r.user_id) is False]
    returned = [r.user_id for r in latest if not r.deleted and before.get(r.user_id) is True]
    stored = store.upsert_users(session, team_id, latest, now)
    if returned:
        checkins_store.restart_memberships(session, team_id, returned, now)
    return Changes(stored, left, returned)


def _without_erased(
    session: Session, team_id: str, records: list[UserRecord]
) -> list[UserRecord]:
    """A deactivated person whose data was erased is not cached again (Slack lists deactivated
    people for ever)."""
    left = {privacy_store.person_digest(team_id, r.user_id): r for r in records if r.deleted}
    if not left or not privacy_store.any_forgotten(session, team_id):
        return records
    erased = {left[d].user_id for d in privacy_store.forgotten_among(session, team_id, left)}
    for user_id in erased:
        privacy_store.delete_directory_row(session, team_id, user_id)
    return [r for r in records if r.user_id not in erased]


def people(
    session: Session, team_id: str, user_ids: Iterable[str], cache: PeopleCache | None = None
) -> dict[str, Person]:
    rows = _rows(session, team_id, list(dict.fromkeys(user_ids)), cache)
    return {uid: _person(team_id, row) for uid, row in rows.items()}


def choosable(
    session: Session, team_id: str, chooser_id: str, limit: int = SELECT_OPTIONS_MAX
) -> list[tuple[str, str]] | None:
    """(user id, name) of everyone a person may pick in a form: the workspace's own people but
    themselves, bots and deactivated people, whom every rule refuses anyway. None when there are
    more than one static list may hold; Slack's own picker offers them then."""
    found = store.active_people(session, team_id, [chooser_id], limit + 1)
    return found if len(found) <= limit else None


def _person(team_id: str, row: Any) -> Person:
    return Person(
        user_id=row.user_id,
        name=row.name or row.real_name or row.user_id,
        tz=row.tz,
        is_bot=row.is_bot,
        deleted=row.deleted,
        external=row.user_team_id != team_id,
        is_guest=row.is_restricted,
    )
