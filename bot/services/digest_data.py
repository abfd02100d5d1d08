"""The weekly digest as plain data: what `digest_compute.compute` returns, what the `digests`
row keeps as JSON (the copy that was sent, which `/checkin digest` shows afterwards), and what
handlers/blocks/digest.py renders.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from bot.services.states import EmptyReason


@dataclass
class Blocker:
    user_id: str  # who raised it
    template: str
    question: str
    text: str  # what blocks, or digest_rules.NO_DETAILS for a "yes" that did not say
    still_open: bool  # reported the week before too
    weeks: int = 1  # how many weeks running it has been reported, this one included


@dataclass
class Absent:
    """Someone on the team who did not answer this week, and how: skipped, missed, open (may
    still answer) or away (never asked)."""

    user_id: str
    outcome: str


@dataclass
class TalkTo:
    user_id: str
    reasons: list[str]
    last_pulse: float | None = None
    trend: list[float | None] = field(default_factory=list)  # the last 4 weeks, oldest first


@dataclass
class TemplateLine:
    name: str
    answered: int
    prompted: int
    change: float | None  # percentage points against last week
    missed: list[str]
    still_open: list[str]
    skipped: list[str] = field(default_factory=list)


@dataclass
class AnswerLine:
    """One person's week of answers to the manager's own check-ins, on one line: View more
    opens them whole."""

    user_id: str
    occurrence_id: int  # their latest answer of the week
    template: str
    summary: str  # every answer, cut short (App Home's copy; the digest shows `gist`)
    replied: bool
    occurrence_ids: list[int] = field(default_factory=list)  # every answer of the week
    pulse: float | None = None  # their pulse that week
    gist: str = ""  # the first words of their answer
    blocker: str | None = None  # what blocks them, as the Blockers section says it


@dataclass
class SkipLine:
    manager_id: str
    size: int
    answered: int
    prompted: int
    pulse: float | None
    change: float | None
    too_small: bool


@dataclass
class ChartWeek:
    label: str
    pulse: float | None
    participation: float | None  # 0..1
    # Some of its check-ins were still open: its numbers may yet change, so it must not be
    # drawn or read as a fall.
    unfinished: bool = False


@dataclass
class GoalLine:
    """A team objective as the covered week ended: progress, its change over the week, the
    share of the cycle elapsed (what it should have by then) and its status."""

    objective_id: int
    title: str
    user_id: str  # its owner (named so, as every person in a stored digest is)
    progress: float | None  # None: it has no key results
    change: float | None  # percentage points since the week before; None: new this week
    expected: float  # 0..1
    status: str | None  # on_track | at_risk | off_track; None with no key results


@dataclass
class GoalFlag:
    """A key result at risk, off track or stale at the week's end, with its owner's last note."""

    result_id: int
    title: str
    objective: str
    user_id: str  # the key result's owner
    status: str
    progress: float
    note: str = ""
    stale_days: int | None = None  # days without an update, when stale
    milestone: bool = False  # done or not: no share of the way to tell


@dataclass
class DigestData:
    manager_id: str
    iso_week: str
    week_start: str  # ISO date of the Monday
    week_label: str
    sent: bool = False
    empty_reason: EmptyReason | None = None
    reports: list[str] = field(default_factory=list)
    # People: who answered at least one check-in, of those asked (away people are not).
    people_answered: int = 0
    people_prompted: int = 0
    absent: list[Absent] = field(default_factory=list)  # everyone who did not answer, and how
    answered: int = 0
    prompted: int = 0
    still_open: int = 0
    pulse: float | None = None
    pulse_people: int = 0  # whose pulse the average is
    no_pulse: list[str] = field(default_factory=list)  # answered, but gave no pulse
    pulse_change: float | None = None  # against last week, for the same people
    pulse_change_people: int = 0
    spread: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])
    blockers: list[Blocker] = field(default_factory=list)
    talk_to: list[TalkTo] = field(default_factory=list)
    participation: list[TemplateLine] = field(default_factory=list)
    other_answered: int = 0
    other_prompted: int = 0
    answers: list[AnswerLine] = field(default_factory=list)
    named_notes: list[tuple[str, str]] = field(default_factory=list)  # (author, text)
    anonymous_notes: list[str] = field(default_factory=list)  # never stored: see `stored_json`
    anonymous_released: int = 0
    anonymous_weeks: int = 0  # the released notes were written in the last N weeks
    anonymity_min: int = 3
    kudos: int = 0  # received by the team, one per person thanked
    value_tags: int = 0
    kudos_by_value: list[tuple[str, int]] = field(default_factory=list)
    kudos_by_goal: list[tuple[str, int]] = field(default_factory=list)  # (objective, kudos)
    no_kudos: list[str] = field(default_factory=list)
    replied: int = 0  # answers (check-ins, not people) the manager replied to
    skip_level: list[SkipLine] = field(default_factory=list)
    chart: list[ChartWeek] = field(default_factory=list)
    # Goals, as the covered week ended: the cycle, the share of it elapsed, the team objectives,
    # the key results at risk or off track, and the stale ones. `goals_cycle` empty: the team
    # has no goals in the cycle, and the digest has no Goals section.
    goals_cycle: str = ""
    goals_expected: float | None = None
    goals: list[GoalLine] = field(default_factory=list)
    goal_flags: list[GoalFlag] = field(default_factory=list)
    goal_stale: list[GoalFlag] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def has_chart(self) -> bool:
        """Whether the 8-week chart has anything to draw: a manager with no check-ins of their
        own gets none rather than an empty frame."""
        return any(w.pulse is not None or w.participation is not None for w in self.chart)

    def leads_with_teams(self) -> bool:
        """A manager of managers with no check-in of their own this week: their digest is their
        teams' (the skip-level lines), not "0 of 0 answered"."""
        return bool(self.skip_level) and self.empty_reason == EmptyReason.NO_CHECKINS

    def answer_count(self) -> int:
        """The answers the Answers section holds, in check-ins (a person may answer twice a
        week), which follow-through counts replies against."""
        return sum(len(a.occurrence_ids) or 1 for a in self.answers)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DigestData:
        """A stored digest, whatever fields it was written with: one sent before a field was
        added reads with its default, one whose field is gone reads without it."""
        nested: dict[str, Any] = {
            "absent": Absent,
            "blockers": Blocker,
            "talk_to": TalkTo,
            "participation": TemplateLine,
            "answers": AnswerLine,
            "skip_level": SkipLine,
            "chart": ChartWeek,
            "goals": GoalLine,
            "goal_flags": GoalFlag,
            "goal_stale": GoalFlag,
        }
        known = {f.name for f in fields(cls)}
        values = {name: value for name, value in data.items() if name in known}
        for name, kind in nested.items():
            names = {f.name for f in fields(kind)}
            values[name] = [
                kind(**{k: v for k, v in item.items() if k in names})
                for item in data.get(name) or []
            ]
        values["named_notes"] = [tuple(n) for n in data.get("named_notes") or []]
        values["kudos_by_value"] = [tuple(k) for k in data.get("kudos_by_value") or []]
        values["kudos_by_goal"] = [tuple(k) for k in data.get("kudos_by_goal") or []]
        if data.get("empty_reason") is not None:
            values["empty_reason"] = EmptyReason(data["empty_reason"])
        return cls(**values)

    def stored_json(self) -> dict[str, Any]:
        """What the `digests` row keeps: everything but the anonymous notes' text, which sits
        beside the names of who answered; only the released count is kept."""
        data = self.to_json()
        data["anonymous_notes"] = []
        return data

    def without_anonymous(self) -> DigestData:
        """What a preview may show: no anonymous note, no count of them."""
        copy = DigestData.from_json(self.to_json())
        copy.anonymous_notes = []
        copy.anonymous_released = 0
        copy.anonymous_weeks = 0
        return copy


@dataclass(frozen=True, slots=True)
class Built:
    data: DigestData
    released_note_ids: list[str]  # anonymous notes this (sent) digest releases
    # This (sent) digest's span of weeks had enough answerers to release whatever waited:
    # kept with the digest, since the next span starts after it.
    anonymity_met: bool = False
