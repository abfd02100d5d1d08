"""`/goals` without Slack: the command's words, the forms' rules (every problem at once), and
Slack's Block Kit limits for long lists, checked with the emulator's own validation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from bot.delivery import responses
from bot.demo.emulator import SlackEmulator
from bot.demo.emulator.blockkit import block_errors, view_errors
from bot.services.directory import Person
from bot.services.goal_access import Asker, GoalKind, GoalRefused, Visibility
from bot.services.goal_commands import (
    Board,
    CompanyTree,
    GoalDraft,
    GoalLine,
    GoalScope,
    ParentFacts,
    ParentOption,
    ResultDraft,
    TeamGoals,
    UpdateDraft,
    board,
    company_tree,
    parse_command,
    parse_number,
    people_board,
    scope,
    team_goals,
    validate_goal,
    validate_update,
)
from bot.services.goal_cycles import parse
from bot.services.goal_progress import Confidence, Measure
from bot.services.goals import ObjectiveView, ResultView
from bot.services.slack_limits import MESSAGE_BLOCKS_MAX, TEXT_MAX, VIEW_BLOCKS_MAX
from handlers.blocks import goals as blocks
from handlers.blocks.home import home_view
from storage import goal_writes
from storage.models import OrgEdge

CYCLE = parse("2037-Q1")
TEAM = "T0TEAM"


# ----- the command ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "verb", "user_id"),
    [
        ("", "mine", None),
        ("  ", "mine", None),
        ("new", "new", None),
        ("NEW", "new", None),
        ("team", "team", None),
        ("company", "company", None),
        ("help", "help", None),
        ("?", "help", None),
        ("<@UBEN|ben>", "user", "UBEN"),
        ("<@UBEN>", "user", "UBEN"),
        ("@ben", "unknown", None),
        ("bananas", "unknown", None),
        ("new goal", "unknown", None),
        ("<@UBEN> <@UCHO>", "unknown", None),
    ],
)
def test_command_words(text: str, verb: str, user_id: str | None) -> None:
    parsed = parse_command(text)
    assert (parsed.verb, parsed.user_id) == (verb, user_id)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("120", 120.0),
        ("1,200", 1200.0),
        ("1 200.5", 1200.5),
        ("$4,000", 4000.0),
        ("40%", 40.0),
        ("-3", -3.0),
        ("12.5", 12.5),
        ("", None),
        ("abc", None),
        ("1.2.3", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_numbers_as_people_type_them(raw: str, value: float | None) -> None:
    assert parse_number(raw) == value


# ----- the creation rules -----------------------------------------------------------------------

PEOPLE = {
    uid: Person(uid, uid.lower(), "UTC", is_bot=bot, deleted=gone, external=ext, is_guest=False)
    for uid, bot, gone, ext in [
        ("UANA", False, False, False),
        ("UBEN", False, False, False),
        ("UROBOT", True, False, False),
        ("UGONE", False, True, False),
        ("UEXT", False, False, True),
    ]
}
ANA = Asker("UANA")
ADMIN = Asker("UANA", is_admin=True)
HERE = ParentFacts("2037-Q1", readable=True, closed=False)


def kr(title: str = "MRR", start: str = "100", target: str = "130", **rest: Any) -> ResultDraft:
    return ResultDraft(title=title, start=start, target=target, **rest)


def draft(
    title: str = "Grow revenue",
    kind: str | None = "team",
    *results: ResultDraft,
    parent: str | None = None,
    visibility: str | None = "public",
) -> GoalDraft:
    return GoalDraft(title, kind, visibility, parent, results)


def problems(goal: GoalDraft, asker: Asker = ANA, parent: ParentFacts | None = HERE) -> set[str]:
    try:
        validate_goal(
            goal, asker=asker, cycle="2037-Q1", parent=parent, people=PEOPLE, team_id=TEAM
        )
    except GoalRefused as refused:
        return set(refused.errors)
    return set()


@pytest.mark.parametrize(
    ("goal", "asker", "parent", "fields"),
    [
        (draft("Grow", "team", kr()), ANA, HERE, set()),
        (draft("Grow", "personal"), ANA, HERE, set()),  # no key results: allowed
        (draft("   ", "team", kr()), ANA, HERE, {"title"}),
        (draft("x" * 201, "team"), ANA, HERE, {"title"}),
        (draft("Grow", None), ANA, HERE, {"kind"}),
        (draft("Grow", "bogus"), ANA, HERE, {"kind"}),
        (draft("Grow", "company"), ANA, HERE, {"kind"}),  # not an admin
        (draft("Grow", "company"), ADMIN, HERE, set()),
        (draft("Grow", "team", visibility="everyone"), ANA, HERE, {"visibility"}),
        (draft("Grow", "team", parent="7"), ANA, HERE, set()),
        (draft("Grow", "team", parent="7"), ANA, None, {"parent"}),
        (draft("Grow", "team", parent="x"), ANA, HERE, {"parent"}),
        (
            draft("Grow", "team", parent="7"),
            ANA,
            ParentFacts("2037-Q2", True, False),
            {"parent"},
        ),
        (draft("Grow", "team", parent="7"), ANA, ParentFacts("2037-Q1", False, False), {"parent"}),
        (draft("Grow", "team", parent="7"), ANA, ParentFacts("2037-Q1", True, True), {"parent"}),
        (draft("Grow", "team", kr(target="100")), ANA, HERE, {"result1.target"}),
        (draft("Grow", "team", kr(start="abc")), ANA, HERE, {"result1.start"}),
        (
            draft("Grow", "team", kr(start="", target="")),
            ANA,
            HERE,
            {"result1.start", "result1.target"},
        ),
        (draft("Grow", "team", kr(title="", start="1")), ANA, HERE, {"result1.title"}),
        (draft("Grow", "team", kr(measure="milestone", start="", target="")), ANA, HERE, set()),
        (draft("Grow", "team", kr(measure="weight")), ANA, HERE, {"result1.measure"}),
        (draft("Grow", "team", kr(unit="u" * 17)), ANA, HERE, {"result1.unit"}),
        (draft("Grow", "team", kr(), kr()), ANA, HERE, {"result2.title"}),  # same title twice
        (draft("Grow", "team", kr(owner_id="UROBOT")), ANA, HERE, {"result1.owner"}),
        (draft("Grow", "team", kr(owner_id="UGONE")), ANA, HERE, {"result1.owner"}),
        (draft("Grow", "team", kr(owner_id="UEXT")), ANA, HERE, {"result1.owner"}),
        (draft("Grow", "team", kr(owner_id="UNOBODY")), ANA, HERE, {"result1.owner"}),
        (
            draft("Grow", "team", *[kr(f"KR {i}") for i in range(6)]),
            ANA,
            HERE,
            {"result6.title"},
        ),
        (
            draft("Grow", "team", *[kr(f"KR {i}") for i in range(5)], ResultDraft()),
            ANA,
            HERE,
            set(),  # an empty sixth group is no key result
        ),
    ],
)
def test_creation_rules(
    goal: GoalDraft, asker: Asker, parent: ParentFacts | None, fields: set[str]
) -> None:
    assert problems(goal, asker, parent) == fields


def test_every_creation_problem_is_told_at_once() -> None:
    goal = draft(
        "",
        "company",
        kr(target="100"),
        kr("Signups", start="abc"),
        *[kr(f"KR {i}") for i in range(3, 7)],
        parent="7",
    )
    fields = problems(goal, ANA, ParentFacts("2037-Q2", True, False))
    assert fields == {
        "title",
        "kind",
        "parent",
        "result1.target",
        "result2.start",
        "result6.title",
    }


def test_a_valid_goal_defaults_owner_unit_and_milestone_numbers() -> None:
    valid = validate_goal(
        draft(
            " Grow ",
            "team",
            kr("Share", "10", "25%", measure="percent"),
            kr("Pricing page", "", "", measure="milestone", unit="x", owner_id="UBEN"),
        ),
        asker=ANA,
        cycle="2037-Q1",
        parent=None,
        people=PEOPLE,
        team_id=TEAM,
    )
    assert valid.title == "Grow" and valid.kind == GoalKind.TEAM
    assert valid.visibility == Visibility.PUBLIC
    share, page = valid.results
    assert (share.owner_id, share.unit, share.start, share.target) == ("UANA", "%", 10.0, 25.0)
    assert (page.owner_id, page.measure, page.unit, page.start, page.target) == (
        "UBEN",
        "milestone",
        "",
        0.0,
        1.0,
    )


# ----- the Update rules -------------------------------------------------------------------------


def result(
    rid: int = 1,
    *,
    owner: str = "UBEN",
    measure: Measure = Measure.NUMBER,
    start: float = 100_000,
    target: float = 130_000,
    current: float = 112_000,
    status: Confidence = Confidence.AT_RISK,
    stale: bool = False,
    title: str = "Self-serve MRR",
    note: str = "",
) -> ResultView:
    span = target - start
    done = (current - start) / span if span else 0.0
    return ResultView(
        id=rid,
        objective_id=1,
        title=title,
        owner_id=owner,
        measure=measure,
        unit="USD",
        start=start,
        target=target,
        current=current,
        weight=1.0,
        progress=max(0.0, min(1.0, done)),
        status=status,
        stale=stale,
        last_confidence=Confidence.AT_RISK,
        last_note=note,
        last_update_at=None,
    )


@pytest.mark.parametrize(
    ("measure", "update", "fields", "value"),
    [
        (
            Measure.NUMBER,
            UpdateDraft("112,000", False, "at_risk", "two deals slipped"),
            set(),
            112e3,
        ),
        (Measure.NUMBER, UpdateDraft("", False, "on_track", ""), {"value"}, None),
        (Measure.NUMBER, UpdateDraft("lots", False, "on_track", ""), {"value"}, None),
        (Measure.NUMBER, UpdateDraft("1", False, None, ""), {"confidence"}, None),
        (Measure.NUMBER, UpdateDraft("1", False, "sure", ""), {"confidence"}, None),
        (Measure.NUMBER, UpdateDraft("1", False, "on_track", "n" * 501), {"note"}, None),
        (
            Measure.NUMBER,
            UpdateDraft("x", False, None, "n" * 501),
            {"value", "confidence", "note"},
            None,
        ),
        (Measure.MILESTONE, UpdateDraft("", True, "on_track", ""), set(), 1.0),
        (Measure.MILESTONE, UpdateDraft("", False, "off_track", ""), set(), 0.0),
    ],
)
def test_update_rules(
    measure: Measure, update: UpdateDraft, fields: set[str], value: float | None
) -> None:
    try:
        valid = validate_update(result(measure=measure), update)
    except GoalRefused as refused:
        assert set(refused.errors) == fields
        return
    assert not fields and valid.value == value


# ----- Block Kit limits for long lists ----------------------------------------------------------


def objective(
    oid: int,
    owner: str,
    *,
    kind: GoalKind = GoalKind.TEAM,
    parent: int | None = None,
    results: int = 3,
    title: str | None = None,
    private: bool = False,
) -> ObjectiveView:
    krs = tuple(
        result(
            oid * 100 + i,
            owner=owner,
            title=f"Key result {i} of objective {oid}, told at some length " + "x" * 60,
            stale=i == 0,
            note="two deals slipped, one came back",
        )
        for i in range(results)
    )
    return ObjectiveView(
        id=oid,
        cycle=CYCLE.name,
        title=title or f"Objective number {oid} with a long and winding title " + "y" * 80,
        owner_id=owner,
        kind=kind,
        visibility=Visibility.PRIVATE if private else Visibility.PUBLIC,
        state="active",
        outcome=None,
        parent_id=parent,
        progress=0.4 if results else None,
        status=Confidence.AT_RISK if results else None,
        results=krs,
    )


def board_of(views: list[ObjectiveView], asker: str = "UANA") -> Board:
    goal_scope = GoalScope(
        TEAM,
        Asker(asker),
        None,
        date(2037, 2, 10),
        CYCLE,
        14,  # type: ignore[arg-type]
    )
    return Board(goal_scope, views, {v.id: 3 for v in views}, {})


def company_of(sizes: tuple[int, int]) -> CompanyTree:
    """`tops` company objectives and `children` goals spread across them, 200 in all."""
    tops, children = sizes
    views = [objective(i, "UCEO", kind=GoalKind.COMPANY, results=0) for i in range(1, tops + 1)]
    views += [
        objective(1000 + i, f"U{i:04d}", parent=1 + i % tops, results=2) for i in range(children)
    ]
    return company_tree(board_of(views))


def team_of(reports: int, objectives: int, results: int) -> TeamGoals:
    """60 key results, told several ways: few people with many, many with few."""
    people = []
    oid = 1
    for r in range(reports):
        lines = []
        for _ in range(objectives):
            lines.append(GoalLine(objective(oid, f"UR{r:03d}", results=results)))
            oid += 1
        people.append((f"UR{r:03d}", lines))
    team = [GoalLine(objective(9000, "UANA", results=0))]
    return TeamGoals(team, people)


def assert_within_slack(blocks_list: list[dict[str, Any]], max_blocks: int) -> None:
    """What Slack checks (the emulator's validation), and every text within 3,000."""
    assert len(blocks_list) <= max_blocks
    assert block_errors(blocks_list, "/blocks", max_blocks) == []
    for block in blocks_list:
        for item in [block, *(block.get("elements") or [])]:
            text = item.get("text")
            assert len(text.get("text", "") if isinstance(text, dict) else text or "") <= TEXT_MAX


@pytest.mark.parametrize("sizes", [(3, 197), (1, 199), (200, 0), (20, 180)])
def test_a_company_tree_of_200_objectives_fits(sizes: tuple[int, int]) -> None:
    tree = company_of(sizes)
    assert tree.total == 200
    message = blocks.company_blocks(
        tree, cycle=CYCLE, expected=0.44, place=blocks.in_message("company")
    )
    assert_within_slack(message, MESSAGE_BLOCKS_MAX)
    # Whatever does not fit is counted, with a way to read it: nothing is left out silently.
    told = str(message)
    everyone = all(f"<@U{i:04d}>" in told for i in range(sizes[1]))
    assert everyone or ("See all" in told and "more" in told)
    modal = blocks.list_modal(
        "Company objectives",
        blocks.company_blocks(tree, cycle=CYCLE, expected=0.44, place=blocks.in_modal("company")),
        "company",
    )
    assert view_errors(modal, home=False) == []
    assert_within_slack(modal["blocks"], VIEW_BLOCKS_MAX)


@pytest.mark.parametrize(
    ("reports", "objectives", "results"),
    [(20, 1, 3), (1, 12, 5), (6, 2, 5), (60, 1, 1), (3, 4, 5)],
)
def test_a_team_with_60_key_results_fits(reports: int, objectives: int, results: int) -> None:
    team = team_of(reports, objectives, results)
    assert sum(len(line.view.results) for _, lines in team.people for line in lines) == 60
    message = blocks.team_blocks(team, cycle=CYCLE, expected=0.44, place=blocks.in_message("team"))
    assert_within_slack(message, MESSAGE_BLOCKS_MAX)
    modal = blocks.list_modal(
        "Team goals",
        blocks.team_blocks(team, cycle=CYCLE, expected=0.44, place=blocks.in_modal("team")),
        "team",
    )
    assert view_errors(modal, home=False) == []
    shown = str(modal["blocks"])
    assert all(f"<@{user_id}>" in shown for user_id, _ in team.people)  # nobody left out


@pytest.mark.parametrize("count", [0, 1, 12, 30, 200])
def test_your_goals_fit_a_message_a_modal_and_app_home(count: int) -> None:
    views = [objective(i, "UANA", results=5) for i in range(1, count + 1)]
    lines = [GoalLine(v, (), 2, frozenset(r.id for r in v.results)) for v in views]
    message = blocks.goals_blocks(
        "*Your goals*",
        lines,
        cycle=CYCLE,
        expected=0.5,
        place=blocks.in_message("mine"),
        empty="none",
        new_button=True,
    )
    assert_within_slack(message, MESSAGE_BLOCKS_MAX)
    modal = blocks.list_modal(
        "Your goals",
        blocks.goals_blocks(
            "*Your goals*",
            lines,
            cycle=CYCLE,
            expected=0.5,
            place=blocks.in_modal("mine"),
            empty="-",
        ),
        "mine",
    )
    assert view_errors(modal, home=False) == []
    team = team_of(20, 1, 3)
    home = _fullest_home(blocks.home_blocks(lines, team, cycle=CYCLE, expected=0.5))
    assert view_errors(home, home=True) == []
    assert len(home["blocks"]) <= VIEW_BLOCKS_MAX


def _fullest_home(goals: list[dict[str, Any]]) -> dict[str, Any]:
    """App Home with every other section at its largest."""
    assert len(goals) <= blocks.HOME_BLOCKS
    filler = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]
    return home_view(
        given=1,
        received=1,
        remaining=1,
        limit=5,
        month="February",
        top=[("UBEN", 3)],
        checkin="Next: *Weekly*.",
        extra=filler * 40,
        goals=goals,
        feedback=filler * 5,
    )


def test_creation_form_with_five_key_results_is_a_valid_view() -> None:
    parents = [ParentOption(i, "p" * 200, GoalKind.TEAM, "UANA") for i in range(100)]
    for count in range(1, 6):
        form = blocks.new_goal_modal(
            author_id="UANA", cycle=CYCLE, is_admin=True, parents=parents, results=count, origin=""
        )
        assert view_errors(form, home=False) == []
        assert ("goals_add_result" in str(form)) == (count < 5)
    blocked = blocks.new_goal_modal(
        author_id="UANA", cycle=CYCLE, is_admin=False, parents=[], results=9, origin=""
    )
    assert "company" not in [
        o["value"]
        for b in blocked["blocks"]
        if b.get("block_id") == "goal_kind"
        for o in b["element"]["options"]
    ]
    assert sum(1 for b in blocked["blocks"] if b.get("block_id", "").endswith("_title")) == 6


def test_update_form_for_a_number_and_a_milestone() -> None:
    goal = objective(1, "UBEN")
    number = blocks.update_modal(goal, result(), origin={"from": "message"})
    assert view_errors(number, home=False) == []
    value = next(b for b in number["blocks"] if b.get("block_id") == "goal_value")
    assert value["element"]["initial_value"] == "112,000"
    confidence = next(b for b in number["blocks"] if b.get("block_id") == "goal_confidence")
    assert confidence["element"]["initial_option"]["value"] == "at_risk"
    done = result(measure=Measure.MILESTONE, start=0, target=1, current=1)
    milestone = blocks.update_modal(goal, done, origin={})
    assert view_errors(milestone, home=False) == []
    box = next(b for b in milestone["blocks"] if b.get("block_id") == "goal_done")
    assert box["element"]["initial_options"][0]["value"] == "done"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (100_000, "100,000"),
        (12.5, "12.5"),
        (-3, "-3"),
        (0.333333, "0.33"),
        (1e16, "10,000,000,000,000,000"),
    ],
)
def test_numbers_read_as_written(value: float, text: str) -> None:
    assert blocks.number_text(value) == text


def test_a_response_url_takes_five_posts_then_the_refresh_is_done(slack: SlackEmulator) -> None:
    """Slack's limit, as the emulator keeps it: a used-up response_url ends the row quietly."""
    payload = {"response_url": f"{slack.hooks_url}actions/T0TEAM/1/x", "text": "again"}
    assert [responses.call(payload) for _ in range(6)] == [True] * 5 + [False]
    assert slack.calls("response_url")[0]["text"] == "again"


@pytest.mark.parametrize("count", [3, 60])
def test_a_board_costs_the_same_queries_for_any_number_of_goals(
    session: Session, shared_engine: Engine, count: int
) -> None:
    now = datetime(2037, 2, 10, 12, tzinfo=UTC)
    parent = None
    for n in range(count):
        parent = goal_writes.create_objective(
            session,
            team_id=TEAM,
            cycle=CYCLE.name,
            title=f"Goal {n}",
            owner_id=f"U{n % 7}",
            kind="team",
            visibility="private" if n % 5 == 0 else "public",
            parent_id=parent,
            created_by="cli",
            results=[goal_writes.NewResult("KR", f"U{n % 3}", "number", "", 0, 10)],
            now=now,
        )
    session.flush()
    statements: list[str] = []

    def counted(*args: Any) -> None:
        statements.append(str(args[2]))

    goal_scope = scope(
        TEAM, "U1", admins=(), now=now, today=now.date(), cycle_kind="quarter", stale_days=14
    )
    event.listen(shared_engine, "before_cursor_execute", counted)
    try:
        goals = board(session, goal_scope)
        tree = company_tree(goals)
        mine = goals.goals_of("U1")
    finally:
        event.remove(shared_engine, "before_cursor_execute", counted)
    assert len(statements) == 6, statements
    assert tree.total == len(goals.views) and mine


def test_a_persons_board_reads_their_goals_and_what_they_serve_and_shows_the_same_lines(
    session: Session,
) -> None:
    """A person's list (and a manager's team list) reads only the goals they own or hold a
    key result of and those up their alignment, and shows exactly what the whole cycle's
    board would: a company's thousands of goals are never read to show someone's few."""
    now = datetime(2037, 2, 10, 12, tzinfo=UTC)
    ids: dict[str, int | None] = {}

    def create(title: str, owner: str, kind: str, parent: str | None, holder: str) -> None:
        ids[title] = goal_writes.create_objective(
            session,
            team_id=TEAM,
            cycle=CYCLE.name,
            title=title,
            owner_id=owner,
            kind=kind,
            visibility="public",
            parent_id=ids[parent] if parent else None,
            created_by="cli",
            results=[goal_writes.NewResult("KR", holder, "number", "", 0, 10)],
            now=now,
        )

    create("Company", "UCEO", "company", None, "UCEO")
    create("Team", "UANA", "team", "Company", "UANA")
    create("Personal", "UBEN", "personal", "Team", "UCHLOE")  # Chloe holds its key result
    create("Elsewhere", "UDAN", "team", "Company", "UDAN")
    create("Unaligned", "UEVE", "personal", None, "UEVE")
    session.add(
        OrgEdge(team_id=TEAM, user_id="UBEN", manager_id="UANA", source="csv", updated_at=now)
    )
    session.flush()
    asker = scope(
        TEAM, "UANA", admins=(), now=now, today=now.date(), cycle_kind="quarter", stale_days=14
    )
    whole = board(session, asker)

    chloe = people_board(session, whole.scope, "UCHLOE")
    assert {v.title for v in chloe.views} == {"Personal", "Team", "Company"}
    assert chloe.goals_of("UCHLOE") == whole.goals_of("UCHLOE")
    assert [view.title for view in chloe.goals_of("UCHLOE")[0].chain] == ["Team", "Company"]

    ana = people_board(session, whole.scope, "UANA", team=True)
    assert {v.title for v in ana.views} == {"Personal", "Team", "Company"}
    assert team_goals(session, ana) == team_goals(session, whole)
    assert ana.goals_of("UBEN") and ana.goals_of("UBEN") == whole.goals_of("UBEN")


def test_a_report_on_a_managers_team_line_is_judged_by_their_own_part() -> None:
    """App Home's one line per direct report: a goal they own counts whole; in a shared team
    goal, only the key results they own, so a teammate's slipping result is not theirs."""
    shared = ObjectiveView(
        id=1,
        cycle=CYCLE.name,
        title="Halve API latency",
        owner_id="UANA",
        kind=GoalKind.TEAM,
        visibility=Visibility.PUBLIC,
        state="active",
        outcome=None,
        parent_id=None,
        progress=0.55,
        status=Confidence.OFF_TRACK,
        results=(
            result(11, owner="UKENJI", start=420, target=210, current=378,
                   status=Confidence.OFF_TRACK),  # 20%
            result(12, owner="UCHLOE", start=12, target=4, current=6, status=Confidence.ON_TRACK,
                   stale=True),  # 75%
        ),
    )
    own = objective(2, "UCHLOE", kind=GoalKind.PERSONAL, results=1)  # 40%, at risk
    assert blocks.person_line("UCHLOE", [GoalLine(shared)]) == (
        "• <@UCHLOE>: 1 goal · ▓▓▓▓▓▓▓▓░░ 75% · 1 stale"
    )
    assert blocks.person_line("UKENJI", [GoalLine(shared)]) == (
        "• <@UKENJI>: 1 goal · ▓▓░░░░░░░░ 20% · 1 at risk or off track"
    )
    assert blocks.person_line("UCHLOE", [GoalLine(shared), GoalLine(own)]) == (
        "• <@UCHLOE>: 2 goals · ▓▓▓▓▓▓░░░░ 57% · 1 at risk or off track · 2 stale"
    )
