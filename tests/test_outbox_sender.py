"""The outbox sender against the Slack emulator, on a fresh database (SQLite or PostgreSQL).

Rows are written the way features write them (`bot.delivery.outbox`), then sent by the real
`OutboxSender` with the production WebClient (`bot.app.make_web_client`, no slack_sdk retry
handler). Each test names the guarantee of docs/architecture.md ("Exactly once", "Rate limits")
it holds the sender to.
"""

from __future__ import annotations

import itertools
import logging
import re
import socket
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.app import make_web_client
from bot.clock import utc_now
from bot.delivery import outbox, pacing
from bot.delivery import sender as sender_module
from bot.delivery.outbox import PARENT_CHANNEL, PARENT_TS
from bot.delivery.sender import LEASE_TTL, MAX_ATTEMPTS, MAX_BACKOFF, OutboxSender
from bot.demo.emulator import Call, SlackEmulator
from storage.engine import GroupCommit, UnitRunner, unit_of_work
from storage.models import OutboxMessage, SenderLease
from tests.factories import add_people, person
from tests.server import KUDOS_CHANNEL, free_port, server_settings

TEAM = "T0TEAM"
CHANNELS = ("UANA", "UBEN", "UCHO", KUDOS_CHANNEL, "C0GENERAL")
Factory = sessionmaker[Session]


class FakeClock:
    """The sender's calendar clock (due times, backoff, the lease), moved by the test."""

    def __init__(self) -> None:
        self.now = datetime(2037, 11, 25, 15, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += timedelta(seconds=seconds)


def client_for(database_url: str, api_url: str, token: str) -> WebClient:
    return make_web_client(server_settings(database_url, api_url, token), timeout=5)


def make_sender(
    session_factory: Factory,
    client: WebClient,
    *,
    post_rate: float = 100.0,
    clock: Any = utc_now,
    holder: str | None = None,
    unit: UnitRunner | None = None,
) -> OutboxSender:
    return OutboxSender(
        session_factory=session_factory,
        client=client,
        clock=clock,
        lease_clock=clock,
        post_rate=post_rate,
        holder=holder,
        unit=unit,
    )


@pytest.fixture
def no_channel_spacing(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests about something else: one channel's 1 s spacing has a test of its own."""
    monkeypatch.setattr(pacing, "CHANNEL_INTERVAL", 0.0)


@pytest.fixture
def client(database_url: str, slack: SlackEmulator) -> WebClient:
    return client_for(database_url, slack.url, slack.bot_token)


def post(
    session_factory: Factory,
    key: str,
    channel: str,
    *,
    text: str = "hello",
    team_id: str = TEAM,
    now: datetime | None = None,
    **extra: Any,
) -> int:
    with unit_of_work(session_factory) as session:
        return outbox.post_message(
            session,
            team_id=team_id,
            key=key,
            channel=channel,
            text=text,
            blocks=None,
            now=now or utc_now(),
            **extra,
        )


def rows(session_factory: Factory) -> dict[str, OutboxMessage]:
    with unit_of_work(session_factory) as session:
        return {r.idempotency_key: r for r in session.scalars(select(OutboxMessage))}


def key_of(call: Call) -> str:
    return str(call["metadata"]["event_payload"]["key"])


def answered_ok(slack: SlackEmulator, *channels: str) -> Counter[str]:
    """Messages Slack accepted, per idempotency key (the key travels in the message metadata).

    Each successful chat.postMessage stores one message; an `ok: false` answer (HTTP 200 too)
    stores none.
    """
    channels = channels or CHANNELS
    return Counter(
        m["metadata"]["event_payload"]["key"]
        for channel in channels
        for m in slack.messages(channel)
        if m.get("metadata")
    )


def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith("bot.delivery")
    ]


# ----- sending once, recording what Slack returned --------------------------------------------


def test_each_pending_row_is_sent_once_and_its_channel_and_ts_recorded(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    post(session_factory, "dm-ben", "UBEN")
    post(session_factory, "feed", KUDOS_CHANNEL)
    post(session_factory, "dm-cho", "UCHO")
    post(session_factory, "dm-ben", "UBEN", text="the same key again")  # one row, one call
    sender = make_sender(session_factory, client)

    assert sender.drain(timeout=10)

    assert answered_ok(slack) == {"dm-ben": 1, "feed": 1, "dm-cho": 1}
    found = rows(session_factory)
    assert {k: r.status for k, r in found.items()} == {k: "sent" for k in found}
    # A DM posted to a user id comes back with its D... channel: chat.update needs that one.
    assert found["dm-ben"].result_channel == "DUBEN"
    assert found["dm-cho"].result_channel == "DUCHO"
    assert found["feed"].result_channel == KUDOS_CHANNEL
    assert found["dm-ben"].result_ts == slack.messages("UBEN")[0]["ts"]
    assert found["feed"].result_ts == slack.messages(KUDOS_CHANNEL)[0]["ts"]
    assert slack.messages("UBEN")[0]["text"] == "hello"

    calls_before = len(slack.calls())
    assert sender.step() is False
    assert sender.drain(timeout=2)
    assert make_sender(session_factory, client).drain(timeout=2)
    assert len(slack.calls()) == calls_before


# ----- the sender's transactions in a group-commit writer ------------------------------------


class _RolledBack(Exception):
    pass


@pytest.mark.usefixtures("no_channel_spacing")
@pytest.mark.parametrize("writer", ["group commit", "each unit run twice"])
def test_through_a_shared_writer_each_row_is_settled_once(
    session_factory: Factory, slack: SlackEmulator, client: WebClient, writer: str
) -> None:
    """A serving process on SQLite runs the sender's transactions in its group-commit writer,
    where a unit runs again when another unit of its batch fails: every outcome (sent, retried
    then sent, failed, withdrawn) is still recorded once, and every message goes once."""
    runs: Counter[str] = Counter()

    def twice(work: Any) -> Any:
        """What a batch broken by someone else's unit does: roll back, then run it again."""
        runs[getattr(work, "__qualname__", "partial")] += 1
        try:
            with unit_of_work(session_factory) as session:
                work(session)
                raise _RolledBack
        except _RolledBack:
            pass
        with unit_of_work(session_factory) as session:
            return work(session)

    group = GroupCommit(session_factory, writers=1)
    unit: UnitRunner = group.run if writer == "group commit" else twice
    slack.inject_fault("chat.postMessage", status=500, error="internal_error")
    post(session_factory, "retried", "UANA")
    post(session_factory, "dm-ben", "UBEN")
    post(session_factory, "nowhere", "C0NOSUCH")
    post(session_factory, "feed", KUDOS_CHANNEL)
    with unit_of_work(session_factory) as session:
        add_people(session, utc_now(), person("UGONE", deleted=True))
    post(session_factory, "to-leaver", "UGONE")
    sender = make_sender(session_factory, client, unit=unit)

    assert sender.drain(timeout=15)

    found = rows(session_factory)
    assert {k: (r.status, r.attempts, r.attempt_started_at) for k, r in found.items()} == {
        "retried": ("sent", 2, None),
        "dm-ben": ("sent", 1, None),
        "nowhere": ("failed", 1, found["nowhere"].attempt_started_at),
        "feed": ("sent", 1, None),
        "to-leaver": ("cancelled", 0, None),
    }
    assert answered_ok(slack) == {"retried": 1, "dm-ben": 1, "feed": 1}
    assert len(slack.calls("chat.postMessage")) == 5  # the 500, then one call per row
    stats = sender.stats
    assert (stats.sent, stats.retried, stats.failed, stats.withdrawn) == (3, 1, 1, 1)
    if writer == "group commit":
        assert group.batches > 0
    else:
        assert runs  # every transaction of the sender and its lease went through `twice`
    with unit_of_work(session_factory) as session:  # let go after the drain
        assert session.scalar(select(SenderLease.expires_at)) < utc_now()


# ----- one transaction per call --------------------------------------------------------------


class _Died(Exception):
    """The process stops where the sender would write what its last calls came to."""


@pytest.mark.usefixtures("no_channel_spacing")
def test_each_post_costs_one_transaction_and_a_death_before_its_sent_is_written_doubles_nothing(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    """A post's "sent" is written with the next post's attempt, not in a transaction of its
    own. The sender that dies before writing it leaves one post whose attempt is marked: the
    next sender finds it in Slack by its key instead of posting it again."""
    for index, channel in enumerate(("UANA", "UBEN", "UCHO", "C0GENERAL")):
        post(session_factory, f"m{index}", channel)
    units = 0
    died_after: int | None = None

    def dying(work: Any) -> Any:
        nonlocal units, died_after
        if len(slack.calls("chat.postMessage")) == 4 and died_after is None:
            died_after = units
            raise _Died
        units += 1
        with unit_of_work(session_factory) as session:
            return work(session)

    sender = make_sender(session_factory, client, unit=dying)
    with pytest.raises(_Died):
        sender.drain(timeout=10)
    # ready_teams, the lease, the claim, then one unit per post: its attempt, with the last
    # post's "sent". The next would have written m3's.
    assert died_after == 3 + 4
    pending = {k: r.attempt_started_at is not None for k, r in rows(session_factory).items()}
    assert pending == {"m0": False, "m1": False, "m2": False, "m3": True}
    assert {k: r.status for k, r in rows(session_factory).items()} == {
        "m0": "sent",
        "m1": "sent",
        "m2": "sent",
        "m3": "pending",
    }

    assert make_sender(session_factory, client).drain(timeout=10)
    assert answered_ok(slack) == {"m0": 1, "m1": 1, "m2": 1, "m3": 1}
    assert len(slack.calls("chat.postMessage")) == 4
    assert len(slack.calls("conversations.history")) == 1  # the one post left to look for
    assert rows(session_factory)["m3"].result_ts == slack.messages("C0GENERAL")[0]["ts"]


@pytest.mark.parametrize(
    ("method", "post_rate", "claimed"),
    [
        ("chat.postMessage", 60.0, 100),  # two rounds' worth is more than the whole batch
        ("chat.postMessage", 50.0, 99),  # 2 x 50 x 0.97 (the pace less its margin), and 2 spare
        ("chat.postMessage", 20.0, 41),
        ("chat.postMessage", 1.0, 4),
        ("views.publish", 50.0, 6),  # Tier 4, 100 a minute
        ("pulsebot.files_upload", 50.0, 4),  # a chart's PNG in each row: never a hundred
        ("pulsebot.post_with_file", 50.0, 4),
        ("users.info", 50.0, 3),  # unlisted: Tier 2
    ],
)
def test_a_round_claims_what_its_methods_pace_can_send_with_room_to_spare(
    session_factory: Factory, client: WebClient, method: str, post_rate: float, claimed: int
) -> None:
    sender = make_sender(session_factory, client, post_rate=post_rate)
    assert sender._claim_size(method) == claimed
    assert sender._bulk_floor(method) == max(1, claimed // (sender_module.INTERACTIVE_RUN + 1))


# ----- arguments built as the row leaves ------------------------------------------------------


def test_a_row_naming_a_builder_gets_its_arguments_as_it_leaves_and_waits_for_a_sender_that_has_it(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    """App Home's view is built when Slack can take it: from what the database says then, by
    the sender that has the builder; one without it leaves the row untouched."""
    with unit_of_work(session_factory) as session:
        outbox.enqueue(
            session,
            team_id=TEAM,
            key="home:UBEN:Ev1",
            method="views.publish",
            payload={"user_id": "UBEN", outbox.BUILD: "home"},
            now=utc_now(),
        )
    without = make_sender(session_factory, client)
    assert without.step() is False
    assert slack.calls("views.publish") == []
    row = rows(session_factory)["home:UBEN:Ev1"]
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, None)

    state = {"kudos": 1}
    built: list[tuple[str, str]] = []

    def home(team_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        built.append((team_id, payload["user_id"]))
        if len(built) == 1:
            raise RuntimeError("the database is away")
        text = f"{state['kudos']} kudos"
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        return {"user_id": payload["user_id"], "view": {"type": "home", "blocks": blocks}}

    sender = OutboxSender(
        session_factory=session_factory,
        client=client,
        clock=utc_now,
        post_rate=50,
        builders={"home": home},
    )
    sender._pacer = pacing.Pacer(50)
    assert sender.step() is True  # the builder failed: retried, within the bound
    assert rows(session_factory)["home:UBEN:Ev1"].attempts == 1
    state["kudos"] = 2  # what changed meanwhile is what Slack gets
    with unit_of_work(session_factory) as session:
        session.execute(update(OutboxMessage).values(next_attempt_at=None))
    assert sender.drain(timeout=10)
    (call,) = slack.calls("views.publish")
    assert call["user_id"] == "UBEN"
    assert call["view"]["blocks"][0]["text"]["text"] == "2 kudos"
    assert built == [(TEAM, "UBEN"), (TEAM, "UBEN")]
    assert rows(session_factory)["home:UBEN:Ev1"].status == "sent"


# ----- 429: a pause for that method, never a failure -----------------------------------------


def test_429_delays_the_row_spends_no_attempt_and_pauses_only_that_method(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    first = post(session_factory, "m1", "UBEN")
    post(session_factory, "m2", "UCHO")
    with unit_of_work(session_factory) as session:
        outbox.enqueue(
            session,
            team_id=TEAM,
            key="home",
            method="views.publish",
            payload={"user_id": "UANA", "view": {"type": "home", "blocks": []}},
            now=utc_now(),
        )
        # One attempt left: a 429 must not use it up.
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id == first).values(attempts=MAX_ATTEMPTS - 1)
        )
    slack.inject_fault("chat.postMessage", status=429, retry_after=2)
    sender = make_sender(session_factory, client)

    started = utc_now()
    assert sender.step()

    found = rows(session_factory)
    assert found["m1"].status == "pending"
    assert found["m1"].attempts == MAX_ATTEMPTS - 1
    assert found["m1"].last_error == "ratelimited"
    assert found["m1"].next_attempt_at >= started + timedelta(seconds=2)
    assert found["m2"].status == "pending"  # same method: waits out the pause too
    assert found["home"].status == "sent"  # another method went on during the pause
    limited = slack.calls("chat.postMessage")
    assert [c.status for c in limited] == [429]
    assert slack.calls("views.publish")[0].at > limited[0].at

    assert sender.drain(timeout=10)

    found = rows(session_factory)
    assert {k: r.status for k, r in found.items()} == {"m1": "sent", "m2": "sent", "home": "sent"}
    assert found["m1"].attempts == MAX_ATTEMPTS
    assert answered_ok(slack) == {"m1": 1, "m2": 1}
    assert slack.rate_limited_count() == 1  # nothing hammered Slack during the pause
    resumed = min(c.at for c in slack.calls("chat.postMessage") if c.status == 200)
    assert resumed - limited[0].at >= 1.9  # Retry-After: 2 honoured
    assert sender.stats.rate_limited == 1  # the sender saw the 429 (no slack_sdk retry)


@pytest.mark.usefixtures("no_channel_spacing")
def test_a_paused_method_does_not_hold_back_other_methods_queued_behind_it(
    session_factory: Factory,
    slack: SlackEmulator,
    client: WebClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """More paused rows than one claim holds: the views.publish row behind them still goes."""
    monkeypatch.setattr(sender_module, "BATCH", 5)
    for i in range(8):
        post(session_factory, f"fan-{i}", CHANNELS[i % len(CHANNELS)])
    with unit_of_work(session_factory) as session:
        outbox.enqueue(
            session,
            team_id=TEAM,
            key="home",
            method="views.publish",
            payload={"user_id": "UANA", "view": {"type": "home", "blocks": []}},
            now=utc_now(),
        )
    slack.inject_fault("chat.postMessage", status=429, retry_after=2)

    assert make_sender(session_factory, client).drain(timeout=10)

    limited = slack.calls("chat.postMessage")[0]
    assert limited.status == 429
    published = slack.calls("views.publish")
    assert len(published) == 1
    assert published[0].at - limited.at < 1.0  # during the pause, not after it
    assert answered_ok(slack) == {f"fan-{i}": 1 for i in range(8)}


def test_a_long_fan_out_does_not_hold_back_another_method_written_after_it(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    """150 DMs at 5 a second take half a minute; the Home publish behind them does not wait."""
    for i in range(150):
        post(session_factory, f"dm-{i}", "UBEN" if i % 2 else "UCHO")
    sender = make_sender(session_factory, client, post_rate=5)
    thread = threading.Thread(target=sender.run_forever, daemon=True)
    thread.start()
    try:
        slack.wait_for("chat.postMessage", count=3)
        with unit_of_work(session_factory) as session:
            outbox.enqueue(
                session,
                team_id=TEAM,
                key="home",
                method="views.publish",
                payload={"user_id": "UANA", "view": {"type": "home", "blocks": []}},
                now=utc_now(),
            )
        written = time.monotonic()
        published = slack.wait_for("views.publish", timeout=5)[0]
        assert published.at - written < 2.5
        assert len(slack.calls("chat.postMessage")) < 30  # the fan-out is still going
    finally:
        sender.stop()
        thread.join(timeout=10)


def test_an_interactive_post_written_mid_fan_out_takes_the_next_post_slot(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    """60 bulk DMs at 5 a second, claimed a batch at a time; a kudos DM written after the
    third waits for the rest of the sender's round (ROUND_SECONDS) and one post slot, never
    for the batch claimed before it."""
    members = [f"UF{i:02d}" for i in range(60)]
    for user_id in members:
        slack.add_user(user_id, tz="UTC")
        post(session_factory, f"checkin:{user_id}:prompt", user_id, bulk=True)
    sender = make_sender(session_factory, client, post_rate=5)
    thread = threading.Thread(target=sender.run_forever, daemon=True)
    thread.start()
    try:
        slack.wait_for("chat.postMessage", count=3)
        post(session_factory, "kudos:1:dm:UANA", "UANA")
        written = time.monotonic()
        (dm,) = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UANA")
        bound = sender_module.ROUND_SECONDS + 1 / 5
        assert dm.at - written < bound + 0.5, dm.at - written
        assert len(slack.calls("chat.postMessage")) < 20  # the fan-out is still going
    finally:
        sender.stop()
        thread.join(timeout=10)


@pytest.mark.usefixtures("no_channel_spacing")
def test_bulk_rows_keep_a_share_of_the_method_through_a_flood_of_interactive_ones(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    """Interactive rows first, but never more than INTERACTIVE_RUN in a row while a bulk row
    of the same method waits: a fan-out slows down under people's actions, never stops."""
    run = sender_module.INTERACTIVE_RUN
    for i in range(3):
        post(session_factory, f"bulk-{i}", "UCHO", bulk=True)
    for i in range(4 * run):
        post(session_factory, f"kudos-{i}", "UBEN")

    assert make_sender(session_factory, client, post_rate=100).drain(timeout=10)

    order = ["B" if key_of(c).startswith("bulk") else "I" for c in slack.calls("chat.postMessage")]
    turn = "I" * run + "B"
    assert "".join(order) == turn * 3 + "I" * run, order


# ----- 5xx and internal_error: backoff, a bound, a logged failure ----------------------------


@pytest.mark.usefixtures("no_channel_spacing")
def test_server_errors_are_retried_with_growing_backoff_then_sent(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    clock = FakeClock()
    slack.inject_fault("chat.postMessage", status=200, error="internal_error")
    slack.inject_fault("chat.postMessage", status=500, error="internal_error")
    slack.inject_fault("chat.postMessage", status=503)  # a load balancer's HTML page
    post(session_factory, "dm", "UBEN", now=clock())
    sender = make_sender(session_factory, client, clock=clock)

    delays = []
    for attempt in range(1, 4):
        assert sender.step()
        row = rows(session_factory)["dm"]
        assert (row.status, row.attempts) == ("pending", attempt)
        delay = (row.next_attempt_at - clock()).total_seconds()
        delays.append(delay)
        assert sender.step() is False  # not before its backoff has passed
        assert len(slack.calls("chat.postMessage")) == attempt
        clock.advance(delay)
    assert 0.5 <= delays[0] <= 1 and 1 <= delays[1] <= 2 and 2 <= delays[2] <= 4

    assert sender.step()
    row = rows(session_factory)["dm"]
    assert (row.status, row.attempts, row.last_error) == ("sent", 4, None)
    assert [c.status for c in slack.calls("chat.postMessage")] == [200, 500, 503, 200]
    assert answered_ok(slack) == {"dm": 1}
    assert len(slack.messages("UBEN")) == 1


@pytest.mark.usefixtures("no_channel_spacing")
def test_persistent_server_errors_fail_the_row_after_the_bound_and_log_it(
    session_factory: Factory,
    slack: SlackEmulator,
    client: WebClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    slack.inject_fault(
        "chat.postMessage", status=503, error="service_unavailable", times=MAX_ATTEMPTS + 5
    )
    post(session_factory, "doomed", "UBEN", now=clock())
    sender = make_sender(session_factory, client, clock=clock)

    for _ in range(MAX_ATTEMPTS + 3):
        sender.step()
        clock.advance(MAX_BACKOFF + 1)

    row = rows(session_factory)["doomed"]
    assert (row.status, row.attempts, row.last_error) == (
        "failed",
        MAX_ATTEMPTS,
        "service_unavailable",
    )
    assert len(slack.calls("chat.postMessage")) == MAX_ATTEMPTS  # none after the bound
    assert sender.stats.failed == 1
    failures = [line for line in error_lines(caplog) if "doomed" in line]
    assert len(failures) == 1 and "failed for good" in failures[0]


def test_channel_not_found_fails_that_row_and_the_rest_of_the_batch_goes_out(
    session_factory: Factory,
    slack: SlackEmulator,
    client: WebClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    post(session_factory, "before", "UBEN")
    post(session_factory, "nowhere", "C0NOSUCH")
    post(session_factory, "after", "UCHO")

    assert make_sender(session_factory, client).drain(timeout=10)

    found = rows(session_factory)
    assert (found["nowhere"].status, found["nowhere"].last_error) == ("failed", "channel_not_found")
    assert found["nowhere"].attempts == 1  # a final error is not retried
    assert found["before"].status == found["after"].status == "sent"
    assert answered_ok(slack) == {"before": 1, "after": 1}
    assert len(slack.calls("chat.postMessage")) == 3
    assert any("nowhere" in line and "channel_not_found" in line for line in error_lines(caplog))


# ----- dependencies: a reply needs its parent's channel and ts ---------------------------------


def test_dependent_rows_wait_for_their_parent_and_get_its_channel_and_ts(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    now = utc_now()
    with unit_of_work(session_factory) as session:

        def post_in(key: str, channel: str, text: str, **extra: Any) -> int:
            return outbox.post_message(
                session,
                team_id=TEAM,
                key=key,
                channel=channel,
                text=text,
                blocks=None,
                now=now,
                **extra,
            )

        header = post_in("header", "UBEN", "Your check-in")
        post_in("reply", "UBEN", "in the thread", depends_on=header, thread_under_parent=True)
        prompt = post_in("prompt", "UCHO", "How was your week?")
        outbox.enqueue(
            session,
            team_id=TEAM,
            key="closed",
            method="chat.update",
            payload={"channel": PARENT_CHANNEL, "ts": PARENT_TS, "text": "This check-in closed"},
            now=now,
            depends_on=prompt,
        )
    # The header's first try fails: its reply must still wait for it.
    slack.inject_fault("chat.postMessage", status=503)

    assert make_sender(session_factory, client).drain(timeout=10)

    found = rows(session_factory)
    assert {r.status for r in found.values()} == {"sent"}
    posts = [c for c in slack.calls("chat.postMessage") if c.status == 200]
    by_key = {key_of(c): c for c in posts}
    assert posts.index(by_key["header"]) < posts.index(by_key["reply"])
    assert by_key["reply"]["channel"] == "DUBEN"
    assert by_key["reply"]["thread_ts"] == found["header"].result_ts
    thread = slack.messages("UBEN")
    assert [m["text"] for m in thread] == ["Your check-in", "in the thread"]
    assert thread[1]["thread_ts"] == thread[0]["ts"]

    edit = slack.calls("chat.update")
    assert len(edit) == 1 and edit[0].status == 200
    assert (edit[0]["channel"], edit[0]["ts"]) == ("DUCHO", found["prompt"].result_ts)
    assert edit[0].at > by_key["prompt"].at
    assert [m["text"] for m in slack.messages("UCHO")] == ["This check-in closed"]
    assert found["closed"].result_channel == "DUCHO"


def test_children_of_a_parent_that_failed_for_good_fail_too(
    session_factory: Factory,
    slack: SlackEmulator,
    client: WebClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    header = post(session_factory, "header", "C0NOSUCH")
    reply = post(session_factory, "reply", "x", depends_on=header, thread_under_parent=True)
    post(session_factory, "reply-to-reply", "x", depends_on=reply, thread_under_parent=True)
    post(session_factory, "unrelated", "UBEN")

    assert make_sender(session_factory, client).drain(timeout=10)

    found = rows(session_factory)
    assert (found["header"].status, found["header"].last_error) == ("failed", "channel_not_found")
    for key in ("reply", "reply-to-reply"):
        assert (found[key].status, found[key].last_error) == ("failed", "parent_failed")
    assert found["unrelated"].status == "sent"
    assert [key_of(c) for c in slack.calls("chat.postMessage")] == ["header", "unrelated"]
    assert any("reply to failed" in line for line in error_lines(caplog))


# ----- one sender per workspace: the lease ------------------------------------------------------


@pytest.mark.usefixtures("no_channel_spacing")
def test_two_senders_draining_one_database_send_every_row_exactly_once(
    database_url: str, session_factory: Factory, slack: SlackEmulator
) -> None:
    keys = []
    for i in range(40):
        team = ("T0TEAM", "T1TEAM")[i % 2]  # two workspaces: a lease each
        channel = CHANNELS[i % len(CHANNELS)]
        keys.append(f"row-{i}")
        post(session_factory, keys[-1], channel, team_id=team)
    senders = [
        make_sender(
            session_factory,
            client_for(database_url, slack.url, slack.bot_token),
            post_rate=200,
            holder=f"replica-{n}",
        )
        for n in range(2)
    ]
    start = threading.Barrier(len(senders))
    results: dict[str, bool | BaseException] = {}

    def run(sender: OutboxSender) -> None:
        start.wait()
        try:
            results[sender.holder] = sender.drain(timeout=20)
        except BaseException as error:  # surfaced by the assertion below
            results[sender.holder] = error

    threads = [threading.Thread(target=run, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert results == {"replica-0": True, "replica-1": True}
    assert answered_ok(slack) == dict.fromkeys(keys, 1)
    assert len(slack.calls("chat.postMessage")) == len(keys)
    assert {r.status for r in rows(session_factory).values()} == {"sent"}


def test_a_sender_whose_lease_expired_is_replaced(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    clock = FakeClock()
    first = make_sender(session_factory, client, clock=clock, holder="first")
    second = make_sender(session_factory, client, clock=clock, holder="second")

    post(session_factory, "k1", "UBEN", now=clock())
    assert first.step()  # "first" now holds the lease for LEASE_TTL
    post(session_factory, "k2", "UCHO", now=clock())
    assert second.step() is False  # held by a live sender: hands off
    assert rows(session_factory)["k2"].status == "pending"

    clock.advance(LEASE_TTL.total_seconds() + 1)  # "first" died without renewing
    assert second.step()
    assert rows(session_factory)["k2"].status == "sent"
    with unit_of_work(session_factory) as session:
        assert session.scalars(select(SenderLease.holder)).all() == ["second"]

    post(session_factory, "k3", "UANA", now=clock())
    assert first.step() is False  # back from the dead: the new holder keeps sending
    assert second.step()
    assert answered_ok(slack) == {"k1": 1, "k2": 1, "k3": 1}


def test_a_clean_stop_hands_the_lease_over_at_once(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    clock = FakeClock()
    first = make_sender(session_factory, client, clock=clock, holder="first")
    second = make_sender(session_factory, client, clock=clock, holder="second")
    post(session_factory, "k1", "UBEN", now=clock())
    assert first.drain(timeout=5)  # releases the lease when done
    post(session_factory, "k2", "UCHO", now=clock())
    assert second.step()  # no LEASE_TTL wait
    assert answered_ok(slack) == {"k1": 1, "k2": 1}


# ----- pacing ----------------------------------------------------------------------------------


def test_a_fan_out_runs_at_post_rate_without_drawing_429s(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    # Slack's limit here is exactly the configured rate, with a small burst allowance.
    slack.set_rate_limit("chat.postMessage", per_minute=1200, burst=3)
    for i in range(40):
        slack.add_channel(f"C0FAN{i:02d}", f"fan-{i}")
        post(session_factory, f"fan-{i}", f"C0FAN{i:02d}")

    assert make_sender(session_factory, client, post_rate=20).drain(timeout=15)

    calls = slack.calls("chat.postMessage")
    assert slack.rate_limited_count() == 0
    assert len(calls) == 40 and all(c.status == 200 for c in calls)
    span = calls[-1].at - calls[0].at
    assert 1.85 <= span < 3.5, span  # 39 intervals of 1/20 s: evenly paced, not slower


def test_posts_to_one_channel_are_about_a_second_apart(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    slack.set_channel_rate_limit(per_second=1.0, burst=2)
    for i in range(3):
        post(session_factory, f"feed-{i}", KUDOS_CHANNEL)
    post(session_factory, "elsewhere", "UBEN")

    assert make_sender(session_factory, client, post_rate=100).drain(timeout=10)

    calls = slack.calls("chat.postMessage")
    feed = [c for c in calls if c["channel"] == KUDOS_CHANNEL]
    assert slack.rate_limited_count() == 0
    assert [key_of(c) for c in feed] == ["feed-0", "feed-1", "feed-2"]
    gaps = [b.at - a.at for a, b in itertools.pairwise(feed)]
    assert all(gap >= 0.9 for gap in gaps), gaps  # about one a second (Call.at: arrival)
    other = next(c for c in calls if c["channel"] == "UBEN")
    assert other.at - feed[0].at < 0.5  # another channel does not wait its turn


# ----- connection errors ------------------------------------------------------------------------


@pytest.mark.usefixtures("no_channel_spacing")
def test_a_connection_error_is_retried_not_failed(
    database_url: str, session_factory: Factory, slack: SlackEmulator
) -> None:
    clock = FakeClock()
    closed = f"http://127.0.0.1:{free_port()}/api/"
    client = client_for(database_url, closed, slack.bot_token)
    post(session_factory, "dm", "UBEN", now=clock())
    sender = make_sender(session_factory, client, clock=clock)

    assert sender.step()
    row = rows(session_factory)["dm"]
    assert (row.status, row.attempts) == ("pending", 1)
    assert (row.last_error or "").startswith("connection")

    client.base_url = slack.url  # Slack is back
    clock.advance(60)
    assert sender.step()
    assert rows(session_factory)["dm"].status == "sent"
    assert answered_ok(slack) == {"dm": 1}


class CutOffAnswers:
    """A server that reads each request, then hangs up halfway through its answer."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/api/"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            with connection:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65536)
                head, _, body = request.partition(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: *(\d+)", head)[1])  # type: ignore[index]
                while len(body) < length:
                    body += connection.recv(65536)
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b'Content-Length: 100\r\n\r\n{"ok":'
                )
                connection.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._socket.close()


@pytest.mark.usefixtures("no_channel_spacing")
def test_an_answer_cut_off_mid_body_is_retried_not_fatal(
    database_url: str, session_factory: Factory, slack: SlackEmulator
) -> None:
    clock = FakeClock()
    cut_off = CutOffAnswers()
    client = client_for(database_url, cut_off.url, slack.bot_token)
    post(session_factory, "dm", "UBEN", now=clock())
    post(session_factory, "next", "UCHO", now=clock())
    sender = make_sender(session_factory, client, clock=clock)

    try:
        assert sender.step()  # must not raise: the rest of the batch is attempted too
    finally:
        cut_off.close()
    found = rows(session_factory)
    assert {k: (r.status, r.attempts) for k, r in found.items()} == {
        "dm": ("pending", 1),
        "next": ("pending", 1),
    }
    assert (found["dm"].last_error or "").startswith("connection")

    client.base_url = slack.url
    clock.advance(60)
    assert sender.drain(timeout=5)
    assert answered_ok(slack) == {"dm": 1, "next": 1}


# ----- the lease: held only with work to do, kept through a long call ------------------------


def test_a_sender_with_nothing_to_send_now_holds_no_lease(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    idle = make_sender(session_factory, client, holder="idle")
    later = utc_now() + timedelta(hours=1)
    with unit_of_work(session_factory) as session:  # deliberately delayed: not sendable now
        outbox.enqueue(
            session,
            team_id=TEAM,
            key="later",
            method="chat.postMessage",
            payload={"channel": "UBEN", "text": "later"},
            now=utc_now(),
            not_before=later,
        )
    assert idle.step() is False
    with unit_of_work(session_factory) as session:
        assert session.scalars(select(SenderLease.holder)).all() == []

    post(session_factory, "now", "UCHO")
    busy = make_sender(session_factory, client, holder="busy")
    assert busy.step()
    assert idle.step() is False  # busy holds it while it has rows
    assert busy.step() is False  # nothing more to send now: lets go at once
    post(session_factory, "next", "UANA")
    assert idle.step()  # no TTL wait
    assert answered_ok(slack) == {"now": 1, "next": 1}


def test_a_sender_whose_call_outlasts_the_lease_ttl_keeps_the_lease(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    def sender(holder: str) -> OutboxSender:
        return OutboxSender(
            session_factory=session_factory,
            client=client,
            clock=utc_now,
            post_rate=100,
            holder=holder,
            lease_ttl=timedelta(seconds=1),
            lease_heartbeat=0.2,
        )

    slow, other = sender("slow"), sender("other")
    slack.inject_fault("chat.postMessage", delay=3.0)  # three TTLs
    post(session_factory, "k1", "UBEN")
    thread = slow.start_thread()
    try:
        slack.wait_for("chat.postMessage", timeout=5)
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:  # the whole slow call: never the other's turn
            assert other.step() is False
            time.sleep(0.1)
        wait_until_sent = time.monotonic() + 5
        while rows(session_factory)["k1"].status != "sent" and time.monotonic() < wait_until_sent:
            time.sleep(0.05)
    finally:
        slow.stop()
        thread.join(timeout=5)
    assert rows(session_factory)["k1"].status == "sent"
    assert len(slack.calls("chat.postMessage")) == 1
    assert answered_ok(slack) == {"k1": 1}


def test_the_same_sender_failure_is_logged_once_a_minute(
    tmp_path: Any, client: WebClient, caplog: pytest.LogCaptureFixture
) -> None:
    from storage.engine import make_engine, make_session_factory

    engine = make_engine(f"sqlite:///{tmp_path / 'never-upgraded.db'}", pool_size=1)
    sender = make_sender(make_session_factory(engine), client)
    thread = threading.Thread(target=sender.run_forever, kwargs={"idle_wait": 0.02})
    with caplog.at_level(logging.ERROR, logger="bot.delivery.sender"):
        thread.start()
        time.sleep(0.5)  # some 25 failing steps
        sender.stop()
        thread.join(timeout=5)
    engine.dispose()
    failures = [r for r in caplog.records if "sender step failed" in r.getMessage()]
    assert len(failures) == 1, [r.getMessage() for r in failures]
    assert "no such table: outbox" in failures[0].getMessage()


# ----- a post whose answer was lost is looked for before it is posted again ------------------


@pytest.mark.parametrize("lost", ["after", "hold"])
def test_a_post_stored_but_unanswered_is_found_not_posted_twice(
    session_factory: Factory, slack: SlackEmulator, database_url: str, lost: str
) -> None:
    settings = server_settings(database_url, slack.url, slack.bot_token)
    impatient = make_web_client(settings, timeout=1)
    if lost == "after":
        slack.inject_fault("chat.postMessage", lost_answer="after")
    else:
        slack.inject_fault("chat.postMessage", hold=2.0)
    header = post(session_factory, "header", "C0GENERAL")
    post(session_factory, "reply", "x", depends_on=header, thread_under_parent=True)
    post(session_factory, "dm", "UBEN")
    sender = make_sender(session_factory, impatient)
    assert sender.drain(timeout=20)

    stored = slack.delivered_keys("C0GENERAL", "UBEN")
    assert stored == {"header": 1, "reply": 1, "dm": 1}  # once each in Slack
    assert {r.status for r in rows(session_factory).values()} == {"sent"}
    assert rows(session_factory)["header"].result_ts == slack.messages("C0GENERAL")[0]["ts"]
    assert len(slack.calls("conversations.history")) == 1


def test_a_lost_dm_is_looked_for_in_the_dm_found_by_conversations_open(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    slack.inject_fault("chat.postMessage", lost_answer="after")
    post(session_factory, "dm", "UBEN")
    assert make_sender(session_factory, client).drain(timeout=20)
    assert slack.delivered_keys("UBEN") == {"dm": 1}
    assert [c["users"] for c in slack.calls("conversations.open")] == ["UBEN"]
    # The D id is kept: the next lost DM to UBEN needs no conversations.open.
    slack.inject_fault("chat.postMessage", lost_answer="after")
    post(session_factory, "dm2", "UBEN")
    assert make_sender(session_factory, client).drain(timeout=20)
    assert slack.delivered_keys("UBEN") == {"dm": 1, "dm2": 1}
    assert len(slack.calls("conversations.open")) == 1


def test_a_call_dropped_before_slack_ran_it_is_posted_after_looking(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    slack.inject_fault("chat.postMessage", lost_answer="before")
    post(session_factory, "k1", "C0GENERAL")
    assert make_sender(session_factory, client).drain(timeout=20)
    assert slack.delivered_keys("C0GENERAL") == {"k1": 1}
    assert len(slack.calls("conversations.history")) == 1


def test_without_history_scope_a_lost_post_is_sent_again_and_counted(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    from bot.metrics import OUTBOX_RECONCILED

    before = OUTBOX_RECONCILED.labels("unverified")._value.get()
    slack.set_scopes("chat:write,chat:write.public,users:read")
    slack.inject_fault("chat.postMessage", lost_answer="after")
    post(session_factory, "k1", "C0GENERAL")
    assert make_sender(session_factory, client).drain(timeout=20)
    assert slack.delivered_keys("C0GENERAL") == {"k1": 2}  # the honest limit, counted
    assert OUTBOX_RECONCILED.labels("unverified")._value.get() == before + 1
