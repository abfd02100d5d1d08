"""Objectives, key results and their updates: the reads every goals surface shares, and the
one write of an update.

Reads take whole sets (all of a cycle's objectives, the key results of many objectives, the
last update of many results) so that a tree or a digest costs a constant number of queries,
however many goals it shows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import KeyResult, KeyResultUpdate, Objective, OrgEdge
from storage.upserts import insert_ignoring_conflict

CHAIN_CHUNK = 500  # people per read of their managers: well inside every driver's limits

_CLOSED = "closed"


def objective(session: Session, team_id: str, objective_id: int) -> Objective | None:
    found = session.get(Objective, objective_id)
    return found if found is not None and found.team_id == team_id else None


def key_result(session: Session, team_id: str, key_result_id: int) -> KeyResult | None:
    found = session.get(KeyResult, key_result_id)
    return found if found is not None and found.team_id == team_id else None


def objectives(
    session: Session,
    team_id: str,
    cycle: str,
    *,
    kinds: Collection[str] | None = None,
    owner_ids: Collection[str] | None = None,
    include_closed: bool = True,
) -> list[Objective]:
    """A cycle's objectives, optionally of some kinds or owners, oldest first."""
    query = select(Objective).where(Objective.team_id == team_id, Objective.cycle == cycle)
    if kinds is not None:
        query = query.where(Objective.kind.in_(list(kinds)))
    if owner_ids is not None:
        query = query.where(Objective.owner_id.in_(list(owner_ids)))
    if not include_closed:
        query = query.where(Objective.state != _CLOSED)
    return list(session.scalars(query.order_by(Objective.id)))


def objectives_of_people(
    session: Session, team_id: str, cycle: str, people: Collection[str]
) -> list[Objective]:
    """A cycle's objectives that these people own or hold a key result of, with every
    objective they serve up the alignment, oldest first: what a person's or a team's list
    shows, read without the rest of the company's goals."""
    wanted = sorted(set(people))
    if not wanted:
        return []
    holding = select(KeyResult.objective_id).where(
        KeyResult.team_id == team_id, KeyResult.owner_id.in_(wanted)
    )
    found = {
        row.id: row
        for row in session.scalars(
            select(Objective).where(
                Objective.team_id == team_id,
                Objective.cycle == cycle,
                Objective.owner_id.in_(wanted) | Objective.id.in_(holding),
            )
        )
    }
    missing = {o.parent_id for o in found.values() if o.parent_id is not None} - set(found)
    while missing:  # up the alignment, a level a query (a loop ends where it repeats)
        parents = objectives_by_id(session, team_id, missing)
        found.update(parents)
        missing = {o.parent_id for o in parents.values() if o.parent_id is not None} - set(found)
    return sorted(found.values(), key=lambda o: o.id)


def objectives_by_id(session: Session, team_id: str, ids: Iterable[int]) -> dict[int, Objective]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.scalars(
        select(Objective).where(Objective.team_id == team_id, Objective.id.in_(wanted))
    )
    return {row.id: row for row in rows}


def key_results_of(session: Session, objective_ids: Iterable[int]) -> dict[int, list[KeyResult]]:
    """Each objective's key results in their order; objectives without any map to nothing."""
    wanted = sorted(set(objective_ids))
    grouped: dict[int, list[KeyResult]] = defaultdict(list)
    if not wanted:
        return grouped
    rows = session.scalars(
        select(KeyResult)
        .where(KeyResult.objective_id.in_(wanted))
        .order_by(KeyResult.objective_id, KeyResult.position, KeyResult.id)
    )
    for row in rows:
        grouped[row.objective_id].append(row)
    return grouped


def results_owned_by(
    session: Session, team_id: str, user_id: str, cycle: str
) -> list[tuple[KeyResult, Objective]]:
    """The key results a person owns in a cycle's objectives that are not closed: what a
    check-in's goals question asks about."""
    rows = session.execute(
        select(KeyResult, Objective)
        .join(Objective, KeyResult.objective_id == Objective.id)
        .where(
            KeyResult.team_id == team_id,
            KeyResult.owner_id == user_id,
            Objective.cycle == cycle,
            Objective.state != _CLOSED,
        )
        .order_by(Objective.id, KeyResult.position, KeyResult.id)
    )
    return [(kr, obj) for kr, obj in rows]


def last_updates(session: Session, key_result_ids: Iterable[int]) -> dict[int, KeyResultUpdate]:
    """The latest update of each key result that has one, in one query."""
    wanted = sorted(set(key_result_ids))
    if not wanted:
        return {}
    latest = (
        select(
            KeyResultUpdate.key_result_id.label("kr"),
            func.max(KeyResultUpdate.id).label("last_id"),
        )
        .where(KeyResultUpdate.key_result_id.in_(wanted))
        .group_by(KeyResultUpdate.key_result_id)
        .subquery()
    )
    rows = session.scalars(
        select(KeyResultUpdate).join(latest, KeyResultUpdate.id == latest.c.last_id)
    )
    return {row.key_result_id: row for row in rows}


def updates_since(
    session: Session, key_result_ids: Iterable[int], since: datetime
) -> list[KeyResultUpdate]:
    """Updates written at or after `since`, oldest first (a week's changes, a digest's notes)."""
    wanted = sorted(set(key_result_ids))
    if not wanted:
        return []
    return list(
        session.scalars(
            select(KeyResultUpdate)
            .where(KeyResultUpdate.key_result_id.in_(wanted), KeyResultUpdate.created_at >= since)
            .order_by(KeyResultUpdate.created_at, KeyResultUpdate.id)
        )
    )


def add_update(
    session: Session,
    result: KeyResult,
    *,
    value: float,
    confidence: str,
    note: str,
    author_id: str,
    now: datetime,
    occurrence_id: int | None = None,
    request_key: str | None = None,
) -> bool:
    """Record one update and move the result's current value; False (and nothing changed) when
    this occurrence's or this request's update is already there: a replay."""
    new_id = insert_ignoring_conflict(
        session,
        KeyResultUpdate.__table__,
        {
            "team_id": result.team_id,
            "key_result_id": result.id,
            "value": value,
            "confidence": confidence,
            "note": note,
            "author_id": author_id,
            "occurrence_id": occurrence_id,
            "request_key": request_key,
            "created_at": now,
        },
    )
    if new_id is None:
        return False
    result.current = value
    result.updated_at = now
    return True


def manager_chains(session: Session, team_id: str, user_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each person's managers, nearest first (a loop in the chart ends the chain where it would
    repeat). Read a level at a time, a few rows each: an App Home or a board asks for a
    handful of chains, never for the whole chart of a ten-thousand-person workspace."""
    wanted = set(user_ids)
    edges: dict[str, str] = {}
    asked: set[str] = set()
    frontier = wanted
    while frontier:
        asked |= frontier
        ordered = sorted(frontier)
        for start in range(0, len(ordered), CHAIN_CHUNK):
            rows = session.execute(
                select(OrgEdge.user_id, OrgEdge.manager_id).where(
                    OrgEdge.team_id == team_id,
                    OrgEdge.user_id.in_(ordered[start : start + CHAIN_CHUNK]),
                )
            )
            edges.update((user_id, manager_id) for user_id, manager_id in rows)
        frontier = {edges[u] for u in frontier if u in edges} - asked
    chains: dict[str, list[str]] = {}
    for user_id in wanted:
        chain: list[str] = []
        seen = {user_id}
        manager = edges.get(user_id)
        while manager is not None and manager not in seen:
            chain.append(manager)
            seen.add(manager)
            manager = edges.get(manager)
        chains[user_id] = chain
    return chains
