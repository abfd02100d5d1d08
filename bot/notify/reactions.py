"""What a kudos reaction sends besides the kudos' own posts (bot.notify.kudos): the giver's note
when a rule refused it.

Outbox keys:
- `reaction:{giver}:refused:{rule}:{YYYYMMDDHH}`  chat.postEphemeral to the giver, where they
  reacted: one per rule and UTC hour, so a giver reacting all afternoon with no budget left
  hears of it once an hour, not once a reaction. Interactive: it answers their reaction, as
  the kudos' posts would have.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.services.reactions import Reaction, Rule


def refusal_note(
    session: Session, team_id: str, reaction: Reaction, rule: Rule, text: str, now: datetime
) -> None:
    hour = now.astimezone(UTC).strftime("%Y%m%d%H")
    outbox.enqueue(
        session,
        team_id=team_id,
        key=f"reaction:{reaction.giver_id}:refused:{rule}:{hour}",
        method="chat.postEphemeral",
        payload={"channel": reaction.channel_id, "user": reaction.giver_id, "text": text},
        now=now,
    )
