"""APScheduler 3: one in-memory job store per process; the database does the coordination.

Jobs are short and idempotent, so every replica may run them: unique keys decide who writes.
`coalesce`, `max_instances` and `misfire_grace_time` are set on purpose, not left to defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}


def build_scheduler(
    jobs: dict[str, tuple[Callable[[], object], dict[str, float]]],
    start_now: Collection[str] = (),
) -> BackgroundScheduler:
    """`jobs`: stable job id -> (function, interval trigger arguments such as {"minutes": 1}).
    The jobs named in `start_now` first run when the scheduler starts, the others one interval
    later."""
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults=JOB_DEFAULTS)
    for job_id, (func, interval) in jobs.items():
        first: dict[str, datetime] = {}
        if job_id in start_now:
            first["next_run_time"] = datetime.now(UTC)
        scheduler.add_job(func, "interval", id=job_id, replace_existing=True, **interval, **first)
    return scheduler
