"""Events API end to end: the directory cache, retries, App Home, the URL handshake."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from bot.demo.emulator import SlackEmulator
from storage.models import DirectoryUser, Kudos, OutboxMessage
from tests.server import RunningServer
from tests.slack_requests import SlackRequests
from tests.waiting import wait_until

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"


def cached(server: RunningServer, user_id: str) -> DirectoryUser | None:
    with server.deps.unit_of_work() as session:
        return session.scalars(
            select(DirectoryUser).where(DirectoryUser.user_id == user_id)
        ).one_or_none()


def user_change(slack: SlackEmulator, user_id: str, **changes: Any) -> dict[str, Any]:
    """The event Slack sends when a profile changes: the whole user object, as users.info."""
    user = slack.add_user(user_id, **changes)  # the emulator's copy changes too
    return {"type": "user_change", "user": user, "cache_ts": int(time.time()), "event_ts": "1.2"}


def outbox_rows(server: RunningServer, method: str) -> list[OutboxMessage]:
    with server.deps.unit_of_work() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.method == method)))


def all_sent(server: RunningServer, method: str) -> bool:
    found = {row.status for row in outbox_rows(server, method)}
    return found == {"sent"}


def test_user_change_updates_the_cache_and_a_deactivated_user_is_refused(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    answer = signed.command("/kudos", "<@UBEN> <@UCHO> thanks", user_id="UANA")
    assert "Kudos sent" in answer.json()["text"]
    ben = cached(server, "UBEN")
    assert ben is not None and ben.tz == "Europe/Berlin"

    renamed = user_change(slack, "UBEN", name="benjamin", tz="America/Chicago")
    assert signed.event(renamed).status_code == 200
    ben = cached(server, "UBEN")
    assert ben is not None and (ben.name, ben.tz) == ("benjamin", "America/Chicago")

    deactivated = user_change(slack, "UCHO", deleted=True)
    assert signed.event(deactivated).status_code == 200
    cho = cached(server, "UCHO")
    assert cho is not None and cho.deleted

    # Fresh in the cache, so no users.info: the event alone makes the refusal.
    lookups = len(slack.calls("users.info"))
    refused = signed.command("/kudos", "<@UCHO> thanks again", user_id="UANA").json()
    assert "deactivated" in refused["text"]
    assert len(slack.calls("users.info")) == lookups
    with server.deps.unit_of_work() as session:
        assert len(session.scalars(select(Kudos)).all()) == 1


def test_a_retried_event_changes_nothing_and_answers_200(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    first = user_change(slack, "UBEN", name="ben.two")
    assert signed.event(first, event_id="Ev0FIRST").status_code == 200
    later = user_change(slack, "UBEN", name="ben.three")
    assert signed.event(later, event_id="Ev0LATER").status_code == 200
    ben = cached(server, "UBEN")
    assert ben is not None and ben.name == "ben.three"

    # Slack retries the first delivery late (X-Slack-Retry-Num 1): it must not win.
    retry = signed.event(first, event_id="Ev0FIRST", retry_num=1)
    assert retry.status_code == 200
    ben = cached(server, "UBEN")
    assert ben is not None and ben.name == "ben.three"


def test_app_home_opened_publishes_the_home_view_once_per_event(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    signed.command("/kudos", "<@UANA> thanks for the pairing", user_id="UBEN")
    signed.command("/kudos", "<@UANA> thanks for the docs", user_id="UCHO")
    signed.command("/kudos", "<@UCHO> great demo", user_id="UANA")
    opened = {"type": "app_home_opened", "user": "UANA", "channel": "DUANA", "tab": "home"}

    assert signed.event(opened, event_id="Ev0HOME1").status_code == 200
    assert signed.event(opened, event_id="Ev0HOME1", retry_num=1).status_code == 200
    assert signed.event(opened, event_id="Ev0HOME1", retry_num=2).status_code == 200

    (row,) = outbox_rows(server, "views.publish")  # written before the ack: final
    # The ack built nothing: the sender builds the view as the call leaves.
    assert row.payload == {"user_id": "UANA", "$build": "home"}
    wait_until(lambda: all_sent(server, "views.publish"))
    published = slack.calls("views.publish")
    assert len(published) == 1 and published[0]["user_id"] == "UANA"
    home = slack.home_view("UANA")
    assert home is not None
    text = json.dumps(home["blocks"])
    assert "Received: *2*" in text and "Given: *1*" in text
    assert "Left today: *4* of 5" in text

    # A later opening is a new event: published again.
    assert signed.event(opened, event_id="Ev0HOME2").status_code == 200
    slack.wait_for("views.publish", count=2)
    assert len(outbox_rows(server, "views.publish")) == 2


def test_url_verification_answers_the_challenge(signed: SlackRequests) -> None:
    response = signed.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    assert response.status_code == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in response.text


def test_an_event_we_do_not_handle_is_not_subscribed(signed: SlackRequests) -> None:
    """Bolt answers 404 to an unhandled event and Slack retries it: subscribe only to ours."""
    event = {"type": "member_joined_channel", "user": "UANA", "channel": "C0GENERAL"}
    assert signed.event({**event, "event_ts": "1.2"}).status_code == 404
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert "member_joined_channel" not in manifest["settings"]["event_subscriptions"]["bot_events"]


def test_a_burst_naming_a_new_user_asks_users_info_once(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    # The server warms its cache from users.list at start; add the newcomer after that.
    slack.wait_for("users.list")
    wait_until(lambda: cached(server, "UCHO") is not None)
    slack.add_user("UNEW", "newcomer", tz="Australia/Sydney")

    for giver in ("UANA", "UBEN", "UCHO", "UANA"):
        answer = signed.command("/kudos", "<@UNEW> welcome aboard", user_id=giver).json()
        assert "Kudos sent to <@UNEW>" in answer["text"]

    assert [c["user"] for c in slack.calls("users.info")].count("UNEW") == 1
    newcomer = cached(server, "UNEW")
    assert newcomer is not None and newcomer.tz == "Australia/Sydney"
