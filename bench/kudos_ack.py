"""Ack latency of `/kudos`: pulsebot (kudos stored durably before the ack) against a bare Bolt
app that only acks (bench/bare_app.py, which imports nothing of ours), same load, same machine.

    python bench/kudos_ack.py [--requests 1000] [--rounds 3] [--concurrency 32]
                              [--databases sqlite,postgres | --database URL] [--pin]
                              [--kind kudos | reaction] [--figures FILE]

- `--kind reaction`: the same, for a kudos given by reaction: each request is a signed
  `reaction_added` event (`:kudos:` on a message its giver's neighbour wrote in #general, which
  the emulator holds), and the bare app acks `reaction_added` as it acks `/kudos`. pulsebot
  stores the kudos before the ack; chat.getPermalink and the posts run after it. Figures go to
  bench/figures/reaction_ack.json unless `--figures` names another file.

- The load generator runs in a process of its own (this file with `load`): `--concurrency`
  closed-loop senders on keep-alive connections, each request signed as Slack signs it.
- Rounds alternate the two apps (bare, pulsebot; then pulsebot, bare; ...), so a neighbour's
  load on the machine lands on both; every round prints p50/p90/p99 of both and the ratios,
  and the CPU each process spent per request beside the wall time.
- `--databases`: `sqlite` (a file in a temporary directory: the database runs inside the app's
  process, so its CPU is the app's) and/or `postgres` (a private cluster made for the run with
  initdb/pg_ctl in a temporary directory on a free port: bench/private_postgres.py; the
  machine's own server is left alone). `--database URL` names one database instead (a
  PostgreSQL one is emptied first; its CPU is then every local postgres process's).
- `--pin`: every round is run twice, unpinned and pinned. Pinned, the app under test (bare,
  then pulsebot) has one core to itself, and everything else (the load generator, this process
  with the Slack emulator, the private PostgreSQL) the other core(s): `taskset` on every thread
  of each process. As in a deployment, where the database runs elsewhere, the database's CPU
  no longer competes with the app's.
- At the end of each database a crash burst: the load generator `kill -9`s pulsebot the instant
  it has read a chosen ack, then every acked kudos (of every round) must be in the database.
- Printed first: the CPU (/proc/cpuinfo) and the load average. The figures go to `--figures`
  (JSON: bench, date, cpu, loadavg, command, results).

Run by hand, not in CI. Traffic stays on 127.0.0.1.
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
KINDS = ("kudos", "reaction")
# Every giver's neighbour wrote one message in #general, dated from this epoch second on.
MESSAGES_FROM = 1_600_000_000
REACTION = "kudos"


def message_ts(author: int) -> str:
    """The ts of the message `UG{author}` wrote in #general (the emulator's past-ts format)."""
    return f"{MESSAGES_FROM + author}.000000"


# ----- the load generator (its own process) ------------------------------------------------


def _body(kind: str, giver: int, run: str) -> tuple[bytes, str, str]:
    """A request's body, its content type, and the kudos' request key once stored."""
    if kind == "reaction":
        return _reaction_body(giver, run)
    body, trigger_id = _kudos_body(giver, run)
    return body, "application/x-www-form-urlencoded", f"cmd:{trigger_id}"


def _reaction_body(giver: int, run: str) -> tuple[bytes, str, str]:
    user, ts = f"UG{giver:05d}", message_ts(giver + 1)
    envelope = {
        "token": "x",
        "team_id": "T0TEAM",
        "api_app_id": "A0PULSEBOT",
        "type": "event_callback",
        "event_id": f"Ev{run[-8:]}{giver:07d}",
        "event_time": int(time.time()),
        "event": {
            "type": "reaction_added",
            "user": user,
            "reaction": REACTION,
            "item_user": f"UG{giver + 1:05d}",
            "item": {"type": "message", "channel": "C0GENERAL", "ts": ts},
            "event_ts": f"{time.time():.6f}",
        },
        "authorizations": [{"team_id": "T0TEAM", "user_id": "U0PULSEBOT", "is_bot": True}],
    }
    key = f"reaction:C0GENERAL:{ts}:{user}:{REACTION}"
    return json.dumps(envelope).encode(), "application/json", key


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


def _request(port: int, body: bytes, content_type: str) -> bytes:
    timestamp = str(int(time.time()))
    base = b"v0:" + timestamp.encode() + b":" + body
    sig = "v0=" + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    head = (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: {content_type}\r\n"
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
    prepared = [_body(args.kind, g, args.run) for g in range(args.first, args.first + args.count)]
    requests = [(_request(args.port, body, kind), key) for body, kind, key in prepared]
    # An event's ack is an empty 200; a command's says the kudos was sent.
    expected = b"" if args.kind == "reaction" else ACKED.encode()
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
                elif expected in body:
                    acked.append(trigger)
                    if args.kill_pid and not killed and len(acked) >= args.kill_after:
                        os.kill(args.kill_pid, signal.SIGKILL)  # the instant after this ack
                        killed = True
        finally:
            writer.close()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(args.concurrency)))
    return {
        "latencies": latencies,
        "acked": acked,
        "errors": errors,
        "killed": killed,
        "cpu": time.process_time() - cpu,  # the generator's own CPU while it sent
        "elapsed": time.perf_counter() - wall,
    }


def load_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="kudos_ack.py load")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--first", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--kind", choices=KINDS, default="kudos")
    parser.add_argument("--kill-pid", type=int, default=0)
    parser.add_argument("--kill-after", type=int, default=0)
    args = parser.parse_args(argv)
    json.dump(asyncio.run(_load_async(args)), sys.stdout)


def _load(
    port: int, first: int, count: int, concurrency: int, cpus: list[int], **extra: Any
) -> dict[str, Any]:
    """Run the load generator on `cpus` (taskset) and return what it measured."""
    command = [
        "taskset",
        "-c",
        _cpu_list(cpus),
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


# ----- the orchestra: emulator, both servers, layouts, rounds, the crash check ------------------

APPS = ("bare", "pulsebot")
GOAL = 1.5  # pulsebot's p99 against the bare app's, pinned


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
        "--databases",
        default="sqlite",
        help="comma-separated: sqlite (a temporary file), postgres (a private cluster started "
        "for the run); default sqlite",
    )
    parser.add_argument(
        "--database",
        help="one DATABASE_URL instead of --databases; a PostgreSQL database is emptied first, "
        "e.g. postgresql+psycopg://postgres@127.0.0.1:5432/pulsebot_bench",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="run every round unpinned and pinned (the app on one core, the rest on the other)",
    )
    parser.add_argument(
        "--kind",
        choices=KINDS,
        default="kudos",
        help="kudos: /kudos commands; reaction: reaction_added events (default kudos)",
    )
    parser.add_argument(
        "--figures",
        help="where the figures go as JSON ('' for nowhere); default "
        "bench/figures/kudos_ack.json, or reaction_ack.json with --kind reaction",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="record where pulsebot holds the GIL (py-spy --gil) into FILE, collapsed stacks",
    )
    args = parser.parse_args()
    if args.figures is None:
        name = "reaction_ack.json" if args.kind == "reaction" else "kudos_ack.json"
        args.figures = str(ROOT / "bench" / "figures" / name)
    sys.path.insert(0, str(ROOT))

    machine = _machine()
    print(
        f"CPU: {machine['cpu']}, {machine['cores']} cores; load average at the start: "
        + " ".join(f"{value:.2f}" for value in machine["loadavg"]),
        flush=True,
    )
    if args.database:
        targets = [("postgresql" if args.database.startswith("postgresql") else "sqlite", "url")]
    else:
        targets = [(_database_kind(name), "private") for name in args.databases.split(",")]
    cpus = sorted(os.sched_getaffinity(0))
    placement = {"unpinned": (cpus, cpus)}
    if args.pin:
        if len(cpus) < 2:
            raise SystemExit("--pin needs two cores at least")
        if args.database and args.database.startswith("postgresql"):
            raise SystemExit(
                "--pin cannot pin a PostgreSQL server it did not start: use --databases postgres"
            )
        placement["pinned"] = (cpus[:1], cpus[1:])
    results: dict[str, Any] = {}
    failed = False
    for kind, source in targets:
        run = _DatabaseRun(args, kind, args.database if source == "url" else None, placement)
        results[kind] = run.measure()
        failed = failed or bool(results[kind]["crash"]["acked_not_stored"])
    _summary(results, args)
    if args.figures:
        _write_figures(args.figures, machine, results, args)
    if failed:
        raise SystemExit(1)


def _database_kind(name: str) -> str:
    if name in ("sqlite", "postgres", "postgresql"):
        return "sqlite" if name == "sqlite" else "postgresql"
    raise SystemExit(f"--databases: unknown {name!r} (sqlite, postgres)")


class _DatabaseRun:
    """One database: both apps started once, every layout measured in every round, then the
    crash burst."""

    def __init__(
        self,
        args: argparse.Namespace,
        kind: str,
        url: str | None,
        placement: dict[str, tuple[list[int], list[int]]],
    ) -> None:
        self.args = args
        self.kind = kind
        self.url = url
        self.placement = placement
        self.layouts = list(placement)
        self.postgres: Any = None  # a PrivatePostgres when the run started its own
        self.load_cpus: list[int] = sorted(os.sched_getaffinity(0))

    def measure(self) -> dict[str, Any]:
        from contextlib import ExitStack

        from bot.demo.emulator import SlackEmulator

        args = self.args
        crash_count = args.crash_after * 2
        users = args.warmup + args.requests * args.rounds * len(self.layouts) + crash_count + 10
        run = str(time.time_ns())
        with ExitStack() as stack:
            slack = stack.enter_context(SlackEmulator())
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            for i in range(users + 1):
                slack.add_user(f"UG{i:05d}", tz="Europe/Paris")
            if args.kind == "reaction":  # what the reactions are on
                for i in range(1, users + 1):
                    written = slack.add_message(
                        "C0GENERAL", f"UG{i:05d}", "shipped it", ts=MESSAGES_FROM + i
                    )
                    assert written["ts"] == message_ts(i), written["ts"]
            if self.url is not None:
                database = self.url
                if self.kind == "postgresql":
                    _reset_postgres(database)
            elif self.kind == "postgresql":
                sys.path.insert(0, str(ROOT / "bench"))
                from private_postgres import PrivatePostgres

                self.postgres = stack.enter_context(PrivatePostgres())
                database = self.postgres.url
                print(f"PostgreSQL: a private cluster on port {self.postgres.port}", flush=True)
            else:
                database = f"sqlite:///{tmp}/bench.db"
                print("SQLite: the database runs inside pulsebot's process", flush=True)
            return self._measure(slack, database, users, run, crash_count)

    def _measure(
        self, slack: Any, database: str, users: int, run: str, crash_count: int
    ) -> dict[str, Any]:
        args = self.args
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.url,
            "DATABASE_URL": database,
            "LOG_LEVEL": "WARNING",
            "PULSEBOT_KUDOS_REACTIONS": REACTION,
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
        self.pids = {"bare": bare.pid, "pulsebot": pulse.pid}
        profiler: subprocess.Popen[bytes] | None = None
        acked: list[str] = []
        samples: dict[str, list[dict[str, dict[str, Any]]]] = {name: [] for name in self.layouts}
        crash: dict[str, Any] = {"acked": []}
        try:
            _wait_listening(pulse_port, pulse)
            _wait_listening(bare_port, bare)
            _wait_warm(slack, users)
            if database.startswith("postgresql"):
                _analyze(database)  # what autovacuum does within a minute of the warm-up
            ports = {"bare": bare_port, "pulsebot": pulse_port}
            self._place("unpinned")
            giver = 0
            for name in APPS:  # imports, pools, caches: not measured
                out = _load(
                    ports[name],
                    giver,
                    args.warmup,
                    args.concurrency,
                    self.load_cpus,
                    run=run,
                    kind=args.kind,
                )
                if name == "pulsebot":
                    acked += out["acked"]
            giver += args.warmup
            if args.profile:
                profiler = _start_profiler(args.profile, pulse.pid)
            print(_load_line("before the rounds"), flush=True)
            for number in range(args.rounds):
                layouts = self.layouts if number % 2 == 0 else self.layouts[::-1]
                for index, layout in enumerate(layouts):
                    self._place(layout)
                    order = APPS if (number + index) % 2 == 0 else APPS[::-1]
                    measured: dict[str, dict[str, Any]] = {}
                    for name in order:
                        sample = self._sample(name, ports[name], giver, run)
                        if name == "pulsebot":
                            acked += sample.pop("acked")
                            if sample["count"] != args.requests:
                                raise SystemExit(f"pulsebot acked {sample['count']} kudos")
                        measured[name] = sample
                    # The bare app takes the same givers: it stores nothing.
                    giver += args.requests
                    samples[layout].append(measured)
                    _report_round(number + 1, layout, measured)
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(timeout=60)
                profiler = None
            print(_load_line("after the rounds"), flush=True)
            crash = _load(
                pulse_port,
                giver,
                crash_count,
                args.concurrency,
                self.load_cpus,
                run=run,
                kind=args.kind,
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
            self._place_self(self.placement["unpinned"][0])
        stored = _stored_keys(database)
        missing = [key for key in acked if key not in stored]
        print(
            f"  kill -9 after ack #{args.crash_after} of a burst of {crash_count}: "
            f"{len(crash['acked'])} acked in the burst; kudos acked {len(acked)} in all, "
            f"stored {len(stored)}, acked but not stored {len(missing)}"
            + ("  -> every ack durable" if not missing else f"  e.g. {missing[:3]}"),
            flush=True,
        )
        return {
            "database": self.kind,
            "where": _where(self.kind, self.url),
            "layouts": {
                layout: _layout_figures(rounds, self.placement[layout])
                for layout, rounds in samples.items()
            },
            "crash": {
                "kill_after_ack": args.crash_after,
                "acked": len(acked),
                "stored": len(stored),
                "acked_not_stored": len(missing),
            },
        }

    def _place(self, layout: str) -> None:
        """The apps on the layout's app cores; the load generator, this process (the Slack
        emulator) and a private PostgreSQL on the others."""
        app_cpus, other_cpus = self.placement[layout]
        for pid in self.pids.values():
            _set_affinity(pid, app_cpus)
        if self.postgres is not None:
            for pid in self.postgres.pids():
                _set_affinity(pid, other_cpus)
        self._place_self(other_cpus)
        self.load_cpus = other_cpus

    @staticmethod
    def _place_self(cpus: list[int]) -> None:
        _set_affinity(os.getpid(), cpus)

    def _sample(self, name: str, port: int, giver: int, run: str) -> dict[str, Any]:
        """One app's share of a round: latencies and every process's CPU."""
        pid = self.pids[name]
        app_before = _cpu_seconds(pid)
        own_before = _cpu_seconds(os.getpid())
        db_before = self._database_cpu()
        out = _load(
            port,
            giver,
            self.args.requests,
            self.args.concurrency,
            self.load_cpus,
            run=run,
            kind=self.args.kind,
        )
        if out["errors"]:
            raise SystemExit(f"{name}: {len(out['errors'])} failed: {out['errors'][0]}")
        db_after = self._database_cpu()
        return {
            "latencies": out["latencies"],
            "acked": out["acked"],
            "count": len(out["acked"]),
            "elapsed": out["elapsed"],
            "app_cpu": _cpu_seconds(pid) - app_before,
            "db_cpu": None if db_before is None or db_after is None else db_after - db_before,
            "load_cpu": out["cpu"],
            "emulator_cpu": _cpu_seconds(os.getpid()) - own_before,
        }

    def _database_cpu(self) -> float | None:
        """PostgreSQL's CPU so far: the private cluster's processes, or every local postgres
        process for a server named by URL; None on SQLite (its CPU is the app's)."""
        if self.postgres is not None:
            return float(self.postgres.cpu_seconds())
        if self.kind == "postgresql":
            return _postgres_cpu_seconds()
        return None


def _where(kind: str, url: str | None) -> str:
    if kind == "sqlite":
        return "SQLite, inside the app's process: its CPU is the app's, on the app's core"
    if url is None:
        return "a private PostgreSQL cluster, on the load generator's core(s) when pinned"
    return "the PostgreSQL server named by --database (not pinned; its CPU: every local postgres)"


def _machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": len(os.sched_getaffinity(0)),
        "loadavg": [round(value, 2) for value in os.getloadavg()],
    }


def _cpu_list(cpus: list[int]) -> str:
    return ",".join(str(cpu) for cpu in cpus)


def _set_affinity(pid: int, cpus: list[int]) -> None:
    """`taskset -a`: every thread of the process (threads started later inherit it); a thread
    that ends meanwhile is passed over."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), cpus)
        except (ProcessLookupError, FileNotFoundError):
            continue


def _start_profiler(path: str, pid: int) -> subprocess.Popen[bytes]:
    profiler = subprocess.Popen(
        [
            "py-spy",
            "record",
            "-o",
            path,
            "-f",
            "raw",
            "--gil",
            "--rate",
            "500",
            "--nonblocking",
            "-p",
            str(pid),
        ],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(1)
    return profiler


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


def _per_ms(seconds: float | None, count: int) -> float | None:
    return None if seconds is None else round(seconds / count * 1000, 3)


def _report_round(number: int, layout: str, measured: dict[str, dict[str, Any]]) -> None:
    bare = _percentiles(measured["bare"]["latencies"])
    pulse = _percentiles(measured["pulsebot"]["latencies"])
    print(
        f"  round {number} {layout:8s}: bare p50/p90/p99 {bare[0]:6.1f} {bare[1]:6.1f} "
        f"{bare[2]:6.1f} ms | pulsebot {pulse[0]:6.1f} {pulse[1]:6.1f} {pulse[2]:6.1f} ms | "
        f"ratio p50 {pulse[0] / bare[0]:.2f} p90 {pulse[1] / bare[1]:.2f} "
        f"p99 {pulse[2] / bare[2]:.2f}",
        flush=True,
    )
    parts = []
    for name in APPS:
        sample = measured[name]
        count = len(sample["latencies"])
        line = (
            f"{name} {sample['app_cpu'] / count * 1000:.2f} ms "
            f"({sample['app_cpu'] / sample['elapsed']:.0%} of a core)"
        )
        if sample["db_cpu"] is not None:
            line += f" + postgres {sample['db_cpu'] / count * 1000:.2f} ms"
        parts.append(line)
    load = measured["pulsebot"]
    count = len(load["latencies"])
    parts.append(
        f"load generator {load['load_cpu'] / count * 1000:.2f} ms, "
        f"emulator {load['emulator_cpu'] / count * 1000:.2f} ms"
    )
    print("      CPU per request: " + " | ".join(parts), flush=True)


def _layout_figures(
    rounds: list[dict[str, dict[str, Any]]], cpus: tuple[list[int], list[int]]
) -> dict[str, Any]:
    """A layout's figures over its rounds: percentiles of every latency, CPU per request."""
    figures: dict[str, Any] = {"app_cpus": cpus[0], "other_cpus": cpus[1]}
    for name in APPS:
        latencies = [value for r in rounds for value in r[name]["latencies"]]
        count = len(latencies)
        elapsed = sum(r[name]["elapsed"] for r in rounds)
        app_cpu = sum(r[name]["app_cpu"] for r in rounds)
        db = [r[name]["db_cpu"] for r in rounds]
        db_cpu = None if any(value is None for value in db) else sum(db)
        load_cpu = sum(r[name]["load_cpu"] for r in rounds)
        emulator_cpu = sum(r[name]["emulator_cpu"] for r in rounds)
        p50, p90, p99 = _percentiles(latencies)
        figures[name] = {
            "p50_ms": round(p50, 2),
            "p90_ms": round(p90, 2),
            "p99_ms": round(p99, 2),
            "n": count,
            "wall_s": round(elapsed, 3),
            "cpu_ms_per_ack": _per_ms(app_cpu, count),
            "busy_share_of_a_core": round(app_cpu / elapsed, 3),
            "postgres_cpu_ms_per_ack": _per_ms(db_cpu, count),
            "load_generator_cpu_ms_per_request": _per_ms(load_cpu, count),
            "emulator_cpu_ms_per_request": _per_ms(emulator_cpu, count),
            # What the load generator, the emulator and PostgreSQL kept busy of their cores.
            "others_busy_share": round(
                (load_cpu + emulator_cpu + (db_cpu or 0.0)) / elapsed / len(cpus[1]), 3
            ),
        }
    bare, pulse = figures["bare"], figures["pulsebot"]
    figures["ratio"] = {
        f"p{cut}": round(pulse[f"p{cut}_ms"] / bare[f"p{cut}_ms"], 3) for cut in (50, 90, 99)
    }
    figures["ratio_p99_per_round"] = [
        round(
            _percentiles(r["pulsebot"]["latencies"])[2] / _percentiles(r["bare"]["latencies"])[2],
            3,
        )
        for r in rounds
    ]
    figures["cpu_ratio"] = round(pulse["cpu_ms_per_ack"] / bare["cpu_ms_per_ack"], 3)
    return figures


def _summary(results: dict[str, Any], args: argparse.Namespace) -> None:
    what = "reaction_added (:kudos:)" if args.kind == "reaction" else "/kudos"
    print(
        f"{what} ack latency: {args.rounds} rounds x {args.requests} requests per app and "
        f"layout, {args.concurrency} concurrent senders"
    )
    for kind, result in results.items():
        print(f"{kind}: {result['where']}")
        print(
            f"  {'layout':9s} {'app':9s} {'p50':>7s} {'p90':>7s} {'p99':>7s} ms   "
            f"{'CPU/ack':>8s} {'busy':>5s}  postgres CPU/ack"
        )
        for layout, figures in result["layouts"].items():
            for name in APPS:
                app = figures[name]
                postgres = app["postgres_cpu_ms_per_ack"]
                print(
                    f"  {layout:9s} {name:9s} {app['p50_ms']:7.1f} {app['p90_ms']:7.1f} "
                    f"{app['p99_ms']:7.1f}      {app['cpu_ms_per_ack']:6.2f} ms "
                    f"{app['busy_share_of_a_core']:5.0%}  "
                    + ("-" if postgres is None else f"{postgres:.2f} ms")
                )
            ratio = figures["ratio"]
            per_round = figures["ratio_p99_per_round"]
            print(
                f"  {layout:9s} {'ratio':9s} {ratio['p50']:7.2f} {ratio['p90']:7.2f} "
                f"{ratio['p99']:7.2f}      {figures['cpu_ratio']:6.2f} x   "
                f"(p99 per round {min(per_round):.2f}-{max(per_round):.2f})"
            )
        if "pinned" in result["layouts"]:
            ratio = result["layouts"]["pinned"]["ratio"]["p99"]
            verdict = "met" if ratio <= GOAL else "NOT met"
            print(f"  goal: pinned p99 ratio <= {GOAL}: {ratio:.2f}, {verdict}")
        for layout, figures in result["layouts"].items():
            busy = min(figures[name]["busy_share_of_a_core"] for name in APPS)
            others = max(figures[name]["others_busy_share"] for name in APPS)
            if layout == "pinned" and others > 0.8:
                print(f"  note: pinned, the other core(s) were {others:.0%} busy: near their limit")
            if layout == "pinned" and busy < 0.9:
                print(
                    f"  note: pinned, an app kept its core only {busy:.0%} busy under a closed "
                    "loop: the machine was not quiet, or the other core (load generator, "
                    "emulator, PostgreSQL) was the limit; the latencies then measure more than "
                    "the apps"
                )


def _write_figures(
    path: str, machine: dict[str, Any], results: dict[str, Any], args: argparse.Namespace
) -> None:
    import shlex
    from datetime import UTC, datetime

    figures = {
        "bench": "kudos_ack",
        "kind": args.kind,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": machine["cpu"],
        "cores": machine["cores"],
        "loadavg": machine["loadavg"],
        "command": shlex.join(["python", "bench/kudos_ack.py", *sys.argv[1:]]),
        "requests": args.requests,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "goal": {"pinned_p99_ratio_at_most": GOAL},
        "results": results,
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"figures written to {target}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        load_main(sys.argv[2:])
    else:
        main()
