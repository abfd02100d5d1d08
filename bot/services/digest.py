"""The weekly manager digest as plain data (issue 7): built from a Session and an instant.

`build` reads a fixed number of statements (storage/digest.py) whatever the team's size and
returns `DigestData`, which is JSON as stored in the `digests` row: the copy that was sent and
that `/checkin digest` shows afterwards. Sending (outbox rows, the chart) is bot/jobs/digests.py;
Block Kit is handlers/blocks/digest.py.

Anonymity: anonymous notes appear only in a digest built with `release=True` (the one being
sent), only when enough direct reports answered that week, in random order and with nothing
finer than the week. Previews (`/checkin digest`, App Home) get neither the notes nor their count.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.services import digest_rules as rules
from bot.services.directory import zone_or_utc
from storage import digest as store
from storage import org as org_store
from storage.checkins import ANSWERED, AWAY, MISSED, PENDING, SKIPPED
from storage.digest import OccurrenceRow
from storage.models import CheckinTemplate

SUMMARY_CHARS = 280
_RANDOM = random.SystemRandom()


# ----- the data ---------------------------------------------------------------------------------


@dataclass
class Blocker:
    user_id: str
    template: str
    question: str
    text: str
    still_open: bool


@dataclass
class TalkTo:
    user_id: str
    reasons: list[str]


@dataclass
class TemplateLine:
    name: str
    answered: int
    prompted: int
    change: float | None  # percentage points against last week
    missed: list[str]
    still_open: list[str]


@dataclass
class AnswerLine:
    user_id: str
    occurrence_id: int
    template: str
    summary: str
    replied: bool


@dataclass
class SkipLine:
    manager_id: str
    size: int
    answered: int
    prompted: int
    pulse: float | None
    change: float | None
    too_small: bool


@dataclass
class ChartWeek:
    label: str
    pulse: float | None
    participation: float | None  # 0..1


@dataclass
class DigestData:
    manager_id: str
    iso_week: str
    week_start: str  # ISO date of the Monday
    week_label: str
    sent: bool = False
    empty_reason: str | None = None  # "no_reports" | "no_checkins" | "all_away"
    reports: list[str] = field(default_factory=list)
    people_answered: int = 0
    people_prompted: int = 0
    answered: int = 0
    prompted: int = 0
    still_open: int = 0
    pulse: float | None = None
    pulse_change: float | None = None
    spread: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])
    blockers: list[Blocker] = field(default_factory=list)
    talk_to: list[TalkTo] = field(default_factory=list)
    participation: list[TemplateLine] = field(default_factory=list)
    other_answered: int = 0
    other_prompted: int = 0
    answers: list[AnswerLine] = field(default_factory=list)
    named_notes: list[tuple[str, str]] = field(default_factory=list)  # (author, text)
    anonymous_notes: list[str] = field(default_factory=list)  # never stored: see `stored_json`
    anonymous_released: int = 0
    anonymous_waiting: int = 0
    anonymity_min: int = 3
    kudos: int = 0
    kudos_by_value: list[tuple[str, int]] = field(default_factory=list)
    no_kudos: list[str] = field(default_factory=list)
    replied: int = 0
    skip_level: list[SkipLine] = field(default_factory=list)
    chart: list[ChartWeek] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DigestData:
        nested: dict[str, Any] = {
            "blockers": Blocker,
            "talk_to": TalkTo,
            "participation": TemplateLine,
            "answers": AnswerLine,
            "skip_level": SkipLine,
            "chart": ChartWeek,
        }
        values = dict(data)
        for name, kind in nested.items():
            values[name] = [kind(**item) for item in data.get(name) or []]
        values["named_notes"] = [tuple(n) for n in data.get("named_notes") or []]
        values["kudos_by_value"] = [tuple(k) for k in data.get("kudos_by_value") or []]
        return cls(**values)

    def stored_json(self) -> dict[str, Any]:
        """What the `digests` row keeps: everything but the anonymous notes' text, which sits
        beside the names of who answered; only the released count is kept."""
        data = self.to_json()
        data["anonymous_notes"] = []
        return data

    def without_anonymous(self) -> DigestData:
        """What a preview may show: no anonymous note, no count of them."""
        copy = DigestData.from_json(self.to_json())
        copy.anonymous_notes = []
        copy.anonymous_released = 0
        copy.anonymous_waiting = 0
        return copy


@dataclass(frozen=True, slots=True)
class Built:
    data: DigestData
    released_note_ids: list[str]  # anonymous notes this (sent) digest releases


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
) -> Built:
    """The digest of the week starting `week_start` (default: the covered week at `now`).

    `release`: this digest is being sent, so anonymous notes may be released in it.
    """
    week = week_start or rules.covered_week(now, zone)
    week_end = week + timedelta(days=6)
    first = week - timedelta(weeks=rules.HISTORY_WEEKS - 1)
    data = DigestData(
        manager_id=manager_id,
        iso_week=rules.iso_week(week),
        week_start=week.isoformat(),
        week_label=rules.week_label(week),
        sent=release,
        anonymity_min=anonymity_min,
    )
    direct = store.reports(session, team_id, manager_id)
    report_ids = [user_id for user_id, _ in direct]
    owned = store.owned_templates(session, team_id, manager_id)
    owned_ids = {t.id for t in owned}
    # Reports' check-ins (any template, counted) and the manager's own templates' (shown).
    rows = store.occurrences(session, team_id, report_ids, sorted(owned_ids), first, week_end)
    roots = [user_id for user_id, manages in direct if manages]
    below = store.subtree_people(session, team_id, roots)
    sub_rows = store.subtree_occurrences(session, team_id, below, week, week_end, now)
    templates = store.templates(
        session, {r.template_id for r in rows} | {r.template_id for r in sub_rows}
    )
    pulse_ids = {t.id: rules.first_pulse_question(t.questions) for t in templates.values()}
    # Text is shown for the covered week (and compared with last week's blockers); older
    # weeks only feed the pulse history, so only their pulse answers are read.
    recent_ids = [r.id for r in rows if r.state == ANSWERED and r.local_date >= week - timedelta(7)]
    older_ids = [r.id for r in rows if r.state == ANSWERED and r.local_date < week - timedelta(7)]
    answers = store.answers(
        session, older_ids, sorted({q for q in pulse_ids.values() if q}), whole=recent_ids
    )
    team = sorted(set(report_ids) | {r.user_id for r in rows if r.template_id in owned_ids})
    data.reports = report_ids
    week_rows = [r for r in rows if r.local_date >= week]
    answered_owned = [r for r in week_rows if r.state == ANSWERED and r.template_id in owned_ids]
    thread = store.replies(session, team_id, [r.id for r in answered_owned])
    # Follow-through: answers someone other than the member wrote under (the manager's reply).
    replied = {
        r.id for r in answered_owned if any(a != r.user_id for a, _, _ in thread.get(r.id, []))
    }
    start, end = rules.week_bounds(week, zone)
    cutoff = now - timedelta(days=rules.NO_KUDOS_DAYS)
    received = store.kudos_to(session, team_id, team, min(start, cutoff), max(end, now))
    in_week = {(k.kudos_id, k.recipient_id) for k in received if start <= k.created_at < end}
    data.kudos = len(in_week)
    by_value: dict[str, int] = defaultdict(int)
    for k in {(k.kudos_id, k.recipient_id, k.value) for k in received}:
        if (k[0], k[1]) in in_week and k[2]:
            by_value[k[2]] += 1
    data.kudos_by_value = sorted(by_value.items(), key=lambda item: (-item[1], item[0]))
    recent = {k.recipient_id for k in received if cutoff <= k.created_at < now}
    data.no_kudos = [u for u in report_ids if u not in recent]
    notes = store.notes(session, team_id, manager_id, data.iso_week)
    sub_answers = store.pulse_answers(
        session,
        [r.id for r in sub_rows if r.outcome == ANSWERED],
        sorted({q for q in pulse_ids.values() if q}),
    )
    sizes: dict[str, int] = defaultdict(int)
    for root in below.values():
        sizes[root] += 1

    weeks = [first + timedelta(weeks=i) for i in range(rules.HISTORY_WEEKS)]
    outcome = {r.id: _outcome(r, now) for r in rows}
    _counts(data, week_rows, outcome, owned_ids)
    pulses = _pulses(rows, answers, templates, pulse_ids)
    data.chart = _chart(weeks, rows, outcome, pulses, team)
    current = [pulses[(u, week)] for u in team if (u, week) in pulses]
    last_week = week - timedelta(days=7)
    before = [pulses[(u, last_week)] for u in team if (u, last_week) in pulses]
    data.pulse = rules.average(current)
    data.pulse_change = rules.change(data.pulse, rules.average(before))
    data.spread = rules.spread(
        v
        for r in week_rows
        if r.state == ANSWERED and pulse_ids.get(r.template_id)
        for v in [rules.pulse_value(answers.get(r.id, {}).get(pulse_ids[r.template_id] or ""))]
        if v is not None
    )
    blockers = _blockers(rows, answers, templates, owned_ids, week)
    data.blockers = blockers
    data.talk_to = _talk_to(team, weeks, rows, outcome, pulses, templates, blockers)
    data.participation = _participation(owned, rows, outcome, week)
    data.answers = [
        AnswerLine(
            user_id=r.user_id,
            occurrence_id=r.id,
            template=templates[r.template_id].name,
            summary=summary(templates[r.template_id], answers.get(r.id, {})),
            replied=r.id in replied,
        )
        for r in sorted(answered_owned, key=lambda r: (r.user_id, r.local_date, r.id))
    ]
    data.replied = sum(1 for r in answered_owned if r.id in replied)
    data.named_notes = [(n.author_id or "", n.text) for n in notes if not n.anonymous]
    released: list[str] = []
    anonymous = [n for n in notes if n.anonymous]
    reports_answered = len({r.user_id for r in week_rows if r.state == ANSWERED} & set(report_ids))
    if release and anonymous:
        if reports_answered >= anonymity_min:
            _RANDOM.shuffle(anonymous)
            data.anonymous_notes = [n.text for n in anonymous]
            data.anonymous_released = len(anonymous)
            released = [n.id for n in anonymous]
        else:
            data.anonymous_waiting = len(anonymous)
    data.skip_level = _skip_level(roots, sizes, sub_rows, sub_answers, pulse_ids, anonymity_min)
    data.empty_reason = _empty_reason(data, week_rows, owns_checkins=bool(owned))
    return Built(data, released)


def zone_of(tz: str | None) -> ZoneInfo:
    return zone_or_utc(tz)


# ----- pieces -----------------------------------------------------------------------------------


def _outcome(row: OccurrenceRow, now: datetime) -> str:
    """answered | missed | skipped | away | open, as of `now` (a pending one past its close
    time is missed even if the closing job has not run yet)."""
    if row.state == PENDING:
        return "open" if row.closes_at > now else MISSED
    return row.state


def _counts(
    data: DigestData, week_rows: list[OccurrenceRow], outcome: dict[int, str], owned: set[int]
) -> None:
    people_prompted: set[str] = set()
    people_answered: set[str] = set()
    for row in week_rows:
        state = outcome[row.id]
        if state in (AWAY, "open"):
            data.still_open += state == "open"
            continue
        people_prompted.add(row.user_id)
        data.prompted += 1
        if state == ANSWERED:
            people_answered.add(row.user_id)
            data.answered += 1
        if row.template_id not in owned:
            data.other_prompted += 1
            data.other_answered += state == ANSWERED
    data.people_prompted = len(people_prompted)
    data.people_answered = len(people_answered)


def _pulses(
    rows: list[OccurrenceRow],
    answers: dict[int, dict[str, Any]],
    templates: dict[int, CheckinTemplate],
    pulse_ids: dict[int, str | None],
) -> dict[tuple[str, date], float]:
    """{(person, week Monday): the mean of their first-pulse-question answers that week}."""
    found: dict[tuple[str, date], list[int]] = defaultdict(list)
    for row in rows:
        question = pulse_ids.get(row.template_id)
        if row.state != ANSWERED or question is None:
            continue
        value = rules.pulse_value(answers.get(row.id, {}).get(question))
        if value is not None:
            found[(row.user_id, rules.monday_of(row.local_date))].append(value)
    return {key: sum(values) / len(values) for key, values in found.items()}


def _chart(
    weeks: list[date],
    rows: list[OccurrenceRow],
    outcome: dict[int, str],
    pulses: dict[tuple[str, date], float],
    team: list[str],
) -> list[ChartWeek]:
    prompted: dict[date, int] = defaultdict(int)
    answered: dict[date, int] = defaultdict(int)
    for row in rows:
        state = outcome[row.id]
        if state in (AWAY, "open"):
            continue
        monday = rules.monday_of(row.local_date)
        prompted[monday] += 1
        answered[monday] += state == ANSWERED
    return [
        ChartWeek(
            label=f"{monday.day} {monday:%b}",
            pulse=rules.average(pulses[(u, monday)] for u in team if (u, monday) in pulses),
            participation=rules.rate(answered[monday], prompted[monday]),
        )
        for monday in weeks
    ]


def _blockers(
    rows: list[OccurrenceRow],
    answers: dict[int, dict[str, Any]],
    templates: dict[int, CheckinTemplate],
    owned: set[int],
    week: date,
) -> list[Blocker]:
    """This week's blockers in the manager's own templates; still open if the same person
    reported one the week before too."""
    last_week = week - timedelta(days=7)
    reported: dict[tuple[str, date], list[tuple[str, str, str]]] = defaultdict(list)
    for row in rows:
        if row.state != ANSWERED or row.template_id not in owned:
            continue
        monday = rules.monday_of(row.local_date)
        if monday < last_week:
            continue
        template = templates[row.template_id]
        for question in template.questions:
            if not question.get("blocker"):
                continue
            text = rules.blocker_text(
                str(question.get("kind")), answers.get(row.id, {}).get(question["id"])
            )
            if text is not None:
                reported[(row.user_id, monday)].append((template.name, question["text"], text))
    return [
        Blocker(user_id, template, question, text, (user_id, last_week) in reported)
        for (user_id, monday), items in sorted(reported.items())
        if monday == week
        for template, question, text in items
    ]


def _talk_to(
    team: list[str],
    weeks: list[date],
    rows: list[OccurrenceRow],
    outcome: dict[int, str],
    pulses: dict[tuple[str, date], float],
    templates: dict[int, CheckinTemplate],
    blockers: list[Blocker],
) -> list[TalkTo]:
    blocked_now = {b.user_id for b in blockers}
    blocked_open = {b.user_id for b in blockers if b.still_open}
    outcomes: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:  # ordered by date
        state = outcome[row.id]
        if state in (ANSWERED, MISSED, SKIPPED):
            outcomes[row.user_id][templates[row.template_id].name].append(state)
    found = []
    for user_id in team:
        history = rules.PersonWeeks(
            pulses=[pulses.get((user_id, w)) for w in weeks],
            outcomes=dict(outcomes.get(user_id, {})),
            blocker_now=user_id in blocked_now,
            blocker_last_week=user_id in blocked_open,
        )
        why = rules.reasons(history)
        if why:
            found.append(TalkTo(user_id, why))
    return found


def _participation(
    owned: list[CheckinTemplate], rows: list[OccurrenceRow], outcome: dict[int, str], week: date
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
                missed=sorted({r.user_id for r in now_rows if outcome[r.id] == MISSED}),
                still_open=sorted({r.user_id for r in now_rows if outcome[r.id] == "open"}),
            )
        )
    return lines


def _tally(rows: list[OccurrenceRow], outcome: dict[int, str]) -> tuple[int, int]:
    counted = [r for r in rows if outcome[r.id] not in (AWAY, "open")]
    return sum(1 for r in counted if outcome[r.id] == ANSWERED), len(counted)


def summary(template: CheckinTemplate, values: dict[str, Any]) -> str:
    """The answers on one line each, cut short; View more shows them whole."""
    parts = []
    for question in template.questions:
        if question.get("anonymous_allowed") or question["id"] not in values:
            continue
        value = values[question["id"]]
        if isinstance(value, bool):
            value = "yes" if value else "no"
        parts.append(f"{question['text']} {value}")
    text = "\n".join(parts)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _skip_level(
    roots: list[str],
    sizes: dict[str, int],
    sub_rows: list[store.SubtreeRow],
    sub_answers: dict[int, dict[str, Any]],
    pulse_ids: dict[int, str | None],
    anonymity_min: int,
) -> list[SkipLine]:
    """One line per report who manages people: counts only, no names; small groups hidden."""
    by_root: dict[str, list[store.SubtreeRow]] = defaultdict(list)
    for row in sub_rows:
        by_root[row.root].append(row)

    def team_pulse(rows: list[store.SubtreeRow]) -> float | None:
        per_person: dict[str, list[int]] = defaultdict(list)
        for r in rows:
            question = pulse_ids.get(r.template_id)
            value = rules.pulse_value(sub_answers.get(r.id, {}).get(question or ""))
            if value is not None:
                per_person[r.user_id].append(value)
        return rules.average(sum(v) / len(v) for v in per_person.values())

    lines = []
    for root in roots:
        size = sizes.get(root, 0)
        if size < anonymity_min:
            lines.append(SkipLine(root, size, 0, 0, None, None, too_small=True))
            continue
        this = [r for r in by_root[root] if r.this_week]
        before = [r for r in by_root[root] if not r.this_week]
        counted = [r for r in this if r.outcome not in (AWAY, "open")]
        pulse = team_pulse(this)
        lines.append(
            SkipLine(
                root,
                size,
                sum(1 for r in counted if r.outcome == ANSWERED),
                len(counted),
                pulse,
                rules.change(pulse, team_pulse(before)),
                too_small=False,
            )
        )
    return lines


def _empty_reason(
    data: DigestData, week_rows: list[OccurrenceRow], *, owns_checkins: bool
) -> str | None:
    if not data.reports and not owns_checkins:
        return "no_reports"
    if not week_rows:
        return "no_checkins"
    if all(r.state == AWAY for r in week_rows):
        return "all_away"
    if data.answered == 0 and data.still_open == 0:
        return "no_answers"
    return None


# ----- replies and View more -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnswerView:
    occurrence_id: int
    member_id: str
    template: str
    local_date: date
    answers: list[tuple[str, str]]  # (question, answer), the upward note left out
    replies: list[tuple[str, str]]  # (author, text)


def answer_view(
    session: Session, team_id: str, reader_id: str, occurrence_id: int | None
) -> AnswerView | None:
    """The whole answer for View more, or None: only the template's owner or the member's
    manager may read it, and a denial looks the same whether or not it exists."""
    if occurrence_id is None:
        return None
    row = store.occurrence(session, team_id, occurrence_id)
    if row is None or row.state != ANSWERED:
        return None
    template = store.templates(session, [row.template_id]).get(row.template_id)
    if template is None:
        return None
    if reader_id not in {template.owner_id, _manager_of(session, team_id, row.user_id)}:
        return None
    values = store.answers(session, [row.id]).get(row.id, {})
    shown = []
    for question in template.questions:
        if question.get("anonymous_allowed") or question["id"] not in values:
            continue
        value = values[question["id"]]
        if isinstance(value, bool):
            value = "yes" if value else "no"
        shown.append((str(question["text"]), str(value)))
    replies = store.replies(session, team_id, [row.id]).get(row.id, [])
    return AnswerView(
        row.id,
        row.user_id,
        template.name,
        row.local_date,
        shown,
        [(author, text) for author, text, _ in replies],
    )


def _manager_of(session: Session, team_id: str, user_id: str) -> str | None:
    return org_store.manager_of(session, team_id, user_id)


# ----- reading a stored digest ------------------------------------------------------------------


def stored(session: Session, team_id: str, manager_id: str, iso_week: str) -> DigestData | None:
    row = store.find_digest(session, team_id, manager_id, iso_week)
    return DigestData.from_json(row.content) if row is not None else None


def preview(
    session: Session,
    team_id: str,
    manager_id: str,
    now: datetime,
    *,
    zone: ZoneInfo,
    anonymity_min: int,
) -> DigestData:
    """The covered week's digest as sent, or as it will be sent, without anonymous notes.

    Raises NotAManager for someone with no direct reports and no check-in they own."""
    week = rules.covered_week(now, zone)
    sent = stored(session, team_id, manager_id, rules.iso_week(week))
    if sent is not None:
        return sent.without_anonymous()
    built = build(
        session, team_id, manager_id, now, zone=zone, anonymity_min=anonymity_min, week_start=week
    )
    if built.data.empty_reason == "no_reports":
        raise NotAManager()
    return built.data.without_anonymous()
