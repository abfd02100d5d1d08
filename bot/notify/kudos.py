"""What a kudos sends: the recognition post and a DM to each recipient.

The posts are built before the unit of work (`posts`) and written inside it (`enqueue_posts`):
units on the ack path run one after another in the group-commit writer that every ack waits
for, so nothing slow may run inside them.

Outbox keys (one Slack call each, ever), all interactive, even to several recipients: a
kudos answers its giver's action now, and must overtake a fan-out under way:
- `kudos:{id}:feed`                  the post in the recognition channel
- `kudos:{id}:dm:{user}`             the DM to each recipient
- `kudos:{id}:withdrawn:feed`        chat.update of the feed post, once the kudos is taken back
- `kudos:{id}:withdrawn:dm:{user}`   chat.update of that recipient's DM, likewise

The giver's confirmation is no message: a command's ack, or the form turned into it. A kudos
given by reaction holds its posts back until the message's link is known (`release_posts`),
and is taken back when the reaction goes within a minute (`withdraw_posts`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.services.kudos import KudosDraft
from bot.services.reactions import Withdrawn
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
    session: Session,
    team_id: str,
    kudos_id: int,
    built: list[Post],
    now: datetime,
    hold_until: datetime | None = None,
) -> None:
    """`hold_until`: the posts wait for `release_posts` until then, and go as built after."""
    outbox.post_messages(
        session,
        team_id=team_id,
        messages=_keyed(kudos_id, built),
        now=now,
        hold_until=hold_until,
    )


def release_posts(session: Session, team_id: str, kudos_id: int, built: list[Post]) -> int:
    """The held posts of a kudos go now, as built here (with the quoted message's link)."""
    return outbox.release_posts(session, team_id=team_id, messages=_keyed(kudos_id, built))


def withdraw_posts(session: Session, team_id: str, withdrawn: Withdrawn, now: datetime) -> None:
    """A kudos taken back: posts not sent yet never go; those sent (or on their way) are
    replaced by a line saying it was withdrawn, once Slack has answered for them (an update
    waits for its post, and is withdrawn with it)."""
    kudos_id = withdrawn.kudos_id
    suffixes = ["feed", *(f"dm:{rid}" for rid in withdrawn.recipient_ids)]
    rows = outbox.row_ids(session, team_id, [f"kudos:{kudos_id}:{s}" for s in suffixes])
    outbox.withdraw(
        session, team_id=team_id, ids=list(rows.values()), reason="kudos_withdrawn", now=now
    )
    text, update_blocks = blocks.withdrawn_post(withdrawn.giver_id)
    for suffix in suffixes:
        row_id = rows.get(f"kudos:{kudos_id}:{suffix}")
        if row_id is not None:
            outbox.update_message(
                session,
                team_id=team_id,
                key=f"kudos:{kudos_id}:withdrawn:{suffix}",
                text=text,
                blocks=update_blocks,
                now=now,
                of_row=row_id,
            )


def _keyed(kudos_id: int, built: list[Post]) -> list[Post]:
    return [
        (f"kudos:{kudos_id}:{suffix}", channel, text, post_blocks)
        for suffix, channel, text, post_blocks in built
    ]
