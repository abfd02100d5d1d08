"""Every "whom to talk to" rule and every counting rule of the digest, on small literal inputs.

The rules in bot/services/digest_rules.py are read directly; the counting rules (who answered,
who did not and how, which blocker is still open) through `digest_compute.compute` on literal
rows. Instants derive from one Monday in 2037 (2037's calendar is 2026's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.services import digest_rules as rules
from bot.services.digest_compute import DigestInputs, DigestTemplate, compute
from bot.services.digest_data import DigestData
from bot.services.states import CheckinOutcome
from storage.digest import OccurrenceRow

ZONE = ZoneInfo("Europe/Berlin")
WEEK = date(2037, 3, 2)  # the Monday of the covered week
NOW = datetime(2037, 3, 9, 9, 0, tzinfo=ZONE)  # the Monday after, at the send time

ANSWERED, SKIPPED, MISSED = CheckinOutcome.ANSWERED, CheckinOutcome.SKIPPED, CheckinOutcome.MISSED
AWAY, OPEN = CheckinOutcome.AWAY, CheckinOutcome.OPEN


# ----- how a person's week counts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcomes", "week", "asked"),
    [
        ([], None, False),  # no check-in that week
        ([ANSWERED], ANSWERED, True),
        ([SKIPPED, ANSWERED], ANSWERED, True),  # one answer is enough
        ([SKIPPED], SKIPPED, True),  # a skip is no answer...
        ([MISSED], MISSED, True),  # ...exactly as a miss is
        ([SKIPPED, MISSED], MISSED, True),
        ([MISSED, OPEN], OPEN, True),  # may still answer: open, not missed
        ([AWAY], AWAY, False),  # away the whole week: never asked
        ([AWAY, SKIPPED], SKIPPED, True),  # back mid-week and asked
    ],
)
def test_how_a_persons_week_counts(
    outcomes: list[CheckinOutcome], week: CheckinOutcome | None, asked: bool
) -> None:
    assert rules.week_outcome(outcomes) == week
    assert rules.asked(rules.week_outcome(outcomes)) is asked


# ----- whom to talk to --------------------------------------------------------------------------

DROP = "pulse 1.0, 3.0 below their 4-week average"
LOW = "pulse 2 or lower two weeks running"
BLOCKER = "a blocker still open from last week"


def history(
    pulses: Sequence[float | None],
    weeks: Sequence[CheckinOutcome | None] | None = None,
    *,
    blocker_now: bool = False,
    blocker_last_week: bool = False,
) -> rules.PersonWeeks:
    """Eight weeks, oldest first, the covered week last; weeks default to answered where a
    pulse was given."""
    padded: list[float | None] = [None] * (rules.HISTORY_WEEKS - len(pulses))
    padded += pulses
    if weeks is None:
        weeks = [ANSWERED if p is not None else None for p in pulses]
    counted: list[CheckinOutcome | None] = [None] * (rules.HISTORY_WEEKS - len(weeks))
    counted += weeks
    return rules.PersonWeeks(padded, counted, blocker_now, blocker_last_week)


@pytest.mark.parametrize(
    ("person", "reasons"),
    [
        # Pulse against their own 4-week average: 2 points below is a reason, 1.5 is not.
        (history([4, 4, 4, 4, 1]), [DROP]),
        (history([4, 4, 4, 4, 2]), ["pulse 2.0, 2.0 below their 4-week average"]),
        (history([4, 4, 4, 4, 2.5]), []),
        (history([5, 5, 5, 5, 4]), []),
        # Only the 4 weeks before count: a high week 5 weeks ago does not.
        (history([5, 3, 3, 3, 3, 2]), []),
        # 2 or lower two weeks running; one low week is not.
        (history([3, 3, 2, 2]), [LOW]),
        (history([3, 3, 3, 2]), []),
        (history([2, None, 2]), []),  # a week without a pulse breaks the run
        # Went quiet after a low pulse: no answer this week and the last pulse <= 2...
        (
            history([3, 2, None], [ANSWERED, ANSWERED, SKIPPED]),
            ["no answer this week (skipped) after a pulse of 2"],
        ),
        (
            history([3, 2, None], [ANSWERED, ANSWERED, MISSED]),
            ["no answer this week (missed) after a pulse of 2"],
        ),
        # ...or 2 or more below their own 4-week average.
        (
            history([5, 5, 5, 5, 3, None], [ANSWERED] * 5 + [SKIPPED]),
            ["no answer this week (skipped) after a pulse of 3, 2.0 below their 4-week average"],
        ),
        (history([4, 4, 4, 4, 3, None], [ANSWERED] * 5 + [SKIPPED]), []),
        # Still open, or away: not (yet) silent.
        (history([3, 2, None], [ANSWERED, ANSWERED, OPEN]), []),
        (history([3, 2, None], [ANSWERED, ANSWERED, AWAY]), []),
        # Two weeks without an answer, for any reason, skips included.
        (
            history([4, None, None], [ANSWERED, SKIPPED, SKIPPED]),
            ["no answer two weeks running (skipped, then skipped)"],
        ),
        (
            history([4, None, None], [ANSWERED, MISSED, SKIPPED]),
            ["no answer two weeks running (missed, then skipped)"],
        ),
        (
            history([4, None, None], [ANSWERED, SKIPPED, MISSED]),
            ["no answer two weeks running (skipped, then missed)"],
        ),
        # Away weeks and weeks without a check-in are left out of the run...
        (
            history([4, None, None, None], [ANSWERED, MISSED, AWAY, MISSED]),
            ["no answer two weeks running (missed, then missed)"],
        ),
        (
            history([4, None, None, None], [ANSWERED, MISSED, None, SKIPPED]),
            ["no answer two weeks running (missed, then skipped)"],
        ),
        # ...but only the last week missed is not two weeks.
        (history([4, None, 4, None], [ANSWERED, MISSED, ANSWERED, MISSED]), []),
        (history([4, None], [ANSWERED, SKIPPED]), []),
        # Silent two weeks after a low pulse: both rules say why.
        (
            history([2, None, None], [ANSWERED, SKIPPED, MISSED]),
            [
                "no answer this week (missed) after a pulse of 2",
                "no answer two weeks running (skipped, then missed)",
            ],
        ),
        # A blocker this week that was reported last week too; one week alone is not.
        (history([4, 4], blocker_now=True, blocker_last_week=True), [BLOCKER]),
        (history([4, 4], blocker_now=True), []),
        (history([4, 4], blocker_last_week=True), []),
    ],
)
def test_whom_to_talk_to(person: rules.PersonWeeks, reasons: list[str]) -> None:
    assert rules.reasons(person) == reasons


def test_the_quiet_person_is_named_with_their_last_pulse_and_trend() -> None:
    """Kenji: pulse 5, 4, 3, 2, 2, 2, 2, then a skipped week."""
    kenji = history([5, 4, 3, 2, 2, 2, 2, None], [ANSWERED] * 7 + [SKIPPED], blocker_last_week=True)
    assert rules.reasons(kenji) == [
        "no answer this week (skipped) after a pulse of 2, with a blocker reported the week before"
    ]
    assert rules.last_pulse(kenji.pulses) == 2
    assert rules.trend(kenji.pulses) == [2, 2, 2, None]


# ----- counting, through the computation --------------------------------------------------------

TEAM = ("UANN", "UBOB", "UCAT", "UDAN", "UEVE")
WEEKLY = DigestTemplate(
    1,
    "Weekly",
    True,
    [
        {"id": "pulse", "text": "How do you feel?", "kind": "pulse"},
        {"id": "blockers", "text": "Any blockers?", "kind": "text", "blocker": True},
    ],
)


def checkin(
    occurrence_id: int, user_id: str, weeks_back: int, state: str, *, open_: bool = False
) -> OccurrenceRow:
    """The Friday check-in `weeks_back` before the covered week's; closed a day later, or
    closing after NOW (`open_`)."""
    day = WEEK - timedelta(weeks=weeks_back) + timedelta(days=4)
    closes = NOW + timedelta(hours=7) if open_ else datetime.combine(day, time(23), ZONE)
    return OccurrenceRow(occurrence_id, WEEKLY.id, user_id, day, state, closes)


def compute_team(
    rows: list[OccurrenceRow], answers: dict[int, dict[str, Any]] | None = None
) -> DigestData:
    base = DigestInputs(
        manager_id="UMGR",
        week=WEEK,
        zone=ZONE,
        reports=[(u, False) for u in TEAM],
        owned=[WEEKLY],
        templates={WEEKLY.id: WEEKLY},
        occurrences=sorted(rows, key=lambda r: (r.local_date, r.id)),
        answers=answers or {},
        replies={},
        kudos=[],
        notes=[],
        below={},
        subtree=[],
        subtree_answers={},
    )
    return compute(replace(base), NOW, anonymity_min=3).data


def test_who_answered_and_how_everyone_else_did_not() -> None:
    """UANN answered (pulse 4); UBOB skipped; UCAT missed; UDAN was away; UEVE's is still open."""
    rows = [
        checkin(1, "UANN", 0, "answered"),
        checkin(2, "UBOB", 0, "skipped"),
        checkin(3, "UCAT", 0, "missed"),
        checkin(4, "UDAN", 0, "away"),
        checkin(5, "UEVE", 0, "pending", open_=True),
    ]
    data = compute_team(rows, {1: {"pulse": 4}})
    # People: away is not asked; open is asked, and may still answer.
    assert (data.people_answered, data.people_prompted) == (1, 4)
    assert [(a.user_id, a.outcome) for a in data.absent] == [
        ("UBOB", "skipped"),
        ("UCAT", "missed"),
        ("UDAN", "away"),
        ("UEVE", "open"),
    ]
    # Check-ins: a skip counts as not answered, as a miss does; open and away ones apart.
    assert (data.answered, data.prompted, data.still_open) == (1, 3, 1)
    (line,) = data.participation
    assert (line.answered, line.prompted) == (1, 3)
    assert (line.skipped, line.missed, line.still_open) == (["UBOB"], ["UCAT"], ["UEVE"])
    # The pulse says whom it leaves out: one of four.
    assert (data.pulse, data.pulse_people) == (4.0, 1)
    # An unfinished week is marked, so it is never drawn or read as a fall.
    assert data.chart[-1].unfinished and not any(w.unfinished for w in data.chart[:-1])


def test_a_skipped_check_in_is_never_counted_as_answered() -> None:
    data = compute_team([checkin(1, "UANN", 0, "skipped"), checkin(2, "UBOB", 0, "answered")])
    assert (data.people_answered, data.people_prompted, data.answered, data.prompted) == (
        1,
        2,
        1,
        2,
    )
    assert data.participation[0].answered == 1
    assert [w.participation for w in data.chart][-1] == 0.5


def test_the_pulse_change_compares_the_same_people() -> None:
    """The lowest scorer going silent must not read as the team feeling better."""
    rows = [checkin(i, u, 1, "answered") for i, u in enumerate(("UANN", "UBOB", "UCAT"), 1)]
    rows += [checkin(11, "UANN", 0, "answered"), checkin(12, "UBOB", 0, "answered")]
    rows += [checkin(13, "UCAT", 0, "skipped")]
    pulses = {1: 4, 2: 4, 3: 1, 11: 4, 12: 4}
    data = compute_team(rows, {i: {"pulse": p} for i, p in pulses.items()})
    assert (data.pulse, data.pulse_people, data.people_prompted) == (4.0, 2, 3)
    assert (data.pulse_change, data.pulse_change_people) == (0.0, 2)  # not +1.0


@pytest.mark.parametrize(
    ("reported", "still_open"),
    [
        ([0], False),  # a blocker this week only
        ([1, 0], True),  # a blocker two weeks running
        ([2, 0], False),  # two weeks apart: not the same one still open
        ([1], None),  # last week only: not this week's blocker
    ],
)
def test_only_a_blocker_reported_two_weeks_running_is_still_open(
    reported: list[int], still_open: bool | None
) -> None:
    rows = [checkin(10 + back, "UANN", back, "answered") for back in (2, 1, 0)]
    answers: dict[int, dict[str, Any]] = {
        10 + back: {"pulse": 4, "blockers": "Waiting on legal" if back in reported else "none"}
        for back in (2, 1, 0)
    }
    data = compute_team(rows, answers)
    assert [b.still_open for b in data.blockers] == ([] if still_open is None else [still_open])
    reasons = {t.user_id: t.reasons for t in data.talk_to}
    assert (BLOCKER in reasons.get("UANN", [])) is bool(still_open)


# ----- when a digest may go ---------------------------------------------------------------------


def test_a_digest_goes_at_the_later_of_its_send_time_and_the_last_close() -> None:
    send = NOW
    assert rules.ready_at(send, []) == send
    assert rules.ready_at(send, [send - timedelta(days=2)]) == send
    later = send + timedelta(hours=7)
    assert rules.ready_at(send, [send - timedelta(days=1), later]) == later


@pytest.mark.parametrize(
    ("ready", "held"),
    [
        (datetime.combine(WEEK + timedelta(days=13), time(23, 59), ZONE), False),
        (datetime.combine(WEEK + timedelta(days=14), time(0), ZONE), True),
    ],
)
def test_a_digest_held_past_its_turn_is_still_written(ready: datetime, held: bool) -> None:
    assert rules.held_past_its_turn(WEEK, ZONE, ready) is held


# ----- anonymity --------------------------------------------------------------------------------


def weeks_before(n: int) -> date:
    return WEEK - timedelta(weeks=n)


@pytest.mark.parametrize(
    ("first_digest", "last_cleared", "oldest_note", "start"),
    [
        # The first digest ever: the span is the covered week (or back to an older note).
        (None, None, None, WEEK),
        (None, None, weeks_before(1), weeks_before(1)),
        # Never cleared before: from the first digest, whatever the notes' weeks.
        (weeks_before(5), None, weeks_before(1), weeks_before(5)),
        # Cleared before: from the week after, whatever the notes' weeks (never the oldest
        # note's week, which the span's length would give away).
        (weeks_before(9), weeks_before(3), weeks_before(1), weeks_before(2)),
        (weeks_before(9), weeks_before(1), WEEK, WEEK),
        # A note older than the span stretches it back.
        (weeks_before(9), weeks_before(3), weeks_before(4), weeks_before(4)),
    ],
)
def test_the_span_a_released_batch_is_said_to_come_from(
    first_digest: date | None, last_cleared: date | None, oldest_note: date | None, start: date
) -> None:
    assert (
        rules.notes_window(
            WEEK, first_digest=first_digest, last_cleared=last_cleared, oldest_note=oldest_note
        )
        == start
    )
    assert rules.weeks_in(start, WEEK) == (WEEK - start).days // 7 + 1


def test_iso_weeks_read_back_to_their_monday() -> None:
    assert rules.monday_of_iso(rules.iso_week(WEEK)) == WEEK
    assert rules.monday_of_iso("2037-W01") == date(2036, 12, 29)
