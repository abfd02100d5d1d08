"""The weekly digest as plain data: what `digest_compute.compute` returns, what the `digests`
row keeps as JSON (the copy that was sent, which `/checkin digest` shows afterwards), and what
handlers/blocks/digest.py renders.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bot.services.states import EmptyReason


@dataclass
class Blocker:
    user_id: str
    template: str
    question: str
    text: str
    still_open: bool


@dataclass
class TalkTo:
    user_id: str
    reasons: list[str]


@dataclass
class TemplateLine:
    name: str
    answered: int
    prompted: int
    change: float | None  # percentage points against last week
    missed: list[str]
    still_open: list[str]


@dataclass
class AnswerLine:
    user_id: str
    occurrence_id: int
    template: str
    summary: str
    replied: bool


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


@dataclass
class DigestData:
    manager_id: str
    iso_week: str
    week_start: str  # ISO date of the Monday
    week_label: str
    sent: bool = False
    empty_reason: EmptyReason | None = None
    reports: list[str] = field(default_factory=list)
    people_answered: int = 0
    people_prompted: int = 0
    answered: int = 0
    prompted: int = 0
    still_open: int = 0
    pulse: float | None = None
    pulse_change: float | None = None
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
    anonymous_waiting: int = 0
    anonymity_min: int = 3
    kudos: int = 0
    kudos_by_value: list[tuple[str, int]] = field(default_factory=list)
    no_kudos: list[str] = field(default_factory=list)
    replied: int = 0
    skip_level: list[SkipLine] = field(default_factory=list)
    chart: list[ChartWeek] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DigestData:
        nested: dict[str, Any] = {
            "blockers": Blocker,
            "talk_to": TalkTo,
            "participation": TemplateLine,
            "answers": AnswerLine,
            "skip_level": SkipLine,
            "chart": ChartWeek,
        }
        values = dict(data)
        for name, kind in nested.items():
            values[name] = [kind(**item) for item in data.get(name) or []]
        values["named_notes"] = [tuple(n) for n in data.get("named_notes") or []]
        values["kudos_by_value"] = [tuple(k) for k in data.get("kudos_by_value") or []]
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
        copy.anonymous_waiting = 0
        return copy


@dataclass(frozen=True, slots=True)
class Built:
    data: DigestData
    released_note_ids: list[str]  # anonymous notes this (sent) digest releases
