"""The digest's Goals section and its goal rules, computed from rows already read: no Session.

Everything is judged as the covered week ended (Monday 00:00 in the manager's zone) and, for
the change and "off track two weeks running", as the week before ended: a key result's value,
confidence and note are those of its latest update before that instant, and its pace is the
share of the cycle elapsed by that week's Sunday. A digest built on Monday morning or a week
later reads the same.

Private goals: the manager reads those of the people below them (and their own); any other
private objective holding a direct report's key result stays out of the digest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.services import digest_rules as rules
from bot.services import goal_checkin, goal_progress
from bot.services.digest_data import GoalFlag, GoalLine
from bot.services.goal_access import GoalState, Visibility
from bot.services.goal_cycles import BadCycle, expected, parse
from bot.services.goal_progress import Confidence, Measure, ResultNumbers
from bot.services.states import CheckinOutcome
from storage.goal_digest import KudosGoalRow, ObjectiveRow, ResultRow, UpdateRow

_TEAM_KIND = "team"


@dataclass(frozen=True, slots=True)
class GoalInputs:
    """What the Goals section is computed from (`digest.load` reads it)."""

    cycle: str  # the cycle holding the covered week's Sunday
    objectives: list[ObjectiveRow]
    results: list[ResultRow]
    before: dict[int, UpdateRow]  # each result's latest update before the covered week
    during: dict[int, UpdateRow]  # its latest update in the covered week
    kudos: list[KudosGoalRow] = field(default_factory=list)  # the goals the week's kudos named
    # Whose private goals the manager may read: theirs and everyone's below them.
    chain_below: frozenset[str] = frozenset()
    stale_days: int = 14


@dataclass
class GoalSection:
    cycle: str = ""
    expected: float | None = None
    lines: list[GoalLine] = field(default_factory=list)
    flags: list[GoalFlag] = field(default_factory=list)
    stale: list[GoalFlag] = field(default_factory=list)
    # {direct report: their key results off track at both weeks' ends}, in their order.
    off_track_twice: dict[str, list[str]] = field(default_factory=dict)
    # Direct reports who own a key result of the cycle at the week's end.
    owners: set[str] = field(default_factory=set)


def compute(
    goals: GoalInputs | None,
    *,
    manager_id: str,
    reports: Sequence[str],
    week: date,
    zone: ZoneInfo,
) -> GoalSection:
    """The Goals section of the week from Monday `week` in the manager's `zone`."""
    section = GoalSection()
    if goals is None:
        return section
    try:
        cycle = parse(goals.cycle)
    except BadCycle:
        return section
    start, end = rules.week_bounds(week, zone)
    sunday, sunday_before = week + timedelta(days=6), week - timedelta(days=1)
    team = set(reports)
    owners = {manager_id, *team}
    shown = {
        o.id: o
        for o in goals.objectives
        if _live(o, start, end) and _readable(o, manager_id, goals.chain_below)
    }
    by_objective: dict[int, list[ResultRow]] = defaultdict(list)
    for result in goals.results:
        if result.objective_id in shown and result.created_at < end:
            by_objective[result.objective_id].append(result)
    team_objectives = [o for o in shown.values() if o.kind == _TEAM_KIND and o.owner_id in owners]

    # Each result judged once at each instant, whichever lines and rules read it.
    at_end: dict[int, ResultNumbers] = {}
    status_end: dict[int, Confidence] = {}
    at_start: dict[int, ResultNumbers | None] = {}
    for results in by_objective.values():
        for result in results:
            last = goals.during.get(result.id) or goals.before.get(result.id)
            at_end[result.id] = numbers = _numbers(result, last)
            status_end[result.id] = goal_progress.status(numbers, cycle, sunday)
            at_start[result.id] = (
                _numbers(result, goals.before.get(result.id)) if result.created_at < start else None
            )

    for objective in sorted(team_objectives, key=lambda o: (o.owner_id != manager_id, o.id)):
        mine = by_objective.get(objective.id, [])
        progress = goal_progress.objective_progress([at_end[r.id] for r in mine])
        before = (
            goal_progress.objective_progress(
                [n for r in mine if (n := at_start[r.id]) is not None]
            )
            if objective.created_at < start
            else None
        )
        status = goal_progress.worst(status_end[r.id] for r in mine)
        section.lines.append(
            GoalLine(
                objective.id,
                objective.title,
                objective.owner_id,
                round(progress, 4) if progress is not None else None,
                round((progress - before) * 100, 1)
                if progress is not None and before is not None
                else None,
                round(expected(cycle, sunday), 4),
                status.value if status else None,
            )
        )
    team_ids = {o.id for o in team_objectives}
    for objective_id, mine in by_objective.items():
        for result in mine:
            if objective_id not in team_ids and result.owner_id not in team:
                continue  # another team's key result in an objective a report serves
            numbers, status = at_end[result.id], status_end[result.id]
            last = goals.during.get(result.id) or goals.before.get(result.id)
            stale = goal_progress.is_stale(numbers, end, goals.stale_days)
            since = numbers.last_update_at or numbers.created_at
            flag = GoalFlag(
                result.id,
                result.title,
                shown[objective_id].title,
                result.owner_id,
                status.value,
                round(goal_progress.progress(numbers), 4),
                last.note if last else "",
                (end - since).days if stale and since is not None else None,
                numbers.measure == Measure.MILESTONE,
            )
            if status != Confidence.ON_TRACK:
                section.flags.append(flag)
            elif stale:
                section.stale.append(flag)
            earlier = at_start[result.id]
            if result.owner_id in team and status == Confidence.OFF_TRACK and earlier is not None:
                before_status = goal_progress.status(earlier, cycle, sunday_before).value
                if rules.off_track_twice(status.value, before_status):
                    section.off_track_twice.setdefault(result.owner_id, []).append(result.title)
    section.flags.sort(key=lambda f: (f.status != Confidence.OFF_TRACK, f.user_id, f.result_id))
    section.stale.sort(key=lambda f: (f.user_id, f.result_id))
    live = {o.id for o in goals.objectives if _live(o, start, end)}
    section.owners = {
        r.owner_id
        for r in goals.results
        if r.owner_id in team and r.created_at < end and r.objective_id in live
    }
    if section.lines or section.flags or section.stale or section.owners:
        section.cycle = cycle.name
        section.expected = round(expected(cycle, sunday), 4)
    return section


def kudos_by_goal(
    goals: GoalInputs | None, manager_id: str, in_week: Iterable[int]
) -> list[tuple[str, int]]:
    """The week's kudos (counted once each, however many recipients) by the goal they named,
    most first; a private goal the manager may not read is left out."""
    if goals is None:
        return []
    week_ids = set(in_week)
    counted: dict[str, set[int]] = defaultdict(set)
    for row in goals.kudos:
        if row.kudos_id not in week_ids:
            continue
        if row.visibility == Visibility.PRIVATE and not (
            row.owner_id == manager_id or row.owner_id in goals.chain_below
        ):
            continue
        counted[row.title].add(row.kudos_id)
    return sorted(((t, len(k)) for t, k in counted.items()), key=lambda i: (-i[1], i[0]))


def goal_checkins(
    occurrences: Sequence[Any],
    outcome: Mapping[int, CheckinOutcome],
    answers: Mapping[int, Mapping[str, Any]],
    goals_question: Mapping[int, str | None],
    end_day: date,
) -> dict[str, list[rules.GoalCheckin]]:
    """{person: their check-ins with a goals question up to `end_day`, oldest first}, each
    with how many key results it asked about and how many the answer updated."""
    found: dict[str, list[rules.GoalCheckin]] = defaultdict(list)
    for row in sorted(occurrences, key=lambda r: (r.local_date, r.id)):
        question = goals_question.get(row.template_id)
        if question is None or row.local_date > end_day:
            continue
        lines = goal_checkin.entries(answers.get(row.id, {}).get(question))
        found[row.user_id].append(
            rules.GoalCheckin(
                outcome[row.id],
                asked=len(lines),
                updated=sum(1 for line in lines if line.get("after") is not None),
            )
        )
    return found


def _numbers(result: ResultRow, last: UpdateRow | None) -> ResultNumbers:
    return ResultNumbers(
        measure=Measure(result.measure),
        start=result.start,
        target=result.target,
        current=last.value if last else result.start,
        weight=result.weight,
        last_confidence=Confidence(last.confidence) if last else None,
        last_update_at=last.created_at if last else None,
        created_at=result.created_at,
    )


def _live(objective: ObjectiveRow, start: datetime, end: datetime) -> bool:
    """Active during the covered week: made before its end, not a draft, not closed before
    it began."""
    if objective.created_at >= end or objective.state == GoalState.DRAFT:
        return False
    if objective.state == GoalState.CLOSED:
        return objective.closed_at is not None and objective.closed_at >= start
    return True


def _readable(objective: ObjectiveRow, manager_id: str, below: frozenset[str]) -> bool:
    if objective.visibility != Visibility.PRIVATE:
        return True
    return objective.owner_id == manager_id or objective.owner_id in below

