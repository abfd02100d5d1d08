"""What a departure withdraws from the outbox.

No new key: everything not sent yet to the person who left (their user id, their DM, their App
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
