"""What a kudos sends: the recognition post and a DM to each recipient.

The posts are built before the unit of work (`posts`) and written inside it (`enqueue_posts`):
units on the ack path run one after another in the group-commit writer that every ack waits
for, so nothing slow may run inside them.

Outbox keys (one Slack call each, ever):
- `kudos:{id}:feed`       the post in the recognition channel
- `kudos:{id}:dm:{user}`  the DM to each recipient

The giver's confirmation is no message: a command's ack, or the form turned into it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.services.kudos import KudosDraft
from handlers.blocks import kudos as blocks

Post = tuple[str, str, str, list[dict[str, Any]] | None]  # key suffix, channel, text, blocks


def posts(
    kudos_channel: str | None, draft: KudosDraft, message: str, goal_title: str | None = None
) -> list[Post]:
    """The kudos' posts: the feed (where one is configured), then one DM each; both name the
    goal it recognises, when it names one."""
    args = (draft.giver_id, list(draft.recipient_ids), message, list(draft.values), draft.quote_url)
    built: list[Post] = []
    if kudos_channel:
        text, feed_blocks = blocks.feed_post(*args, goal_title=goal_title)
        built.append(("feed", kudos_channel, text, feed_blocks))
    text, dm_blocks = blocks.recipient_dm(*args, goal_title=goal_title)
    built += [(f"dm:{rid}", rid, text, dm_blocks) for rid in draft.recipient_ids]
    return built


def enqueue_posts(
    session: Session, team_id: str, kudos_id: int, built: list[Post], now: datetime
) -> None:
    outbox.post_messages(
        session,
        team_id=team_id,
        messages=[
            (f"kudos:{kudos_id}:{suffix}", channel, text, post_blocks)
            for suffix, channel, text, post_blocks in built
        ],
        now=now,
    )
