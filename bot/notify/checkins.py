"""Every message a check-in causes, written to the outbox in the caller's transaction.

Shared by the scheduler's run (prompts, re-prompts, reminders) and the listeners (answers,
replaced DMs), so a message is keyed the same way whoever writes it. Keys are listed in
bot/jobs/minute.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.services import checkins, conversations
from bot.services.checkins import Due, Submitted
from bot.services.directory import people
from bot.services.upward import named_upward_reader
from handlers.blocks import checkins as blocks

# ----- the member's DMs -------------------------------------------------------------------------


def enqueue_prompt(session: Session, due: Due, now: datetime, *, snoozed: bool = False) -> int:
    """The check-in DM; after the n-th snooze a fresh one (`snooze:{n}`), which "Submitted ✓"
    replaces from then on."""
    occurrence = due.occurrence
    text, prompt_blocks = blocks.prompt_message(
        occurrence.id,
        due.template.name,
        due.template.owner_id,
        len(due.template.questions),
        occurrence.closes_at,
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
    )
    checkins.record_prompt(session, occurrence.id, row_id)
    return row_id


def enqueue_reminder(session: Session, due: Due, now: datetime) -> int:
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
    )


# ----- delivering an answer ---------------------------------------------------------------------


def enqueue_answer(session: Session, submitted: Submitted, now: datetime) -> list[int]:
    """Every message an accepted answer causes, in the caller's transaction (the one that
    stored the answer), so an acked answer is delivered even if the process dies right after.

    The owner's DM (if the template says so), named upward feedback to the member's manager,
    the channel thread under the day's header (if a channel is set), and the prompt DM
    updated to "Submitted ✓".
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
        )
        answers_row = outbox.post_message(
            session,
            team_id=team_id,
            key=f"checkin:{occurrence.id}:answers:manager",
            channel=template.owner_id,
            text=text,
            blocks=manager_blocks,
            now=now,
        )
        rows.append(answers_row)
        _link_thread(session, submitted, template.owner_id, answers_row)
    if reader is not None and not reader.in_answers:
        text, upward_blocks = blocks.upward_message(
            occurrence.user_id, template.name, reader.note, occurrence.id
        )
        upward_row = outbox.post_message(
            session,
            team_id=team_id,
            key=f"checkin:{occurrence.id}:upward:manager",
            channel=reader.reader_id,
            text=text,
            blocks=upward_blocks,
            now=now,
        )
        rows.append(upward_row)
        _link_thread(session, submitted, reader.reader_id, upward_row)
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
    """The day's header (dated in the owner's zone, one per template and day) and the reply."""
    occurrence = submitted.occurrence
    template = submitted.template
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
    text, answer_blocks = blocks.channel_answers(
        occurrence.user_id, template.name, submitted.answers
    )
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
