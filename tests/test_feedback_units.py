"""Feedback's pure parts without Slack: due instants across DST, every builder within Slack's
limits at the largest sizes the rules allow, and what the builders say."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.services.conversations import reply_problem
from bot.services.feedback_requests import default_due, due_instant
from bot.services.text import as_typed, escape
from handlers.blocks import feedback as blocks
from handlers.blocks import feedback_requests as request_blocks
from handlers.blocks.common import people_picker
from handlers.payloads import people_in
from tests.test_checkin_blocks import within_limits

LONG = "x" * 3000
PEOPLE = [f"U{n:03d}" for n in range(10)]


def test_due_is_the_end_of_the_day_in_the_requesters_zone_across_dst() -> None:
    # New York springs forward on 2037-03-08: the next midnight is EDT (UTC-4).
    assert due_instant(date(2037, 3, 8), "America/New_York") == datetime(2037, 3, 9, 4, tzinfo=UTC)
    assert due_instant(date(2037, 3, 7), "America/New_York") == datetime(2037, 3, 8, 5, tzinfo=UTC)
    assert due_instant(date(2037, 3, 7), None) == datetime(2037, 3, 8, tzinfo=UTC)
    # 23:30 UTC on the 1st is already the 2nd in Tokyo: a week from the 2nd.
    assert default_due(datetime(2035, 1, 1, 23, 30, tzinfo=UTC), "Asia/Tokyo") == date(2035, 1, 9)


def test_feedback_messages_and_forms_stay_within_slacks_limits() -> None:
    for message in (
        blocks.recipient_dm(1, "UANA", LONG, LONG, "craft", "https://x", "UCHO"),
        blocks.recipient_dm(1, "UANA", LONG, None, None, None, None, thanked=True),
        blocks.sender_copy("UBEN", LONG, LONG, "craft", "https://x", "UCHO"),
        blocks.manager_copy("UANA", "UBEN", LONG, LONG, None, None),
        blocks.forwarded("UANA", LONG * 3),
        blocks.echoed("UANA", LONG * 3),
        blocks.team_answer("UANA", LONG, "2037-W48"),
    ):
        text, message_blocks = message
        assert len(text) <= 3000
        within_limits(message_blocks)
    form = blocks.give_modal(
        [f"value{n}" for n in range(150)],
        people=[(f"U{n:03d}", "n" * 200) for n in range(100)],
        recipient_id="U007",
        went_well=LONG,
        quote_text=LONG,
        quote_url="u",
    )
    within_limits(form["blocks"], max_blocks=100)
    assert len(form["private_metadata"]) <= 3000
    home = blocks.home_section(
        received=[("UANA", LONG, "2037-11-27")] * 5,
        waiting=[("UANA", "*" + "t" * 150 + "*", "2037-12-01")] * 5,
        open_requests=[("*" + "t" * 150 + "*", 3, 10, "2037-12-01")] * 5,
        offer_answer_team=True,
    )
    within_limits(home, max_blocks=5)


def test_request_messages_and_forms_stay_within_slacks_limits() -> None:
    questions = ["q" * 150] * 3
    topic = "t" * 150
    many = [(f"U{n:03d}", "n" * 200) for n in range(100)]
    request_form = request_blocks.request_modal(
        questions=questions,
        due_on=date(2037, 12, 4),
        zone="America/Argentina/ComodRivadavia",
        people=many,
        reports=many,
        topic=topic,
    )
    within_limits(request_form["blocks"], max_blocks=100)
    answer_form = request_blocks.answer_modal(1, "UANA", topic, "UBEN", questions)
    within_limits(answer_form["blocks"], max_blocks=100)
    for text, message_blocks in (
        request_blocks.ask_message(
            1, "UANA", topic, "UBEN", questions, date(2037, 12, 4), zone="Pacific/Auckland"
        ),
        request_blocks.answer_for_requester("UCHO", topic, "UBEN", questions, [LONG] * 3, True),
        request_blocks.summary_message(topic, "UBEN", PEOPLE[:4], PEOPLE[4:7], PEOPLE[7:]),
        request_blocks.subject_message("UANA", topic, questions, [(p, [LONG] * 3) for p in PEOPLE]),
    ):
        assert text
        within_limits(message_blocks)


def test_the_recipient_reads_who_wrote_it_and_who_else_can_read_it() -> None:
    _, with_manager = blocks.recipient_dm(7, "UANA", "Clear demo", None, None, None, "UCHO")
    _, only_them = blocks.recipient_dm(7, "UANA", "Clear demo", None, None, None, None)
    assert "Only you, <@UANA> who wrote it, and your manager <@UCHO> can read this." in str(
        with_manager
    )
    assert "Only you and <@UANA>, who wrote it, can read this." in str(only_them)


def test_due_dates_name_the_zone_the_day_ends_in() -> None:
    text, ask = request_blocks.ask_message(
        1, "UANA", "the launch", None, ["How was it?"], date(2037, 12, 4), zone="Asia/Tokyo"
    )
    assert "Due by the end of Fri 2037-12-04, Asia/Tokyo time" in text
    assert "Due by the end of Fri 2037-12-04, Asia/Tokyo time" in str(ask)
    created = request_blocks.created_message(["UBEN"], "the launch", None, date(2037, 12, 4), "UTC")
    assert "due by the end of Fri 2037-12-04, UTC time" in created
    form = request_blocks.request_modal(
        questions=["q"], due_on=date(2037, 12, 4), zone="Asia/Tokyo", people=None, reports=[]
    )
    assert "your time (Asia/Tokyo)" in str(form)
    home = blocks.home_section(
        received=[],
        waiting=[("UANA", "*the launch*", request_blocks.due_label(date(2037, 12, 4), "UTC"))],
        open_requests=[],
        offer_answer_team=False,
    )
    assert "due by the end of Fri 2037-12-04, UTC time" in str(home)


def test_a_picker_lists_only_who_may_be_chosen_else_asks_slack_to_leave_out_bots() -> None:
    listed = people_picker(
        "who", people=[("UBEN", "ben"), ("UCHO", "chloe")], placeholder="Who", initial=["UCHO"]
    )
    assert listed["type"] == "static_select"
    assert [o["value"] for o in listed["options"]] == ["UBEN", "UCHO"]
    assert listed["initial_option"]["value"] == "UCHO"
    several = people_picker(
        "who",
        people=[("UBEN", "ben")],
        placeholder="Who",
        initial=["UBEN", "UGONE"],  # someone not listed is not pre-chosen
        multi=True,
        max_selected=10,
    )
    assert several["type"] == "multi_static_select" and several["max_selected_items"] == 10
    assert [o["value"] for o in several["initial_options"]] == ["UBEN"]
    for people in (None, []):  # a big or unknown workspace, or nobody to list
        slack = people_picker("who", people=people, placeholder="Who", initial=["UBEN"])
        assert slack["type"] == "conversations_select"
        assert slack["filter"] == {
            "include": ["im"],
            "exclude_bot_users": True,
            "exclude_external_shared_channels": True,
        }
        assert slack["initial_conversation"] == "UBEN"


def test_what_was_typed_after_a_command_comes_back_as_typed() -> None:
    escaped = (
        "<@U0BEN|ben> fixed &lt;the&gt; runbook &amp; <#C0OPS|ops> <!here> "
        "<https://x.io|x.io> <https://y.io/a> <!subteam^S1|@sre>"
    )
    assert as_typed(escaped) == "@ben fixed <the> runbook & #ops @here x.io https://y.io/a @sre"
    # A broadcast comes back as the word typed, which the rules neutralise like any other.
    assert escape(as_typed("<!channel> hi")) == "@channel hi"


def test_people_in_reads_every_picker_and_only_user_ids() -> None:
    assert people_in({"selected_users": ["UBEN", "UBEN"]}) == ["UBEN"]
    assert people_in({"selected_conversations": ["UBEN", "C0GENERAL", "DUBEN"]}) == ["UBEN"]
    assert people_in({"selected_options": [{"value": "UCHO"}, {"value": "W0EXT"}]}) == [
        "UCHO",
        "W0EXT",
    ]
    assert people_in({"selected_option": {"value": "UCHO"}}) == ["UCHO"]
    assert people_in({"selected_conversation": "UDEV"}) == ["UDEV"]
    assert people_in({"selected_user": None}) == []


def test_a_reply_over_the_limit_says_how_long_it_is() -> None:
    assert reply_problem("x" * 3001) == (
        "This reply is 3001 characters; the limit is 3000. Please shorten it."
    )
    assert reply_problem("") == "Write a reply." and reply_problem("ok") is None
