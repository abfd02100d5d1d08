"""The minute job's step for a cycle's end: each owner of an objective still active is asked,
once, to close or carry over their objectives (bot.services.goal_closing says when,
bot.notify.goal_closing writes the DM under a key that makes it once).

Most minutes of the year no cycle ends near, and this reads nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.notify import goal_closing as notify
from bot.services import goal_closing
from storage.engine import unit_of_work


def write_due(
    factory: sessionmaker[Session],
    now: datetime,
    *,
    team_id: str | None = None,
    batch_size: int = 200,
) -> int:
    """Write the closing DMs due at `now`, `batch_size` owners per short transaction; how
    many were written."""
    if not goal_closing.cycles_ending_near(now):
        return 0
    with unit_of_work(factory) as session:
        waiting = [
            (team, cycle, notify.not_asked(session, team, cycle.name, owners))
            for team, cycle, owners in goal_closing.due_owners(session, now, team_id)
        ]
    written = 0
    for team, cycle, owners in waiting:
        for start in range(0, len(owners), batch_size):
            with unit_of_work(factory) as session:
                chunk = owners[start : start + batch_size]
                for due in goal_closing.closings(session, team, cycle, chunk, now):
                    notify.enqueue_closing(session, due, now)
                    written += 1
    return written
