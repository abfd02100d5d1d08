"""Kudos rows, their recipients and values, and the per-day budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Executable, Integer, Table, and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from storage.dialect import insert_for, prepared
from storage.models import Kudos, KudosBudget, KudosRecipient, KudosValue

KUDOS: Table = Kudos.__table__  # type: ignore[assignment]
RECIPIENTS: Table = KudosRecipient.__table__  # type: ignore[assignment]
VALUES: Table = KudosValue.__table__  # type: ignore[assignment]
BUDGET: Table = KudosBudget.__table__  # type: ignore[assignment]
_INSERT_RECIPIENTS = insert(RECIPIENTS)
_INSERT_VALUES = insert(VALUES)


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
    """Insert a kudos; None when this request_key was already stored (a replayed request).

    Core statements on the session's connection: this is the `/kudos` ack path, where the ORM's
    unit-of-work bookkeeping would cost more than the SQL.
    """
    connection = session.connection()
    statement = prepared(
        session,
        "kudos.insert",
        lambda d: insert_for(d, KUDOS).on_conflict_do_nothing().returning(KUDOS.c.id),
    )
    kudos_id = connection.execute(
        statement,
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
    ).scalar_one_or_none()
    if kudos_id is None:
        return None
    connection.execute(
        _INSERT_RECIPIENTS, [{"kudos_id": kudos_id, "recipient_id": r} for r in recipient_ids]
    )
    if values:
        connection.execute(_INSERT_VALUES, [{"kudos_id": kudos_id, "value": v} for v in values])
    return int(kudos_id)


def spend_budget(
    session: Session, team_id: str, giver_id: str, local_date: date, amount: int, limit: int
) -> tuple[bool, int]:
    """Spend `amount` of today's budget atomically; returns (granted, remaining).

    One upsert whose conditional update is the check: PostgreSQL locks the conflicting row and
    re-reads it, SQLite's write transaction is already exclusive, so two concurrent kudos can
    never both pass a check that only one of them fits.
    """
    if amount <= limit:
        statement = prepared(session, "kudos.spend_budget", _spend_statement)
        spent = (
            session.connection()
            .execute(
                statement,
                {
                    "team_id": team_id,
                    "giver_id": giver_id,
                    "local_date": local_date,
                    "spent": amount,
                    "amount": amount,
                    "limit": limit,
                },
            )
            .scalar_one_or_none()
        )
        if spent is not None:
            return True, limit - spent
    return False, max(limit - budget_spent(session, team_id, giver_id, local_date), 0)


def _spend_statement(dialect_name: str) -> Executable:
    amount, limit = bindparam("amount", type_=Integer), bindparam("limit", type_=Integer)
    return (
        insert_for(dialect_name, BUDGET)
        .on_conflict_do_update(
            index_elements=[BUDGET.c.team_id, BUDGET.c.giver_id, BUDGET.c.local_date],
            set_={"spent": BUDGET.c.spent + amount},
            where=BUDGET.c.spent + amount <= limit,
        )
        .returning(BUDGET.c.spent)
    )


def unspend_budget(
    session: Session, team_id: str, giver_id: str, local_date: date, amount: int
) -> None:
    """Give back what a replayed request spent before it found its twin."""
    session.connection().execute(
        update(BUDGET)
        .where(
            BUDGET.c.team_id == team_id,
            BUDGET.c.giver_id == giver_id,
            BUDGET.c.local_date == local_date,
        )
        .values(spent=BUDGET.c.spent - amount)
    )


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
