"""What feedback sends: the feedback and its copies, the thanks, replies typed in the Reply
modal, and a manager's "Answer the team".

Each function runs inside the listener's unit of work, so a message is written together with
the state it reports, or not at all. Every row answers someone's action now and is interactive,
but for a manager's answer to the team: one DM per report, a fan-out, so bulk.

Outbox keys (one Slack call each, ever):
- `feedback:{id}:dm`                       the feedback in the recipient's DM (their thread root)
- `feedback:{id}:sent`                     the sender's copy (their side's thread root)
- `feedback:{id}:manager`                  the manager's copy, when the sender chose so
- `feedback:{id}:thanks`                   the thanks, in the sender's thread
- `feedback:{id}:thanked`                  chat.update of the recipient's DM, its Thank gone
- `feedback:{id}:reply:{view}:to:{peer}`   a modal reply, in the other side's thread
- `feedback:{id}:reply:{view}:echo`        the same reply, in the writer's own thread
- `team_answer:{view}:{report}`            a manager's answer to the team, one DM per report
                                           (bulk)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.notify.conversations import echo, forward
from bot.services import conversations
from bot.services.feedback import FeedbackItem
from handlers.blocks import feedback as blocks


def enqueue_feedback(session: Session, team_id: str, item: FeedbackItem, now: datetime) -> None:
    """The recipient's DM, the sender's copy (their side's thread), the manager's copy."""
    body = (item.went_well, item.could_be_better, item.value, item.quote_url)
    text, dm_blocks = blocks.recipient_dm(item.id, item.sender_id, *body, item.manager_id)
    dm_row = outbox.post_message(
        session,
        team_id=team_id,
        key=f"feedback:{item.id}:dm",
        channel=item.recipient_id,
        text=text,
        blocks=dm_blocks,
        now=now,
    )
    text, copy_blocks = blocks.sender_copy(item.recipient_id, *body, item.manager_id)
    copy_row = outbox.post_message(
        session,
        team_id=team_id,
        key=f"feedback:{item.id}:sent",
        channel=item.sender_id,
        text=text,
        blocks=copy_blocks,
        now=now,
    )
    if item.manager_id:
        text, manager_blocks = blocks.manager_copy(item.sender_id, item.recipient_id, *body)
        outbox.post_message(
            session,
            team_id=team_id,
            key=f"feedback:{item.id}:manager",
            channel=item.manager_id,
            text=text,
            blocks=manager_blocks,
            now=now,
        )
    conversations.link(
        session,
        team_id,
        conversations.FEEDBACK,
        item.id,
        (item.recipient_id, dm_row),
        (item.sender_id, copy_row),
    )


def enqueue_thanks(
    session: Session,
    team_id: str,
    item: FeedbackItem,
    clicked: tuple[str, str] | None,
    now: datetime,
) -> None:
    """Tell the sender once, in their thread; the recipient's DM loses its Thank button (the
    clicked copy, else the first one sent)."""
    for exchange in conversations.of(
        session, team_id, conversations.FEEDBACK, item.id, item.recipient_id
    ):
        root = exchange.peer_root_outbox_id
        outbox.post_message(
            session,
            team_id=team_id,
            key=f"feedback:{item.id}:thanks",
            channel=item.sender_id,
            text=blocks.thanks_note(item.recipient_id),
            blocks=None,
            now=now,
            depends_on=root,
            thread_under_parent=root is not None,
        )
    text, dm_blocks = blocks.recipient_dm(
        item.id,
        item.sender_id,
        item.went_well,
        item.could_be_better,
        item.value,
        item.quote_url,
        item.manager_id,
        thanked=True,
    )
    dm_row = conversations.root_row(session, team_id, f"feedback:{item.id}:dm")
    if clicked is None and dm_row is None:
        return
    outbox.update_message(
        session,
        team_id=team_id,
        key=f"feedback:{item.id}:thanked",
        text=text,
        blocks=dm_blocks,
        now=now,
        where=clicked,
        of_row=None if clicked is not None else dm_row,
    )


def send_reply(
    session: Session,
    *,
    team_id: str,
    feedback_id: int,
    author_id: str,
    text: str,
    view_id: str,
    now: datetime,
) -> None:
    """A reply typed in the Reply modal (`text` escaped and neutralised): kept with the
    feedback, then forwarded to the other side's thread and echoed in the writer's own, so
    each side reads the whole exchange. A resubmitted view is kept, and sent, only once."""
    if not conversations.record(
        session,
        team_id=team_id,
        kind=conversations.FEEDBACK,
        item_id=feedback_id,
        author_id=author_id,
        text=text,
        source_key=f"view:{view_id}",
        now=now,
    ):
        return
    key = f"feedback:{feedback_id}:reply:{view_id}"
    for exchange in conversations.of(
        session, team_id, conversations.FEEDBACK, feedback_id, author_id
    ):
        forward(session, exchange, author_id, text, key, now)
        echo(session, exchange, text, key, now)


def send_team_answer(
    session: Session,
    *,
    team_id: str,
    manager_id: str,
    reports: Sequence[str],
    text: str,
    week: str | None,
    view_id: str,
    now: datetime,
) -> None:
    """A manager's answer to anonymous notes (`text` escaped and neutralised), one DM to each
    direct report: kept once per submitted view, and nothing in it points at a note. Bulk: a
    whole team's DMs must not hold up a kudos given meanwhile; what answers the manager's own
    action is their modal closing, not these DMs."""
    if not conversations.record(
        session,
        team_id=team_id,
        kind=conversations.TEAM,
        item_id=None,
        author_id=manager_id,
        text=text,
        source_key=f"view:{view_id}",
        now=now,
    ):
        return
    message, message_blocks = blocks.team_answer(manager_id, text, week)
    outbox.post_messages(
        session,
        team_id=team_id,
        messages=[
            (f"team_answer:{view_id}:{report}", report, message, message_blocks)
            for report in reports
        ],
        now=now,
        bulk=True,
    )
