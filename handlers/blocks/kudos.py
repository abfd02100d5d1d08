"""Kudos messages, the kudos modal, stats and the ephemeral answers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.services.kudos_goals import GoalChoice
from bot.services.slack_limits import SELECT_OPTIONS_MAX
from bot.services.text import escape, neutralise
from handlers import ids
from handlers.blocks.common import (
    MODAL_TITLE_MAX,
    PRIVATE_METADATA_MAX,
    Block,
    clip,
    context,
    mentions,
    notice_modal,
    option,
    people_picker,
    plain,
    quote,
    section,
)


def value_tags(values: Sequence[str]) -> str:
    return " ".join(f"`#{v}`" for v in values)


def goal_words(goal_title: str | None) -> str:
    """` for *Self-serve grows 30%*`: the goal a kudos recognises, as a headline ends."""
    if not goal_title:
        return ""
    return f" for *{neutralise(escape(goal_title))}*"


def feed_post(
    giver_id: str,
    recipient_ids: Sequence[str],
    message: str,
    values: Sequence[str],
    quote_url: str | None = None,
    goal_title: str | None = None,
) -> tuple[str, list[Block]]:
    """The recognition channel's post; `message` is already neutralised."""
    headline = (
        f":tada: <@{giver_id}> gave kudos to {mentions(recipient_ids)}{goal_words(goal_title)}"
    )
    blocks: list[Block] = [section(f"{headline}\n{quote(message)}")]
    footer = _footer(values, quote_url)
    if footer:
        blocks.append(context(footer))
    return f"{headline}: {message}", blocks


def recipient_dm(
    giver_id: str,
    recipient_ids: Sequence[str],
    message: str,
    values: Sequence[str],
    quote_url: str | None = None,
    goal_title: str | None = None,
) -> tuple[str, list[Block]]:
    others = [r for r in recipient_ids]
    who = "you" if len(others) == 1 else f"you and {len(others) - 1} more ({mentions(others)})"
    headline = f":tada: <@{giver_id}> gave {who} kudos{goal_words(goal_title)}"
    blocks: list[Block] = [section(f"{headline}\n{quote(message)}")]
    footer = _footer(values, quote_url)
    if footer:
        blocks.append(context(footer))
    return f"{headline}: {message}", blocks


def reaction_message(reaction: str, channel_id: str) -> str:
    """What a kudos given by reaction says: the emoji, and where (its footer links the
    message itself). Channels are `<#C…>` links; elsewhere (a group DM) no place is named."""
    where = f" in <#{channel_id}>" if channel_id[:1] == "C" else ""
    return f"Reacted :{reaction}: to a message{where}"


def reaction_refused(reaction: str, author_id: str, why: str) -> str:
    """The giver's note when a rule refused the kudos their reaction would have given."""
    return f"Your :{reaction}: on <@{author_id}>'s message gave no kudos. {why}"


def withdrawn_post(giver_id: str) -> tuple[str, list[Block]]:
    """What a kudos' post and DMs become once it is taken back (its reaction removed)."""
    text = f"<@{giver_id}> took back this kudos."
    return text, [context(f"~Kudos~ {text}")]


def confirmation(recipient_ids: Sequence[str], remaining: int, limit: int) -> str:
    left = "no kudos left" if remaining == 0 else f"{remaining} of {limit} kudos left"
    return f":white_check_mark: Kudos sent to {mentions(recipient_ids)}. You have {left} today."


def unknown_word(word: str) -> str:
    """`/kudos frobnicate` (the word as Slack escaped it): answered as `/checkin` answers one."""
    return f"I don't know `/kudos {word}`. Try `/kudos help`."


def sent_modal(confirmation_text: str) -> dict[str, Any]:
    """The form, once given, turns into its confirmation: the giver reads it where they acted,
    in the channel they were in, not in a DM from the bot."""
    view = notice_modal("Give kudos", confirmation_text)
    view["close"] = plain("Done", MODAL_TITLE_MAX)
    return view


def help_text(values: Sequence[str], limit: int) -> str:
    return (
        "*Give kudos*\n"
        "• `/kudos @alex @sam thanks for the migration #teamwork` gives at once\n"
        "• `/kudos` opens a form\n"
        "• `/kudos stats` shows your counts and this month's leaderboard\n"
        "• Or use *Give kudos* from any message's ⋯ menu\n"
        f"Values: {value_tags(values)}. Up to 10 people per kudos, {limit} people a day."
    )


def stats_blocks(
    given: int, received: int, top: Sequence[tuple[str, int]], month: str, remaining: int
) -> tuple[str, list[Block]]:
    board = "\n".join(f"{i}. <@{uid}> — {n}" for i, (uid, n) in enumerate(top, 1))
    text = (
        f"*Your kudos in {month}*\nGiven: *{given}* · Received: *{received}* · "
        f"Left today: *{remaining}*"
    )
    blocks = [section(text), section(f"*Top recipients*\n{board or '_No kudos yet this month._'}")]
    return f"Kudos in {month}: given {given}, received {received}", blocks


def modal(
    values: Sequence[str],
    *,
    channel_id: str | None,
    people: Sequence[tuple[str, str]] | None = None,
    initial_users: Sequence[str] = (),
    quote_text: str | None = None,
    quote_url: str | None = None,
    goals: Sequence[GoalChoice] = (),
) -> dict[str, Any]:
    """`people`: whom the Who picker lists (see `people_picker`); None leaves it to Slack.
    `goals`: the chosen recipients' goals the kudos may name; the form asks again for them
    whenever the recipients change (the Who input dispatches its changes)."""
    recipients_element = people_picker(
        ids.KUDOS_RECIPIENTS_ACTION,
        people=people,
        placeholder="Who are you recognising?",
        initial=initial_users,
        multi=True,
        max_selected=10,
    )
    blocks: list[Block] = []
    if quote_text is not None:
        link = f"<{quote_url}|Original message>" if quote_url else "Original message"
        blocks.append(context(f"{link}\n{quote(clip(quote_text, 500))}"))
    blocks += [
        {
            "type": "input",
            "block_id": ids.KUDOS_RECIPIENTS_BLOCK,
            "dispatch_action": True,
            "label": plain("Who"),
            "element": recipients_element,
        },
        {
            "type": "input",
            "block_id": ids.KUDOS_MESSAGE_BLOCK,
            "label": plain("What did they do?"),
            "element": {
                "type": "plain_text_input",
                "action_id": ids.KUDOS_MESSAGE_ACTION,
                "multiline": True,
                # No max_length: Slack's own check would refuse a long message without saying
                # how long it is; the rule's answer says both its length and the limit.
                "placeholder": plain("Thanks for…"),
            },
        },
        {
            "type": "input",
            "block_id": ids.KUDOS_VALUES_BLOCK,
            "optional": True,
            "label": plain("Values"),
            "element": {
                "type": "multi_static_select",
                "action_id": ids.KUDOS_VALUES_ACTION,
                "placeholder": plain("Tag a company value"),
                "options": [option(f"#{v}", v) for v in values[:100]],
            },
        },
    ]
    if goals:
        several = len({g.owner_id for g in goals}) > 1
        blocks.append(
            {
                "type": "input",
                "block_id": ids.KUDOS_GOAL_BLOCK,
                "optional": True,
                "label": plain("For which goal?"),
                "hint": plain("One of their public goals of this cycle: recognition of impact."),
                "element": {
                    "type": "static_select",
                    "action_id": ids.KUDOS_GOAL_ACTION,
                    "placeholder": plain("Pick a goal"),
                    "options": [
                        option(g.label(several), str(g.objective_id))
                        for g in goals[:SELECT_OPTIONS_MAX]
                    ],
                },
            }
        )
    metadata = {
        "channel": channel_id,
        "quote_url": quote_url,
        # Kept so that the form, rebuilt when the recipients change, still shows the quote.
        "quote_text": clip(quote_text, 500) if quote_text is not None else None,
    }
    return {
        "type": "modal",
        "callback_id": ids.KUDOS_MODAL,
        "title": plain("Give kudos", MODAL_TITLE_MAX),
        "submit": plain("Send", MODAL_TITLE_MAX),
        "close": plain("Cancel", MODAL_TITLE_MAX),
        "private_metadata": clip(json.dumps(metadata, ensure_ascii=False), PRIVATE_METADATA_MAX),
        "blocks": blocks,
    }


def _footer(values: Sequence[str], quote_url: str | None) -> str:
    parts = []
    if values:
        parts.append(value_tags(values))
    if quote_url:
        parts.append(f"<{quote_url}|for this message>")
    return " · ".join(parts)
