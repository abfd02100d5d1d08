"""Who may read and change goals: pure rules, each naming who asks.

The caller passes what the rule needs (the owner's manager chain, whether the asker is an
admin); storage is not touched here. A denial reads exactly like a goal that does not exist,
so that probing ids tells nobody which private goals there are.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from bot.services.refusals import Refused


class GoalKind(StrEnum):
    COMPANY = "company"
    TEAM = "team"
    PERSONAL = "personal"
    DEVELOPMENT = "development"


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"  # the owner and their manager chain


class GoalState(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    CLOSED = "closed"


class Outcome(StrEnum):
    ACHIEVED = "achieved"
    MISSED = "missed"
    DROPPED = "dropped"


# One sentence for "no such goal" and "not yours to see": they must not be told apart.
NOT_FOUND = "That goal isn't there, or it isn't shared with you."


class GoalRefused(Refused):
    default_field = "goal"


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asks: their id, whether they are an admin, and (for rules about someone else's goal)
    nothing else: the owner's chain comes with the goal."""

    user_id: str
    is_admin: bool = False


@dataclass(frozen=True, slots=True)
class GoalOwnership:
    """What the rules need of a goal: its kind, visibility and owner, with the owner's manager
    chain (nearest first) and, for a key result, its own owner."""

    kind: GoalKind
    visibility: Visibility
    owner_id: str
    owner_chain: Collection[str] = ()
    result_owner_id: str | None = None


def can_read(asker: Asker, goal: GoalOwnership) -> bool:
    """Public goals are everyone's to read; a private one is its owner's and their managers'
    (a key result's owner reads the objective their result belongs to)."""
    if goal.visibility == Visibility.PUBLIC:
        return True
    return asker.user_id in _people_of(goal)


def can_edit(asker: Asker, goal: GoalOwnership) -> bool:
    """Company goals are the admins' (and the CLI's, which asks no rule); any other goal is its
    owner's and their manager chain's."""
    if goal.kind == GoalKind.COMPANY:
        return asker.is_admin
    return asker.user_id == goal.owner_id or asker.user_id in goal.owner_chain


def can_update_result(asker: Asker, goal: GoalOwnership) -> bool:
    """A key result's progress is reported by its owner, the objective's owner, or a manager
    above either (a company result's owner reports on it without being an admin)."""
    return asker.user_id in _people_of(goal)


def can_create(asker: Asker, kind: GoalKind) -> bool:
    """Anyone makes team, personal and development goals; company ones, admins only."""
    return kind != GoalKind.COMPANY or asker.is_admin


def require_read(asker: Asker, goal: GoalOwnership | None) -> GoalOwnership:
    """The goal, or the one refusal that does not say whether it exists."""
    if goal is None or not can_read(asker, goal):
        raise GoalRefused(NOT_FOUND)
    return goal


def require_update(asker: Asker, goal: GoalOwnership | None) -> GoalOwnership:
    """A forged Update button on someone else's result reads like a missing one; a goal the
    asker may read but not update says so plainly."""
    seen = require_read(asker, goal)
    if not can_update_result(asker, seen):
        raise GoalRefused("Only the result's owner, the goal's owner or their managers update it.")
    return seen


def _people_of(goal: GoalOwnership) -> set[str]:
    people = {goal.owner_id, *goal.owner_chain}
    if goal.result_owner_id:
        people.add(goal.result_owner_id)
    return people
