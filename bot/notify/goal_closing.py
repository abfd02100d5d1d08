"""What a cycle's end sends: one closing DM per owner, and that DM rebuilt after each action.

Outbox keys (one Slack call each, ever):
- `goal-close:{cycle}:{owner}`           the owner's closing DM for that cycle (bulk: the minute
                                         job's fan-out on a quarter's last day)
- `goal-close:{objective}:closed`        chat.update of the clicked DM once that objective is
                                         closed from its form (interactive, like the next one:
                                         it answers the owner's action)
- `goal-close:{objective}:carried`       chat.update of the clicked DM once it is carried over

The DM's key is also how the minute job knows an owner was asked: nothing else records it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.services.goal_closing import ClosingDue, ClosingItem
from handlers.blocks import goal_closing as blocks
from storage import outbox as outbox_store


def closing_key(cycle: str, owner_id: str) -> str:
    return f"goal-close:{cycle}:{owner_id}"


def not_asked(session: Session, team_id: str, cycle: str, owner_ids: Collection[str]) -> list[str]:
    """The owners whose closing DM for this cycle was never written, in order."""
    keys = {owner: closing_key(cycle, owner) for owner in owner_ids}
    written = outbox_store.known_keys(session, team_id, keys.values())
    return [owner for owner, key in keys.items() if key not in written]


def enqueue_closing(session: Session, due: ClosingDue, now: datetime) -> int:
    text, closing_blocks = blocks.closing_message(due.cycle.name, due.next_cycle.name, due.items)
    return outbox.post_message(
        session,
        team_id=due.team_id,
        key=closing_key(due.cycle.name, due.owner_id),
        channel=due.owner_id,
        text=text,
        blocks=closing_blocks,
        now=now,
        bulk=True,
    )


def enqueue_refresh(
    session: Session,
    team_id: str,
    objective_id: int,
    action: str,
    cycle: str,
    next_cycle: str,
    items: Sequence[ClosingItem],
    where: tuple[str, str],
    now: datetime,
) -> int:
    """The clicked DM, rebuilt as its objectives stand now (`action`: closed | carried)."""
    text, closing_blocks = blocks.closing_message(cycle, next_cycle, items)
    return outbox.update_message(
        session,
        team_id=team_id,
        key=f"goal-close:{objective_id}:{action}",
        text=text,
        blocks=closing_blocks,
        now=now,
        where=where,
    )
