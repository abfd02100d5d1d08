"""Exactly once across crashes and replicas: real `pulsebot run` processes, killed with -9.

"An acked kudos is posted exactly once even when the process is killed the instant after the
ack and started again" (docs/architecture.md, "Ack fast, ack durable").
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, func, select

from bot.demo.emulator import SlackEmulator
from storage.models import Kudos, OutboxMessage, SenderLease
from tests.server import KUDOS_CHANNEL, SIGNING_SECRET, ServerProcess, start_process
from tests.slack_requests import SlackRequests
from tests.waiting import wait_until


def env_for(database_url: str, slack: SlackEmulator, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        "DATABASE_URL": database_url,
        "PULSEBOT_KUDOS_CHANNEL": KUDOS_CHANNEL,
        "PULSEBOT_POST_RATE": "50",
        "LOG_LEVEL": "INFO",
        **extra,
    }


def statuses(db: Engine) -> dict[str, str]:
    with db.connect() as connection:
        result = connection.execute(select(OutboxMessage.idempotency_key, OutboxMessage.status))
        return {key: status for key, status in result}


def all_sent(db: Engine) -> Callable[[], bool]:
    def check() -> bool:
        found = statuses(db)
        return bool(found) and set(found.values()) == {"sent"}

    return check


def test_an_acked_kudos_is_posted_exactly_once_across_a_kill_9_and_a_restart(
    tmp_path: Path,
    database_url: str,
    db: Engine,
    slack: SlackEmulator,
    processes: list[ServerProcess],
) -> None:
    env = env_for(database_url, slack)
    first = start_process(env, tmp_path / "first.log", "--no-scheduler")
    processes.append(first)
    signed = SlackRequests(first.url, SIGNING_SECRET)

    # A kudos delivered before the crash: a restart must not send it again.
    ok = signed.command("/kudos", "<@UCHO> thanks for the review", user_id="UBEN")
    assert ok.status_code == 200 and "Kudos sent" in ok.json()["text"]
    wait_until(all_sent(db), 10, "the first kudos delivered")
    delivered_before = set(statuses(db))

    # Slack now refuses every post: nothing of the next kudos can leave before the kill.
    slack.inject_fault("chat.postMessage", status=503, times=100_000)
    response = signed.command(
        "/kudos", "<@UBEN> <@UCHO> thanks for the migration #teamwork", user_id="UANA"
    )
    assert response.status_code == 200
    assert "Kudos sent to <@UBEN> and <@UCHO>" in response.json()["text"]
    first.kill_hard()
    signed.close()

    # The ack was durable: the kudos and its three posts are in the database, none sent.
    with db.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Kudos)) == 2
    pending = {k: s for k, s in statuses(db).items() if k not in delivered_before}
    assert len(pending) == 3 and set(pending.values()) == {"pending"}, pending
    assert not slack.posted_keys() - Counter(dict.fromkeys(delivered_before, 1))

    # The dead process held the sender lease (it had rows to retry); nobody released it.
    with db.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(SenderLease)) == 1
    slack.reset()  # Slack is healthy again (users and channels stay)
    slack.add_channel(KUDOS_CHANNEL, "kudos", bot_is_member=False)

    second = start_process(env, tmp_path / "second.log", "--no-scheduler")
    processes.append(second)
    answered = time.monotonic()  # /healthz answered: the restart is serving
    wait_until(all_sent(db), 10, "the acked kudos delivered within 10 s of the restart")
    print(f"restart to delivery: {time.monotonic() - answered:.1f} s")

    assert slack.posted_keys() == dict.fromkeys(pending, 1)
    assert slack.delivered_keys(KUDOS_CHANNEL, "UBEN", "UCHO") == dict.fromkeys(pending, 1)
    assert len(slack.calls("chat.postMessage")) == 3  # the first kudos was not sent again
    dm = slack.messages("UBEN")[0]
    assert "thanks for the migration" in dm["text"]


def test_two_processes_on_one_database_deliver_each_row_once(
    tmp_path: Path,
    database_url: str,
    db: Engine,
    slack: SlackEmulator,
    processes: list[ServerProcess],
) -> None:
    people = [f"UP{i:02d}" for i in range(24)]
    for user_id in people:
        slack.add_user(user_id, tz="Europe/Paris")
    # No feed channel: its one-post-a-second spacing would only make the test slow.
    env = env_for(database_url, slack, PULSEBOT_KUDOS_CHANNEL="")
    for name in ("a", "b"):
        processes.append(start_process(env, tmp_path / f"{name}.log", "--no-scheduler"))
    clients = [SlackRequests(p.url, SIGNING_SECRET) for p in processes]

    for i in range(8):
        giver, *recipients = people[3 * i : 3 * i + 3]
        text = " ".join(f"<@{r}>" for r in recipients) + f" thanks, round {i}"
        response = clients[i % 2].command("/kudos", text, user_id=giver)
        assert response.status_code == 200 and "Kudos sent" in response.json()["text"]
    for client in clients:
        client.close()

    wait_until(all_sent(db), 15, "every kudos delivered")
    keys = statuses(db)
    assert len(keys) == 16
    assert slack.posted_keys() == dict.fromkeys(keys, 1)
    assert len(slack.calls("chat.postMessage")) == 16
    assert slack.delivered_keys(*people) == dict.fromkeys(keys, 1)


def test_a_kill_9_while_posts_are_stored_but_unanswered_loses_and_doubles_nothing(
    tmp_path: Path,
    database_url: str,
    db: Engine,
    slack: SlackEmulator,
    processes: list[ServerProcess],
) -> None:
    """Slack stores each post but holds its answer; the sender dies mid-call. The restarted
    sender finds the stored post by its key in the DM's history instead of posting again."""
    env = env_for(database_url, slack, PULSEBOT_KUDOS_CHANNEL="")
    first = start_process(env, tmp_path / "first.log", "--no-scheduler")
    processes.append(first)
    slack.inject_fault("chat.postMessage", hold=60.0, times=100)
    with SlackRequests(first.url, SIGNING_SECRET) as signed:
        response = signed.command("/kudos", "<@UCHO> thanks for the review", user_id="UBEN")
    assert response.status_code == 200 and "Kudos sent" in response.json()["text"]
    wait_until(lambda: len(slack.messages("UCHO")) == 1, 10, "the DM stored, its answer held")
    first.kill_hard()
    with db.connect() as connection:
        row = connection.execute(select(OutboxMessage)).one()
    assert row.status == "pending" and row.attempt_started_at is not None  # outcome unknown

    slack.clear_faults()
    second = start_process(env, tmp_path / "second.log", "--no-scheduler")
    processes.append(second)
    wait_until(all_sent(db), 15, "the row settled after the restart")
    assert slack.delivered_keys("UCHO") == {row.idempotency_key: 1}  # 0 lost, 0 doubled
    assert len(slack.calls("chat.postMessage")) == 1
    assert len(slack.calls("conversations.history")) == 1
    with db.connect() as connection:
        sent = connection.execute(select(OutboxMessage)).one()
    assert sent.result_ts == slack.messages("UCHO")[0]["ts"]
