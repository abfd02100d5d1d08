"""Whether pulsebot may call Slack for a workspace, shared by every replica.

Slack stops answering a workspace's token when the app is uninstalled or the token is revoked;
until a token works again, every call would fail the same way. The stop is a row, so that one
replica's news (an event, a refused call) stops the senders of all of them, and the first
writer's conditional UPDATE is the one that reports it (and logs it) once.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import WorkspaceState
from storage.upserts import insert_ignoring_conflict, rowcount

# Stop reasons named after Slack's events; a refused call's reason is Slack's error code. An
# uninstall explains the most (it revokes the tokens too), so whichever of the two events
# arrives first, the workspace reads "uninstalled" once both have.
UNINSTALLED = "app_uninstalled"
TOKENS_REVOKED = "tokens_revoked"


class Stop(NamedTuple):
    team_id: str
    reason: str
    since: datetime


def stop(session: Session, team_id: str, reason: str, now: datetime) -> bool:
    """Stop sending for the workspace; True only for the call that stopped it."""
    insert_ignoring_conflict(
        session,
        WorkspaceState.__table__,
        {"team_id": team_id, "stopped_at": None, "stop_reason": None, "changed_at": now},
    )
    result = session.execute(
        update(WorkspaceState)
        .where(WorkspaceState.team_id == team_id, WorkspaceState.stopped_at.is_(None))
        .values(stopped_at=now, stop_reason=reason, changed_at=now)
    )
    if rowcount(result):
        return True
    if reason == UNINSTALLED:
        session.execute(
            update(WorkspaceState)
            .where(WorkspaceState.team_id == team_id, WorkspaceState.stop_reason != UNINSTALLED)
            .values(stop_reason=reason, changed_at=now)
        )
    return False


def resume(session: Session, team_id: str, now: datetime) -> Stop | None:
    """Sending again; returns the stop that this call ended (None: it was not stopped, or
    another replica resumed it first)."""
    ended = stopped(session, team_id)
    if not ended:
        return None
    result = session.execute(
        update(WorkspaceState)
        .where(WorkspaceState.team_id == team_id, WorkspaceState.stopped_at.is_not(None))
        .values(stopped_at=None, stop_reason=None, changed_at=now)
    )
    return ended[0] if rowcount(result) else None


def stopped(session: Session, team_id: str | None = None) -> list[Stop]:
    """The workspaces whose sending is stopped (this one only, when given)."""
    query = select(
        WorkspaceState.team_id, WorkspaceState.stop_reason, WorkspaceState.stopped_at
    ).where(WorkspaceState.stopped_at.is_not(None))
    if team_id is not None:
        query = query.where(WorkspaceState.team_id == team_id)
    return [
        Stop(team, reason or "", since)
        for team, reason, since in session.execute(query.order_by(WorkspaceState.team_id))
        if since is not None
    ]


def is_stopped(session: Session, team_id: str) -> bool:
    return (
        session.scalar(
            select(WorkspaceState.stopped_at).where(
                WorkspaceState.team_id == team_id, WorkspaceState.stopped_at.is_not(None)
            )
        )
        is not None
    )
