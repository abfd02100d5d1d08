"""Alembic, run from code: the migrations ship inside the package, so no alembic.ini is needed."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from storage.engine import make_engine


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "storage:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def schema_behind(engine: Engine, url: str) -> str | None:
    """Why this code cannot run on that database yet (it lacks migrations), or None.

    A database ahead of the code (its revision unknown here: a newer replica upgraded it during
    a rolling deploy) is fine, since migrations stay backward compatible for one release.
    """
    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_current_head()
    current = current_revision(engine)
    if current == head or (current is not None and current not in _known(script)):
        return None
    return (
        f"the database is at revision {current or 'none (never upgraded)'}, this pulsebot needs "
        f"{head}: run `pulsebot db upgrade`"
    )


def schema_ahead(engine: Engine, url: str) -> str | None:
    """The database's revision when it is newer than this code knows, else None."""
    current = current_revision(engine)
    script = ScriptDirectory.from_config(alembic_config(url))
    return current if current is not None and current not in _known(script) else None


def _known(script: ScriptDirectory) -> set[str]:
    return {revision.revision for revision in script.walk_revisions()}


__all__ = [
    "current_revision",
    "head_revision",
    "schema_ahead",
    "schema_behind",
    "upgrade",
]
