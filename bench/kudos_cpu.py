"""CPU per `/kudos` through `App.dispatch` in one thread: no HTTP, no sender, no contention.

    .venv/bin/python bench/kudos_cpu.py [--requests 2000] [--database URL] [--profile]

What the ack path costs in this process, apart from the server and the load: a bare Bolt app
that only acks against pulsebot's listener, both signed and dispatched the same way. `--profile`
prints cProfile's top functions of pulsebot's run, in CPU time (each unit then runs inline, in one
transaction of its own, instead of in the group-commit writer thread that cProfile cannot
see). Run by hand, not in CI.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import hmac
import pstats
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--database")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from bare_app import build

    from bench.common import machine, machine_line, write_figures

    at_start = machine()
    print(machine_line(at_start))
    figures: dict[str, float] = {}

    from bot.app import build_app
    from bot.demo.emulator import SlackEmulator
    from bot.deps import Deps
    from bot.services.directory import record_from_slack, store_users
    from bot.settings import Settings
    from storage.engine import make_engine, make_session_factory
    from storage.migrate import upgrade

    n = args.requests
    run = str(time.time_ns())
    with SlackEmulator() as slack, tempfile.TemporaryDirectory() as tmp:
        database = args.database or f"sqlite:///{tmp}/cpu.db"
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
        if args.profile:
            # cProfile sees one thread: run each unit inline instead of in the group writer.
            from storage.engine import unit_of_work

            def inline(work):  # type: ignore[no-untyped-def]
                with unit_of_work(deps.session_factory) as session:
                    return work(session)

            deps.group_unit = inline  # type: ignore[method-assign]
        app = build_app(settings, deps)
        bare = build(SECRET, slack.bot_token, slack.url).app
        for name, target, first in (("bare", bare, 0), ("pulsebot", app, 0), ("pulsebot", app, n)):
            requests = [_request(g, run) for g in range(first, first + n)]
            profiler = cProfile.Profile(time.process_time) if args.profile and first else None
            started = time.process_time()
            if profiler:
                profiler.enable()
            for request in requests:
                response = target.dispatch(request)
                assert response.status == 200, response.body
            if profiler:
                profiler.disable()
            spent = time.process_time() - started
            print(f"{name:9s} {spent / n * 1e6:7.0f} us CPU per request ({n} requests)")
            figures[f"{name}_us_per_request"] = round(spent / n * 1e6)  # the last run: warm
            if profiler:
                stats = pstats.Stats(profiler)
                stats.sort_stats("cumulative").print_stats(45)
                stats.sort_stats("tottime").print_stats(25)
        assert b"Kudos sent" in response.body.encode() if isinstance(response.body, str) else True
        engine.dispose()
    if not args.profile:  # a profiled run's CPU is the profiler's too
        label = (args.database or "sqlite").split(":")[0].split("+")[0]
        write_figures("kudos_cpu", label, {"requests": n, **figures}, at_start)


if __name__ == "__main__":
    main()
