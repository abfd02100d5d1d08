"""What the check-in's goals question reads beyond the shared goal reads: a private goal's
manager chain, and the notes a check-in's updates carried (kept in the updates only)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import KeyResultUpdate, OrgEdge

MAX_CHAIN = 50  # hops up the org chart; a loop in stored data ends there


def manager_chain(session: Session, team_id: str, user_id: str) -> list[str]:
    """A person's managers, nearest first: one indexed read per level, so a check-in never
    reads the whole org chart for one private goal."""
    chain: list[str] = []
    seen = {user_id}
    current = user_id
    for _ in range(MAX_CHAIN):
        manager = session.scalars(
            select(OrgEdge.manager_id).where(OrgEdge.team_id == team_id, OrgEdge.user_id == current)
        ).first()
        if manager is None or manager in seen:
            break
        chain.append(manager)
        seen.add(manager)
        current = manager
    return chain


def notes_of(session: Session, occurrence_ids: Sequence[int]) -> dict[tuple[int, int], str]:
    """{(occurrence, key result): the note of the update that check-in wrote}, notes only."""
    if not occurrence_ids:
        return {}
    rows = session.execute(
        select(KeyResultUpdate.occurrence_id, KeyResultUpdate.key_result_id, KeyResultUpdate.note)
        .where(KeyResultUpdate.occurrence_id.in_(sorted(set(occurrence_ids))))
    )
    return {(occurrence, result): note for occurrence, result, note in rows if occurrence and note}
