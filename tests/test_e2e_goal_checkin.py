"""Goals in the check-in, end to end: the real server, the Slack emulator, signed requests.

Ben answers his Friday check-in with goal updates: a bad value is a field error that stores
nothing; his answer reaches Ana's DM as one line per key result (a private goal of someone
outside her chain never shows) and the team channel only with the public ones; the same
submission replayed writes nothing twice; Monday's digest, written by the minute job's writer,
has the right progress and status. Cho owns no key result and sees one line saying so. The
setup modal accepts the kind.

Every instant is in February 2037 (cycle 2037-Q1, 1 Jan - 31 Mar); the server's clock is
injected, so the status a line shows does not depend on the day the suite runs.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.demo.emulator import SlackEmulator
from bot.jobs.digests import DigestPolicy, write_due
from bot.jobs.minute import run_due
from bot.services import templates
from handlers.users import sync_all
from storage.models import CheckinOccurrence, Digest, KeyResult, KeyResultUpdate
from tests import goal_seed
from tests.digest_seed import report
from tests.server import RunningServer
from tests.slack_requests import SlackRequests
from tests.test_e2e_checkin_setup import open_setup, save, state

OWNER, BEN, CHO, STRANGER = "UANA", "UBEN", "UCHO", "UDEV"
CHANNEL = "C0TEAM"
CREATED = datetime(2037, 1, 5, tzinfo=UTC)
FRIDAY = datetime(2037, 2, 13, 15, 10, tzinfo=UTC)  # 16:10 in Berlin: Ben's check-in is open
ANSWERED_AT = FRIDAY + timedelta(minutes=20)
MONDAY = datetime(2037, 2, 16, 14, 0, tzinfo=UTC)  # 09:00 in New York, Ana's digest time


def view_of(call: Any) -> dict[str, Any]:
    view = call["view"]
    return view if isinstance(view, dict) else json.loads(view)


def texts(blocks: list[dict[str, Any]]) -> str:
    found = []
    for block in blocks:
        if block.get("type") in ("section", "header") and block.get("text"):
            found.append(block["text"]["text"])
        elif block.get("type") == "context":
            found += [e.get("text", "") for e in block["elements"]]
    return "\n".join(found)


@pytest.fixture
def team(server: RunningServer, slack: SlackEmulator) -> dict[str, int]:
    """Ana's weekly check-in for Ben and Cho (Friday 16:00, a goals question, a team channel);
    Ben owns four key results, one of them in a private goal of someone outside Ana's chain."""
    slack.add_channel(CHANNEL, "team")
    sync_all(server.deps, WebClient(token=slack.bot_token, base_url=slack.url), "T0TEAM")
    definition = templates.parse_template(
        {
            "name": "Weekly",
            "owner": OWNER,
            "members": [BEN, CHO],
            "schedule": {"days": ["fri"], "time": "16:00"},
            "close_after": "1d",
            "post_to": {"manager": True, "channel": CHANNEL},
            "questions": [
                {"id": "done", "text": "What did you get done?", "kind": "text", "required": True},
                {"id": "pulse", "text": "How do you feel?", "kind": "pulse", "required": True},
                {"id": "goals", "kind": "goals"},
            ],
        },
        lambda _: None,
    )
    ids: dict[str, int] = {}
    with server.deps.unit_of_work() as session:
        templates.apply(session, "T0TEAM", [definition], CREATED)
        report(session, BEN, OWNER)
        report(session, CHO, OWNER)
        growth = goal_seed.objective(session, OWNER, "Self-serve grows 30%", CREATED)
        ids["mrr"] = goal_seed.key_result(
            session,
            growth,
            "Self-serve MRR",
            BEN,
            CREATED,
            start=100_000,
            target=130_000,
            measure="currency",
            unit="USD",
        )
        ids["pricing"] = goal_seed.key_result(
            session, growth, "Pricing page live", BEN, CREATED, measure="milestone", target=1
        )
        rust = goal_seed.objective(
            session, BEN, "Learn Rust", CREATED, kind="development", visibility="private"
        )
        ids["chapters"] = goal_seed.key_result(
            session, rust, "Chapters read", BEN, CREATED, target=10
        )
        secret = goal_seed.objective(
            session, STRANGER, "Secret launch", CREATED, kind="personal", visibility="private"
        )
        ids["secret"] = goal_seed.key_result(session, secret, "Secret metric", BEN, CREATED)
        goal_seed.update(
            session,
            ids["mrr"],
            100_000,
            datetime(2037, 2, 6, 12, tzinfo=UTC),
            note="kick-off",
        )
    run_due(server.deps.session_factory, FRIDAY)
    server.deps.clock = lambda: ANSWERED_AT
    return ids


def open_form(
    slack: SlackEmulator, signed: SlackRequests, server: RunningServer, user_id: str
) -> tuple[dict[str, Any], int]:
    slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == user_id, timeout=10)
    with server.deps.unit_of_work() as session:
        occurrence = session.scalars(
            select(CheckinOccurrence).where(
                CheckinOccurrence.user_id == user_id, CheckinOccurrence.state == "pending"
            )
        ).one()
    trigger = signed.trigger_id()
    signed.block_action(
        user_id=user_id,
        action_id="checkin_start",
        value=str(occurrence.id),
        channel_id=f"D{user_id}",
        message_ts=slack.messages(user_id)[-1]["ts"],
        trigger_id=trigger,
    )
    call = slack.wait_for("views.open", predicate=lambda c: c["trigger_id"] == trigger)[0]
    assert call.status == 200, call
    return view_of(call), occurrence.id


def submit(
    signed: SlackRequests, user_id: str, view: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    response = signed.view_submission(
        user_id=user_id,
        callback_id="checkin_modal",
        values=values,
        private_metadata=view["private_metadata"],
        view_id=f"V{user_id}",
    )
    assert response.status_code == 200
    return response.json() if response.text else {}


def text_input(value: str | None) -> dict[str, Any]:
    return {"answer": {"type": "plain_text_input", "value": value}}


def select_input(value: str | None) -> dict[str, Any]:
    chosen = {"value": value} if value else None
    return {"answer": {"type": "static_select", "selected_option": chosen}}


def as_slack_sends(view: dict[str, Any]) -> dict[str, Any]:
    """The form's state as Slack sends it untouched: every input with its initial value."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        if element["type"] == "plain_text_input":
            values[block["block_id"]] = text_input(element.get("initial_value"))
        else:
            values[block["block_id"]] = select_input(
                (element.get("initial_option") or {}).get("value")
            )
    return values


def goal_update_count(server: RunningServer) -> int:
    with server.deps.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(KeyResultUpdate)) or 0


def test_goal_updates_from_the_form_to_the_managers_dm_and_the_digest(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, team: dict[str, int]
) -> None:
    view, occurrence_id = open_form(slack, signed, server, BEN)
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    mrr, pricing, chapters = team["mrr"], team["pricing"], team["chapters"]
    field = f"checkin_q_goals.{mrr}"
    assert blocks[f"{field}.value"]["element"]["initial_value"] == "100000"
    assert blocks[f"{field}.confidence"]["element"]["initial_option"]["value"] == "on_track"
    assert blocks[f"checkin_q_goals.{pricing}.value"]["element"]["initial_option"]["value"] == (
        "not_done"
    )
    assert f"checkin_q_goals.{team['secret']}.value" in blocks  # his to update, whoever reads it
    assert len(view["blocks"]) <= 100

    values = as_slack_sends(view)
    values["checkin_q_done"] = text_input("Shipped the pricing page")
    values["checkin_q_pulse"] = select_input("4")
    values[f"{field}.value"] = text_input("lots")
    values[f"{field}.confidence"] = select_input("at_risk")
    values[f"{field}.note"] = text_input("two deals slipped")
    values[f"checkin_q_goals.{pricing}.value"] = select_input("done")
    values[f"checkin_q_goals.{pricing}.confidence"] = select_input("on_track")

    refused = submit(signed, BEN, view, values)
    assert refused["response_action"] == "errors"
    assert list(refused["errors"]) == [f"{field}.value"]
    assert "Write a number" in refused["errors"][f"{field}.value"]
    assert goal_update_count(server) == 1  # only the seeded one: nothing was written

    values[f"{field}.value"] = text_input("112,000")
    assert submit(signed, BEN, view, values) == {}
    to_ana = slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c["channel"] == OWNER and "UBEN" in c.get("text", ""),
        timeout=10,
    )[0]
    dm = texts(to_ana["blocks"])
    assert '• Self-serve MRR 100,000 → 112,000 USD (40%, at risk): "two deals slipped"' in dm
    assert "• Pricing page live not done → done (100%, on track)" in dm
    # Ben's private goal is Ana's to read (she manages him); the stranger's is not.
    assert "• Chapters read 0 (0%, off track), no update" in dm
    assert "Secret metric" not in dm and "Secret" not in json.dumps(to_ana["blocks"])
    thread = slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c["channel"] == CHANNEL and c.get("thread_ts"),
        timeout=10,
    )[0]
    shared = texts(thread["blocks"])
    assert "Self-serve MRR 100,000 → 112,000 USD" in shared and "Pricing page live" in shared
    assert "Chapters read" not in shared and "Secret" not in shared  # private: never a channel

    # The same submission again (a retry, a double click): nothing is written twice.
    again = submit(signed, BEN, view, values)
    assert again.get("response_action") == "update"
    time.sleep(0.3)
    assert goal_update_count(server) == 3
    with server.deps.unit_of_work() as session:
        written = session.scalars(
            select(KeyResultUpdate).where(KeyResultUpdate.occurrence_id == occurrence_id)
        ).all()
        assert sorted((u.key_result_id, u.value, u.confidence) for u in written) == [
            (mrr, 112_000, "at_risk"),
            (pricing, 1, "on_track"),
        ]
        assert session.get(KeyResult, mrr).current == 112_000  # type: ignore[union-attr]
        assert session.get(KeyResult, chapters).current == 0  # type: ignore[union-attr]
    ana_dms = [
        c
        for c in slack.calls("chat.postMessage")
        if c["channel"] == OWNER and "UBEN" in c.get("text", "")
    ]
    assert len(ana_dms) == 1

    # Monday: the minute job's writer writes Ana's digest for the week of 9-15 February.
    policy = DigestPolicy.from_settings(server.deps.settings)
    assert write_due(server.deps.session_factory, MONDAY, policy, manager_id=OWNER).written == 1
    server.deps.notify_outbox()
    digest = slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c["channel"] == OWNER
        and c["metadata"]["event_payload"]["key"].startswith("digest:"),
        timeout=10,
    )[0]
    text = texts(digest["blocks"])
    # 112,000 of 100,000 -> 130,000 is 40%, the milestone done: 70%, from 0% a week before,
    # with 45/89 of the quarter gone by Sunday; at risk, as Ben said of the MRR.
    assert (
        "• *Self-serve grows 30%* (<@UANA>): ▓▓▓▓▓▓▓░░░ 70% · +70 pts this week · expected 51% "
        "· *at risk*"
    ) in text
    assert (
        '• Self-serve MRR (<@UBEN>, Self-serve grows 30%): *at risk*, 40% of the way: "two deals '
        'slipped"'
    ) in text
    assert (
        "• Chapters read (<@UBEN>, Learn Rust): *off track*, 0% of the way · no update for 42 days"
    ) in text
    assert "Secret" not in json.dumps(digest["blocks"])
    assert "off track two weeks running: Chapters read" in text
    with server.deps.unit_of_work() as session:
        content = session.scalars(select(Digest.content)).one()
    assert content["goals"][0]["progress"] == 0.7 and content["goals"][0]["status"] == "at_risk"


def test_a_member_with_no_key_result_sees_one_line(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, team: dict[str, int]
) -> None:
    view, _ = open_form(slack, signed, server, CHO)
    goal_blocks = [b for b in view["blocks"] if "key result" in json.dumps(b)]
    assert len(goal_blocks) == 1 and goal_blocks[0]["type"] == "context"
    assert "You own no active key result in 2037-Q1" in texts(goal_blocks)
    assert not any("goals." in b.get("block_id", "") for b in view["blocks"])
    values = {
        "checkin_q_done": text_input("Reviews"),
        "checkin_q_pulse": select_input("3"),
    }
    assert submit(signed, CHO, view, values) == {}
    to_ana = slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c["channel"] == OWNER and "UCHO" in c.get("text", ""),
        timeout=10,
    )[0]
    assert "key results move" not in texts(to_ana["blocks"])
    assert goal_update_count(server) == 1


def test_the_setup_modal_accepts_goal_updates(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    slack.add_channel(CHANNEL, "team")
    view = open_setup(signed, slack, OWNER)
    assert "[goals]" in json.dumps(view["blocks"])  # the hint names the kind
    saved = save(
        signed,
        OWNER,
        view,
        state(questions="What did you get done? *\n[pulse] How do you feel? *\n[goals]"),
    )
    assert saved == {}
    with server.deps.unit_of_work() as session:
        [info] = templates.templates_owned_by(session, "T0TEAM", OWNER)
    goals = info.definition.questions[-1]
    assert (goals.kind, goals.text, goals.required) == (
        "goals",
        templates.GOALS_TEXT,
        False,
    )
    refused = save(
        signed,
        OWNER,
        open_setup(signed, slack, OWNER, "setup Team sync"),
        state(questions="What did you get done? *\n[goals] *"),
    )
    assert refused["response_action"] == "errors"
    assert "cannot be required" in refused["errors"]["setup_questions"]
