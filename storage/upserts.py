"""Writes that both databases spell with ON CONFLICT: idempotent inserts and upserts.

Unique keys are how pulsebot stays exactly-once across replicas; these helpers let a racing
writer lose quietly instead of failing.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflict(session: Session, table: Table, values: dict[str, Any]) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING; returns the new primary key or None when it existed.

    Racing writers of the same unique key both succeed: one inserts, the other sees None.
    """
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(table).values(**values).on_conflict_do_nothing()
    pk = list(table.primary_key.columns)
    # RETURNING, not rowcount: for an INSERT, psycopg reports rowcount -1 here, which would
    # read as "inserted" when the conflict skipped the row.
    row = session.execute(statement.returning(*pk)).first()
    if row is None:
        return None
    return row[0] if len(pk) == 1 else 1


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched.

    `Session.execute` is typed to return a Result, which has no rowcount; for these statements
    it is a CursorResult, which has: the cast tells the type checker, and nothing else changes.
    """
    return cast("CursorResult[Any]", result).rowcount


def upsert(session: Session, table: Table, values: dict[str, Any]) -> None:
    """INSERT, or UPDATE the row with the same primary key: one statement, no read-then-write
    race between two writers of the same key."""
    key = [c.name for c in table.primary_key.columns]
    statement = dialect_insert(session, table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=key,
        set_={name: statement.excluded[name] for name in values if name not in key},
    )
    session.execute(statement)


def dialect_insert(session: Session, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT, which knows ON CONFLICT (both databases spell it the same)."""
    return insert_for(session.get_bind().dialect.name, table)


def insert_for(dialect_name: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def supports_skip_locked(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
