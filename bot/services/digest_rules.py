"""The digest's arithmetic and rules, on plain values: weeks, pulse, blockers, whom to talk to,
which anonymous notes a digest releases.

No database and no Slack here, so every rule is tested on small literal inputs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from statistics import mean
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.services.states import CheckinOutcome

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HISTORY_WEEKS = 8  # the chart, and the window every rule reads
OWN_AVERAGE_WEEKS = 4
PULSE_DROP = 2.0  # points below the person's own 4-week average
LOW_PULSE = 2  # pulse at or below this two weeks running
NO_KUDOS_DAYS = 30
NOT_A_BLOCKER = {"", "none", "no", "n/a", "na", "nope", "nothing", "-", "no blockers", "nil"}

Note = TypeVar("Note")  # an anonymous note, whatever its shape: the rule only passes them on


# ----- weeks ------------------------------------------------------------------------------------


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def covered_week(now: datetime, zone: ZoneInfo) -> date:
    """The Monday of the last complete Monday-Sunday week in `zone` before `now`."""
    return monday_of(now.astimezone(zone).date()) - timedelta(days=7)


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def due_at(week_start: date, zone: ZoneInfo, weekday: str, at: time) -> datetime:
    """When the digest covering the week from `week_start` is sent: the configured weekday and
    time of the following week, in the manager's zone (the setting never changes what a
    digest covers, only when it goes)."""
    day = week_start + timedelta(days=7 + WEEKDAYS.index(weekday))
    return datetime.combine(day, at, tzinfo=zone)


def week_bounds(week_start: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) in `zone`, for instants such as kudos."""
    start = datetime.combine(week_start, time(0), tzinfo=zone)
    end = datetime.combine(week_start + timedelta(days=7), time(0), tzinfo=zone)
    return start, end


def week_label(week_start: date) -> str:
    """ "23–29 Nov", "30 Nov–6 Dec", "28 Dec 2026–3 Jan 2027"."""
    end = week_start + timedelta(days=6)
    if week_start.year != end.year:
        return f"{week_start.day} {week_start:%b %Y}–{end.day} {end:%b %Y}"
    if week_start.month != end.month:
        return f"{week_start.day} {week_start:%b}–{end.day} {end:%b}"
    return f"{week_start.day}–{end.day} {end:%b}"


# ----- answers ----------------------------------------------------------------------------------


def first_pulse_question(questions: Sequence[dict[str, Any]]) -> str | None:
    return next((q["id"] for q in questions if q.get("kind") == "pulse"), None)


def pulse_value(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= 5 else None


def blocker_text(kind: str, value: Any) -> str | None:
    """The blocker an answer reports, or None: a yes/no "yes", or text other than none/no/n/a."""
    if kind == "yes_no":
        return "yes" if value is True or str(value).lower() in {"yes", "true", "y"} else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    word = re.sub(r"[\s.!]+$", "", text.lower())
    return None if word in NOT_A_BLOCKER else text


def average(values: Iterable[float]) -> float | None:
    found = list(values)
    return round(mean(found), 2) if found else None


def change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None:
        return None
    return round(now - before, 2)


def rate(answered: int, prompted: int) -> float | None:
    return answered / prompted if prompted else None


# ----- whom to talk to --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersonWeeks:
    """One person's history, oldest week first, the covered week last."""

    pulses: Sequence[float | None]  # weekly pulse, HISTORY_WEEKS long
    # per template: that template's occurrences' outcomes, oldest first, ending in the covered
    # week: answered, missed or skipped (away and still-open ones are left out)
    outcomes: dict[str, Sequence[str]]
    blocker_now: bool
    blocker_last_week: bool


def reasons(history: PersonWeeks) -> list[str]:
    """Why a manager should talk to this person this week, each in plain words."""
    found: list[str] = []
    pulses = list(history.pulses)
    current = pulses[-1] if pulses else None
    before = [p for p in pulses[-1 - OWN_AVERAGE_WEEKS : -1] if p is not None]
    if current is not None and before:
        own = mean(before)
        if current <= own - PULSE_DROP:
            found.append(f"pulse {current:.1f}, {own - current:.1f} below their 4-week average")
    if (
        len(pulses) >= 2
        and current is not None
        and pulses[-2] is not None
        and current <= LOW_PULSE
        and pulses[-2] <= LOW_PULSE
    ):
        found.append(f"pulse {LOW_PULSE} or lower two weeks running")
    for template, outcomes in sorted(history.outcomes.items()):
        if len(outcomes) >= 2 and outcomes[-1] == outcomes[-2] == CheckinOutcome.MISSED:
            found.append(f"missed the last two {template} check-ins")
    if history.blocker_now and history.blocker_last_week:
        found.append("a blocker still open from last week")
    return found


def spread(values: Iterable[int]) -> list[int]:
    """How many answers were 1, 2, 3, 4 and 5."""
    counts = [0, 0, 0, 0, 0]
    for value in values:
        counts[value - 1] += 1
    return counts


# ----- anonymity --------------------------------------------------------------------------------


def anonymous_release(
    waiting: Sequence[Note], *, sending: bool, reports_answered: int, minimum: int
) -> tuple[list[Note], int]:
    """(the notes released, how many still wait) for the anonymous notes `waiting`.

    Only a digest being sent releases notes, and only once at least `minimum` direct reports
    answered that week: with fewer, the manager could guess who wrote one. Then every waiting
    note goes at once; below it they all wait, and are counted. A preview neither shows them nor
    counts them, so comparing two previews tells nothing."""
    if not sending or not waiting:
        return [], 0
    if reports_answered >= minimum:
        return list(waiting), 0
    return [], len(waiting)
