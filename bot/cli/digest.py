"""`pulsebot digest send [--at ISO8601] [--manager USER_ID] [--dry-run]`.

Writes the digests due at `--at` (each once: the same unique key as the minute job), then
delivers them like `checkins run-due`. `--dry-run` builds and prints them as their reader will
read them instead, writing nothing, releasing no anonymous note and needing no Slack token.
A progress bar and ruled headings on a terminal, plain lines otherwise (cron, CI logs).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, time, timedelta

from rich.console import Console
from rich.rule import Rule
from sqlalchemy.orm import Session, sessionmaker

from bot import logs
from bot.cli import plain
from bot.cli.common import (
    ConfigError,
    at_argument,
    deliver,
    load_settings,
    parse_at,
    progress_bar,
    sessions,
    settings_from,
    team_argument,
)
from bot.jobs import digests
from bot.jobs.digests import DigestPolicy, DueDigest
from bot.services import directory, templates
from bot.services.directory import zone_or_utc
from bot.settings import DigestSettings
from handlers.blocks import digest as blocks
from storage import checkins as checkin_store
from storage import org as org_store
from storage import outbox as outbox_store
from storage.engine import unit_of_work

DESCRIPTION = """\
Write the weekly digest of every manager whose digest is due at --at (default: now) and
deliver each through the outbox, once: a digest already written for its week is not written
again, whether by this command, the scheduler or another replica. A manager's covered week is
the last complete Monday-Sunday in their own zone; its digest is due from
PULSEBOT_DIGEST_WEEKDAY at PULSEBOT_DIGEST_TIME of the following week.

--dry-run prints the digests as their reader will read them (names, no Slack markup) and
changes nothing; it needs the database only, no Slack token.

If a covered week's check-ins were never created (neither the scheduler of `pulsebot run` nor
`pulsebot checkins run-due` has run since), the command says so, and without --dry-run writes
nothing: that digest would read as if nobody had been asked."""


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    digest = verbs.add_parser(
        "digest",
        help="the weekly manager digest",
        description="The weekly digest each manager receives by DM: who answered, the pulse, "
        "blockers, whom to talk to, kudos. `pulsebot digest send -h` tells how it is sent.",
    )
    digest_verbs = digest.add_subparsers(title="digest commands", metavar="COMMAND", required=True)
    send_verb = digest_verbs.add_parser(
        "send",
        help="write and deliver the digests due at an instant (each only once)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    at_argument(send_verb)
    send_verb.add_argument("--manager", metavar="USER_ID", help="only this manager's digest")
    send_verb.add_argument(
        "--dry-run",
        action="store_true",
        help="print the digests as they will read instead of sending them (no token needed)",
    )
    team_argument(send_verb)
    send_verb.set_defaults(handler=send)


def send(args: argparse.Namespace) -> int:
    at = parse_at(args.at)
    if args.dry_run:
        return _dry_run(args, at)
    settings = load_settings()
    logs.configure(settings.log_level, settings.log_format)
    policy = _policy(settings)
    with sessions(settings) as factory:
        unwritten = _check(factory, args, at, policy)
        if unwritten:
            for line in unwritten.values():
                print(line, file=sys.stderr)
            print("Nothing was written.", file=sys.stderr)
            return 1
        with unit_of_work(factory) as session:
            before = outbox_store.last_id(session)
        with progress_bar("digests") as bar:
            task = bar.add_task("digests", total=None)
            summary = digests.write_due(
                factory,
                at,
                policy,
                team_id=args.team,
                manager_id=args.manager,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        print(f"Digests due at {at.isoformat()}: {summary}.")
        with unit_of_work(factory) as session:
            watched = set(outbox_store.due_ids(session, at, outbox_store.last_id(session)))
        return deliver(settings, factory, watched, before)


def _dry_run(args: argparse.Namespace, at: datetime) -> int:
    """Each due digest as its manager will read it, then one summary line."""
    settings = _digest_settings()
    logs.configure(settings.log_level, settings.log_format)
    policy = _policy(settings)
    console = Console(soft_wrap=True)
    with sessions(settings) as factory:
        unwritten = _check(factory, args, at, policy)
        due = {(d.manager_id, d.week_start): d for d in _due(factory, args, at, policy)}
        summary = digests.write_due(
            factory, at, policy, team_id=args.team, manager_id=args.manager, dry_run=True
        )
        for data in summary.previews:
            item = due.get((data.manager_id, data.week_start))
            team_id = item.team_id if item is not None else args.team
            messages = [b for _, message in blocks.messages(data, chart=False) for b in message]
            with unit_of_work(factory) as session:
                names = _names(session, team_id, {data.manager_id, *plain.mentioned(messages)})
            title = f"{names.get(data.manager_id, data.manager_id)} · week of {data.week_label}"
            if console.is_terminal:
                console.print(Rule(title))
            else:
                print(f"--- {title} ({data.iso_week})")
            print(plain.blocks_text(messages, names))
            note = unwritten.get(data.manager_id)
            if note:
                print(f"Note: {note}")
            print()
    print(f"Dry run at {at.isoformat()}: {len(summary.previews)} digest(s) due.")
    return 0


def _check(
    factory: sessionmaker[Session], args: argparse.Namespace, at: datetime, policy: DigestPolicy
) -> dict[str, str]:
    """An unknown --manager is refused (ConfigError); otherwise, by manager, what is wrong
    with the weeks their due digests cover."""
    if args.manager:
        _known_manager(factory, args.manager, args.team)
    return _unwritten(factory, _due(factory, args, at, policy), at)


def _due(
    factory: sessionmaker[Session], args: argparse.Namespace, at: datetime, policy: DigestPolicy
) -> list[DueDigest]:
    return digests.due(factory, at, policy, team_id=args.team, manager_id=args.manager)


def _known_manager(factory: sessionmaker[Session], user_id: str, team_id: str | None) -> None:
    """A digest goes to whoever has direct reports or owns an active check-in; asking for
    anyone else's is a mistake worth one clear line, not "0 digest(s) due"."""
    known = False
    with unit_of_work(factory) as session:
        teams = [team_id] if team_id else checkin_store.known_teams(session)
        for team in teams:
            owned = templates.templates_owned_by(session, team, user_id)
            if org_store.reports_of(session, team, user_id) or any(
                info.definition.active for info in owned
            ):
                return
            known = known or bool(directory.people(session, team, [user_id]))
    if known:
        raise ConfigError(
            f"--manager {user_id}: nobody reports to them and they own no active check-in, so "
            "they get no digest"
        )
    raise ConfigError(f"--manager {user_id}: no such person in this database")


def _unwritten(
    factory: sessionmaker[Session], due: list[DueDigest], at: datetime
) -> dict[str, str]:
    """By manager: the covered week's check-ins that were due but never created."""
    found: dict[str, str] = {}
    with unit_of_work(factory) as session:
        for item in due:
            zone = zone_or_utc(item.tz)
            week = date.fromisoformat(item.week_start)
            start = datetime.combine(week, time(0), zone)
            end = min(start + timedelta(days=7), at)
            members = set(org_store.reports_of(session, item.team_id, item.manager_id))
            for info in templates.templates_owned_by(session, item.team_id, item.manager_id):
                members.update(info.definition.member_ids)
            zones = {
                p.user_id: p.tz
                for p in directory.people(session, item.team_id, sorted(members)).values()
            }
            zones.update({m: None for m in members if m not in zones})
            names = templates.unwritten(session, item.team_id, zones, start, end)
            if names:
                who = _names(session, item.team_id, {item.manager_id}).get(item.manager_id)
                found[item.manager_id] = (
                    f"the check-ins of the week of {week:%d %b %Y} for {who}'s team "
                    f"({', '.join(names)}) were never created, so this digest would read as if "
                    "nobody had been asked. `pulsebot checkins run-due` creates them (a running "
                    "`pulsebot run` does every 30 s)."
                )
    return found


def _names(session: Session, team_id: str | None, user_ids: set[str]) -> dict[str, str]:
    """How people are called in the directory; an id it lacks stays as it is."""
    known = directory.people(session, team_id, sorted(user_ids)) if team_id else {}
    return {user_id: known[user_id].name if user_id in known else user_id for user_id in user_ids}


def _digest_settings() -> DigestSettings:
    return settings_from(DigestSettings)


def _policy(settings: DigestSettings) -> DigestPolicy:
    return DigestPolicy.from_settings(settings)
