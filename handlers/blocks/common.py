"""Small Block Kit pieces every builder shares, clipped to Slack's limits."""

from __future__ import annotations

import json
from collections.abc import Iterable
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
