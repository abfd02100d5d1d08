"""The ack path's fast path: prebuilt statements and SQL run on the driver's own connection.

SQLAlchemy Core's execution machinery costs more than the statements the `/kudos` ack runs;
these helpers keep the same transaction and value conversions while skipping that cost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.orm import Session

_PREPARED: dict[tuple[str, str], Executable] = {}


def prepared(session: Session, name: str, build: Callable[[str], Executable]) -> Executable:
    """A statement built once per dialect and reused with parameters.

    On the `/kudos` ack path building a statement costs about three times executing it
    (coercions and cache keys); a prebuilt one with bind parameters skips all of that.
    """
    key = (name, session.get_bind().dialect.name)
    statement = _PREPARED.get(key)
    if statement is None:
        statement = _PREPARED.setdefault(key, build(key[1]))
    return statement


# ----- driver-level statements for the ack path ---------------------------------------------
# SQLAlchemy Core spends 60-90 us of CPU per execute (execution context, events, result
# metadata) against 5-10 us in the driver; on the `/kudos` ack path, which holds the GIL and on
# SQLite the single writer, that is most of the request's cost. These helpers run hand-written
# SQL on the session's own DBAPI connection, in its transaction. Write SQL with `%(name)s`
# placeholders; SQLite gets `:name`. psycopg prepares a statement after a few executions.

_SQL: dict[tuple[str, str], str] = {}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def driver_sql(dialect_name: str, sql: str) -> str:
    """`sql` with the driver's placeholders (cached: the ack path runs the same few)."""
    key = (dialect_name, sql)
    spelled = _SQL.get(key)
    if spelled is None:
        spelled = sql if dialect_name == "postgresql" else _PLACEHOLDER.sub(r":\1", sql)
        _SQL[key] = spelled
    return spelled


DEFERRED = "pulsebot_deferred_writes"


class DriverCursor:
    """The DBAPI connection under the session (inside its transaction), plus the value
    conversions SQLAlchemy's types would have done.

    Every statement gets its own cursor, read to the end and closed at once: a cursor left
    holding a half-read statement (an INSERT ... RETURNING read with fetchone) would keep
    pysqlite's cached statement busy after the connection went back to the pool.

    On PostgreSQL a `write` (a statement whose result nobody reads, e.g. the outbox rows) is
    held and sent in one psycopg pipeline with the next statement that is read, or before any
    other statement or the COMMIT on this connection (`send_deferred_writes`, hooked by
    storage.engine): no round trip of its own. Its error, if any, surfaces there.
    """

    __slots__ = ("connection", "deferred", "dialect")

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self.dialect: str = connection.dialect.name
        self.connection: Any = connection.connection
        self.deferred: list[tuple[str, dict[str, Any]]] = connection.info.setdefault(DEFERRED, [])

    def rows(self, sql: str, params: dict[str, Any]) -> list[Any]:
        """Run one statement that returns rows (a SELECT, or RETURNING) and read them all."""
        if self.deferred:
            return send_deferred_writes(self.connection, self.deferred, (sql, params))
        cursor = self.connection.cursor()
        try:
            cursor.execute(driver_sql(self.dialect, sql), params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def write(self, sql: str, params: dict[str, Any]) -> None:
        """Run one statement whose result nobody reads (held on PostgreSQL, see above)."""
        if self.dialect == "postgresql":
            self.deferred.append((driver_sql(self.dialect, sql), params))
            return
        cursor = self.connection.cursor()
        try:
            cursor.execute(driver_sql(self.dialect, sql), params)
        finally:
            cursor.close()

    def executemany(self, sql: str, rows: list[dict[str, Any]]) -> None:
        """Several rows of one statement at once (used on SQLite, where it costs no trip)."""
        cursor = self.connection.cursor()
        try:
            cursor.executemany(driver_sql(self.dialect, sql), rows)
        finally:
            cursor.close()

    def utc(self, value: datetime | None) -> Any:
        """What UTCDateTime stores: naive UTC; on SQLite in SQLAlchemy's text format."""
        if value is None:
            return None
        naive = value.astimezone(UTC).replace(tzinfo=None)
        if self.dialect == "postgresql":
            return naive
        return naive.strftime("%Y-%m-%d %H:%M:%S.%f")

    def day(self, value: date) -> Any:
        return value if self.dialect == "postgresql" else value.isoformat()

    @staticmethod
    def read_utc(value: Any) -> datetime | None:
        if value is None:
            return None
        parsed: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return parsed.replace(tzinfo=UTC)


def send_deferred_writes(
    connection: Any,
    deferred: list[tuple[str, dict[str, Any]]],
    then: tuple[str, dict[str, Any]] | None = None,
) -> list[Any]:
    """Send the held writes (and `then`, whose rows are returned) in one psycopg pipeline: one
    round trip. The list is emptied whatever happens: on an error the transaction is lost."""
    driver_connection = connection.driver_connection
    writes = list(deferred)
    deferred.clear()
    rows: list[Any] = []
    with driver_connection.pipeline():
        for sql, params in writes:
            cursor = driver_connection.cursor()
            cursor.execute(sql, params)
            cursor.close()
        if then is not None:
            cursor = driver_connection.cursor()
            cursor.execute(driver_sql("postgresql", then[0]), then[1])
            rows = list(cursor.fetchall())
            cursor.close()
    return rows


def driver(session: Session) -> DriverCursor:
    """The session's DriverCursor for its current transaction (one per transaction: reaching
    the connection through `session.connection()` costs as much as a statement)."""
    cached = session.info.get("driver_cursor")
    transaction = session.get_transaction()
    if cached is not None and transaction is not None and cached[0] is transaction:
        hit: DriverCursor = cached[1]  # session.info holds Any; only driver() writes this key
        return hit
    cursor = DriverCursor(session)
    session.info["driver_cursor"] = (session.get_transaction(), cursor)
    return cursor
