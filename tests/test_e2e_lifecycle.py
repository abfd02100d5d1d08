"""Leavers, joiners and uninstalls end to end: signed events to the real server, the emulator as
Slack, `pulsebot checkins run-due` and `pulsebot run` as processes where a cron job or a replica
would run them.

Instants come from the wall clock (moved or not); check-ins fall five minutes before it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.clock import utc_now
from bot.demo.emulator import SlackEmulator
from bot.jobs.minute import run_due
from bot.notify import feedback_requests as notify_requests
from bot.services import feedback_requests, templates
from handlers.users import sync_all
from storage.models import (
    CheckinOccurrence,
    DirectoryUser,
    FeedbackAsked,
    FeedbackRequest,
    OutboxMessage,
)
from tests.databases import is_postgres
from tests.server import (
    SIGNING_SECRET,
    RunningServer,
    ServerProcess,
    running_server,
    server_settings,
    start_process,
)
from tests.slack_requests import SlackRequests
from tests.waiting import wait_until

TEAM = "T0TEAM"
ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MEMBERS = tuple(f"UM{i:02d}" for i in range(24))
LEAVER = "UZOE"  # sorts after every member: her prompt is queued last


def user_change(slack: SlackEmulator, user_id: str, **changes: Any) -> dict[str, Any]:
    """What Slack sends: the whole user object, as users.info has it (the emulator's changes)."""
    user = slack.add_user(user_id, tz="UTC", **changes)
    return {"type": "user_change", "user": user, "cache_ts": int(time.time()), "event_ts": "1.2"}


def outbox_rows(server: RunningServer) -> dict[str, OutboxMessage]:
    with server.deps.unit_of_work() as session:
        return {r.idempotency_key: r for r in session.scalars(select(OutboxMessage))}


def settled(server: RunningServer) -> bool:
    return all(r.status != "pending" for r in outbox_rows(server).values())


def healthz(url: str) -> dict[str, Any]:
    response = httpx.get(f"{url}/healthz", timeout=5)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def daily_team(server: RunningServer, slack: SlackEmulator, members: tuple[str, ...]) -> None:
    """Everyone in UTC, due five minutes ago; the template began yesterday."""
    for user_id in (*members, "UOWN"):
        slack.add_user(user_id, tz="UTC")
    sync_all(server.deps, WebClient(token=slack.bot_token, base_url=slack.url), TEAM)
    now = utc_now()
    definition = templates.TemplateDef(
        name="Daily",
        owner_id="UOWN",
        member_ids=members,
        weekdays=ALL_DAYS,
        local_time=(now - timedelta(minutes=5)).strftime("%H:%M"),
        questions=templates.DEFAULT_QUESTIONS,
        close_after=timedelta(hours=8),
    )
    with server.deps.unit_of_work() as session:
        templates.apply(session, TEAM, [definition], now - timedelta(days=1))


def posts_to(slack: SlackEmulator, user_id: str) -> list[Any]:
    return [c for c in slack.calls("chat.postMessage") if c["channel"] == user_id]


@pytest.fixture
def slow_server(database_url: str, slack: SlackEmulator) -> Iterator[RunningServer]:
    """A server whose sender sends at most 20 posts a second."""
    settings = server_settings(
        database_url, slack.url, slack.bot_token, PULSEBOT_POST_RATE=20, LOG_LEVEL="INFO"
    )
    with running_server(settings) as running:
        wait_until(lambda: running.deps.slack.state == "ok", 10, "the Slack check")
        yield running


# ----- a leaver ---------------------------------------------------------------------------------


def test_a_leaver_mid_fan_out_gets_nothing_and_run_due_exits_0_then_comes_back(
    tmp_path: Path, database_url: str, slow_server: RunningServer, slack: SlackEmulator
) -> None:
    server = slow_server
    daily_team(server, slack, (*MEMBERS, LEAVER))
    slack.inject_fault("chat.postMessage", delay=0.2, times=100_000)  # a fan-out under way
    log = tmp_path / "run-due.log"
    run = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "checkins", "run-due", "--at", utc_now().isoformat()],
        env={
            **os.environ,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.url,
            "DATABASE_URL": database_url,
            "PULSEBOT_POST_RATE": "20",
            "LOG_LEVEL": "INFO",
        },
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        slack.wait_for("chat.postMessage", count=3, timeout=30)
        with SlackRequests(server.url, SIGNING_SECRET) as signed:
            leaving = user_change(slack, LEAVER, deleted=True)
            assert signed.event(leaving, event_id="Ev0LEAVE").status_code == 200
            assert run.wait(timeout=90) == 0, log.read_text()
            cancelled_before = {
                k for k, r in outbox_rows(server).items() if r.status == "cancelled"
            }
            # Slack delivers the event again: nothing changes.
            assert signed.event(leaving, event_id="Ev0LEAVE", retry_num=1).status_code == 200
    finally:
        if run.poll() is None:
            run.kill()
    wait_until(lambda: settled(server), 30, "the fan-out settled")
    output = log.read_text()
    assert "failed for good" not in output and "Delivered" in output

    assert posts_to(slack, LEAVER) == [] and slack.messages(LEAVER) == []  # 0 DMs to her
    rows = outbox_rows(server)
    prompts = {r.payload["channel"]: r for k, r in rows.items() if k.endswith(":prompt")}
    assert (prompts[LEAVER].status, prompts[LEAVER].last_error) == (
        "cancelled",
        "recipient_deactivated",
    )
    assert {prompts[m].status for m in MEMBERS} == {"sent"}
    assert slack.delivered_keys(*MEMBERS) == {prompts[m].idempotency_key: 1 for m in MEMBERS}
    assert {k for k, r in rows.items() if r.status == "cancelled"} == cancelled_before
    with server.deps.unit_of_work() as session:
        her = session.scalars(
            select(CheckinOccurrence.state).where(CheckinOccurrence.user_id == LEAVER)
        ).all()
        cached = session.get(DirectoryUser, (TEAM, LEAVER))
        assert cached is not None and cached.deleted
    assert her == ["away"]

    # She is reactivated: prompted again from her next check-in on, tomorrow.
    slack.clear_faults()
    with SlackRequests(server.url, SIGNING_SECRET) as signed:
        back = user_change(slack, LEAVER, deleted=False)
        assert signed.event(back, event_id="Ev0BACK").status_code == 200
        summary = run_due(server.deps.session_factory, utc_now() + timedelta(days=1))
        assert summary.prompted == len(MEMBERS) + 1 and summary.missed == 0
        # The first deactivation, delivered once more late: it must not undo her return.
        assert signed.event(leaving, event_id="Ev0LEAVE", retry_num=2).status_code == 200
    server.deps.notify_outbox()
    wait_until(lambda: len(slack.messages(LEAVER)) == 1, 30, "her next prompt")
    wait_until(lambda: settled(server), 30, "tomorrow's fan-out settled")
    assert {r.status for k, r in outbox_rows(server).items() if LEAVER in str(r.payload)} == {
        "cancelled",
        "sent",
    }
    with server.deps.unit_of_work() as session:
        states = Counter(
            session.scalars(
                select(CheckinOccurrence.state).where(CheckinOccurrence.user_id == LEAVER)
            )
        )
    assert states == {"away": 1, "pending": 1}  # nothing missed for the day she was gone


def test_a_leavers_requests_are_withdrawn_and_nobody_waits_for_them(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    wait_until(lambda: server.deps.slack.state == "ok", 10, "the Slack check")
    slack.wait_for("users.list")
    now = utc_now()
    due = (now + timedelta(days=3)).date()

    def ask(requester: str, people: list[str], key: str) -> int:
        draft = feedback_requests.RequestDraft(requester, people, "the launch", ["How?"], due)
        with server.deps.unit_of_work() as session:
            created = feedback_requests.create(
                session, team_id=TEAM, draft=draft, request_key=key, now=now
            )
            notify_requests.enqueue_asks(session, created, now)
        return created.request.id

    wait_until(lambda: _cached(server, "UCHO", "UANA", "UBEN", "UDEV"), 10, "the directory")
    hers = ask("UCHO", ["UANA", "UBEN"], "req-cho")
    asking_her = ask("UANA", ["UCHO", "UDEV"], "req-ana")
    server.deps.notify_outbox()
    wait_until(lambda: settled(server), 10, "the asks delivered")
    to_cho = len(posts_to(slack, "UCHO"))

    assert signed.event(user_change(slack, "UCHO", deleted=True)).status_code == 200

    withdrawn = slack.wait_for(
        "chat.update", count=2, timeout=10, predicate=lambda c: "was withdrawn" in c["text"]
    )
    assert sorted(c["channel"] for c in withdrawn) == ["DUANA", "DUBEN"]
    with server.deps.unit_of_work() as session:
        requests = dict(session.execute(select(FeedbackRequest.id, FeedbackRequest.state)).all())
        asked = {(a.request_id, a.user_id): a.state for a in session.scalars(select(FeedbackAsked))}
    assert requests == {hers: "closed", asking_her: "open"}
    assert asked == {
        (hers, "UANA"): "expired",
        (hers, "UBEN"): "expired",
        (asking_her, "UCHO"): "expired",
        (asking_her, "UDEV"): "pending",
    }
    # A day before the due date and after it: a reminder to Dev only, then Ana's summary.
    run_due(server.deps.session_factory, now + timedelta(days=3))
    run_due(server.deps.session_factory, now + timedelta(days=5))
    server.deps.notify_outbox()
    wait_until(lambda: settled(server), 10, "the reminder and the summary")
    keys = outbox_rows(server)
    assert keys[f"request:{asking_her}:remind:UDEV"].status == "sent"
    assert f"request:{asking_her}:remind:UCHO" not in keys
    assert keys[f"request:{asking_her}:summary"].status == "sent"
    assert f"request:{hers}:summary" not in keys  # it would reach nobody
    assert len(posts_to(slack, "UCHO")) == to_cho  # nothing reached her after she left


def _cached(server: RunningServer, *user_ids: str) -> bool:
    with server.deps.unit_of_work() as session:
        found = session.scalars(
            select(DirectoryUser.user_id).where(DirectoryUser.user_id.in_(user_ids))
        ).all()
    return set(found) == set(user_ids)


# ----- a joiner -------------------------------------------------------------------------------


def test_team_join_puts_the_newcomer_in_the_directory_once(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    slack.wait_for("users.list")
    user = slack.add_user("UNEW", "newcomer", tz="Australia/Sydney")
    joined = {"type": "team_join", "user": user, "event_ts": "1.3"}
    assert signed.event(joined, event_id="Ev0JOIN").status_code == 200
    with server.deps.unit_of_work() as session:
        newcomer = session.get(DirectoryUser, (TEAM, "UNEW"))
        assert newcomer is not None
        assert (newcomer.name, newcomer.tz, newcomer.deleted) == (
            "newcomer",
            "Australia/Sydney",
            False,
        )
    # Renamed since: Slack's late redelivery of the join must not bring the old name back.
    renamed = {"type": "user_change", "user": slack.add_user("UNEW", "kim", tz="Australia/Sydney")}
    assert signed.event(renamed, event_id="Ev0RENAME").status_code == 200
    assert signed.event(joined, event_id="Ev0JOIN", retry_num=1).status_code == 200
    with server.deps.unit_of_work() as session:
        newcomer = session.get(DirectoryUser, (TEAM, "UNEW"))
        assert newcomer is not None and newcomer.name == "kim"
    lookups = len(slack.calls("users.info"))
    answer = signed.command("/kudos", "<@UNEW> welcome aboard", user_id="UANA").json()
    assert "Kudos sent to <@UNEW>" in answer["text"]
    assert len(slack.calls("users.info")) == lookups  # known from the event: no lookup


# ----- uninstall, reinstall -------------------------------------------------------------------


def stop_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "sending stopped" in r.getMessage()]


def refused_posts(slack: SlackEmulator) -> int:
    """chat.postMessage calls Slack answered without storing a message."""
    stored = sum(len(slack.delivered_keys(c)) for c in ("UBEN", "UCHO", "UDEV", "C0KUDOS"))
    return len([c for c in slack.calls("chat.postMessage") if c.status == 200]) - stored


@pytest.mark.parametrize(
    "events", [("app_uninstalled", "tokens_revoked"), ("tokens_revoked", "app_uninstalled")]
)
def test_uninstall_then_reinstall_stops_at_once_loses_nothing_and_doubles_nothing(
    slow_server: RunningServer,
    slack: SlackEmulator,
    caplog: pytest.LogCaptureFixture,
    events: tuple[str, str],
) -> None:
    server = slow_server
    slack.inject_fault("chat.postMessage", delay=0.2, times=100_000)
    event_ids = {}
    with SlackRequests(server.url, SIGNING_SECRET) as signed:
        for giver in ("UANA", "UBEN", "UCHO", "UDEV"):
            others = " ".join(f"<@{u}>" for u in ("UBEN", "UCHO", "UDEV") if u != giver)
            assert "Kudos sent" in signed.command("/kudos", f"{others} thanks", user_id=giver).text
        slack.wait_for("chat.postMessage", count=2, timeout=20)

        slack.revoke_token("token_revoked")  # Slack revokes, then tells
        for index, kind in enumerate(events):
            event: dict[str, Any] = {"type": kind, "event_ts": f"2.{index}"}
            if kind == "tokens_revoked":
                event["tokens"] = {"oauth": [], "bot": ["UBOT"]}
            event_ids[kind] = f"Ev0{kind.upper()}"
            assert signed.event(event, event_id=event_ids[kind]).status_code == 200
        body = healthz(server.url)
        assert (body["db"], body["slack"], body["sending"]) == ("ok", "uninstalled", "stopped")
        calls_at_stop = len(slack.calls("chat.postMessage"))
        time.sleep(1.5)  # a sender that had not stopped would call Slack several times here
        assert len(slack.calls("chat.postMessage")) <= calls_at_stop + 1
        assert refused_posts(slack) <= 1  # no retry storm
        # Work queued while uninstalled waits with the rest.
        assert "Kudos sent" in signed.command("/kudos", "<@UBEN> still here", user_id="UDEV").text
        rows = outbox_rows(server)
        assert {r.status for r in rows.values()} <= {"sent", "pending"}
        assert sum(r.status == "pending" for r in rows.values()) > 0
        assert len(stop_lines(caplog)) == 1

        # Reinstalled: the token works again, and the next request from Slack shows it.
        slack.clear_faults()
        slack.restore_token()
        opened = {"type": "app_home_opened", "user": "UANA", "channel": "DUANA", "tab": "home"}
        assert signed.event(opened).status_code == 200
        wait_until(lambda: settled(server), 20, "everything queued delivered")
        assert healthz(server.url) == {"db": "ok", "slack": "ok"}
        # A stop event delivered again late changes nothing.
        first = events[0]
        late: dict[str, Any] = {"type": first, "event_ts": "2.0"}
        if first == "tokens_revoked":
            late["tokens"] = {"oauth": [], "bot": ["UBOT"]}
        assert signed.event(late, event_id=event_ids[first], retry_num=1).status_code == 200
        assert healthz(server.url) == {"db": "ok", "slack": "ok"}

    rows = outbox_rows(server)
    assert {r.status for r in rows.values()} == {"sent"}  # 0 lost
    posts = {k for k, r in rows.items() if r.method == "chat.postMessage"}
    delivered = slack.delivered_keys("UBEN", "UCHO", "UDEV", "C0KUDOS")
    assert delivered == dict.fromkeys(posts, 1)  # 0 doubled
    assert len(stop_lines(caplog)) == 1


def test_a_restart_with_a_working_token_resumes_what_waited(
    database_url: str, slack: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    settings = server_settings(database_url, slack.url, slack.bot_token)
    with running_server(settings) as server, SlackRequests(server.url, SIGNING_SECRET) as signed:
        wait_until(lambda: server.deps.slack.state == "ok", 10, "the Slack check")
        slack.revoke_token("account_inactive")
        assert signed.event({"type": "app_uninstalled"}).status_code == 200
        assert "Kudos sent" in signed.command("/kudos", "<@UBEN> thanks", user_id="UANA").text
        time.sleep(0.5)
        assert {r.status for r in outbox_rows(server).values()} == {"pending"}
        assert healthz(server.url)["slack"] == "uninstalled"
    slack.restore_token()  # the new token, as SLACK_BOT_TOKEN holds it after the restart
    caplog.set_level(logging.INFO)
    with running_server(settings) as server:
        wait_until(lambda: settled(server), 20, "what waited delivered")
        assert healthz(server.url) == {"db": "ok", "slack": "ok"}
    assert set(slack.delivered_keys("UBEN").values()) == {1}
    assert any("sending resumed" in r.getMessage() for r in caplog.records)


# ----- `pulsebot run`, one or several replicas --------------------------------------------------


def test_the_stop_holds_for_every_replica_which_keep_serving_healthz(
    tmp_path: Path,
    database_url: str,
    slack: SlackEmulator,
    processes: list[ServerProcess],
) -> None:
    """Two `pulsebot run` replicas on PostgreSQL (one process on SQLite): the uninstall reaches
    one of them; neither sends again until the reinstall, which one of them sees."""
    replicas = 2 if is_postgres() else 1
    people = tuple(f"UR{i:02d}" for i in range(30))
    for user_id in people:
        slack.add_user(user_id, tz="UTC")
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        "DATABASE_URL": database_url,
        "PULSEBOT_KUDOS_CHANNEL": "",
        "PULSEBOT_POST_RATE": "20",
        "LOG_LEVEL": "INFO",
    }
    for index in range(replicas):
        processes.append(start_process(env, tmp_path / f"replica-{index}.log", "--no-scheduler"))
    slack.inject_fault("chat.postMessage", delay=0.15, times=100_000)
    clients = [SlackRequests(p.url, SIGNING_SECRET) for p in processes]
    try:
        for index, giver in enumerate(people):  # 30 kudos DMs, given on every replica
            recipient = people[(index + 1) % len(people)]
            answer = clients[index % replicas].command(
                "/kudos", f"<@{recipient}> thx", user_id=giver
            )
            assert "Kudos sent" in answer.text
        slack.wait_for("chat.postMessage", count=3, timeout=30)
        slack.revoke_token()
        uninstalled = {"type": "app_uninstalled", "event_ts": "3.1"}
        assert clients[0].event(uninstalled).status_code == 200
        for process in processes:  # every replica says so, and keeps serving
            wait_until(lambda p=process: healthz(p.url).get("sending") == "stopped", 15, "the stop")
        calls_at_stop = len(slack.calls("chat.postMessage"))
        time.sleep(2.0)
        assert len(slack.calls("chat.postMessage")) <= calls_at_stop + replicas
        posts = slack.calls("chat.postMessage")
        delivered_so_far = sum(len(slack.delivered_keys(u)) for u in people)
        assert len([c for c in posts if c.status == 200]) - delivered_so_far <= replicas
        logs = "".join(p.log() for p in processes)
        assert logs.count("sending stopped") == 1, logs
        assert "Traceback" not in logs

        slack.clear_faults()
        slack.restore_token()
        opened = {"type": "app_home_opened", "user": "UANA", "channel": "DUANA", "tab": "home"}
        assert clients[0].event(opened).status_code == 200
        for process in processes:
            wait_until(lambda p=process: "sending" not in healthz(p.url), 15, "the resume")
        wait_until(
            lambda: sum(len(slack.delivered_keys(u)) for u in people) == len(people),
            30,
            "every kudos DM delivered",
        )
    finally:
        for client in clients:
            client.close()
    dms = Counter(key for u in people for key in slack.delivered_keys(u).elements())
    assert len(dms) == len(people) and set(dms.values()) == {1}  # 0 lost, 0 doubled
