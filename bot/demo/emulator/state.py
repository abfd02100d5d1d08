"""The workspace the emulator holds: users, channels, messages, views and files, and the rules
that several method families share (who can be posted to, which channels the bot can see).

The method families (users, conversations, chat, views, files) are mixins over this class, and
the server combines them; every helper here is called with the lock held.

Choices where Slack's behaviour is easy to get wrong:
- chat.postMessage to a deactivated user's id succeeds (Slack keeps the DM history; a maintainer
  of python-slack-sdk confirmed it), while conversations.open answers `user_disabled`.
- Posting to a bot user's id, or opening a DM with it, answers `cannot_dm_bot`.
- A private channel the bot is not in is invisible to it: `channel_not_found`, not
  `not_in_channel` (that one is for public channels without chat:write.public).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from bot.demo.emulator.blockkit import missing_field
from bot.demo.emulator.limits import Bucket
from bot.demo.emulator.webapi import Call, JSONDict, SlackError

_SCOPES = (
    "chat:write,chat:write.public,commands,users:read,users:read.email,im:history,im:write,"
    "channels:history,groups:history,files:write"
)


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool
    is_archived: bool
    bot_is_member: bool
    created: int = field(default_factory=lambda: int(time.time()))


class SlackState:
    """Identity, data and the lock, with no HTTP: what a handler may read and change."""

    TEAM_NAME: ClassVar[str] = "Example"
    TEAM_DOMAIN: ClassVar[str] = "example"

    def __init__(self, team_id: str, bot_user_id: str, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id[1:]
        self.app_id = "A0PULSEBOT"
        self.url = ""
        self.hooks_url = ""
        # Re-entrant: a wait_for predicate may call back into messages() or calls().
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._users: dict[str, JSONDict] = {}
        self._channels: dict[str, Channel] = {}
        self._opened_dms: set[str] = set()
        self._scopes = _SCOPES
        self._ids = itertools.count(1)
        self._last_ts_us = 0
        self._reset_state()

    def _reset_state(self) -> None:
        """Everything a test produces; users and channels are the workspace and survive."""
        self._channel_limit: tuple[float, int] | None = None
        self._channel_buckets: dict[str, Bucket] = {}
        self._messages: dict[str, list[JSONDict]] = {}
        self._views: dict[str, JSONDict] = {}
        self._home_views: dict[str, str] = {}
        self._external_ids: dict[str, str] = {}
        self._used_triggers: set[str] = set()
        self._files: dict[str, JSONDict] = {}
        self._view_triggers: dict[str, str] = {}

    def dm_channel_id(self, user_id: str) -> str:
        """The bot's DM with a user: stable per user, so tests can predict it."""
        return "D" + user_id

    def _next_ts(self) -> str:
        """Slack ts: seconds.micros near now, unique and increasing across the emulator."""
        now_us = int(self._clock() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _past_ts(self, at: float) -> str:
        """A ts for a message dated in the past (a demo's history); unique, not increasing."""
        micros = int(at * 1_000_000)
        taken = {m["ts"] for msgs in self._messages.values() for m in msgs}
        while (stamp := f"{micros // 1_000_000}.{micros % 1_000_000:06d}") in taken:
            micros += 1
        return stamp

    def _count_reply(self, channel_id: str, parent_ts: str, ts: str) -> None:
        for parent in self._messages.get(channel_id, []):
            if parent["ts"] == parent_ts:
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = max(ts, parent.get("latest_reply", ts), key=float)

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):09d}"

    def _dm_key(self, channel: str) -> str:
        return self.dm_channel_id(channel) if channel in self._users else channel

    def _user_for_dm(self, channel_id: str) -> JSONDict | None:
        return self._users.get(channel_id[1:]) if channel_id.startswith("D") else None

    def _require(self, call: Call, *names: str) -> None:
        missing = [name for name in names if call.get(name) in (None, "")]
        if missing:
            raise SlackError(
                "invalid_arguments",
                messages=[missing_field(name) for name in missing],
            )

    def _visible_channel(self, channel_id: str) -> Channel:
        """A channel the bot can see: private channels it is not in do not exist for it."""
        found = self._channels.get(channel_id)
        if found is None:
            found = next((c for c in self._channels.values() if c.name == channel_id), None)
        if found is None or (found.is_private and not found.bot_is_member):
            raise SlackError("channel_not_found")
        return found

    def _resolve_post_target(self, target: str) -> str:
        """Where chat.postMessage writes: a channel id or name, the app DM, or a user id."""
        if not target:
            raise SlackError("channel_not_found")
        if target[0] in "UW" and target in self._users:
            return self._open_dm(target, missing_error="channel_not_found", deleted_ok=True)
        if target.startswith("D"):
            if self._user_for_dm(target) is None:
                raise SlackError("channel_not_found")  # someone else's DM
            return target
        channel = self._visible_channel(target.lstrip("#"))
        if channel.is_archived:
            raise SlackError("is_archived")
        return channel.id

    def _open_dm(self, user_id: str, *, missing_error: str, deleted_ok: bool) -> str:
        user = self._users.get(user_id)
        if user is None:
            raise SlackError(missing_error)
        if user["is_bot"]:
            raise SlackError("cannot_dm_bot")
        if user["deleted"] and not deleted_ok:
            raise SlackError("user_disabled")
        return self.dm_channel_id(user_id)

    def _public_message(self, message: JSONDict) -> JSONDict:
        """A stored message as the API shows it: absent fields omitted, not null."""
        return {k: v for k, v in message.items() if v is not None and k != "channel"}

    def _store_message(self, channel_id: str, content: JSONDict, call: Call) -> JSONDict:
        ts = self._next_ts()
        message: JSONDict = {
            "type": "message",
            "channel": channel_id,
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
            "text": content["text"],
            "blocks": content["blocks"],
            "attachments": call.get("attachments") or None,
            "thread_ts": call.get("thread_ts") or None,
            "metadata": content["metadata"],
            "files": content.get("files"),
            "bot_profile": {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": "pulsebot",
                "team_id": self.team_id,
                "deleted": False,
            },
        }
        self._messages.setdefault(channel_id, []).append(message)
        parent_ts = message["thread_ts"]
        if parent_ts:
            self._count_reply(channel_id, parent_ts, ts)
        return message
