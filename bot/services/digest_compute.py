"""The weekly digest computed from rows already read: no Session, no Slack, no clock but `now`.

`digest.load` reads `DigestInputs` in a fixed number of statements; `compute` turns them into
`DigestData`, so every number and rule of a digest can be tested on literal rows.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.services import digest_goals, goal_checkin
from bot.services import digest_rules as rules
from bot.services.digest_data import (
    Absent,
    AnswerLine,
    Blocker,
    Built,
    ChartWeek,
    DigestData,
    SkipLine,
    TalkTo,
    TemplateLine,
)
from bot.services.states import CheckinOutcome, EmptyReason, OccurrenceState
from bot.services.templates import detail_id
from storage.digest import KudosRow, NoteRow, OccurrenceRow, SubtreeRow

SUMMARY_CHARS = 280
# Left out of who was prompted: someone away was never asked, and an open check-in may yet be
# answered.
_NOT_PROMPTED = frozenset({CheckinOutcome.AWAY, CheckinOutcome.OPEN})
_RANDOM = random.SystemRandom()


# ----- the inputs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestTemplate:
    """A check-in template reduced to what a digest reads of it: a plain value, so `compute`
    holds no ORM row and tests write templates as literals."""

    id: int
    name: str
    active: bool
    questions: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class DigestInputs:
    """Every row one manager's digest of one week is computed from."""

    manager_id: str
    week: date  # the Monday of the covered week
    zone: ZoneInfo  # the manager's: the week's bounds for kudos
    reports: list[tuple[str, bool]]  # direct reports, each with whether they manage anyone
    owned: list[DigestTemplate]  # the manager's own templates, by id
    templates: dict[int, DigestTemplate]  # every template `occurrences` and `subtree` name
    # The reports' occurrences (any template) and the owned templates' (anyone), the
    # HISTORY_WEEKS up to the covered week, by date.
    occurrences: list[OccurrenceRow]
    # {occurrence: {question: value}}: whole for the covered week and the one before (their
    # text is shown or compared), only the pulse question for older weeks.
    answers: dict[int, dict[str, Any]]
    # {occurrence: [(author, text, when)]} for the covered week's answers to owned templates.
    replies: dict[int, list[tuple[str, str, datetime]]]
    kudos: list[KudosRow]  # received by the team, over `kudos_window`
    notes: list[NoteRow]  # the week's named notes and every anonymous note still waiting
    below: dict[str, str]  # {person: the direct report whose subtree they are in}
    subtree: list[SubtreeRow]  # their occurrences, the covered week and the one before
    subtree_answers: dict[int, dict[str, Any]]  # the pulse answers of those answered
    # The first week the anonymous notes this digest may release are said to come from
    # (`rules.notes_window`), and the people with an answered check-in in any week from it to
    # the covered week (only direct reports count).
    notes_window: date | None = None
    notes_answerers: frozenset[str] = frozenset()
    goals: digest_goals.GoalInputs | None = None  # None: goals were not read


def team_of(
    report_ids: Iterable[str], occurrences: Iterable[OccurrenceRow], owned_ids: set[int]
) -> list[str]:
    """Whose pulse, kudos and check-ins the digest follows: the direct reports, and anyone
    else in the manager's own templates."""
    return sorted(set(report_ids) | {r.user_id for r in occurrences if r.template_id in owned_ids})


def kudos_window(week: date, zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """The kudos a digest reads: the covered week's, and the last NO_KUDOS_DAYS' before `now`."""
    start, end = rules.week_bounds(week, zone)
    cutoff = now - timedelta(days=rules.NO_KUDOS_DAYS)
    return min(start, cutoff), max(end, now)


# ----- computing --------------------------------------------------------------------------------


def compute(
    inputs: DigestInputs, now: datetime, *, anonymity_min: int, release: bool = False
) -> Built:
    """The digest of `inputs` as of `now`, with the anonymous notes it releases.

    `release`: this digest is being sent, so anonymous notes may be released in it.
    """
    week = inputs.week
    first = week - timedelta(weeks=rules.HISTORY_WEEKS - 1)
    data = DigestData(
        manager_id=inputs.manager_id,
        iso_week=rules.iso_week(week),
        week_start=week.isoformat(),
        week_label=rules.week_label(week),
        sent=release,
        anonymity_min=anonymity_min,
    )
    data.reports = [user_id for user_id, _ in inputs.reports]
    owned_ids = {t.id for t in inputs.owned}
    rows = inputs.occurrences
    templates = inputs.templates
    pulse_ids = {t.id: rules.first_pulse_question(t.questions) for t in templates.values()}
    team = team_of(data.reports, rows, owned_ids)
    weeks = [first + timedelta(weeks=i) for i in range(rules.HISTORY_WEEKS)]
    week_rows = [r for r in rows if r.local_date >= week]
    outcome = {r.id: _outcome(r, now) for r in rows}
    pulses = _pulses(rows, inputs.answers, pulse_ids)
    person_weeks = _person_weeks(rows, outcome)

    _counts(data, week_rows, outcome, owned_ids)
    answered = _people(data, person_weeks, week)
    _pulse(data, pulses, team, week, week_rows, inputs.answers, pulse_ids, answered)
    data.chart = _chart(weeks, rows, outcome, pulses, team)
    data.blockers, blocked_last_week = _blockers(rows, inputs.answers, templates, owned_ids, weeks)
    goals = digest_goals.compute(
        inputs.goals,
        manager_id=inputs.manager_id,
        reports=data.reports,
        week=week,
        zone=inputs.zone,
    )
    data.goals_cycle, data.goals_expected = goals.cycle, goals.expected
    data.goals, data.goal_flags, data.goal_stale = goals.lines, goals.flags, goals.stale
    goal_checkins = digest_goals.goal_checkins(
        [r for r in rows if r.user_id in goals.owners],
        outcome,
        inputs.answers,
        {t.id: _goals_question(t.questions) for t in templates.values()},
        week + timedelta(days=6),
    )
    data.talk_to = _talk_to(
        team,
        weeks,
        person_weeks,
        pulses,
        data.blockers,
        blocked_last_week,
        goals.off_track_twice,
        goal_checkins,
    )
    data.participation = _participation(inputs.owned, rows, outcome, week)
    _answers(data, inputs, week_rows, owned_ids, pulses)
    _kudos(data, inputs.kudos, week, inputs.zone, now)
    data.kudos_by_goal = digest_goals.kudos_by_goal(
        inputs.goals, inputs.manager_id, week_kudos(inputs.kudos, week, inputs.zone)
    )
    released, met = _notes(data, inputs, sending=release)
    data.skip_level = _skip_level(inputs, pulse_ids, anonymity_min)
    data.empty_reason = _empty_reason(data, week_rows, owns_checkins=bool(inputs.owned))
    return Built(data, released, met)


def summary(
    questions: Sequence[Mapping[str, Any]], values: Mapping[str, Any], reader: str | None = None
) -> str:
    """The answers on one line each, cut short; View more shows them whole."""
    parts = [
        f"{question['text']} {shown}"
        for question, shown in answer_words(questions, values, reader)
    ]
    text = "\n".join(parts)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def answer_words(
    questions: Sequence[Mapping[str, Any]],
    values: Mapping[str, Any],
    reader: str | None = None,
) -> list[tuple[Mapping[str, Any], str]]:
    """(question, its answer in words) for each answered question but the upward note: a yes/no
    blocker reads as what blocks (its detail, or "blocked (no details given)"), never "yes"; a
    goals answer is a line per key result `reader` may read (None: the member's own)."""
    found = []
    for question in questions:
        if question.get("anonymous_allowed") or question["id"] not in values:
            continue
        value = values[question["id"]]
        if question.get("kind") == "goals":
            lines = [
                f"• {goal_checkin.result_line(entry)}"
                for entry in goal_checkin.entries(value)
                if goal_checkin.visible(entry, reader)
            ]
            if lines:
                found.append((question, "\n".join(lines)))
            continue
        if question.get("kind") == "yes_no" and question.get("blocker"):
            said = rules.blocker_text("yes_no", value, values.get(detail_id(question["id"])))
            value = said if said is not None else "no"
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        found.append((question, str(value)))
    return found


# ----- pieces -----------------------------------------------------------------------------------


def week_kudos(received: Iterable[KudosRow], week: date, zone: ZoneInfo) -> set[int]:
    """The ids of the kudos given in the covered week (in the manager's zone)."""
    start, end = rules.week_bounds(week, zone)
    return {k.kudos_id for k in received if start <= k.created_at < end}


def _goals_question(questions: Sequence[Mapping[str, Any]]) -> str | None:
    found = goal_checkin.question_of(questions)
    return str(found["id"]) if found is not None else None


def _kudos(
    data: DigestData, received: list[KudosRow], week: date, zone: ZoneInfo, now: datetime
) -> None:
    """The week's kudos (one to two people counts twice), by value, and which direct reports
    received none in the last NO_KUDOS_DAYS."""
    start, end = rules.week_bounds(week, zone)
    cutoff = now - timedelta(days=rules.NO_KUDOS_DAYS)
    in_week = {(k.kudos_id, k.recipient_id) for k in received if start <= k.created_at < end}
    data.kudos = len(in_week)
    by_value: dict[str, int] = defaultdict(int)
    for k in {(k.kudos_id, k.recipient_id, k.value) for k in received}:
        if (k[0], k[1]) in in_week and k[2]:
            by_value[k[2]] += 1
    data.kudos_by_value = sorted(by_value.items(), key=lambda item: (-item[1], item[0]))
    data.value_tags = sum(by_value.values())
    recent = {k.recipient_id for k in received if cutoff <= k.created_at < now}
    data.no_kudos = [u for u in data.reports if u not in recent]


def _pulse(
    data: DigestData,
    pulses: dict[tuple[str, date], float],
    team: list[str],
    week: date,
    week_rows: list[OccurrenceRow],
    answers: dict[int, dict[str, Any]],
    pulse_ids: dict[int, str | None],
    answered: set[str],
) -> None:
    """The team's pulse (the mean over people), whom it leaves out, its change, and how answers
    spread.

    The change is measured on the people who gave a pulse both weeks: against everyone's
    average, the lowest scorer going silent would read as the team feeling better."""
    current = [pulses[(u, week)] for u in team if (u, week) in pulses]
    last_week = week - timedelta(days=7)
    data.pulse = rules.average(current)
    data.pulse_people = len(current)
    data.no_pulse = sorted(u for u in answered if (u, week) not in pulses)
    both = [u for u in team if (u, week) in pulses and (u, last_week) in pulses]
    data.pulse_change = rules.average(pulses[(u, week)] - pulses[(u, last_week)] for u in both)
    data.pulse_change_people = len(both)
    data.spread = rules.spread(
        v
        for r in week_rows
        if r.state == OccurrenceState.ANSWERED and pulse_ids.get(r.template_id)
        for v in [rules.pulse_value(answers.get(r.id, {}).get(pulse_ids[r.template_id] or ""))]
        if v is not None
    )


def _answers(
    data: DigestData,
    inputs: DigestInputs,
    week_rows: list[OccurrenceRow],
    owned_ids: set[int],
    pulses: dict[tuple[str, date], float],
) -> None:
    """The week's answers to the manager's own templates, one line per person (their pulse, the
    first words of their answer, their blocker), and which answers got a reply. The manager
    already read each answer by DM: the line only reminds, View more shows it whole."""
    answered = [
        r for r in week_rows if r.state == OccurrenceState.ANSWERED and r.template_id in owned_ids
    ]
    # Follow-through: answers someone other than the member wrote under (the manager's reply).
    replied = {
        r.id for r in answered if any(a != r.user_id for a, _, _ in inputs.replies.get(r.id, []))
    }
    by_person: dict[str, list[OccurrenceRow]] = defaultdict(list)
    for row in sorted(answered, key=lambda r: (r.user_id, r.local_date, r.id)):
        by_person[row.user_id].append(row)
    blockers: dict[str, str] = {}
    for blocker in data.blockers:
        blockers.setdefault(blocker.user_id, blocker.text)
    data.answers = []
    for user_id, mine in by_person.items():
        latest = mine[-1]
        shapes = [inputs.templates[r.template_id] for r in mine]
        said = [
            rules.answer_gist(t.questions, inputs.answers.get(r.id, {}))
            for r, t in reversed(list(zip(mine, shapes, strict=True)))
        ]
        data.answers.append(
            AnswerLine(
                user_id=user_id,
                occurrence_id=latest.id,
                template=", ".join(dict.fromkeys(t.name for t in shapes)),
                summary=summary(
                    inputs.templates[latest.template_id].questions,
                    inputs.answers.get(latest.id, {}),
                    inputs.manager_id,
                ),
                replied=any(r.id in replied for r in mine),
                occurrence_ids=[r.id for r in mine],
                pulse=pulses.get((user_id, inputs.week)),
                gist=next((words for words in said if words), ""),  # the latest that said any
                blocker=blockers.get(user_id),
            )
        )
    data.replied = len(replied)


def _notes(data: DigestData, inputs: DigestInputs, *, sending: bool) -> tuple[list[str], bool]:
    """The week's named notes, and the anonymous ones this digest releases: (their ids, whether
    the span of weeks they are said to come from cleared the minimum)."""
    notes = inputs.notes
    data.named_notes = [(n.author_id or "", n.text) for n in notes if not n.anonymous]
    window = inputs.notes_window or inputs.week
    released, met = rules.anonymous_release(
        [n for n in notes if n.anonymous],
        sending=sending,
        answerers=len(inputs.notes_answerers & set(data.reports)),
        minimum=data.anonymity_min,
    )
    _RANDOM.shuffle(released)  # nothing in their order may hint at who wrote which
    data.anonymous_notes = [n.text for n in released]
    data.anonymous_released = len(released)
    data.anonymous_weeks = rules.weeks_in(window, inputs.week) if released else 0
    return [n.id for n in released], met


def _outcome(row: OccurrenceRow, now: datetime) -> CheckinOutcome:
    """answered | missed | skipped | away | open, as of `now` (a pending one past its close
    time is missed even if the closing job has not run yet)."""
    if row.state == OccurrenceState.PENDING:
        return CheckinOutcome.OPEN if row.closes_at > now else CheckinOutcome.MISSED
    return CheckinOutcome(row.state)


def _person_weeks(
    rows: list[OccurrenceRow], outcome: dict[int, CheckinOutcome]
) -> dict[tuple[str, date], CheckinOutcome]:
    """{(person, week Monday): how their week counts} for every week they had a check-in."""
    found: dict[tuple[str, date], list[CheckinOutcome]] = defaultdict(list)
    for row in rows:
        found[(row.user_id, rules.monday_of(row.local_date))].append(outcome[row.id])
    return {
        key: counted
        for key, outcomes in found.items()
        if (counted := rules.week_outcome(outcomes)) is not None
    }


def _people(
    data: DigestData, person_weeks: dict[tuple[str, date], CheckinOutcome], week: date
) -> set[str]:
    """Participation in people: who answered, of those asked, and everyone else by name with
    how their week went (a skip is no answer, as a miss is). Returns who answered."""
    answered: set[str] = set()
    asked = 0
    for (user_id, monday), counted in sorted(person_weeks.items()):
        if monday != week:
            continue
        asked += rules.asked(counted)
        if counted == CheckinOutcome.ANSWERED:
            answered.add(user_id)
        else:
            data.absent.append(Absent(user_id, counted))
    data.people_answered, data.people_prompted = len(answered), asked
    return answered


def _counts(
    data: DigestData,
    week_rows: list[OccurrenceRow],
    outcome: dict[int, CheckinOutcome],
    owned: set[int],
) -> None:
    """Participation in check-ins: answered of those decided (skipped and missed ones count
    as not answered; open ones are counted apart, away ones not at all)."""
    for row in week_rows:
        state = outcome[row.id]
        if state in _NOT_PROMPTED:
            data.still_open += state == CheckinOutcome.OPEN
            continue
        data.prompted += 1
        data.answered += state == CheckinOutcome.ANSWERED
        if row.template_id not in owned:
            data.other_prompted += 1
            data.other_answered += state == CheckinOutcome.ANSWERED


def _pulses(
    rows: list[OccurrenceRow],
    answers: dict[int, dict[str, Any]],
    pulse_ids: dict[int, str | None],
) -> dict[tuple[str, date], float]:
    """{(person, week Monday): the mean of their first-pulse-question answers that week}."""
    found: dict[tuple[str, date], list[int]] = defaultdict(list)
    for row in rows:
        question = pulse_ids.get(row.template_id)
        if row.state != OccurrenceState.ANSWERED or question is None:
            continue
        value = rules.pulse_value(answers.get(row.id, {}).get(question))
        if value is not None:
            found[(row.user_id, rules.monday_of(row.local_date))].append(value)
    return {key: sum(values) / len(values) for key, values in found.items()}


def _chart(
    weeks: list[date],
    rows: list[OccurrenceRow],
    outcome: dict[int, CheckinOutcome],
    pulses: dict[tuple[str, date], float],
    team: list[str],
) -> list[ChartWeek]:
    """Pulse and participation per week; a week with a check-in still open is marked
    unfinished, so it is never read as a fall."""
    prompted: dict[date, int] = defaultdict(int)
    answered: dict[date, int] = defaultdict(int)
    unfinished: set[date] = set()
    for row in rows:
        state = outcome[row.id]
        if state == CheckinOutcome.OPEN:
            unfinished.add(rules.monday_of(row.local_date))
        if state in _NOT_PROMPTED:
            continue
        monday = rules.monday_of(row.local_date)
        prompted[monday] += 1
        answered[monday] += state == CheckinOutcome.ANSWERED
    return [
        ChartWeek(
            label=f"{monday.day} {monday:%b}",
            pulse=rules.average(pulses[(u, monday)] for u in team if (u, monday) in pulses),
            participation=rules.rate(answered[monday], prompted[monday]),
            unfinished=monday in unfinished,
        )
        for monday in weeks
    ]


def _blockers(
    rows: list[OccurrenceRow],
    answers: dict[int, dict[str, Any]],
    templates: dict[int, DigestTemplate],
    owned: set[int],
    weeks: list[date],
) -> tuple[list[Blocker], set[str]]:
    """This week's blockers in the manager's own templates, each with what blocks, who raised
    it and for how many weeks running it has been reported; and who reported one the week
    before."""
    week = weeks[-1]
    last_week = week - timedelta(days=7)
    reported: dict[tuple[str, date], list[tuple[str, str, str]]] = defaultdict(list)
    for row in rows:
        if row.state != OccurrenceState.ANSWERED or row.template_id not in owned:
            continue
        monday = rules.monday_of(row.local_date)
        template = templates[row.template_id]
        values = answers.get(row.id, {})
        for question in template.questions:
            if not question.get("blocker"):
                continue
            text = rules.blocker_text(
                str(question.get("kind")),
                values.get(question["id"]),
                values.get(detail_id(question["id"])),
            )
            if text is not None:
                reported[(row.user_id, monday)].append((template.name, question["text"], text))
    blockers = []
    for (user_id, monday), items in sorted(reported.items()):
        if monday != week:
            continue
        age = rules.blocker_age([(user_id, w) in reported for w in weeks])
        blockers += [
            Blocker(user_id, template, question, text, age >= 2, weeks=age)
            for template, question, text in items
        ]
    return blockers, {user_id for user_id, monday in reported if monday == last_week}


def _talk_to(
    team: list[str],
    weeks: list[date],
    person_weeks: dict[tuple[str, date], CheckinOutcome],
    pulses: dict[tuple[str, date], float],
    blockers: list[Blocker],
    blocked_last_week: set[str],
    off_track_twice: Mapping[str, list[str]] | None = None,
    goal_checkins: Mapping[str, list[rules.GoalCheckin]] | None = None,
) -> list[TalkTo]:
    blocked_now = {b.user_id for b in blockers}
    found = []
    for user_id in team:
        history = rules.PersonWeeks(
            pulses=[pulses.get((user_id, w)) for w in weeks],
            weeks=[person_weeks.get((user_id, w)) for w in weeks],
            blocker_now=user_id in blocked_now,
            blocker_last_week=user_id in blocked_last_week,
            off_track_twice=(off_track_twice or {}).get(user_id, ()),
            goal_checkins=(goal_checkins or {}).get(user_id, ()),
        )
        why = rules.reasons(history)
        if why:
            found.append(
                TalkTo(
                    user_id,
                    why,
                    rules.last_pulse(history.pulses),
                    rules.trend(history.pulses),
                )
            )
    return found


def _participation(
    owned: list[DigestTemplate],
    rows: list[OccurrenceRow],
    outcome: dict[int, CheckinOutcome],
    week: date,
) -> list[TemplateLine]:
    last_week = week - timedelta(days=7)
    lines = []
    for template in owned:
        mine = [r for r in rows if r.template_id == template.id]
        now_rows = [r for r in mine if r.local_date >= week]
        before_rows = [r for r in mine if last_week <= r.local_date < week]
        if not now_rows and not template.active:
            continue
        answered, prompted = _tally(now_rows, outcome)
        answered_before, prompted_before = _tally(before_rows, outcome)
        now_rate = rules.rate(answered, prompted)
        before_rate = rules.rate(answered_before, prompted_before)
        lines.append(
            TemplateLine(
                name=template.name,
                answered=answered,
                prompted=prompted,
                change=(
                    round((now_rate - before_rate) * 100, 1)
                    if now_rate is not None and before_rate is not None
                    else None
                ),
                missed=sorted(
                    {r.user_id for r in now_rows if outcome[r.id] == CheckinOutcome.MISSED}
                ),
                skipped=sorted(
                    {r.user_id for r in now_rows if outcome[r.id] == CheckinOutcome.SKIPPED}
                ),
                still_open=sorted(
                    {r.user_id for r in now_rows if outcome[r.id] == CheckinOutcome.OPEN}
                ),
            )
        )
    return lines


def _tally(rows: list[OccurrenceRow], outcome: dict[int, CheckinOutcome]) -> tuple[int, int]:
    counted = [r for r in rows if outcome[r.id] not in _NOT_PROMPTED]
    return sum(1 for r in counted if outcome[r.id] == CheckinOutcome.ANSWERED), len(counted)


def _skip_level(
    inputs: DigestInputs, pulse_ids: dict[int, str | None], anonymity_min: int
) -> list[SkipLine]:
    """One line per report who manages people: counts only, no names; small groups hidden."""
    sub_answers = inputs.subtree_answers
    sizes: dict[str, int] = defaultdict(int)
    for root in inputs.below.values():
        sizes[root] += 1
    by_root: dict[str, list[SubtreeRow]] = defaultdict(list)
    for row in inputs.subtree:
        by_root[row.root].append(row)

    def team_pulse(rows: list[SubtreeRow]) -> float | None:
        per_person: dict[str, list[int]] = defaultdict(list)
        for r in rows:
            question = pulse_ids.get(r.template_id)
            value = rules.pulse_value(sub_answers.get(r.id, {}).get(question or ""))
            if value is not None:
                per_person[r.user_id].append(value)
        return rules.average(sum(v) / len(v) for v in per_person.values())

    lines = []
    for root in (user_id for user_id, manages in inputs.reports if manages):
        size = sizes.get(root, 0)
        if size < anonymity_min:
            lines.append(SkipLine(root, size, 0, 0, None, None, too_small=True))
            continue
        this = [r for r in by_root[root] if r.this_week]
        before = [r for r in by_root[root] if not r.this_week]
        counted = [r for r in this if r.outcome not in _NOT_PROMPTED]
        pulse = team_pulse(this)
        lines.append(
            SkipLine(
                root,
                size,
                sum(1 for r in counted if r.outcome == CheckinOutcome.ANSWERED),
                len(counted),
                pulse,
                rules.change(pulse, team_pulse(before)),
                too_small=False,
            )
        )
    return lines


def _empty_reason(
    data: DigestData, week_rows: list[OccurrenceRow], *, owns_checkins: bool
) -> EmptyReason | None:
    if not data.reports and not owns_checkins:
        return EmptyReason.NO_REPORTS
    if not week_rows:
        return EmptyReason.NO_CHECKINS
    if all(r.state == OccurrenceState.AWAY for r in week_rows):
        return EmptyReason.ALL_AWAY
    if data.answered == 0 and data.still_open == 0:
        return EmptyReason.NO_ANSWERS
    return None
