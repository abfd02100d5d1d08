"""Check-in fan-out: N members prompted at the same local minute, delivered by the outbox
sender against the Slack emulator with a Slack-like limit on chat.postMessage.

    .venv/bin/python bench/fanout.py [--members 2000] [--per-minute 600] [--database URL]

The sender runs with PULSEBOT_POST_RATE set to that limit (per second). Prints the time taken
against the floor the limit allows (ratio; goal <= 1.05), the 429s met, and the prompts lost
and duplicated (goal 0 / 0). Run by hand, not in CI. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slack_sdk import WebClient  # noqa: E402

from bot.checkin_runner import run_due  # noqa: E402
from bot.delivery.sender import OutboxSender  # noqa: E402
from bot.demo.slack_emulator import SlackEmulator  # noqa: E402
from bot.services import templates  # noqa: E402
from bot.services.directory import UserRecord, store_users  # noqa: E402
from storage.engine import make_engine, make_session_factory, unit_of_work  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

TEAM = "T0TEAM"
ZONE = "Europe/Paris"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument(
        "--per-minute",
        type=int,
        default=600,
        help="the emulator's chat.postMessage limit (and our PULSEBOT_POST_RATE)",
    )
    parser.add_argument("--burst", type=int, default=10, help="the emulator's short burst")
    parser.add_argument("--database", help="DATABASE_URL (default: a SQLite file)")
    args = parser.parse_args()
    rate = args.per_minute / 60

    with SlackEmulator() as slack, tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/fanout.db"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        members = [f"UM{i:05d}" for i in range(args.members)]
        created = datetime(2026, 11, 30, 8, tzinfo=UTC)  # a Monday
        with unit_of_work(factory) as session:
            for user_id in members:
                slack.add_user(user_id, tz=ZONE)
            store_users(session, TEAM, [_record(m) for m in [*members, "UOWNER"]], created)
            definition = templates.default_template(
                "UOWNER", members, weekdays=("mon",), local_time="16:00"
            )
            templates.apply(session, TEAM, [definition], created)
        slack.set_rate_limit("chat.postMessage", per_minute=args.per_minute, burst=args.burst)
        slack.set_channel_rate_limit(per_second=1.0, burst=1)

        at = datetime(2026, 11, 30, 15, 1, tzinfo=UTC)  # 16:01 in Paris
        wall = datetime.now(UTC)
        started = time.perf_counter()
        summary = run_due(factory, at)
        written = time.perf_counter() - started
        sender = OutboxSender(
            session_factory=factory,
            client=WebClient(
                token=slack.bot_token, base_url=slack.url, retry_handlers=[], timeout=10
            ),
            clock=lambda: at + (datetime.now(UTC) - wall),  # the run's instant, moving on
            post_rate=rate,
        )
        started = time.perf_counter()
        drained = sender.drain(timeout=args.members / rate * 2 + 60)
        elapsed = time.perf_counter() - started
        engine.dispose()

        delivered = slack.posted_keys()
        expected = {f"checkin:{i}:prompt" for i in range(1, args.members + 1)}
        lost = len(expected - set(delivered))
        duplicated = sum(n - 1 for n in delivered.values() if n > 1)
        floor = (args.members - 1) / rate
        print(
            f"fan-out of {args.members} check-in prompts, limit {args.per_minute}/min "
            f"(burst {args.burst}) + 1/s per channel, PULSEBOT_POST_RATE={rate:g}/s, "
            f"database {url.split(':')[0]}"
        )
        print(f"  run-due wrote {summary.prompted} prompts in {written:.2f} s")
        print(
            f"  delivered in {elapsed:.1f} s; floor {floor:.1f} s; ratio {elapsed / floor:.3f} "
            f"(goal <= 1.05); drained: {drained}"
        )
        print(
            f"  429s met: {slack.rate_limited_count('chat.postMessage')}; "
            f"lost: {lost}; duplicated: {duplicated} (goal 0 / 0)"
        )


def _record(user_id: str) -> UserRecord:
    return UserRecord(
        user_id=user_id,
        user_team_id=TEAM,
        name=user_id.lower(),
        real_name=user_id,
        email=None,
        tz=ZONE,
        is_bot=False,
        deleted=False,
        is_restricted=False,
    )


if __name__ == "__main__":
    main()
