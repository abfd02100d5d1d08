"""What a departure withdraws from the outbox, and whom it tells.

Outbox keys:
- `goal-owner-left:{user}:{date}`   their manager's DM listing the goals they owned that are
                                    still open (the departure's UTC date: one per departure;
                                    bulk: nobody asked for it, and a directory sync may bring
                                    many departures at once)

Everything not sent yet to the person who left (their user id, their DM, their App
Home) is cancelled, which is settled and never a failure, so `run-due` does not raise an alarm
each time someone leaves; the requests they made are withdrawn by
`bot.notify.feedback_requests.withdraw`, whose asking DMs already sent lose their buttons by
`request:{id}:withdrawn:{user}` rows: bulk, since one departure may change many people's DMs
and none of them asked for it. The sender also withdraws any row to a deactivated person that
is written later (a fan-out racing the deactivation).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.notify import feedback_requests
from bot.services.lifecycle import Departure
from handlers.blocks import lifecycle as blocks

# Why, in the cancelled rows' last_error: never a person's words.
LEFT = "recipient_deactivated"
REQUESTER_LEFT = "requester_deactivated"


def withdraw(session: Session, departure: Departure, now: datetime) -> int:
    """Cancel what would still reach the leaver, and the asks of the requests they made;
    returns how many rows were cancelled."""
    cancelled = outbox.withdraw_to(
        session, team_id=departure.team_id, user_id=departure.user_id, reason=LEFT, now=now
    )
    for item in departure.withdrawn:
        cancelled += feedback_requests.withdraw(
            session, item.request, item.waiting, REQUESTER_LEFT, now
        )
    return cancelled


def tell_manager_of_goals(session: Session, departure: Departure, now: datetime) -> int | None:
    """The leaver's manager learns which of their goals wait for a new owner; None when there
    are none, or nobody manages them. Bulk, like the asking DMs a departure changes: it answers
    no action of the manager's, and must not hold up one of someone else's."""
    left = departure.goals_left
    if not left or left.manager_id is None:
        return None
    text, notice = blocks.goals_left_message(departure.user_id, left)
    return outbox.post_message(
        session,
        team_id=departure.team_id,
        key=f"goal-owner-left:{departure.user_id}:{now.date().isoformat()}",
        channel=left.manager_id,
        text=text,
        blocks=notice,
        now=now,
        bulk=True,
    )
