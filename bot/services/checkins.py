"""Check-in occurrences: planning what is due, and every state change a member can make.

States (`OccurrenceState`): pending -> answered | skipped | missed; away is recorded instead
of prompting someone out of office. Every change is a conditional UPDATE from the expected
state, so a late click racing the closing job, or a double submit, changes nothing twice.

`plan_due` writes occurrences under the unique key (template, member, local date) with INSERT
... ON CONFLICT DO NOTHING and reports only those it created, so the caller enqueues each
prompt in the same transaction and a second scheduler (or a restart) sends nothing again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.services import goal_checkin
from bot.services.digest_rules import iso_week
from bot.services.directory import Person, people, zone_or_utc
from bot.services.goal_cycles import CycleKind
from bot.services.schedule import (
    Slot,
    last_slot,
    next_slot,
    parse_duration,
    parse_time,
    slots_between,
)
from bot.services.slack_limits import TEXT_MAX
from bot.services.states import CheckinUnavailableReason, OccurrenceState
from bot.services.templates import Question, TemplateDef, definition_from_row, form_questions
from storage import checkins as store
from storage import org as org_store
from storage.checkins import PlanMember
from storage.models import CheckinOccurrence, CheckinTemplate, OutOfOffice

__all__ = [
    "AnswersInvalid",
    "CheckinCommand",
    "CheckinRefused",
    "CheckinUnavailable",
    "Due",
    "Occurrence",
    "PlanBatch",
    "PlanResult",
    "ReplyTarget",
    "Submitted",
    "close_due",
    "due_reminders",
    "due_snoozes",
    "end_ooo",
    "goals_asked",
    "open_checkin",
    "parse_command",
    "pending_for",
    "plan_batches",
    "plan_due",
    "reply_target",
    "set_ooo",
    "skip",
    "snooze",
    "submit",
    "template_name",
    "validate_answers",
]

# Occurrences scheduled longer ago than this and never written (the app was down) are
# forgotten rather than recorded as missed; it bounds the work of every run.
CATCH_UP_HORIZON = timedelta(days=14)
LATE_AFTER = timedelta(minutes=10)  # a prompt sent later than this says it is late
MAX_TEXT = TEXT_MAX
MIN_SNOOZE = timedelta(minutes=5)
MAX_OOO_DAYS = 366
PULSE_RANGE = range(1, 6)
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}


# ----- plain results ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Occurrence:
    id: int
    team_id: str
    template_id: int
    user_id: str
    local_date: date
    scheduled_at: datetime
    closes_at: datetime
    remind_at: datetime | None
    state: OccurrenceState
    snoozed_until: datetime | None
    snooze_count: int
    reminded_at: datetime | None
    answered_at: datetime | None
    prompt_outbox_id: int | None

    @classmethod
    def from_row(cls, row: CheckinOccurrence) -> Occurrence:
        return cls(
            id=row.id,
            team_id=row.team_id,
            template_id=row.template_id,
            user_id=row.user_id,
            local_date=row.local_date,
            scheduled_at=row.scheduled_at,
            closes_at=row.closes_at,
            remind_at=row.remind_at,
            state=OccurrenceState(row.state),
            snoozed_until=row.snoozed_until,
            snooze_count=row.snooze_count,
            reminded_at=row.reminded_at,
            answered_at=row.answered_at,
            prompt_outbox_id=row.prompt_outbox_id,
        )


@dataclass(frozen=True, slots=True)
class Due:
    """An occurrence with the template its message needs (name, owner, questions)."""

    occurrence: Occurrence
    template: TemplateDef
    late: bool = False


@dataclass(frozen=True, slots=True)
class PlanBatch:
    """A slice of one template's members, in the database's order of user ids (see
    `plan_batches`): `run_due` commits one batch at a time."""

    team_id: str
    template_id: int
    user_ids: tuple[str, ...]


@dataclass
class PlanResult:
    created: list[Due] = field(default_factory=list)  # pending: each needs its prompt now
    missed: list[Occurrence] = field(default_factory=list)  # closed before anyone wrote them
    away: list[Occurrence] = field(default_factory=list)  # member out of office

    def extend(self, other: PlanResult) -> None:
        self.created += other.created
        self.missed += other.missed
        self.away += other.away


@dataclass(frozen=True, slots=True)
class Submitted:
    """An accepted answer, with all its deliveries need."""

    occurrence: Occurrence
    template: TemplateDef
    # Non-upward, in the form's order (a blocker's detail right after its question), unanswered
    # ones left out.
    answers: list[tuple[Question, Any]]
    upward_text: str | None
    upward_anonymous: bool
    manager_id: str | None  # who gets the upward feedback (org chart, else the owner)


@dataclass(frozen=True, slots=True)
class OooResult:
    starts_on: date
    until: date
    away: list[Occurrence]


class CheckinUnavailable(Exception):
    """The occurrence can't take this action; `reason` lets the handler word its reply."""

    def __init__(
        self, reason: CheckinUnavailableReason, message: str, occurrence: Occurrence | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.occurrence = occurrence


class CheckinRefused(Exception):
    """A command's input is wrong (a snooze past closing, a date in the past); says what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AnswersInvalid(Exception):
    """Field-level problems, keyed by question id, for the modal's `response_action: errors`."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# ----- planning ---------------------------------------------------------------------------------


def plan_batches(
    session: Session,
    now: datetime,
    team_id: str | None = None,
    size: int = 200,
    *,
    only_due: bool = False,
) -> list[PlanBatch]:
    """Every active template's members, sliced so each transaction stays short.

    `only_due`: only the templates with a slot due that nobody wrote yet (`with_due`), which
    in most minutes is none: the others' transactions would each read their members and
    dates to write nothing."""
    templates = store.list_templates(session, team_id, active_only=True)
    if only_due:
        templates = with_due(session, templates, now)
    members = store.member_ids(session, [t.id for t in templates])
    batches = []
    for template in templates:
        ids = members[template.id]
        for start in range(0, len(ids), size):
            batches.append(
                PlanBatch(template.team_id, template.id, tuple(ids[start : start + size]))
            )
    return batches


def with_due(
    session: Session, templates: Sequence[CheckinTemplate], now: datetime
) -> list[CheckinTemplate]:
    """The templates where some member has a slot due that is not written yet, read in two
    statements for all of them (members with their directory profile; each member's latest
    written date).

    It may keep a template with nothing due (`plan_due` writes nothing then), never drop one
    with something due: it asks `plan_due`'s question of each member's latest slot alone,
    since an earlier slot is both older and of an earlier local date. A member with nothing
    written within the catch-up horizon counts as having nothing written."""
    if not templates:
        return []
    ids = [t.id for t in templates]
    members = store.plan_members_of(session, ids)
    latest = store.latest_dates_since(
        session, ids, (now - CATCH_UP_HORIZON - timedelta(days=2)).date()
    )
    last_slots: dict[tuple[tuple[str, ...], str, str], Slot | None] = {}
    kept = []
    for template in templates:
        floor = max(now - CATCH_UP_HORIZON, template.schedule_from)
        if floor > now:
            continue
        for member in members.get(template.id, ()):
            if member.is_bot or member.deleted:
                continue
            zone = zone_or_utc(member.tz)
            key = (tuple(template.weekdays), template.local_time, zone.key)
            if key not in last_slots:
                at = parse_time(template.local_time)
                last_slots[key] = last_slot(template.weekdays, at, zone, now)
            slot = last_slots[key]
            written = latest.get((template.id, member.user_id))
            if (
                slot is not None
                and slot.at >= max(floor, member.added_at)
                and (written is None or slot.local_date > written)
            ):
                kept.append(template)
                break
    return kept


def plan_due(
    session: Session, now: datetime, team_id: str | None = None, *, batch: PlanBatch | None = None
) -> PlanResult:
    """Write every occurrence due at or before `now` that nobody wrote yet.

    For each active template member: each scheduled instant in the member's zone that is
    <= now, after the member was added and after the template's schedule began, and within
    the catch-up horizon. Still open: `pending` and returned in `created` (the caller sends
    the prompt in this transaction). Closed already (the app was down): `missed`, no prompt.
    Member out of office that day: `away`, no prompt. Bots and deactivated members are
    skipped, whatever template lists them: nothing is written for a person who left, and
    their memberships begin again when they come back (`directory.store_changes`).
    A prompt so late that its reminder is already due counts as that reminder.
    """
    result = PlanResult()
    batches = [batch] if batch is not None else plan_batches(session, now, team_id)
    for item in batches:
        template = store.get_template(session, item.team_id, item.template_id)
        if template is None or not template.active:
            continue
        if not item.user_ids:
            continue
        # The ends of the slice as the database ordered it: a range under its own collation.
        first, last = item.user_ids[0], item.user_ids[-1]
        wanted = set(item.user_ids)
        members = [
            m
            for m in store.plan_members(session, template.id, first, last)
            if m.user_id in wanted
        ]
        result.extend(_plan_template(session, template, members, now, (first, last)))
    return result


def _plan_template(
    session: Session,
    template: CheckinTemplate,
    members: Sequence[PlanMember],
    now: datetime,
    id_range: tuple[str, str],
) -> PlanResult:
    result = PlanResult()
    floor = max(now - CATCH_UP_HORIZON, template.schedule_from)
    if not members or floor > now:
        return result
    definition = definition_from_row(template)
    at = parse_time(template.local_time)
    user_ids = [m.user_id for m in members]
    latest = store.latest_dates(session, template.id, *id_range)
    away_periods: dict[str, OutOfOffice] | None = None  # read only if something is due
    slots_by_zone: dict[str, list[Slot]] = {}
    close_after = timedelta(minutes=template.close_after_minutes)
    remind_after = (
        timedelta(minutes=template.remind_after_minutes)
        if template.remind_after_minutes is not None
        else None
    )
    # Sorted, so two racing schedulers take the unique keys in the same order (no deadlock).
    for member in sorted(members, key=lambda m: m.user_id):
        if member.is_bot or member.deleted:
            continue  # a bot in a template is a mistake, a leaver is gone: nothing to record
        zone = zone_or_utc(member.tz)  # the directory cache's tz; UTC when unknown
        if zone.key not in slots_by_zone:
            slots_by_zone[zone.key] = slots_between(template.weekdays, at, zone, floor, now)
        start = max(floor, member.added_at)
        for slot in slots_by_zone[zone.key]:
            written_up_to = latest.get(member.user_id)
            if slot.at < start or (written_up_to is not None and slot.local_date <= written_up_to):
                continue
            closes_at = slot.at + close_after
            remind_at = slot.at + remind_after if remind_after is not None else None
            if away_periods is None:
                away_periods = org_store.get_ooo(session, template.team_id, user_ids)
            period = away_periods.get(member.user_id)
            if period is not None and period.starts_on <= slot.local_date <= period.until:
                state = OccurrenceState.AWAY
            elif closes_at <= now:
                state = OccurrenceState.MISSED
            else:
                state = OccurrenceState.PENDING
            values: dict[str, Any] = {
                "team_id": template.team_id,
                "template_id": template.id,
                "user_id": member.user_id,
                "local_date": slot.local_date,
                "scheduled_at": slot.at,
                "closes_at": closes_at,
                "remind_at": remind_at,
                # A late prompt (catch-up) stands in for a reminder already due: one DM.
                "reminded_at": (
                    now
                    if state == OccurrenceState.PENDING
                    and remind_at is not None
                    and remind_at <= now
                    else None
                ),
                "state": state,
                "snoozed_until": None,
                "snooze_count": 0,
                "answered_at": None,
                "prompt_outbox_id": None,
            }
            new_id = store.insert_occurrence(
                session, {**values, "created_at": now, "updated_at": now}
            )
            if new_id is None:
                continue  # another scheduler wrote it first: it also sends it
            occurrence = Occurrence(id=new_id, **values)
            if state == OccurrenceState.PENDING:
                result.created.append(Due(occurrence, definition, late=now - slot.at > LATE_AFTER))
            elif state == OccurrenceState.MISSED:
                result.missed.append(occurrence)
            else:
                result.away.append(occurrence)
    return result


def due_reminders(
    session: Session, now: datetime, team_id: str | None = None, limit: int = 200
) -> list[Due]:
    """Claim the reminders due now (each occurrence is reminded once, ever)."""
    return _with_templates(session, store.claim_reminders(session, now, team_id, limit))


def due_snoozes(
    session: Session, now: datetime, team_id: str | None = None, limit: int = 200
) -> list[Due]:
    """Claim the re-prompts of snoozes that ended; `occurrence.snooze_count` numbers them."""
    return _with_templates(session, store.claim_snoozes(session, now, team_id, limit))


def close_due(
    session: Session, now: datetime, team_id: str | None = None, limit: int = 500
) -> list[Occurrence]:
    """Pending occurrences whose close time came become missed (no message is sent: a later
    click on the prompt says the check-in has closed)."""
    return [Occurrence.from_row(r) for r in store.claim_closings(session, now, team_id, limit)]


def _with_templates(session: Session, rows: Sequence[CheckinOccurrence]) -> list[Due]:
    templates = store.templates_by_id(session, {row.template_id for row in rows})
    definitions = {tid: definition_from_row(t) for tid, t in templates.items()}
    return [Due(Occurrence.from_row(row), definitions[row.template_id]) for row in rows]


def record_prompt(session: Session, occurrence_id: int, outbox_id: int) -> None:
    """Remember which message "Submitted ✓" will replace (the latest prompt or re-prompt)."""
    store.set_prompt_outbox(session, occurrence_id, outbox_id)


# ----- what a member does -----------------------------------------------------------------------


def pending_for(session: Session, team_id: str, user_id: str, now: datetime) -> Due | None:
    """The most recent occurrence still open for this member (what `/checkin` opens)."""
    row = store.latest_pending(session, team_id, user_id, now)
    if row is None:
        return None
    return _with_templates(session, [row])[0]


def open_checkin(
    session: Session, team_id: str, user_id: str, occurrence_id: int | None, now: datetime
) -> Due:
    """The occurrence a "Start check-in" click (or `/checkin`) opens, if it is still open.

    A click on a closed one raises CheckinUnavailable(CLOSED) so the handler can say so and
    replace that one message; a pending one whose close time passed is marked missed here.
    """
    if occurrence_id is None:
        due = pending_for(session, team_id, user_id, now)
        if due is None:
            raise CheckinUnavailable(
                CheckinUnavailableReason.NOT_FOUND,
                "You have no check-in waiting. The next one comes by DM at its usual time.",
            )
        return due
    row = _own_occurrence(session, team_id, user_id, occurrence_id)
    _ensure_open(session, row, now)
    return _with_templates(session, [row])[0]


def goals_asked(
    session: Session,
    team_id: str,
    user_id: str,
    template: TemplateDef,
    now: datetime,
    goal_cycle: CycleKind,
) -> goal_checkin.Owned | None:
    """What the form's goals question asks this member (None: the template has none)."""
    if goal_checkin.question_of(template.questions) is None:
        return None
    today = _today(session, team_id, user_id, now)
    return goal_checkin.owned_by(session, team_id, user_id, today, goal_cycle)


def submit(
    session: Session,
    team_id: str,
    user_id: str,
    occurrence_id: int,
    raw_answers: Mapping[str, Any],
    now: datetime,
    *,
    anonymous: bool = False,
    anonymity_min: int = 1,
    goal_cycle: CycleKind = "quarter",
    goals_shown: Mapping[str, Any] | None = None,
) -> Submitted:
    """Validate and store the answers; raises AnswersInvalid or CheckinUnavailable.

    Upward feedback (the question that allows anonymity) is not stored with the answers: named,
    it is kept with its author and released at once; anonymous, it is kept with no author and
    no occurrence, so nothing links it back, and waits for a digest that may release it.

    A goals question's answer writes its key-result updates here, in the answer's transaction:
    each is unique with the occurrence, and a replay finds the occurrence answered before it
    writes anything (`goal_checkin`). `goals_shown`: what the form was pre-filled with.
    """
    row = _own_occurrence(session, team_id, user_id, occurrence_id, for_update=True)
    _ensure_open(session, row, now)
    template = store.get_template(session, team_id, row.template_id)
    assert template is not None
    definition = definition_from_row(template)
    goals = goal_checkin.question_of(definition.questions)
    errors: dict[str, str] = {}
    try:
        values = validate_answers(definition.questions, raw_answers)
    except AnswersInvalid as invalid:
        errors.update(invalid.errors)
        values = {}
    owned: goal_checkin.Owned | None = None
    changes: list[goal_checkin.Change] = []
    if goals is not None:
        today = _today(session, team_id, user_id, now)
        owned = goal_checkin.owned_by(session, team_id, user_id, today, goal_cycle)
        changes, goal_errors = goal_checkin.validate(
            goals.id, owned, raw_answers.get(goals.id), goals_shown
        )
        errors.update(goal_errors)
    if errors:
        raise AnswersInvalid(errors)
    upward = next((q for q in definition.questions if q.upward), None)
    manager_id = org_store.manager_of(session, team_id, user_id) or definition.owner_id
    if (
        anonymous
        and upward is not None
        and values.get(upward.id)
        and not anonymity_offered(session, team_id, manager_id, anonymity_min)
    ):
        # The form no longer offers it (the team shrank since it opened, or a forged
        # submission): say so and store nothing, rather than send the note with a name.
        raise AnswersInvalid(
            {
                upward.id: f"Anonymous notes need at least {anonymity_min} people reporting to "
                "your manager, and there are fewer now. Untick anonymous to send it with your "
                "name, or clear the note."
            }
        )
    changed = store.transition(
        session,
        row.id,
        from_states=[OccurrenceState.PENDING],
        values={
            "state": OccurrenceState.ANSWERED,
            "answered_at": now,
            "snoozed_until": None,
            "updated_at": now,
        },
        extra=CheckinOccurrence.closes_at > now,
    )
    if not changed:  # closed or answered between our read and our write
        session.refresh(row)
        _ensure_open(session, row, now)
        raise CheckinUnavailable(
            CheckinUnavailableReason.ANSWERED, "This check-in was already submitted."
        )
    upward_text = values.pop(upward.id, None) if upward is not None else None
    shown: dict[str, Any] = {}
    if goals is not None and owned is not None and owned.asked:
        values[goals.id], shown[goals.id] = goal_checkin.record(
            session, owned, changes, author_id=user_id, occurrence_id=row.id, now=now
        )
    store.save_answers(session, team_id, row.id, values)
    is_anonymous = bool(anonymous and upward_text)
    if upward_text and manager_id != user_id:
        store.add_upward(
            session,
            team_id=team_id,
            manager_id=manager_id,
            author_id=None if is_anonymous else user_id,
            occurrence_id=None if is_anonymous else row.id,
            text=upward_text,
            # The week the manager's digest will count it in: in the manager's zone, never the
            # author's (which could tell who wrote it) nor anything finer than the week.
            iso_week=iso_week(_local_date(session, team_id, manager_id, now)),
            released=not is_anonymous,
        )
    elif upward_text:
        upward_text = None  # the owner answering their own check-in has no one to send it to
    session.refresh(row)
    return Submitted(
        occurrence=Occurrence.from_row(row),
        template=definition,
        answers=[
            (q, shown.get(q.id, values[q.id]))
            for q in form_questions(definition.questions)
            if q.id in values
        ],
        upward_text=upward_text,
        upward_anonymous=is_anonymous,
        manager_id=manager_id,
    )


def skip(
    session: Session, team_id: str, user_id: str, occurrence_id: int | None, now: datetime
) -> Occurrence:
    """pending -> skipped (the member's own choice, unlike missed)."""
    row = _target(session, team_id, user_id, occurrence_id, now)
    if not store.transition(
        session,
        row.id,
        from_states=[OccurrenceState.PENDING],
        values={"state": OccurrenceState.SKIPPED, "snoozed_until": None, "updated_at": now},
        extra=CheckinOccurrence.closes_at > now,
    ):
        session.refresh(row)
        _ensure_open(session, row, now)
    session.refresh(row)
    return Occurrence.from_row(row)


def snooze(
    session: Session,
    team_id: str,
    user_id: str,
    occurrence_id: int | None,
    duration: timedelta,
    now: datetime,
) -> Occurrence:
    """Ask again after `duration`; never past closing (refused, saying when it closes)."""
    row = _target(session, team_id, user_id, occurrence_id, now)
    if duration < MIN_SNOOZE:
        raise CheckinRefused("Snooze for at least 5 minutes, e.g. `/checkin snooze 1h`.")
    until = now + duration
    if until >= row.closes_at:
        raise CheckinRefused(
            f"This check-in closes {slack_date(row.closes_at)}, before the snooze would end. "
            "Answer it now, snooze for less, or skip it."
        )
    if not store.transition(
        session,
        row.id,
        from_states=[OccurrenceState.PENDING],
        values={
            "snoozed_until": until,
            "snooze_count": CheckinOccurrence.snooze_count + 1,
            "updated_at": now,
        },
        extra=CheckinOccurrence.closes_at > now,
    ):
        session.refresh(row)
        _ensure_open(session, row, now)
    session.refresh(row)
    return Occurrence.from_row(row)


def set_ooo(session: Session, team_id: str, user_id: str, until: date, now: datetime) -> OooResult:
    """Out of office from today to `until` inclusive (the member's dates): no prompts.

    Check-ins already waiting in that period become `away`, so the digest shows the person as
    away, not missing.
    """
    today = _today(session, team_id, user_id, now)
    if until < today:
        raise CheckinRefused(
            f"{until.isoformat()} has passed. Give a date from today on, e.g. "
            f"`/checkin ooo until {(today + timedelta(days=7)).isoformat()}`."
        )
    if until > today + timedelta(days=MAX_OOO_DAYS):
        raise CheckinRefused("Out of office can be set up to a year ahead.")
    org_store.set_ooo(session, team_id, user_id, today, until, now)
    away = []
    for row in store.pending_between(session, team_id, user_id, today, until):
        if store.transition(
            session,
            row.id,
            from_states=[OccurrenceState.PENDING],
            values={"state": OccurrenceState.AWAY, "snoozed_until": None, "updated_at": now},
        ):
            session.refresh(row)
            away.append(Occurrence.from_row(row))
    return OooResult(starts_on=today, until=until, away=away)


def end_ooo(session: Session, team_id: str, user_id: str) -> bool:
    """`/checkin ooo off`: prompts resume with the next scheduled one. False if none was set."""
    return org_store.clear_ooo(session, team_id, user_id)


def ooo_until(session: Session, team_id: str, user_id: str, now: datetime) -> date | None:
    """The last away day, if the member is out of office today or later."""
    period = org_store.get_ooo(session, team_id, [user_id]).get(user_id)
    if period is None or period.until < _today(session, team_id, user_id, now):
        return None
    return period.until


def next_checkin(
    session: Session, team_id: str, user_id: str, now: datetime
) -> tuple[TemplateDef, datetime] | None:
    """The member's next scheduled prompt across their templates (for App Home)."""
    person = people(session, team_id, [user_id]).get(user_id)
    best: tuple[TemplateDef, datetime] | None = None
    for template in store.templates_of_member(session, team_id, user_id):
        start = max(now, template.schedule_from)
        slot = next_slot(
            template.weekdays, parse_time(template.local_time), person.tz if person else None, start
        )
        if slot is not None and (best is None or slot.at < best[1]):
            best = (definition_from_row(template), slot.at)
    return best


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """Where a manager's Reply goes: the member, in the thread of their check-in DM."""

    occurrence_id: int
    member_id: str
    template_name: str
    prompt_outbox_id: int | None


def reply_target(
    session: Session, team_id: str, manager_id: str, occurrence_id: int | None
) -> ReplyTarget | None:
    """The answered occurrence a manager may reply to, or None.

    Only someone who may read the answers may reply: the template's owner, or the member's
    manager in the org chart (an answer is for its member and their manager).
    """
    if occurrence_id is None:
        return None
    row = store.get_occurrence(session, team_id, occurrence_id)
    if row is None or row.state != OccurrenceState.ANSWERED:
        return None
    template = store.get_template(session, team_id, row.template_id)
    if template is None:
        return None
    readers = {template.owner_id, org_store.manager_of(session, team_id, row.user_id)}
    if manager_id not in readers or manager_id == row.user_id:
        return None
    return ReplyTarget(row.id, row.user_id, template.name, row.prompt_outbox_id)


def template_name(session: Session, team_id: str, template_id: int) -> str:
    """For messages about an occurrence; "check-in" if the template is gone."""
    row = store.get_template(session, team_id, template_id)
    return row.name if row is not None else "check-in"


# ----- answers ----------------------------------------------------------------------------------


def validate_answers(questions: Sequence[Question], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Raw modal values -> clean values, or AnswersInvalid with a message per question id.

    Clean values: text -> str, pulse -> int 1..5, choice -> one of the options, yes_no -> bool;
    a yes/no blocker's detail ("What is blocking you?") -> str, under `detail_id`. Unanswered
    optional questions are left out.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    asked = form_questions(questions)
    for question in asked:
        if question.kind == "goals":
            continue  # the key results it asks about are the member's: `goal_checkin.validate`
        value = raw.get(question.id)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            if question.required:
                errors[question.id] = "Please answer this question."
            continue
        try:
            values[question.id] = _clean(question, value)
        except ValueError as problem:
            errors[question.id] = str(problem)
    for question in asked:
        parent = question.detail_of
        if parent is not None and question.id in values and values.get(parent) is not True:
            # The detail says something blocks; an answer of No (or none) says nothing does.
            # Storing both would let the digest read either; the member decides which.
            errors.setdefault(
                parent, "You wrote what is blocking you below: pick Yes, or clear that text."
            )
    unknown = sorted(set(raw) - {q.id for q in asked})
    if unknown and not errors:
        errors[unknown[0]] = "This question is not part of the check-in any more; reopen it."
    if errors:
        raise AnswersInvalid(errors)
    return values


def _clean(question: Question, value: Any) -> Any:
    if question.kind == "text":
        text = str(value)
        if len(text) > MAX_TEXT:
            raise ValueError(
                f"Your answer is {len(text)} characters; the limit is {MAX_TEXT}. "
                "Please shorten it."
            )
        return text
    if question.kind == "pulse":
        try:
            number = int(str(value))
        except ValueError:
            raise ValueError("Pick a number from 1 to 5.") from None
        if isinstance(value, bool) or number not in PULSE_RANGE:
            raise ValueError("Pick a number from 1 to 5.")
        return number
    if question.kind == "choice":
        if str(value) not in question.options:
            raise ValueError("Pick one of the options.")
        return str(value)
    if question.kind == "yes_no":
        if isinstance(value, bool):
            return value
        word = str(value).lower()
        if word in YES:
            return True
        if word in NO:
            return False
        raise ValueError("Answer yes or no.")
    raise ValueError(f"Unknown question kind {question.kind}.")


# ----- the /checkin command's words -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckinCommand:
    """`/checkin [skip | snooze 2h | ooo until DATE | ooo off | setup | digest | help]`."""

    # "open" | "skip" | "snooze" | "ooo" | "ooo_off" | "setup" | "digest" | "help" | "error"
    verb: str
    duration: timedelta | None = None
    until: date | None = None
    error: str | None = None


def parse_command(text: str) -> CheckinCommand:
    words = text.strip().split()
    if not words:
        return CheckinCommand("open")
    verb, rest = words[0].lower(), words[1:]
    if verb in {"help", "?"}:
        return CheckinCommand("help")
    if verb in {"setup", "digest", "skip"} and not rest:
        return CheckinCommand(verb)
    if verb == "snooze":
        try:
            return CheckinCommand("snooze", duration=parse_duration(rest[0] if rest else "1h"))
        except ValueError:
            return CheckinCommand(
                "error",
                error="Snooze takes a duration such as `30m`, `2h` or `1d`: `/checkin snooze 2h`.",
            )
    if verb == "ooo":
        if [w.lower() for w in rest] == ["off"]:
            return CheckinCommand("ooo_off")
        if len(rest) == 2 and rest[0].lower() == "until":
            try:
                return CheckinCommand("ooo", until=date.fromisoformat(rest[1]))
            except ValueError:
                pass
        return CheckinCommand(
            "error",
            error="Say until when, as a date (YYYY-MM-DD): `/checkin ooo until YYYY-MM-DD` "
            "(or `/checkin ooo off`).",
        )
    return CheckinCommand(
        "error", error=f"I don't know `/checkin {text.strip()}`. Try `/checkin help`."
    )


# ----- helpers ----------------------------------------------------------------------------------


def slack_date(instant: datetime) -> str:
    """Rendered by Slack in the reader's own zone and locale."""
    fallback = instant.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(instant.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _own_occurrence(
    session: Session, team_id: str, user_id: str, occurrence_id: int, *, for_update: bool = False
) -> CheckinOccurrence:
    row = store.get_occurrence(session, team_id, occurrence_id, for_update=for_update)
    if row is None or row.user_id != user_id:
        raise CheckinUnavailable(CheckinUnavailableReason.NOT_FOUND, "I can't find that check-in.")
    return row


def _ensure_open(session: Session, row: CheckinOccurrence, now: datetime) -> None:
    """Raise the reason an occurrence can't be acted on; close it if its time has passed."""
    if row.state == OccurrenceState.PENDING and row.closes_at <= now:
        store.transition(
            session,
            row.id,
            from_states=[OccurrenceState.PENDING],
            values={"state": OccurrenceState.MISSED, "updated_at": now},
        )
        session.refresh(row)
    if row.state == OccurrenceState.PENDING:
        return
    occurrence = Occurrence.from_row(row)
    messages: dict[str, tuple[CheckinUnavailableReason, str]] = {
        OccurrenceState.MISSED: (
            CheckinUnavailableReason.CLOSED,
            "This check-in has closed. The next one comes at its usual time.",
        ),
        OccurrenceState.ANSWERED: (
            CheckinUnavailableReason.ANSWERED,
            "You already submitted this check-in. Thanks!",
        ),
        OccurrenceState.SKIPPED: (
            CheckinUnavailableReason.SKIPPED,
            "You skipped this check-in. The next one comes at its usual time.",
        ),
        OccurrenceState.AWAY: (
            CheckinUnavailableReason.AWAY,
            "You were out of office for this check-in; nothing to do.",
        ),
    }
    reason, message = messages.get(
        row.state, (CheckinUnavailableReason.CLOSED, "This check-in has closed.")
    )
    raise CheckinUnavailable(reason, message, occurrence)


def _target(
    session: Session, team_id: str, user_id: str, occurrence_id: int | None, now: datetime
) -> CheckinOccurrence:
    """The named occurrence, or the member's latest pending one (`/checkin skip`)."""
    if occurrence_id is None:
        row = store.latest_pending(session, team_id, user_id, now)
        if row is None:
            raise CheckinUnavailable(
                CheckinUnavailableReason.NOT_FOUND, "You have no check-in waiting."
            )
        return row
    row = _own_occurrence(session, team_id, user_id, occurrence_id, for_update=True)
    _ensure_open(session, row, now)
    return row


def anonymity_offered(session: Session, team_id: str, manager_id: str | None, minimum: int) -> bool:
    """Anonymous upward feedback is offered only to a manager with enough direct reports: with
    fewer, a note could point to its author."""
    if manager_id is None:
        return False
    return len(org_store.reports_of(session, team_id, manager_id)) >= minimum


def upward_manager(session: Session, team_id: str, user_id: str, owner_id: str) -> str:
    """Who reads a member's upward note: their manager in the org chart, else the owner."""
    return org_store.manager_of(session, team_id, user_id) or owner_id


def _local_date(session: Session, team_id: str, user_id: str, now: datetime) -> date:
    return _today(session, team_id, user_id, now)


def _today(session: Session, team_id: str, user_id: str, now: datetime) -> date:
    person: Person | None = people(session, team_id, [user_id]).get(user_id)
    return person.local_date(now) if person else now.date()
