"""Requests to the app shaped and signed exactly as Slack sends them (DESIGN.md sections 7-8).

End-to-end tests drive the real server through its public door, `/slack/events`, so the
signature check, Bolt's parsing and the listeners all run as in production. Payload shapes
follow Slack's (and bolt-python's scenario tests): slash commands are form fields, interactivity
is a `payload=` form field holding JSON, events are a JSON `event_callback` envelope.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.demo.signing import signature

JSONDict = dict[str, Any]

FORM = "application/x-www-form-urlencoded"
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


class SlackRequests:
    """A signed-request client for one workspace; ids and trigger_ids are unique per call.

    `response_url_base` (e.g. `SlackEmulator.hooks_url`) makes response_urls point at the
    emulator, so `respond()` works offline and its payloads are recorded; without it they
    point at hooks.slack.com like real ones (unreachable in tests).
    """

    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        *,
        team_id: str = "T0TEAM",
        client: httpx.Client | None = None,
        path: str = "/slack/events",
        api_app_id: str = "A0PULSEBOT",
        bot_user_id: str = "UBOT",
        team_domain: str = "example",
        response_url_base: str | None = None,
        verification_token: str = "verification-token",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.path = path
        self.api_app_id = api_app_id
        self.bot_user_id = bot_user_id
        self.team_domain = team_domain
        self.response_url_base = response_url_base
        self.verification_token = verification_token
        self._owns_client = client is None
        self.client = client or httpx.Client(timeout=10.0)
        self._counter = itertools.count(1)

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> SlackRequests:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- signing and sending ------------------------------------------------------------------

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The two headers Slack adds; pass an old timestamp to test the 5-minute window."""
        ts = int(time.time()) if timestamp is None else timestamp
        return {
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature(self.signing_secret, ts, body),
        }

    def post_raw(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """Send bytes with exactly these headers (bad or stale signatures, odd content types)."""
        return self.client.post(self.base_url + self.path, content=body, headers=headers)

    def _send(
        self, body: bytes, content_type: str, extra_headers: dict[str, str] | None = None
    ) -> httpx.Response:
        headers = {"Content-Type": content_type, "User-Agent": SLACK_USER_AGENT}
        headers.update(self.sign(body))
        headers.update(extra_headers or {})
        return self.post_raw(body, headers)

    def _send_payload(self, payload: JSONDict) -> httpx.Response:
        """Interactivity: one form field, `payload`, holding the JSON."""
        body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
        return self._send(body, FORM)

    # --- ids ----------------------------------------------------------------------------------

    def trigger_id(self) -> str:
        """A fresh trigger_id in Slack's `digits.digits.hex` shape (single-use in Slack)."""
        serial = f"{int(time.time())}{next(self._counter):04d}"
        return f"{serial}.{secrets.randbelow(10**9):09d}.{secrets.token_hex(16)}"

    def _response_url(self, kind: str) -> str:
        n = next(self._counter)
        base = self.response_url_base or "https://hooks.slack.com/"
        return f"{base.rstrip('/')}/{kind}/{self.team_id}/{n}/{secrets.token_urlsafe(18)}"

    def _action_ts(self) -> str:
        now = time.time()
        return f"{int(now)}.{int(now * 1_000_000) % 1_000_000:06d}"

    def _team(self) -> JSONDict:
        return {"id": self.team_id, "domain": self.team_domain}

    def _user(self, user_id: str) -> JSONDict:
        name = user_id.lower()
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _channel_name(self, channel_id: str) -> str:
        if channel_id.startswith("D"):
            return "directmessage"
        return "general" if channel_id == "C0GENERAL" else channel_id.lower()

    # --- request kinds ------------------------------------------------------------------------

    def command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str,
        channel_id: str = "C0GENERAL",
        trigger_id: str | None = None,
        response_url: str | None = None,
        **extra: str,
    ) -> httpx.Response:
        """A slash command: form fields in Slack's order; `extra` adds or overrides fields."""
        fields = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url or self._response_url("commands"),
            "trigger_id": trigger_id or self.trigger_id(),
        }
        fields.update(extra)
        return self._send(urlencode(fields).encode(), FORM)

    def block_action(
        self,
        *,
        user_id: str,
        action_id: str,
        value: str = "",
        block_id: str = "b",
        channel_id: str | None = None,
        message_ts: str | None = None,
        trigger_id: str | None = None,
        view: JSONDict | None = None,
        container: JSONDict | None = None,
        action: JSONDict | None = None,
        message: JSONDict | None = None,
    ) -> httpx.Response:
        """A `block_actions` payload from a message (default) or, with `view`, from a view.

        `action` merges into the action (e.g. `{"type": "static_select", "selected_option":
        {...}}`); `message` is the message the button sits in, when a listener reads it.
        """
        the_action: JSONDict = {
            "action_id": action_id,
            "block_id": block_id,
            "text": {"type": "plain_text", "text": "Button", "emoji": True},
            "value": value,
            "type": "button",
            "action_ts": self._action_ts(),
        }
        the_action.update(action or {})
        payload: JSONDict = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": trigger_id or self.trigger_id(),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if view is not None:
            payload["container"] = container or {
                "type": "view",
                "view_id": view.get("id", "V0001"),
            }
            payload["view"] = view
        else:
            channel = channel_id or "C0GENERAL"
            ts = message_ts or (message or {}).get("ts") or self._action_ts()
            payload["container"] = container or {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": False,
            }
            payload["channel"] = {"id": channel, "name": self._channel_name(channel)}
            payload["message"] = message or {
                "type": "message",
                "user": self.bot_user_id,
                "ts": ts,
                "text": "",
                "blocks": [],
            }
            payload["response_url"] = self._response_url("actions")
        payload["state"] = {"values": {}}
        payload["actions"] = [the_action]
        return self._send_payload(payload)

    def view_submission(
        self,
        *,
        user_id: str,
        callback_id: str,
        values: JSONDict,
        private_metadata: str = "",
        view_id: str = "V0001",
        trigger_id: str | None = None,
        blocks: list[JSONDict] | None = None,
    ) -> httpx.Response:
        """A `view_submission`: `values` is Slack's state.values, {block_id: {action_id: {...}}}."""
        view = {
            "id": view_id,
            "team_id": self.team_id,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values},
            "hash": f"{int(time.time())}.{secrets.token_urlsafe(6)}",
            "title": {"type": "plain_text", "text": "Pulsebot", "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel", "emoji": True},
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.api_app_id,
            "external_id": "",
            "app_installed_team_id": self.team_id,
            "bot_id": "B" + self.bot_user_id[1:],
        }
        payload = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": trigger_id or self.trigger_id(),
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._send_payload(payload)

    def message_shortcut(
        self,
        *,
        user_id: str,
        callback_id: str,
        channel_id: str,
        message: JSONDict,
        trigger_id: str | None = None,
    ) -> httpx.Response:
        """A message shortcut (`message_action`), with the message it was invoked on."""
        payload = {
            "type": "message_action",
            "token": self.verification_token,
            "action_ts": self._action_ts(),
            "team": self._team(),
            "user": self._user(user_id),
            "channel": {"id": channel_id, "name": self._channel_name(channel_id)},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": trigger_id or self.trigger_id(),
            "response_url": self._response_url("actions"),
            "message_ts": message.get("ts", ""),
            "message": message,
        }
        return self._send_payload(payload)

    def event(
        self,
        event: JSONDict,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> httpx.Response:
        """An Events API delivery; pass the same event_id with retry_num to model a retry."""
        envelope = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._counter):08d}{secrets.token_hex(2).upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + secrets.token_urlsafe(24),
        }
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        body = json.dumps(envelope, separators=(",", ":")).encode()
        return self._send(body, "application/json", headers)

    def url_verification(self, challenge: str) -> httpx.Response:
        """The handshake Slack sends when the Request URL is saved."""
        body = json.dumps(
            {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        ).encode()
        return self._send(body, "application/json")
