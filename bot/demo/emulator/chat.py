"""chat.* and reactions.add: messages the bot posts, edits and reacts to, checked as Slack
checks them (text length, Block Kit, metadata, files) and paced per channel when asked."""

from __future__ import annotations

from typing import Any

from bot.demo.emulator.blockkit import (
    MAX_MESSAGE_BLOCKS,
    block_errors,
    missing_field,
    with_block_ids,
)
from bot.demo.emulator.limits import Bucket, rate_limited
from bot.demo.emulator.state import SlackState
from bot.demo.emulator.webapi import Call, JSONDict, SlackError, api, json_copy

MAX_TEXT = 40_000


class ChatApi(SlackState):
    """Holds the messages of every conversation and answers chat.* and reactions.add."""

    def add_message(
        self,
        channel_id: str,
        user_id: str,
        text: str,
        *,
        thread_ts: str | None = None,
        ts: float | None = None,
        blocks: list[JSONDict] | None = None,
    ) -> JSONDict:
        """A message a person wrote (not the bot), e.g. for a message shortcut to point at.

        `thread_ts` makes it a reply; `ts` (epoch seconds) dates it in the past, for a demo's
        history; `blocks` are stored as given. A user id as `channel_id` means their DM.
        """
        with self._lock:
            channel_id = self._dm_key(channel_id)
            stamp = self._next_ts() if ts is None else self._past_ts(ts)
            message: JSONDict = {
                "type": "message",
                "channel": channel_id,
                "user": user_id,
                "team": self.team_id,
                "ts": stamp,
                "text": text,
                "blocks": blocks,
                "thread_ts": thread_ts,
                "metadata": None,
            }
            if user_id == self.bot_user_id:
                message.update({"bot_id": self.bot_id, "app_id": self.app_id})
            self._messages.setdefault(channel_id, []).append(message)
            self._messages[channel_id].sort(key=lambda m: float(m["ts"]))
            if thread_ts:
                self._count_reply(channel_id, thread_ts, stamp)
            return self._public_message(message)

    def react(self, channel_id: str, ts: str, user_id: str, name: str, *, add: bool) -> bool:
        """A person adds (or removes) a reaction, as Slack's client does: shown on the message
        as `reactions` [{name, users, count}]. False when nothing changed (already there, or
        not there to remove), when Slack would send no event either."""
        with self._lock:
            channel_id = self._dm_key(channel_id)
            message = next(
                (m for m in self._messages.get(channel_id, []) if m["ts"] == ts), None
            )
            if message is None:
                return False
            name = name.strip(":")
            reactions: list[JSONDict] = message.setdefault("reactions", [])
            found = next((r for r in reactions if r["name"] == name), None)
            if add:
                if found is None:
                    reactions.append({"name": name, "users": [user_id], "count": 1})
                elif user_id not in found["users"]:
                    found["users"].append(user_id)
                    found["count"] += 1
                else:
                    return False
                return True
            if found is None or user_id not in found["users"]:
                return False
            found["users"].remove(user_id)
            found["count"] -= 1
            if not found["users"]:
                reactions.remove(found)
            if not reactions:
                del message["reactions"]
            return True

    def messages(self, channel: str) -> list[JSONDict]:
        """Current messages of a channel (or of the DM with a user id), edits applied."""
        with self._lock:
            key = self._dm_key(channel)
            return json_copy(self._messages.get(key, []))

    def _check_channel_rate(self, channel_id: str) -> None:
        if self._channel_limit is None:
            return
        per_second, burst = self._channel_limit
        bucket = self._channel_buckets.setdefault(
            channel_id, Bucket(rate=per_second, capacity=float(burst))
        )
        if (retry_after := bucket.take()) is not None:
            raise rate_limited(retry_after)

    def _validated_content(self, call: Call, *, error: str = "invalid_blocks") -> JSONDict:
        """text/blocks/metadata checks shared by chat.postMessage, postEphemeral and update."""
        text = call.get("text")
        blocks = call.get("blocks")
        if not text and not blocks and not call.get("attachments"):
            raise SlackError("no_text")
        if text is not None and len(str(text)) > MAX_TEXT:
            raise SlackError("msg_too_long")
        if blocks not in (None, "", []):
            if not isinstance(blocks, list):
                raise SlackError("invalid_blocks_format")
            problems = block_errors(blocks, "/blocks", MAX_MESSAGE_BLOCKS)
            problems += self._file_errors(blocks)
            if problems:
                raise SlackError(error, messages=problems)
            blocks = with_block_ids(blocks)
        metadata = call.get("metadata")
        if metadata not in (None, ""):
            if not isinstance(metadata, dict):
                raise SlackError("invalid_metadata_format")
            if not metadata.get("event_type") or not isinstance(
                metadata.get("event_payload", {}), dict
            ):
                raise SlackError("invalid_metadata_schema")
        return {
            "text": "" if text is None else str(text),
            "blocks": blocks or None,
            "metadata": metadata or None,
        }

    def _file_errors(self, blocks: list[Any]) -> list[str]:
        """An image block's `slack_file` must name a completed upload of this workspace."""
        errors = []
        for i, block in enumerate(blocks):
            if not isinstance(block, dict) or block.get("type") != "image":
                continue
            file_ref = block.get("slack_file")
            if file_ref is None:
                if not block.get("image_url"):
                    errors.append(missing_field(f"image_url [json-pointer:/blocks/{i}]"))
                continue
            found = self._files.get(str((file_ref or {}).get("id")))
            if found is None or not found["completed"]:
                errors.append(f"[ERROR] invalid slack_file [json-pointer:/blocks/{i}/slack_file]")
        return errors

    def _message_channel(self, channel_id: str) -> str:
        """Methods on an existing message take its conversation's id, never a user id (that
        is `channel_not_found`, as in Slack): the bot's DM, or a channel the bot can see."""
        if channel_id.startswith("D") and self._user_for_dm(channel_id) is not None:
            return channel_id
        return self._visible_channel(channel_id).id

    def _find_message(self, channel_id: str, ts: str) -> JSONDict:
        for message in self._messages.get(channel_id, []):
            if message["ts"] == ts:
                return message
        raise SlackError("message_not_found")

    @api("chat.postMessage")
    def _chat_post_message(self, call: Call) -> JSONDict:
        channel_id = self._resolve_post_target(str(call.get("channel") or ""))
        self._check_channel_rate(channel_id)
        content = self._validated_content(call)
        message = self._store_message(channel_id, content, call)
        return {
            "channel": channel_id,
            "ts": message["ts"],
            "message": self._public_message(message),
        }

    @api("chat.postEphemeral")
    def _chat_post_ephemeral(self, call: Call) -> JSONDict:
        self._resolve_post_target(str(call.get("channel") or ""))
        user_id = str(call.get("user") or "")
        if user_id not in self._users:
            raise SlackError("user_not_found")
        self._validated_content(call)
        return {"message_ts": self._next_ts()}

    @api("chat.update")
    def _chat_update(self, call: Call) -> JSONDict:
        """Edits in place; channel must be an id (a user id is `channel_not_found`, as Slack)."""
        channel_id = self._message_channel(str(call.get("channel") or ""))
        self._require(call, "ts")
        message = self._find_message(channel_id, str(call["ts"]))
        if message["user"] != self.bot_user_id:
            raise SlackError("cant_update_message")
        content = self._validated_content(call)
        message["text"] = content["text"]
        # Omitted fields keep their old values (documented for metadata; same for blocks).
        if call.get("blocks") is not None:
            message["blocks"] = content["blocks"]
        if call.get("metadata") is not None:
            message["metadata"] = content["metadata"]
        if call.get("attachments") is not None:
            message["attachments"] = call.get("attachments") or None
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        public = self._public_message(message)
        return {
            "channel": channel_id,
            "ts": message["ts"],
            "text": message["text"],
            "message": public,
        }

    @api("chat.getPermalink")
    def _chat_get_permalink(self, call: Call) -> JSONDict:
        channel_id = self._message_channel(str(call.get("channel") or ""))
        self._require(call, "message_ts")
        message = self._find_message(channel_id, str(call["message_ts"]))
        link = (
            f"https://{self.TEAM_DOMAIN}.slack.com/archives/{channel_id}/"
            f"p{message['ts'].replace('.', '')}"
        )
        if message.get("thread_ts") and message["thread_ts"] != message["ts"]:
            link += f"?thread_ts={message['thread_ts']}&cid={channel_id}"
        return {"channel": channel_id, "permalink": link}

    @api("reactions.add")
    def _reactions_add(self, call: Call) -> JSONDict:
        self._require(call, "channel", "name", "timestamp")
        channel_id = self._message_channel(str(call["channel"]))
        message = self._find_message(channel_id, str(call["timestamp"]))
        name = str(call["name"]).strip(":")
        reactions: list[JSONDict] = message.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["name"] == name:
                if self.bot_user_id in reaction["users"]:
                    raise SlackError("already_reacted")
                reaction["users"].append(self.bot_user_id)
                reaction["count"] += 1
                return {}
        reactions.append({"name": name, "users": [self.bot_user_id], "count": 1})
        return {}
