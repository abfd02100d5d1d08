"""Goals as code: a YAML file read into a plan, with every problem found at once.

Nothing here touches the database: the objectives already stored in the file's cycle come in
as plain data (`KnownObjective`), and e-mails are resolved by the caller's function. So the
whole file is judged before anything is written, and each problem names the file, the goal
and the field (`goals.yml: goals[2].key_results[0].target: a number is needed`).

A goal is identified by (cycle, owner, title), a key result by its title within its
objective: applying the same file again matches what it made the first time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import yaml

from bot.services.goal_access import GoalKind, Visibility
from bot.services.goal_cycles import BadCycle, Cycle, CycleKind, cycle_of, parse
from bot.services.goal_progress import Measure

ResolveEmail = Callable[[str], str | None]
W = TypeVar("W", GoalKind, Visibility, Measure)

MAX_RESULTS = 5  # key results per objective
MAX_TITLE = 200  # the column's length
MAX_UNIT = 16
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")

_TOP_KEYS = ("cycle", "goals")
_GOAL_KEYS = ("title", "owner", "kind", "parent", "visibility", "key_results")
_RESULT_KEYS = ("title", "owner", "measure", "unit", "start", "target", "weight")


@dataclass(frozen=True, slots=True)
class KnownObjective:
    """An objective already stored in the file's cycle: what a parent may name, and what a loop
    may run through."""

    id: int
    title: str
    owner_id: str
    parent_id: int | None


@dataclass(frozen=True, slots=True)
class PlannedResult:
    title: str
    owner_id: str
    measure: Measure
    unit: str
    start: float
    target: float
    weight: float
    position: int


@dataclass(frozen=True, slots=True)
class PlannedObjective:
    """One goal of the file, checked: its parent is another goal of the file (`parent_index`)
    or an objective already stored in the cycle (`parent_id`), or none."""

    index: int
    title: str
    owner_id: str
    kind: GoalKind
    visibility: Visibility
    parent_index: int | None
    parent_id: int | None
    key_results: tuple[PlannedResult, ...]


@dataclass(frozen=True, slots=True)
class GoalPlan:
    source: str
    cycle: Cycle
    objectives: tuple[PlannedObjective, ...]


class GoalFileError(Exception):
    """The file was refused as a whole; `messages` are full lines, one per problem."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = list(messages)


def load_plan(
    text: str,
    source: str,
    *,
    today: date,
    cycle_kind: CycleKind,
    resolve_email: ResolveEmail,
    known_in: Callable[[str], Sequence[KnownObjective]],
) -> GoalPlan:
    """The whole file as a plan, or GoalFileError listing every problem.

    `known_in(cycle name)` gives the objectives already stored in that cycle; it is asked only
    once the cycle is known. `today` chooses the cycle when the file names none.
    """
    document = read_document(text, source)
    problems: list[str] = []
    cycle: Cycle | None
    raw_cycle = document.get("cycle")
    if raw_cycle is None:
        cycle = cycle_of(today, cycle_kind)
    else:
        try:
            cycle = parse(str(raw_cycle))
        except BadCycle as error:
            problems.append(f"{source}: cycle: {error}")
            cycle = None
    known = known_in(cycle.name) if cycle is not None else None
    reader = _Reader(source, resolve_email, known)
    objectives = reader.goals(document["goals"])
    problems += reader.problems
    if problems or cycle is None:
        raise GoalFileError(problems)
    return GoalPlan(source, cycle, tuple(objectives))


def read_document(text: str, source: str) -> dict[str, Any]:
    """The YAML document with its top-level shape checked (a `goals:` list, nothing unknown)."""
    try:
        document = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise GoalFileError([f"{source}: not valid YAML{where}: {problem}"]) from None
    if not isinstance(document, dict) or not isinstance(document.get("goals"), list):
        raise GoalFileError(
            [f"{source}: expected a top-level `goals:` list of objectives (see the README)"]
        )
    problems = [
        f"{source}: {key}: unknown top-level key (expected {', '.join(_TOP_KEYS)})"
        for key in sorted(str(k) for k in document if k not in _TOP_KEYS)
    ]
    if not document["goals"]:
        problems.append(f"{source}: goals: the list is empty")
    if problems:
        raise GoalFileError(problems)
    return document


class _Reader:
    """Walks the goals, collecting problems instead of stopping at the first."""

    def __init__(
        self, source: str, resolve_email: ResolveEmail, known: Sequence[KnownObjective] | None
    ) -> None:
        self.source = source
        self.resolve_email = resolve_email
        # None: the cycle is wrong, so whether a parent is stored cannot be said.
        self.known = known
        self.problems: list[str] = []
        self._emails: dict[str, str | None] = {}

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{self.source}: {path}: {message}")

    def goals(self, items: list[Any]) -> list[PlannedObjective]:
        drafts: list[_Draft] = []
        for index, item in enumerate(items):
            draft = self._goal(index, item)
            if draft is not None:
                drafts.append(draft)
        seen: dict[tuple[str, str], int] = {}
        for draft in drafts:
            key = (draft.owner_id, draft.title)
            if key in seen:
                self.problem(
                    f"goals[{draft.index}].title",
                    f"goals[{seen[key]}] has the same owner and title; (owner, title) "
                    "identifies a goal in its cycle",
                )
            else:
                seen[key] = draft.index
        parents = self._parents(drafts)
        self._loops(drafts, parents)
        return [
            PlannedObjective(
                index=d.index,
                title=d.title,
                owner_id=d.owner_id,
                kind=d.kind,
                visibility=d.visibility,
                parent_index=parents.get(d.index, (None, None))[0],
                parent_id=parents.get(d.index, (None, None))[1],
                key_results=tuple(d.results),
            )
            for d in drafts
        ]

    # ----- one goal ---------------------------------------------------------------------------

    def _goal(self, index: int, item: Any) -> _Draft | None:
        path = f"goals[{index}]"
        if not isinstance(item, Mapping):
            self.problem(path, "must be a mapping of fields (title, owner, kind, ...)")
            return None
        for key in sorted(str(k) for k in item if k not in _GOAL_KEYS):
            self.problem(f"{path}.{key}", f"unknown field (expected {', '.join(_GOAL_KEYS)})")
        title = self._title(item.get("title"), f"{path}.title")
        owner_id = self._person(item.get("owner"), f"{path}.owner")
        kind = self._word(item.get("kind"), GoalKind, GoalKind.TEAM, f"{path}.kind")
        visibility = self._word(
            item.get("visibility"), Visibility, Visibility.PUBLIC, f"{path}.visibility"
        )
        if kind == GoalKind.COMPANY and visibility == Visibility.PRIVATE:
            self.problem(
                f"{path}.visibility", "a company objective is everyone's to read: make it public"
            )
        parent = item.get("parent")
        parent_title: str | None = None
        if parent is not None:
            parent_title = self._title(parent, f"{path}.parent")
        results = self._results(item.get("key_results"), path, owner_id)
        if title is None or owner_id is None or kind is None or visibility is None:
            return None
        return _Draft(index, title, owner_id, kind, visibility, parent_title, results)

    def _results(self, items: Any, path: str, owner_id: str | None) -> list[PlannedResult]:
        if items is None:
            return []
        if not isinstance(items, list):
            self.problem(f"{path}.key_results", "must be a list of key results")
            return []
        if len(items) > MAX_RESULTS:
            self.problem(
                f"{path}.key_results",
                f"at most {MAX_RESULTS} key results per objective (this one has {len(items)})",
            )
        results: list[PlannedResult] = []
        titles: dict[str, int] = {}
        for position, item in enumerate(items):
            result = self._result(f"{path}.key_results[{position}]", position, item, owner_id)
            if result is None:
                continue
            if result.title in titles:
                self.problem(
                    f"{path}.key_results[{position}].title",
                    f"key_results[{titles[result.title]}] has the same title; a key result is "
                    "known by its title within its objective",
                )
                continue
            titles[result.title] = position
            results.append(result)
        return results

    def _result(
        self, path: str, position: int, item: Any, objective_owner: str | None
    ) -> PlannedResult | None:
        if not isinstance(item, Mapping):
            self.problem(path, "must be a mapping of fields (title, start, target, ...)")
            return None
        for key in sorted(str(k) for k in item if k not in _RESULT_KEYS):
            self.problem(f"{path}.{key}", f"unknown field (expected {', '.join(_RESULT_KEYS)})")
        title = self._title(item.get("title"), f"{path}.title")
        owner = item.get("owner")
        owner_id = objective_owner if owner is None else self._person(owner, f"{path}.owner")
        measure = self._word(item.get("measure"), Measure, Measure.NUMBER, f"{path}.measure")
        unit = item.get("unit")
        unit_text = "" if unit is None else str(unit).strip()
        if len(unit_text) > MAX_UNIT:
            self.problem(f"{path}.unit", f"at most {MAX_UNIT} characters (got {len(unit_text)})")
        weight = self._number(item.get("weight"), f"{path}.weight", default=1.0)
        if weight is not None and weight <= 0:
            self.problem(f"{path}.weight", f"must be above 0 (got {_shown(weight)})")
            weight = None
        if measure == Measure.MILESTONE:
            for key in ("start", "target"):
                if item.get(key) is not None:
                    self.problem(
                        f"{path}.{key}",
                        "a milestone has no start or target: it is done or not done",
                    )
            start, target = 0.0, 1.0
        else:
            start_or_none = self._number(item.get("start"), f"{path}.start", default=0.0)
            target_or_none = self._number(item.get("target"), f"{path}.target")
            if (
                start_or_none is not None
                and target_or_none is not None
                and start_or_none == target_or_none
            ):
                self.problem(
                    f"{path}.target",
                    f"must differ from the start ({_shown(start_or_none)}): a target below "
                    "the start is a decrease, above it an increase",
                )
                return None
            if start_or_none is None or target_or_none is None:
                return None
            start, target = start_or_none, target_or_none
        if title is None or owner_id is None or measure is None or weight is None:
            return None
        return PlannedResult(title, owner_id, measure, unit_text, start, target, weight, position)

    # ----- parents and loops ------------------------------------------------------------------

    def _parents(self, drafts: list[_Draft]) -> dict[int, tuple[int | None, int | None]]:
        """Each goal's parent: (index in the file, None) or (None, stored id)."""
        in_file: dict[str, list[_Draft]] = {}
        for draft in drafts:
            in_file.setdefault(draft.title, []).append(draft)
        mine = {(d.owner_id, d.title) for d in drafts}
        stored: dict[str, list[KnownObjective]] = {}
        for known in self.known or ():
            if (known.owner_id, known.title) not in mine:  # the file's own version wins
                stored.setdefault(known.title, []).append(known)
        found: dict[int, tuple[int | None, int | None]] = {}
        for draft in drafts:
            title = draft.parent_title
            if title is None:
                continue
            path = f"goals[{draft.index}].parent"
            here, there = in_file.get(title, []), stored.get(title, [])
            if len(here) + len(there) > 1:
                owners = sorted({d.owner_id for d in here} | {k.owner_id for k in there})
                self.problem(
                    path,
                    f'several objectives of this cycle are titled "{title}" (owners '
                    f"{', '.join(owners)}); give the parent a title of its own",
                )
            elif here:
                found[draft.index] = (here[0].index, None)
            elif there:
                found[draft.index] = (None, there[0].id)
            elif self.known is not None:
                self.problem(
                    path,
                    f'no objective titled "{title}" in this cycle, in the file or already '
                    "stored; a parent must be in the same cycle",
                )
        return found

    def _loops(
        self, drafts: list[_Draft], parents: dict[int, tuple[int | None, int | None]]
    ) -> None:
        """A goal may not serve itself, through the file or through what is stored."""
        by_key = {(d.owner_id, d.title): d.index for d in drafts}
        stored_parent: dict[int, int | None] = {}
        stored_as_file: dict[int, int] = {}
        for known in self.known or ():
            stored_parent[known.id] = known.parent_id
            if (known.owner_id, known.title) in by_key:
                stored_as_file[known.id] = by_key[(known.owner_id, known.title)]
        titles = {d.index: d.title for d in drafts}
        reported: set[int] = set()
        for draft in drafts:
            node: tuple[str, int] = ("file", draft.index)
            trail = [draft.title]
            seen = {node}
            while True:
                step = _next(node, parents, stored_parent, stored_as_file)
                if step is None:
                    break
                if step == ("file", draft.index):
                    if draft.index not in reported:
                        trail.append(draft.title)
                        self.problem(
                            f"goals[{draft.index}].parent",
                            "this would make a loop: " + " → ".join(f'"{t}"' for t in trail),
                        )
                        reported.add(draft.index)
                    break
                if step in seen:
                    break  # a loop that does not pass through this goal: reported on its own
                seen.add(step)
                if step[0] == "file":
                    trail.append(titles[step[1]])
                else:
                    trail.append(next((k.title for k in self.known or () if k.id == step[1]), ""))
                node = step

    # ----- fields -----------------------------------------------------------------------------

    def _title(self, value: Any, path: str) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            self.problem(path, "a title is needed")
            return None
        if isinstance(value, Mapping | list):
            self.problem(path, "must be a title (text)")
            return None
        text = " ".join(str(value).split())
        if len(text) > MAX_TITLE:
            self.problem(path, f"at most {MAX_TITLE} characters (got {len(text)})")
            return None
        return text

    def _person(self, value: Any, path: str) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            self.problem(path, "an owner is needed: a Slack user id (U…) or an email")
            return None
        ref = str(value).strip()
        mention = MENTION.match(ref)
        if mention:
            return mention.group(1)
        if USER_ID.match(ref):
            return ref
        if "@" in ref:
            email = ref.lower()
            if email not in self._emails:
                self._emails[email] = self.resolve_email(email)
            user_id = self._emails[email]
            if user_id is None:
                self.problem(path, f"no Slack user has the email {ref}")
            return user_id
        self.problem(path, f'"{ref}" is neither a Slack user id (U…) nor an email')
        return None

    def _word(self, value: Any, words: type[W], default: W, path: str) -> W | None:
        if value is None:
            return default
        try:
            return words(str(value).strip().lower())
        except ValueError:
            allowed = " | ".join(w.value for w in words)
            self.problem(path, f'"{value}" is not one of {allowed}')
            return None

    def _number(self, value: Any, path: str, default: float | None = None) -> float | None:
        if value is None:
            if default is None:
                self.problem(path, "a number is needed")
            return default
        if isinstance(value, bool):
            self.problem(path, f"a number is needed (got {value!r})")
            return None
        if isinstance(value, int | float):
            number = float(value)
        else:
            try:
                number = float(str(value).replace("_", "").strip())
            except ValueError:
                self.problem(path, f'a number is needed (got "{value}")')
                return None
        if not math.isfinite(number):
            self.problem(path, f"a number is needed (got {value!r})")
            return None
        return number


@dataclass(slots=True)
class _Draft:
    index: int
    title: str
    owner_id: str
    kind: GoalKind
    visibility: Visibility
    parent_title: str | None
    results: list[PlannedResult]


def _next(
    node: tuple[str, int],
    parents: dict[int, tuple[int | None, int | None]],
    stored_parent: dict[int, int | None],
    stored_as_file: dict[int, int],
) -> tuple[str, int] | None:
    """The parent of a goal of the file (as the file says) or of a stored objective (as
    stored; one the file also names is the file's goal)."""
    if node[0] == "file":
        index, stored_id = parents.get(node[1], (None, None))
        if index is not None:
            return ("file", index)
        if stored_id is None:
            return None
        if stored_id in stored_as_file:
            return ("file", stored_as_file[stored_id])
        return ("stored", stored_id)
    parent = stored_parent.get(node[1])
    if parent is None:
        return None
    if parent in stored_as_file:
        return ("file", stored_as_file[parent])
    return ("stored", parent)


def _shown(number: float) -> str:
    return f"{number:g}"


class _Loader(yaml.SafeLoader):
    """`no`, `on` and `yes` stay words (YAML 1.1 would read them as booleans); numbers stay
    numbers."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
