""" "Answer the team": a manager's answer to anonymous upward notes, sent by DM to each direct
report. Anonymous notes have no author to reply to, so the answer goes to everyone; nothing
about it points at a note. The digest and App Home offer the button
(`handlers.blocks.feedback.answer_team_button`)."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.delivery import outbox
from bot.deps import Deps
from bot.services import conversations
from bot.services import feedback as service
from bot.services.text import escape, neutralise
from handlers import ids
from handlers.blocks import feedback as blocks
from handlers.blocks.common import notice_modal, read_metadata
from handlers.feedback import reply_problem
from handlers.payloads import team_of, text_of
from handlers.views import open_view

WEEK = re.compile(r"^\d{4}-W\d{2}$")


def register(app: App, deps: Deps) -> None:
    @app.action(ids.ANSWER_TEAM_ACTION)
    def on_answer_team(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        team_id, manager_id = team_of(body), body["user"]["id"]
        week = _week((body.get("actions") or [{}])[0].get("value"))
        with deps.unit_of_work() as session:
            reports = service.team_of(session, team_id, manager_id)
        if not reports:
            view = notice_modal("Answer the team", service.NO_TEAM)
        else:
            view = blocks.answer_team_modal(week, len(reports))
        open_view(client, body["trigger_id"], view)

    @app.view(ids.ANSWER_TEAM_MODAL)
    def on_answer_sent(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
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
            if conversations.record(
                session,
                team_id=team_id,
                kind=conversations.TEAM,
                item_id=None,
                author_id=manager_id,
                text=safe,
                source_key=f"view:{view['id']}",
                now=now,
            ):
                message, message_blocks = blocks.team_answer(manager_id, safe, week)
                outbox.post_messages(
                    session,
                    team_id=team_id,
                    messages=[
                        (f"team_answer:{view['id']}:{report}", report, message, message_blocks)
                        for report in reports
                    ],
                    now=now,
                )
        ack()
        deps.notify_outbox()


def _week(value: Any) -> str | None:
    return value if isinstance(value, str) and WEEK.match(value) else None
