"""Kudos naming a goal, end to end: the form offers the recipients' public goals of the current
cycle (asked again when the recipients change), the chosen one is stored with the kudos and
named in the DM and the recognition post; a goal that is not theirs is refused on its field.

The current cycle is the wall clock's (moved or not), as the server sees it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bot.clock import utc_now
from bot.demo.emulator import SlackEmulator
from bot.services.goal_cycles import cycle_of, following
from bot.services.kudos_goals import PICK_ONE
from storage.engine import unit_of_work
from storage.models import Kudos, KudosGoal, Objective
from tests.factories import TEAM
from tests.server import KUDOS_CHANNEL, RunningServer
from tests.slack_requests import SlackRequests


def seed(server: RunningServer) -> dict[str, int]:
    now = utc_now()
    current = cycle_of(now.date(), "quarter")
    rows = {
        "ben": ("Self-serve grows 30%", "UBEN", current.name, "public", "active"),
        "ben_private": ("Secret plan", "UBEN", current.name, "private", "active"),
        "ben_closed": ("Old launch", "UBEN", current.name, "public", "closed"),
        "ben_next": ("Next quarter", "UBEN", following(current).name, "public", "active"),
        "cho": ("Faster deploys", "UCHO", current.name, "public", "active"),
    }
    ids: dict[str, int] = {}
    with unit_of_work(server.deps.session_factory) as session:
        for key, (title, owner, cycle, visibility, state) in rows.items():
            row = Objective(
                team_id=TEAM,
                cycle=cycle,
                title=title,
                owner_id=owner,
                kind="team",
                visibility=visibility,
                state=state,
                created_by="cli",
                created_at=now - timedelta(days=1),
                updated_at=now - timedelta(days=1),
            )
            session.add(row)
            session.flush()
            ids[key] = row.id
    return ids


def view_of(call: dict[str, Any]) -> dict[str, Any]:
    view = call["view"]
    return view if isinstance(view, dict) else json.loads(view)


def goal_options(view: dict[str, Any]) -> list[tuple[str, str]]:
    block = next((b for b in view["blocks"] if b.get("block_id") == "kudos_goal"), None)
    if block is None:
        return []
    return [(o["text"]["text"], o["value"]) for o in block["element"]["options"]]


def values(recipients: list[str], message: str, goal: str | None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "kudos_recipients": {
            "recipients": {"type": "multi_users_select", "selected_users": recipients}
        },
        "kudos_message": {"message": {"type": "plain_text_input", "value": message}},
    }
    if goal is not None:
        state["kudos_goal"] = {
            "goal": {"type": "static_select", "selected_option": {"value": goal}}
        }
    return state


def count(server: RunningServer, model: type) -> int:
    with server.deps.unit_of_work() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_the_form_offers_the_recipients_goals_and_the_kudos_names_the_chosen_one(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    ids = seed(server)
    signed.command("/kudos", "", user_id="UANA", trigger_id="t-form")
    form = view_of(slack.wait_for("views.open")[0])
    assert goal_options(form) == []  # nobody named yet: no goal to offer
    recipients = next(b for b in form["blocks"] if b["block_id"] == "kudos_recipients")
    assert recipients["dispatch_action"] is True

    # Naming Ben asks among his public goals of this cycle only.
    signed.block_action(
        user_id="UANA",
        action_id="recipients",
        view={
            "id": "VKG",
            "hash": "h1",
            "blocks": [],
            "private_metadata": form["private_metadata"],
        },
        action={"type": "multi_users_select", "selected_users": ["UBEN"]},
    )
    redrawn = view_of(slack.wait_for("views.update")[0])
    assert goal_options(redrawn) == [("Self-serve grows 30%", str(ids["ben"]))]
    # Naming Ben and Cho: each goal says whose it is.
    signed.block_action(
        user_id="UANA",
        action_id="recipients",
        view={
            "id": "VKG",
            "hash": "h2",
            "blocks": [],
            "private_metadata": form["private_metadata"],
        },
        action={"type": "multi_users_select", "selected_users": ["UBEN", "UCHO"]},
    )
    both = view_of(slack.wait_for("views.update", count=2)[1])
    assert [value for _, value in goal_options(both)] == [str(ids["ben"]), str(ids["cho"])]
    assert goal_options(both)[0][0].startswith("Self-serve grows 30% (")

    answer = signed.view_submission(
        user_id="UANA",
        callback_id="kudos_modal",
        view_id="VKG",
        private_metadata=form["private_metadata"],
        values=values(["UBEN"], "the pricing page shipped", str(ids["ben"])),
    ).json()
    assert answer["response_action"] == "update"
    with server.deps.unit_of_work() as session:
        kudos = session.scalars(select(Kudos)).one()
        assert [(g.kudos_id, g.objective_id) for g in session.scalars(select(KudosGoal))] == [
            (kudos.id, ids["ben"])
        ]
    dm = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UBEN")[0]
    assert "<@UANA> gave you kudos for *Self-serve grows 30%*" in dm["text"]
    feed = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == KUDOS_CHANNEL)
    assert "gave kudos to <@UBEN> for *Self-serve grows 30%*" in json.dumps(feed[0]["blocks"])

    # The same submission again (a double click) is one kudos, naming its goal once.
    signed.view_submission(
        user_id="UANA",
        callback_id="kudos_modal",
        view_id="VKG",
        private_metadata=form["private_metadata"],
        values=values(["UBEN"], "the pricing page shipped", str(ids["ben"])),
    )
    assert (count(server, Kudos), count(server, KudosGoal)) == (1, 1)


def test_a_goal_that_is_not_the_recipients_is_refused_on_its_field(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    ids = seed(server)
    for forged in (
        str(ids["cho"]),  # someone else's
        str(ids["ben_private"]),  # not public
        str(ids["ben_closed"]),  # closed
        str(ids["ben_next"]),  # another cycle
        "999999",  # none at all
        "not-a-goal",
    ):
        answer = signed.view_submission(
            user_id="UANA",
            callback_id="kudos_modal",
            view_id=f"VF{forged}",
            values=values(["UBEN"], "thanks", forged),
        ).json()
        assert answer == {"response_action": "errors", "errors": {"kudos_goal": PICK_ONE}}, forged
    # Every problem of the form at once: the goal's and the message's.
    answer = signed.view_submission(
        user_id="UANA",
        callback_id="kudos_modal",
        view_id="VFALL",
        values=values(["UBEN"], "", str(ids["cho"])),
    ).json()
    assert set(answer["errors"]) == {"kudos_message", "kudos_goal"}
    assert (count(server, Kudos), count(server, KudosGoal)) == (0, 0)
    # The text command is as it was: no goal, no question about one.
    text = signed.command("/kudos", "<@UBEN> thanks for the review", user_id="UANA").json()["text"]
    assert "Kudos sent to <@UBEN>" in text
    assert (count(server, Kudos), count(server, KudosGoal)) == (1, 0)


def test_the_shortcut_offers_the_authors_goals_at_once(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    ids = seed(server)
    original = slack.add_message("C0GENERAL", "UBEN", "Pricing page is live")
    signed.message_shortcut(
        user_id="UANA", callback_id="give_kudos", channel_id="C0GENERAL", message=original
    )
    form = view_of(slack.wait_for("views.open")[0])
    assert goal_options(form) == [("Self-serve grows 30%", str(ids["ben"]))]
    answer = signed.view_submission(
        user_id="UANA",
        callback_id="kudos_modal",
        view_id="VSC",
        private_metadata=form["private_metadata"],
        values=values(["UBEN"], "great launch", str(ids["ben"])),
    ).json()
    assert answer["response_action"] == "update"
    dm = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UBEN")[0]
    assert "for *Self-serve grows 30%*" in dm["text"]
    with server.deps.unit_of_work() as session:
        assert session.scalars(select(KudosGoal.objective_id)).all() == [ids["ben"]]
