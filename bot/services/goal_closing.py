"""A cycle's end: whom to ask to close their objectives, closing one, carrying one over.

On a cycle's last day (from 09:00 in each owner's own zone) every owner of an objective still
active is asked once, in one message, to close each of them (an outcome and a final score) or
carry it over into the next cycle. A minute job that was down that day catches up for a week
after it; later, nobody is asked about a cycle long gone.

Carrying over copies the objective and its key results into the next cycle, each key result
starting where the old one stands (its current value); the copy points back to it
(`carried_from_id`) and the old one is closed as `missed`, since it was not achieved within
its cycle: the cycle's record stays truthful, and its history stays readable there. Doing it
twice makes one copy.

Who may close or carry over: the owner and their manager chain; a company objective, the
admins (goal_access.can_edit).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

from bot.services.directory import people
from bot.services.goal_access import (
    NOT_FOUND,
    Asker,
    GoalKind,
    GoalOwnership,
    GoalRefused,
    GoalState,
    Outcome,
    Visibility,
    can_edit,
    can_read,
)
from bot.services.goal_cycles import Cycle, CycleKind, cycle_of, following, parse
from bot.services.goal_progress import bar
from bot.services.goals import load_views
from storage import goal_plans as store
from storage import goals as goals_store
from storage.models import Objective

ASK_FROM = time(9, 0)  # local time on the last day
CATCH_UP_DAYS = 7
KINDS: tuple[CycleKind, ...] = ("quarter", "half", "year")


@dataclass(frozen=True, slots=True)
class ClosingItem:
    """One objective as the closing message shows it."""

    id: int
    title: str
    kind: GoalKind
    state: GoalState
    progress: str  # the bar, in text
    status: str | None  # "at risk", ... (active ones)
    outcome: str | None
    score: float | None
    carried_to: str | None


@dataclass(frozen=True, slots=True)
class ClosingDue:
    team_id: str
    owner_id: str
    cycle: Cycle
    next_cycle: Cycle
    items: tuple[ClosingItem, ...]


def cycles_ending_near(now: datetime) -> list[Cycle]:
    """Every cycle (of any kind) whose last day is within the catch-up window of `now`, a day
    either side for the zones: most days of the year there is none, and nothing is read."""
    today = now.date()
    found: dict[str, Cycle] = {}
    for offset in range(-1, CATCH_UP_DAYS + 2):
        day = today - timedelta(days=offset)
        for kind in KINDS:
            cycle = cycle_of(day, kind)
            if cycle.ends_on == day:
                found[cycle.name] = cycle
    return sorted(found.values(), key=lambda c: c.name)


def is_due(cycle: Cycle, local: datetime) -> bool:
    """From 09:00 local on the last day, and for a week after it."""
    day = local.date()
    if day == cycle.ends_on:
        return local.time() >= ASK_FROM
    return cycle.ends_on < day <= cycle.ends_on + timedelta(days=CATCH_UP_DAYS)


def due_owners(
    session: Session, now: datetime, team_id: str | None = None
) -> list[tuple[str, Cycle, list[str]]]:
    """(team, cycle, owners) whose closing message is due now: active objectives in a cycle
    ending near now, owners at or past the hour in their own zone, deactivated ones left out.
    Whether the message went out already is the outbox's to say (bot.notify.goal_closing)."""
    cycles = {c.name: c for c in cycles_ending_near(now)}
    due: list[tuple[str, Cycle, list[str]]] = []
    for team, name in store.cycles_with_active(session, cycles):
        if team_id is not None and team != team_id:
            continue
        cycle = cycles[name]
        owners = store.active_owners(session, team, name)
        known = people(session, team, owners)
        ready = [
            owner
            for owner in owners
            if not (known.get(owner) and known[owner].deleted)
            and is_due(cycle, now.astimezone(known[owner].zone) if owner in known else now)
        ]
        if ready:
            due.append((team, cycle, ready))
    return due


def closings(
    session: Session, team_id: str, cycle: Cycle, owner_ids: Collection[str], now: datetime
) -> list[ClosingDue]:
    """The closing message of each of these owners: their active objectives of the cycle."""
    objectives = store.active_of_owners(session, team_id, cycle.name, owner_ids)
    items = _items(session, team_id, objectives, now)
    grouped: dict[str, list[ClosingItem]] = {}
    for objective, item in zip(objectives, items, strict=True):
        grouped.setdefault(objective.owner_id, []).append(item)
    return [
        ClosingDue(team_id, owner, cycle, following(cycle), tuple(found))
        for owner, found in grouped.items()
    ]


def items_of(
    session: Session, team_id: str, acted: Target, listed: Sequence[int], now: datetime
) -> list[ClosingItem]:
    """The objectives a closing message lists, as they stand now (after a close or a carry
    over of `acted`): only that owner's of that cycle, whatever the message claimed."""
    rows = goals_store.objectives_by_id(session, team_id, [*listed, acted.id])
    ordered = [
        rows[i]
        for i in dict.fromkeys([*listed, acted.id])
        if i in rows and rows[i].owner_id == acted.owner_id and rows[i].cycle == acted.cycle
    ]
    return _items(session, team_id, ordered, now)


def _items(
    session: Session, team_id: str, objectives: Sequence[Objective], now: datetime
) -> list[ClosingItem]:
    views = load_views(session, team_id, objectives, now=now, today=now.date(), stale_days=10**4)
    carried = store.carried_into(session, team_id, [o.id for o in objectives])
    return [
        ClosingItem(
            id=o.id,
            title=o.title,
            kind=GoalKind(o.kind),
            state=GoalState(o.state),
            progress=bar(v.progress),
            status=v.status.label if v.status is not None else None,
            outcome=o.outcome,
            score=o.score,
            carried_to=carried.get(o.id),
        )
        for o, v in zip(objectives, views, strict=True)
    ]


# ----- closing and carrying over --------------------------------------------------------------

NOT_YOURS = "Only the objective's owner or their managers close it; a company objective, an admin."


@dataclass(frozen=True, slots=True)
class Target:
    """An objective someone may close or carry over."""

    id: int
    title: str
    owner_id: str
    cycle: str
    state: GoalState
    outcome: str | None
    score: float | None
    next_cycle: str


def target(session: Session, team_id: str, asker: Asker, objective_id: int | None) -> Target:
    """The objective, if the asker may close it; GoalRefused otherwise (a goal they may not
    read reads as missing)."""
    found = goals_store.objective(session, team_id, objective_id) if objective_id else None
    if found is None:
        raise GoalRefused(NOT_FOUND)
    chain = goals_store.manager_chains(session, team_id, [found.owner_id])[found.owner_id]
    ownership = GoalOwnership(
        GoalKind(found.kind), Visibility(found.visibility), found.owner_id, chain
    )
    if not can_read(asker, ownership):
        raise GoalRefused(NOT_FOUND)
    if not can_edit(asker, ownership):
        raise GoalRefused(NOT_YOURS)
    return Target(
        found.id,
        found.title,
        found.owner_id,
        found.cycle,
        GoalState(found.state),
        found.outcome,
        found.score,
        following(parse(found.cycle)).name,
    )


@dataclass(frozen=True, slots=True)
class Closed:
    objective: Target  # as it was before this close
    outcome: str
    score: float
    replayed: bool


def parse_score(raw: str) -> float | None:
    """`0.7`, `0,7` or `70%` -> 0.7; None for anything else or outside 0..1."""
    text = raw.strip().replace(",", ".")
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        return None
    return value if 0.0 <= value <= 1.0 else None


def close(
    session: Session,
    team_id: str,
    asker: Asker,
    objective_id: int | None,
    outcome: str | None,
    score_text: str,
    now: datetime,
) -> Closed:
    """Close an objective with its outcome and final score; every problem at once, keyed by
    field (`outcome`, `score`). The same close again (Slack resending the form) is a replay."""
    found = target(session, team_id, asker, objective_id)
    problems: dict[str, str] = {}
    try:
        chosen = Outcome(outcome or "")
    except ValueError:
        problems["outcome"] = "Choose how it ended: achieved, missed or dropped."
    score = parse_score(score_text)
    if score is None:
        problems["score"] = (
            f'"{score_text}" is not a score: give a number from 0.0 to 1.0, e.g. 0.7.'
            if score_text.strip()
            else "Give a final score from 0.0 to 1.0, e.g. 0.7."
        )
    if problems:
        raise GoalRefused(errors=problems)
    score = round(score or 0.0, 2)
    if found.state == GoalState.CLOSED:
        if found.outcome == chosen.value and found.score == score:
            return Closed(found, chosen.value, score, replayed=True)
        raise GoalRefused(f"This objective is closed already ({_closed_as(found)}).", "outcome")
    store.close_objective(session, found.id, outcome=chosen.value, score=score, now=now)
    return Closed(found, chosen.value, score, replayed=False)


@dataclass(frozen=True, slots=True)
class Carried:
    objective: Target  # the old one, as it was before
    copy_id: int
    replayed: bool


def carry_over(
    session: Session, team_id: str, asker: Asker, objective_id: int | None, now: datetime
) -> Carried:
    """Copy the objective and its key results into the next cycle and close the old one;
    the copy made before when it was carried over already."""
    found = target(session, team_id, asker, objective_id)
    earlier = store.copy_of(session, team_id, found.id)
    if earlier is not None:
        return Carried(found, earlier.id, replayed=True)
    if found.state == GoalState.CLOSED:
        raise GoalRefused(
            f"This objective is closed already ({_closed_as(found)}): there is nothing to "
            "carry over."
        )
    old = goals_store.objective(session, team_id, found.id)
    assert old is not None
    parent_copy = store.copy_of(session, team_id, old.parent_id) if old.parent_id else None
    values = {
        "team_id": team_id,
        "cycle": found.next_cycle,
        "title": old.title,
        "owner_id": old.owner_id,
        "kind": old.kind,
        "parent_id": (
            parent_copy.id
            if parent_copy is not None and parent_copy.cycle == found.next_cycle
            else None
        ),
        "visibility": old.visibility,
        "state": GoalState.ACTIVE.value,
        "carried_from_id": old.id,
        "created_by": f"slack:{asker.user_id}",
        "created_at": now,
        "updated_at": now,
    }
    copy_id = store.insert_objective(session, values)
    if copy_id is None:
        # The owner already has an objective of that title next cycle: it becomes the copy.
        same = store.find_objective(session, team_id, found.next_cycle, old.owner_id, old.title)
        assert same is not None
        copy_id = same.id
        if same.carried_from_id is None:
            store.update_objective(session, copy_id, {"carried_from_id": old.id, "updated_at": now})
    for result in goals_store.key_results_of(session, [old.id]).get(old.id, []):
        store.insert_key_result(
            session,
            {
                "team_id": team_id,
                "objective_id": copy_id,
                "title": result.title,
                "owner_id": result.owner_id,
                "measure": result.measure,
                "unit": result.unit,
                "start": result.current,
                "target": result.target,
                "current": result.current,
                "weight": result.weight,
                "position": result.position,
                "created_at": now,
                "updated_at": now,
            },
        )
    store.adopt_children(session, team_id, found.next_cycle, old.id, copy_id)
    store.close_objective(session, old.id, outcome=Outcome.MISSED.value, score=None, now=now)
    return Carried(found, copy_id, replayed=False)


def _closed_as(found: Target) -> str:
    said = found.outcome or "closed"
    if found.score is not None:
        said += f", score {found.score:g}"
    return said
