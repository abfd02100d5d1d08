"""Requests to the app shaped and signed exactly as Slack sends them, through httpx.

End-to-end tests drive the real server through its public door, `/slack/events`, so the
signature check, Bolt's parsing and the listeners all run as in production. The payloads are
the demo's (`bot.demo.slack_payloads`), so tests and demo cannot drift apart; this module only
fills in what a test leaves out (a user named after its id, #general, a fresh trigger_id).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from bot.demo.emulator.views import view_object
from bot.demo.slack_payloads import SlackSender

JSONDict = dict[str, Any]


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
        self.path = path
        self._owns_client = client is None
        self.client = client or httpx.Client(timeout=10.0)
        self.payloads = SlackSender(
            self.post_raw,
            signing_secret,
            team_id=team_id,
            team_domain=team_domain,
            api_app_id=api_app_id,
            bot_user_id=bot_user_id,
            hooks_url=response_url_base or "https://hooks.slack.com/",
            verification_token=verification_token,
        )

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
        return self.payloads.sign(body, timestamp)

    def post_raw(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """Send bytes with exactly these headers (bad or stale signatures, odd content types)."""
        return self.client.post(self.base_url + self.path, content=body, headers=headers)

    def trigger_id(self) -> str:
        return self.payloads.trigger_id()

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
        """A slash command; `extra` adds or overrides form fields."""
        return self.payloads.command(
            command,
            text,
            user=_user(user_id),
            channel_id=channel_id,
            channel_name=_channel_name(channel_id),
            response_url=response_url or self.payloads.response_url("commands"),
            trigger_id=trigger_id or self.trigger_id(),
            extra=extra,
        )

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
            **(action or {}),
        }
        user = _user(user_id)
        trigger_id = trigger_id or self.trigger_id()
        if view is not None:
            return self.payloads.block_actions(
                user=user, action=the_action, trigger_id=trigger_id, view=view, container=container
            )
        channel = channel_id or "C0GENERAL"
        ts = message_ts or (message or {}).get("ts") or self.payloads.action_ts()
        bot_user_id = self.payloads.bot_user_id
        return self.payloads.block_actions(
            user=user,
            action=the_action,
            trigger_id=trigger_id,
            message=message
            or {"type": "message", "user": bot_user_id, "ts": ts, "text": "", "blocks": []},
            channel={"id": channel, "name": _channel_name(channel)},
            container=container,
        )

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
        modal = {
            "type": "modal",
            "title": {"type": "plain_text", "text": "Pulsebot", "emoji": True},
            "close": {"type": "plain_text", "text": "Cancel", "emoji": True},
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
        }
        view = view_object(
            modal,
            view_id,
            None,
            team_id=self.payloads.team_id,
            app_id=self.payloads.api_app_id,
            bot_id="B" + self.payloads.bot_user_id[1:],
        )
        view["state"] = {"values": values}
        return self.payloads.view_submission(
            user=_user(user_id), view=view, trigger_id=trigger_id or self.trigger_id()
        )

    def message_shortcut(
        self,
        *,
        user_id: str,
        callback_id: str,
        channel_id: str,
        message: JSONDict,
        trigger_id: str | None = None,
    ) -> httpx.Response:
        return self.payloads.message_shortcut(
            user=_user(user_id),
            callback_id=callback_id,
            channel={"id": channel_id, "name": _channel_name(channel_id)},
            message=message,
            trigger_id=trigger_id or self.trigger_id(),
        )

    def event(
        self,
        event: JSONDict,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> httpx.Response:
        return self.payloads.event(
            event, event_id=event_id, retry_num=retry_num, retry_reason=retry_reason
        )

    def reaction(
        self,
        user_id: str,
        name: str,
        message: JSONDict,
        *,
        channel_id: str = "C0GENERAL",
        added: bool = True,
        event_id: str | None = None,
    ) -> httpx.Response:
        """A reaction added (or removed) by `user_id` on `message` (as the emulator stored it:
        its `user` is the event's `item_user`)."""
        return self.payloads.reaction(
            added=added,
            user_id=user_id,
            name=name,
            channel_id=channel_id,
            message_ts=str(message["ts"]),
            item_user=message.get("user"),
            event_id=event_id,
        )

    def url_verification(self, challenge: str) -> httpx.Response:
        return self.payloads.url_verification(challenge)


def _user(user_id: str) -> JSONDict:
    """Tests name people by id; Slack also sends a handle, here the id in lower case."""
    return {"id": user_id, "name": user_id.lower()}


def _channel_name(channel_id: str) -> str:
    if channel_id.startswith("D"):
        return "directmessage"
    return "general" if channel_id == "C0GENERAL" else channel_id.lower()
