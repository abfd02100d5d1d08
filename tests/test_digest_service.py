"""The weekly digest's numbers, rules, anonymity and limits, on the database without Slack.

tests/digest_seed.py seeds a team over six weeks whose covered week is 3-9 March 2031.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from bot.services import checkins, digest, digest_chart
from bot.services import digest_rules as rules
from bot.services.digest import AnswerLine, Blocker, DigestData, TalkTo
from handlers.blocks import digest as blocks
from storage.models import OrgEdge, UpwardFeedback
from tests.digest_seed import (
    AFTER_SEND,
    ISO_WEEK,
    MANAGER,
    SEND_AT,
    WEEK,
    ZONE,
    occurrence,
    report,
    seed_team,
    template,
)
from tests.factories import TEAM, add_people, person


def build(session: Session, *, release: bool = False, minimum: int = 3, **kw: object) -> DigestData:
    return digest.build(
        session,
        TEAM,
        MANAGER,
        AFTER_SEND,
        zone=ZONE,
        anonymity_min=minimum,
        release=release,
        **kw,  # type: ignore[arg-type]
    ).data


# ----- the numbers of a seeded team -------------------------------------------------------------


def test_a_six_week_team_gives_the_expected_numbers(session: Session) -> None:
    seed_team(session)
    data = build(session)
    assert (data.iso_week, data.week_start, data.week_label) == (ISO_WEEK, "2031-03-03", "3–9 Mar")
    # Participation: UDAN away is left out; UEVE (another template) counts.
    assert (data.people_answered, data.people_prompted) == (3, 4)
    assert [(a.user_id, a.outcome) for a in data.absent] == [("UCAT", "missed"), ("UDAN", "away")]
    assert (data.answered, data.prompted, data.still_open) == (3, 4, 0)
    assert (data.other_answered, data.other_prompted) == (1, 1)
    # Pulse: the mean over people (1, 2, 3), from 3 of the 4 asked; its change is measured on
    # the three who gave one both weeks (1-4, 2-2, 3-3), not against UDAN's 5 of last week.
    assert (data.pulse, data.pulse_people, data.no_pulse) == (2.0, 3, [])
    assert (data.pulse_change, data.pulse_change_people) == (-1.0, 3)
    assert data.spread == [1, 1, 1, 0, 0]
    # Blockers: only the manager's template; "None." is not one; UANN's is still open.
    assert [(b.user_id, b.text, b.still_open) for b in data.blockers] == [
        ("UANN", "Waiting on the security review", True)
    ]
    # Whom to talk to: each flag.
    assert {t.user_id: t.reasons for t in data.talk_to} == {
        "UANN": [
            "pulse 1.0, 3.0 below their 4-week average",
            "a blocker still open from last week",
        ],
        "UBOB": ["pulse 2 or lower two weeks running"],
        "UCAT": ["no answer two weeks running (missed, then missed)"],
    }
    talk = {t.user_id: (t.last_pulse, t.trend) for t in data.talk_to}
    assert talk["UCAT"] == (3.0, [3.0, 3.0, None, None])
    assert talk["UANN"] == (1.0, [4.0, 4.0, 4.0, 1.0])
    (weekly,) = data.participation
    assert (weekly.name, weekly.answered, weekly.prompted) == ("Weekly", 2, 3)
    assert weekly.change == -8.3  # 67% against 75% (UDAN answered last week)
    assert weekly.missed == ["UCAT"] and weekly.still_open == [] and weekly.skipped == []
    # Answers: the manager's own template only (never UEVE's answer to UOTHER's check-in).
    assert [(a.user_id, a.replied) for a in data.answers] == [("UANN", True), ("UBOB", False)]
    assert "Blocked on X" not in json.dumps(data.to_json())
    assert data.replied == 1
    assert data.kudos == 2 and data.kudos_by_value == [("teamwork", 2), ("craft", 1)]
    assert data.value_tags == 3
    assert data.no_kudos == ["UCAT", "UDAN", "UEVE"]  # UBOB had one 10 days ago
    skip = {s.manager_id: s for s in data.skip_level}
    assert skip["UANN"].too_small and skip["UANN"].size == 1
    assert (skip["UBOB"].answered, skip["UBOB"].prompted) == (3, 3)
    assert (skip["UBOB"].pulse, skip["UBOB"].change) == (4.0, 1.0)
    assert blocks.headline(data) == (
        "Week of 3–9 Mar: 3 of 4 people answered (<@UCAT> missed; <@UDAN> away), "
        "pulse 2.0 from 3 of 4 (-1.0), 1 blocker, 2 kudos, 3 value tags"
    )


def test_the_chart_plots_the_weeks_pulse_and_participation(session: Session) -> None:
    seed_team(session)
    data = build(session)
    assert len(data.chart) == 8
    pulses, bars = digest_chart.plotted(digest_chart.figure(data.chart))
    # Two empty weeks first (before the team began), drawn as gaps and empty bars.
    assert pulses == [None, None, 3.6, 3.6, 3.6, 3.6, 3.5, 2.0]
    assert bars == pytest.approx([0, 0, 100, 100, 100, 100, 80, 75])
    png = digest_chart.png(data.chart)
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    # The minute job's painter reuses one figure: what it plots is the new data, only.
    painter = digest_chart.Painter()
    painter.png([digest.ChartWeek(w.label, None, None) for w in data.chart])
    assert painter.png(data.chart).startswith(b"\x89PNG")
    assert painter.figure is not None
    assert digest_chart.plotted(painter.figure) == (pulses, bars)
    assert [t.get_text() for t in painter.figure.axes[0].texts] == ["no data", "no data"]


def test_a_week_still_open_at_send_time_is_shown_as_open_not_missed(session: Session) -> None:
    seed_team(session)
    weekly = template(session, MANAGER, "Late one", ["UCAT"])
    occurrence(session, weekly, "UCAT", WEEK, "pending", closes_at=SEND_AT + timedelta(days=1))
    data = build(session)
    line = next(p for p in data.participation if p.name == "Late one")
    assert (line.answered, line.prompted, line.still_open, line.missed) == (0, 0, ["UCAT"], [])
    assert data.still_open == 1


def test_a_constant_number_of_statements_whatever_the_team_size(session: Session) -> None:
    seed_team(session)
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = session.get_bind().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        build(session)
        small = len(statements)
        more = [f"UBIG{i:02d}" for i in range(40)]
        add_people(session, SEND_AT, *(person(u) for u in more))
        for user_id in more:
            report(session, user_id, MANAGER)
        big = template(session, MANAGER, "Big", more)
        for user_id in more:
            for back in range(3):
                occurrence(
                    session,
                    big,
                    user_id,
                    WEEK - timedelta(weeks=back),
                    "answered",
                    {"done": "x", "pulse": 3},
                )
        statements.clear()
        data = build(session)
        assert len(data.reports) == 45 and len(data.answers) == 42
        assert len(statements) == small, statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


# ----- the empty cases --------------------------------------------------------------------------


def test_a_manager_with_no_reports_gets_a_short_digest_saying_so(session: Session) -> None:
    add_people(session, SEND_AT, person(MANAGER))
    data = build(session)
    assert data.empty_reason == "no_reports"
    (message,) = blocks.messages(data)
    assert "no direct reports" in json.dumps(message[1])
    with pytest.raises(digest.NotAManager):
        digest.preview(session, TEAM, MANAGER, AFTER_SEND, zone=ZONE, anonymity_min=3)
    # Owning a check-in makes a digest, even without reports in the org chart.
    add_people(session, SEND_AT, person("USOLO"))
    template(session, MANAGER, "Guild", ["USOLO"])
    session.execute(delete(OrgEdge).where(OrgEdge.manager_id == MANAGER))
    assert build(session).empty_reason == "no_checkins"


def test_a_team_with_no_answers_or_everyone_away_says_why(session: Session) -> None:
    add_people(session, SEND_AT, person(MANAGER), person("UAWAY"), person("UNONE"))
    report(session, "UAWAY", MANAGER)
    assert build(session).empty_reason == "no_checkins"
    weekly = template(session, MANAGER, "Weekly", ["UAWAY"])
    occurrence(session, weekly, "UAWAY", WEEK, "away")
    data = build(session)
    assert data.empty_reason == "all_away"
    assert "Everyone on your team was away" in json.dumps(blocks.messages(data))
    occurrence(session, weekly, "UNONE", WEEK, "missed")
    assert build(session).empty_reason == "no_answers"


# ----- anonymity --------------------------------------------------------------------------------


def note(session: Session, text: str, week: str = ISO_WEEK) -> None:
    from storage import checkins as store

    store.add_upward(
        session,
        team_id=TEAM,
        manager_id=MANAGER,
        author_id=None,
        occurrence_id=None,
        text=text,
        iso_week=week,
        released=False,
    )


def test_anonymous_notes_wait_below_the_threshold_unannounced_and_are_released_at_it(
    session: Session,
) -> None:
    """Four direct reports answered in W09-W10 (the span from the oldest note's week: this
    manager has no earlier digest): below a minimum of 5 nothing is released and nothing says
    a note waits; at 3 both go, labelled by the span, never by a week."""
    seed_team(session)
    preview_before = blocks.preview_modal(build(session))
    note(session, "Too many meetings")
    note(session, "Please share the roadmap", week="2031-W09")
    below = digest.build(
        session, TEAM, MANAGER, AFTER_SEND, zone=ZONE, anonymity_min=5, release=True
    )
    assert below.data.anonymous_notes == [] and below.released_note_ids == []
    assert not below.anonymity_met
    assert blocks.anonymous_message(below.data) is None
    withheld = json.dumps(blocks.messages(below.data)).lower()
    assert not re.search(r"anonymous|notes? waits?|until \d+ people", withheld)
    at = digest.build(session, TEAM, MANAGER, AFTER_SEND, zone=ZONE, anonymity_min=3, release=True)
    assert sorted(at.data.anonymous_notes) == ["Please share the roadmap", "Too many meetings"]
    assert len(at.released_note_ids) == 2 and at.anonymity_met
    assert at.data.anonymous_weeks == 2
    # Alone in their own message; the digest's messages (which list who answered) and the
    # stored copy never hold their text.
    notes_message = blocks.anonymous_message(at.data)
    assert notes_message is not None and "Too many meetings" in json.dumps(notes_message)
    assert "released this week, written in the last 2 weeks" in json.dumps(notes_message)
    assert "<@" not in json.dumps(notes_message)
    assert "Too many meetings" not in json.dumps(blocks.messages(at.data))
    stored = at.data.stored_json()
    assert stored["anonymous_notes"] == [] and stored["anonymous_released"] == 2
    # A preview never shows them, nor their count: comparing two previews reveals nothing.
    preview = build(session)
    assert preview.anonymous_notes == [] and preview.anonymous_released == 0
    assert blocks.preview_modal(preview) == preview_before
    assert at.data.without_anonymous().anonymous_notes == []
    # A note of a later week waits for that week's digest.
    note(session, "Next week's note", week="2031-W11")
    assert "Next week's note" not in build(session, release=True).anonymous_notes


def test_the_anonymous_option_needs_enough_direct_reports(session: Session) -> None:
    add_people(session, SEND_AT, person(MANAGER), person("UONE"), person("UTWO"))
    report(session, "UONE", MANAGER)
    assert not checkins.anonymity_offered(session, TEAM, MANAGER, 2)
    report(session, "UTWO", MANAGER)
    assert checkins.anonymity_offered(session, TEAM, MANAGER, 2)
    assert not checkins.anonymity_offered(session, TEAM, None, 1)


def test_an_anonymous_note_is_stored_in_the_managers_week_with_a_random_id(
    session: Session,
) -> None:
    seed_team(session)
    for user_id in ("UCAT", "UDAN"):
        report(session, user_id, MANAGER)
    weekly = template(session, MANAGER, "Weekly", ["UANN", "UBOB", "UCAT", "UDAN"])
    # Monday 00:30 in Berlin is still Sunday in New York: the manager's week counts.
    now = datetime(2031, 3, 10, 0, 30, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
    occurrence_id = occurrence(
        session,
        weekly,
        "UCAT",
        WEEK + timedelta(days=7),
        "pending",
        closes_at=now + timedelta(days=3),
    )
    session.get_bind()
    from storage.models import CheckinOccurrence

    row = session.get(CheckinOccurrence, occurrence_id)
    assert row is not None
    row.scheduled_at = now - timedelta(hours=1)
    session.flush()
    submitted = checkins.submit(
        session,
        TEAM,
        "UCAT",
        occurrence_id,
        {"done": "x", "pulse": "3", "upward": "Secret"},
        now,
        anonymous=True,
        anonymity_min=3,
    )
    assert submitted.upward_anonymous
    (stored,) = session.scalars(select(UpwardFeedback).where(UpwardFeedback.text == "Secret"))
    assert stored.iso_week == "2031-W10"  # New York's Sunday, not Berlin's Monday
    assert len(stored.id) == 32 and stored.author_id is None and stored.occurrence_id is None


# ----- rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "detail", "expected"),
    [
        # A yes/no "yes" reads as what blocks, or says it did not say: never a bare "yes".
        ("yes_no", True, None, "blocked (no details given)"),
        ("yes_no", True, "  ", "blocked (no details given)"),
        ("yes_no", "yes", "Waiting on legal ", "Waiting on legal"),
        ("yes_no", False, None, None),
        ("yes_no", None, None, None),
        ("text", "None", None, None),
        ("text", " n/a ", None, None),
        ("text", "No.", None, None),
        ("text", "", None, None),
        ("text", "Waiting on legal", None, "Waiting on legal"),
        ("text", None, None, None),
    ],
)
def test_what_counts_as_a_blocker(
    kind: str, value: object, detail: object, expected: str | None
) -> None:
    assert rules.blocker_text(kind, value, detail) == expected


def test_the_covered_week_and_when_its_digest_is_due() -> None:
    zone = ZoneInfo("America/New_York")
    monday_9 = datetime(2031, 3, 10, 9, 0, tzinfo=zone)
    assert rules.covered_week(monday_9, zone) == date(2031, 3, 3)
    # Sunday night: the current week is not complete, so the one before is covered.
    assert rules.covered_week(datetime(2031, 3, 9, 23, 59, tzinfo=zone), zone) == date(2031, 2, 24)
    assert rules.due_at(date(2031, 3, 3), zone, "mon", time(9)) == monday_9
    # Another weekday changes when, never what: Wednesday 14:30 still covers 3-9 March.
    assert rules.due_at(date(2031, 3, 3), zone, "wed", time(14, 30)) == datetime(
        2031, 3, 12, 14, 30, tzinfo=zone
    )
    assert rules.week_label(date(2031, 3, 31)) == "31 Mar–6 Apr"
    assert rules.week_label(date(2030, 12, 30)) == "30 Dec 2030–5 Jan 2031"


# ----- Block Kit limits -------------------------------------------------------------------------


def sixty_person_team() -> DigestData:
    people = [f"UP{i:03d}" for i in range(60)]
    return DigestData(
        manager_id=MANAGER,
        iso_week=ISO_WEEK,
        week_start=WEEK.isoformat(),
        week_label="3–9 Mar",
        reports=people,
        people_answered=60,
        people_prompted=60,
        blockers=[Blocker(u, "Weekly", "Any blockers?", "x" * 400, True) for u in people],
        talk_to=[TalkTo(u, ["pulse 2 or lower two weeks running"] * 3) for u in people],
        answers=[AnswerLine(u, i, "Weekly", "y" * 280, False) for i, u in enumerate(people)],
        named_notes=[(u, "z" * 600) for u in people],
        no_kudos=people,
        chart=[digest.ChartWeek(f"{d} Mar", 3.5, 0.9) for d in range(1, 9)],
    )


def walk(blocks_: list[dict]) -> Iterator[dict]:
    yield from blocks_


def test_a_sixty_person_team_spills_into_thread_replies_within_limits() -> None:
    data = sixty_person_team()
    messages = blocks.messages(data)
    assert len(messages) >= 3
    assert any(b["type"] == "image" for b in messages[0][1])
    for _, message in messages:
        assert len(message) <= 50
        for block in walk(message):
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
            if block["type"] == "actions":
                assert len(block["elements"]) <= 25
    everything = json.dumps(messages)
    assert everything.count('"digest_view_more"') == 60
    assert all(f"<@{u}>" in everything for u in data.reports)
    modal = blocks.preview_modal(data)
    assert len(modal["blocks"]) <= 100


def test_an_anonymous_note_the_form_no_longer_offers_is_refused_and_nothing_changes(
    session: Session,
) -> None:
    add_people(session, SEND_AT, person(MANAGER), person("UONE"), person("UTWO"))
    report(session, "UONE", MANAGER)
    report(session, "UTWO", MANAGER)
    weekly = template(session, MANAGER, "Weekly", ["UONE", "UTWO"])
    now = SEND_AT
    occurrence_id = occurrence(
        session, weekly, "UONE", WEEK + timedelta(days=7), "pending", closes_at=now + timedelta(1)
    )
    with pytest.raises(checkins.AnswersInvalid) as refused:
        checkins.submit(
            session,
            TEAM,
            "UONE",
            occurrence_id,
            {"done": "x", "pulse": "3", "upward": "Secret"},
            now,
            anonymous=True,
            anonymity_min=3,
        )
    assert "fewer now" in refused.value.errors["upward"]
    assert session.scalars(select(UpwardFeedback)).all() == []
    from storage.models import CheckinOccurrence

    row = session.get(CheckinOccurrence, occurrence_id)
    assert row is not None and row.state == "pending"
