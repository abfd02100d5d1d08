"""Block Kit and mrkdwn -> HTML, for the demo page.

Everything the app writes is untrusted here: a kudos message or a check-in answer may hold
`<script>`, a `<javascript:...|link>` or a quote that tries to leave an attribute. So text is
unescaped from Slack's entities and escaped again for HTML, links keep only http(s) and mailto,
and the markup this module adds goes in through placeholders that the text cannot forge.
Interactive elements carry only their block and action ids; the server finds the element in
the stored message or view when one is clicked, as Slack does.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

JSONDict = dict[str, Any]

# Every shortcode the app writes (tests/test_demo_render.py checks the code for new ones), and
# a few common ones people type; unknown ones stay as typed.
EMOJI = {
    "kudos": "🏅",  # a custom emoji in a real workspace; the kudos reaction's default name
    "alarm_clock": "⏰",
    "confused": "😕",
    "hourglass_flowing_sand": "⏳",
    "lock": "🔒",
    "memo": "📝",
    "neutral_face": "😐",
    "slightly_frowning_face": "🙁",
    "slightly_smiling_face": "🙂",
    "speech_balloon": "💬",
    "star-struck": "🤩",
    "tada": "🎉",
    "wave": "👋",
    "white_check_mark": "✅",
    "warning": "⚠️",
    "bar_chart": "📊",
    "chart_with_upwards_trend": "📈",
    "chart_with_downwards_trend": "📉",
    "dart": "🎯",
    "busts_in_silhouette": "👥",
    "bust_in_silhouette": "👤",
    "raised_hands": "🙌",
    "clap": "👏",
    "heart": "❤️",
    "thumbsup": "👍",
    "+1": "👍",
    "pray": "🙏",
    "rocket": "🚀",
    "sparkles": "✨",
    "calendar": "📆",
    "date": "📅",
    "envelope": "✉️",
    "incoming_envelope": "📨",
    "mailbox_with_mail": "📬",
    "bulb": "💡",
    "construction": "🚧",
    "no_entry": "⛔",
    "red_circle": "🔴",
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
    "eyes": "👀",
    "handshake": "🤝",
    "seedling": "🌱",
    "trophy": "🏆",
    "medal": "🏅",
    "question": "❓",
    "speaking_head_in_silhouette": "🗣️",
    "thought_balloon": "💭",
    "arrow_right": "➡️",
    "arrow_up": "⬆️",
    "arrow_down": "⬇️",
    "x": "❌",
    "zzz": "💤",
    "palm_tree": "🌴",
    "house": "🏠",
    "smile": "😄",
    "slightly_smiling": "🙂",
    "outbox_tray": "📤",
    "wastebasket": "🗑️",
    "inbox_tray": "📥",
    "raising_hand": "🙋",
    "loudspeaker": "📢",
    "mega": "📣",
    "gift": "🎁",
    "checkered_flag": "🏁",
    "bell": "🔔",
    "pushpin": "📌",
    "link": "🔗",
    "fire": "🔥",
    "muscle": "💪",
    "100": "💯",
    "star": "⭐",
    "partying_face": "🥳",
    "thinking_face": "🤔",
    "hugging_face": "🤗",
    "rotating_light": "🚨",
    "hammer_and_wrench": "🛠️",
    "heavy_check_mark": "✔️",
    "point_right": "👉",
}
SAFE_SCHEMES = ("http://", "https://", "mailto:")
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_CONTROL = re.compile(r"<([^<>\n]*)>")
_EMOJI = re.compile(r":([a-z0-9_+-]+):")
_STYLES = (
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])"), "s"),
)


@dataclass
class Context:
    """What rendering needs to know about the workspace and the reader."""

    user_names: Mapping[str, str] = field(default_factory=dict)
    channel_names: Mapping[str, str] = field(default_factory=dict)
    bots: frozenset[str] = frozenset()  # user ids a picker's `exclude_bot_users` leaves out
    tz: str = "UTC"
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    file_url: Callable[[str], str] = lambda file_id: f"/demo/files/{file_id}"


def esc(text: Any) -> str:
    """Text -> HTML text, safe in element content and in double- or single-quoted attributes."""
    return html.escape(str(text), quote=True)


def emojize(escaped: str) -> str:
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), escaped)


def plain_text(obj: Any) -> str:
    """A plain_text (or mrkdwn, shown plainly) text object -> HTML."""
    if isinstance(obj, str):
        return esc(obj)
    if not isinstance(obj, dict):
        return ""
    text = esc(obj.get("text", ""))
    return emojize(text) if obj.get("emoji", True) else text


def text_object(obj: Any, ctx: Context) -> str:
    if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text", "")), ctx)
    return plain_text(obj)


# ----- mrkdwn ----------------------------------------------------------------------------------


def mrkdwn(text: str, ctx: Context) -> str:
    """Slack mrkdwn -> HTML: *bold*, _italic_, ~strike~, `code`, ```pre```, > quotes, links,
    mentions, dates and emoji shortcodes."""
    text = text.replace("\ue000", "").replace("\ue001", "")
    pieces: list[str] = []

    def hold(markup: str) -> str:
        pieces.append(markup)
        return f"\ue000{len(pieces) - 1}\ue001"

    text = re.sub(
        r"```(.*?)```",
        lambda m: hold(f"<pre>{esc(_unslack(m.group(1).strip(chr(10))))}</pre>"),
        text,
        flags=re.S,
    )
    text = re.sub(r"`([^`\n]+)`", lambda m: hold(f"<code>{esc(_unslack(m.group(1)))}</code>"), text)
    text = _CONTROL.sub(lambda m: hold(_control(m.group(1), ctx)), text)
    out = emojize(esc(_unslack(text)))
    for pattern, tag in _STYLES:
        out = pattern.sub(_wrapped_in(tag), out)
    out = _quotes(out)
    while _PLACEHOLDER.search(out):
        out = _PLACEHOLDER.sub(lambda m: pieces[int(m.group(1))], out)
    return out


def _unslack(text: str) -> str:
    """Slack escapes only &, < and > in message text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _quotes(escaped: str) -> str:
    """Lines starting with `>` (escaped by now) become one blockquote per run; then <br>s."""
    out: list[str] = []
    quoted: list[str] = []
    for line in escaped.split("\n"):
        if line.startswith("&gt;"):
            quoted.append(line[4:].removeprefix(" "))
            continue
        if quoted:
            out.append("<blockquote>" + "<br>".join(quoted) + "</blockquote>")
            quoted = []
        out.append(line + "<br>")
    if quoted:
        out.append("<blockquote>" + "<br>".join(quoted) + "</blockquote>")
    joined = "".join(out)
    return joined.removesuffix("<br>")


def _control(inner: str, ctx: Context) -> str:
    """One `<...>` sequence: a mention, a channel, a broadcast, a date or a link."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        user_id = target[1:]
        name = ctx.user_names.get(user_id) or _unslack(label) or user_id
        return f'<span class="mention" data-user="{esc(user_id)}">@{esc(name)}</span>'
    if target.startswith("#"):
        channel_id = target[1:]
        name = ctx.channel_names.get(channel_id) or _unslack(label) or channel_id
        return f'<span class="mention channel">#{esc(name)}</span>'
    if target.startswith("!date^"):
        return esc(_date(target, _unslack(label), ctx))
    if target.startswith("!subteam^"):
        return f'<span class="mention">{esc(_unslack(label) or "@group")}</span>'
    if target.startswith("!"):
        return f'<span class="mention broadcast">@{esc(target[1:])}</span>'
    url = _unslack(target)
    if not label and not url.lower().startswith(SAFE_SCHEMES):
        return esc(f"<{_unslack(inner)}>")  # not a link at all: show what was written
    shown = _unslack(label) or url
    if url.lower().startswith(SAFE_SCHEMES):
        return (
            f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{esc(shown)}</a>'
        )
    return esc(shown)


def _date(target: str, fallback: str, ctx: Context) -> str:
    """`<!date^1700000000^{date_short_pretty} at {time}|fallback>` in the reader's zone."""
    parts = target.split("^")
    try:
        stamp = int(parts[1])
        pattern = parts[2]
        zone = ZoneInfo(ctx.tz)
    except (IndexError, ValueError, KeyError):
        return fallback
    local = datetime.fromtimestamp(stamp, UTC).astimezone(zone)
    today = ctx.now().astimezone(zone).date()
    pretty = {
        today: "today",
        today - timedelta(days=1): "yesterday",
        today + timedelta(days=1): "tomorrow",
    }.get(local.date())
    short = f"{local:%b} {local.day}, {local.year}"
    long = f"{local:%A}, {local:%B} {_ordinal(local.day)}, {local.year}"
    plain = f"{local:%B} {_ordinal(local.day)}, {local.year}"
    tokens = {
        "date_num": local.strftime("%Y-%m-%d"),
        "date": plain,
        "date_short": short,
        "date_long": long,
        "date_pretty": pretty or plain,
        "date_short_pretty": pretty or short,
        "date_long_pretty": pretty or long,
        "time": local.strftime("%-I:%M %p"),
        "time_secs": local.strftime("%-I:%M:%S %p"),
    }
    return re.sub(r"\{(\w+)\}", lambda m: tokens.get(m.group(1), m.group(0)), pattern)


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


# ----- blocks ----------------------------------------------------------------------------------


def blocks(items: Any, ctx: Context) -> str:
    """A message's, a Home tab's or a modal's non-input blocks -> HTML."""
    if not isinstance(items, list):
        return ""
    return "".join(block(b, ctx) for b in items if isinstance(b, dict))


def block(item: JSONDict, ctx: Context) -> str:
    kind = item.get("type")
    block_id = esc(item.get("block_id", ""))
    if kind == "section":
        return _section(item, ctx, block_id)
    if kind == "header":
        return f'<h3 class="bk-header">{plain_text(item.get("text"))}</h3>'
    if kind == "divider":
        return '<hr class="bk-divider">'
    if kind == "context":
        parts = []
        for part in item.get("elements") or []:
            if isinstance(part, dict) and part.get("type") == "image":
                parts.append(_image_tag(part, ctx, "bk-context-img"))
            else:
                parts.append(f"<span>{text_object(part, ctx)}</span>")
        return f'<div class="bk-context">{"".join(parts)}</div>'
    if kind == "actions":
        elements = "".join(
            element(e, ctx, block_id) for e in item.get("elements") or [] if isinstance(e, dict)
        )
        return f'<div class="bk-actions">{elements}</div>'
    if kind == "image":
        title = item.get("title")
        caption = f"<figcaption>{plain_text(title)}</figcaption>" if title else ""
        return f'<figure class="bk-image">{caption}{_image_tag(item, ctx, "")}</figure>'
    if kind == "rich_text":
        return f'<div class="bk-rich">{_rich_text(item.get("elements") or [], ctx)}</div>'
    if kind == "input":
        label = plain_text(item.get("label"))
        return f'<div class="bk-context">{label}</div>'
    return f'<div class="bk-unsupported">[{esc(kind)} block]</div>'


def _section(item: JSONDict, ctx: Context, block_id: str) -> str:
    body = ""
    if item.get("text"):
        body += f'<div class="bk-text">{text_object(item["text"], ctx)}</div>'
    fields = item.get("fields")
    if isinstance(fields, list) and fields:
        cells = "".join(f'<div class="bk-field">{text_object(f, ctx)}</div>' for f in fields)
        body += f'<div class="bk-fields">{cells}</div>'
    accessory = item.get("accessory")
    side = ""
    if isinstance(accessory, dict):
        if accessory.get("type") == "image":
            side = _image_tag(accessory, ctx, "bk-accessory-img")
        else:
            side = element(accessory, ctx, block_id)
        side = f'<div class="bk-accessory">{side}</div>'
    return f'<div class="bk-section"><div class="bk-main">{body}</div>{side}</div>'


def _image_tag(item: JSONDict, ctx: Context, css: str) -> str:
    """Uploaded files (`slack_file`) are served by the page; other URLs are never fetched
    (the demo is offline), except images already inside the page (`data:`)."""
    alt = esc(item.get("alt_text", ""))
    slack_file = item.get("slack_file")
    src = None
    if isinstance(slack_file, dict) and slack_file.get("id"):
        src = ctx.file_url(str(slack_file["id"]))
    else:
        url = str(item.get("image_url") or "")
        if url.startswith("/demo/") or url.startswith("data:image/"):
            src = url
    if src is None:
        return f'<span class="bk-img-missing {css}" title="{alt}">🖼 {alt}</span>'
    return f'<img class="{css}" src="{esc(src)}" alt="{alt}" loading="lazy">'


def attachments(items: Any, ctx: Context) -> str:
    """Legacy attachments: a colour bar beside their blocks, or their title, text and fields."""
    if not isinstance(items, list):
        return ""
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        color = str(item.get("color") or "")
        color = {"good": "2eb67d", "warning": "ecb22e", "danger": "e01e5a"}.get(color, color)
        # Only a hex colour reaches the style attribute.
        color = "#" + color.lstrip("#") if re.fullmatch(r"#?[0-9a-fA-F]{3,8}", color) else "#ddd"
        if item.get("blocks"):
            body = blocks(item["blocks"], ctx)
        else:
            title = f"<b>{esc(item.get('title', ''))}</b><br>" if item.get("title") else ""
            fields = "".join(
                f'<div class="bk-field"><b>{esc(f.get("title", ""))}</b><br>'
                f"{mrkdwn(str(f.get('value', '')), ctx)}</div>"
                for f in item.get("fields") or []
                if isinstance(f, dict)
            )
            body = title + mrkdwn(str(item.get("text") or item.get("fallback") or ""), ctx)
            if fields:
                body += f'<div class="bk-fields">{fields}</div>'
        out.append(f'<div class="bk-attachment" style="border-color:{esc(color)}">{body}</div>')
    return "".join(out)


def files(items: Any, ctx: Context) -> str:
    """A message's uploaded files (files_upload_v2): images inline, others as a name."""
    if not isinstance(items, list):
        return ""
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        title = esc(item.get("title") or item.get("name") or "file")
        if str(item.get("mimetype", "")).startswith("image/"):
            out.append(
                f'<figure class="bk-image"><img src="{esc(ctx.file_url(str(item.get("id"))))}"'
                f' alt="{title}" loading="lazy"><figcaption>{title}</figcaption></figure>'
            )
        else:
            out.append(f'<div class="bk-file">📎 {title}</div>')
    return "".join(out)


def _rich_text(elements: list[Any], ctx: Context) -> str:
    out = []
    for part in elements:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        inner = _rich_text(part.get("elements") or [], ctx) if "elements" in part else ""
        if kind == "rich_text_section":
            out.append(f"<div>{inner}</div>")
        elif kind == "rich_text_quote":
            out.append(f"<blockquote>{inner}</blockquote>")
        elif kind == "rich_text_preformatted":
            out.append(f"<pre>{inner}</pre>")
        elif kind == "rich_text_list":
            items = "".join(f"<li>{_rich_text([e], ctx)}</li>" for e in part.get("elements") or [])
            out.append(f"<ul>{items}</ul>")
        elif kind == "text":
            text = esc(part.get("text", "")).replace("\n", "<br>")
            style = part.get("style") or {}
            for key, tag in (("bold", "b"), ("italic", "i"), ("strike", "s"), ("code", "code")):
                if style.get(key):
                    text = f"<{tag}>{text}</{tag}>"
            out.append(text)
        elif kind == "link":
            out.append(_control(f"{part.get('url', '')}|{part.get('text', '')}", ctx))
        elif kind == "user":
            out.append(_control(f"@{part.get('user_id', '')}", ctx))
        elif kind == "channel":
            out.append(_control(f"#{part.get('channel_id', '')}", ctx))
        elif kind == "emoji":
            out.append(EMOJI.get(str(part.get("name")), f":{esc(part.get('name'))}:"))
        elif kind == "broadcast":
            out.append(_control(f"!{part.get('range', 'here')}", ctx))
        elif kind == "usergroup":
            out.append('<span class="mention">@group</span>')
        elif kind == "date":
            target = f"!date^{part.get('timestamp', '')}^{part.get('format', '{date_short}')}"
            out.append(esc(_date(target, str(part.get("fallback", "")), ctx)))
    return "".join(out)


# ----- interactive elements in messages and Home tabs -------------------------------------------


def element(item: JSONDict, ctx: Context, block_id: str) -> str:
    """A button, select, overflow, date or time picker: it posts its ids when used."""
    kind = str(item.get("type", ""))
    ids = f'data-block="{block_id}" data-action="{esc(item.get("action_id", ""))}"'
    if kind == "button":
        style = item.get("style")
        css = "btn" + (f" btn-{style}" if style in ("primary", "danger") else "")
        url = str(item.get("url") or "")
        if url.lower().startswith(("http://", "https://")):
            return (
                f'<a class="{css}" href="{esc(url)}" target="_blank" rel="noopener noreferrer" '
                f"{ids}>{plain_text(item.get('text'))}</a>"
            )
        return f'<button type="button" class="{css}" {ids}>{plain_text(item.get("text"))}</button>'
    if kind in ("static_select", "overflow", "radio_buttons"):
        options = options_of(item)
        first = (
            "⋯" if kind == "overflow" else plain_text(item.get("placeholder")) or "Select"
        )
        chosen = (item.get("initial_option") or {}).get("value")
        opts = "".join(
            f'<option value="{esc(o.get("value", ""))}"'
            f'{" selected" if o.get("value") == chosen else ""}>{plain_text(o.get("text"))}'
            "</option>"
            for o in options
        )
        return (
            f'<select class="bk-select" data-kind="{esc(kind)}" {ids}>'
            f'<option value="" disabled{" selected" if chosen is None else ""}>{first}</option>'
            f"{opts}</select>"
        )
    if kind in ("users_select", "conversations_select", "channels_select"):
        opts = "".join(
            f'<option value="{esc(key)}">{esc(name)}</option>' for key, name in choices(item, ctx)
        )
        return (
            f'<select class="bk-select" data-kind="{esc(kind)}" {ids}>'
            f'<option value="" disabled selected>{plain_text(item.get("placeholder")) or "Select"}'
            f"</option>{opts}</select>"
        )
    if kind == "datepicker":
        return (
            f'<input type="date" class="bk-picker" data-kind="datepicker" {ids} '
            f'value="{esc(item.get("initial_date", ""))}">'
        )
    if kind == "timepicker":
        return (
            f'<input type="time" class="bk-picker" data-kind="timepicker" {ids} '
            f'value="{esc(item.get("initial_time", ""))}">'
        )
    if kind == "image":
        return _image_tag(item, ctx, "bk-accessory-img")
    return f'<span class="bk-unsupported">[{esc(kind)}]</span>'


def choices(item: JSONDict, ctx: Context) -> list[tuple[str, str]]:
    """(value, label) a users, conversations or channels picker offers. A conversations
    picker filtered to direct messages lists people, as Slack's does, without bots when its
    filter says so; its value is the person's user id."""
    kind = str(item.get("type", "")).removeprefix("multi_")
    wanted = (item.get("filter") or {}) if kind == "conversations_select" else {}
    include = wanted.get("include") or []
    people = kind == "users_select" or "im" in include
    found: list[tuple[str, str]] = []
    if people:
        found += [
            (user_id, f"@{name}")
            for user_id, name in ctx.user_names.items()
            if not (wanted.get("exclude_bot_users") and user_id in ctx.bots)
        ]
    if kind != "users_select" and (not include or {"public", "private"} & set(include)):
        found += [(channel_id, f"#{name}") for channel_id, name in ctx.channel_names.items()]
    return found


def options_of(item: JSONDict) -> list[JSONDict]:
    options = [o for o in item.get("options") or [] if isinstance(o, dict)]
    for group in item.get("option_groups") or []:
        if isinstance(group, dict):
            options += [o for o in group.get("options") or [] if isinstance(o, dict)]
    return options


def find_element(items: Any, block_id: str, action_id: str) -> JSONDict | None:
    """The element a click names, looked up in the stored blocks (never taken from the page)."""
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or str(item.get("block_id", "")) != block_id:
            continue
        candidates = [item.get("accessory"), item.get("element"), *(item.get("elements") or [])]
        for candidate in candidates:
            if isinstance(candidate, dict) and candidate.get("action_id") == action_id:
                return candidate
    return None


def option_by_value(item: JSONDict, value: str) -> JSONDict | None:
    return next((o for o in options_of(item) if o.get("value") == value), None)


def _wrapped_in(tag: str) -> Callable[[re.Match[str]], str]:
    """A substitution that wraps the match's text in `tag` (one closure per tag)."""
    return lambda match: f"<{tag}>{match.group(1)}</{tag}>"
