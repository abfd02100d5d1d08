"""The goal rules at their edges: progress, pace, status, staleness, cycles and permissions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.services.goal_access import (
    NOT_FOUND,
    Asker,
    GoalKind,
    GoalOwnership,
    GoalRefused,
    Visibility,
    can_create,
    can_edit,
    can_read,
    require_update,
)
from bot.services.goal_cycles import BadCycle, cycle_of, expected, following, parse
from bot.services.goal_progress import (
    Confidence,
    Measure,
    ResultNumbers,
    bar,
    is_stale,
    objective_progress,
    objective_status,
    progress,
    status,
)

ON, RISK, OFF = Confidence.ON_TRACK, Confidence.AT_RISK, Confidence.OFF_TRACK
Q1 = parse("2037-Q1")  # 1 Jan - 31 Mar 2037: 90 days


def kr(
    start: float = 0,
    target: float = 100,
    current: float = 0,
    *,
    measure: Measure = Measure.NUMBER,
    weight: float = 1.0,
    confidence: Confidence | None = None,
) -> ResultNumbers:
    return ResultNumbers(measure, start, target, current, weight, confidence)


@pytest.mark.parametrize(
    ("result", "expected_progress"),
    [
        (kr(0, 100, 50), 0.5),
        (kr(100_000, 130_000, 112_000), 0.4),
        (kr(100, 130, 90), 0.0),  # below the start: clamped
        (kr(0, 100, 150), 1.0),  # past the target: clamped
        (kr(40, 10, 40), 0.0),  # decreasing, not started
        (kr(40, 10, 25), 0.5),  # decreasing, half way down
        (kr(40, 10, 5), 1.0),  # decreasing, past the target
        (kr(40, 10, 50), 0.0),  # decreasing, went the wrong way
        (kr(0, 1, 0, measure=Measure.MILESTONE), 0.0),
        (kr(0, 1, 1, measure=Measure.MILESTONE), 1.0),
        (kr(5, 5, 5), 1.0),  # a degenerate span met
        (kr(5, 5, 4), 0.0),
    ],
)
def test_progress(result: ResultNumbers, expected_progress: float) -> None:
    assert progress(result) == pytest.approx(expected_progress)


@pytest.mark.parametrize(
    ("day", "share"),
    [
        (date(2036, 12, 31), 0.0),  # before the cycle
        (date(2037, 1, 1), 0.0),  # its first day
        (date(2037, 2, 15), 45 / 89),
        (date(2037, 3, 31), 1.0),  # its last day
        (date(2037, 4, 1), 1.0),  # after it
    ],
)
def test_expected_pace(day: date, share: float) -> None:
    assert expected(Q1, day) == pytest.approx(share)


MID = date(2037, 2, 15)  # expected ~0.51


@pytest.mark.parametrize(
    ("result", "day", "want"),
    [
        (kr(current=0), date(2037, 1, 1), ON),  # first day: nothing expected yet
        (kr(current=40), MID, ON),  # 11 points behind
        (kr(current=33), MID, RISK),  # 18 behind
        (kr(current=17), MID, OFF),  # 34 behind
        (kr(current=40, confidence=OFF), MID, OFF),  # the owner's word is worse than the pace
        (kr(current=17, confidence=ON), MID, OFF),  # the pace is worse than the owner's word
        (kr(current=82), date(2037, 3, 31), RISK),  # last day: the whole target is expected
        (kr(current=100, confidence=OFF), MID, ON),  # done is on track, whatever was said
        (kr(current=0, measure=Measure.MILESTONE), MID, ON),  # milestones: no partial pace
        (kr(current=0, measure=Measure.MILESTONE, confidence=RISK), MID, RISK),
        (kr(current=0, measure=Measure.MILESTONE), date(2037, 3, 31), OFF),
        (kr(40, 10, 30), MID, RISK),  # decreasing: a third of the way down, half the time gone
        (kr(current=0), MID, OFF),  # no update yet: judged on the pace alone
    ],
)
def test_status(result: ResultNumbers, day: date, want: Confidence) -> None:
    assert status(result, Q1, day) == want


def test_decreasing_target_at_the_pace_is_on_track() -> None:
    assert status(kr(40, 10, 25), Q1, MID) == ON


NOW = datetime(2037, 2, 15, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last_update", "created", "stale"),
    [
        (NOW - timedelta(days=13, hours=23), None, False),
        (NOW - timedelta(days=14), None, True),
        (None, NOW - timedelta(days=1), False),  # new, no update yet: not stale
        (None, NOW - timedelta(days=20), True),  # never updated since it was made
        (None, None, True),
    ],
)
def test_staleness(last_update: datetime | None, created: datetime | None, stale: bool) -> None:
    result = ResultNumbers(Measure.NUMBER, 0, 100, 10, 1.0, None, last_update, created)
    assert is_stale(result, NOW, 14) is stale


def test_a_result_at_its_target_is_never_stale() -> None:
    done = ResultNumbers(Measure.NUMBER, 0, 100, 100, 1.0, None, None, NOW - timedelta(days=99))
    assert not is_stale(done, NOW, 14)


@pytest.mark.parametrize(
    ("results", "want"),
    [
        ([], None),  # no key results: nothing to measure, not 0%
        ([kr(current=50)], 0.5),
        ([kr(current=100, weight=3), kr(current=0, weight=1)], 0.75),
        ([kr(current=100, weight=0), kr(current=0, weight=1)], 0.0),
        ([kr(current=100, weight=0), kr(current=50, weight=0)], 0.75),  # all zero: equal
    ],
)
def test_objective_progress(results: list[ResultNumbers], want: float | None) -> None:
    assert objective_progress(results) == (pytest.approx(want) if want is not None else None)


def test_objective_takes_its_weakest_result_status() -> None:
    assert objective_status([kr(current=60), kr(current=17), kr(current=33)], Q1, MID) == OFF
    assert objective_status([], Q1, MID) is None


@pytest.mark.parametrize(
    ("share", "text"),
    [(0.52, "▓▓▓▓▓░░░░░ 52%"), (0.0, "░░░░░░░░░░ 0%"), (1.0, "▓▓▓▓▓▓▓▓▓▓ 100%"), (None, None)],
)
def test_bar(share: float | None, text: str | None) -> None:
    assert bar(share) == (text or "no key results")


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("2037-Q1", date(2037, 1, 1), date(2037, 3, 31)),
        ("2037-Q4", date(2037, 10, 1), date(2037, 12, 31)),
        ("2036-Q1", date(2036, 1, 1), date(2036, 3, 31)),  # a leap year's quarter
        ("2037-H2", date(2037, 7, 1), date(2037, 12, 31)),
        ("2037", date(2037, 1, 1), date(2037, 12, 31)),
    ],
)
def test_cycle_bounds(name: str, first: date, last: date) -> None:
    cycle = parse(name)
    assert (cycle.name, cycle.starts_on, cycle.ends_on) == (name, first, last)


@pytest.mark.parametrize("name", ["2037-Q5", "2037-Q0", "2037-H3", "Q1", "2037-q1", "", "37-Q1"])
def test_bad_cycle_names(name: str) -> None:
    with pytest.raises(BadCycle):
        parse(name)


def test_cycle_of_and_following() -> None:
    assert cycle_of(date(2037, 3, 31), "quarter").name == "2037-Q1"
    assert cycle_of(date(2037, 4, 1), "quarter").name == "2037-Q2"
    assert cycle_of(date(2037, 7, 1), "half").name == "2037-H2"
    assert following(parse("2037-Q4")).name == "2038-Q1"
    assert following(parse("2037-H1")).name == "2037-H2"
    assert following(parse("2037")).name == "2038"


ANA, BEN, CEO, PEER = "UANA", "UBEN", "UCEO", "UPEER"
BEN_PRIVATE = GoalOwnership(GoalKind.PERSONAL, Visibility.PRIVATE, BEN, (ANA, CEO))
BEN_PUBLIC = GoalOwnership(GoalKind.PERSONAL, Visibility.PUBLIC, BEN, (ANA, CEO))
COMPANY = GoalOwnership(GoalKind.COMPANY, Visibility.PUBLIC, CEO, ())


@pytest.mark.parametrize(
    ("asker", "goal", "read", "edit"),
    [
        (Asker(BEN), BEN_PRIVATE, True, True),
        (Asker(ANA), BEN_PRIVATE, True, True),  # the manager
        (Asker(CEO), BEN_PRIVATE, True, True),  # the manager's manager
        (Asker(PEER), BEN_PRIVATE, False, False),
        (Asker(PEER, is_admin=True), BEN_PRIVATE, False, False),  # admins see no private goal
        (Asker(PEER), BEN_PUBLIC, True, False),
        (Asker(CEO), COMPANY, True, False),  # owning a company goal is not enough: admins edit
        (Asker(PEER, is_admin=True), COMPANY, True, True),
    ],
)
def test_read_and_edit(asker: Asker, goal: GoalOwnership, read: bool, edit: bool) -> None:
    assert (can_read(asker, goal), can_edit(asker, goal)) == (read, edit)


def test_only_admins_create_company_goals() -> None:
    assert not can_create(Asker(PEER), GoalKind.COMPANY)
    assert can_create(Asker(PEER, is_admin=True), GoalKind.COMPANY)
    assert can_create(Asker(PEER), GoalKind.TEAM)


def test_a_hidden_goal_and_a_missing_one_are_refused_alike() -> None:
    with pytest.raises(GoalRefused) as hidden:
        require_update(Asker(PEER), BEN_PRIVATE)
    with pytest.raises(GoalRefused) as missing:
        require_update(Asker(PEER), None)
    assert hidden.value.message == missing.value.message == NOT_FOUND


def test_a_readable_result_of_someone_else_is_refused_for_update() -> None:
    with pytest.raises(GoalRefused) as refused:
        require_update(Asker(PEER), BEN_PUBLIC)
    assert refused.value.message != NOT_FOUND
    owned_result = GoalOwnership(GoalKind.COMPANY, Visibility.PUBLIC, CEO, (), result_owner_id=BEN)
    assert require_update(Asker(BEN), owned_result) is owned_result
