"""A Monday peak: a kudos given while a check-in fan-out is being sent overtakes it.

The emulator allows chat.postMessage 5 calls a second, the rate the processes are configured
for, so 100 prompts take 20 s to go out. Mid fan-out a signed `/kudos` reaches the real server;
its DM must reach Slack within 5 s of the ack, while prompts are still going out. Twice: the
fan-out written by a separate `pulsebot checkins run-due` process beside the server, and by the
server's own minute job in the server's process.

Everything is due relative to the clock: the template began yesterday and its check-in was due
five minutes ago.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import utc_now
from bot.demo.emulator import Call, SlackEmulator
from bot.jobs.minute import scheduled_job
from bot.services import templates
from bot.services.directory import store_users
from storage.engine import unit_of_work
from storage.models import OutboxMessage, SenderLease
from tests.factories import TEAM, person
from tests.server import SIGNING_SECRET, RunningServer, running_server, server_settings
from tests.slack_requests import SlackRequests
from tests.waiting import wait_until

RATE = 5  # posts a second: PULSEBOT_POST_RATE and the emulator's limit alike
MEMBERS = tuple(f"UP{i:03d}" for i in range(100))
ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GIVER, RECIPIENT = "UANA", "UBEN"  # in the emulator's workspace; neither is prompted
KUDOS_WITHIN = 5.0  # seconds from the ack to the DM reaching Slack
SENT_BEFORE_KUDOS = 10  # prompts out before the kudos: 90 left, 18 s of fan-out


def peak_team(session_factory: sessionmaker[Session], slack: SlackEmulator) -> None:
    """100 members (and the giver, the owner, as manager), due five minutes ago in UTC."""
    now = utc_now()
    for user_id in MEMBERS:
        slack.add_user(user_id, tz="UTC")
    definition = templates.TemplateDef(
        name="Daily",
        owner_id=GIVER,
        member_ids=MEMBERS,
        weekdays=ALL_DAYS,
        local_time=(now - timedelta(minutes=5)).strftime("%H:%M"),
        questions=templates.DEFAULT_QUESTIONS,
        close_after=timedelta(hours=8),
    )
    with unit_of_work(session_factory) as session:
        people = [person(u, tz="UTC") for u in MEMBERS]
        people += [person(GIVER), person(RECIPIENT, tz="Europe/Berlin")]
        store_users(session, TEAM, people, now)
        templates.apply(session, TEAM, [definition], now - timedelta(days=1))
    slack.set_rate_limit("chat.postMessage", per_minute=RATE * 60)


def prompts(slack: SlackEmulator) -> list[Call]:
    return [c for c in slack.calls("chat.postMessage") if c["channel"] in MEMBERS]


def give_kudos_mid_fan_out(url: str, slack: SlackEmulator) -> tuple[Call, float]:
    """Once SENT_BEFORE_KUDOS prompts went out: `/kudos`, then wait for its DM. Returns the DM
    and the ack's instant (monotonic, like `Call.at`)."""
    wait_until(lambda: len(prompts(slack)) >= SENT_BEFORE_KUDOS, 30, "the fan-out under way")
    with SlackRequests(url, SIGNING_SECRET) as signed:
        response = signed.command("/kudos", f"<@{RECIPIENT}> thanks for the review", user_id=GIVER)
    acked = time.monotonic()
    assert response.status_code == 200 and "Kudos sent" in response.json()["text"]
    assert len(MEMBERS) - len(prompts(slack)) >= 50, "the fan-out ended before the kudos"
    (dm,) = slack.wait_for(
        "chat.postMessage", timeout=30, predicate=lambda c: c["channel"] == RECIPIENT
    )
    return dm, acked


def assert_overtook(slack: SlackEmulator, dm: Call, acked: float) -> None:
    waited = dm.at - acked
    after = [c for c in prompts(slack) if c.at > dm.at]
    print(f"kudos DM {waited:.2f}s after the ack; {len(after)} prompts still to go then")
    assert waited < KUDOS_WITHIN, f"the kudos DM came {waited:.1f}s after the ack"
    assert len(after) >= 20, "the fan-out was not under way any more"


def settled(session_factory: sessionmaker[Session]) -> bool:
    """Nothing left to send: every row's call made and recorded."""
    with unit_of_work(session_factory) as session:
        statuses = set(session.scalars(select(OutboxMessage.status)))
    return statuses == {"sent"}


def assert_each_once(session_factory: sessionmaker[Session], slack: SlackEmulator) -> None:
    with unit_of_work(session_factory) as session:
        rows = dict(
            session.execute(select(OutboxMessage.idempotency_key, OutboxMessage.status)).all()
        )
    prompt_keys = {k for k in rows if k.endswith(":prompt")}
    assert len(prompt_keys) == len(MEMBERS)
    assert {rows[k] for k in prompt_keys} == {"sent"}
    assert slack.delivered_keys(*MEMBERS) == dict.fromkeys(prompt_keys, 1)
    kudos = {k for k in rows if k.startswith("kudos:") and k.endswith(f":dm:{RECIPIENT}")}
    assert len(kudos) == 1 and slack.delivered_keys(RECIPIENT) == dict.fromkeys(kudos, 1)


@pytest.fixture
def slow_server(database_url: str, slack: SlackEmulator) -> Iterator[RunningServer]:
    """The real server, sending at RATE, once it has checked Slack and warmed its directory:
    its start-up writes are over before a fan-out begins."""
    settings = server_settings(database_url, slack.url, slack.bot_token, PULSEBOT_POST_RATE=RATE)
    with running_server(settings) as running:
        wait_until(lambda: running.deps.slack.directory_complete, 10, "the directory warmed")
        yield running


# ----- a run-due process beside the server ------------------------------------------------------


def test_a_kudos_overtakes_the_fan_out_a_run_due_process_writes(
    tmp_path: Path,
    database_url: str,
    slow_server: RunningServer,
    session_factory: sessionmaker[Session],
    slack: SlackEmulator,
) -> None:
    peak_team(session_factory, slack)
    log = tmp_path / "run-due.log"
    run = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "checkins", "run-due", "--at", utc_now().isoformat()],
        env={
            **os.environ,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.url,
            "DATABASE_URL": database_url,
            "PULSEBOT_POST_RATE": str(RATE),
            "LOG_LEVEL": "INFO",
        },
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        # Whichever process takes the sender lease sends the prompts, and the kudos row the
        # server writes: when that is run-due, another process's sender claims it behind
        # prompts it claimed already, with no wake-up from the server.
        dm, acked = give_kudos_mid_fan_out(slow_server.url, slack)
        with unit_of_work(session_factory) as session:
            holder = session.scalar(select(SenderLease.holder)) or ""
        assert run.wait(timeout=60) == 0, log.read_text()
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(timeout=10)
    sender = "run-due" if holder.split(":")[1:2] == [str(run.pid)] else "the server"
    print(f"{sender} held the sender lease when the kudos DM went out")
    assert_overtook(slack, dm, acked)
    assert_each_once(session_factory, slack)


# ----- the server's own minute job --------------------------------------------------------------


def test_a_kudos_overtakes_the_fan_out_of_the_servers_own_minute_job(
    slow_server: RunningServer,
    session_factory: sessionmaker[Session],
    slack: SlackEmulator,
) -> None:
    server = slow_server
    peak_team(session_factory, slack)
    # What the scheduler runs every 30 s, in the server's process: writes, then wakes the
    # server's own sender.
    job = threading.Thread(target=scheduled_job(server.deps), daemon=True)
    job.start()
    dm, acked = give_kudos_mid_fan_out(server.url, slack)
    job.join(timeout=30)
    wait_until(lambda: settled(session_factory), 40, "every prompt sent")
    assert_overtook(slack, dm, acked)
    assert_each_once(session_factory, slack)
