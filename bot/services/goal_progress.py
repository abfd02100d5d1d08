"""Progress, pace, status and staleness of key results and objectives: computed, never stored.

Each is a pure function of a key result's numbers, its last update and the date, so the
digest, `/goals`, App Home and the CLI agree, and each edge is pinned by a table of cases:
a decreasing target, a milestone, no update yet, the cycle's first and last day, weights, an
objective with no key results.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.services.goal_cycles import Cycle, expected

# Behind the expected pace by more than this share of the way: at risk; by more than the
# second: off track.
AT_RISK_GAP = 0.17
OFF_TRACK_GAP = 0.33


class Measure(StrEnum):
    NUMBER = "number"
    PERCENT = "percent"
    CURRENCY = "currency"
    MILESTONE = "milestone"


class Confidence(StrEnum):
    """An owner's word on a key result, and the computed status (same three words)."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


_RANK = {Confidence.ON_TRACK: 0, Confidence.AT_RISK: 1, Confidence.OFF_TRACK: 2}


def worst(statuses: Iterable[Confidence]) -> Confidence | None:
    """The weakest of several statuses; None for none at all."""
    ranked = sorted(statuses, key=_RANK.__getitem__)
    return ranked[-1] if ranked else None


@dataclass(frozen=True, slots=True)
class ResultNumbers:
    """What the rules need of a key result: its measure, numbers and last update."""

    measure: Measure
    start: float
    target: float
    current: float
    weight: float = 1.0
    last_confidence: Confidence | None = None
    last_update_at: datetime | None = None
    created_at: datetime | None = None


def progress(result: ResultNumbers) -> float:
    """(current - start) / (target - start), clamped to 0..1; a milestone is 0 or 1.

    A target below the start is a decrease and the same formula holds (both signs flip). A
    target equal to the start is refused when a key result is made; met here, it counts as
    done once the current value reaches it.
    """
    if result.measure == Measure.MILESTONE:
        return 1.0 if result.current >= 1 else 0.0
    span = result.target - result.start
    if span == 0:
        return 1.0 if result.current == result.target else 0.0
    return min(1.0, max(0.0, (result.current - result.start) / span))


def pace_status(result: ResultNumbers, cycle: Cycle, today: date) -> Confidence:
    """How far behind the expected share of the way the result is.

    A milestone has no way to be partly there: it is judged by its owner's word until the
    cycle's last day, when one not done is off track.
    """
    done = progress(result)
    if done >= 1.0:
        return Confidence.ON_TRACK
    if result.measure == Measure.MILESTONE:
        return Confidence.OFF_TRACK if today >= cycle.ends_on else Confidence.ON_TRACK
    gap = expected(cycle, today) - done
    if gap > OFF_TRACK_GAP:
        return Confidence.OFF_TRACK
    if gap > AT_RISK_GAP:
        return Confidence.AT_RISK
    return Confidence.ON_TRACK


def status(result: ResultNumbers, cycle: Cycle, today: date) -> Confidence:
    """The worse of the owner's last confidence and the pace. A result already at its target
    is on track whatever its owner last said."""
    if progress(result) >= 1.0:
        return Confidence.ON_TRACK
    pace = pace_status(result, cycle, today)
    return worst([pace, result.last_confidence or pace]) or pace


def is_stale(result: ResultNumbers, now: datetime, stale_days: int) -> bool:
    """No update for `stale_days`: counted from the last update, or from the key result's
    creation when it has none yet (a new result is not stale on its first day). A result at
    its target never is."""
    if progress(result) >= 1.0:
        return False
    since = result.last_update_at or result.created_at
    if since is None:
        return True
    return now - since >= timedelta(days=stale_days)


def objective_progress(results: Sequence[ResultNumbers]) -> float | None:
    """The key results' weighted mean; None for an objective with no key results (nothing to
    measure is not 0%). Weights of zero or less count as none; all zero falls back to equal."""
    if not results:
        return None
    weights = [max(0.0, r.weight) for r in results]
    total = sum(weights)
    if total == 0:
        weights, total = [1.0] * len(results), float(len(results))
    return sum(w * progress(r) for w, r in zip(weights, results, strict=True)) / total


def objective_status(
    results: Sequence[ResultNumbers], cycle: Cycle, today: date
) -> Confidence | None:
    """An objective takes its weakest key result's status; None with no key results."""
    return worst(status(r, cycle, today) for r in results)


def bar(share: float | None, width: int = 10) -> str:
    """`▓▓▓▓▓░░░░░ 52%`: a progress bar in text, readable in a DM, a digest and a terminal."""
    if share is None:
        return "no key results"
    filled = round(share * width)
    return "▓" * filled + "░" * (width - filled) + f" {round(share * 100)}%"
