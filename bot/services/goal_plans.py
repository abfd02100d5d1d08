"""A goals file applied, and a cycle's goals as a tree: the two `pulsebot goals` verbs.

Applying matches each goal by (cycle, owner, title) and each key result by its title within
its objective, so a second run of the same file changes nothing. What the file leaves out is
never deleted (a goal's updates are its history): it is left alone, and the report says so.
A key result's `current` is set to its start when it is made and never again here: updates
own it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.services.directory import people
from bot.services.goal_access import GoalKind, GoalState
from bot.services.goal_cycles import Cycle, parse
from bot.services.goal_files import GoalPlan, KnownObjective, PlannedObjective, PlannedResult
from bot.services.goals import ObjectiveView, load_views
from bot.services.privacy import FORMER_COLLEAGUE, FORMER_ID
from storage import goal_plans as store
from storage import goals as goals_store
from storage.models import KeyResult, Objective

CREATED_BY = "cli"


def teams_with_goals(session: Session) -> list[str]:
    """Every workspace that has a goal (the CLI lists each when not told which)."""
    return store.teams_with_goals(session)


def known_objectives(session: Session, team_id: str, cycle: str) -> list[KnownObjective]:
    """A cycle's stored objectives, as a goals file's parents and loops need them."""
    return [
        KnownObjective(o.id, o.title, o.owner_id, o.parent_id)
        for o in goals_store.objectives(session, team_id, cycle)
    ]


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


@dataclass
class ApplyReport:
    cycle: str
    objectives: Counts = field(default_factory=Counts)
    key_results: Counts = field(default_factory=Counts)
    changes: list[str] = field(default_factory=list)  # one line per objective made or changed
    left_alone: list[str] = field(default_factory=list)  # the cycle's objectives not in the file
    results_left_alone: list[str] = field(default_factory=list)


def apply_plan(session: Session, team_id: str, plan: GoalPlan, now: datetime) -> ApplyReport:
    """Create or update what the plan describes, in the caller's unit of work."""
    cycle = plan.cycle.name
    report = ApplyReport(cycle)
    stored = {(o.owner_id, o.title): o for o in goals_store.objectives(session, team_id, cycle)}
    ids: dict[int, int] = {}
    rows: dict[int, Objective | None] = {}
    for planned in plan.objectives:
        row = stored.get((planned.owner_id, planned.title))
        if row is None:
            new_id = store.insert_objective(
                session,
                {
                    "team_id": team_id,
                    "cycle": cycle,
                    "title": planned.title,
                    "owner_id": planned.owner_id,
                    "kind": planned.kind.value,
                    "parent_id": None,
                    "visibility": planned.visibility.value,
                    "state": GoalState.ACTIVE.value,
                    "created_by": CREATED_BY,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            if new_id is not None:
                ids[planned.index], rows[planned.index] = new_id, None
                continue
            # A racing writer made it a moment ago: this run updates that one.
            row = store.find_objective(session, team_id, cycle, planned.owner_id, planned.title)
            assert row is not None
        ids[planned.index], rows[planned.index] = row.id, row
    stored_results = goals_store.key_results_of(session, ids.values())
    for planned in plan.objectives:
        objective_id = ids[planned.index]
        said = _settle_objective(session, planned, ids, rows[planned.index], report, now)
        said += _settle_results(
            session,
            team_id,
            planned,
            objective_id,
            stored_results.get(objective_id, []),
            now,
            report,
        )
        if said:
            label = f'"{planned.title}" (owner {planned.owner_id}, {planned.kind.value})'
            verb = "created" if rows[planned.index] is None else "updated"
            report.changes.append(f"{verb} {label}" + (f": {'; '.join(said)}" if said[0] else ""))
    in_file = {(p.owner_id, p.title) for p in plan.objectives}
    report.left_alone = [
        f'"{o.title}" ({o.owner_id})'
        for key, o in sorted(stored.items(), key=lambda item: item[1].id)
        if key not in in_file
    ]
    return report


def _settle_objective(
    session: Session,
    planned: PlannedObjective,
    ids: dict[int, int],
    row: Objective | None,
    report: ApplyReport,
    now: datetime,
) -> list[str]:
    """The objective's own fields; what to say about it ("" first: it was made)."""
    parent_id = ids[planned.parent_index] if planned.parent_index is not None else planned.parent_id
    objective_id = ids[planned.index]
    if row is None:
        if parent_id is not None:
            store.update_objective(session, objective_id, {"parent_id": parent_id})
        report.objectives.created += 1
        return [""]
    wanted: dict[str, Any] = {
        "kind": planned.kind.value,
        "visibility": planned.visibility.value,
        "parent_id": parent_id,
    }
    differs = {key: value for key, value in wanted.items() if getattr(row, key) != value}
    if not differs:
        report.objectives.unchanged += 1
        return []
    store.update_objective(session, objective_id, {**differs, "updated_at": now})
    report.objectives.updated += 1
    return [", ".join(sorted(key.removesuffix("_id") for key in differs))]


def _settle_results(
    session: Session,
    team_id: str,
    planned: PlannedObjective,
    objective_id: int,
    stored: Sequence[KeyResult],
    now: datetime,
    report: ApplyReport,
) -> list[str]:
    """The objective's key results; what to say about them."""
    by_title = {kr.title: kr for kr in stored}
    said: list[str] = []
    for result in planned.key_results:
        wanted = _result_values(result)
        row = by_title.get(result.title)
        if row is None:
            new_id = store.insert_key_result(
                session,
                {
                    "team_id": team_id,
                    "objective_id": objective_id,
                    "title": result.title,
                    **wanted,
                    "current": result.start,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            if new_id is not None:
                report.key_results.created += 1
                said.append(f'key result "{result.title}" created')
                continue
            row = next(
                kr
                for kr in goals_store.key_results_of(session, [objective_id])[objective_id]
                if kr.title == result.title
            )
        differs = {key: value for key, value in wanted.items() if getattr(row, key) != value}
        if differs:
            store.update_key_result(session, row.id, {**differs, "updated_at": now})
            report.key_results.updated += 1
            said.append(f'key result "{result.title}" updated ({", ".join(sorted(differs))})')
        else:
            report.key_results.unchanged += 1
    named = {r.title for r in planned.key_results}
    report.results_left_alone += [
        f'"{planned.title}" › "{kr.title}"' for kr in stored if kr.title not in named
    ]
    return said


def _result_values(result: PlannedResult) -> dict[str, Any]:
    return {
        "owner_id": result.owner_id,
        "measure": result.measure.value,
        "unit": result.unit,
        "start": result.start,
        "target": result.target,
        "weight": result.weight,
        "position": result.position,
    }


# ----- the tree -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TreeRow:
    depth: int
    view: ObjectiveView
    score: float | None
    carried_to: str | None  # the cycle its copy lives in, when it was carried over
    carried_from: str | None  # the cycle it was carried over from


@dataclass(frozen=True, slots=True)
class GoalTree:
    cycle: Cycle
    rows: list[TreeRow]
    names: dict[str, str]


def tree(
    session: Session,
    team_id: str,
    cycle_name: str,
    *,
    now: datetime,
    today: date,
    stale_days: int,
) -> GoalTree:
    """A cycle's objectives, each under the one it serves: company objectives first, then the
    others without a parent in this cycle; children in the order they were made."""
    cycle = parse(cycle_name)
    objectives = goals_store.objectives(session, team_id, cycle.name)
    views = load_views(session, team_id, objectives, now=now, today=today, stale_days=stale_days)
    by_id = {v.id: v for v in views}
    children: dict[int, list[ObjectiveView]] = {}
    roots: list[ObjectiveView] = []
    for view in views:
        if view.parent_id is not None and view.parent_id in by_id and view.parent_id != view.id:
            children.setdefault(view.parent_id, []).append(view)
        else:
            roots.append(view)
    roots.sort(key=lambda v: (v.kind != GoalKind.COMPANY, v.id))
    rows_by_id = {o.id: o for o in objectives}
    carried_to = store.carried_into(session, team_id, by_id)
    sources = goals_store.objectives_by_id(
        session, team_id, [o.carried_from_id for o in objectives if o.carried_from_id]
    )
    ordered: list[TreeRow] = []
    placed: set[int] = set()

    def place(view: ObjectiveView, depth: int) -> None:
        if view.id in placed:
            return
        placed.add(view.id)
        row = rows_by_id[view.id]
        source = sources.get(row.carried_from_id) if row.carried_from_id else None
        ordered.append(
            TreeRow(
                depth, view, row.score, carried_to.get(view.id), source.cycle if source else None
            )
        )
        for child in children.get(view.id, []):
            place(child, depth + 1)

    for root in roots:
        place(root, 0)
    for view in views:  # a loop in stored data: still shown, at the top
        place(view, 0)
    owners = {v.owner_id for v in views} | {r.owner_id for v in views for r in v.results}
    names = {uid: p.name for uid, p in people(session, team_id, owners - {FORMER_ID}).items()}
    if FORMER_ID in owners:
        names[FORMER_ID] = FORMER_COLLEAGUE
    return GoalTree(cycle, ordered, names)
