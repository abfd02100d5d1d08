"""Three `pulsebot run` replicas on one PostgreSQL database.

A 200-member check-in fan-out and 50 kudos, the kudos requests spread across the replicas, the
emulator limiting chat.postMessage to the rate the replicas are configured for. Each message
reaches Slack exactly once, the workspace's pace holds across the three (at most 1% of posts
answered 429), and killing the lease holder mid-fan-out loses nothing and doubles nothing.
"""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import utc_now
from bot.demo.emulator import SlackEmulator
from bot.jobs.minute import run_due
from bot.services import templates
from bot.services.directory import store_users
from storage.models import OutboxMessage, SenderLease
from tests.databases import is_postgres
from tests.factories import TEAM, person
from tests.server import SIGNING_SECRET, ServerProcess, start_process
from tests.slack_requests import SlackRequests
from tests.waiting import wait_until

pytestmark = pytest.mark.skipif(
    not is_postgres(), reason="replicas share a PostgreSQL database; SQLite is for one process"
)

MEMBERS = tuple(f"UM{i:03d}" for i in range(200))
GIVERS = tuple(f"UG{i:02d}" for i in range(50))
RECIPIENTS = tuple(f"UR{i:02d}" for i in range(50))
RATE = 25  # posts a second: PULSEBOT_POST_RATE and the emulator's limit alike


def outbox(db: Engine) -> dict[str, str]:
    with db.connect() as connection:
        rows = connection.execute(select(OutboxMessage.idempotency_key, OutboxMessage.status))
        return dict(rows.all())


def test_three_replicas_deliver_each_message_once_at_the_workspace_pace(
    tmp_path: Path,
    database_url: str,
    db: Engine,
    session_factory: sessionmaker[Session],
    slack: SlackEmulator,
    processes: list[ServerProcess],
) -> None:
    people = (*MEMBERS, *GIVERS, *RECIPIENTS)
    for user_id in people:
        slack.add_user(user_id, tz="UTC")
    now = utc_now()
    with session_factory() as session, session.begin():
        store_users(session, TEAM, [person(u, tz="UTC") for u in (*people, "UANA")], now)
        definition = templates.default_template(
            "UANA",
            MEMBERS,
            weekdays=("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
            local_time=(now + timedelta(minutes=1)).strftime("%H:%M"),
        )
        templates.apply(session, TEAM, [definition], now)
    slack.set_rate_limit("chat.postMessage", per_minute=RATE * 60)  # a burst of a few calls
    slack.set_channel_rate_limit(per_second=1.0, burst=1)
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        "DATABASE_URL": database_url,
        "PULSEBOT_KUDOS_CHANNEL": "",
        "PULSEBOT_POST_RATE": str(RATE),
        "LOG_LEVEL": "INFO",
    }
    for index in range(3):
        processes.append(start_process(env, tmp_path / f"replica-{index}.log", "--no-scheduler"))

    # The minute job's writes (any replica's; here the test's), then kudos across the three.
    summary = run_due(session_factory, now + timedelta(minutes=2))
    assert summary.prompted == len(MEMBERS)
    clients = [SlackRequests(r.url, SIGNING_SECRET) for r in processes]
    try:
        for i, (giver, recipient) in enumerate(zip(GIVERS, RECIPIENTS, strict=True)):
            response = clients[i % 3].command("/kudos", f"<@{recipient}> thanks {i}", user_id=giver)
            assert response.status_code == 200 and "Kudos sent" in response.json()["text"]
    finally:
        for client in clients:
            client.close()

    # Kill the lease holder mid-fan-out, the instant it holds the lease.
    wait_until(lambda: len(slack.calls("chat.postMessage")) >= 80, 30, "the fan-out under way")
    with db.connect() as connection:
        holder = connection.scalar(select(SenderLease.holder))
    assert holder is not None
    pid = int(holder.split(":")[1])
    victim = next(r for r in processes if r.process.pid == pid)
    os.kill(pid, signal.SIGKILL)
    victim.process.wait(timeout=10)

    expected = len(MEMBERS) + len(GIVERS)
    wait_until(
        lambda: len(outbox(db)) == expected and set(outbox(db).values()) == {"sent"},
        60,
        "every message delivered by the surviving replicas",
    )
    keys = outbox(db)
    delivered = slack.delivered_keys(*MEMBERS, *RECIPIENTS)
    assert delivered == dict.fromkeys(keys, 1)  # 0 lost, 0 doubled
    posts = slack.calls("chat.postMessage")
    limited = slack.rate_limited_count("chat.postMessage")
    print(f"replicas: {len(keys)} messages, {len(posts)} posts, {limited} answered 429")
    assert limited <= len(posts) // 100, f"{limited} of {len(posts)} posts answered 429"
