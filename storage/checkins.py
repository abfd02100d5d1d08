"""Check-in templates, their members, occurrences, answers and upward feedback.

The claims (`claim_*`) are the scheduler's exactly-once points: each selects due rows
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, so a second scheduler passes over rows the first is
handling; SQLite's `BEGIN IMMEDIATE` already serialises writers) and then changes them with a
conditional UPDATE, so a row is claimed by one run only, even when two runs overlap.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select, union, update
from sqlalchemy.orm import Session

from storage.models import (
    CheckinAnswer,
    CheckinMember,
    CheckinOccurrence,
    CheckinTemplate,
    DirectoryUser,
    OrgEdge,
    UpwardFeedback,
)
from storage.upserts import insert_ignoring_conflict, rowcount, supports_skip_locked

# The occurrence states this module selects by or writes itself (bot/services/states.py has
# them all; callers pass the others).
_PENDING, _MISSED = "pending", "missed"


# ----- templates -------------------------------------------------------------------------------


def find_template(
    session: Session, team_id: str, owner_id: str, name: str
) -> CheckinTemplate | None:
    return session.scalars(
        select(CheckinTemplate).where(
            CheckinTemplate.team_id == team_id,
            CheckinTemplate.owner_id == owner_id,
            CheckinTemplate.name == name,
        )
    ).first()


def get_template(session: Session, team_id: str, template_id: int) -> CheckinTemplate | None:
    return session.scalars(
        select(CheckinTemplate).where(
            CheckinTemplate.team_id == team_id, CheckinTemplate.id == template_id
        )
    ).first()


def list_templates(
    session: Session, team_id: str | None = None, *, active_only: bool = False
) -> list[CheckinTemplate]:
    query = select(CheckinTemplate).order_by(
        CheckinTemplate.team_id, CheckinTemplate.owner_id, CheckinTemplate.name
    )
    if team_id is not None:
        query = query.where(CheckinTemplate.team_id == team_id)
    if active_only:
        query = query.where(CheckinTemplate.active.is_(True))
    return list(session.scalars(query))


def templates_by_id(session: Session, template_ids: Iterable[int]) -> dict[int, CheckinTemplate]:
    ids = list(set(template_ids))
    if not ids:
        return {}
    rows = session.scalars(select(CheckinTemplate).where(CheckinTemplate.id.in_(ids)))
    return {row.id: row for row in rows}


def insert_template(session: Session, values: dict[str, Any]) -> int | None:
    """A new template; None when (team, owner, name) exists already (a concurrent twin)."""
    new_id = insert_ignoring_conflict(
        session,
        CheckinTemplate.__table__,
        values,
    )
    return int(new_id) if new_id is not None else None


def update_template(session: Session, template_id: int, values: dict[str, Any]) -> None:
    session.execute(
        update(CheckinTemplate).where(CheckinTemplate.id == template_id).values(**values)
    )


def members_of(session: Session, template_ids: Iterable[int]) -> dict[int, list[CheckinMember]]:
    ids = list(set(template_ids))
    found: dict[int, list[CheckinMember]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = session.scalars(
        select(CheckinMember)
        .where(CheckinMember.template_id.in_(ids))
        .order_by(CheckinMember.template_id, CheckinMember.user_id)
    )
    for row in rows:
        found[row.template_id].append(row)
    return found


def member_ids(session: Session, template_ids: Iterable[int]) -> dict[int, list[str]]:
    """Member ids per template, sorted, without loading rows (planning slices these)."""
    ids = list(set(template_ids))
    found: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = session.execute(
        select(CheckinMember.template_id, CheckinMember.user_id)
        .where(CheckinMember.template_id.in_(ids))
        .order_by(CheckinMember.template_id, CheckinMember.user_id)
    )
    for template_id, user_id in rows:
        found[template_id].append(user_id)
    return found


@dataclass(frozen=True, slots=True)
class PlanMember:
    """A member as planning needs them: when they joined, and their cached Slack profile."""

    user_id: str
    added_at: datetime
    tz: str | None
    deleted: bool
    is_bot: bool


def _with_profile(*leading: Any) -> Select[Any]:
    """`leading` columns, then each member's joining time and cached directory profile."""
    return select(
        *leading,
        CheckinMember.added_at,
        DirectoryUser.tz,
        DirectoryUser.deleted,
        DirectoryUser.is_bot,
    ).outerjoin(
        DirectoryUser,
        and_(
            DirectoryUser.team_id == CheckinMember.team_id,
            DirectoryUser.user_id == CheckinMember.user_id,
        ),
    )


def plan_members(session: Session, template_id: int, first: str, last: str) -> list[PlanMember]:
    """Members with ids in [first, last], joined to the directory cache, as plain rows.

    The minute job reads every member, so this is its hottest query: a range over the primary
    key and no ORM objects (an IN list of a batch's ids costs more to bind than to run).
    """
    rows = session.execute(
        _with_profile(CheckinMember.user_id)
        .where(
            CheckinMember.template_id == template_id,
            CheckinMember.user_id >= first,
            CheckinMember.user_id <= last,
        )
        .order_by(CheckinMember.user_id)
    )
    return [
        PlanMember(user_id, added_at, tz, bool(deleted), bool(is_bot))
        for user_id, added_at, tz, deleted, is_bot in rows
    ]


def plan_members_of(session: Session, template_ids: Iterable[int]) -> dict[int, list[PlanMember]]:
    """Every member of these templates as planning needs them, in one statement: what the
    minute job reads first to tell which templates have anything due at all."""
    ids = sorted(set(template_ids))
    found: dict[int, list[PlanMember]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = session.execute(
        _with_profile(CheckinMember.template_id, CheckinMember.user_id).where(
            CheckinMember.template_id.in_(ids)
        )
    )
    for template_id, user_id, added_at, tz, deleted, is_bot in rows:
        found[template_id].append(PlanMember(user_id, added_at, tz, bool(deleted), bool(is_bot)))
    return found


def latest_dates_since(
    session: Session, template_ids: Iterable[int], since: date
) -> dict[tuple[int, str], date]:
    """The most recent local date written for each (template, member), among dates from
    `since` on: one aggregate over the (template, local date) index for every template. A
    member with nothing since then is absent, which planning reads as "nothing written"."""
    ids = sorted(set(template_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(
            CheckinOccurrence.template_id,
            CheckinOccurrence.user_id,
            func.max(CheckinOccurrence.local_date),
        )
        .where(CheckinOccurrence.template_id.in_(ids), CheckinOccurrence.local_date >= since)
        .group_by(CheckinOccurrence.template_id, CheckinOccurrence.user_id)
    )
    return {(template_id, user_id): latest for template_id, user_id, latest in rows}


def add_members(
    session: Session, team_id: str, template_id: int, user_ids: Iterable[str], now: datetime
) -> list[str]:
    """Add people not yet in the template; returns those this call added."""
    added = []
    for user_id in sorted(set(user_ids)):
        inserted = insert_ignoring_conflict(
            session,
            CheckinMember.__table__,
            {"template_id": template_id, "user_id": user_id, "team_id": team_id, "added_at": now},
        )
        if inserted:
            added.append(user_id)
    return added


def restart_memberships(
    session: Session, team_id: str, user_ids: Iterable[str], now: datetime
) -> int:
    """Every template membership of these people begins again at `now`: planning starts after
    `added_at`, so a person back from a deactivation is prompted from their next check-in on,
    never for the dates in between."""
    ids = sorted(set(user_ids))
    if not ids:
        return 0
    result = session.execute(
        update(CheckinMember)
        .where(
            CheckinMember.team_id == team_id,
            CheckinMember.user_id.in_(ids),
            CheckinMember.added_at < now,
        )
        .values(added_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) or 0


def remove_members(session: Session, template_id: int, user_ids: Iterable[str]) -> int:
    ids = list(set(user_ids))
    if not ids:
        return 0
    result = session.execute(
        delete(CheckinMember).where(
            CheckinMember.template_id == template_id, CheckinMember.user_id.in_(ids)
        )
    )
    return rowcount(result) or 0


def templates_of_member(session: Session, team_id: str, user_id: str) -> list[CheckinTemplate]:
    return list(
        session.scalars(
            select(CheckinTemplate)
            .join(CheckinMember, CheckinMember.template_id == CheckinTemplate.id)
            .where(
                CheckinTemplate.team_id == team_id,
                CheckinTemplate.active.is_(True),
                CheckinMember.user_id == user_id,
            )
            .order_by(CheckinTemplate.id)
        )
    )


def known_teams(session: Session) -> list[str]:
    """Every workspace this database has heard of (the CLI picks one when there is only one)."""
    query = union(
        select(DirectoryUser.team_id),
        select(CheckinTemplate.team_id),
        select(OrgEdge.team_id),
    )
    return sorted(session.scalars(query))


# ----- occurrences -----------------------------------------------------------------------------


def latest_dates(session: Session, template_id: int, first: str, last: str) -> dict[str, date]:
    """The most recent local date written for each member with an id in [first, last].

    Planning only considers later dates: one aggregate over the unique key's index per batch
    instead of every row of the catch-up window, every minute. Dates before the latest are
    never revisited; every planned date gets a row (pending, missed or away), so the only
    gaps are dates that were never due (before the member joined or came back from a
    deactivation, while deactivated, or before the schedule changed).
    """
    rows = session.execute(
        select(CheckinOccurrence.user_id, func.max(CheckinOccurrence.local_date))
        .where(
            CheckinOccurrence.template_id == template_id,
            CheckinOccurrence.user_id >= first,
            CheckinOccurrence.user_id <= last,
        )
        .group_by(CheckinOccurrence.user_id)
    )
    return {user_id: latest for user_id, latest in rows}


def insert_occurrence(session: Session, values: dict[str, Any]) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING on (template, member, local date).

    None means another writer (a second scheduler, a restart) wrote it first: the caller must
    then send nothing, which is what makes each prompt exactly once.
    """
    new_id = insert_ignoring_conflict(
        session,
        CheckinOccurrence.__table__,
        values,
    )
    return int(new_id) if new_id is not None else None


def get_occurrence(
    session: Session, team_id: str, occurrence_id: int, *, for_update: bool = False
) -> CheckinOccurrence | None:
    query = select(CheckinOccurrence).where(
        CheckinOccurrence.team_id == team_id, CheckinOccurrence.id == occurrence_id
    )
    if for_update and supports_skip_locked(session):
        query = query.with_for_update()
    return session.scalars(query).first()


def latest_pending(
    session: Session, team_id: str, user_id: str, now: datetime
) -> CheckinOccurrence | None:
    """The most recently scheduled occurrence still open for this member."""
    return session.scalars(
        select(CheckinOccurrence)
        .where(
            CheckinOccurrence.team_id == team_id,
            CheckinOccurrence.user_id == user_id,
            CheckinOccurrence.state == _PENDING,
            CheckinOccurrence.closes_at > now,
        )
        .order_by(CheckinOccurrence.scheduled_at.desc(), CheckinOccurrence.id.desc())
    ).first()


def pending_between(
    session: Session, team_id: str, user_id: str, first: date, last: date
) -> list[CheckinOccurrence]:
    return list(
        session.scalars(
            select(CheckinOccurrence).where(
                CheckinOccurrence.team_id == team_id,
                CheckinOccurrence.user_id == user_id,
                CheckinOccurrence.state == _PENDING,
                CheckinOccurrence.local_date >= first,
                CheckinOccurrence.local_date <= last,
            )
        )
    )


def transition(
    session: Session,
    occurrence_id: int,
    *,
    from_states: Sequence[str],
    values: dict[str, Any],
    extra: ColumnElement[bool] | None = None,
) -> bool:
    """Change an occurrence only if it is still in one of `from_states` (and `extra` holds).

    The WHERE is the check: a late click racing the closing job cannot answer a missed
    check-in, and a double-click cannot answer twice.
    """
    condition = and_(
        CheckinOccurrence.id == occurrence_id, CheckinOccurrence.state.in_(list(from_states))
    )
    if extra is not None:
        condition = and_(condition, extra)
    result = session.execute(
        update(CheckinOccurrence)
        .where(condition)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    return bool(rowcount(result))


def set_prompt_outbox(session: Session, occurrence_id: int, outbox_id: int) -> None:
    session.execute(
        update(CheckinOccurrence)
        .where(CheckinOccurrence.id == occurrence_id)
        .values(prompt_outbox_id=outbox_id)
        .execution_options(synchronize_session="fetch")
    )


def _claim(
    session: Session,
    due: ColumnElement[bool],
    values: dict[str, Any],
    team_id: str | None,
    limit: int,
) -> list[CheckinOccurrence]:
    if team_id is not None:
        due = and_(CheckinOccurrence.team_id == team_id, due)
    pick = select(CheckinOccurrence.id).where(due).order_by(CheckinOccurrence.id).limit(limit)
    if supports_skip_locked(session):
        pick = pick.with_for_update(skip_locked=True)
    ids = list(session.scalars(pick))
    if not ids:
        return []
    claimed = list(
        session.scalars(
            update(CheckinOccurrence)
            .where(CheckinOccurrence.id.in_(ids), due)
            .values(**values)
            .returning(CheckinOccurrence.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not claimed:
        return []
    return list(
        session.scalars(
            select(CheckinOccurrence)
            .where(CheckinOccurrence.id.in_(claimed))
            .order_by(CheckinOccurrence.id)
            .execution_options(populate_existing=True)
        )
    )


def claim_closings(
    session: Session, now: datetime, team_id: str | None, limit: int
) -> list[CheckinOccurrence]:
    """Pending occurrences whose close time has come become `missed`."""
    due = and_(CheckinOccurrence.state == _PENDING, CheckinOccurrence.closes_at <= now)
    return _claim(session, due, {"state": _MISSED, "updated_at": now}, team_id, limit)


def close_open_of(
    session: Session, team_id: str, user_id: str, state: str, now: datetime
) -> int:
    """This person's occurrences still open become `state`, whatever their close time: no
    reminder, re-prompt or closing will touch them again."""
    result = session.execute(
        update(CheckinOccurrence)
        .where(
            CheckinOccurrence.team_id == team_id,
            CheckinOccurrence.user_id == user_id,
            CheckinOccurrence.state == _PENDING,
        )
        .values(state=state, snoozed_until=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) or 0


def claim_snoozes(
    session: Session, now: datetime, team_id: str | None, limit: int
) -> list[CheckinOccurrence]:
    """Snoozes that ran out while the check-in is still open: their re-prompt is due.

    Clearing `snoozed_until` is the claim. A reminder due by now is counted as given by the
    re-prompt, so the member does not get two messages in the same minute.
    """
    due = and_(
        CheckinOccurrence.state == _PENDING,
        CheckinOccurrence.snoozed_until.is_not(None),
        CheckinOccurrence.snoozed_until <= now,
        CheckinOccurrence.closes_at > now,
    )
    claimed = _claim(session, due, {"snoozed_until": None, "updated_at": now}, team_id, limit)
    ids = [row.id for row in claimed]
    if ids:
        session.execute(
            update(CheckinOccurrence)
            .where(
                CheckinOccurrence.id.in_(ids),
                CheckinOccurrence.reminded_at.is_(None),
                CheckinOccurrence.remind_at <= now,
            )
            .values(reminded_at=now)
            .execution_options(synchronize_session="fetch")
        )
    return claimed


def claim_reminders(
    session: Session, now: datetime, team_id: str | None, limit: int
) -> list[CheckinOccurrence]:
    """Pending, not yet reminded, reminder time come, not closed and not snoozed past now."""
    due = and_(
        CheckinOccurrence.state == _PENDING,
        CheckinOccurrence.remind_at.is_not(None),
        CheckinOccurrence.remind_at <= now,
        CheckinOccurrence.reminded_at.is_(None),
        CheckinOccurrence.closes_at > now,
        or_(CheckinOccurrence.snoozed_until.is_(None), CheckinOccurrence.snoozed_until <= now),
    )
    return _claim(session, due, {"reminded_at": now, "updated_at": now}, team_id, limit)


# ----- answers and upward feedback --------------------------------------------------------------


def save_answers(
    session: Session, team_id: str, occurrence_id: int, values: dict[str, Any]
) -> None:
    session.add_all(
        CheckinAnswer(
            occurrence_id=occurrence_id, question_id=question_id, team_id=team_id, value=value
        )
        for question_id, value in values.items()
    )
    session.flush()


def answers_for(session: Session, occurrence_id: int) -> dict[str, Any]:
    rows = session.execute(
        select(CheckinAnswer.question_id, CheckinAnswer.value).where(
            CheckinAnswer.occurrence_id == occurrence_id
        )
    )
    return {question_id: value for question_id, value in rows}


def add_upward(
    session: Session,
    *,
    team_id: str,
    manager_id: str,
    author_id: str | None,
    occurrence_id: int | None,
    text: str,
    iso_week: str,
    released: bool,
) -> str:
    """A random id: an autoincrement would order notes as their authors answered."""
    row = UpwardFeedback(
        id=secrets.token_hex(16),
        team_id=team_id,
        manager_id=manager_id,
        author_id=author_id,
        occurrence_id=occurrence_id,
        anonymous=author_id is None,
        text=text,
        iso_week=iso_week,
        released=released,
    )
    session.add(row)
    session.flush()
    return row.id
