"""Goals: what an Update (or a new goal) refreshes, where the person clicked.

Outbox keys, each under the submitted form's view id, so Slack resending the same submission
refreshes once; all interactive (the person who submitted is looking at the place refreshed):
- `goals:{form view}:home:{user}` (views.publish): App Home again, after a goal created or a
  key result updated from a form opened there.
- `goals:{form view}:message` (pulsebot.respond, bot/delivery/responses.py): the ephemeral
  `/goals` answer the Update button sat in, replaced through its response_url.
- `goals:{form view}:list` (views.update): the "see all" list the Update button sat in, under
  the form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.delivery.responses import RESPOND
from bot.notify import home


def refresh_home(
    session: Session,
    team_id: str,
    user_id: str,
    form_view_id: str,
    view: dict[str, Any],
    now: datetime,
) -> None:
    home.publish(session, team_id, user_id, f"goals:{form_view_id}:home:{user_id}", view, now)


def refresh_message(
    session: Session,
    team_id: str,
    form_view_id: str,
    response_url: str,
    text: str,
    blocks: list[dict[str, Any]],
    now: datetime,
) -> None:
    outbox.enqueue(
        session,
        team_id=team_id,
        key=f"goals:{form_view_id}:message",
        method=RESPOND,
        payload={
            "response_url": response_url,
            "replace_original": True,
            "response_type": "ephemeral",
            "text": text,
            "blocks": blocks,
        },
        now=now,
    )


def refresh_list(
    session: Session,
    team_id: str,
    form_view_id: str,
    list_view_id: str,
    view: dict[str, Any],
    now: datetime,
) -> None:
    outbox.enqueue(
        session,
        team_id=team_id,
        key=f"goals:{form_view_id}:list",
        method="views.update",
        payload={"view_id": list_view_id, "view": view},
        now=now,
    )
