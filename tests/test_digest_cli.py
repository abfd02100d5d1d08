"""`pulsebot digest send [--at] [--manager] [--dry-run]`, in-process against the emulator, and
`pulsebot --help` for every verb."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import logs
from bot.cli.main import build_parser, main
from bot.demo.emulator import SlackEmulator
from bot.settings import get_database_settings, get_settings
from storage.engine import unit_of_work
from storage.models import Digest
from tests.digest_seed import CREATED, ISO_WEEK, MANAGER, SEND_AT, report, seed_team, template
from tests.factories import add_people, person


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


def test_dry_run_needs_no_token_and_reads_as_the_manager_will(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    slack: SlackEmulator,
    session_factory: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    get_settings.cache_clear()
    with unit_of_work(session_factory) as session:
        seed_team(session)
    assert main(["digest", "send", "--at", SEND_AT.isoformat(), "--manager", MANAGER,
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("--- umgr · week of 3–9 Mar (2031-W10)\nYour team, week of 3–9 Mar\n")
    # Names from the directory, not mentions; no Slack markup or shortcodes.
    assert "• @uann: Waiting on the security review — 2nd week (Weekly)" in out
    assert "<@" not in out and "*" not in out and ":construction:" not in out
    # Every section's header, and what a context block says.
    for header in (
        "Blockers",
        "Whom to talk to",
        "Participation",
        "Pulse",
        "Answers",
        "Recognition",
        "No kudos for 30 days:",
        "Your follow-through: you replied to 1 of 2 answers.",
        "Skip-level",
    ):
        assert f"\n{header}" in out, header
    assert "\n\nWhom to talk to\n• @uann:" in out  # a titled section stands apart
    assert slack.calls() == []  # no Slack at all


@pytest.mark.parametrize(
    ("manager", "words"),
    [
        ("UNOBODY", "--manager UNOBODY: no such person in this database"),
        ("UX01", "--manager UX01: nobody reports to them and they own no active check-in"),
    ],
)
def test_an_unknown_manager_is_one_line_and_exit_code_2(
    env: Path,
    session_factory: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
    manager: str,
    words: str,
) -> None:
    with unit_of_work(session_factory) as session:
        seed_team(session)
    for extra in (["--dry-run"], []):
        code = main(["digest", "send", "--at", SEND_AT.isoformat(), "--manager", manager, *extra])
        err = capsys.readouterr().err
        assert code == 2
        assert err.startswith(f"pulsebot: {words}") and err.count("\n") == 1, err
    with unit_of_work(session_factory) as session:
        assert session.scalars(select(Digest)).all() == []


def test_a_week_whose_check_ins_were_never_created_says_so_and_is_not_sent(
    env: Path,
    slack: SlackEmulator,
    session_factory: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    with unit_of_work(session_factory) as session:
        seed_team(session)
        add_people(session, CREATED, person("UNEW"), person("UNEWR", tz="Asia/Tokyo"))
        report(session, "UNEWR", "UNEW")
        template(session, "UNEW", "Newcomers", ["UNEWR"])  # nothing ran since: no occurrence
    at = SEND_AT.isoformat()
    assert main(["digest", "send", "--at", at, "--manager", "UNEW", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Note: the check-ins of the week of 03 Mar 2031 for unew's team (Newcomers) were " \
        "never created" in out
    assert main(["digest", "send", "--at", at, "--manager", "UNEW"]) == 1
    err = capsys.readouterr().err
    assert "were never created" in err and "`pulsebot checkins run-due` creates them" in err
    assert err.rstrip().endswith("Nothing was written.")
    with unit_of_work(session_factory) as session:
        assert session.scalars(select(Digest)).all() == []
    assert slack.calls("chat.postMessage") == []
    # A team whose week was created is not held up by it.
    assert main(["digest", "send", "--at", at, "--manager", MANAGER, "--dry-run"]) == 0
    assert "never created" not in capsys.readouterr().out


def test_help_describes_every_verb_and_subcommand() -> None:
    parser = build_parser()
    described: list[str] = []

    def walk(node: argparse.ArgumentParser, path: str) -> None:
        for action in node._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    here = f"{path} {name}"
                    assert sub.description and len(sub.description) > 60, here
                    described.append(here)
                    walk(sub, here)

    walk(parser, "pulsebot")
    assert {
        "pulsebot run",
        "pulsebot demo",
        "pulsebot db upgrade",
        "pulsebot checkins apply",
        "pulsebot checkins list",
        "pulsebot checkins run-due",
        "pulsebot digest send",
        "pulsebot org import",
    } <= set(described)
