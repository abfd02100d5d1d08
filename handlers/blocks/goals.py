"""Block Kit for goals: `/goals` answers, the "see all" lists, App Home's goal sections, the
creation form and the Update form. Pure: data in, Block Kit out.

Every list fits Slack's limits whatever its length: goals are shown in full (text, key results,
Update buttons) while the block budget lasts, then as one line each packed into sections of at
most 3,000 characters, and a list that still does not fit ends in "See all" (a modal of 100
blocks) or, in that modal, with how many more there are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.services.goal_access import GoalKind, GoalState, Visibility
from bot.services.goal_commands import (
    MAX_RESULTS,
    NOTE_MAX,
    TITLE_MAX,
    UNIT_MAX,
    CompanyBranch,
    CompanyTree,
    GoalLine,
    ParentOption,
    TeamGoals,
)
from bot.services.goal_cycles import Cycle
from bot.services.goal_progress import Confidence, Measure, bar
from bot.services.goals import ObjectiveView, ResultView
from bot.services.slack_limits import (
    BUTTON_TEXT_MAX,
    MESSAGE_BLOCKS_MAX,
    TEXT_MAX,
    VIEW_BLOCKS_MAX,
)
from bot.services.text import escape
from handlers import ids
from handlers.blocks.common import (
    MODAL_TITLE_MAX,
    Block,
    clip,
    context,
    header,
    notice_modal,
    option,
    person,
    plain,
    section,
    write_metadata,
)

# App Home shares its 100 blocks with the other features' sections (at most 52 of them):
# goals take at most this many, "Your goals" first.
HOME_BLOCKS = 26
HOME_TEAM_BLOCKS = 4
BUTTONS_MAX = 25  # elements of one actions block
CHILD_TITLE = 90
ICON = {
    Confidence.ON_TRACK: ":large_green_circle:",
    Confidence.AT_RISK: ":large_yellow_circle:",
    Confidence.OFF_TRACK: ":red_circle:",
}
KIND_LABEL = {
    GoalKind.COMPANY: "company objective",
    GoalKind.TEAM: "team goal",
    GoalKind.PERSONAL: "personal goal",
    GoalKind.DEVELOPMENT: "development goal",
}
MEASURE_LABEL = {
    Measure.NUMBER: "A number",
    Measure.PERCENT: "A percentage",
    Measure.CURRENCY: "An amount of money",
    Measure.MILESTONE: "Done or not (a milestone)",
}
CONFIDENCE_LABEL = {
    Confidence.ON_TRACK: ":large_green_circle: On track",
    Confidence.AT_RISK: ":large_yellow_circle: At risk",
    Confidence.OFF_TRACK: ":red_circle: Off track",
}
RESULT_FIELDS = ("title", "measure", "start", "target", "unit", "owner")

HELP = (
    "*Goals*\n"
    "• `/goals` shows your goals: progress, status, what they serve, and an Update button on "
    "each key result\n"
    "• `/goals new` creates a goal with up to 5 key results\n"
    "• `/goals @name` shows someone's goals (the ones shared with you)\n"
    "• `/goals team` (managers) shows your team's goals\n"
    "• `/goals company` shows the company objectives with the goals aligned to them\n"
    "Progress is measured against the share of the cycle gone by; App Home shows your goals too."
)


def unknown(text: str) -> str:
    """`/goals bananas` (as Slack escaped it): answered as `/checkin` answers one."""
    return f"I don't know `/goals {text}`. Try `/goals help`."


NOT_A_MANAGER = (
    "Nobody reports to you in pulsebot's org chart, so there is no team to show. "
    "`/goals company` shows the company's objectives, `/goals @name` someone's goals."
)


# ----- words --------------------------------------------------------------------------------


def number_text(value: float) -> str:
    """`100,000`, `12.5`, `-3`: what a person would write."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def amount(value: float, unit: str) -> str:
    if unit == "%":
        return f"{number_text(value)}%"
    return f"{number_text(value)} {escape(unit)}".rstrip()


def status_words(status: Confidence | None) -> str:
    return "no key results yet" if status is None else f"{ICON[status]} {status.label}"


def percent(share: float) -> str:
    return f"{round(share * 100)}%"


def cycle_words(cycle: Cycle, expected: float) -> str:
    return (
        f"{cycle.name}: {_day(cycle.starts_on)} – {_day(cycle.ends_on)}, "
        f"{percent(expected)} of it gone"
    )


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def result_line(result: ResultView) -> str:
    """`• Self-serve MRR (<@U…>): 100,000 → *112,000* (target 130,000 USD) · 40% · at risk`."""
    if result.measure == Measure.MILESTONE:
        where = "done ✓" if result.progress >= 1 else "not done yet"
    else:
        where = (
            f"{number_text(result.start)} → *{number_text(result.current)}* "
            f"(target {amount(result.target, result.unit)}) · {percent(result.progress)}"
        )
    text = (
        f"• {escape(clip(result.title, 120))} ({person(result.owner_id)}): {where} · "
        f"{status_words(result.status)}"
    )
    if result.stale:
        text += " · :hourglass_flowing_sand: stale"
    if result.last_note:
        text += f' · _"{escape(clip(result.last_note, 100))}"_'
    return text


def objective_head(view: ObjectiveView, *, owner: bool = True) -> str:
    lock = ":lock: " if view.visibility == Visibility.PRIVATE else ""
    who = f" · {person(view.owner_id)}" if owner else ""
    return f"{lock}*{escape(clip(view.title, 150))}* · {KIND_LABEL[view.kind]}{who}"


def progress_words(
    progress: float | None, status: Confidence | None, expected: float, state: str = ""
) -> str:
    if state == GoalState.CLOSED:
        return f"{bar(progress)} · closed"
    if progress is None:
        return "no key results yet"
    return f"{bar(progress)} · {status_words(status)} · expected {percent(expected)} by now"


def objective_text(line: GoalLine, expected: float) -> str:
    """An objective in full: who, progress against the pace, what it serves, its kudos and
    every key result."""
    view = line.view
    parts = [
        objective_head(view),
        progress_words(view.progress, view.status, expected, view.state),
    ]
    if view.state == GoalState.CLOSED and view.outcome:
        parts[-1] += f" ({view.outcome})"
    if line.chain:
        parts.append("Serves: " + " → ".join(escape(clip(p.title, 80)) for p in line.chain))
    if line.kudos:
        parts.append(f":tada: {line.kudos} kudos")
    parts += [result_line(r) for r in view.results]
    return clip("\n".join(parts), TEXT_MAX)


def objective_line(line: GoalLine) -> str:
    """An objective in one line, for long lists."""
    view = line.view
    lock = ":lock: " if view.visibility == Visibility.PRIVATE else ""
    where = (
        "no key results yet"
        if view.progress is None
        else f"{bar(view.progress)} · {status_words(view.status)}"
    )
    if view.state == GoalState.CLOSED:
        where = f"{bar(view.progress)} · closed"
    return f"• {lock}*{escape(clip(view.title, CHILD_TITLE))}* · {person(view.owner_id)} · {where}"


# ----- fitting a list into a budget -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a list: its blocks in full, and its line in brief."""

    full: list[Block]
    brief: str


Tail = Callable[[int, int], list[Block]]  # (items in brief, items not shown) -> blocks


def pack(lines: Sequence[str], max_sections: int, head: str = "") -> tuple[list[Block], int]:
    """Lines joined into sections of at most 3,000 characters, at most `max_sections` of them;
    returns the sections and how many lines they hold."""
    if max_sections <= 0:
        return [], 0
    texts: list[str] = []
    current = head
    shown = 0
    for raw in lines:
        line = clip(raw, TEXT_MAX)
        joined = f"{current}\n{line}" if current else line
        if len(joined) <= TEXT_MAX:
            current = joined
        else:
            if len(texts) + 1 >= max_sections:
                break
            texts.append(current)
            current = line
        shown += 1
    if current:
        texts.append(current)
    return [section(text) for text in texts], shown


def fit(entries: Sequence[Entry], budget: int, tail: Tail) -> list[Block]:
    """Every entry in full when they fit. Otherwise the first entries in full and the rest in
    brief, with as many in full as still lets the most entries be shown (a long list shows
    everyone in brief rather than a few in full), then `tail`."""
    if sum(len(e.full) for e in entries) <= budget:
        return [block for e in entries for block in e.full]
    room = budget - len(tail(1, 1))
    briefs = [e.brief for e in entries]
    best: tuple[tuple[int, int], list[Block], int] | None = None
    used = 0
    for in_full in range(len(entries) + 1):
        if in_full:
            used += len(entries[in_full - 1].full)
        if used >= room:
            break
        packed, shown = pack(briefs[in_full:], room - used)
        score = (in_full + shown, in_full)
        if best is None or score > best[0]:
            full = [block for e in entries[:in_full] for block in e.full]
            best = (score, full + packed, len(entries) - in_full - shown)
    assert best is not None
    (_, in_full), blocks, hidden = best
    return blocks + tail(len(entries) - in_full, hidden)


def see_all_tail(which: str, noun: str) -> Tail:
    """In a message or App Home: how many more, and a button that opens the whole list."""

    def tail(brief: int, hidden: int) -> list[Block]:
        words = f"…and {hidden} more {noun}." if hidden else f"{brief} {noun} shown in brief."
        return [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": words},
                "accessory": see_all_button(which),
            }
        ]

    return tail


def modal_tail(noun: str) -> Tail:
    """In the "see all" modal itself: the count of what did not fit, and where to read it."""

    def tail(brief: int, hidden: int) -> list[Block]:
        if not hidden:
            return []
        return [context(f"…and {hidden} more {noun}: `pulsebot goals list` prints every goal.")]

    return tail


def see_all_button(which: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": plain("See all", BUTTON_TEXT_MAX),
        "action_id": ids.GOALS_SEE_ALL_ACTION,
        "value": which,
    }


def new_goal_button() -> dict[str, Any]:
    return {
        "type": "button",
        "text": plain("New goal", BUTTON_TEXT_MAX),
        "action_id": ids.GOALS_NEW_ACTION,
        "value": "new",
        "style": "primary",
    }


def update_buttons(line: GoalLine, which: str) -> list[Block]:
    """One Update button per key result the reader may update (none: no block). The block
    names the list it sits in, so the list can be shown again once the update is stored."""
    results = [r for r in line.view.results if r.id in line.updatable][:BUTTONS_MAX]
    if not results:
        return []
    return [
        {
            "type": "actions",
            "block_id": f"{ids.GOALS_RESULTS_BLOCK_PREFIX}{which}:{line.view.id}",
            "elements": [
                {
                    "type": "button",
                    "text": plain(f"Update {clip(r.title, 60)}", BUTTON_TEXT_MAX),
                    "action_id": f"{ids.GOALS_UPDATE_ACTION}_{i}",
                    "value": str(r.id),
                }
                for i, r in enumerate(results)
            ],
        }
    ]


def goal_entry(line: GoalLine, expected: float, *, buttons: str | None = None) -> Entry:
    """`buttons`: the list's name, to show Update buttons in it."""
    full = [section(objective_text(line, expected))]
    if buttons is not None:
        full += update_buttons(line, buttons)
    return Entry(full, objective_line(line))


def list_of(block_id: str) -> str | None:
    """The list an Update button's block sits in (`mine`, `user:U…`, `home`), if it names one."""
    if not block_id.startswith(ids.GOALS_RESULTS_BLOCK_PREFIX):
        return None
    return block_id.removeprefix(ids.GOALS_RESULTS_BLOCK_PREFIX).rpartition(":")[0] or None


# ----- the lists ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListPlace:
    """Where a list is shown: a message (50 blocks, "see all" opens the rest) or the "see all"
    modal (100 blocks, ends with a count); `which` names the list (`mine`, `user:U…`, `team`,
    `company`)."""

    budget: int
    which: str
    see_all: bool


def in_message(which: str) -> ListPlace:
    return ListPlace(MESSAGE_BLOCKS_MAX, which, see_all=True)


def in_modal(which: str) -> ListPlace:
    return ListPlace(VIEW_BLOCKS_MAX, which, see_all=False)


def _tail(place: ListPlace, noun: str) -> Tail:
    return see_all_tail(place.which, noun) if place.see_all else modal_tail(noun)


def goals_blocks(
    title: str,
    lines: Sequence[GoalLine],
    *,
    cycle: Cycle,
    expected: float,
    place: ListPlace,
    empty: str,
    new_button: bool = False,
) -> list[Block]:
    """`/goals` and `/goals @name`: each goal in full with its Update buttons, within the
    place's budget."""
    head = [section(title), context(cycle_words(cycle, expected))]
    footer = [{"type": "actions", "elements": [new_goal_button()]}] if new_button else []
    if not lines:
        return [*head, section(empty), *footer]
    entries = [goal_entry(line, expected, buttons=place.which) for line in lines]
    budget = place.budget - len(head) - len(footer)
    return head + fit(entries, budget, _tail(place, "goals")) + footer


def team_blocks(team: TeamGoals, *, cycle: Cycle, expected: float, place: ListPlace) -> list[Block]:
    """`/goals team`: the manager's team goals, then each direct report's goals."""
    head = [header(f"Team goals · {cycle.name}"), context(cycle_words(cycle, expected))]
    entries = [goal_entry(line, expected) for line in team.team]
    entries += [person_entry(user_id, lines, expected) for user_id, lines in team.people]
    return head + fit(entries, place.budget - len(head), _tail(place, "goals or people"))


def person_entry(user_id: str, lines: Sequence[GoalLine], expected: float) -> Entry:
    """A direct report: each goal's head, progress and key results, in as few sections as
    their length needs; in brief, one line of counts."""
    if not lines:
        text = f"*{person(user_id)}* · _no goals this cycle_"
        return Entry([section(text)], f"• {person(user_id)}: no goals this cycle")
    rows: list[str] = []
    for line in lines:
        view = line.view
        rows.append(
            f"{objective_head(view, owner=view.owner_id != user_id)}\n   "
            + progress_words(view.progress, view.status, expected, view.state)
        )
        # Their own goal in full; someone else's only where they own a key result.
        rows += [
            "   " + result_line(r)
            for r in view.results
            if view.owner_id == user_id or r.owner_id == user_id
        ]
    full, _ = pack(rows, 3, head=f"*{person(user_id)}*")
    return Entry(full, person_line(user_id, lines))


def person_line(user_id: str, lines: Sequence[GoalLine]) -> str:
    """A direct report in one line, judged by their part only: a goal they own as a whole, and
    in someone else's goal only the key results they own (a teammate's result slipping in a
    shared team goal is not theirs to answer for)."""
    measured: list[float] = []
    statuses: list[Confidence] = []
    stale = 0
    for line in lines:
        view = line.view
        if view.owner_id == user_id:
            if view.progress is not None:
                measured.append(view.progress)
            if view.status is not None:
                statuses.append(view.status)
            stale += sum(1 for r in view.results if r.stale)
            continue
        for result in view.results:
            if result.owner_id == user_id:
                measured.append(result.progress)
                statuses.append(result.status)
                stale += result.stale
    mean = sum(measured) / len(measured) if measured else None
    off = sum(1 for s in statuses if s != Confidence.ON_TRACK)
    text = f"• {person(user_id)}: {len(lines)} goal{'s' if len(lines) != 1 else ''} · {bar(mean)}"
    if off:
        text += f" · {off} at risk or off track"
    if stale:
        text += f" · {stale} stale"
    return text


def company_blocks(
    tree: CompanyTree, *, cycle: Cycle, expected: float, place: ListPlace
) -> list[Block]:
    """`/goals company`: each company objective, rolled up from what aligns to it."""
    head = [
        header(f"Company objectives · {cycle.name}"),
        context(
            cycle_words(cycle, expected)
            + f" · {tree.total} goal{'s' if tree.total != 1 else ''} you can see, "
            + f"{tree.unaligned} not aligned to a company objective"
        ),
    ]
    if not tree.branches:
        return [
            *head,
            section(
                f"No company objectives in {cycle.name} yet. Admins add them with `/goals new` "
                "or `pulsebot goals apply`."
            ),
        ]
    if not place.see_all:  # the "see all" modal: every aligned goal
        entries = [branch_entry(b, expected, all_children=True) for b in tree.branches]
        return head + fit(entries, place.budget - len(head), modal_tail("company objectives"))
    entries = [branch_entry(b, expected, all_children=False) for b in tree.branches]
    clipped = any(_clipped_lines(branch_head(b, expected), _children(b))[1] for b in tree.branches)
    tail = see_all_tail(place.which, "company objectives")
    budget = place.budget - len(head) - (1 if clipped else 0)
    answer = head + fit(entries, budget, tail)
    if clipped and answer[-1].get("accessory") is None:
        answer.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "Every aligned goal, in full:"},
                "accessory": see_all_button(place.which),
            }
        )
    return answer


def branch_head(branch: CompanyBranch, expected: float) -> str:
    view = branch.line.view
    progress = progress_words(branch.progress, branch.status, expected, view.state)
    if branch.rolled:
        n = len(branch.children)
        progress += f" · rolled up from {n} aligned goal{'s' if n != 1 else ''}"
    lines = [objective_head(view), progress]
    if branch.aligned:
        kinds = ", ".join(f"{branch.kinds[k]} {k.value}" for k in GoalKind if branch.kinds.get(k))
        statuses = ", ".join(
            f"{branch.statuses[s]} {s.label}" for s in Confidence if branch.statuses.get(s)
        )
        lines.append(
            f"_Aligned: {branch.aligned} goal{'s' if branch.aligned != 1 else ''} ({kinds})"
            + (f": {statuses}_" if statuses else "_")
        )
    else:
        lines.append("_Nothing aligned to it yet._")
    return "\n".join(lines)


def branch_entry(branch: CompanyBranch, expected: float, *, all_children: bool) -> Entry:
    """A company objective with one line per goal aligned directly to it. In a message, one
    section (the lines that do not fit are counted); in the "see all" modal, every line."""
    head = branch_head(branch, expected)
    if all_children:
        full, _ = pack(_children(branch), VIEW_BLOCKS_MAX, head=head)
    else:
        full = [section(_clipped_lines(head, _children(branch))[0])]
    brief = objective_line(branch.line) + (f" · {branch.aligned} aligned" if branch.aligned else "")
    return Entry(full, brief)


def _children(branch: CompanyBranch) -> list[str]:
    return [objective_line(child) for child in branch.children]


def _clipped_lines(head: str, lines: Sequence[str]) -> tuple[str, int]:
    """As many lines as fit one section, then how many more; and that count."""
    text = head
    for index, line in enumerate(lines):
        hidden = len(lines) - index
        more = f"\n…and {hidden} more aligned goal{'s' if hidden != 1 else ''}."
        if len(text) + 1 + len(line) + len(more) > TEXT_MAX:
            return text + more, hidden
        text += "\n" + line
    return text, 0


def list_modal(title: str, blocks: list[Block], which: str) -> dict[str, Any]:
    """The "see all" modal: the list, nothing to submit."""
    return {
        "type": "modal",
        "callback_id": ids.GOALS_LIST_MODAL,
        "title": plain(title, MODAL_TITLE_MAX),
        "close": plain("Close", MODAL_TITLE_MAX),
        "private_metadata": write_metadata({"which": which}),
        "blocks": blocks[:VIEW_BLOCKS_MAX],
    }


# ----- App Home -----------------------------------------------------------------------------


def home_blocks(
    mine: Sequence[GoalLine],
    team: TeamGoals | None,
    *,
    cycle: Cycle,
    expected: float,
) -> list[Block]:
    """The "Your goals" section (Update buttons, "New goal") and, for managers, "Team goals"
    in brief: at most HOME_BLOCKS blocks together."""
    team_part = home_team(team) if team is not None else []
    budget = HOME_BLOCKS - len(team_part)
    head = [header(f"Your goals · {cycle.name}")]
    footer = [{"type": "actions", "elements": [new_goal_button()]}]
    if mine:
        entries = [goal_entry(line, expected, buttons="home") for line in mine]
        body = fit(entries, budget - len(head) - len(footer), see_all_tail("mine", "goals"))
    else:
        body = [section(f"_No goals in {cycle.name} yet._")]
    return head + body + footer + team_part


def home_team(team: TeamGoals) -> list[Block]:
    """One line per direct report (and per team goal), then "See all"."""
    lines = [objective_line(line) for line in team.team]
    lines += [person_line(user_id, goals) for user_id, goals in team.people]
    packed, shown = pack(lines, HOME_TEAM_BLOCKS - 2)
    words = f"…and {len(lines) - shown} more." if shown < len(lines) else "Each goal in full:"
    return [
        header("Team goals"),
        *packed,
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": words},
            "accessory": see_all_button("team"),
        },
    ]


# ----- the creation form --------------------------------------------------------------------


def result_block(index: int, name: str) -> str:
    return ids.GOALS_RESULT_BLOCK.format(index=index, field=name)


def field_block(name: str) -> str:
    """The form block a rule's field names: `title`, `kind`, ..., `result2.target`."""
    if name.startswith("result") and "." in name:
        number, _, part = name[len("result") :].partition(".")
        return result_block(int(number), part)
    return {
        "title": ids.GOALS_TITLE_BLOCK,
        "kind": ids.GOALS_KIND_BLOCK,
        "visibility": ids.GOALS_VISIBILITY_BLOCK,
        "parent": ids.GOALS_PARENT_BLOCK,
        "value": ids.GOALS_VALUE_BLOCK,
        "done": ids.GOALS_DONE_BLOCK,
        "confidence": ids.GOALS_CONFIDENCE_BLOCK,
        "note": ids.GOALS_NOTE_BLOCK,
    }.get(name, ids.GOALS_TITLE_BLOCK)


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": {"action_id": ids.GOALS_INPUT, **element},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _text_element(
    placeholder: str, max_length: int, initial: str | None = None, multiline: bool = False
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "placeholder": plain(placeholder, 150),
        "max_length": max_length,
        "multiline": multiline,
    }
    if initial:
        element["initial_value"] = initial
    return element


def new_goal_modal(
    *,
    author_id: str,
    cycle: Cycle,
    is_admin: bool,
    parents: Sequence[ParentOption],
    results: int,
    origin: str,
) -> dict[str, Any]:
    """Title, kind (company only for admins), who may read it, what it serves, and `results`
    key results (1 to 5; "Add a key result" adds one by views.update)."""
    count = max(1, min(results, MAX_RESULTS))
    kinds = [k for k in GoalKind if is_admin or k != GoalKind.COMPANY]
    kind_options = [option(KIND_LABEL[k].capitalize(), k.value) for k in kinds]
    visibility = [
        option("Everyone", Visibility.PUBLIC.value),
        option("Only me and my managers", Visibility.PRIVATE.value),
    ]
    blocks: list[Block] = [
        context(
            f"Cycle *{cycle.name}* ({_day(cycle.starts_on)} – {_day(cycle.ends_on)}). You own "
            "the goal; each key result has an owner who updates it."
        ),
        _input(
            ids.GOALS_TITLE_BLOCK,
            "Goal",
            _text_element("Grow self-serve revenue 30%", TITLE_MAX),
        ),
        _input(
            ids.GOALS_KIND_BLOCK,
            "Kind",
            {
                "type": "radio_buttons",
                "options": kind_options,
                "initial_option": option(KIND_LABEL[GoalKind.PERSONAL].capitalize(), "personal"),
            },
        ),
        _input(
            ids.GOALS_VISIBILITY_BLOCK,
            "Who can read it",
            {"type": "radio_buttons", "options": visibility, "initial_option": visibility[0]},
        ),
    ]
    if parents:
        blocks.append(
            _input(
                ids.GOALS_PARENT_BLOCK,
                "Serves",
                {
                    "type": "static_select",
                    "placeholder": plain("A goal of this cycle it contributes to", 150),
                    "options": [
                        option(f"{clip(p.title, 55)} · {p.kind.value}", str(p.id)) for p in parents
                    ],
                },
                optional=True,
            )
        )
    else:
        blocks.append(context(f"_Nothing to align it with in {cycle.name} yet._"))
    for index in range(1, count + 1):
        blocks += result_group(index, author_id)
    if count < MAX_RESULTS:
        blocks.append(
            {
                "type": "actions",
                "block_id": ids.GOALS_ADD_RESULT_BLOCK,
                "elements": [
                    {
                        "type": "button",
                        "text": plain("Add a key result", BUTTON_TEXT_MAX),
                        "action_id": ids.GOALS_ADD_RESULT_ACTION,
                        "value": str(count + 1),
                    }
                ],
            }
        )
    return {
        "type": "modal",
        "callback_id": ids.GOALS_NEW_MODAL,
        "title": plain("New goal", MODAL_TITLE_MAX),
        "submit": plain("Create", MODAL_TITLE_MAX),
        "close": plain("Cancel", MODAL_TITLE_MAX),
        "private_metadata": write_metadata({"results": count, "from": origin}),
        "blocks": blocks,
    }


def result_group(index: int, author_id: str) -> list[Block]:
    """A key result's six fields; all optional, so a goal may have fewer key results than
    groups (a group left empty is no key result)."""
    measures = [option(MEASURE_LABEL[m], m.value) for m in Measure]
    return [
        header(f"Key result {index}"),
        _input(
            result_block(index, "title"),
            "Key result",
            _text_element("Self-serve MRR", TITLE_MAX),
            optional=True,
        ),
        _input(
            result_block(index, "measure"),
            "Measured as",
            {"type": "static_select", "options": measures, "initial_option": measures[0]},
            optional=True,
        ),
        _input(
            result_block(index, "start"),
            "Start",
            _text_element("100,000", 40),
            optional=True,
            hint="Where it stands today (not needed for a milestone).",
        ),
        _input(
            result_block(index, "target"),
            "Target",
            _text_element("130,000", 40),
            optional=True,
            hint="Where it should end; below the start means decrease.",
        ),
        _input(
            result_block(index, "unit"),
            "Unit",
            _text_element("USD, users, ms…", UNIT_MAX),
            optional=True,
        ),
        _input(
            result_block(index, "owner"),
            "Owner",
            {"type": "users_select", "initial_user": author_id},
            optional=True,
        ),
    ]


def created_modal(title: str, results: int, cycle: str) -> dict[str, Any]:
    how_many = f"{results} key result{'s' if results != 1 else ''}" if results else "no key results"
    view = notice_modal(
        "New goal",
        f":white_check_mark: *{escape(clip(title, 200))}* is set for {cycle}, with {how_many}. "
        "`/goals` shows it, with an Update button on each key result.",
    )
    view["close"] = plain("Done", MODAL_TITLE_MAX)
    return view


# ----- the Update form ----------------------------------------------------------------------


def update_modal(
    objective: ObjectiveView,
    result: ResultView,
    *,
    origin: Mapping[str, Any],
) -> dict[str, Any]:
    """The value (or done, for a milestone), the confidence pre-filled with the last one, and
    an optional note."""
    now_words = result_line(result).removeprefix("• ")
    blocks: list[Block] = [
        section(f"*{escape(clip(objective.title, 150))}*\n{now_words}"),
    ]
    if result.measure == Measure.MILESTONE:
        done = option("Done", "done")
        element: dict[str, Any] = {"type": "checkboxes", "options": [done]}
        if result.progress >= 1:
            element["initial_options"] = [done]
        blocks.append(_input(ids.GOALS_DONE_BLOCK, "Milestone", element, optional=True))
    else:
        unit = f" ({escape(result.unit)})" if result.unit else ""
        blocks.append(
            _input(
                ids.GOALS_VALUE_BLOCK,
                f"Where it is now{unit}",
                _text_element("A number", 40, initial=number_text(result.current)),
                hint=(
                    f"Started at {number_text(result.start)}; target "
                    f"{amount(result.target, result.unit)}."
                ),
            )
        )
    confidences = [option(CONFIDENCE_LABEL[c], c.value) for c in Confidence]
    last = result.last_confidence or result.status
    blocks += [
        _input(
            ids.GOALS_CONFIDENCE_BLOCK,
            "How confident are you?",
            {
                "type": "radio_buttons",
                "options": confidences,
                "initial_option": confidences[list(Confidence).index(last)],
            },
        ),
        _input(
            ids.GOALS_NOTE_BLOCK,
            "Note",
            _text_element("What moved, what is in the way", NOTE_MAX, multiline=True),
            optional=True,
        ),
    ]
    return {
        "type": "modal",
        "callback_id": ids.GOALS_UPDATE_MODAL,
        "title": plain("Update key result", MODAL_TITLE_MAX),
        "submit": plain("Save", MODAL_TITLE_MAX),
        "close": plain("Cancel", MODAL_TITLE_MAX),
        "private_metadata": write_metadata({"result": result.id, **origin}),
        "blocks": blocks,
    }


def updated_modal(line: GoalLine, expected: float) -> dict[str, Any]:
    """The form, once saved, shows the goal as it now stands."""
    view = notice_modal("Update key result", ":white_check_mark: Saved.")
    view["blocks"].append(section(objective_text(line, expected)))
    view["close"] = plain("Done", MODAL_TITLE_MAX)
    return view


def refusal_modal(message: str) -> dict[str, Any]:
    return notice_modal("Goals", escape(message))
