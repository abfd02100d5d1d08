"""`pulsebot digest send [--at ISO8601] [--manager USER_ID] [--dry-run]`.

Writes the digests due at `--at` (each once: the same unique key as the minute job), then
delivers them like `checkins run-due`. `--dry-run` builds and prints them instead, writing
nothing and releasing no anonymous note. A progress bar on a terminal, one plain summary line
otherwise (cron, CI logs).
"""

from __future__ import annotations

import argparse

from bot import logs
from bot.cli.common import (
    at_argument,
    deliver,
    load_settings,
    parse_at,
    progress_bar,
    sessions,
    team_argument,
)
from bot.jobs import digests
from bot.jobs.digests import DigestPolicy
from handlers.blocks import digest as blocks
from storage import outbox as outbox_store
from storage.engine import unit_of_work


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    digest = verbs.add_parser("digest", help="the weekly manager digest")
    digest_verbs = digest.add_subparsers(title="digest commands", metavar="COMMAND", required=True)
    send_verb = digest_verbs.add_parser(
        "send", help="write and deliver the digests due at an instant (each only once)"
    )
    at_argument(send_verb)
    send_verb.add_argument("--manager", metavar="USER_ID", help="only this manager's digest")
    send_verb.add_argument(
        "--dry-run", action="store_true", help="print the digests instead of sending them"
    )
    team_argument(send_verb)
    send_verb.set_defaults(handler=send)


def send(args: argparse.Namespace) -> int:
    settings = load_settings()
    logs.configure(settings.log_level, settings.log_format)
    at = parse_at(args.at)
    policy = DigestPolicy.from_settings(settings)
    with sessions(settings) as factory:
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
                dry_run=args.dry_run,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        if args.dry_run:
            for data in summary.previews:
                print(f"--- <@{data.manager_id}> {data.iso_week}")
                for _, message in blocks.messages(data, chart=False):
                    for block in message:
                        text = (block.get("text") or {}).get("text")
                        if text:
                            print(text)
            print(f"Dry run at {at.isoformat()}: {len(summary.previews)} digest(s) due.")
            return 0
        print(f"Digests due at {at.isoformat()}: {summary}.")
        with unit_of_work(factory) as session:
            watched = set(outbox_store.due_ids(session, at, outbox_store.last_id(session)))
        return deliver(settings, factory, watched, before)
