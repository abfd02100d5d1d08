"""Replicas on PostgreSQL: three `pulsebot run` processes deliver a check-in fan-out and kudos
given across all three, while the lease holder is killed mid-fan-out.

    .venv/bin/python bench/replicas.py --database postgresql+psycopg://postgres@127.0.0.1/bench
        [--members 2000] [--kudos 500] [--rate 50] [--replicas 3] [--no-kill]

The emulator limits chat.postMessage to `--rate` a second (a token bucket with a burst of a
few calls, plus ~1/s per channel) and the replicas run with PULSEBOT_POST_RATE at that rate.
Prints the time to deliver everything against the floor the limit allows, the 429s met, and
messages lost and doubled (goal 0 / 0). The database's public schema is emptied first. Run by
hand, not in CI. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402

from bench.common import (  # noqa: E402
    SlackInItsOwnProcess,
    machine,
    machine_line,
    record,
    reset_postgres,
    write_figures,
)
from bot.clock import utc_now  # noqa: E402
from bot.jobs.minute import run_due  # noqa: E402
from bot.services import templates  # noqa: E402
from bot.services.directory import store_users  # noqa: E402
from storage.engine import make_engine, make_session_factory, unit_of_work  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import OutboxMessage, SenderLease  # noqa: E402
from tests.server import SIGNING_SECRET, start_process  # noqa: E402
from tests.slack_requests import SlackRequests  # noqa: E402

TEAM = "T0TEAM"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", required=True, help="a PostgreSQL URL (emptied first)")
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--kudos", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--no-kill", action="store_true", help="leave the lease holder alone")
    args = parser.parse_args()
    at_start = machine()
    print(machine_line(at_start))

    reset_postgres(args.database)
    upgrade(args.database)
    engine = make_engine(args.database)
    factory = make_session_factory(engine)
    members = [f"UM{i:05d}" for i in range(args.members)]
    givers = [f"UG{i:04d}" for i in range(args.kudos)]
    recipients = [f"UR{i:04d}" for i in range(args.kudos)]
    everyone = [*members, *givers, *recipients]
    now = utc_now()
    slack = SlackInItsOwnProcess()
    with tempfile.TemporaryDirectory() as tmp:
        slack.call("add_users", everyone, "UTC")
        with unit_of_work(factory) as session:
            store_users(session, TEAM, [record(u, "UTC") for u in [*everyone, "UOWNER"]], now)
            definition = templates.default_template(
                "UOWNER",
                members,
                weekdays=("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
                local_time=(now + timedelta(minutes=1)).strftime("%H:%M"),
            )
            templates.apply(session, TEAM, [definition], now)
        slack.call("set_rate_limit", "chat.postMessage", per_minute=int(args.rate * 60))
        slack.call("set_channel_rate_limit", per_second=1.0, burst=1)
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.url,
            "DATABASE_URL": args.database,
            "PULSEBOT_KUDOS_CHANNEL": "",
            "PULSEBOT_POST_RATE": str(args.rate),
            "LOG_LEVEL": "WARNING",
        }
        replicas = [
            start_process(env, Path(tmp) / f"replica-{i}.log", "--no-scheduler")
            for i in range(args.replicas)
        ]
        try:
            started = time.perf_counter()
            prompted = run_due(factory, now + timedelta(minutes=2)).prompted
            acked = _give_kudos([r.url for r in replicas], givers, recipients)
            killed = "no"
            if not args.no_kill:
                while _posts(slack) < (args.members + args.kudos) // 3:
                    time.sleep(0.05)
                with engine.connect() as connection:
                    holder = connection.scalar(select(SenderLease.holder)) or ""
                pid = int(holder.split(":")[1])
                os.kill(pid, signal.SIGKILL)
                killed = f"pid {pid} after {_posts(slack)} posts"
            expected = prompted + acked
            while _sent(engine) < expected and time.perf_counter() - started < 3600:
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
        finally:
            for replica in replicas:
                replica.stop()
        delivered: dict[str, int] = slack.call("posted_keys")  # type: ignore[assignment]
        with engine.connect() as connection:
            keys = set(connection.scalars(select(OutboxMessage.idempotency_key)))
        lost = len(keys - {k for k, n in delivered.items() if n})
        doubled = sum(n - 1 for n in delivered.values() if n > 1)
        posts = _posts(slack)
        limited = int(slack.call("rate_limited_count", "chat.postMessage"))  # type: ignore[call-overload]
        slack.stop()
        floor = (expected - 1) / args.rate
        print(
            f"{args.replicas} replicas on PostgreSQL: {prompted} check-in prompts + {acked} "
            f"kudos (acked), chat.postMessage limited to {args.rate:g}/s, "
            f"PULSEBOT_POST_RATE={args.rate:g}; lease holder killed: {killed}"
        )
        print(f"  delivered in {elapsed:.1f} s; floor {floor:.1f} s; ratio {elapsed / floor:.3f}")
        print(
            f"  429s: {limited} of {posts} posts ({100 * limited / max(posts, 1):.2f} %); "
            f"lost: {lost}; doubled: {doubled}"
        )
    engine.dispose()
    write_figures(
        "replicas",
        f"postgresql x{args.replicas}",
        {
            "prompts": prompted,
            "kudos": acked,
            "rate": args.rate,
            "killed": killed,
            "seconds": round(elapsed, 2),
            "floor_s": round(floor, 2),
            "ratio": round(elapsed / floor, 3),
            "rate_limited": limited,
            "posts": posts,
            "lost": lost,
            "doubled": doubled,
        },
        at_start,
    )


def _posts(slack: SlackInItsOwnProcess) -> int:
    return int(slack.call("calls", "chat.postMessage"))  # type: ignore[call-overload]


def _give_kudos(urls: list[str], givers: list[str], recipients: list[str]) -> int:
    """Kudos spread across the replicas, 16 at a time, as Slack's requests would be."""

    def give(index: int) -> bool:
        with SlackRequests(urls[index % len(urls)], SIGNING_SECRET) as signed:
            response = signed.command(
                "/kudos", f"<@{recipients[index]}> thanks {index}", user_id=givers[index]
            )
        return response.status_code == 200 and "Kudos sent" in response.json()["text"]

    with ThreadPoolExecutor(16) as pool:
        return sum(pool.map(give, range(len(givers))))


def _sent(engine: object) -> int:
    with engine.connect() as connection:  # type: ignore[attr-defined]
        return int(
            connection.scalar(
                text("SELECT count(*) FROM outbox WHERE status IN ('sent', 'failed')")
            )
        )


if __name__ == "__main__":
    main()
