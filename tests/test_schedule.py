"""Scheduling maths: local times in each member's zone, DST included."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.services.schedule import (
    format_duration,
    last_slot,
    local_instant,
    next_slot,
    parse_duration,
    parse_time,
    parse_weekday,
    slots_between,
    weekday_names,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ----- local instants ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "day", "at", "expected"),
    [
        # New York, spring forward 2037-03-08 02:00 -> 03:00: 02:30 does not exist; it is read
        # with the pre-jump offset (EST, -5) and lands at 03:30 EDT, within the hour after.
        ("America/New_York", date(2037, 3, 8), "02:30", utc(2037, 3, 8, 7, 30)),
        # The day before and after the jump keep their own offsets.
        ("America/New_York", date(2037, 3, 7), "02:30", utc(2037, 3, 7, 7, 30)),
        ("America/New_York", date(2037, 3, 9), "02:30", utc(2037, 3, 9, 6, 30)),
        # New York, fall back 2037-11-01 02:00 -> 01:00: 01:30 happens twice; the first (EDT).
        ("America/New_York", date(2037, 11, 1), "01:30", utc(2037, 11, 1, 5, 30)),
        ("America/New_York", date(2037, 11, 2), "01:30", utc(2037, 11, 2, 6, 30)),
        # London: 2037-03-29 01:00 -> 02:00 (01:30 skipped), 2037-10-25 02:00 -> 01:00.
        ("Europe/London", date(2037, 3, 29), "01:30", utc(2037, 3, 29, 1, 30)),
        ("Europe/London", date(2037, 10, 25), "01:30", utc(2037, 10, 25, 0, 30)),
        ("Europe/London", date(2037, 7, 1), "09:00", utc(2037, 7, 1, 8, 0)),
        # Sydney's DST is the other way round: starts 2037-10-04 02:00 -> 03:00 ...
        ("Australia/Sydney", date(2037, 10, 4), "02:30", utc(2037, 10, 3, 16, 30)),
        # ... and ends 2037-04-05 03:00 -> 02:00: 02:30 twice, the first is AEDT (+11).
        ("Australia/Sydney", date(2037, 4, 5), "02:30", utc(2037, 4, 4, 15, 30)),
        ("Australia/Sydney", date(2037, 7, 3), "16:00", utc(2037, 7, 3, 6, 0)),
        ("Australia/Sydney", date(2037, 12, 4), "16:00", utc(2037, 12, 4, 5, 0)),
        # Kolkata has no DST and a half-hour offset.
        ("Asia/Kolkata", date(2037, 3, 8), "09:00", utc(2037, 3, 8, 3, 30)),
        ("Asia/Kolkata", date(2037, 11, 1), "09:00", utc(2037, 11, 1, 3, 30)),
        # No zone known: UTC.
        (None, date(2037, 3, 8), "09:00", utc(2037, 3, 8, 9, 0)),
        ("Not/AZone", date(2037, 3, 8), "09:00", utc(2037, 3, 8, 9, 0)),
    ],
)
def test_local_instant(tz: str | None, day: date, at: str, expected: datetime) -> None:
    assert local_instant(day, parse_time(at), tz) == expected


def test_repeated_hour_is_prompted_once_in_a_window_covering_both_readings() -> None:
    slots = slots_between(
        ["sun"], time(1, 30), "America/New_York", utc(2037, 11, 1, 0), utc(2037, 11, 1, 12)
    )
    assert [s.at for s in slots] == [utc(2037, 11, 1, 5, 30)]
    assert slots[0].local_date == date(2037, 11, 1)


def test_skipped_hour_still_prompts_that_day_within_the_hour_after_the_jump() -> None:
    slots = slots_between(
        ["sun"], time(2, 30), "America/New_York", utc(2037, 3, 8, 0), utc(2037, 3, 9, 0)
    )
    assert len(slots) == 1
    jump = utc(2037, 3, 8, 7, 0)  # 02:00 EST == 03:00 EDT
    assert jump <= slots[0].at < jump + timedelta(hours=1)
    assert slots[0].local_date == date(2037, 3, 8)


# ----- windows ----------------------------------------------------------------------------------


def test_slots_between_a_week_in_new_york_across_spring_forward() -> None:
    slots = slots_between(
        ["mon", "wed", "fri", "sun"],
        time(9, 0),
        "America/New_York",
        utc(2037, 3, 6, 0),
        utc(2037, 3, 13, 0),
    )
    assert [(s.local_date, s.at) for s in slots] == [
        (date(2037, 3, 6), utc(2037, 3, 6, 14)),  # Fri, EST
        (date(2037, 3, 8), utc(2037, 3, 8, 13)),  # Sun, EDT from 03:00 that day
        (date(2037, 3, 9), utc(2037, 3, 9, 13)),
        (date(2037, 3, 11), utc(2037, 3, 11, 13)),
    ]


def test_local_date_is_the_members_date_not_utcs() -> None:
    # Friday 08:00 in Sydney is Thursday 21:00 UTC.
    slots = slots_between(
        ["fri"], time(8, 0), "Australia/Sydney", utc(2037, 11, 26, 0), utc(2037, 11, 27, 0)
    )
    assert [(s.local_date, s.at) for s in slots] == [(date(2037, 11, 27), utc(2037, 11, 26, 21))]


def test_window_bounds_are_inclusive_and_ordered() -> None:
    at = utc(2037, 11, 27, 16)
    assert [s.at for s in slots_between(["fri"], time(16), None, at, at)] == [at]
    assert (
        slots_between(["fri"], time(16), None, at + timedelta(seconds=1), at + timedelta(1)) == []
    )
    assert slots_between(["fri"], time(16), None, at, at - timedelta(seconds=1)) == []
    assert slots_between([], time(16), None, at - timedelta(30), at) == []


def test_next_slot_is_strictly_after() -> None:
    at = utc(2037, 11, 27, 16)
    nxt = next_slot(["fri"], time(16), None, at)
    assert nxt is not None and nxt.at == at + timedelta(days=7)
    nxt = next_slot(["fri"], time(16), None, at - timedelta(minutes=1))
    assert nxt is not None and nxt.at == at


@pytest.mark.parametrize(
    ("days", "at", "tz", "end"),
    [
        (["fri"], time(16), None, utc(2037, 11, 27, 16)),  # exactly at the slot: it counts
        (["fri"], time(16), None, utc(2037, 11, 27, 15, 59)),  # a minute before: last week's
        (["mon", "fri"], time(9), "Asia/Tokyo", utc(2037, 11, 27, 0, 30)),  # Friday there
        (["fri"], time(8), "Australia/Sydney", utc(2037, 11, 26, 21)),  # Thursday in UTC
        (["sun"], time(2, 30), "America/New_York", utc(2037, 3, 8, 12)),  # skipped by DST
        (["sun"], time(1, 30), "America/New_York", utc(2037, 11, 1, 7)),  # repeated by DST
        (["mon", "tue", "wed", "thu", "fri", "sat", "sun"], time(0), "Pacific/Kiritimati",
         utc(2037, 11, 27, 10)),
    ],
)
def test_last_slot_is_the_last_of_the_fortnights_slots(
    days: list[str], at: time, tz: str | None, end: datetime
) -> None:
    """What the minute job's first read asks: the latest slot at or before `end`, the same
    as the last one `slots_between` walks to over the catch-up horizon."""
    walked = slots_between(days, at, tz, end - timedelta(days=14), end)
    assert last_slot(days, at, tz, end) == walked[-1]


def test_last_slot_without_weekdays_is_none() -> None:
    assert last_slot([], time(9), None, utc(2037, 11, 27, 16)) is None


# ----- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(minutes=90)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "0m", "4", "h", "4 hours", "-1h", "1.5h", "30s", "1m1h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|longer than zero"):
        parse_duration(text)


def test_format_duration_round_trips() -> None:
    for text in ("30m", "4h", "2d", "1h30m", "1d2h3m"):
        assert format_duration(parse_duration(text)) == text


@pytest.mark.parametrize("text", ["24:00", "9", "16:60", "4pm", "", "16.00", "-1:00"])
def test_parse_time_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_time(text)


def test_parse_time_and_weekdays() -> None:
    assert parse_time("00:00") == time(0, 0)
    assert parse_time("23:59") == time(23, 59)
    assert parse_weekday("Fri") == 4
    assert parse_weekday("sunday") == 6
    assert weekday_names(["fri", "Mon", "fri"]) == ["mon", "fri"]
    for bad in ("fr", "fry", "mondays", ""):
        with pytest.raises(ValueError, match="one of mon"):
            parse_weekday(bad)
