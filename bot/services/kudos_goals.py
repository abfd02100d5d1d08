"""The goals a kudos may name: its recipients' public objectives, active in the current cycle.

Recognition of impact: "thanks for the pricing page" counts toward *Self-serve grows 30%*.
Only what everyone may read is offered (a private goal never reaches a channel's post), and a
submitted choice outside this list is refused as the form's field error (a stale form, or a
forged one), never stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.services.directory import people
from bot.services.goal_cycles import CycleKind, cycle_of
from bot.services.slack_limits import SELECT_OPTIONS_MAX
from storage import goal_plans as store

PICK_ONE = "Pick one of their goals from the list (their public goals of this cycle)."


@dataclass(frozen=True, slots=True)
class GoalChoice:
    objective_id: int
    title: str
    owner_id: str
    owner_name: str

    def label(self, several_people: bool) -> str:
        """How the form's select shows it: with whose it is when the kudos names several."""
        return f"{self.title} ({self.owner_name})" if several_people else self.title


def choices(
    session: Session,
    team_id: str,
    recipient_ids: Sequence[str],
    now: datetime,
    cycle_kind: CycleKind,
) -> list[GoalChoice]:
    """The recipients' public, active objectives of the cycle holding `now`, theirs in the order
    they were named (at most a select's options)."""
    if not recipient_ids:
        return []
    cycle = cycle_of(now.date(), cycle_kind)
    found = store.public_active(session, team_id, cycle.name, recipient_ids)
    names = {uid: p.name for uid, p in people(session, team_id, recipient_ids).items()}
    rank = {uid: n for n, uid in enumerate(dict.fromkeys(recipient_ids))}
    ordered = sorted(found, key=lambda row: (rank.get(row[2], len(rank)), row[0]))
    return [
        GoalChoice(objective_id, title, owner, names.get(owner, owner))
        for objective_id, title, owner in ordered[:SELECT_OPTIONS_MAX]
    ]


def titles_by_id(found: Sequence[GoalChoice]) -> dict[int, str]:
    return {choice.objective_id: choice.title for choice in found}
