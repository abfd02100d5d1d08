"""The weekly manager digest: read in a fixed number of statements, then computed as plain data.

`build` = `load` (storage/digest.py's statements, the same number whatever the team's size) +
`digest_compute.compute` (no database), and returns `DigestData`, which is JSON as stored in
the `digests` row: the copy that was sent and that `/checkin digest` shows afterwards. Sending
it (outbox rows, the chart) is the digest job's; Block Kit is handlers/blocks/digest.py.

Anonymity: anonymous notes appear only in a digest built with `release=True` (the one being
sent), only when enough direct reports answered that week, in random order and with nothing
finer than the week. Previews (`/checkin digest`, App Home) get neither the notes nor their count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.services import digest_rules as rules
from bot.services.digest_compute import (
    DigestInputs,
    DigestTemplate,
    compute,
    kudos_window,
    summary,
    team_of,
)
from bot.services.digest_data import (
    AnswerLine,
    Blocker,
    Built,
    ChartWeek,
    DigestData,
    SkipLine,
    TalkTo,
    TemplateLine,
)
from bot.services.directory import zone_or_utc
from bot.services.states import CheckinOutcome, EmptyReason, OccurrenceState
from storage import digest as store
from storage import org as org_store
from storage.models import CheckinTemplate

# The data classes live in digest_data; callers keep naming them as this module's.
__all__ = [
    "AnswerLine",
    "AnswerView",
    "Blocker",
    "Built",
    "ChartWeek",
    "DigestData",
    "NotAManager",
    "SkipLine",
    "TalkTo",
    "TemplateLine",
    "answer_view",
    "build",
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
) -> Built:
    """The digest of the week starting `week_start` (default: the covered week at `now`).

    `release`: this digest is being sent, so anonymous notes may be released in it.
    """
    inputs = load(session, team_id, manager_id, now, zone=zone, week_start=week_start)
    return compute(inputs, now, anonymity_min=anonymity_min, release=release)


def load(
    session: Session,
    team_id: str,
    manager_id: str,
    now: datetime,
    *,
    zone: ZoneInfo,
    week_start: date | None = None,
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
    # weeks only feed the pulse history, so only their pulse answers are read.
    shown_from = week - timedelta(days=7)
    answered = [r for r in rows if r.state == OccurrenceState.ANSWERED]
    answers = store.answers(
        session,
        [r.id for r in answered if r.local_date < shown_from],
        pulse_questions,
        whole=[r.id for r in answered if r.local_date >= shown_from],
    )
    answered_owned = [r.id for r in answered if r.local_date >= week and r.template_id in owned_ids]
    replies = store.replies(session, team_id, answered_owned)
    team = team_of(report_ids, rows, owned_ids)
    kudos = store.kudos_to(session, team_id, team, *kudos_window(week, zone, now))
    notes = store.notes(session, team_id, manager_id, rules.iso_week(week))
    subtree_answers = store.pulse_answers(
        session, [r.id for r in subtree if r.outcome == CheckinOutcome.ANSWERED], pulse_questions
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
    )


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
    if row is None or row.state != OccurrenceState.ANSWERED:
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
    if built.data.empty_reason == EmptyReason.NO_REPORTS:
        raise NotAManager()
    return built.data.without_anonymous()
