"""A cycle's end: the closing DM (each objective with Close and Carry over) and the Close form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.services.goal_access import GoalState
from bot.services.goal_closing import ClosingItem
from bot.services.slack_limits import BUTTON_TEXT_MAX
from bot.services.text import escape
from handlers import ids
from handlers.blocks.common import (
    MODAL_TITLE_MAX,
    Block,
    context,
    header,
    notice_modal,
    option,
    plain,
    section,
    write_metadata,
)

# Two blocks an objective, and three around them, within a message's 50.
MAX_SHOWN = 20
OUTCOMES = (("achieved", "Achieved"), ("missed", "Missed"), ("dropped", "Dropped"))


def closing_message(
    cycle: str, next_cycle: str, items: Sequence[ClosingItem]
) -> tuple[str, list[Block]]:
    """The owner's one message at a cycle's end; rebuilt as it is after each close or carry
    over (Block Kit buttons cannot be disabled, so the message is replaced)."""
    waiting = [i for i in items if i.state != GoalState.CLOSED]
    count = len(items)
    text = f"Time to close {cycle}: {count} objective{'s' if count != 1 else ''} of yours"
    blocks: list[Block] = [
        header(f"Time to close {cycle}"),
        section(
            "Close each objective with how it ended and a final score (0.0 to 1.0), or carry "
            f"it over into *{next_cycle}* with its key results, each starting where it stands "
            "now."
            if waiting
            else f"All done: every objective of yours in {cycle} is closed or carried over."
        ),
    ]
    for item in items[:MAX_SHOWN]:
        blocks += _item(item, next_cycle)
    if len(items) > MAX_SHOWN:
        blocks.append(
            context(
                f"…and {len(items) - MAX_SHOWN} more. Close them with `/goals`, or an admin "
                "with `pulsebot goals list`."
            )
        )
    return text, blocks


def _item(item: ClosingItem, next_cycle: str) -> list[Block]:
    """The objective's section (its block id names it: what a refresh lists again) and, while
    it is open, its two buttons."""
    title = f"*{escape(item.title)}*"
    block_id = f"{ids.GOAL_CLOSING_BLOCK_PREFIX}{item.id}"
    if item.state == GoalState.CLOSED:
        if item.carried_to:
            said = f":arrow_right: Carried over to {item.carried_to}"
        else:
            said = f":white_check_mark: Closed: {item.outcome or 'closed'}"
            if item.score is not None:
                said += f", score {item.score:g}"
        return [{**section(f"{title}\n{said}"), "block_id": block_id}]
    line = item.progress + (f" · {item.status}" if item.status else "")
    return [
        {**section(f"{title}\n{line}"), "block_id": block_id},
        {
            "type": "actions",
            "block_id": f"{block_id}_buttons",
            "elements": [
                {
                    "type": "button",
                    "action_id": ids.GOAL_CLOSE_ACTION,
                    "text": plain("Close", BUTTON_TEXT_MAX),
                    "value": str(item.id),
                },
                {
                    "type": "button",
                    "action_id": ids.GOAL_CARRY_OVER_ACTION,
                    "text": plain(f"Carry over to {next_cycle}", BUTTON_TEXT_MAX),
                    "value": str(item.id),
                },
            ],
        },
    ]


def listed_ids(message: dict[str, Any]) -> list[int]:
    """The objectives a closing message lists, in order, from their sections' block ids."""
    found: list[int] = []
    for block in message.get("blocks") or []:
        block_id = str(block.get("block_id") or "")
        if block_id.startswith(ids.GOAL_CLOSING_BLOCK_PREFIX):
            tail = block_id.removeprefix(ids.GOAL_CLOSING_BLOCK_PREFIX)
            if tail.isdigit():
                found.append(int(tail))
    return found


def close_modal(
    title: str, cycle: str, objective_id: int, where: tuple[str, str] | None, listed: list[int]
) -> dict[str, Any]:
    """The Close form: how it ended, and the final score. `where` is the closing DM, replaced
    once the form is submitted; `listed`, the objectives that DM shows."""
    return {
        "type": "modal",
        "callback_id": ids.GOAL_CLOSE_MODAL,
        "title": plain("Close objective", MODAL_TITLE_MAX),
        "submit": plain("Close it", MODAL_TITLE_MAX),
        "close": plain("Cancel", MODAL_TITLE_MAX),
        "private_metadata": write_metadata(
            {
                "objective_id": objective_id,
                "where": list(where) if where else None,
                "listed": listed,
            }
        ),
        "blocks": [
            section(f"*{escape(title)}* ({cycle})"),
            {
                "type": "input",
                "block_id": ids.GOAL_CLOSE_OUTCOME_BLOCK,
                "label": plain("How did it end?"),
                "element": {
                    "type": "radio_buttons",
                    "action_id": ids.GOAL_CLOSE_INPUT,
                    "options": [option(label, value) for value, label in OUTCOMES],
                },
            },
            {
                "type": "input",
                "block_id": ids.GOAL_CLOSE_SCORE_BLOCK,
                "label": plain("Final score"),
                "hint": plain(
                    "From 0.0 (nothing of it) to 1.0 (all of it); 0.7 is a good stretch."
                ),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.GOAL_CLOSE_INPUT,
                    "placeholder": plain("e.g. 0.7"),
                    "max_length": 10,
                },
            },
        ],
    }


def field_block(field: str) -> str:
    return {"score": ids.GOAL_CLOSE_SCORE_BLOCK}.get(field, ids.GOAL_CLOSE_OUTCOME_BLOCK)


def closed_modal(title: str, outcome: str, score: float) -> dict[str, Any]:
    """The form, once submitted, says what was recorded."""
    return notice_modal("Close objective", f"Closed *{escape(title)}*: {outcome}, score {score:g}.")
