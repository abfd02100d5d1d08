"""Weekly digests at company scale: every manager's digest data and chart for one week.

    .venv/bin/python bench/digest.py [--employees 10000] [--managers 1000] [--weeks 52]
                                     [--database URL] [--growth]

Seeds, with bulk inserts, a 3-level org tree (one head, VPs, team managers; `--managers` people
with reports in all), one weekly check-in per manager for their direct reports (with a goals
question), `--weeks` weeks of answered check-ins (a few missed or away) and kudos, and goals: a
team objective per manager, a personal one per employee (one in five private), 3 key results
per employee and the last 12 weeks of their updates, written by the check-ins that carried
them (one answer in five moves nothing), one kudos in five naming a goal; then builds every
manager's digest for the last week (`bot.services.digest.build`, as the minute job does,
without writing) and draws every chart. Prints the time for all digests' data (goal < 10 s),
the floor (the same statements reading the same rows, `bot.services.digest.load`, with nothing
computed or built: what the data costs at the least on this machine), all charts (goal < 60 s)
and the peak RSS (goal < 300 MB), with the CPU time per digest and per chart beside the wall
time. `--growth` first runs a tenth of the company, to show how the time grows from 1,000 to
10,000 employees. Run by hand, not in CI. Absolute times do not carry across machines: compare
a run with its own floor; each run's figures (bench/figures/digest.json) name the CPU and the
load average at its start.

From 1,000 employees (100 managers) to 10,000 (1,000) the data time grows linearly in the
number of managers, the same per digest, as the statements per digest are a constant number of
index range scans. The head of the company's digest (10,000 people below, skip-level) takes
about 0.4-1 s of it.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from bench.common import machine, machine_line, write_figures  # noqa: E402
from bot.services import digest, digest_chart  # noqa: E402
from bot.services.templates import DEFAULT_QUESTIONS, GOALS_TEXT  # noqa: E402
from storage.engine import make_engine, make_session_factory, unit_of_work  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    CheckinAnswer,
    CheckinMember,
    CheckinOccurrence,
    CheckinTemplate,
    DirectoryUser,
    KeyResult,
    KeyResultUpdate,
    Kudos,
    KudosGoal,
    KudosRecipient,
    KudosValue,
    Objective,
    OrgEdge,
)

TEAM = "T0TEAM"
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/London")
CHUNK = 20_000
LAST_MONDAY = date(2031, 3, 3)  # the covered week; years ahead, like the tests
QUESTIONS = [
    *(q.to_dict() for q in DEFAULT_QUESTIONS),
    {"id": "goals", "text": GOALS_TEXT, "kind": "goals", "required": False},
]
VALUES = ("teamwork", "ownership", "customers", "craft")
GOAL_WEEKS = 12  # weeks of key-result updates, the last ones of the history
CYCLE = "2031-Q1"  # holds LAST_MONDAY's week


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--managers", type=int, default=1_000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--database", help="DATABASE_URL (default: a SQLite file)")
    parser.add_argument("--growth", action="store_true", help="first run a tenth of the size")
    args = parser.parse_args()
    started = machine()
    print(machine_line(started))
    sizes = [(args.employees, args.managers)]
    if args.growth:
        sizes.insert(0, (args.employees // 10, max(args.managers // 10, 3)))
    results = []
    figures: dict[str, Any] = {}
    for employees, managers in sizes:
        with tempfile.TemporaryDirectory() as tmp, _database(args.database, tmp) as url:
            results.append(run(url, employees, managers, args.weeks, figures))
    if len(results) == 2:
        (small, big) = results
        print(
            f"growth {sizes[0][0]} -> {sizes[1][0]} employees: data x{big[0] / small[0]:.1f} "
            f"({small[0]:.2f} s -> {big[0]:.2f} s), per digest "
            f"{small[0] / sizes[0][1] * 1000:.2f} ms -> {big[0] / sizes[1][1] * 1000:.2f} ms; "
            f"charts x{big[1] / small[1]:.1f}"
        )
    write_figures(
        "digest", (args.database or "sqlite").split(":")[0].split("+")[0], figures, started
    )


def run(
    url: str, employees: int, managers: int, weeks: int, figures: dict[str, Any] | None = None
) -> tuple[float, float]:
    engine = make_engine(url, pool_size=2)
    factory = make_session_factory(engine)
    started = time.perf_counter()
    manager_ids, counts = seed(factory, employees, managers, weeks)
    _analyze(engine)  # as autovacuum would after a bulk load: fresh planner statistics
    seeded = time.perf_counter() - started
    print(
        f"{url.split(':')[0]}: {employees} employees, {len(manager_ids)} managers (3 levels), "
        f"{weeks} weeks: {counts['occurrences']} check-ins, {counts['answers']} answers, "
        f"{counts['kudos']} kudos, {counts['key_results']} key results with "
        f"{counts['updates']} updates over {min(weeks, GOAL_WEEKS)} weeks seeded in {seeded:.1f} s"
    )
    now = datetime.combine(LAST_MONDAY + timedelta(days=7), clock_time(21), tzinfo=UTC)
    gc.collect()
    built: list[digest.DigestData] = []
    cpu = time.process_time()
    started = time.perf_counter()
    for manager_id, tz in manager_ids:
        with unit_of_work(factory) as session:
            data = digest.build(
                session,
                TEAM,
                manager_id,
                now,
                zone=digest.zone_of(tz),
                anonymity_min=3,
                week_start=LAST_MONDAY,
            ).data
        built.append(data)
    data_seconds = time.perf_counter() - started
    data_cpu = time.process_time() - cpu
    # The floor, measured right after on the same warm database: the same queries reading the
    # same rows (digest.load), nothing computed or built.
    cpu = time.process_time()
    started = time.perf_counter()
    for manager_id, tz in manager_ids:
        with unit_of_work(factory) as session:
            digest.load(
                session, TEAM, manager_id, now, zone=digest.zone_of(tz), week_start=LAST_MONDAY
            )
    floor_seconds = time.perf_counter() - started
    floor_cpu = time.process_time() - cpu
    cpu = time.process_time()
    started = time.perf_counter()
    size = 0
    painter = digest_chart.Painter()  # as the minute job draws a run's charts
    for data in built:
        size += len(painter.png(data.chart))
    chart_seconds = time.perf_counter() - started
    chart_cpu = time.process_time() - cpu
    engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  all {len(built)} digests' data: {data_seconds:.2f} s "
        f"({data_seconds / len(built) * 1000:.2f} ms each, {data_cpu / len(built) * 1000:.2f} ms "
        "CPU in this process; goal < 10 s)"
    )
    print(
        f"  the floor, the same reads with nothing built: {floor_seconds:.2f} s "
        f"({floor_cpu / len(built) * 1000:.2f} ms CPU each); the data took "
        f"{data_seconds / floor_seconds:.2f}x the floor"
    )
    print(
        f"  all {len(built)} charts: {chart_seconds:.1f} s "
        f"({chart_seconds / len(built) * 1000:.1f} ms each, {chart_cpu / len(built) * 1000:.1f} "
        f"ms CPU, {size / len(built) / 1024:.0f} KB each; goal < 60 s)"
    )
    print(f"  peak RSS of the process so far: {peak:.0f} MB (goal < 300 MB)")
    if figures is not None:
        figures[f"{employees} employees"] = {
            "employees": employees,
            "managers": len(built),
            "weeks": weeks,
            "data_s": round(data_seconds, 2),
            "data_cpu_ms_per_digest": round(data_cpu / len(built) * 1000, 2),
            "floor_s": round(floor_seconds, 2),
            "floor_cpu_ms_per_digest": round(floor_cpu / len(built) * 1000, 2),
            "charts_s": round(chart_seconds, 2),
            "chart_cpu_ms": round(chart_cpu / len(built) * 1000, 2),
            "chart_kb": round(size / len(built) / 1024, 1),
            "peak_rss_mb": round(peak),
        }
    example = max(built, key=lambda d: len(d.reports))
    print(
        f"  largest team: {len(example.reports)} reports, {example.people_answered} of "
        f"{example.people_prompted} answered, {len(example.skip_level)} skip-level lines"
    )
    talk = [r for d in built for t in d.talk_to for r in t.reasons]
    print(
        f"  goals: {sum(len(d.goals) for d in built)} objective lines, "
        f"{sum(len(d.goal_flags) for d in built)} key results at risk or off track, "
        f"{sum(len(d.goal_stale) for d in built)} stale; whom to talk to: "
        f"{sum('off track two weeks' in r for r in talk)} off track two weeks running, "
        f"{sum('no goal update' in r for r in talk)} with no goal update"
    )
    return data_seconds, chart_seconds


def seed(
    factory: Any, employees: int, managers: int, weeks: int, zones: tuple[str, ...] = ZONES
) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """Head -> VPs -> team managers -> people, one weekly template per manager; people take
    `zones` in turn (a zone named twice gets twice the people)."""
    rng = random.Random(7)
    head = "UHEAD0000"
    vps = [f"UVP{i:05d}" for i in range(max(managers // 30, 1))]
    leads = [f"ULD{i:05d}" for i in range(managers - 1 - len(vps))]
    people = [f"UEM{i:05d}" for i in range(employees - managers)]
    manager_of: dict[str, str] = {vp: head for vp in vps}
    manager_of.update({lead: vps[i % len(vps)] for i, lead in enumerate(leads)})
    manager_of.update({p: leads[i % len(leads)] for i, p in enumerate(people)})
    everyone = [head, *vps, *leads, *people]
    zone = {u: zones[i % len(zones)] for i, u in enumerate(everyone)}
    created = datetime(2029, 1, 1, tzinfo=UTC)
    reports: dict[str, list[str]] = {}
    for user_id, boss in manager_of.items():
        reports.setdefault(boss, []).append(user_id)
    counts = {"occurrences": 0, "answers": 0, "kudos": 0, "key_results": 0, "updates": 0}
    with unit_of_work(factory) as session:
        _bulk(
            session,
            DirectoryUser,
            (
                {
                    "team_id": TEAM,
                    "user_id": u,
                    "user_team_id": TEAM,
                    "name": u.lower(),
                    "real_name": u,
                    "email": None,
                    "tz": zone[u],
                    "is_bot": False,
                    "deleted": False,
                    "is_restricted": False,
                    "fetched_at": created,
                }
                for u in everyone
            ),
        )
        _bulk(
            session,
            OrgEdge,
            (
                {
                    "team_id": TEAM,
                    "user_id": u,
                    "manager_id": m,
                    "source": "csv",
                    "updated_at": created,
                }
                for u, m in manager_of.items()
            ),
        )
        _bulk(
            session,
            CheckinTemplate,
            (
                {
                    "team_id": TEAM,
                    "owner_id": boss,
                    "name": "Weekly",
                    "weekdays": ["fri"],
                    "local_time": "16:00",
                    "questions": QUESTIONS,
                    "post_to_manager": True,
                    "channel_id": None,
                    "remind_after_minutes": 240,
                    "close_after_minutes": 1440,
                    "schedule_from": created,
                    "created_at": created,
                    "updated_at": created,
                    "active": True,
                }
                for boss in reports
            ),
        )
    with unit_of_work(factory) as session:
        template_of = dict(
            session.execute(select(CheckinTemplate.owner_id, CheckinTemplate.id)).all()
        )
        _bulk(
            session,
            CheckinMember,
            (
                {
                    "template_id": template_of[boss],
                    "user_id": u,
                    "team_id": TEAM,
                    "added_at": created,
                }
                for boss, members in reports.items()
                for u in members
            ),
        )
    members = list(manager_of.items())
    results = _seed_goals(factory, reports, members, created)
    counts["key_results"] = sum(len(r) for r in results.values())
    first_monday = LAST_MONDAY - timedelta(weeks=weeks - 1)
    next_id = 1
    for week in range(weeks):
        friday = first_monday + timedelta(weeks=week, days=4)
        at = datetime(friday.year, friday.month, friday.day, 15, tzinfo=UTC)
        occurrences, answers, updates = [], [], []
        for user_id, boss in members:
            roll = rng.random()
            state = "away" if roll < 0.03 else "missed" if roll < 0.12 else "answered"
            occurrences.append(
                {
                    "id": next_id,
                    "team_id": TEAM,
                    "template_id": template_of[boss],
                    "user_id": user_id,
                    "local_date": friday,
                    "scheduled_at": at,
                    "closes_at": at + timedelta(days=1),
                    "remind_at": None,
                    "state": state,
                    "snoozed_until": None,
                    "snooze_count": 0,
                    "reminded_at": None,
                    "answered_at": at + timedelta(hours=1) if state == "answered" else None,
                    "prompt_outbox_id": None,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            if state == "answered" and weeks - week <= GOAL_WEEKS:
                # A goals answer, and the updates it wrote (one in five moves nothing).
                moved = rng.random() >= 0.2
                lines = []
                for kr_id, target in results[user_id]:
                    pace = 0.4 + 0.6 * (kr_id * 7 % 10) / 10  # some lag, some lead
                    done = (GOAL_WEEKS - (weeks - week)) / GOAL_WEEKS
                    value = round(target * done * pace, 1)
                    lines.append(
                        {"kr": kr_id, "title": f"KR {kr_id}", "after": value if moved else None}
                    )
                    if moved:
                        updates.append(
                            {
                                "team_id": TEAM,
                                "key_result_id": kr_id,
                                "value": value,
                                "confidence": rng.choice(CONFIDENCES),
                                "note": "two deals slipped" if rng.random() < 0.1 else "",
                                "author_id": user_id,
                                "occurrence_id": next_id,
                                "request_key": None,
                                "created_at": at + timedelta(hours=1),
                            }
                        )
                answers.append(
                    {
                        "occurrence_id": next_id,
                        "question_id": "goals",
                        "team_id": TEAM,
                        "value": lines,
                    }
                )
            if state == "answered":
                blocker = "Waiting on review" if rng.random() < 0.1 else "none"
                for question_id, value in (
                    ("done", "Shipped the thing"),
                    ("next", "The next thing"),
                    ("blockers", blocker),
                    ("pulse", rng.choice((2, 3, 3, 4, 4, 4, 5))),
                ):
                    answers.append(
                        {
                            "occurrence_id": next_id,
                            "question_id": question_id,
                            "team_id": TEAM,
                            "value": value,
                        }
                    )
            next_id += 1
        with unit_of_work(factory) as session:
            _bulk(session, CheckinOccurrence, occurrences)
            _bulk(session, CheckinAnswer, answers)
            _bulk(session, KeyResultUpdate, updates)
        counts["occurrences"] += len(occurrences)
        counts["answers"] += len(answers)
        counts["updates"] += len(updates)
        kudos, recipients, values, named = [], [], [], []
        for n in range(len(everyone) // 5):
            kudos_id = counts["kudos"] + n + 1
            giver, receiver = rng.sample(everyone, 2)
            kudos.append(
                {
                    "id": kudos_id,
                    "team_id": TEAM,
                    "giver_id": giver,
                    "message": "thanks",
                    "source": "command",
                    "request_key": f"k{kudos_id}",
                    "quote_url": None,
                    "giver_local_date": friday,
                    "created_at": at - timedelta(hours=rng.randint(0, 96)),
                }
            )
            recipients.append({"kudos_id": kudos_id, "recipient_id": receiver})
            values.append({"kudos_id": kudos_id, "value": rng.choice(VALUES)})
            if receiver in results and rng.random() < 0.2:  # names one of the recipient's goals
                named.append({"kudos_id": kudos_id, "objective_id": _personal_goal(receiver)})
        with unit_of_work(factory) as session:
            _bulk(session, Kudos, kudos)
            _bulk(session, KudosRecipient, recipients)
            _bulk(session, KudosValue, values)
            _bulk(session, KudosGoal, named)
        counts["kudos"] += len(kudos)
    with unit_of_work(factory) as session:
        if session.get_bind().dialect.name == "postgresql":
            # The ids above were given, not drawn: move the sequences past them, so rows
            # written later (a server's kudos, a bench's check-ins) draw fresh ones.
            for table in ("checkin_occurrences", "kudos"):
                session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    return [(m, zone[m]) for m in sorted(reports)], counts


CONFIDENCES = ("on_track",) * 7 + ("at_risk",) * 2 + ("off_track",)
_GOAL_IDS: dict[str, int] = {}


def _personal_goal(user_id: str) -> int:
    return _GOAL_IDS[user_id]


def _seed_goals(
    factory: Any, reports: dict[str, list[str]], members: list[tuple[str, str]], created: datetime
) -> dict[str, list[tuple[int, float]]]:
    """A team objective per manager and a personal one per employee (one in five private);
    each employee owns 3 key results: one in their manager's team objective, two in their own.
    Returns {employee: [(key result id, target)]}."""
    objectives, results = [], []
    team_goal: dict[str, int] = {}
    for index, boss in enumerate(sorted(reports), 1):
        team_goal[boss] = index
        objectives.append(_objective(index, boss, f"Team goal of {boss}", "team", created))
    next_goal = len(team_goal) + 1
    owned: dict[str, list[tuple[int, float]]] = {}
    next_kr = 1
    for position, (user_id, boss) in enumerate(members):
        personal = next_goal
        next_goal += 1
        _GOAL_IDS[user_id] = personal
        visibility = "private" if position % 5 == 0 else "public"
        objectives.append(
            _objective(personal, user_id, f"Grow {user_id}", "personal", created, visibility)
        )
        owned[user_id] = []
        for n, objective_id in enumerate((team_goal[boss], personal, personal)):
            target = float(10 ** (n + 1))
            results.append(
                {
                    "id": next_kr,
                    "team_id": TEAM,
                    "objective_id": objective_id,
                    "title": f"{user_id} result {n}",
                    "owner_id": user_id,
                    "measure": "number",
                    "unit": "",
                    "start": 0.0,
                    "target": target,
                    "current": 0.0,
                    "weight": 1.0,
                    "position": position * 3 + n,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            owned[user_id].append((next_kr, target))
            next_kr += 1
    with unit_of_work(factory) as session:
        _bulk(session, Objective, objectives)
        _bulk(session, KeyResult, results)
    return owned


def _objective(
    objective_id: int,
    owner: str,
    title: str,
    kind: str,
    created: datetime,
    visibility: str = "public",
) -> dict[str, Any]:
    return {
        "id": objective_id,
        "team_id": TEAM,
        "cycle": CYCLE,
        "title": title,
        "owner_id": owner,
        "kind": kind,
        "parent_id": None,
        "visibility": visibility,
        "state": "active",
        "outcome": None,
        "score": None,
        "carried_from_id": None,
        "created_by": "cli",
        "created_at": created,
        "updated_at": created,
        "closed_at": None,
    }


def _analyze(engine: Any) -> None:
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()


def _bulk(session: Any, model: Any, rows: Any) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            session.execute(insert(model), batch)
            batch = []
    if batch:
        session.execute(insert(model), batch)


@contextmanager
def _database(base: str | None, tmp: str) -> Iterator[str]:
    """A migrated SQLite file, or a PostgreSQL schema of its own (dropped afterwards)."""
    if not base or not base.startswith("postgresql"):
        url = base or f"sqlite:///{tmp}/digest.db"
        upgrade(url)
        yield url
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={schema}')}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
