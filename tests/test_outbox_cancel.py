"""Withdrawing what has not been sent to a person who left: settled, never a failure.

A leaver's queued prompt must neither reach them nor count as a delivery failure (a cron job
running `run-due` would raise an alarm every time someone leaves).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from bot.delivery.outbox import PARENT_CHANNEL
from storage import outbox

TEAM = "T0CANCEL"
NOW = datetime(2037, 3, 9, 8, 0, tzinfo=UTC)


def _row(
    session: Session, key: str, payload: dict[str, object], depends_on: int | None = None
) -> int:
    return outbox.enqueue(
        session,
        team_id=TEAM,
        key=key,
        method="chat.postMessage" if "channel" in payload else "views.publish",
        payload=payload,
        now=NOW,
        depends_on=depends_on,
    )


def test_rows_to_the_person_their_dm_and_their_home_are_withdrawn_and_nothing_else(
    session: Session,
) -> None:
    outbox.remember_dm(session, TEAM, "UKEN", "DKEN")
    prompt = _row(session, "checkin:1:prompt", {"channel": "UKEN", "text": "Check-in"})
    in_dm = _row(session, "feedback:1:dm", {"channel": "DKEN", "text": "Feedback"})
    home = _row(session, "home:UKEN:Ev1", {"user_id": "UKEN", "view": {}})
    others = _row(session, "checkin:2:prompt", {"channel": "UBEN", "text": "Check-in"})
    feed = _row(session, "kudos:1:feed", {"channel": "CKUDOS", "text": "Kudos"})
    session.flush()

    assert outbox.cancel_pending_to(session, TEAM, "UKEN", "deactivated", NOW) == 3
    statuses = outbox.statuses_of(session, {prompt, in_dm, home, others, feed})
    assert statuses == {
        prompt: outbox.CANCELLED,
        in_dm: outbox.CANCELLED,
        home: outbox.CANCELLED,
        others: outbox.PENDING,
        feed: outbox.PENDING,
    }
    # Run again: nothing left to withdraw.
    assert outbox.cancel_pending_to(session, TEAM, "UKEN", "deactivated", NOW) == 0


def test_a_reply_threaded_under_a_withdrawn_row_is_withdrawn_with_it(session: Session) -> None:
    parent = _row(session, "checkin:1:prompt", {"channel": "UKEN", "text": "Check-in"})
    reply = _row(
        session,
        "checkin:1:reply:V1",
        {"channel": PARENT_CHANNEL, "text": "A reply"},
        depends_on=parent,
    )
    session.flush()
    outbox.cancel_pending_to(session, TEAM, "UKEN", "deactivated", NOW)
    assert outbox.fail_orphans(session, TEAM, NOW + timedelta(seconds=1)) == 1
    assert outbox.statuses_of(session, {reply}) == {reply: outbox.CANCELLED}
    # Nothing is left for a sender to take the lease for.
    assert TEAM not in outbox.ready_teams(session, NOW + timedelta(seconds=2))

