"""`pulsebot org import FILE.csv`: who reports to whom, by user id or by e-mail."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot import logs
from bot.cli.common import (
    EmailResolver,
    load_database_settings,
    load_settings,
    resolve_team,
    sessions,
    team_argument,
)
from bot.clock import utc_now
from bot.services import org
from storage.engine import unit_of_work


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    org_parser = verbs.add_parser(
        "org",
        help="the org chart (who reports to whom)",
        description="The org chart: who reports to whom. Managers get their reports' check-in "
        "answers, the weekly digest and the feedback copies their reports' givers share.",
    )
    org_verbs = org_parser.add_subparsers(title="org commands", metavar="COMMAND", required=True)
    org_import = org_verbs.add_parser(
        "import",
        help="import person -> manager rows (email,manager_email or user_id,manager_id)",
        description="Import who reports to whom from a CSV file with a header row: "
        "email,manager_email or user_id,manager_id (an empty manager removes one). Rows that "
        "are wrong (unknown people, a cycle) are reported by line and skipped; the others are "
        "imported. E-mails the directory lacks are looked up in Slack (SLACK_BOT_TOKEN).",
    )
    org_import.add_argument("file", metavar="FILE.csv")
    team_argument(org_import)
    org_import.set_defaults(handler=import_chart)


def import_chart(args: argparse.Namespace) -> int:
    db = load_database_settings()
    logs.configure(db.log_level, db.log_format)
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"{args.file}: can't read the file ({error})", file=sys.stderr)
        return 1
    with sessions(db) as factory:
        team_id = resolve_team(args, factory, load_settings)
        resolver = EmailResolver(factory, team_id, load_settings)
        try:
            rows, errors = org.parse_csv(text, resolver)
        except org.OrgFileError as error:
            print(f"{args.file}: {error}; nothing was imported.", file=sys.stderr)
            return 1
        resolver.save()
        with unit_of_work(factory) as session:
            report = org.store_rows(session, team_id, rows, utc_now(), errors)
    for row_error in report.errors:
        print(f"{args.file}: {row_error}", file=sys.stderr)
    cleared = f", {report.cleared} manager(s) removed" if report.cleared else ""
    print(f"{report.imported} row(s) imported{cleared}; {len(report.errors)} row(s) rejected.")
    return 0 if report.ok else 1
