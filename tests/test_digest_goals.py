"""The digest's Goals section: its two "whom to talk to" rules at their edges, the section
computed on literal rows, and, through the database, values taken at the week's instants (a
zone east of UTC), kudos by goal and a constant number of statements per digest.

The covered week is Mon 2 - Sun 8 March 2037 (2037's calendar is 2026's), in cycle 2037-Q1
(1 Jan - 31 Mar: 90 days, so 66/89 of it is gone by Sunday 8 March and 59/89 a week before).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from bot.services import digest, digest_goals
from bot.services import digest_rules as rules
from bot.services.digest_compute import DigestInputs, DigestTemplate, compute
from bot.services.digest_data import DigestData
from bot.services.states import CheckinOutcome
from handlers.blocks import digest as blocks
from storage.digest import KudosRow, OccurrenceRow
from storage.goal_digest import KudosGoalRow, ObjectiveRow, ResultRow, UpdateRow
from storage.models import KeyResult, Kudos, Objective
from tests import goal_seed
from tests.digest_seed import kudos, report
from tests.factories import TEAM, add_people, person

ANSWERED, SKIPPED, MISSED = CheckinOutcome.ANSWERED, CheckinOutcome.SKIPPED, CheckinOutcome.MISSED
AWAY, OPEN = CheckinOutcome.AWAY, CheckinOutcome.OPEN
BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
WEEK = date(2037, 3, 2)
NOW = datetime(2037, 3, 9, 9, 0, tzinfo=BERLIN)
WEEK_START = datetime(2037, 3, 2, tzinfo=BERLIN)
CREATED = datetime(2037, 1, 5, tzinfo=UTC)
MANAGER = "UMGR"
REPORTS = ("UANN", "UBOB", "UCAT", "UDAN")


# ----- the two rules ------------------------------------------------------------------------------


def goal_checkin(outcome: CheckinOutcome, asked: int = 2, updated: int = 0) -> rules.GoalCheckin:
    return rules.GoalCheckin(outcome, asked, updated)


@pytest.mark.parametrize(
    ("checkins", "flagged"),
    [
        ([], False),
        ([goal_checkin(ANSWERED)], False),  # one check-in is not two in a row
        ([goal_checkin(ANSWERED), goal_checkin(ANSWERED)], True),
        ([goal_checkin(ANSWERED, updated=1), goal_checkin(ANSWERED)], False),
        ([goal_checkin(ANSWERED), goal_checkin(ANSWERED, updated=2)], False),
        # Away for one: passed over, never asked; the two before and after it are in a row.
        ([goal_checkin(ANSWERED), goal_checkin(AWAY), goal_checkin(ANSWERED)], True),
        # A skip, a miss or one still open breaks the run: other rules speak for silence.
        ([goal_checkin(ANSWERED), goal_checkin(SKIPPED)], False),
        ([goal_checkin(ANSWERED), goal_checkin(MISSED)], False),
        ([goal_checkin(ANSWERED), goal_checkin(ANSWERED), goal_checkin(OPEN)], False),
        ([goal_checkin(SKIPPED), goal_checkin(ANSWERED), goal_checkin(ANSWERED)], True),
        # Asked about no key result (they owned none then): no sign of anything.
        ([goal_checkin(ANSWERED, asked=0), goal_checkin(ANSWERED)], False),
    ],
)
def test_no_goal_update_for_two_checkins_in_a_row(
    checkins: list[rules.GoalCheckin], flagged: bool
) -> None:
    assert rules.no_goal_update(checkins) is flagged


@pytest.mark.parametrize(
    ("now", "before", "flagged"),
    [
        ("off_track", "off_track", True),
        ("off_track", "at_risk", False),  # one bad week is not a trend
        ("at_risk", "off_track", False),  # recovering
        ("off_track", None, False),  # did not exist a week ago
        (None, "off_track", False),
    ],
)
def test_off_track_two_weeks_running(now: str | None, before: str | None, flagged: bool) -> None:
    assert rules.off_track_twice(now, before) is flagged


def test_both_read_as_reasons_to_talk() -> None:
    quiet = [None] * rules.HISTORY_WEEKS
    history = rules.PersonWeeks(
        quiet,
        [ANSWERED] * rules.HISTORY_WEEKS,
        False,
        False,
        off_track_twice=("Chapters read", "Talks given"),
        goal_checkins=[goal_checkin(ANSWERED), goal_checkin(ANSWERED)],
    )
    assert rules.reasons(history) == [
        "off track two weeks running: Chapters read, Talks given",
        "no goal update in their last two check-ins",
    ]


# ----- the section on literal rows --------------------------------------------------------------

GOALS_TEMPLATE = DigestTemplate(
    1,
    "Weekly",
    True,
    [
        {"id": "done", "text": "What did you get done?", "kind": "text"},
        {"id": "pulse", "text": "How do you feel?", "kind": "pulse"},
        {"id": "goals", "text": "How did your key results move?", "kind": "goals"},
    ],
)


def objective(
    objective_id: int,
    owner: str,
    title: str,
    *,
    kind: str = "team",
    visibility: str = "public",
    state: str = "active",
    created: datetime = CREATED,
    closed: datetime | None = None,
) -> ObjectiveRow:
    return ObjectiveRow(objective_id, title, owner, kind, visibility, state, created, closed)


def result(
    result_id: int,
    objective_id: int,
    owner: str,
    title: str,
    *,
    start: float = 0,
    target: float = 100,
    measure: str = "number",
    created: datetime = CREATED,
) -> ResultRow:
    return ResultRow(
        result_id, objective_id, title, owner, measure, "", start, target, 1.0, created
    )


def update(result_id: int, value: float, day: date, confidence: str, note: str = "") -> UpdateRow:
    at = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    return UpdateRow(result_id, value, confidence, note, at)


TEAM_GOAL = objective(1, MANAGER, "Self-serve grows 30%")
RUST = objective(2, "UCAT", "Learn Rust", kind="development", visibility="private")
HIDDEN = objective(3, "UOUT", "A stranger's secret", kind="personal", visibility="private")
COMPANY = objective(4, "UCEO", "Grow revenue", kind="company")
RESULTS = [
    result(11, 1, "UANN", "Self-serve MRR"),
    result(12, 1, "UBOB", "Pricing page live", measure="milestone", target=1),
    result(21, 2, "UCAT", "Chapters read", target=10),
    result(31, 3, "UDAN", "Secret thing"),
    result(41, 4, "UDAN", "Enterprise deals", target=10),
    result(42, 4, "UOTHER", "Another team's deals", target=10),
]
BEFORE = {
    11: update(11, 50, date(2037, 2, 20), "on_track"),
    21: update(21, 1, date(2037, 2, 1), "off_track", "no time"),
    31: update(31, 0, date(2037, 2, 1), "off_track", "secret words"),
    41: update(41, 9, date(2037, 2, 27), "on_track"),
    42: update(42, 0, date(2037, 2, 27), "off_track", "not ours"),
}
DURING = {11: update(11, 60, date(2037, 3, 4), "at_risk", "vendor late")}


def goal_inputs(**fields: Any) -> digest_goals.GoalInputs:
    base = digest_goals.GoalInputs(
        cycle="2037-Q1",
        objectives=[TEAM_GOAL, RUST, HIDDEN, COMPANY],
        results=RESULTS,
        before=BEFORE,
        during=DURING,
        chain_below=frozenset(REPORTS),
        stale_days=14,
    )
    return replace(base, **fields)


def inputs(**fields: Any) -> DigestInputs:
    base = DigestInputs(
        manager_id=MANAGER,
        week=WEEK,
        zone=BERLIN,
        reports=[(user_id, False) for user_id in REPORTS],
        owned=[GOALS_TEMPLATE],
        templates={GOALS_TEMPLATE.id: GOALS_TEMPLATE},
        occurrences=[],
        answers={},
        replies={},
        kudos=[],
        notes=[],
        below={},
        subtree=[],
        subtree_answers={},
        goals=goal_inputs(),
    )
    return replace(base, **fields)


def built(data: DigestInputs) -> DigestData:
    return compute(data, NOW, anonymity_min=3).data


def test_the_goals_section_as_the_week_ended() -> None:
    data = built(inputs())
    assert (data.goals_cycle, data.goals_expected) == ("2037-Q1", round(66 / 89, 4))
    [line] = data.goals  # the team objective; the company one is not the team's
    assert (line.title, line.user_id, line.status) == ("Self-serve grows 30%", MANAGER, "at_risk")
    # (60% + not done) / 2 at the week's end, (50% + not done) / 2 a week before.
    assert (line.progress, line.change, line.expected) == (0.3, 5.0, round(66 / 89, 4))
    flags = [(f.title, f.user_id, f.status, f.note, f.stale_days) for f in data.goal_flags]
    assert flags == [
        # Off track first: 10% with 74% of the cycle gone, no update since 1 Feb.
        ("Chapters read", "UCAT", "off_track", "no time", 35),
        ("Self-serve MRR", "UANN", "at_risk", "vendor late", None),  # its owner's word
    ]
    # On track but silent since it was set: stale. Another team's result and a stranger's
    # private goal are not shown, even though a report owns one of them.
    assert [(f.title, f.stale_days) for f in data.goal_stale] == [("Pricing page live", 62)]
    assert "Secret thing" not in str(data.to_json()) and "secret words" not in str(data.to_json())
    assert "Another team's deals" not in str(data.to_json())
    # Off track at both weeks' ends: UCAT is someone to talk to.
    [cat] = data.talk_to
    assert (cat.user_id, cat.reasons) == ("UCAT", ["off track two weeks running: Chapters read"])


def test_the_section_as_a_manager_reads_it() -> None:
    text = "\n".join(
        b["text"]["text"] for b in blocks.goals_section(built(inputs())) if b["type"] == "section"
    )
    assert text.splitlines() == [
        ":dart: *Goals* · 2037-Q1, 74% of the cycle gone",
        "• *Self-serve grows 30%* (<@UMGR>): ▓▓▓░░░░░░░ 30% · +5 pts this week · expected 74% "
        "· *at risk*",
        "*At risk or off track*",
        '• Chapters read (<@UCAT>, Learn Rust): *off track*, 10% of the way: "no time" · no update '
        "for 35 days",
        '• Self-serve MRR (<@UANN>, Self-serve grows 30%): *at risk*, 60% of the way: "vendor '
        'late"',
        "*Not updated lately*",
        "• Pricing page live (<@UBOB>, Self-serve grows 30%): on track, not done · no update for "
        "62 days",
    ]


def test_pace_and_staleness_move_with_the_week_judged() -> None:
    """The same rows judged a fortnight earlier: less of the cycle gone, fewer days silent."""
    earlier = WEEK - timedelta(weeks=2)
    data = built(inputs(week=earlier, goals=goal_inputs(during={}, before={11: BEFORE[11]})))
    [line] = data.goals
    # 50% with 52/89 of the cycle gone by Sunday 22 February: on pace.
    assert (line.progress, line.expected, line.status) == (0.25, round(52 / 89, 4), "on_track")
    # Chapters read has no update before the week: 0 of 10, 58% expected -> off track; and the
    # milestone set on 5 January has gone 48 days without one.
    assert [(f.title, f.status) for f in data.goal_flags] == [
        ("Chapters read", "off_track"),
        ("Enterprise deals", "off_track"),  # a report's result in a company objective
    ]
    assert [(f.title, f.stale_days) for f in data.goal_stale] == [("Pricing page live", 48)]
    fresh = built(inputs(goals=goal_inputs(stale_days=90)))
    assert fresh.goal_stale == [] and all(f.stale_days is None for f in fresh.goal_flags)


def test_new_closed_draft_and_no_key_results() -> None:
    objectives = [
        TEAM_GOAL,
        objective(5, "UANN", "Set this week", created=datetime(2037, 3, 4, tzinfo=UTC)),
        objective(6, "UBOB", "Closed last month", state="closed", closed=CREATED),
        objective(7, "UBOB", "Closed this week", state="closed", closed=NOW - timedelta(days=3)),
        objective(8, "UBOB", "Still a draft", state="draft"),
        objective(9, "UCAT", "Set after the week", created=NOW),
    ]
    results = [*RESULTS[:2], result(51, 5, "UANN", "New result", created=objectives[1].created_at)]
    data = built(inputs(goals=goal_inputs(objectives=objectives, results=results)))
    lines = {g.title: (g.progress, g.change, g.status) for g in data.goals}
    assert lines == {
        "Self-serve grows 30%": (0.3, 5.0, "at_risk"),
        "Set this week": (0.0, None, "off_track"),  # new: no change to tell; 0% of 74%
        "Closed this week": (None, None, None),  # no key results: no bar, no status
    }
    text = str(blocks.goals_section(data))
    assert "new this week" in text and "Closed this week* (<@UBOB>): no key results" in text


def test_no_goals_no_section_and_kudos_by_goal() -> None:
    empty = built(inputs(goals=goal_inputs(objectives=[], results=[], before={}, during={})))
    assert empty.goals_cycle == "" and blocks.goals_section(empty) == []
    assert built(inputs(goals=None)).goals_cycle == ""
    in_week = datetime(2037, 3, 4, 12, tzinfo=UTC)
    kudos_rows = [
        KudosRow("UANN", 1, in_week, "teamwork"),
        KudosRow("UBOB", 1, in_week, "teamwork"),  # one kudos to two people: once for its goal
        KudosRow("UCAT", 2, in_week, None),
        KudosRow("UDAN", 3, in_week, None),
        KudosRow("UANN", 4, in_week - timedelta(days=10), None),  # before the week
    ]
    named = [
        KudosGoalRow(1, 1, "Self-serve grows 30%", MANAGER, "public"),
        KudosGoalRow(2, 2, "Learn Rust", "UCAT", "private"),
        KudosGoalRow(3, 3, "A stranger's secret", "UOUT", "private"),
        KudosGoalRow(4, 1, "Self-serve grows 30%", MANAGER, "public"),
    ]
    data = built(inputs(kudos=kudos_rows, goals=goal_inputs(kudos=named)))
    assert data.kudos_by_goal == [("Learn Rust", 1), ("Self-serve grows 30%", 1)]
    assert "For their goals: Learn Rust 1, Self-serve grows 30% 1" in str(blocks.messages(data))


def test_no_goal_update_through_the_answers() -> None:
    """UDAN answered his last two check-ins with the goals question and moved nothing; UANN
    updated one in the second; UBOB skipped the last."""

    def answer(updated: bool) -> dict[str, Any]:
        entry = {"kr": 41, "title": "Deals", "before": 9, "after": 9 if updated else None}
        return {"done": "x", "pulse": 4, "goals": [entry]}

    rows, answers = [], {}
    for n, (user_id, back, state, updated) in enumerate(
        [
            ("UDAN", 1, "answered", False),
            ("UDAN", 0, "answered", False),
            ("UANN", 1, "answered", False),
            ("UANN", 0, "answered", True),
            ("UBOB", 1, "answered", False),
            ("UBOB", 0, "skipped", False),
        ],
        start=1,
    ):
        day = WEEK - timedelta(weeks=back) + timedelta(days=4)
        rows.append(OccurrenceRow(n, 1, user_id, day, state, NOW - timedelta(days=2)))
        if state == "answered":
            answers[n] = answer(updated)
    results = [*RESULTS, result(61, 1, "UANN", "Another"), result(62, 1, "UBOB", "Third")]
    data = built(inputs(occurrences=rows, answers=answers, goals=goal_inputs(results=results)))
    reasons = {t.user_id: t.reasons for t in data.talk_to}
    assert reasons["UDAN"] == ["no goal update in their last two check-ins"]
    assert "no goal update in their last two check-ins" not in str(
        [reasons.get("UANN"), reasons.get("UBOB")]
    )


# ----- through the database ---------------------------------------------------------------------

SEND = datetime(2037, 3, 9, 9, 0, tzinfo=TOKYO)


def team(session: Session, size: int, zone: str = "Asia/Tokyo") -> list[str]:
    """A manager in `zone` and `size` reports, each owning 3 key results of the manager's team
    objective with 12 weeks of weekly updates, and a kudos for that goal."""
    people = [f"UR{i:03d}" for i in range(size)]
    add_people(session, CREATED, person(MANAGER, tz=zone), *(person(u, tz=zone) for u in people))
    goal = goal_seed.objective(session, MANAGER, "Self-serve grows 30%", CREATED)
    for index, user_id in enumerate(people):
        report(session, user_id, MANAGER)
        for n in range(3):
            kr = goal_seed.key_result(
                session, goal, f"{user_id} result {n}", user_id, CREATED, position=index * 3 + n
            )
            for back in range(12, 0, -1):
                at = datetime(2037, 3, 2, 12, tzinfo=UTC) - timedelta(weeks=back)
                goal_seed.update(session, kr, 50 - back * 3, at)
        kudos(session, MANAGER, [user_id], datetime(2037, 3, 4, tzinfo=UTC), ["teamwork"])
    kudos_ids = session.scalars(select(Kudos.id)).all()
    for kudos_id in kudos_ids:
        goal_seed.kudos_goal(session, kudos_id, goal)
    return people


def build(session: Session, zone: ZoneInfo = TOKYO) -> DigestData:
    return digest.build(
        session, TEAM, MANAGER, SEND, zone=zone, anonymity_min=3, week_start=WEEK
    ).data


def test_values_are_taken_at_the_weeks_end_in_the_managers_zone_east_of_utc(
    session: Session,
) -> None:
    [only] = team(session, 1)
    first = session.scalars(
        select(KeyResult.id).where(KeyResult.owner_id == only)
    ).first()
    assert first is not None
    # Sunday 23:30 in Tokyo is 14:30 UTC: in the covered week. Monday 00:30 in Tokyo (15:30
    # UTC, still Sunday in UTC) is the next week's: not counted.
    goal_seed.update(session, first, 80, datetime(2037, 3, 8, 14, 30, tzinfo=UTC), note="in")
    goal_seed.update(session, first, 95, datetime(2037, 3, 8, 15, 30, tzinfo=UTC), note="out")
    data = build(session)
    [line] = data.goals
    # Each result had 47 a week before (the last weekly update); now 80, 47 and 47.
    assert line.progress == round((80 + 47 + 47) / 300, 4)
    assert line.change == round((80 - 47) / 3, 1)
    assert data.kudos_by_goal == [("Self-serve grows 30%", 1)]
    # In Berlin the week ends 8 hours later: the 95 counts.
    berlin = build(session, BERLIN)
    assert berlin.goals[0].progress == round((95 + 47 + 47) / 300, 4)


def test_a_constant_number_of_statements_whatever_the_team_size(session: Session) -> None:
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = session.get_bind().engine
    team(session, 5)
    event.listen(engine, "before_cursor_execute", count)
    try:
        small = build(session)
        five = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(small.goals) == 1 and len(small.reports) == 5
    more = [f"UR{i:03d}" for i in range(5, 50)]
    add_people(session, CREATED, *(person(u, tz="Asia/Tokyo") for u in more))
    goal_id = session.scalars(select(Objective.id)).one()
    for index, user_id in enumerate(more):
        report(session, user_id, MANAGER)
        for n in range(3):
            kr = goal_seed.key_result(
                session, goal_id, f"{user_id} r{n}", user_id, CREATED, position=100 + index * 3 + n
            )
            for back in range(12, 0, -1):
                at = datetime(2037, 3, 2, 12, tzinfo=UTC) - timedelta(weeks=back)
                goal_seed.update(session, kr, 50 - back * 3, at)
    statements.clear()
    event.listen(engine, "before_cursor_execute", count)
    try:
        big = build(session)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(big.reports) == 50 and len(big.goals) == 1
    assert len(statements) == five, statements
    read = " ".join(statements)
    assert "goal_updates" in read and "kudos_goals" in read
