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

from sqlalchemy import and_, bindparam, case, func, or_, select
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


def _goals_statement() -> Any:
    """The cycle's team objectives of some owners and every objective of the cycle holding a
    key result one of some people owns, each with its key results (none: one row, no result);
    by the (team, cycle, kind) and (team, owner) indexes. Built once, bound per call."""
    holding = select(KeyResult.objective_id).where(
        KeyResult.team_id == bindparam("team"),
        KeyResult.owner_id.in_(bindparam("result_owners", expanding=True)),
    )
    chosen = or_(
        and_(
            Objective.kind == _TEAM_KIND,
            Objective.owner_id.in_(bindparam("owners", expanding=True)),
        ),
        Objective.id.in_(holding),
    )
    return (
        select(
            Objective.id,
            Objective.title,
            Objective.owner_id,
            Objective.kind,
            Objective.visibility,
            Objective.state,
            Objective.created_at,
            Objective.closed_at,
            KeyResult.id,
            KeyResult.title,
            KeyResult.owner_id,
            KeyResult.measure,
            KeyResult.unit,
            KeyResult.start,
            KeyResult.target,
            KeyResult.weight,
            KeyResult.created_at,
        )
        .outerjoin(KeyResult, KeyResult.objective_id == Objective.id)
        .where(Objective.team_id == bindparam("team"), Objective.cycle == bindparam("cycle"))
        .where(chosen)
        .order_by(Objective.id, KeyResult.position, KeyResult.id)
    )


_GOALS = _goals_statement()


def objectives_and_results(
    session: Session,
    team_id: str,
    cycle: str,
    owners: Sequence[str],
    result_owners: Sequence[str],
) -> tuple[list[ObjectiveRow], list[ResultRow]]:
    """The cycle's team objectives of `owners` and every objective of the cycle holding a key
    result one of `result_owners` owns, and their key results, in one statement."""
    if not owners and not result_owners:
        return [], []
    rows = session.execute(
        _GOALS,
        {
            "team": team_id,
            "cycle": cycle,
            "owners": sorted(set(owners)),
            "result_owners": sorted(set(result_owners)),
        },
    )
    objectives: dict[int, ObjectiveRow] = {}
    results: list[ResultRow] = []
    for row in rows:
        values = tuple(row)
        if values[0] not in objectives:
            objectives[values[0]] = ObjectiveRow(*values[:8])
        if values[8] is not None:
            results.append(_result((values[8], values[0], *values[9:])))
    return list(objectives.values()), results


def _result(values: tuple[Any, ...]) -> ResultRow:
    return ResultRow(*values)


def _latest_statement() -> Any:
    """Each result's newest update before `before` and newest in [before, end): a window over
    the (key result, created) index. Built once, bound per call (building it costs more than
    running it)."""
    earlier = case((KeyResultUpdate.created_at < bindparam("before"), 1), else_=0)
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
            KeyResultUpdate.key_result_id.in_(bindparam("ids", expanding=True)),
            KeyResultUpdate.created_at < bindparam("end"),
        )
        .subquery()
    )
    return select(
        ranked.c.key_result_id,
        ranked.c.value,
        ranked.c.confidence,
        ranked.c.note,
        ranked.c.created_at,
        ranked.c.occurrence_id,
        ranked.c.earlier,
    ).where(ranked.c.rank == 1)


_LATEST = _latest_statement()


def latest_updates(
    session: Session, result_ids: Sequence[int], before: datetime, end: datetime
) -> tuple[dict[int, UpdateRow], dict[int, UpdateRow]]:
    """({result: its latest update before `before`}, {result: its latest in [before, end)}),
    in one statement, two rows a result at most however many weeks of updates it has."""
    if not result_ids:
        return {}, {}
    rows = session.execute(
        _LATEST, {"ids": sorted(set(result_ids)), "before": before, "end": end}
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
