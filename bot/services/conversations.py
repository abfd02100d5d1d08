"""Exchanges that go both ways: each one is a DM thread on each side.

A side is a person's thread under one of our messages (an outbox row, whose channel and ts the
sender records once it is posted); what they write there is forwarded to the other side's
thread. What was said is kept with its item (a check-in occurrence, a feedback, one person's
answer to a request). Nothing here ties an anonymous note to anyone: those have no exchange.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.services.directory import people
from bot.services.slack_limits import TEXT_MAX
from storage import feedback as store
from storage.models import ConversationThread

CHECKIN, FEEDBACK, REQUEST, TEAM = "checkin", "feedback", "request", "team"
MESSAGE_MAX = TEXT_MAX


@dataclass(frozen=True, slots=True)
class Exchange:
    """One side: `user_id` writes under `root_outbox_id`; it reaches `peer_id` under theirs."""

    team_id: str
    kind: str
    item_id: int
    user_id: str
    root_outbox_id: int | None
    peer_id: str
    peer_root_outbox_id: int | None


def link(
    session: Session,
    team_id: str,
    kind: str,
    item_id: int,
    first: tuple[str, int | None],
    second: tuple[str, int | None],
) -> None:
    """Pair two people's threads about one item, both ways (linking again changes nothing)."""
    for (user_id, root), (peer_id, peer_root) in ((first, second), (second, first)):
        store.link_thread(
            session,
            team_id=team_id,
            kind=kind,
            item_id=item_id,
            user_id=user_id,
            root_outbox_id=root,
            peer_id=peer_id,
            peer_root_outbox_id=peer_root,
        )


def at(
    session: Session, team_id: str, user_id: str, channel: str, thread_ts: str
) -> list[Exchange]:
    """The exchanges a person's reply under that message belongs to (none: not a known thread).

    Only the person's own sides are found, so a reply can never reach into someone else's."""
    return [
        _exchange(row) for row in store.threads_at(session, team_id, user_id, channel, thread_ts)
    ]


def of(session: Session, team_id: str, kind: str, item_id: int, user_id: str) -> list[Exchange]:
    """A person's sides of the exchange about one item (the modal Reply writes through these)."""
    return [_exchange(row) for row in store.threads_of(session, team_id, kind, item_id, user_id)]


def record(
    session: Session,
    *,
    team_id: str,
    kind: str,
    item_id: int | None,
    author_id: str,
    text: str,
    source_key: str,
    now: datetime,
) -> bool:
    """Keep what was said with its item; False when this event or view was seen before."""
    return store.add_message(
        session,
        {
            "team_id": team_id,
            "kind": kind,
            "item_id": item_id,
            "author_id": author_id,
            "text": text,
            "source_key": source_key[:128],
            "created_at": now,
        },
    )


def reply_problem(text: str) -> str | None:
    """What is wrong with a reply typed in a modal, if anything. The form caps its length too,
    but a submission is only a request: a forged one must not slip past the rule."""
    if not text:
        return "Write a reply."
    if len(text) > MESSAGE_MAX:
        return (
            f"This reply is {len(text)} characters; the limit is {MESSAGE_MAX}. Please shorten it."
        )
    return None


def said(session: Session, team_id: str, kind: str, item_id: int) -> list[tuple[str, str]]:
    """(author, text) of an item's exchange, oldest first."""
    return [(m.author_id, m.text) for m in store.messages_of(session, team_id, kind, item_id)]


def hint_key(session: Session, team_id: str, user_id: str, now: datetime) -> str:
    """The outbox key of today's hint to a person who wrote to the bot outside any thread:
    one per person and local day, so the hint goes at most once a day (the key decides)."""
    person = people(session, team_id, [user_id]).get(user_id)
    day = person.local_date(now) if person else now.date()
    return f"dm_hint:{user_id}:{day.isoformat()}"


def root_row(session: Session, team_id: str, key: str) -> int | None:
    """The outbox row of a message written under this key (the start of a thread)."""
    return store.outbox_id(session, team_id, key)


def _exchange(row: ConversationThread) -> Exchange:
    return Exchange(
        team_id=row.team_id,
        kind=row.kind,
        item_id=row.item_id,
        user_id=row.user_id,
        root_outbox_id=row.root_outbox_id,
        peer_id=row.peer_id,
        peer_root_outbox_id=row.peer_root_outbox_id,
    )
