"""`pulsebot run` tells the truth about the schema: it refuses a database that lacks this code's
migrations (one line, exit 2) and serves on one that is ahead (a rolling deploy's older replica).

SQLite is upgraded by `pulsebot run` itself, so "behind" is a PostgreSQL case; "ahead" is tested
on both backends.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.demo.emulator import SlackEmulator
from storage.migrate import head_revision
from tests.databases import fresh_database, is_postgres
from tests.server import SIGNING_SECRET, start_process
from tests.test_cli_run import clean_env, pulsebot

postgres_only = pytest.mark.skipif(
    not is_postgres(), reason="on SQLite `pulsebot run` upgrades the database itself"
)


def run_env(database_url: str, slack: SlackEmulator) -> dict[str, str]:
    return clean_env(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.url,
        DATABASE_URL=database_url,
    )


@postgres_only
@pytest.mark.parametrize(
    ("revision", "said"), [(None, "none (never upgraded)"), ("0002", "0002")]
)
def test_run_refuses_a_database_that_lacks_migrations(
    tmp_path: Path, slack: SlackEmulator, revision: str | None, said: str
) -> None:
    with fresh_database(tmp_path, revision=revision) as url:
        result = pulsebot(tmp_path, run_env(url, slack), "run", "--port", "0")
        assert result.returncode == 2
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        head = head_revision(url)
        assert lines == [
            f"pulsebot: the database is at revision {said}, this pulsebot needs {head}: "
            "run `pulsebot db upgrade`"
        ], result.stderr
        assert "Traceback" not in result.stderr + result.stdout
        assert pulsebot(tmp_path, run_env(url, slack), "db", "upgrade").returncode == 0


def test_run_serves_a_database_ahead_of_it(tmp_path: Path, slack: SlackEmulator) -> None:
    with fresh_database(tmp_path) as url:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
        engine.dispose()
        server = start_process(run_env(url, slack), tmp_path / "run.log", "--no-scheduler")
        try:
            health = httpx.get(f"{server.url}/healthz", timeout=5)
            assert health.status_code == 200 and health.json()["db"] == "ok"
            assert "revision 9999_future, newer than this pulsebot" in server.log()
        finally:
            server.stop()
        assert "Traceback" not in server.log()


def test_run_on_an_unreachable_database_says_so_in_one_line(
    tmp_path: Path, slack: SlackEmulator
) -> None:
    nowhere = "postgresql+psycopg://postgres@127.0.0.1:1/pulsebot?connect_timeout=2"
    result = pulsebot(tmp_path, run_env(nowhere, slack), "run", "--port", "0")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("pulsebot: cannot reach the database"), lines
    assert "Traceback" not in result.stderr + result.stdout
