"""On SQLite the outbox sender's transactions queue in the serving process's group-commit
writer, beside the acks: the file has one write lock, and a sender thread holding it in a
transaction of its own (marking a row sent after its call) would make acks wait behind it.

Through the real server, signed `/kudos` requests and the emulator: every transaction the
sender, its lease and the Slack check run goes into the writer's queue (instrumented here), none
is begun in their own threads, and every message still goes out exactly once. On PostgreSQL
the sender keeps transactions of its own, out of the listeners' batches.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from bot.demo.emulator import SlackEmulator
from storage.engine import GroupCommit
from storage.models import OutboxMessage
from tests.databases import is_postgres
from tests.server import RunningServer
from tests.slack_requests import SlackRequests
from tests.waiting import wait_until

BACKGROUND = ("outbox-sender", "outbox-lease", "slack-check")


def _name(work: Callable[..., Any]) -> str:
    """What a unit is: `bookkeeping`, `claim`, `mark_attempt`, `hold_lease`'s lambda..."""
    if isinstance(work, partial):
        return str(work.func.__name__)
    return str(getattr(work, "__qualname__", repr(work)))


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(thread, unit) for every unit handed to a group-commit writer, in order."""
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()
    original = GroupCommit.run

    def run(self: GroupCommit, work: Callable[[Session], Any]) -> Any:
        with lock:
            seen.append((threading.current_thread().name, _name(work)))
        return original(self, work)

    monkeypatch.setattr(GroupCommit, "run", run)
    return seen


@pytest.fixture
def begun(server: RunningServer) -> Iterator[Counter[str]]:
    """How many transactions each thread began on the server's engine, once the start-up
    directory warm-up (users.list stored page by page) is over."""
    wait_until(lambda: server.deps.slack.directory_complete, timeout=10, what="the warm-up")
    engine = server.deps.session_factory.kw["bind"]
    assert isinstance(engine, Engine)
    threads: Counter[str] = Counter()
    lock = threading.Lock()

    def on_begin(_: Any) -> None:
        with lock:
            threads[threading.current_thread().name] += 1

    event.listen(engine, "begin", on_begin)
    yield threads
    event.remove(engine, "begin", on_begin)


def _statuses(server: RunningServer) -> dict[str, str]:
    with server.deps.unit_of_work() as session:
        rows = session.execute(select(OutboxMessage.idempotency_key, OutboxMessage.status))
        return {key: status for key, status in rows}


def test_the_senders_transactions_go_through_the_writer_and_each_message_goes_once(
    queued: list[tuple[str, str]],
    server: RunningServer,
    begun: Counter[str],
    slack: SlackEmulator,
    signed: SlackRequests,
) -> None:
    givers = ("UANA", "UBEN", "UCHO")
    acks: list[str] = []

    def give(giver: str) -> None:
        others = [f"<@{u}>" for u in givers if u != giver]
        for round_ in range(2):  # 2 kudos x 2 recipients: within the daily 5
            body = signed.command("/kudos", f"{' '.join(others)} thanks {round_}", user_id=giver)
            acks.append(body.json()["text"])

    threads = [threading.Thread(target=give, args=(giver,)) for giver in givers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(acks) == 6 and all("Kudos sent" in text for text in acks), acks

    wait_until(
        lambda: (s := _statuses(server)) and set(s.values()) == {"sent"},
        timeout=30,
        what="every outbox row sent",
    )
    statuses = _statuses(server)
    assert len(statuses) == 6 * 3  # each kudos: the feed post and two DMs
    posted = Counter(
        str(call["metadata"]["event_payload"]["key"])
        for call in slack.calls("chat.postMessage")
        if call.status == 200
    )
    assert posted == dict.fromkeys(statuses, 1)  # nothing lost, nothing twice

    from_sender = Counter(unit for thread, unit in queued if thread == "outbox-sender")
    if is_postgres():
        # Writers do not exclude each other: the sender keeps transactions of its own.
        assert from_sender == {}
        assert begun["outbox-sender"] > 0
        return
    # Before each post its attempt, with the outcome of the post before it; a round's last
    # outcome after it: one unit per post and one per round that sent (fewer rounds than
    # posts: two units per post was the way before), all queued in the writer.
    settled = from_sender["OutboxSender._settled_with.<locals>.unit"]
    assert len(statuses) < settled < 2 * len(statuses)
    assert from_sender["OutboxSender._record.<locals>.bookkeeping"] == 0  # none on its own
    assert from_sender["OutboxSender._send_batch.<locals>.claim"] >= 1
    assert any("Lease._renew" in unit for unit in from_sender)
    # ... and not one transaction begun in a background thread of its own.
    assert {name: begun[name] for name in BACKGROUND} == dict.fromkeys(BACKGROUND, 0)
    assert begun["group-commit"] > 0
