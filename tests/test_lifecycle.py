"""Leavers, people coming back and stopped workspaces, on the database: what closes, what is
withdrawn from the outbox, what waits. Instants lie in 2037, passed in as `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.delivery import outbox as delivery
from bot.notify import checkins as notify_checkins
from bot.notify import feedback_requests as notify_requests
from bot.notify import lifecycle as notify_lifecycle
from bot.services import checkins, directory, feedback_requests, lifecycle, templates, workspace
from bot.services.states import AskedState, OccurrenceState, RequestState
from storage import outbox, workspaces
from storage.models import (
    CheckinMember,
    CheckinOccurrence,
    FeedbackAsked,
    FeedbackRequest,
    OutboxMessage,
)
from tests.factories import TEAM, add_people, person

MONDAY = datetime(2037, 3, 9, 8, 0, tzinfo=UTC)  # prompts at 09:00 UTC, every day
ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OTHER_TEAM = "T0OTHER"


def daily(session: Session, members: tuple[str, ...]) -> None:
    definition = templates.TemplateDef(
        name="Daily",
        owner_id="UMGR",
        member_ids=members,
        weekdays=ALL_DAYS,
        local_time="09:00",
        questions=templates.DEFAULT_QUESTIONS,
        close_after=timedelta(hours=8),
        remind_after=timedelta(hours=2),
    )
    templates.apply(session, TEAM, [definition], MONDAY)


def prompt_everyone(session: Session, at: datetime) -> list[str]:
    """The minute job's planning step: who got a prompt."""
    result = checkins.plan_due(session, at, TEAM)
    for due in result.created:
        notify_checkins.enqueue_prompt(session, due, at)
    return sorted(due.occurrence.user_id for due in result.created)


def rows(session: Session) -> dict[str, OutboxMessage]:
    session.expire_all()
    return {row.idempotency_key: row for row in session.scalars(select(OutboxMessage))}


def ask(session: Session, requester: str, people: list[str], key: str) -> int:
    draft = feedback_requests.RequestDraft(
        requester_id=requester,
        people=people,
        topic="the launch",
        questions=["What went well?"],
        due_on=(MONDAY + timedelta(days=3)).date(),
    )
    created = feedback_requests.create(
        session, team_id=TEAM, draft=draft, request_key=key, now=MONDAY
    )
    notify_requests.enqueue_asks(session, created, MONDAY)
    return created.request.id


# ----- the workspace's sending --------------------------------------------------------------------


@pytest.mark.parametrize(
    "events", [("app_uninstalled", "tokens_revoked"), ("tokens_revoked", "app_uninstalled")]
)
def test_uninstall_and_revocation_stop_once_in_either_order_and_resume_once(
    session: Session, events: tuple[str, str]
) -> None:
    first, second = events
    assert workspace.stop(session, TEAM, first, MONDAY).changed
    again = workspace.stop(session, TEAM, second, MONDAY + timedelta(seconds=1))
    assert not again.changed  # one stop, so one log line
    [stop] = workspace.stops(session)
    assert (stop.team_id, stop.reason, stop.since) == (TEAM, workspaces.UNINSTALLED, MONDAY)
    assert not workspace.stop(session, TEAM, "token_revoked", MONDAY).changed
    assert workspace.stops(session)[0].reason == workspaces.UNINSTALLED  # never weakened

    resumed = workspace.resume(session, TEAM, MONDAY + timedelta(hours=1))
    assert resumed is not None and resumed.ended == stop
    assert workspace.resume(session, TEAM, MONDAY + timedelta(hours=1)) is None
    assert workspace.stops(session) == []
    assert workspace.stop(session, TEAM, "invalid_auth", MONDAY + timedelta(hours=2)).changed


def test_a_stopped_workspace_has_nothing_ready_and_keeps_every_row(session: Session) -> None:
    for team in (TEAM, OTHER_TEAM):
        outbox.enqueue(
            session,
            team_id=team,
            key=f"kudos:{team}",
            method="chat.postMessage",
            payload={"channel": "UANA", "text": "Thanks"},
            now=MONDAY,
        )
    session.flush()
    assert sorted(outbox.ready_teams(session, MONDAY)) == [OTHER_TEAM, TEAM]
    stopped = workspace.stop(session, TEAM, workspaces.UNINSTALLED, MONDAY)
    assert stopped.waiting == 1
    assert outbox.ready_teams(session, MONDAY) == [OTHER_TEAM]  # the other workspace goes on
    assert {row.status for row in rows(session).values()} == {outbox.PENDING}
    resumed = workspace.resume(session, TEAM, MONDAY)
    assert resumed is not None and resumed.waiting == 1
    assert sorted(outbox.ready_teams(session, MONDAY)) == [OTHER_TEAM, TEAM]


def test_only_a_revoked_bot_token_stops_anything() -> None:
    assert workspace.bot_tokens_revoked({"oauth": ["UANA"], "bot": ["UBOT"]})
    assert not workspace.bot_tokens_revoked({"oauth": ["UANA"]})  # a user token: not ours
    assert not workspace.bot_tokens_revoked({"oauth": [], "bot": []})
    assert not workspace.bot_tokens_revoked(None)


# ----- who left, who came back ----------------------------------------------------------------


def test_storing_users_says_who_left_and_who_came_back(session: Session) -> None:
    add_people(session, MONDAY, person("UMGR"), person("UANA"), person("UBEN", deleted=True))
    daily(session, ("UANA", "UBEN"))
    later = MONDAY + timedelta(days=2)
    changes = directory.store_changes(
        session,
        TEAM,
        [person("UANA", deleted=True), person("UBEN"), person("UNEW", deleted=True)],
        later,
    )
    assert (changes.stored, changes.left, changes.returned) == (3, ["UANA"], ["UBEN"])
    added = dict(session.execute(select(CheckinMember.user_id, CheckinMember.added_at)).all())
    assert added == {"UANA": MONDAY, "UBEN": later}  # UBEN begins again
    again = directory.store_changes(session, TEAM, [person("UANA", deleted=True)], later)
    assert (again.left, again.returned) == ([], [])


def test_a_deactivated_member_is_never_planned_and_returns_at_their_next_check_in(
    session: Session,
) -> None:
    add_people(session, MONDAY, person("UMGR"), person("UANA", tz="UTC"), person("UBEN", tz="UTC"))
    daily(session, ("UANA", "UBEN"))
    add_people(session, MONDAY, person("UANA", tz="UTC", deleted=True))
    assert prompt_everyone(session, MONDAY + timedelta(hours=1, minutes=5)) == ["UBEN"]
    assert prompt_everyone(session, MONDAY + timedelta(days=1, hours=1)) == ["UBEN"]
    # Back on Tuesday at 12:00: Tuesday 09:00 is past, Wednesday 09:00 is their next one.
    add_people(session, MONDAY + timedelta(days=1, hours=4), person("UANA", tz="UTC"))
    assert prompt_everyone(session, MONDAY + timedelta(days=1, hours=5)) == []
    assert prompt_everyone(session, MONDAY + timedelta(days=2, hours=1)) == ["UANA", "UBEN"]
    dates = session.scalars(
        select(CheckinOccurrence.local_date).where(CheckinOccurrence.user_id == "UANA")
    ).all()
    assert dates == [(MONDAY + timedelta(days=2)).date()]  # nothing for the days away


# ----- a departure ----------------------------------------------------------------------------


def test_a_departure_closes_what_was_open_and_withdraws_what_was_queued(session: Session) -> None:
    add_people(
        session,
        MONDAY,
        *(person(u, tz="UTC") for u in ("UMGR", "UANA", "UBEN", "UCHO")),
    )
    daily(session, ("UANA", "UBEN"))
    assert prompt_everyone(session, MONDAY + timedelta(hours=1, minutes=5)) == ["UANA", "UBEN"]
    outbox.remember_dm(session, TEAM, "UANA", "DUANA")
    delivery.enqueue(
        session,
        team_id=TEAM,
        key="home:UANA:Ev1",
        method="views.publish",
        payload={"user_id": "UANA", "view": {}},
        now=MONDAY,
    )
    theirs = ask(session, "UANA", ["UBEN", "UCHO"], "req-ana")  # Ana asks Ben and Cho
    asking_ana = ask(session, "UBEN", ["UANA", "UCHO"], "req-ben")  # Ben asks Ana and Cho
    ben_ask = rows(session)[f"request:{theirs}:ask:UBEN"]
    outbox.mark_sent(session, ben_ask.id, "DUBEN", "1.000100", MONDAY)  # Ben saw his ask
    now = MONDAY + timedelta(hours=2)

    departure = lifecycle.depart(session, TEAM, "UANA", now)
    cancelled = notify_lifecycle.withdraw(session, departure, now)

    assert departure.checkins_closed == 1 and departure.asks_expired == 1
    assert [w.request.id for w in departure.withdrawn] == [theirs]
    assert sorted(a.user_id for a in departure.withdrawn[0].waiting) == ["UBEN", "UCHO"]
    states = dict(session.execute(select(CheckinOccurrence.user_id, CheckinOccurrence.state)).all())
    assert states == {"UANA": OccurrenceState.AWAY, "UBEN": OccurrenceState.PENDING}
    requests = dict(session.execute(select(FeedbackRequest.id, FeedbackRequest.state)).all())
    assert requests == {theirs: RequestState.CLOSED, asking_ana: RequestState.OPEN}
    asked = {(a.request_id, a.user_id): a.state for a in session.scalars(select(FeedbackAsked))}
    assert asked == {
        (theirs, "UBEN"): AskedState.EXPIRED,
        (theirs, "UCHO"): AskedState.EXPIRED,
        (asking_ana, "UANA"): AskedState.EXPIRED,
        (asking_ana, "UCHO"): AskedState.PENDING,
    }

    statuses = {key: (row.status, row.last_error) for key, row in rows(session).items()}
    left, requester_left = "recipient_deactivated", "requester_deactivated"
    prompts = {
        user: key
        for key, row in rows(session).items()
        if key.endswith(":prompt")
        for user in [row.payload["channel"]]
    }
    assert statuses[prompts["UANA"]] == (outbox.CANCELLED, left)
    assert statuses[prompts["UBEN"]] == (outbox.PENDING, None)
    assert statuses["home:UANA:Ev1"] == (outbox.CANCELLED, left)
    assert statuses[f"request:{theirs}:created"] == (outbox.CANCELLED, left)  # her own copy
    assert statuses[f"request:{asking_ana}:ask:UANA"] == (outbox.CANCELLED, left)
    assert statuses[f"request:{asking_ana}:ask:UCHO"] == (outbox.PENDING, None)
    assert statuses[f"request:{theirs}:ask:UCHO"] == (outbox.CANCELLED, requester_left)
    assert statuses[f"request:{theirs}:ask:UBEN"][0] == outbox.SENT
    withdrawn = rows(session)[f"request:{theirs}:withdrawn:UBEN"]  # Ben's ask loses its buttons
    assert (withdrawn.method, withdrawn.status, withdrawn.depends_on_id) == (
        "chat.update",
        outbox.PENDING,
        ben_ask.id,
    )
    assert "was withdrawn" in withdrawn.payload["text"]
    assert cancelled == 5

    # Again (a second event, a users.list after it): nothing more closes or is withdrawn.
    again = lifecycle.depart(session, TEAM, "UANA", now)
    assert (again.checkins_closed, again.withdrawn, again.asks_expired) == (0, [], 0)
    assert notify_lifecycle.withdraw(session, again, now) == 0
    # Ben's request reminds Cho only; Ana's never closes again (no summary would reach her).
    reminders = feedback_requests.due_reminders(session, MONDAY + timedelta(days=3), TEAM, 10)
    assert [(r.id, [a.user_id for a in pending]) for r, pending in reminders] == [
        (asking_ana, ["UCHO"])
    ]
    closings = feedback_requests.due_closings(session, MONDAY + timedelta(days=5), TEAM, 10)
    assert [c.request.id for c in closings] == [asking_ana]
