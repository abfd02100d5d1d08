"""Fresh, migrated databases for tests: a SQLite file, or a PostgreSQL schema of its own.

`DATABASE_URL` chooses the backend (CI runs the suite once per backend). Every database is
made by running the real migrations, so the migrations are tested on both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text

from storage.migrate import upgrade

POSTGRES_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def backend_url() -> str:
    return os.environ.get("DATABASE_URL", "sqlite://")


def is_postgres() -> bool:
    return backend_url().startswith("postgresql")


@contextmanager
def fresh_database(tmp_dir: Path, revision: str | None = "head") -> Iterator[str]:
    """A database migrated to `revision` (None: never upgraded, no tables); dropped afterwards."""
    if not is_postgres():
        url = f"sqlite:///{tmp_dir / f'pulsebot-{uuid.uuid4().hex[:8]}.db'}"
        if revision is not None:
            upgrade(url, revision)
        yield url
        return
    base = backend_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    try:
        if revision is not None:
            upgrade(url, revision)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
