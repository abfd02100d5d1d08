"""The migration that adds workspace_state, on whichever backend runs: up, down and up again.

Its revision id is written here only: another branch may add a migration beside it, and the
ids are renumbered when both are merged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import inspect

from storage import workspaces
from storage.engine import make_engine, make_session_factory, unit_of_work
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from tests.databases import fresh_database

REVISION, BEFORE = "0008", "0007"
NOW = datetime(2037, 3, 9, 8, 0, tzinfo=UTC)


def test_workspace_state_arrives_empty_and_goes_both_ways(tmp_path: Path) -> None:
    with fresh_database(tmp_path, BEFORE) as url:
        engine = make_engine(url, pool_size=1)
        try:
            assert "workspace_state" not in inspect(engine).get_table_names()
            upgrade(url, REVISION)
            assert current_revision(engine) == REVISION
            factory = make_session_factory(engine)
            with unit_of_work(factory) as session:
                assert workspaces.stopped(session) == []  # every workspace sends, as before
                assert workspaces.stop(session, "T0TEAM", workspaces.UNINSTALLED, NOW)
            with unit_of_work(factory) as session:
                assert [s.reason for s in workspaces.stopped(session)] == ["app_uninstalled"]
            with engine.begin() as connection:
                config = alembic_config(url)
                config.attributes["connection"] = connection
                command.downgrade(config, BEFORE)
            assert "workspace_state" not in inspect(engine).get_table_names()
            upgrade(url)
            assert current_revision(engine) == head_revision(url)
            with unit_of_work(factory) as session:
                assert workspaces.stopped(session) == []
        finally:
            engine.dispose()
