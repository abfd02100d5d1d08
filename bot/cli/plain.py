"""Block Kit read back as plain text, for a person at a terminal or in a log.

What the app sends Slack is marked up for Slack to draw: `<@U…>` mentions, `*bold*`, emoji
shortcodes, escaped `&lt;`. A preview printed by a verb reads as the message reads in Slack:
people by name, no markup, every block's words (headers, sections, their fields, contexts)
in order; buttons and images, which only Slack can show, are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

ENTITY = re.compile(r"<([^<>\n]*)>")
USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
SHORTCODE = re.compile(r":[a-z0-9_+-]+: ?")
TITLED = re.compile(r"^:[a-z0-9_+-]+: \*")
STYLES = (
    re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])"),
    re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])"),
    re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])"),
    re.compile(r"`([^`\n]+)`"),
)


def mentioned(blocks: Iterable[Mapping[str, Any]]) -> set[str]:
    """The user ids the blocks mention: whose names a reader needs."""
    return {user_id for text in _texts(blocks) for user_id in USER.findall(text)}


def blocks_text(blocks: Iterable[Mapping[str, Any]], names: Mapping[str, str]) -> str:
    """The blocks as lines of plain text; `names` maps user ids to how people are called.
    A titled section (`:memo: *Answers*`) starts after an empty line, as it stands apart in
    Slack."""
    lines: list[str] = []
    for text in _texts(blocks):
        if lines and TITLED.match(text):
            lines.append("")
        lines.append(mrkdwn_text(text, names))
    return "\n".join(lines)


def mrkdwn_text(text: str, names: Mapping[str, str]) -> str:
    """One mrkdwn text as a person reads it: `@Ana Lima`, `#platform`, a link's label and
    address, a date's fallback, styles and emoji shortcodes dropped, quotes indented."""

    def entity(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            return "@" + (names.get(target[1:]) or label.lstrip("@") or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            name = target[1:].split("^", 1)[0]
            if name in {"here", "channel", "everyone"}:
                return f"@{name}"
            return label or name  # a user group's label is its handle, `@sre`
        return f"{label} ({target})" if label and label != target else target

    plain = ENTITY.sub(entity, text)
    plain = SHORTCODE.sub("", plain)
    for style in STYLES:
        plain = style.sub(r"\1", plain)
    lines = [
        "  " + line.removeprefix(">").lstrip() if line.startswith(">") else line
        for line in plain.split("\n")
    ]
    return "\n".join(lines).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _texts(blocks: Iterable[Mapping[str, Any]]) -> list[str]:
    found: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind in ("header", "section"):
            found += _words(block.get("text"))
            for item in block.get("fields") or []:
                found += _words(item)
        elif kind == "context":
            parts = [t for item in block.get("elements") or [] for t in _words(item)]
            if parts:
                found.append(" ".join(parts))
    return found


def _words(item: Any) -> Sequence[str]:
    if isinstance(item, Mapping) and item.get("type") in ("plain_text", "mrkdwn"):
        text = str(item.get("text") or "")
        return [text] if text.strip() else []
    return []
