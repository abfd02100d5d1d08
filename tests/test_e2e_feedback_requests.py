"""`/feedback request` end to end: ask, answer, decline, the reminder and the close from the
minute job (`run_due(at)`, instants derived from the stored due time), the late click, the
subject case, threads between requester and giver, every refusal and denial."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.demo.emulator import SlackEmulator
from bot.jobs.minute import run_due
from bot.services.feedback_requests import DENIED
from handlers.users import sync_all
from storage.models import FeedbackAsked, FeedbackRequest, OutboxMessage
from tests.feedback_flows import (
    TEAM,
    all_sent,
    count,
    dm_event,
    opened_view,
    set_managers,
    submit,
    text_input,
)
from tests.server import RunningServer
from tests.slack_requests import SlackRequests

TOKYO = ZoneInfo("Asia/Tokyo")  # UCHO's zone
NEW_YORK = ZoneInfo("America/New_York")  # UANA's zone


@pytest.fixture
def org(server: RunningServer, slack: SlackEmulator) -> RunningServer:
    """UANA manages UBEN; the directory knows everyone's zone, as after start-up."""
    slack.add_user("UEVE", tz="Europe/Paris")
    sync_all(server.deps, WebClient(token=slack.bot_token, base_url=slack.url), TEAM)
    set_managers(server, {"UBEN": "UANA"})
    return server


def request_values(
    people: list[str],
    due: date,
    *,
    topic: str = "the Q4 launch review",
    questions: tuple[str, ...] = ("What went well?", "What could be better?", ""),
    subject: str | None = None,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "request_people": {"value": {"type": "multi_users_select", "selected_users": people}},
        "request_topic": text_input(topic),
        "request_due": {"value": {"type": "datepicker", "selected_date": due.isoformat()}},
    }
    for index, question in enumerate(questions):
        values[f"request_q_{index}"] = text_input(question)
    if subject is not None:
        values["request_subject"] = {"value": {"type": "users_select", "selected_user": subject}}
    return values


def answer_values(*answers: str, share: bool = False) -> dict[str, Any]:
    values: dict[str, Any] = {f"answer_q_{i}": text_input(a) for i, a in enumerate(answers)}
    values["answer_share"] = {
        "value": {
            "type": "checkboxes",
            "selected_options": [{"value": "share"}] if share else [],
        }
    }
    return values


def ask(
    signed: SlackRequests, slack: SlackEmulator, requester: str, values: dict, view_id: str
) -> dict:
    trigger = f"t-ask-{view_id}"
    response = signed.command(
        "/feedback", "request the demo", user_id=requester, trigger_id=trigger
    )
    assert response.status_code == 200 and response.text == ""
    view = opened_view(slack, trigger)
    assert view["callback_id"] == "feedback_request_modal"
    topic = next(b for b in view["blocks"] if b["block_id"] == "request_topic")
    assert topic["element"]["initial_value"] == "the demo"
    return view, submit(signed, requester, "feedback_request_modal", values, view_id=view_id)


def the_request(server: RunningServer) -> FeedbackRequest:
    with server.deps.unit_of_work() as session:
        return session.scalars(select(FeedbackRequest)).one()


def states(server: RunningServer) -> dict[str, str]:
    with server.deps.unit_of_work() as session:
        return {a.user_id: a.state for a in session.scalars(select(FeedbackAsked))}


def click(
    signed: SlackRequests, slack: SlackEmulator, user_id: str, action: str, request_id: int
) -> tuple[str, dict]:
    """Click a button of the asking DM (the latest message there); returns its ts."""
    message = next(m for m in slack.messages(user_id) if "asks for your feedback" in m["text"])
    trigger = f"t-{action}-{user_id}-{message['ts']}-{len(slack.calls())}"
    signed.block_action(
        user_id=user_id,
        action_id=action,
        value=str(request_id),
        channel_id=f"D{user_id}",
        message_ts=message["ts"],
        trigger_id=trigger,
    )
    return message["ts"], trigger


def test_ask_answer_decline_remind_close_summary_late_click_and_threads(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    today_tokyo = datetime.now(TOKYO).date()
    view, answer = ask(
        signed,
        slack,
        "UCHO",
        request_values(["UANA", "UBEN", "UDEV"], today_tokyo + timedelta(2)),
        "VREQ1",
    )
    assert answer == {}
    # A non-manager's form has no subject; due in a week of the requester's days by default.
    assert "request_subject" not in [b["block_id"] for b in view["blocks"]]
    due_block = next(b for b in view["blocks"] if b["block_id"] == "request_due")
    assert due_block["element"]["initial_date"] == (today_tokyo + timedelta(7)).isoformat()
    request = the_request(org)
    # Due at the end of that day in Tokyo.
    end_of_day = datetime.combine(today_tokyo + timedelta(3), datetime.min.time(), TOKYO)
    assert request.due_at == end_of_day.astimezone(UTC)
    all_sent(org)
    for user_id in ("UANA", "UBEN", "UDEV"):
        assert "the Q4 launch review" in slack.messages(user_id)[0]["text"]
    assert "I asked <@UANA>, <@UBEN> and <@UDEV>" in slack.messages("UCHO")[0]["text"]
    # The same form submitted again (a double click) asks nobody twice.
    values = request_values(["UANA", "UBEN", "UDEV"], today_tokyo + timedelta(2))
    assert submit(signed, "UCHO", "feedback_request_modal", values, view_id="VREQ1") == {}
    all_sent(org)
    assert count(org, FeedbackRequest) == 1 and len(slack.messages("UANA")) == 1

    # UANA answers; the answer form shows the requester's questions.
    ask_ts, trigger = click(signed, slack, "UANA", "request_answer", request.id)
    form = opened_view(slack, trigger)
    labels = [b["label"]["text"] for b in form["blocks"] if b["type"] == "input"]
    assert labels == ["What went well?", "What could be better?"]
    empty = submit(
        signed,
        "UANA",
        "feedback_answer_modal",
        answer_values("", ""),
        view_id="VANS1",
        private_metadata=form["private_metadata"],
    )
    assert empty["errors"] == {"answer_q_0": "Answer at least one question."}
    for _ in range(2):  # the second is a replay
        done = submit(
            signed,
            "UANA",
            "feedback_answer_modal",
            answer_values("Crisp demo", ""),
            view_id="VANS1",
            private_metadata=form["private_metadata"],
        )
    assert done.get("response_action") in (None, "update")
    answer_dm = slack.wait_for(
        "chat.postMessage", predicate=lambda c: "<@UANA> answered" in c["text"]
    )
    assert answer_dm[0]["channel"] == "UCHO" and "Crisp demo" in json.dumps(answer_dm[0]["blocks"])
    answered = slack.wait_for("chat.update", predicate=lambda c: "You answered" in c["text"])
    assert answered[0]["ts"] == ask_ts

    # UBEN declines; UDEV stays silent.
    decline_ts, _ = click(signed, slack, "UBEN", "request_decline", request.id)
    declined = slack.wait_for("chat.update", predicate=lambda c: "You declined" in c["text"])
    assert declined[0]["ts"] == decline_ts
    signed.block_action(  # a second click on the same message: nothing more
        user_id="UBEN",
        action_id="request_decline",
        value=str(request.id),
        channel_id="DUBEN",
        message_ts=decline_ts,
    )
    all_sent(org)
    assert len([c for c in slack.calls("chat.update") if "You declined" in c["text"]]) == 1
    assert states(org) == {"UANA": "answered", "UBEN": "declined", "UDEV": "pending"}

    # The requester replies under the answer; the giver answers back under the asking DM.
    all_sent(org)
    answer_msg = next(m for m in slack.messages("UCHO") if "<@UANA> answered" in m["text"])
    signed.event(
        dm_event("UCHO", "Which part?", ts="1900000200.000001", thread_ts=answer_msg["ts"])
    )
    to_giver = slack.wait_for("chat.postMessage", predicate=lambda c: "Which part?" in c["text"])
    assert to_giver[0]["channel"] == "DUANA" and to_giver[0]["thread_ts"] == ask_ts
    signed.event(dm_event("UANA", "The rollback plan", ts="1900000200.000002", thread_ts=ask_ts))
    back = slack.wait_for("chat.postMessage", predicate=lambda c: "rollback plan" in c["text"])
    assert back[0]["channel"] == "DUCHO" and back[0]["thread_ts"] == answer_msg["ts"]

    # One reminder a day before the due time, to whoever is still pending; once.
    remind_at = request.due_at - timedelta(days=1)
    assert (
        run_due(org.deps.session_factory, remind_at - timedelta(minutes=1)).requests_reminded == 0
    )
    assert run_due(org.deps.session_factory, remind_at).requests_reminded == 1
    assert run_due(org.deps.session_factory, remind_at + timedelta(hours=1)).requests_reminded == 0
    reminder = slack.wait_for("chat.postMessage", predicate=lambda c: "Reminder" in c["text"])
    assert [c["channel"] for c in reminder] == ["UDEV"]

    # At the due time it closes: a summary to the requester, once.
    assert run_due(org.deps.session_factory, request.due_at).requests_closed == 1
    assert (
        run_due(org.deps.session_factory, request.due_at + timedelta(days=1)).requests_closed == 0
    )
    summary = slack.wait_for("chat.postMessage", predicate=lambda c: "has closed" in c["text"])
    body = json.dumps(summary[0]["blocks"])
    assert summary[0]["channel"] == "UCHO"
    assert "*Answered* (1): <@UANA>" in body and "*Declined* (1): <@UBEN>" in body
    assert "*Did not answer* (1): <@UDEV>" in body
    assert states(org)["UDEV"] == "expired"

    # A click after that says so and replaces that one message; a late answer is refused.
    late_ts, trigger = click(signed, slack, "UDEV", "request_answer", request.id)
    assert "closed" in opened_view(slack, trigger)["blocks"][0]["text"]["text"]
    replaced = slack.wait_for("chat.update", predicate=lambda c: c["ts"] == late_ts)
    assert "no longer takes answers" in replaced[0]["text"]
    late = submit(
        signed,
        "UDEV",
        "feedback_answer_modal",
        answer_values("too late"),
        view_id="VLATE",
        private_metadata=json.dumps({"request_id": request.id}),
    )
    assert late["response_action"] == "update" and "closed" in json.dumps(late["view"])
    all_sent(org)
    assert states(org)["UDEV"] == "expired"
    assert len([c for c in slack.calls("chat.postMessage") if "has closed" in c["text"]]) == 1


def test_subject_answers_go_to_the_manager_and_only_shared_ones_reach_the_subject(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    due = datetime.now(NEW_YORK).date() + timedelta(days=1)
    view, answer = ask(
        signed,
        slack,
        "UANA",
        request_values(["UCHO", "UDEV"], due, topic="the migration", subject="UBEN"),
        "VSUB",
    )
    assert answer == {}
    assert "request_subject" in [b["block_id"] for b in view["blocks"]]
    request = the_request(org)
    all_sent(org)
    assert "how <@UBEN> did on *the migration*" in slack.messages("UCHO")[0]["text"]
    for giver, text, share in (
        ("UCHO", "Calm under pressure", True),
        ("UDEV", "Rushed docs", False),
    ):
        _, trigger = click(signed, slack, giver, "request_answer", request.id)
        form = opened_view(slack, trigger)
        assert any(b.get("block_id") == "answer_share" for b in form["blocks"])
        submit(
            signed,
            giver,
            "feedback_answer_modal",
            answer_values(text, "", share=share),
            view_id=f"VSUB-{giver}",
            private_metadata=form["private_metadata"],
        )
    answers = slack.wait_for(
        "chat.postMessage", count=2, predicate=lambda c: "answered your" in c["text"]
    )
    assert {c["channel"] for c in answers} == {"UANA"}
    assert not [c for c in slack.calls("chat.postMessage") if c["channel"] == "UBEN"]
    run_due(org.deps.session_factory, request.due_at)
    to_subject = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UBEN")
    sent = json.dumps(to_subject[0]["blocks"])
    assert "From <@UCHO>" in sent and "Calm under pressure" in sent
    assert "UDEV" not in sent and "Rushed docs" not in sent


def test_no_subject_is_sent_when_nobody_shared(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    due = datetime.now(NEW_YORK).date()
    ask(signed, slack, "UANA", request_values(["UCHO"], due, subject="UBEN"), "VNOSHARE")
    request = the_request(org)
    # Due within a day of the ask: the ask itself is the only nudge, no reminder on top.
    for hours in (1, 12):
        at = request.created_at + timedelta(hours=hours)
        assert (
            run_due(
                org.deps.session_factory, min(at, request.due_at - timedelta(minutes=1))
            ).requests_reminded
            == 0
        )
    run_due(org.deps.session_factory, request.due_at)
    slack.wait_for("chat.postMessage", predicate=lambda c: "has closed" in c["text"])
    all_sent(org)
    assert not [c for c in slack.calls("chat.postMessage") if c["channel"] == "UBEN"]


def test_refusals_name_the_field_and_store_nothing(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    today = datetime.now(TOKYO).date()
    cases = [
        (request_values(["UCHO", "UBEN"], today), "request_people", "yourself"),
        (request_values(["UROBOT"], today), "request_people", "is a bot"),
        (request_values(["USLACKBOT"], today), "request_people", "is a bot"),
        (request_values(["UGONE"], today), "request_people", "deactivated"),
        (request_values(["UEXT"], today), "request_people", "another organisation"),
        (request_values([], today), "request_people", "1 to 10"),
        (request_values([f"U{n:03d}" for n in range(11)], today), "request_people", "at most 10"),
        (request_values(["UBEN"], today, topic=""), "request_topic", "Name the topic"),
        (request_values(["UBEN"], today, questions=("", "", "")), "request_q_0", "at least one"),
        (request_values(["UBEN"], today - timedelta(days=1)), "request_due", "in the past"),
        # Not their manager: a non-manager (UCHO) naming a subject in a forged submission.
        (request_values(["UDEV"], today, subject="UBEN"), "request_subject", "manager"),
    ]
    for n, (values, block, words) in enumerate(cases):
        answer = submit(signed, "UCHO", "feedback_request_modal", values, view_id=f"VBAD{n}")
        assert answer.get("response_action") == "errors", (n, answer)
        assert list(answer["errors"]) == [block] and words in answer["errors"][block], (n, answer)
    # The manager may not ask the subject about themselves.
    answer = submit(
        signed,
        "UANA",
        "feedback_request_modal",
        request_values(["UBEN", "UCHO"], today, subject="UBEN"),
        view_id="VBADSUBJ",
    )
    assert "who the request is about" in answer["errors"]["request_people"]
    assert count(org, FeedbackRequest) == 0 and count(org, OutboxMessage) == 0


def test_every_problem_of_the_request_form_shows_at_once_each_under_its_field(
    org: RunningServer, signed: SlackRequests
) -> None:
    today = datetime.now(TOKYO).date()
    values = request_values(
        ["UCHO"],
        today - timedelta(days=1),
        topic="t" * 151,
        questions=("What went well?", "", "q" * 160),  # the third input's, not the second's
    )
    answer = submit(signed, "UCHO", "feedback_request_modal", values, view_id="VALLBAD")
    assert answer["errors"] == {
        "request_people": "You can't ask yourself: choose colleagues.",
        "request_topic": "The topic is 151 characters; the limit is 150. Please shorten it.",
        "request_due": "The due date is in the past: choose today or later.",
        "request_q_2": "This question is 160 characters; the limit is 150. Please shorten it.",
    }
    assert count(org, FeedbackRequest) == 0 and count(org, OutboxMessage) == 0


def test_the_form_lists_who_may_be_asked_and_only_direct_reports_as_the_subject(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    org.deps.slack.directory_complete = True  # the fixture read users.list whole
    signed.command("/feedback", "request the launch", user_id="UANA", trigger_id="t-lists")
    view = opened_view(slack, "t-lists")
    people = next(b for b in view["blocks"] if b["block_id"] == "request_people")["element"]
    assert people["type"] == "multi_static_select"
    assert [o["value"] for o in people["options"]] == ["UBEN", "UCHO", "UDEV", "UEVE"]
    subject = next(b for b in view["blocks"] if b["block_id"] == "request_subject")["element"]
    assert subject["type"] == "static_select"
    assert [o["value"] for o in subject["options"]] == ["UBEN"]
    due = next(b for b in view["blocks"] if b["block_id"] == "request_due")
    assert due["hint"]["text"] == "It closes at the end of that day, your time (America/New_York)."
    # Chosen from the lists, it goes out, due at the end of the day where Ana lives.
    values = request_values(["UCHO"], datetime.now(NEW_YORK).date() + timedelta(days=2))
    values["request_people"] = {
        "value": {"type": "multi_static_select", "selected_options": [{"value": "UCHO"}]}
    }
    values["request_subject"] = {
        "value": {"type": "static_select", "selected_option": {"value": "UBEN"}}
    }
    assert submit(signed, "UANA", "feedback_request_modal", values, view_id="VLISTS") == {}
    ask_dm = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UCHO")[0]
    assert "how <@UBEN> did on" in ask_dm["text"]
    assert "America/New_York time" in json.dumps(ask_dm["blocks"])


def test_a_topic_too_long_to_prefill_says_how_long_and_opens_nothing(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    answer = signed.command("/feedback", "request " + "t" * 151, user_id="UANA").json()
    assert answer["response_type"] == "ephemeral"
    assert "The topic is 151 characters; the limit is 150." in answer["text"]
    assert slack.calls("views.open") == []


def test_denials_read_the_same_whether_or_not_the_request_exists(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    due = datetime.now(TOKYO).date() + timedelta(days=3)
    ask(signed, slack, "UCHO", request_values(["UANA"], due), "VDENY")
    request = the_request(org)
    all_sent(org)
    rows = count(org, OutboxMessage)
    for n, (user_id, request_id) in enumerate(
        (("UEVE", request.id), ("UCHO", request.id), ("UEVE", 999))
    ):
        for action in ("request_answer", "request_decline"):
            trigger = f"t-deny-{n}-{action}"
            signed.block_action(
                user_id=user_id,
                action_id=action,
                value=str(request_id),
                channel_id=f"D{user_id}",
                trigger_id=trigger,
            )
            assert opened_view(slack, trigger)["blocks"][0]["text"]["text"] == DENIED
        late = submit(
            signed,
            user_id,
            "feedback_answer_modal",
            answer_values("forged"),
            view_id=f"VFORGE{n}",
            private_metadata=json.dumps({"request_id": request_id}),
        )
        assert late["response_action"] == "update"
        assert late["view"]["blocks"][0]["text"]["text"] == DENIED
    assert states(org) == {"UANA": "pending"}
    assert count(org, OutboxMessage) == rows
