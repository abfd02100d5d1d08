"""What Slack's goal forms write (an objective with its key results) and the one read only
`/goals` needs (the kudos each goal received).

An objective is identified by (workspace, cycle, owner, title): a second form with the same
title, or Slack resending the same one, inserts nothing and the caller says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from storage.models import KeyResult, KudosGoal, Objective
from storage.upserts import insert_ignoring_conflict


@dataclass(frozen=True, slots=True)
class NewResult:
    title: str
    owner_id: str
    measure: str
    unit: str
    start: float
    target: float


def create_objective(
    session: Session,
    *,
    team_id: str,
    cycle: str,
    title: str,
    owner_id: str,
    kind: str,
    visibility: str,
    parent_id: int | None,
    created_by: str,
    results: Sequence[NewResult],
    now: datetime,
) -> int | None:
    """The new objective's id, its key results in their order; None (nothing written) when
    its owner already has an objective of that title in the cycle."""
    objective_id = insert_ignoring_conflict(
        session,
        Objective.__table__,
        {
            "team_id": team_id,
            "cycle": cycle,
            "title": title,
            "owner_id": owner_id,
            "kind": kind,
            "parent_id": parent_id,
            "visibility": visibility,
            "state": "active",
            "created_by": created_by,
            "created_at": now,
            "updated_at": now,
        },
    )
    if objective_id is None:
        return None
    if results:
        session.execute(
            insert(KeyResult),
            [
                {
                    "team_id": team_id,
                    "objective_id": objective_id,
                    "title": result.title,
                    "owner_id": result.owner_id,
                    "measure": result.measure,
                    "unit": result.unit,
                    "start": result.start,
                    "target": result.target,
                    "current": result.start,
                    "weight": 1.0,
                    "position": position,
                    "created_at": now,
                    "updated_at": now,
                }
                for position, result in enumerate(results)
            ],
        )
    return int(objective_id)


def kudos_counts(session: Session, objective_ids: Iterable[int]) -> dict[int, int]:
    """How many kudos named each objective (objectives none named are absent), in one query."""
    wanted = sorted(set(objective_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(KudosGoal.objective_id, func.count())
        .where(KudosGoal.objective_id.in_(wanted))
        .group_by(KudosGoal.objective_id)
    )
    return {objective_id: int(count) for objective_id, count in rows}
