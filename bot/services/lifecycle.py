"""Leavers: what closes when Slack says someone was deactivated.

Nothing pulsebot does may reach them again: their open check-ins close as `away` (they were not
there to answer, and no reminder or re-prompt follows), the requests they made close early
(their summary would reach nobody; the people asked are told it was withdrawn), and the
requests that asked them stop waiting for them. Planning skips them from now on
(`checkins.plan_due`), and the outbox rows already queued for them are withdrawn by
`bot.notify.lifecycle`. All of it is idempotent: a second deactivation closes nothing more.

The goals they owned are not closed: their manager is told which ones wait for a new owner
(`GoalsLeft`), so that a team's objective does not go stale unnoticed.

Coming back needs nothing here: `directory.store_changes` restarts their check-ins from the next
occurrence on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.services.feedback_requests import AskedItem, RequestItem, asked_item, request_item
from bot.services.states import OccurrenceState
from storage import checkins as checkins_store
from storage import feedback as feedback_store
from storage import goal_plans as goal_store
from storage import org as org_store


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """A request the leaver made, closed early, with the people it still waited for."""

    request: RequestItem
    waiting: list[AskedItem]


@dataclass(frozen=True, slots=True)
class GoalsLeft:
    """What the leaver owned that is still open, for their manager to hand to someone:
    objectives as (id, cycle, title), key results in others' objectives as (title, objective
    title, cycle)."""

    manager_id: str | None
    objectives: list[tuple[int, str, str]]
    key_results: list[tuple[str, str, str]]

    def __bool__(self) -> bool:
        return bool(self.objectives or self.key_results)


@dataclass(frozen=True, slots=True)
class Departure:
    team_id: str
    user_id: str
    checkins_closed: int
    withdrawn: list[Withdrawn]
    asks_expired: int  # others' requests that asked them and no longer wait for them
    goals_left: GoalsLeft | None = None


def goals_left(session: Session, team_id: str, user_id: str) -> GoalsLeft:
    objectives, results = goal_store.open_goals_of(session, team_id, user_id)
    return GoalsLeft(
        org_store.manager_of(session, team_id, user_id),
        [(o.id, o.cycle, o.title) for o in objectives],
        [(r.title, o.title, o.cycle) for r, o in results],
    )


def depart(session: Session, team_id: str, user_id: str, now: datetime) -> Departure:
    closed = checkins_store.close_open_of(session, team_id, user_id, OccurrenceState.AWAY, now)
    withdrawn = [
        Withdrawn(request_item(session, request), [asked_item(row) for row in waiting])
        for request, waiting in feedback_store.close_requests_of(session, team_id, user_id, now)
    ]
    expired = feedback_store.expire_asks_of(session, team_id, user_id)
    left = goals_left(session, team_id, user_id)
    return Departure(team_id, user_id, closed, withdrawn, expired, left)
