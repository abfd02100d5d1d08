"""`/feedback request`: the form, the DM to each person asked, the answer form, and what the
requester (and a subject) receive. Pure: data in, Block Kit out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.services.slack_limits import BUTTON_TEXT_MAX, MODAL_TITLE_MAX, TEXT_MAX
from handlers import ids
from handlers.blocks.common import (
    Block,
    clip,
    context,
    mentions,
    people_picker,
    plain,
    quote,
    section,
    write_metadata,
)

ANSWER_SHOWN = 2800
SUBJECT_ANSWER_SHOWN = 900


def _day(day: date) -> str:
    return f"{day.strftime('%a')} {day.isoformat()}"


def due_label(due_on: date, zone: str) -> str:
    """ "the end of Fri 2037-12-04, Europe/Paris time": a request closes at the end of its
    day in the requester's zone, which is not the reader's when they live elsewhere."""
    return f"the end of {_day(due_on)}, {zone} time"


def about(topic: str, subject_id: str | None) -> str:
    """ "the Q4 launch review", or "How was <@BEN> on the migration?"."""
    return f"how <@{subject_id}> did on *{topic}*" if subject_id else f"*{topic}*"


def request_modal(
    *,
    questions: Sequence[str],
    due_on: date,
    zone: str,
    people: Sequence[tuple[str, str]] | None,
    reports: Sequence[tuple[str, str]],
    topic: str = "",
) -> dict[str, Any]:
    """`people`: whom "Who do you ask?" lists (see `people_picker`); `reports`: (id, name) of
    the requester's direct reports, the only people a request may be about (no field without
    them); `topic`: what followed `/feedback request`, as typed; `zone`: the requester's."""
    topic_element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids.FEEDBACK_INPUT,
        # No max_length: the rule's answer says how long the topic is, Slack's would not.
        "placeholder": plain("the Q4 launch review"),
    }
    if topic:
        topic_element["initial_value"] = topic
    blocks: list[Block] = [
        {
            "type": "input",
            "block_id": ids.REQUEST_PEOPLE_BLOCK,
            "label": plain("Who do you ask?"),
            "hint": plain("1 to 10 people; not yourself."),
            "element": people_picker(
                ids.FEEDBACK_INPUT,
                people=people,
                placeholder="Colleagues",
                multi=True,
                max_selected=10,
            ),
        },
        {
            "type": "input",
            "block_id": ids.REQUEST_TOPIC_BLOCK,
            "label": plain("Topic"),
            "element": topic_element,
        },
    ]
    if reports:
        blocks.append(
            {
                "type": "input",
                "block_id": ids.REQUEST_SUBJECT_BLOCK,
                "optional": True,
                "label": plain("About one of your direct reports"),
                "hint": plain(
                    "Answers come to you; at the close they see the ones shared with them."
                ),
                "element": people_picker(
                    ids.FEEDBACK_INPUT, people=reports, placeholder="Your direct reports"
                ),
            }
        )
    for index in range(3):
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": ids.FEEDBACK_INPUT,
        }
        if index < len(questions):
            element["initial_value"] = questions[index]
        blocks.append(
            {
                "type": "input",
                "block_id": f"{ids.REQUEST_QUESTION_BLOCK_PREFIX}{index}",
                "optional": index > 0,
                "label": plain(f"Question {index + 1}"),
                "element": element,
            }
        )
    blocks.append(
        {
            "type": "input",
            "block_id": ids.REQUEST_DUE_BLOCK,
            "label": plain("Due"),
            "hint": plain(f"It closes at the end of that day, your time ({zone})."),
            "element": {
                "type": "datepicker",
                "action_id": ids.FEEDBACK_INPUT,
                "initial_date": due_on.isoformat(),
            },
        }
    )
    return {
        "type": "modal",
        "callback_id": ids.REQUEST_MODAL,
        "title": plain("Ask for feedback", MODAL_TITLE_MAX),
        "submit": plain("Ask", MODAL_TITLE_MAX),
        "close": plain("Cancel", MODAL_TITLE_MAX),
        "blocks": blocks,
    }


def field_block(field: str) -> str:
    return {
        "people": ids.REQUEST_PEOPLE_BLOCK,
        "topic": ids.REQUEST_TOPIC_BLOCK,
        "questions": f"{ids.REQUEST_QUESTION_BLOCK_PREFIX}0",
        "due": ids.REQUEST_DUE_BLOCK,
        "subject": ids.REQUEST_SUBJECT_BLOCK,
    }.get(field, ids.REQUEST_PEOPLE_BLOCK)


def _buttons(request_id: int) -> Block:
    value = str(request_id)
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": ids.REQUEST_ANSWER_ACTION,
                "text": plain("Give feedback", BUTTON_TEXT_MAX),
                "style": "primary",
                "value": value,
            },
            {
                "type": "button",
                "action_id": ids.REQUEST_DECLINE_ACTION,
                "text": plain("Decline", BUTTON_TEXT_MAX),
                "value": value,
            },
        ],
    }


def ask_message(
    request_id: int,
    requester_id: str,
    topic: str,
    subject_id: str | None,
    questions: Sequence[str],
    due_on: date,
    *,
    zone: str,
    reminder: bool = False,
) -> tuple[str, list[Block]]:
    """`zone`: the requester's, where the due day ends."""
    lead = ":alarm_clock: Reminder: " if reminder else ":raising_hand: "
    headline = f"{lead}<@{requester_id}> asks for your feedback on {about(topic, subject_id)}"
    listed = "\n".join(f"• {q}" for q in questions)
    due = f"Due by {due_label(due_on, zone)}"
    blocks = [
        section(f"{headline}\n{listed}"),
        context(due + (" (tomorrow)" if reminder else "")),
        _buttons(request_id),
    ]
    return clip(f"{headline}. {due}.", TEXT_MAX), blocks


def status_message(text: str) -> tuple[str, list[Block]]:
    """What an asking DM becomes once settled or closed (its buttons go away)."""
    return text, [section(text)]


def answered_status(requester_id: str, topic: str, subject_id: str | None) -> str:
    return (
        f":white_check_mark: You answered <@{requester_id}>'s request on "
        f"{about(topic, subject_id)}. Their replies arrive in this thread."
    )


def declined_status(requester_id: str, topic: str, subject_id: str | None) -> str:
    return f"You declined <@{requester_id}>'s request on {about(topic, subject_id)}."


def withdrawn_status(requester_id: str, topic: str, subject_id: str | None) -> str:
    return (
        f"<@{requester_id}>'s request on {about(topic, subject_id)} was withdrawn: "
        "it no longer takes answers."
    )


def closed_status(topic: str, due_on: date, zone: str) -> str:
    return (
        f"This request on *{topic}* closed at {due_label(due_on, zone)}: it no longer takes "
        "answers."
    )


def answer_modal(
    request_id: int,
    requester_id: str,
    topic: str,
    subject_id: str | None,
    questions: Sequence[str],
) -> dict[str, Any]:
    blocks: list[Block] = [
        context(f"<@{requester_id}> asks about {about(topic, subject_id)}. Answer at least one.")
    ]
    for index, question in enumerate(questions):
        blocks.append(
            {
                "type": "input",
                "block_id": f"{ids.REQUEST_ANSWER_BLOCK_PREFIX}{index}",
                "optional": True,
                "label": plain(question, 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.FEEDBACK_INPUT,
                    "multiline": True,
                    "max_length": TEXT_MAX,
                },
            }
        )
    if subject_id:
        blocks.append(
            {
                "type": "input",
                "block_id": ids.REQUEST_SHARE_BLOCK,
                "optional": True,
                "label": plain("Sharing"),
                "element": {
                    "type": "checkboxes",
                    "action_id": ids.FEEDBACK_INPUT,
                    "options": [
                        {
                            "text": {"type": "mrkdwn", "text": f"Share with <@{subject_id}>"},
                            "description": plain(
                                "They read it, named as yours, when the request closes.", 150
                            ),
                            "value": "share",
                        }
                    ],
                },
            }
        )
    return {
        "type": "modal",
        "callback_id": ids.REQUEST_ANSWER_MODAL,
        "title": plain("Give feedback", MODAL_TITLE_MAX),
        "submit": plain("Send", MODAL_TITLE_MAX),
        "close": plain("Cancel", MODAL_TITLE_MAX),
        "private_metadata": write_metadata({"request_id": request_id}),
        "blocks": blocks,
    }


def _qa(questions: Sequence[str], answers: Sequence[str], shown: int) -> list[Block]:
    return [
        section(f"*{question}*\n{quote(clip(answer, shown))}")
        for question, answer in zip(questions, answers, strict=False)
        if answer
    ]


def answer_for_requester(
    giver_id: str,
    topic: str,
    subject_id: str | None,
    questions: Sequence[str],
    answers: Sequence[str],
    shared: bool,
) -> tuple[str, list[Block]]:
    """One answer as it arrives: the requester's side of the thread with its giver."""
    headline = f":inbox_tray: <@{giver_id}> answered your request on {about(topic, subject_id)}"
    note = "Reply in this thread: it reaches them."
    if subject_id:
        note += (
            f" Shared with <@{subject_id}> at the close."
            if shared
            else f" Not shared with <@{subject_id}>."
        )
    blocks = [section(headline), *_qa(questions, answers, ANSWER_SHOWN), context(note)]
    return headline, blocks


def created_message(
    people: Sequence[str], topic: str, subject_id: str | None, due_on: date, zone: str
) -> str:
    return (
        f":outbox_tray: I asked {mentions(people)} for feedback on {about(topic, subject_id)}; "
        f"due by {due_label(due_on, zone)}. Answers arrive here as they come, and a summary at "
        "the close."
    )


def summary_message(
    topic: str,
    subject_id: str | None,
    answered: Sequence[str],
    declined: Sequence[str],
    silent: Sequence[str],
) -> tuple[str, list[Block]]:
    headline = f":checkered_flag: Your request on {about(topic, subject_id)} has closed"

    def line(label: str, who: Sequence[str]) -> str:
        return f"*{label}* ({len(who)}): {mentions(who) if who else '—'}"

    body = "\n".join(
        (
            line("Answered", answered),
            line("Declined", declined),
            line("Did not answer", silent),
        )
    )
    blocks = [section(f"{headline}\n{body}")]
    if subject_id:
        blocks.append(context(f"<@{subject_id}> now gets the answers their givers shared."))
    return f"{headline}: {len(answered)} answered, {len(declined)} declined.", blocks


def subject_message(
    manager_id: str,
    topic: str,
    questions: Sequence[str],
    shared: Sequence[tuple[str, Sequence[str]]],
) -> tuple[str, list[Block]]:
    """At the close, the answers shared with the person they are about, named by giver."""
    headline = (
        f":gift: Feedback about you on *{topic}*, which <@{manager_id}> asked for. These givers "
        "chose to share their answers with you:"
    )
    blocks: list[Block] = [section(headline)]
    for giver_id, answers in shared[:15]:
        lines = "\n".join(
            f"_{question}_\n{quote(clip(answer, SUBJECT_ANSWER_SHOWN))}"
            for question, answer in zip(questions, answers, strict=False)
            if answer
        )
        blocks.append(section(f"*From <@{giver_id}>*\n{lines}"))
    return f"Feedback about you on {topic}", blocks
