"""Block Kit for data rights: App Home's download button, and what replaces a channel post of
ours that quoted someone whose data was erased. Pure: data in, Block Kit out."""

from __future__ import annotations

from handlers import ids
from handlers.blocks.common import Block, plain, section

TOMBSTONE = (
    ":wastebasket: _This message was removed: it quoted a former colleague whose data was "
    "erased from pulsebot._"
)


def download_section() -> list[Block]:
    """"Download my data": everything pulsebot holds about the person, to their DM."""
    return [
        section("*Your data*\nEverything pulsebot holds about you, as a file only you receive."),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": plain("Download my data", 75),
                    "action_id": ids.PRIVACY_EXPORT_ACTION,
                    "value": "json",
                }
            ],
        },
    ]


def export_comment(generated_on: str) -> str:
    return (
        f"Here is everything pulsebot holds about you, as of {generated_on}: one JSON file. "
        "Only you can see this conversation. What it leaves out, and why, is listed inside "
        '("not_included").'
    )


def tombstone() -> tuple[str, list[Block]]:
    return "This message was removed.", [section(TOMBSTONE)]
