"""`/feedback` messages and forms, the DM-thread messages of every exchange, the DM hint and
"Answer the team". Pure: data in, Block Kit out (texts arrive escaped and neutralised)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.services.slack_limits import (
    BUTTON_TEXT_MAX,
    MODAL_TITLE_MAX,
    SELECT_OPTIONS_MAX,
    TEXT_MAX,
)
from handlers import ids
from handlers.blocks.common import (
    Block,
    clip,
    context,
    notice_modal,
    option,
    people_picker,
    plain,
    quote,
    section,
    write_metadata,
)

ONLY_THEM = "recipient"
WITH_MANAGER = "recipient_and_manager"

HELP = (
    "*Feedback*\n"
    "• `/feedback @name` opens a private feedback form (or `/feedback` alone); "
    "`/feedback @name what went well…` opens it with your words in it\n"
    "• `/feedback request` asks up to 10 people for feedback on a topic\n"
    "• *Give feedback* in any message's ⋯ menu quotes that message\n"
    "Only the person you write to reads it (and their manager, if you choose so). They can "
    "thank you or reply; replies arrive in the thread under your copy, and you can answer there."
)

HINT = (
    ":wave: Hi! I don't read messages here, except replies in a thread under one of my messages "
    "(an answer, a reply or a piece of feedback): those reach the other person.\n"
    "• `/checkin` opens your waiting check-in\n"
    "• `/feedback @name` sends private feedback, `/feedback request` asks for some\n"
    "• `/kudos @name thanks for… #value` recognises a colleague\n"
    "Your Home tab shows what's waiting for you."
)


def unknown_words(text: str) -> str:
    """`/feedback bananas` (as Slack escaped it): answered as `/checkin` answers one."""
    return f"I don't know `/feedback {text}`. Try `/feedback help`."


def not_opened(problem: str) -> str:
    """Why the form did not open on what was typed after the command; nothing is lost, as
    Slack keeps the command in the message box's history (the up arrow)."""
    return f"{problem} The form did not open: run the command again with a shorter text."


def _button(action_id: str, text: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": plain(text, BUTTON_TEXT_MAX),
        "value": value,
    }
    if style:
        button["style"] = style
    return button


# ----- the give form ----------------------------------------------------------------------------


def give_modal(
    values: Sequence[str],
    *,
    people: Sequence[tuple[str, str]] | None = None,
    recipient_id: str | None = None,
    offer_manager: bool | None = None,
    went_well: str = "",
    quote_text: str | None = None,
    quote_url: str | None = None,
) -> dict[str, Any]:
    """`offer_manager`: True/False once the recipient is known; None offers it with a caveat.
    `people`: whom the To picker lists (see `people_picker`); `went_well`: text typed after
    `/feedback @name`, kept in the form (plain text, as typed)."""
    recipient = people_picker(
        ids.FEEDBACK_RECIPIENT_ACTION,
        people=people,
        placeholder="Who is it for?",
        initial=[recipient_id] if recipient_id else [],
    )
    blocks: list[Block] = []
    if quote_text is not None:
        link = f"<{quote_url}|Original message>" if quote_url else "Original message"
        blocks.append(context(f"{link}\n{quote(clip(quote_text, 500))}"))
    blocks.append(
        {
            "type": "input",
            "block_id": ids.FEEDBACK_RECIPIENT_BLOCK,
            "dispatch_action": True,
            "label": plain("To"),
            "element": recipient,
        }
    )
    for block_id, label, hint, typed in (
        (ids.FEEDBACK_WELL_BLOCK, "What went well", "Specific moments help most.", went_well),
        (ids.FEEDBACK_BETTER_BLOCK, "What could be better", "Write at least one of the two.", ""),
    ):
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": ids.FEEDBACK_INPUT,
            "multiline": True,
            "max_length": TEXT_MAX,
        }
        if typed:
            element["initial_value"] = typed
        blocks.append(
            {
                "type": "input",
                "block_id": block_id,
                "optional": True,
                "label": plain(label),
                "hint": plain(hint),
                "element": element,
            }
        )
    if values:
        blocks.append(
            {
                "type": "input",
                "block_id": ids.FEEDBACK_VALUE_BLOCK,
                "optional": True,
                "label": plain("Company value"),
                "element": {
                    "type": "static_select",
                    "action_id": ids.FEEDBACK_INPUT,
                    "placeholder": plain("Optional"),
                    "options": [option(f"#{v}", v) for v in values][:SELECT_OPTIONS_MAX],
                },
            }
        )
    only_them = option("Only them", ONLY_THEM)
    choices = [only_them]
    if offer_manager is not False:
        label = "Them and their manager"
        choices.append(
            option(label if offer_manager else f"{label} (if they have one)", WITH_MANAGER)
        )
    blocks.append(
        {
            "type": "input",
            "block_id": ids.FEEDBACK_VISIBILITY_BLOCK,
            "label": plain("Who can read it"),
            "element": {
                "type": "radio_buttons",
                "action_id": ids.FEEDBACK_INPUT,
                "options": choices,
                "initial_option": only_them,
            },
        }
    )
    return {
        "type": "modal",
        "callback_id": ids.FEEDBACK_MODAL,
        "title": plain("Give feedback", MODAL_TITLE_MAX),
        "submit": plain("Send", MODAL_TITLE_MAX),
        "close": plain("Cancel", MODAL_TITLE_MAX),
        "private_metadata": write_metadata(
            {"quote_url": quote_url, "quote_text": clip(quote_text, 500) if quote_text else None}
        ),
        "blocks": blocks,
    }


def sent_modal(recipient_id: str, manager_id: str | None) -> dict[str, Any]:
    """The form, once sent, turns into its confirmation, where the sender is looking; the copy
    in their DM with pulsebot stays the thread where thanks and replies arrive."""
    readers = f"<@{recipient_id}> and their manager <@{manager_id}>" if manager_id else (
        f"<@{recipient_id}>"
    )
    view = notice_modal(
        "Give feedback",
        f":outbox_tray: Your feedback is on its way to {readers}. Your copy is in your DM with "
        "pulsebot: their thanks and replies arrive in its thread.",
    )
    view["close"] = plain("Done", MODAL_TITLE_MAX)
    return view


def field_block(field: str) -> str:
    return {
        "recipient": ids.FEEDBACK_RECIPIENT_BLOCK,
        "went_well": ids.FEEDBACK_WELL_BLOCK,
        "could_be_better": ids.FEEDBACK_BETTER_BLOCK,
        "value": ids.FEEDBACK_VALUE_BLOCK,
        "visibility": ids.FEEDBACK_VISIBILITY_BLOCK,
    }.get(field, ids.FEEDBACK_RECIPIENT_BLOCK)


# ----- the messages -----------------------------------------------------------------------------


def _body(
    went_well: str | None, could_be_better: str | None, value: str | None, quote_url: str | None
) -> list[Block]:
    blocks: list[Block] = []
    if went_well:
        blocks.append(section(f"*What went well*\n{quote(went_well)}"))
    if could_be_better:
        blocks.append(section(f"*What could be better*\n{quote(could_be_better)}"))
    footer = " · ".join(
        part
        for part in (
            f"`#{value}`" if value else "",
            f"<{quote_url}|About this message>" if quote_url else "",
        )
        if part
    )
    if footer:
        blocks.append(context(footer))
    return blocks


def _fallback(headline: str, went_well: str | None, could_be_better: str | None) -> str:
    return clip(f"{headline}: {went_well or could_be_better or ''}", TEXT_MAX)


def recipient_dm(
    feedback_id: int,
    sender_id: str,
    went_well: str | None,
    could_be_better: str | None,
    value: str | None,
    quote_url: str | None,
    manager_id: str | None,
    *,
    thanked: bool = False,
) -> tuple[str, list[Block]]:
    """The feedback in the recipient's DM, with Thank (until used) and Reply."""
    headline = f":speech_balloon: <@{sender_id}> sent you feedback"
    who = (
        f"Only you, <@{sender_id}> who wrote it, and your manager <@{manager_id}> can read this."
        if manager_id
        else f"Only you and <@{sender_id}>, who wrote it, can read this."
    )
    buttons = [_button(ids.FEEDBACK_REPLY_ACTION, "Reply", str(feedback_id))]
    if not thanked:
        buttons.insert(0, _button(ids.FEEDBACK_THANK_ACTION, "Thank", str(feedback_id), "primary"))
    status = f" You thanked <@{sender_id}> :white_check_mark:" if thanked else ""
    blocks = [
        section(headline),
        *_body(went_well, could_be_better, value, quote_url),
        context(who + status),
        {"type": "actions", "elements": buttons},
    ]
    return _fallback(headline, went_well, could_be_better), blocks


def sender_copy(
    recipient_id: str,
    went_well: str | None,
    could_be_better: str | None,
    value: str | None,
    quote_url: str | None,
    manager_id: str | None,
) -> tuple[str, list[Block]]:
    """The sender's copy: their side's thread, where thanks and replies arrive."""
    headline = f":outbox_tray: Your feedback to <@{recipient_id}> is sent"
    who = (
        f"<@{recipient_id}> and their manager <@{manager_id}>"
        if manager_id
        else (f"only <@{recipient_id}>")
    )
    blocks = [
        section(headline),
        *_body(went_well, could_be_better, value, quote_url),
        context(f"Readable by you and {who}. Their thanks and replies arrive in this thread."),
    ]
    return _fallback(headline, went_well, could_be_better), blocks


def manager_copy(
    sender_id: str,
    recipient_id: str,
    went_well: str | None,
    could_be_better: str | None,
    value: str | None,
    quote_url: str | None,
) -> tuple[str, list[Block]]:
    """The labelled copy for the recipient's manager, when the sender chose so."""
    headline = (
        f":eyes: *Copy for you as <@{recipient_id}>'s manager:* <@{sender_id}> sent "
        f"<@{recipient_id}> feedback"
    )
    blocks = [
        section(headline),
        *_body(went_well, could_be_better, value, quote_url),
        context(f"<@{sender_id}> chose to share it with you. <@{recipient_id}> knows you have it."),
    ]
    return _fallback(f"Copy: feedback for <@{recipient_id}>", went_well, could_be_better), blocks


def thanks_note(recipient_id: str) -> str:
    return f":pray: <@{recipient_id}> thanked you for your feedback."


def reply_modal(feedback_id: int, sender_id: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.FEEDBACK_REPLY_MODAL,
        "title": plain("Reply", MODAL_TITLE_MAX),
        "submit": plain("Send", MODAL_TITLE_MAX),
        "close": plain("Cancel", MODAL_TITLE_MAX),
        "private_metadata": write_metadata({"feedback_id": feedback_id}),
        "blocks": [
            context(f"Your reply reaches <@{sender_id}> in the thread under their copy."),
            {
                "type": "input",
                "block_id": ids.FEEDBACK_REPLY_BLOCK,
                "label": plain("Your reply"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.FEEDBACK_INPUT,
                    "multiline": True,
                    "max_length": TEXT_MAX,
                },
            },
        ],
    }


# ----- threads ----------------------------------------------------------------------------------


def forwarded(author_id: str, text: str) -> tuple[str, list[Block]]:
    """What someone wrote on their side, in the other side's thread."""
    headline = f":speech_balloon: <@{author_id}> replied:"
    return clip(f"<@{author_id}> replied: {text}", TEXT_MAX), [
        section(f"{headline}\n{quote(text)}")
    ]


def echoed(peer_id: str, text: str) -> tuple[str, list[Block]]:
    """A reply written in a modal, shown in the writer's own thread too."""
    headline = f":outbox_tray: You replied (sent to <@{peer_id}>):"
    return clip(f"You replied: {text}", TEXT_MAX), [section(f"{headline}\n{quote(text)}")]


def hint() -> str:
    return HINT


# ----- "Answer the team" ------------------------------------------------------------------------


def answer_team_button(week: str | None = None) -> dict[str, Any]:
    """The button a sent digest (and App Home) offers next to anonymous notes. `week` (e.g.
    "2026-W48") only labels the answer; nothing in it points at a note or its author."""
    return _button(ids.ANSWER_TEAM_ACTION, "Answer the team", week or "")


def answer_team_block(week: str | None = None) -> Block:
    """The button in an actions block of its own, ready to append to a digest or Home."""
    return {"type": "actions", "elements": [answer_team_button(week)]}


def answer_team_modal(week: str | None, report_count: int) -> dict[str, Any]:
    people = "person" if report_count == 1 else "people"
    return {
        "type": "modal",
        "callback_id": ids.ANSWER_TEAM_MODAL,
        "title": plain("Answer the team", MODAL_TITLE_MAX),
        "submit": plain("Send to all", MODAL_TITLE_MAX),
        "close": plain("Cancel", MODAL_TITLE_MAX),
        "private_metadata": write_metadata({"week": week}),
        "blocks": [
            context(
                "Anonymous notes can't be answered one to one: nobody, not even pulsebot, knows "
                f"who wrote them. Your answer goes by DM to each of your {report_count} direct "
                f"reports ({report_count} {people}), marked as an answer to an anonymous note."
            ),
            {
                "type": "input",
                "block_id": ids.ANSWER_TEAM_BLOCK,
                "label": plain("Your answer"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.FEEDBACK_INPUT,
                    "multiline": True,
                    "max_length": TEXT_MAX,
                },
            },
        ],
    }


def team_answer(manager_id: str, text: str, week: str | None) -> tuple[str, list[Block]]:
    when = f" from the week {week}" if week else ""
    headline = (
        f":loudspeaker: <@{manager_id}> answers an anonymous note{when} "
        "(sent to everyone on the team):"
    )
    return clip(f"<@{manager_id}> answers an anonymous note: {text}", TEXT_MAX), [
        section(f"{headline}\n{quote(text)}"),
        context("Anonymous notes stay anonymous: this answer went to every direct report."),
    ]


# ----- App Home ---------------------------------------------------------------------------------

HOME_EXCERPT = 90


def home_section(
    *,
    received: Sequence[tuple[str, str, str]],
    waiting: Sequence[tuple[str, str, str]],
    open_requests: Sequence[tuple[str, int, int, str]],
    offer_answer_team: bool,
) -> list[Block]:
    """The Feedback section of App Home, at most 5 blocks of the 100 it shares.

    received: (sender, excerpt, day); waiting: (requester, about, due day);
    open_requests: (about, answered, asked, due day). Texts arrive escaped.
    """
    lines = [
        f"• <@{sender}> ({day}): {clip(excerpt, HOME_EXCERPT)}" for sender, excerpt, day in received
    ]
    blocks: list[Block] = [
        section("*Feedback received*\n" + ("\n".join(lines) or "_Nothing yet._")),
    ]
    if waiting:
        blocks.append(
            section(
                "*Waiting for your answer*\n"
                + "\n".join(f"• <@{who}> on {about}, due by {day}" for who, about, day in waiting)
            )
        )
    if open_requests:
        blocks.append(
            section(
                "*Your open requests*\n"
                + "\n".join(
                    f"• {about}: {done} of {total} answered, due by {day}"
                    for about, done, total, day in open_requests
                )
            )
        )
    if offer_answer_team:
        blocks.append(answer_team_block())
    blocks.append(context("`/feedback @name` gives feedback, `/feedback request` asks for some."))
    return blocks
