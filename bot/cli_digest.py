"""`pulsebot digest send [--at ISO8601] [--manager USER_ID] [--dry-run]` (DESIGN.md section 5).

Writes the digests due at `--at` (each once: the same unique key as the minute job), then
delivers them like `checkins run-due`. `--dry-run` builds and prints them instead, writing
nothing and releasing no anonymous note. A progress bar on a terminal, one plain summary line
otherwise (cron, CI logs).
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from bot import cli_checkins, digest_runner, logs
from bot.digest_runner import DigestPolicy
from bot.settings import Settings
from handlers.blocks import digest as blocks
from storage import outbox as outbox_store
from storage.engine import unit_of_work

BAR = 30


def send(args: argparse.Namespace, settings: Settings) -> int:
    logs.configure(settings.log_level, settings.log_format)
    at = cli_checkins.parse_at(args.at)
    factory, dispose = cli_checkins._sessions(settings)
    policy = DigestPolicy.from_settings(settings)
    show = sys.stderr.isatty()
    try:
        with unit_of_work(factory) as session:
            before = outbox_store.last_id(session)
        summary = digest_runner.write_due(
            factory,
            at,
            policy,
            team_id=args.team,
            manager_id=args.manager,
            dry_run=args.dry_run,
            progress=(lambda done, total: _bar(done, total, sys.stderr)) if show else None,
        )
        if show:
            print(file=sys.stderr)
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
        return cli_checkins.deliver(settings, factory, watched, before)
    finally:
        dispose()


def _bar(done: int, total: int, out: TextIO) -> None:
    filled = BAR * done // max(total, 1)
    out.write(f"\r[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total} digests")
    out.flush()
