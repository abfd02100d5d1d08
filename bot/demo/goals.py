"""The demo company's goals, as a goals file would write them, and the story their updates tell.

Three company objectives, each team's objective aligned to one of them, and a few personal and
development goals. Up to eight weeks of updates, written by the members' check-ins, tell a
story a manager should read in the digest: Kenji's latency result slips behind the security
review he is waiting on, Tom's onboarding result dips and recovers, Ben's quota service is
done, and Omar has stopped updating his.

The story is told over the weeks of history that fall in the current cycle: eight in the middle
of a quarter, fewer when the cycle is young. Its values are written as a share of the way a
result on pace would have come in that time (`level`), so every week of the cycle reads right:
a result "on track" is at or ahead of the expected pace, the slipping one falls behind it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.demo import company
from bot.services.goal_cycles import Cycle, expected
from bot.services.goal_progress import Confidence, Measure

# Maya is the demo's admin: company goals are hers to edit.
ADMINS = (company.DIRECTOR,)

COMPANY_GROW = "Customers stay and grow"
COMPANY_PLATFORM = "A platform teams can trust"
COMPANY_PEOPLE = "Everyone grows here"
PLATFORM_OBJECTIVE = "Halve API latency for every customer"
CUSTOMER_OBJECTIVE = "Self-serve grows 30%"
LATENCY = "p95 API latency"  # Kenji's: the one that slips


def _email(user_id: str) -> str:
    """Owners as a goals file often names them: by e-mail (the demo's people have theirs)."""
    found = company.person(user_id)
    assert found is not None
    return f"{found.handle}@example.com"


def user_of_email(email: str) -> str | None:
    """The lookup `pulsebot goals apply` makes of an owner's e-mail, for the demo's people."""
    handle = email.lower().removesuffix("@example.com")
    return next((p.user_id for p in company.PEOPLE if p.handle == handle), None)


# `pulsebot goals apply` reads this shape (`goals:`; the cycle is the demo's current one).
GOALS: list[dict[str, object]] = [
    {"title": COMPANY_GROW, "owner": _email(company.DIRECTOR), "kind": "company"},
    {"title": COMPANY_PLATFORM, "owner": _email(company.DIRECTOR), "kind": "company"},
    {"title": COMPANY_PEOPLE, "owner": _email(company.DIRECTOR), "kind": "company"},
    {
        "title": PLATFORM_OBJECTIVE,
        "owner": _email(company.PLATFORM_MANAGER),
        "kind": "team",
        "parent": COMPANY_PLATFORM,
        "key_results": [
            {"title": LATENCY, "owner": "U0KENJI", "start": 420, "target": 210, "unit": "ms"},
            {"title": "Quota service live", "owner": "U0BEN", "measure": "milestone"},
            {"title": "Pages per week", "owner": "U0CHLOE", "start": 12, "target": 4},
        ],
    },
    {
        "title": CUSTOMER_OBJECTIVE,
        "owner": _email(company.CUSTOMER_MANAGER),
        "kind": "team",
        "parent": COMPANY_GROW,
        "key_results": [
            {"title": "Self-serve MRR", "owner": "U0ZOE", "measure": "currency",
             "start": 100_000, "target": 130_000, "unit": "USD"},
            {"title": "Onboarding calls within 2 days", "owner": "U0TOM", "measure": "percent",
             "start": 60, "target": 90, "unit": "%"},
            {"title": "Churned accounts a month", "owner": "U0OMAR", "start": 14, "target": 8},
        ],
    },
    {
        "title": "The data pipeline runs itself",
        "owner": "U0PRIYA",
        "kind": "personal",
        "parent": COMPANY_PLATFORM,
        "key_results": [{"title": "Manual reruns a week", "start": 10, "target": 2}],
    },
    {
        "title": "Faster first replies",
        "owner": "U0SAM",
        "kind": "personal",
        "parent": COMPANY_GROW,
        "key_results": [
            {"title": "Median first reply", "start": 45, "target": 20, "unit": "min"},
        ],
    },
    {
        "title": "Learn the billing code",
        "owner": "U0BEN",
        "kind": "development",
        "parent": COMPANY_PEOPLE,
        "key_results": [{"title": "Billing changes shipped", "start": 0, "target": 6}],
    },
    {
        "title": "Write my own support queries",
        "owner": "U0LUCIA",
        "kind": "development",
        "visibility": "private",
        "parent": COMPANY_PEOPLE,
        "key_results": [{"title": "SQL course modules done", "start": 0, "target": 8}],
    },
]


def counts() -> tuple[int, int]:
    """(objectives, key results) the file holds."""
    results = [g.get("key_results") for g in GOALS]
    return len(GOALS), sum(len(r) for r in results if isinstance(r, list))


def created_at(cycle: Cycle) -> datetime:
    """When the goals were set: the cycle's first moment in the company's earliest zone, so no
    one's check-in in the cycle comes before its goals."""
    return min(
        datetime.combine(cycle.starts_on, time(0), tzinfo=ZoneInfo(p.tz)) for p in company.PEOPLE
    )


# ----- the story ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Beat:
    """Where a key result stands after `share` of the story, with its owner's word.

    `level`: how far along, as a share of the way a result on pace comes in the story (1.0 at
    its end is on pace; below 0 is behind where it started). A milestone is done at level 1.
    `quiet`: from here on its owner leaves it as it is.
    """

    share: float  # of the story told, 0..1
    level: float
    confidence: Confidence
    note: str = ""
    quiet: bool = False


ON, RISK, OFF = Confidence.ON_TRACK, Confidence.AT_RISK, Confidence.OFF_TRACK

# Each key result's story (by title), as beats; between two beats the value moves straight. A
# beat at 1.0 is where the story ends (now): no check-in reaches it, so it says nothing.
STORY: dict[str, tuple[Beat, ...]] = {
    LATENCY: (
        Beat(0.0, 0.0, ON),
        Beat(0.3, 0.45, ON, "caching the quota lookups"),
        Beat(0.5, 0.5, RISK, "the rest needs the quota service: it waits on the security review"),
        Beat(0.75, 0.55, OFF, "still waiting on the security review; asked twice"),
        Beat(1.0, 0.57, OFF),
    ),
    "Quota service live": (
        Beat(0.0, 0, ON),
        Beat(0.55, 0, ON, "in staging, load tests next"),
        Beat(0.8, 1, ON, "live for every workspace"),
    ),
    "Pages per week": (
        Beat(0.0, 0.0, ON),
        Beat(0.4, 0.5, ON, "noisy disk alerts gone"),
        Beat(1.0, 1.05, ON),
    ),
    "Self-serve MRR": (
        Beat(0.0, 0.0, ON),
        Beat(0.55, 0.6, ON, "pricing page test is live"),
        Beat(0.8, 0.7, RISK, "two deals slipped to next month"),
        Beat(1.0, 0.78, RISK),
    ),
    "Onboarding calls within 2 days": (
        Beat(0.0, 0.0, ON),
        Beat(0.25, 0.35, ON),
        Beat(0.3, 0.3, OFF, "two of us out sick; the queue is growing"),
        Beat(0.45, -0.3, OFF),
        Beat(0.6, 0.2, RISK, "catching up on the backlog"),
        Beat(0.8, 0.75, ON, "back to full strength; the booking links help"),
        Beat(1.0, 1.05, ON),
    ),
    "Churned accounts a month": (
        Beat(0.0, 0.0, ON),
        Beat(0.5, 0.5, ON, "exit calls with every churned account"),
        Beat(0.78, 0.85, ON, quiet=True),
    ),
    "Manual reruns a week": (
        Beat(0.0, 0.0, ON),
        Beat(0.5, 0.6, ON, "retries with backoff"),
        Beat(1.0, 1.1, ON),
    ),
    "Median first reply": (
        Beat(0.0, 0.0, ON),
        Beat(0.3, 0.3, ON, "saved replies for the ten most common questions"),
        Beat(1.0, 1.0, ON),
    ),
    "Billing changes shipped": (
        Beat(0.0, 0.0, ON),
        Beat(0.6, 0.6, ON, "paired with Priya on the invoice export"),
        Beat(1.0, 1.1, ON),
    ),
    "SQL course modules done": (
        Beat(0.0, 0.0, ON),
        Beat(0.6, 0.6, ON, "joins make sense now"),
        Beat(1.0, 1.1, ON),
    ),
}
# Values as their owners write them: MRR in steps of 500, the rest to a half or a whole.
STEP: dict[str, float] = {
    "Self-serve MRR": 500,
    "Pages per week": 0.5,
    "Churned accounts a month": 0.5,
    "Manual reruns a week": 0.5,
    "Median first reply": 0.5,
}
# A young cycle still tells the whole story: at least this share of the way is covered.
MIN_SPAN = 0.2


@dataclass(frozen=True, slots=True)
class Story:
    """The story laid over the cycle: it starts at `begins` (the cycle's start, or the oldest
    history when the cycle is older) and ends at `ends` (the demo's now)."""

    cycle: Cycle
    begins: datetime
    ends: datetime

    @property
    def _span(self) -> tuple[float, float]:
        """(where a result on pace stands when the story begins, the way it covers)."""
        first = expected(self.cycle, self.begins.date())
        last = expected(self.cycle, self.ends.date())
        return first, max(last - first, MIN_SPAN)

    def share(self, at: datetime) -> float:
        whole = (self.ends - self.begins).total_seconds()
        if whole <= 0:
            return 1.0
        return min(1.0, max(0.0, (at - self.begins).total_seconds() / whole))

    def beat(self, title: str, at: datetime) -> Beat:
        """The story's beat at `at`: the confidence and note of the last beat reached, the level
        drawn straight between it and the next, so each week moves a little."""
        share = self.share(at)
        beats = STORY[title]
        before = max((b for b in beats if b.share <= share), key=lambda b: b.share)
        after = min((b for b in beats if b.share > share), key=lambda b: b.share, default=None)
        level = before.level
        if after is not None:
            level += (after.level - before.level) * (share - before.share) / (
                after.share - before.share
            )
        return Beat(share, level, before.confidence, before.note, before.quiet)

    def value(self, title: str, measure: Measure, start: float, target: float, beat: Beat) -> float:
        """A beat's level as the result's value, as its owner would write it: in its steps,
        the part of a step already made counted toward the target (so a result in whole
        numbers on pace does not read behind it)."""
        if measure == Measure.MILESTONE:
            return 1.0 if beat.level >= 1 else 0.0
        first, span = self._span
        share = min(1.0, first + span * beat.level)
        raw = (start + (target - start) * share) / STEP.get(title, 1.0)
        steps = math.ceil(raw - 1e-9) if target > start else math.floor(raw + 1e-9)
        return round(steps * STEP.get(title, 1.0), 2)


def story(cycle: Cycle, oldest: datetime, now: datetime) -> Story:
    return Story(cycle, max(created_at(cycle), oldest), now)

