"""`pulsebot db upgrade`: the migrations, with no Slack settings needed."""

from __future__ import annotations

import argparse

from bot import logs
from bot.cli.common import load_database_settings
from storage.migrate import upgrade


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = verbs.add_parser(
        "db",
        help="database maintenance",
        description="Database maintenance, with DATABASE_URL alone: no Slack settings needed.",
    )
    db_verbs = db.add_subparsers(title="db commands", metavar="COMMAND", required=True)
    upgrade_verb = db_verbs.add_parser(
        "upgrade",
        help="apply the migrations up to the latest",
        description="Apply the database migrations up to the latest revision (Alembic), on "
        "SQLite or PostgreSQL; already applied ones are skipped, so it is safe to run at each "
        "deploy. `pulsebot run` refuses to serve a schema older than its code.",
    )
    upgrade_verb.set_defaults(handler=run_upgrade)


def run_upgrade(_: argparse.Namespace) -> int:
    settings = load_database_settings()
    logs.configure(settings.log_level, settings.log_format)
    upgrade(settings.database_url)
    print("Database is up to date.")
    return 0
