"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflict(session: Session, table: Table, values: dict[str, Any]) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING; returns the new primary key or None when it existed.

    Racing writers of the same unique key both succeed: one inserts, the other sees None.
    """
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(table).values(**values).on_conflict_do_nothing()
    pk = list(table.primary_key.columns)
    if len(pk) == 1:
        return session.execute(statement.returning(pk[0])).scalar_one_or_none()
    result = session.execute(statement)
    return result.rowcount or None


def supports_skip_locked(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
