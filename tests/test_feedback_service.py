"""Feedback permissions in bot/services, without Slack: every read names who asks, and a denial
reads the same whether or not the item exists. Dates lie years ahead, passed in as `now`."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from bot.services import feedback, feedback_requests, org
from tests.factories import TEAM, add_people, person

NOW = datetime(2035, 6, 4, 15, 0, tzinfo=UTC)
VALUES = ("craft",)


@pytest.fixture
def people(session: Session) -> Session:
    add_people(session, NOW, *(person(u) for u in ("UANA", "UBEN", "UCHO", "UDEV")))
    org.set_manager(session, TEAM, "UBEN", "UCHO", NOW)
    return session


def give(session: Session, visibility: str, key: str) -> feedback.FeedbackItem:
    draft = feedback.FeedbackDraft("UANA", "UBEN", "Clear demo", "", "craft", visibility)
    return feedback.give(
        session, team_id=TEAM, draft=draft, values=VALUES, request_key=key, now=NOW
    ).item


def test_feedback_is_read_by_sender_recipient_and_the_manager_only_when_chosen(
    people: Session,
) -> None:
    private = give(people, feedback.RECIPIENT_ONLY, "k1")
    shared = give(people, feedback.WITH_MANAGER, "k2")
    assert shared.manager_id == "UCHO" and private.manager_id is None
    for reader in ("UANA", "UBEN"):
        assert feedback.read(people, TEAM, reader, private.id).id == private.id
    assert feedback.read(people, TEAM, "UCHO", shared.id).id == shared.id
    denials = []
    for reader, feedback_id in (("UCHO", private.id), ("UDEV", shared.id), ("UDEV", 4242)):
        with pytest.raises(feedback.FeedbackDenied) as denied:
            feedback.read(people, TEAM, reader, feedback_id)
        denials.append(denied.value.message)
    assert set(denials) == {feedback.DENIED}
    with pytest.raises(feedback.FeedbackDenied):  # the sender can't thank themselves
        feedback.thank(people, TEAM, "UANA", private.id, NOW)
    assert feedback.thank(people, TEAM, "UBEN", private.id, NOW)[1] is True
    assert feedback.thank(people, TEAM, "UBEN", private.id, NOW)[1] is False


def test_request_answers_are_read_by_the_requester_and_by_the_subject_where_shared(
    people: Session,
) -> None:
    draft = feedback_requests.RequestDraft(
        requester_id="UCHO",
        people=["UANA", "UDEV"],
        topic="the migration",
        questions=["How did it go?"],
        due_on=date(2035, 6, 10),
        subject_id="UBEN",
    )
    created = feedback_requests.create(people, team_id=TEAM, draft=draft, request_key="r1", now=NOW)
    request_id = created.request.id
    feedback_requests.answer(people, TEAM, "UANA", request_id, ["Solid"], True, NOW)
    feedback_requests.answer(people, TEAM, "UDEV", request_id, ["Rushed"], False, NOW)
    _, everything = feedback_requests.answers_for(people, TEAM, "UCHO", request_id)
    assert sorted(a.user_id for a in everything) == ["UANA", "UDEV"]
    _, shared = feedback_requests.answers_for(people, TEAM, "UBEN", request_id)
    assert [(a.user_id, a.answers) for a in shared] == [("UANA", ["Solid"])]
    messages = set()
    for reader, rid in (("UANA", request_id), ("UDEV", request_id), ("UDEV", 4242)):
        with pytest.raises(feedback_requests.RequestUnavailable) as denied:
            feedback_requests.answers_for(people, TEAM, reader, rid)
        messages.add(denied.value.message)
    assert messages == {feedback_requests.DENIED}

    # A subject only its manager may name: UANA is not UBEN's manager.
    not_theirs = feedback_requests.RequestDraft(
        "UANA", ["UDEV"], "the migration", ["?"], date(2035, 6, 10), subject_id="UBEN"
    )
    with pytest.raises(feedback_requests.RequestRefused) as refused:
        feedback_requests.create(people, team_id=TEAM, draft=not_theirs, request_key="r2", now=NOW)
    assert refused.value.field == "subject"


def test_a_manager_may_name_only_their_own_report_as_a_requests_subject(people: Session) -> None:
    """UDEV manages UANA; UBEN reports to UCHO. Being a manager is not enough: UDEV may ask
    about UANA, never about UCHO's UBEN."""
    org.set_manager(people, TEAM, "UANA", "UDEV", NOW)
    assert [r for r, _ in feedback_requests.reports_to_ask_about(people, TEAM, "UDEV")] == ["UANA"]

    def draft(subject: str) -> feedback_requests.RequestDraft:
        return feedback_requests.RequestDraft(
            "UDEV", ["UCHO"], "the migration", ["How did it go?"], date(2035, 6, 10), subject
        )

    with pytest.raises(feedback_requests.RequestRefused) as refused:
        feedback_requests.create(
            people, team_id=TEAM, draft=draft("UBEN"), request_key="s1", now=NOW
        )
    assert refused.value.field == "subject" and "UBEN" in refused.value.message
    created = feedback_requests.create(
        people, team_id=TEAM, draft=draft("UANA"), request_key="s2", now=NOW
    )
    assert created.request.subject_id == "UANA" and not created.replayed
