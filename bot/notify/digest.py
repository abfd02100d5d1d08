"""What goes out with a weekly digest: the chart, the DM, its thread replies, the notes.

Every weekly row is bulk: a Monday's thousand digests queue behind people's own actions. The
preview is someone's own action, so it is not.

Outbox keys:
- `digest:{manager}:{week}:chart`      the PNG upload (pulsebot.files_upload), when there is
                                       a chart to draw
- `digest:{manager}:{week}:message`    the digest DM, with the chart (pulsebot.post_with_file)
                                       or without one (chat.postMessage)
- `digest:{manager}:{week}:reply:{n}`  thread replies, when the digest exceeds one message
- `digest:{manager}:{week}:notes`      the released anonymous notes, a reply of their own
- `digest:preview:{view}`              `/checkin digest`'s modal, filled by views.update
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.delivery import outbox, uploads
from bot.services.digest import DigestData
from handlers.blocks import digest as blocks

Message = tuple[str, list[dict[str, Any]]]


def enqueue_digest(
    session: Session,
    team_id: str,
    data: DigestData,
    png: bytes | None,
    messages: list[Message],
    now: datetime,
) -> int:
    """The digest's rows, in the unit of work that records it; the id of its main message.

    `png` None: a digest with no chart (a manager with no check-ins of their own), one plain
    message rather than an empty frame."""
    key = f"digest:{data.manager_id}:{data.iso_week}"
    text, first_blocks = messages[0]
    if png is None:
        main_id = outbox.post_message(
            session,
            team_id=team_id,
            key=f"{key}:message",
            channel=data.manager_id,
            text=text,
            blocks=first_blocks,
            now=now,
            bulk=True,
        )
        _thread(session, team_id, data, messages, main_id, now)
        return main_id
    upload_id = outbox.enqueue(
        session,
        team_id=team_id,
        key=f"{key}:chart",
        method=uploads.UPLOAD,
        payload=uploads.upload_payload(
            png,
            filename=f"pulse-{data.iso_week}.png",
            title=f"Team pulse, 8 weeks to {data.week_label}",
            alt_text=blocks.CHART_ALT,
        ),
        now=now,
        bulk=True,
    )
    main_id = outbox.enqueue(
        session,
        team_id=team_id,
        key=f"{key}:message",
        method=uploads.POST_WITH_FILE,
        payload={
            "channel": data.manager_id,
            "text": text,
            "blocks": first_blocks,
            "unfurl_links": False,
            "file_id": outbox.PARENT_CHANNEL,
        },
        now=now,
        depends_on=upload_id,
        bulk=True,
    )
    _thread(session, team_id, data, messages, main_id, now)
    return main_id


def _thread(
    session: Session,
    team_id: str,
    data: DigestData,
    messages: list[Message],
    main_id: int,
    now: datetime,
) -> None:
    """The replies under the digest's first message: its overflow, then the released notes."""
    key = f"digest:{data.manager_id}:{data.iso_week}"
    replies = [
        (f"{key}:reply:{number}", reply) for number, reply in enumerate(messages[1:], 1)
    ]
    notes = blocks.anonymous_message(data)
    if notes is not None:
        replies.append((f"{key}:notes", notes))
    for reply_key, (reply_text, reply_blocks) in replies:
        outbox.post_message(
            session,
            team_id=team_id,
            key=reply_key,
            channel=data.manager_id,
            text=reply_text,
            blocks=reply_blocks,
            now=now,
            depends_on=main_id,
            thread_under_parent=True,
            bulk=True,
        )


def fill_preview(
    session: Session, team_id: str, view_id: str, view: dict[str, Any], now: datetime
) -> None:
    """The preview modal, opened as a placeholder (a trigger lasts 3 s), gets the digest."""
    outbox.enqueue(
        session,
        team_id=team_id,
        key=f"digest:preview:{view_id}",
        method="views.update",
        payload={"view_id": view_id, "view": view},
        now=now,
    )
