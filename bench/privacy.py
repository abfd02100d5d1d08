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

It also measures rows and bytes per table (indexes included; SQLite's live bytes from dbstat,
PostgreSQL's after VACUUM FULL of each table) when seeded, after text retention of half the
year and after whole-row retention of half of it: what a year of history costs per employee,
with and without its text (bench/figures/privacy.json, read by bench/capacity.py).
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

from sqlalchemy import func, inspect, select, text  # noqa: E402

from bench.common import machine, machine_line, write_figures  # noqa: E402
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
    started = machine()
    print(machine_line(started))
    with tempfile.TemporaryDirectory() as tmp, _database(args.database, tmp) as url:
        figures = run(url, args.employees, args.managers, args.weeks)
    write_figures(
        "privacy", (args.database or "sqlite").split(":")[0].split("+")[0], figures, started
    )


def run(url: str, employees: int, managers: int, weeks: int) -> dict[str, Any]:
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
    sizes = {"seeded": _sizes(engine)}
    _print_sizes("seeded", sizes["seeded"], employees, weeks)
    now = datetime.combine(LAST_MONDAY + timedelta(days=8), clock_time(21), tzinfo=UTC)
    forgets = {}
    for who in ("UEM00042", "ULD00042"):
        seconds, changed = _forget(factory, who, now)
        forgets[who] = {"seconds": round(seconds, 2), "rows": changed}
        print(f"  forget {who}: {seconds:.2f} s, {changed} rows changed")
    half = timedelta(weeks=weeks // 2).days
    steps = {}
    for name, label, policy in (
        ("text", "text retention, half the year", RetentionPolicy(text_days=half)),
        ("rows", "whole-row retention, half the year", RetentionPolicy(row_days=half)),
        ("again", "both again, nothing left to do", RetentionPolicy(text_days=half, row_days=half)),
    ):
        started = time.perf_counter()
        cpu = time.process_time()
        done = minute.apply_retention(factory, now, policy, actor="bench", daily=False) or {}
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        shown = ", ".join(f"{n} {k}" for k, n in done.items() if n) or "nothing"
        print(f"  {label}: {seconds:.2f} s, {cpu:.2f} CPU s in this process ({shown})")
        steps[name] = {"seconds": round(seconds, 2), "cpu_s": round(cpu, 2), "changed": done}
        if name != "again":
            sizes[name] = _sizes(engine)
            _print_sizes(f"after {label}", sizes[name], employees, weeks)
    with unit_of_work(factory) as session:
        left = session.scalar(select(func.count()).select_from(CheckinOccurrence))
    print(f"  check-ins left: {left}")
    engine.dispose()
    return {
        "employees": employees,
        "managers": managers,
        "weeks": weeks,
        "counts": counts,
        "forget": forgets,
        "retention": steps,
        "tables": sizes,
    }


def _sizes(engine: Any) -> dict[str, dict[str, int]]:
    """Rows and bytes (indexes included) of each table."""
    tables = sorted(inspect(engine).get_table_names())
    found: dict[str, dict[str, int]] = {t: {"rows": 0, "bytes": 0} for t in tables}
    with engine.connect() as connection:
        for table in tables:
            found[table]["rows"] = int(connection.scalar(text(f'SELECT count(*) FROM "{table}"')))
        if engine.dialect.name == "sqlite":
            owner = dict(
                connection.execute(
                    text(
                        "SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index')"
                    )
                ).all()
            )
            used = connection.execute(
                text("SELECT name, SUM(pgsize - unused) FROM dbstat GROUP BY name")
            ).all()
            for name, size in used:
                table = owner.get(name, name)
                if table in found:
                    found[table]["bytes"] += int(size or 0)
            return found
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in tables:  # table by table: never the whole database, which others share
            connection.execute(text(f'VACUUM FULL "{table}"'))
            size = connection.scalar(text(f"SELECT pg_total_relation_size('\"{table}\"')"))
            found[table]["bytes"] = int(size or 0)
    return found


def _print_sizes(when: str, sizes: dict[str, dict[str, int]], employees: int, weeks: int) -> None:
    total = sum(t["bytes"] for t in sizes.values())
    per_year = total / employees * 52 / weeks
    biggest = sorted(sizes.items(), key=lambda kv: -kv[1]["bytes"])[:4]
    print(
        f"  database {when}: {total / 1e6:.1f} MB, {per_year / 1e3:.1f} KB per employee and year; "
        + ", ".join(f"{name} {t['bytes'] / 1e6:.1f} MB ({t['rows']} rows)" for name, t in biggest)
    )


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
