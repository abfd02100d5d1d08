"""Data rights at company scale: erase one person, then apply retention, in the database of
bench/digest.py (10,000 employees, 1,000 managers, 52 weeks), plus one sent DM per check-in in
the outbox, as a year of prompts leaves it.

    .venv/bin/python bench/privacy.py [--employees 10000] [--managers 1000] [--weeks 52]
                                      [--database URL]

Prints the time to erase one employee and one team lead (`pulsebot privacy forget --yes`: the
outbox's part, every table's, and the search of every word column, in one transaction), then
to apply text retention and whole-row retention to half of the year (each step in batches of
2,000 rows per transaction, as the minute job does), and to run retention again with nothing
left to do (what every later day costs). Run by hand, not in CI.

Figures on 2026-12-03 (2 shared cores; `python bench/privacy.py` and the same with
`--database postgresql+psycopg://postgres@127.0.0.1:5432/test`), 10,000 employees, 1,000
managers, 52 weeks (520k check-ins, 1.8M answers, 104k kudos, 520k outbox rows):

                 forget one   text retention, 26 weeks   rows retention, 26 weeks   a day after
    SQLite       2.0 s        40.0 s (1.0M rows)         32.6 s (572k rows)         0.46 s
    PostgreSQL   2.3-2.4 s    57.0 s (1.0M rows)         27.9 s (572k rows)         1.1 s

Forgetting is dominated by the search of every word column (1.8M answers, 520k outbox rows);
the first retention run over half a year of history is the only long one, in 2,000-row
transactions; every later day costs about a second.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench.digest import LAST_MONDAY, TEAM, _analyze, _bulk, _database, seed  # noqa: E402
from bot.jobs import minute  # noqa: E402
from bot.notify import privacy as notify  # noqa: E402
from bot.services import privacy  # noqa: E402
from bot.services.retention import RetentionPolicy  # noqa: E402
from storage.engine import make_engine, make_session_factory, unit_of_work  # noqa: E402
from storage.models import CheckinOccurrence, OutboxMessage  # noqa: E402

CHUNK = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--managers", type=int, default=1_000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--database", help="DATABASE_URL (default: a SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, _database(args.database, tmp) as url:
        run(url, args.employees, args.managers, args.weeks)


def run(url: str, employees: int, managers: int, weeks: int) -> None:
    engine = make_engine(url, pool_size=2)
    factory = make_session_factory(engine)
    started = time.perf_counter()
    _, counts = seed(factory, employees, managers, weeks)
    counts["outbox"] = _seed_outbox(factory)
    _analyze(engine)
    print(
        f"{url.split(':')[0]}: {employees} employees, {managers} managers, {weeks} weeks: "
        f"{counts['occurrences']} check-ins, {counts['answers']} answers, {counts['kudos']} "
        f"kudos, {counts['outbox']} outbox rows seeded in {time.perf_counter() - started:.1f} s"
    )
    now = datetime.combine(LAST_MONDAY + timedelta(days=8), clock_time(21), tzinfo=UTC)
    for who in ("UEM00042", "ULD00042"):
        seconds, changed = _forget(factory, who, now)
        print(f"  forget {who}: {seconds:.2f} s, {changed} rows changed")
    half = timedelta(weeks=weeks // 2).days
    for label, policy in (
        ("text retention, half the year", RetentionPolicy(text_days=half)),
        ("whole-row retention, half the year", RetentionPolicy(row_days=half)),
        ("both again, nothing left to do", RetentionPolicy(text_days=half, row_days=half)),
    ):
        started = time.perf_counter()
        done = minute.apply_retention(factory, now, policy, actor="bench", daily=False) or {}
        seconds = time.perf_counter() - started
        shown = ", ".join(f"{n} {k}" for k, n in done.items() if n) or "nothing"
        print(f"  {label}: {seconds:.2f} s ({shown})")
    with unit_of_work(factory) as session:
        left = session.scalar(select(func.count()).select_from(CheckinOccurrence))
    print(f"  check-ins left: {left}")
    engine.dispose()


def _forget(factory: Any, user_id: str, now: datetime) -> tuple[float, int]:
    started = time.perf_counter()
    with unit_of_work(factory) as session:
        erasure = privacy.prepare(session, TEAM, user_id)
        withdrawn = notify.withdraw(session, TEAM, erasure, now)
        privacy.forget(session, TEAM, erasure, now)
        privacy.record(
            session, action="forget", actor="bench", now=now, counts=erasure.counts, team_id=TEAM
        )
    return time.perf_counter() - started, erasure.total + sum(withdrawn.values())


def _seed_outbox(factory: Any) -> int:
    """One sent prompt per check-in, keyed and shaped as bot/notify/checkins.py writes them."""
    with unit_of_work(factory) as session:
        rows = session.execute(
            select(CheckinOccurrence.id, CheckinOccurrence.user_id, CheckinOccurrence.scheduled_at)
        ).all()
        _bulk(
            session,
            OutboxMessage,
            (
                {
                    "team_id": TEAM,
                    "idempotency_key": f"checkin:{occurrence_id}:prompt",
                    "method": "chat.postMessage",
                    "payload": {
                        "channel": user_id,
                        "text": "Time for your Weekly check-in",
                        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}],
                    },
                    "status": "sent",
                    "attempts": 1,
                    "priority": 1,
                    "result_channel": f"D{user_id}",
                    "result_ts": f"{at.timestamp():.6f}",
                    "created_at": at,
                    "sent_at": at,
                }
                for occurrence_id, user_id, at in rows
            ),
        )
    return len(rows)


if __name__ == "__main__":
    main()
