"""Check-in templates as code: validation, apply, list, the default."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import org, template_text, templates
from bot.services.schedule import format_duration
from bot.services.templates import Question, TemplateFileError, TemplateInvalid
from storage.models import CheckinTemplate
from tests.factories import TEAM

DESIGN_EXAMPLE = """
checkins:
  - name: Platform weekly          # (owner, name) identifies it
    owner: U1ANA                   # Slack user id or email; the manager who reads the answers
    members: [U2BEN, cho@example.com]
    schedule: {days: [fri], time: "16:00"}   # in each member's own time zone
    remind_after: 4h               # optional; durations like 30m, 4h, 2d
    close_after: 3d
    post_to: {manager: true, channel: C0TEAM}  # channel optional: answers as a thread there
    questions:
      - {id: done, text: "What did you get done?", kind: text, required: true}
      - {id: pulse, text: "How do you feel this week?", kind: pulse}          # 1-5
      - {id: focus, text: "Main focus next?", kind: choice, options: [Ship, Learn, Support]}
      - {id: blocked, text: "Anything blocking you?", kind: yes_no}
      - {id: upward, text: "Anything for your manager?", kind: text, anonymous_allowed: true}
"""

EMAILS = {"cho@example.com": "U3CHO", "ana@example.com": "U1ANA"}


def resolve(email: str) -> str | None:
    return EMAILS.get(email)


def spec_dict(definition: templates.TemplateDef) -> dict[str, Any]:
    """A definition written back as a file's entry, to check that it parses to itself."""
    data: dict[str, Any] = {
        "name": definition.name,
        "owner": definition.owner_id,
        "members": list(definition.member_ids),
        "schedule": {"days": list(definition.weekdays), "time": definition.local_time},
        "close_after": format_duration(definition.close_after),
        "post_to": {"manager": definition.post_to_manager, "channel": definition.channel_id},
        "questions": [q.to_dict() for q in definition.questions],
        "active": definition.active,
    }
    if definition.remind_after is not None:
        data["remind_after"] = format_duration(definition.remind_after)
    return data


def minimal(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Team",
        "owner": "U1ANA",
        "members": ["U2BEN"],
        "schedule": {"days": ["fri"], "time": "16:00"},
        "questions": [{"id": "done", "text": "Done?", "kind": "text"}],
    }
    data.update(overrides)
    return data


def errors_of(data: object) -> dict[str, str]:
    with pytest.raises(TemplateInvalid) as caught:
        templates.parse_template(data, resolve)
    return {e.path: e.message for e in caught.value.errors}


# ----- parsing ----------------------------------------------------------------------------------


def test_the_design_example_parses() -> None:
    [t] = templates.parse_text(DESIGN_EXAMPLE, "team.yml", resolve)
    assert t.name == "Platform weekly"
    assert t.owner_id == "U1ANA"
    assert t.member_ids == ("U2BEN", "U3CHO")
    assert t.weekdays == ("fri",)
    assert t.local_time == "16:00"
    assert t.remind_after == timedelta(hours=4)
    assert t.close_after == timedelta(days=3)
    assert t.post_to_manager is True and t.channel_id == "C0TEAM"
    assert [(q.id, q.kind, q.required) for q in t.questions] == [
        ("done", "text", True),
        ("pulse", "pulse", False),
        ("focus", "choice", False),
        ("blocked", "yes_no", False),
        ("upward", "text", False),
    ]
    assert t.questions[2].options == ("Ship", "Learn", "Support")
    assert [q.upward for q in t.questions] == [False, False, False, False, True]


def test_yaml_1_1_surprises_are_read_as_written() -> None:
    text = """
checkins:
  - name: Daily
    owner: U1ANA
    schedule: {days: [Mon, tuesday, mon], time: 9:30}
    close_after: 4h
    questions:
      - {id: ok, text: "Shipping?", kind: choice, options: [Yes, No, On, 10]}
      - {id: done, text: "Done?", kind: text, required: yes}
"""
    [t] = templates.parse_text(text, "daily.yml", resolve)
    assert t.local_time == "09:30"
    assert t.weekdays == ("mon", "tue")
    assert t.questions[0].options == ("Yes", "No", "On", "10")
    assert t.questions[1].required is True
    assert t.remind_after is None and t.member_ids == ()


def test_defaults_and_mentions() -> None:
    t = templates.parse_template(
        minimal(owner="<@U1ANA|ana>", members=["U2BEN", "ana@example.com", "U2BEN"]), resolve
    )
    assert t.owner_id == "U1ANA"
    assert t.member_ids == ("U2BEN", "U1ANA")  # repeated people once
    assert t.close_after == timedelta(days=1)
    assert t.post_to_manager is True and t.channel_id is None and t.active is True


@pytest.mark.parametrize(
    ("overrides", "path", "fragment"),
    [
        ({"schedule": {"days": ["fri"], "time": "25:00"}}, "schedule.time", "HH:MM"),
        ({"schedule": {"days": ["fry"], "time": "16:00"}}, "schedule.days", "one of mon"),
        ({"schedule": {"days": [], "time": "16:00"}}, "schedule.days", "at least 1"),
        ({"schedule": {"days": ["fri"]}}, "schedule.time", "is required"),
        ({"close_after": "3 days"}, "close_after", "duration"),
        ({"close_after": "8d"}, "close_after", "at most 7d"),
        ({"remind_after": "0m"}, "remind_after", "longer than zero"),
        ({"remind_after": "1d", "close_after": "1d"}, "remind_after", "shorter than close_after"),
        ({"remind_after": 4}, "remind_after", "duration"),
        ({"post_to": {"manager": False}}, "post_to", "nowhere"),
        ({"post_to": {"channel": "#team"}}, "post_to.channel", "not a channel id"),
        ({"owner": "ana"}, "owner", "neither a Slack user id"),
        ({"owner": "zed@example.com"}, "owner", "no Slack user has the email zed@example.com"),
        ({"members": ["U2BEN", "zed@example.com"]}, "members[1]", "no Slack user"),
        ({"questions": []}, "questions", "at least 1"),
        ({"name": ""}, "name", "at least 1"),
        ({"colour": "blue"}, "colour", "unknown field"),
        ({"owner": None}, "owner", "string"),
    ],
)
def test_field_errors_name_the_field(
    overrides: dict[str, object], path: str, fragment: str
) -> None:
    errors = errors_of(minimal(**overrides))
    assert path in errors, errors
    assert fragment in errors[path]


@pytest.mark.parametrize(
    ("question", "path", "fragment"),
    [
        (
            {"id": "q", "text": "Pick", "kind": "choice", "options": ["A"]},
            "questions[q].options",
            "at least 2",
        ),
        (
            {"id": "q", "text": "Pick", "kind": "choice", "options": ["A", "A"]},
            "questions[q].options",
            "different",
        ),
        (
            {"id": "q", "text": "Pick", "kind": "choice", "options": ["A", "x" * 76]},
            "questions[q].options",
            "1 to 75",
        ),
        (
            {"id": "q", "text": "Say", "kind": "text", "options": ["A", "B"]},
            "questions[q].options",
            "only for kind: choice",
        ),
        (
            {"id": "q", "text": "Mood", "kind": "pulse", "anonymous_allowed": True},
            "questions[q].anonymous_allowed",
            "only a text question",
        ),
        ({"id": "q", "text": "Say", "kind": "essay"}, "questions[q].kind", "'text'"),
        ({"id": "Q 1", "text": "Say", "kind": "text"}, "questions[Q 1].id", "not a question id"),
        ({"id": "q", "text": "", "kind": "text"}, "questions[q].text", "at least 1"),
        ({"id": "q", "text": "x" * 301, "kind": "text"}, "questions[q].text", "at most 300"),
    ],
)
def test_question_errors_name_the_question(
    question: dict[str, object], path: str, fragment: str
) -> None:
    errors = errors_of(minimal(questions=[question]))
    assert path in errors, errors
    assert fragment in errors[path]


def test_question_ids_unique_and_one_upward_question() -> None:
    errors = errors_of(
        minimal(
            questions=[
                {"id": "a", "text": "A", "kind": "text", "anonymous_allowed": True},
                {"id": "a", "text": "B", "kind": "text", "anonymous_allowed": True},
            ]
        )
    )
    assert "repeated: a" in errors["questions"] or "anonymous_allowed" in errors["questions"]
    with pytest.raises(TemplateInvalid) as caught:
        templates.parse_template(
            minimal(
                questions=[
                    {"id": "a", "text": "A", "kind": "text", "anonymous_allowed": True},
                    {"id": "b", "text": "B", "kind": "text", "anonymous_allowed": True},
                ]
            ),
            resolve,
        )
    assert [e.path for e in caught.value.errors] == ["questions"]
    assert "at most one" in caught.value.errors[0].message


def test_too_many_questions_for_a_modal() -> None:
    questions = [{"id": f"q{i}", "text": "Q", "kind": "text"} for i in range(26)]
    assert "at most 25" in errors_of(minimal(questions=questions))["questions"]


def test_file_errors_name_file_template_and_field_and_report_them_all() -> None:
    text = """
checkins:
  - name: Good
    owner: U1ANA
    schedule: {days: [fri], time: "16:00"}
    questions: [{id: a, text: A, kind: text}]
  - name: Broken
    owner: U1ANA
    schedule: {days: [fri], time: "16:70"}
    questions: [{id: a, text: A, kind: pulse, options: [x, y]}]
  - owner: ghost@example.com
    schedule: {days: [fri], time: "16:00"}
    questions: [{id: a, text: A, kind: text}]
  - name: Good
    owner: ana@example.com
    schedule: {days: [mon], time: "10:00"}
    questions: [{id: a, text: A, kind: text}]
"""
    with pytest.raises(TemplateFileError) as caught:
        templates.parse_text(text, "teams.yml", resolve)
    assert caught.value.messages == [
        'teams.yml: template "Broken": schedule.time: must be a 24-hour time "HH:MM" such as '
        '"16:00", got "16:70"',
        "teams.yml: template #3: name: is required",
        'teams.yml: template "Good": name: the same owner already has a template with this '
        'name (template "Good"); (owner, name) identifies a template',
    ]


def test_cross_field_errors_are_reported_once_shape_is_valid() -> None:
    text = """
checkins:
  - name: Broken
    owner: ghost@example.com
    schedule: {days: [fri], time: "16:00"}
    questions: [{id: a, text: A, kind: pulse, options: [x, y]}]
"""
    with pytest.raises(TemplateFileError) as caught:
        templates.parse_text(text, "t.yml", resolve)
    assert caught.value.messages == [
        't.yml: template "Broken": questions[a].options: options are only for kind: choice, '
        "not pulse",
        't.yml: template "Broken": owner: no Slack user has the email ghost@example.com',
    ]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("checkins: [", "not valid YAML (line 1, column 12): expected the node content"),
        ("templates: []", "expected a top-level `checkins:` list"),
        ("- a\n- b", "expected a top-level `checkins:` list"),
        ("checkins: []", "`checkins:` is empty"),
        ("checkins: [name]", "template #1: (template): must be a mapping"),
        ("checkins: []\nextra: 1", "unknown top-level key `extra`"),
    ],
)
def test_unreadable_documents(text: str, fragment: str) -> None:
    with pytest.raises(TemplateFileError) as caught:
        templates.parse_text(text, "x.yml", resolve)
    assert any(fragment in m for m in caught.value.messages), caught.value.messages


def test_load_file_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TemplateFileError, match=r"missing\.yml: can't read the file"):
        templates.load_file(tmp_path / "missing.yml", resolve)
    path = tmp_path / "ok.yml"
    path.write_text(DESIGN_EXAMPLE, encoding="utf-8")
    assert [t.name for t in templates.load_file(path, resolve)] == ["Platform weekly"]


# ----- apply ------------------------------------------------------------------------------------


def parsed(**overrides: object) -> templates.TemplateDef:
    return templates.parse_template(minimal(**overrides), resolve)


def test_apply_creates_then_is_idempotent(session: Session, now: datetime) -> None:
    [t] = templates.parse_text(DESIGN_EXAMPLE, "team.yml", resolve)
    [change] = templates.apply(session, TEAM, [t], now)
    assert change.action == "created"
    assert change.members_added == ["U2BEN", "U3CHO"]
    assert change.managers_set == ["U2BEN", "U3CHO"]
    assert org.manager_of(session, TEAM, "U2BEN") == "U1ANA"

    [again] = templates.apply(session, TEAM, [t], now + timedelta(hours=1))
    assert (again.action, again.template_id) == ("unchanged", change.template_id)
    assert again.members_added == again.members_removed == again.managers_set == []
    row = session.get(CheckinTemplate, change.template_id)
    assert row is not None and row.updated_at == now

    [info] = templates.list_templates(session, TEAM)
    assert info.definition == t
    assert info.id == change.template_id


def test_apply_updates_in_place_matched_by_owner_and_name(session: Session, now: datetime) -> None:
    first = templates.apply(session, TEAM, [parsed(members=["U2BEN", "U3CHO"])], now)[0]
    later = now + timedelta(days=1)
    [change] = templates.apply(
        session,
        TEAM,
        [parsed(members=["U3CHO", "U4DEV"], remind_after="2h")],
        later,
    )
    assert (change.action, change.template_id) == ("updated", first.template_id)
    assert change.members_added == ["U4DEV"]
    assert change.members_removed == ["U2BEN"]
    row = session.get(CheckinTemplate, first.template_id)
    assert row is not None
    assert row.remind_after_minutes == 120
    assert row.updated_at == later
    assert row.schedule_from == now  # days and time did not change

    templates.apply(session, TEAM, [parsed(schedule={"days": ["fri"], "time": "10:00"})], later)
    session.refresh(row)
    assert row.local_time == "10:00" and row.schedule_from == later

    # Another owner with the same name is another template.
    [other] = templates.apply(session, TEAM, [parsed(owner="U9ZED")], later)
    assert other.action == "created" and other.template_id != first.template_id
    assert len(templates.list_templates(session, TEAM)) == 2
    assert templates.list_templates(session, "T0OTHER") == []


def test_apply_sets_managers_only_where_missing(session: Session, now: datetime) -> None:
    org.set_manager(session, TEAM, "U2BEN", "U7BOSS", now)
    [change] = templates.apply(session, TEAM, [parsed(members=["U2BEN", "U3CHO", "U1ANA"])], now)
    assert change.managers_set == ["U3CHO"]  # not U2BEN (has one), not the owner
    assert org.manager_of(session, TEAM, "U2BEN") == "U7BOSS"
    assert org.manager_of(session, TEAM, "U1ANA") is None


def test_reactivating_moves_the_schedule_start(session: Session, now: datetime) -> None:
    templates.apply(session, TEAM, [parsed(active=False)], now)
    later = now + timedelta(days=3)
    [change] = templates.apply(session, TEAM, [parsed()], later)
    row = session.get(CheckinTemplate, change.template_id)
    assert row is not None and row.active and row.schedule_from == later


def test_a_template_is_read_within_its_workspace(session: Session, now: datetime) -> None:
    [change] = templates.apply(session, TEAM, [parsed()], now)
    info = templates.get_template(session, TEAM, change.template_id)
    assert info is not None
    assert templates.get_template(session, "T0OTHER", change.template_id) is None
    assert [t.id for t in templates.templates_owned_by(session, TEAM, "U1ANA")] == [info.id]


def test_default_template(session: Session, now: datetime) -> None:
    t = templates.default_template("U1ANA", ["U2BEN", "U2BEN"])
    assert [q.text for q in t.questions] == [
        "What did you get done?",
        "What's next?",
        "Any blockers?",
        "How do you feel this week (1-5)?",
        "Anything for your manager?",
    ]
    assert [q.kind for q in t.questions] == ["text", "text", "text", "pulse", "text"]
    assert t.questions[-1].upward and not any(q.upward for q in t.questions[:-1])
    # The built-in default marks its blocker question.
    assert [q.id for q in t.questions if q.blocker] == ["blockers"]
    assert t.member_ids == ("U2BEN",)
    assert (t.weekdays, t.local_time) == (("fri",), "16:00")
    # Its spec form passes the same validation as a file, and round-trips.
    assert templates.parse_template(spec_dict(t), resolve) == t
    [change] = templates.apply(session, TEAM, [t], now)
    stored = session.scalars(select(CheckinTemplate)).one()
    assert stored.id == change.template_id and stored.name == "Weekly check-in"


def test_question_dict_round_trip() -> None:
    q = Question("focus", "Focus?", "choice", required=True, options=("A", "B"))
    assert Question.from_dict(q.to_dict()) == q
    kept = Question("why", "Why?", "text", in_channel=False)
    assert kept.to_dict()["in_channel"] is False and Question.from_dict(kept.to_dict()) == kept
    assert "in_channel" not in q.to_dict()  # stored templates read the same as before


def test_which_answers_a_team_channel_may_see() -> None:
    """A pulse and an upward note never go to a channel, whatever the template says; any
    other question does unless it says `in_channel: false`."""
    definition = templates.parse_template(
        minimal(
            post_to={"manager": True, "channel": "C0TEAM"},
            questions=[
                {"id": "done", "text": "Done?", "kind": "text"},
                {"id": "pulse", "text": "Mood?", "kind": "pulse"},
                {"id": "pay", "text": "Pay ok?", "kind": "yes_no", "in_channel": False},
                {"id": "up", "text": "For you?", "kind": "text", "anonymous_allowed": True},
            ],
        ),
        resolve,
    )
    assert [q.id for q in definition.questions if q.shared] == ["done"]
    for question in (
        {"id": "q", "text": "Mood?", "kind": "pulse", "in_channel": True},
        {"id": "q", "text": "Up?", "kind": "text", "anonymous_allowed": True, "in_channel": True},
    ):
        errors = errors_of(minimal(questions=[question]))
        assert "never posted to a channel" in errors["questions[q].in_channel"]


def test_a_yes_no_blocker_asks_what_blocks_in_the_same_form() -> None:
    blocked = Question("blocked", "Blocked?", "yes_no", blocker=True, in_channel=False)
    plain_yes_no = Question("ok", "OK?", "yes_no")
    text_blocker = Question("what", "What's in your way?", "text", blocker=True)
    asked = templates.form_questions([blocked, plain_yes_no, text_blocker])
    assert [q.id for q in asked] == ["blocked", "blocked.detail", "ok", "what"]
    detail = asked[1]
    assert (detail.text, detail.kind, detail.required) == ("What is blocking you?", "text", False)
    assert detail.detail_of == "blocked" and detail.in_channel is False  # read as its question


def test_the_setup_modals_lines_keep_blockers_and_manager_only_questions() -> None:
    text = (
        "What did you get done? *\n"
        "[pulse] How do you feel?\n"
        "[yes/no] [blocker] Anything blocking you?\n"
        "[manager only] How is your workload?\n"
        "[upward] Anything for your manager?"
    )
    parsed = template_text.parse(text)
    assert [q.get("in_channel", True) for q in parsed] == [True, True, True, False, True]
    assert parsed[2]["blocker"] is True and parsed[2]["kind"] == "yes_no"
    questions = [Question.from_dict(q) for q in parsed]
    assert template_text.render(questions) == text
    assert template_text.parse(template_text.render(questions), questions) == parsed
