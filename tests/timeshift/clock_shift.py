"""Moving the wall clock years ahead for a whole test run (`TESTS_TIME_SHIFT_DAYS`).

A test that passes only near the day it was written is a time bomb; CI runs the suite a second
time with the clock moved to prove none is left. time-machine moves `time.time()` and
`datetime.now()` (not the monotonic clock, so timeouts and waits behave), ticking from the
moved instant. Servers and CLIs that the tests start get the same shift through
sitecustomize.py beside this file, on their PYTHONPATH.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

VARIABLE = "TESTS_TIME_SHIFT_DAYS"
SITE_DIR = Path(__file__).resolve().parent

_traveller: object | None = None


def shift_days() -> float:
    value = os.environ.get(VARIABLE, "")
    return float(value) if value else 0.0


def start_shift() -> None:
    """Travel `shift_days()` ahead of the real now, ticking; once per process."""
    global _traveller
    days = shift_days()
    if not days or _traveller is not None:
        return
    import time_machine

    traveller = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
    traveller.start()
    _traveller = traveller


def export_to_children() -> None:
    """Children inherit the shift: our sitecustomize on their PYTHONPATH."""
    if not shift_days():
        return
    existing = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(SITE_DIR), *([existing] if existing else [])])


def env_at(instant: datetime) -> dict[str, str]:
    """The environment of a child process whose wall clock reads `instant` when it starts and
    ticks on from there (a worker running what is due at a chosen minute). Every child started
    with the same environment shares that clock, across restarts, as replicas share a host's."""
    days = (instant - datetime.now(UTC)).total_seconds() / 86_400 + shift_days()
    paths = [str(SITE_DIR), *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
    return {VARIABLE: repr(days), "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
