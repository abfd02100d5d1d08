"""Goals as people see them: objectives with their key results, progress, status, staleness and
alignment, built from a few whole-set reads and the pure rules of goal_progress.

Every surface (the CLI's list, `/goals`, App Home, the check-in, the digest) reads goals through
`load_views`, so they agree on every figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from bot.services import goal_progress
from bot.services.goal_access import Asker, GoalKind, GoalOwnership, Visibility, can_read
from bot.services.goal_cycles import Cycle, CycleKind, cycle_of, parse
from bot.services.goal_progress import Confidence, Measure, ResultNumbers
from storage import goals as store
from storage.models import KeyResult, KeyResultUpdate, Objective


@dataclass(frozen=True, slots=True)
class ResultView:
    id: int
    objective_id: int
    title: str
    owner_id: str
    measure: Measure
    unit: str
    start: float
    target: float
    current: float
    weight: float
    progress: float
    status: Confidence
    stale: bool
    last_confidence: Confidence | None
    last_note: str
    last_update_at: datetime | None


@dataclass(frozen=True, slots=True)
class ObjectiveView:
    id: int
    cycle: str
    title: str
    owner_id: str
    kind: GoalKind
    visibility: Visibility
    state: str
    outcome: str | None
    parent_id: int | None
    progress: float | None  # None: no key results
    status: Confidence | None
    results: tuple[ResultView, ...] = field(default=())

    @property
    def ownership(self) -> GoalOwnership:
        return GoalOwnership(self.kind, self.visibility, self.owner_id)


def current_cycle(today: date, kind: CycleKind) -> Cycle:
    return cycle_of(today, kind)


def numbers(result: KeyResult, last: KeyResultUpdate | None) -> ResultNumbers:
    return ResultNumbers(
        measure=Measure(result.measure),
        start=result.start,
        target=result.target,
        current=result.current,
        weight=result.weight,
        last_confidence=Confidence(last.confidence) if last else None,
        last_update_at=last.created_at if last else None,
        created_at=result.created_at,
    )


def view_result(
    result: KeyResult,
    last: KeyResultUpdate | None,
    cycle: Cycle,
    now: datetime,
    today: date,
    stale_days: int,
) -> ResultView:
    nums = numbers(result, last)
    return ResultView(
        id=result.id,
        objective_id=result.objective_id,
        title=result.title,
        owner_id=result.owner_id,
        measure=nums.measure,
        unit=result.unit,
        start=result.start,
        target=result.target,
        current=result.current,
        weight=result.weight,
        progress=goal_progress.progress(nums),
        status=goal_progress.status(nums, cycle, today),
        stale=goal_progress.is_stale(nums, now, stale_days),
        last_confidence=nums.last_confidence,
        last_note=last.note if last else "",
        last_update_at=nums.last_update_at,
    )


def load_views(
    session: Session,
    team_id: str,
    objectives: Sequence[Objective],
    *,
    now: datetime,
    today: date,
    stale_days: int,
    with_results: bool = True,
) -> list[ObjectiveView]:
    """Views of these objectives, in their order: two queries whatever their number.

    `with_results=False`: the objectives alone, without their key results (so no progress):
    a list of titles to choose from needs no figures."""
    by_objective = store.key_results_of(session, [o.id for o in objectives]) if with_results else {}
    last = store.last_updates(session, [kr.id for krs in by_objective.values() for kr in krs])
    views = []
    for obj in objectives:
        cycle = parse(obj.cycle)
        results = tuple(
            view_result(kr, last.get(kr.id), cycle, now, today, stale_days)
            for kr in by_objective.get(obj.id, [])
        )
        nums = [numbers(kr, last.get(kr.id)) for kr in by_objective.get(obj.id, [])]
        views.append(
            ObjectiveView(
                id=obj.id,
                cycle=obj.cycle,
                title=obj.title,
                owner_id=obj.owner_id,
                kind=GoalKind(obj.kind),
                visibility=Visibility(obj.visibility),
                state=obj.state,
                outcome=obj.outcome,
                parent_id=obj.parent_id,
                progress=goal_progress.objective_progress(nums),
                status=goal_progress.objective_status(nums, cycle, today),
                results=results,
            )
        )
    return views


def readable(
    session: Session, team_id: str, asker: Asker, views: Iterable[ObjectiveView]
) -> list[ObjectiveView]:
    """The views the asker may read (private ones: owner and manager chain only)."""
    views = list(views)
    private_owners = {v.owner_id for v in views if v.visibility == Visibility.PRIVATE}
    chains = store.manager_chains(session, team_id, private_owners)
    return [
        v
        for v in views
        if can_read(
            asker,
            GoalOwnership(v.kind, v.visibility, v.owner_id, chains.get(v.owner_id, ())),
        )
    ]


def chain_up(views_by_id: dict[int, ObjectiveView], view: ObjectiveView) -> list[ObjectiveView]:
    """The objectives this one serves, nearest first, up to the company objective (a loop in
    stored data stops where it would repeat)."""
    chain: list[ObjectiveView] = []
    seen = {view.id}
    parent = views_by_id.get(view.parent_id) if view.parent_id is not None else None
    while parent is not None and parent.id not in seen:
        chain.append(parent)
        seen.add(parent.id)
        parent = views_by_id.get(parent.parent_id) if parent.parent_id is not None else None
    return chain
