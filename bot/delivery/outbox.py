"""Writing to the outbox, inside the caller's unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from storage import outbox as store

# Values the sender replaces with what the parent row's call returned.
PARENT_CHANNEL = "$parent.channel"
PARENT_TS = "$parent.ts"
# A payload with this key names a builder (OutboxSender's `builders`) that makes the call's
# arguments just before it leaves, from what the database says then: a view that Slack takes
# minutes after it was asked for (App Home at Slack's pace) is never stale, and never built
# by the process that acks.
BUILD = "$build"


def enqueue(
    session: Session,
    *,
    team_id: str,
    key: str,
    method: str,
    payload: dict[str, Any],
    now: datetime,
    depends_on: int | None = None,
    not_before: datetime | None = None,
    bulk: bool = False,
) -> int:
    """Record a Web API call to make after commit; the same key twice is one call.

    `bulk` rows (whatever a scheduled job or a fan-out writes: prompts, reminders, digests, a
    request's asks) wait behind interactive ones (what answers a person's own action now: kudos
    DMs, App Home, replies), so a kudos given during a Monday's fan-out still lands within
    seconds. bot/notify decides which is which, key by key.
    """
    return store.enqueue(
        session,
        team_id=team_id,
        key=key,
        method=method,
        payload=payload,
        now=now,
        depends_on=depends_on,
        not_before=not_before,
        priority=store.BULK if bulk else store.INTERACTIVE,
    )


def post_messages(
    session: Session,
    *,
    team_id: str,
    messages: Sequence[tuple[str, str, str, list[dict[str, Any]] | None]],
    now: datetime,
    bulk: bool = False,
    hold_until: datetime | None = None,
) -> None:
    """Several independent posts (key, channel, text, blocks) written in one statement.

    `hold_until`: the posts wait until then unless `release_posts` lets them go earlier (with
    what was learnt meanwhile), so they go out even if nothing ever releases them.
    """
    store.enqueue_many(
        session,
        team_id=team_id,
        rows=[
            (key, "chat.postMessage", _post_payload(channel, text, blocks))
            for key, channel, text, blocks in messages
        ],
        now=now,
        priority=store.BULK if bulk else store.INTERACTIVE,
        not_before=hold_until,
    )


def release_posts(
    session: Session,
    *,
    team_id: str,
    messages: Sequence[tuple[str, str, str, list[dict[str, Any]] | None]],
) -> int:
    """Held posts (key, channel, text, blocks) go now, as given here; those already tried or
    withdrawn stay as they are. Returns how many were released."""
    return store.release(
        session,
        team_id,
        {key: _post_payload(channel, text, blocks) for key, channel, text, blocks in messages},
    )


def row_ids(session: Session, team_id: str, keys: Sequence[str]) -> dict[str, int]:
    """The rows written under these keys, by key (keys never written are absent)."""
    return store.ids_of(session, team_id, keys)


def _post_payload(channel: str, text: str, blocks: list[dict[str, Any]] | None) -> dict[str, Any]:
    payload: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False}
    if blocks:
        payload["blocks"] = blocks
    return payload


def post_message(
    session: Session,
    *,
    team_id: str,
    key: str,
    channel: str,
    text: str,
    blocks: list[dict[str, Any]] | None,
    now: datetime,
    depends_on: int | None = None,
    thread_under_parent: bool = False,
    bulk: bool = False,
) -> int:
    payload = _post_payload(channel, text, blocks)
    if thread_under_parent:
        payload["channel"] = PARENT_CHANNEL
        payload["thread_ts"] = PARENT_TS
    return enqueue(
        session,
        team_id=team_id,
        key=key,
        method="chat.postMessage",
        payload=payload,
        now=now,
        depends_on=depends_on,
        bulk=bulk,
    )


def update_message(
    session: Session,
    *,
    team_id: str,
    key: str,
    text: str,
    blocks: list[dict[str, Any]],
    now: datetime,
    where: tuple[str, str] | None = None,
    of_row: int | None = None,
    bulk: bool = False,
) -> int:
    """chat.update of a message we know (`where` = channel, ts, e.g. a clicked DM) or of the
    message another outbox row posted (`of_row`: its channel and ts are filled in once sent).

    Block Kit buttons cannot be disabled, so replacing the message is how a DM shows its new
    state; chat.update is Tier 3, so it is only ever done for one message at a time.
    """
    if (where is None) == (of_row is None):
        raise ValueError("name the message: either where=(channel, ts) or of_row")
    channel, ts = where if where is not None else (PARENT_CHANNEL, PARENT_TS)
    return enqueue(
        session,
        team_id=team_id,
        key=key,
        method="chat.update",
        payload={"channel": channel, "ts": ts, "text": text, "blocks": blocks},
        now=now,
        depends_on=of_row,
        bulk=bulk,
    )


def withdraw(
    session: Session,
    *,
    team_id: str,
    ids: Sequence[int] = (),
    keys: Sequence[str] = (),
    reason: str,
    now: datetime,
) -> int:
    """Cancel these rows if not sent yet (settled, never a failure); rows threaded under them
    follow. Returns how many were cancelled."""
    return store.cancel_pending(session, team_id, ids=ids, keys=keys, reason=reason, now=now)


def withdraw_to(session: Session, *, team_id: str, user_id: str, reason: str, now: datetime) -> int:
    """Cancel everything not sent yet to this person: their user id, their DM, their App Home."""
    return store.cancel_pending_to(session, team_id, user_id, reason, now)
