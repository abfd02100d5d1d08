"""Check-in occurrences on the database (their states and scheduling rules), without Slack.

The `now` fixture is Wednesday 2037-11-25 15:00 UTC; the team's template asks on Fridays at
16:00 in each member's zone, which is 05:00 UTC in Sydney, 10:30 in Kolkata, 16:00 in London
and UTC, and 21:00 in New York.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import checkins, org, templates
from bot.services.checkins import (
    AnswersInvalid,
    CheckinRefused,
    CheckinUnavailable,
)
from bot.services.states import OccurrenceState
from bot.services.templates import Question
from storage.models import CheckinAnswer, CheckinOccurrence, UpwardFeedback
from tests.factories import TEAM, add_people, person

MEMBERS = ("UNY", "ULON", "USYD", "UKOL", "UNOTZ", "UNOCACHE")
FRIDAY = date(2037, 11, 27)
SYDNEY_AT = datetime(2037, 11, 27, 5, 0, tzinfo=UTC)
KOLKATA_AT = datetime(2037, 11, 27, 10, 30, tzinfo=UTC)
LONDON_AT = datetime(2037, 11, 27, 16, 0, tzinfo=UTC)
NEW_YORK_AT = datetime(2037, 11, 27, 21, 0, tzinfo=UTC)

QUESTIONS = [
    {"id": "done", "text": "Done?", "kind": "text", "required": True},
    {"id": "pulse", "text": "Pulse?", "kind": "pulse", "required": True},
    {"id": "focus", "text": "Focus?", "kind": "choice", "options": ["Ship", "Learn"]},
    {"id": "blocked", "text": "Blocked?", "kind": "yes_no"},
    {"id": "upward", "text": "For your manager?", "kind": "text", "anonymous_allowed": True},
]


def no_email(email: str) -> str | None:
    return None


def make_template(session: Session, now: datetime, **overrides: Any) -> int:
    data: dict[str, Any] = {
        "name": "Weekly",
        "owner": "UMGR",
        "members": list(MEMBERS),
        "schedule": {"days": ["fri"], "time": "16:00"},
        "remind_after": "4h",
        "close_after": "1d",
        "questions": QUESTIONS,
    }
    data.update(overrides)
    definition = templates.parse_template(data, no_email)
    [change] = templates.apply(session, TEAM, [definition], now)
    return change.template_id


@pytest.fixture
def team(session: Session, now: datetime) -> Session:
    add_people(
        session,
        now,
        person("UNY", tz="America/New_York"),
        person("ULON", tz="Europe/London"),
        person("USYD", tz="Australia/Sydney"),
        person("UKOL", tz="Asia/Kolkata"),
        person("UNOTZ", tz=None),
        person("UMGR", tz="America/Los_Angeles"),
        person("UGONE", deleted=True),
        person("UBOT", is_bot=True),
    )
    return session


@pytest.fixture
def weekly(team: Session, now: datetime) -> int:
    return make_template(team, now)


def rows(session: Session, **where: Any) -> list[CheckinOccurrence]:
    query = select(CheckinOccurrence).order_by(CheckinOccurrence.scheduled_at, CheckinOccurrence.id)
    for key, value in where.items():
        query = query.where(getattr(CheckinOccurrence, key) == value)
    return list(session.scalars(query.execution_options(populate_existing=True)))


def created_users(result: checkins.PlanResult) -> list[str]:
    return [due.occurrence.user_id for due in result.created]


def pending(session: Session, user_id: str, now: datetime) -> checkins.Due:
    due = checkins.pending_for(session, TEAM, user_id, now)
    assert due is not None
    return due


# ----- planning ---------------------------------------------------------------------------------


def test_each_member_is_due_at_their_own_local_time(team: Session, weekly: int) -> None:
    assert checkins.plan_due(team, SYDNEY_AT - timedelta(seconds=1)).created == []
    assert created_users(checkins.plan_due(team, SYDNEY_AT)) == ["USYD"]
    assert created_users(checkins.plan_due(team, KOLKATA_AT)) == ["UKOL"]
    assert sorted(created_users(checkins.plan_due(team, LONDON_AT))) == [
        "ULON",
        "UNOCACHE",  # not in the directory cache: UTC
        "UNOTZ",  # Slack gave no tz: UTC
    ]
    assert created_users(checkins.plan_due(team, NEW_YORK_AT)) == ["UNY"]
    assert checkins.plan_due(team, NEW_YORK_AT + timedelta(hours=1)).created == []

    by_user = {r.user_id: r for r in rows(team)}
    assert len(by_user) == 6
    sydney = by_user["USYD"]
    assert (sydney.local_date, sydney.scheduled_at) == (FRIDAY, SYDNEY_AT)
    assert sydney.closes_at == SYDNEY_AT + timedelta(days=1)
    assert sydney.remind_at == SYDNEY_AT + timedelta(hours=4)
    assert sydney.state == OccurrenceState.PENDING
    assert sydney.team_id == TEAM and sydney.template_id == weekly
    assert by_user["UNY"].scheduled_at == NEW_YORK_AT


def test_planning_twice_writes_and_reports_once(team: Session, weekly: int) -> None:
    first = checkins.plan_due(team, NEW_YORK_AT)
    assert len(first.created) == 6
    again = checkins.plan_due(team, NEW_YORK_AT)
    assert (again.created, again.missed, again.away) == ([], [], [])
    assert len(rows(team)) == 6


def test_no_prompt_for_a_time_before_the_template_existed(team: Session, now: datetime) -> None:
    # Every day at 09:00 UTC; created Wednesday 15:00 UTC, so Wednesday's 09:00 never happens.
    make_template(team, now, members=["UNOTZ"], schedule={"days": ["wed", "thu"], "time": "09:00"})
    assert checkins.plan_due(team, now).created == []
    thursday = datetime(2037, 11, 26, 9, 0, tzinfo=UTC)
    result = checkins.plan_due(team, thursday)
    assert [d.occurrence.local_date for d in result.created] == [date(2037, 11, 26)]
    assert result.missed == []


def test_no_prompt_for_a_time_before_the_member_was_added(team: Session, now: datetime) -> None:
    make_template(team, now, members=["ULON"])
    # UNY joins on Friday at 22:00 UTC, an hour after their own 16:00 passed.
    make_template(team, datetime(2037, 11, 27, 22, 0, tzinfo=UTC), members=["ULON", "UNY"])
    result = checkins.plan_due(team, datetime(2037, 11, 27, 23, 0, tzinfo=UTC))
    assert created_users(result) == ["ULON"]
    assert result.missed == []
    next_week = NEW_YORK_AT + timedelta(days=7)
    assert "UNY" in created_users(checkins.plan_due(team, next_week))


def test_catch_up_after_an_outage(team: Session, weekly: int) -> None:
    """Down all Friday, back Saturday 10:00 UTC: still open -> late prompt; closed -> missed."""
    back = datetime(2037, 11, 28, 10, 0, tzinfo=UTC)
    result = checkins.plan_due(team, back)
    # Sydney's closed at Saturday 05:00 UTC, Kolkata's is open until 10:30.
    assert [o.user_id for o in result.missed] == ["USYD"]
    assert sorted(created_users(result)) == ["UKOL", "ULON", "UNOCACHE", "UNOTZ", "UNY"]
    assert all(due.late for due in result.created)
    assert {r.user_id: r.state for r in rows(team)}["USYD"] == OccurrenceState.MISSED


def test_catch_up_is_bounded_by_the_horizon(team: Session, now: datetime) -> None:
    make_template(team, now, members=["UNOTZ"], schedule={"days": ["fri"], "time": "16:00"})
    back = datetime(2037, 12, 20, 12, 0, tzinfo=UTC)  # 25 days later
    result = checkins.plan_due(team, back)
    assert [o.local_date for o in result.missed] == [date(2037, 12, 11), date(2037, 12, 18)]
    assert result.created == []


def test_a_prompt_on_time_is_not_late(team: Session, weekly: int) -> None:
    result = checkins.plan_due(team, SYDNEY_AT + timedelta(minutes=1))
    assert [d.late for d in result.created] == [False]


def test_out_of_office_members_are_recorded_away(team: Session, weekly: int, now: datetime) -> None:
    checkins.set_ooo(team, TEAM, "UNY", FRIDAY, now)
    checkins.set_ooo(team, TEAM, "ULON", FRIDAY - timedelta(days=1), now)  # back before Friday
    result = checkins.plan_due(team, NEW_YORK_AT)
    assert [o.user_id for o in result.away] == ["UNY"]
    assert "UNY" not in created_users(result) and "ULON" in created_users(result)
    assert {r.user_id: r.state for r in rows(team)}["UNY"] == OccurrenceState.AWAY


def test_deleted_users_bots_and_inactive_templates_are_not_prompted(
    team: Session, now: datetime
) -> None:
    make_template(team, now, members=["UGONE", "UBOT", "UNOTZ"])
    make_template(team, now, name="Paused", members=["ULON"], active=False)
    result = checkins.plan_due(team, NEW_YORK_AT)  # UGONE's zone is New York
    assert created_users(result) == ["UNOTZ"]
    assert result.away == [] and result.missed == []
    assert {r.user_id for r in rows(team)} == {"UNOTZ"}  # nothing is written for a leaver


def test_a_deactivated_member_is_skipped_and_back_from_their_next_check_in(
    team: Session, now: datetime
) -> None:
    make_template(team, now, members=["UNOTZ", "ULON"])
    add_people(team, now, person("UNOTZ", tz=None, deleted=True))
    result = checkins.plan_due(team, LONDON_AT)
    assert created_users(result) == ["ULON"]
    assert (result.away, result.missed) == ([], [])
    # Reactivated on Monday: Friday 16:00 is their next check-in, and the one they were gone
    # for is neither written now nor counted as missed.
    add_people(team, LONDON_AT + timedelta(days=3), person("UNOTZ", tz=None))
    result = checkins.plan_due(team, LONDON_AT + timedelta(days=7))
    assert sorted(created_users(result)) == ["ULON", "UNOTZ"]
    assert result.missed == []
    assert [(r.local_date, r.state) for r in rows(team, user_id="UNOTZ")] == [
        ((LONDON_AT + timedelta(days=7)).date(), OccurrenceState.PENDING)
    ]


def test_back_after_their_check_in_time_they_wait_for_the_next_one(
    team: Session, now: datetime
) -> None:
    make_template(team, now, members=["UNOTZ"])
    add_people(team, now, person("UNOTZ", tz=None, deleted=True))
    add_people(team, LONDON_AT + timedelta(minutes=5), person("UNOTZ", tz=None))
    assert created_users(checkins.plan_due(team, LONDON_AT + timedelta(minutes=10))) == []
    result = checkins.plan_due(team, LONDON_AT + timedelta(days=7, minutes=10))
    assert created_users(result) == ["UNOTZ"] and result.missed == []


def test_changing_the_time_applies_forward_only(team: Session, now: datetime) -> None:
    make_template(team, now, members=["UNOTZ"], schedule={"days": ["fri"], "time": "16:00"})
    # On Friday at 12:00 the owner moves it to 09:00: Friday 09:00 has passed under the new
    # schedule, so it is neither prompted nor "missed"; next Friday is.
    change_at = datetime(2037, 11, 27, 12, 0, tzinfo=UTC)
    make_template(team, change_at, members=["UNOTZ"], schedule={"days": ["fri"], "time": "09:00"})
    result = checkins.plan_due(team, datetime(2037, 11, 27, 20, 0, tzinfo=UTC))
    assert (result.created, result.missed) == ([], [])
    result = checkins.plan_due(team, datetime(2037, 12, 4, 9, 0, tzinfo=UTC))
    assert [d.occurrence.local_date for d in result.created] == [date(2037, 12, 4)]


@pytest.mark.parametrize(
    ("tz", "local_time", "day", "expected"),
    [
        ("America/New_York", "02:30", date(2037, 3, 8), datetime(2037, 3, 8, 7, 30, tzinfo=UTC)),
        ("America/New_York", "01:30", date(2037, 11, 1), datetime(2037, 11, 1, 5, 30, tzinfo=UTC)),
        ("Australia/Sydney", "02:30", date(2037, 10, 4), datetime(2037, 10, 3, 16, 30, tzinfo=UTC)),
        ("Australia/Sydney", "02:30", date(2037, 4, 5), datetime(2037, 4, 4, 15, 30, tzinfo=UTC)),
    ],
)
def test_dst_days_prompt_exactly_once(
    session: Session, tz: str, local_time: str, day: date, expected: datetime
) -> None:
    created = datetime.combine(day - timedelta(days=3), datetime.min.time(), tzinfo=UTC)
    add_people(session, created, person("UDST", tz=tz))
    make_template(
        session,
        created,
        members=["UDST"],
        schedule={"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "time": local_time},
    )
    # Run every 30 minutes across the change day, as a scheduler would.
    start = datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    for step in range(0, 4 * 24 * 2):
        checkins.plan_due(session, start + timedelta(minutes=30 * step))
    on_day = [r for r in rows(session, user_id="UDST") if r.local_date == day]
    assert [r.scheduled_at for r in on_day] == [expected]
    dates = [r.local_date for r in rows(session, user_id="UDST")]
    assert len(dates) == len(set(dates))


# ----- reminders, snoozes, closing --------------------------------------------------------------


def test_reminders_are_claimed_once_and_only_for_open_pending(team: Session, weekly: int) -> None:
    checkins.plan_due(team, LONDON_AT)
    answered = pending(team, "UNOTZ", LONDON_AT)
    checkins.submit(
        team, TEAM, "UNOTZ", answered.occurrence.id, {"done": "x", "pulse": "3"}, LONDON_AT
    )
    # Sydney's (09:00 UTC) and Kolkata's (14:30 UTC) reminder times had passed when their
    # (late) prompts were written: those prompts stand in for the reminders.
    assert checkins.due_reminders(team, LONDON_AT) == []
    assert {r.user_id: r.reminded_at for r in rows(team)}["USYD"] == LONDON_AT
    remind_at = LONDON_AT + timedelta(hours=4)
    assert checkins.due_reminders(team, remind_at - timedelta(seconds=1)) == []
    first = checkins.due_reminders(team, remind_at)
    assert sorted(d.occurrence.user_id for d in first) == ["ULON", "UNOCACHE"]  # not UNOTZ
    assert all(d.template.name == "Weekly" for d in first)
    assert checkins.due_reminders(team, remind_at + timedelta(hours=1)) == []
    reminded = {r.user_id: r.reminded_at for r in rows(team)}
    assert reminded["ULON"] == remind_at and reminded["UNOTZ"] is None


def test_no_reminder_after_closing_or_without_remind_after(team: Session, now: datetime) -> None:
    make_template(team, now, members=["UNOTZ"], remind_after=None)
    make_template(team, now, name="Other", members=["ULON"])
    checkins.plan_due(team, LONDON_AT)
    late = LONDON_AT + timedelta(days=2)
    assert checkins.due_reminders(team, late) == []  # ULON's closed before anyone looked
    # Before closing, ULON's is due; UNOTZ's template has no reminder at all.
    due = checkins.due_reminders(team, LONDON_AT + timedelta(hours=5))
    assert [d.occurrence.user_id for d in due] == ["ULON"]


def test_snooze_delays_the_reminder_and_the_reprompt_counts_as_it(
    team: Session, weekly: int
) -> None:
    checkins.plan_due(team, LONDON_AT)
    occ = pending(team, "ULON", LONDON_AT).occurrence
    snoozed = checkins.snooze(team, TEAM, "ULON", occ.id, timedelta(hours=5), LONDON_AT)
    assert snoozed.snoozed_until == LONDON_AT + timedelta(hours=5)
    assert snoozed.snooze_count == 1
    remind_at = LONDON_AT + timedelta(hours=4)
    assert "ULON" not in [d.occurrence.user_id for d in checkins.due_reminders(team, remind_at)]
    assert checkins.due_snoozes(team, remind_at) == []
    ends = LONDON_AT + timedelta(hours=5)
    [reprompt] = checkins.due_snoozes(team, ends)
    assert (reprompt.occurrence.user_id, reprompt.occurrence.snooze_count) == ("ULON", 1)
    assert checkins.due_snoozes(team, ends) == []
    assert "ULON" not in [d.occurrence.user_id for d in checkins.due_reminders(team, ends)]
    [row] = rows(team, user_id="ULON")
    assert row.snoozed_until is None and row.reminded_at == ends


def test_snooze_is_never_past_closing(team: Session, weekly: int) -> None:
    checkins.plan_due(team, LONDON_AT)
    occ = pending(team, "ULON", LONDON_AT).occurrence
    with pytest.raises(CheckinRefused, match=r"closes .* before the snooze would end"):
        checkins.snooze(team, TEAM, "ULON", occ.id, timedelta(days=1), LONDON_AT)
    with pytest.raises(CheckinRefused, match="at least 5 minutes"):
        checkins.snooze(team, TEAM, "ULON", occ.id, timedelta(minutes=1), LONDON_AT)
    almost = occ.closes_at - timedelta(minutes=30)
    checkins.snooze(team, TEAM, "ULON", None, timedelta(minutes=20), almost)
    [row] = rows(team, user_id="ULON")
    assert row.snoozed_until is not None and row.snoozed_until < row.closes_at
    # Closing wins over a snooze that has not run out: no re-prompt after closing.
    assert "ULON" in [o.user_id for o in checkins.close_due(team, occ.closes_at)]
    assert checkins.due_snoozes(team, occ.closes_at + timedelta(hours=1)) == []


def test_closing_marks_missed_once(team: Session, weekly: int) -> None:
    checkins.plan_due(team, LONDON_AT)
    closes = LONDON_AT + timedelta(days=1)
    earlier = checkins.close_due(team, closes - timedelta(seconds=1))
    assert sorted(o.user_id for o in earlier) == ["UKOL", "USYD"]
    closed = checkins.close_due(team, closes)
    assert sorted(o.user_id for o in closed) == ["ULON", "UNOCACHE", "UNOTZ"]
    assert all(o.state == OccurrenceState.MISSED for o in closed)
    assert checkins.close_due(team, closes) == []
    assert checkins.pending_for(team, TEAM, "ULON", closes) is None
    assert {r.state for r in rows(team)} == {OccurrenceState.MISSED}


# ----- answering --------------------------------------------------------------------------------


GOOD = {"done": "Shipped the importer", "pulse": "4", "focus": "Ship", "blocked": "no"}


def test_submit_stores_clean_answers(team: Session, weekly: int) -> None:
    checkins.plan_due(team, LONDON_AT)
    due = checkins.open_checkin(team, TEAM, "ULON", None, LONDON_AT)
    at = LONDON_AT + timedelta(minutes=5)
    submitted = checkins.submit(team, TEAM, "ULON", due.occurrence.id, GOOD, at)
    assert submitted.occurrence.state == OccurrenceState.ANSWERED
    assert submitted.occurrence.answered_at == at
    assert [(q.id, v) for q, v in submitted.answers] == [
        ("done", "Shipped the importer"),
        ("pulse", 4),
        ("focus", "Ship"),
        ("blocked", False),
    ]
    assert submitted.upward_text is None
    stored = {
        a.question_id: a.value
        for a in team.scalars(
            select(CheckinAnswer).where(CheckinAnswer.occurrence_id == due.occurrence.id)
        )
    }
    assert stored == {"done": "Shipped the importer", "pulse": 4, "focus": "Ship", "blocked": False}
    assert team.scalars(select(UpwardFeedback)).all() == []


def test_invalid_answers_name_each_question_and_change_nothing(team: Session, weekly: int) -> None:
    checkins.plan_due(team, LONDON_AT)
    occ = pending(team, "ULON", LONDON_AT).occurrence
    bad = {"done": "   ", "pulse": "6", "focus": "Nap", "blocked": "maybe", "upward": "x" * 3001}
    with pytest.raises(AnswersInvalid) as caught:
        checkins.submit(team, TEAM, "ULON", occ.id, bad, LONDON_AT)
    assert caught.value.errors == {
        "done": "Please answer this question.",
        "pulse": "Pick a number from 1 to 5.",
        "focus": "Pick one of the options.",
        "blocked": "Answer yes or no.",
        "upward": "Your answer is 3001 characters; the limit is 3000. Please shorten it.",
    }
    [row] = rows(team, user_id="ULON")
    assert row.state == OccurrenceState.PENDING and row.answered_at is None
    assert team.scalars(select(CheckinAnswer)).all() == []


def test_named_upward_feedback_goes_to_the_org_chart_manager(team: Session, weekly: int) -> None:
    org.set_manager(team, TEAM, "ULON", "UBOSS", LONDON_AT)
    checkins.plan_due(team, LONDON_AT)
    occ = pending(team, "ULON", LONDON_AT).occurrence
    submitted = checkins.submit(
        team, TEAM, "ULON", occ.id, {**GOOD, "upward": "More focus time please"}, LONDON_AT
    )
    assert submitted.upward_text == "More focus time please"
    assert not submitted.upward_anonymous
    assert submitted.manager_id == "UBOSS"
    assert "upward" not in {q.id for q, _ in submitted.answers}
    [note] = team.scalars(select(UpwardFeedback)).all()
    assert (note.manager_id, note.author_id, note.occurrence_id) == ("UBOSS", "ULON", occ.id)
    assert (note.anonymous, note.released, note.iso_week) == (False, True, "2037-W48")
    assert team.scalars(select(CheckinAnswer.question_id)).all().count("upward") == 0


def test_anonymous_upward_feedback_keeps_no_trace_of_its_author(team: Session, weekly: int) -> None:
    checkins.plan_due(team, LONDON_AT)
    occ = pending(team, "ULON", LONDON_AT).occurrence
    submitted = checkins.submit(
        team,
        TEAM,
        "ULON",
        occ.id,
        {**GOOD, "upward": "Meetings too long"},
        LONDON_AT,
        anonymous=True,
    )
    assert submitted.upward_anonymous and submitted.manager_id == "UMGR"  # set by apply
    [note] = team.scalars(select(UpwardFeedback)).all()
    assert (note.author_id, note.occurrence_id, note.anonymous, note.released) == (
        None,
        None,
        True,
        False,
    )
    assert note.text == "Meetings too long" and note.manager_id == "UMGR"


def test_anonymous_without_an_upward_answer_stores_nothing(team: Session, weekly: int) -> None:
    checkins.plan_due(team, LONDON_AT)
    occ = pending(team, "ULON", LONDON_AT).occurrence
    submitted = checkins.submit(team, TEAM, "ULON", occ.id, GOOD, LONDON_AT, anonymous=True)
    assert not submitted.upward_anonymous and submitted.upward_text is None
    assert team.scalars(select(UpwardFeedback)).all() == []


def test_a_second_submit_and_someone_elses_click_are_refused(team: Session, weekly: int) -> None:
    checkins.plan_due(team, LONDON_AT)
    occ = pending(team, "ULON", LONDON_AT).occurrence
    with pytest.raises(CheckinUnavailable) as other:
        checkins.submit(team, TEAM, "UNOTZ", occ.id, GOOD, LONDON_AT)
    assert other.value.reason == "not_found"
    with pytest.raises(CheckinUnavailable) as wrong_team:
        checkins.open_checkin(team, "T0OTHER", "ULON", occ.id, LONDON_AT)
    assert wrong_team.value.reason == "not_found"
    checkins.submit(team, TEAM, "ULON", occ.id, GOOD, LONDON_AT)
    with pytest.raises(CheckinUnavailable) as twice:
        checkins.submit(team, TEAM, "ULON", occ.id, GOOD, LONDON_AT)
    assert twice.value.reason == "answered"
    assert len(team.scalars(select(CheckinAnswer)).all()) == 4


def test_a_late_click_finds_the_check_in_closed(team: Session, weekly: int) -> None:
    checkins.plan_due(team, LONDON_AT)
    occ = pending(team, "ULON", LONDON_AT).occurrence
    late = occ.closes_at + timedelta(minutes=1)  # the closing job has not run yet
    with pytest.raises(CheckinUnavailable) as caught:
        checkins.open_checkin(team, TEAM, "ULON", occ.id, late)
    assert caught.value.reason == "closed"
    assert "has closed" in caught.value.message
    assert caught.value.occurrence is not None and caught.value.occurrence.state == "missed"
    with pytest.raises(CheckinUnavailable, match="has closed"):
        checkins.submit(team, TEAM, "ULON", occ.id, GOOD, late)
    assert [r.state for r in rows(team, user_id="ULON")] == [OccurrenceState.MISSED]


def test_skip(team: Session, weekly: int) -> None:
    checkins.plan_due(team, LONDON_AT)
    skipped = checkins.skip(team, TEAM, "ULON", None, LONDON_AT)
    assert skipped.state == OccurrenceState.SKIPPED
    with pytest.raises(CheckinUnavailable) as again:
        checkins.skip(team, TEAM, "ULON", skipped.id, LONDON_AT)
    assert again.value.reason == "skipped"
    with pytest.raises(CheckinUnavailable) as none:
        checkins.skip(team, TEAM, "ULON", None, LONDON_AT)
    assert none.value.reason == "not_found"
    with pytest.raises(CheckinUnavailable, match="skipped"):
        checkins.submit(team, TEAM, "ULON", skipped.id, GOOD, LONDON_AT)


def test_pending_for_is_the_most_recent_open_one(team: Session, now: datetime) -> None:
    make_template(
        team,
        now,
        members=["UNOTZ"],
        close_after="3d",
        schedule={"days": ["thu", "fri"], "time": "16:00"},
    )
    checkins.plan_due(team, LONDON_AT)
    due = pending(team, "UNOTZ", LONDON_AT)
    assert due.occurrence.local_date == FRIDAY
    assert due.template.name == "Weekly"
    assert checkins.pending_for(team, TEAM, "ULON", LONDON_AT) is None
    with pytest.raises(CheckinUnavailable, match="no check-in waiting"):
        checkins.open_checkin(team, TEAM, "ULON", None, LONDON_AT)


def test_reply_target_only_for_readers_of_an_answered_check_in(team: Session, weekly: int) -> None:
    org.set_manager(team, TEAM, "ULON", "UBOSS", LONDON_AT)
    checkins.plan_due(team, LONDON_AT)
    occ = pending(team, "ULON", LONDON_AT).occurrence
    assert checkins.reply_target(team, TEAM, "UMGR", occ.id) is None  # not answered yet
    checkins.submit(team, TEAM, "ULON", occ.id, GOOD, LONDON_AT)
    for reader in ("UMGR", "UBOSS"):  # the owner, and the member's manager
        target = checkins.reply_target(team, TEAM, reader, occ.id)
        assert target is not None
        assert (target.member_id, target.template_name) == ("ULON", "Weekly")
    for stranger in ("UNOTZ", "ULON"):
        assert checkins.reply_target(team, TEAM, stranger, occ.id) is None
    assert checkins.reply_target(team, TEAM, "UMGR", None) is None
    assert checkins.reply_target(team, "T0OTHER", "UMGR", occ.id) is None
    assert checkins.template_name(team, TEAM, occ.template_id) == "Weekly"
    assert checkins.template_name(team, TEAM, 999_999) == "check-in"


# ----- out of office ----------------------------------------------------------------------------


def test_ooo_is_inclusive_and_turns_waiting_check_ins_away(team: Session, weekly: int) -> None:
    checkins.plan_due(team, LONDON_AT)
    result = checkins.set_ooo(team, TEAM, "ULON", date(2037, 12, 4), LONDON_AT)
    assert result.starts_on == FRIDAY
    assert [o.state for o in result.away] == [OccurrenceState.AWAY]
    assert checkins.ooo_until(team, TEAM, "ULON", LONDON_AT) == date(2037, 12, 4)
    # Until is inclusive: next Friday is away, the one after is prompted.
    nxt = checkins.plan_due(team, LONDON_AT + timedelta(days=7))
    assert "ULON" in [o.user_id for o in nxt.away]
    after = checkins.plan_due(team, LONDON_AT + timedelta(days=14))
    assert "ULON" in created_users(after)
    assert checkins.ooo_until(team, TEAM, "ULON", LONDON_AT + timedelta(days=14)) is None


def test_ooo_off_resumes_prompts(team: Session, weekly: int, now: datetime) -> None:
    checkins.set_ooo(team, TEAM, "ULON", date(2037, 12, 24), now)
    assert checkins.end_ooo(team, TEAM, "ULON")
    assert not checkins.end_ooo(team, TEAM, "ULON")
    assert "ULON" in created_users(checkins.plan_due(team, LONDON_AT))


def test_ooo_dates_are_checked(team: Session, now: datetime) -> None:
    with pytest.raises(CheckinRefused, match="has passed"):
        checkins.set_ooo(team, TEAM, "ULON", date(2037, 11, 24), now)
    with pytest.raises(CheckinRefused, match="a year ahead"):
        checkins.set_ooo(team, TEAM, "ULON", date(2038, 12, 24), now)
    # "Today" is the member's own date: 2037-11-26 already in Sydney (02:00 local).
    with pytest.raises(CheckinRefused, match="has passed"):
        checkins.set_ooo(team, TEAM, "USYD", date(2037, 11, 25), now)
    checkins.set_ooo(team, TEAM, "UNY", date(2037, 11, 25), now)


def test_next_checkin(team: Session, weekly: int, now: datetime) -> None:
    found = checkins.next_checkin(team, TEAM, "UNY", now)
    assert found is not None and found[1] == NEW_YORK_AT and found[0].name == "Weekly"
    assert checkins.next_checkin(team, TEAM, "UMGR", now) is None


# ----- pure helpers -----------------------------------------------------------------------------


QS = [templates.Question.from_dict(q) for q in QUESTIONS]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"done": " x ", "pulse": 1}, {"done": "x", "pulse": 1}),
        ({"done": "x", "pulse": "5", "blocked": True}, {"done": "x", "pulse": 5, "blocked": True}),
        ({"done": "x", "pulse": "2", "blocked": "Yes"}, {"done": "x", "pulse": 2, "blocked": True}),
        ({"done": "x", "pulse": "3", "focus": None, "upward": ""}, {"done": "x", "pulse": 3}),
        ({"done": "é" * 3000, "pulse": "3"}, {"done": "é" * 3000, "pulse": 3}),
    ],
)
def test_validate_answers_accepts(raw: dict[str, Any], expected: dict[str, Any]) -> None:
    assert checkins.validate_answers(QS, raw) == expected


@pytest.mark.parametrize(
    ("raw", "errors"),
    [
        ({}, {"done": "Please answer this question.", "pulse": "Please answer this question."}),
        ({"done": "x", "pulse": "0"}, {"pulse": "Pick a number from 1 to 5."}),
        ({"done": "x", "pulse": True}, {"pulse": "Pick a number from 1 to 5."}),
        ({"done": "x", "pulse": "3.5"}, {"pulse": "Pick a number from 1 to 5."}),
        ({"done": "x", "pulse": "3", "focus": "ship"}, {"focus": "Pick one of the options."}),
        (
            {"done": "x", "pulse": "3", "ghost": "boo"},
            {"ghost": "This question is not part of the check-in any more; reopen it."},
        ),
    ],
)
def test_validate_answers_refuses(raw: dict[str, Any], errors: dict[str, str]) -> None:
    with pytest.raises(AnswersInvalid) as caught:
        checkins.validate_answers(QS, raw)
    assert caught.value.errors == errors


BLOCKER_QS = [
    templates.Question("blocked", "Anything blocking you?", "yes_no", blocker=True),
    templates.Question("why", "Why?", "text"),
]
PICK_YES = "You wrote what is blocking you below: pick Yes, or clear that text."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # The detail is kept beside the yes, under its own key, as typed (trimmed).
        (
            {"blocked": "yes", "blocked.detail": " The vendor's API keys "},
            {"blocked": True, "blocked.detail": "The vendor's API keys"},
        ),
        ({"blocked": "yes", "blocked.detail": ""}, {"blocked": True}),  # a yes without details
        ({"blocked": "no", "blocked.detail": None}, {"blocked": False}),
        ({}, {}),
    ],
)
def test_a_yes_no_blocker_keeps_what_blocks(raw: dict[str, Any], expected: dict[str, Any]) -> None:
    assert checkins.validate_answers(BLOCKER_QS, raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        {"blocked": "no", "blocked.detail": "Legal"},  # No, and yet something blocks
        {"blocked.detail": "Legal"},  # nothing picked: the member says which
    ],
)
def test_a_blocker_detail_without_a_yes_is_refused_on_the_question(raw: dict[str, Any]) -> None:
    with pytest.raises(AnswersInvalid) as caught:
        checkins.validate_answers(BLOCKER_QS, raw)
    assert caught.value.errors == {"blocked": PICK_YES}


def test_a_detail_is_not_asked_beside_a_question_that_is_not_a_yes_no_blocker() -> None:
    with pytest.raises(AnswersInvalid) as caught:
        checkins.validate_answers(QS, {"done": "x", "pulse": 3, "blocked.detail": "Legal"})
    assert caught.value.errors == {
        "blocked.detail": "This question is not part of the check-in any more; reopen it."
    }


@pytest.mark.parametrize(
    ("text", "verb", "extra"),
    [
        ("", "open", {}),
        ("  help ", "help", {}),
        ("skip", "skip", {}),
        ("setup", "setup", {}),
        ("digest", "digest", {}),
        ("snooze", "snooze", {"duration": timedelta(hours=1)}),
        ("snooze 2h", "snooze", {"duration": timedelta(hours=2)}),
        ("ooo until 2037-12-24", "ooo", {"until": date(2037, 12, 24)}),
        ("OOO Until 2037-12-24", "ooo", {"until": date(2037, 12, 24)}),
        ("ooo off", "ooo_off", {}),
    ],
)
def test_parse_command(text: str, verb: str, extra: dict[str, Any]) -> None:
    command = checkins.parse_command(text)
    assert command.verb == verb and command.error is None
    for key, value in extra.items():
        assert getattr(command, key) == value


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("snooze soon", "`/checkin snooze 2h`"),
        ("ooo", "`/checkin ooo until YYYY-MM-DD`"),
        ("ooo until christmas", "`/checkin ooo until YYYY-MM-DD`"),
        ("ooo until 2037-02-30", "`/checkin ooo until YYYY-MM-DD`"),
        ("skip please", "`/checkin help`"),
        ("dance", "I don't know `/checkin dance`"),
    ],
)
def test_parse_command_errors_say_what_to_type(text: str, fragment: str) -> None:
    command = checkins.parse_command(text)
    assert command.verb == "error" and command.error is not None and fragment in command.error


def test_question_upward_flag() -> None:
    assert Question("u", "U", "text", anonymous_allowed=True).upward
    assert not Question("d", "D", "text").upward
