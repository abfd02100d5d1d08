"""`/checkin setup` end to end: the modal a manager opens, what saving it stores, the errors it
shows on the right field, and who may edit whose check-in (owner, admins)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.demo.emulator import SlackEmulator
from bot.services import templates
from bot.services.templates import TemplateInfo
from storage.models import OrgEdge, OutboxMessage
from tests.server import SIGNING_SECRET, RunningServer, running_server, server_settings
from tests.slack_requests import SlackRequests

OWNER = "UANA"
ADMIN = "UADMIN"
DEFAULT_LINES = [
    "What did you get done? *",
    "What's next? *",
    "[blocker] Any blockers?",
    "[pulse] How do you feel this week (1-5)? *",
    "[upward] Anything for your manager?",
]
TEAM_QUESTIONS = "\n".join(
    [*DEFAULT_LINES, "[choice: Ship, Learn, Support] Main focus next?", "[yes/no] On track?"]
)


# ----- helpers ----------------------------------------------------------------------------------


def view_of(call: dict[str, Any]) -> dict[str, Any]:
    view = call["view"]
    return view if isinstance(view, dict) else json.loads(view)


def open_setup(
    signed: SlackRequests, slack: SlackEmulator, user_id: str, text: str = "setup"
) -> dict[str, Any]:
    """`/checkin setup ...` -> the modal Slack was asked to open with that command's trigger."""
    trigger = signed.trigger_id()
    response = signed.command("/checkin", text, user_id=user_id, trigger_id=trigger)
    assert response.status_code == 200
    call = slack.wait_for("views.open", predicate=lambda c: c["trigger_id"] == trigger)[0]
    assert call.status == 200
    return {**view_of(call), "id": f"V{trigger[-8:].upper()}"}


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def element(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return block(view, block_id)["element"]


def text_of(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"])


def state(
    *,
    name: str | None = "Team sync",
    members: list[str] | None = None,
    days: list[str] | None = None,
    time: str | None = "09:30",
    questions: str | None = TEAM_QUESTIONS,
    remind: str | None = "2h",
    close: str | None = "1d",
    dm: bool = True,
    channel: str | None = "C0TEAM",
) -> dict[str, Any]:
    """`view.state.values` as Slack sends it for the setup modal (block -> "value" -> element)."""

    def text(value: str | None) -> dict[str, Any]:
        return {"value": {"type": "plain_text_input", "value": value}}

    def boxes(values: list[str]) -> dict[str, Any]:
        options = [{"text": {"type": "plain_text", "text": v}, "value": v} for v in values]
        return {"value": {"type": "checkboxes", "selected_options": options}}

    values: dict[str, Any] = {
        "setup_members": {
            "value": {
                "type": "multi_users_select",
                "selected_users": ["UBEN", "UCHO"] if members is None else members,
            }
        },
        "setup_days": boxes(["mon", "thu"] if days is None else days),
        "setup_time": {"value": {"type": "timepicker", "selected_time": time}},
        "setup_questions": text(questions),
        "setup_remind": text(remind),
        "setup_close": text(close),
        "setup_dm": boxes(["dm_owner"] if dm else []),
        "setup_channel": {
            "value": {"type": "conversations_select", "selected_conversation": channel}
        },
    }
    if name is not None:
        values["setup_name"] = text(name)
    return values


def save(
    signed: SlackRequests, user_id: str, view: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    response = signed.view_submission(
        user_id=user_id,
        callback_id="checkin_setup_modal",
        values=values,
        private_metadata=view["private_metadata"],
        view_id=view["id"],
    )
    assert response.status_code == 200
    return response.json() if response.text else {}


def stored(server: RunningServer) -> list[TemplateInfo]:
    with server.deps.unit_of_work() as session:
        return templates.list_templates(session, "T0TEAM")


def managers(server: RunningServer) -> dict[str, str]:
    with server.deps.unit_of_work() as session:
        return {e.user_id: e.manager_id for e in session.scalars(select(OrgEdge))}


def outbox_keys(server: RunningServer) -> list[str]:
    with server.deps.unit_of_work() as session:
        return list(session.scalars(select(OutboxMessage.idempotency_key)))


def create_team_sync(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, **fields: Any
) -> TemplateInfo:
    view = open_setup(signed, slack, OWNER)
    assert save(signed, OWNER, view, state(**fields)) == {}
    (info,) = [t for t in stored(server) if t.definition.name == fields.get("name", "Team sync")]
    return info


@pytest.fixture(autouse=True)
def _team_channel(slack: SlackEmulator) -> None:
    slack.add_channel("C0TEAM", "team")
    slack.add_user(ADMIN, tz="Europe/Paris")


# ----- creating and editing ---------------------------------------------------------------------


def test_a_manager_without_a_check_in_gets_the_default_and_saves_it(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    with server.deps.unit_of_work() as session:  # Cho already reports to someone else
        session.add(
            OrgEdge(
                team_id="T0TEAM",
                user_id="UCHO",
                manager_id="UDEV",
                source="csv",
                updated_at=datetime.now(UTC),
            )
        )
    view = open_setup(signed, slack, OWNER)

    assert view["callback_id"] == "checkin_setup_modal"
    assert element(view, "setup_name")["initial_value"] == "Weekly check-in"
    assert element(view, "setup_questions")["initial_value"].splitlines() == DEFAULT_LINES
    assert [o["value"] for o in element(view, "setup_days")["initial_options"]] == ["fri"]
    assert element(view, "setup_time")["initial_time"] == "16:00"
    assert element(view, "setup_remind")["initial_value"] == "4h"
    assert element(view, "setup_close")["initial_value"] == "3d"
    assert [o["value"] for o in element(view, "setup_dm")["initial_options"]] == ["dm_owner"]
    assert "initial_users" not in element(view, "setup_members")
    assert json.loads(view["private_metadata"])["template_id"] is None

    before = datetime.now(UTC) - timedelta(seconds=1)
    assert save(signed, OWNER, view, state()) == {}

    (info,) = stored(server)
    d = info.definition
    assert (d.name, d.owner_id) == ("Team sync", OWNER)
    assert set(d.member_ids) == {"UBEN", "UCHO"}
    assert d.weekdays == ("mon", "thu") and d.local_time == "09:30"
    assert d.remind_after == timedelta(hours=2) and d.close_after == timedelta(days=1)
    assert d.post_to_manager is True and d.channel_id == "C0TEAM"
    assert [(q.text, q.kind, q.required) for q in d.questions] == [
        ("What did you get done?", "text", True),
        ("What's next?", "text", True),
        ("Any blockers?", "text", False),
        ("How do you feel this week (1-5)?", "pulse", True),
        ("Anything for your manager?", "text", False),
        ("Main focus next?", "choice", False),
        ("On track?", "yes_no", False),
    ]
    assert d.questions[4].anonymous_allowed and d.questions[5].options == (
        "Ship",
        "Learn",
        "Support",
    )
    assert info.created_at >= before
    # The owner now manages Ben (who had no manager), not Cho (who had one).
    assert managers(server) == {"UBEN": OWNER, "UCHO": "UDEV"}
    confirmation = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == OWNER)
    assert "Created *Team sync*" in confirmation[0]["text"]
    assert "2 member(s)" in confirmation[0]["text"]


def test_editing_opens_the_same_template_prefilled_and_keeps_question_ids(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    created = create_team_sync(server, slack, signed)
    old_ids = {q.text: q.id for q in created.definition.questions}

    view = open_setup(signed, slack, OWNER)
    assert json.loads(view["private_metadata"])["template_id"] == created.id
    assert not [b for b in view["blocks"] if b.get("block_id") == "setup_name"]
    assert "Editing *Team sync*" in text_of(view)
    assert sorted(element(view, "setup_members")["initial_users"]) == ["UBEN", "UCHO"]
    assert [o["value"] for o in element(view, "setup_days")["initial_options"]] == ["mon", "thu"]
    assert element(view, "setup_time")["initial_time"] == "09:30"
    assert element(view, "setup_questions")["initial_value"] == TEAM_QUESTIONS
    assert element(view, "setup_remind")["initial_value"] == "2h"
    assert element(view, "setup_close")["initial_value"] == "1d"
    assert element(view, "setup_channel")["initial_conversation"] == "C0TEAM"

    # A new question first whose words start like an old one's, one removed, one reworded,
    # one whose kind changed: only the unchanged ones keep their ids.
    edited = "\n".join(
        [
            "What did you get stuck on?",
            "What did you get done? *",
            "[pulse] How do you feel this week (1-5)? *",
            "What's next for you?",
            "[yes/no] Any blockers?",
            "[upward] Anything for your manager?",
            "[choice: Ship, Learn] Main focus next?",
        ]
    )
    values = state(name=None, members=["UBEN", "UDEV"], questions=edited, channel=None)
    assert save(signed, OWNER, view, values) == {}

    (info,) = stored(server)
    assert info.id == created.id and info.definition.channel_id is None
    assert set(info.definition.member_ids) == {"UBEN", "UDEV"}
    new_ids = {q.text: q.id for q in info.definition.questions}
    for unchanged in (
        "What did you get done?",
        "How do you feel this week (1-5)?",
        "Anything for your manager?",
        "Main focus next?",
    ):
        assert new_ids[unchanged] == old_ids[unchanged], unchanged
    fresh = {new_ids[t] for t in ("What did you get stuck on?", "What's next for you?")}
    assert not fresh & set(old_ids.values()), "a new question took an old question's id"
    assert new_ids["Any blockers?"] != old_ids["Any blockers?"], "a text answer became yes/no"
    assert len(set(new_ids.values())) == len(new_ids)
    slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c["channel"] == OWNER and "Updated *Team sync*" in c["text"],
    )


def test_a_new_check_in_cannot_take_the_name_of_an_existing_one(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    create_team_sync(server, slack, signed)
    view = open_setup(signed, slack, OWNER, "setup Platform")
    assert element(view, "setup_name")["initial_value"] == "Platform"
    answer = save(signed, OWNER, view, state(name="team sync", members=["UDEV"]))
    assert answer["response_action"] == "errors"
    assert "/checkin setup Team sync" in answer["errors"]["setup_name"]
    (info,) = stored(server)
    assert set(info.definition.member_ids) == {"UBEN", "UCHO"}


# ----- errors land on their field, and nothing is stored ----------------------------------------


INVALID = [
    # (fields changed from a valid setup, the block the error must land on, words it says)
    ({"close": "soon"}, "setup_close", "duration"),
    ({"remind": "soon"}, "setup_remind", "duration"),
    ({"remind": "2d", "close": "1d"}, "setup_remind", "shorter than"),
    ({"close": "30d"}, "setup_close", "at most"),
    ({"days": []}, "setup_days", ""),
    ({"time": None}, "setup_time", ""),
    ({"members": ["UBEN", "UROBOT"]}, "setup_members", "is a bot"),
    ({"members": ["UGONE"]}, "setup_members", "deactivated"),
    ({"members": ["UEXT"]}, "setup_members", "another organisation"),
    ({"questions": "[choice: A] Pick one"}, "setup_questions", "at least two options"),
    ({"questions": "What?\n[nonsense] Q"}, "setup_questions", "Line 2"),
    ({"questions": "[pulse]"}, "setup_questions", "write the question"),
    ({"questions": ""}, "setup_questions", "at least one question"),
    ({"questions": None}, "setup_questions", "at least one question"),
    ({"questions": "[upward] One\n[upward] Two"}, "setup_questions", "at most one"),
    ({"dm": False, "channel": None}, "setup_channel", "nowhere"),
]


def test_an_invalid_setup_is_refused_on_its_field_and_nothing_is_stored(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    view = open_setup(signed, slack, OWNER)
    for fields, block_id, says in INVALID:
        answer = save(signed, OWNER, view, state(**fields))
        assert answer.get("response_action") == "errors", (fields, answer)
        assert block_id in answer["errors"], (fields, answer)
        assert says in answer["errors"][block_id], (fields, answer)
    assert stored(server) == []
    assert managers(server) == {}
    assert outbox_keys(server) == []
    # The same modal, corrected, saves; a question may start with a digit.
    assert save(signed, OWNER, view, state(questions="1:1 topics? *\n[pulse] Mood")) == {}
    (info,) = stored(server)
    assert info.definition.name == "Team sync"
    assert [(q.text, q.kind) for q in info.definition.questions] == [
        ("1:1 topics?", "text"),
        ("Mood", "pulse"),
    ]


# ----- who may edit -----------------------------------------------------------------------------


def test_only_the_owner_may_edit_and_several_templates_are_listed(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    created = create_team_sync(server, slack, signed)

    notice = open_setup(signed, slack, "UBEN", "setup Team sync <@UANA|ana>")
    assert "callback_id" not in notice or notice["callback_id"] != "checkin_setup_modal"
    assert "Only <@UANA> or a pulsebot admin" in text_of(notice)

    # A submission forged with the owner's metadata is refused too.
    edit = open_setup(signed, slack, OWNER)
    answer = save(signed, "UBEN", edit, state(name=None, members=["UBEN"]))
    assert answer["response_action"] == "errors" and "setup_members" in answer["errors"]
    (info,) = stored(server)
    assert set(info.definition.member_ids) == {"UBEN", "UCHO"}

    # Someone else's `/checkin setup` (no owner named) is their own, new check-in.
    own = open_setup(signed, slack, "UBEN")
    assert json.loads(own["private_metadata"]) == {
        "template_id": None,
        "owner_id": "UBEN",
        "name": "Weekly check-in",
    }

    # A second template: a bare `/checkin setup` lists both; naming one opens it.
    second = open_setup(signed, slack, OWNER, "setup Retro")
    assert save(signed, OWNER, second, state(name="Retro", days=["fri"])) == {}
    several = open_setup(signed, slack, OWNER)
    assert "`Team sync`" in text_of(several) and "`Retro`" in text_of(several)
    assert "/checkin setup NAME" in text_of(several)
    named = open_setup(signed, slack, OWNER, "setup team sync")
    assert json.loads(named["private_metadata"])["template_id"] == created.id


@pytest.fixture
def admin_server(database_url: str, slack: SlackEmulator) -> Iterator[RunningServer]:
    settings = server_settings(database_url, slack.url, slack.bot_token, PULSEBOT_ADMINS=ADMIN)
    with running_server(settings) as running:
        yield running


def test_an_admin_may_edit_someone_elses_check_in(
    admin_server: RunningServer, slack: SlackEmulator
) -> None:
    with SlackRequests(admin_server.url, SIGNING_SECRET) as signed:
        created = create_team_sync(admin_server, slack, signed)
        view = open_setup(signed, slack, ADMIN, "setup Team sync <@UANA>")
        assert json.loads(view["private_metadata"])["template_id"] == created.id
        assert "owned by <@UANA>" in text_of(view)
        assert save(signed, ADMIN, view, state(name=None, members=["UDEV"], time="10:00")) == {}

    (info,) = stored(admin_server)
    assert info.id == created.id and info.definition.owner_id == OWNER
    assert info.definition.member_ids == ("UDEV",) and info.definition.local_time == "10:00"
    assert managers(admin_server)["UDEV"] == OWNER
    slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c["channel"] == ADMIN and "Updated *Team sync*" in c["text"],
    )
