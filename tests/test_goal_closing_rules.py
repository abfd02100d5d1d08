"""The cycle end's pure rules at their edges: which cycles end near an instant, when an owner is
asked (their local last day from 09:00, a week of catch-up), and what a final score may be."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.services.goal_closing import cycles_ending_near, is_due, parse_score
from bot.services.goal_cycles import parse

Q1 = parse("2037-Q1")  # its last day: 31 March 2037


@pytest.mark.parametrize(
    ("now", "names"),
    [
        (datetime(2037, 2, 15, 12, tzinfo=UTC), []),  # mid-quarter: nothing is read
        (datetime(2037, 3, 30, 12, tzinfo=UTC), ["2037-Q1"]),  # a zone ahead is there already
        (datetime(2037, 4, 8, 12, tzinfo=UTC), ["2037-Q1"]),  # the last day of catch-up
        (datetime(2037, 4, 10, 12, tzinfo=UTC), []),
        (datetime(2037, 6, 30, 12, tzinfo=UTC), ["2037-H1", "2037-Q2"]),
        (datetime(2037, 12, 31, 12, tzinfo=UTC), ["2037", "2037-H2", "2037-Q4"]),
        (datetime(2038, 1, 3, 12, tzinfo=UTC), ["2037", "2037-H2", "2037-Q4"]),
    ],
)
def test_cycles_ending_near(now: datetime, names: list[str]) -> None:
    assert [c.name for c in cycles_ending_near(now)] == names


NEW_YORK, TOKYO = ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    ("local", "due"),
    [
        (datetime(2037, 3, 30, 23, 59, tzinfo=NEW_YORK), False),  # the day before
        (datetime(2037, 3, 31, 8, 59, tzinfo=NEW_YORK), False),  # too early on the last day
        (datetime(2037, 3, 31, 9, 0, tzinfo=NEW_YORK), True),
        (datetime(2037, 3, 31, 9, 0, tzinfo=TOKYO), True),  # still 30 March in UTC
        (datetime(2037, 4, 1, 0, 0, tzinfo=TOKYO), True),  # a missed day is caught up
        (datetime(2037, 4, 7, 23, 59, tzinfo=NEW_YORK), True),  # up to a week after
        (datetime(2037, 4, 8, 0, 0, tzinfo=NEW_YORK), False),
    ],
)
def test_an_owner_is_asked_from_nine_on_their_last_day_and_for_a_week(
    local: datetime, due: bool
) -> None:
    assert is_due(Q1, local) is due


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("0.7", 0.7),
        (" 0,7 ", 0.7),
        ("70%", 0.7),
        ("0", 0.0),
        ("1", 1.0),
        ("1.01", None),
        ("-0.1", None),
        ("", None),
        ("lots", None),
        ("nan", None),
    ],
)
def test_a_final_score_is_a_number_from_0_to_1(text: str, score: float | None) -> None:
    assert parse_score(text) == score
