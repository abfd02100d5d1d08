"""The weekly digests that are due: written by the minute job, `run-due` and `digest send`.

For each manager, the covered week is the last complete Monday-Sunday in their zone; its
digest is due from the configured weekday and time of the following week, or from the close of
the week's last check-in that may still be answered if that is later (also late, after an
outage, still for that week). Each digest is built and drawn outside any write transaction,
then written in one short one: the `digests` row under its unique key (team, manager, ISO
week), the anonymous notes it releases, and its outbox rows (bulk priority, behind
interactive traffic). A second writer (another replica, the job firing twice) finds the key
taken and writes nothing, so there is one digest, whatever races.

The outbox rows and their keys are bot/notify/digest.py's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.notify import digest as notify
from bot.services import digest as service
from bot.services import digest_chart
from bot.services import digest_rules as rules
from bot.services.goal_cycles import CycleKind
from bot.settings import DigestSettings
from handlers.blocks import digest as blocks
from storage import checkins as checkin_store
from storage import digest as store
from storage.engine import read_only, unit_of_work

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DigestPolicy:
    weekday: str = "mon"
    at: time = time(9, 0)
    anonymity_min: int = 3
    goal_cycle: CycleKind = "quarter"
    goal_stale_days: int = 14

    @classmethod
    def from_settings(cls, settings: DigestSettings) -> DigestPolicy:
        return cls(
            settings.digest_weekday,
            settings.digest_time,
            settings.anonymity_min,
            settings.goal_cycle,
            settings.goal_stale_days,
        )


@dataclass
class DigestSummary:
    written: int = 0
    skipped: int = 0  # already written (by us earlier, another replica, or a twin run)
    previews: list[service.DigestData] = field(default_factory=list)  # --dry-run

    def __str__(self) -> str:
        return f"{self.written} digest(s) written, {self.skipped} already sent"


@dataclass(frozen=True, slots=True)
class DueDigest:
    team_id: str
    manager_id: str
    tz: str | None
    week_start: str


def due(
    factory: sessionmaker[Session],
    now: datetime,
    policy: DigestPolicy,
    *,
    team_id: str | None = None,
    manager_id: str | None = None,
    teams: Collection[str] | None = None,
) -> list[DueDigest]:
    """The digests due at `now` and not yet written, in `teams` if given (the workspaces with
    room in the outbox: the others are not even worked out, as while a Monday's digests drain
    each run would otherwise read every waiting manager's check-ins to find them still due),
    else in `team_id` or every workspace.

    A digest is due at the later of its send time and the close of the last check-in of its
    week that may still be answered (`digest_rules.ready_at`); one held so long that the next
    week became the covered one is still written, late, for its own week."""
    found: list[DueDigest] = []
    with read_only(factory) as session:
        if teams is None:
            teams = [team_id] if team_id else checkin_store.known_teams(session)
        for team in teams:
            candidates: list[tuple[store.ManagerRow, date, ZoneInfo, datetime | None]] = []
            for manager in store.managers(session, team, only=manager_id):
                zone = service.zone_of(manager.tz)
                week = rules.covered_week(now, zone)
                send_at = rules.due_at(week, zone, policy.weekday, policy.at)
                if now >= send_at and _known_before(manager, week, zone):
                    candidates.append((manager, week, zone, send_at))
                before = week - timedelta(weeks=1)
                if _known_before(manager, before, zone):
                    candidates.append((manager, before, zone, None))
            written = store.existing_weeks(
                session, team, sorted({rules.iso_week(w) for _, w, _, _ in candidates})
            )
            waiting = [c for c in candidates if (c[0].user_id, rules.iso_week(c[1])) not in written]
            closes = service.last_closes(
                session, team, {(m.user_id, w) for m, w, _, _ in waiting}, now
            )
            for row, covered, row_zone, sends_at in waiting:
                close = closes.get((row.user_id, covered))
                if sends_at is None:  # the week before: only if it was held past its turn
                    if close is None or not rules.held_past_its_turn(covered, row_zone, close):
                        continue
                    ready = close
                else:
                    ready = rules.ready_at(sends_at, [close] if close else [])
                if now >= ready:
                    found.append(DueDigest(team, row.user_id, row.tz, covered.isoformat()))
    return found


def _room(factory: sessionmaker[Session], team_id: str | None, ahead: int) -> dict[str, int]:
    """How many more digests each workspace may have waiting in the outbox."""
    with read_only(factory) as session:
        teams = [team_id] if team_id else checkin_store.known_teams(session)
        return {team: ahead - store.queued(session, team) for team in teams}


def _within(todo: list[DueDigest], room: dict[str, int]) -> list[DueDigest]:
    """The first of each workspace's due digests that fit beside those still waiting to go."""
    left = dict(room)
    kept: list[DueDigest] = []
    for item in todo:
        if left.get(item.team_id, 0) > 0:
            left[item.team_id] -= 1
            kept.append(item)
    return kept


def _known_before(manager: store.ManagerRow, week: date, zone: ZoneInfo) -> bool:
    return manager.since is None or _week_end(week, zone) > manager.since


def _week_end(week_start: date, zone: ZoneInfo) -> datetime:
    """The instant the covered week ends: a team pulsebot knew only after it gets no digest
    about it (a catch-up `run-due --at` before the check-in existed stays quiet)."""
    return datetime.combine(week_start + timedelta(days=7), time(0), zone)


def write_due(
    factory: sessionmaker[Session],
    now: datetime,
    policy: DigestPolicy,
    *,
    team_id: str | None = None,
    manager_id: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    limit: int | None = None,
    ahead: int | None = None,
    deliver: bool = True,
) -> DigestSummary:
    """Write (or, `dry_run`, only build) every digest due at `now`; at most `limit` of them,
    and no more than leaves `ahead` of a workspace's digests waiting in the outbox (the rest
    are still due at the next run). `deliver=False` records them without sending: the demo's
    history, delivered before its Slack existed.

    `ahead` is backpressure: a digest with a chart leaves at Slack's pace for file uploads,
    under one a second, so a Monday's thousand are built and drawn as they can go out, a few
    each run, instead of all in the first minute, where the drawing competes with people's
    requests for the cores and delivers nothing sooner."""
    summary = DigestSummary()
    room = _room(factory, team_id, ahead) if ahead is not None and not dry_run else None
    with_room = None if room is None else [team for team, left in room.items() if left > 0]
    todo = due(factory, now, policy, team_id=team_id, manager_id=manager_id, teams=with_room)
    if room is not None:
        todo = _within(todo, room)
    todo = todo[:limit]
    painter = digest_chart.Painter()  # one Figure for this run's charts
    for index, item in enumerate(todo, 1):
        if dry_run:
            with read_only(factory) as session:
                built = _build(session, item, now, policy, release=False)
            summary.previews.append(built.data)
        elif write_one(factory, item, now, policy, painter, deliver=deliver):
            summary.written += 1
        else:
            summary.skipped += 1
        if progress is not None:
            progress(index, len(todo))
    return summary


def write_one(
    factory: sessionmaker[Session],
    item: DueDigest,
    now: datetime,
    policy: DigestPolicy,
    painter: digest_chart.Painter | None = None,
    *,
    deliver: bool = True,
) -> bool:
    """Build, draw and write one digest; False if another writer had it already.

    Built from a snapshot outside the writers' queue, then written in a short unit: on SQLite
    the acks that commit meanwhile wait for the write alone, not for the reads and the chart."""
    with read_only(factory) as session:
        built = _build(session, item, now, policy, release=True)
    data = built.data
    if deliver:
        png = (painter or digest_chart.Painter()).png(data.chart) if data.has_chart() else None
        messages = blocks.messages(data)
    with unit_of_work(factory) as session:
        digest_id = store.insert_digest(
            session,
            {
                "team_id": item.team_id,
                "manager_id": data.manager_id,
                "iso_week": data.iso_week,
                "week_start": datetime.fromisoformat(data.week_start).date(),
                "content": data.stored_json(),
                "created_at": now,
                "anonymity_met": built.anonymity_met,
            },
        )
        if digest_id is None:
            return False
        store.release_notes(session, built.released_note_ids, data.iso_week)
        if deliver:
            main_id = notify.enqueue_digest(session, item.team_id, data, png, messages, now)
            store.set_digest_outbox(session, digest_id, main_id)
    return True


def _build(
    session: Session, item: DueDigest, now: datetime, policy: DigestPolicy, *, release: bool
) -> service.Built:
    return service.build(
        session,
        item.team_id,
        item.manager_id,
        now,
        zone=service.zone_of(item.tz),
        anonymity_min=policy.anonymity_min,
        week_start=datetime.fromisoformat(item.week_start).date(),
        release=release,
        goal_cycle=policy.goal_cycle,
        stale_days=policy.goal_stale_days,
    )
