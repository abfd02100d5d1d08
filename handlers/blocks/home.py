"""The App Home tab."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.blocks.common import context, header, person, section
from handlers.blocks.privacy import download_section


def home_view(
    *,
    given: int,
    received: int,
    remaining: int,
    limit: int,
    month: str,
    top: Sequence[tuple[str, int]],
    checkin: str | None = None,
    extra: Sequence[dict[str, Any]] = (),
    goals: Sequence[dict[str, Any]] = (),
    feedback: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """`checkin`: a ready line about the person's waiting or next check-in, if any.
    `extra`: sections of other features (the digest's team view and your history);
    `goals`: "Your goals" and "Team goals" (handlers.blocks.goals.home_blocks), after the
    check-ins; `feedback`: the Feedback section's blocks (handlers.blocks.feedback.home_section).
    "Download my data" comes last, for everyone."""
    board = "\n".join(f"{i}. {person(uid)} — {n}" for i, (uid, n) in enumerate(top, 1))
    return {
        "type": "home",
        "blocks": [
            header("pulsebot"),
            section(f"*Check-ins*\n{checkin or '_You are not in any check-in yet._'}"),
            *goals,
            section(
                f"*Kudos in {month}*\nReceived: *{received}* · Given: *{given}* · "
                f"Left today: *{remaining}* of {limit}"
            ),
            section(f"*Top recipients*\n{board or '_No kudos yet this month._'}"),
            *extra,
            context(
                "Give kudos with `/kudos @name thanks for… #value`, or from a message's ⋯ menu."
            ),
            *feedback,
            *download_section(),
        ],
    }
