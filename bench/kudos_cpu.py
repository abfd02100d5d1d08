"""CPU per `/kudos` through `App.dispatch` in one thread: no HTTP, no sender, no contention.

    python bench/kudos_cpu.py [--requests 2000] [--databases sqlite,postgres | --database URL]
                              [--profile [--interval 0.5]] [--cprofile]

What the ack path costs in this process, apart from the server and the load: a bare Bolt app
that only acks against pulsebot's listener, both signed and dispatched the same way.
`--databases postgres` starts a private PostgreSQL cluster (bench/private_postgres.py) and adds
its CPU per kudos.

`--profile` samples where the CPU goes (SIGPROF every `--interval` ms of the process's CPU,
the Python stack of the interrupted frame counted; a C call, such as the driver's execute,
counts in the Python function that made it) for the bare app and for pulsebot, and prints the
microseconds per request by area (Bolt, SQLAlchemy, our layers...), by function inclusive of
what it calls, and by function alone. A sample costs some 10-20 us, so the sampled run is a
few per cent slower than the plain one. `--cprofile` prints cProfile's tables instead: exact
call counts, but its own cost per call inflates call-heavy code several times over. Either way
each unit runs inline, in one transaction of its own, instead of in the group-commit writer
thread (one request at a time makes batches of one anyway). Run by hand, not in CI.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import hmac
import pstats
import signal
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret"
STDLIB = sysconfig.get_paths()["stdlib"]


def _request(giver: int, run: str):  # type: ignore[no-untyped-def]
    from slack_bolt import BoltRequest

    body = urlencode(
        {
            "team_id": "T0TEAM",
            "channel_id": "C0GENERAL",
            "user_id": f"UG{giver:05d}",
            "command": "/kudos",
            "text": f"<@UG{giver + 1:05d}> thanks for the review #teamwork",
            "api_app_id": "A0PULSEBOT",
            "response_url": "http://127.0.0.1:9/hooks/x",
            "trigger_id": f"cpu.{run}.{giver}",
        }
    )
    timestamp = str(int(time.time()))
    base = f"v0:{timestamp}:{body}".encode()
    sig = "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": sig,
    }
    return BoltRequest(body=body, headers=headers)


# ----- the sampler ---------------------------------------------------------------------------

Frame = tuple[str, str]  # (file, qualified name)


class Sampler:
    """The main thread's Python stack, every `interval` seconds of the process's CPU time."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.stacks: Counter[tuple[Frame, ...]] = Counter()
        self._previous: Any = None

    def _take(self, _signal: int, frame: FrameType | None) -> None:
        stack = []
        while frame is not None:
            code = frame.f_code
            stack.append((code.co_filename, code.co_qualname))
            frame = frame.f_back
        self.stacks[tuple(stack)] += 1

    def __enter__(self) -> Sampler:
        self._previous = signal.signal(signal.SIGPROF, self._take)
        signal.siginterrupt(signal.SIGPROF, False)  # a system call resumes, not EINTR
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, self._previous)

    @property
    def samples(self) -> int:
        return sum(self.stacks.values())


def _short(path: str) -> str:
    if path.startswith(str(ROOT)):
        return path[len(str(ROOT)) + 1 :]
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    if path.startswith(STDLIB):
        return path[len(STDLIB) + 1 :]
    return path


def _area(path: str) -> str:
    """Where a frame's code lives: a library, a layer of ours, the standard library."""
    short = _short(path)
    if short.startswith("<sqlalchemy generated"):
        return "sqlalchemy"
    if short == "<string>":
        return "generated code (dataclass __init__)"
    for library in ("slack_bolt", "slack_sdk", "sqlalchemy", "psycopg", "uvicorn", "starlette"):
        if short.startswith(library + "/"):
            return library
    if path.startswith(str(ROOT)):
        return "ours: " + short.split("/", 1)[0]
    if path.startswith(STDLIB):
        return "stdlib: " + short.split("/", 1)[0].removesuffix(".py")
    return "other: " + (short if short.startswith("<") else short.split("/", 1)[0])


def _key(frame: Frame) -> str:
    return f"{_short(frame[0])}:{frame[1]}"


# A transaction's own cost, apart from its statements: the session, the pooled connection (and
# its pre-ping on PostgreSQL), BEGIN, COMMIT. The server pays it once per group-commit batch.
# Not the kudos' own writes, which PostgreSQL's pipeline may send just before the COMMIT.
TRANSACTION = ("storage/engine.py:unit_of_work", "sqlalchemy/orm/session.py:Session.connection")
HELD_WRITES = "storage/fast_path.py:send_deferred_writes"


def _tables(
    sampler: Sampler, us_per_sample: float, n: int
) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Samples by area (innermost frame, plus the transaction's own cost), by function
    inclusive, by function alone; each counted once per sample."""
    areas: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    alone: Counter[str] = Counter()
    for stack, count in sampler.stacks.items():
        if not stack:
            continue
        keys = {_key(frame) for frame in stack}
        areas[_area(stack[0][0])] += count
        if keys & set(TRANSACTION) and HELD_WRITES not in keys:
            areas[TRANSACTION_AREA] += count
        alone[_key(stack[0])] += count
        for key in keys:
            inclusive[key] += count
    scale = us_per_sample / n
    return (
        Counter({k: v * scale for k, v in areas.items()}),
        Counter({k: v * scale for k, v in inclusive.items()}),
        Counter({k: v * scale for k, v in alone.items()}),
    )


TRANSACTION_AREA = "(of the above: per transaction)"


def _print_profile(
    profiles: dict[str, tuple[Sampler, float, int]], *, inclusive_top: int, alone_top: int
) -> None:
    tables = {name: _tables(*profile) for name, profile in profiles.items()}
    bare_areas, _, _ = tables["bare"]
    pulse_areas, pulse_inclusive, pulse_alone = tables["pulsebot"]
    transaction = pulse_areas.pop(TRANSACTION_AREA, 0.0)
    total_bare, total_pulse = sum(bare_areas.values()), sum(pulse_areas.values())
    print(
        f"\n  where the CPU goes, us per request (innermost Python frame; a C call counts in "
        f"the frame that made it); sampled: bare {total_bare:.0f} us, pulsebot "
        f"{total_pulse:.0f} us"
    )
    print(f"    {'area':32s} {'bare':>7s} {'pulsebot':>9s} {'more':>7s}")
    for area in sorted(
        set(bare_areas) | set(pulse_areas), key=lambda a: -(pulse_areas[a] - bare_areas[a])
    ):
        if max(bare_areas[area], pulse_areas[area]) < 2:
            continue
        print(
            f"    {area:32s} {bare_areas[area]:7.0f} {pulse_areas[area]:9.0f} "
            f"{pulse_areas[area] - bare_areas[area]:+7.0f}"
        )
    print(
        f"    of pulsebot's, per transaction (session, pooled connection, BEGIN, COMMIT; the "
        f"server pays it once per group-commit batch): {transaction:.0f} us; per kudos: "
        f"{total_pulse - transaction:.0f} us"
    )
    print(f"\n  pulsebot, by function including what it calls (top {inclusive_top}), us per kudos:")
    for key, us in pulse_inclusive.most_common(inclusive_top):
        print(f"    {us:7.0f}  {us / total_pulse:4.0%}  {key}")
    print(f"\n  pulsebot, by function alone (top {alone_top}), us per kudos:")
    for key, us in pulse_alone.most_common(alone_top):
        print(f"    {us:7.0f}  {us / total_pulse:4.0%}  {key}")


# ----- the run -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--databases",
        default="sqlite",
        help="comma-separated: sqlite (a temporary file), postgres (a private cluster)",
    )
    parser.add_argument("--database", help="one DATABASE_URL instead of --databases")
    parser.add_argument("--profile", action="store_true", help="sample where the CPU goes")
    parser.add_argument("--interval", type=float, default=0.5, help="ms of CPU between samples")
    parser.add_argument("--cprofile", action="store_true", help="cProfile's tables instead")
    parser.add_argument("--top", type=int, default=40, help="functions listed (inclusive)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from kudos_ack import _machine
    from private_postgres import PrivatePostgres

    machine = _machine()
    print(
        f"CPU: {machine['cpu']}, {machine['cores']} cores; load average at the start: "
        + " ".join(f"{value:.2f}" for value in machine["loadavg"])
    )
    if args.database:
        targets: list[tuple[str, str | None]] = [("url", args.database)]
    else:
        targets = [(name.strip(), None) for name in args.databases.split(",")]
    for kind, url in targets:
        with ExitStack() as stack:
            postgres = None
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            if url is not None:
                database = url
            elif kind in ("postgres", "postgresql"):
                postgres = stack.enter_context(PrivatePostgres())
                database = postgres.url
            elif kind == "sqlite":
                database = f"sqlite:///{tmp}/cpu.db"
            else:
                raise SystemExit(f"--databases: unknown {kind!r} (sqlite, postgres)")
            print(f"\n{database.split(':')[0].split('+')[0]}:")
            _run(args, database, postgres)


def _run(args: argparse.Namespace, database: str, postgres: Any) -> None:
    from bare_app import build

    from bot.app import build_app
    from bot.demo.emulator import SlackEmulator
    from bot.deps import Deps
    from bot.services.directory import record_from_slack, store_users
    from bot.settings import Settings
    from storage.engine import make_engine, make_session_factory, unit_of_work
    from storage.migrate import upgrade

    n = args.requests
    run = str(time.time_ns())
    profiling = args.profile or args.cprofile
    with SlackEmulator() as slack:
        upgrade(database)
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.url,
            DATABASE_URL=database,
        )
        engine = make_engine(database)
        deps = Deps(settings=settings, session_factory=make_session_factory(engine))
        deps.slack.team_id = "T0TEAM"
        now = deps.now()
        records = [
            record_from_slack({"id": f"UG{i:05d}", "tz": "Europe/Paris", "name": f"g{i}"}, "T0TEAM")
            for i in range(2 * n + 2)
        ]
        with deps.unit_of_work() as session:
            store_users(session, "T0TEAM", records, now)
        if profiling:
            # The profilers see one thread: each unit inline instead of in the group writer.
            def inline(work):  # type: ignore[no-untyped-def]
                with unit_of_work(deps.session_factory) as session:
                    return work(session)

            deps.group_unit = inline  # type: ignore[method-assign]
        app = build_app(settings, deps)
        bare = build(SECRET, slack.bot_token, slack.url).app
        profiles: dict[str, tuple[Sampler, float, int]] = {}
        runs = (("bare", bare, 0, False), ("bare", bare, 0, True))
        runs += (("pulsebot", app, 0, False), ("pulsebot", app, n, True))
        for name, target, first, measured in runs:
            requests = [_request(g, run) for g in range(first, first + n)]
            profiler = cProfile.Profile(time.process_time) if args.cprofile and measured else None
            sampler = Sampler(args.interval / 1000) if args.profile and measured else None
            database_before = postgres.cpu_seconds() if postgres is not None else 0.0
            started = time.process_time()
            with sampler or ExitStack():
                if profiler:
                    profiler.enable()
                for request in requests:
                    response = target.dispatch(request)
                    assert response.status == 200, response.body
                if profiler:
                    profiler.disable()
            spent = time.process_time() - started
            if not measured:
                continue  # imports, caches, prepared statements
            line = f"  {name:9s} {spent / n * 1e6:7.0f} us CPU per request"
            if postgres is not None:
                database_cpu = postgres.cpu_seconds() - database_before
                line += f" + PostgreSQL {database_cpu / n * 1e6:.0f} us"
            print(line + f" ({n} requests{', sampled' if sampler else ''})", flush=True)
            if name == "pulsebot":
                assert "Kudos sent" in str(response.body), response.body
            if sampler is not None:
                profiles[name] = (sampler, spent * 1e6 / max(sampler.samples, 1), n)
            if profiler:
                stats = pstats.Stats(profiler)
                stats.sort_stats("cumulative").print_stats(45)
                stats.sort_stats("tottime").print_stats(25)
        if profiles:
            _print_profile(profiles, inclusive_top=args.top, alone_top=25)
        engine.dispose()


if __name__ == "__main__":
    main()
