"""What a weekly digest reads and writes: a fixed set of statements per digest, whatever the team.

Every read here is one statement over indexed columns with the team's ids bound as a list (or
a recursive CTE for a skip-level subtree), so building a digest costs the same number of round
trips for a team of 3 or of 300 (tests/test_digest_service.py counts them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, and_, case, func, or_, select, union, update
from sqlalchemy.orm import Session

from storage import outbox
from storage.kudos import WITHDRAWN
from storage.models import (
    CheckinAnswer,
    CheckinMember,
    CheckinOccurrence,
    CheckinTemplate,
    ConversationMessage,
    Digest,
    DirectoryUser,
    Kudos,
    KudosRecipient,
    KudosValue,
    OrgEdge,
    OutboxMessage,
    UpwardFeedback,
)
from storage.upserts import insert_ignoring_conflict

# The occurrence states this module selects by (bot/services/states.py names them for the domain).
_PENDING, _ANSWERED = "pending", "answered"


@dataclass(frozen=True, slots=True)
class OccurrenceRow:
    id: int
    template_id: int
    user_id: str
    local_date: date
    state: str
    closes_at: datetime


@dataclass(frozen=True, slots=True)
class ManagerRow:
    user_id: str
    tz: str | None
    since: datetime | None = None  # when pulsebot first knew them as a manager or an owner


@dataclass(frozen=True, slots=True)
class NoteRow:
    id: str
    author_id: str | None
    anonymous: bool
    text: str
    iso_week: str


# ----- who gets a digest ------------------------------------------------------------------------


def managers(session: Session, team_id: str, only: str | None = None) -> list[ManagerRow]:
    """Everyone with direct reports or an active template they own, with their cached zone and
    the earliest instant either was recorded (no digest covers a week before it)."""
    ids = union(
        select(OrgEdge.manager_id.label("user_id"), OrgEdge.updated_at.label("since")).where(
            OrgEdge.team_id == team_id
        ),
        select(
            CheckinTemplate.owner_id.label("user_id"), CheckinTemplate.created_at.label("since")
        ).where(CheckinTemplate.team_id == team_id, CheckinTemplate.active.is_(True)),
    ).subquery()
    earliest = (
        select(ids.c.user_id, func.min(ids.c.since).label("since"))
        .group_by(ids.c.user_id)
        .subquery()
    )
    query = (
        select(earliest.c.user_id, DirectoryUser.tz, earliest.c.since)
        .outerjoin(
            DirectoryUser,
            and_(DirectoryUser.team_id == team_id, DirectoryUser.user_id == earliest.c.user_id),
        )
        .order_by(earliest.c.user_id)
    )
    if only is not None:
        query = query.where(earliest.c.user_id == only)
    return [ManagerRow(user_id, tz, since) for user_id, tz, since in session.execute(query)]


def reports(session: Session, team_id: str, manager_id: str) -> list[tuple[str, bool]]:
    """Direct reports, each with whether they manage anyone themselves (skip-level lines)."""
    child = OrgEdge.__table__.alias("child")
    has_reports = (
        select(func.count())
        .select_from(child)
        .where(child.c.team_id == team_id, child.c.manager_id == OrgEdge.user_id)
        .scalar_subquery()
    )
    rows = session.execute(
        select(OrgEdge.user_id, has_reports)
        .where(OrgEdge.team_id == team_id, OrgEdge.manager_id == manager_id)
        .order_by(OrgEdge.user_id)
    )
    return [(user_id, bool(count)) for user_id, count in rows]


def owned_templates(session: Session, team_id: str, owner_id: str) -> list[CheckinTemplate]:
    return list(
        session.scalars(
            select(CheckinTemplate)
            .where(CheckinTemplate.team_id == team_id, CheckinTemplate.owner_id == owner_id)
            .order_by(CheckinTemplate.id)
        )
    )


# ----- when a digest may go ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedMember:
    """A member of an active template, with what says when their check-ins fall and close."""

    template_id: int
    owner_id: str
    weekdays: list[str]
    local_time: str
    close_after_minutes: int
    schedule_from: datetime
    user_id: str
    added_at: datetime
    tz: str | None
    prompted: bool  # not a bot, not deactivated: the scheduler writes their check-ins
    manager_id: str | None


def planned_members(session: Session, team_id: str) -> list[PlannedMember]:
    """Every member of the workspace's active templates, with their zone and manager."""
    rows = session.execute(
        select(
            CheckinTemplate.id,
            CheckinTemplate.owner_id,
            CheckinTemplate.weekdays,
            CheckinTemplate.local_time,
            CheckinTemplate.close_after_minutes,
            CheckinTemplate.schedule_from,
            CheckinMember.user_id,
            CheckinMember.added_at,
            DirectoryUser.tz,
            DirectoryUser.is_bot,
            DirectoryUser.deleted,
            OrgEdge.manager_id,
        )
        .join(CheckinMember, CheckinMember.template_id == CheckinTemplate.id)
        .outerjoin(
            DirectoryUser,
            and_(DirectoryUser.team_id == team_id, DirectoryUser.user_id == CheckinMember.user_id),
        )
        .outerjoin(
            OrgEdge, and_(OrgEdge.team_id == team_id, OrgEdge.user_id == CheckinMember.user_id)
        )
        .where(CheckinTemplate.team_id == team_id, CheckinTemplate.active.is_(True))
    )
    return [
        PlannedMember(
            template_id,
            owner_id,
            list(weekdays),
            local_time,
            close_after,
            schedule_from,
            user_id,
            added_at,
            tz,
            not (is_bot or deleted),
            manager_id,
        )
        for (
            template_id,
            owner_id,
            weekdays,
            local_time,
            close_after,
            schedule_from,
            user_id,
            added_at,
            tz,
            is_bot,
            deleted,
            manager_id,
        ) in rows
    ]


@dataclass(frozen=True, slots=True)
class OpenCheckin:
    owner_id: str  # the template's
    user_id: str
    manager_id: str | None  # the member's
    local_date: date
    closes_at: datetime


def open_checkins(
    session: Session, team_id: str, first: date, last: date, now: datetime
) -> list[OpenCheckin]:
    """The check-ins dated in [first, last] still open at `now`, by the (team, state, close)
    index: the few that may yet be answered, not the week's thousands."""
    rows = session.execute(
        select(
            CheckinTemplate.owner_id,
            CheckinOccurrence.user_id,
            OrgEdge.manager_id,
            CheckinOccurrence.local_date,
            CheckinOccurrence.closes_at,
        )
        .join(CheckinTemplate, CheckinTemplate.id == CheckinOccurrence.template_id)
        .outerjoin(
            OrgEdge, and_(OrgEdge.team_id == team_id, OrgEdge.user_id == CheckinOccurrence.user_id)
        )
        .where(
            CheckinOccurrence.team_id == team_id,
            CheckinOccurrence.state == _PENDING,
            CheckinOccurrence.closes_at > now,
            CheckinOccurrence.local_date >= first,
            CheckinOccurrence.local_date <= last,
        )
    )
    return [OpenCheckin(*row) for row in rows]


# ----- check-ins --------------------------------------------------------------------------------


def occurrences(
    session: Session,
    team_id: str,
    user_ids: Sequence[str],
    template_ids: Sequence[int],
    first: date,
    last: date,
) -> list[OccurrenceRow]:
    """Occurrences dated in [first, last] of these people (any template) or these templates.

    Two index range scans joined by UNION, on (team, user, date) and (template, date): an OR
    would scan the workspace, and the unique key (template, user, date) would walk each
    template's whole history."""
    if not user_ids and not template_ids:
        return []
    columns = (
        CheckinOccurrence.id,
        CheckinOccurrence.template_id,
        CheckinOccurrence.user_id,
        CheckinOccurrence.local_date,
        CheckinOccurrence.state,
        CheckinOccurrence.closes_at,
    )
    dated = and_(CheckinOccurrence.local_date >= first, CheckinOccurrence.local_date <= last)
    parts = []
    if user_ids:
        parts.append(
            select(*columns).where(
                CheckinOccurrence.team_id == team_id,
                CheckinOccurrence.user_id.in_(list(user_ids)),
                dated,
            )
        )
    if template_ids:
        # Template ids are the workspace's own; naming the team here too would lead SQLite
        # to range over the workspace instead of the (template, date) index.
        parts.append(
            select(*columns).where(CheckinOccurrence.template_id.in_(list(template_ids)), dated)
        )
    query = union(*parts) if len(parts) > 1 else parts[0]
    rows = [OccurrenceRow(*row) for row in session.execute(query)]
    return sorted(rows, key=lambda r: (r.local_date, r.id))


def templates(session: Session, template_ids: Iterable[int]) -> dict[int, CheckinTemplate]:
    ids = sorted(set(template_ids))
    if not ids:
        return {}
    return {
        t.id: t for t in session.scalars(select(CheckinTemplate).where(CheckinTemplate.id.in_(ids)))
    }


def answers(
    session: Session,
    occurrence_ids: Sequence[int],
    question_ids: Sequence[str] | None = None,
    *,
    whole: Sequence[int] = (),
) -> dict[int, dict[str, Any]]:
    """{occurrence id: {question id: value}}; `question_ids` narrows to those questions,
    except for the occurrences in `whole` (read whole: the weeks whose text is shown)."""
    found: dict[int, dict[str, Any]] = {}
    if not occurrence_ids and not whole:
        return found
    chosen: ColumnElement[bool] = CheckinAnswer.occurrence_id.in_(list(occurrence_ids))
    if question_ids is not None:
        chosen = and_(chosen, CheckinAnswer.question_id.in_(list(question_ids)))
    if whole:
        chosen = or_(chosen, CheckinAnswer.occurrence_id.in_(list(whole)))
    query = select(
        CheckinAnswer.occurrence_id, CheckinAnswer.question_id, CheckinAnswer.value
    ).where(chosen)
    for occurrence_id, question_id, value in session.execute(query):
        found.setdefault(occurrence_id, {})[question_id] = value
    return found


def replies(
    session: Session, team_id: str, occurrence_ids: Sequence[int]
) -> dict[int, list[tuple[str, str, datetime]]]:
    """{occurrence id: [(author, text, when)]}, oldest first: the exchange kept with each
    answer (the manager's replies and the member's answers back)."""
    found: dict[int, list[tuple[str, str, datetime]]] = {}
    if not occurrence_ids:
        return found
    rows = session.execute(
        select(
            ConversationMessage.item_id,
            ConversationMessage.author_id,
            ConversationMessage.text,
            ConversationMessage.created_at,
        )
        .where(
            ConversationMessage.team_id == team_id,
            ConversationMessage.kind == "checkin",
            ConversationMessage.item_id.in_(list(occurrence_ids)),
        )
        .order_by(ConversationMessage.created_at, ConversationMessage.id)
    )
    for occurrence_id, author_id, text, created_at in rows:
        # item_id may be NULL in the table, but not in these rows: IN (...) matched each.
        found.setdefault(cast(int, occurrence_id), []).append((author_id, text, created_at))
    return found


def occurrence(session: Session, team_id: str, occurrence_id: int) -> CheckinOccurrence | None:
    return session.scalars(
        select(CheckinOccurrence).where(
            CheckinOccurrence.team_id == team_id, CheckinOccurrence.id == occurrence_id
        )
    ).first()


# ----- skip-level -------------------------------------------------------------------------------


# Ids bound per statement at most: SQLite allows 32,766 variables; a slice this size keeps
# every digest but the head of a company of tens of thousands to one statement.
IN_CHUNK = 10_000


def _subtree(team_id: str, roots: Sequence[str], name: str) -> Any:
    """Everyone below each root, however deep: a recursive CTE of (user_id, root)."""
    base = select(OrgEdge.user_id.label("user_id"), OrgEdge.manager_id.label("root")).where(
        OrgEdge.team_id == team_id, OrgEdge.manager_id.in_(list(roots))
    )
    tree = base.cte(name, recursive=True)
    edge = OrgEdge.__table__.alias(f"{name}_edge")
    return tree.union(
        select(edge.c.user_id, tree.c.root).where(
            edge.c.team_id == team_id, edge.c.manager_id == tree.c.user_id
        )
    )


class SubtreeRow(NamedTuple):
    """An occurrence below a skip-level root, reduced to what its line counts (a tuple: a
    manager of managers may have tens of thousands)."""

    root: str
    id: int
    template_id: int
    user_id: str
    this_week: Any  # true for the covered week, else the week before (SQL's 1 or 0)
    outcome: str  # answered | missed | skipped | away | open (pending, not closed at `now`)


def subtree_people(session: Session, team_id: str, roots: Sequence[str]) -> dict[str, str]:
    """{person: root} for everyone below each root, however deep (one walk of the chart)."""
    if not roots:
        return {}
    tree = _subtree(team_id, roots, "subtree")
    return {user_id: root for user_id, root in session.execute(select(tree.c.user_id, tree.c.root))}


def subtree_occurrences(
    session: Session,
    team_id: str,
    below: dict[str, str],
    week: date,
    last: date,
    now: datetime,
) -> list[SubtreeRow]:
    """Occurrences of the people `below` ({person: root}), the week before `week` to `last`.

    By the people's (team, user, date) index, in slices of `IN_CHUNK` ids (one statement for
    any but the largest organisations); the week and the outcome are worked out in SQL, so
    each row comes back as a few plain values."""
    outcome = case(
        (
            CheckinOccurrence.state == _PENDING,
            case((CheckinOccurrence.closes_at > now, "open"), else_="missed"),
        ),
        else_=CheckinOccurrence.state,
    )
    found: list[SubtreeRow] = []
    people = sorted(below)
    for start in range(0, len(people), IN_CHUNK):
        rows = session.execute(
            select(
                CheckinOccurrence.id,
                CheckinOccurrence.template_id,
                CheckinOccurrence.user_id,
                CheckinOccurrence.local_date >= week,
                outcome,
            ).where(
                CheckinOccurrence.team_id == team_id,
                CheckinOccurrence.user_id.in_(people[start : start + IN_CHUNK]),
                CheckinOccurrence.local_date >= week - timedelta(days=7),
                CheckinOccurrence.local_date <= last,
            )
        )
        found += [SubtreeRow(below[u], i, t, u, w, o) for i, t, u, w, o in rows]
    return found


def pulse_answers(
    session: Session, occurrence_ids: Sequence[int], question_ids: Sequence[str]
) -> dict[int, dict[str, Any]]:
    """These questions' answers to these occurrences, in slices of `IN_CHUNK` ids."""
    found: dict[int, dict[str, Any]] = {}
    if not question_ids:
        return found
    ids = list(occurrence_ids)
    for start in range(0, len(ids), IN_CHUNK):
        rows = session.execute(
            select(
                CheckinAnswer.occurrence_id, CheckinAnswer.question_id, CheckinAnswer.value
            ).where(
                CheckinAnswer.occurrence_id.in_(ids[start : start + IN_CHUNK]),
                CheckinAnswer.question_id.in_(list(question_ids)),
            )
        )
        for occurrence_id, question_id, value in rows:
            found.setdefault(occurrence_id, {})[question_id] = value
    return found


# ----- kudos ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KudosRow:
    recipient_id: str
    kudos_id: int
    created_at: datetime
    value: str | None


def kudos_to(
    session: Session, team_id: str, user_ids: Sequence[str], start: datetime, end: datetime
) -> list[KudosRow]:
    """Kudos these people received in [start, end), one row per (kudos, recipient, value).

    Driven by the recipients' index: the workspace is checked on the rows, not in the WHERE,
    where SQLite would rather range over every kudos of the workspace by time."""
    if not user_ids:
        return []
    rows = session.execute(
        select(
            KudosRecipient.recipient_id,
            Kudos.id,
            Kudos.team_id,
            Kudos.created_at,
            KudosValue.value,
        )
        .join(Kudos, Kudos.id == KudosRecipient.kudos_id)
        .outerjoin(KudosValue, KudosValue.kudos_id == Kudos.id)
        .where(
            KudosRecipient.recipient_id.in_(list(user_ids)),
            Kudos.created_at >= start,
            Kudos.created_at < end,
        )
    )
    return [
        KudosRow(recipient, kudos_id, created_at, value)
        for recipient, kudos_id, team, created_at, value in rows
        if team == team_id
    ]


# ----- upward feedback --------------------------------------------------------------------------


def notes(session: Session, team_id: str, manager_id: str, iso_week: str) -> list[NoteRow]:
    """The week's named notes, and every anonymous note still waiting up to that week."""
    rows = session.execute(
        select(
            UpwardFeedback.id,
            UpwardFeedback.author_id,
            UpwardFeedback.anonymous,
            UpwardFeedback.text,
            UpwardFeedback.iso_week,
        ).where(
            UpwardFeedback.team_id == team_id,
            UpwardFeedback.manager_id == manager_id,
            or_(
                and_(UpwardFeedback.anonymous.is_(False), UpwardFeedback.iso_week == iso_week),
                and_(
                    UpwardFeedback.anonymous.is_(True),
                    UpwardFeedback.released.is_(False),
                    UpwardFeedback.iso_week <= iso_week,
                ),
            ),
        )
    )
    return [NoteRow(*row) for row in rows]


def named_notes(
    session: Session, team_id: str, manager_id: str, occurrence_ids: Sequence[int]
) -> dict[int, str]:
    """{occurrence id: the named note its member left `manager_id` with that answer}."""
    if not occurrence_ids:
        return {}
    rows = session.execute(
        select(UpwardFeedback.occurrence_id, UpwardFeedback.text).where(
            UpwardFeedback.team_id == team_id,
            UpwardFeedback.manager_id == manager_id,
            UpwardFeedback.anonymous.is_(False),
            UpwardFeedback.occurrence_id.in_(list(occurrence_ids)),
        )
    )
    return {cast(int, occurrence_id): text for occurrence_id, text in rows}


def release_marks(
    session: Session, team_id: str, manager_id: str, before: str
) -> tuple[str | None, str | None]:
    """(the ISO week of the manager's first digest, of their latest digest whose span of weeks
    cleared the anonymity minimum), among the digests of weeks before `before`; one statement."""
    mine = and_(
        Digest.team_id == team_id, Digest.manager_id == manager_id, Digest.iso_week < before
    )
    first = select(func.min(Digest.iso_week)).where(mine).scalar_subquery()
    cleared = (
        select(func.max(Digest.iso_week))
        .where(mine, Digest.anonymity_met.is_(True))
        .scalar_subquery()
    )
    row = session.execute(select(first, cleared)).one()
    return row[0], row[1]


def answerers(
    session: Session, team_id: str, user_ids: Sequence[str], first: date, last: date
) -> set[str]:
    """Which of these people answered at least one check-in dated in [first, last]."""
    if not user_ids:
        return set()
    return set(
        session.scalars(
            select(CheckinOccurrence.user_id)
            .where(
                CheckinOccurrence.team_id == team_id,
                CheckinOccurrence.user_id.in_(list(user_ids)),
                CheckinOccurrence.local_date >= first,
                CheckinOccurrence.local_date <= last,
                CheckinOccurrence.state == _ANSWERED,
            )
            .distinct()
        )
    )


def release_notes(session: Session, note_ids: Sequence[str], iso_week: str) -> None:
    if note_ids:
        session.execute(
            update(UpwardFeedback)
            .where(UpwardFeedback.id.in_(list(note_ids)), UpwardFeedback.released.is_(False))
            .values(released=True, released_week=iso_week)
        )


# ----- the digests themselves -------------------------------------------------------------------


def insert_digest(session: Session, values: dict[str, Any]) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING on (team, manager, week): None if it exists already."""
    new_id = insert_ignoring_conflict(
        session,
        Digest.__table__,
        values,
    )
    return int(new_id) if new_id is not None else None


def queued(session: Session, team_id: str) -> int:
    """A workspace's digests written whose message Slack has not had yet."""
    count = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .join(Digest, Digest.outbox_id == OutboxMessage.id)
        .where(OutboxMessage.team_id == team_id, OutboxMessage.status == outbox.PENDING)
    )
    return int(count or 0)


def set_digest_outbox(session: Session, digest_id: int, outbox_id: int) -> None:
    session.execute(update(Digest).where(Digest.id == digest_id).values(outbox_id=outbox_id))


def find_digest(session: Session, team_id: str, manager_id: str, iso_week: str) -> Digest | None:
    return session.scalars(
        select(Digest).where(
            Digest.team_id == team_id, Digest.manager_id == manager_id, Digest.iso_week == iso_week
        )
    ).first()


def existing_weeks(
    session: Session, team_id: str, iso_weeks: Sequence[str]
) -> set[tuple[str, str]]:
    """(manager, week) pairs already written, so a minute job skips them without building."""
    if not iso_weeks:
        return set()
    rows = session.execute(
        select(Digest.manager_id, Digest.iso_week).where(
            Digest.team_id == team_id, Digest.iso_week.in_(list(iso_weeks))
        )
    )
    return {(m, w) for m, w in rows}


# ----- App Home ---------------------------------------------------------------------------------


def recent_answered(
    session: Session, team_id: str, user_id: str, limit: int
) -> list[tuple[OccurrenceRow, str]]:
    """A person's latest answered check-ins, newest first, with their template's name."""
    rows = session.execute(
        select(
            CheckinOccurrence.id,
            CheckinOccurrence.template_id,
            CheckinOccurrence.user_id,
            CheckinOccurrence.local_date,
            CheckinOccurrence.state,
            CheckinOccurrence.closes_at,
            CheckinTemplate.name,
        )
        .join(CheckinTemplate, CheckinTemplate.id == CheckinOccurrence.template_id)
        .where(
            CheckinOccurrence.team_id == team_id,
            CheckinOccurrence.user_id == user_id,
            CheckinOccurrence.state == _ANSWERED,
        )
        .order_by(CheckinOccurrence.local_date.desc(), CheckinOccurrence.id.desc())
        .limit(limit)
    )
    return [(OccurrenceRow(*row[:6]), row[6]) for row in rows]


@dataclass(frozen=True, slots=True)
class KudosLine:
    other_ids: tuple[str, ...]  # the giver (received) or the recipients (given)
    message: str
    created_at: datetime


def kudos_received_by(session: Session, team_id: str, user_id: str, limit: int) -> list[KudosLine]:
    rows = session.execute(
        select(Kudos.giver_id, Kudos.message, Kudos.created_at)
        .join(KudosRecipient, KudosRecipient.kudos_id == Kudos.id)
        .where(Kudos.team_id == team_id, KudosRecipient.recipient_id == user_id)
        .order_by(Kudos.created_at.desc(), Kudos.id.desc())
        .limit(limit)
    )
    return [KudosLine((giver,), message, at) for giver, message, at in rows]


def kudos_given_by(session: Session, team_id: str, user_id: str, limit: int) -> list[KudosLine]:
    kudos = list(
        session.scalars(
            select(Kudos)
            .where(
                Kudos.team_id == team_id, Kudos.giver_id == user_id, Kudos.source != WITHDRAWN
            )
            .order_by(Kudos.created_at.desc(), Kudos.id.desc())
            .limit(limit)
        )
    )
    return [
        KudosLine(tuple(r.recipient_id for r in k.recipients), k.message, k.created_at)
        for k in kudos
    ]
