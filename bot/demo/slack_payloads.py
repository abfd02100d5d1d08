"""What Slack sends the app, built and signed as Slack does, posted to `/slack/events`.

A slash command is form fields, a click or a modal submission is a `payload=` form field holding
JSON, an event is a JSON `event_callback` envelope; each is signed with the wall clock (v0
HMAC-SHA256). The demo page never calls the app any other way, and the end-to-end tests send
the very same requests through their own HTTP client, so the shapes are written once, here.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from bot.demo.signing import signed_headers

JSONDict = dict[str, Any]
FORM = "application/x-www-form-urlencoded"
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
TIMEOUT = 10.0  # seconds; Slack itself gives up after 3

Answer = TypeVar("Answer")


@dataclass(frozen=True, slots=True)
class AppAnswer:
    """The app's HTTP answer: what Slack would read (an ack's body, a response_action)."""

    status: int
    body: bytes

    def json(self) -> JSONDict | None:
        try:
            value = json.loads(self.body) if self.body.strip() else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
        return value if isinstance(value, dict) else None


class SlackSender(Generic[Answer]):
    """Signed requests for one workspace; `post_raw` carries the bytes and its answer is
    returned as is, so the demo (urllib, `AppAnswer`) and the tests (httpx, in-process
    transports) share every payload shape without sharing a transport."""

    def __init__(
        self,
        post_raw: Callable[[bytes, dict[str, str]], Answer],
        signing_secret: str,
        *,
        team_id: str,
        team_domain: str,
        api_app_id: str,
        bot_user_id: str,
        hooks_url: str,
        verification_token: str,
    ) -> None:
        self.post_raw = post_raw
        self._secret = signing_secret
        self.team_id = team_id
        self.team_domain = team_domain
        self.api_app_id = api_app_id
        self.bot_user_id = bot_user_id
        self.hooks_url = hooks_url.rstrip("/")
        self._token = verification_token
        self._counter = itertools.count(1)

    # ----- ids and signing ---------------------------------------------------------------------

    def trigger_id(self) -> str:
        """Slack's `digits.digits.hex` shape; single-use in Slack and in the emulator."""
        serial = f"{int(time.time())}{next(self._counter):04d}"
        return f"{serial}.{secrets.randbelow(10**9):09d}.{secrets.token_hex(16)}"

    def response_url(self, kind: str) -> str:
        n = next(self._counter)
        return f"{self.hooks_url}/{kind}/{self.team_id}/{n}/{secrets.token_urlsafe(18)}"

    def action_ts(self) -> str:
        now = time.time()
        return f"{int(now)}.{int(now * 1_000_000) % 1_000_000:06d}"

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The two headers Slack adds; an old timestamp tests the app's 5-minute window."""
        return signed_headers(self._secret, body, timestamp)

    # ----- request kinds -----------------------------------------------------------------------

    def command(
        self,
        command: str,
        text: str,
        *,
        user: JSONDict,
        channel_id: str,
        channel_name: str,
        trigger_id: str,
        response_url: str,
        extra: Mapping[str, str] | None = None,
    ) -> Answer:
        """A slash command: form fields in Slack's order; `text` already escaped; `extra` adds
        or overrides fields."""
        fields = {
            "token": self._token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user["id"],
            "user_name": user["name"],
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        fields.update(extra or {})
        return self._send(urlencode(fields).encode(), FORM)

    def block_actions(
        self,
        *,
        user: JSONDict,
        action: JSONDict,
        trigger_id: str,
        message: JSONDict | None = None,
        channel: JSONDict | None = None,
        view: JSONDict | None = None,
        state: JSONDict | None = None,
        container: JSONDict | None = None,
        response_url: str | None = None,
    ) -> Answer:
        """A click in a message (`message` and `channel`) or in a modal or Home tab (`view`);
        `container` replaces the one Slack would derive from them. A click in an ephemeral
        message has its container and `channel` but no `message`: Slack keeps none."""
        payload: JSONDict = {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": self.api_app_id,
            "token": self._token,
            "trigger_id": trigger_id,
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if view is not None:
            payload["container"] = container or {
                "type": "view",
                "view_id": view["id"],
            }
            payload["view"] = view
        else:
            assert channel is not None and (message is not None or container is not None)
            payload["container"] = container or {
                "type": "message",
                "message_ts": message["ts"] if message is not None else "",
                "channel_id": channel["id"],
                "is_ephemeral": False,
            }
            payload["channel"] = channel
            if message is not None:
                payload["message"] = message
            payload["response_url"] = response_url or self.response_url("actions")
        payload["state"] = {"values": state or {}}
        payload["actions"] = [{**action, "action_ts": self.action_ts()}]
        return self._send_payload(payload)

    def message_shortcut(
        self,
        *,
        user: JSONDict,
        callback_id: str,
        channel: JSONDict,
        message: JSONDict,
        trigger_id: str,
    ) -> Answer:
        """A message shortcut (`message_action`), with the message it was invoked on."""
        payload = {
            "type": "message_action",
            "token": self._token,
            "action_ts": self.action_ts(),
            "team": self._team(),
            "user": self._user(user),
            "channel": channel,
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": trigger_id,
            "response_url": self.response_url("actions"),
            "message_ts": message.get("ts", ""),
            "message": message,
        }
        return self._send_payload(payload)

    def view_submission(self, *, user: JSONDict, view: JSONDict, trigger_id: str) -> Answer:
        """`view` as Slack holds it, with `state.values` filled from the form."""
        payload = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user),
            "api_app_id": self.api_app_id,
            "token": self._token,
            "trigger_id": trigger_id,
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._send_payload(payload)

    def view_closed(self, *, user: JSONDict, view: JSONDict) -> Answer:
        """Sent only for views with `notify_on_close`, as Slack does."""
        payload = {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user(user),
            "api_app_id": self.api_app_id,
            "token": self._token,
            "view": view,
            "is_cleared": False,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._send_payload(payload)

    def event(
        self,
        event: JSONDict,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> Answer:
        """An Events API delivery; the same event_id with retry_num is Slack's redelivery."""
        envelope = {
            "token": self._token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._counter):08d}{secrets.token_hex(3).upper()}",
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
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        body = json.dumps(envelope, separators=(",", ":")).encode()
        return self._send(body, "application/json", headers)

    def reaction(
        self,
        *,
        added: bool,
        user_id: str,
        name: str,
        channel_id: str,
        message_ts: str,
        item_user: str | None,
        event_id: str | None = None,
    ) -> Answer:
        """`reaction_added` (or `_removed`) on a message, as Slack sends it: `item_user` is
        absent for a message no user wrote (a webhook's); `item.channel_type` is Slack's."""
        channel_type = {"C": "channel", "G": "group", "D": "im"}.get(channel_id[:1], "channel")
        event: JSONDict = {
            "type": "reaction_added" if added else "reaction_removed",
            "user": user_id,
            "reaction": name,
            "item": {
                "type": "message",
                "channel": channel_id,
                "ts": message_ts,
                "channel_type": channel_type,
            },
            "event_ts": self.action_ts(),
        }
        if item_user:
            event["item_user"] = item_user
        return self.event(event, event_id=event_id)

    def url_verification(self, challenge: str) -> Answer:
        """The handshake Slack sends when the Request URL is saved."""
        body = json.dumps(
            {"token": self._token, "challenge": challenge, "type": "url_verification"}
        ).encode()
        return self._send(body, "application/json")

    # ----- plumbing ----------------------------------------------------------------------------

    def _team(self) -> JSONDict:
        return {"id": self.team_id, "domain": self.team_domain}

    def _user(self, user: JSONDict) -> JSONDict:
        return {
            "id": user["id"],
            "username": user["name"],
            "name": user["name"],
            "team_id": self.team_id,
        }

    def _send_payload(self, payload: JSONDict) -> Answer:
        body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
        return self._send(body, FORM)

    def _send(
        self, body: bytes, content_type: str, extra_headers: dict[str, str] | None = None
    ) -> Answer:
        headers = {"Content-Type": content_type, "User-Agent": SLACK_USER_AGENT}
        headers.update(self.sign(body))
        headers.update(extra_headers or {})
        return self.post_raw(body, headers)


class SlackPayloads(SlackSender[AppAnswer]):
    """The demo's Slack: signed requests to one app URL over urllib, as Slack's servers send."""

    def __init__(
        self,
        events_url: str,
        signing_secret: str,
        *,
        team_id: str,
        team_domain: str,
        api_app_id: str,
        bot_user_id: str,
        hooks_url: str,
        verification_token: str = "demo-verification-token",
    ) -> None:
        super().__init__(
            self._post,
            signing_secret,
            team_id=team_id,
            team_domain=team_domain,
            api_app_id=api_app_id,
            bot_user_id=bot_user_id,
            hooks_url=hooks_url,
            verification_token=verification_token,
        )
        self.events_url = events_url

    def _post(self, body: bytes, headers: dict[str, str]) -> AppAnswer:
        request = urllib.request.Request(self.events_url, data=body, headers=headers)
        # No proxy: the app is on 127.0.0.1, whatever http_proxy says.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=TIMEOUT) as response:
                return AppAnswer(response.status, response.read())
        except urllib.error.HTTPError as error:
            return AppAnswer(error.code, error.read())
