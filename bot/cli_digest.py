"""`pulsebot digest send [--at ISO8601] [--manager USER_ID] [--dry-run]` (DESIGN.md section 5).

Writes the digests due at `--at` (each once: the same unique key as the minute job), then
delivers them like `checkins run-due`. `--dry-run` builds and prints them instead, writing
nothing and releasing no anonymous note. A progress bar on a terminal, one plain summary line
otherwise (cron, CI logs).
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import TextIO

from bot import cli_checkins, digest_runner, logs
from bot.app import make_web_client
from bot.clock import utc_now
from bot.delivery.sender import OutboxSender
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
        offset = max(at - utc_now(), timedelta(0))
        sender = OutboxSender(
            session_factory=factory,
            client=make_web_client(settings, timeout=cli_checkins.SENDER_TIMEOUT),
            clock=lambda: utc_now() + offset,
            post_rate=settings.post_rate,
        )
        with unit_of_work(factory) as session:
            counts = outbox_store.status_counts(session)
        pending = counts.get(outbox_store.PENDING, 0)
        failed_before = counts.get(outbox_store.FAILED, 0)
        timeout = max(60.0, pending / settings.post_rate * 2 + 60)
        if not cli_checkins._drain(sender, factory, timeout):
            print(f"Gave up waiting after {timeout:.0f}s; the rest stays queued.", file=sys.stderr)
            return 1
        with unit_of_work(factory) as session:
            failed = outbox_store.status_counts(session).get(outbox_store.FAILED, 0) - failed_before
        if failed > 0:
            print(f"{failed} message(s) failed for good; see the log above.", file=sys.stderr)
            return 1
        print(f"Delivered ({sender.stats.sent} sent by this process).")
        return 0
    finally:
        dispose()


def _bar(done: int, total: int, out: TextIO) -> None:
    filled = BAR * done // max(total, 1)
    out.write(f"\r[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total} digests")
    out.flush()
