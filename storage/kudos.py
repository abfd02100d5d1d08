"""Kudos rows, their recipients and values, and the per-day budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from storage.dialect import insert_ignoring_conflict
from storage.models import Kudos, KudosBudget, KudosRecipient, KudosValue


def find_by_request_key(session: Session, team_id: str, request_key: str) -> Kudos | None:
    return session.scalars(
        select(Kudos).where(Kudos.team_id == team_id, Kudos.request_key == request_key)
    ).first()


def insert_kudos(
    session: Session,
    *,
    team_id: str,
    giver_id: str,
    message: str,
    source: str,
    request_key: str,
    quote_url: str | None,
    giver_local_date: date,
    created_at: datetime,
    recipient_ids: Sequence[str],
    values: Sequence[str],
) -> int | None:
    """Insert a kudos; None when this request_key was already stored (a replayed request)."""
    kudos_id = insert_ignoring_conflict(
        session,
        Kudos.__table__,  # type: ignore[arg-type]
        {
            "team_id": team_id,
            "giver_id": giver_id,
            "message": message,
            "source": source,
            "request_key": request_key,
            "quote_url": quote_url,
            "giver_local_date": giver_local_date,
            "created_at": created_at,
        },
    )
    if kudos_id is None:
        return None
    session.add_all(KudosRecipient(kudos_id=kudos_id, recipient_id=r) for r in recipient_ids)
    session.add_all(KudosValue(kudos_id=kudos_id, value=v) for v in values)
    session.flush()
    return int(kudos_id)


def spend_budget(
    session: Session, team_id: str, giver_id: str, local_date: date, amount: int, limit: int
) -> tuple[bool, int]:
    """Spend `amount` of today's budget atomically; returns (granted, remaining).

    The conditional UPDATE is the check: on PostgreSQL it takes the row lock and re-reads the
    row, on SQLite the write transaction is already exclusive, so two concurrent kudos can never
    both pass a check that only one of them fits.
    """
    insert_ignoring_conflict(
        session,
        KudosBudget.__table__,  # type: ignore[arg-type]
        {"team_id": team_id, "giver_id": giver_id, "local_date": local_date, "spent": 0},
    )
    key = and_(
        KudosBudget.team_id == team_id,
        KudosBudget.giver_id == giver_id,
        KudosBudget.local_date == local_date,
    )
    spent = session.execute(
        update(KudosBudget)
        .where(key, KudosBudget.spent + amount <= limit)
        .values(spent=KudosBudget.spent + amount)
        .returning(KudosBudget.spent)
    ).scalar_one_or_none()
    if spent is not None:
        return True, limit - spent
    current = session.execute(select(KudosBudget.spent).where(key)).scalar_one()
    return False, max(limit - current, 0)


def budget_spent(session: Session, team_id: str, giver_id: str, local_date: date) -> int:
    spent = session.execute(
        select(KudosBudget.spent).where(
            KudosBudget.team_id == team_id,
            KudosBudget.giver_id == giver_id,
            KudosBudget.local_date == local_date,
        )
    ).scalar_one_or_none()
    return spent or 0


@dataclass(frozen=True, slots=True)
class KudosCounts:
    given: int
    received: int
    top: list[tuple[str, int]]


def counts_since(
    session: Session, team_id: str, user_id: str, since: datetime, top_n: int = 5
) -> KudosCounts:
    in_window = and_(Kudos.team_id == team_id, Kudos.created_at >= since)
    given = session.execute(
        select(func.count(KudosRecipient.recipient_id))
        .join(Kudos, Kudos.id == KudosRecipient.kudos_id)
        .where(in_window, Kudos.giver_id == user_id)
    ).scalar_one()
    received = session.execute(
        select(func.count())
        .select_from(KudosRecipient)
        .join(Kudos, Kudos.id == KudosRecipient.kudos_id)
        .where(in_window, KudosRecipient.recipient_id == user_id)
    ).scalar_one()
    total = func.count().label("total")
    top = session.execute(
        select(KudosRecipient.recipient_id, total)
        .join(Kudos, Kudos.id == KudosRecipient.kudos_id)
        .where(in_window)
        .group_by(KudosRecipient.recipient_id)
        .order_by(total.desc(), KudosRecipient.recipient_id)
        .limit(top_n)
    ).all()
    return KudosCounts(given=given, received=received, top=[(r, n) for r, n in top])
