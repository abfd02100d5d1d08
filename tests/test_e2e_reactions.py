"""Kudos by reaction end to end: signed `reaction_added` / `reaction_removed` events to the real
server, the Slack emulator, the database; the clock injected where the minute matters."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.clock import utc_now
from bot.demo.emulator import SlackEmulator
from storage.models import Kudos, KudosBudget, OutboxMessage
from tests.server import (
    KUDOS_CHANNEL,
    SIGNING_SECRET,
    RunningServer,
    ServerProcess,
    running_server,
    server_settings,
    start_process,
)
from tests.slack_requests import SlackRequests
from tests.waiting import wait_until

REACTIONS = "kudos,tada=teamwork,+1=craft"
JSONDict = dict[str, Any]


@pytest.fixture
def server(database_url: str, slack: SlackEmulator) -> Iterator[RunningServer]:
    settings = server_settings(
        database_url, slack.url, slack.bot_token, PULSEBOT_KUDOS_REACTIONS=REACTIONS
    )
    with running_server(settings) as running:
        yield running


class Clock:
    """The server's clock, moved by the test: real time plus an offset."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self.offset


@pytest.fixture
def clock(server: RunningServer) -> Clock:
    injected = Clock()
    server.deps.clock = injected
    return injected


def live_kudos(server: RunningServer) -> list[Kudos]:
    """Kudos that stand (not taken back), oldest first."""
    with server.deps.unit_of_work() as session:
        found = session.scalars(
            select(Kudos).where(Kudos.source != "withdrawn").order_by(Kudos.id)
        ).all()
        for kudos in found:
            _ = (kudos.recipients, kudos.values)
        return list(found)


def budget_spent(server: RunningServer, giver: str) -> int:
    with server.deps.unit_of_work() as session:
        return sum(
            session.scalars(select(KudosBudget.spent).where(KudosBudget.giver_id == giver)).all()
        )


def dms_to(slack: SlackEmulator, user_id: str) -> list[Any]:
    return [c for c in slack.calls("chat.postMessage") if c["channel"] == user_id]


def settled(server: RunningServer) -> bool:
    """Nothing left to send or wait for in the outbox."""
    with server.deps.unit_of_work() as session:
        statuses = session.scalars(select(OutboxMessage.status)).all()
    return all(s in ("sent", "cancelled") for s in statuses)


def quiet(server: RunningServer, slack: SlackEmulator, seconds: float = 0.4) -> None:
    """Wait until the outbox settled and the follow-up of every reaction (a getPermalink) ran."""
    wait_until(lambda: settled(server), what="outbox settled")
    time.sleep(seconds)
    wait_until(lambda: settled(server), what="outbox settled")


def remaining_today(signed: SlackRequests, user_id: str) -> int:
    text = json.dumps(signed.command("/kudos", "stats", user_id=user_id).json())
    marker = "Left today: *"
    return int(text[text.index(marker) + len(marker) :].split("*", 1)[0])


# ----- giving ------------------------------------------------------------------------------


def test_a_kudos_reaction_gives_its_author_a_kudos_quoting_the_message(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    message = slack.add_message("C0GENERAL", "UBEN", "Fixed the flaky deploy <!channel>")
    answer = signed.reaction("UANA", "kudos", message)
    assert answer.status_code == 200

    dm = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UBEN")[0]
    link = f"https://example.slack.com/archives/C0GENERAL/p{message['ts'].replace('.', '')}"
    assert dm["text"].startswith(":tada: <@UANA> gave you kudos")
    assert "Reacted :kudos: to a message in <#C0GENERAL>" in dm["text"]
    assert f"<{link}|for this message>" in json.dumps(dm["blocks"])
    feed = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == KUDOS_CHANNEL)
    assert "<@UANA> gave kudos to <@UBEN>" in feed[0]["text"]
    assert link in json.dumps(feed[0]["blocks"])
    # The text is never fetched (no history scope): the link quotes it.
    assert slack.calls("conversations.history") == slack.calls("conversations.replies") == []

    (kudos,) = live_kudos(server)
    assert (kudos.giver_id, kudos.source, kudos.quote_url) == ("UANA", "reaction", link)
    assert [r.recipient_id for r in kudos.recipients] == ["UBEN"]
    assert kudos.values == []
    assert remaining_today(signed, "UANA") == 4
    quiet(server, slack)
    assert slack.calls("chat.postEphemeral") == []


def test_a_reaction_named_with_a_value_tags_it_and_skin_tones_are_the_same_reaction(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    first = slack.add_message("C0GENERAL", "UBEN", "Wrote the runbook")
    second = slack.add_message("C0GENERAL", "UCHO", "Paired on the outage")
    signed.reaction("UANA", "tada", first)
    signed.reaction("UANA", "+1::skin-tone-3", second)
    signed.reaction("UANA", "+1::skin-tone-5", second)  # the same reaction: nothing more
    signed.reaction("UANA", "thumbsdown", second)  # not a kudos reaction

    slack.wait_for("chat.postMessage", count=2, predicate=lambda c: c["channel"] != KUDOS_CHANNEL)
    quiet(server, slack)
    given = {k.recipients[0].recipient_id: [v.value for v in k.values] for k in live_kudos(server)}
    assert given == {"UBEN": ["teamwork"], "UCHO": ["craft"]}
    dm = dms_to(slack, "UCHO")
    assert len(dm) == 1 and "`#craft`" in json.dumps(dm[0]["blocks"])
    assert "Reacted :+1: to a message" in dm[0]["text"]


def test_the_ack_does_not_wait_for_slack(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    """The link is asked for after the ack: a slow chat.getPermalink delays the DM, not it."""
    message = slack.add_message("C0GENERAL", "UBEN", "Reviewed everything")
    signed.command("/kudos", "stats", user_id="UANA")  # both people in the directory
    signed.command("/kudos", "stats", user_id="UBEN")
    slack.inject_fault("chat.getPermalink", delay=1.5)
    started = time.monotonic()
    assert signed.reaction("UANA", "kudos", message).status_code == 200
    assert time.monotonic() - started < 1.0
    assert len(live_kudos(server)) == 1  # committed before the ack
    dm = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UBEN")[0]
    assert "archives/C0GENERAL" in json.dumps(dm["blocks"])


def test_the_posts_go_without_the_link_when_slack_will_not_give_one(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    slack.inject_fault("chat.getPermalink", status=500, error="internal_error")
    message = slack.add_message("C0GENERAL", "UBEN", "Shipped it")
    signed.reaction("UANA", "kudos", message)
    dm = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UBEN")[0]
    assert "for this message" not in json.dumps(dm["blocks"])
    assert len(live_kudos(server)) == 1


# ----- ignored and refused -------------------------------------------------------------------


def test_reactions_that_are_ignored_give_nothing_and_say_nothing(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    slack.add_channel("C0SECRET", "secret", is_private=True, bot_is_member=False)
    by_ben = slack.add_message("C0GENERAL", "UBEN", "A message by Ben")
    cases: dict[str, Callable[[], Any]] = {
        "a bot reacts": lambda: signed.reaction("UROBOT", "kudos", by_ben),
        "the app itself reacts": lambda: signed.reaction("UBOT", "kudos", by_ben),
        "on a bot's message": lambda: signed.reaction(
            "UANA", "kudos", slack.add_message("C0GENERAL", "UROBOT", "build passed")
        ),
        "on the app's message": lambda: signed.reaction(
            "UANA", "kudos", slack.add_message("C0GENERAL", "UBOT", "a pulsebot post")
        ),
        "on a message without a user": lambda: signed.reaction(
            "UANA", "kudos", {"ts": by_ben["ts"][:-1] + "9"}
        ),
        "on your own message": lambda: signed.reaction(
            "UANA", "kudos", slack.add_message("C0GENERAL", "UANA", "I did it")
        ),
        "in a channel the bot cannot read": lambda: signed.reaction(
            "UANA",
            "kudos",
            slack.add_message("C0SECRET", "UBEN", "secret work"),
            channel_id="C0SECRET",
        ),
        "on a deleted user's message": lambda: signed.reaction(
            "UANA", "kudos", {"ts": by_ben["ts"][:-1] + "8", "user": "UNOSUCH"}
        ),
        "not a kudos reaction": lambda: signed.reaction("UANA", "eyes", by_ben),
        "on a file": lambda: signed.event(
            {
                "type": "reaction_added",
                "user": "UANA",
                "reaction": "kudos",
                "item_user": "UBEN",
                "item": {"type": "file", "file": "F0001"},
                "event_ts": "1.2",
            }
        ),
    }
    for case, react in cases.items():
        assert react().status_code == 200, case
    slack.wait_for("chat.getPermalink")  # the unreadable channel's kudos was checked...
    quiet(server, slack)
    assert live_kudos(server) == []  # ...and taken back before anything went out
    assert budget_spent(server, "UANA") == 0
    assert slack.calls("chat.postMessage") == []
    assert slack.calls("chat.postEphemeral") == []
    assert slack.calls("chat.update") == []


def test_a_refused_reaction_tells_the_giver_once_an_hour_per_rule(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, clock: Clock
) -> None:
    gone = [slack.add_message("C0GENERAL", "UGONE", f"old message {i}") for i in range(2)]
    external = slack.add_message("C0GENERAL", "UEXT", "from a partner")
    for message in gone:
        signed.reaction("UANA", "kudos", message)
    signed.reaction("UANA", "kudos", external)
    notes = slack.wait_for("chat.postEphemeral", count=2)
    by_rule = {("deactivated" in n["text"], "another organisation" in n["text"]) for n in notes}
    assert by_rule == {(True, False), (False, True)}
    assert all(n["user"] == "UANA" and n["channel"] == "C0GENERAL" for n in notes)
    assert "Your :kudos: on <@UGONE>'s message gave no kudos." in json.dumps(notes)

    clock.offset = timedelta(hours=1)  # the next hour: told again
    signed.reaction("UANA", "tada", gone[0])
    slack.wait_for("chat.postEphemeral", count=3)
    quiet(server, slack)
    assert len(slack.calls("chat.postEphemeral")) == 3
    assert live_kudos(server) == [] and budget_spent(server, "UANA") == 0
    assert slack.calls("chat.postMessage") == []


def test_reactions_and_kudos_commands_spend_one_budget(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    sent = signed.command("/kudos", "<@UBEN> <@UCHO> <@UDEV> great launch", user_id="UANA")
    assert "2 of 5 kudos left" in sent.json()["text"]
    messages = [slack.add_message("C0GENERAL", "UBEN", f"launch note {i}") for i in range(4)]
    for message in messages:
        assert signed.reaction("UANA", "kudos", message).status_code == 200
    note = slack.wait_for("chat.postEphemeral")[0]
    assert "You've used all 5 kudos for today" in note["text"]
    refused = signed.command("/kudos", "<@UCHO> one more", user_id="UANA").json()
    assert "You've used all 5 kudos for today" in refused["text"]
    quiet(server, slack)
    assert len(live_kudos(server)) == 3  # the command's, and two reactions'
    assert budget_spent(server, "UANA") == 5
    assert len(slack.calls("chat.postEphemeral")) == 1  # the fourth reaction: no second note
    assert len(dms_to(slack, "UBEN")) == 3


# ----- taking it back ----------------------------------------------------------------------


def test_removed_within_a_minute_the_kudos_is_taken_back_and_its_dm_updated(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, clock: Clock
) -> None:
    message = slack.add_message("C0GENERAL", "UBEN", "Answered every ticket")
    signed.reaction("UANA", "tada", message)
    dm = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UBEN")[0]
    slack.wait_for("chat.postMessage", count=2)
    assert remaining_today(signed, "UANA") == 4

    clock.offset = timedelta(seconds=59)
    assert signed.reaction("UANA", "tada", message, added=False).status_code == 200
    updates = slack.wait_for("chat.update", count=2)
    assert {u["channel"] for u in updates} == {"DUBEN", KUDOS_CHANNEL}
    assert all("<@UANA> took back this kudos." in u["text"] for u in updates)
    shown = slack.messages("UBEN")
    assert [m["ts"] for m in shown] == [next(u["ts"] for u in updates if u["channel"] == "DUBEN")]
    assert "took back" in shown[0]["text"] and dm["text"] not in shown[0]["text"]
    assert live_kudos(server) == []
    assert remaining_today(signed, "UANA") == 5
    quiet(server, slack)
    assert len(slack.calls("chat.update")) == 2


def test_removed_after_a_minute_the_kudos_stays(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, clock: Clock
) -> None:
    message = slack.add_message("C0GENERAL", "UBEN", "Mentored the new hire")
    signed.reaction("UANA", "kudos", message)
    slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UBEN")
    clock.offset = timedelta(seconds=61)
    signed.reaction("UANA", "kudos", message, added=False)
    quiet(server, slack)
    assert len(live_kudos(server)) == 1
    assert slack.calls("chat.update") == []
    assert remaining_today(signed, "UANA") == 4


def test_added_removed_and_added_again_is_still_one_kudos(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, clock: Clock
) -> None:
    # Removed late: the kudos stayed, and adding it again gives no second one.
    kept = slack.add_message("C0GENERAL", "UBEN", "Kept the lights on")
    signed.reaction("UANA", "kudos", kept)
    slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UBEN")
    clock.offset = timedelta(minutes=2)
    signed.reaction("UANA", "kudos", kept, added=False)
    signed.reaction("UANA", "kudos", kept)
    quiet(server, slack)
    assert len(live_kudos(server)) == 1 and len(dms_to(slack, "UBEN")) == 1

    # Removed at once: taken back; added again, given again. One kudos stands either way.
    undone = slack.add_message("C0GENERAL", "UCHO", "Found the root cause")
    signed.reaction("UANA", "kudos", undone)
    slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UCHO")
    signed.reaction("UANA", "kudos", undone, added=False)
    slack.wait_for("chat.update", predicate=lambda c: c["channel"] == "DUCHO")
    signed.reaction("UANA", "kudos", undone)
    slack.wait_for("chat.postMessage", count=2, predicate=lambda c: c["channel"] == "UCHO")
    quiet(server, slack)
    standing = [k for k in live_kudos(server) if k.recipients[0].recipient_id == "UCHO"]
    assert len(standing) == 1
    assert budget_spent(server, "UANA") == 2
    # The first DM says it was taken back; the second stands.
    texts = [m["text"] for m in slack.messages("UCHO")]
    assert len(texts) == 2 and "took back" in texts[0] and "gave you kudos" in texts[1]


def test_a_retried_event_changes_nothing(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, clock: Clock
) -> None:
    message = slack.add_message("C0GENERAL", "UBEN", "Wrote the migration")
    for retry in (None, 1, 2):
        answer = signed.payloads.reaction(
            added=True,
            user_id="UANA",
            name="kudos",
            channel_id="C0GENERAL",
            message_ts=message["ts"],
            item_user="UBEN",
            event_id="Ev0REACTED",
        )
        assert answer.status_code == 200, retry
    quiet(server, slack)
    assert len(live_kudos(server)) == 1 and len(dms_to(slack, "UBEN")) == 1
    assert budget_spent(server, "UANA") == 1

    for _ in range(2):  # the removal sent twice: taken back once
        signed.reaction("UANA", "kudos", message, added=False, event_id="Ev0REMOVED")
    quiet(server, slack)
    assert live_kudos(server) == [] and budget_spent(server, "UANA") == 0
    assert len(slack.calls("chat.update")) == 2  # the DM and the feed post, once each
    # A removal Slack retries after the reaction was given again changes nothing either.
    signed.reaction("UANA", "kudos", message)
    slack.wait_for("chat.postMessage", count=2, predicate=lambda c: c["channel"] == "UBEN")
    signed.reaction("UANA", "kudos", message, added=False, event_id="Ev0REMOVED")
    quiet(server, slack)
    assert len(live_kudos(server)) == 1 and budget_spent(server, "UANA") == 1


def test_twenty_people_react_at_once_twenty_kudos_none_twice(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    people = [f"UFAN{i:02d}" for i in range(20)]
    for person in people:
        slack.add_user(person, tz="Europe/Paris")
    message = slack.add_message("C0GENERAL", "UBEN", "Gave the all-hands talk")
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda p: signed.reaction(p, "kudos", message), people))
    assert [a.status_code for a in answers] == [200] * 20
    given = live_kudos(server)  # committed before each ack
    assert sorted(k.giver_id for k in given) == people
    assert all([r.recipient_id for r in k.recipients] == ["UBEN"] for k in given)
    slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UBEN")

    def released() -> list[OutboxMessage]:
        with server.deps.unit_of_work() as session:
            rows = session.scalars(
                select(OutboxMessage).where(OutboxMessage.idempotency_key.like("%:dm:UBEN"))
            ).all()
        return [r for r in rows if r.next_attempt_at is None]

    # One DM per kudos, each let go with its link; the sender then paces them at Slack's
    # one message a second per conversation.
    wait_until(lambda: len(released()) == 20, what="twenty DMs released")
    assert sorted(r.idempotency_key for r in released()) == sorted(
        f"kudos:{k.id}:dm:UBEN" for k in given
    )
    assert all("archives/C0GENERAL" in json.dumps(r.payload) for r in released())
    assert set(slack.posted_keys().values()) == {1}  # what went out so far, went once


def test_an_acked_reaction_kudos_survives_a_kill_9_with_its_posts_held(
    tmp_path: Path,
    database_url: str,
    db: Engine,
    slack: SlackEmulator,
    processes: list[ServerProcess],
) -> None:
    """Killed the instant after the ack, before the work after it: the kudos and its posts
    are stored, the posts held for HOLD, to go (without the link) when it ends."""
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        "DATABASE_URL": database_url,
        "PULSEBOT_KUDOS_CHANNEL": KUDOS_CHANNEL,
    }
    process = start_process(env, tmp_path / "run.log", "--no-scheduler")
    processes.append(process)
    message = slack.add_message("C0GENERAL", "UBEN", "Rebuilt the cache")
    slack.inject_fault("chat.getPermalink", delay=30)  # the work after the ack never ends
    with SlackRequests(process.url, SIGNING_SECRET) as signed:
        assert signed.reaction("UANA", "kudos", message).status_code == 200
    process.kill_hard()

    with db.connect() as connection:
        kudos = connection.execute(select(Kudos.giver_id, Kudos.source)).all()
        rows = connection.execute(
            select(
                OutboxMessage.idempotency_key, OutboxMessage.status, OutboxMessage.next_attempt_at
            )
        ).all()
    assert kudos == [("UANA", "reaction")]
    assert sorted(key.split(":", 2)[2] for key, _, _ in rows) == ["dm:UBEN", "feed"]
    assert all(status == "pending" and held is not None for _, status, held in rows)
    assert slack.calls("chat.postMessage") == []
