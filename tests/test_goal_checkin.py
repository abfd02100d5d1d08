"""The check-in's goals question without Slack: the kind in YAML and in the setup modal's text,
reading typed values, what counts as an update, the line a manager reads, and a form that stays
within Slack's 100 blocks however many key results a member owns."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import checkins, digest, goal_checkin, template_text, templates
from bot.services.checkins import AnswersInvalid
from bot.services.goal_checkin import Asked, Owned
from bot.services.goal_cycles import parse
from bot.services.goal_progress import Confidence, Measure
from bot.services.templates import GOALS_TEXT, Question
from handlers.blocks import checkins as blocks
from storage.models import CheckinAnswer, KeyResult, KeyResultUpdate
from tests import goal_seed
from tests.digest_seed import report
from tests.factories import TEAM, add_people, person

ON, RISK, OFF = Confidence.ON_TRACK, Confidence.AT_RISK, Confidence.OFF_TRACK
Q1 = parse("2037-Q1")


def resolve(_email: str) -> str | None:
    return None


def template_yaml(questions: str) -> str:
    return f"""
checkins:
  - name: Weekly
    owner: UANA
    members: [UBEN]
    schedule: {{days: [fri], time: "16:00"}}
    questions:
{questions}
"""


# ----- the kind in YAML and in the setup modal ----------------------------------------------


def test_a_goals_question_in_yaml_needs_no_words() -> None:
    [t] = templates.parse_text(
        template_yaml(
            '      - {id: done, text: "Done?", kind: text}\n      - {id: goals, kind: goals}'
        ),
        "team.yml",
        resolve,
    )
    goals = t.questions[1]
    assert (goals.id, goals.kind, goals.text, goals.required, goals.shared) == (
        "goals",
        "goals",
        GOALS_TEXT,
        False,
        True,
    )
    [worded] = templates.parse_text(
        template_yaml('      - {id: okrs, kind: goals, text: "Your OKRs?", in_channel: false}'),
        "team.yml",
        resolve,
    )
    assert (worded.questions[0].text, worded.questions[0].shared) == ("Your OKRs?", False)


@pytest.mark.parametrize(
    ("questions", "path", "fragment"),
    [
        ("      - {id: goals, kind: goals, required: true}", "questions[goals].required", "cannot"),
        (
            "      - {id: a, kind: goals}\n      - {id: b, kind: goals}",
            "questions",
            "at most one question may be of kind goals",
        ),
        ("      - {id: g, kind: goals, options: [a, b]}", "questions[g].options", "only for"),
        ("      - {id: g, kind: goals, blocker: true}", "questions[g].blocker", "only a text"),
        ("      - {id: g, kind: goals, anonymous_allowed: true}", "anonymous_allowed", "only a"),
        ("      - {id: g, kind: goal}", "questions[g].kind", "'goals'"),
    ],
)
def test_a_goals_question_refused_says_which_field(
    questions: str, path: str, fragment: str
) -> None:
    with pytest.raises(templates.TemplateFileError) as refused:
        templates.parse_text(template_yaml(questions), "team.yml", resolve)
    assert any(path in line and fragment in line for line in refused.value.messages), (
        refused.value.messages
    )


def test_goal_updates_in_the_setup_modals_text() -> None:
    parsed = template_text.parse("What did you get done? *\n[goals]\n[goal updates] OKRs?")
    assert [(q["kind"], q["text"]) for q in parsed] == [
        ("text", "What did you get done?"),
        ("goals", GOALS_TEXT),
        ("goals", "OKRs?"),
    ]
    one = template_text.parse("[goals] [manager only] How did your key results move?")
    assert one[0]["in_channel"] is False
    rendered = template_text.render([Question.from_dict(q) for q in one])
    assert rendered == "[goals] [manager only] How did your key results move?"
    assert template_text.parse(rendered) == one
    with pytest.raises(template_text.QuestionsInvalid, match=r"\[goals\]"):
        template_text.parse("[okr] Anything?")


# ----- reading what a member typed ------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "measure", "value"),
    [
        ("112000", Measure.CURRENCY, 112_000.0),
        ("112,000", Measure.CURRENCY, 112_000.0),
        (" $1,200.50 ", Measure.CURRENCY, 1200.5),
        ("12.5", Measure.NUMBER, 12.5),
        ("-3", Measure.NUMBER, -3.0),
        ("40%", Measure.PERCENT, 40.0),
        ("done", Measure.MILESTONE, 1.0),
        ("not_done", Measure.MILESTONE, 0.0),
    ],
)
def test_values_a_member_may_type(typed: str, measure: Measure, value: float) -> None:
    assert goal_checkin.parse_value(typed, measure) == value


@pytest.mark.parametrize(
    ("typed", "measure"),
    [
        ("1,5", Measure.NUMBER),  # a decimal comma is refused, never read as 15
        ("abc", Measure.NUMBER),
        ("nan", Measure.NUMBER),
        ("inf", Measure.NUMBER),
        ("1e13", Measure.NUMBER),
        ("yes", Measure.MILESTONE),
    ],
)
def test_values_refused_say_how_to_write_one(typed: str, measure: Measure) -> None:
    with pytest.raises(ValueError, match=r"Write a number|Pick done"):
        goal_checkin.parse_value(typed, measure)


def asked(
    result_id: int = 1,
    *,
    current: float = 100_000,
    confidence: Confidence | None = ON,
    measure: Measure = Measure.CURRENCY,
) -> Asked:
    return Asked(
        result_id,
        "Self-serve MRR",
        "Self-serve grows 30%",
        measure,
        "USD",
        100_000,
        130_000,
        current,
        confidence,
    )


def owned(*items: Asked) -> Owned:
    return Owned(cycle=Q1, today=date(2037, 2, 13), asked=list(items))


@pytest.mark.parametrize(
    ("given", "was", "updated", "value", "confidence"),
    [
        # As the form showed it: no update, whatever it was pre-filled with.
        ({"value": "100000", "confidence": "on_track", "note": ""}, None, False, 100_000, ON),
        ({}, None, False, 100_000, None),  # nothing sent at all: the same
        # A new value with a confidence: an update.
        ({"value": "112000", "confidence": "at_risk"}, None, True, 112_000, RISK),
        # Only the confidence, or only a note: an update of the same value.
        ({"value": "100000", "confidence": "off_track"}, None, True, 100_000, OFF),
        ({"value": "100000", "confidence": "on_track", "note": "legal"}, None, True, 100_000, ON),
        # `/goals` moved it to 100,000 while the form (showing 90,000) was open: left as shown,
        # it is no update; the confidence changed, it keeps the newer value, never undoes it.
        ({"value": "90000", "confidence": "on_track"}, [90_000, "on_track"], False, 100_000, ON),
        (
            {"value": "90000", "confidence": "at_risk"},
            [90_000, "on_track"],
            True,
            100_000,
            RISK,
        ),
    ],
)
def test_what_counts_as_an_update(
    given: dict[str, Any],
    was: list[Any] | None,
    updated: bool,
    value: float,
    confidence: Confidence | None,
) -> None:
    changes, errors = goal_checkin.validate(
        "goals", owned(asked()), {"1": given}, {"1": was} if was else None
    )
    assert errors == {}
    [change] = changes
    assert (change.updated, change.value, change.confidence) == (updated, value, confidence)


@pytest.mark.parametrize(
    ("raw", "field", "fragment"),
    [
        ({"1": {"value": "lots", "confidence": "on_track"}}, "goals.1.value", "Write a number"),
        ({"1": {"value": "120000", "confidence": "sure"}}, "goals.1.confidence", "Pick on"),
        ({"1": {"value": "1" * 3, "note": "x" * 501}}, "goals.1.note", "under 500"),
        # Forged, or given away since the form opened: refused only if something was changed.
        ({"9": {"value": "5", "confidence": "on_track"}}, "goals.9.value", "open the check-in"),
    ],
)
def test_bad_goal_answers_are_field_errors(raw: dict[str, Any], field: str, fragment: str) -> None:
    _, errors = goal_checkin.validate("goals", owned(asked()), raw)
    assert fragment in errors[field], errors


def test_an_update_without_a_confidence_asks_for_one() -> None:
    first = asked(confidence=None)  # never updated: the form has no confidence to pre-fill
    _, errors = goal_checkin.validate("goals", owned(first), {"1": {"value": "120000"}})
    assert "how confident" in errors["goals.1.confidence"]
    # Left alone, it needs none; a forged field left empty is ignored.
    changes, errors = goal_checkin.validate(
        "goals", owned(first), {"1": {"value": "100000"}, "9": {"value": ""}}
    )
    assert errors == {} and [c.updated for c in changes] == [False]


# ----- the line a manager reads ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "line"),
    [
        (
            {
                "title": "Self-serve MRR",
                "measure": "currency",
                "unit": "USD",
                "before": 100_000,
                "after": 112_000,
                "progress": 0.4,
                "status": "at_risk",
                "note": "two deals slipped",
            },
            'Self-serve MRR 100,000 → 112,000 USD (40%, at risk): "two deals slipped"',
        ),
        (
            {
                "title": "Pricing page live",
                "measure": "milestone",
                "before": 0,
                "after": 1,
                "progress": 1.0,
                "status": "on_track",
            },
            "Pricing page live not done → done (100%, on track)",
        ),
        (
            {
                "title": "Churn",
                "measure": "percent",
                "unit": "",
                "before": 4.5,
                "after": 4.5,
                "progress": 0.25,
                "status": "off_track",
                "note": "same\nas before",
            },
            'Churn 4.5% (25%, off track): "same as before"',
        ),
        (
            {
                "title": "Chapters read",
                "measure": "number",
                "before": 3,
                "after": None,
                "progress": 0.3,
                "status": "on_track",
            },
            "Chapters read 3 (30%, on track), no update",
        ),
    ],
)
def test_one_line_per_key_result(entry: dict[str, Any], line: str) -> None:
    assert goal_checkin.result_line(entry) == line


def test_a_private_goals_line_is_for_its_people_and_never_a_channel() -> None:
    private = {"title": "Learn Rust", "private_to": ["UBEN", "UANA"], "before": 0, "after": None}
    public = {"title": "MRR", "before": 0, "after": None}
    value = [public, private]
    assert blocks.goal_lines(value, "UANA").count("•") == 2
    assert blocks.goal_lines(value, "UCHO").count("•") == 1
    assert blocks.goal_lines(value, None).count("•") == 2  # the member's own copy
    assert blocks.goal_lines(value, "UANA", in_channel=True).count("•") == 1
    assert blocks.goal_lines([private], "UCHO") == ""


# ----- the form -------------------------------------------------------------------------------


def many(count: int) -> Owned:
    results = [
        asked(i, measure=Measure.MILESTONE if i % 4 == 0 else Measure.NUMBER)
        for i in range(1, count + 1)
    ]
    found = owned(*results[: goal_checkin.MAX_ASKED])
    found.more = max(0, count - goal_checkin.MAX_ASKED)
    return found


def goals_template(others: int, *, first: bool = False) -> list[Question]:
    questions = [Question(f"q{i}", f"Question {i}?", "text") for i in range(others)]
    goals = Question("goals", GOALS_TEXT, "goals")
    return [goals, *questions] if first else [*questions, goals]


@pytest.mark.parametrize(
    ("others", "first", "owning", "inputs", "more"),
    [
        (3, False, 2, 2, None),
        (3, False, 14, 10, "You own 4 more key results"),  # ten at most, the rest for /goals
        (24, False, 14, 10, "You own 4 more key results"),
        # First, before 24 questions (up to 3 blocks each, kept for them): room for 8.
        (24, True, 14, 8, "You own 6 more key results"),
    ],
)
def test_the_form_keeps_within_100_blocks(
    others: int, first: bool, owning: int, inputs: int, more: str | None
) -> None:
    readers = blocks.Readers("UANA", "UANA", "C0TEAM")
    modal = blocks.answer_modal(
        7,
        "Weekly",
        date(2037, 2, 13),
        goals_template(others, first=first),
        readers=readers,
        goals=many(owning),
    )
    ids = [b.get("block_id", "") for b in modal["blocks"]]
    assert len(modal["blocks"]) <= 100
    assert sum(i.endswith(".value") for i in ids) == inputs
    assert sum(i.endswith(".confidence") for i in ids) == inputs
    assert sum(i.endswith(".note") for i in ids) == inputs
    assert all(f"checkin_q_q{i}" in ids for i in range(others))  # no other question is lost
    text = str(modal["blocks"])
    assert (more in text) if more else ("more key result" not in text)


def test_the_form_prefills_the_last_value_and_confidence() -> None:
    modal = blocks.answer_modal(
        7,
        "Weekly",
        date(2037, 2, 13),
        goals_template(1),
        goals=owned(
            asked(current=106_500, confidence=RISK),
            asked(2, measure=Measure.MILESTONE, current=0, confidence=None),
        ),
    )
    by_id = {b.get("block_id"): b for b in modal["blocks"]}
    value = by_id["checkin_q_goals.1.value"]
    assert value["label"]["text"] == "Self-serve MRR"
    assert value["element"]["initial_value"] == "106500"
    assert "now 106,500 USD (22%) · from 100,000 to 130,000 USD" in value["hint"]["text"]
    confidence = by_id["checkin_q_goals.1.confidence"]["element"]["initial_option"]
    assert confidence["value"] == "at_risk"
    milestone = by_id["checkin_q_goals.2.value"]["element"]
    assert milestone["initial_option"]["value"] == "not_done"
    assert "initial_option" not in by_id["checkin_q_goals.2.confidence"]["element"]
    assert blocks.goals_from_metadata(modal["private_metadata"]) == {
        "1": [106_500, "at_risk"],
        "2": [0, None],
    }


def test_a_member_who_owns_no_key_result_sees_one_line() -> None:
    modal = blocks.answer_modal(
        7, "Weekly", date(2037, 2, 13), goals_template(1), goals=owned()
    )
    goal_blocks = [b for b in modal["blocks"] if "key result" in str(b)]
    assert len(goal_blocks) == 1 and goal_blocks[0]["type"] == "context"
    assert "You own no active key result in 2037-Q1" in str(goal_blocks[0])
    assert not any("goals." in b.get("block_id", "") for b in modal["blocks"])
    assert "goals" not in modal["private_metadata"]


def test_read_answers_collects_each_key_results_inputs() -> None:
    state = {
        "checkin_q_q0": {"answer": {"type": "plain_text_input", "value": "x"}},
        "checkin_q_goals.1.value": {"answer": {"type": "plain_text_input", "value": "120"}},
        "checkin_q_goals.1.confidence": {
            "answer": {"type": "static_select", "selected_option": {"value": "on_track"}}
        },
        "checkin_q_goals.1.note": {"answer": {"type": "plain_text_input", "value": None}},
        "checkin_q_goals.2.value": {
            "answer": {"type": "static_select", "selected_option": {"value": "done"}}
        },
        "checkin_q_goals.2.bogus": {"answer": {"type": "plain_text_input", "value": "?"}},
    }
    raw, _ = blocks.read_answers(state, goals_template(1))
    assert raw == {
        "q0": "x",
        "goals": {
            "1": {"value": "120", "confidence": "on_track", "note": None},
            "2": {"value": "done"},
        },
    }


# ----- one unit of work ------------------------------------------------------------------------

CREATED = datetime(2037, 1, 5, tzinfo=UTC)
FRIDAY = datetime(2037, 2, 13, 15, 30, tzinfo=UTC)


def seeded(session: Session) -> tuple[int, int, int]:
    """Ben's weekly check-in (pending) with a goals question, and a key result he owns."""
    add_people(session, CREATED, person("UANA"), person("UBEN", tz="Europe/Berlin"))
    report(session, "UBEN", "UANA")
    definition = templates.parse_template(
        {
            "name": "Weekly",
            "owner": "UANA",
            "members": ["UBEN"],
            "schedule": {"days": ["fri"], "time": "16:00"},
            "questions": [
                {"id": "done", "text": "Done?", "kind": "text"},
                {"id": "goals", "kind": "goals"},
            ],
        },
        resolve,
    )
    [change] = templates.apply(session, TEAM, [definition], CREATED)
    plan = checkins.plan_due(session, FRIDAY - timedelta(minutes=20))
    [due] = plan.created
    goal = goal_seed.objective(session, "UANA", "Self-serve grows 30%", CREATED)
    mrr = goal_seed.key_result(
        session,
        goal,
        "Self-serve MRR",
        "UBEN",
        CREATED,
        start=100_000,
        target=130_000,
        measure="currency",
        unit="USD",
    )
    return change.template_id, due.occurrence.id, mrr


def test_the_answer_and_its_updates_are_one_write_and_a_replay_changes_nothing(
    session: Session,
) -> None:
    _, occurrence_id, mrr = seeded(session)
    answers = {
        "done": "Shipped",
        "goals": {str(mrr): {"value": "112000", "confidence": "at_risk", "note": "slipped"}},
    }
    with pytest.raises(AnswersInvalid) as invalid:  # a bad value: nothing is written at all
        checkins.submit(
            session,
            TEAM,
            "UBEN",
            occurrence_id,
            {**answers, "goals": {str(mrr): {"value": "x", "confidence": "at_risk"}}},
            FRIDAY,
        )
    assert list(invalid.value.errors) == [f"goals.{mrr}.value"]
    assert session.scalars(select(KeyResultUpdate)).all() == []
    submitted = checkins.submit(session, TEAM, "UBEN", occurrence_id, answers, FRIDAY)
    [shown] = [v for q, v in submitted.answers if q.kind == "goals"]
    assert goal_checkin.result_line(shown[0]) == (
        'Self-serve MRR 100,000 → 112,000 USD (40%, at risk): "slipped"'
    )
    stored = session.scalars(
        select(CheckinAnswer.value).where(CheckinAnswer.question_id == "goals")
    ).one()
    assert "note" not in stored[0] and stored[0]["after"] == 112_000  # one copy of the words
    with pytest.raises(checkins.CheckinUnavailable):
        checkins.submit(session, TEAM, "UBEN", occurrence_id, answers, FRIDAY)
    [row] = session.scalars(select(KeyResultUpdate)).all()
    assert (row.occurrence_id, row.value, row.confidence) == (occurrence_id, 112_000, "at_risk")
    assert session.get(KeyResult, mrr).current == 112_000  # type: ignore[union-attr]
    # View more reads the answer as given, with the note its update keeps.
    [view] = digest.answer_view(session, TEAM, "UANA", [occurrence_id], ZoneInfo("UTC"))
    assert view.answers[-1] == (
        GOALS_TEXT,
        '• Self-serve MRR 100,000 → 112,000 USD (40%, at risk): "slipped"',
    )
