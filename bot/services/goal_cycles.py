"""Goal cycles: a quarter, a half or a year, named `2030-Q1`, `2030-H2` or `2030`.

A cycle is a name, not a row: its dates follow from the name, so a goals file, a command and
the minute job agree on them without a table to keep in step. Every function is pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

CycleKind = Literal["quarter", "half", "year"]

_NAME = re.compile(r"^(?P<year>\d{4})(?:-(?P<part>[QH])(?P<n>\d))?$")


class BadCycle(ValueError):
    """A name that is no cycle: the message says which forms are."""


@dataclass(frozen=True, slots=True)
class Cycle:
    """A cycle's name and its first and last day, both inclusive."""

    name: str
    starts_on: date
    ends_on: date

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1

    def contains(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


def parse(name: str) -> Cycle:
    """The cycle a name stands for; `BadCycle` for anything else (`2030-Q5`, `Q1`, `2030-q1`)."""
    match = _NAME.match(name.strip())
    if not match:
        raise BadCycle(f"{name!r} is not a cycle: write 2030-Q1, 2030-H1 or 2030.")
    year = int(match["year"])
    part, n = match["part"], match["n"]
    if part is None:
        return Cycle(f"{year}", date(year, 1, 1), date(year, 12, 31))
    count = 4 if part == "Q" else 2
    index = int(n)
    if not 1 <= index <= count:
        raise BadCycle(f"{name!r} is not a cycle: a year has {part}1 to {part}{count}.")
    months = 12 // count
    first_month = (index - 1) * months + 1
    starts_on = date(year, first_month, 1)
    ends_on = _first_of_next(year, first_month + months - 1) - timedelta(days=1)
    return Cycle(f"{year}-{part}{index}", starts_on, ends_on)


def cycle_of(day: date, kind: CycleKind) -> Cycle:
    """The cycle of `kind` that holds `day`."""
    if kind == "year":
        return parse(f"{day.year}")
    if kind == "half":
        return parse(f"{day.year}-H{1 if day.month <= 6 else 2}")
    return parse(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


def following(cycle: Cycle) -> Cycle:
    """The cycle after this one, of the same kind: where carried-over objectives go."""
    day_after = cycle.ends_on + timedelta(days=1)
    if "-Q" in cycle.name:
        return cycle_of(day_after, "quarter")
    if "-H" in cycle.name:
        return cycle_of(day_after, "half")
    return cycle_of(day_after, "year")


def expected(cycle: Cycle, today: date) -> float:
    """The share of the cycle elapsed: 0.0 on its first day, 1.0 on its last (clamped
    outside), so nothing is behind on day one and a result judged on the last day is held to
    its whole target."""
    if cycle.days <= 1:
        return 1.0
    elapsed = (today - cycle.starts_on).days / (cycle.days - 1)
    return min(1.0, max(0.0, elapsed))


def _first_of_next(year: int, month: int) -> date:
    return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
