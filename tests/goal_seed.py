"""Objectives, key results and updates written as rows, for the check-in's and the digest's
goal tests (how goals come to be, by file or modal, is tested with those surfaces)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from storage.models import KeyResult, KeyResultUpdate, KudosGoal, Objective
from tests.factories import TEAM


def objective(
    session: Session,
    owner: str,
    title: str,
    created: datetime,
    *,
    cycle: str = "2037-Q1",
    kind: str = "team",
    visibility: str = "public",
    state: str = "active",
) -> int:
    row = Objective(
        team_id=TEAM,
        cycle=cycle,
        title=title,
        owner_id=owner,
        kind=kind,
        parent_id=None,
        visibility=visibility,
        state=state,
        created_by="cli",
        created_at=created,
        updated_at=created,
    )
    session.add(row)
    session.flush()
    return row.id


def key_result(
    session: Session,
    objective_id: int,
    title: str,
    owner: str,
    created: datetime,
    *,
    start: float = 0,
    target: float = 100,
    measure: str = "number",
    unit: str = "",
    weight: float = 1.0,
    position: int = 0,
) -> int:
    row = KeyResult(
        team_id=TEAM,
        objective_id=objective_id,
        title=title,
        owner_id=owner,
        measure=measure,
        unit=unit,
        start=start,
        target=target,
        current=start,
        weight=weight,
        position=position,
        created_at=created,
        updated_at=created,
    )
    session.add(row)
    session.flush()
    return row.id


def update(
    session: Session,
    result_id: int,
    value: float,
    at: datetime,
    *,
    confidence: str = "on_track",
    note: str = "",
    author: str | None = None,
    occurrence_id: int | None = None,
) -> None:
    """One update, moving the result's current value as `storage.goals.add_update` does (the
    latest written last: callers write them oldest first)."""
    result = session.get(KeyResult, result_id)
    assert result is not None
    session.add(
        KeyResultUpdate(
            team_id=TEAM,
            key_result_id=result_id,
            value=value,
            confidence=confidence,
            note=note,
            author_id=author or result.owner_id,
            occurrence_id=occurrence_id,
            request_key=None,
            created_at=at,
        )
    )
    result.current = value
    result.updated_at = at
    session.flush()


def kudos_goal(session: Session, kudos_id: int, objective_id: int) -> None:
    session.add(KudosGoal(kudos_id=kudos_id, objective_id=objective_id))
    session.flush()
