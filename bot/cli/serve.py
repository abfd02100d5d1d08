"""`pulsebot run`: check the settings and the schema, then serve Slack under uvicorn.

Start-up never depends on reaching Slack; it does depend on the database, so an unreachable
database or a schema behind this code stops it with one line, before anything serves.

`--role` splits the work between processes (bot/runtime.py): `web` answers Slack, `worker`
sends and runs the scheduled jobs, `all` does both.
"""

from __future__ import annotations

import argparse
import gc
import logging
from collections.abc import Callable

import uvicorn
from sqlalchemy.exc import DBAPIError

from bot import logs
from bot.app import build_app
from bot.cli.common import ConfigError, describe_missing, load_settings
from bot.deps import Deps
from bot.runtime import Role, Runtime
from bot.server import create_asgi
from bot.settings import Settings
from storage.engine import is_sqlite, make_engine, make_session_factory
from storage.migrate import schema_ahead, schema_behind, upgrade

log = logging.getLogger("pulsebot")


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = verbs.add_parser(
        "run",
        help="serve Slack (HTTP mode, or Socket Mode with an app token)",
        description="Serve the Slack app: slash commands, shortcuts, buttons and forms on POST "
        "/slack/events (or over Socket Mode when SLACK_APP_TOKEN is set), /healthz and /metrics "
        "beside them, the outbox sender, and the scheduler that sends check-ins, reminders and "
        "digests when they are due. It checks the settings and the database schema first and "
        "stops with one line if either is wrong; reaching Slack is retried in the background.",
    )
    run.add_argument(
        "--socket", action="store_true", help="use Socket Mode (needs SLACK_APP_TOKEN)"
    )
    run.add_argument("--no-scheduler", action="store_true", help="serve without the scheduled jobs")
    run.add_argument(
        "--role",
        choices=[role.value for role in Role],
        default=Role.ALL.value,
        help="all (default): serve Slack and send and run the scheduled jobs, one process for "
        "everything; web: serve Slack's requests only; worker: send and run the scheduled jobs "
        "(digests, charts, prompts) and serve no Slack request, so their work never slows an "
        "ack. Run web replicas beside at least one worker",
    )
    run.add_argument("--host", help="bind address (default HOST or 0.0.0.0)")
    run.add_argument("--port", type=int, help="port (default PORT or 3000)")
    run.set_defaults(handler=run_server)


def run_server(args: argparse.Namespace) -> int:
    settings = load_settings()
    role = Role(args.role)
    if args.socket and not role.serves_slack:
        raise ConfigError(
            "--socket serves Slack's requests over Socket Mode; a --role worker serves none. "
            "Give --socket to the web (or all) process."
        )
    socket_mode = role.serves_slack and (args.socket or settings.slack_app_token is not None)
    if socket_mode and settings.slack_app_token is None:
        raise ConfigError(
            "SLACK_APP_TOKEN is not set. Socket Mode needs an app-level token (xapp-...) with "
            "connections:write: api.slack.com/apps -> your app -> Basic Information -> App-Level "
            "Tokens (see README)."
        )
    if role.serves_slack and not socket_mode and settings.slack_signing_secret is None:
        raise ConfigError(describe_missing("SLACK_SIGNING_SECRET"))
    logs.configure(settings.log_level, settings.log_format)
    serve(
        settings,
        socket_mode=socket_mode,
        scheduler=not args.no_scheduler,
        host=args.host or settings.host,
        port=args.port or settings.port,
        role=role,
    )
    return 0


def serve(
    settings: Settings,
    *,
    socket_mode: bool,
    scheduler: bool,
    host: str,
    port: int,
    role: Role = Role.ALL,
) -> None:
    engine = make_engine(settings.database_url)
    try:
        ahead = schema_ahead(engine, settings.database_url)
        if is_sqlite(settings.database_url) and ahead is None:
            upgrade(settings.database_url)
        behind = schema_behind(engine, settings.database_url)
    except DBAPIError as error:
        engine.dispose()
        reason = " ".join(str(error.orig).split())  # psycopg's message spans lines
        raise ConfigError(f"cannot reach the database: {reason}") from None
    if behind is not None:
        engine.dispose()
        raise ConfigError(behind)
    if ahead is not None:
        log.warning(
            "The database is at revision %s, newer than this pulsebot knows; serving, since "
            "migrations stay backward compatible for one release.",
            ahead,
        )
    deps = Deps(settings=settings, session_factory=make_session_factory(engine))
    app = build_app(settings, deps) if role.serves_slack else None
    runtime = Runtime(deps, scheduler=scheduler, role=role, catch_up_at_start=True)
    stop_socket: Callable[[], None] | None = None
    if socket_mode:
        assert app is not None
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        assert settings.slack_app_token is not None
        handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
        handler.connect()  # type: ignore[no-untyped-call]  # slack_bolt leaves it unannotated
        stop_socket = handler.close
        log.info("Socket Mode: connected; HTTP still serves /healthz and /metrics")
    if app is None:
        log.info(
            "pulsebot worker: sending and running the scheduled jobs; GET /healthz and /metrics "
            "on http://%s:%d",
            host,
            port,
        )
    else:
        log.info(
            "pulsebot %slistening on http://%s:%d (POST /slack/events, GET /healthz)",
            "web (no sending, no scheduled jobs) " if not role.works else "",
            host,
            port,
        )
    # Everything built so far (modules, the app, SQLAlchemy's and Bolt's objects) lives as long
    # as the process: frozen out of the collector's sight, a full collection no longer walks
    # them. Walking them took ~50 ms with the whole process stopped, every few thousand
    # requests: the p99 of every request in flight at that moment.
    gc.collect()
    gc.freeze()
    try:
        uvicorn.run(
            create_asgi(app, deps, runtime),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
    finally:
        if stop_socket is not None:
            stop_socket()
        engine.dispose()
