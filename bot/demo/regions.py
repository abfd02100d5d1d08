"""What the demo page shows, rendered on the server from the emulator's state.

The sidebar (who you are, channels with unread counts), a channel's or DM's messages with
their ephemerals, a thread, App Home, the modal on top of the person's stack and the clock;
each is a region the page's script replaces when it changes. `shell` is the whole page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bot.demo import forms, render
from bot.demo.render import esc
from bot.demo.workspace import SHORTCUT_NAMES, Ephemeral, Workspace
from handlers import ids

JSONDict = dict[str, Any]
HOME = "home"
NextCheckin = Callable[[str], datetime | None]
_COLORS = ("#4a154b", "#1264a3", "#2bac76", "#e01e5a", "#ecb22e", "#36c5f0", "#9c27b0", "#e8912d")


def channel_id(workspace: Workspace, where: JSONDict) -> str:
    """The conversation a place names: "home" and "dm" are the person's DM with the app."""
    place = where["c"]
    if place in (HOME, "dm"):
        return workspace.emulator.dm_channel_id(where["as"])
    return str(place)


class Regions:
    def __init__(self, workspace: Workspace, next_checkin: NextCheckin) -> None:
        self.ws = workspace
        self.next_checkin = next_checkin

    def _channel_id(self, where: JSONDict) -> str:
        return channel_id(self.ws, where)

    # ----- regions -----------------------------------------------------------------------------

    def all(self, where: JSONDict) -> dict[str, str]:
        """Every region's HTML; the page replaces those that changed since it last looked."""
        ctx = self.ws.context(where["as"])
        messages = self._messages(where, ctx)  # first: it marks what the person has seen
        return {
            "sidebar": self._sidebar(where),
            "header": self._header(where, ctx),
            "messages": messages,
            "thread": self._thread(where, ctx),
            "modal": self._modal(where, ctx),
            "clock": self._clock(where, ctx),
            "notice": esc(self.ws.take_notice(where["as"]) or ""),
        }

    def _link(self, where: JSONDict, **changes: str) -> str:
        merged = {**where, **changes}
        return "/demo?" + urlencode({k: v for k, v in merged.items() if v})

    def _sidebar(self, where: JSONDict) -> str:
        me = where["as"]
        items: list[tuple[str, str, str | None]] = [(HOME, "🏠 pulsebot · Home", None)]
        items += [(c["id"], f"# {c['name']}", c["id"]) for c in self.ws.channels()]
        items.append(("dm", "💬 pulsebot", self.ws.emulator.dm_channel_id(me)))
        links = []
        for key, label, conversation in items:
            count = self.ws.unread(me, conversation) if conversation and key != where["c"] else 0
            css = "nav" + (" active" if where["c"] == key else "") + (" unread" if count else "")
            badge = f'<span class="count">{count}</span>' if count else ""
            links.append(
                f'<a class="{css}" href="{esc(self._link(where, c=key, t=""))}">'
                f"<span>{esc(label)}</span>{badge}</a>"
            )
        people = "".join(
            f'<option value="{esc(p["id"])}"{" selected" if p["id"] == me else ""}>'
            f"{esc(p['real_name'])}"
            "</option>"
            for p in self.ws.people()
        )
        me_user = next((p for p in self.ws.people() if p["id"] == me), None)
        about = f'<span class="about">{esc(_describe(me_user))}</span>' if me_user else ""
        emoji = " ".join(render.emojize(f":{esc(name)}:") for name in self.ws.reactions)
        react = f", or react with {emoji}" if emoji else ""
        return (
            '<div class="workspace-name">Example Inc.</div>'
            f'<label class="whoami">You are<select id="person">{people}</select>{about}</label>'
            f'<nav class="channels">{"".join(links)}</nav>'
            '<div class="tips"><b>Try this</b><ol>'
            "<li>In a channel: <code>/kudos @chloe thanks for the review #craft</code></li>"
            f"<li>Hover a message, ⋯ → <i>Give kudos</i>{react}</li>"
            "<li>As Ben, in the pulsebot DM: <i>⏭ Next check-in</i>, then "
            "<i>Start check-in</i>: it asks about his key results too</li>"
            "<li>Switch to Ana, his manager: her DM and #platform</li>"
            "<li><code>/goals</code>, <code>/goals team</code> or <code>/goals company</code>"
            "</li></ol></div>"
        )

    def _header(self, where: JSONDict, ctx: render.Context) -> str:
        place = where["c"]
        if place == HOME:
            return "<h1>pulsebot</h1><span class='sub'>Home</span>"
        if place == "dm":
            return "<h1>pulsebot</h1><span class='sub'>Direct message · App</span>"
        name = ctx.channel_names.get(place, place)
        return f"<h1># {esc(name)}</h1>"

    def _messages(self, where: JSONDict, ctx: render.Context) -> str:
        if where["c"] == HOME:
            home = self.ws.emulator.home_view(where["as"])
            if home is None:
                return '<div class="empty">Loading your Home tab…</div>'
            body = render.blocks(home.get("blocks"), ctx)
            return f'<div class="home" data-view="{esc(home["id"])}">{body}</div>'
        channel_id = self._channel_id(where)
        self.ws.mark_seen(where["as"], channel_id)
        messages = [
            m
            for m in self.ws.emulator.messages(channel_id)
            if not m.get("thread_ts") or m.get("thread_ts") == m["ts"]
        ]
        dated = [(float(m["ts"]), self._message(m, channel_id, where, ctx)) for m in messages]
        dated += [
            (e.at, self._ephemeral(e, ctx))
            for e in self.ws.ephemerals(where["as"], channel_id)
            if not e.thread_ts
        ]
        parts = [html for _, html in sorted(dated, key=lambda pair: pair[0])]
        if not parts:
            hint = (
                "Type <code>/kudos</code> or <code>/checkin</code> to talk to pulsebot."
                if where["c"] == "dm"
                else "No messages yet."
            )
            return f'<div class="empty">{hint}</div>'
        return "".join(parts)

    def _thread(self, where: JSONDict, ctx: render.Context) -> str:
        ts = where.get("t")
        if not ts or where["c"] == HOME:
            return ""
        channel_id = self._channel_id(where)
        messages = self.ws.emulator.messages(channel_id)
        parent = next((m for m in messages if m["ts"] == ts), None)
        if parent is None:
            return ""
        replies = [m for m in messages if m.get("thread_ts") == ts and m["ts"] != ts]
        body = self._message(parent, channel_id, where, ctx, in_thread=True)
        body += "".join(self._message(m, channel_id, where, ctx, in_thread=True) for m in replies)
        body += "".join(
            self._ephemeral(e, ctx)
            for e in self.ws.ephemerals(where["as"], channel_id)
            if e.thread_ts == ts
        )
        close = esc(self._link(where, t=""))
        return (
            f'<header class="thread-head"><h2>Thread</h2><a class="modal-x" href="{close}" '
            f'aria-label="Close thread">×</a></header><div class="thread-body">{body}</div>'
        )

    def _message(
        self,
        message: JSONDict,
        channel_id: str,
        where: JSONDict,
        ctx: render.Context,
        *,
        in_thread: bool = False,
    ) -> str:
        user_id = str(message.get("user") or "")
        is_bot = bool(message.get("bot_id")) or user_id == self.ws.emulator.bot_user_id
        name = "pulsebot" if is_bot else ctx.user_names.get(user_id, user_id)
        real = name
        if not is_bot:
            person = next((p for p in self.ws.people() if p["id"] == user_id), None)
            real = person["real_name"] if person else name
        when = datetime.fromtimestamp(float(message["ts"]), UTC).astimezone(ZoneInfo(ctx.tz))
        stamp = f"{when:%a %b} {when.day}, {when:%H:%M}"
        body = (
            render.blocks(message["blocks"], ctx)
            if message.get("blocks")
            else f'<div class="bk-text">{render.mrkdwn(str(message.get("text") or ""), ctx)}</div>'
        )
        body += render.attachments(message.get("attachments"), ctx)
        body += render.files(message.get("files"), ctx)
        edited = ' <span class="edited">(edited)</span>' if message.get("edited") else ""
        badge = ' <span class="badge">APP</span>' if is_bot else ""
        replies = ""
        if not in_thread and message.get("reply_count"):
            count = int(message["reply_count"])
            link = esc(self._link(where, t=str(message["ts"])))
            replies = (
                f'<a class="replies" href="{link}">{count} '
                f'{"reply" if count == 1 else "replies"}</a>'
            )
        reply_link = ""
        if not in_thread:
            reply_link = (
                f'<a class="tool" href="{esc(self._link(where, t=str(message["ts"])))}" '
                'title="Reply in thread">💬</a>'
            )
        shortcuts = "".join(
            f'<button type="button" data-shortcut="{esc(cb)}">'
            f"{esc(SHORTCUT_NAMES.get(cb, cb.replace('_', ' ').capitalize()))}</button>"
            for cb in ids.MESSAGE_SHORTCUTS
        )
        offered = "".join(
            f'<button type="button" class="tool" data-react="{esc(name)}" '
            f'title="React with :{esc(name)}:">{render.emojize(f":{esc(name)}:")}</button>'
            for name in self.ws.reactions
        )
        menu = (
            '<div class="tools">'
            f"{offered}{reply_link}"
            '<details class="more"><summary class="tool" title="More actions">⋯</summary>'
            f'<div class="menu">{shortcuts}</div></details></div>'
        )
        avatar = (
            '<div class="avatar bot">pb</div>'
            if is_bot
            else f'<div class="avatar" style="background:{_color(user_id)}">'
            f"{esc(_initials(real))}</div>"
        )
        return (
            f'<article class="msg" data-channel="{esc(channel_id)}" '
            f'data-ts="{esc(message["ts"])}">{avatar}'
            f'<div class="msg-main"><div class="msg-head"><b>{esc(real)}</b>{badge}'
            f'<time>{esc(stamp)}</time></div>'
            f'<div class="msg-body">{body}{edited}</div>{_reactions(message, where["as"])}'
            f"{replies}</div>{menu}</article>"
        )

    def _ephemeral(self, shown: Ephemeral, ctx: render.Context) -> str:
        """An "Only visible to you" message; its buttons work, named by its key."""
        body = (
            render.blocks(shown.blocks, ctx) if shown.blocks else render.mrkdwn(shown.text, ctx)
        )
        return (
            f'<article class="msg ephemeral" data-channel="{esc(shown.channel_id)}" '
            f'data-ts="{esc(shown.key)}"><div class="avatar bot">pb</div>'
            '<div class="msg-main"><div class="msg-head"><b>pulsebot</b>'
            '<span class="badge">APP</span><span class="only-you">Only visible to you</span>'
            f'</div><div class="msg-body">{body}</div></div></article>'
        )

    def _modal(self, where: JSONDict, ctx: render.Context) -> str:
        stack = self.ws.modal_stack(where["as"])
        if not stack:
            return ""
        top = stack[-1]
        errors = self.ws.state(where["as"]).errors.get(str(top["id"]), {})
        return f'<div class="overlay">{forms.modal_html(top, ctx, errors, len(stack))}</div>'

    def _clock(self, where: JSONDict, ctx: render.Context) -> str:
        now = self.ws.clock().astimezone(ZoneInfo(ctx.tz))
        upcoming = self.next_checkin(where["as"])
        next_button = ""
        if upcoming is not None:
            local = upcoming.astimezone(ZoneInfo(ctx.tz))
            next_button = (
                f'<button type="button" class="btn btn-small" data-jump="next-checkin" '
                f'title="Jump to the next check-in">⏭ Next check-in · '
                f"{local:%a} {local.day} {local:%b, %H:%M}</button>"
            )
        value = now.strftime("%Y-%m-%dT%H:%M")
        return (
            f'<div class="now" title="The demo clock, in your time zone ({esc(ctx.tz)})">'
            f'🕒 <b>{now:%a %d %b, %H:%M}</b> <span class="tz">{esc(ctx.tz)}</span></div>'
            f"{next_button}"
            '<details class="jump-menu"><summary class="btn btn-small">Jump ▾</summary>'
            '<div class="jump-pop">'
            '<p>The demo clock only moves forward. A jump runs what is due by then: prompts, '
            "reminders, closings.</p>"
            '<div class="jumps">'
            '<button type="button" class="btn btn-small" data-jump="hour">+1 hour</button>'
            '<button type="button" class="btn btn-small" data-jump="day">+1 day</button></div>'
            f'<form class="jump-at"><input type="datetime-local" name="at" value="{value}" '
            f'min="{value}" aria-label="Jump to"><button class="btn btn-small">Jump to</button>'
            "</form></div></details>"
        )

    # ----- the page ----------------------------------------------------------------------------

    def shell(self, where: JSONDict, regions: dict[str, str]) -> str:
        """The whole page around the regions."""
        state = esc(json.dumps(where))
        composer = ""
        if where["c"] != HOME:
            names = self.ws.context(where["as"]).channel_names
            place = "pulsebot" if where["c"] == "dm" else f"#{names.get(where['c'], '')}"
            composer = _composer(f"Message {place} — try /kudos or /checkin", "main")
        thread_composer = _composer("Reply…", "thread") if where.get("t") else ""
        thread_css = " with-thread" if where.get("t") and regions["thread"] else ""
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pulsebot demo</title>
<link rel="stylesheet" href="/demo/static/demo.css">
</head><body data-state="{state}">
<div class="app{thread_css}">
<aside class="sidebar" id="sidebar">{regions["sidebar"]}</aside>
<main class="pane">
<div class="topbar"><button type="button" class="menu-toggle" aria-label="Channels">☰</button>
<div class="title" id="header">{regions["header"]}</div>
<div class="clock" id="clock">{regions["clock"]}</div></div>
<section class="messages" id="messages">{regions["messages"]}</section>
{composer}
</main>
<aside class="thread" id="thread-pane"><div id="thread">{regions["thread"]}</div>
{thread_composer}</aside>
</div>
<div id="modal">{regions["modal"]}</div>
<div id="notice" class="notice" role="status">{regions["notice"]}</div>
<script src="/demo/static/demo.js"></script>
</body></html>"""



def _reactions(message: JSONDict, user_id: str) -> str:
    """The reactions under a message, each a button that adds the person's or takes it back."""
    buttons = []
    for reaction in message.get("reactions") or []:
        name = str(reaction.get("name", ""))
        users = [str(u) for u in reaction.get("users") or []]
        mine = " mine" if user_id in users else ""
        buttons.append(
            f'<button type="button" class="reaction{mine}" data-react="{esc(name)}" '
            f'title=":{esc(name)}:" aria-pressed="{"true" if mine else "false"}">'
            f"{render.emojize(f':{esc(name)}:')} <span>{len(users)}</span></button>"
        )
    return f'<div class="reactions">{"".join(buttons)}</div>' if buttons else ""


def _composer(placeholder: str, where: str) -> str:
    return (
        f'<form class="composer" data-where="{where}"><textarea name="text" rows="1" '
        f'placeholder="{esc(placeholder)}" aria-label="{esc(placeholder)}"></textarea>'
        '<button class="btn btn-primary" aria-label="Send">Send</button></form>'
    )


def _describe(user: JSONDict) -> str:
    """"Backend engineer · Lagos": the title and the city of the person's time zone."""
    city = str(user.get("tz") or "UTC").rsplit("/", 1)[-1].replace("_", " ")
    title = user["profile"].get("title")
    return f"{title} · {city}" if title else city


def _initials(name: str) -> str:
    parts = [p for p in name.replace(".", " ").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def _color(user_id: str) -> str:
    return _COLORS[int(hashlib.md5(user_id.encode()).hexdigest(), 16) % len(_COLORS)]
