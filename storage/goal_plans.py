"""Goals written in bulk: a goals file's objectives and key results, a cycle's end (the owners
to ask, closing, carrying over), and the goals a kudos may name.

The reads shared by every goals surface live in storage.goals; this module holds the writes
and the few reads only these features need.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.fast_path import driver
from storage.models import KeyResult, Objective
from storage.upserts import insert_ignoring_conflict, rowcount

ACTIVE = "active"
CLOSED = "closed"


# ----- a goals file ---------------------------------------------------------------------------


def find_objective(
    session: Session, team_id: str, cycle: str, owner_id: str, title: str
) -> Objective | None:
    return session.scalars(
        select(Objective).where(
            Objective.team_id == team_id,
            Objective.cycle == cycle,
            Objective.owner_id == owner_id,
            Objective.title == title,
        )
    ).first()


def insert_objective(session: Session, values: dict[str, Any]) -> int | None:
    """A new objective's id; None when (team, cycle, owner, title) is already there (a racing
    writer made it a moment ago)."""
    new_id = insert_ignoring_conflict(session, Objective.__table__, values)
    return int(new_id) if new_id is not None else None


def update_objective(session: Session, objective_id: int, values: dict[str, Any]) -> None:
    session.execute(update(Objective).where(Objective.id == objective_id).values(**values))


def insert_key_result(session: Session, values: dict[str, Any]) -> int | None:
    new_id = insert_ignoring_conflict(session, KeyResult.__table__, values)
    return int(new_id) if new_id is not None else None


def update_key_result(session: Session, key_result_id: int, values: dict[str, Any]) -> None:
    session.execute(update(KeyResult).where(KeyResult.id == key_result_id).values(**values))


def teams_with_goals(session: Session) -> list[str]:
    return sorted(session.scalars(select(Objective.team_id).distinct()))


def carried_into(session: Session, team_id: str, objective_ids: Iterable[int]) -> dict[int, str]:
    """For each of these objectives carried over, the cycle its copy lives in."""
    wanted = sorted(set(objective_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Objective.carried_from_id, Objective.cycle).where(
            Objective.team_id == team_id, Objective.carried_from_id.in_(wanted)
        )
    )
    return {int(source): cycle for source, cycle in rows if source is not None}


# ----- a cycle's end --------------------------------------------------------------------------


def cycles_with_active(session: Session, cycles: Collection[str]) -> list[tuple[str, str]]:
    """(team, cycle) of these cycles that still hold an active objective, in every workspace."""
    if not cycles:
        return []
    rows = session.execute(
        select(Objective.team_id, Objective.cycle)
        .where(Objective.cycle.in_(sorted(cycles)), Objective.state == ACTIVE)
        .distinct()
        .order_by(Objective.team_id, Objective.cycle)
    )
    return list(rows)


def active_owners(session: Session, team_id: str, cycle: str) -> list[str]:
    """The owners of a cycle's active objectives, once each, in order."""
    return list(
        session.scalars(
            select(Objective.owner_id)
            .where(
                Objective.team_id == team_id,
                Objective.cycle == cycle,
                Objective.state == ACTIVE,
            )
            .distinct()
            .order_by(Objective.owner_id)
        )
    )


def active_of_owners(
    session: Session, team_id: str, cycle: str, owner_ids: Collection[str]
) -> list[Objective]:
    if not owner_ids:
        return []
    return list(
        session.scalars(
            select(Objective)
            .where(
                Objective.team_id == team_id,
                Objective.cycle == cycle,
                Objective.state == ACTIVE,
                Objective.owner_id.in_(sorted(owner_ids)),
            )
            .order_by(Objective.owner_id, Objective.id)
        )
    )


def close_objective(
    session: Session,
    objective_id: int,
    *,
    outcome: str,
    score: float | None,
    now: datetime,
) -> bool:
    """Close an objective that is not closed yet; False when it already was (nothing changed)."""
    result = session.execute(
        update(Objective)
        .where(Objective.id == objective_id, Objective.state != CLOSED)
        .values(state=CLOSED, outcome=outcome, score=score, closed_at=now, updated_at=now)
    )
    return rowcount(result) > 0


def copy_of(session: Session, team_id: str, objective_id: int) -> Objective | None:
    """The objective carried over from this one, if it was."""
    return session.scalars(
        select(Objective)
        .where(Objective.team_id == team_id, Objective.carried_from_id == objective_id)
        .order_by(Objective.id)
    ).first()


def adopt_children(
    session: Session, team_id: str, cycle: str, old_parent_id: int, new_parent_id: int
) -> int:
    """Copies in `cycle` of the old parent's children, left without a parent when they were
    carried over first, align to the parent's copy now."""
    children = select(Objective.id).where(Objective.parent_id == old_parent_id)
    result = session.execute(
        update(Objective)
        .where(
            Objective.team_id == team_id,
            Objective.cycle == cycle,
            Objective.parent_id.is_(None),
            Objective.carried_from_id.in_(children),
        )
        .values(parent_id=new_parent_id)
    )
    return rowcount(result)


# ----- a leaver's goals -----------------------------------------------------------------------


def open_goals_of(
    session: Session, team_id: str, user_id: str
) -> tuple[list[Objective], list[tuple[KeyResult, Objective]]]:
    """What a person owns that is not closed: their objectives, and their key results in
    others' objectives, each with that objective."""
    objectives = list(
        session.scalars(
            select(Objective)
            .where(
                Objective.team_id == team_id,
                Objective.owner_id == user_id,
                Objective.state != CLOSED,
            )
            .order_by(Objective.cycle, Objective.id)
        )
    )
    results = session.execute(
        select(KeyResult, Objective)
        .join(Objective, Objective.id == KeyResult.objective_id)
        .where(
            KeyResult.team_id == team_id,
            KeyResult.owner_id == user_id,
            Objective.owner_id != user_id,
            Objective.state != CLOSED,
        )
        .order_by(Objective.cycle, Objective.id, KeyResult.position)
    )
    return objectives, [(result, objective) for result, objective in results]


# ----- kudos naming a goal --------------------------------------------------------------------


def public_active(
    session: Session, team_id: str, cycle: str, owner_ids: Collection[str]
) -> list[tuple[int, str, str]]:
    """(id, title, owner) of these people's public, active objectives of a cycle: what a kudos
    to them may name. Read at driver level: the kudos form's submission runs it before its ack
    (storage.fast_path)."""
    owners = sorted(set(owner_ids))
    if not owners:
        return []
    db = driver(session)
    names = ", ".join(f"%(o{i})s" for i in range(len(owners)))
    params: dict[str, Any] = {f"o{i}": owner for i, owner in enumerate(owners)}
    params.update(team_id=team_id, cycle=cycle, state=ACTIVE, visibility="public")
    rows = db.rows(
        "SELECT id, title, owner_id FROM goal_objectives WHERE team_id = %(team_id)s"
        " AND cycle = %(cycle)s AND state = %(state)s AND visibility = %(visibility)s"
        f" AND owner_id IN ({names}) ORDER BY owner_id, id",
        params,
    )
    return [(int(row[0]), str(row[1]), str(row[2])) for row in rows]


def name_goal(session: Session, kudos_id: int, objective_id: int) -> None:
    """The goal a new kudos recognises, in its transaction. Driver level, and on PostgreSQL
    held for the commit's round trip (storage.fast_path): this is on the kudos form's ack."""
    driver(session).write(
        "INSERT INTO kudos_goals (kudos_id, objective_id) VALUES (%(kudos_id)s, %(objective_id)s)"
        " ON CONFLICT (kudos_id) DO NOTHING",
        {"kudos_id": kudos_id, "objective_id": objective_id},
    )
