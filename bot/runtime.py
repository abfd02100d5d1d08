"""What runs beside the request path in every `pulsebot run`: the sender, the Slack check,
the directory warm-up and the scheduler."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import make_web_client
from bot.delivery.sender import SENDER_TIMEOUT, OutboxSender
from bot.deps import Deps, SlackConnection
from bot.jobs.minute import scheduled_job
from bot.scheduler import build_scheduler
from handlers.users import sync_all

log = logging.getLogger(__name__)

RUN_DUE_EVERY = 30  # seconds: a prompt leaves at most this long after its local time


class Runtime:
    def __init__(self, deps: Deps, *, scheduler: bool = True) -> None:
        self.deps = deps
        self._with_scheduler = scheduler
        self._stop = threading.Event()
        self.sender = OutboxSender(
            session_factory=deps.session_factory,
            client=make_web_client(deps.settings, timeout=SENDER_TIMEOUT),
            clock=deps.clock,
            post_rate=deps.settings.post_rate,
            wakeup=deps.outbox_wakeup,
        )
        self._threads: list[threading.Thread] = []
        self._client = make_web_client(deps.settings, timeout=SENDER_TIMEOUT)
        jobs: dict[str, tuple[Callable[[], object], dict[str, float]]] = {
            "directory-refresh": (self._refresh_directory, {"hours": 12}),
            "checkins-run-due": (scheduled_job(deps), {"seconds": RUN_DUE_EVERY}),
        }
        self._scheduler = build_scheduler(jobs) if scheduler else None

    def start(self) -> None:
        self._threads.append(self.sender.start_thread())
        checker = threading.Thread(target=self._check_slack, name="slack-check", daemon=True)
        checker.start()
        self._threads.append(checker)
        if self._scheduler is not None:
            self._scheduler.start()

    def stop(self) -> None:
        self._stop.set()
        self.sender.stop()
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        for thread in self._threads:
            thread.join(timeout=5)

    def _check_slack(self) -> None:
        """auth.test in the background, retried while Slack is unreachable; then warm the cache."""
        client = self._client
        delay = 5.0
        while not self._stop.is_set():
            if self._auth_test(client):
                break
            if self.deps.slack.state == SlackConnection.INVALID_AUTH:
                return
            self._stop.wait(delay)
            delay = min(delay * 2, 300.0)
        if not self._stop.is_set():
            self._refresh_directory()

    def _refresh_directory(self) -> None:
        team_id = self.deps.slack.team_id
        if not team_id:
            return
        try:
            count = sync_all(self.deps, self._client, team_id)
            self.deps.slack.directory_complete = True
            log.info("Directory: %d users cached from users.list", count)
        except (SlackApiError, OSError) as error:
            log.warning("Directory refresh failed (%s); users are fetched as needed", error)

    def _auth_test(self, client: WebClient) -> bool:
        status = self.deps.slack
        try:
            response = client.auth_test()
        except SlackApiError as error:
            code = str(error.response.get("error"))
            if code in {"invalid_auth", "not_authed", "account_inactive", "token_revoked"}:
                status.state = SlackConnection.INVALID_AUTH
                log.error(
                    "Slack: the bot token was refused (%s). Check SLACK_BOT_TOKEN "
                    "(OAuth & Permissions page of your app).",
                    code,
                )
            else:
                status.state = SlackConnection.UNREACHABLE
                log.warning("Slack: auth.test failed (%s); will retry", code)
            return False
        except OSError as error:
            status.state = SlackConnection.UNREACHABLE
            log.warning(
                "Slack: unreachable at %s (%s); serving anyway, will retry",
                self.deps.settings.slack_api_url,
                error,
            )
            return False
        status.team_id = response.get("team_id")
        status.bot_user_id = response.get("user_id")
        status.bot_id = response.get("bot_id")
        status.state = SlackConnection.OK
        log.info(
            "Slack: connected as @%s in %s (%s)",
            response.get("user"),
            response.get("team"),
            status.team_id,
        )
        return True
