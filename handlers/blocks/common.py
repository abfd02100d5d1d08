"""Small Block Kit pieces every builder shares, clipped to Slack's limits."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from bot.services.privacy import FORMER_COLLEAGUE, FORMER_ID
from bot.services.slack_limits import (
    BUTTON_TEXT_MAX,
    HEADER_MAX,
    MODAL_TITLE_MAX,
    PRIVATE_METADATA_MAX,
)
from bot.services.slack_limits import TEXT_MAX as SECTION_TEXT_MAX

__all__ = ["HEADER_MAX", "MODAL_TITLE_MAX", "PRIVATE_METADATA_MAX", "SECTION_TEXT_MAX"]

Block = dict[str, Any]


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str, limit: int = SECTION_TEXT_MAX) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, SECTION_TEXT_MAX)}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_MAX)}


def person(user_id: str) -> str:
    """A mention; someone whose data was erased is "a former colleague" (no Slack id left)."""
    return FORMER_COLLEAGUE if user_id == FORMER_ID else f"<@{user_id}>"


def mentions(user_ids: Iterable[str]) -> str:
    """`<@A>`, `<@A> and <@B>`, `<@A>, <@B> and <@C>`."""
    names = [person(uid) for uid in user_ids]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def quote(text: str) -> str:
    return "\n".join(f">{line}" if line else ">" for line in text.splitlines() or [""])


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, BUTTON_TEXT_MAX), "value": value}


# Slack's one picker that can leave people out: direct messages, without bots or other
# organisations. Its value is the other person's user id.
PEOPLE_FILTER = {
    "include": ["im"],
    "exclude_bot_users": True,
    "exclude_external_shared_channels": True,
}


def people_picker(
    action_id: str,
    *,
    people: Sequence[tuple[str, str]] | None,
    placeholder: str,
    initial: Sequence[str] = (),
    multi: bool = False,
    max_selected: int | None = None,
) -> dict[str, Any]:
    """A picker that offers nobody the rules always refuse, as far as Slack allows.

    `people` ((user id, name), a small workspace's everyone but the chooser, bots and
    deactivated people): a static list of exactly them. None: Slack's conversation picker
    filtered to people who are not bots; the chooser and deactivated people stay to the rules.
    """
    element: dict[str, Any] = {"action_id": action_id, "placeholder": plain(placeholder, 150)}
    if multi and max_selected is not None:
        element["max_selected_items"] = max_selected
    if people:
        options = {user_id: option(name, user_id) for user_id, name in people}
        chosen = [options[user_id] for user_id in initial if user_id in options]
        element["type"] = "multi_static_select" if multi else "static_select"
        element["options"] = list(options.values())
        if chosen and multi:
            element["initial_options"] = chosen
        elif chosen:
            element["initial_option"] = chosen[0]
        return element
    element["type"] = "multi_conversations_select" if multi else "conversations_select"
    element["filter"] = dict(PEOPLE_FILTER)
    if initial and multi:
        element["initial_conversations"] = list(initial)
    elif initial:
        element["initial_conversation"] = initial[0]
    return element


def notice_modal(title: str, message: str) -> dict[str, Any]:
    """A modal that only says something: a denial, a closed check-in, a form that failed."""
    return {
        "type": "modal",
        "title": plain(title, MODAL_TITLE_MAX),
        "close": plain("Close", MODAL_TITLE_MAX),
        "blocks": [section(message)],
    }


def write_metadata(values: dict[str, Any]) -> str:
    """A view's private_metadata: JSON, within Slack's limit."""
    return clip(json.dumps(values), PRIVATE_METADATA_MAX)


def read_metadata(raw: str | None) -> dict[str, Any]:
    """A view's private_metadata back; anything forged or odd reads as {}."""
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
