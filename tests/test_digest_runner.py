"""Which digests the minute job writes, and only once: late after an outage, another weekday,
two writers at once, and the outbox rows that carry a digest (no Slack here)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.delivery import uploads
from bot.jobs import digests as digest_jobs
from bot.jobs.digests import DigestPolicy, write_due
from bot.jobs.minute import run_due
from storage.models import Digest, OutboxMessage, UpwardFeedback
from storage.outbox import BULK
from tests.digest_seed import ISO_WEEK, MANAGER, SEND_AT, ZONE, seed_team
from tests.factories import TEAM

Factory = sessionmaker[Session]
MONDAY = DigestPolicy()


def seeded(session_factory: Factory) -> None:
    with session_factory() as session, session.begin():
        seed_team(session)


def digests(session_factory: Factory) -> list[tuple[str, str]]:
    with session_factory() as session:
        return [(d.manager_id, d.iso_week) for d in session.scalars(select(Digest))]


def test_due_from_the_configured_time_in_the_managers_zone_and_written_once(
    session_factory: Factory,
) -> None:
    seeded(session_factory)
    early = write_due(session_factory, SEND_AT - timedelta(minutes=1), MONDAY, manager_id=MANAGER)
    assert early.written == 0
    summary = write_due(session_factory, SEND_AT, MONDAY, manager_id=MANAGER)
    assert summary.written == 1
    assert digests(session_factory) == [(MANAGER, ISO_WEEK)]
    again = write_due(session_factory, SEND_AT + timedelta(hours=1), MONDAY, manager_id=MANAGER)
    assert again.written == 0
    with session_factory() as session:
        rows = {
            r.idempotency_key: r
            for r in session.scalars(select(OutboxMessage))
            if r.idempotency_key.startswith(f"digest:{MANAGER}:")
        }
    chart = rows[f"digest:{MANAGER}:{ISO_WEEK}:chart"]
    message = rows[f"digest:{MANAGER}:{ISO_WEEK}:message"]
    assert chart.method == uploads.UPLOAD and chart.payload["content_b64"]
    assert message.method == uploads.POST_WITH_FILE and message.depends_on_id == chart.id
    assert message.payload["channel"] == MANAGER and message.payload["file_id"] == "$parent.channel"
    assert {r.priority for r in rows.values()} == {BULK}
    assert all(r.next_attempt_at is None for r in rows.values())  # for now: no not-before


def test_a_late_run_after_an_outage_still_covers_that_week_once(session_factory: Factory) -> None:
    seeded(session_factory)
    tuesday = SEND_AT + timedelta(days=1, hours=3)
    assert write_due(session_factory, tuesday, MONDAY, manager_id=MANAGER).written == 1
    assert digests(session_factory) == [(MANAGER, ISO_WEEK)]
    sunday_night = datetime.combine(
        SEND_AT.astimezone(ZONE).date() + timedelta(days=6), time(23), tzinfo=ZONE
    )
    assert write_due(session_factory, sunday_night, MONDAY, manager_id=MANAGER).written == 0


def test_another_weekday_changes_when_never_what(session_factory: Factory) -> None:
    seeded(session_factory)
    wednesday = DigestPolicy(weekday="wed", at=time(14, 30))
    monday = write_due(session_factory, SEND_AT + timedelta(hours=3), wednesday, manager_id=MANAGER)
    assert monday.written == 0
    at = datetime.combine(
        SEND_AT.astimezone(ZONE).date() + timedelta(days=2), time(14, 30), tzinfo=ZONE
    )
    assert write_due(session_factory, at, wednesday, manager_id=MANAGER).written == 1
    assert digests(session_factory) == [(MANAGER, ISO_WEEK)]


def test_two_writers_at_once_make_one_digest(session_factory: Factory) -> None:
    seeded(session_factory)
    with session_factory() as session, session.begin():
        from storage import checkins as store

        store.add_upward(
            session,
            team_id=TEAM,
            manager_id=MANAGER,
            author_id=None,
            occurrence_id=None,
            text="Anonymous",
            iso_week=ISO_WEEK,
            released=False,
        )
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(
            pool.map(
                lambda _: run_due(session_factory, SEND_AT, digests=MONDAY, team_id=TEAM), range(3)
            )
        )
    # UMGR, the two managers below (Berlin, due since 09:00 there) and UOTHER, once each.
    assert sum(r.digests for r in results) == 4
    with session_factory() as session:
        counts = dict(
            session.execute(
                select(Digest.manager_id, func.count()).group_by(Digest.manager_id)
            ).all()
        )
        keys = list(session.scalars(select(OutboxMessage.idempotency_key)))
        (note,) = session.scalars(select(UpwardFeedback))
    assert counts == dict.fromkeys(["UANN", "UBOB", "UMGR", "UOTHER"], 1)
    assert len(keys) == len(set(keys))
    assert note.released and note.released_week == ISO_WEEK
    with session_factory() as session:
        (content,) = session.scalars(select(Digest.content).where(Digest.manager_id == MANAGER))
        notes_row = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.idempotency_key == f"digest:{MANAGER}:{ISO_WEEK}:notes"
            )
        ).one()
    assert "Anonymous" not in str(content["anonymous_notes"]) and content["anonymous_released"] == 1
    assert "Anonymous" in str(notes_row.payload) and "<@" not in str(notes_row.payload)


def test_a_sent_digest_never_changes(session_factory: Factory) -> None:
    seeded(session_factory)
    write_due(session_factory, SEND_AT, MONDAY, manager_id=MANAGER)
    with session_factory() as session:
        (before,) = session.scalars(select(Digest.content).where(Digest.manager_id == MANAGER))
    with session_factory() as session, session.begin():
        from tests.digest_seed import kudos

        kudos(session, "UOTHER", ["UCAT"], SEND_AT - timedelta(days=2), ["teamwork"])
    write_due(session_factory, SEND_AT + timedelta(hours=2), MONDAY, manager_id=MANAGER)
    with session_factory() as session:
        (after,) = session.scalars(select(Digest.content).where(Digest.manager_id == MANAGER))
    assert after == before and after["kudos"] == 2


def test_digests_are_written_no_faster_than_their_messages_leave(session_factory: Factory) -> None:
    """Backpressure: no more than `ahead` digests wait in the outbox; each one sent makes
    room for the next, still for its own week."""
    seeded(session_factory)
    assert write_due(session_factory, SEND_AT, MONDAY, ahead=2).written == 2
    assert write_due(session_factory, SEND_AT + timedelta(minutes=1), MONDAY, ahead=2).written == 0
    assert write_due(session_factory, SEND_AT, MONDAY, dry_run=True, ahead=2).previews  # a look

    def send(count: int) -> None:
        with session_factory() as session, session.begin():
            waiting = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.idempotency_key.like("digest:%:message"))
                .where(OutboxMessage.status == "pending")
                .order_by(OutboxMessage.id)
                .limit(count)
            ).all()
            assert len(waiting) == count
            for row in waiting:
                row.status = "sent"

    send(1)
    later = SEND_AT + timedelta(minutes=2)
    assert write_due(session_factory, later, MONDAY, ahead=2).written == 1
    send(2)
    assert write_due(session_factory, later, MONDAY, ahead=2, limit=1).written == 1  # both bind
    assert write_due(session_factory, later, MONDAY, ahead=2).written == 0  # none left due
    assert {week for _, week in digests(session_factory)} == {ISO_WEEK}
    assert len(digests(session_factory)) == 4


def test_while_the_outbox_is_full_the_digests_due_are_not_even_worked_out(
    session_factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded(session_factory)
    assert write_due(session_factory, SEND_AT, MONDAY, ahead=2).written == 2
    reads: list[int] = []
    real = digest_jobs.service.last_closes

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(digest_jobs.service, "last_closes", counted)
    assert write_due(session_factory, SEND_AT + timedelta(minutes=1), MONDAY, ahead=2).written == 0
    assert reads == []
    assert write_due(session_factory, SEND_AT + timedelta(minutes=1), MONDAY, ahead=3).written == 1
    assert reads == [1]


def test_the_minute_job_writes_a_bounded_number_per_run(session_factory: Factory) -> None:
    seeded(session_factory)
    first = write_due(session_factory, SEND_AT, MONDAY, limit=3)
    assert first.written == 3
    assert write_due(session_factory, SEND_AT + timedelta(minutes=1), MONDAY, limit=3).written == 1
    assert len(digests(session_factory)) == 4
