"""Writing an exchange's messages to the outbox: into the other side's thread, and (for a reply
typed in a modal) into the writer's own thread, so each side reads the whole conversation.

Outbox keys, under the prefix each writer gives (`{key}`), all interactive (each passes on
what someone just wrote):
- `{key}:to:{peer}`             a message passed on to the other side's thread
- `{key}:echo`                  a modal's reply shown in the writer's own thread
- `im:{channel}:{ts}:to:{peer}` a reply typed in one of our DM threads (message.im)
- `dm_hint:{user}:{day}`        the hint to someone who wrote to the bot outside any thread,
                                once per person and local day
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.services import conversations
from bot.services.conversations import Exchange
from bot.services.text import neutralise
from handlers.blocks import feedback as blocks


def forward(
    session: Session, exchange: Exchange, author_id: str, text: str, key: str, now: datetime
) -> int:
    """`text` (escaped and neutralised) under the peer's thread; top-level if it has none."""
    message, message_blocks = blocks.forwarded(author_id, text)
    root = exchange.peer_root_outbox_id
    return outbox.post_message(
        session,
        team_id=exchange.team_id,
        key=f"{key}:to:{exchange.peer_id}",
        channel=exchange.peer_id,
        text=message,
        blocks=message_blocks,
        now=now,
        depends_on=root,
        thread_under_parent=root is not None,
    )


def echo(session: Session, exchange: Exchange, text: str, key: str, now: datetime) -> int:
    message, message_blocks = blocks.echoed(exchange.peer_id, text)
    root = exchange.root_outbox_id
    return outbox.post_message(
        session,
        team_id=exchange.team_id,
        key=f"{key}:echo",
        channel=exchange.user_id,
        text=message,
        blocks=message_blocks,
        now=now,
        depends_on=root,
        thread_under_parent=root is not None,
    )


def keep_reply(
    session: Session,
    *,
    team_id: str,
    kind: str,
    item_id: int,
    author_id: str,
    text: str,
    source_key: str,
    key: str,
    now: datetime,
) -> None:
    """A reply sent from a modal by its own path (e.g. a manager's Reply to a check-in): keep
    it with the item and show it in the writer's own thread(s), once."""
    safe = neutralise(text)
    if conversations.record(
        session,
        team_id=team_id,
        kind=kind,
        item_id=item_id,
        author_id=author_id,
        text=safe,
        source_key=source_key,
        now=now,
    ):
        for exchange in conversations.of(session, team_id, kind, item_id, author_id):
            echo(session, exchange, safe, key, now)


def forward_dm(
    session: Session,
    exchange: Exchange,
    author_id: str,
    text: str,
    channel: str,
    ts: str,
    now: datetime,
) -> int:
    """A reply typed in one of our DM threads (`channel`, `ts`), to the other side's thread."""
    return forward(session, exchange, author_id, text, f"im:{channel}:{ts}", now)


def send_hint(session: Session, team_id: str, user_id: str, now: datetime) -> None:
    """What the bot does, for someone who wrote to it outside any thread; the key (one per
    local day) makes it at most daily however much they write."""
    outbox.post_message(
        session,
        team_id=team_id,
        key=conversations.hint_key(session, team_id, user_id, now),
        channel=user_id,
        text=blocks.hint(),
        blocks=None,
        now=now,
    )
