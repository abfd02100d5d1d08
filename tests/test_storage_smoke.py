"""The migrations build the schema the models describe, on whichever backend runs."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from storage.migrate import current_revision, head_revision
from storage.models import Base


def test_migrations_reach_head_and_match_models(engine: Engine, database_url: str) -> None:
    assert current_revision(engine) == head_revision(database_url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
