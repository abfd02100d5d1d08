"""Shared steps of the feedback end-to-end tests: forms as Slack fills them, and waiting."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from bot.demo.emulator import SlackEmulator
from bot.services import org
from storage.models import OutboxMessage
from tests.server import RunningServer
from tests.slack_requests import SlackRequests
from tests.waiting import wait_until

TEAM = "T0TEAM"


def set_managers(server: RunningServer, edges: dict[str, str]) -> None:
    """person -> manager, written as the org import would."""
    from datetime import UTC, datetime

    with server.deps.unit_of_work() as session:
        for user_id, manager_id in edges.items():
            org.set_manager(session, TEAM, user_id, manager_id, datetime.now(UTC), source="csv")


def picked(element: dict[str, Any]) -> list[str]:
    """Who a people picker starts with, whichever kind the form used."""
    options = element.get("initial_options") or [element.get("initial_option")]
    found = [o["value"] for o in options if o] + list(element.get("initial_users") or [])
    found += list(element.get("initial_conversations") or [])
    for one in ("initial_user", "initial_conversation"):
        if element.get(one):
            found.append(element[one])
    return found


def opened_view(slack: SlackEmulator, trigger_id: str) -> dict[str, Any]:
    call = slack.wait_for("views.open", predicate=lambda c: c["trigger_id"] == trigger_id)[0]
    view = call["view"]
    return view if isinstance(view, dict) else json.loads(view)


def count(server: RunningServer, model: type, *where: Any) -> int:
    with server.deps.unit_of_work() as session:
        query = select(func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)
        return int(session.scalar(query) or 0)


def all_sent(server: RunningServer) -> None:
    """Every outbox row left pending has been sent (or failed, which the test then sees)."""

    def done() -> bool:
        with server.deps.unit_of_work() as session:
            return not session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "pending")
            )

    wait_until(done, timeout=10, what="outbox drained")


def text_input(value: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


def give_values(
    recipient: str | None,
    went_well: str = "",
    could_be_better: str = "",
    *,
    visibility: str = "recipient",
    value: str | None = None,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "feedback_recipient": {
            "feedback_recipient_chosen": {"type": "users_select", "selected_user": recipient}
        },
        "feedback_went_well": text_input(went_well),
        "feedback_could_be_better": text_input(could_be_better),
        "feedback_visibility": {
            "value": {"type": "radio_buttons", "selected_option": {"value": visibility}}
        },
        "feedback_value": {
            "value": {
                "type": "static_select",
                "selected_option": {"value": value} if value else None,
            }
        },
    }
    return values


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


def dm_event(
    user_id: str,
    text: str,
    *,
    ts: str,
    thread_ts: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "message",
        "channel": f"D{user_id}",
        "channel_type": "im",
        "user": user_id,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "team": TEAM,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    event.update(extra)
    return event


def posts_to(slack: SlackEmulator, user_id: str) -> list[Any]:
    return [c for c in slack.calls("chat.postMessage") if c["channel"] == user_id]
