"""Check-in fan-out: N members prompted at the same local minute, delivered by the outbox
sender against the Slack emulator with a Slack-like limit on chat.postMessage.

    .venv/bin/python bench/fanout.py [--members 600] [--per-second 20] [--limiter both]
                                     [--database URL] [--margin 0.03]

The sender runs with PULSEBOT_POST_RATE equal to the emulator's limit on chat.postMessage,
which is either a strict sliding window (at most N calls in any 1 s) or a token bucket (N per
second with a small burst), each with Slack's ~1/s per channel. Prints, per limiter, the time
taken against two floors the limit allows, and both ratios (goal <= 1.05 against the first):
(members - 1) / N, calls evenly spaced from the first; and (members - N) / N, the true floor
against a strict window, whose first second's N calls may all leave at once (a token bucket's
first allowance is its burst: (members - burst) / N). Also the share of calls answered 429
(goal <= 1%), and the prompts lost and duplicated (goal 0 / 0). Writes
bench/figures/fanout.json. Run by hand, not in CI. Traffic stays on 127.0.0.1.
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

from bench.common import (  # noqa: E402
    SlackInItsOwnProcess,
    machine,
    machine_line,
    record,
    reset_postgres,
    write_figures,
)
from bot.clock import utc_now  # noqa: E402
from bot.delivery import pacing  # noqa: E402
from bot.delivery.sender import OutboxSender  # noqa: E402
from bot.jobs.minute import run_due  # noqa: E402
from bot.services import templates  # noqa: E402
from bot.services.directory import store_users  # noqa: E402
from storage.engine import make_engine, make_session_factory, unit_of_work  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

TEAM = "T0TEAM"
ZONE = "Europe/Paris"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--members", type=int, default=600)
    parser.add_argument(
        "--per-second",
        type=float,
        default=20,
        help="the emulator's chat.postMessage limit, and our PULSEBOT_POST_RATE",
    )
    parser.add_argument("--limiter", choices=("window", "bucket", "both"), default="both")
    parser.add_argument("--burst", type=int, default=3, help="the token bucket's burst")
    parser.add_argument("--margin", type=float, default=pacing.MARGIN, help="the pacer's margin")
    parser.add_argument("--database", help="DATABASE_URL (default: a SQLite file)")
    args = parser.parse_args()
    started = machine()
    print(machine_line(started))
    limiters = ("window", "bucket") if args.limiter == "both" else (args.limiter,)
    figures = {limiter: _run(args, limiter) for limiter in limiters}
    database = (args.database or "sqlite").split(":")[0].split("+")[0]
    write_figures("fanout", database, figures, started)


def _run(args: argparse.Namespace, limiter: str) -> dict[str, object]:
    rate = args.per_second
    slack = SlackInItsOwnProcess()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/fanout.db"
        if url.startswith("postgresql"):
            reset_postgres(url)
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        members = [f"UM{i:05d}" for i in range(args.members)]
        created = datetime(2026, 11, 30, 8, tzinfo=UTC)  # a Monday; run_due is told the instant
        slack.call("add_users", members, ZONE)
        with unit_of_work(factory) as session:
            store_users(session, TEAM, [record(m, ZONE) for m in [*members, "UOWNER"]], created)
            definition = templates.default_template(
                "UOWNER", members, weekdays=("mon",), local_time="16:00"
            )
            templates.apply(session, TEAM, [definition], created)
        if limiter == "window":
            slack.call("set_window_limit", "chat.postMessage", calls=int(rate), seconds=1.0)
            shape = f"strict window: {int(rate)} calls in any 1 s"
            allowance = int(rate)
        else:
            allowance = args.burst
            slack.call(
                "set_rate_limit", "chat.postMessage", per_minute=int(rate * 60), burst=args.burst
            )
            shape = f"token bucket: {rate:g}/s, burst {args.burst}"
        slack.call("set_channel_rate_limit", per_second=1.0, burst=1)

        at = datetime(2026, 11, 30, 15, 1, tzinfo=UTC)  # 16:01 in Paris
        cpu_before = time.process_time()
        started = time.perf_counter()
        summary = run_due(factory, at)
        written = time.perf_counter() - started
        sender = OutboxSender(
            session_factory=factory,
            client=WebClient(
                token=slack.bot_token, base_url=slack.url, retry_handlers=[], timeout=10
            ),
            clock=utc_now,
            post_rate=rate,
        )
        sender._pacer = pacing.Pacer(rate, margin=args.margin)
        started = time.perf_counter()
        drained = sender.drain(timeout=args.members / rate * 2 + 60)
        elapsed = time.perf_counter() - started
        engine.dispose()

        delivered: dict[str, int] = slack.call("posted_keys")  # type: ignore[assignment]
        expected = {f"checkin:{i}:prompt" for i in range(1, args.members + 1)}
        lost = len(expected - set(delivered))
        duplicated = sum(n - 1 for n in delivered.values() if n > 1)
        calls = int(slack.call("calls", "chat.postMessage"))  # type: ignore[call-overload]
        limited = int(slack.call("rate_limited_count", "chat.postMessage"))  # type: ignore[call-overload]
        slack.stop()
        floor = (args.members - 1) / rate
        strict = max(args.members - allowance, 1) / rate
        cpu = time.process_time() - cpu_before
        print(
            f"{args.members} check-in prompts, {shape}, + 1/s per channel; "
            f"PULSEBOT_POST_RATE={rate:g}, margin {args.margin:.3f}, {url.split(':')[0]}"
        )
        print(f"  run-due wrote {summary.prompted} prompts in {written:.2f} s")
        print(
            f"  delivered in {elapsed:.1f} s; floor (N - 1)/limit {floor:.1f} s, ratio "
            f"{elapsed / floor:.3f} (goal <= 1.05); floor (N - {allowance})/limit {strict:.1f} s "
            f"(the first allowance at once), ratio {elapsed / strict:.3f}; drained: {drained}"
        )
        print(
            f"  429s: {limited} of {calls} calls ({100 * limited / max(calls, 1):.2f} %, "
            f"goal <= 1 %); lost: {lost}; duplicated: {duplicated} (goal 0 / 0)"
        )
        print(
            f"  CPU of this process (run-due, sender): {cpu:.1f} s in all, "
            f"{cpu / args.members * 1000:.2f} ms per prompt sent, beside {elapsed:.1f} s of wall"
        )
        return {
            "members": args.members,
            "rate": rate,
            "allowance": allowance,
            "seconds": round(elapsed, 2),
            "floor_n1": round(floor, 2),
            "floor_strict": round(strict, 2),
            "ratio_n1": round(elapsed / floor, 3),
            "ratio_strict": round(elapsed / strict, 3),
            "rate_limited": limited,
            "calls": calls,
            "lost": lost,
            "duplicated": duplicated,
            "cpu_s": round(cpu, 2),
            "cpu_ms_per_prompt": round(cpu / args.members * 1000, 3),
        }


if __name__ == "__main__":
    main()
