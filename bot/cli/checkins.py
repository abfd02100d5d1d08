"""`pulsebot checkins apply | list | run-due`: check-in templates as code, and what is due.

`apply` and `list` need no Slack unless an e-mail must be looked up; `run-due` writes what is
due at `--at` and then takes part in delivering it, like the scheduler's minute job.
"""

from __future__ import annotations

import argparse
import sys

from bot import logs
from bot.cli.common import (
    EmailResolver,
    at_argument,
    deliver,
    load_database_settings,
    load_settings,
    parse_at,
    resolve_team,
    sessions,
    team_argument,
)
from bot.clock import utc_now
from bot.jobs import minute
from bot.jobs.digests import DigestPolicy
from bot.services import templates
from bot.services.schedule import format_duration
from storage import outbox as outbox_store
from storage.engine import unit_of_work


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    checkins = verbs.add_parser(
        "checkins",
        help="check-in templates as code, and what is due",
        description="Check-in templates kept as code in a YAML file (apply, list) and, for "
        "deployments without the scheduler, writing and delivering what is due (run-due).",
    )
    checkin_verbs = checkins.add_subparsers(
        title="checkins commands", metavar="COMMAND", required=True
    )
    apply_verb = checkin_verbs.add_parser(
        "apply",
        help="create or update templates from a YAML file, matched by (owner, name)",
        description="Create or update the check-in templates a YAML file describes, each "
        "matched by its owner and name, so applying the same file again changes nothing. The "
        "whole file is validated first: any error (each names the template and the field) "
        "leaves everything as it was. People may be given by user id or e-mail; an e-mail the "
        "directory lacks is looked up in Slack, which needs SLACK_BOT_TOKEN.",
    )
    apply_verb.add_argument(
        "file", metavar="FILE.yml", help="templates (see the README, Check-ins as code)"
    )
    apply_verb.add_argument(
        "--dry-run", action="store_true", help="validate and show what would change; write nothing"
    )
    team_argument(apply_verb)
    apply_verb.set_defaults(handler=apply)
    listing = checkin_verbs.add_parser(
        "list",
        help="show the check-in templates",
        description="Show every check-in template: its owner, days and local time (in each "
        "member's zone), members, questions, reminder and closing delays, and where answers "
        "go. Reads the database only.",
    )
    team_argument(listing)
    listing.set_defaults(handler=list_templates)
    run_due_verb = checkin_verbs.add_parser(
        "run-due",
        help="write every prompt and reminder due at or before an instant, then deliver them",
        description="Do once what the scheduler of `pulsebot run` does every 30 seconds: close "
        "the check-ins past their time, write the prompts, re-prompts and reminders due at or "
        "before --at (default now; missed ones are caught up), feedback request reminders and "
        "closings, and the weekly digests due; then take part in delivering them. Each is "
        "written once, whatever else runs. Exit code 1 if a message failed for good or the "
        "wait timed out, so a cron job notices.",
    )
    at_argument(run_due_verb)
    run_due_verb.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="give up waiting for the outbox after this long (default: from the queue's size)",
    )
    team_argument(run_due_verb)
    run_due_verb.set_defaults(handler=run_due)


class _RollBack(Exception):
    """Leaves the unit of work by rolling back (a dry run), carrying what would have changed."""

    def __init__(self, changes: list[templates.Change]) -> None:
        super().__init__("dry run")
        self.changes = changes


def apply(args: argparse.Namespace) -> int:
    db = load_database_settings()
    logs.configure(db.log_level, db.log_format)
    with sessions(db) as factory:
        team_id = resolve_team(args, factory, load_settings)
        resolver = EmailResolver(factory, team_id, load_settings)
        try:
            definitions = templates.load_file(args.file, resolver)
        except templates.TemplateFileError as error:
            for message in error.messages:
                print(message, file=sys.stderr)
            print(f"{args.file}: nothing was changed.", file=sys.stderr)
            return 1
        resolver.save()
        try:
            with unit_of_work(factory) as session:
                changes = templates.apply(session, team_id, definitions, utc_now())
                if args.dry_run:
                    raise _RollBack(changes)
        except _RollBack as dry:
            changes = dry.changes
        for change in changes:
            print(_describe_change(change))
        if args.dry_run:
            print("Dry run: nothing was written.")
        return 0


def list_templates(args: argparse.Namespace) -> int:
    db = load_database_settings()
    logs.configure(db.log_level, db.log_format)
    with sessions(db) as factory, unit_of_work(factory) as session:
        infos = templates.list_templates(session, args.team)
    if not infos:
        print("No check-in templates yet. Create some with `pulsebot checkins apply FILE.yml`.")
        return 0
    for info in infos:
        print(_describe_template(info))
    return 0


def run_due(args: argparse.Namespace) -> int:
    """Write what is due at `--at`, then take part in sending until those rows are settled.

    It waits for the rows due at or before `--at` (its own and any older ones), not for traffic
    that arrives meanwhile nor rows scheduled later. The rows carry no not-before time, so any
    process's sender (a running server's, say) may deliver them; this one helps. Exit 1 if one
    of the rows this run wrote failed for good, or the wait timed out, so a cron job notices.
    """
    settings = load_settings()
    logs.configure(settings.log_level, settings.log_format)
    at = parse_at(args.at)
    with sessions(settings) as factory:
        with unit_of_work(factory) as session:
            before = outbox_store.last_id(session)
        summary = minute.run_due(
            factory, at, team_id=args.team, digests=DigestPolicy.from_settings(settings)
        )
        print(f"Due at {at.isoformat()}: {summary}.")
        with unit_of_work(factory) as session:
            watched = set(outbox_store.due_ids(session, at, outbox_store.last_id(session)))
            not_started = [
                info
                for info in templates.list_templates(session, args.team)
                if info.schedule_from is not None and info.schedule_from > at
            ]
        if summary.no_checkin_work() and not_started:
            for info in not_started:
                assert info.schedule_from is not None
                print(
                    f'Nothing was due: "{info.definition.name}" starts at '
                    f"{info.schedule_from.isoformat(timespec='seconds')}, after --at; "
                    "occurrences before a check-in was created or rescheduled are never prompted."
                )
        return deliver(settings, factory, watched, before, args.timeout)


def _describe_change(change: templates.Change) -> str:
    parts = [f'{change.action} "{change.name}" (owner {change.owner_id}, id {change.template_id})']
    if change.members_added:
        parts.append(f"added {', '.join(change.members_added)}")
    if change.members_removed:
        parts.append(f"removed {', '.join(change.members_removed)}")
    if change.managers_set:
        parts.append(f"now reporting to {change.owner_id}: {', '.join(change.managers_set)}")
    return "; ".join(parts)


def _describe_template(info: templates.TemplateInfo) -> str:
    d = info.definition
    where = ["owner DM"] if d.post_to_manager else []
    if d.channel_id:
        where.append(f"#{d.channel_id} thread")
    remind = f"remind {format_duration(d.remind_after)}, " if d.remind_after else ""
    state = "" if d.active else " [inactive]"
    return (
        f'[{info.id}] {info.team_id} "{d.name}" owner {d.owner_id}: '
        f"{','.join(d.weekdays)} {d.local_time} (members' zones), {len(d.member_ids)} member(s), "
        f"{len(d.questions)} question(s), {remind}close {format_duration(d.close_after)}, "
        f"answers to {' + '.join(where)}{state}"
    )
