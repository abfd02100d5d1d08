"""`/goals`, its two forms and App Home's goal sections: what each shows and writes, always
named for who asks.

Everything shown is read once per answer as a `Board`: the cycle's objectives the asker may
read, their key results, last updates, kudos and the owners' manager chains, in a constant
number of queries however many goals there are. The forms' rules are pure functions that
return every problem at once, keyed by the field it belongs to, so a modal shows them all in
one answer.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from sqlalchemy.orm import Session

from bot.services.directory import Person
from bot.services.goal_access import (
    NOT_FOUND,
    Asker,
    GoalKind,
    GoalOwnership,
    GoalRefused,
    GoalState,
    Visibility,
    can_create,
    can_read,
    can_update_result,
    require_update,
)
from bot.services.goal_cycles import Cycle, CycleKind, cycle_of, expected
from bot.services.goal_progress import Confidence, Measure, worst
from bot.services.goals import ObjectiveView, ResultView, chain_up, load_views, readable
from storage import goal_writes, org
from storage import goals as store
from storage.models import Objective

MAX_RESULTS = 5  # key results a goal takes in the form
TITLE_MAX = 200  # an objective's or key result's title (the columns' size)
UNIT_MAX = 16
NOTE_MAX = 500  # an update's note: a line or two, like a check-in's
KIND_ORDER = (GoalKind.COMPANY, GoalKind.TEAM, GoalKind.PERSONAL, GoalKind.DEVELOPMENT)

DUPLICATE_TITLE = (
    "You already have a goal with that title this cycle: `/goals` shows it. Choose another title."
)
CLOSED = "That goal is closed: its key results no longer change."
MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_NUMBER_NOISE = re.compile(r"[\s,_$€£¥]")


# ----- the command ------------------------------------------------------------------------------


Verb = Literal["mine", "new", "user", "team", "company", "help", "unknown"]


@dataclass(frozen=True, slots=True)
class GoalsCommand:
    verb: Verb
    user_id: str | None = None


def parse_command(text: str) -> GoalsCommand:
    """`/goals`, `/goals new`, `/goals @name` (as Slack escapes it), `/goals team`,
    `/goals company`, `/goals help`; anything else is unknown and answered kindly."""
    words = text.strip().split()
    if not words:
        return GoalsCommand("mine")
    if len(words) == 1:
        word = words[0].lower()
        if word in {"help", "?"}:
            return GoalsCommand("help")
        if word in {"new", "team", "company"}:
            return GoalsCommand(word)  # type: ignore[arg-type]
        mention = MENTION.match(words[0])
        if mention:
            return GoalsCommand("user", user_id=mention.group(1))
    return GoalsCommand("unknown")


# ----- who asks, when -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GoalScope:
    """Who asks, the instant, their local day and the cycle it falls in."""

    team_id: str
    asker: Asker
    now: datetime
    today: date
    cycle: Cycle
    stale_days: int

    @property
    def expected(self) -> float:
        """The share of the cycle elapsed on the asker's day: where progress should be."""
        return expected(self.cycle, self.today)


def scope(
    team_id: str,
    user_id: str,
    *,
    admins: Iterable[str],
    now: datetime,
    today: date,
    cycle_kind: CycleKind,
    stale_days: int,
) -> GoalScope:
    asker = Asker(user_id, is_admin=user_id in set(admins))
    return GoalScope(team_id, asker, now, today, cycle_of(today, cycle_kind), stale_days)


# ----- what is shown ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GoalLine:
    """An objective as a list shows it: with the readable objectives it serves (nearest first),
    the kudos that named it and the key results the asker may update."""

    view: ObjectiveView
    chain: tuple[ObjectiveView, ...] = ()
    kudos: int = 0
    updatable: frozenset[int] = frozenset()


@dataclass
class Board:
    """A cycle's goals as the asker may read them, read once per answer."""

    scope: GoalScope
    views: list[ObjectiveView]
    kudos: dict[int, int]
    chains: dict[str, list[str]]
    by_id: dict[int, ObjectiveView] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {view.id: view for view in self.views}

    def line(self, view: ObjectiveView) -> GoalLine:
        updatable = frozenset(r.id for r in view.results if self.may_update(view, r))
        return GoalLine(
            view, tuple(chain_up(self.by_id, view)), self.kudos.get(view.id, 0), updatable
        )

    def may_update(self, view: ObjectiveView, result: ResultView) -> bool:
        if view.state == GoalState.CLOSED:
            return False
        ownership = GoalOwnership(
            view.kind,
            view.visibility,
            view.owner_id,
            self.chains.get(view.owner_id, ()),
            result.owner_id,
        )
        return can_update_result(self.scope.asker, ownership)

    def goals_of(self, user_id: str) -> list[GoalLine]:
        """A person's objectives, then the others' objectives where they own a key result."""
        own = [v for v in self.views if v.owner_id == user_id]
        theirs = [
            v
            for v in self.views
            if v.owner_id != user_id and any(r.owner_id == user_id for r in v.results)
        ]
        return [self.line(v) for v in _by_kind(own) + theirs]


def board(session: Session, goal_scope: GoalScope) -> Board:
    """The whole cycle, as `/goals company` shows it. Six queries whatever the number of goals:
    objectives, key results, last updates, the org chart (twice: who may read, who may
    update) and kudos."""
    rows = store.objectives(session, goal_scope.team_id, goal_scope.cycle.name)
    return _board(session, goal_scope, _views(session, goal_scope, rows))


def people_board(
    session: Session, goal_scope: GoalScope, user_id: str, *, team: bool = False
) -> Board:
    """What a person's list needs (`team`: their direct reports' too, for a manager's): the
    objectives they own or hold a key result of and those they serve up the alignment (a
    query a level), without reading a company's thousands of goals to show a person's few."""
    people = [user_id]
    if team:
        people += org.reports_of(session, goal_scope.team_id, user_id)
    rows = store.objectives_of_people(session, goal_scope.team_id, goal_scope.cycle.name, people)
    return _board(session, goal_scope, _views(session, goal_scope, rows))


def parent_board(session: Session, goal_scope: GoalScope) -> Board:
    """The cycle's open objectives the author may read, as titles without figures: what a new
    goal may align with, read without every key result of the company."""
    rows = store.objectives(
        session, goal_scope.team_id, goal_scope.cycle.name, include_closed=False
    )
    views = _views(session, goal_scope, rows, with_results=False)
    # Titles to choose from: no kudos counts, no chains of who may update.
    return Board(goal_scope, readable(session, goal_scope.team_id, goal_scope.asker, views), {}, {})


def _views(
    session: Session,
    goal_scope: GoalScope,
    rows: Sequence[Objective],
    *,
    with_results: bool = True,
) -> list[ObjectiveView]:
    return load_views(
        session,
        goal_scope.team_id,
        rows,
        now=goal_scope.now,
        today=goal_scope.today,
        stale_days=goal_scope.stale_days,
        with_results=with_results,
    )


def _board(session: Session, goal_scope: GoalScope, views: list[ObjectiveView]) -> Board:
    team_id = goal_scope.team_id
    seen = readable(session, team_id, goal_scope.asker, views)
    chains = store.manager_chains(session, team_id, {v.owner_id for v in seen})
    kudos = goal_writes.kudos_counts(session, [v.id for v in seen])
    return Board(goal_scope, seen, kudos, chains)


@dataclass(frozen=True, slots=True)
class TeamGoals:
    """A manager's team objectives, and each direct report's goals (reports without any too:
    a manager sees who has none)."""

    team: list[GoalLine]
    people: list[tuple[str, list[GoalLine]]]


def team_goals(session: Session, goals: Board) -> TeamGoals | None:
    """None for someone nobody reports to."""
    manager = goals.scope.asker.user_id
    reports = org.reports_of(session, goals.scope.team_id, manager)
    if not reports:
        return None
    team = [goals.line(v) for v in goals.views if v.owner_id == manager and v.kind == GoalKind.TEAM]
    return TeamGoals(team, [(report, goals.goals_of(report)) for report in reports])


@dataclass(frozen=True, slots=True)
class CompanyBranch:
    """A company objective with what aligns to it, rolled up.

    `progress` and `status` are its own key results'; one without key results takes its
    aligned goals' mean progress and weakest status (`rolled`)."""

    line: GoalLine
    children: tuple[GoalLine, ...]
    aligned: int  # every readable goal below it, at any depth
    kinds: Mapping[GoalKind, int]
    statuses: Mapping[Confidence, int]
    progress: float | None
    status: Confidence | None
    rolled: bool


@dataclass(frozen=True, slots=True)
class CompanyTree:
    branches: list[CompanyBranch]
    total: int  # readable objectives of the cycle
    unaligned: int  # readable goals that serve no company objective


def company_tree(goals: Board) -> CompanyTree:
    children: dict[int, list[ObjectiveView]] = {}
    for view in goals.views:
        if view.parent_id is not None and view.parent_id in goals.by_id:
            children.setdefault(view.parent_id, []).append(view)
    branches = []
    under_company: set[int] = set()
    for top in (v for v in goals.views if v.kind == GoalKind.COMPANY):
        below = _descendants(top.id, children)
        under_company |= {v.id for v in below} | {top.id}
        direct = children.get(top.id, [])
        rolled = top.progress is None and bool(direct)
        measured = [c.progress for c in direct if c.progress is not None]
        progress = top.progress
        status = top.status
        if rolled:
            progress = sum(measured) / len(measured) if measured else None
            status = worst(c.status for c in direct if c.status is not None)
        branches.append(
            CompanyBranch(
                line=goals.line(top),
                children=tuple(goals.line(c) for c in _by_kind(direct)),
                aligned=len(below),
                kinds=Counter(v.kind for v in below),
                statuses=Counter(v.status for v in below if v.status is not None),
                progress=progress,
                status=status,
                rolled=rolled,
            )
        )
    unaligned = sum(1 for v in goals.views if v.id not in under_company)
    return CompanyTree(branches, len(goals.views), unaligned)


def _descendants(root: int, children: Mapping[int, list[ObjectiveView]]) -> list[ObjectiveView]:
    found: list[ObjectiveView] = []
    seen = {root}
    queue = list(children.get(root, []))
    while queue:
        view = queue.pop(0)
        if view.id in seen:
            continue
        seen.add(view.id)
        found.append(view)
        queue.extend(children.get(view.id, []))
    return found


def _by_kind(views: Sequence[ObjectiveView]) -> list[ObjectiveView]:
    return sorted(views, key=lambda v: KIND_ORDER.index(v.kind))


# ----- the creation form ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParentOption:
    id: int
    title: str
    kind: GoalKind
    owner_id: str


def parent_options(goals: Board, limit: int) -> list[ParentOption]:
    """The open objectives of the cycle the author may read, company ones first: what a new
    goal may align with (a static list holds `limit`)."""
    open_views = [v for v in goals.views if v.state != GoalState.CLOSED]
    return [ParentOption(v.id, v.title, v.kind, v.owner_id) for v in _by_kind(open_views)][:limit]


@dataclass(frozen=True, slots=True)
class ResultDraft:
    """One key result's fields as typed (numbers still text)."""

    title: str = ""
    measure: str | None = None
    start: str = ""
    target: str = ""
    unit: str = ""
    owner_id: str | None = None

    @property
    def blank(self) -> bool:
        return not (self.title.strip() or self.start.strip() or self.target.strip())


@dataclass(frozen=True, slots=True)
class GoalDraft:
    title: str
    kind: str | None
    visibility: str | None
    parent: str | None  # the chosen objective's id, as the form sent it
    results: tuple[ResultDraft, ...] = ()


@dataclass(frozen=True, slots=True)
class ParentFacts:
    """What the rules need of the chosen parent (None: no such objective)."""

    cycle: str
    readable: bool
    closed: bool


@dataclass(frozen=True, slots=True)
class ValidGoal:
    title: str
    kind: GoalKind
    visibility: Visibility
    parent_id: int | None
    results: tuple[goal_writes.NewResult, ...]


def result_field(index: int, name: str) -> str:
    """The field a key result's problem belongs to: `result1.title` ... `result5.owner`."""
    return f"result{index}.{name}"


def parse_number(raw: str) -> float | None:
    """`1,200`, `12.5`, `$4 000`, `40%` -> a number; anything else None."""
    text = _NUMBER_NOISE.sub("", raw.strip()).removesuffix("%")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def validate_goal(
    draft: GoalDraft,
    *,
    asker: Asker,
    cycle: str,
    parent: ParentFacts | None,
    people: Mapping[str, Person],
    team_id: str,
) -> ValidGoal:
    """The goal to store, or GoalRefused with every problem at once, keyed by its field."""
    errors: dict[str, str] = {}
    title = draft.title.strip()
    if not title:
        errors["title"] = "Give the goal a title."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Keep the title within {TITLE_MAX} characters (it has {len(title)})."
    kind = _kind(draft.kind, asker, errors)
    visibility = Visibility.PUBLIC
    if draft.visibility:
        try:
            visibility = Visibility(draft.visibility)
        except ValueError:
            errors["visibility"] = "Choose who may read it from the list."
    parent_id = _parent(draft.parent, parent, cycle, errors)
    results = _results(draft.results, asker.user_id, people, team_id, errors)
    if errors:
        raise GoalRefused(errors=errors)
    assert kind is not None
    return ValidGoal(title, kind, visibility, parent_id, results)


def _kind(raw: str | None, asker: Asker, errors: dict[str, str]) -> GoalKind | None:
    try:
        kind = GoalKind(raw or "")
    except ValueError:
        errors["kind"] = "Choose what kind of goal it is."
        return None
    if not can_create(asker, kind):
        errors["kind"] = (
            "Only admins create company goals. Choose team, personal or development, or ask an "
            "admin to add it."
        )
    return kind


def _parent(
    raw: str | None, facts: ParentFacts | None, cycle: str, errors: dict[str, str]
) -> int | None:
    if not raw:
        return None
    if facts is None or not facts.readable or not raw.isdigit():
        errors["parent"] = NOT_FOUND
        return None
    if facts.cycle != cycle:
        errors["parent"] = (
            f"A goal aligns with a goal of its own cycle: that one is in {facts.cycle}, this "
            f"one in {cycle}."
        )
    elif facts.closed:
        errors["parent"] = "That goal is closed: choose an open one."
    return int(raw)


def _results(
    drafts: Sequence[ResultDraft],
    author_id: str,
    people: Mapping[str, Person],
    team_id: str,
    errors: dict[str, str],
) -> tuple[goal_writes.NewResult, ...]:
    results: list[goal_writes.NewResult] = []
    titles: set[str] = set()
    for index, draft in enumerate(drafts, 1):
        if draft.blank:
            continue
        if index > MAX_RESULTS:
            errors[result_field(index, "title")] = (
                f"A goal takes at most {MAX_RESULTS} key results: split it into two goals."
            )
            continue
        problems: dict[str, str] = {}
        title = draft.title.strip()
        if not title:
            problems["title"] = "Name this key result (or empty its numbers)."
        elif len(title) > TITLE_MAX:
            problems["title"] = f"Keep it within {TITLE_MAX} characters (it has {len(title)})."
        elif title.lower() in titles:
            problems["title"] = "Another key result of this goal has that title."
        titles.add(title.lower())
        try:
            measure = Measure(draft.measure or Measure.NUMBER)
        except ValueError:
            problems["measure"] = "Choose how it is measured from the list."
            measure = Measure.NUMBER
        start, target = 0.0, 1.0
        if measure != Measure.MILESTONE:
            start, target = _numbers(draft, problems)
        unit = draft.unit.strip() or ("%" if measure == Measure.PERCENT else "")
        if len(unit) > UNIT_MAX:
            problems["unit"] = f"Keep the unit within {UNIT_MAX} characters, like USD or users."
        owner = draft.owner_id or author_id
        owner_problem = _owner_problem(owner, people, team_id)
        if owner_problem:
            problems["owner"] = owner_problem
        if problems:
            errors.update({result_field(index, name): text for name, text in problems.items()})
            continue
        if measure == Measure.MILESTONE:
            unit = ""
        results.append(goal_writes.NewResult(title, owner, measure, unit, start, target))
    return tuple(results)


def _numbers(draft: ResultDraft, problems: dict[str, str]) -> tuple[float, float]:
    numbers: dict[str, float] = {}
    for name, raw in (("start", draft.start), ("target", draft.target)):
        if not raw.strip():
            problems[name] = f"A number is needed: where it {_where(name)}."
            continue
        value = parse_number(raw)
        if value is None:
            problems[name] = "A number is needed, like 120, 1,200 or 12.5."
        else:
            numbers[name] = value
    start, target = numbers.get("start", 0.0), numbers.get("target", 1.0)
    if "start" in numbers and "target" in numbers and start == target:
        problems["target"] = (
            "The target must differ from the start (a target below it means decrease)."
        )
    return start, target


def _where(name: str) -> str:
    return "starts" if name == "start" else "should end"


def _owner_problem(owner_id: str, people: Mapping[str, Person], team_id: str) -> str | None:
    person = people.get(owner_id)
    if person is None:
        return f"I can't find <@{owner_id}> in this workspace."
    if person.is_bot:
        return f"<@{owner_id}> is a bot: a key result needs a person."
    if person.deleted:
        return f"<@{owner_id}> is deactivated: choose someone here."
    if person.external:
        return f"<@{owner_id}> belongs to another organisation: choose someone of {team_id}."
    return None


def parent_facts(session: Session, goal_scope: GoalScope, raw: str | None) -> ParentFacts | None:
    """The chosen parent as the rules see it (any cycle: a forged one is refused by name)."""
    if not raw or not raw.isdigit():
        return None
    found = store.objective(session, goal_scope.team_id, int(raw))
    if found is None:
        return None
    owner = found.owner_id
    chain = store.manager_chains(session, goal_scope.team_id, [owner]).get(owner, [])
    ownership = GoalOwnership(GoalKind(found.kind), Visibility(found.visibility), owner, chain)
    return ParentFacts(
        found.cycle, can_read(goal_scope.asker, ownership), found.state == GoalState.CLOSED
    )


@dataclass(frozen=True, slots=True)
class Created:
    objective_id: int
    title: str
    results: int
    cycle: str
    replayed: bool = False  # a duplicate is refused instead, so never


def create(
    session: Session,
    goal_scope: GoalScope,
    draft: GoalDraft,
    people: Mapping[str, Person],
) -> Created:
    """Validate and store a goal owned by its author; GoalRefused with every problem, or with
    DUPLICATE_TITLE when the author already has that title this cycle (a resent form too)."""
    valid = validate_goal(
        draft,
        asker=goal_scope.asker,
        cycle=goal_scope.cycle.name,
        parent=parent_facts(session, goal_scope, draft.parent),
        people=people,
        team_id=goal_scope.team_id,
    )
    new_id = goal_writes.create_objective(
        session,
        team_id=goal_scope.team_id,
        cycle=goal_scope.cycle.name,
        title=valid.title,
        owner_id=goal_scope.asker.user_id,
        kind=valid.kind,
        visibility=valid.visibility,
        parent_id=valid.parent_id,
        created_by=f"slack:{goal_scope.asker.user_id}",
        results=valid.results,
        now=goal_scope.now,
    )
    if new_id is None:
        raise GoalRefused(DUPLICATE_TITLE, "title")
    return Created(new_id, valid.title, len(valid.results), goal_scope.cycle.name)


# ----- the Update form ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UpdateTarget:
    objective: ObjectiveView
    result: ResultView


def update_target(session: Session, goal_scope: GoalScope, result_id: int | None) -> UpdateTarget:
    """The key result the asker may update, or GoalRefused: a forged id, someone else's
    private goal and a missing one all read NOT_FOUND."""
    team_id = goal_scope.team_id
    result = store.key_result(session, team_id, result_id) if result_id is not None else None
    found = store.objective(session, team_id, result.objective_id) if result else None
    ownership = None
    if result is not None and found is not None:
        chain = store.manager_chains(session, team_id, [found.owner_id]).get(found.owner_id, [])
        ownership = GoalOwnership(
            GoalKind(found.kind),
            Visibility(found.visibility),
            found.owner_id,
            chain,
            result.owner_id,
        )
    require_update(goal_scope.asker, ownership)
    assert result is not None and found is not None
    if found.state == GoalState.CLOSED:
        raise GoalRefused(CLOSED)
    view = load_views(
        session,
        team_id,
        [found],
        now=goal_scope.now,
        today=goal_scope.today,
        stale_days=goal_scope.stale_days,
    )[0]
    return UpdateTarget(view, next(r for r in view.results if r.id == result.id))


@dataclass(frozen=True, slots=True)
class UpdateDraft:
    value: str  # as typed; a milestone's is read from `done`
    done: bool
    confidence: str | None
    note: str


@dataclass(frozen=True, slots=True)
class ValidUpdate:
    value: float
    confidence: Confidence
    note: str


def validate_update(result: ResultView, draft: UpdateDraft) -> ValidUpdate:
    """The update to store, or GoalRefused with every problem at once."""
    errors: dict[str, str] = {}
    if result.measure == Measure.MILESTONE:
        value: float | None = 1.0 if draft.done else 0.0
    else:
        value = parse_number(draft.value)
        if value is None:
            errors["value"] = (
                "A number is needed, like 120, 1,200 or 12.5."
                if draft.value.strip()
                else "Where is it now? A number is needed."
            )
    try:
        confidence = Confidence(draft.confidence or "")
    except ValueError:
        errors["confidence"] = "Choose how confident you are."
        confidence = Confidence.ON_TRACK
    note = draft.note.strip()
    if len(note) > NOTE_MAX:
        errors["note"] = f"Keep the note within {NOTE_MAX} characters (it has {len(note)})."
    if errors:
        raise GoalRefused(errors=errors)
    assert value is not None
    return ValidUpdate(value, confidence, note)


@dataclass(frozen=True, slots=True)
class Updated:
    before: ResultView
    target: UpdateTarget  # as it is now
    replayed: bool


def record_update(
    session: Session,
    goal_scope: GoalScope,
    result_id: int | None,
    draft: UpdateDraft,
    request_key: str,
) -> Updated:
    """One update row (a resent form writes nothing: the request key is unique)."""
    before = update_target(session, goal_scope, result_id)
    valid = validate_update(before.result, draft)
    row = store.key_result(session, goal_scope.team_id, before.result.id)
    assert row is not None
    added = store.add_update(
        session,
        row,
        value=valid.value,
        confidence=valid.confidence,
        note=valid.note,
        author_id=goal_scope.asker.user_id,
        now=goal_scope.now,
        request_key=request_key,
    )
    session.flush()
    after = update_target(session, goal_scope, before.result.id)
    return Updated(before.result, after, replayed=not added)
