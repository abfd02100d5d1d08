"""The check-in's goals question: what it asks a member, how their answer is read, and the
key-result updates it writes, in the answer's own transaction.

The question asks, for each active key result the member owns in the current cycle, the new
value (done or not, for a milestone), a confidence and an optional note, pre-filled with the
last value and confidence. A key result left as the form showed it is not updated: a member who
clicks through without changing anything has not reported progress, and the digest's "no goal
update" rule must be able to tell. Changing the value or the confidence, or writing a note, is
an update.

The answer kept with the check-in is a snapshot per key result (its numbers before and after,
progress and status then, who may read a private goal's line): the manager's DM, View more and
the digest read the answer as it was given, whatever the goal became since. The note is not
copied there: it lives in its update only (`storage.goal_checkins.notes_of`), one copy of the
member's words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.services import goal_progress
from bot.services.goal_access import GoalState, Visibility
from bot.services.goal_cycles import Cycle, CycleKind, cycle_of
from bot.services.goal_progress import Confidence, Measure, ResultNumbers
from storage import goal_checkins as checkin_store
from storage import goals as store
from storage.models import KeyResult

MAX_ASKED = 10  # key results in one form: 30 inputs already; the rest are for `/goals`
NOTE_MAX = 500
VALUE_LIMIT = 1e12
DONE, NOT_DONE = "done", "not_done"
FIELDS = ("value", "confidence", "note")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


@dataclass(frozen=True, slots=True)
class Asked:
    """One key result the form asks about, with what it is pre-filled with."""

    result_id: int
    title: str
    objective_title: str
    measure: Measure
    unit: str
    start: float
    target: float
    current: float
    confidence: Confidence | None  # the last update's, if any
    # A private objective's line is for these people only (its owner, their managers and the
    # result's owner); empty for a public one.
    private_to: tuple[str, ...] = ()

    @property
    def progress(self) -> float:
        return goal_progress.progress(
            ResultNumbers(self.measure, self.start, self.target, self.current)
        )


@dataclass
class Owned:
    """What a member owns and the form asks: the first MAX_ASKED key results (and how many are
    left for `/goals`), their rows for the update, the cycle and the member's date."""

    cycle: Cycle
    today: date
    asked: list[Asked] = field(default_factory=list)
    more: int = 0
    rows: dict[int, KeyResult] = field(default_factory=dict)
    created: dict[int, datetime] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Change:
    """A member's answer about one key result; `updated` false: left as the form showed it."""

    asked: Asked
    value: float
    confidence: Confidence | None
    note: str
    updated: bool


def question_of(questions: Sequence[Any]) -> Any | None:
    """The template's goals question (at most one), whatever shape its questions take."""
    for question in questions:
        kind = question.get("kind") if isinstance(question, Mapping) else question.kind
        if kind == "goals":
            return question
    return None


# ----- what the form asks -----------------------------------------------------------------------


def owned_by(
    session: Session, team_id: str, user_id: str, today: date, kind: CycleKind
) -> Owned:
    """The active key results the member owns in the cycle holding `today` (their own date),
    with their last updates: three reads, and one more per hop of a private goal's chain."""
    cycle = cycle_of(today, kind)
    found = Owned(cycle=cycle, today=today)
    rows = [
        (kr, obj)
        for kr, obj in store.results_owned_by(session, team_id, user_id, cycle.name)
        if obj.state == GoalState.ACTIVE
    ]
    last = store.last_updates(session, [kr.id for kr, _ in rows[:MAX_ASKED]])
    chains: dict[str, tuple[str, ...]] = {}
    for kr, obj in rows[:MAX_ASKED]:
        private_to: tuple[str, ...] = ()
        if obj.visibility == Visibility.PRIVATE:
            if obj.owner_id not in chains:
                chains[obj.owner_id] = tuple(
                    checkin_store.manager_chain(session, team_id, obj.owner_id)
                )
            private_to = tuple(dict.fromkeys([obj.owner_id, *chains[obj.owner_id], user_id]))
        update = last.get(kr.id)
        found.asked.append(
            Asked(
                result_id=kr.id,
                title=kr.title,
                objective_title=obj.title,
                measure=Measure(kr.measure),
                unit=kr.unit,
                start=kr.start,
                target=kr.target,
                current=kr.current,
                confidence=Confidence(update.confidence) if update else None,
                private_to=private_to,
            )
        )
        found.rows[kr.id] = kr
        found.created[kr.id] = kr.created_at
    found.more = max(0, len(rows) - MAX_ASKED)
    return found


def baseline(owned: Owned) -> dict[str, list[Any]]:
    """What the form was pre-filled with, kept in the modal's metadata: a submission that
    leaves a key result so is no update, even if `/goals` moved it while the form was open."""
    return {
        str(a.result_id): [a.current, a.confidence.value if a.confidence else None]
        for a in owned.asked
    }


# ----- reading an answer ------------------------------------------------------------------------


def field_id(question_id: str, result_id: int | str, name: str) -> str:
    """The answer key of one input (`goals.12.value`): dotted, as no question id may be, so it
    never collides with another question's."""
    return f"{question_id}.{result_id}.{name}"


def parse_value(text: str, measure: Measure) -> float:
    """A typed value (`112000`, `112,000`, `12.5`, `40%`) -> a number; ValueError says how to
    write one. A comma only separates thousands: `1,5` is refused, not read as 15."""
    if measure == Measure.MILESTONE:
        if text == DONE:
            return 1.0
        if text == NOT_DONE:
            return 0.0
        raise ValueError("Pick done or not done.")
    cleaned = text.strip().replace(" ", "").replace("_", "").lstrip("$€£").rstrip("%")
    if "," in cleaned:
        if not _THOUSANDS.match(cleaned):
            raise ValueError("Write a number such as 112000 or 12.5 (a dot for decimals).")
        cleaned = cleaned.replace(",", "")
    try:
        number = float(cleaned)
    except ValueError:
        raise ValueError("Write a number such as 112000 or 12.5.") from None
    if not math.isfinite(number) or abs(number) > VALUE_LIMIT:
        raise ValueError("Write a number such as 112000 or 12.5.")
    return number


def validate(
    question_id: str,
    owned: Owned,
    raw: Mapping[str, Any] | None,
    was: Mapping[str, Any] | None = None,
) -> tuple[list[Change], dict[str, str]]:
    """The form's goal inputs ({result id: {value, confidence, note}}) -> one Change per key
    result asked, or errors keyed by `field_id`.

    `was`: what the form showed (`baseline`); without it, the values stored now. A key result
    the member no longer owns (closed or reassigned since the form opened) is an error only if
    they changed it, so nothing they wrote is dropped unsaid; one the form never showed (a
    forged field) is refused alike."""
    answers = {str(k): v for k, v in (raw or {}).items() if isinstance(v, Mapping)}
    shown = {str(k): v for k, v in (was or {}).items() if isinstance(v, list) and len(v) == 2}
    changes: list[Change] = []
    errors: dict[str, str] = {}
    by_id = {str(a.result_id): a for a in owned.asked}
    for key, given in answers.items():
        if key in by_id:
            continue
        if any(_text(given.get(name)) for name in ("value", "note")) or given.get("confidence"):
            errors[field_id(question_id, key, "value")] = (
                "This key result was closed or given to someone else since you opened the "
                "form: close it and open the check-in again."
            )
    for key, item in by_id.items():
        given = answers.get(key, {})
        before_value, before_confidence = item.current, item.confidence
        if key in shown:
            before_value = _number(shown[key][0], item.current)
            before_confidence = _confidence(shown[key][1]) or None
        value_text = _text(given.get("value"))
        note = _text(given.get("note"))
        value, moved = item.current, False
        if value_text:
            try:
                typed = parse_value(value_text, item.measure)
            except ValueError as problem:
                errors[field_id(question_id, key, "value")] = str(problem)
                continue
            # As the form showed it, the stored value stands: never undo a change made since.
            moved = typed != before_value
            value = typed if moved else item.current
        raw_confidence = given.get("confidence")
        confidence = _confidence(raw_confidence)
        if raw_confidence and confidence is None:
            errors[field_id(question_id, key, "confidence")] = (
                "Pick on track, at risk or off track."
            )
            continue
        if len(note) > NOTE_MAX:
            errors[field_id(question_id, key, "note")] = (
                f"Your note is {len(note)} characters; keep it under {NOTE_MAX}."
            )
            continue
        updated = (
            bool(note) or moved or (confidence is not None and confidence != before_confidence)
        )
        if updated and confidence is None:
            errors[field_id(question_id, key, "confidence")] = (
                "Say how confident you are, to go with this update."
            )
            continue
        changes.append(Change(item, value, confidence, note, updated))
    return changes, errors


# ----- writing it -------------------------------------------------------------------------------


def record(
    session: Session,
    owned: Owned,
    changes: Sequence[Change],
    *,
    author_id: str,
    occurrence_id: int,
    now: datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Write the updates (one per changed key result, unique with the occurrence: a replay
    writes nothing) and return (the answer as stored, the same with each note for the
    messages sent now)."""
    stored: list[dict[str, Any]] = []
    shown: list[dict[str, Any]] = []
    for change in changes:
        item = change.asked
        row = owned.rows.get(item.result_id)
        if change.updated and row is not None:
            assert change.confidence is not None
            store.add_update(
                session,
                row,
                value=change.value,
                confidence=change.confidence.value,
                note=change.note,
                author_id=author_id,
                now=now,
                occurrence_id=occurrence_id,
            )
        entry = snapshot(change, owned.cycle, owned.today, owned.created.get(item.result_id))
        stored.append(entry)
        shown.append({**entry, "note": change.note} if change.updated else entry)
    return stored, shown


def snapshot(
    change: Change, cycle: Cycle, today: date, created_at: datetime | None = None
) -> dict[str, Any]:
    """One key result's line of the stored answer: plain JSON, read back by `result_line`."""
    item = change.asked
    current = change.value if change.updated else item.current
    confidence = change.confidence if change.updated else item.confidence
    numbers = ResultNumbers(
        item.measure,
        item.start,
        item.target,
        current,
        last_confidence=confidence,
        created_at=created_at,
    )
    entry: dict[str, Any] = {
        "kr": item.result_id,
        "title": item.title,
        "measure": item.measure.value,
        "unit": item.unit,
        "before": item.current,
        "after": change.value if change.updated else None,
        "progress": round(goal_progress.progress(numbers), 4),
        "status": goal_progress.status(numbers, cycle, today).value,
        "confidence": confidence.value if confidence else None,
    }
    if item.private_to:
        entry["private_to"] = list(item.private_to)
    return entry


# ----- showing it -------------------------------------------------------------------------------


def visible(entry: Mapping[str, Any], reader: str | None, *, in_channel: bool = False) -> bool:
    """A private goal's line is for its people only and never for a channel; `reader` None is
    the member's own copy."""
    private_to = entry.get("private_to") or []
    if not private_to:
        return True
    return not in_channel and (reader is None or reader in private_to)


def entries(value: Any) -> list[Mapping[str, Any]]:
    """A stored goals answer's lines; anything else (an old or odd value) reads as none."""
    if not isinstance(value, list):
        return []
    return [e for e in value if isinstance(e, Mapping) and "title" in e]


def result_line(entry: Mapping[str, Any]) -> str:
    """`Self-serve MRR 100,000 → 112,000 USD (40%, at risk): "two deals slipped"`: plain text
    (callers escape it); "no update" for a key result the member left as it was."""
    measure = str(entry.get("measure") or Measure.NUMBER)
    unit = str(entry.get("unit") or "")
    before = _number(entry.get("before"), 0.0)
    after_raw = entry.get("after")
    progress = round(_number(entry.get("progress"), 0.0) * 100)
    status = _confidence(entry.get("status"))
    facts = f"{progress}%" + (f", {status.label}" if status else "")
    title = str(entry.get("title") or "")
    if after_raw is None:
        return f"{title} {_amount(before, measure, unit)} ({facts}), no update"
    after = _number(after_raw, before)
    if after == before:
        moved = _amount(after, measure, unit)
    elif measure == Measure.MILESTONE:
        moved = f"{_amount(before, measure, unit)} → {_amount(after, measure, unit)}"
    else:
        moved = f"{number_words(before)} → {_amount(after, measure, unit)}"
    line = f"{title} {moved} ({facts})"
    note = str(entry.get("note") or "").strip()
    if note:
        line += f': "{" ".join(note.split())}"'
    return line


def number_words(value: float) -> str:
    """ "100,000", "12.5", "-3": a value as a report prints it."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def with_unit(text: str, unit: str, measure: str = Measure.NUMBER) -> str:
    if unit in ("%",) or (measure == Measure.PERCENT and not unit):
        return f"{text}%"
    return f"{text} {unit}" if unit else text


def _amount(value: float, measure: str, unit: str) -> str:
    if measure == Measure.MILESTONE:
        return "done" if value >= 1 else "not done"
    return with_unit(number_words(value), unit, measure)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _number(value: Any, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def _confidence(value: Any) -> Confidence | None:
    try:
        return Confidence(str(value)) if value else None
    except ValueError:
        return None

