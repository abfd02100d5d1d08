"""Goals and data rights: a person's export holds their objectives, key results and updates;
forgetting them deletes their personal goals and leaves their team's goals to a former
colleague; a leaver's manager is told which of their goals wait for a new owner.

Zoe's world is tests/privacy_seed.py (June 2037); her goals are added here, every text she
wrote starting with "ZQ-" as there.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot import logs
from bot.cli.main import main
from bot.demo.emulator import SlackEmulator
from bot.services import privacy
from bot.settings import get_data_settings, get_database_settings, get_settings
from storage import goals as goals_store
from storage.engine import unit_of_work
from storage.models import KeyResult, KeyResultUpdate, Kudos, KudosGoal, Objective, OrgEdge
from tests.factories import TEAM
from tests.privacy_seed import ANA, BEN, MANAGER, NOW, ZOE, ZOE_EMAIL, World, seed, zoe_texts
from tests.server import RunningServer
from tests.slack_requests import SlackRequests
from tests.test_privacy import scan
from tests.waiting import wait_until

ZOE_GOAL_TEXTS = ["ZQ-learn-rust", "ZQ-ship-a-crate", "ZQ-own-note", "ZQ-note-on-anas"]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith(("PULSEBOT_", "SLACK_")) or name in {"LOG_LEVEL", "LOG_FORMAT"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(logs, "configure", lambda *args, **kwargs: None)
    _clear()
    yield tmp_path
    _clear()


def _clear() -> None:
    get_settings.cache_clear()
    get_database_settings.cache_clear()
    get_data_settings.cache_clear()


def add_goals(session: Session, kudos_to_zoe: int) -> dict[str, int]:
    """Zoe: a development goal (hers alone), a team goal, a key result in Ana's objective and
    updates; Ana's objective aligned to Zoe's; a kudos to Zoe naming her goal."""

    def objective(title: str, owner: str, kind: str, **extra: Any) -> int:
        row = Objective(
            team_id=TEAM,
            cycle="2037-Q2",
            title=title,
            owner_id=owner,
            kind=kind,
            visibility=extra.pop("visibility", "public"),
            state="active",
            created_by=extra.pop("created_by", "cli"),
            created_at=NOW - timedelta(days=30),
            updated_at=NOW - timedelta(days=30),
            **extra,
        )
        session.add(row)
        session.flush()
        return row.id

    def result(objective_id: int, title: str, owner: str) -> KeyResult:
        row = KeyResult(
            team_id=TEAM,
            objective_id=objective_id,
            title=title,
            owner_id=owner,
            measure="number",
            unit="",
            start=0,
            target=100,
            current=0,
            weight=1,
            position=0,
            created_at=NOW - timedelta(days=30),
            updated_at=NOW - timedelta(days=30),
        )
        session.add(row)
        session.flush()
        return row

    ids = {
        "rust": objective("ZQ-learn-rust", ZOE, "development", visibility="private"),
        "team": objective("Checkout revamp", ZOE, "team"),
    }
    ids["anas"] = objective("Ana's reliability push", ANA, "team", parent_id=ids["rust"])
    ids["bens"] = objective("Ben's onboarding", BEN, "personal", created_by=f"slack:{ZOE}")
    crate = result(ids["rust"], "ZQ-ship-a-crate", ZOE)
    conversion = result(ids["team"], "Checkout conversion", BEN)
    in_anas = result(ids["anas"], "Pager load halved", ZOE)
    ids["in_anas"] = in_anas.id
    for row, value, note, author in (
        (crate, 30, "ZQ-own-note", ZOE),
        (in_anas, 40, "ZQ-note-on-anas", ZOE),
        (conversion, 20, "Ben's own note", BEN),
    ):
        goals_store.add_update(
            session,
            row,
            value=value,
            confidence="on_track",
            note=note,
            author_id=author,
            now=NOW - timedelta(days=2),
        )
    session.add(KudosGoal(kudos_id=kudos_to_zoe, objective_id=ids["rust"]))
    ids["kudos"] = kudos_to_zoe
    return ids


@pytest.fixture
def world(env: Path, session_factory: sessionmaker[Session]) -> tuple[World, dict[str, int]]:
    with unit_of_work(session_factory) as session:
        made = seed(session)
        return made, add_goals(session, made.ids["kudos_to_zoe"])


def export_of(tmp: Path, user_id: str) -> dict[str, Any]:
    out = tmp / f"export-{user_id}"
    _clear()
    assert main(["privacy", "export", user_id, "--out", str(out)]) == 0
    data: dict[str, Any] = json.loads((out / f"pulsebot-{user_id}.json").read_text("utf-8"))
    return data


def items(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [i for i in data["items"] if i["kind"] == kind]


def test_the_export_holds_their_goals_key_results_and_updates(
    world: tuple[World, dict[str, int]], env: Path
) -> None:
    data = export_of(env, ZOE)
    owned = {i["title"]: i for i in items(data, "goal_owned")}
    assert set(owned) == {"ZQ-learn-rust", "Checkout revamp"}
    assert owned["ZQ-learn-rust"]["visibility"] == "private"  # hers: private ones too
    assert [kr["key_result"] for kr in owned["Checkout revamp"]["key_results"]] == [
        "Checkout conversion"
    ]
    assert owned["Checkout revamp"]["key_results"][0]["current"] == 20
    [elsewhere] = items(data, "key_result_owned")
    assert (elsewhere["objective"], elsewhere["key_result"], elsewhere["objective_owner"]) == (
        "Ana's reliability push",
        "Pager load halved",
        ANA,
    )
    notes = {(u["key_result"], u["value"], u["note"]) for u in items(data, "goal_update")}
    assert notes == {
        ("ZQ-ship-a-crate", 30, "ZQ-own-note"),
        ("Pager load halved", 40, "ZQ-note-on-anas"),
    }
    received = [k for k in items(data, "kudos_received") if k["for_goal"]]
    assert [k["for_goal"] for k in received] == ["ZQ-learn-rust"]
    assert data["counts"]["goal_owned"] == 2
    # Ben's export has his own update, never Zoe's notes.
    ben = json.dumps(export_of(env, BEN))
    assert "Ben's own note" in ben and "ZQ-own-note" not in ben and "ZQ-note-on-anas" not in ben


def test_forget_deletes_their_personal_goals_and_leaves_the_teams_to_a_former_colleague(
    world: tuple[World, dict[str, int]],
    env: Path,
    engine: Engine,
    session_factory: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, ids = world
    _clear()
    assert main(["privacy", "forget", ZOE]) == 0
    out = capsys.readouterr().out
    lines = {line.split(maxsplit=1)[1]: int(line.split()[0]) for line in out.splitlines()[1:-1]}
    assert lines["personal and development goals"] == 1
    assert lines["team and company goals they owned, kept for their team"] == 1
    assert lines["key results they owned in others' goals"] == 1
    assert lines["goal updates they wrote (note erased)"] == 1
    _clear()
    assert main(["privacy", "forget", ZOE, "--yes"]) == 0
    found = scan(engine, [ZOE, ZOE_EMAIL, *zoe_texts(), *ZOE_GOAL_TEXTS])
    assert found == [], found
    former = privacy.FORMER_ID
    with unit_of_work(session_factory) as session:
        objectives = {o.title: o for o in session.scalars(select(Objective))}
        assert "ZQ-learn-rust" not in objectives
        assert objectives["Checkout revamp"].owner_id == former  # the team keeps its goal
        assert objectives["Ana's reliability push"].parent_id is None
        assert objectives["Ben's onboarding"].created_by == f"slack:{former}"
        in_anas = session.get(KeyResult, ids["in_anas"])
        assert in_anas is not None and in_anas.owner_id == former
        updates = {
            (u.author_id, u.value, u.note)
            for u in session.scalars(
                select(KeyResultUpdate).where(KeyResultUpdate.key_result_id == ids["in_anas"])
            )
        }
        assert updates == {(former, 40.0, "")}  # Ana's progress keeps its number
        assert session.get(Kudos, ids["kudos"]) is not None  # the kudos stays; its link went
        assert session.scalars(select(KudosGoal)).all() == []


# ----- a leaver's goals flagged to their manager -------------------------------------------------


def test_a_leavers_open_goals_are_listed_to_their_manager(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    slack.add_user(MANAGER, tz="UTC")
    with server.deps.unit_of_work() as session:
        session.add(
            OrgEdge(team_id=TEAM, user_id="UBEN", manager_id=MANAGER, source="csv", updated_at=NOW)
        )
        for title, kind in (("Checkout revamp", "team"), ("Learn Go", "development")):
            session.add(
                Objective(
                    team_id=TEAM,
                    cycle="2037-Q2",
                    title=title,
                    owner_id="UBEN",
                    kind=kind,
                    visibility="public",
                    state="active",
                    created_by="cli",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    user = slack.add_user("UBEN", tz="Europe/Berlin", deleted=True)
    event = {"type": "user_change", "user": user, "cache_ts": int(time.time()), "event_ts": "1.2"}
    assert signed.event(event).status_code == 200
    dm = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == MANAGER)[0]
    shown = json.dumps(dm["blocks"])
    assert "<@UBEN> has left the workspace. 2 of the goals they owned are still open" in shown
    assert "*Checkout revamp* (2037-Q2)" in shown and "*Learn Go* (2037-Q2)" in shown
    # Slack sending the event again tells nobody twice.
    assert signed.event(event, event_id="Ev-again").status_code == 200
    wait_until(
        lambda: len([c for c in slack.calls("chat.postMessage") if c["channel"] == MANAGER]) == 1
    )
    time.sleep(0.3)
    assert len([c for c in slack.calls("chat.postMessage") if c["channel"] == MANAGER]) == 1
