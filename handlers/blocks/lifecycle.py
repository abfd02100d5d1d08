"""What a departure tells: the leaver's manager, of the goals that wait for a new owner."""

from __future__ import annotations

from bot.services.lifecycle import GoalsLeft
from bot.services.text import escape
from handlers.blocks.common import Block, context, section

MAX_LINES = 20  # within a section's 3,000 characters


def goals_left_message(leaver_id: str, left: GoalsLeft) -> tuple[str, list[Block]]:
    lines = [f"• *{escape(title)}* ({cycle})" for _, cycle, title in left.objectives] + [
        f"• key result *{escape(title)}* of _{escape(objective)}_ ({cycle})"
        for title, objective, cycle in left.key_results
    ]
    shown = lines[:MAX_LINES]
    if len(lines) > MAX_LINES:
        shown.append(f"…and {len(lines) - MAX_LINES} more.")
    count = len(lines)
    headline = (
        f"<@{leaver_id}> has left the workspace. {count} of the goals they owned "
        f"{'is' if count == 1 else 'are'} still open, with nobody to update "
        f"{'it' if count == 1 else 'them'}:"
    )
    text = f"<@{leaver_id}> has left: {count} open goal{'s' if count != 1 else ''} need a new owner"
    return text, [
        section(headline + "\n" + "\n".join(shown)),
        context("Give each a new owner, or close it. Their history stays as it is."),
    ]
