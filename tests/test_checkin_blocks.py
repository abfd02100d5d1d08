"""Check-in Block Kit builders: pure data in, dicts out, within Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.services.templates import DEFAULT_QUESTIONS, Question, form_questions
from handlers import ids
from handlers.blocks import checkins as blocks

CLOSES = datetime(2037, 11, 28, 16, 0, tzinfo=UTC)
DAY = date(2037, 11, 27)
QUESTIONS = (
    Question("done", "What did you get done?", "text", required=True),
    Question("pulse", "How do you feel?", "pulse", required=True),
    Question("focus", "Focus?", "choice", options=("Ship", "Learn")),
    Question("blocked", "Blocked?", "yes_no"),
    Question("upward", "For your manager?", "text", anonymous_allowed=True),
)


def within_limits(message_blocks: list[dict[str, Any]], max_blocks: int = 50) -> None:
    """Slack's limits (bot/services/slack_limits.py), checked on every block we build."""
    assert 0 < len(message_blocks) <= max_blocks
    for block in message_blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "actions":
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75
        if block["type"] == "input":
            assert len(block["label"]["text"]) <= 2000
            for opt in block["element"].get("options", []):
                assert len(opt["text"]["text"]) <= 75
    json.dumps(message_blocks)  # plain JSON, nothing else


def buttons(message_blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e["value"])
        for b in message_blocks
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def all_text(message_blocks: list[dict[str, Any]]) -> str:
    return json.dumps(message_blocks, ensure_ascii=False)


# ----- member DMs -------------------------------------------------------------------------------


def test_prompt_has_start_snooze_skip_carrying_the_occurrence() -> None:
    text, message = blocks.prompt_message(42, "Platform weekly", "UANA", QUESTIONS, CLOSES)
    within_limits(message)
    assert "Platform weekly" in text
    assert buttons(message) == [
        (ids.CHECKIN_START_ACTION, "42"),
        (ids.CHECKIN_SNOOZE_ACTION, "42"),
        (ids.CHECKIN_SKIP_ACTION, "42"),
    ]
    labels = [e["text"]["text"] for b in message if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Start check-in", "Snooze 1h", "Skip"]
    body = all_text(message)
    assert "<@UANA>" in body and "5 questions" in body
    assert f"<!date^{int(CLOSES.timestamp())}^" in body
    assert "late" not in body


def test_prompt_variants() -> None:
    _, late = blocks.prompt_message(1, "T", "UANA", QUESTIONS[:1], CLOSES, late=True)
    assert "Sorry this comes late" in all_text(late) and "1 question ·" in all_text(late)
    _, again = blocks.prompt_message(1, "T", "UANA", QUESTIONS[:1], CLOSES, snoozed=True)
    assert "Snooze is over" in all_text(again)
    assert buttons(again)[0] == (ids.CHECKIN_START_ACTION, "1")


def test_template_names_are_escaped_in_mrkdwn() -> None:
    _, message = blocks.prompt_message(1, "<!channel> & co", "UANA", QUESTIONS[:1], CLOSES)
    assert "<!channel>" not in all_text(message)
    assert "&lt;!channel&gt; &amp; co" in all_text(message)


def test_reminder_and_closed() -> None:
    text, reminder = blocks.reminder_message(7, "Weekly", CLOSES)
    within_limits(reminder)
    assert "still open" in text and buttons(reminder)[0] == (ids.CHECKIN_START_ACTION, "7")
    text, closed = blocks.closed_message("Weekly", DAY)
    within_limits(closed)
    assert "has closed" in text and buttons(closed) == []
    assert "Fri 27 Nov 2037" in all_text(closed)
    _, status = blocks.status_message("Weekly", DAY, "Skipped.")
    assert buttons(status) == [] and "Skipped." in all_text(status)


def test_submitted_summary_is_short_and_safe() -> None:
    answers = [
        (QUESTIONS[0], "Shipped <!here> the *importer*\n" + "x" * 1000),
        (QUESTIONS[1], 4),
        (QUESTIONS[2], "Ship"),
        (QUESTIONS[3], False),
    ]
    text, message = blocks.submitted_message(
        "Weekly", DAY, answers, upward_sent=True, upward_anonymous=True
    )
    within_limits(message)
    assert "Submitted ✓" in text and buttons(message) == []
    body = all_text(message)
    assert "<!here>" not in body and "&lt;!here&gt;" in body
    assert ":slightly_smiling_face: 4 — good" in body and "Ship" in body and "No" in body
    # The message is stored (an outbox row tied to the occurrence): it never mentions the note.
    assert "anonym" not in body.lower() and "note" not in body.lower()
    assert len(message[1]["text"]["text"]) < 400  # the summary clips long answers


def test_submitted_with_many_answers_stays_within_50_blocks() -> None:
    questions = [Question(f"q{i}", f"Question {i}", "text") for i in range(60)]
    _, message = blocks.submitted_message("Weekly", DAY, [(q, "x" * 200) for q in questions])
    within_limits(message)
    assert "Question 59" in all_text(message)


# ----- the modal --------------------------------------------------------------------------------


def test_answer_modal_inputs_per_kind() -> None:
    view = blocks.answer_modal(42, "A very long template name indeed", DAY, QUESTIONS)
    assert view["callback_id"] == ids.CHECKIN_MODAL
    assert len(view["title"]["text"]) <= 24
    assert blocks.occurrence_from_metadata(view["private_metadata"]) == 42
    within_limits(view["blocks"], max_blocks=100)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == [
        "checkin_q_done",
        "checkin_q_pulse",
        "checkin_q_focus",
        "checkin_q_blocked",
        "checkin_q_upward",
        ids.CHECKIN_ANONYMOUS_BLOCK,
    ]
    done = inputs["checkin_q_done"]
    assert done["optional"] is False
    assert done["element"]["type"] == "plain_text_input"
    assert done["element"]["max_length"] == 3000
    pulse = inputs["checkin_q_pulse"]["element"]
    assert pulse["type"] == "static_select"
    assert [o["value"] for o in pulse["options"]] == ["1", "2", "3", "4", "5"]
    assert all(o["text"]["text"].startswith(":") for o in pulse["options"])  # emoji labels
    focus = inputs["checkin_q_focus"]
    assert focus["optional"] is True
    assert [o["value"] for o in focus["element"]["options"]] == ["Ship", "Learn"]
    blocked = inputs["checkin_q_blocked"]["element"]
    assert blocked["type"] == "radio_buttons"
    assert [o["value"] for o in blocked["options"]] == ["yes", "no"]
    box = inputs[ids.CHECKIN_ANONYMOUS_BLOCK]
    assert box["optional"] is True and box["element"]["type"] == "checkboxes"
    assert all(
        e["element"]["action_id"] == ids.CHECKIN_ANSWER_ACTION
        for k, e in inputs.items()
        if k.startswith("checkin_q_")
    )


def test_modal_without_upward_question_has_no_anonymous_box() -> None:
    view = blocks.answer_modal(1, "T", DAY, QUESTIONS[:4])
    assert ids.CHECKIN_ANONYMOUS_BLOCK not in all_text(view["blocks"])


def test_modal_prefills() -> None:
    view = blocks.answer_modal(
        1,
        "T",
        DAY,
        QUESTIONS,
        initial={"done": "draft", "pulse": 3, "focus": "Learn", "blocked": True},
    )
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["checkin_q_done"]["initial_value"] == "draft"
    assert inputs["checkin_q_pulse"]["initial_option"]["value"] == "3"
    assert inputs["checkin_q_focus"]["initial_option"]["value"] == "Learn"
    assert inputs["checkin_q_blocked"]["initial_option"]["value"] == "yes"


def test_modal_with_the_most_questions_fits_100_blocks() -> None:
    questions = [Question(f"q{i}", "Q" * 2500, "text") for i in range(25)]
    questions[-1] = Question("up", "Up", "text", anonymous_allowed=True)
    view = blocks.answer_modal(1, "T", DAY, questions)
    within_limits(view["blocks"], max_blocks=100)
    assert len(view["blocks"]) == 1 + 25 + 1


def test_read_answers_from_view_state() -> None:
    state = {
        "checkin_q_done": {"answer": {"type": "plain_text_input", "value": "Shipped"}},
        "checkin_q_pulse": {"answer": {"type": "static_select", "selected_option": {"value": "4"}}},
        "checkin_q_focus": {"answer": {"type": "static_select", "selected_option": None}},
        "checkin_q_blocked": {
            "answer": {"type": "radio_buttons", "selected_option": {"value": "no"}}
        },
        "checkin_q_upward": {"answer": {"type": "plain_text_input", "value": None}},
        ids.CHECKIN_ANONYMOUS_BLOCK: {
            ids.CHECKIN_ANONYMOUS_ACTION: {
                "type": "checkboxes",
                "selected_options": [{"value": "anonymous"}],
            }
        },
    }
    answers, anonymous = blocks.read_answers(state, QUESTIONS)
    assert answers == {
        "done": "Shipped",
        "pulse": "4",
        "focus": None,
        "blocked": "no",
        "upward": None,
    }
    assert anonymous is True
    answers, anonymous = blocks.read_answers({}, QUESTIONS)
    assert set(answers.values()) == {None} and anonymous is False


def test_errors_map_to_blocks_and_metadata_is_defensive() -> None:
    assert blocks.modal_errors({"pulse": "Pick a number from 1 to 5."}) == {
        "checkin_q_pulse": "Pick a number from 1 to 5."
    }
    for raw in (None, "", "not json", "[]", '{"occurrence_id": "7"}'):
        assert blocks.occurrence_from_metadata(raw) is None


# ----- managers and channels --------------------------------------------------------------------


ANSWERS = [
    (QUESTIONS[0], "Fixed <!channel> alerts & <@UX> @here"),
    (QUESTIONS[1], 2),
    (QUESTIONS[3], True),
]


def test_manager_copy_has_every_answer_and_a_reply_button() -> None:
    text, message = blocks.manager_answers(42, "UBEN", "Weekly", DAY, ANSWERS)
    within_limits(message)
    assert "<@UBEN>" in text
    assert buttons(message) == [(ids.CHECKIN_REPLY_ACTION, "42")]
    body = all_text(message)
    assert "<!channel>" not in body and "<@UX>" not in body  # typed text pings no one
    assert "&lt;!channel&gt;" in body and "&amp;" in body
    assert "@\u200bhere" in body
    assert ":confused: 2 — meh" in body and "Yes" in body
    assert "For you only" not in body
    _, with_note = blocks.manager_answers(42, "UBEN", "Weekly", DAY, ANSWERS, upward_text="Hi")
    assert "For you only" in all_text(with_note)
    assert buttons(with_note)[-1] == (ids.CHECKIN_REPLY_ACTION, "42")


def test_manager_copy_of_25_long_answers_stays_within_limits() -> None:
    answers = [(Question(f"q{i}", "Q" * 300, "text"), "a" * 3000) for i in range(25)]
    text, message = blocks.manager_answers(
        1, "UBEN", "Weekly", DAY, answers, upward_text="n" * 3000
    )
    within_limits(message)
    assert len(text) <= 3000


def test_channel_thread_never_shows_upward_feedback() -> None:
    answers = [*ANSWERS, (QUESTIONS[4], "secret for my manager")]
    text, message = blocks.channel_answers("UBEN", "Weekly", answers)
    within_limits(message)
    assert "secret" not in all_text(message) and "secret" not in text
    assert buttons(message) == []
    title, header = blocks.channel_header("Weekly" + "x" * 200, DAY)
    within_limits(header)
    assert header[0]["type"] == "header" and "Fri 27 Nov 2037" in title


def test_upward_message_quotes_safely() -> None:
    text, message = blocks.upward_message("UBEN", "Weekly", "<!everyone> please")
    within_limits(message)
    assert "<!everyone>" not in all_text(message) and "<@UBEN>" in text


@pytest.mark.parametrize("question", DEFAULT_QUESTIONS)
def test_every_default_question_renders(question: Question) -> None:
    view = blocks.answer_modal(1, "Weekly check-in", DAY, [question])
    within_limits(view["blocks"], max_blocks=100)


def test_the_anonymous_option_is_hidden_and_explained_for_a_small_team() -> None:
    questions = list(QUESTIONS)
    offered = blocks.answer_modal(1, "Weekly", DAY, questions, release_after=3)
    (box,) = [b for b in offered["blocks"] if b.get("block_id") == "checkin_anonymous"]
    assert "at least 3 of your manager's direct reports" in box["hint"]["text"]
    hidden = blocks.answer_modal(1, "Weekly", DAY, questions, anonymity_min=3)
    assert not any(b.get("block_id") == "checkin_anonymous" for b in hidden["blocks"])
    assert "fewer than 3 direct reports" in json.dumps(hidden["blocks"])
    confirmation = blocks.anonymous_confirmation("Weekly", 3)
    assert "at least 3 of their direct reports" in json.dumps(confirmation)


# ----- blockers that say what blocks, and who reads what ----------------------------------------

PLATFORM = (
    Question("done", "What did you get done?", "text", required=True),
    Question("pulse", "How do you feel?", "pulse", required=True),
    Question("blocked", "Anything blocking you?", "yes_no", blocker=True),
    Question("workload", "How is your workload?", "text", in_channel=False),
    Question("upward", "For your manager?", "text", anonymous_allowed=True),
)
READERS = blocks.Readers("UANA", "UANA", "C0PLATFORM")


def test_a_yes_no_blocker_asks_what_blocks_in_the_same_form_with_a_hint() -> None:
    view = blocks.answer_modal(1, "Platform weekly", DAY, PLATFORM, readers=READERS)
    within_limits(view["blocks"], max_blocks=100)
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs][:4] == [
        "checkin_q_done",
        "checkin_q_pulse",
        "checkin_q_blocked",
        "checkin_q_blocked.detail",  # right under its question
    ]
    detail = inputs[3]
    assert detail["label"]["text"] == "What is blocking you?" and detail["optional"] is True
    assert detail["element"]["type"] == "plain_text_input"
    assert "Only if you answered Yes" in detail["hint"]["text"]
    state = {
        "checkin_q_blocked": {
            "answer": {"type": "radio_buttons", "selected_option": {"value": "yes"}}
        },
        "checkin_q_blocked.detail": {"answer": {"type": "plain_text_input", "value": "Legal"}},
    }
    answers, _ = blocks.read_answers(state, PLATFORM)
    assert answers["blocked"] == "yes" and answers["blocked.detail"] == "Legal"


def test_the_form_says_under_each_question_who_reads_it() -> None:
    view = blocks.answer_modal(1, "Platform weekly", DAY, PLATFORM, readers=READERS)
    readers = {}
    last_input = None
    for block in view["blocks"]:
        if block["type"] == "input":
            last_input = block["block_id"]
        elif block["type"] == "context" and last_input:
            readers[last_input] = block["elements"][0]["text"]
    ana, channel = "<@UANA> (your manager)", "<#C0PLATFORM>"
    assert readers == {
        "checkin_q_done": f":busts_in_silhouette: Read by {ana} and {channel}",
        "checkin_q_pulse": f":bust_in_silhouette: Read by {ana} only",  # never the channel
        "checkin_q_blocked.detail": f":busts_in_silhouette: Read by {ana} and {channel}",
        "checkin_q_workload": f":bust_in_silhouette: Read by {ana} only",
        "checkin_q_upward": f":lock: Read by {ana} only",
    }
    # No channel: one person reads every answer, said once above them.
    alone = blocks.answer_modal(1, "Weekly", DAY, PLATFORM, readers=blocks.Readers("UANA", "UANA"))
    contexts = [b for b in alone["blocks"] if b["type"] == "context"]
    assert "Your answers are read by <@UANA> (your manager) only" in json.dumps(contexts[0])
    assert all("Read by" not in json.dumps(c) for c in contexts[1:])
    # An owner who is not the member's manager: both are named.
    other = blocks.Readers("UOWNER", "UANA")
    assert other.everything().endswith("read by <@UOWNER> and <@UANA> (your manager) only")


def test_the_prompt_says_who_reads_which_answer() -> None:
    _, message = blocks.prompt_message(
        1, "Platform weekly", "UANA", PLATFORM, CLOSES, channel_id="C0PLATFORM"
    )
    intro = message[0]["text"]["text"]
    assert (
        "Your answers go to <@UANA>; <#C0PLATFORM> also sees your answers to "
        "_What did you get done?_ and _Anything blocking you?_ Your pulse, your note for your "
        "manager and your other answers never go there." in intro
    )
    _, alone = blocks.prompt_message(1, "Weekly", "UANA", PLATFORM, CLOSES)
    assert "Your answers go to <@UANA> only." in alone[0]["text"]["text"]


def test_a_blocker_reads_as_what_blocks_in_the_managers_dm_and_the_channel() -> None:
    detail = templates_detail(PLATFORM[2])
    with_detail = [
        (PLATFORM[0], "Shipped"),
        (PLATFORM[1], 4),
        (PLATFORM[2], True),
        (detail, "Waiting on <!here> legal"),
    ]
    _, dm = blocks.manager_answers(1, "UBEN", "Weekly", DAY, with_detail)
    body = all_text(dm)
    assert "*Anything blocking you?*\\nYes:\\n>Waiting on &lt;!here&gt; legal" in body
    assert "What is blocking you?" not in body  # read as its question's answer, not apart
    channel = blocks.channel_answers("UBEN", "Weekly", with_detail)
    assert channel is not None
    assert "Waiting on &lt;!here&gt; legal" in all_text(channel[1])
    bare = [(PLATFORM[0], "Shipped"), (PLATFORM[2], True)]
    _, dm = blocks.manager_answers(1, "UBEN", "Weekly", DAY, bare)
    assert "*Anything blocking you?*\\nYes: _blocked (no details given)_" in all_text(dm)
    _, mine = blocks.submitted_message("Weekly", DAY, bare)
    assert "blocked (no details given)" in all_text(mine)


def test_the_channel_gets_only_the_questions_the_template_shares_there() -> None:
    answers = [
        (PLATFORM[0], "Shipped"),
        (PLATFORM[1], 2),
        (PLATFORM[3], "Too much"),
        (PLATFORM[4], "secret"),
    ]
    shared = blocks.channel_answers("UBEN", "Weekly", answers)
    assert shared is not None
    text, message = shared
    body = all_text(message) + text
    assert "Shipped" in body
    for private in ("How do you feel", "meh", "Too much", "workload", "secret"):
        assert private not in body, private
    assert blocks.channel_answers("UBEN", "Weekly", answers[1:]) is None  # nothing to post


def templates_detail(question: Question) -> Question:
    (_, detail) = form_questions([question])
    return detail
