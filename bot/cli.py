"""`pulsebot` command line (DESIGN.md section 5)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from bot import logs
from bot.settings import (
    DatabaseSettings,
    Settings,
    describe_problem,
    get_database_settings,
    get_settings,
)

log = logging.getLogger("pulsebot")

EXIT_CONFIG = 2


class ConfigError(Exception):
    """A setting is missing or wrong: one line for the operator, exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return EXIT_CONFIG
    try:
        return int(args.handler(args) or 0)
    except ConfigError as error:
        print(f"pulsebot: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pulsebot", description="Check-ins, two-way feedback and kudos for Slack."
    )
    verbs = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = verbs.add_parser("run", help="serve Slack (HTTP mode, or Socket Mode with an app token)")
    run.add_argument(
        "--socket", action="store_true", help="use Socket Mode (needs SLACK_APP_TOKEN)"
    )
    run.add_argument("--no-scheduler", action="store_true", help="serve without the scheduled jobs")
    run.add_argument("--host", help="bind address (default HOST or 0.0.0.0)")
    run.add_argument("--port", type=int, help="port (default PORT or 3000)")
    run.set_defaults(handler=_run)

    db = verbs.add_parser("db", help="database maintenance")
    db_verbs = db.add_subparsers(title="db commands", metavar="COMMAND", required=True)
    upgrade = db_verbs.add_parser("upgrade", help="apply the migrations up to the latest")
    upgrade.set_defaults(handler=_db_upgrade)
    return parser


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as error:
        raise ConfigError(describe_problem(error)) from None


def _database_settings() -> DatabaseSettings:
    try:
        return get_database_settings()
    except ValidationError as error:
        raise ConfigError(describe_problem(error)) from None


def _db_upgrade(_: argparse.Namespace) -> int:
    from storage.migrate import upgrade

    settings = _database_settings()
    logs.configure(settings.log_level, settings.log_format)
    upgrade(settings.database_url)
    print("Database is up to date.")
    return 0


def _run(args: argparse.Namespace) -> int:
    settings = _settings()
    socket_mode = args.socket or settings.slack_app_token is not None
    if socket_mode and settings.slack_app_token is None:
        raise ConfigError(
            "SLACK_APP_TOKEN is not set. Socket Mode needs an app-level token (xapp-...) with "
            "connections:write: api.slack.com/apps -> your app -> Basic Information -> App-Level "
            "Tokens (see README)."
        )
    if not socket_mode and settings.slack_signing_secret is None:
        raise ConfigError(describe_missing("SLACK_SIGNING_SECRET"))
    logs.configure(settings.log_level, settings.log_format)
    _serve(
        settings,
        socket_mode=socket_mode,
        scheduler=not args.no_scheduler,
        host=args.host or settings.host,
        port=args.port or settings.port,
    )
    return 0


def describe_missing(name: str) -> str:
    from bot.settings import WHERE_TO_GET

    return (
        f"{name} is not set. Get it from {WHERE_TO_GET[name]}, then put it in the environment "
        "or .env."
    )


def _serve(settings: Settings, *, socket_mode: bool, scheduler: bool, host: str, port: int) -> None:
    import uvicorn

    from bot.app import build_app
    from bot.deps import Deps
    from bot.runtime import Runtime
    from bot.server import create_asgi
    from storage.engine import is_sqlite, make_engine, make_session_factory
    from storage.migrate import upgrade

    if is_sqlite(settings.database_url):
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    deps = Deps(settings=settings, session_factory=make_session_factory(engine))
    app = build_app(settings, deps)
    runtime = Runtime(deps, scheduler=scheduler)
    stop_socket: Callable[[], None] | None = None
    if socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        assert settings.slack_app_token is not None
        handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
        handler.connect()
        stop_socket = handler.close
        log.info("Socket Mode: connected; HTTP still serves /healthz and /metrics")
    log.info("pulsebot listening on http://%s:%d (POST /slack/events, GET /healthz)", host, port)
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


if __name__ == "__main__":
    sys.exit(main())
