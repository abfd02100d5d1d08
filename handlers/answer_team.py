""" "Answer the team": a manager's answer to anonymous upward notes, sent by DM to each direct
report. Anonymous notes have no author to reply to, so the answer goes to everyone; nothing
about it points at a note. The digest and App Home offer the button
(`handlers.blocks.feedback.answer_team_button`); what it sends is in bot/notify/feedback.py."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.deps import deps_of
from bot.notify import feedback as notify
from bot.services import feedback as service
from bot.services.conversations import reply_problem
from bot.services.text import escape, neutralise
from handlers import ids
from handlers.blocks import feedback as blocks
from handlers.blocks.common import notice_modal, read_metadata
from handlers.payloads import action_value, team_of, text_of
from handlers.views import open_view

WEEK = re.compile(r"^\d{4}-W\d{2}$")


def register(app: App) -> None:
    app.action(ids.ANSWER_TEAM_ACTION)(on_answer_team)
    app.view(ids.ANSWER_TEAM_MODAL)(on_answer_sent)


def on_answer_team(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    deps = deps_of(context)
    team_id, manager_id = team_of(body), body["user"]["id"]
    week = _week(action_value(body))
    with deps.unit_of_work() as session:
        reports = service.team_of(session, team_id, manager_id)
    if not reports:
        view = notice_modal("Answer the team", service.NO_TEAM)
    else:
        view = blocks.answer_team_modal(week, len(reports))
    open_view(client, body["trigger_id"], view)


def on_answer_sent(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
) -> None:
    deps = deps_of(context)
    team_id, manager_id = team_of(body), body["user"]["id"]
    week = _week(read_metadata(view.get("private_metadata")).get("week"))
    text = text_of(view, ids.ANSWER_TEAM_BLOCK)
    problem = reply_problem(text)
    if problem:
        ack(response_action="errors", errors={ids.ANSWER_TEAM_BLOCK: problem})
        return
    safe = neutralise(escape(text))
    now = deps.now()
    with deps.unit_of_work() as session:
        reports = service.team_of(session, team_id, manager_id)
        if not reports:
            ack(response_action="errors", errors={ids.ANSWER_TEAM_BLOCK: service.NO_TEAM})
            return
        notify.send_team_answer(
            session,
            team_id=team_id,
            manager_id=manager_id,
            reports=reports,
            text=safe,
            week=week,
            view_id=view["id"],
            now=now,
        )
    ack()
    deps.notify_outbox()


def _week(value: Any) -> str | None:
    """Only a label ("2026-W48"), so anything else in a forged payload reads as none."""
    return value if isinstance(value, str) and WEEK.match(value) else None
