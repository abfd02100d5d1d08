"""When a check-in is due: weekdays and a local "HH:MM" in each member's own zone, as UTC instants.

Pure maths with zoneinfo. A local time is read with fold=0, which is
exactly the rule the product promises across DST changes:
- a time that spring-forward skips (02:30 in New York on 2026-03-08) is read with the offset in
  force before the jump, so it lands within the hour after it (03:30 EDT) and still prompts that
  day;
- a time that fall-back repeats (01:30 in New York on 2026-11-01) is read at its first
  occurrence (01:30 EDT), so it prompts once.
Never `tz_offset`: a fixed offset is wrong for half the year.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.services.directory import zone_or_utc

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TIME_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DURATION_PATTERN = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


@dataclass(frozen=True, slots=True)
class Slot:
    """One scheduled prompt: the member's local date and the UTC instant it is due."""

    local_date: date
    at: datetime


def parse_time(text: str) -> time:
    """ "16:00" -> time(16, 0); ValueError names what was expected."""
    match = TIME_PATTERN.match(text.strip())
    if match is None:
        raise ValueError(f'must be a 24-hour time "HH:MM" such as "16:00", got "{text}"')
    return time(int(match.group(1)), int(match.group(2)))


def parse_weekday(text: str) -> int:
    """ "mon".."sun" (or the full English name) -> 0..6, Monday first like `date.weekday()`."""
    word = text.strip().lower()
    if word in WEEKDAYS:
        return WEEKDAYS.index(word)
    if word in FULL_WEEKDAYS:
        return FULL_WEEKDAYS.index(word)
    raise ValueError(f'must be one of {", ".join(WEEKDAYS)}, got "{text}"')


def parse_duration(text: str) -> timedelta:
    """ "30m", "4h", "2d", "1h30m" -> timedelta; ValueError for anything else or zero."""
    cleaned = text.strip().lower().replace(" ", "")
    match = DURATION_PATTERN.match(cleaned)
    if not cleaned or match is None:
        raise ValueError(f'must be a duration such as "30m", "4h" or "2d", got "{text}"')
    days, hours, minutes = (int(part or 0) for part in match.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes)
    if duration <= timedelta(0):
        raise ValueError(f'must be longer than zero, got "{text}"')
    return duration


def format_duration(duration: timedelta) -> str:
    """The inverse of `parse_duration`, shortest form: 90 minutes -> "1h30m"."""
    minutes = int(duration.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return "".join(parts) or "0m"


def local_instant(local_date: date, at: time, tz: str | ZoneInfo | None) -> datetime:
    """The UTC instant of `at` on `local_date` in `tz` (None -> UTC), read with fold=0."""
    zone = tz if isinstance(tz, ZoneInfo) else zone_or_utc(tz)
    wall = datetime.combine(local_date, at.replace(fold=0), tzinfo=zone)
    return wall.astimezone(UTC)


def last_slot(
    weekdays: Iterable[int | str], at: time, tz: str | ZoneInfo | None, end: datetime
) -> Slot | None:
    """The latest scheduled instant at or before `end` (within a fortnight), with its local
    date: the one slot that tells whether anything is due since a member's last written date,
    since every earlier slot is older and of an earlier date."""
    days = _weekday_set(weekdays)
    zone = tz if isinstance(tz, ZoneInfo) else zone_or_utc(tz)
    local_date = end.astimezone(zone).date() + timedelta(days=1)
    for _ in range(16):
        if local_date.weekday() in days:
            instant = local_instant(local_date, at, zone)
            if instant <= end:
                return Slot(local_date, instant)
        local_date -= timedelta(days=1)
    return None


def slots_between(
    weekdays: Iterable[int | str],
    at: time,
    tz: str | ZoneInfo | None,
    start: datetime,
    end: datetime,
) -> list[Slot]:
    """Every scheduled instant in [start, end], oldest first, with the member's local date.

    `start` and `end` are aware instants; the local dates are walked one by one so a DST change
    inside the window moves only the days after it.
    """
    days = _weekday_set(weekdays)
    zone = tz if isinstance(tz, ZoneInfo) else zone_or_utc(tz)
    if not days or end < start:
        return []
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    slots = []
    for local_date in _dates(first, last):
        if local_date.weekday() not in days:
            continue
        instant = local_instant(local_date, at, zone)
        if start <= instant <= end:
            slots.append(Slot(local_date, instant))
    return slots


def next_slot(
    weekdays: Iterable[int | str], at: time, tz: str | ZoneInfo | None, after: datetime
) -> Slot | None:
    """The first scheduled instant strictly after `after` (within two weeks): "next check-in"."""
    for slot in slots_between(weekdays, at, tz, after, after + timedelta(days=15)):
        if slot.at > after:
            return slot
    return None


def _weekday_set(weekdays: Iterable[int | str]) -> set[int]:
    return {day if isinstance(day, int) else parse_weekday(day) for day in weekdays}


def _dates(first: date, last: date) -> Iterator[date]:
    current = first
    while current <= last:
        yield current
        current += timedelta(days=1)


def weekday_names(days: Sequence[int | str]) -> list[str]:
    """Normalised, Monday-first names without repeats: ["fri", "Mon"] -> ["mon", "fri"]."""
    return [WEEKDAYS[i] for i in sorted(_weekday_set(days))]
