"""The weekly digest end to end: the real server, the emulator, signed requests.

Sending (the chart uploaded once, privately, shown by file id; `invalid_blocks` for a file
still processing retried; one digest with two writers), `/checkin digest` (placeholder then
views.update, never anonymous notes; kindly refused without reports), View more with its
permission check, and the whole database scanned after an anonymous note.
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.demo.emulator import SlackEmulator
from bot.jobs.digests import DigestPolicy, write_due
from bot.jobs.minute import run_due
from bot.services import digest_rules as rules
from bot.services import templates
from handlers.users import sync_all
from storage import checkins as checkin_store
from storage.models import CheckinOccurrence, Digest, OutboxMessage
from tests.digest_seed import (
    ISO_WEEK,
    MANAGER,
    SEND_AT,
    WEEK,
    ZONE,
    answered,
    occurrence,
    report,
    seed_team,
    template,
)
from tests.factories import TEAM, add_people, person
from tests.server import RunningServer
from tests.slack_requests import SlackRequests
from tests.waiting import wait_until

PEOPLE = ("UANN", "UBOB", "UCAT", "UDAN", "UEVE", "UOTHER", "UX01", "UY01", "UY02", "UY03")
KEY = f"digest:{MANAGER}:{ISO_WEEK}:message"


@pytest.fixture
def people(slack: SlackEmulator) -> None:
    slack.add_user(MANAGER, tz="America/New_York")
    for user_id in PEOPLE:
        slack.add_user(user_id, tz="Europe/Berlin")


def seed(server: RunningServer, week: Any = None) -> dict[str, int]:
    with server.deps.unit_of_work() as session:
        return seed_team(session, week) if week is not None else seed_team(session)


def digest_posts(slack: SlackEmulator) -> list[Any]:
    return [
        c
        for c in slack.calls("chat.postMessage")
        if c["metadata"]["event_payload"]["key"].startswith(f"digest:{MANAGER}:")
    ]


def test_the_digest_goes_once_with_its_chart_uploaded_once_and_privately(
    server: RunningServer, slack: SlackEmulator, people: None
) -> None:
    seed(server)
    policy = DigestPolicy.from_settings(server.deps.settings)
    # UANN manages UX01, who has no check-in: her digest is one message, with no chart to
    # upload (an empty frame tells her nothing). Sent first, so the fault below meets a chart.
    written = write_due(server.deps.session_factory, SEND_AT, policy, manager_id="UANN")
    assert written.written == 1
    server.deps.notify_outbox()
    (plain,) = slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c["metadata"]["event_payload"]["key"].startswith("digest:UANN:"),
    )
    assert not any(b["type"] == "image" for b in plain["blocks"])
    assert "0 of 0" not in json.dumps(plain["blocks"])
    # A file still processing: Slack refuses the image block once; the post is retried later.
    slack.inject_fault("chat.postMessage", error="invalid_blocks", times=1)
    with ThreadPoolExecutor(max_workers=2) as pool:  # two replicas' minute jobs at once
        runs = list(
            pool.map(
                lambda _: run_due(server.deps.session_factory, SEND_AT, digests=policy), range(2)
            )
        )
    assert sum(r.digests for r in runs) == 3  # UMGR, UBOB, UOTHER: once each
    server.deps.notify_outbox()
    posts = slack.wait_for(
        "chat.postMessage",
        count=5,  # four digests, and the one refused while its file was processing
        timeout=20,
        predicate=lambda c: c["metadata"]["event_payload"]["key"].startswith("digest:"),
    )[1:]
    with server.deps.unit_of_work() as session:
        weeks = session.scalars(select(Digest.iso_week).where(Digest.manager_id == MANAGER))
        assert weeks.all() == [ISO_WEEK]
        files = dict(
            session.execute(
                select(OutboxMessage.idempotency_key, OutboxMessage.result_channel).where(
                    OutboxMessage.idempotency_key.like("digest:%:chart")
                )
            ).all()
        )
    # Three charts, three private uploads: one each, never again for the retried post.
    assert len(files) == 3 and all(f and f.startswith("F") for f in files.values())
    assert len(slack.calls("files.getUploadURLExternal")) == 3
    completes = slack.calls("files.completeUploadExternal")
    assert len(completes) == 3 and not any(c.get("channel_id") for c in completes)
    refused_key = posts[0]["metadata"]["event_payload"]["key"]
    again = [p for p in posts if p["metadata"]["event_payload"]["key"] == refused_key]
    assert len(again) == 2 and again[0]["blocks"] == again[1]["blocks"]
    owner = refused_key.split(":")[1]
    assert [
        m for m in slack.messages(owner) if m["metadata"]["event_payload"]["key"] == refused_key
    ]
    file_id = files[f"digest:{MANAGER}:{ISO_WEEK}:chart"]
    posted = next(p for p in posts if p["metadata"]["event_payload"]["key"] == KEY)
    (image,) = [b for b in posted["blocks"] if b["type"] == "image"]
    assert image["slack_file"] == {"id": file_id}
    assert slack.file(file_id)["completed"] and slack.file(file_id)["channels"] == []
    dm = next(m for m in slack.messages(MANAGER) if m["metadata"]["event_payload"]["key"] == KEY)
    assert dm["text"].startswith(
        "Week of 3–9 Mar: 3 of 4 people answered (<@UCAT> missed; <@UDAN> away), "
        "pulse 2.0 from 3 of 4 (-1.0)"
    )
    body = json.dumps(dm["blocks"])
    for expected in (
        "Waiting on the security review",
        "still open",
        "Whom to talk to",
        "no answer two weeks running (missed, then missed)",
        "digest_view_more",
        "digest_give_kudos",
        "you replied to 1 of 2",
        "too small to show",
    ):
        assert expected in body, expected
    assert "Blocked on X" not in body  # UEVE's answer to someone else's check-in
    # The job again, or a second server: nothing more.
    assert (
        run_due(server.deps.session_factory, SEND_AT + timedelta(hours=1), digests=policy).digests
        == 0
    )


def test_checkin_digest_previews_without_anonymous_notes_and_view_more_is_for_the_manager(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, people: None
) -> None:
    now = datetime.now(UTC)
    ids = seed(server, rules.covered_week(now, ZONE))
    with server.deps.unit_of_work() as session:
        checkin_store.add_upward(
            session,
            team_id=TEAM,
            manager_id=MANAGER,
            author_id=None,
            occurrence_id=None,
            text="An anonymous secret",
            iso_week=rules.iso_week(rules.covered_week(now, ZONE)),
            released=False,
        )
    response = signed.command("/checkin", "digest", user_id=MANAGER, trigger_id="t-digest")
    assert response.status_code == 200 and not response.text.strip()
    (opened,) = slack.wait_for("views.open", predicate=lambda c: c["trigger_id"] == "t-digest")
    assert "Building your digest" in json.dumps(opened["view"])
    view_id = slack.calls("views.open")[-1]
    (updated,) = slack.wait_for("views.update", timeout=10)
    view = updated["view"] if isinstance(updated["view"], dict) else json.loads(updated["view"])
    body = json.dumps(view)
    assert "3 of 4 people answered" in body and "Waiting on the security review" in body
    assert "An anonymous secret" not in body
    assert not re.search(r"notes? waits?|until \d+ people", body)
    del view_id

    # View more: the manager reads the whole answer, with Reply; anyone else is refused.
    signed.block_action(
        user_id=MANAGER, action_id="digest_view_more", value=str(ids["UANN0"]), trigger_id="vm1"
    )
    (more,) = slack.wait_for("views.open", predicate=lambda c: c["trigger_id"] == "vm1")
    more_body = json.dumps(more["view"])
    assert "Waiting on the security review" in more_body and "digest_reply" in more_body
    assert "Let's talk about the review" in more_body  # the manager's reply
    signed.block_action(
        user_id="UBOB", action_id="digest_view_more", value=str(ids["UANN0"]), trigger_id="vm2"
    )
    (denied,) = slack.wait_for("views.open", predicate=lambda c: c["trigger_id"] == "vm2")
    assert "Waiting on the security review" not in json.dumps(denied["view"])
    assert "only the person's manager" in json.dumps(denied["view"])


def test_checkin_digest_from_someone_without_reports_says_so_kindly(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    response = signed.command("/checkin", "digest", user_id="UCHO", trigger_id="t-none")
    assert response.status_code == 200
    (updated,) = slack.wait_for("views.update", timeout=10)
    body = json.dumps(updated["view"])
    assert "no direct reports" in body and "/checkin setup" in body


# ----- anonymity in the database ----------------------------------------------------------------


ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def test_nothing_in_the_database_ties_an_anonymous_note_to_its_author(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    """Three people answer, Eva with an anonymous note; the next digest releases it. Then no
    row of any table holds the note, or says one exists, next to anything that names Eva."""
    members = ("UBEN", "UEVA", "UFIN")
    berlin_zone = ZoneInfo("Europe/Berlin")
    for user_id in ("UEVA", "UFIN", "UMAN"):
        slack.add_user(user_id, tz="Europe/Berlin")
    sync_all(server.deps, WebClient(token=slack.bot_token, base_url=slack.url), TEAM)
    now = datetime.now(UTC)
    berlin = now.astimezone(berlin_zone) - timedelta(minutes=5)
    definition = templates.TemplateDef(
        name="Daily",
        owner_id="UMAN",  # in Berlin like the team: the note's week is the answers' week
        member_ids=members,
        weekdays=ALL_DAYS,
        local_time=berlin.strftime("%H:%M"),
        questions=templates.DEFAULT_QUESTIONS,
        close_after=timedelta(hours=8),
    )
    with server.deps.unit_of_work() as session:
        templates.apply(session, TEAM, [definition], now - timedelta(days=1))
    run_due(server.deps.session_factory, now)
    with server.deps.unit_of_work() as session:
        occurrence_ids = {row.user_id: row.id for row in session.scalars(select(CheckinOccurrence))}
    for user_id in members:
        values = {
            "checkin_q_done": {"answer": {"type": "plain_text_input", "value": "Shipped"}},
            "checkin_q_next": {"answer": {"type": "plain_text_input", "value": "Docs"}},
            "checkin_q_blockers": {"answer": {"type": "plain_text_input", "value": None}},
            "checkin_q_pulse": {
                "answer": {"type": "static_select", "selected_option": {"value": "4"}}
            },
            "checkin_q_upward": {
                "answer": {
                    "type": "plain_text_input",
                    "value": "Standups run far too long" if user_id == "UEVA" else None,
                }
            },
            "checkin_anonymous": {
                "anonymous": {
                    "type": "checkboxes",
                    "selected_options": [{"value": "anonymous"}] if user_id == "UEVA" else [],
                }
            },
        }
        response = signed.view_submission(
            user_id=user_id,
            callback_id="checkin_modal",
            values=values,
            private_metadata=json.dumps({"occurrence_id": occurrence_ids[user_id]}),
            view_id=f"V{user_id}",
        )
        assert response.status_code == 200
        if user_id == "UEVA":
            assert response.json()["response_action"] == "update"
    # The digest covering this week, sent next Monday 09:00 in Berlin, releases the note.
    week = rules.covered_week(now + timedelta(days=7), berlin_zone)
    monday = rules.due_at(week, berlin_zone, "mon", DigestPolicy().at)
    policy = DigestPolicy.from_settings(server.deps.settings)
    assert run_due(server.deps.session_factory, monday, digests=policy).digests >= 1
    server.deps.notify_outbox()
    (notes_post,) = slack.wait_for(
        "chat.postMessage",
        timeout=15,
        predicate=lambda c: c["metadata"]["event_payload"]["key"].endswith(":notes"),
    )
    assert "Standups run far too long" in json.dumps(notes_post["blocks"])
    wait_until(lambda: _all_sent(server), timeout=15)

    occurrence_id = occurrence_ids["UEVA"]
    with server.deps.unit_of_work() as session:
        dump = _dump(session)
    note_rows = [
        (t, r) for t, r in dump if "standups run far too long" in json.dumps(r, default=str).lower()
    ]
    # The note itself, and the released notes' own message (which names no one).
    assert sorted(t for t, _ in note_rows) == ["outbox", "upward_feedback"]
    note = next(r for t, r in note_rows if t == "upward_feedback")
    assert note["author_id"] is None and note["occurrence_id"] is None and note["released"]
    assert re.fullmatch(r"[0-9a-f]{32}", note["id"])
    assert not any(isinstance(v, datetime) for v in note.values())  # the week, nothing finer
    for table, row in note_rows:
        assert not _identifies(table, row, occurrence_id), (table, row)
    # No row that names Eva (or her check-in) holds the note, its id, or says she wrote one.
    for table, row in dump:
        if not _identifies(table, row, occurrence_id):
            continue
        blob = json.dumps(row, default=str).lower()
        for telling in ("standups", note["id"], "anonymously", "your note", "held"):
            assert telling not in blob, (table, row)


def _identifies(table: str, row: dict[str, Any], occurrence_id: int) -> bool:
    """Does this row name Eva (her id, her DM) or her occurrence?"""
    if table == "checkin_occurrences" and row["id"] == occurrence_id:
        return True
    for column, value in row.items():
        if column == "occurrence_id" and value == occurrence_id:
            return True
        if re.search(r"\b[D]?UEVA\b", json.dumps(value, default=str)):
            return True
    return False


def _all_sent(server: RunningServer) -> bool:
    with server.deps.unit_of_work() as session:
        return not session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.status == "pending")
        ).first()


def _dump(session: Session) -> list[tuple[str, dict[str, Any]]]:
    """Every row of every table, as (table, {column: value})."""
    rows = []
    for table in inspect(session.get_bind()).get_table_names():
        result = session.execute(text(f'SELECT * FROM "{table}"'))
        rows += [(table, dict(r._mapping)) for r in result]
    return rows


# ----- App Home ---------------------------------------------------------------------------------


def home_of(slack: SlackEmulator, signed: SlackRequests, user_id: str, event_id: str) -> str:
    opened = {"type": "app_home_opened", "user": user_id, "channel": f"D{user_id}", "tab": "home"}
    assert signed.event(opened, event_id=event_id).status_code == 200
    (call,) = slack.wait_for(
        "views.publish", timeout=10, predicate=lambda c: c["user_id"] == user_id
    )
    home = slack.home_view(user_id)
    assert home is not None and len(home["blocks"]) <= 100  # Slack accepted it
    view = call["view"] if isinstance(call["view"], dict) else json.loads(call["view"])
    return json.dumps(view["blocks"])


def test_app_home_shows_the_team_to_managers_and_your_history_to_everyone(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, people: None
) -> None:
    week = rules.covered_week(datetime.now(UTC), ZONE)
    seed(server, week)
    before = home_of(slack, signed, MANAGER, "EvHOME1")
    assert "Your team" in before and "Whom to talk to" in before
    assert "digest_preview" in before and "3 of 4 people answered" in before
    assert "no answer two weeks running (missed, then missed)" in before
    # An anonymous note changes nothing on App Home, not even a count.
    with server.deps.unit_of_work() as session:
        checkin_store.add_upward(
            session,
            team_id=TEAM,
            manager_id=MANAGER,
            author_id=None,
            occurrence_id=None,
            text="Hidden",
            iso_week=rules.iso_week(week),
            released=False,
        )
    slack.reset()
    assert home_of(slack, signed, MANAGER, "EvHOME2") == before
    # A member: their last answers with the manager's reply, and their pulse as a sparkline.
    member = home_of(slack, signed, "UANN", "EvHOME3")
    assert "Your check-ins" in member and "Let's talk about the review" in member
    assert "Your pulse, last 8 weeks" in member and "Received" in member and "Given" in member
    assert "Your team" in member  # she manages UX01: her own (too small) team
    dan = home_of(slack, signed, "UDAN", "EvHOME4")
    assert "Your check-ins" in dan and "Your team" not in dan and "digest_preview" not in dan


# ----- priority ---------------------------------------------------------------------------------


def test_a_kudos_during_a_digest_fan_out_goes_first(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    """A smaller Monday: 200 bulk digest posts queued (4 s at the test's 50/s), then a kudos."""
    managers = [f"UM{i:03d}" for i in range(100)]
    for user_id in managers:
        slack.add_user(user_id, tz="America/New_York")
    now = datetime.now(UTC)
    with server.deps.unit_of_work() as session:
        outbox.post_messages(
            session,
            team_id=TEAM,
            messages=[
                (f"digest:{m}:{n}", m, "Weekly digest", None) for m in managers for n in (1, 2)
            ],
            now=now,
            bulk=True,
        )
    server.deps.notify_outbox()
    slack.wait_for("chat.postMessage", count=20, timeout=10)  # the fan-out is under way
    started = time.monotonic()
    assert (
        signed.command("/kudos", "<@UBEN> thanks for the review", user_id="UANA").status_code == 200
    )
    (dm,) = slack.wait_for(
        "chat.postMessage", timeout=10, predicate=lambda c: c["channel"] == "UBEN"
    )
    assert time.monotonic() - started < 10
    posts = slack.calls("chat.postMessage")
    digests_before = [c for c in posts[: posts.index(dm)] if str(c.get("text")) == "Weekly digest"]
    assert len(digests_before) < 200, "the kudos waited for the whole fan-out"
    slack.wait_for(
        "chat.postMessage",
        count=200,
        timeout=20,
        predicate=lambda c: str(c.get("text")) == "Weekly digest",
    )


def test_the_digest_buttons_give_kudos_and_reply_from_view_more(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, people: None
) -> None:
    ids = seed(server)
    signed.block_action(
        user_id=MANAGER, action_id="digest_give_kudos", value="UCAT", trigger_id="gk1"
    )
    (kudos,) = slack.wait_for("views.open", predicate=lambda c: c["trigger_id"] == "gk1")
    recipients = next(b for b in kudos["view"]["blocks"] if b.get("block_id") == "kudos_recipients")
    # The people picker is a short static list once the directory is known whole, Slack's
    # conversation picker otherwise; either way Cat is chosen already.
    element = recipients["element"]
    chosen = element.get("initial_conversations") or [
        option["value"] for option in element.get("initial_options", [])
    ]
    assert chosen == ["UCAT"]
    # Reply inside View more pushes the usual reply form for that answer.
    signed.block_action(
        user_id=MANAGER,
        action_id="digest_reply",
        value=str(ids["UANN0"]),
        trigger_id="rp1",
        view={"id": "V0MORE", "type": "modal"},
    )
    (pushed,) = slack.wait_for("views.push", predicate=lambda c: c["trigger_id"] == "rp1")
    assert pushed["view"]["callback_id"] == "checkin_reply_modal"
    assert json.loads(pushed["view"]["private_metadata"]) == {"occurrence_id": ids["UANN0"]}


def test_a_sixty_person_team_spills_into_the_thread_without_an_api_error(
    server: RunningServer, slack: SlackEmulator
) -> None:
    people_ids = [f"UT{i:03d}" for i in range(60)]
    slack.add_user(MANAGER, tz="America/New_York")
    with server.deps.unit_of_work() as session:
        add_people(session, SEND_AT, person(MANAGER), *(person(u) for u in people_ids))
        for user_id in people_ids:
            report(session, user_id, MANAGER)
        weekly = template(session, MANAGER, "Weekly", people_ids)
        for user_id in people_ids:
            for back in (0, 1):
                occurrence(
                    session,
                    weekly,
                    user_id,
                    WEEK - timedelta(weeks=back),
                    "answered",
                    answered(2, blocker="Waiting on a very long review " * 20, done="x" * 900),
                )
    policy = DigestPolicy.from_settings(server.deps.settings)
    assert run_due(server.deps.session_factory, SEND_AT, digests=policy).digests == 1
    server.deps.notify_outbox()
    wait_until(lambda: _all_sent(server), timeout=20)
    posts = digest_posts(slack)
    assert len(posts) >= 3 and all(c.status == 200 for c in posts)
    with server.deps.unit_of_work() as session:
        statuses = set(session.scalars(select(OutboxMessage.status)))
    assert statuses == {"sent"}
    thread = slack.messages(MANAGER)
    (top,) = [m for m in thread if not m.get("thread_ts")]
    replies = [m for m in thread if m.get("thread_ts") == top["ts"]]
    assert len(replies) == len(posts) - 1
    everything = json.dumps([c["blocks"] for c in posts])
    assert all(f"<@{u}>" in everything for u in people_ids)
