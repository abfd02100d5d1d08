"""The composition root for Slack: one Bolt App, built explicitly, never at import time."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_bolt.logger.messages import (
    warning_client_prioritized_and_token_skipped,
    warning_token_skipped,
)
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient

from bot.deps import CONTEXT_KEY, Deps
from bot.settings import Settings
from handlers import (
    answer_team,
    checkin_setup,
    checkins,
    digest,
    feedback,
    feedback_requests,
    goal_closing,
    goals,
    home,
    kudos,
    messages_im,
    privacy,
    reactions,
    users,
    workspace,
)

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 2  # seconds: a listener's call must leave time to ack within Slack's 3 s


def make_web_client(settings: Settings, *, timeout: int = REQUEST_TIMEOUT) -> WebClient:
    """Every WebClient the app makes: our API URL, and no retry handler (we retry ourselves)."""
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[],
    )


def build_app(settings: Settings, deps: Deps, client: WebClient | None = None) -> App:
    """Listeners run before the HTTP answer (`process_before_response`): validate, commit, ack.

    Authorization comes from our settings instead of an auth.test on the first request, so
    serving never depends on reaching Slack; the background check fills in the bot's ids.
    """
    client = client or make_web_client(settings)
    token = settings.slack_bot_token.get_secret_value()

    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    )
    with _quiet_token_notices():
        app = App(
            client=client,
            signing_secret=secret,
            authorize=_FromSettings(token, deps),
            token_verification_enabled=False,
            process_before_response=True,
            request_verification_enabled=True,
        )
    app.use(_ProvideDeps(deps))
    app.use(_NoticeReinstall(deps))
    for feature in (
        users,
        workspace,
        kudos,
        reactions,
        home,
        checkins,
        checkin_setup,
        digest,
        messages_im,
        feedback,
        feedback_requests,
        answer_team,
        privacy,
        goals,
        goal_closing,
    ):
        feature.register(app)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        log.error(
            "listener failed for %s: %r",
            body.get("type") or body.get("command"),
            error,
            exc_info=error,
        )
        return apology(body)

    return app


class _ProvideDeps(Middleware):
    """Puts Deps in every request's context, where listeners (plain top-level functions) find
    it with `bot.deps.deps_of`. A Middleware subclass, not a decorated function: Bolt calls a
    function through CustomMiddleware, which builds every argument it could pass each time."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],
    ) -> BoltResponse | None:
        req.context[CONTEXT_KEY] = self._deps
        return next()


class _NoticeReinstall(Middleware):
    """While sending is stopped (uninstalled, token revoked), any request from Slack but the
    stop's own events wakes the background check: Slack sends nothing to an app it does not
    have installed, so this may be a reinstall, and an auth.test tells. One flag read otherwise.
    """

    STOP_EVENTS = frozenset({"app_uninstalled", "tokens_revoked"})

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],
    ) -> BoltResponse | None:
        status = self._deps.slack
        if status.stopped:
            event = req.body.get("event") if isinstance(req.body, dict) else None
            kind = event.get("type") if isinstance(event, dict) else None
            if kind not in self.STOP_EVENTS:
                status.recheck.set()
        return next()


class _FromSettings(Authorize):
    """The bot token from our settings and the bot's ids from the background auth.test.

    An `Authorize` rather than a plain function: Bolt calls a function through
    `CallableAuthorize`, which builds every argument it could pass, on every request.
    """

    def __init__(self, token: str, deps: Deps) -> None:
        self._token = token
        self._deps = deps

    def __call__(
        self,
        *,
        context: BoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_: Any,
    ) -> AuthorizeResult:
        status = self._deps.slack
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id or status.team_id,
            bot_token=self._token,
            bot_user_id=status.bot_user_id,
            bot_id=status.bot_id,
        )


SORRY = (
    ":warning: Sorry, something went wrong on our side and nothing was saved. "
    "Please try again in a minute; if it keeps happening, tell your pulsebot admin."
)


def apology(body: dict[str, Any]) -> BoltResponse | None:
    """What a person sees when a listener fails: a kind message, never a stack trace.

    Events keep Bolt's 500 so that Slack retries them; a person's own action gets an answer.
    """
    if "command" in body:
        return _json_response({"response_type": "ephemeral", "text": SORRY})
    if body.get("type") == "view_submission":
        view = {
            "type": "modal",
            "title": {"type": "plain_text", "text": "pulsebot"},
            "close": {"type": "plain_text", "text": "Close"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": SORRY}}],
        }
        return _json_response({"response_action": "update", "view": view})
    return None


def _json_response(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200,
        body=json.dumps(payload),
        headers={"content-type": "application/json;charset=utf-8"},
    )


class _DropTokenNotices(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment even when given a client and an
    authorize function, then warns that it will not use it. We pass both on purpose."""

    NOTICES = (
        warning_client_prioritized_and_token_skipped(),
        warning_token_skipped(),
    )

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in self.NOTICES


@contextmanager
def _quiet_token_notices() -> Iterator[None]:
    bolt_logger = logging.getLogger("slack_bolt.App")
    notice_filter = _DropTokenNotices()
    bolt_logger.addFilter(notice_filter)
    try:
        yield
    finally:
        bolt_logger.removeFilter(notice_filter)
