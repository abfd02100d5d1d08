"""Where an answer goes, end to end: the owner's DM, the team channel's daily thread, upward
feedback (named: to the manager at once; anonymous: to no one now), the manager's Reply in the
member's DM thread; and `pulsebot checkins run-due` killed with -9 mid-delivery.

The server runs on real time, so the check-ins answered here are due a few minutes ago in
Berlin, where every member lives; time travels only through `run_due(at)` / `--at`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import utc_now
from bot.delivery.sender import LEASE_TTL
from bot.demo.emulator import Call, SlackEmulator
from bot.jobs.minute import run_due
from bot.services import templates
from handlers.users import sync_all
from storage.models import (
    CheckinOccurrence,
    OrgEdge,
    OutboxMessage,
    SenderLease,
    UpwardFeedback,
)
from storage.outbox import hold_lease
from tests.server import SIGNING_SECRET, RunningServer
from tests.slack_requests import SlackRequests
from tests.waiting import wait_until

OWNER = "UANA"
CHANNEL = "C0TEAM"
ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MEMBERS = ("UBEN", "UEVA", "UFIN")  # Fin reports to Cho, not to the template's owner


# ----- a team whose check-in is open now --------------------------------------------------------


@pytest.fixture
def team(server: RunningServer, slack: SlackEmulator) -> dict[str, CheckinOccurrence]:
    """Prompted a few minutes ago (Berlin time); returns each member's open occurrence."""
    slack.add_channel(CHANNEL, "team")
    for user_id in ("UEVA", "UFIN"):
        slack.add_user(user_id, tz="Europe/Berlin")
    sync_all(server.deps, WebClient(token=slack.bot_token, base_url=slack.url), "T0TEAM")
    now = datetime.now(UTC)
    berlin = now.astimezone(ZoneInfo("Europe/Berlin")) - timedelta(minutes=5)
    definition = templates.TemplateDef(
        name="Platform daily",
        owner_id=OWNER,
        member_ids=MEMBERS,
        weekdays=ALL_DAYS,
        local_time=berlin.strftime("%H:%M"),
        questions=templates.DEFAULT_QUESTIONS,
        close_after=timedelta(hours=8),
        channel_id=CHANNEL,
    )
    with server.deps.unit_of_work() as session:
        session.add(
            OrgEdge(
                team_id="T0TEAM", user_id="UFIN", manager_id="UCHO", source="csv", updated_at=now
            )
        )
        # Ana's third direct report: with PULSEBOT_ANONYMITY_MIN (3) reports, the anonymous
        # option is offered to her team.
        session.add(
            OrgEdge(
                team_id="T0TEAM", user_id="UGUS", manager_id=OWNER, source="csv", updated_at=now
            )
        )
    with server.deps.unit_of_work() as session:
        templates.apply(session, "T0TEAM", [definition], now - timedelta(days=1))
    run_due(server.deps.session_factory, now)
    slack.wait_for("chat.postMessage", count=3, predicate=lambda c: c["channel"] in MEMBERS)
    with server.deps.unit_of_work() as session:
        rows = session.scalars(
            select(CheckinOccurrence).where(CheckinOccurrence.state == "pending")
        ).all()
    found = {row.user_id: row for row in rows}
    assert set(found) == set(MEMBERS)
    return found


def answers(upward: str = "", *, anonymous: bool = False, done: str = "Shipped v2") -> dict:
    """A filled-in answer modal's `view.state.values`, as Slack sends it."""

    def text(value: str) -> dict[str, Any]:
        return {"answer": {"type": "plain_text_input", "value": value or None}}

    values: dict[str, Any] = {
        "checkin_q_done": text(done),
        "checkin_q_next": text("Docs"),
        "checkin_q_blockers": text(""),
        "checkin_q_pulse": {
            "answer": {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "4"}, "value": "4"},
            }
        },
        "checkin_q_upward": text(upward),
        "checkin_anonymous": {"anonymous": {"type": "checkboxes", "selected_options": []}},
    }
    if anonymous:
        values["checkin_anonymous"]["anonymous"]["selected_options"] = [
            {
                "text": {"type": "plain_text", "text": "Send my note anonymously"},
                "value": "anonymous",
            }
        ]
    return values


def submit(
    url: str, user_id: str, occurrence: CheckinOccurrence, values: dict, view_id: str
) -> dict[str, Any]:
    with SlackRequests(url, SIGNING_SECRET) as signed:
        response = signed.view_submission(
            user_id=user_id,
            callback_id="checkin_modal",
            values=values,
            private_metadata=json.dumps({"occurrence_id": occurrence.id}),
            view_id=view_id,
        )
    assert response.status_code == 200
    return response.json() if response.text else {}


def view_of(call: dict[str, Any]) -> dict[str, Any]:
    view = call["view"]
    return view if isinstance(view, dict) else json.loads(view)


def posts(slack: SlackEmulator, channel: str) -> list[Call]:
    return [c for c in slack.calls("chat.postMessage") if c["channel"] == channel]


def everything_sent(slack: SlackEmulator) -> str:
    return json.dumps([dict(c) for c in slack.calls() if c.method.startswith("chat.")])


def wait_sent(server: RunningServer, timeout: float = 10.0) -> None:
    """Until the outbox has nothing left to send (so "never sent" can be asserted)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with server.deps.unit_of_work() as session:
            statuses = set(session.scalars(select(OutboxMessage.status)))
        if statuses <= {"sent"}:
            return
        assert "failed" not in statuses
        time.sleep(0.05)
    raise AssertionError("the outbox did not drain")


# ----- 2. delivery of an answer -----------------------------------------------------------------


def test_answers_go_to_the_owner_and_one_daily_thread_and_upward_feedback_only_up(
    server: RunningServer,
    slack: SlackEmulator,
    signed: SlackRequests,
    team: dict[str, CheckinOccurrence],
) -> None:
    # The answer modal offers the anonymity box under the upward question.
    signed.block_action(
        user_id="UEVA",
        action_id="checkin_start",
        value=str(team["UEVA"].id),
        channel_id="DUEVA",
        message_ts=slack.messages("UEVA")[0]["ts"],
        trigger_id="start-eva",
    )
    modal = view_of(
        slack.wait_for("views.open", predicate=lambda c: c["trigger_id"] == "start-eva")[0]
    )
    box = next(b for b in modal["blocks"] if b.get("block_id") == "checkin_anonymous")
    assert box["element"]["action_id"] == "anonymous"
    assert [o["value"] for o in box["element"]["options"]] == ["anonymous"]

    # Ben and Eva answer at the same moment: the day's header must still be posted once.
    with ThreadPoolExecutor(max_workers=2) as pool:
        ben = pool.submit(
            submit, server.url, "UBEN", team["UBEN"], answers("More focus time"), "VBEN"
        )
        eva = pool.submit(
            submit,
            server.url,
            "UEVA",
            team["UEVA"],
            answers("Meetings are too long", anonymous=True, done="Fixed <!channel> CI"),
            "VEVA",
        )
        assert ben.result() == {}
        # An anonymous note is confirmed by the modal's own answer, which nothing stores.
        confirmed = eva.result()
        assert confirmed["response_action"] == "update"
        assert "anonymous note waits" in json.dumps(confirmed["view"])
    assert submit(server.url, "UFIN", team["UFIN"], answers("Need a new laptop"), "VFIN") == {}

    slack.wait_for("chat.postMessage", count=4, predicate=lambda c: c["channel"] == CHANNEL)
    slack.wait_for("chat.postMessage", count=3, predicate=lambda c: c["channel"] == OWNER)
    wait_sent(server)

    # The channel: one header, then each answer as a reply in its thread.
    channel = slack.messages(CHANNEL)
    headers = [m for m in channel if not m.get("thread_ts")]
    assert len(headers) == 1 and "Platform daily" in headers[0]["text"]
    replies = [m for m in channel if m.get("thread_ts")]
    assert len(replies) == 3
    assert all(m["thread_ts"] == headers[0]["ts"] for m in replies)
    assert {m for r in replies for m in MEMBERS if f"<@{m}>" in r["text"]} == set(MEMBERS)
    assert len(posts(slack, CHANNEL)) == 4
    in_channel = json.dumps(posts(slack, CHANNEL))
    assert "Shipped v2" in in_channel and "<!channel>" not in in_channel
    for note in ("More focus time", "Meetings are too long", "Need a new laptop", "manager?"):
        assert note not in in_channel, note

    # The owner: every answer; Ben's named note rides along (Ana is his manager).
    to_owner = {
        c["metadata"]["event_payload"]["key"]: json.dumps(c.get("blocks"))
        for c in posts(slack, OWNER)
    }
    by_member = {m: to_owner[f"checkin:{team[m].id}:answers:manager"] for m in MEMBERS}
    assert "More focus time" in by_member["UBEN"] and "For you only" in by_member["UBEN"]
    assert "Need a new laptop" not in by_member["UFIN"]
    # Fin's named note goes to his own manager, Cho, at once and to no one else.
    (to_cho,) = posts(slack, "UCHO")
    assert "Need a new laptop" in json.dumps(to_cho.get("blocks")) and "<@UFIN>" in to_cho["text"]
    assert everything_sent(slack).count("Need a new laptop") == 1

    # Eva's anonymous note reaches no one now, and is stored without its author.
    assert "Meetings are too long" not in everything_sent(slack)
    eva_done = next(c for c in slack.calls("chat.update") if c["channel"] == "DUEVA")
    assert "anonym" not in json.dumps(eva_done["blocks"]).lower()
    with server.deps.unit_of_work() as session:
        notes = {n.text: n for n in session.scalars(select(UpwardFeedback))}
        assert set(notes) == {"More focus time", "Meetings are too long", "Need a new laptop"}
        anonymous = notes["Meetings are too long"]
        assert (anonymous.author_id, anonymous.occurrence_id) == (None, None)
        assert anonymous.anonymous is True and anonymous.released is False
        assert anonymous.manager_id == OWNER
        named = notes["Need a new laptop"]
        assert (named.author_id, named.manager_id, named.released) == ("UFIN", "UCHO", True)
        assert notes["More focus time"].author_id == "UBEN"


# ----- 3. the manager's Reply -------------------------------------------------------------------


def test_the_manager_replies_in_the_members_check_in_thread(
    server: RunningServer,
    slack: SlackEmulator,
    signed: SlackRequests,
    team: dict[str, CheckinOccurrence],
) -> None:
    ben_prompt = slack.messages("UBEN")[0]
    assert submit(server.url, "UBEN", team["UBEN"], answers(), "VBEN") == {}
    assert submit(server.url, "UFIN", team["UFIN"], answers(), "VFIN") == {}
    slack.wait_for("chat.postMessage", count=2, predicate=lambda c: c["channel"] == OWNER)
    answers_dm = next(m for m in slack.messages(OWNER) if "<@UBEN>" in m["text"])
    (reply_button,) = [
        e
        for b in answers_dm["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "checkin_reply"
    ]
    assert reply_button["value"] == str(team["UBEN"].id)

    signed.block_action(
        user_id=OWNER,
        action_id="checkin_reply",
        value=reply_button["value"],
        channel_id="DUANA",
        message_ts=answers_dm["ts"],
        trigger_id="reply-1",
    )
    modal = view_of(
        slack.wait_for("views.open", predicate=lambda c: c["trigger_id"] == "reply-1")[0]
    )
    assert modal["callback_id"] == "checkin_reply_modal"

    def send(user_id: str, text: str, view_id: str, metadata: str | None = None) -> dict:
        response = signed.view_submission(
            user_id=user_id,
            callback_id="checkin_reply_modal",
            values={"checkin_reply": {"reply": {"type": "plain_text_input", "value": text}}},
            private_metadata=metadata or modal["private_metadata"],
            view_id=view_id,
        )
        assert response.status_code == 200
        return response.json() if response.text else {}

    empty = send(OWNER, "   ", "VREPLY0")
    assert empty["response_action"] == "errors" and "checkin_reply" in empty["errors"]
    for stranger in ("UDEV", "UCHO", "UBEN"):  # not his manager, another team's, himself
        refused = send(stranger, "Nice", f"VREPLY{stranger}")
        assert refused["response_action"] == "errors", stranger
        assert "only reply" in refused["errors"]["checkin_reply"]

    assert send(OWNER, "Great work!\nLet's talk <!here> on Monday", "VREPLY1") == {}
    reply = slack.wait_for(
        "chat.postMessage", predicate=lambda c: c["channel"] == "DUBEN" and c.get("thread_ts")
    )[0]
    assert reply["thread_ts"] == ben_prompt["ts"]
    assert "Great work!" in reply["text"] and "<@UANA>" in reply["text"]
    assert "<!here>" not in json.dumps(reply.get("blocks")) + reply["text"]
    shown = reply["blocks"][0]["text"]["text"]
    assert "\n>Great work!\n>Let's talk" in shown, shown  # every line of the reply quoted
    thread = [m for m in slack.messages("UBEN") if m.get("thread_ts") == ben_prompt["ts"]]
    assert len(thread) == 1

    # Cho manages Fin in the org chart, so Cho may answer Fin's check-in too.
    fin_metadata = json.dumps({"occurrence_id": team["UFIN"].id})
    assert send("UCHO", "Thanks Fin", "VREPLY2", fin_metadata) == {}
    fin_prompt = slack.messages("UFIN")[0]
    slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c["channel"] == "DUFIN" and c.get("thread_ts") == fin_prompt["ts"],
    )
    wait_sent(server)
    dm_replies = [
        c
        for c in slack.calls("chat.postMessage")
        if c.get("thread_ts") and c["channel"] in ("DUBEN", "DUFIN")
    ]
    assert len(dm_replies) == 2
    # The owner's own thread under Ben's answers shows the reply too.
    (echo,) = [c for c in slack.calls("chat.postMessage") if c["channel"] == "DUANA"]
    assert echo["thread_ts"] == answers_dm["ts"] and "You replied" in echo["text"]


# ----- 4. `pulsebot checkins run-due` killed between "row written" and "message sent" -----------

AT = "2037-11-02T09:05:00+00:00"  # a Monday, five minutes after the 09:00 (UTC) prompts
CREW = tuple(f"UC{i:02d}" for i in range(1, 7))


def env_for(database_url: str, slack: SlackEmulator) -> dict[str, str]:
    return {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        "DATABASE_URL": database_url,
        "PULSEBOT_POST_RATE": "50",
        "LOG_LEVEL": "INFO",
    }


def run_due_process(
    database_url: str, slack: SlackEmulator, log: Path, at: str = AT
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "checkins", "run-due", "--at", at, "--timeout", "30"],
        env=env_for(database_url, slack),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=log.parent,
    )


def crew_template(
    session_factory: sessionmaker[Session],
    slack: SlackEmulator,
    members: tuple[str, ...],
    created: datetime = datetime(2037, 10, 31, 12, tzinfo=UTC),
) -> None:
    """09:00 every day in each member's zone (UTC: the directory has no one yet)."""
    for user_id in CREW:
        slack.add_user(user_id, tz="UTC")
    definition = templates.TemplateDef(
        name="Crew",
        owner_id=OWNER,
        member_ids=members,
        weekdays=ALL_DAYS,
        local_time="09:00",
        questions=templates.DEFAULT_QUESTIONS,
        close_after=timedelta(hours=8),
    )
    with session_factory() as session, session.begin():
        templates.apply(session, "T0TEAM", [definition], created)


def test_run_due_killed_mid_delivery_delivers_each_prompt_once_when_run_again(
    tmp_path: Path,
    database_url: str,
    engine: Engine,
    session_factory: sessionmaker[Session],
    slack: SlackEmulator,
) -> None:
    crew_template(session_factory, slack, CREW)
    slack.inject_fault("chat.postMessage", status=503, times=100_000)

    def prompt_rows() -> dict[str, str]:
        with engine.connect() as connection:
            rows = connection.execute(
                select(OutboxMessage.idempotency_key, OutboxMessage.status).where(
                    OutboxMessage.idempotency_key.like("checkin:%:prompt")
                )
            )
            return dict(rows.all())

    first = run_due_process(database_url, slack, tmp_path / "first.log")
    try:
        wait_until(lambda: len(prompt_rows()) == len(CREW), 20, "the prompts written")
        slack.wait_for("chat.postMessage", timeout=10)  # the sender is trying: Slack says 503
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    with engine.connect() as connection:
        states = Counter(connection.scalars(select(CheckinOccurrence.state)))
    # Sat 31 Oct was before the template; Sun 1 Nov closed long ago; Mon 2 Nov is open.
    assert states == {"missed": len(CREW), "pending": len(CREW)}
    assert set(prompt_rows().values()) == {"pending"}
    assert not slack.posted_keys()

    # Slack is healthy again; the dead run's lease would lapse in 20 s: skip the wait.
    slack.reset()
    with engine.begin() as connection:
        connection.execute(update(SenderLease).values(expires_at=utc_now() - timedelta(seconds=1)))
    log = tmp_path / "second.log"
    second = run_due_process(database_url, slack, log)
    assert second.wait(timeout=40) == 0, log.read_text()

    keys = prompt_rows()
    assert set(keys.values()) == {"sent"}
    prompts = {k: n for k, n in slack.posted_keys().items() if k.startswith("checkin:")}
    assert prompts == dict.fromkeys(keys, 1)
    assert slack.delivered_keys(*CREW) == dict.fromkeys(keys, 1)
    assert sorted(
        c["channel"]
        for c in slack.calls("chat.postMessage")
        if c["metadata"]["event_payload"]["key"].startswith("checkin:")
    ) == sorted(CREW)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(CheckinOccurrence)) == 12


def test_run_due_exits_non_zero_when_a_delivery_fails_for_good(
    tmp_path: Path,
    database_url: str,
    engine: Engine,
    session_factory: sessionmaker[Session],
    slack: SlackEmulator,
) -> None:
    crew_template(session_factory, slack, ("UC01", "UC02", "UNOBODY"))
    log = tmp_path / "run.log"
    process = run_due_process(database_url, slack, log)
    assert process.wait(timeout=40) == 1, log.read_text()
    assert "failed for good" in log.read_text()
    with engine.connect() as connection:
        # The check-in rows (the same run also writes the weekly digest, if one is due).
        statuses = dict(
            connection.execute(
                select(OutboxMessage.idempotency_key, OutboxMessage.status).where(
                    OutboxMessage.idempotency_key.like("checkin:%")
                )
            ).all()
        )
        errors = set(
            connection.scalars(
                select(OutboxMessage.last_error).where(OutboxMessage.status == "failed")
            )
        )
    assert sorted(statuses.values()) == ["failed", "sent", "sent"]
    assert errors == {"channel_not_found"}
    # The others were delivered all the same, once each; the failed one was tried once.
    sent = {k for k, status in statuses.items() if status == "sent"}
    assert slack.delivered_keys("UC01", "UC02") == dict.fromkeys(sent, 1)
    posted = {k: n for k, n in slack.posted_keys().items() if k.startswith("checkin:")}
    assert posted == dict.fromkeys(statuses, 1)


def test_a_future_run_due_leaves_the_sender_lease_to_wall_clock_senders(
    tmp_path: Path,
    database_url: str,
    engine: Engine,
    session_factory: sessionmaker[Session],
    slack: SlackEmulator,
) -> None:
    crew_template(session_factory, slack, ("UC01",), created=utc_now())  # `--at` is ahead
    at = (utc_now() + timedelta(days=2)).replace(hour=9, minute=5).isoformat()
    log = tmp_path / "run.log"
    process = run_due_process(database_url, slack, log, at=at)
    assert process.wait(timeout=40) == 0, log.read_text()
    assert len(slack.delivered_keys("UC01")) == 1
    # A server's sender, on the wall clock, can send again at once.
    with session_factory() as session, session.begin():
        assert hold_lease(session, "T0TEAM", "a-server", utc_now(), LEASE_TTL)
