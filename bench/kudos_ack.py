"""Ack latency of `/kudos`: pulsebot (kudos stored durably before the ack) against a bare Bolt
app that only acks, both under uvicorn with dispatch in a thread pool, same load.

    .venv/bin/python bench/kudos_ack.py [--requests 1000] [--concurrency 32] [--database URL]

Prints p50/p99 for both and their ratios; checks that every acked kudos is in the database.
Run by hand, not in CI. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.demo.slack_emulator import SlackEmulator  # noqa: E402
from storage.models import Kudos  # noqa: E402
from tests.server import SIGNING_SECRET, free_port  # noqa: E402
from tests.slack_requests import signature  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per server")
    parser.add_argument(
        "--database",
        help="DATABASE_URL for pulsebot (default: a SQLite file); a PostgreSQL database is "
        "emptied first, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/pulsebot_bench",
    )
    args = parser.parse_args()

    users = args.requests * args.rounds + 200
    with SlackEmulator() as slack, tempfile.TemporaryDirectory() as tmp:
        for i in range(users):
            slack.add_user(f"UG{i:05d}", tz="Europe/Paris")
        database = args.database or f"sqlite:///{tmp}/bench.db"
        if database.startswith("postgresql"):
            _reset_postgres(database)
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.url,
            "DATABASE_URL": database,
            "LOG_LEVEL": "WARNING",
        }
        pulse_port, bare_port = free_port(), free_port()
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "db", "upgrade"],
            env=env,
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        pulse = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                "--no-scheduler",
                "--port",
                str(pulse_port),
                "--host",
                "127.0.0.1",
            ],
            env=env,
            cwd=ROOT,
        )
        bare = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "bare_app.py"),
                "--port",
                str(bare_port),
                "--api-url",
                slack.url,
                "--secret",
                SIGNING_SECRET,
            ],
            env=env,
            cwd=ROOT,
        )
        try:
            _wait_healthy(pulse_port)
            _wait_healthy(bare_port)
            time.sleep(2)  # the directory warm-up (users.list) finishes
            if database.startswith("postgresql"):
                _analyze(database)  # what autovacuum does within a minute of the warm-up
            results: dict[str, list[float]] = {"bare": [], "pulsebot": []}
            next_giver = 0
            acked: list[int] = []
            # Warm both (imports, pools, caches) with a short run that is not measured.
            _load(bare_port, range(users - 100, users), args.concurrency, lambda r: None)
            _load(
                pulse_port,
                range(users - 100, users),
                args.concurrency,
                lambda r: acked.append(1) if "Kudos sent" in r.text else None,
            )
            for _ in range(args.rounds):
                givers = range(next_giver, next_giver + args.requests)
                next_giver += args.requests
                results["bare"] += _load(bare_port, givers, args.concurrency, lambda r: None)
                results["pulsebot"] += _load(
                    pulse_port,
                    givers,
                    args.concurrency,
                    lambda r: acked.append(1) if "Kudos sent" in r.text else None,
                )
        finally:
            for process in (pulse, bare):
                process.terminate()
                process.wait(timeout=20)
        stored = _count_kudos(database)
        _report(results, len(acked), stored, args, database)


def _load(
    port: int, givers: range, concurrency: int, check: Callable[[httpx.Response], object]
) -> list[float]:
    """Closed loop: `concurrency` senders, each with its own keep-alive connection."""
    bodies = [_kudos_body(g) for g in givers]
    latencies: list[float] = []
    lock = threading.Lock()
    index = iter(range(len(bodies)))
    errors: list[str] = []

    def sender() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            while True:
                with lock:
                    i = next(index, None)
                if i is None:
                    return
                body = bodies[i]
                headers = _headers(body)
                started = time.perf_counter()
                response = client.post("/slack/events", content=body, headers=headers)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 200:
                        errors.append(f"{response.status_code} {response.text[:80]}")
                check(response)

    threads = [threading.Thread(target=sender) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, e.g. {errors[0]}")
    return latencies


def _kudos_body(giver: int) -> bytes:
    fields = {
        "token": "x",
        "team_id": "T0TEAM",
        "team_domain": "example",
        "channel_id": "C0GENERAL",
        "channel_name": "general",
        "user_id": f"UG{giver:05d}",
        "user_name": f"g{giver}",
        "command": "/kudos",
        "text": f"<@UG{giver + 1:05d}> thanks for the review #teamwork",
        "api_app_id": "A0PULSEBOT",
        "is_enterprise_install": "false",
        "response_url": "http://127.0.0.1:9/hooks/x",
        "trigger_id": f"bench.{giver}.{time.time_ns()}",
    }
    return urlencode(fields).encode()


def _headers(body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature(SIGNING_SECRET, timestamp, body),
    }


def _wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


def _count_kudos(database: str) -> int:
    engine = create_engine(database)
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Kudos)).scalar_one())


def _reset_postgres(database: str) -> None:
    """Empty the benchmark's own database (created if absent): never point it at real data."""
    url = make_url(database)
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        ).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    server.dispose()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def _analyze(database: str) -> None:
    engine = create_engine(database, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def _report(results: dict[str, list[float]], acked: int, stored: int, args, database: str) -> None:
    print(
        f"/kudos ack latency, {args.requests} x {args.rounds} requests, "
        f"{args.concurrency} concurrent senders, database {database.split(':')[0]}"
    )
    rows = {}
    for name, values in results.items():
        p50, p90, p99 = (_percentile(values, q) * 1000 for q in (0.5, 0.9, 0.99))
        rows[name] = (p50, p99)
        print(
            f"  {name:9s} p50 {p50:7.1f} ms   p90 {p90:7.1f} ms   p99 {p99:7.1f} ms   "
            f"n={len(values)}"
        )
    print(
        f"  ratio     p50 {rows['pulsebot'][0] / rows['bare'][0]:7.2f}      "
        f"p99 {rows['pulsebot'][1] / rows['bare'][1]:7.2f}   (goal p99 <= 1.5)"
    )
    print(f"  kudos acked {acked}, stored {stored} (every ack durable: {acked == stored})")


if __name__ == "__main__":
    main()
