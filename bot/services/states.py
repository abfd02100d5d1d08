"""The closed sets of words the domain's rows, results and refusals take.

Each member equals its word (a StrEnum), so rows written before need no migration and code
comparing against the plain word keeps working. Storage imports nothing of ours: where it
selects or writes a state itself it keeps the same word as a private constant.
"""

from __future__ import annotations

from enum import StrEnum


class OccurrenceState(StrEnum):
    """A check-in occurrence: pending, then answered, skipped or missed; away instead of a
    prompt for someone out of office or deactivated."""

    PENDING = "pending"
    ANSWERED = "answered"
    SKIPPED = "skipped"
    MISSED = "missed"
    AWAY = "away"


class CheckinOutcome(StrEnum):
    """An occurrence as a digest counts it at an instant: a pending one is open until its close
    time and missed after it, whether or not the closing job has run yet."""

    ANSWERED = "answered"
    SKIPPED = "skipped"
    MISSED = "missed"
    AWAY = "away"
    OPEN = "open"


class CheckinUnavailableReason(StrEnum):
    """Why a click or command can't act on an occurrence (the handler words its reply by it)."""

    NOT_FOUND = "not_found"
    CLOSED = "closed"
    ANSWERED = "answered"
    SKIPPED = "skipped"
    AWAY = "away"


class EmptyReason(StrEnum):
    """Why a digest has nothing to count, so it says so instead of showing zeros."""

    NO_REPORTS = "no_reports"
    NO_CHECKINS = "no_checkins"
    ALL_AWAY = "all_away"
    NO_ANSWERS = "no_answers"


class RequestState(StrEnum):
    """A feedback request: open until its due time, then closed (once, by the minute job)."""

    OPEN = "open"
    CLOSED = "closed"


class AskedState(StrEnum):
    """One person asked in a feedback request: pending, then answered or declined; expired if
    the request closed first."""

    PENDING = "pending"
    ANSWERED = "answered"
    DECLINED = "declined"
    EXPIRED = "expired"


class RequestUnavailableReason(StrEnum):
    """Why someone can't answer a feedback request now. A denial reads the same whether or not
    the request exists."""

    DENIED = "denied"
    CLOSED = "closed"
    SETTLED = "settled"

