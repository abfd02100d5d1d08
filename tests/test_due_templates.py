"""The minute job's first read: which templates have anything due at all.

Most minutes nothing is due, and the job used to open a transaction per template to read its
members and their dates and write nothing. `checkins.with_due` answers for every template in
two statements. Its promise, pinned case by case: it keeps a template exactly when `plan_due`
would write something for it (a zone east of UTC first, catch-up after an outage, a member
who left, one added after the slot, a schedule that has not begun).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.jobs.minute import run_due
from bot.services import checkins
from storage import checkins as store
from storage.engine import read_only, unit_of_work
from storage.models import CheckinMember, CheckinTemplate
from tests.factories import TEAM, add_people, person
from tests.test_checkin_runner import BERLIN_AT, NEW_YORK_AT, TEAM_TZ, TOKYO_AT, seed

Factory = sessionmaker[Session]
MINUTE = timedelta(minutes=1)


def _kept(factory: Factory, at: datetime) -> set[int]:
    with read_only(factory) as session:
        templates = store.list_templates(session, active_only=True)
        return {t.id for t in checkins.with_due(session, templates, at)}


def _writes(factory: Factory, at: datetime) -> int:
    """What `plan_due` writes at `at` for every template (rolled back: only counted)."""
    with factory() as session, session.begin():
        result = checkins.plan_due(session, at)
        written = len(result.created) + len(result.missed) + len(result.away)
        session.rollback()
    return written


def _add_member(factory: Factory, template_id: int, user_id: str, at: datetime) -> None:
    with unit_of_work(factory) as session:
        add_people(session, at, person(user_id, tz="Asia/Tokyo"))
        store.add_members(session, TEAM, template_id, [user_id], at)


def _leave(factory: Factory, user_id: str, at: datetime) -> None:
    with unit_of_work(factory) as session:
        add_people(session, at, person(user_id, tz=TEAM_TZ.get(user_id), deleted=True))


def _begin_later(factory: Factory, template_id: int, at: datetime) -> None:
    with unit_of_work(factory) as session:
        session.execute(
            update(CheckinTemplate)
            .where(CheckinTemplate.id == template_id)
            .values(schedule_from=at + timedelta(days=30))
        )


CASES: list[tuple[str, list[datetime], Any, datetime, bool]] = [
    # (case, runs before, a change after them, checked at, something due)
    ("before any slot", [], None, TOKYO_AT - MINUTE, False),
    ("Tokyo's Friday came first (east of UTC)", [], None, TOKYO_AT + MINUTE, True),
    ("Tokyo written, Berlin not yet", [TOKYO_AT + MINUTE], None, TOKYO_AT + 2 * MINUTE, False),
    ("Berlin's turn after Tokyo's", [TOKYO_AT + MINUTE], None, BERLIN_AT + MINUTE, True),
    ("every zone written", [NEW_YORK_AT + MINUTE], None, NEW_YORK_AT + 5 * MINUTE, False),
    ("down for a week: catch-up", [], None, NEW_YORK_AT + timedelta(days=7, minutes=1), True),
    ("written, then a week later", [NEW_YORK_AT + MINUTE], None, TOKYO_AT + timedelta(7, 60), True),
    (
        "a member added after the slot",
        [NEW_YORK_AT + MINUTE],
        "add",
        NEW_YORK_AT + 3 * MINUTE,
        False,
    ),
    ("the only unwritten member left", [BERLIN_AT + MINUTE], "leave", NEW_YORK_AT + MINUTE, False),
    ("a schedule that begins next month", [], "later", NEW_YORK_AT + MINUTE, False),
]


@pytest.mark.parametrize(("case", "runs", "change", "at", "due"), CASES, ids=[c[0] for c in CASES])
def test_a_template_is_kept_exactly_when_plan_due_would_write(
    session_factory: Factory,
    now: datetime,
    case: str,
    runs: list[datetime],
    change: str | None,
    at: datetime,
    due: bool,
) -> None:
    template_id = seed(session_factory, now, TEAM_TZ)
    for run_at in runs:
        run_due(session_factory, run_at)
    if change == "add":
        _add_member(session_factory, template_id, "UNEW", at - MINUTE)
    elif change == "leave":
        _leave(session_factory, "UANA", at - MINUTE)
    elif change == "later":
        _begin_later(session_factory, template_id, now)
    kept = _kept(session_factory, at)
    assert (template_id in kept) == due, case
    assert (_writes(session_factory, at) > 0) == due, case


def test_the_minute_job_skips_templates_with_nothing_due(
    session_factory: Factory, now: datetime
) -> None:
    """Two templates, one due: the other's members are never read for planning."""
    due_id = seed(session_factory, now, {"UCHO": "Asia/Tokyo"})
    quiet_id = seed(session_factory, now, {"UANA": "America/New_York"}, name="Quiet")
    at = TOKYO_AT + MINUTE
    with read_only(session_factory) as session:
        batches = checkins.plan_batches(session, at, only_due=True)
    assert {b.template_id for b in batches} == {due_id}
    summary = run_due(session_factory, at)
    assert summary.prompted == 1
    with read_only(session_factory) as session:
        members = session.scalars(
            select(CheckinMember.user_id).where(CheckinMember.template_id == quiet_id)
        ).all()
    assert members == ["UANA"]
    assert _kept(session_factory, at) == set()
    assert _kept(session_factory, datetime(2037, 11, 27, 21, 1, tzinfo=UTC)) == {quiet_id}
