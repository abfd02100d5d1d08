"""Kudos rows, their recipients and values, and the per-day budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Table, and_, delete, func, select, update
from sqlalchemy.orm import Session

from storage.fast_path import driver
from storage.models import Kudos, KudosBudget, KudosRecipient, KudosValue

KUDOS: Table = Kudos.__table__
RECIPIENTS: Table = KudosRecipient.__table__
VALUES: Table = KudosValue.__table__
BUDGET: Table = KudosBudget.__table__

# The `source` of a kudos taken back (a reaction removed at once): its row stays, so its id is
# never given to another kudos (SQLite reuses the highest rowid, and outbox keys carry the
# id), but it has no recipients, values, text or request key left, and no list shows it.
WITHDRAWN = "withdrawn"


def find_by_request_key(session: Session, team_id: str, request_key: str) -> Kudos | None:
    return session.scalars(
        select(Kudos).where(Kudos.team_id == team_id, Kudos.request_key == request_key)
    ).first()


def get(session: Session, team_id: str, kudos_id: int) -> Kudos | None:
    return session.scalars(
        select(Kudos).where(Kudos.team_id == team_id, Kudos.id == kudos_id)
    ).first()


def withdraw(session: Session, kudos: Kudos) -> None:
    """Take a kudos back: what it said and to whom goes; the row keeps its id and giver (an
    erasure of the giver still finds the posts it sent) and frees its request key, so the
    same request may give again."""
    session.execute(delete(RECIPIENTS).where(RECIPIENTS.c.kudos_id == kudos.id))
    session.execute(delete(VALUES).where(VALUES.c.kudos_id == kudos.id))
    session.execute(
        update(KUDOS)
        .where(KUDOS.c.id == kudos.id)
        .values(
            source=WITHDRAWN, request_key=f"withdrawn:{kudos.id}", message="", quote_url=None
        )
    )
    session.expire(kudos)


def set_quote_url(
    session: Session, team_id: str, kudos_id: int, quote_url: str, *, source: str
) -> None:
    """Only a kudos of that source still (one taken back has become WITHDRAWN)."""
    session.execute(
        update(KUDOS)
        .where(KUDOS.c.team_id == team_id, KUDOS.c.id == kudos_id, KUDOS.c.source == source)
        .values(quote_url=quote_url)
    )


def spend_and_insert(
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
    limit: int,
) -> tuple[int | None, int | None]:
    """Spend the budget (one per recipient) and store the kudos, atomically.

    Returns (spent today, kudos id): (None, None) when the budget does not allow it, nothing
    written; (spent, None) when this request_key was stored before (a replay: the caller gives
    the spend back). The budget check is the upsert's conditional update: PostgreSQL locks the
    conflicting row and re-reads it, SQLite's write transaction is already exclusive, so two
    concurrent kudos can never both pass a check that only one of them fits.

    On PostgreSQL this is one statement, one round trip (data-modifying CTEs); on SQLite, in
    the process, a few driver-level statements. This is the `/kudos` ack path (storage.fast_path).
    """
    amount = len(recipient_ids)
    if amount > limit:
        return None, None
    db = driver(session)
    params = {
        "team_id": team_id,
        "giver_id": giver_id,
        "local_date": db.day(giver_local_date),
        "amount": amount,
        "limit": limit,
        "message": message,
        "source": source,
        "request_key": request_key,
        "quote_url": quote_url,
        "created_at": db.utc(created_at),
    }
    if db.dialect == "postgresql":
        params["recipients"] = list(recipient_ids)
        params["values"] = list(values)
        spent, kudos_id = db.rows(_GIVE_POSTGRES, params)[0]
        return spent, kudos_id
    row = db.rows(_SPEND, params)
    if not row:
        return None, None
    spent = int(row[0][0])
    row = db.rows(_INSERT_KUDOS, params)
    if not row:
        return spent, None
    kudos_id = int(row[0][0])
    db.executemany(
        "INSERT INTO kudos_recipients (kudos_id, recipient_id) VALUES (%(k)s, %(r)s)",
        [{"k": kudos_id, "r": r} for r in recipient_ids],
    )
    if values:
        db.executemany(
            "INSERT INTO kudos_values (kudos_id, value) VALUES (%(k)s, %(v)s)",
            [{"k": kudos_id, "v": v} for v in values],
        )
    return spent, kudos_id


_SPEND = (
    "INSERT INTO kudos_budget (team_id, giver_id, local_date, spent)"
    " VALUES (%(team_id)s, %(giver_id)s, %(local_date)s, %(amount)s)"
    " ON CONFLICT (team_id, giver_id, local_date) DO UPDATE"
    " SET spent = kudos_budget.spent + %(amount)s"
    " WHERE kudos_budget.spent + %(amount)s <= %(limit)s RETURNING spent"
)
_KUDOS_COLUMNS = (
    "team_id, giver_id, message, source, request_key, quote_url, giver_local_date, created_at"
)
_KUDOS_VALUES = (
    "%(team_id)s, %(giver_id)s, %(message)s, %(source)s, %(request_key)s, %(quote_url)s,"
    " %(local_date)s, %(created_at)s"
)
_INSERT_KUDOS = (
    f"INSERT INTO kudos ({_KUDOS_COLUMNS}) VALUES ({_KUDOS_VALUES})"
    " ON CONFLICT (team_id, request_key) DO NOTHING RETURNING id"
)
# The kudos' rows only where the budget allowed it (`spend` returned a row) and the request is
# new (`k` returned its id); foreign keys are checked at the end of the statement.
_GIVE_POSTGRES = f"""
WITH spend AS ({_SPEND}),
k AS (
    INSERT INTO kudos ({_KUDOS_COLUMNS}) SELECT {_KUDOS_VALUES} FROM spend
    ON CONFLICT (team_id, request_key) DO NOTHING RETURNING id
),
r AS (
    INSERT INTO kudos_recipients (kudos_id, recipient_id)
    SELECT k.id, u FROM k, unnest(%(recipients)s::text[]) AS u
),
v AS (
    INSERT INTO kudos_values (kudos_id, value)
    SELECT k.id, u FROM k, unnest(%(values)s::text[]) AS u
)
SELECT (SELECT spent FROM spend), (SELECT id FROM k)
"""


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
