"""A goal cycle's end, end to end: the minute job at injected instants writes one closing DM per
owner on the cycle's last day in their own zone, the real server answers Close (with its form
and field errors) and Carry over, and the old cycle stays readable.

The cycle is 2037-Q1 (its last day 31 March 2037), years ahead of any run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot import logs
from bot.cli.main import main
from bot.demo.emulator import SlackEmulator
from bot.jobs.minute import run_due
from bot.services import goal_files, goal_plans
from bot.settings import get_database_settings, get_settings
from storage import goals as goals_store
from storage.engine import unit_of_work
from storage.models import KeyResult, Objective, OrgEdge, OutboxMessage
from tests.factories import TEAM, add_people, person
from tests.server import SIGNING_SECRET, RunningServer, running_server, server_settings
from tests.slack_requests import SlackRequests
from tests.waiting import wait_until

GOALS = """
cycle: 2037-Q1
goals:
  - {title: Grow revenue 20%, owner: UCEO, kind: company}
  - title: Self-serve grows 30%
    owner: UANA
    parent: Grow revenue 20%
    key_results:
      - {title: Self-serve MRR, owner: UBEN, start: 100000, target: 130000, unit: USD}
      - {title: Pricing page live, owner: UCHO, measure: milestone}
  - {title: Learn Go, owner: UANA, kind: development, visibility: private}
  - {title: Faster deploys, owner: UBEN}
"""
BEFORE_NEW_YORK = datetime(2037, 3, 31, 12, 0, tzinfo=UTC)  # 08:00 in New York, 14:00 Berlin
NEW_YORK_MORNING = datetime(2037, 3, 31, 14, 0, tzinfo=UTC)  # 10:00 in New York
LATER = datetime(2037, 3, 31, 20, 0, tzinfo=UTC)


@pytest.fixture
def goal_server(database_url: str, slack: SlackEmulator) -> Iterator[RunningServer]:
    slack.add_user("UCEO", tz="Europe/London")
    slack.add_user("UBOSS", tz="America/New_York")
    settings = server_settings(database_url, slack.url, slack.bot_token, PULSEBOT_ADMINS="UCEO")
    with running_server(settings) as running:
        with unit_of_work(running.deps.session_factory) as session:
            add_people(
                session,
                datetime(2037, 1, 1, tzinfo=UTC),
                person("UANA", tz="America/New_York"),
                person("UBEN", tz="Europe/Berlin"),
                person("UCHO", tz="Asia/Tokyo"),
                person("UCEO", tz="Europe/London"),
                person("UBOSS", tz="America/New_York"),
            )
            session.add(
                OrgEdge(
                    team_id=TEAM,
                    user_id="UANA",
                    manager_id="UBOSS",
                    source="csv",
                    updated_at=datetime(2037, 1, 1, tzinfo=UTC),
                )
            )
            plan = goal_files.load_plan(
                GOALS,
                "goals.yml",
                today=datetime(2037, 1, 2).date(),
                cycle_kind="quarter",
                resolve_email=lambda email: None,
                known_in=lambda cycle: [],
            )
            goal_plans.apply_plan(session, TEAM, plan, datetime(2037, 1, 2, tzinfo=UTC))
            mrr = session.scalars(select(KeyResult).where(KeyResult.title == "Self-serve MRR"))
            goals_store.add_update(
                session,
                mrr.one(),
                value=112000,
                confidence="at_risk",
                note="two deals slipped",
                author_id="UBEN",
                now=datetime(2037, 3, 20, tzinfo=UTC),
            )
        yield running


@pytest.fixture
def clicks(goal_server: RunningServer) -> Iterator[SlackRequests]:
    requests = SlackRequests(goal_server.url, SIGNING_SECRET)
    yield requests
    requests.close()


def objective(server: RunningServer, title: str, cycle: str = "2037-Q1") -> Objective:
    with unit_of_work(server.deps.session_factory) as session:
        found = session.scalars(
            select(Objective).where(Objective.title == title, Objective.cycle == cycle)
        ).one()
        session.expunge(found)
        return found


def closing_dms(slack: SlackEmulator, user_id: str) -> list[dict[str, Any]]:
    return [m for m in slack.messages(user_id) if "Time to close 2037-Q1" in m.get("text", "")]


def opened(slack: SlackEmulator, trigger: str) -> dict[str, Any]:
    call = slack.wait_for("views.open", predicate=lambda c: c["trigger_id"] == trigger)[0]
    view = call["view"]
    return view if isinstance(view, dict) else json.loads(view)


def all_sent(server: RunningServer) -> None:
    def settled() -> bool:
        with unit_of_work(server.deps.session_factory) as session:
            statuses = session.scalars(select(OutboxMessage.status)).all()
        return all(s == "sent" for s in statuses)

    wait_until(settled, what="every outbox row sent")


def test_the_cycle_end_asks_each_owner_once_on_their_last_day_close_and_carry_over(
    goal_server: RunningServer,
    slack: SlackEmulator,
    clicks: SlackRequests,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    factory = goal_server.deps.session_factory
    # The day before, and Berlin's morning of the last day: only Ben (and London's CEO).
    assert run_due(factory, datetime(2037, 3, 30, 20, 0, tzinfo=UTC)).goal_closings == 0
    assert run_due(factory, BEFORE_NEW_YORK).goal_closings == 2
    all_sent(goal_server)
    assert [len(closing_dms(slack, u)) for u in ("UBEN", "UCEO", "UANA")] == [1, 1, 0]
    assert run_due(factory, NEW_YORK_MORNING).goal_closings == 1  # Ana, at 10:00 her time
    assert run_due(factory, LATER).goal_closings == 0  # once each
    all_sent(goal_server)
    with unit_of_work(factory) as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.like("goal-close:%"))
        ).all()
        assert sorted(r.idempotency_key for r in rows) == [
            "goal-close:2037-Q1:UANA",
            "goal-close:2037-Q1:UBEN",
            "goal-close:2037-Q1:UCEO",
        ]
        assert {r.priority for r in rows} == {1}  # a fan-out: bulk
    [dm] = closing_dms(slack, "UANA")
    shown = json.dumps(dm["blocks"])
    assert "Self-serve grows 30%" in shown and "Learn Go" in shown  # both of hers, one DM
    assert "Faster deploys" not in shown
    assert "Carry over to 2037-Q2" in shown

    team_goal = objective(goal_server, "Self-serve grows 30%")
    learn = objective(goal_server, "Learn Go")

    # A peer may not close Ana's objective.
    clicks.block_action(
        user_id="UCHO",
        action_id="goal_close",
        value=str(team_goal.id),
        channel_id="DUCHO",
        trigger_id="peer",
    )
    assert "Only the objective's owner or their managers" in json.dumps(opened(slack, "peer"))

    # Close opens the form; its problems land on their fields and change nothing.
    clicks.block_action(
        user_id="UANA",
        action_id="goal_close",
        value=str(learn.id),
        channel_id="DUANA",
        message=dm,
        trigger_id="close-1",
    )
    form = opened(slack, "close-1")
    assert form["callback_id"] == "goal_close_modal"

    def submit(user_id: str, outcome: str | None, score: str) -> dict[str, Any]:
        values: dict[str, Any] = {
            "goal_close_score": {"value": {"type": "plain_text_input", "value": score}}
        }
        if outcome is not None:
            values["goal_close_outcome"] = {
                "value": {"type": "radio_buttons", "selected_option": {"value": outcome}}
            }
        response = clicks.view_submission(
            user_id=user_id,
            callback_id="goal_close_modal",
            values=values,
            private_metadata=form["private_metadata"],
            view_id="VCLOSE",
        )
        assert response.status_code == 200
        return response.json() if response.text else {}

    refused = submit("UANA", "won", "lots")
    assert refused["response_action"] == "errors"
    assert set(refused["errors"]) == {"goal_close_outcome", "goal_close_score"}
    assert '"lots" is not a score' in refused["errors"]["goal_close_score"]
    assert "from 0.0 to 1.0" in submit("UANA", "achieved", "1.5")["errors"]["goal_close_score"]
    assert objective(goal_server, "Learn Go").state == "active"

    done = submit("UANA", "achieved", "0.8")
    assert done["response_action"] == "update"
    assert "Closed *Learn Go*: achieved, score 0.8" in json.dumps(done["view"])
    closed = objective(goal_server, "Learn Go")
    assert (closed.state, closed.outcome, closed.score) == ("closed", "achieved", 0.8)
    assert closed.closed_at is not None
    assert submit("UANA", "achieved", "0.8")["response_action"] == "update"  # a replay
    update = slack.wait_for("chat.update", predicate=lambda c: c["channel"] == "DUANA")[0]
    assert update["ts"] == dm["ts"]
    assert "Closed: achieved, score 0.8" in json.dumps(update["blocks"])

    # Carry over: the objective and its key results, each starting where it stands.
    for _ in range(2):  # a second click makes no second copy
        clicks.block_action(
            user_id="UANA",
            action_id="goal_carry_over",
            value=str(team_goal.id),
            channel_id="DUANA",
            message=dm,
        )
    all_sent(goal_server)
    with unit_of_work(factory) as session:
        copies = session.scalars(select(Objective).where(Objective.cycle == "2037-Q2")).all()
        assert [(c.title, c.owner_id, c.carried_from_id, c.state) for c in copies] == [
            ("Self-serve grows 30%", "UANA", team_goal.id, "active")
        ]
        results = {
            kr.title: (kr.owner_id, kr.start, kr.target, kr.current)
            for kr in goals_store.key_results_of(session, [copies[0].id])[copies[0].id]
        }
        assert results == {
            "Self-serve MRR": ("UBEN", 112000.0, 130000.0, 112000.0),
            "Pricing page live": ("UCHO", 0.0, 1.0, 0.0),
        }
        assert copies[0].parent_id is None  # its parent is not carried over (yet)
    old = objective(goal_server, "Self-serve grows 30%")
    assert (old.state, old.outcome) == ("closed", "missed")
    carried = [
        c
        for c in slack.calls("chat.update")
        if c["channel"] == "DUANA" and "Carried over to 2037-Q2" in json.dumps(c["blocks"])
    ]
    assert len(carried) == 1
    assert "Closed: achieved, score 0.8" in json.dumps(carried[0]["blocks"])  # both, as they are

    # The company objective is an admin's: its non-admin manager chain has none, the CEO is one.
    company = objective(goal_server, "Grow revenue 20%")
    [ceo_dm] = closing_dms(slack, "UCEO")
    clicks.block_action(
        user_id="UCEO",
        action_id="goal_carry_over",
        value=str(company.id),
        channel_id="DUCEO",
        message=ceo_dm,
    )
    all_sent(goal_server)
    with unit_of_work(factory) as session:
        next_company = session.scalars(
            select(Objective).where(Objective.cycle == "2037-Q2", Objective.kind == "company")
        ).one()
        team_copy = session.scalars(
            select(Objective).where(Objective.carried_from_id == team_goal.id)
        ).one()
        assert team_copy.parent_id == next_company.id  # aligned again once its parent came over

    # A manager may close their report's objective; closing a closed one says so.
    clicks.block_action(
        user_id="UBOSS",
        action_id="goal_close",
        value=str(team_goal.id),
        channel_id="DUBOSS",
        trigger_id="boss",
    )
    assert "is closed already (missed)" in json.dumps(opened(slack, "boss"))

    # The old cycle stays readable.
    for name in list(os.environ):
        if name.startswith(("PULSEBOT_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(logs, "configure", lambda *args, **kwargs: None)
    get_settings.cache_clear()
    get_database_settings.cache_clear()
    capsys.readouterr()
    assert (
        main(["goals", "list", "--cycle", "2037-Q1", "--team", TEAM, "--at", LATER.isoformat()])
        == 0
    )
    out = capsys.readouterr().out
    assert "Self-serve grows 30% · team · uana · closed: missed" in out
    assert "carried over to 2037-Q2" in out
    assert "Learn Go · development · uana · private · closed: achieved, score 0.8" in out
    assert "100,000 → 112,000 of 130,000 USD" in out  # its history, as it stood
    assert main(["goals", "list", "--cycle", "2037-Q2", "--team", TEAM]) == 0
    out = capsys.readouterr().out
    assert "  Self-serve grows 30% · team · uana" in out and "carried over from 2037-Q1" in out
    get_settings.cache_clear()
    get_database_settings.cache_clear()


def test_a_job_down_on_the_last_day_catches_up_within_a_week_and_never_later(
    goal_server: RunningServer,
) -> None:
    factory = goal_server.deps.session_factory
    assert run_due(factory, datetime(2037, 4, 9, 12, 0, tzinfo=UTC)).goal_closings == 0
    assert run_due(factory, datetime(2037, 4, 5, 12, 0, tzinfo=UTC)).goal_closings == 3
    assert run_due(factory, datetime(2037, 4, 5, 12, 1, tzinfo=UTC)).goal_closings == 0
