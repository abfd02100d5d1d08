"""Installed or not: when the app is uninstalled or its token revoked, the workspace's sending
stops, on every replica, and what is queued waits; a token that works again resumes it.

Slack answers every call with a refused token the same way, so calling on would only fill the
log; and a row failed for good is a message lost, while the reinstall that follows an uninstall
by mistake is common. Nothing is dropped: rows queued before or during the stop go out after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from storage import outbox as outbox_store
from storage import workspaces as store
from storage.workspaces import TOKENS_REVOKED, UNINSTALLED, Stop

__all__ = [
    "TOKENS_REVOKED",
    "UNINSTALLED",
    "Resumed",
    "Stop",
    "Stopped",
    "bot_tokens_revoked",
    "resume",
    "stop",
    "stops",
]


@dataclass(frozen=True, slots=True)
class Stopped:
    changed: bool  # this call stopped it (False: it was stopped already)
    waiting: int  # rows queued for the workspace, which wait for a token that works


@dataclass(frozen=True, slots=True)
class Resumed:
    ended: Stop
    waiting: int  # rows queued meanwhile, which go out now


def stop(session: Session, team_id: str, reason: str, now: datetime) -> Stopped:
    changed = store.stop(session, team_id, reason, now)
    waiting = outbox_store.status_counts(session, team_id).get(outbox_store.PENDING, 0)
    return Stopped(changed, waiting)


def resume(session: Session, team_id: str, now: datetime) -> Resumed | None:
    """Sending again for the workspace, if it was stopped and no other replica resumed it."""
    ended = store.resume(session, team_id, now)
    if ended is None:
        return None
    waiting = outbox_store.status_counts(session, team_id).get(outbox_store.PENDING, 0)
    return Resumed(ended, waiting)


def stops(session: Session) -> list[Stop]:
    return store.stopped(session)


def bot_tokens_revoked(tokens: object) -> bool:
    """Whether a `tokens_revoked` event's `tokens` names a bot: it lists user ids per kind of
    token (`oauth`, `bot`), never tokens. pulsebot holds only the bot token, so a revoked user
    token changes nothing here."""
    return isinstance(tokens, dict) and bool(tokens.get("bot"))
