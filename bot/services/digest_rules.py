"""The digest's arithmetic and rules, on plain values: weeks, how a person's week counts,
pulse, blockers, whom to talk to, when a digest may go, which anonymous notes it releases.

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
LOW_PULSE = 2  # pulse at or below this two weeks running, or before a silent week
TREND_WEEKS = 4  # the weeks of pulse a "whom to talk to" line shows
NO_KUDOS_DAYS = 30
NO_DETAILS = "blocked (no details given)"
GIST_CHARS = 70  # the first words of an answer on a digest's one line per person
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


def monday_of_iso(iso: str) -> date:
    """The Monday of an ISO week written as "2037-W10"."""
    year, week = iso.split("-W")
    return date.fromisocalendar(int(year), int(week), 1)


def ready_at(due: datetime, closes: Iterable[datetime]) -> datetime:
    """When the digest of a week may be written: its send time, or the close of the week's last
    check-in if that is later. Before then an answer may still arrive, and a digest that counted
    the open check-in as a gap would report a drop that never happened; a sent digest never
    changes, so it waits instead."""
    return max([due, *closes])


def held_past_its_turn(week_start: date, zone: ZoneInfo, ready: datetime) -> bool:
    """Whether the digest of `week_start` could only be written once the following week had
    become the covered one (a weekend check-in closing days later, in a zone far west): it is
    then still written, late, rather than never."""
    return ready >= datetime.combine(week_start + timedelta(days=14), time(0), tzinfo=zone)


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


def blocker_text(kind: str, value: Any, detail: Any = None) -> str | None:
    """The blocker an answer reports, in the words a manager reads, or None.

    A yes/no "yes" is what its detail ("What is blocking you?") says, or NO_DETAILS: a bare
    "yes" tells nobody what to unblock. A text answer is a blocker unless it says none/no/n/a."""
    if kind == "yes_no":
        if not (value is True or str(value).lower() in {"yes", "true", "y"}):
            return None
        said = detail.strip() if isinstance(detail, str) else ""
        return said or NO_DETAILS
    if not isinstance(value, str):
        return None
    text = value.strip()
    word = re.sub(r"[\s.!]+$", "", text.lower())
    return None if word in NOT_A_BLOCKER else text


def blocker_age(reported: Sequence[bool]) -> int:
    """How many weeks a blocker has been open at the last of `reported` (one flag per week,
    oldest first): the weeks it was reported in a row up to then. A week that did not report
    one (no blocker, or no answer) ends the run: nothing said it was still there."""
    weeks = 0
    for flag in reversed(reported):
        if not flag:
            break
        weeks += 1
    return weeks


def ordinal(number: int) -> str:
    """ "1st", "2nd", "3rd", "4th", "11th", "22nd"."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def blocker_age_words(weeks: int) -> str:
    """ "new this week", "2nd week": how long a blocker has been open, as a manager says it."""
    return "new this week" if weeks <= 1 else f"{ordinal(weeks)} week"


def first_words(text: str, limit: int = GIST_CHARS) -> str:
    """The start of an answer on one line, cut at a word with "…" when longer than `limit`."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


def answer_gist(questions: Sequence[dict[str, Any]], values: dict[str, Any]) -> str:
    """The first words of what someone said: their first free-text answer that is neither a
    blocker (the digest shows that apart) nor the upward note, else their first choice."""
    for kinds in (("text",), ("choice",)):
        for question in questions:
            if question.get("kind") not in kinds or question.get("anonymous_allowed"):
                continue
            if question.get("blocker"):
                continue
            value = values.get(question["id"])
            if isinstance(value, str) and value.strip():
                return first_words(value)
    return ""


def average(values: Iterable[float]) -> float | None:
    found = list(values)
    return round(mean(found), 2) if found else None


def change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None:
        return None
    return round(now - before, 2)


def rate(answered: int, prompted: int) -> float | None:
    return answered / prompted if prompted else None


# ----- how a person's week counts ---------------------------------------------------------------

# A person's week is the first of these their check-ins that week had: one answer makes it
# answered; a check-in still open may yet be; a skip is no answer, exactly as a miss is.
_WEEK_ORDER = (
    CheckinOutcome.ANSWERED,
    CheckinOutcome.OPEN,
    CheckinOutcome.MISSED,
    CheckinOutcome.SKIPPED,
    CheckinOutcome.AWAY,
)
NO_ANSWER = frozenset({CheckinOutcome.SKIPPED, CheckinOutcome.MISSED})


def week_outcome(outcomes: Iterable[CheckinOutcome]) -> CheckinOutcome | None:
    """How one person's week counts, from the outcomes of their check-ins that week (None: they
    had none). Away only when every check-in was: someone back mid-week was asked."""
    found = set(outcomes)
    return next((o for o in _WEEK_ORDER if o in found), None)


def asked(outcome: CheckinOutcome | None) -> bool:
    """Whether a person's week counts in "N of M answered": away people were never asked."""
    return outcome is not None and outcome != CheckinOutcome.AWAY


# ----- whom to talk to --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GoalCheckin:
    """One of a person's check-ins that carries a goals question: how it went, how many key
    results its goals question asked them about and how many they updated."""

    outcome: CheckinOutcome
    asked: int = 0
    updated: int = 0


@dataclass(frozen=True, slots=True)
class PersonWeeks:
    """One person's history, oldest week first, the covered week last (HISTORY_WEEKS long)."""

    pulses: Sequence[float | None]  # weekly pulse; None for a week without one
    weeks: Sequence[CheckinOutcome | None]  # each week as `week_outcome` counts it
    blocker_now: bool  # reported a blocker this week
    blocker_last_week: bool  # reported one the week before
    # Their key results off track at the end of the covered week and of the week before.
    off_track_twice: Sequence[str] = ()
    # Their check-ins with a goals question, oldest first, up to the covered week's end.
    goal_checkins: Sequence[GoalCheckin] = ()


OFF_TRACK = "off_track"  # goal_progress.Confidence's word, as stored digests keep it


def off_track_twice(now: str | None, before: str | None) -> bool:
    """Off track at the end of the covered week and of the week before: not one bad week, a
    key result that stays down (a result that did not exist a week ago has no `before`)."""
    return now == OFF_TRACK and before == OFF_TRACK



def no_goal_update(checkins: Sequence[GoalCheckin]) -> bool:
    """The person answered their last two check-ins that ask about goals, was asked about key
    results in both, and updated none: the form was clicked through.

    Check-ins they were away for are passed over (never asked); one skipped, missed or still
    open breaks the run (the silent-week rules speak for those, and an open one may yet carry
    an update). A check-in that asked about no key result (they owned none then) is no sign."""
    counted = [c for c in checkins if c.outcome != CheckinOutcome.AWAY][-2:]
    return len(counted) == 2 and all(
        c.outcome == CheckinOutcome.ANSWERED and c.asked > 0 and c.updated == 0 for c in counted
    )


def reasons(history: PersonWeeks) -> list[str]:
    """Why a manager should talk to this person this week, each in plain words.

    The silent weeks are rules of their own: someone whose pulse fell and who then stops
    answering has no pulse this week to flag, and would otherwise vanish from the digest."""
    found: list[str] = []
    pulses = list(history.pulses)
    current = pulses[-1] if pulses else None
    own = _own_average(pulses, len(pulses) - 1)
    if current is not None and own is not None and current <= own - PULSE_DROP:
        found.append(f"pulse {current:.1f}, {own - current:.1f} below their 4-week average")
    if (
        len(pulses) >= 2
        and current is not None
        and pulses[-2] is not None
        and current <= LOW_PULSE
        and pulses[-2] <= LOW_PULSE
    ):
        found.append(f"pulse {LOW_PULSE} or lower two weeks running")
    weeks = list(history.weeks)
    this_week = weeks[-1] if weeks else None
    if this_week in NO_ANSWER:
        assert this_week is not None
        quiet = _quiet_after_low(pulses, this_week)
        if quiet is not None and history.blocker_last_week:
            quiet += ", with a blocker reported the week before"
        if quiet is not None:
            found.append(quiet)
        counted = [w for w in weeks if asked(w)]
        if len(counted) >= 2 and counted[-2] in NO_ANSWER:
            found.append(f"no answer two weeks running ({counted[-2]}, then {this_week})")
    if history.blocker_now and history.blocker_last_week:
        found.append("a blocker still open from last week")
    if history.off_track_twice:
        titles = ", ".join(history.off_track_twice)
        found.append(f"off track two weeks running: {titles}")
    if no_goal_update(history.goal_checkins):
        found.append("no goal update in their last two check-ins")
    return found


def last_pulse(pulses: Sequence[float | None]) -> float | None:
    """The person's latest weekly pulse, this week's or an earlier one."""
    return next((p for p in reversed(pulses) if p is not None), None)


def trend(pulses: Sequence[float | None]) -> list[float | None]:
    """The last TREND_WEEKS weekly pulses, oldest first, None for a week without one."""
    return list(pulses[-TREND_WEEKS:])


def _own_average(pulses: Sequence[float | None], index: int) -> float | None:
    """The mean of the person's pulses in the OWN_AVERAGE_WEEKS before week `index`."""
    before = [p for p in pulses[max(0, index - OWN_AVERAGE_WEEKS) : max(0, index)] if p is not None]
    return mean(before) if before else None


def _quiet_after_low(pulses: Sequence[float | None], this_week: CheckinOutcome) -> str | None:
    """No answer this week after a last pulse that was low, or well below their own average."""
    index = next((i for i in range(len(pulses) - 2, -1, -1) if pulses[i] is not None), None)
    if index is None:
        return None
    last = pulses[index]
    assert last is not None
    said = f"no answer this week ({this_week}) after a pulse of {pulse_words(last)}"
    if last <= LOW_PULSE:
        return said
    own = _own_average(pulses, index)
    if own is not None and last <= own - PULSE_DROP:
        return f"{said}, {own - last:.1f} below their 4-week average"
    return None


def pulse_words(value: float) -> str:
    """ "2", "2.5": a weekly pulse as a person would say it."""
    return f"{round(value, 1):g}"


def spread(values: Iterable[int]) -> list[int]:
    """How many answers were 1, 2, 3, 4 and 5."""
    counts = [0, 0, 0, 0, 0]
    for value in values:
        counts[value - 1] += 1
    return counts


_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def spread_words(counts: Sequence[int]) -> str:
    """How the pulse answers spread, as a person would say it: "mostly 4s; one 2", "all 3s",
    "two 3s, two 4s, one 5". The low ones are named, whatever their share: they are the ones a
    manager looks for."""
    total = sum(counts)
    if not total:
        return ""
    found = [(score, n) for score, n in enumerate(counts, 1) if n]

    def said(score: int, n: int) -> str:
        number = _NUMBERS[n] if n < len(_NUMBERS) else str(n)
        return f"{number} {score}" + ("s" if n > 1 else "")

    if len(found) == 1:
        score, n = found[0]
        return said(score, n) if n == 1 else f"all {score}s"
    top_score, top = max(found, key=lambda item: (item[1], item[0]))
    if top * 2 > total:
        rest = ", ".join(said(score, n) for score, n in found if score != top_score)
        return f"mostly {top_score}s; {rest}"
    return ", ".join(said(score, n) for score, n in found)


# ----- anonymity --------------------------------------------------------------------------------


def notes_window(
    week: date,
    *,
    first_digest: date | None,
    last_cleared: date | None,
    oldest_note: date | None,
) -> date:
    """The first week of the span a batch of anonymous notes released with the digest of `week`
    is said to come from ("written in the last N weeks"), as its reader can tell it.

    Not the oldest note's week: the span's length would then date that note. A reader knows
    which earlier digests had enough answerers to release whatever waited (`last_cleared`, the
    latest); one that released nothing then proves nothing waited, so a note released now was
    written after it, and could have been written in any week since. Before any such digest,
    the span starts with the manager's first digest. A note older than the span (written before
    the first digest) stretches it back to its own week."""
    if last_cleared is not None:
        start = last_cleared + timedelta(days=7)
    elif first_digest is not None:
        start = first_digest
    else:
        start = week
    if oldest_note is not None:
        start = min(start, oldest_note)
    return min(start, week)


def weeks_in(first: date, last: date) -> int:
    """How many Monday-Sunday weeks from the week of `first` to the week of `last`, both in."""
    return (monday_of(last) - monday_of(first)).days // 7 + 1


def anonymous_release(
    waiting: Sequence[Note], *, sending: bool, answerers: int, minimum: int
) -> tuple[list[Note], bool]:
    """(the notes released, whether the span cleared the minimum) for the notes `waiting`.

    `answerers`: the people who answered in the weeks the batch's notes come from, that is the
    distinct direct reports with at least one answered check-in in any week of its span
    (`notes_window` to the covered week). Those are the people a reader could suspect of any
    note in the batch; template members who are not direct reports write their notes to their
    own manager, so they are not among them. Only a digest being sent releases, and only when
    they number at least `minimum`: then every waiting note goes at once, labelled by the span,
    never by a week. Below it nothing is released and nothing says that a note waits, so a
    digest with fewer answerers reads the same whether or not someone wrote one. Whether the
    span cleared is recorded with the sent digest: the next span starts after it."""
    cleared = sending and answerers >= minimum
    return (list(waiting) if cleared and waiting else []), cleared
