"""The org chart (person -> manager) and out-of-office periods."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import OrgEdge, OutOfOffice
from storage.upserts import insert_ignoring_conflict, rowcount, upsert


def manager_of(session: Session, team_id: str, user_id: str) -> str | None:
    return session.execute(
        select(OrgEdge.manager_id).where(OrgEdge.team_id == team_id, OrgEdge.user_id == user_id)
    ).scalar_one_or_none()


def reports_of(session: Session, team_id: str, manager_id: str) -> list[str]:
    return list(
        session.scalars(
            select(OrgEdge.user_id)
            .where(OrgEdge.team_id == team_id, OrgEdge.manager_id == manager_id)
            .order_by(OrgEdge.user_id)
        )
    )


def all_edges(session: Session, team_id: str) -> dict[str, str]:
    """The whole chart of a workspace, person -> manager (cycle checks need all of it)."""
    rows = session.execute(
        select(OrgEdge.user_id, OrgEdge.manager_id).where(OrgEdge.team_id == team_id)
    )
    return {user_id: manager_id for user_id, manager_id in rows}


def set_manager(
    session: Session, team_id: str, user_id: str, manager_id: str, source: str, now: datetime
) -> None:
    """Insert or replace a person's manager."""
    upsert(
        session,
        OrgEdge.__table__,
        {
            "team_id": team_id,
            "user_id": user_id,
            "manager_id": manager_id,
            "source": source,
            "updated_at": now,
        },
    )


def set_manager_if_none(
    session: Session, team_id: str, user_id: str, manager_id: str, source: str, now: datetime
) -> bool:
    """Give a person a manager only if they have none; True when this call set it.

    INSERT ... ON CONFLICT DO NOTHING, so two concurrent applies never overwrite each other.
    """
    inserted = insert_ignoring_conflict(
        session,
        OrgEdge.__table__,
        {
            "team_id": team_id,
            "user_id": user_id,
            "manager_id": manager_id,
            "source": source,
            "updated_at": now,
        },
    )
    return bool(inserted)


def remove_manager(session: Session, team_id: str, user_id: str) -> bool:
    result = session.execute(
        delete(OrgEdge).where(OrgEdge.team_id == team_id, OrgEdge.user_id == user_id)
    )
    return bool(rowcount(result))


# ----- out of office -----------------------------------------------------------------------------


def get_ooo(session: Session, team_id: str, user_ids: Iterable[str]) -> dict[str, OutOfOffice]:
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = session.scalars(
        select(OutOfOffice).where(OutOfOffice.team_id == team_id, OutOfOffice.user_id.in_(ids))
    )
    return {row.user_id: row for row in rows}


def set_ooo(
    session: Session, team_id: str, user_id: str, starts_on: date, until: date, now: datetime
) -> None:
    upsert(
        session,
        OutOfOffice.__table__,
        {
            "team_id": team_id,
            "user_id": user_id,
            "starts_on": starts_on,
            "until": until,
            "set_at": now,
        },
    )


def clear_ooo(session: Session, team_id: str, user_id: str) -> bool:
    result = session.execute(
        delete(OutOfOffice).where(OutOfOffice.team_id == team_id, OutOfOffice.user_id == user_id)
    )
    return bool(rowcount(result))
