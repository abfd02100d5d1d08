"""`pulsebot digest send [--at] [--manager] [--dry-run]`, in-process against the emulator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import logs
from bot.cli.main import main
from bot.demo.emulator import SlackEmulator
from bot.settings import get_database_settings, get_settings
from storage.engine import unit_of_work
from storage.models import Digest
from tests.digest_seed import ISO_WEEK, MANAGER, SEND_AT, seed_team


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, slack: SlackEmulator
) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith(("SLACK_", "PULSEBOT_")) or name in {"LOG_LEVEL", "LOG_FORMAT"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SLACK_API_URL", slack.url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("PULSEBOT_POST_RATE", "100")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(logs, "configure", lambda *args, **kwargs: None)
    get_settings.cache_clear()
    get_database_settings.cache_clear()
    slack.add_user(MANAGER, tz="America/New_York")
    yield tmp_path
    get_settings.cache_clear()
    get_database_settings.cache_clear()


def test_dry_run_prints_and_writes_nothing_then_send_delivers_once(
    env: Path,
    slack: SlackEmulator,
    session_factory: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    with unit_of_work(session_factory) as session:
        seed_team(session)
    at = SEND_AT.isoformat()
    assert main(["digest", "send", "--at", at, "--manager", MANAGER, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Week of 3–9 Mar: 3 of 4 people answered" in out
    assert "Dry run at 2031-03-10T13:00:00+00:00: 1 digest(s) due." in out
    with unit_of_work(session_factory) as session:
        assert session.scalars(select(Digest)).all() == []
    assert slack.calls("chat.postMessage") == []

    assert main(["digest", "send", "--at", at, "--manager", MANAGER]) == 0
    out = capsys.readouterr().out
    # Not a terminal: one plain summary line, no progress bar.
    assert f"Digests due at {at}: 1 digest(s) written, 0 already sent." in out
    assert "Delivered" in out and "\r" not in out
    (message,) = slack.messages(MANAGER)
    assert message["metadata"]["event_payload"]["key"] == f"digest:{MANAGER}:{ISO_WEEK}:message"

    assert main(["digest", "send", "--at", at, "--manager", MANAGER]) == 0
    assert "0 digest(s) written" in capsys.readouterr().out
    assert len(slack.messages(MANAGER)) == 1


def test_digest_send_bad_instant_says_so(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["digest", "send", "--at", "monday"]) == 2
    assert '--at "monday" is not an ISO 8601 instant' in capsys.readouterr().err
