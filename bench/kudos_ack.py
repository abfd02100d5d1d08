"""Ack latency of `/kudos`: pulsebot (kudos stored durably before the ack) against a bare Bolt
app that only acks (bench/bare_app.py, which imports nothing of ours), same load, same machine.

    .venv/bin/python bench/kudos_ack.py [--requests 1000] [--rounds 3] [--concurrency 32]
                                        [--database URL]

- The load generator runs in a process of its own (this file with `load`): `--concurrency`
  closed-loop senders on keep-alive connections, each request signed as Slack signs it.
- Rounds alternate the two apps (bare, pulsebot; then pulsebot, bare; ...), so a neighbour's
  load on the machine lands on both; every round prints p50/p90/p99 of both and the ratios.
- At the end a crash burst: the load generator `kill -9`s pulsebot the instant it has read a
  chosen ack, then every acked kudos (of every round) must be in the database.

Run by hand, not in CI. Traffic stays on 127.0.0.1. A PostgreSQL `--database` is emptied first.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "bench-signing-secret"
ACKED = "Kudos sent"


# ----- the load generator (its own process) ------------------------------------------------


def _kudos_body(giver: int, run: str) -> tuple[bytes, str]:
    trigger_id = f"bench.{run}.{giver}"
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
        "trigger_id": trigger_id,
    }
    return urlencode(fields).encode(), trigger_id


def _request(port: int, body: bytes) -> bytes:
    timestamp = str(int(time.time()))
    base = b"v0:" + timestamp.encode() + b":" + body
    sig = "v0=" + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    head = (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"X-Slack-Request-Timestamp: {timestamp}\r\nX-Slack-Signature: {sig}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def _load_async(args: argparse.Namespace) -> dict[str, Any]:
    """Closed loop: `concurrency` senders, each on its own keep-alive connection.

    Requests are signed up front (the signature is the client's work, not the server's), on
    raw sockets, so the generator's own cost stays small beside the servers'.
    """
    prepared = [_kudos_body(g, args.run) for g in range(args.first, args.first + args.count)]
    requests = [(_request(args.port, body), trigger) for body, trigger in prepared]
    latencies: list[float] = []
    acked: list[str] = []
    errors: list[str] = []
    queue = iter(requests)
    killed = False

    async def sender() -> None:
        nonlocal killed
        reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
        try:
            for raw, trigger in queue:
                started = time.perf_counter()
                try:
                    writer.write(raw)
                    status, body = await _read_response(reader)
                except (OSError, asyncio.IncompleteReadError) as error:
                    errors.append(repr(error))
                    return
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    errors.append(f"{status} {body[:120]!r}")
                elif ACKED.encode() in body:
                    acked.append(trigger)
                    if args.kill_pid and not killed and len(acked) >= args.kill_after:
                        os.kill(args.kill_pid, signal.SIGKILL)  # the instant after this ack
                        killed = True
        finally:
            writer.close()

    await asyncio.gather(*(sender() for _ in range(args.concurrency)))
    return {"latencies": latencies, "acked": acked, "errors": errors, "killed": killed}


def load_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="kudos_ack.py load")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--first", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--kill-pid", type=int, default=0)
    parser.add_argument("--kill-after", type=int, default=0)
    args = parser.parse_args(argv)
    json.dump(asyncio.run(_load_async(args)), sys.stdout)


def _load(port: int, first: int, count: int, concurrency: int, **extra: Any) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "load",
        "--port",
        str(port),
        "--first",
        str(first),
        "--count",
        str(count),
        "--concurrency",
        str(concurrency),
        "--run",
        str(extra.pop("run")),
    ]
    for name, value in extra.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE)
    return json.loads(done.stdout)


# ----- the orchestra: emulator, both servers, rounds, the crash check ---------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000, help="requests per app per round")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--warmup", type=int, default=300, help="unmeasured requests per app")
    parser.add_argument("--crash-after", type=int, default=300, help="acks before the kill -9")
    parser.add_argument(
        "--database",
        help="DATABASE_URL for pulsebot (default: a SQLite file); a PostgreSQL database is "
        "emptied first, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/pulsebot_bench",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="record where pulsebot holds the GIL (py-spy --gil) into FILE, collapsed stacks",
    )
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from bench.common import machine, machine_line
    from bot.demo.emulator import SlackEmulator

    at_start = machine()
    print(machine_line(at_start))

    crash_count = args.crash_after * 2
    users = args.warmup + args.requests * args.rounds + crash_count + 10
    run = str(time.time_ns())
    with SlackEmulator() as slack, tempfile.TemporaryDirectory() as tmp:
        for i in range(users + 1):
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
        pulse_port, bare_port = _free_port(), _free_port()
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
        bare_env = {k: v for k, v in env.items() if not k.startswith(("SLACK_", "DATABASE"))}
        bare = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "bare_app.py"),
                "--port",
                str(bare_port),
                "--secret",
                SIGNING_SECRET,
                "--token",
                slack.bot_token,
                "--api-url",
                slack.url,
            ],
            env=bare_env,
            cwd=ROOT / "bench",
        )
        profiler: subprocess.Popen[bytes] | None = None
        acked: list[str] = []
        try:
            _wait_listening(pulse_port, pulse)
            _wait_listening(bare_port, bare)
            _wait_warm(slack, users)
            if database.startswith("postgresql"):
                _analyze(database)  # what autovacuum does within a minute of the warm-up
            giver = 0
            ports = {"bare": bare_port, "pulsebot": pulse_port}
            pids = {"bare": bare.pid, "pulsebot": pulse.pid}
            cpu: dict[str, tuple[float, float]] = {}
            sender_tid = _sender_tid(pulse.pid)
            for name in ("bare", "pulsebot"):  # imports, pools, caches: not measured
                out = _load(ports[name], giver, args.warmup, args.concurrency, run=run)
                if name == "pulsebot":
                    acked += out["acked"]
            giver += args.warmup
            if args.profile:
                profiler = subprocess.Popen(
                    [
                        "py-spy",
                        "record",
                        "-o",
                        args.profile,
                        "-f",
                        "raw",
                        "--gil",
                        "--rate",
                        "500",
                        "--nonblocking",
                        "-p",
                        str(pulse.pid),
                    ],
                    stdout=subprocess.DEVNULL,
                )
                time.sleep(1)
            rounds: list[dict[str, list[float]]] = []
            print(_load_line("before"))
            for number in range(args.rounds):
                order = ("bare", "pulsebot") if number % 2 == 0 else ("pulsebot", "bare")
                measured: dict[str, list[float]] = {}
                for name in order:
                    cpu_before, wall_before = _cpu_seconds(pids[name]), time.perf_counter()
                    sender_before = _cpu_seconds(pulse.pid, sender_tid) if sender_tid else 0.0
                    postgres_before = _postgres_cpu_seconds()
                    out = _load(ports[name], giver, args.requests, args.concurrency, run=run)
                    wall = time.perf_counter() - wall_before
                    cpu[name] = (_cpu_seconds(pids[name]) - cpu_before, wall)
                    if name == "pulsebot" and sender_tid:
                        cpu["of which sender"] = (
                            _cpu_seconds(pulse.pid, sender_tid) - sender_before,
                            wall,
                        )
                    if name == "pulsebot" and database.startswith("postgresql"):
                        cpu["postgres server"] = (_postgres_cpu_seconds() - postgres_before, wall)
                    if out["errors"]:
                        raise SystemExit(f"{name}: {len(out['errors'])} failed: {out['errors'][0]}")
                    measured[name] = out["latencies"]
                    if name == "pulsebot":
                        acked += out["acked"]
                        if len(out["acked"]) != args.requests:
                            raise SystemExit(f"pulsebot acked {len(out['acked'])} kudos")
                    # The bare app takes the same givers: it stores nothing.
                giver += args.requests
                rounds.append(measured)
                _report_round(number + 1, measured, cpu, args.requests)
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(timeout=60)
                profiler = None
            print(_load_line("after"))
            _report_all(rounds, args, database)
            crash = _load(
                pulse_port,
                giver,
                crash_count,
                args.concurrency,
                run=run,
                kill_pid=pulse.pid,
                kill_after=args.crash_after,
            )
            acked += crash["acked"]
            pulse.wait(timeout=10)
            assert pulse.returncode == -signal.SIGKILL, pulse.returncode
        finally:
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(timeout=60)
            for process in (pulse, bare):
                if process.poll() is None:
                    process.terminate()
                    process.wait(timeout=20)
        stored = _stored_keys(database)
        missing = [t for t in acked if f"cmd:{t}" not in stored]
        print(
            f"  kill -9 after ack #{args.crash_after} of a burst of {crash_count}: "
            f"{len(crash['acked'])} acked in the burst; kudos acked {len(acked)} in all, "
            f"stored {len(stored)}, acked but not stored {len(missing)}"
            + ("  -> every ack durable" if not missing else f"  e.g. {missing[:3]}")
        )
        if missing:
            raise SystemExit(1)
        _write_figures(rounds, cpu, args, database, at_start)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


def _wait_warm(slack: Any, users: int) -> None:
    """pulsebot's directory warm-up (users.list) has run: requests then find everyone cached."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not slack.calls("users.list"):
        time.sleep(0.1)
    time.sleep(2 + users / 2000)


def _stored_keys(database: str) -> set[str]:
    from sqlalchemy import create_engine, select

    from storage.models import Kudos

    engine = create_engine(database)
    with engine.connect() as connection:
        keys = set(connection.execute(select(Kudos.request_key)).scalars())
    engine.dispose()
    return keys


def _reset_postgres(database: str) -> None:
    """Empty the benchmark's own database (created if absent): never point it at real data."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

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
        setting = connection.execute(text("SHOW synchronous_commit")).scalar_one()
    engine.dispose()
    print(f"PostgreSQL synchronous_commit = {setting}")


def _analyze(database: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(database, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[89] * 1000, cuts[98] * 1000


def _load_line(when: str) -> str:
    one, five, fifteen = os.getloadavg()
    return f"  load average {when}: {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


def _cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU of a process (or one of its threads) so far, on Linux: it tells
    CPU-bound from waiting."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu_seconds() -> float:
    """CPU of every local PostgreSQL process so far (the server's share of a kudos; it
    includes whatever else uses that server meanwhile)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    total += _cpu_seconds(int(entry.name))
            except OSError:
                continue
    return total


def _sender_tid(pid: int) -> int | None:
    """The native id of pulsebot's outbox-sender thread (py-spy names threads), or None."""
    try:
        dump = subprocess.run(
            ["py-spy", "dump", "--nonblocking", "--pid", str(pid)],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in dump.splitlines():
        if line.startswith("Thread") and '"outbox-sender"' in line:
            token = line.split()[1]
            return int(token, 16) if token.startswith("0x") else int(token)
    return None


def _report_round(
    number: int,
    measured: dict[str, list[float]],
    cpu: dict[str, tuple[float, float]],
    requests: int,
) -> None:
    bare, pulse = _percentiles(measured["bare"]), _percentiles(measured["pulsebot"])
    print(
        f"  round {number}: bare p50/p90/p99 {bare[0]:6.1f} {bare[1]:6.1f} {bare[2]:6.1f} ms | "
        f"pulsebot {pulse[0]:6.1f} {pulse[1]:6.1f} {pulse[2]:6.1f} ms | "
        f"ratio p50 {pulse[0] / bare[0]:.2f} p99 {pulse[2] / bare[2]:.2f}",
        flush=True,
    )
    print(
        "           server CPU per request / busy share of one core: "
        + "  ".join(
            f"{name} {seconds / requests * 1000:.2f} ms / {seconds / wall:.0%} ({wall:.2f} s)"
            if seconds >= 0
            else f"{name} n/a (a process ended meanwhile)"
            for name, (seconds, wall) in cpu.items()
        ),
        flush=True,
    )


def _report_all(rounds: list[dict[str, list[float]]], args: argparse.Namespace, db: str) -> None:
    print(
        f"/kudos ack latency, {args.rounds} rounds x {args.requests} requests per app, "
        f"{args.concurrency} concurrent senders, database {db.split(':')[0].split('+')[0]}"
    )
    both = {name: [v for r in rounds for v in r[name]] for name in ("bare", "pulsebot")}
    for name, values in both.items():
        p50, p90, p99 = _percentiles(values)
        print(
            f"  {name:9s} p50 {p50:7.1f} ms   p90 {p90:7.1f} ms   p99 {p99:7.1f} ms   "
            f"n={len(values)}"
        )
    ratios = [_percentiles(r["pulsebot"])[2] / _percentiles(r["bare"])[2] for r in rounds]
    bare, pulse = _percentiles(both["bare"]), _percentiles(both["pulsebot"])
    print(
        f"  ratio     p50 {pulse[0] / bare[0]:7.2f}      p99 {pulse[2] / bare[2]:7.2f}   "
        f"(per round p99 {min(ratios):.2f}-{max(ratios):.2f}; goal p99 <= 1.5)"
    )


def _write_figures(
    rounds: list[dict[str, list[float]]],
    cpu: dict[str, tuple[float, float]],
    args: argparse.Namespace,
    database: str,
    at_start: dict[str, Any],
) -> None:
    """bench/figures/kudos_ack.json: both apps' percentiles, and the CPU per request of the
    last round (bench/capacity.py reads pulsebot's)."""
    from bench.common import write_figures

    both = {name: [v for r in rounds for v in r[name]] for name in ("bare", "pulsebot")}
    figures: dict[str, Any] = {
        "requests": args.requests,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        **{f"{name}_ms": [round(v, 2) for v in _percentiles(v)] for name, v in both.items()},
        "cpu_ms_per_request": {
            name: round(seconds / args.requests * 1000, 3) for name, (seconds, _) in cpu.items()
        },
    }
    write_figures("kudos_ack", database.split(":")[0].split("+")[0], figures, at_start)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        load_main(sys.argv[2:])
    else:
        main()
