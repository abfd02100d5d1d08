"""`pulsebot checkins apply|list|run-due` and `pulsebot org import`, in-process.

The environment is stripped of every pulsebot variable except those a test sets, in an empty
directory (no `.env`); the settings caches are cleared around each test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import logs
from bot.cli.main import main
from bot.clock import utc_now
from bot.demo.emulator import SlackEmulator
from bot.settings import get_database_settings, get_settings
from storage.engine import unit_of_work
from storage.models import CheckinTemplate, DirectoryUser, OrgEdge, OutboxMessage
from tests.factories import TEAM, next_weekday

OURS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL")

TEMPLATE = """
checkins:
  - name: Weekly
    owner: UANA
    members: [UBEN, UCHO]
    schedule: {days: [fri], time: "16:00"}
    remind_after: 4h
    close_after: 1d
    questions:
      - {id: done, text: "What did you get done?", kind: text, required: true}
      - {id: pulse, text: "How do you feel?", kind: pulse}
"""


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, slack: SlackEmulator
) -> Iterator[Path]:
    for name in list(os.environ):
        if name in OURS or name.startswith("PULSEBOT_") or name in {"LOG_LEVEL", "LOG_FORMAT"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SLACK_API_URL", slack.url)
    monkeypatch.setenv("PULSEBOT_POST_RATE", "100")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(logs, "configure", lambda *args, **kwargs: None)
    get_settings.cache_clear()
    get_database_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
    get_database_settings.cache_clear()


@pytest.fixture
def token(env: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackEmulator) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    get_settings.cache_clear()


def write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def templates_in(factory: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with unit_of_work(factory) as session:
        rows = session.scalars(select(CheckinTemplate).order_by(CheckinTemplate.id)).all()
        return [(r.name, r.local_time, r.team_id) for r in rows]


# ----- checkins apply / list --------------------------------------------------------------------


def test_apply_and_list_need_no_slack_token(
    env: Path, session_factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(env, "team.yml", TEMPLATE)
    assert main(["checkins", "apply", path, "--team", TEAM]) == 0
    out = capsys.readouterr().out
    assert 'created "Weekly" (owner UANA' in out
    assert "now reporting to UANA: UBEN, UCHO" in out
    assert templates_in(session_factory) == [("Weekly", "16:00", TEAM)]

    assert main(["checkins", "apply", path]) == 0  # the one workspace the database knows
    assert 'unchanged "Weekly"' in capsys.readouterr().out

    assert main(["checkins", "list"]) == 0
    out = capsys.readouterr().out
    assert '"Weekly" owner UANA: fri 16:00' in out
    assert "2 member(s)" in out and "remind 4h" in out and "close 1d" in out


def test_an_invalid_file_changes_nothing(
    env: Path, session_factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(env, "team.yml", TEMPLATE)
    assert main(["checkins", "apply", good, "--team", TEAM]) == 0
    capsys.readouterr()
    broken = TEMPLATE.replace('"16:00"', '"17:00"') + (
        "  - name: Second\n    owner: UANA\n    schedule: {days: [sat], time: '9am'}\n"
        "    questions: [{id: a, text: A, kind: text}]\n"
    )
    path = write(env, "broken.yml", broken)
    assert main(["checkins", "apply", path, "--team", TEAM]) == 1
    err = capsys.readouterr().err
    assert f'{path}: template "Second": schedule.time: must be a 24-hour time' in err
    assert f"{path}: nothing was changed." in err
    assert templates_in(session_factory) == [("Weekly", "16:00", TEAM)]  # not 17:00


def test_dry_run_writes_nothing(
    env: Path, session_factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(env, "team.yml", TEMPLATE)
    assert main(["checkins", "apply", path, "--team", TEAM, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert 'created "Weekly"' in out and "Dry run: nothing was written." in out
    assert templates_in(session_factory) == []
    with unit_of_work(session_factory) as session:
        assert session.scalars(select(OrgEdge)).all() == []


def test_emails_are_looked_up_once_and_cached(
    token: None,
    env: Path,
    session_factory: sessionmaker[Session],
    slack: SlackEmulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = TEMPLATE.replace("[UBEN, UCHO]", "[uben@example.com, UCHO.unknown@example.com]")
    path = write(env, "team.yml", text)
    assert main(["checkins", "apply", path]) == 1  # team from auth.test
    err = capsys.readouterr().err
    assert (
        'template "Weekly": members[1]: no Slack user has the email UCHO.unknown@example.com' in err
    )
    assert templates_in(session_factory) == []

    path = write(env, "team.yml", TEMPLATE.replace("[UBEN, UCHO]", "[uben@example.com]"))
    assert main(["checkins", "apply", path]) == 0
    with unit_of_work(session_factory) as session:
        cached = session.get(DirectoryUser, (TEAM, "UBEN"))
        assert cached is not None and cached.tz == "Europe/Berlin"
    lookups = len(slack.calls("users.lookupByEmail"))
    assert main(["checkins", "apply", path]) == 0  # now from the directory cache
    assert len(slack.calls("users.lookupByEmail")) == lookups


def test_which_workspace_when_nothing_tells(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(env, "team.yml", TEMPLATE)
    assert main(["checkins", "apply", path]) == 2
    assert "which workspace? Pass --team T..." in capsys.readouterr().err


def test_list_when_empty(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checkins", "list"]) == 0
    assert "No check-in templates yet" in capsys.readouterr().out


# ----- org import -------------------------------------------------------------------------------


def test_org_import_reports_bad_rows_and_imports_the_rest(
    env: Path, session_factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(env, "org.csv", "user_id,manager_id\nUBEN,UANA\nUCHO,UCHO\nUDEV,UANA\n")
    assert main(["org", "import", path, "--team", TEAM]) == 1
    captured = capsys.readouterr()
    assert f"{path}: line 3: UCHO can't be their own manager" in captured.err
    assert "2 row(s) imported; 1 row(s) rejected." in captured.out
    with unit_of_work(session_factory) as session:
        assert {(e.user_id, e.manager_id) for e in session.scalars(select(OrgEdge))} == {
            ("UBEN", "UANA"),
            ("UDEV", "UANA"),
        }


def test_org_import_by_email(
    token: None,
    env: Path,
    session_factory: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write(env, "org.csv", "email,manager_email\nuben@example.com,uana@example.com\n")
    assert main(["org", "import", path]) == 0
    assert "1 row(s) imported; 0 row(s) rejected." in capsys.readouterr().out
    with unit_of_work(session_factory) as session:
        assert [(e.user_id, e.manager_id) for e in session.scalars(select(OrgEdge))] == [
            ("UBEN", "UANA")
        ]


def test_org_import_unreadable_file_imports_nothing(
    env: Path, session_factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(env, "org.csv", "who,boss\nUBEN,UANA\n")
    assert main(["org", "import", path, "--team", TEAM]) == 1
    assert "the header is `who,boss`" in capsys.readouterr().err
    assert main(["org", "import", str(env / "missing.csv"), "--team", TEAM]) == 1
    with unit_of_work(session_factory) as session:
        assert session.scalars(select(OrgEdge)).all() == []


# ----- run-due ----------------------------------------------------------------------------------


def test_run_due_writes_and_delivers_then_does_nothing_twice(
    token: None,
    env: Path,
    slack: SlackEmulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["checkins", "apply", write(env, "t.yml", TEMPLATE), "--team", TEAM]) == 0
    # Directory: UBEN in Berlin, UCHO in Tokyo (as users.info would say; cached here by email).
    assert (
        main(
            [
                "org",
                "import",
                write(
                    env,
                    "o.csv",
                    "email,manager_email\n"
                    "uben@example.com,uana@example.com\nucho@example.com,uana@example.com\n",
                ),
            ]
        )
        == 0
    )
    capsys.readouterr()
    # 17:00 Berlin, 01:00 Tokyo (or 18:00 / 02:00 in summer): both are due.
    friday_evening = next_weekday(utc_now(), 4, 16)
    assert main(["checkins", "run-due", "--at", friday_evening.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "2 prompted" in out and "Delivered" in out
    assert len(slack.messages("UBEN")) == 1 and len(slack.messages("UCHO")) == 1
    assert "Weekly" in slack.messages("UBEN")[0]["text"]

    later = friday_evening + timedelta(minutes=30)
    assert main(["checkins", "run-due", "--at", later.isoformat()]) == 0
    assert "0 prompted" in capsys.readouterr().out
    assert len(slack.messages("UBEN")) == 1


def test_run_due_exits_non_zero_when_a_delivery_fails_for_good(
    token: None,
    env: Path,
    slack: SlackEmulator,
    session_factory: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = TEMPLATE.replace("[UBEN, UCHO]", "[UBEN, UZED]")  # UZED is not in the workspace
    assert main(["checkins", "apply", write(env, "t.yml", text), "--team", TEAM]) == 0
    friday = next_weekday(utc_now(), 4, 17)
    assert main(["checkins", "run-due", "--at", friday.isoformat()]) == 1
    assert "1 message(s) failed for good" in capsys.readouterr().err
    assert len(slack.messages("UBEN")) == 1  # the rest went on
    with unit_of_work(session_factory) as session:
        statuses = {
            r.payload["channel"]: r.status
            for r in session.scalars(select(OutboxMessage))
            if r.idempotency_key.startswith("checkin:")  # not the owner's weekly digest
        }
    assert statuses == {"UBEN": "sent", "UZED": "failed"}


def test_run_due_arguments(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checkins", "run-due"]) == 2  # sending needs the token
    assert "SLACK_BOT_TOKEN is not set" in capsys.readouterr().err


def test_run_due_bad_instant(token: None, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checkins", "run-due", "--at", "friday"]) == 2
    assert '--at "friday" is not an ISO 8601 instant' in capsys.readouterr().err


def test_run_due_before_a_template_began_says_so(
    token: None, env: Path, slack: SlackEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["checkins", "apply", write(env, "t.yml", TEMPLATE), "--team", TEAM]) == 0
    capsys.readouterr()
    a_friday_before = next_weekday(utc_now() - timedelta(days=15), 4, 16)
    assert main(["checkins", "run-due", "--at", a_friday_before.isoformat()]) == 0
    out = capsys.readouterr().out
    assert 'Nothing was due: "Weekly" starts at ' in out
    assert not slack.calls("chat.postMessage")


def test_run_due_that_cannot_deliver_in_time_exits_1_and_keeps_the_rest_queued(
    token: None,
    env: Path,
    slack: SlackEmulator,
    session_factory: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["checkins", "apply", write(env, "t.yml", TEMPLATE), "--team", TEAM]) == 0
    slack.inject_fault("chat.postMessage", status=503, times=1_000)  # Slack is down
    friday = next_weekday(utc_now(), 4, 17)
    assert main(["checkins", "run-due", "--at", friday.isoformat(), "--timeout", "2"]) == 1
    assert "Gave up waiting after 2s; the rest stays queued." in capsys.readouterr().err
    with unit_of_work(session_factory) as session:
        prompts = [
            r.status
            for r in session.scalars(select(OutboxMessage))
            if r.idempotency_key.endswith(":prompt")
        ]
    assert prompts == ["pending", "pending"]  # nothing lost: the next sender delivers them
