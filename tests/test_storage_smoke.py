"""The migrations build the schema the models describe, on whichever backend runs."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, inspect, text

from storage.engine import make_engine
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.models import Base
from tests.databases import fresh_database


def test_migrations_reach_head_and_match_models(engine: Engine, database_url: str) -> None:
    assert current_revision(engine) == head_revision(database_url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_migration_0007_marks_earlier_digests_and_goes_both_ways(tmp_path: Path) -> None:
    """Digests written before it count as having cleared the anonymity minimum (each one
    released its notes or said that they waited, so the next span starts after it); later
    ones default to not."""
    with fresh_database(tmp_path, "0006") as url:
        engine = make_engine(url, pool_size=1)
        row = {
            "team_id": "T0TEAM",
            "manager_id": "UMGR",
            "iso_week": "2037-W10",
            "week_start": date(2037, 3, 2),
            "content": "{}",
            "created_at": datetime(2037, 3, 9, 8, 0),
        }
        insert = text(
            "INSERT INTO digests (team_id, manager_id, iso_week, week_start, content, created_at)"
            " VALUES (:team_id, :manager_id, :iso_week, :week_start, :content, :created_at)"
        )
        try:
            with engine.begin() as connection:
                connection.execute(insert, row)
            upgrade(url, "0007")
            with engine.begin() as connection:
                connection.execute(insert, {**row, "iso_week": "2037-W11"})
                marks: dict[str, bool] = dict(
                    connection.execute(text("SELECT iso_week, anonymity_met FROM digests")).all()
                )
            assert marks == {"2037-W10": True, "2037-W11": False}
            with engine.begin() as connection:
                config = alembic_config(url)
                config.attributes["connection"] = connection
                command.downgrade(config, "0006")
            columns = {c["name"] for c in inspect(engine).get_columns("digests")}
            assert "anonymity_met" not in columns
            upgrade(url)
            assert current_revision(engine) == head_revision(url)
        finally:
            engine.dispose()
