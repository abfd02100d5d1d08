"""The Feedback section of App Home: what the person received, what waits for their answer,
their open requests, and "Answer the team" for managers."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.services import feedback as feedback_service
from bot.services import feedback_requests as requests_service
from handlers.blocks import feedback as blocks
from handlers.blocks.feedback_requests import about, due_label


def feedback_home(session: Session, team_id: str, user_id: str) -> list[dict[str, Any]]:
    """Read as `user_id` only: their own feedback, requests sent to them, and their own."""
    received = [
        (
            item.sender_id,
            item.went_well or item.could_be_better or "",
            item.created_at.date().isoformat(),
        )
        for item in feedback_service.received(session, team_id, user_id, 5)
    ]
    waiting = [
        (request.requester_id, about(request.topic, request.subject_id), due(request))
        for request, _ in requests_service.waiting_for(session, team_id, user_id, 5)
    ]
    mine = [
        (about(request.topic, request.subject_id), done, total, due(request))
        for request, done, total in requests_service.open_requests(session, team_id, user_id, 5)
    ]
    return blocks.home_section(
        received=received,
        waiting=waiting,
        open_requests=mine,
        offer_answer_team=bool(feedback_service.team_of(session, team_id, user_id)),
    )


def due(request: requests_service.RequestItem) -> str:
    return due_label(request.due_on, request.zone)
