"""What App Home shows from check-ins and kudos: for everyone, and for managers.

Managers see their team as the digest preview sees it (`digest.preview`): never an anonymous
note nor their count, so comparing App Home before and after a note reveals nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.services import digest
from bot.services import digest_rules as rules
from bot.services.states import OccurrenceState
from storage import digest as store

RECENT_ANSWERS = 4
RECENT_KUDOS = 10
SPARKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True, slots=True)
class MyAnswer:
    template: str
    local_date: date
    summary: str
    replies: list[tuple[str, str]]  # (manager, text)


@dataclass
class MyHome:
    answers: list[MyAnswer] = field(default_factory=list)
    sparkline: str = ""
    pulses: list[float | None] = field(default_factory=list)
    received: list[store.KudosLine] = field(default_factory=list)
    given: list[store.KudosLine] = field(default_factory=list)


def mine(session: Session, team_id: str, user_id: str, now: datetime, zone: ZoneInfo) -> MyHome:
    """The person's last answers with their manager's replies, pulse over 8 weeks, kudos."""
    home = MyHome()
    recent = store.recent_answered(session, team_id, user_id, RECENT_ANSWERS)
    this_week = rules.monday_of(now.astimezone(zone).date())
    first = this_week - timedelta(weeks=rules.HISTORY_WEEKS - 1)
    history = [
        r
        for r in store.occurrences(session, team_id, [user_id], [], first, this_week + timedelta(6))
        if r.state == OccurrenceState.ANSWERED
    ]
    templates = store.templates(
        session, {r.template_id for r, _ in recent} | {r.template_id for r in history}
    )
    ids = sorted({r.id for r, _ in recent} | {r.id for r in history})
    answers = store.answers(session, ids)
    replies = store.replies(session, team_id, [r.id for r, _ in recent])
    for row, name in recent:
        template = templates.get(row.template_id)
        home.answers.append(
            MyAnswer(
                name,
                row.local_date,
                digest.summary(template.questions, answers.get(row.id, {})) if template else "",
                [(author, text) for author, text, _ in replies.get(row.id, [])],
            )
        )
    weekly: dict[date, list[int]] = {}
    for row in history:
        template = templates.get(row.template_id)
        question = rules.first_pulse_question(template.questions) if template else None
        value = rules.pulse_value(answers.get(row.id, {}).get(question or ""))
        if value is not None:
            weekly.setdefault(rules.monday_of(row.local_date), []).append(value)
    home.pulses = [
        rules.average(weekly.get(first + timedelta(weeks=i), []))
        for i in range(rules.HISTORY_WEEKS)
    ]
    home.sparkline = sparkline(home.pulses)
    home.received = store.kudos_received_by(session, team_id, user_id, RECENT_KUDOS)
    home.given = store.kudos_given_by(session, team_id, user_id, RECENT_KUDOS)
    return home


def team(
    session: Session, team_id: str, user_id: str, now: datetime, zone: ZoneInfo, minimum: int
) -> digest.DigestData | None:
    """A manager's team as the digest preview has it; None for someone who manages no one."""
    if not store.reports(session, team_id, user_id) and not store.owned_templates(
        session, team_id, user_id
    ):
        return None  # most people: two cheap reads instead of building a digest
    try:
        return digest.preview(
            session, team_id, user_id, now, zone=zone, anonymity_min=minimum
        ).data
    except digest.NotAManager:
        return None


def sparkline(values: list[float | None]) -> str:
    """1-5 values as ▁..█, a gap (·) for a week without one."""
    return "".join(
        "·" if v is None else SPARKS[min(int((v - 1) / 4 * (len(SPARKS) - 1) + 0.5), 7)]
        for v in values
    )
