"""What a manager reads in the digest, on literal inputs: blockers that say what blocks and for
how long, one line per person, the pulse spread in words, a director's digest that leads with
their teams, a chart that explains itself and never draws a missing or unfinished week as zero,
View more with dates as a manager says them, and a preview that says it is one.

Instants derive from one Monday in 2037 (2037's calendar is 2026's).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.services import digest_chart
from bot.services import digest_rules as rules
from bot.services.digest import AnswerView, DigestPreview
from bot.services.digest_compute import DigestInputs, DigestTemplate, compute
from bot.services.digest_data import ChartWeek, DigestData, SkipLine
from bot.services.states import EmptyReason
from handlers.blocks import digest as blocks
from storage.digest import OccurrenceRow

ZONE = ZoneInfo("Europe/Lisbon")
WEEK = date(2037, 3, 2)  # the Monday of the covered week
NOW = datetime(2037, 3, 9, 9, 0, tzinfo=ZONE)  # the Monday after, at the send time

WEEKLY = DigestTemplate(
    1,
    "Platform weekly",
    True,
    [
        {"id": "done", "text": "What did you get done?", "kind": "text", "required": True},
        {"id": "pulse", "text": "How do you feel?", "kind": "pulse"},
        {"id": "blocked", "text": "Anything blocking you?", "kind": "yes_no", "blocker": True},
        {"id": "upward", "text": "For your manager?", "kind": "text", "anonymous_allowed": True},
    ],
)
TEAM = ("UBEN", "UCHLOE", "UKENJI", "ULARS")


def text_of(message_blocks: list[dict[str, Any]]) -> str:
    return json.dumps(message_blocks, ensure_ascii=False)


# ----- rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "words"),
    [
        ([0, 0, 0, 0, 0], ""),
        ([0, 0, 0, 1, 0], "one 4"),
        ([0, 0, 0, 4, 0], "all 4s"),
        ([0, 1, 0, 3, 0], "mostly 4s; one 2"),
        ([1, 0, 1, 5, 0], "mostly 4s; one 1, one 3"),
        ([0, 0, 2, 2, 1], "two 3s, two 4s, one 5"),
        ([0, 2, 0, 2, 0], "two 2s, two 4s"),  # half is not "mostly"
        ([0, 0, 0, 12, 1], "mostly 4s; one 5"),
        ([0, 0, 0, 0, 11], "all 5s"),
    ],
)
def test_the_pulse_spread_in_words(counts: list[int], words: str) -> None:
    assert rules.spread_words(counts) == words


@pytest.mark.parametrize(
    ("reported", "weeks", "said"),
    [
        ([False, False, True], 1, "new this week"),
        ([False, True, True], 2, "2nd week"),
        ([True, True, True], 3, "3rd week"),
        ([True, False, True], 1, "new this week"),  # a week that did not report it ends it
        ([True] * 8, 8, "8th week"),
        ([False], 0, "new this week"),
    ],
)
def test_how_long_a_blocker_has_been_open(reported: list[bool], weeks: int, said: str) -> None:
    assert rules.blocker_age(reported) == weeks
    assert rules.blocker_age_words(weeks) == said


@pytest.mark.parametrize(
    ("number", "word"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (22, "22nd")]
)
def test_ordinals(number: int, word: str) -> None:
    assert rules.ordinal(number) == word


def test_the_first_words_of_an_answer() -> None:
    assert rules.first_words("  Shipped\nthe retry  logic ") == "Shipped the retry logic"
    long = "Paired with Priya on the ingestion backfill; it runs in half the time now, finally."
    cut = rules.first_words(long)
    assert cut.endswith("…") and len(cut) <= rules.GIST_CHARS and " " in cut
    assert long.startswith(cut.removesuffix("…"))
    # The gist skips the blocker (shown apart) and the upward note, and falls back to a choice.
    questions = [
        {"id": "blocked", "text": "Blocked?", "kind": "text", "blocker": True},
        {"id": "focus", "text": "Focus?", "kind": "choice"},
        {"id": "upward", "text": "Note?", "kind": "text", "anonymous_allowed": True},
        {"id": "done", "text": "Done?", "kind": "text"},
    ]
    answers = {"blocked": "Legal", "focus": "Ship", "upward": "secret", "done": "Docs"}
    assert rules.answer_gist(questions, answers) == "Docs"
    assert rules.answer_gist(questions, {**answers, "done": " "}) == "Ship"


# ----- blockers and answers, through the computation --------------------------------------------


def checkin(occurrence_id: int, user_id: str, weeks_back: int, state: str) -> OccurrenceRow:
    day = WEEK - timedelta(weeks=weeks_back) + timedelta(days=4)
    return OccurrenceRow(
        occurrence_id, WEEKLY.id, user_id, day, state, datetime.combine(day, time(23), ZONE)
    )


def compute_team(
    rows: list[OccurrenceRow],
    answers: dict[int, dict[str, Any]],
    replies: dict[int, list[tuple[str, str, datetime]]] | None = None,
) -> DigestData:
    inputs = DigestInputs(
        manager_id="UANA",
        week=WEEK,
        zone=ZONE,
        reports=[(u, False) for u in TEAM],
        owned=[WEEKLY],
        templates={WEEKLY.id: WEEKLY},
        occurrences=sorted(rows, key=lambda r: (r.local_date, r.id)),
        answers=answers,
        replies=replies or {},
        kudos=[],
        notes=[],
        below={},
        subtree=[],
        subtree_answers={},
    )
    return compute(inputs, NOW, anonymity_min=3).data


def test_a_blocker_says_what_blocks_for_how_long_and_who_raised_it() -> None:
    """Kenji says what blocks him, three weeks running; Lars says yes and nothing more."""
    rows = [checkin(10 + back, "UKENJI", back, "answered") for back in (3, 2, 1, 0)]
    rows += [checkin(20, "ULARS", 0, "answered"), checkin(21, "UBEN", 0, "answered")]
    review = "Waiting on the security review"
    answers: dict[int, dict[str, Any]] = {
        13: {"done": "x", "pulse": 3, "blocked": False},
        12: {"done": "x", "pulse": 3, "blocked": True, "blocked.detail": review},
        11: {"done": "x", "pulse": 2, "blocked": True},  # a yes without details still counts
        10: {"done": "x", "pulse": 2, "blocked": True, "blocked.detail": review},
        20: {"done": "Rotated the keys", "pulse": 4, "blocked": True},
        21: {"done": "Docs", "pulse": 4, "blocked": False, "blocked.detail": ""},
    }
    data = compute_team(rows, answers)
    assert [(b.user_id, b.text, b.weeks, b.still_open) for b in data.blockers] == [
        ("UKENJI", review, 3, True),
        ("ULARS", rules.NO_DETAILS, 1, False),
    ]
    messages = blocks.messages(data, chart=False)
    body = text_of(messages[0][1])
    assert f"<@UKENJI>: {review} — *3rd week* (Platform weekly)" in body
    assert "<@ULARS>: _blocked (no details given)_ — new this week" in body
    assert '"yes"' not in body.lower() and ": yes" not in body.lower()
    # One line per person: their pulse, the first words of their answer, the blocker.
    lines = {a.user_id: a for a in data.answers}
    assert (lines["ULARS"].pulse, lines["ULARS"].gist, lines["ULARS"].blocker) == (
        4,
        "Rotated the keys",
        rules.NO_DETAILS,
    )
    everything = text_of([b for _, m in messages for b in m])
    assert "*<@ULARS>* · pulse 4 · Rotated the keys · :construction: _blocked (no details" in (
        everything
    )
    assert "*<@UBEN>* · pulse 4 · Docs\"" in everything  # no blocker, nothing said of one


def test_answers_are_one_line_per_person_whatever_their_check_ins_that_week() -> None:
    """Chloé answers twice in the week (Mon and Thu): one line, View more opens both; the
    follow-through still counts answers."""
    monday = OccurrenceRow(31, WEEKLY.id, "UCHLOE", WEEK, "answered", NOW - timedelta(days=6))
    thursday = checkin(32, "UCHLOE", 0, "answered")
    answers = {
        31: {"done": "Monday things", "pulse": 3},
        32: {"done": "Thursday things", "pulse": 5},
    }
    replied_at = NOW - timedelta(days=2)
    data = compute_team([monday, thursday], answers, {31: [("UANA", "Nice", replied_at)]})
    (line,) = data.answers
    assert line.occurrence_ids == [31, 32] and line.pulse == 4 and line.replied
    assert line.gist == "Thursday things"  # the latest answer first
    assert (data.replied, data.answer_count()) == (1, 2)
    (message,) = blocks.messages(data, chart=False)
    body = text_of(message[1])
    (button,) = [
        b["accessory"] for b in message[1] if b.get("accessory", {}).get("text", {}).get(
            "text"
        ) == "View more"
    ]
    assert button["value"] == "31,32"
    assert blocks.view_more_ids(button["value"]) == [31, 32]
    assert blocks.view_more_ids("12,<script>,x") == [12]
    assert "you replied to 1 of 2 answers" in body


def test_the_pulse_section_says_the_spread_in_words() -> None:
    rows = [checkin(i, u, 0, "answered") for i, u in enumerate(TEAM, 1)]
    data = compute_team(rows, {1: {"pulse": 4}, 2: {"pulse": 4}, 3: {"pulse": 2}, 4: {"pulse": 4}})
    body = text_of(blocks.messages(data, chart=False)[0][1])
    assert "Answers: mostly 4s; one 2" in body


# ----- a director's digest ----------------------------------------------------------------------


def director(skip_level: list[SkipLine], **changes: Any) -> DigestData:
    data = DigestData(
        manager_id="UMAYA",
        iso_week=rules.iso_week(WEEK),
        week_start=WEEK.isoformat(),
        week_label=rules.week_label(WEEK),
        empty_reason=EmptyReason.NO_CHECKINS,
        reports=["UANA", "UDIEGO"],
        kudos=1,
        value_tags=1,
        skip_level=skip_level,
        chart=[ChartWeek(f"{d} Feb", None, None) for d in range(1, 9)],
    )
    for name, value in changes.items():
        setattr(data, name, value)
    return data


def test_a_directors_digest_leads_with_the_teams_below_and_never_says_0_of_0() -> None:
    data = director(
        [
            SkipLine("UANA", 5, 5, 5, 3.4, -0.2, too_small=False),
            SkipLine("UDIEGO", 5, 9, 10, 3.9, -0.3, too_small=False),
            SkipLine("UPAT", 2, 0, 0, None, None, too_small=True),
        ]
    )
    assert data.leads_with_teams() and not data.has_chart()
    title = blocks.headline(data)
    assert title == (
        "Week of 2–8 Mar: your 3 teams answered 14 of 15 check-ins (1 too small to show), "
        "1 kudos, 1 value tag"
    )
    (message,) = blocks.messages(data)  # a chart asked for, but there is nothing to draw
    kinds = [b["type"] for b in message[1]]
    assert "image" not in kinds
    texts = [b["text"]["text"] for b in message[1] if b["type"] in ("header", "section")]
    assert texts[0] == "Your teams, week of 2–8 Mar"
    # The teams right after the headline, before anything else.
    assert texts[2].startswith(":busts_in_silhouette: *Your teams*")
    assert "<@UANA>'s team (5 people): 5 of 5 check-ins answered, pulse 3.4 (-0.2)" in texts[2]
    assert "<@UPAT>'s team: too small to show" in texts[2]
    body = text_of(message[1])
    for never in ("0 of 0", "No check-ins were scheduled", "No pulse answers", "Skip-level"):
        assert never not in body, never


def test_a_manager_without_check_ins_of_their_own_gets_no_empty_chart_nor_0_of_0() -> None:
    data = director([], reports=["USOLO"])
    assert not data.leads_with_teams()
    assert blocks.headline(data).startswith(
        "Week of 2–8 Mar: no check-ins for your team this week, 1 kudos"
    )
    (message,) = blocks.messages(data)
    body = text_of(message[1])
    assert "image" not in [b["type"] for b in message[1]] and "0 of 0" not in body
    assert "Pulse" not in body


# ----- View more and the preview ----------------------------------------------------------------


def test_view_more_shows_the_whole_answer_the_exchange_and_the_note_with_dates_in_words() -> None:
    view = AnswerView(
        occurrence_id=7,
        member_id="UBEN",
        template="Platform weekly",
        local_date=date(2037, 11, 27),
        answers=[("What did you get done?", "All of it"), ("Blocked?", rules.NO_DETAILS)],
        exchange=[
            ("UANA", "Great week!", date(2037, 11, 28)),
            ("UBEN", "Thanks <3", date(2037, 11, 29)),
        ],
        answered_on=date(2037, 11, 27),
        note="Can we talk about on-call?",
    )
    modal = blocks.answer_modal([view])
    body = text_of(modal["blocks"])
    assert "Platform weekly · Fri 27 Nov" in body
    assert "<@UANA> replied, Sat 28 Nov" in body and "<@UBEN> answered back, Sun 29 Nov" in body
    assert "Thanks &lt;3" in body and "Can we talk about on-call?" in body
    assert "2037-11" not in body  # no ISO dates
    assert [e["value"] for b in modal["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert json.loads(modal["private_metadata"]) == {"occurrence_id": 7}


def test_the_preview_says_it_is_one_and_when_it_goes_and_a_sent_one_says_when_it_went() -> None:
    data = director([SkipLine("UANA", 5, 5, 5, 3.4, -0.2, too_small=False)])
    goes = datetime(2037, 3, 9, 9, 0, tzinfo=UTC)
    coming = blocks.preview_modal(DigestPreview(data, goes_at=goes))
    assert coming["title"]["text"] == "Digest preview"
    first = coming["blocks"][0]["elements"][0]["text"]
    assert first.startswith(":eyes: *Preview, not sent yet.* It goes to you <!date^")
    assert str(int(goes.timestamp())) in first
    data.sent = True
    sent = blocks.preview_modal(DigestPreview(data, sent_at=goes))
    assert sent["title"]["text"] == "Weekly digest"
    said = sent["blocks"][0]["elements"][0]["text"]
    assert said.startswith(":mailbox_with_mail: *As sent* <!date^")


# ----- the chart --------------------------------------------------------------------------------


def test_the_chart_has_a_legend_marks_empty_and_open_weeks_and_never_draws_them_as_zero() -> None:
    weeks = [
        ChartWeek("9 Feb", None, None),
        ChartWeek("16 Feb", 3.5, 0.8),
        ChartWeek("23 Feb", None, None),
        ChartWeek("2 Mar", 2.0, 0.25, unfinished=True),  # one of four answered so far
    ]
    fig = digest_chart.figure(weeks)
    assert digest_chart.legend_labels(fig) == ["pulse (right)", "answered % (left)"]
    assert digest_chart.marks(fig) == [(0, "no data"), (2, "no data"), (3, "still open")]
    pulses, bars = digest_chart.plotted(fig)
    assert pulses == [None, 3.5, None, None]
    assert bars == pytest.approx([0, 80, 0, 0])
    # Readable at a phone's width: 540 px wide with text that stays legible at 60 %.
    png = digest_chart.png(weeks)
    assert png.startswith(b"\x89PNG")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (540, 460)
    labels = fig.axes[0].get_xticklabels()
    assert all(label.get_fontsize() >= 14 for label in labels)
    # The painter that reuses a figure marks the same weeks.
    painter = digest_chart.Painter()
    painter.png([ChartWeek(w.label, 4.0, 1.0) for w in weeks])
    painter.png(weeks)
    assert painter.figure is not None
    assert digest_chart.marks(painter.figure) == digest_chart.marks(fig)
    assert digest_chart.plotted(painter.figure) == (pulses, bars)
