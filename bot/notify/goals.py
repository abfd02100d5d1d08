"""Goals: what a goal form sends once it is stored.

Outbox key: `goals:{view}:home:{user}` (views.publish): App Home again, after a goal created or
a key result updated from a form opened there, so the tab shows the change. The form's view id
makes Slack resending the same submission one publish.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.delivery import outbox


def refresh_home(
    session: Session,
    team_id: str,
    user_id: str,
    form_view_id: str,
    view: dict[str, Any],
    now: datetime,
) -> None:
    outbox.enqueue(
        session,
        team_id=team_id,
        key=f"goals:{form_view_id}:home:{user_id}",
        method="views.publish",
        payload={"user_id": user_id, "view": view},
        now=now,
    )
