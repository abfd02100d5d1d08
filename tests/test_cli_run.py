"""`pulsebot run` and `pulsebot db upgrade` as an operator meets them (the README's Configuration).

Each runs as a real process in an empty directory (no `.env`), with an environment stripped
of every pulsebot variable except those the test sets.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.demo.emulator import SlackEmulator
from tests.server import SIGNING_SECRET, ServerProcess, free_port, start_process

OURS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "DATABASE_URL",
    "PORT",
    "HOST",
    "LOG_LEVEL",
    "LOG_FORMAT",
)


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in OURS and not k.startswith("PULSEBOT_")}
    return {**env, **values}


def pulsebot(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def no_pulsebot_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """start_process passes this process's environment on: take ours out of it."""
    for name in OURS:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("PULSEBOT_"):
            monkeypatch.delenv(name)


def slack_state(url: str, timeout: float = 10.0) -> dict[str, str]:
    """/healthz once the background auth.test has come to a verdict."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{url}/healthz", timeout=2)
        assert response.status_code == 200
        body = response.json()
        if body["slack"] != "unknown" or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("missing", "present"),
    [
        ("SLACK_BOT_TOKEN", {"SLACK_SIGNING_SECRET": SIGNING_SECRET}),
        ("SLACK_SIGNING_SECRET", {"SLACK_BOT_TOKEN": "xoxb-placeholder"}),
    ],
)
def test_a_missing_secret_stops_run_with_one_line_and_exit_2(
    tmp_path: Path, missing: str, present: dict[str, str]
) -> None:
    result = pulsebot(tmp_path, clean_env(**present), "run")

    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert missing in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "pulsebot.db").exists()  # stopped before touching anything


def test_socket_mode_without_an_app_token_says_where_to_get_one(tmp_path: Path) -> None:
    """Socket Mode needs no signing secret, but an xapp- token with connections:write."""
    result = pulsebot(tmp_path, clean_env(SLACK_BOT_TOKEN="xoxb-placeholder"), "run", "--socket")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "SLACK_APP_TOKEN" in lines[0] and "connections:write" in lines[0]
    assert "Traceback" not in result.stderr


def test_a_worker_needs_no_signing_secret_and_refuses_socket_mode(
    tmp_path: Path, no_pulsebot_env: None, processes: list[ServerProcess]
) -> None:
    """A worker answers no Slack request: the secret that checks them is not asked for."""
    token = {"SLACK_BOT_TOKEN": "xoxb-placeholder"}
    result = pulsebot(tmp_path, clean_env(**token), "run", "--role", "worker", "--socket")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--role worker serves none" in lines[0], result.stderr

    env = {**token, "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/"}
    worker = start_process(env, tmp_path / "worker.log", "--role", "worker")
    processes.append(worker)
    assert slack_state(worker.url) == {"db": "ok", "slack": "unreachable"}
    answer = httpx.post(f"{worker.url}/slack/events", content=b"{}", timeout=5)
    assert answer.status_code == 404 and "--role web" in answer.text
    assert "Traceback" not in worker.log()


def test_every_command_has_help(tmp_path: Path) -> None:
    verbs = [
        ["run"],
        ["db", "upgrade"],
        ["checkins", "apply"],
        ["checkins", "list"],
        ["checkins", "run-due"],
        ["org", "import"],
    ]
    for verb in verbs:
        result = pulsebot(tmp_path, clean_env(), *verb, "--help")
        assert result.returncode == 0 and "usage: pulsebot" in result.stdout, verb


def test_run_starts_on_sqlite_with_placeholders_and_slack_unreachable(
    tmp_path: Path, no_pulsebot_env: None, processes: list[ServerProcess]
) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-placeholder",
        "SLACK_SIGNING_SECRET": "placeholder",
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",  # nothing listens there
    }
    process = start_process(env, tmp_path / "run.log", "--no-scheduler")
    processes.append(process)

    assert slack_state(process.url) == {"db": "ok", "slack": "unreachable"}
    assert (tmp_path / "pulsebot.db").exists()  # the default DATABASE_URL, migrated at start
    with sqlite3.connect(tmp_path / "pulsebot.db") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"outbox", "kudos", "alembic_version"} <= tables
    assert "Traceback" not in process.log()


def test_run_reports_a_refused_token_in_healthz_and_one_log_line(
    tmp_path: Path,
    database_url: str,
    slack: SlackEmulator,
    no_pulsebot_env: None,
    processes: list[ServerProcess],
) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-revoked",  # the emulator knows only slack.bot_token
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        "DATABASE_URL": database_url,
    }
    process = start_process(env, tmp_path / "run.log", "--no-scheduler")
    processes.append(process)

    assert slack_state(process.url) == {"db": "ok", "slack": "invalid_auth"}
    refused = [line for line in process.log().splitlines() if "invalid_auth" in line]
    assert len(refused) == 1 and "SLACK_BOT_TOKEN" in refused[0]
    assert [c.status for c in slack.calls("auth.test")] == [200]  # one check: ok false, 200


def test_db_upgrade_needs_no_slack_variables(tmp_path: Path) -> None:
    result = pulsebot(tmp_path, clean_env(), "db", "upgrade")

    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    with sqlite3.connect(tmp_path / "pulsebot.db") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"outbox", "kudos", "alembic_version"} <= tables
