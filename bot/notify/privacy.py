"""What data rights send, and what an erasure withdraws from the outbox.

Outbox keys:
- `privacy:export:{user}:{action}`  a person's export, shared into their DM (pulsebot.share_file;
                                     interactive: they just asked for it)
- `privacy:tombstone:{row}`         chat.update of a channel post of ours that quoted a person
                                     whose data was erased (`row`: the post's outbox row; bulk:
                                     one erasure may replace hundreds of posts)

An erasure, here, in the caller's unit of work and before the rest of the database changes.
A row is about the person when it goes to them, mentions them (the app names people by their
id, never by name) or belongs to one of their own items (its key: it carries their words):
- such rows still waiting are cancelled;
- such posts of ours in shared channels are replaced by a tombstone, as chat.update rows that
  take the post's channel and ts from its row once sent;
- every such row loses its payload (and its key, if the key names them), and their DM's id is
  forgotten; status, times and results stay for the sender's bookkeeping.
A row whose only trace of them is their name or e-mail in someone else's words (a kudos
message, say) keeps going, with those words rewritten. Direct messages already delivered stay
in Slack, under the workspace's own retention.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.delivery import outbox, uploads
from bot.services.privacy import Erasure
from handlers.blocks import privacy as blocks
from storage import outbox as outbox_store
from storage import privacy as store

FORGOTTEN = "forgotten"
POSTS = frozenset({"chat.postMessage", uploads.POST_WITH_FILE})


def send_export(
    session: Session,
    team_id: str,
    user_id: str,
    action: str,
    content: bytes,
    generated_on: str,
    now: datetime,
) -> int:
    """The export as a file in the person's DM; interactive, since they just asked for it."""
    return outbox.enqueue(
        session,
        team_id=team_id,
        key=f"privacy:export:{user_id}:{action}",
        method=uploads.SHARE_FILE,
        payload=uploads.share_payload(
            user_id,
            content,
            filename=f"pulsebot-data-{generated_on}.json",
            title=f"Your pulsebot data, {generated_on}",
            comment=blocks.export_comment(generated_on),
        ),
        now=now,
    )


def withdraw(session: Session, team_id: str, erasure: Erasure, now: datetime) -> dict[str, int]:
    """The outbox's part of an erasure; how many rows were cancelled, replaced and emptied."""
    terms = erasure.terms
    dm = [terms.dm_channel] if terms.dm_channel else []
    found = {
        row.id: row for row in store.outbox_mentioning(session, team_id, terms.patterns(), dm)
    }
    kinds = sorted({prefix.split(":", 1)[0] + ":" for prefix in erasure.item_prefixes})
    keyed = [
        row_id
        for row_id, key in store.outbox_keys(session, team_id, kinds)
        if ":".join(key.split(":", 2)[:2]) + ":" in erasure.item_prefixes
    ]
    found.update((row.id, row) for row in store.outbox_rows(session, set(keyed) - set(found)))
    keyed_ids = set(keyed)
    ids_only = terms.by_id()
    # LIKE found candidates (case-insensitive, any substring): keep those that really name them.
    rows = [
        row
        for row in found.values()
        if row.id in keyed_ids
        or row.result_channel in dm
        or ids_only.scrub(row.payload) != row.payload
        or ids_only.scrub(row.key) != row.key
    ]
    about = {row.id for row in rows}
    reworded = 0
    for row in found.values():
        if row.id not in about and (scrubbed := terms.scrub(row.payload)) != row.payload:
            store.rewrite_payload(session, row.id, scrubbed)
            reworded += 1
    cancelled = outbox_store.cancel_pending_to(session, team_id, terms.user_id, FORGOTTEN, now)
    cancelled += store.cancel_rows(session, [r.id for r in rows], FORGOTTEN, now)
    text, tombstone_blocks = blocks.tombstone()
    replaced = 0
    for row in rows:
        if (
            row.status == outbox_store.SENT
            and row.method in POSTS
            and (row.result_channel or "")[:1] in ("C", "G")
        ):
            outbox.update_message(
                session,
                team_id=team_id,
                key=f"privacy:tombstone:{row.id}",
                text=text,
                blocks=tombstone_blocks,
                now=now,
                of_row=row.id,
                bulk=True,
            )
            replaced += 1
    emptied = store.redact_rows(
        session,
        [r.id for r in rows],
        FORGOTTEN,
        rekey=[r.id for r in rows if terms.scrub(r.key) != r.key],
        dm_channels=dm,
    )
    return {
        "queued messages cancelled": cancelled,
        "channel posts replaced by a tombstone": replaced,
        "outbox copies emptied": emptied,
        "outbox copies reworded": reworded,
    }
