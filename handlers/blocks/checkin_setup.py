"""The `/checkin setup` modal: a manager's team check-in, new (prefilled) or being edited."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.services.schedule import format_duration
from bot.services.template_text import render
from bot.services.templates import Change, TemplateDef
from handlers import ids
from handlers.blocks.common import PRIVATE_METADATA_MAX, Block, clip, context, option, plain

DAYS = (
    ("mon", "Mon"),
    ("tue", "Tue"),
    ("wed", "Wed"),
    ("thu", "Thu"),
    ("fri", "Fri"),
    ("sat", "Sat"),
    ("sun", "Sun"),
)
DM_OPTION = "dm_owner"
QUESTION_HELP = (
    "One question per line. `*` at the end: required. Start a line with `[pulse]` (1-5), "
    "`[yes/no]`, `[choice: A, B, C]`, `[upward]` (to the manager only, may be anonymous) or "
    "`[goals]` (goal updates: each member's key results, their value and confidence). "
    "Add `[blocker]` to a text or yes/no question to flag its answers in the weekly digest (a "
    "yes/no one also asks what is blocking). With a team channel, `[manager only]` keeps a "
    "question out of it; a pulse and an upward note never go there."
)


def setup_modal(
    definition: TemplateDef, *, template_id: int | None, editing_for: str | None = None
) -> dict[str, Any]:
    """`template_id` None: a new check-in (its name can be chosen); else the name is fixed,
    since a check-in is identified by (owner, name)."""
    blocks: list[Block] = []
    if template_id is None:
        blocks.append(_text_input(ids.SETUP_NAME_BLOCK, "Name", definition.name, max_length=80))
    else:
        who = f" (owned by <@{definition.owner_id}>)" if editing_for else ""
        blocks.append(context(f"Editing *{definition.name}*{who}"))
    members: dict[str, Any] = {
        "type": "multi_users_select",
        "action_id": ids.SETUP_INPUT,
        "placeholder": plain("Who answers it?"),
    }
    if definition.member_ids:
        members["initial_users"] = list(definition.member_ids)
    blocks.append(_input(ids.SETUP_MEMBERS_BLOCK, "Members", members))
    day_options = [option(label, value) for value, label in DAYS]
    chosen = [o for o in day_options if o["value"] in definition.weekdays]
    days: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": ids.SETUP_INPUT,
        "options": day_options,
    }
    if chosen:
        days["initial_options"] = chosen
    blocks.append(_input(ids.SETUP_DAYS_BLOCK, "Days", days))
    blocks.append(
        _input(
            ids.SETUP_TIME_BLOCK,
            "Time (in each member's own time zone)",
            {
                "type": "timepicker",
                "action_id": ids.SETUP_INPUT,
                "initial_time": definition.local_time,
            },
        )
    )
    blocks.append(
        _text_input(
            ids.SETUP_QUESTIONS_BLOCK,
            "Questions",
            render(definition.questions),
            multiline=True,
            max_length=3000,
            hint=QUESTION_HELP,
        )
    )
    blocks.append(
        _text_input(
            ids.SETUP_REMIND_BLOCK,
            "Remind after (e.g. 4h; empty: no reminder)",
            format_duration(definition.remind_after) if definition.remind_after else "",
            optional=True,
            max_length=10,
        )
    )
    blocks.append(
        _text_input(
            ids.SETUP_CLOSE_BLOCK,
            "Close after (e.g. 3d)",
            format_duration(definition.close_after),
            max_length=10,
        )
    )
    dm_option = option("Send each answer to the owner by DM", DM_OPTION)
    dm: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": ids.SETUP_INPUT,
        "options": [dm_option],
    }
    if definition.post_to_manager:
        dm["initial_options"] = [dm_option]
    blocks.append(_input(ids.SETUP_DM_BLOCK, "Answers", dm, optional=True))
    channel: dict[str, Any] = {
        "type": "conversations_select",
        "action_id": ids.SETUP_INPUT,
        "placeholder": plain("Also post answers in a channel thread"),
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if definition.channel_id:
        channel["initial_conversation"] = definition.channel_id
    blocks.append(_input(ids.SETUP_CHANNEL_BLOCK, "Team channel", channel, optional=True))
    metadata = {
        "template_id": template_id,
        "owner_id": definition.owner_id,
        "name": definition.name,
    }
    return {
        "type": "modal",
        "callback_id": ids.SETUP_MODAL,
        "title": plain("Team check-in", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "private_metadata": clip(json.dumps(metadata), PRIVATE_METADATA_MAX),
        "blocks": blocks,
    }


def read_setup(state: Mapping[str, Any]) -> dict[str, Any]:
    """`view.state.values` -> the raw fields, by name."""

    def element(block: str) -> dict[str, Any]:
        return (state.get(block) or {}).get(ids.SETUP_INPUT) or {}

    return {
        "name": (element(ids.SETUP_NAME_BLOCK).get("value") or "").strip() or None,
        "members": element(ids.SETUP_MEMBERS_BLOCK).get("selected_users") or [],
        "days": [o["value"] for o in element(ids.SETUP_DAYS_BLOCK).get("selected_options") or []],
        "time": element(ids.SETUP_TIME_BLOCK).get("selected_time") or "",
        "questions": element(ids.SETUP_QUESTIONS_BLOCK).get("value") or "",
        "remind_after": (element(ids.SETUP_REMIND_BLOCK).get("value") or "").strip() or None,
        "close_after": (element(ids.SETUP_CLOSE_BLOCK).get("value") or "").strip(),
        "dm_owner": any(
            o.get("value") == DM_OPTION
            for o in element(ids.SETUP_DM_BLOCK).get("selected_options") or []
        ),
        "channel": element(ids.SETUP_CHANNEL_BLOCK).get("selected_conversation"),
    }


def block_for(path: str) -> str:
    """A validation error's field path -> the modal block to show it on."""
    head = path.split(".", 1)[0].split("[", 1)[0]
    return {
        "name": ids.SETUP_NAME_BLOCK,
        "members": ids.SETUP_MEMBERS_BLOCK,
        "schedule": ids.SETUP_DAYS_BLOCK if "days" in path else ids.SETUP_TIME_BLOCK,
        "questions": ids.SETUP_QUESTIONS_BLOCK,
        "remind_after": ids.SETUP_REMIND_BLOCK,
        "close_after": ids.SETUP_CLOSE_BLOCK,
        "post_to": ids.SETUP_CHANNEL_BLOCK,
    }.get(head, ids.SETUP_MEMBERS_BLOCK)


def saved_text(change: Change, definition: TemplateDef) -> str:
    """The editor's confirmation DM: what was saved, since the modal just closes."""
    days = ", ".join(d.title() for d in definition.weekdays)
    verb = {"created": "Created", "updated": "Updated"}.get(change.action, "Saved")
    return (
        f":white_check_mark: {verb} *{definition.name}*: {len(definition.member_ids)} member(s), "
        f"{days} at {definition.local_time} in each member's time zone, closes after "
        f"{format_duration(definition.close_after)}. New members start with the next "
        "scheduled time."
    )


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _text_input(
    block_id: str,
    label: str,
    initial: str,
    *,
    multiline: bool = False,
    max_length: int = 3000,
    optional: bool = False,
    hint: str | None = None,
) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids.SETUP_INPUT,
        "multiline": multiline,
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = initial[:max_length]
    return _input(block_id, label, element, optional=optional, hint=hint)
