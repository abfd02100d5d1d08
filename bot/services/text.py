"""Slack message text: parsing escaped entities and neutralising anything that would ping."""

from __future__ import annotations

import re
from dataclasses import dataclass

ENTITY = re.compile(r"<([^<>]*)>")
USER_MENTION = re.compile(r"^@([UW][A-Z0-9]+)(?:\|[^>]*)?$")
CHANNEL_MENTION = re.compile(r"^#(C[A-Z0-9]+)(?:\|([^>]*))?$")
HASHTAG = re.compile(r"(?<![\w&/])#([A-Za-z][\w-]{0,63})")
ZWSP = "\u200b"
BROADCAST_WORD = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Tokens:
    """A command's text split into what it names and what it says."""

    user_ids: list[str]
    tags: list[str]
    text: str


def escape(raw: str) -> str:
    """Slack's escaping for text typed into a modal, so `<!here>` typed there stays text."""
    return raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """What a person sees: Slack's three escapes undone (for counting characters)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def neutralise(text: str) -> str:
    """Text safe to repost: broadcasts and user-group mentions lose their ping, links stay."""

    def entity(match: re.Match[str]) -> str:
        inner = match.group(1)
        if not inner.startswith("!"):
            return match.group(0)
        body, _, label = inner[1:].partition("|")
        name = body.split("^", 1)[0]
        if name == "subteam":
            shown = label.lstrip("@") or "group"
            return f"@{ZWSP}{shown}"
        if name in {"channel", "here", "everyone"}:
            return f"@{ZWSP}{name}"
        if name == "date" and label:
            return label
        return label or name

    return BROADCAST_WORD.sub(lambda m: f"@{ZWSP}{m.group(1)}", ENTITY.sub(entity, text))


def as_typed(text: str) -> str:
    """A command's escaped text back as the person typed it, to pre-fill a form: mentions by
    their handle (`@chloe`), channels by name, links as written, Slack's escapes undone. The
    form's text is escaped again on its way back, so nothing here can ping."""

    def entity(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target[:1] in ("@", "#"):
            return f"{target[0]}{label.lstrip('@#')}" if label else match.group(0)
        if target.startswith("!"):
            name = target[1:].split("^", 1)[0]
            if name in {"channel", "here", "everyone"}:
                return f"@{name}"
            return label or name
        return label if label and label in target else (f"{label} ({target})" if label else target)

    return unescape(ENTITY.sub(entity, text))


def tokenize(text: str, known_tags: set[str]) -> Tokens:
    """Pull user mentions and known `#tags` out of a command's escaped text.

    A tag may arrive as `#teamwork` or, where a channel of that name exists, as
    `<#C…|teamwork>`; both count. Unknown tags and other entities stay in the text.
    """
    user_ids: list[str] = []
    tags: list[str] = []
    pieces: list[str] = []
    position = 0
    for match in ENTITY.finditer(text):
        pieces.append(_take_hashtags(text[position : match.start()], known_tags, tags))
        inner = match.group(1)
        if mention := USER_MENTION.match(inner):
            _append_once(user_ids, mention.group(1))
            pieces.append(" ")
        elif (channel := CHANNEL_MENTION.match(inner)) and (channel.group(2) or "").lower() in (
            known_tags
        ):
            _append_once(tags, (channel.group(2) or "").lower())
            pieces.append(" ")
        else:
            pieces.append(match.group(0))
        position = match.end()
    pieces.append(_take_hashtags(text[position:], known_tags, tags))
    return Tokens(user_ids=user_ids, tags=tags, text=squeeze("".join(pieces)))


def squeeze(text: str) -> str:
    """Collapse runs of spaces left where entities were, keeping the writer's line breaks."""
    lines = [" ".join(line.split()) for line in text.strip().splitlines()]
    return "\n".join(lines).strip()


def _take_hashtags(segment: str, known_tags: set[str], tags: list[str]) -> str:
    def tag(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        if name in known_tags:
            _append_once(tags, name)
            return " "
        return match.group(0)

    return HASHTAG.sub(tag, segment)


def _append_once(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)
