"""What the benchmarks share: an emptied PostgreSQL schema, a directory record, the Slack
emulator in a process of its own, what a process costs (CPU, memory), and the figures file
every bench writes (bench/capacity.py reads them).
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bot.services.directory import UserRecord

TEAM = "T0TEAM"
FIGURES = Path(__file__).resolve().parent / "figures"


def reset_postgres(url: str) -> None:
    """An empty public schema (the database made if absent): each bench run starts from
    nothing. Never point it at a database that holds anything else."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    server = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
        ).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    server.dispose()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def record(user_id: str, tz: str) -> UserRecord:
    return UserRecord(
        user_id=user_id,
        user_team_id=TEAM,
        name=user_id.lower(),
        real_name=user_id,
        email=None,
        tz=tz,
        is_bot=False,
        deleted=False,
        is_restricted=False,
    )


class SlackInItsOwnProcess:
    """The Slack emulator in a process of its own, so its threads do not share the sender's
    interpreter lock: arrival times at "Slack" then jitter as little as the machine makes
    them, not as much as one process's threads make them."""

    def __init__(self, clock_offset: float = 0.0) -> None:
        """`clock_offset`: seconds the emulator's clock (message `ts`) runs ahead of the
        machine's, to agree with a pulsebot whose clock was moved (a sender looking for a
        lost post reads the channel from just before its attempt)."""
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._pipe, child = context.Pipe()
        self._process = context.Process(
            target=_serve_slack, args=(child, clock_offset), daemon=True
        )
        self._process.start()
        self.url, self.bot_token = self._pipe.recv()

    def call(self, name: str, *args: object, **kwargs: object) -> object:
        """Call an emulator method there and return its (picklable) result."""
        self._pipe.send((name, args, kwargs))
        result = self._pipe.recv()
        if isinstance(result, Exception):
            raise result
        return result

    def stop(self) -> None:
        self._pipe.send(None)
        self._process.join(timeout=10)


def _serve_slack(pipe: object, clock_offset: float = 0.0) -> None:
    import time
    from collections import Counter

    from bot.demo.emulator import SlackEmulator

    with SlackEmulator(clock=lambda: time.time() + clock_offset) as slack:
        pipe.send((slack.url, slack.bot_token))  # type: ignore[attr-defined]
        while (request := pipe.recv()) is not None:  # type: ignore[attr-defined]
            name, args, kwargs = request
            try:
                if name == "add_users":
                    for user_id in args[0]:
                        slack.add_user(user_id, tz=args[1])
                    result: object = None
                elif name == "calls":
                    result = len(slack.calls(*args))
                elif name == "arrivals":
                    result = _arrivals(slack, *args)
                else:
                    result = getattr(slack, name)(*args, **kwargs)
                    if isinstance(result, Counter):
                        result = dict(result)
            except Exception as error:  # shown in the bench's own process
                result = error
            pipe.send(result)  # type: ignore[attr-defined]


def _arrivals(slack: Any, methods: list[str]) -> list[tuple[str, float, int, str, str]]:
    """(method, monotonic arrival, HTTP status, outbox key, text) of each call to `methods`:
    the monotonic clock is the machine's, so other processes' instants compare with it."""
    found = []
    for call in slack.calls():
        if call.method not in methods:
            continue
        metadata = call.get("metadata")
        key = ""
        if isinstance(metadata, dict):
            key = str((metadata.get("event_payload") or {}).get("key") or "")
        found.append((call.method, call.at, call.status, key, str(call.get("text") or "")[:400]))
    return found


# ----- what a process costs ----------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux), or -1 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process in MB, from /proc (0 once it is gone)."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in values:
                values[name] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    return values["VmRSS"], values["VmHWM"]


def postgres_cpu_seconds() -> float:
    """CPU of every local PostgreSQL process so far: the database's share of a run, and of
    whatever else uses that server meanwhile (said beside every figure that includes it)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    total += max(cpu_seconds(int(entry.name)), 0.0)
            except OSError:
                continue
    return total


# ----- the machine, and the figures file ----------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """What a figure depends on besides the code: the CPU, how many cores, how busy the
    machine was when the run started (absolute figures do not carry across machines)."""
    one, five, fifteen = os.getloadavg()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average": [round(one, 2), round(five, 2), round(fifteen, 2)],
        "python": platform.python_version(),
    }


def machine_line(info: dict[str, Any]) -> str:
    load = " ".join(f"{v:.2f}" for v in info["load_average"])
    return f"{info['cpu']}, {info['cores']} cores, load average at the start {load}"


def write_figures(
    bench: str, label: str, figures: dict[str, Any], started: dict[str, Any]
) -> Path:
    """Record a run's figures under `label` (e.g. "sqlite", "postgresql x3") in
    bench/figures/<bench>.json, beside the other labels' latest runs: the date, the machine
    as `started` (machine(), called when the run began) found it, the command line, and the
    figures themselves."""
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / f"{bench}.json"
    try:
        existing = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        existing = {}
    runs = existing.get("runs", {})
    runs[label] = {
        "date": started["date"],
        "machine": started,
        "command": "python " + shlex.join(["bench/" + Path(sys.argv[0]).name, *sys.argv[1:]]),
        "figures": figures,
    }
    path.write_text(json.dumps({"bench": bench, "runs": runs}, indent=2, sort_keys=True) + "\n")
    print(f"figures written to {path.relative_to(FIGURES.parent.parent)} ({label})")
    return path
