"""The weekly manager digest: read in a fixed number of statements, then computed as plain data.

`build` = `load` (storage/digest.py's statements, the same number whatever the team's size) +
`digest_compute.compute` (no database), and returns `DigestData`, which is JSON as stored in
the `digests` row: the copy that was sent and that `/checkin digest` shows afterwards. Sending
it (outbox rows, the chart) is the digest job's; Block Kit is handlers/blocks/digest.py.

Anonymity: anonymous notes appear only in a digest built with `release=True` (the one being
sent), only when enough direct reports answered in the span of weeks they are said to come from
(`digest_rules.anonymous_release`), in random order, labelled by that span and never by a week.
A digest that releases none never says that one waits. Previews (`/checkin digest`, App Home)
get neither the notes nor their count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.services import digest_compute
from bot.services import digest_rules as rules
from bot.services.digest_compute import (
    DigestInputs,
    DigestTemplate,
    answer_words,
    compute,
    kudos_window,
    summary,
    team_of,
)
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
from bot.services.digest_goals import GoalInputs
from bot.services.directory import zone_or_utc
from bot.services.goal_cycles import CycleKind, cycle_of
from bot.services.schedule import local_instant, parse_time, slots_between
from bot.services.states import CheckinOutcome, EmptyReason, OccurrenceState
from storage import digest as store
from storage import goal_checkins as goal_checkin_store
from storage import goal_digest as goal_store
from storage import org as org_store
from storage.models import CheckinTemplate

# The data classes live in digest_data; callers keep naming them as this module's.
__all__ = [
    "Absent",
    "AnswerLine",
    "AnswerView",
    "Blocker",
    "Built",
    "ChartWeek",
    "DigestData",
    "DigestPreview",
    "NotAManager",
    "SkipLine",
    "TalkTo",
    "TemplateLine",
    "answer_view",
    "build",
    "last_closes",
    "load",
    "preview",
    "stored",
    "summary",
    "zone_of",
]


class NotAManager(Exception):
    """`/checkin digest` from someone with no reports and no check-in of their own."""


# ----- building ---------------------------------------------------------------------------------


def build(
    session: Session,
    team_id: str,
    manager_id: str,
    now: datetime,
    *,
    zone: ZoneInfo,
    anonymity_min: int,
    week_start: date | None = None,
    release: bool = False,
    goal_cycle: CycleKind = "quarter",
    stale_days: int = 14,
) -> Built:
    """The digest of the week starting `week_start` (default: the covered week at `now`).

    `release`: this digest is being sent, so anonymous notes may be released in it.
    `goal_cycle`, `stale_days`: PULSEBOT_GOAL_CYCLE and PULSEBOT_GOAL_STALE_DAYS.
    """
    inputs = load(
        session,
        team_id,
        manager_id,
        now,
        zone=zone,
        week_start=week_start,
        goal_cycle=goal_cycle,
        stale_days=stale_days,
    )
    return compute(inputs, now, anonymity_min=anonymity_min, release=release)


def load(
    session: Session,
    team_id: str,
    manager_id: str,
    now: datetime,
    *,
    zone: ZoneInfo,
    week_start: date | None = None,
    goal_cycle: CycleKind = "quarter",
    stale_days: int = 14,
) -> DigestInputs:
    """Every row the digest of that week needs, in the same statements whatever the team's size:
    each statement binds the ids the earlier ones found, and reads no more than `compute` uses."""
    week = week_start or rules.covered_week(now, zone)
    week_end = week + timedelta(days=6)
    first = week - timedelta(weeks=rules.HISTORY_WEEKS - 1)
    reports = store.reports(session, team_id, manager_id)
    report_ids = [user_id for user_id, _ in reports]
    owned = [_template(t) for t in store.owned_templates(session, team_id, manager_id)]
    owned_ids = {t.id for t in owned}
    # Reports' check-ins (any template, counted) and the manager's own templates' (shown).
    rows = store.occurrences(session, team_id, report_ids, sorted(owned_ids), first, week_end)
    roots = [user_id for user_id, manages in reports if manages]
    below = store.subtree_people(session, team_id, roots)
    subtree = store.subtree_occurrences(session, team_id, below, week, week_end, now)
    templates = {
        template_id: _template(row)
        for template_id, row in store.templates(
            session, {r.template_id for r in rows} | {r.template_id for r in subtree}
        ).items()
    }
    pulse_questions = sorted(
        {q for t in templates.values() if (q := rules.first_pulse_question(t.questions))}
    )
    # Text is shown for the covered week (and compared with last week's blockers); older
    # weeks only feed the pulse history and how long a blocker has been open, so only their
    # pulse and blocker answers are read.
    blocker_questions = sorted(
        {q["id"] for t in owned for q in t.questions if q.get("blocker")}
    )
    # A goals answer says whether the check-in updated any key result: "no goal update for two
    # check-ins" may reach back past last week, so older weeks' are read too.
    goal_questions = sorted(
        {q["id"] for t in templates.values() for q in t.questions if q.get("kind") == "goals"}
    )
    shown_from = week - timedelta(days=7)
    answered = [r for r in rows if r.state == OccurrenceState.ANSWERED]
    answers = store.answers(
        session,
        [r.id for r in answered if r.local_date < shown_from],
        sorted({*pulse_questions, *blocker_questions, *goal_questions}),
        whole=[r.id for r in answered if r.local_date >= shown_from],
    )
    answered_owned = [r.id for r in answered if r.local_date >= week and r.template_id in owned_ids]
    replies = store.replies(session, team_id, answered_owned)
    team = team_of(report_ids, rows, owned_ids)
    kudos = store.kudos_to(session, team_id, team, *kudos_window(week, zone, now))
    notes = store.notes(session, team_id, manager_id, rules.iso_week(week))
    first_digest, last_cleared = store.release_marks(
        session, team_id, manager_id, rules.iso_week(week)
    )
    window = rules.notes_window(
        week,
        first_digest=rules.monday_of_iso(first_digest) if first_digest else None,
        last_cleared=rules.monday_of_iso(last_cleared) if last_cleared else None,
        oldest_note=min(
            (rules.monday_of_iso(n.iso_week) for n in notes if n.anonymous), default=None
        ),
    )
    notes_answerers = store.answerers(session, team_id, report_ids, window, week_end)
    subtree_answers = store.pulse_answers(
        session, [r.id for r in subtree if r.outcome == CheckinOutcome.ANSWERED], pulse_questions
    )
    goals = _goal_inputs(
        session,
        team_id,
        manager_id,
        report_ids,
        below,
        kudos_ids=digest_compute.week_kudos(kudos, week, zone),
        week=week,
        zone=zone,
        kind=goal_cycle,
        stale_days=stale_days,
    )
    return DigestInputs(
        manager_id=manager_id,
        week=week,
        zone=zone,
        reports=reports,
        owned=owned,
        templates=templates,
        occurrences=rows,
        answers=answers,
        replies=replies,
        kudos=kudos,
        notes=notes,
        below=below,
        subtree=subtree,
        subtree_answers=subtree_answers,
        notes_window=window,
        notes_answerers=frozenset(notes_answerers),
        goals=goals,
    )


def _goal_inputs(
    session: Session,
    team_id: str,
    manager_id: str,
    report_ids: Sequence[str],
    below: Mapping[str, str],
    *,
    kudos_ids: Collection[int],
    week: date,
    zone: ZoneInfo,
    kind: CycleKind,
    stale_days: int,
) -> GoalInputs:
    """The team's goals of the cycle holding the covered week's Sunday, each key result's
    latest update as of the week's start and within it, and the goals the week's kudos named:
    three statements."""
    cycle = cycle_of(week + timedelta(days=6), kind)
    start, end = rules.week_bounds(week, zone)
    objectives, results = goal_store.objectives_and_results(
        session, team_id, cycle.name, [manager_id, *report_ids], report_ids
    )
    before, during = goal_store.latest_updates(session, [r.id for r in results], start, end)
    return GoalInputs(
        cycle=cycle.name,
        objectives=objectives,
        results=results,
        before=before,
        during=during,
        kudos=goal_store.kudos_goals(session, sorted(kudos_ids)),
        chain_below=frozenset({*report_ids, *below}),
        stale_days=stale_days,
    )


def last_closes(
    session: Session, team_id: str, wanted: Collection[tuple[str, date]], now: datetime
) -> dict[tuple[str, date], datetime]:
    """{(manager, covered week): when the last of that week's check-ins that may still be
    answered closes}, for those with one; in two statements for the whole workspace.

    The check-ins are those the digest counts: its manager's direct reports' (any template) and
    anyone's in a template the manager owns. Written ones count while still open; ones not yet
    written (a member whose Sunday comes later than the manager's Monday) by their schedule."""
    if not wanted:
        return {}
    weeks = {week for _, week in wanted}
    opened = store.open_checkins(session, team_id, min(weeks), max(weeks) + timedelta(days=6), now)
    planned = store.planned_members(session, team_id)
    by_manager: dict[str, list[store.OpenCheckin]] = defaultdict(list)
    for row in opened:
        for manager in {row.owner_id, row.manager_id} - {None}:
            by_manager[str(manager)].append(row)
    plans: dict[str, list[store.PlannedMember]] = defaultdict(list)
    for plan in planned:
        for manager in {plan.owner_id, plan.manager_id} - {None}:
            plans[str(manager)].append(plan)
    found: dict[tuple[str, date], datetime] = {}
    for manager, week in wanted:
        closes = [
            r.closes_at
            for r in by_manager.get(manager, [])
            if week <= r.local_date <= week + timedelta(days=6)
        ]
        closes += [
            close
            for plan in plans.get(manager, [])
            if (close := _scheduled_close(plan, week, now)) is not None
        ]
        if closes:
            found[(manager, week)] = max(closes)
    return found


def _scheduled_close(plan: store.PlannedMember, week: date, now: datetime) -> datetime | None:
    """When the member's last check-in dated in `week` (their own dates) closes, if the
    scheduler has yet to write it; None when it is written already or there is none."""
    if not plan.prompted:
        return None
    zone = zone_or_utc(plan.tz)
    start = local_instant(week, time(0), zone)
    end = local_instant(week + timedelta(days=7), time(0), zone) - timedelta(microseconds=1)
    begins = max(now, plan.added_at, plan.schedule_from)
    slots = [
        slot
        for slot in slots_between(plan.weekdays, parse_time(plan.local_time), zone, start, end)
        if slot.at > begins
    ]
    if not slots:
        return None
    return slots[-1].at + timedelta(minutes=plan.close_after_minutes)


def _template(row: CheckinTemplate) -> DigestTemplate:
    return DigestTemplate(row.id, row.name, row.active, list(row.questions))


def zone_of(tz: str | None) -> ZoneInfo:
    return zone_or_utc(tz)


# ----- replies and View more -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnswerView:
    occurrence_id: int
    member_id: str
    template: str
    local_date: date  # the check-in's own date
    answers: list[tuple[str, str]]  # (question, answer in words), the upward note left out
    # (author, text, day): the manager's replies and the member's answers back, oldest first,
    # each dated in the reader's zone.
    exchange: list[tuple[str, str, date]]
    answered_on: date | None = None  # in the reader's zone
    note: str | None = None  # the named note the member left the reader with this answer


def answer_view(
    session: Session,
    team_id: str,
    reader_id: str,
    occurrence_ids: Sequence[int],
    zone: ZoneInfo,
) -> list[AnswerView]:
    """Whole answers for View more (one person's week may hold two), with the exchange and the
    named note; empty when there is nothing to show. Only the template's owner or the member's
    manager may read an answer, and a denial looks the same whether or not it exists. The
    named note is only for the manager it was written to."""
    rows = [
        row
        for occurrence_id in dict.fromkeys(occurrence_ids)
        if (row := store.occurrence(session, team_id, occurrence_id)) is not None
        and row.state == OccurrenceState.ANSWERED
    ]
    found_templates = store.templates(session, {row.template_id for row in rows})
    readable = [
        row
        for row in rows
        if (template := found_templates.get(row.template_id)) is not None
        and reader_id in {template.owner_id, _manager_of(session, team_id, row.user_id)}
    ]
    if not readable:
        return []
    ids = [row.id for row in readable]
    goal_notes = goal_checkin_store.notes_of(session, ids)
    values = _with_goal_notes(store.answers(session, ids), goal_notes)
    replies = store.replies(session, team_id, ids)
    notes = store.named_notes(session, team_id, reader_id, ids)
    views = []
    for row in sorted(readable, key=lambda r: (r.local_date, r.id)):
        template = found_templates[row.template_id]
        shown = [
            (str(question["text"]), words)
            for question, words in answer_words(
                template.questions, values.get(row.id, {}), reader_id
            )
        ]
        views.append(
            AnswerView(
                row.id,
                row.user_id,
                template.name,
                row.local_date,
                shown,
                [
                    (author, text, when.astimezone(zone).date())
                    for author, text, when in replies.get(row.id, [])
                ],
                answered_on=row.answered_at.astimezone(zone).date() if row.answered_at else None,
                note=notes.get(row.id),
            )
        )
    return views


def _with_goal_notes(
    values: dict[int, dict[str, Any]], notes: dict[tuple[int, int], str]
) -> dict[int, dict[str, Any]]:
    """Goals answers with the notes their updates carried (kept in the updates only)."""
    if not notes:
        return values
    found: dict[int, dict[str, Any]] = {}
    for occurrence_id, answers in values.items():
        found[occurrence_id] = {
            question: (
                [
                    {**entry, "note": notes.get((occurrence_id, int(entry.get("kr") or 0)), "")}
                    if isinstance(entry, dict)
                    else entry
                    for entry in value
                ]
                if isinstance(value, list)
                else value
            )
            for question, value in answers.items()
        }
    return found


def _manager_of(session: Session, team_id: str, user_id: str) -> str | None:
    return org_store.manager_of(session, team_id, user_id)


# ----- reading a stored digest ------------------------------------------------------------------


def stored(session: Session, team_id: str, manager_id: str, iso_week: str) -> DigestData | None:
    row = store.find_digest(session, team_id, manager_id, iso_week)
    return DigestData.from_json(row.content) if row is not None else None


@dataclass(frozen=True, slots=True)
class DigestPreview:
    """What "Preview digest" shows: the covered week's digest as sent (`sent_at`), or as it
    will be sent (`goes_at`: its send time, or the close of the week's last check-in if
    later), never with anonymous notes."""

    data: DigestData
    sent_at: datetime | None = None
    goes_at: datetime | None = None


def preview(
    session: Session,
    team_id: str,
    manager_id: str,
    now: datetime,
    *,
    zone: ZoneInfo,
    anonymity_min: int,
    weekday: str = "mon",
    at: time = time(9, 0),
    goal_cycle: CycleKind = "quarter",
    stale_days: int = 14,
) -> DigestPreview:
    """The covered week's digest as sent, or the coming one, without anonymous notes.

    Raises NotAManager for someone with no direct reports and no check-in they own."""
    week = rules.covered_week(now, zone)
    row = store.find_digest(session, team_id, manager_id, rules.iso_week(week))
    if row is not None:
        sent = DigestData.from_json(row.content).without_anonymous()
        return DigestPreview(sent, sent_at=row.created_at)
    built = build(
        session,
        team_id,
        manager_id,
        now,
        zone=zone,
        anonymity_min=anonymity_min,
        week_start=week,
        goal_cycle=goal_cycle,
        stale_days=stale_days,
    )
    if built.data.empty_reason == EmptyReason.NO_REPORTS:
        raise NotAManager()
    closes = last_closes(session, team_id, {(manager_id, week)}, now).get((manager_id, week))
    goes = rules.ready_at(rules.due_at(week, zone, weekday, at), [closes] if closes else [])
    return DigestPreview(built.data.without_anonymous(), goes_at=max(goes, now))
