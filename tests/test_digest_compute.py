"""The digest's rules through the pure computation, on literal rows: no database.

The covered week is Mon 2 - Sun 8 March 2037 in Berlin (2037's calendar is 2026's), and the
digest is computed the Monday after at 09:00; every instant below is derived from those two.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.services import digest_rules as rules
from bot.services.digest_compute import DigestInputs, DigestTemplate, compute
from bot.services.digest_data import DigestData
from storage.digest import KudosRow, NoteRow, OccurrenceRow

ZONE = ZoneInfo("Europe/Berlin")
WEEK = date(2037, 3, 2)  # the Monday of the covered week
NOW = datetime(2037, 3, 9, 9, 0, tzinfo=ZONE)  # the Monday after, when the digest is sent
MANAGER = "UMGR"
REPORTS = ("UANN", "UBOB", "UCAT", "UDAN")
WEEKLY = DigestTemplate(
    1,
    "Weekly",
    True,
    [
        {"id": "done", "text": "What did you get done?", "kind": "text"},
        {"id": "pulse", "text": "How do you feel?", "kind": "pulse"},
    ],
)


def checkin(
    occurrence_id: int,
    user_id: str,
    weeks_back: int,
    state: str,
    *,
    closes: timedelta | None = None,
) -> OccurrenceRow:
    """A Weekly check-in on the Friday of the covered week (or `weeks_back` before), closing a
    day later unless `closes` says when, counted from NOW."""
    day = WEEK - timedelta(weeks=weeks_back) + timedelta(days=4)
    closes_at = (
        NOW + closes
        if closes is not None
        else datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=ZONE)
    )
    return OccurrenceRow(occurrence_id, WEEKLY.id, user_id, day, state, closes_at)


def inputs(**fields: Any) -> DigestInputs:
    """The manager's four direct reports in their Weekly check-in; nothing else unless given."""
    base = DigestInputs(
        manager_id=MANAGER,
        week=WEEK,
        zone=ZONE,
        reports=[(user_id, False) for user_id in REPORTS],
        owned=[WEEKLY],
        templates={WEEKLY.id: WEEKLY},
        occurrences=[],
        answers={},
        replies={},
        kudos=[],
        notes=[],
        below={},
        subtree=[],
        subtree_answers={},
    )
    return replace(base, **fields)


def digest(data: DigestInputs, *, minimum: int = 3, release: bool = False) -> DigestData:
    return compute(data, NOW, anonymity_min=minimum, release=release).data


# ----- anonymous notes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sending", "answerers", "minimum", "released", "met"),
    [
        # Fewer than the minimum: withheld, and nothing says so.
        (True, 2, 3, [], False),
        (True, 3, 3, ["a", "b"], True),  # at the minimum: released, all at once
        (True, 4, 3, ["a", "b"], True),
        (False, 4, 3, [], False),  # a preview neither shows nor clears anything
        (False, 2, 3, [], False),
    ],
)
def test_the_release_rule(
    sending: bool, answerers: int, minimum: int, released: list[str], met: bool
) -> None:
    assert rules.anonymous_release(
        ["a", "b"], sending=sending, answerers=answerers, minimum=minimum
    ) == (released, met)
    # With nothing waiting, a sent digest still records whether its span cleared the minimum.
    assert rules.anonymous_release([], sending=sending, answerers=answerers, minimum=minimum) == (
        [],
        met,
    )


def anonymous(note_id: str, text: str, weeks_back: int = 0) -> NoteRow:
    return NoteRow(note_id, None, True, text, rules.iso_week(WEEK - timedelta(weeks=weeks_back)))


@pytest.mark.parametrize(
    ("answerers", "released"),
    [
        ({"UANN", "UBOB"}, False),
        ({"UANN", "UBOB", "UCAT"}, True),
        # Someone in the manager's check-in who is not their direct report does not count.
        ({"UANN", "UBOB", "UOUT"}, False),
    ],
)
def test_a_sent_digest_releases_anonymous_notes_once_the_minimum_of_reports_answered(
    answerers: set[str], released: bool
) -> None:
    notes = [
        anonymous("n1", "Too many meetings", weeks_back=1),
        anonymous("n2", "Share the roadmap"),
        NoteRow("n3", "UANN", False, "Thanks for the 1:1", rules.iso_week(WEEK)),
    ]
    given = inputs(
        notes=notes,
        notes_window=WEEK - timedelta(weeks=1),
        notes_answerers=frozenset(answerers),
    )
    built = compute(given, NOW, anonymity_min=3, release=True)
    data = built.data
    assert data.named_notes == [("UANN", "Thanks for the 1:1")]
    assert built.anonymity_met is released
    if released:
        assert sorted(data.anonymous_notes) == ["Share the roadmap", "Too many meetings"]
        assert sorted(built.released_note_ids) == ["n1", "n2"]
        assert (data.anonymous_released, data.anonymous_weeks) == (2, 2)
    else:
        assert data.anonymous_notes == [] and built.released_note_ids == []
        assert (data.anonymous_released, data.anonymous_weeks) == (0, 0)
    # The same rows in a preview: no note and no count either way.
    preview = digest(given)
    assert (preview.anonymous_notes, preview.anonymous_released) == ([], 0)


# ----- kudos ------------------------------------------------------------------------------------

IN_WEEK = datetime.combine(WEEK + timedelta(days=2), datetime.min.time(), tzinfo=ZONE)


@pytest.mark.parametrize(
    ("kudos", "count", "by_value", "without"),
    [
        ([], 0, [], list(REPORTS)),
        # One kudos to two people with two values: two kudos, each value twice.
        (
            [
                KudosRow(user, 1, IN_WEEK, value)
                for user in ("UANN", "UBOB")
                for value in ("teamwork", "craft")
            ],
            2,
            [("craft", 2), ("teamwork", 2)],
            ["UCAT", "UDAN"],
        ),
        # No value: counted, in no value's line.
        ([KudosRow("UANN", 2, IN_WEEK, None)], 1, [], ["UBOB", "UCAT", "UDAN"]),
        # Before the week, or between its end and now: not the week's, but recent.
        (
            [
                KudosRow("UCAT", 3, NOW - timedelta(days=20), "craft"),
                KudosRow("UDAN", 4, NOW - timedelta(hours=1), "craft"),
            ],
            0,
            [],
            ["UANN", "UBOB"],
        ),
        # Older than NO_KUDOS_DAYS: not recent.
        (
            [KudosRow("UBOB", 5, NOW - timedelta(days=rules.NO_KUDOS_DAYS + 1), "craft")],
            0,
            [],
            list(REPORTS),
        ),
        # The week starts at Monday 00:00 in the manager's zone, and ends at the next one.
        (
            [
                KudosRow("UANN", 6, datetime.combine(WEEK, datetime.min.time(), ZONE), "craft"),
                KudosRow("UBOB", 7, datetime.combine(NOW.date(), datetime.min.time(), ZONE), "x"),
            ],
            1,
            [("craft", 1)],
            ["UCAT", "UDAN"],
        ),
    ],
)
def test_kudos_are_counted_per_recipient_in_the_managers_week(
    kudos: list[KudosRow], count: int, by_value: list[tuple[str, int]], without: list[str]
) -> None:
    data = digest(inputs(kudos=kudos))
    assert (data.kudos, data.kudos_by_value, data.no_kudos) == (count, by_value, without)


# ----- whom to talk to --------------------------------------------------------------------------

TWO_WEEKS = "no answer two weeks running ({}, then {})"


@pytest.mark.parametrize(
    ("history", "reasons"),
    [
        # (weeks back, state, closes relative to NOW or None) for UCAT, oldest first
        ([(1, "missed", None), (0, "missed", None)], [TWO_WEEKS.format("missed", "missed")]),
        ([(1, "missed", None), (0, "answered", None)], []),
        # A skip is no answer, as a miss is: two weeks of it is a reason too.
        ([(1, "answered", None), (0, "skipped", None)], []),
        ([(1, "skipped", None), (0, "skipped", None)], [TWO_WEEKS.format("skipped", "skipped")]),
        ([(1, "missed", None), (0, "skipped", None)], [TWO_WEEKS.format("missed", "skipped")]),
        # A pending check-in past its close time is missed, even before the closing job ran.
        (
            [(1, "missed", None), (0, "pending", timedelta(hours=-1))],
            [TWO_WEEKS.format("missed", "missed")],
        ),
        # Still open at send time: not missed (yet).
        ([(1, "missed", None), (0, "pending", timedelta(hours=1))], []),
        # Away weeks are left out: the two missed ones around it still count as a run.
        (
            [(2, "missed", None), (1, "away", None), (0, "missed", None)],
            [TWO_WEEKS.format("missed", "missed")],
        ),
        # Only the last one missed: not two weeks.
        ([(2, "missed", None), (1, "answered", None), (0, "missed", None)], []),
    ],
)
def test_two_weeks_without_an_answer_are_a_reason_to_talk(
    history: list[tuple[int, str, timedelta | None]], reasons: list[str]
) -> None:
    rows = [
        checkin(i, "UCAT", back, state, closes=closes)
        for i, (back, state, closes) in enumerate(history)
    ]
    rows.sort(key=lambda r: (r.local_date, r.id))
    talk_to = {t.user_id: t.reasons for t in digest(inputs(occurrences=rows)).talk_to}
    assert talk_to.get("UCAT", []) == reasons


def test_a_pulse_drop_against_the_persons_own_average_is_a_reason_to_talk() -> None:
    pulses = {4: 4, 3: 4, 2: 5, 1: 3, 0: 1}  # weeks back: pulse; their 4-week average is 4
    rows = [checkin(10 - back, "UANN", back, "answered") for back in sorted(pulses, reverse=True)]
    answers: dict[int, dict[str, Any]] = {
        10 - back: {"done": "x", "pulse": pulse} for back, pulse in pulses.items()
    }
    data = digest(inputs(occurrences=rows, answers=answers))
    assert [(t.user_id, t.reasons, t.last_pulse, t.trend) for t in data.talk_to] == [
        ("UANN", ["pulse 1.0, 3.0 below their 4-week average"], 1.0, [4.0, 5.0, 3.0, 1.0])
    ]
    assert data.pulse == 1.0 and data.pulse_change == -2.0
    assert data.spread == [1, 0, 0, 0, 0]
