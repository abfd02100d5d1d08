"""conversations.*: DMs, group DMs and channels, and their history, with the visibility and
scope rules that decide whether the bot may read them."""

from __future__ import annotations

import hashlib
import time

from bot.demo.emulator.state import Channel, SlackState
from bot.demo.emulator.webapi import Call, JSONDict, SlackError, api, int_arg, truthy


class ConversationsApi(SlackState):
    """Adds channels and answers conversations.*."""

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        is_archived: bool = False,
        bot_is_member: bool = True,
    ) -> None:
        """Add (or replace) a channel; private ones the bot is not in are invisible to it."""
        with self._lock:
            self._channels[channel_id] = Channel(
                channel_id, name, is_private, is_archived, bot_is_member
            )

    def channels(self) -> list[JSONDict]:
        """Every channel as conversations.info shows it (a copy)."""
        with self._lock:
            return [self._channel_object(c) for c in self._channels.values()]

    @api("conversations.open")
    def _conversations_open(self, call: Call) -> JSONDict:
        users = [u for u in str(call.get("users", "")).split(",") if u]
        if not users:
            channel = call.get("channel")
            if channel and self._user_for_dm(str(channel)) is not None:
                return {"channel": {"id": channel}, "no_op": True, "already_open": True}
            raise SlackError("channel_not_found" if channel else "users_list_not_supplied")
        if len(users) > 8:
            raise SlackError("too_many_users")
        if len(users) > 1:
            digest = hashlib.sha1(",".join(sorted(users)).encode()).hexdigest()[:9]
            for user_id in users:
                self._open_dm(user_id, missing_error="user_not_found", deleted_ok=False)
            group_id = "C" + digest.upper()
            self._channels.setdefault(
                group_id, Channel(group_id, f"mpdm-{digest}", True, False, True)
            )
            return {"channel": {"id": group_id}}
        dm_id = self._open_dm(users[0], missing_error="user_not_found", deleted_ok=False)
        result: JSONDict = {"channel": {"id": dm_id}}
        if dm_id in self._opened_dms:
            result.update({"no_op": True, "already_open": True})
        self._opened_dms.add(dm_id)
        if truthy(call.get("return_im")):
            result["channel"] = self._im_object(dm_id)
        return result

    def _im_object(self, dm_id: str) -> JSONDict:
        user = self._user_for_dm(dm_id) or {}
        return {
            "id": dm_id,
            "created": int(time.time()),
            "is_archived": False,
            "is_im": True,
            "is_org_shared": False,
            "context_team_id": self.team_id,
            "updated": int(time.time() * 1000),
            "user": user.get("id"),
            "is_user_deleted": bool(user.get("deleted")),
            "priority": 0,
        }

    @api("conversations.info")
    def _conversations_info(self, call: Call) -> JSONDict:
        channel_id = str(call.get("channel", ""))
        if channel_id.startswith("D") and self._user_for_dm(channel_id) is not None:
            return {"channel": self._im_object(channel_id)}
        found = self._channels.get(channel_id)
        if found is None or (found.is_private and not found.bot_is_member):
            raise SlackError("channel_not_found")
        return {"channel": self._channel_object(found)}

    def _channel_object(self, channel: Channel) -> JSONDict:
        empty = {"value": "", "creator": "", "last_set": 0}
        return {
            "id": channel.id,
            "name": channel.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.is_private,
            "created": channel.created,
            "is_archived": channel.is_archived,
            "is_general": channel.name == "general",
            "unlinked": 0,
            "name_normalized": channel.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": self.team_id,
            "updated": channel.created * 1000,
            "parent_conversation": None,
            "creator": "U0CREATOR",
            "is_ext_shared": False,
            "shared_team_ids": [self.team_id],
            "pending_connected_team_ids": [],
            "is_member": channel.bot_is_member,
            "topic": dict(empty),
            "purpose": dict(empty),
            "previous_names": [],
        }

    def _history_channel(self, call: Call) -> str:
        """The channel whose history the bot may read, checking the scope Slack would."""
        self._require(call, "channel")
        channel_id = str(call["channel"])
        if channel_id.startswith("D"):
            if self._user_for_dm(channel_id) is None:
                raise SlackError("channel_not_found")
            scope = "im:history"
        else:
            channel = self._visible_channel(channel_id)
            scope = "groups:history" if channel.is_private else "channels:history"
            if not channel.bot_is_member and scope in self._scopes.split(","):
                raise SlackError("not_in_channel")
            channel_id = channel.id
        if scope not in self._scopes.split(","):
            raise SlackError("missing_scope", needed=scope, provided=self._scopes)
        return channel_id

    def _listed(self, message: JSONDict, with_metadata: bool) -> JSONDict:
        listed = {k: v for k, v in message.items() if v is not None and k != "channel"}
        if not with_metadata:
            listed.pop("metadata", None)
        return listed

    @api("conversations.history")
    def _conversations_history(self, call: Call) -> JSONDict:
        """Top-level messages, newest first, between `oldest` and `latest` (exclusive unless
        `inclusive`); thread replies only when broadcast. Metadata only with
        `include_all_metadata`, as Slack does."""
        channel_id = self._history_channel(call)
        oldest = float(call.get("oldest") or 0)
        latest = float(call.get("latest") or time.time() + 1e9)
        inclusive = truthy(call.get("inclusive"))
        limit = max(1, min(int_arg(call.get("limit"), 100), 999))
        offset = int_arg(call.get("cursor"), 0)

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        found = [
            m
            for m in reversed(self._messages.get(channel_id, []))
            if within(float(m["ts"]))
            and (not m.get("thread_ts") or m["thread_ts"] == m["ts"] or m.get("subtype"))
        ]
        page = found[offset : offset + limit]
        more = offset + limit < len(found)
        metadata = truthy(call.get("include_all_metadata"))
        return {
            "messages": [self._listed(m, metadata) for m in page],
            "has_more": more,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": str(offset + limit) if more else ""},
        }

    @api("conversations.replies")
    def _conversations_replies(self, call: Call) -> JSONDict:
        """A thread: its parent first, then the replies, oldest first."""
        self._require(call, "ts")
        channel_id = self._history_channel(call)
        parent_ts = str(call["ts"])
        messages = self._messages.get(channel_id, [])
        parent = next((m for m in messages if m["ts"] == parent_ts), None)
        if parent is None:
            raise SlackError("thread_not_found")
        oldest = float(call.get("oldest") or 0)
        limit = max(1, min(int_arg(call.get("limit"), 1000), 1000))
        offset = int_arg(call.get("cursor"), 0)
        replies = [
            m for m in messages if m.get("thread_ts") == parent_ts and m["ts"] != parent_ts
        ]
        thread = [parent, *[m for m in replies if float(m["ts"]) >= oldest]]
        page = thread[offset : offset + limit]
        more = offset + limit < len(thread)
        metadata = truthy(call.get("include_all_metadata"))
        return {
            "messages": [self._listed(m, metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(offset + limit) if more else ""},
        }
