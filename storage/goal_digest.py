"""What a weekly digest reads of goals: a fixed number of statements, whatever the team's size.

The team's objectives of a cycle (its manager's and direct reports' team objectives, and those
holding a key result a direct report owns), their key results, each result's latest update as
of two instants (the covered week's end and the week before's), and the goals the team's
kudos named. Each statement binds the ids the one before found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from storage.models import KeyResult, KeyResultUpdate, KudosGoal, Objective

_TEAM_KIND = "team"


@dataclass(frozen=True, slots=True)
class ObjectiveRow:
    id: int
    title: str
    owner_id: str
    kind: str
    visibility: str
    state: str
    created_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ResultRow:
    id: int
    objective_id: int
    title: str
    owner_id: str
    measure: str
    unit: str
    start: float
    target: float
    weight: float
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UpdateRow:
    key_result_id: int
    value: float
    confidence: str
    note: str
    created_at: datetime
    occurrence_id: int | None = None


@dataclass(frozen=True, slots=True)
class KudosGoalRow:
    kudos_id: int
    objective_id: int
    title: str
    owner_id: str
    visibility: str


def objectives(
    session: Session,
    team_id: str,
    cycle: str,
    owners: Sequence[str],
    result_owners: Sequence[str],
) -> list[ObjectiveRow]:
    """The cycle's team objectives of `owners`, and every objective of the cycle holding a key
    result one of `result_owners` owns; by the (team, cycle, kind) and (team, owner) indexes."""
    if not owners and not result_owners:
        return []
    holding = select(KeyResult.objective_id).where(
        KeyResult.team_id == team_id, KeyResult.owner_id.in_(list(result_owners))
    )
    chosen = or_(
        and_(Objective.kind == _TEAM_KIND, Objective.owner_id.in_(list(owners))),
        Objective.id.in_(holding),
    )
    rows = session.execute(
        select(
            Objective.id,
            Objective.title,
            Objective.owner_id,
            Objective.kind,
            Objective.visibility,
            Objective.state,
            Objective.created_at,
            Objective.closed_at,
        )
        .where(Objective.team_id == team_id, Objective.cycle == cycle, chosen)
        .order_by(Objective.id)
    )
    return [ObjectiveRow(*row) for row in rows]


def results(session: Session, objective_ids: Sequence[int]) -> list[ResultRow]:
    """The key results of these objectives, in each objective's order."""
    if not objective_ids:
        return []
    rows = session.execute(
        select(
            KeyResult.id,
            KeyResult.objective_id,
            KeyResult.title,
            KeyResult.owner_id,
            KeyResult.measure,
            KeyResult.unit,
            KeyResult.start,
            KeyResult.target,
            KeyResult.weight,
            KeyResult.created_at,
        )
        .where(KeyResult.objective_id.in_(sorted(set(objective_ids))))
        .order_by(KeyResult.objective_id, KeyResult.position, KeyResult.id)
    )
    return [_result(tuple(row)) for row in rows]


def _result(values: tuple[Any, ...]) -> ResultRow:
    return ResultRow(*values)


def latest_updates(
    session: Session, result_ids: Sequence[int], before: datetime, end: datetime
) -> tuple[dict[int, UpdateRow], dict[int, UpdateRow]]:
    """({result: its latest update before `before`}, {result: its latest in [before, end)}),
    in one statement: a window over the (key result, created) index, two rows a result at
    most, however many weeks of updates it has."""
    if not result_ids:
        return {}, {}
    earlier = case((KeyResultUpdate.created_at < before, 1), else_=0)
    ranked = (
        select(
            KeyResultUpdate.key_result_id,
            KeyResultUpdate.value,
            KeyResultUpdate.confidence,
            KeyResultUpdate.note,
            KeyResultUpdate.created_at,
            KeyResultUpdate.occurrence_id,
            earlier.label("earlier"),
            func.row_number()
            .over(
                partition_by=(KeyResultUpdate.key_result_id, earlier),
                order_by=(KeyResultUpdate.created_at.desc(), KeyResultUpdate.id.desc()),
            )
            .label("rank"),
        )
        .where(
            KeyResultUpdate.key_result_id.in_(sorted(set(result_ids))),
            KeyResultUpdate.created_at < end,
        )
        .subquery()
    )
    rows = session.execute(
        select(
            ranked.c.key_result_id,
            ranked.c.value,
            ranked.c.confidence,
            ranked.c.note,
            ranked.c.created_at,
            ranked.c.occurrence_id,
            ranked.c.earlier,
        ).where(ranked.c.rank == 1)
    )
    before_rows: dict[int, UpdateRow] = {}
    during: dict[int, UpdateRow] = {}
    for result_id, value, confidence, note, created_at, occurrence_id, was_earlier in rows:
        row = UpdateRow(result_id, value, confidence, note or "", created_at, occurrence_id)
        (before_rows if was_earlier else during)[result_id] = row
    return before_rows, during


def kudos_goals(session: Session, kudos_ids: Sequence[int]) -> list[KudosGoalRow]:
    """The goal each of these kudos named, if any, with what deciding who may read it needs."""
    if not kudos_ids:
        return []
    rows = session.execute(
        select(
            KudosGoal.kudos_id,
            Objective.id,
            Objective.title,
            Objective.owner_id,
            Objective.visibility,
        )
        .join(Objective, Objective.id == KudosGoal.objective_id)
        .where(KudosGoal.kudos_id.in_(sorted(set(kudos_ids))))
    )
    return [KudosGoalRow(*row) for row in rows]
