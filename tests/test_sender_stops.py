"""The sender against a token Slack refuses, and against rows to people who left; and the scopes
manifest.yml ships with, where a lost post in a channel cannot be looked for.

The real `OutboxSender` and the production WebClient talk to the emulator, on a fresh database
(SQLite or PostgreSQL).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import make_web_client
from bot.clock import utc_now
from bot.delivery import outbox, pacing, uploads
from bot.delivery.sender import OutboxSender
from bot.demo.emulator import SlackEmulator
from bot.metrics import OUTBOX_RECONCILED
from bot.services import workspace
from storage import outbox as outbox_store
from storage import workspaces
from storage.engine import unit_of_work
from storage.models import OutboxMessage
from tests.factories import TEAM, add_people, person
from tests.server import server_settings

ROOT = Path(__file__).resolve().parents[1]
Factory = sessionmaker[Session]


class Clock:
    """The sender's clock, moved by the test past a retry's backoff."""

    def __init__(self) -> None:
        self.now = utc_now()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def no_channel_spacing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pacing, "CHANNEL_INTERVAL", 0.0)


@pytest.fixture
def client(database_url: str, slack: SlackEmulator) -> WebClient:
    return make_web_client(server_settings(database_url, slack.url, slack.bot_token), timeout=5)


def sender(factory: Factory, client: WebClient, clock: Any = utc_now, **extra: Any) -> OutboxSender:
    return OutboxSender(
        session_factory=factory,
        client=client,
        clock=clock,
        lease_clock=clock,
        post_rate=100.0,
        **extra,
    )


def post(factory: Factory, key: str, channel: str) -> int:
    with unit_of_work(factory) as session:
        return outbox.post_message(
            session, team_id=TEAM, key=key, channel=channel, text=key, blocks=None, now=utc_now()
        )


def rows(factory: Factory) -> dict[str, OutboxMessage]:
    with unit_of_work(factory) as session:
        return {r.idempotency_key: r for r in session.scalars(select(OutboxMessage))}


def resume(factory: Factory) -> None:
    with unit_of_work(factory) as session:
        assert workspace.resume(session, TEAM, utc_now()) is not None


def stop_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "sending stopped" in r.getMessage()]


# ----- a refused token ------------------------------------------------------------------------


@pytest.mark.parametrize("error", ["token_revoked", "invalid_auth", "account_inactive"])
def test_a_refused_token_stops_the_workspace_after_one_call_and_every_row_waits(
    session_factory: Factory,
    slack: SlackEmulator,
    client: WebClient,
    caplog: pytest.LogCaptureFixture,
    error: str,
) -> None:
    for i in range(3):
        post(session_factory, f"early{i}", "UANA")
    assert sender(session_factory, client).drain(timeout=10)
    slack.revoke_token(error)
    for i in range(6):
        post(session_factory, f"k{i}", "UBEN" if i % 2 else "UCHO")
    stopped: list[str] = []
    first = sender(session_factory, client, on_stop=stopped.append)
    with caplog.at_level(logging.INFO):
        for _ in range(5):  # rounds, as run_forever would go through them
            first.step()
        sender(session_factory, client).step()  # another replica: it sends nothing either
    calls = slack.calls("chat.postMessage")
    assert len(calls) == 4  # 3 before, and one refused: no storm
    assert stopped == [TEAM] and first.stats.stopped == [TEAM] and first.stats.failed == 0
    assert len(stop_lines(caplog)) == 1 and error in stop_lines(caplog)[0]
    waiting = {k: r for k, r in rows(session_factory).items() if k.startswith("k")}
    assert {r.status for r in waiting.values()} == {"pending"}
    assert {r.attempts for r in waiting.values()} == {0}  # a refusal spends no attempt
    with unit_of_work(session_factory) as session:
        [stop] = workspace.stops(session)
    assert stop.reason == error

    slack.restore_token()
    resume(session_factory)
    assert sender(session_factory, client).drain(timeout=10)
    delivered = slack.delivered_keys("UANA", "UBEN", "UCHO")
    assert delivered == Counter({k: 1 for k in rows(session_factory)})  # 0 lost, 0 doubled


def test_a_stop_another_replica_wrote_holds_this_sender_too(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    post(session_factory, "k1", "UANA")
    with unit_of_work(session_factory) as session:
        assert workspace.stop(session, TEAM, workspaces.UNINSTALLED, utc_now()).changed
    assert not sender(session_factory, client).step()
    assert slack.calls("chat.postMessage") == []
    resume(session_factory)
    assert sender(session_factory, client).drain(timeout=10)
    assert slack.delivered_keys("UANA") == {"k1": 1}


def test_a_lost_post_whose_lookup_is_refused_is_still_looked_for_after_the_reinstall(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    clock = Clock()
    slack.inject_fault("chat.postMessage", lost_answer="after")  # posted, answer lost
    post(session_factory, "lost", "UANA")
    sender(session_factory, client, clock).step()
    assert rows(session_factory)["lost"].attempt_started_at is not None
    slack.revoke_token()
    clock.advance(600)  # past the retry's backoff
    sender(session_factory, client, clock).step()  # looking for it is refused: it waits
    row = rows(session_factory)["lost"]
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "token_revoked")
    assert row.attempt_started_at is not None  # still unknown whether it was posted

    slack.restore_token()
    resume(session_factory)
    clock.advance(600)
    assert sender(session_factory, client, clock).drain(timeout=10)
    assert slack.delivered_keys("UANA") == {"lost": 1}  # found in the DM: not posted twice
    assert rows(session_factory)["lost"].status == "sent"


def test_a_refused_chart_upload_waits_instead_of_going_without(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    with unit_of_work(session_factory) as session:
        outbox.enqueue(
            session,
            team_id=TEAM,
            key="chart",
            method=uploads.UPLOAD,
            payload=uploads.upload_payload(b"\x89PNG fake", "c.png", "Chart", "A chart"),
            now=utc_now(),
        )
    slack.revoke_token()
    sender(session_factory, client).step()
    row = rows(session_factory)["chart"]
    assert (row.status, row.result_channel) == ("pending", None)
    slack.restore_token()
    resume(session_factory)
    assert sender(session_factory, client).drain(timeout=10)
    assert rows(session_factory)["chart"].result_channel  # the file id: uploaded after all


# ----- rows to people who left ----------------------------------------------------------------


def test_rows_to_someone_deactivated_are_withdrawn_not_sent_whoever_wrote_them(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    with unit_of_work(session_factory) as session:
        add_people(session, utc_now(), person("UANA"), person("UBEN", deleted=True))
        outbox_store.remember_dm(session, TEAM, "UBEN", "DUBEN")
        outbox.enqueue(
            session,
            team_id=TEAM,
            key="home",
            method="views.publish",
            payload={"user_id": "UBEN", "view": {"type": "home", "blocks": []}},
            now=utc_now(),
        )
    post(session_factory, "to-id", "UBEN")
    post(session_factory, "to-dm", "DUBEN")
    post(session_factory, "to-ana", "UANA")
    one = sender(session_factory, client)
    assert one.drain(timeout=10)
    assert [c["channel"] for c in slack.calls("chat.postMessage")] == ["UANA"]
    assert slack.calls("views.publish") == []
    settled = {k: (r.status, r.last_error) for k, r in rows(session_factory).items()}
    assert settled == {
        "home": ("cancelled", "recipient_deactivated"),
        "to-id": ("cancelled", "recipient_deactivated"),
        "to-dm": ("cancelled", "recipient_deactivated"),
        "to-ana": ("sent", None),
    }
    assert one.stats.withdrawn == 3 and one.stats.failed == 0


# ----- the scopes manifest.yml asks for -------------------------------------------------------


def manifest_scopes() -> list[str]:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return list(manifest["oauth_config"]["scopes"]["bot"])


def reconciled(result: str) -> float:
    return float(OUTBOX_RECONCILED.labels(result)._value.get())


def test_with_the_manifests_scopes_a_lost_channel_post_is_sent_again_and_counted(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    """Without channels:history and groups:history the lost post cannot be looked for: it is
    sent again, and counted; a lost DM is still found (im:history)."""
    assert "channels:history" not in manifest_scopes()
    slack.set_scopes(",".join(manifest_scopes()))
    slack.add_channel("C0PRIVATE", "private-team", is_private=True, bot_is_member=True)
    before = {result: reconciled(result) for result in ("unverified", "found")}
    for key, channel in (("public", "C0GENERAL"), ("private", "C0PRIVATE"), ("dm", "UANA")):
        slack.inject_fault("chat.postMessage", lost_answer="after")
        post(session_factory, key, channel)
        assert sender(session_factory, client).drain(timeout=20)
    delivered = slack.delivered_keys("C0GENERAL", "C0PRIVATE", "UANA")
    assert delivered == {"public": 2, "private": 2, "dm": 1}
    assert reconciled("unverified") == before["unverified"] + 2
    assert reconciled("found") == before["found"] + 1
    assert {r.status for r in rows(session_factory).values()} == {"sent"}


def test_with_the_optional_history_scopes_a_lost_channel_post_is_found(
    session_factory: Factory, slack: SlackEmulator, client: WebClient
) -> None:
    slack.set_scopes(",".join([*manifest_scopes(), "channels:history", "groups:history"]))
    slack.inject_fault("chat.postMessage", lost_answer="after")
    post(session_factory, "public", "C0GENERAL")
    assert sender(session_factory, client).drain(timeout=20)
    assert slack.delivered_keys("C0GENERAL") == {"public": 1}


# ----- the emulator, as Slack answers a revoked token -------------------------------------------


def test_the_emulator_refuses_a_revoked_token_the_way_slack_does(slack: SlackEmulator) -> None:
    def call(method: str) -> httpx.Response:
        return httpx.post(
            f"{slack.url}{method}",
            headers={"Authorization": f"Bearer {slack.bot_token}"},
            data={"channel": "UANA", "text": "hi"},
        )

    assert call("auth.test").json()["ok"] is True
    for error in ("token_revoked", "invalid_auth", "account_inactive"):
        slack.revoke_token(error)
        for method in ("auth.test", "chat.postMessage", "users.list"):
            answer = call(method)
            assert answer.status_code == 200  # Slack's errors are HTTP 200, ok false
            assert answer.json() == {"ok": False, "error": error}
        assert call("api.test").json()["ok"] is True  # needs no token
    assert slack.messages("UANA") == []
    slack.restore_token()
    assert call("chat.postMessage").json()["ok"] is True
