"""Feedback's pure parts without Slack: due instants across DST, and every builder within
Slack's limits at the largest sizes the rules allow."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.services.feedback_requests import default_due, due_instant
from handlers.blocks import feedback as blocks
from handlers.blocks import feedback_requests as request_blocks
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
    form = blocks.give_modal([f"value{n}" for n in range(150)], quote_text=LONG, quote_url="u")
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
    request_form = request_blocks.request_modal(
        questions=questions, due_on=date(2037, 12, 4), offer_subject=True
    )
    within_limits(request_form["blocks"], max_blocks=100)
    answer_form = request_blocks.answer_modal(1, "UANA", topic, "UBEN", questions)
    within_limits(answer_form["blocks"], max_blocks=100)
    for text, message_blocks in (
        request_blocks.ask_message(1, "UANA", topic, "UBEN", questions, date(2037, 12, 4)),
        request_blocks.answer_for_requester("UCHO", topic, "UBEN", questions, [LONG] * 3, True),
        request_blocks.summary_message(topic, "UBEN", PEOPLE[:4], PEOPLE[4:7], PEOPLE[7:]),
        request_blocks.subject_message("UANA", topic, questions, [(p, [LONG] * 3) for p in PEOPLE]),
    ):
        assert text
        within_limits(message_blocks)
