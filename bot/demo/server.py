"""`pulsebot demo`: the emulator, the real app and the page, in one process, on 127.0.0.1.

The app is built exactly as `pulsebot run` builds it (`build_app`, `Runtime`, `create_asgi`,
uvicorn), with a generated token and signing secret that only the emulator and the page know,
on a fresh SQLite file in a temporary directory that is removed on exit. One DemoClock is the
app's clock, the sender's and the emulator's; request signing stays on the wall clock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import sys
import tempfile
import threading
import time
import webbrowser
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from sqlalchemy import Engine

from bot import logs
from bot.app import build_app
from bot.demo import company, page
from bot.demo import goals as demo_goals
from bot.demo.clock import DemoClock
from bot.demo.emulator import SlackEmulator
from bot.demo.seed import SeedSummary, seed_company
from bot.demo.slack_payloads import SlackPayloads
from bot.demo.workspace import Workspace
from bot.deps import Deps
from bot.jobs.digests import DigestPolicy
from bot.jobs.minute import run_due
from bot.runtime import Runtime
from bot.server import create_asgi
from bot.services import checkins, org, templates
from bot.services.schedule import parse_time, slots_between
from bot.settings import Settings
from storage.engine import make_engine, make_session_factory
from storage.migrate import upgrade

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # never another interface: the demo has no authentication
POST_RATE = 50.0  # the demo's workspace has no neighbours to share Slack's rate with
STOPS_WITHIN = timedelta(days=14)  # how far back from a jump's target it stops on the way


class PortInUse(Exception):
    """The port is taken; the CLI says so in one line."""


class Demo:
    """Everything `pulsebot demo` runs; a context manager so tests start and stop it too."""

    def __init__(self, port: int = 3000, *, start: datetime | None = None) -> None:
        self.port = port
        self.clock = DemoClock(start)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._engine: Engine | None = None
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.emulator: SlackEmulator | None = None
        self.deps: Deps | None = None
        self.workspace: Workspace | None = None
        self.summary: SeedSummary | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/demo"

    # ----- building --------------------------------------------------------------------------

    def prepare(self) -> uvicorn.Server:
        """Bind the port, seed the company and build the server (not yet serving)."""
        self._socket = _bind(self.port)
        self.port = int(self._socket.getsockname()[1])
        self._tmp = tempfile.TemporaryDirectory(prefix="pulsebot-demo-")
        database_url = f"sqlite:///{Path(self._tmp.name) / 'demo.db'}"
        upgrade(database_url)
        token = "xoxb-demo-" + secrets.token_hex(12)
        signing_secret = secrets.token_hex(16)
        emulator = SlackEmulator(
            bot_token=token,
            team_id=company.TEAM_ID,
            bot_user_id=company.BOT_USER_ID,
            clock=self.clock.epoch,
        ).start()
        self.emulator = emulator
        settings = _settings(database_url, emulator.url, token, signing_secret)
        self._engine = make_engine(database_url)
        deps = Deps(
            settings=settings,
            session_factory=make_session_factory(self._engine),
            clock=self.clock,
        )
        self.deps = deps
        self.summary = seed_company(deps, emulator, self.clock())
        payloads = SlackPayloads(
            f"http://{HOST}:{self.port}/slack/events",
            signing_secret,
            team_id=company.TEAM_ID,
            team_domain=emulator.TEAM_DOMAIN,
            api_app_id=emulator.app_id,
            bot_user_id=company.BOT_USER_ID,
            hooks_url=emulator.hooks_url,
        )

        def checkins_due(now: datetime) -> None:
            summary = run_due(deps, now)
            if summary.messages:
                deps.notify_outbox()

        def stops(start: datetime, end: datetime) -> list[datetime]:
            return due_instants(deps, start, end)

        self.workspace = Workspace(
            emulator,
            payloads,
            self.clock,
            jump=self.clock.jump_to,
            due_jobs=[checkins_due],  # digest and feedback jobs join here
            stops=stops,
            reactions=list(settings.kudos_reactions),
        )

        def next_checkin(user_id: str) -> datetime | None:
            """The person's next check-in; for a manager with none, their team's next."""
            now = self.clock()
            with deps.unit_of_work() as session:
                found = checkins.next_checkin(session, company.TEAM_ID, user_id, now)
                if found is not None:
                    return found[1]
                team = [
                    checkins.next_checkin(session, company.TEAM_ID, report, now)
                    for report in org.reports_of(session, company.TEAM_ID, user_id)
                ]
            instants = [t[1] for t in team if t is not None]
            return min(instants) if instants else None

        routes = page.routes(self.workspace, next_checkin, company.DEFAULT_PERSON)
        app = build_app(settings, deps)
        asgi = create_asgi(app, deps, Runtime(deps, scheduler=True), extra_routes=routes)
        config = uvicorn.Config(
            asgi, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=5
        )
        self._server = uvicorn.Server(config)
        return self._server

    def serve(self) -> None:
        """Serve in this thread until Ctrl-C (uvicorn handles the signal and shuts down)."""
        server = self.prepare() if self._server is None else self._server
        assert self._socket is not None
        server.run(sockets=[self._socket])

    # ----- in a thread, for tests --------------------------------------------------------------

    def __enter__(self) -> Demo:
        server = self.prepare()
        assert self._socket is not None
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the demo server did not start")
            time.sleep(0.02)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        self.close()

    def close(self) -> None:
        """Stop the emulator, close the database and remove the temporary files."""
        if self.emulator is not None:
            self.emulator.stop()
        if self._engine is not None:
            self._engine.dispose()
        if self._socket is not None:
            self._socket.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def due_instants(deps: Deps, start: datetime, end: datetime) -> list[datetime]:
    """When something is due in (start, end]: each check-in's time and its reminder's, and each
    manager's digest time, in their own zones. A jump stops at each, as a running server would
    have run what was due then; run once at the end instead, every prompt on the way would go
    out late and say "Sorry this comes late: pulsebot was unavailable at the usual time"."""
    # Only the last two weeks of a long jump: what fell due before closed long ago (written as
    # missed on arrival, as after an outage), and a jump of months stays a moment.
    start = max(start, end - STOPS_WITHIN)
    zones = {p.user_id: p.tz for p in company.PEOPLE}
    policy = DigestPolicy.from_settings(deps.settings)
    found: set[datetime] = set()
    with deps.unit_of_work() as session:
        infos = templates.list_templates(session, company.TEAM_ID)
    for info in infos:
        plan = info.definition
        if not plan.active:
            continue
        begin = max(start, info.schedule_from) if info.schedule_from else start
        for member in plan.member_ids:
            for slot in slots_between(
                plan.weekdays, parse_time(plan.local_time), zones.get(member), begin, end
            ):
                found.add(slot.at)
                if plan.remind_after is not None:
                    found.add(slot.at + plan.remind_after)
    for manager in {p.manager for p in company.PEOPLE if p.manager}:
        for slot in slots_between([policy.weekday], policy.at, zones.get(manager), start, end):
            found.add(slot.at)
    return sorted(t for t in found if start < t <= end)


def _settings(database_url: str, api_url: str, token: str, signing_secret: str) -> Settings:
    """Every value given, so nothing from the environment or a .env changes the demo."""
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_APP_TOKEN": "",
        "SLACK_API_URL": api_url,
        "DATABASE_URL": database_url,
        "HOST": HOST,
        "PULSEBOT_KUDOS_CHANNEL": company.KUDOS_CHANNEL,
        "PULSEBOT_KUDOS_DAILY_LIMIT": 5,
        "PULSEBOT_VALUES": ",".join(company.VALUES),
        "PULSEBOT_KUDOS_REACTIONS": company.KUDOS_REACTIONS,
        "PULSEBOT_POST_RATE": POST_RATE,
        "PULSEBOT_ADMINS": ",".join(demo_goals.ADMINS),
        "PULSEBOT_GOAL_CYCLE": "quarter",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text",
    }
    return Settings(_env_file=None, **values)


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A restart right after Ctrl-C may reuse the port (its old connections linger a while);
    # a port someone is listening on stays refused.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as error:
        sock.close()
        raise PortInUse(
            f"port {port} on {HOST} is in use ({error.strerror}); try `pulsebot demo --port "
            f"{port + 1}`."
        ) from None
    sock.listen(128)  # a browser opened before uvicorn starts waits instead of being refused
    return sock


def has_desktop() -> bool:
    """A browser can open here: macOS, Windows, or a Linux/BSD session with a display."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(port: int, *, open_browser: bool) -> int:
    """The CLI verb: build, print the address, open a browser, serve until Ctrl-C."""
    logs.configure("WARNING", "text")
    started = time.monotonic()
    demo = Demo(port)
    try:
        demo.prepare()
    except PortInUse as error:
        print(f"pulsebot demo: {error}", file=sys.stderr)
        demo.close()
        return 2
    try:
        print(
            f"pulsebot demo: {demo.summary} seeded in {time.monotonic() - started:.1f} s.\n"
            f"Open {demo.url}  (Ctrl-C stops it and removes its temporary files)",
            flush=True,
        )
        if open_browser and has_desktop():
            with contextlib.suppress(webbrowser.Error):
                webbrowser.open(demo.url)
        # uvicorn shuts down gracefully on Ctrl-C, then raises the signal again for us.
        with contextlib.suppress(KeyboardInterrupt):
            demo.serve()
    finally:
        demo.close()
    print("pulsebot demo: stopped; temporary files removed.")
    return 0
