"""Delivery never stalls behind a sender that has nothing to send.

A `pulsebot checkins run-due --at` a year ahead writes prompts while `pulsebot run` servers
hold the sender lease. The rows carry no not-before time, so every process may send them, and
a server lets go of the lease as soon as it has nothing to send now: the prompts are delivered,
once each, and run-due exits 0. The servers provably hold the lease when run-due starts: each
test makes one of them busy with a slow kudos DM first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import utc_now
from bot.demo.emulator import SlackEmulator
from bot.services import templates
from storage.models import OutboxMessage, SenderLease
from tests.factories import next_weekday
from tests.server import SIGNING_SECRET, ServerProcess, start_process
from tests.slack_requests import SlackRequests
from tests.waiting import wait_until

MEMBERS = tuple(f"UM{i:02d}" for i in range(30))


def env_for(database_url: str, slack: SlackEmulator) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        "DATABASE_URL": database_url,
        "PULSEBOT_KUDOS_CHANNEL": "",
        "PULSEBOT_POST_RATE": "200",
        "LOG_LEVEL": "INFO",
    }


def weekly_on_fridays(session_factory: sessionmaker[Session], slack: SlackEmulator) -> None:
    """Fridays 16:00 in each member's zone (UTC here), created now, on the wall clock."""
    for user_id in MEMBERS:
        slack.add_user(user_id, tz="UTC")
    definition = templates.TemplateDef(
        name="Weekly",
        owner_id="UANA",
        member_ids=MEMBERS,
        weekdays=("fri",),
        local_time="16:00",
        questions=templates.DEFAULT_QUESTIONS,
        close_after=timedelta(hours=8),
    )
    with session_factory() as session, session.begin():
        templates.apply(session, "T0TEAM", [definition], utc_now())


def lease_holder(db: Engine) -> str | None:
    with db.connect() as connection:
        row = connection.execute(select(SenderLease.holder, SenderLease.expires_at)).first()
    return row.holder if row is not None and row.expires_at > utc_now() else None


@pytest.mark.parametrize("servers", [1, 2])
def test_run_due_a_year_ahead_is_delivered_while_servers_hold_the_lease(
    tmp_path: Path,
    database_url: str,
    db: Engine,
    session_factory: sessionmaker[Session],
    slack: SlackEmulator,
    processes: list[ServerProcess],
    servers: int,
) -> None:
    weekly_on_fridays(session_factory, slack)
    env = env_for(database_url, slack)
    for index in range(servers):
        processes.append(start_process(env, tmp_path / f"server-{index}.log", "--no-scheduler"))

    # A kudos DM that Slack answers slowly: its server holds the lease through the call.
    slack.inject_fault("chat.postMessage", delay=4.0)
    with SlackRequests(processes[0].url, SIGNING_SECRET) as signed:
        response = signed.command("/kudos", "<@UCHO> thanks for the review", user_id="UBEN")
    assert response.status_code == 200 and "Kudos sent" in response.json()["text"]
    wait_until(lambda: len(slack.calls("chat.postMessage")) == 1, 10, "the slow DM under way")
    assert lease_holder(db) is not None, "a server holds the lease when run-due starts"

    at = next_weekday(utc_now() + timedelta(days=400), 4, 16, 5)
    log = tmp_path / "run-due.log"
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "checkins", "run-due", "--at", at.isoformat()],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    log.write_text(result.stdout + result.stderr)
    assert result.returncode == 0, log.read_text()
    assert f"{len(MEMBERS)} prompted" in result.stdout
    assert "Delivered" in result.stdout

    with db.connect() as connection:
        rows = connection.execute(
            select(OutboxMessage.idempotency_key, OutboxMessage.status, OutboxMessage.method)
        ).all()
    keys = {key: status for key, status, _ in rows}
    posts = [key for key, _, method in rows if method.endswith(("postMessage", "post_with_file"))]
    prompts = {k: s for k, s in keys.items() if k.endswith(":prompt")}
    assert len(prompts) == len(MEMBERS) and set(prompts.values()) == {"sent"}
    assert set(keys.values()) == {"sent"}  # the owner's weekly digest and its chart too
    assert slack.posted_keys() == dict.fromkeys(posts, 1)  # each once, the kudos DM included
    assert slack.delivered_keys(*MEMBERS) == dict.fromkeys(prompts, 1)
