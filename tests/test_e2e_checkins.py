"""Check-ins end to end: a team in three time zones across a simulated week, through the real
server, signed requests and the Slack emulator; time travels through `run_due(at)` only."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.demo.emulator import SlackEmulator
from bot.jobs.minute import run_due
from bot.services import templates
from handlers.users import sync_all
from storage.models import CheckinOccurrence, OutboxMessage
from tests.server import RunningServer
from tests.slack_requests import SlackRequests
from tests.waiting import wait_until

ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OWNER = "UANA"  # America/New_York: DST ends 2037-11-01
MEMBERS = ("UBEN", "UCHO", "UDAN")  # Berlin (DST ended 2037-10-25), Tokyo (none), New York
MONDAY = datetime(2037, 10, 26, tzinfo=UTC)


def make_team(
    server: RunningServer,
    slack: SlackEmulator,
    *,
    local_time: str,
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri"),
    created: datetime,
    members: tuple[str, ...] = MEMBERS,
) -> RunningServer:
    slack.add_user("UDAN", tz="America/New_York")
    definition = templates.TemplateDef(
        name="Platform daily",
        owner_id=OWNER,
        member_ids=members,
        weekdays=days,
        local_time=local_time,
        questions=templates.DEFAULT_QUESTIONS,
        close_after=timedelta(hours=8),
        remind_after=timedelta(hours=2),
    )
    # The directory knows everyone's zone, as the start-up users.list leaves it.
    sync_all(server.deps, WebClient(token=slack.bot_token, base_url=slack.url), "T0TEAM")
    with server.deps.unit_of_work() as session:
        templates.apply(session, "T0TEAM", [definition], created)
    return server


@pytest.fixture
def week_team(server: RunningServer, slack: SlackEmulator) -> RunningServer:
    """09:00 on weekdays, created the day before the simulated week."""
    return make_team(server, slack, local_time="09:00", created=MONDAY - timedelta(days=1))


@pytest.fixture
def team(server: RunningServer, slack: SlackEmulator) -> RunningServer:
    """Due a few minutes ago in Berlin, every day: the server's real clock sees it open."""
    berlin_now = datetime.now(ZoneInfo("Europe/Berlin")) - timedelta(minutes=5)
    return make_team(
        server,
        slack,
        local_time=berlin_now.strftime("%H:%M"),
        days=ALL_DAYS,
        created=datetime.now(UTC) - timedelta(days=1),
    )


def due_now(server: RunningServer) -> None:
    run_due(server.deps.session_factory, datetime.now(UTC))


def occurrences(server: RunningServer) -> list[CheckinOccurrence]:
    with server.deps.unit_of_work() as session:
        return list(session.scalars(select(CheckinOccurrence).order_by(CheckinOccurrence.id)))


def prompts_to(slack: SlackEmulator, user_id: str) -> list[dict]:
    return [
        c
        for c in slack.calls("chat.postMessage")
        if c["channel"] == user_id and "Time for your" in c.get("text", "") and c.status == 200
    ]


def sweep(server: RunningServer, start: datetime, end: datetime, step=timedelta(minutes=30)):
    at = start
    while at <= end:
        run_due(server.deps.session_factory, at)
        at += step


def test_a_week_of_prompts_at_each_members_local_time(
    week_team: RunningServer, slack: SlackEmulator
) -> None:
    team = week_team
    sweep(team, MONDAY, MONDAY + timedelta(days=8) - timedelta(minutes=30))
    rows = occurrences(team)
    by_member: dict[str, list[datetime]] = {}
    for row in rows:
        by_member.setdefault(row.user_id, []).append(row.scheduled_at)
    # Berlin 09:00 CET = 08:00 UTC every weekday; Tokyo 09:00 = 00:00 UTC.
    assert by_member["UBEN"][:5] == [MONDAY + timedelta(days=d, hours=8) for d in range(5)]
    assert by_member["UCHO"][:5] == [MONDAY + timedelta(days=d) for d in range(5)]
    # New York: 13:00 UTC in EDT, 14:00 UTC from Monday 2 November (EST).
    assert by_member["UDAN"][:5] == [MONDAY + timedelta(days=d, hours=13) for d in range(5)]
    assert by_member["UDAN"][5] == datetime(2037, 11, 2, 14, tzinfo=UTC)
    assert all(len(v) == 6 for v in by_member.values())  # Mon-Fri + the next Monday
    wait_until(lambda: all(len(prompts_to(slack, m)) == 6 for m in MEMBERS), timeout=10)
    # Sweeping the same week again writes and sends nothing more.
    sweep(team, MONDAY, MONDAY + timedelta(days=8) - timedelta(hours=6), step=timedelta(hours=6))
    time.sleep(0.3)
    assert len(occurrences(team)) == 18
    assert all(len(prompts_to(slack, m)) == 6 for m in MEMBERS)


def test_answer_reaches_the_manager_and_the_dm_says_submitted(
    team: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    due_now(team)
    prompt = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UBEN")[0]
    occurrence = next(o for o in occurrences(team) if o.user_id == "UBEN")
    message = slack.messages("UBEN")[0]
    signed.block_action(
        user_id="UBEN",
        action_id="checkin_start",
        value=str(occurrence.id),
        channel_id="DUBEN",
        message_ts=message["ts"],
        trigger_id="start-1",
    )
    opened = slack.wait_for("views.open")[0]
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert view["callback_id"] == "checkin_modal"
    assert prompt["text"].startswith("Time for your Platform daily")

    def submit(values: dict) -> dict:
        response = signed.view_submission(
            user_id="UBEN",
            callback_id="checkin_modal",
            values=values,
            private_metadata=view["private_metadata"],
            view_id="VANS1",
        )
        assert response.status_code == 200
        return response.json() if response.text else {}

    errors = submit({"checkin_q_done": {"answer": {"type": "plain_text_input", "value": ""}}})
    assert errors["response_action"] == "errors"
    assert "checkin_q_done" in errors["errors"] and "checkin_q_pulse" in errors["errors"]

    answers = {
        "checkin_q_done": {"answer": {"type": "plain_text_input", "value": "Shipped <!here> v2"}},
        "checkin_q_next": {"answer": {"type": "plain_text_input", "value": "Docs"}},
        "checkin_q_blockers": {"answer": {"type": "plain_text_input", "value": ""}},
        "checkin_q_pulse": {"answer": {"type": "static_select", "selected_option": {"value": "4"}}},
        "checkin_q_upward": {"answer": {"type": "plain_text_input", "value": "More focus time"}},
    }
    assert submit(answers) == {}
    to_manager = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == OWNER)[0]
    sent = json.dumps(to_manager.get("blocks"))
    assert "Shipped" in sent and "<!here>" not in sent
    update = slack.wait_for("chat.update")[0]
    assert update["channel"] == "DUBEN" and update["ts"] == message["ts"]
    assert "Submitted" in update["text"]
    assert next(o for o in occurrences(team) if o.user_id == "UBEN").state == "answered"
    # The same modal submitted again (a double click) changes nothing and sends nothing.
    again = submit(answers)
    assert again.get("response_action") == "update"
    time.sleep(0.3)
    assert len([c for c in slack.calls("chat.postMessage") if c["channel"] == OWNER]) == 1


def outbox_row(server: RunningServer, key: str) -> OutboxMessage | None:
    with server.deps.unit_of_work() as session:
        return session.scalars(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
        ).first()


def test_snooze_skip_reminder_close_late_click_and_ooo(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    for user_id in ("UEVA", "UFIN"):
        slack.add_user(user_id, tz="Europe/Berlin")
    berlin = datetime.now(ZoneInfo("Europe/Berlin")) - timedelta(minutes=5)
    now = datetime.now(UTC)
    make_team(
        server,
        slack,
        local_time=berlin.strftime("%H:%M"),
        days=ALL_DAYS,
        created=now - timedelta(days=1),
        members=("UBEN", "UEVA", "UFIN"),
    )
    due_now(server)
    slack.wait_for(
        "chat.postMessage", count=3, predicate=lambda c: c["channel"] in {"UBEN", "UEVA", "UFIN"}
    )
    mine = {o.user_id: o for o in occurrences(server)}

    # Ben snoozes from the DM: that message says so, and the re-prompt is written for later.
    ben_dm = slack.messages("UBEN")[0]
    signed.block_action(
        user_id="UBEN",
        action_id="checkin_snooze",
        value=str(mine["UBEN"].id),
        channel_id="DUBEN",
        message_ts=ben_dm["ts"],
    )
    update = slack.wait_for("chat.update", predicate=lambda c: c["channel"] == "DUBEN")[0]
    assert "Snoozed until" in update["text"] and update["ts"] == ben_dm["ts"]
    due_now(server)
    with server.deps.unit_of_work() as session:
        snoozed_until = session.get(CheckinOccurrence, mine["UBEN"].id).snoozed_until
    assert outbox_row(server, f"checkin:{mine['UBEN'].id}:snooze:1") is None
    run_due(server.deps.session_factory, snoozed_until + timedelta(minutes=1))
    reprompt = outbox_row(server, f"checkin:{mine['UBEN'].id}:snooze:1")
    assert reprompt is not None and "Snooze is over" in json.dumps(reprompt.payload)

    # Ben snoozes again, with the command: his DM says so, and a fresh DM still follows.
    answer = signed.command("/checkin", "snooze 30m", user_id="UBEN").json()
    assert answer["text"].startswith("Snoozed"), answer
    status = outbox_row(server, f"checkin:{mine['UBEN'].id}:snoozed:2")
    assert status is not None and status.method == "chat.update"
    with server.deps.unit_of_work() as session:
        snoozed_until = session.get(CheckinOccurrence, mine["UBEN"].id).snoozed_until
    run_due(server.deps.session_factory, snoozed_until + timedelta(minutes=1))
    fresh = outbox_row(server, f"checkin:{mine['UBEN'].id}:snooze:2")
    assert fresh is not None and fresh.method == "chat.postMessage"

    # Eva skips with the command: her DM is replaced too.
    answer = signed.command("/checkin", "skip", user_id="UEVA").json()
    assert answer["text"].startswith("Skipped")
    slack.wait_for("chat.update", predicate=lambda c: c["channel"] == "DUEVA")
    assert (
        "no check-in waiting" in signed.command("/checkin", "skip", user_id="UEVA").json()["text"]
    )

    # Fin forgets: one reminder after 2 hours, however often the scheduler runs.
    for minutes in (121, 125, 180):
        run_due(server.deps.session_factory, now + timedelta(minutes=minutes))
    reminder = outbox_row(server, f"checkin:{mine['UFIN'].id}:reminder")
    assert reminder is not None and reminder.payload["channel"] == "UFIN"

    # After 8 hours it closes as missed; a late click says so and replaces that message.
    run_due(server.deps.session_factory, now + timedelta(hours=8, minutes=1))
    with server.deps.unit_of_work() as session:
        assert session.get(CheckinOccurrence, mine["UFIN"].id).state == "missed"
    fin_dm = slack.messages("UFIN")[0]
    signed.block_action(
        user_id="UFIN",
        action_id="checkin_start",
        value=str(mine["UFIN"].id),
        channel_id="DUFIN",
        message_ts=fin_dm["ts"],
        trigger_id="late-1",
    )
    notice = slack.wait_for("views.open", predicate=lambda c: c["trigger_id"] == "late-1")[0]
    assert "has closed" in json.dumps(notice["view"])
    closed = slack.wait_for("chat.update", predicate=lambda c: c["channel"] == "DUFIN")[0]
    assert closed["ts"] == fin_dm["ts"] and "closed" in closed["text"]

    # Eva is away until the day after tomorrow: those days are `away`, not prompted.
    until = (berlin + timedelta(days=2)).date().isoformat()
    reply = signed.command("/checkin", f"ooo until {until}", user_id="UEVA").json()
    assert f"until {until}" in reply["text"]
    run_due(server.deps.session_factory, now + timedelta(days=1, minutes=1))
    tomorrow = [o for o in occurrences(server) if o.user_id == "UEVA"][-1]
    assert tomorrow.state == "away" and tomorrow.prompt_outbox_id is None
    assert outbox_row(server, f"checkin:{tomorrow.id}:prompt") is None
    assert "Welcome back" in signed.command("/checkin", "ooo off", user_id="UEVA").json()["text"]


def test_command_verbs(team: RunningServer, slack: SlackEmulator, signed: SlackRequests) -> None:
    answer = signed.command("/checkin", "skip", user_id="UBEN").json()
    assert "no check-in waiting" in answer["text"]
    assert "ooo until" in signed.command("/checkin", "ooo", user_id="UBEN").json()["text"]
    assert "/checkin help" in signed.command("/checkin", "dance", user_id="UBEN").json()["text"]
    assert "Snooze" in signed.command("/checkin", "snooze soon", user_id="UBEN").json()["text"]
    help_text = signed.command("/checkin", "help", user_id="UBEN").json()["text"]
    assert "/checkin snooze 2h" in help_text
    signed.command("/checkin", "", user_id="UBEN", trigger_id="open-none")
    notice = slack.wait_for("views.open")[0]
    assert "no check-in waiting" in json.dumps(notice["view"])


def _outbox_statuses(server: RunningServer) -> list[str]:
    with server.deps.unit_of_work() as session:
        return list(session.scalars(select(OutboxMessage.status)))


def test_app_home_shows_the_waiting_check_in(
    team: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    signed.event({"type": "app_home_opened", "user": "UBEN", "tab": "home"}, event_id="Ev1")
    first = slack.wait_for("views.publish")[0]
    assert "Next: *Platform daily*" in json.dumps(first["view"])
    due_now(team)
    signed.event({"type": "app_home_opened", "user": "UBEN", "tab": "home"}, event_id="Ev2")
    second = slack.wait_for("views.publish", count=2)[1]
    assert "check-in is waiting" in json.dumps(second["view"])


def test_forms_slack_refuses_to_open_are_answered_not_silent(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    for text, command in (("", "/checkin"), ("setup", "/checkin setup")):
        response = signed.command("/checkin", text, user_id="UANA", trigger_id=f"expired-{text}")
        assert response.status_code == 200
        body = response.json()
        assert body["response_type"] == "ephemeral"
        assert f"Please run `{command}` again" in body["text"]
    assert [c.status for c in slack.calls("views.open")] == [200, 200]  # both refused by Slack
