"""A team with six weeks of check-ins, written as rows (the scheduler's own tests cover how
rows come to be; digests only read them).

The covered week is Mon 3 - Sun 9 March 2031 (ISO 2031-W10), years ahead of any run of the
suite; the digest is sent Monday 10 March at 09:00 in the manager's zone (New York).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.services import conversations, templates
from storage.models import (
    CheckinAnswer,
    CheckinOccurrence,
    Kudos,
    KudosRecipient,
    KudosValue,
    OrgEdge,
)
from tests.factories import TEAM, add_people, person

MANAGER = "UMGR"
ZONE = ZoneInfo("America/New_York")
WEEK = date(2031, 3, 3)  # Monday of the covered week
ISO_WEEK = "2031-W10"
SEND_AT = datetime(2031, 3, 10, 9, 0, tzinfo=ZONE).astimezone(UTC)  # send_at(WEEK)
AFTER_SEND = SEND_AT + timedelta(minutes=1)
CREATED = datetime(2031, 1, 1, tzinfo=UTC)

QUESTIONS = [
    {"id": "done", "text": "What did you get done?", "kind": "text", "required": True},
    {"id": "blockers", "text": "Any blockers?", "kind": "text", "blocker": True},
    {"id": "pulse", "text": "How do you feel?", "kind": "pulse", "required": True},
    {"id": "upward", "text": "For your manager?", "kind": "text", "anonymous_allowed": True},
]


def template(session: Session, owner: str, name: str, members: Sequence[str]) -> int:
    definition = templates.parse_template(
        {
            "name": name,
            "owner": owner,
            "members": list(members),
            "schedule": {"days": ["fri"], "time": "16:00"},
            "close_after": "1d",
            "questions": QUESTIONS,
        },
        lambda _: None,
    )
    [change] = templates.apply(session, TEAM, [definition], CREATED)
    return change.template_id


def report(session: Session, user_id: str, manager_id: str) -> None:
    session.merge(
        OrgEdge(
            team_id=TEAM, user_id=user_id, manager_id=manager_id, source="csv", updated_at=CREATED
        )
    )
    session.flush()


def occurrence(
    session: Session,
    template_id: int,
    user_id: str,
    week: date,
    state: str,
    answers: dict[str, Any] | None = None,
    *,
    closes_at: datetime | None = None,
) -> int:
    """The Friday of `week`; answered ones carry `answers`."""
    day = week + timedelta(days=4)
    at = datetime.combine(day, time(21, 0), tzinfo=UTC)
    row = CheckinOccurrence(
        team_id=TEAM,
        template_id=template_id,
        user_id=user_id,
        local_date=day,
        scheduled_at=at,
        closes_at=closes_at or at + timedelta(days=1),
        state=state,
        snooze_count=0,
        answered_at=at + timedelta(hours=1) if state == "answered" else None,
        created_at=at,
        updated_at=at,
    )
    session.add(row)
    session.flush()
    for question_id, value in (answers or {}).items():
        session.add(
            CheckinAnswer(occurrence_id=row.id, question_id=question_id, team_id=TEAM, value=value)
        )
    session.flush()
    return row.id


def kudos(
    session: Session, giver: str, recipients: Sequence[str], at: datetime, values: Sequence[str]
) -> None:
    row = Kudos(
        team_id=TEAM,
        giver_id=giver,
        message="thanks",
        source="command",
        request_key=f"k-{giver}-{at.timestamp()}-{'-'.join(recipients)}",
        quote_url=None,
        giver_local_date=at.date(),
        created_at=at,
    )
    row.recipients = [KudosRecipient(recipient_id=r) for r in recipients]
    row.values = [KudosValue(value=v) for v in values]
    session.add(row)
    session.flush()


def reply(session: Session, occurrence_id: int, author: str, text: str, at: datetime) -> None:
    """A manager's reply, kept with the answer as the Reply button keeps it."""
    conversations.record(
        session,
        team_id=TEAM,
        kind=conversations.CHECKIN,
        item_id=occurrence_id,
        author_id=author,
        text=text,
        source_key=f"seed-reply:{occurrence_id}:{at.isoformat()}",
        now=at,
    )


def answered(pulse: int, blocker: str = "", done: str = "Shipped") -> dict[str, Any]:
    return {"done": done, "blockers": blocker, "pulse": pulse}


def send_at(week: date) -> datetime:
    """Monday 09:00 in the manager's zone after the week from `week`."""
    return datetime.combine(week + timedelta(days=7), time(9), tzinfo=ZONE).astimezone(UTC)


def seed_team(session: Session, week: date = WEEK) -> dict[str, int]:
    """Six weeks of a four-person team (plus one answering someone else's check-in).

    UANN: pulse 4 for weeks, then 1 (a drop), a blocker this week and last week (still open).
    UBOB: pulse 2 two weeks running; "none" is not a blocker.
    UCAT: missed the last two check-ins (two weeks without an answer).
    UDAN: away this week.
    UEVE: reports to UMGR but answers UOTHER's check-in: only counted, never shown.
    UBOB manages UY01-UY03 (skip-level line); UANN manages UX01 only (too small to show).
    """
    add_people(
        session,
        CREATED,
        person(MANAGER, tz="America/New_York"),
        *(
            person(u, tz="Europe/Berlin")
            for u in ("UANN", "UBOB", "UCAT", "UDAN", "UEVE", "UOTHER")
        ),
        *(person(u, tz="Europe/Berlin") for u in ("UX01", "UY01", "UY02", "UY03")),
    )
    for user_id in ("UANN", "UBOB", "UCAT", "UDAN", "UEVE"):
        report(session, user_id, MANAGER)
    report(session, "UX01", "UANN")
    for user_id in ("UY01", "UY02", "UY03"):
        report(session, user_id, "UBOB")
    weekly = template(session, MANAGER, "Weekly", ["UANN", "UBOB", "UCAT", "UDAN"])
    other = template(session, "UOTHER", "Other", ["UEVE"])
    under_b = template(session, "UBOB", "B team", ["UY01", "UY02", "UY03"])
    ids: dict[str, int] = {"weekly": weekly, "other": other}
    covered = week
    for back in range(5, -1, -1):
        week = covered - timedelta(weeks=back)
        now_week, last_week = back == 0, back == 1
        a_pulse = 1 if now_week else 4
        a_blocker = "Waiting on the security review" if back <= 1 else "none"
        ids[f"UANN{back}"] = occurrence(
            session, weekly, "UANN", week, "answered", answered(a_pulse, a_blocker)
        )
        b_pulse = 2 if back <= 1 else 3
        ids[f"UBOB{back}"] = occurrence(
            session, weekly, "UBOB", week, "answered", answered(b_pulse, "None.")
        )
        occurrence(
            session,
            weekly,
            "UCAT",
            week,
            "missed" if back <= 1 else "answered",
            None if back <= 1 else answered(3),
        )
        occurrence(
            session,
            weekly,
            "UDAN",
            week,
            "away" if now_week else "answered",
            None if now_week else answered(5),
        )
        occurrence(session, other, "UEVE", week, "answered", answered(3, "Blocked on X"))
        for user_id in ("UY01", "UY02", "UY03"):
            if now_week or last_week:
                occurrence(
                    session, under_b, user_id, week, "answered", answered(4 if now_week else 3)
                )
    sent = send_at(covered)
    reply(session, ids["UANN0"], MANAGER, "Let's talk about the review", sent - timedelta(days=2))
    thursday = datetime.combine(covered + timedelta(days=3), time(15), tzinfo=UTC)
    kudos(session, "UOTHER", ["UANN"], thursday, ["teamwork", "craft"])
    kudos(session, "UOTHER", ["UANN"], thursday + timedelta(hours=1), ["teamwork"])
    kudos(session, "UOTHER", ["UBOB"], sent - timedelta(days=10), ["craft"])
    return ids
