"""Reading Slack's interaction payloads: the workspace, the clicked message, a button's id,
and a form field. Forged or odd payloads read as "nothing" (None), never as an exception."""

from __future__ import annotations

import re
from typing import Any

from bot.services.reactions import Reaction
from handlers import ids

Click = tuple[str, str, int | None, tuple[str, str] | None]
USER_ID = re.compile(r"^[UW][A-Z0-9]+$")


def team_of(body: dict[str, Any]) -> str:
    return str((body.get("team") or {}).get("id") or body["user"].get("team_id"))


def click(body: dict[str, Any]) -> Click:
    """(team, who clicked, the button's value as an id, the clicked message's (channel, ts))."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    value = as_int(action_value(body))
    return team_of(body), body["user"]["id"], value, (channel, ts) if channel and ts else None


def action_value(body: dict[str, Any]) -> Any:
    """The clicked button's `value` (None when the payload has none)."""
    return (body.get("actions") or [{}])[0].get("value")


def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def field(
    view: dict[str, Any], block_id: str, action_id: str = ids.FEEDBACK_INPUT
) -> dict[str, Any]:
    """One input's state in a submitted form ({} when absent)."""
    found = view.get("state", {}).get("values", {}).get(block_id, {}).get(action_id)
    return found if isinstance(found, dict) else {}


def text_of(view: dict[str, Any], block_id: str) -> str:
    """A text input's value, stripped ("" when empty or absent)."""
    return str(field(view, block_id).get("value") or "").strip()


def selected(view: dict[str, Any], block_id: str) -> str | None:
    """A select's or radio group's chosen value (None when nothing is chosen)."""
    option = field(view, block_id).get("selected_option")
    return str(option["value"]) if isinstance(option, dict) and option.get("value") else None


def people_in(state: dict[str, Any]) -> list[str]:
    """The user ids a people picker holds, whichever kind offered them (Slack's users picker,
    its conversation picker limited to people, or a static list of them), in order, once each.
    Anything that is not a user id (a channel someone forged in) is left out."""
    found: list[Any] = []
    for many in ("selected_users", "selected_conversations"):
        found += state.get(many) or []
    for one in ("selected_user", "selected_conversation"):
        found.append(state.get(one))
    options = [*(state.get("selected_options") or []), state.get("selected_option")]
    found += [option.get("value") for option in options if isinstance(option, dict)]
    return list(dict.fromkeys(v for v in found if isinstance(v, str) and USER_ID.match(v)))


def reaction(event: dict[str, Any]) -> Reaction | None:
    """A `reaction_added` / `reaction_removed` event on a message (None for a file, or a
    payload missing who, where or which). `item_user` is absent where no user wrote it."""
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") != "message":
        return None
    giver, channel, ts, name = (
        event.get("user"),
        item.get("channel"),
        item.get("ts"),
        event.get("reaction"),
    )
    if not all(isinstance(v, str) and v for v in (giver, channel, ts, name)):
        return None
    author = event.get("item_user")
    return Reaction(
        giver_id=str(giver),
        author_id=str(author) if isinstance(author, str) and author else None,
        channel_id=str(channel),
        message_ts=str(ts),
        name=str(name),
    )
