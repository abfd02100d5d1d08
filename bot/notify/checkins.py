"""Every message a check-in causes, written to the outbox in the caller's transaction.

Shared by the scheduler's run (prompts, re-prompts, reminders) and the listeners (answers,
replies, replaced DMs), so a message is keyed the same way whoever writes it.

What the minute job writes is bulk: a fan-out of thousands queues behind people's own actions
(a kudos, an answer) rather than ahead of them. Everything that answers a person's action now
(their submission, click or command) is interactive. Closing an occurrence writes no message:
a later click on its prompt says it has closed.

Outbox keys (one Slack call each, ever; stored, so never renamed):
- `checkin:{occurrence}:prompt`            the check-in DM (bulk: the minute job)
- `checkin:{occurrence}:snooze:{n}`        the fresh DM after the n-th snooze (bulk: the minute
                                           job, when the snooze ends)
- `checkin:{occurrence}:reminder`          the reminder DM (bulk: the minute job)
- `checkin:{occurrence}:answers:manager`   the answers DM to the template's owner
- `checkin:{occurrence}:upward:manager`    a named note to a manager who gets no answers DM
- `checkin:header:{template}:{day}`        the day's header in the team channel
- `checkin:{occurrence}:answers:channel`   the answer, in that header's thread
- `checkin:{occurrence}:submitted`         the prompt DM updated to "Submitted ✓"
- `checkin:{occurrence}:reply:{view}`      a manager's reply in the member's DM thread (and its
                                           echo, `…:echo`, in the manager's own thread)
- `checkin:{occurrence}:skip:{time}`       the DM updated after Skip (button or command)
- `checkin:{occurrence}:snooze:{time}`     the clicked DM updated after the Snooze button
- `checkin:{occurrence}:snoozed:{n}`       the prompt updated after the n-th `/checkin snooze`
- `checkin:{occurrence}:away`              the prompt updated when its member goes out of office
- `checkin:{occurrence}:{reason}:{ts}`     a late click's message replaced (closed, answered…)
- `checkin:{occurrence}:refused:{time}`    why a button was refused, in the clicked DM's thread
- `setup:{view}:{hash}`                    `/checkin setup`'s confirmation DM to its editor
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.notify.conversations import keep_reply
from bot.services import checkins, conversations
from bot.services.checkins import Due, Occurrence, ReplyTarget, Submitted
from bot.services.directory import people
from bot.services.states import CheckinUnavailableReason
from bot.services.text import escape
from bot.services.upward import named_upward_reader
from handlers.blocks import checkins as blocks

# ----- the member's DMs -------------------------------------------------------------------------


def enqueue_prompt(session: Session, due: Due, now: datetime, *, snoozed: bool = False) -> int:
    """The check-in DM; after the n-th snooze a fresh one (`snooze:{n}`), which "Submitted ✓"
    replaces from then on. Bulk: only the minute job writes it, for everyone due at once."""
    occurrence = due.occurrence
    text, prompt_blocks = blocks.prompt_message(
        occurrence.id,
        due.template.name,
        due.template.owner_id,
        due.template.questions,
        occurrence.closes_at,
        channel_id=due.template.channel_id,
        late=due.late and not snoozed,
        snoozed=snoozed,
    )
    suffix = f"snooze:{occurrence.snooze_count}" if snoozed else "prompt"
    row_id = outbox.post_message(
        session,
        team_id=occurrence.team_id,
        key=f"checkin:{occurrence.id}:{suffix}",
        channel=occurrence.user_id,
        text=text,
        blocks=prompt_blocks,
        now=now,
        bulk=True,
    )
    checkins.record_prompt(session, occurrence.id, row_id)
    return row_id


def enqueue_reminder(session: Session, due: Due, now: datetime) -> int:
    """Bulk, like the prompt: the minute job reminds everyone due at once."""
    occurrence = due.occurrence
    text, reminder_blocks = blocks.reminder_message(
        occurrence.id, due.template.name, occurrence.closes_at
    )
    return outbox.post_message(
        session,
        team_id=occurrence.team_id,
        key=f"checkin:{occurrence.id}:reminder",
        channel=occurrence.user_id,
        text=text,
        blocks=reminder_blocks,
        now=now,
        bulk=True,
    )


# ----- delivering an answer ---------------------------------------------------------------------


def enqueue_answer(session: Session, submitted: Submitted, now: datetime) -> list[int]:
    """Every message an accepted answer causes, in the caller's transaction (the one that
    stored the answer), so an acked answer is delivered even if the process dies right after.

    The owner's DM (if the template says so), named upward feedback to the member's manager,
    the channel thread under the day's header (if a channel is set; only the questions it
    shares there), and the prompt DM updated to "Submitted ✓".
    """
    occurrence = submitted.occurrence
    template = submitted.template
    team_id = occurrence.team_id
    rows: list[int] = []
    reader = named_upward_reader(
        note=submitted.upward_text,
        anonymous=submitted.upward_anonymous,
        manager_id=submitted.manager_id,
        owner_id=template.owner_id,
        owner_gets_answers=template.post_to_manager,
    )
    if template.post_to_manager:
        text, manager_blocks = blocks.manager_answers(
            occurrence.id,
            occurrence.user_id,
            template.name,
            occurrence.local_date,
            submitted.answers,
            upward_text=reader.note if reader and reader.in_answers else None,
            reader_id=template.owner_id,
        )
        rows.append(
            _post_to_reader(
                session, submitted, "answers", template.owner_id, (text, manager_blocks), now
            )
        )
    if reader is not None and not reader.in_answers:
        text, upward_blocks = blocks.upward_message(
            occurrence.user_id, template.name, reader.note, occurrence.id
        )
        rows.append(
            _post_to_reader(
                session, submitted, "upward", reader.reader_id, (text, upward_blocks), now
            )
        )
    if template.channel_id:
        rows += _enqueue_channel_thread(session, submitted, template.channel_id, now)
    if occurrence.prompt_outbox_id is not None:
        text, done_blocks = blocks.submitted_message(
            template.name,
            occurrence.local_date,
            submitted.answers,
            upward_sent=reader is not None,
        )
        rows.append(
            outbox.update_message(
                session,
                team_id=team_id,
                key=f"checkin:{occurrence.id}:submitted",
                text=text,
                blocks=done_blocks,
                now=now,
                of_row=occurrence.prompt_outbox_id,
            )
        )
    return rows


def _post_to_reader(
    session: Session,
    submitted: Submitted,
    what: str,
    reader_id: str,
    message: tuple[str, list[dict[str, Any]]],
    now: datetime,
) -> int:
    """One DM to a reader of the answer (`checkin:{occurrence}:{what}:manager`), linked as that
    reader's side of the answer's thread."""
    occurrence = submitted.occurrence
    row = outbox.post_message(
        session,
        team_id=occurrence.team_id,
        key=f"checkin:{occurrence.id}:{what}:manager",
        channel=reader_id,
        text=message[0],
        blocks=message[1],
        now=now,
    )
    _link_thread(session, submitted, reader_id, row)
    return row


def _link_thread(session: Session, submitted: Submitted, reader_id: str, reader_row: int) -> None:
    """The member's DM thread (under the prompt) and the reader's (under the answers they got)
    form one exchange: replies and answer-backs in either reach the other (message.im)."""
    occurrence = submitted.occurrence
    if reader_id == occurrence.user_id:
        return
    conversations.link(
        session,
        occurrence.team_id,
        conversations.CHECKIN,
        occurrence.id,
        (occurrence.user_id, occurrence.prompt_outbox_id),
        (reader_id, reader_row),
    )


def _enqueue_channel_thread(
    session: Session, submitted: Submitted, channel_id: str, now: datetime
) -> list[int]:
    """The day's header (dated in the owner's zone, one per template and day) and the reply;
    nothing when none of the answers is one the template shares there."""
    occurrence = submitted.occurrence
    template = submitted.template
    shared = blocks.channel_answers(occurrence.user_id, template.name, submitted.answers)
    if shared is None:
        return []
    owner = people(session, occurrence.team_id, [template.owner_id]).get(template.owner_id)
    day = owner.local_date(occurrence.scheduled_at) if owner else occurrence.scheduled_at.date()
    text, header_blocks = blocks.channel_header(template.name, day)
    header_id = outbox.post_message(
        session,
        team_id=occurrence.team_id,
        key=f"checkin:header:{occurrence.template_id}:{day.isoformat()}",
        channel=channel_id,
        text=text,
        blocks=header_blocks,
        now=now,
    )
    text, answer_blocks = shared
    answer_id = outbox.post_message(
        session,
        team_id=occurrence.team_id,
        key=f"checkin:{occurrence.id}:answers:channel",
        channel=channel_id,
        text=text,
        blocks=answer_blocks,
        now=now,
        depends_on=header_id,
        thread_under_parent=True,
    )
    return [header_id, answer_id]


# ----- the member's DM after a button or a command ----------------------------------------------


def show_skipped(
    session: Session,
    occurrence: Occurrence,
    status: str,
    now: datetime,
    clicked: tuple[str, str] | None = None,
) -> None:
    _show_status(session, occurrence, status, f"skip:{now.timestamp()}", now, clicked)


def show_snoozed(
    session: Session,
    occurrence: Occurrence,
    status: str,
    now: datetime,
    clicked: tuple[str, str] | None = None,
) -> None:
    # The button's key is the click's time, the command's the snooze's number; never the fresh
    # DM's own `snooze:{n}`, which would then be taken and never sent.
    suffix = (
        f"snooze:{now.timestamp()}"
        if clicked is not None
        else f"snoozed:{occurrence.snooze_count}"
    )
    _show_status(session, occurrence, status, suffix, now, clicked)


def show_away(session: Session, occurrence: Occurrence, now: datetime) -> None:
    _show_status(session, occurrence, "Out of office.", "away", now, None)


def _show_status(
    session: Session,
    occurrence: Occurrence,
    status: str,
    suffix: str,
    now: datetime,
    clicked: tuple[str, str] | None,
) -> None:
    """The DM shows the check-in's new state: the clicked message, else the latest prompt.

    `status` is safe mrkdwn (it may hold a `<!date…>`)."""
    if clicked is None and occurrence.prompt_outbox_id is None:
        return
    name = checkins.template_name(session, occurrence.team_id, occurrence.template_id)
    text, message_blocks = blocks.status_message(name, occurrence.local_date, status)
    outbox.update_message(
        session,
        team_id=occurrence.team_id,
        key=f"checkin:{occurrence.id}:{suffix}",
        text=text,
        blocks=message_blocks,
        now=now,
        where=clicked,
        of_row=None if clicked is not None else occurrence.prompt_outbox_id,
    )


def show_unavailable(
    session: Session,
    occurrence: Occurrence,
    reason: CheckinUnavailableReason,
    message: str,
    clicked: tuple[str, str],
    now: datetime,
) -> None:
    """A late click: its buttons cannot be disabled, so the clicked message is replaced with
    why the check-in cannot be opened ("closed" has its own wording)."""
    name = checkins.template_name(session, occurrence.team_id, occurrence.template_id)
    if reason == CheckinUnavailableReason.CLOSED:
        text, message_blocks = blocks.closed_message(name, occurrence.local_date)
    else:
        text, message_blocks = blocks.status_message(name, occurrence.local_date, escape(message))
    outbox.update_message(
        session,
        team_id=occurrence.team_id,
        key=f"checkin:{occurrence.id}:{reason}:{clicked[1]}",
        text=text,
        blocks=message_blocks,
        now=now,
        where=clicked,
    )


def explain_refusal(
    session: Session,
    team_id: str,
    occurrence_id: int | None,
    clicked: tuple[str, str],
    message: str,
    now: datetime,
) -> None:
    """A refused button (a snooze that would pass closing) says why under the message, whose
    Start button still works."""
    outbox.enqueue(
        session,
        team_id=team_id,
        key=f"checkin:{occurrence_id}:refused:{now.timestamp()}",
        method="chat.postMessage",
        payload={"channel": clicked[0], "text": message, "thread_ts": clicked[1]},
        now=now,
    )


# ----- a manager's reply ------------------------------------------------------------------------


def enqueue_reply(
    session: Session,
    team_id: str,
    manager_id: str,
    reply: ReplyTarget,
    view_id: str,
    text: str,
    now: datetime,
) -> None:
    """The reply in the member's DM thread (top-level if their prompt was never posted), kept
    with the occurrence and echoed into the manager's own thread."""
    safe = escape(text)
    key = f"checkin:{reply.occurrence_id}:reply:{view_id}"
    message, message_blocks = blocks.reply_message(manager_id, reply.template_name, safe)
    outbox.post_message(
        session,
        team_id=team_id,
        key=key,
        channel=reply.member_id,
        text=message,
        blocks=message_blocks,
        now=now,
        depends_on=reply.prompt_outbox_id,
        thread_under_parent=reply.prompt_outbox_id is not None,
    )
    keep_reply(
        session,
        team_id=team_id,
        kind=conversations.CHECKIN,
        item_id=reply.occurrence_id,
        author_id=manager_id,
        text=safe,
        source_key=f"view:{view_id}",
        key=key,
        now=now,
    )


# ----- setting a check-in up --------------------------------------------------------------------


def confirm_setup(
    session: Session,
    team_id: str,
    user_id: str,
    view_id: str,
    view_hash: str | None,
    text: str,
    now: datetime,
) -> None:
    """A saved modal just closes, so the editor learns what was saved by DM; keyed on the
    submitted view, so a retried submission is confirmed once."""
    outbox.post_message(
        session,
        team_id=team_id,
        key=f"setup:{view_id}:{view_hash}",
        channel=user_id,
        text=text,
        blocks=None,
        now=now,
    )
