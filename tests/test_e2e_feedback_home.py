"""App Home's Feedback section and "Answer the team", end to end. UANA manages UBEN and UCHO."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.demo.emulator import SlackEmulator
from bot.services.feedback import NO_TEAM
from handlers.blocks.feedback import answer_team_button
from storage.models import ConversationMessage, OutboxMessage
from tests.feedback_flows import (
    all_sent,
    count,
    give_values,
    opened_view,
    set_managers,
    submit,
    text_input,
)
from tests.server import RunningServer
from tests.slack_requests import SlackRequests
from tests.test_e2e_feedback_requests import request_values


@pytest.fixture
def org(server: RunningServer) -> RunningServer:
    set_managers(server, {"UBEN": "UANA", "UCHO": "UANA"})
    return server


def home_text(signed: SlackRequests, slack: SlackEmulator, user_id: str) -> str:
    before = len(slack.calls("views.publish"))
    signed.event(
        {"type": "app_home_opened", "user": user_id, "channel": f"D{user_id}", "tab": "home"}
    )
    call = slack.wait_for("views.publish", count=before + 1)[-1]
    assert call["user_id"] == user_id
    view = call["view"] if isinstance(call["view"], dict) else json.loads(call["view"])
    assert len(view["blocks"]) <= 100
    return json.dumps(view["blocks"])


def test_home_shows_feedback_received_requests_waiting_and_open(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    submit(signed, "UCHO", "feedback_modal", give_values("UBEN", "Sharp review"), view_id="VH1")
    due = datetime.now(ZoneInfo("America/New_York")).date() + timedelta(days=3)
    submit(
        signed,
        "UANA",
        "feedback_request_modal",
        request_values(["UBEN", "UCHO"], due),
        view_id="VH2",
    )
    ben = home_text(signed, slack, "UBEN")
    assert "Feedback received" in ben and "<@UCHO>" in ben and "Sharp review" in ben
    assert "Waiting for your answer" in ben
    # The day ends in the requester's zone, which is not Ben's: it says which.
    assert f"due by the end of {due:%a} {due.isoformat()}, America/New_York time" in ben
    assert "answer_team" not in ben  # not a manager
    ana = home_text(signed, slack, "UANA")
    assert "Your open requests" in ana and "0 of 2 answered" in ana
    assert f"{due.isoformat()}, America/New_York time" in ana
    assert "answer_team" in ana and "Sharp review" not in ana  # not hers to read


def test_answer_the_team_reaches_every_direct_report_once(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    button = answer_team_button("2037-W48")
    assert button["action_id"] == "answer_team" and button["value"] == "2037-W48"
    signed.block_action(
        user_id="UANA",
        action_id="answer_team",
        value="2037-W48",
        channel_id="DUANA",
        trigger_id="t-team",
    )
    view = opened_view(slack, "t-team")
    assert view["callback_id"] == "answer_team_modal" and "2 direct reports" in json.dumps(view)
    empty = submit(
        signed,
        "UANA",
        "answer_team_modal",
        {"answer_team_text": text_input("")},
        view_id="VTEAM",
        private_metadata=view["private_metadata"],
    )
    assert "answer_team_text" in empty["errors"]
    for _ in range(2):  # the second is a replay
        sent = submit(
            signed,
            "UANA",
            "answer_team_modal",
            {
                "answer_team_text": text_input(
                    "Fair point about meetings <!channel>: fewer from Monday."
                )
            },
            view_id="VTEAM",
            private_metadata=view["private_metadata"],
        )
        assert sent == {}
    dms = slack.wait_for("chat.postMessage", count=2)
    assert sorted(c["channel"] for c in dms) == ["UBEN", "UCHO"]
    for dm in dms:
        assert "answers an anonymous note from the week 2037-W48" in json.dumps(dm["blocks"])
        assert "<!channel>" not in json.dumps(dm["blocks"])
    all_sent(org)
    assert len(slack.calls("chat.postMessage")) == 2
    with org.deps.unit_of_work() as session:
        kept = session.scalars(select(ConversationMessage)).one()
        assert (kept.kind, kept.item_id, kept.author_id) == ("team", None, "UANA")

    # Someone with no reports: told so when clicking, refused on a forged submission.
    rows = count(org, OutboxMessage)
    signed.block_action(
        user_id="UBEN", action_id="answer_team", channel_id="DUBEN", trigger_id="t-no"
    )
    assert opened_view(slack, "t-no")["blocks"][0]["text"]["text"] == NO_TEAM
    forged = submit(
        signed,
        "UBEN",
        "answer_team_modal",
        {"answer_team_text": text_input("hi all")},
        view_id="VFORGED",
    )
    assert forged["errors"] == {"answer_team_text": NO_TEAM}
    assert count(org, OutboxMessage) == rows
