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

    demo = verbs.add_parser(
        "demo",
        help="try pulsebot in a browser: a seeded company and a Slack emulator, no workspace",
    )
    demo.add_argument("--port", type=int, default=3000, help="port on 127.0.0.1 (default 3000)")
    demo.add_argument("--no-browser", action="store_true", help="only print the address")
    demo.set_defaults(handler=_demo)

    db = verbs.add_parser("db", help="database maintenance")
    db_verbs = db.add_subparsers(title="db commands", metavar="COMMAND", required=True)
    upgrade = db_verbs.add_parser("upgrade", help="apply the migrations up to the latest")
    upgrade.set_defaults(handler=_db_upgrade)

    checkins = verbs.add_parser("checkins", help="check-in templates as code, and what is due")
    checkin_verbs = checkins.add_subparsers(
        title="checkins commands", metavar="COMMAND", required=True
    )
    apply = checkin_verbs.add_parser(
        "apply", help="create or update templates from a YAML file, matched by (owner, name)"
    )
    apply.add_argument("file", metavar="FILE.yml", help="templates (see DESIGN.md section 5)")
    apply.add_argument(
        "--dry-run", action="store_true", help="validate and show what would change; write nothing"
    )
    _team_argument(apply)
    apply.set_defaults(handler=_checkins_apply)
    listing = checkin_verbs.add_parser("list", help="show the check-in templates")
    _team_argument(listing)
    listing.set_defaults(handler=_checkins_list)
    run_due = checkin_verbs.add_parser(
        "run-due",
        help="write every prompt and reminder due at or before an instant, then deliver them",
    )
    run_due.add_argument(
        "--at", metavar="ISO8601", help="the instant (default now; no offset means UTC)"
    )
    run_due.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="give up waiting for the outbox after this long (default: from the queue's size)",
    )
    _team_argument(run_due)
    run_due.set_defaults(handler=_checkins_run_due)

    digest = verbs.add_parser("digest", help="the weekly manager digest")
    digest_verbs = digest.add_subparsers(title="digest commands", metavar="COMMAND", required=True)
    send = digest_verbs.add_parser(
        "send", help="write and deliver the digests due at an instant (each only once)"
    )
    send.add_argument(
        "--at", metavar="ISO8601", help="the instant (default now; no offset means UTC)"
    )
    send.add_argument("--manager", metavar="USER_ID", help="only this manager's digest")
    send.add_argument(
        "--dry-run", action="store_true", help="print the digests instead of sending them"
    )
    _team_argument(send)
    send.set_defaults(handler=_digest_send)

    org = verbs.add_parser("org", help="the org chart (who reports to whom)")
    org_verbs = org.add_subparsers(title="org commands", metavar="COMMAND", required=True)
    org_import = org_verbs.add_parser(
        "import", help="import person -> manager rows (email,manager_email or user_id,manager_id)"
    )
    org_import.add_argument("file", metavar="FILE.csv")
    _team_argument(org_import)
    org_import.set_defaults(handler=_org_import)
    return parser


def _team_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--team",
        metavar="TEAM_ID",
        help="workspace id (T...); needed only when the database knows several workspaces or none",
    )


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
    import gc

    import uvicorn
    from sqlalchemy.exc import DBAPIError

    from bot.app import build_app
    from bot.deps import Deps
    from bot.runtime import Runtime
    from bot.server import create_asgi
    from storage.engine import is_sqlite, make_engine, make_session_factory
    from storage.migrate import schema_ahead, schema_behind, upgrade

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


def _demo(args: argparse.Namespace) -> int:
    """No settings read: the demo makes its own token, secret and database."""
    from bot.demo import server

    return server.run(args.port, open_browser=not args.no_browser)


# ----- check-ins and the org chart (issue 3) -----------------------------------------------------
# The verbs live in bot/cli_checkins.py; these wrappers keep the imports lazy, so `--help`
# and the verbs that need no Slack never build a WebClient or read a token.


def _checkins_apply(args: argparse.Namespace) -> int:
    from bot import cli_checkins

    return cli_checkins.apply(args, _database_settings(), _settings)


def _checkins_list(args: argparse.Namespace) -> int:
    from bot import cli_checkins

    return cli_checkins.list_templates(args, _database_settings())


def _checkins_run_due(args: argparse.Namespace) -> int:
    from bot import cli_checkins

    return cli_checkins.run_due(args, _settings())


def _digest_send(args: argparse.Namespace) -> int:
    from bot import cli_digest

    return cli_digest.send(args, _settings())


def _org_import(args: argparse.Namespace) -> int:
    from bot import cli_checkins

    return cli_checkins.org_import(args, _database_settings(), _settings)


if __name__ == "__main__":
    sys.exit(main())
