"""What the benchmarks share: an emptied PostgreSQL schema, a directory record."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from bot.services.directory import UserRecord

TEAM = "T0TEAM"


def reset_postgres(url: str) -> None:
    """An empty public schema: each bench run starts from nothing."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def record(user_id: str, tz: str) -> UserRecord:
    return UserRecord(
        user_id=user_id,
        user_team_id=TEAM,
        name=user_id.lower(),
        real_name=user_id,
        email=None,
        tz=tz,
        is_bot=False,
        deleted=False,
        is_restricted=False,
    )
