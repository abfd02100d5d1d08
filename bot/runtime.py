"""What runs beside the request path in `pulsebot run`: the sender, the Slack check, the
directory warm-up and the scheduler, as the process's role (`--role`) says.

- `all` (the default) serves Slack's requests and does everything else too: one process is a
  whole pulsebot.
- `web` serves Slack's requests and sends nothing itself: no sender, no scheduled job. Drawing
  a Monday's charts and building its digests hold the interpreter lock for seconds at a time;
  in a process of their own they never stand between a request and its ack.
- `worker` runs the sender and the scheduled jobs (the minute job: prompts, reminders, digests
  and their charts, retention) and serves no Slack request.

Every role runs the Slack check, so each knows the bot's ids and whether sending is stopped;
the roles that serve requests warm the directory cache their listeners read.

The Slack check outlives the start: while a workspace's sending is stopped (the app uninstalled,
its token revoked or refused), it tries auth.test again, every RECHECK_EVERY seconds or at once
when a request from Slack arrives, and a token that works again resumes sending. The server
keeps serving all along: `/healthz` says what is stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from enum import StrEnum

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import make_web_client
from bot.delivery.sender import SENDER_TIMEOUT, Builder, OutboxSender
from bot.deps import Deps, SlackConnection
from bot.jobs.minute import scheduled_job
from bot.notify.home import HOME_BUILDER
from bot.scheduler import build_scheduler
from bot.services import workspace
from handlers.home import home_builder
from handlers.users import sync_all

log = logging.getLogger(__name__)

RUN_DUE_EVERY = 30  # seconds: a prompt leaves at most this long after its local time
RECHECK_EVERY = 60.0  # seconds between two auth.tests while a workspace's sending is stopped
POLL_EVERY = 5.0  # seconds between two reads of whether it is
RECHECK_SPACING = 2.0  # seconds at least between two auth.tests that requests asked for
REFUSED = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked"})
MINUTE_JOB = "checkins-run-due"


def builders(deps: Deps) -> dict[str, Builder]:
    """What a sender builds as a row leaves (bot.delivery.outbox.BUILD): App Home's view."""
    return {HOME_BUILDER: home_builder(deps)}


class Role(StrEnum):
    """What one `pulsebot run` process does (`--role`); see the module docstring."""

    ALL = "all"
    WEB = "web"
    WORKER = "worker"

    @property
    def serves_slack(self) -> bool:
        """Answers Slack's requests (HTTP or Socket Mode)."""
        return self is not Role.WORKER

    @property
    def works(self) -> bool:
        """Runs the outbox sender and, unless told otherwise, the scheduled jobs."""
        return self is not Role.WEB


class Runtime:
    def __init__(
        self,
        deps: Deps,
        *,
        scheduler: bool = True,
        role: Role = Role.ALL,
        catch_up_at_start: bool = False,
        recheck_every: float = RECHECK_EVERY,
        poll_every: float = POLL_EVERY,
    ) -> None:
        """`scheduler`: run the scheduled jobs (a `web` role runs none whatever it says).
        `catch_up_at_start`: the minute job's first run is at start, not RUN_DUE_EVERY after
        it, so a worker restarted after a crash sends what is due at once."""
        self.deps = deps
        self.role = role
        self._recheck_every = recheck_every
        self._poll_every = poll_every
        self._stop = threading.Event()
        self.sender: OutboxSender | None = None
        if role.works:
            self.sender = OutboxSender(
                session_factory=deps.session_factory,
                client=make_web_client(deps.settings, timeout=SENDER_TIMEOUT),
                clock=deps.clock,
                post_rate=deps.settings.post_rate,
                wakeup=deps.outbox_wakeup,
                on_stop=self._sending_stopped,
                unit=deps.background_unit,
                builders=builders(deps),
            )
        self._threads: list[threading.Thread] = []
        self._client = make_web_client(deps.settings, timeout=SENDER_TIMEOUT)
        jobs: dict[str, tuple[Callable[[], object], dict[str, float]]] = {
            "directory-refresh": (self._refresh_directory, {"hours": 12}),
            MINUTE_JOB: (scheduled_job(deps), {"seconds": RUN_DUE_EVERY}),
        }
        self._scheduler = None
        if scheduler and role.works:
            self._scheduler = build_scheduler(
                jobs, start_now=[MINUTE_JOB] if catch_up_at_start else []
            )

    def start(self) -> None:
        if self.sender is not None:
            self._threads.append(self.sender.start_thread())
        checker = threading.Thread(target=self._check_slack, name="slack-check", daemon=True)
        checker.start()
        self._threads.append(checker)
        if self._scheduler is not None:
            self._scheduler.start()

    def stop(self) -> None:
        self._stop.set()
        self.deps.slack.recheck.set()
        if self.sender is not None:
            self.sender.stop()
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        for thread in self._threads:
            thread.join(timeout=5)

    def _check_slack(self) -> None:
        """auth.test in the background, retried while Slack is unreachable, then warm the cache;
        and again while a workspace's sending is stopped, until a token works and resumes it.

        Whether sending is stopped is read from the database every POLL_EVERY seconds, so every
        replica knows within that long, whichever of them heard of the stop."""
        status = self.deps.slack
        delay = 5.0
        warmed = False
        last_check = next_check = 0.0  # monotonic: the last auth.test, and when the next may run
        while not self._stop.is_set():
            if status.recheck.is_set():  # a request from Slack: check soon, not every time
                status.recheck.clear()
                next_check = min(next_check, last_check + RECHECK_SPACING)
            stops = self._stops()
            status.stopped = bool(stops)
            now = time.monotonic()
            if (stops or status.state != SlackConnection.OK) and now >= next_check:
                last_check, next_check = now, now + self._recheck_every
                if self._auth_test(self._client, stops):
                    delay = 5.0
                    self._resume(stops)
                    if not warmed and self.role.serves_slack and not self._stop.is_set():
                        self._refresh_directory()
                        warmed = True
                elif status.state == SlackConnection.UNREACHABLE:
                    next_check = now + delay
                    delay = min(delay * 2, 300.0)
            wait = self._poll_every
            if stops or status.state != SlackConnection.OK:
                wait = min(wait, max(next_check - time.monotonic(), 0.05))
            status.recheck.wait(wait)

    def _stops(self) -> list[workspace.Stop]:
        try:
            return self.deps.background_unit(workspace.stops)
        except Exception as error:  # the database is away: the sender and /healthz say so
            log.debug("Slack check: cannot read the workspaces' state (%s)", error)
            return []

    def _resume(self, stops: list[workspace.Stop]) -> None:
        """The token works: resume the workspace it belongs to, if its sending was stopped."""
        team_id = self.deps.slack.team_id
        if not team_id or all(stop.team_id != team_id for stop in stops):
            return
        now = self.deps.now()
        resumed = self.deps.background_unit(lambda session: workspace.resume(session, team_id, now))
        self.deps.slack.stopped = any(stop.team_id != team_id for stop in stops)
        if resumed is None:
            return  # another replica resumed it first, and said so
        log.info(
            "Slack: the token works again in %s (stopped since %s: %s); sending resumed, "
            "%d queued message(s) go out now",
            team_id,
            resumed.ended.since.isoformat(timespec="seconds"),
            resumed.ended.reason,
            resumed.waiting,
        )
        self.deps.notify_outbox()

    def _sending_stopped(self, team_id: str) -> None:
        """The sender stopped a workspace: requests from Slack now ask for a fresh check."""
        self.deps.slack.stopped = True

    def _refresh_directory(self) -> None:
        team_id = self.deps.slack.team_id
        if not team_id or self.deps.slack.stopped:
            return
        try:
            count = sync_all(self.deps, self._client, team_id)
            self.deps.slack.directory_complete = True
            log.info("Directory: %d users cached from users.list", count)
        except (SlackApiError, OSError) as error:
            log.warning("Directory refresh failed (%s); users are fetched as needed", error)

    def _auth_test(self, client: WebClient, stops: list[workspace.Stop]) -> bool:
        """One auth.test; a verdict is logged when it changes, never once per try."""
        status = self.deps.slack
        before = status.state
        try:
            response = client.auth_test()
        except SlackApiError as error:
            code = str(error.response.get("error"))
            if code in REFUSED:
                status.state = SlackConnection.INVALID_AUTH
                if before != SlackConnection.UNKNOWN:
                    return False  # said at the start, or where the stop happened
                if stops:  # this process starts while sending is stopped: say why it lasts
                    log.warning(
                        "Slack: sending stays stopped in %s (%s since %s): the token is "
                        "refused (%s). Reinstall the app, or set its new token in "
                        "SLACK_BOT_TOKEN.",
                        ", ".join(stop.team_id for stop in stops),
                        stops[0].reason,
                        stops[0].since.isoformat(timespec="seconds"),
                        code,
                    )
                else:
                    log.error(
                        "Slack: the bot token was refused (%s). Check SLACK_BOT_TOKEN "
                        "(OAuth & Permissions page of your app).",
                        code,
                    )
            else:
                status.state = SlackConnection.UNREACHABLE
                if before != SlackConnection.UNREACHABLE:
                    log.warning("Slack: auth.test failed (%s); will retry", code)
            return False
        except OSError as error:
            status.state = SlackConnection.UNREACHABLE
            if before != SlackConnection.UNREACHABLE:
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
        if before != SlackConnection.OK:
            log.info(
                "Slack: connected as @%s in %s (%s)",
                response.get("user"),
                response.get("team"),
                status.team_id,
            )
        return True
