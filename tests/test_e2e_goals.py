"""`/goals` end to end: the real server, signed requests, the Slack emulator, the database.

A small company: UCEO (an admin) owns the company objective; UANA manages UBEN and UCHO and
owns a team goal aligned to it, whose key result UBEN owns; UCHO is UBEN's peer. Everyone
lives in one zone, so every person's "today" falls in the same cycle.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.demo.emulator import SlackEmulator
from bot.services.goal_access import NOT_FOUND
from bot.services.goal_commands import DUPLICATE_TITLE
from bot.services.goal_cycles import cycle_of, following
from storage import goal_writes
from storage.goal_writes import NewResult
from storage.models import KeyResult, KeyResultUpdate, Kudos, KudosGoal, Objective, OutboxMessage
from tests.feedback_flows import all_sent, count, opened_view, set_managers, text_input
from tests.server import SIGNING_SECRET, RunningServer, running_server, server_settings
from tests.slack_requests import SlackRequests

TEAM = "T0TEAM"
ZONE = "America/New_York"


def this_cycle() -> str:
    return cycle_of(datetime.now(ZoneInfo(ZONE)).date(), "quarter").name


def next_cycle() -> str:
    return following(cycle_of(datetime.now(ZoneInfo(ZONE)).date(), "quarter")).name


@pytest.fixture
def server(database_url: str, slack: SlackEmulator) -> Iterator[RunningServer]:
    """The production server, with UCEO as the one admin."""
    for user_id in ("UCEO", "UANA", "UBEN", "UCHO"):
        slack.add_user(user_id, tz=ZONE)
    settings = server_settings(database_url, slack.url, slack.bot_token, PULSEBOT_ADMINS="UCEO")
    with running_server(settings) as running:
        set_managers(running, {"UBEN": "UANA", "UCHO": "UANA"})
        yield running


@pytest.fixture
def signed(server: RunningServer, slack: SlackEmulator) -> Iterator[SlackRequests]:
    """Clicks carry response_urls that the emulator answers, as Slack's hooks would."""
    requests = SlackRequests(server.url, SIGNING_SECRET, response_url_base=slack.hooks_url)
    yield requests
    requests.close()


# ----- seeding, and reading what Slack was sent ---------------------------------------------------


def seed(
    server: RunningServer,
    owner: str,
    title: str,
    *,
    kind: str = "team",
    parent: int | None = None,
    private: bool = False,
    cycle: str | None = None,
    results: tuple[NewResult, ...] = (),
    days_ago: int = 0,
) -> int:
    with server.deps.unit_of_work() as session:
        new_id = goal_writes.create_objective(
            session,
            team_id=TEAM,
            cycle=cycle or this_cycle(),
            title=title,
            owner_id=owner,
            kind=kind,
            visibility="private" if private else "public",
            parent_id=parent,
            created_by="cli",
            results=results,
            now=datetime.now(UTC) - timedelta(days=days_ago),
        )
    assert new_id is not None
    return new_id


def result_id(server: RunningServer, title: str) -> int:
    with server.deps.unit_of_work() as session:
        return session.scalars(select(KeyResult.id).where(KeyResult.title == title)).one()


def kudos_for(server: RunningServer, objective_id: int, how_many: int) -> None:
    """Kudos that named a goal, as the kudos form stores them."""
    with server.deps.unit_of_work() as session:
        for n in range(how_many):
            kudos = Kudos(
                team_id=TEAM,
                giver_id="UCHO",
                message="thanks",
                source="modal",
                request_key=f"seed:{objective_id}:{n}",
                giver_local_date=datetime.now(UTC).date(),
                created_at=datetime.now(UTC),
            )
            session.add(kudos)
            session.flush()
            session.add(KudosGoal(kudos_id=kudos.id, objective_id=objective_id))


@pytest.fixture
def company(server: RunningServer) -> dict[str, int]:
    grow = seed(server, "UCEO", "Grow revenue 20%", kind="company")
    selfserve = seed(
        server,
        "UANA",
        "Self-serve grows 30%",
        parent=grow,
        results=(
            NewResult("Self-serve MRR", "UBEN", "currency", "USD", 100_000, 130_000),
            NewResult("Pricing page live", "UCHO", "milestone", "", 0, 1),
        ),
        days_ago=20,
    )
    craft = seed(
        server,
        "UBEN",
        "Learn the billing system",
        kind="development",
        parent=selfserve,
        results=(NewResult("Billing bugs fixed", "UBEN", "number", "", 0, 10),),
    )
    secret = seed(
        server,
        "UANA",
        "Plan the reorg",
        kind="personal",
        private=True,
        results=(NewResult("Reorg memo", "UANA", "milestone", "", 0, 1),),
    )
    kudos_for(server, selfserve, 2)
    return {"grow": grow, "selfserve": selfserve, "craft": craft, "secret": secret}


def goals(signed: SlackRequests, user_id: str, text: str = "") -> dict[str, Any]:
    response = signed.command("/goals", text, user_id=user_id)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer.get("response_type") == "ephemeral"
    assert len(answer.get("blocks") or []) <= 50
    return answer


def words(answer: dict[str, Any]) -> str:
    """What a person reads in an answer: its text and its blocks' texts."""
    return (
        answer.get("text", "") + "\n" + json.dumps(answer.get("blocks") or [], ensure_ascii=False)
    )


def buttons(answer: dict[str, Any], action_prefix: str) -> list[dict[str, Any]]:
    """The buttons of an answer or view whose action id starts so, each with its block's id."""
    found = []
    for block in answer.get("blocks") or []:
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if str(element.get("action_id", "")).startswith(action_prefix):
                found.append({**element, "block_id": block.get("block_id", "b")})
    return found


def click_update(
    signed: SlackRequests,
    user_id: str,
    answer: dict[str, Any],
    result: int,
    trigger_id: str,
    view: dict[str, Any] | None = None,
) -> None:
    """Click the Update button of that key result, in that answer (or in that view)."""
    button = next(b for b in buttons(answer, "goals_update") if b["value"] == str(result))
    signed.block_action(
        user_id=user_id,
        action_id=button["action_id"],
        value=button["value"],
        block_id=button["block_id"],
        trigger_id=trigger_id,
        view=view,
    )


def submit(
    signed: SlackRequests,
    user_id: str,
    callback_id: str,
    values: dict[str, Any],
    *,
    view_id: str,
    private_metadata: str = "",
) -> dict[str, Any]:
    response = signed.view_submission(
        user_id=user_id,
        callback_id=callback_id,
        values=values,
        view_id=view_id,
        private_metadata=private_metadata,
    )
    assert response.status_code == 200, response.text
    return response.json() if response.text else {}


def radio(value: str | None) -> dict[str, Any]:
    chosen = {"value": value} if value else None
    return {"value": {"type": "radio_buttons", "selected_option": chosen}}


def static(value: str | None) -> dict[str, Any]:
    chosen = {"value": value} if value else None
    return {"value": {"type": "static_select", "selected_option": chosen}}


def new_goal_values(
    title: str = "Ship the new onboarding",
    kind: str | None = "team",
    *results: dict[str, str],
    parent: int | None = None,
    visibility: str = "public",
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "goal_title": text_input(title),
        "goal_kind": radio(kind),
        "goal_visibility": radio(visibility),
        "goal_parent": static(str(parent) if parent else None),
    }
    for index, result in enumerate(results, 1):
        values[f"goal_kr{index}_title"] = text_input(result.get("title", ""))
        values[f"goal_kr{index}_measure"] = static(result.get("measure", "number"))
        for name in ("start", "target", "unit"):
            values[f"goal_kr{index}_{name}"] = text_input(result.get(name, ""))
        owner = result.get("owner")
        values[f"goal_kr{index}_owner"] = {
            "value": {"type": "users_select", "selected_user": owner}
        }
    return values


def update_values(value: str = "", confidence: str | None = "on_track", note: str = "") -> dict:
    return {
        "goal_value": text_input(value),
        "goal_confidence": radio(confidence),
        "goal_note": text_input(note),
    }


def opened_text(slack: SlackEmulator, trigger_id: str) -> str:
    return json.dumps(opened_view(slack, trigger_id)["blocks"], ensure_ascii=False)


# ----- the commands -----------------------------------------------------------------------------


def test_help_unknown_words_and_a_team_for_someone_who_manages_nobody(
    server: RunningServer, signed: SlackRequests
) -> None:
    assert "`/goals new` creates a goal" in goals(signed, "UBEN", "help")["text"]
    assert goals(signed, "UBEN", "bananas")["text"] == (
        "I don't know `/goals bananas`. Try `/goals help`."
    )
    lonely = words(goals(signed, "UBEN", "team"))
    assert "Nobody reports to you" in lonely and "`/goals company`" in lonely


def test_your_goals_show_progress_chain_kudos_stale_and_update_buttons(
    server: RunningServer, signed: SlackRequests, company: dict[str, int]
) -> None:
    ben = goals(signed, "UBEN")
    seen = words(ben)
    # His development goal, and Ana's team goal where he owns a key result.
    assert "Learn the billing system" in seen and "Self-serve grows 30%" in seen
    assert "Serves: Grow revenue 20%" in seen  # the team goal serves the company objective
    assert "Serves: Self-serve grows 30% → Grow revenue 20%" in seen  # his, two levels up
    assert ":tada: 2 kudos" in seen
    assert "100,000 → *100,000* (target 130,000 USD) · 0%" in seen
    assert "stale" in seen  # 20 days without an update
    assert "Plan the reorg" not in seen  # Ana's private goal
    updatable = {b["value"] for b in buttons(ben, "goals_update")}
    assert updatable == {
        str(result_id(server, "Self-serve MRR")),
        str(result_id(server, "Billing bugs fixed")),
    }  # not Cho's milestone in Ana's goal
    assert buttons(ben, "goals_new")

    empty = words(goals(signed, "UCEO", ""))
    assert "Grow revenue 20%" in empty
    nothing = words(goals(signed, "UCHO", ""))
    assert "Self-serve grows 30%" in nothing  # Cho owns the pricing page milestone


def test_someone_elses_goals_hide_private_ones_with_the_words_of_none(
    server: RunningServer, signed: SlackRequests, company: dict[str, int]
) -> None:
    with server.deps.unit_of_work() as session:  # Ana keeps only her private goal
        session.delete(session.get(Objective, company["selfserve"]))
    about_ana = words(goals(signed, "UBEN", "<@UANA|ana>"))
    assert "Plan the reorg" not in about_ana
    seed(server, "UDEV", "Gone soon", private=True)
    about_dev = words(goals(signed, "UBEN", "<@UDEV|dev>"))
    # A private goal reads exactly like no goal at all.
    assert about_ana.replace("UANA", "X") == about_dev.replace("UDEV", "X")
    assert "has no goals shared with you" in about_ana
    # Her manager chain reads it (Ana reads her own; UCEO is not her manager).
    set_managers(server, {"UANA": "UCEO"})
    assert "Plan the reorg" in words(goals(signed, "UCEO", "<@UANA>"))
    assert "Plan the reorg" in words(goals(signed, "UANA"))
    assert "Plan the reorg" not in words(goals(signed, "UCHO", "<@UANA>"))


def test_team_goals_for_a_manager(
    server: RunningServer, signed: SlackRequests, company: dict[str, int]
) -> None:
    team = goals(signed, "UANA", "team")
    seen = words(team)
    assert "Team goals" in seen and "Self-serve grows 30%" in seen
    assert "<@UBEN>" in seen and "Learn the billing system" in seen
    assert "<@UCHO>" in seen and "Pricing page live" in seen


def test_company_objectives_with_their_aligned_goals_rolled_up(
    server: RunningServer, signed: SlackRequests, company: dict[str, int]
) -> None:
    seed(server, "UCHO", "Write better docs", kind="personal")
    answer = goals(signed, "UBEN", "company")
    seen = words(answer)
    assert f"Company objectives · {this_cycle()}" in seen
    assert "*Grow revenue 20%* · company objective · <@UCEO>" in seen
    assert "rolled up from 1 aligned goal" in seen  # it has no key results of its own
    assert "_Aligned: 2 goals (1 team, 1 development)" in seen
    assert "• *Self-serve grows 30%* · <@UANA> · ░░░░░░░░░░ 0%" in seen
    # Ana's private goal is neither listed nor counted for Ben.
    assert "4 goals you can see, 1 not aligned to a company objective" in seen


def test_see_all_opens_the_whole_list(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, company: dict[str, int]
) -> None:
    for which in ("mine", "team", "company", "user:UBEN"):
        signed.block_action(
            user_id="UANA", action_id="goals_see_all", value=which, trigger_id=f"t-all-{which}"
        )
        view = opened_view(slack, f"t-all-{which}")
        assert view["callback_id"] == "goals_list_modal" and len(view["blocks"]) <= 100
    assert "Learn the billing system" in opened_text(slack, "t-all-user:UBEN")
    assert "Pricing page live" in opened_text(slack, "t-all-team")


# ----- the Update form --------------------------------------------------------------------------


def test_update_stores_one_row_and_a_resent_form_writes_nothing(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, company: dict[str, int]
) -> None:
    mrr = result_id(server, "Self-serve MRR")
    ben = goals(signed, "UBEN")
    click_update(signed, "UBEN", ben, mrr, "t-up")
    form = opened_view(slack, "t-up")
    assert form["callback_id"] == "goals_update_modal"
    value = next(b for b in form["blocks"] if b.get("block_id") == "goal_value")
    assert value["element"]["initial_value"] == "100,000"

    wrong = submit(
        signed,
        "UBEN",
        "goals_update_modal",
        update_values("lots", None, "n" * 501),
        view_id="VUP1",
        private_metadata=form["private_metadata"],
    )
    assert wrong["response_action"] == "errors"
    assert set(wrong["errors"]) == {"goal_value", "goal_confidence", "goal_note"}
    assert count(server, KeyResultUpdate) == 0

    for _ in range(2):  # Slack resending the same submission
        saved = submit(
            signed,
            "UBEN",
            "goals_update_modal",
            update_values("112,000", "at_risk", "two deals slipped <!here>"),
            view_id="VUP2",
            private_metadata=form["private_metadata"],
        )
        assert saved["response_action"] == "update"
        shown = json.dumps(saved["view"], ensure_ascii=False)
        assert "Saved" in shown and "100,000 → *112,000* (target 130,000 USD) · 40%" in shown
        assert "&lt;!here&gt;" in shown and "<!here>" not in shown
    # The /goals answer the button sat in is replaced, once, through its response_url.
    replaced = slack.wait_for("response_url")
    assert replaced[0]["replace_original"] is True
    assert "100,000 → *112,000* (target 130,000 USD)" in words(dict(replaced[0]))
    all_sent(server)
    assert len(slack.calls("response_url")) == 1
    with server.deps.unit_of_work() as session:
        rows = session.scalars(select(KeyResultUpdate)).all()
        assert [(r.value, r.confidence, r.note, r.author_id) for r in rows] == [
            (112_000, "at_risk", "two deals slipped <!here>", "UBEN")
        ]
        assert session.get(KeyResult, mrr).current == 112_000  # type: ignore[union-attr]
    # The next form starts from the last value and confidence.
    signed.block_action(
        user_id="UBEN", action_id="goals_update_0", value=str(mrr), trigger_id="t-up2"
    )
    again = opened_view(slack, "t-up2")
    assert '"initial_value": "112,000"' in json.dumps(again)
    confidence = next(b for b in again["blocks"] if b.get("block_id") == "goal_confidence")
    assert confidence["element"]["initial_option"]["value"] == "at_risk"


def test_an_update_from_the_see_all_list_refreshes_that_list(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, company: dict[str, int]
) -> None:
    signed.block_action(user_id="UBEN", action_id="goals_see_all", value="mine", trigger_id="t-l")
    list_id = slack.view_for_trigger("t-l")
    assert list_id is not None
    listed = slack.view(list_id)
    assert listed is not None
    bugs = result_id(server, "Billing bugs fixed")
    click_update(signed, "UBEN", listed, bugs, "t-lu", view=listed)
    pushed = slack.wait_for("views.push", predicate=lambda c: c["trigger_id"] == "t-lu")[0]
    form = pushed["view"] if isinstance(pushed["view"], dict) else json.loads(pushed["view"])
    assert json.loads(form["private_metadata"])["list_view"] == list_id
    submit(
        signed,
        "UBEN",
        "goals_update_modal",
        update_values("7", "on_track"),
        view_id="VLIST",
        private_metadata=form["private_metadata"],
    )
    update = slack.wait_for("views.update", predicate=lambda c: c["view_id"] == list_id)[0]
    assert "0 → *7* (target 10) · 70%" in json.dumps(update["view"], ensure_ascii=False)


def test_a_milestone_is_done_with_a_checkbox(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, company: dict[str, int]
) -> None:
    page = result_id(server, "Pricing page live")
    signed.block_action(
        user_id="UCHO", action_id="goals_update_1", value=str(page), trigger_id="t-ms"
    )
    form = opened_view(slack, "t-ms")
    assert any(b.get("block_id") == "goal_done" for b in form["blocks"])
    done = {
        "goal_done": {"value": {"type": "checkboxes", "selected_options": [{"value": "done"}]}},
        "goal_confidence": radio("on_track"),
        "goal_note": text_input(""),
    }
    saved = submit(
        signed,
        "UCHO",
        "goals_update_modal",
        done,
        view_id="VMS",
        private_metadata=form["private_metadata"],
    )
    assert "done ✓" in json.dumps(saved["view"], ensure_ascii=False)
    with server.deps.unit_of_work() as session:
        assert session.get(KeyResult, page).current == 1  # type: ignore[union-attr]


def test_a_forged_update_is_refused_and_a_private_goal_reads_like_a_missing_one(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, company: dict[str, int]
) -> None:
    private = result_id(server, "Reorg memo")  # Ana's private goal
    someone_elses = result_id(server, "Billing bugs fixed")  # Ben's public goal
    for value, trigger in ((private, "t-f1"), (999_999, "t-f2"), ("nonsense", "t-f3")):
        signed.block_action(
            user_id="UCHO", action_id="goals_update_0", value=str(value), trigger_id=trigger
        )
    texts = [opened_text(slack, t) for t in ("t-f1", "t-f2", "t-f3")]
    assert texts[0] == texts[1] == texts[2]
    assert NOT_FOUND.replace("'", "") in texts[0].replace("'", "")
    signed.block_action(
        user_id="UCHO", action_id="goals_update_0", value=str(someone_elses), trigger_id="t-f4"
    )
    assert "Only the result's owner" in opened_text(slack, "t-f4")

    # A forged submission (the form's metadata pointing at someone else's result) stores
    # nothing and says the same.
    for target in (private, someone_elses):
        answer = submit(
            signed,
            "UCHO",
            "goals_update_modal",
            update_values("1", "on_track"),
            view_id=f"VFORGE{target}",
            private_metadata=json.dumps({"result": target}),
        )
        assert answer["response_action"] == "update"
    assert count(server, KeyResultUpdate) == 0
    # Ana, Ben's manager, may update his result.
    signed.block_action(
        user_id="UANA", action_id="goals_update_0", value=str(someone_elses), trigger_id="t-mgr"
    )
    assert opened_view(slack, "t-mgr")["callback_id"] == "goals_update_modal"


# ----- the creation form ------------------------------------------------------------------------


def test_create_a_goal_adding_a_key_result_with_views_update(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, company: dict[str, int]
) -> None:
    other_cycle = seed(server, "UANA", "Next quarter's plan", cycle=next_cycle())
    response = signed.command("/goals", "new", user_id="UBEN", trigger_id="t-new")
    assert response.status_code == 200 and response.text == ""
    form = opened_view(slack, "t-new")
    assert form["callback_id"] == "goals_new_modal"
    kinds = next(b for b in form["blocks"] if b.get("block_id") == "goal_kind")
    assert [o["value"] for o in kinds["element"]["options"]] == [
        "team",
        "personal",
        "development",
    ]  # no company goal for someone who is not an admin
    parents = next(b for b in form["blocks"] if b.get("block_id") == "goal_parent")
    offered = {o["value"] for o in parents["element"]["options"]}
    assert str(company["grow"]) in offered and str(company["selfserve"]) in offered
    assert str(company["secret"]) not in offered  # Ana's private goal
    assert str(other_cycle) not in offered
    assert sum(1 for b in form["blocks"] if b.get("block_id", "").endswith("_title")) == 2

    # "Add a key result": the same form, one group more, through views.update.
    view_id = slack.view_for_trigger("t-new")
    assert view_id is not None
    stored = slack.view(view_id)
    assert stored is not None
    signed.block_action(
        user_id="UBEN", action_id="goals_add_result", value="2", view=stored, trigger_id="t-add"
    )
    update = slack.wait_for("views.update")[0]
    assert update["view_id"] == view_id and update["hash"] == stored["hash"]
    grown = update["view"] if isinstance(update["view"], dict) else json.loads(update["view"])
    block_ids = [b.get("block_id", "") for b in grown["blocks"]]
    assert "goal_kr2_target" in block_ids and "goal_kr3_title" not in block_ids
    assert json.loads(grown["private_metadata"])["results"] == 2
    assert len(grown["blocks"]) <= 100

    values = new_goal_values(
        "Ship the new onboarding",
        "team",
        {"title": "Activation rate", "measure": "percent", "start": "30", "target": "45"},
        {"title": "Onboarding live", "measure": "milestone", "owner": "UCHO"},
        parent=company["grow"],
    )
    created = submit(
        signed,
        "UBEN",
        "goals_new_modal",
        values,
        view_id="VNEW1",
        private_metadata=grown["private_metadata"],
    )
    assert created["response_action"] == "update"
    assert "Ship the new onboarding" in json.dumps(created["view"])
    with server.deps.unit_of_work() as session:
        goal = session.scalars(
            select(Objective).where(Objective.title == "Ship the new onboarding")
        ).one()
        assert (goal.owner_id, goal.kind, goal.parent_id, goal.cycle, goal.created_by) == (
            "UBEN",
            "team",
            company["grow"],
            this_cycle(),
            "slack:UBEN",
        )
        results = session.scalars(
            select(KeyResult).where(KeyResult.objective_id == goal.id).order_by(KeyResult.id)
        ).all()
        assert [(r.title, r.owner_id, r.measure, r.unit, r.start, r.target) for r in results] == [
            ("Activation rate", "UBEN", "percent", "%", 30, 45),
            ("Onboarding live", "UCHO", "milestone", "", 0, 1),
        ]
    # Slack resending the form writes nothing more, and says so kindly.
    again = submit(signed, "UBEN", "goals_new_modal", values, view_id="VNEW1")
    assert again == {"response_action": "errors", "errors": {"goal_title": DUPLICATE_TITLE}}
    assert count(server, Objective, Objective.title == "Ship the new onboarding") == 1
    assert "Ship the new onboarding" in words(goals(signed, "UBEN"))


def test_every_problem_of_the_creation_form_at_once(
    server: RunningServer, signed: SlackRequests, company: dict[str, int]
) -> None:
    six = [
        {"title": f"KR {i}", "start": "0", "target": "10"} for i in range(3, 7)
    ]  # with the two below: six
    values = new_goal_values(
        "   ",
        "company",
        {"title": "Flat", "start": "5", "target": "5"},
        {"title": "Words", "start": "abc", "target": "ten"},
        *six,
        parent=company["grow"],
    )
    answer = submit(signed, "UBEN", "goals_new_modal", values, view_id="VBAD")
    assert answer["response_action"] == "errors"
    errors = answer["errors"]
    assert set(errors) == {
        "goal_title",
        "goal_kind",
        "goal_kr1_target",
        "goal_kr2_start",
        "goal_kr2_target",
        "goal_kr6_title",
    }
    assert "Only admins create company goals" in errors["goal_kind"]
    assert "differ from the start" in errors["goal_kr1_target"]
    assert "at most 5 key results" in errors["goal_kr6_title"]
    assert count(server, Objective) == 4  # the seeded ones only


def test_a_parent_in_another_cycle_or_unreadable_is_refused_and_an_admin_makes_company_goals(
    server: RunningServer, signed: SlackRequests, company: dict[str, int]
) -> None:
    later = seed(server, "UANA", "Next quarter's plan", cycle=next_cycle())
    answer = submit(
        signed, "UBEN", "goals_new_modal", new_goal_values("Mine", parent=later), view_id="VP1"
    )
    assert "its own cycle" in answer["errors"]["goal_parent"]
    assert next_cycle() in answer["errors"]["goal_parent"]
    hidden = submit(
        signed,
        "UBEN",
        "goals_new_modal",
        new_goal_values("Mine", parent=company["secret"]),
        view_id="VP2",
    )
    missing = submit(
        signed, "UBEN", "goals_new_modal", new_goal_values("Mine", parent=987_654), view_id="VP3"
    )
    assert hidden == missing == {"response_action": "errors", "errors": {"goal_parent": NOT_FOUND}}
    assert count(server, Objective, Objective.title == "Mine") == 0

    made = submit(
        signed, "UCEO", "goals_new_modal", new_goal_values("Win Europe", "company"), view_id="VC"
    )
    assert made["response_action"] == "update"
    assert count(server, Objective, Objective.kind == "company") == 2


# ----- App Home -----------------------------------------------------------------------------------


def home(signed: SlackRequests, slack: SlackEmulator, user_id: str) -> dict[str, Any]:
    before = len(slack.calls("views.publish"))
    signed.event(
        {"type": "app_home_opened", "user": user_id, "channel": f"D{user_id}", "tab": "home"}
    )
    call = slack.wait_for("views.publish", count=before + 1)[-1]
    view = call["view"] if isinstance(call["view"], dict) else json.loads(call["view"])
    assert len(view["blocks"]) <= 100
    return view


def test_app_home_shows_your_goals_and_team_goals_and_an_update_refreshes_it(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, company: dict[str, int]
) -> None:
    ana = json.dumps(home(signed, slack, "UANA")["blocks"], ensure_ascii=False)
    assert f"Your goals · {this_cycle()}" in ana and "Team goals" in ana
    assert "Plan the reorg" in ana and "<@UBEN>: 2 goals" in ana
    assert "goals_new" in ana
    ben_view = home(signed, slack, "UBEN")
    ben = json.dumps(ben_view["blocks"], ensure_ascii=False)
    assert "Learn the billing system" in ben and "Team goals" not in ben

    # Update from App Home: the tab is published again, once, with the new value.
    all_sent(server)
    stored = slack.home_view("UBEN")
    assert stored is not None
    bugs = result_id(server, "Billing bugs fixed")
    click_update(signed, "UBEN", stored, bugs, "t-h", view=stored)
    form = opened_view(slack, "t-h")
    assert json.loads(form["private_metadata"])["from"] == "home"
    publishes = len(slack.calls("views.publish"))
    for _ in range(2):
        submit(
            signed,
            "UBEN",
            "goals_update_modal",
            update_values("4", "on_track"),
            view_id="VHOME",
            private_metadata=form["private_metadata"],
        )
    refreshed = slack.wait_for("views.publish", count=publishes + 1)[-1]
    view = (
        refreshed["view"] if isinstance(refreshed["view"], dict) else json.loads(refreshed["view"])
    )
    assert "0 → *4* (target 10) · 40%" in json.dumps(view["blocks"], ensure_ascii=False)
    all_sent(server)
    assert len(slack.calls("views.publish")) == publishes + 1
    assert (
        count(server, OutboxMessage, OutboxMessage.idempotency_key == "goals:VHOME:home:UBEN") == 1
    )


def test_new_goal_button_on_app_home_opens_the_form(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, company: dict[str, int]
) -> None:
    home(signed, slack, "UCHO")
    all_sent(server)
    stored = slack.home_view("UCHO")
    assert stored is not None
    signed.block_action(
        user_id="UCHO", action_id="goals_new", value="new", view=stored, trigger_id="t-hn"
    )
    form = opened_view(slack, "t-hn")
    assert form["callback_id"] == "goals_new_modal"
    assert json.loads(form["private_metadata"])["from"] == "home"
