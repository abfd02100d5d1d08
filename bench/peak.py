"""The worst minute of the week, measured: Monday 09:00 in the zone with the most managers,
while people keep giving kudos, answering check-ins and opening App Home.

    .venv/bin/python bench/peak.py [--employees 10000] [--managers 1000] [--weeks 12]
        [--kudos 20] [--checkins 10] [--homes 5] [--rest 60] [--peak 60] [--calibrate 10]
        [--post-rate 50] [--split] [--replicas 1] [--workers 1] [--database URL]

Seeds with bulk inserts (bench/digest.py's seed): `--employees` people and `--managers`
managers across five zones (30/25/20/15/10 %), `--weeks` of answered check-ins and kudos, the
digest of the busiest zone due at Monday 09:00 there (the other zones' digests of that Monday
sent hours before, as they would have been), a check-in due at the same minute for every
member of that zone, and an open daily check-in for each person to answer during the run.

Runs real `pulsebot run` processes (`--replicas` of them; `--split`: as `--role web`, beside
`--workers` `--role worker` processes) against the Slack emulator in a process of its own with
Slack's limits: chat.postMessage at `--post-rate` a second for the workspace (a token bucket
with a short burst, PULSEBOT_POST_RATE the same) and about 1 a second per channel, files.*
and views.publish at Tier 4 (100 a minute). The default post rate, 50, is above Slack's "several
hundred a minute" on purpose: the interactive load alone asks for 30 DMs a second, which no
lower rate could deliver within seconds (docs/capacity.md, what breaks first). pulsebot's clock
is moved (time-machine, as the tests' TESTS_TIME_SHIFT_DAYS does) so that 09:00 arrives once
the run is warm.

Drives, from another process, an open-loop load (requests leave at fixed rates whatever the
answers do; latency counts from when a request was due to leave): first each kind alone for
`--calibrate` s (the CPU each ack costs), then all three together from `--rest` s before the
peak's first second (the minute job's first write) until `--peak` s after it.

Prints, at rest and during the peak: ack p50/p90/p99 per kind; the time from a kudos ack (and
a check-in answer's ack) to its DM arriving in the emulator; the time for the bulk to drain
against its floors; CPU seconds and peak RSS per process; the goals, passed or failed. Writes
bench/figures/peak.json. Run by hand, not in CI. Traffic stays on 127.0.0.1; a PostgreSQL
`--database` is emptied first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-signing-secret"
TEAM = "T0TEAM"
# Five zones, weighted 30/25/20/15/10: bench/digest.py's seed deals them out in turn.
ZONES = (
    ("America/New_York",) * 6
    + ("Europe/Berlin",) * 5
    + ("Europe/London",) * 4
    + ("Asia/Kolkata",) * 3
    + ("Asia/Tokyo",) * 2
)
KINDS = ("kudos", "checkin", "home")
REF = re.compile(r"\bref(\d+)\b")
KEEP_ALIVE = 3.0  # seconds an idle connection is reused for (uvicorn keeps it 5)
CALIBRATION_TAIL = 4.0  # seconds of a calibration window after its last request
LOAD_LEAD = 10.0  # seconds of load before the measured rest: the generator builds its requests
TIER4 = 100  # calls a minute: files.getUploadURLExternal, files.completeUploadExternal, views.*
PER_SECOND = ("chat.postMessage", "pulsebot.post_with_file")  # others: per-minute tiers
LIMITED = (
    "chat.postMessage",
    "files.getUploadURLExternal",
    "files.completeUploadExternal",
    "views.publish",
)


# ===== the load generator (a process of its own) ==========================================


def load_main(argv: list[str]) -> None:
    """`peak.py load PLAN`: send the plan's requests at its rates; results as JSON on stdout.

    Open loop: request i of a kind leaves at start + i / rate, on a free keep-alive connection
    or a new one, whatever the earlier ones are doing. Runs `duration` seconds, or until a
    line `stop <monotonic instant>` on stdin says when the last may leave."""
    plan = json.loads(Path(argv[0]).read_text())
    print(json.dumps(asyncio.run(_load(plan))))


def _bodies(plan: dict[str, Any]) -> dict[str, list[tuple[str, bytes, str]]]:
    """Each kind's requests, built as Slack builds them (bot/demo/slack_payloads.py), in
    order: (ident, body, content type). Signed when they leave, not here."""
    from bot.demo.emulator.views import view_object
    from bot.demo.slack_payloads import SlackSender
    from bot.services.templates import DEFAULT_QUESTIONS
    from handlers.blocks.checkins import Readers, answer_modal

    sender: SlackSender[tuple[bytes, str]] = SlackSender(
        lambda body, headers: (body, headers["Content-Type"]),
        SECRET,
        team_id=TEAM,
        team_domain="example",
        api_app_id="A0PULSEBOT",
        bot_user_id="UBOT",
        hooks_url="http://127.0.0.1:9/hooks",
        verification_token="x",
    )
    built: dict[str, list[tuple[str, bytes, str]]] = {kind: [] for kind in KINDS}
    for ref, giver, recipient in plan["kudos"]:
        body, kind = sender.command(
            "/kudos",
            f"<@{recipient}> thanks for the review ref{ref} #teamwork",
            user={"id": giver, "name": giver.lower()},
            channel_id="C0GENERAL",
            channel_name="general",
            trigger_id=sender.trigger_id(),
            response_url=sender.response_url("commands"),
        )
        built["kudos"].append((str(ref), body, kind))
    day = date.fromisoformat(plan["monday"])
    for occurrence_id, user_id, owner_id in plan["checkin"]:
        modal = answer_modal(
            occurrence_id, "Daily standup", day, DEFAULT_QUESTIONS, readers=Readers(owner_id)
        )
        view = view_object(
            modal, f"V{occurrence_id:08d}", None, team_id=TEAM, app_id="A0PULSEBOT", bot_id="B0"
        )
        view["state"] = {"values": _answers(occurrence_id)}
        body, kind = sender.view_submission(
            user={"id": user_id, "name": user_id.lower()},
            view=view,
            trigger_id=sender.trigger_id(),
        )
        built["checkin"].append((str(occurrence_id), body, kind))
    for number, user_id in plan["home"]:
        event = {"type": "app_home_opened", "user": user_id, "channel": f"D{user_id}"}
        body, kind = sender.event({**event, "tab": "home"}, event_id=f"EvPEAK{number:08d}")
        built["home"].append((str(number), body, kind))
    return built


def _answers(occurrence_id: int) -> dict[str, Any]:
    def text(value: str) -> dict[str, Any]:
        return {"answer": {"type": "plain_text_input", "value": value}}

    return {
        "checkin_q_done": text(f"Shipped the importer ans{occurrence_id}"),
        "checkin_q_next": text("The exporter"),
        "checkin_q_blockers": text(""),
        "checkin_q_pulse": {"answer": {"type": "static_select", "selected_option": {"value": "4"}}},
        "checkin_q_upward": text(""),
    }


def _signed(port: int, body: bytes, content_type: str, offset: float) -> bytes:
    """Slack's signature, with the timestamp on pulsebot's (moved) clock."""
    from bot.demo.signing import signed_headers

    headers = signed_headers(SECRET, body, int(time.time() + offset))
    head = (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        + "\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return int(lines[0].split()[1]), await reader.readexactly(length)


def _acked(kind: str, status: int, body: bytes) -> bool:
    if status != 200:
        return False
    if kind == "kudos":
        return b"Kudos sent" in body
    if kind == "checkin":
        return b"errors" not in body
    return True


async def _load(plan: dict[str, Any]) -> dict[str, Any]:
    built = _bodies(plan)
    ports: list[int] = plan["ports"]
    offset: float = plan["clock_offset"]
    rates = {kind: float(plan["rates"][kind]) for kind in KINDS}
    Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
    idle: dict[int, list[tuple[float, Connection]]] = {port: [] for port in ports}
    results: list[list[Any]] = []
    errors: list[str] = []
    stop_at = [time.monotonic() + plan["duration"] if plan.get("duration") else math.inf]

    def listen() -> None:
        for line in sys.stdin:
            if line.startswith("stop "):
                stop_at[0] = float(line.split()[1])
                return

    if not plan.get("duration"):
        threading.Thread(target=listen, daemon=True).start()

    async def connect(port: int) -> tuple[bool, Connection]:
        """A kept-alive connection used within KEEP_ALIVE seconds (uvicorn closes idle ones
        after 5), else a new one; True when it is reused."""
        pool = idle[port]
        while pool:
            used, connection = pool.pop()
            if time.monotonic() - used < KEEP_ALIVE:
                return True, connection
            connection[1].close()
        return False, await asyncio.open_connection("127.0.0.1", port)

    async def send(kind: str, ident: str, body: bytes, ctype: str, due: float, port: int) -> None:
        for _ in range(2):  # a reused connection the server closed meanwhile: once more, anew
            reused, connection = await connect(port)
            reader, writer = connection
            try:
                writer.write(_signed(port, body, ctype, offset))
                status, answer = await _read_response(reader)
                break
            except asyncio.IncompleteReadError as error:
                writer.close()
                if reused and not error.partial:
                    continue
                errors.append(f"{kind} {ident}: {error!r}")
                return
            except OSError as error:
                writer.close()
                errors.append(f"{kind} {ident}: {error!r}")
                return
        else:
            errors.append(f"{kind} {ident}: closed twice")
            return
        done = time.monotonic()
        idle[port].append((done, connection))
        ok = _acked(kind, status, answer)
        if not ok and len(errors) < 20:
            errors.append(f"{kind} {ident}: {status} {answer[:160]!r}")
        results.append([kind, ident, due, done, status, ok])

    timeline = sorted(
        (index / rates[kind], kind, index)
        for kind in KINDS
        if rates[kind] > 0
        for index in range(len(built[kind]))
    )
    start = time.monotonic() + 0.2
    tasks: set[asyncio.Task[None]] = set()
    for sent, (at, kind, index) in enumerate(timeline):
        due = start + at
        if due >= stop_at[0]:
            break
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if due >= stop_at[0]:
            break
        ident, body, ctype = built[kind][index]
        task = asyncio.create_task(send(kind, ident, body, ctype, due, ports[sent % len(ports)]))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    ran_out = stop_at[0] == math.inf or time.monotonic() < stop_at[0]
    if tasks:
        await asyncio.wait(tasks, timeout=30)
    lag = [r[3] - r[2] for r in results]
    own = os.times()
    return {
        "cpu_s": round(own.user + own.system, 2),
        "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "results": results,
        "errors": errors,
        "started": start,
        "ran_out": ran_out and not plan.get("duration"),
        "slowest": max(lag, default=0.0),
    }


# ===== the orchestra ======================================================================


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--managers", type=int, default=1_000)
    parser.add_argument("--weeks", type=int, default=12, help="weeks of history")
    parser.add_argument("--kudos", type=float, default=20, help="kudos a second")
    parser.add_argument("--checkins", type=float, default=10, help="check-in answers a second")
    parser.add_argument("--homes", type=float, default=5, help="App Home opens a second")
    parser.add_argument("--rest", type=float, default=60, help="seconds measured before the peak")
    parser.add_argument("--peak", type=float, default=60, help="seconds measured from the peak")
    parser.add_argument(
        "--calibrate",
        type=float,
        default=30,
        help="seconds idle, then of each kind alone (0: none); default 30, the minute job's period",
    )
    parser.add_argument(
        "--post-rate",
        type=float,
        default=50,
        help="chat.postMessage a second for the workspace: the emulator's limit and "
        "PULSEBOT_POST_RATE (default 50)",
    )
    parser.add_argument("--replicas", type=int, default=1, help="pulsebot processes serving Slack")
    parser.add_argument(
        "--split",
        action="store_true",
        help="the replicas run --role web, beside --workers processes of --role worker",
    )
    parser.add_argument("--workers", type=int, default=1, help="--role worker processes (--split)")
    parser.add_argument("--database", help="DATABASE_URL (default: a SQLite file); emptied first")
    parser.add_argument(
        "--startup", type=float, default=90, help="seconds allowed to start and warm"
    )
    parser.add_argument("--drain-timeout", type=float, default=3600)
    parser.add_argument(
        "--logs", type=Path, help="keep the pulsebot processes' logs in this folder"
    )
    args = parser.parse_args()
    from bench.common import machine, machine_line  # here: the load generator needs neither

    started = machine()
    print(machine_line(started), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        Bench(args, Path(tmp), started).run()


class Bench:
    """One run: seed, start everything, calibrate, the rest and the peak, drain, report."""

    def __init__(self, args: argparse.Namespace, tmp: Path, started: dict[str, Any]) -> None:
        self.args = args
        self.tmp = tmp
        self.started = started
        self.url = args.database or f"sqlite:///{tmp}/peak.db"
        self.processes: list[Any] = []
        self.roles: dict[int, str] = {}
        self.samples: list[tuple[float, dict[str, float]]] = []
        self.sampling = threading.Event()

    # ----- seeding -------------------------------------------------------------------------

    def seed(self) -> None:
        from sqlalchemy import create_engine, func, select

        from bench.common import reset_postgres
        from bench.digest import LAST_MONDAY, _analyze
        from bench.digest import seed as seed_company
        from storage.engine import make_engine, make_session_factory
        from storage.migrate import upgrade
        from storage.models import DirectoryUser, OrgEdge

        if self.url.startswith("postgresql"):
            reset_postgres(self.url)
        upgrade(self.url)
        self.engine = make_engine(self.url, pool_size=4)
        self.factory = make_session_factory(self.engine)
        # What the bench reads while pulsebot runs goes through a plain engine: pulsebot's
        # own SQLite engine begins every transaction IMMEDIATE (a writer), and an observer
        # polling with it would queue among the writers it measures. In WAL a reader waits
        # for nobody.
        self.reader = create_engine(self.url, pool_pre_ping=False)
        args = self.args
        began = time.perf_counter()
        managers, counts = seed_company(
            self.factory, args.employees, args.managers, args.weeks, zones=ZONES
        )
        per_zone: dict[str, list[str]] = defaultdict(list)
        for manager_id, tz in managers:
            per_zone[tz].append(manager_id)
        self.zone = max(per_zone, key=lambda z: len(per_zone[z]))
        self.monday = LAST_MONDAY + timedelta(weeks=1)
        self.peak_at = datetime.combine(self.monday, clock_time(9), ZoneInfo(self.zone))
        with self.factory() as session:
            people = session.execute(select(DirectoryUser.user_id, DirectoryUser.tz)).all()
            edges = session.execute(select(OrgEdge.user_id, OrgEdge.manager_id)).all()
        self.people: dict[str, str] = dict(people)
        self.manager_of: dict[str, str] = dict(edges)
        with self.factory() as session:
            self.employees = session.scalar(select(func.count()).select_from(DirectoryUser))
        self.zone_managers = per_zone[self.zone]
        self.zone_members = sorted(u for u, tz in self.people.items() if tz == self.zone)
        earlier = self._seed_sent_digests()
        self._seed_monday_checkin()
        self.open_checkins = self._seed_open_checkins()
        _analyze(self.engine)
        self.seeded = {
            **counts,
            "employees": self.employees,
            "managers": len(managers),
            "zone": self.zone,
            "zone_managers": len(self.zone_managers),
            "zone_members": len(self.zone_members),
            "digests_sent_before": earlier,
            "seconds": round(time.perf_counter() - began, 1),
        }
        print(
            f"seeded {self.employees} people, {len(managers)} managers, {args.weeks} weeks "
            f"({counts['occurrences']} check-ins, {counts['answers']} answers, "
            f"{counts['kudos']} kudos) in {self.seeded['seconds']} s; the peak: Monday "
            f"{self.monday} 09:00 {self.zone}, {len(self.zone_managers)} digests and "
            f"{len(self.zone_members)} check-in prompts due",
            flush=True,
        )

    def _seed_sent_digests(self) -> int:
        """Every manager's digest of the week before, and that Monday's of the zones whose
        09:00 came first, recorded as the minute job records them (built from the same rows)
        and sent long ago: App Home shows them, and the minute job finds them written, as in
        a company with weeks of pulsebot behind it (without the week before's, every minute
        would look again whether each manager's was held past its turn)."""
        from bot.jobs.digests import DigestPolicy, write_due

        last_week = self.peak_at - timedelta(days=6)  # every zone's 09:00 a week ago is past
        earlier = write_due(self.factory, last_week, DigestPolicy(), deliver=False).written
        before = self.peak_at - timedelta(minutes=1)
        return earlier + write_due(self.factory, before, DigestPolicy(), deliver=False).written

    def _created(self) -> datetime:
        """When the bench's own check-ins began: the day before the peak, so that the minute
        job finds nothing of theirs to catch up on from the weeks before."""
        return datetime.combine(self.monday - timedelta(days=1), clock_time(0), UTC)

    def _template_rows(self, owners: list[str], name: str, weekdays: list[str], at: str) -> Any:
        from bench.digest import QUESTIONS

        created = self._created()
        return (
            {
                "team_id": TEAM,
                "owner_id": owner,
                "name": name,
                "weekdays": weekdays,
                "local_time": at,
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
            for owner in owners
        )

    def _seed_monday_checkin(self) -> None:
        """The busiest zone's members: a check-in at Monday 09:00, one per team, owned by
        their manager."""
        from sqlalchemy import select

        from bench.digest import _bulk
        from storage.engine import unit_of_work
        from storage.models import CheckinMember, CheckinTemplate

        teams: dict[str, list[str]] = defaultdict(list)
        for member in self.zone_members:
            if member in self.manager_of:
                teams[self.manager_of[member]].append(member)
        created = self._created()
        with unit_of_work(self.factory) as session:
            _bulk(
                session,
                CheckinTemplate,
                self._template_rows(sorted(teams), "Monday kickoff", ["mon"], "09:00"),
            )
            ids = dict(
                session.execute(
                    select(CheckinTemplate.owner_id, CheckinTemplate.id).where(
                        CheckinTemplate.name == "Monday kickoff"
                    )
                ).all()
            )
            _bulk(
                session,
                CheckinMember,
                (
                    {"template_id": ids[boss], "user_id": u, "team_id": TEAM, "added_at": created}
                    for boss, members in teams.items()
                    for u in members
                ),
            )
        self.prompts_due = sum(len(members) for members in teams.values())

    def _seed_open_checkins(self) -> list[tuple[int, str, str]]:
        """A daily check-in per team, open since 07:00 that Monday for everyone: what the
        load answers, one occurrence per answer, owners taken in turn (a manager's DM gets
        an answer at most every few seconds, within Slack's one a second per channel)."""
        from sqlalchemy import select

        from bench.digest import _bulk
        from storage.engine import unit_of_work
        from storage.models import CheckinMember, CheckinOccurrence, CheckinTemplate

        args = self.args
        wanted = math.ceil(args.checkins * (args.calibrate + args.startup + args.rest + args.peak))
        wanted += 20
        rounds = max(1, math.ceil(wanted / max(len(self.manager_of), 1)))
        teams: dict[str, list[str]] = defaultdict(list)
        for member, boss in self.manager_of.items():
            teams[boss].append(member)
        created = self._created()
        names = [f"Daily standup {n + 1}" for n in range(rounds)]
        with unit_of_work(self.factory) as session:
            for name in names:
                _bulk(
                    session,
                    CheckinTemplate,
                    self._template_rows(sorted(teams), name, ["mon"], "07:00"),
                )
            templates = session.execute(
                select(CheckinTemplate.id, CheckinTemplate.owner_id, CheckinTemplate.name).where(
                    CheckinTemplate.name.in_(names)
                )
            ).all()
            _bulk(
                session,
                CheckinMember,
                (
                    {"template_id": tid, "user_id": u, "team_id": TEAM, "added_at": created}
                    for tid, owner, _ in templates
                    for u in teams[owner]
                ),
            )
            rows = []
            for tid, owner, _ in templates:
                for member in teams[owner]:
                    opened = datetime.combine(
                        self.monday, clock_time(7), ZoneInfo(self.people[member] or "UTC")
                    ).astimezone(UTC)
                    rows.append(
                        {
                            "team_id": TEAM,
                            "template_id": tid,
                            "user_id": member,
                            "local_date": self.monday,
                            "scheduled_at": opened,
                            "closes_at": opened + timedelta(days=1),
                            "remind_at": opened + timedelta(hours=4),
                            "state": "pending",
                            "snoozed_until": None,
                            "snooze_count": 0,
                            "reminded_at": opened,  # reminded already: no reminder during the run
                            "answered_at": None,
                            "prompt_outbox_id": None,
                            "created_at": opened,
                            "updated_at": opened,
                        }
                    )
            _bulk(session, CheckinOccurrence, rows)
            found = session.execute(
                select(CheckinOccurrence.id, CheckinOccurrence.user_id, CheckinTemplate.owner_id)
                .join(CheckinTemplate, CheckinTemplate.id == CheckinOccurrence.template_id)
                .where(CheckinTemplate.name.in_(names))
            ).all()
        by_owner: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        for occurrence_id, user_id, owner in found:
            by_owner[owner].append((occurrence_id, user_id, owner))
        queues = [sorted(q) for _, q in sorted(by_owner.items())]
        dealt: list[tuple[int, str, str]] = []
        while any(queues):  # one owner after another
            for queue in queues:
                if queue:
                    dealt.append(queue.pop(0))
        return dealt

    # ----- the processes -------------------------------------------------------------------

    def start(self) -> None:
        from bench.common import SlackInItsOwnProcess
        from tests.server import start_process
        from tests.timeshift.clock_shift import SITE_DIR, VARIABLE

        args = self.args
        # pulsebot's clock (and Slack's, so that they agree) reads 09:00 in the busiest zone
        # `lead` seconds from now.
        lead = args.startup + 4 * (args.calibrate + 3) + args.rest + LOAD_LEAD + 5
        self.shift = (self.peak_at.astimezone(UTC) - datetime.now(UTC)).total_seconds() - lead
        self.slack = SlackInItsOwnProcess(clock_offset=self.shift)
        by_zone: dict[str, list[str]] = defaultdict(list)
        for user_id, tz in self.people.items():
            by_zone[tz or "UTC"].append(user_id)
        for tz, users in by_zone.items():
            self.slack.call("add_users", users, tz)
        self.slack.call("set_rate_limit", "chat.postMessage", per_minute=int(args.post_rate * 60))
        self.slack.call("set_channel_rate_limit", per_second=1.0, burst=1)
        for method in ("files.getUploadURLExternal", "files.completeUploadExternal"):
            self.slack.call("set_rate_limit", method, per_minute=TIER4)
        self.slack.call("set_rate_limit", "views.publish", per_minute=TIER4)
        env = {
            "SLACK_BOT_TOKEN": self.slack.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": self.slack.url,
            "DATABASE_URL": self.url,
            "PULSEBOT_KUDOS_CHANNEL": "",
            "PULSEBOT_POST_RATE": str(args.post_rate),
            "LOG_LEVEL": "INFO",
            VARIABLE: repr(self.shift / 86_400),
            "PYTHONPATH": os.pathsep.join([str(SITE_DIR), str(ROOT)]),
        }
        roles = ["web" if args.split else "all"] * args.replicas
        roles += ["worker"] * (args.workers if args.split else 0)
        for number, role in enumerate(roles):
            process = start_process(env, self.tmp / f"{role}-{number}.log", "--role", role)
            self.processes.append(process)
            self.roles[process.process.pid] = f"{role}-{number}"
        self.serving = [
            p for p in self.processes if not self.roles[p.process.pid].startswith("worker")
        ]
        self.ports = [int(p.url.rsplit(":", 1)[1]) for p in self.serving]
        self._wait_warm(len(self.serving))

    def _wait_warm(self, serving: int) -> None:
        """Every serving process has read users.list through: the directory cache is warm."""
        pages = math.ceil((len(self.people) + 2) / 200)
        deadline = time.monotonic() + self.args.startup
        while time.monotonic() < deadline:
            if int(self.slack.call("calls", "users.list")) >= pages * serving:  # type: ignore[call-overload]
                time.sleep(2)
                return
            time.sleep(0.5)
        raise SystemExit("the servers did not warm their directory in time: raise --startup")

    def stop(self) -> None:
        self.sampling.set()
        for process in self.processes:
            process.stop()
        if hasattr(self, "slack"):
            self.slack.stop()
        problems = [
            f"{log.name}: {line.strip()}"
            for log in sorted(self.tmp.glob("*.log"))
            for line in log.read_text(errors="replace").splitlines()
            if " ERROR " in line or line.startswith("Traceback")
        ]
        if problems:
            print(f"  {len(problems)} error line(s) in the servers' logs, e.g.:")
            for line in problems[:5]:
                print(f"    {line[:200]}")
        if self.args.logs:
            self.args.logs.mkdir(parents=True, exist_ok=True)
            for log in self.tmp.glob("*.log"):
                (self.args.logs / log.name).write_bytes(log.read_bytes())
            print(f"  logs kept in {self.args.logs}")

    # ----- clocks and samples --------------------------------------------------------------

    def pulsebot_now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.shift)

    def monotonic_of(self, instant: datetime) -> float:
        """A pulsebot instant (its moved clock) on this machine's monotonic clock."""
        return time.monotonic() - (self.pulsebot_now() - instant).total_seconds()

    def pids(self) -> dict[str, int]:
        found = {name: pid for pid, name in self.roles.items()}
        found["emulator"] = self.slack._process.pid  # type: ignore[assignment]
        if getattr(self, "generator", None) is not None:
            found["load generator"] = self.generator.pid
        return found

    def sample(self) -> None:
        """CPU seconds per process (and PostgreSQL's) once a second, for any window later."""
        from bench.common import cpu_seconds, postgres_cpu_seconds

        while not self.sampling.wait(1.0):
            cpu = {name: cpu_seconds(pid) for name, pid in self.pids().items()}
            if self.url.startswith("postgresql"):
                cpu["postgresql (whole server)"] = postgres_cpu_seconds()
            self.samples.append((time.monotonic(), cpu))

    def cpu_between(self, start: float, end: float) -> dict[str, float]:
        """CPU seconds each process spent between two monotonic instants (nearest samples)."""
        if not self.samples:
            return {}
        first = min(self.samples, key=lambda s: abs(s[0] - start))
        last = min(self.samples, key=lambda s: abs(s[0] - end))
        return {
            name: round(last[1][name] - first[1].get(name, 0.0), 2)
            for name in last[1]
            if name in first[1] and first[1][name] >= 0 and last[1][name] >= 0
        }

    # ----- load ----------------------------------------------------------------------------

    def plan(self, rates: dict[str, float], duration: float | None) -> Path:
        """The next requests of each kind (none used twice in a run) for the generator."""
        needed = {
            k: int(rates[k] * (duration or self.args.startup + self.args.rest + self.args.peak))
            + 10
            for k in KINDS
        }
        people = sorted(self.people)
        n = len(people)
        kudos = []
        for _ in range(needed["kudos"] if rates["kudos"] else 0):
            ref = self.next["kudos"]
            self.next["kudos"] += 1
            giver = people[ref % n]
            recipient = people[(ref * 7919 + 1) % n]
            if recipient == giver:
                recipient = people[(ref + 1) % n]
            kudos.append((ref, giver, recipient))
        start = self.next["checkin"]
        count = needed["checkin"] if rates["checkin"] else 0
        checkin = self.open_checkins[start : start + count]
        self.next["checkin"] += len(checkin)
        home = []
        for _ in range(needed["home"] if rates["home"] else 0):
            number = self.next["home"]
            self.next["home"] += 1
            home.append((number, people[(number * 31) % n]))
        path = self.tmp / f"plan-{time.monotonic_ns()}.json"
        path.write_text(
            json.dumps(
                {
                    "ports": self.ports,
                    "clock_offset": self.shift,
                    "rates": rates,
                    "duration": duration,
                    "monday": self.monday.isoformat(),
                    "kudos": kudos,
                    "checkin": checkin,
                    "home": home,
                }
            )
        )
        return path

    def launch(self, plan: Path) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.generator = subprocess.Popen(
            [sys.executable, __file__, "load", str(plan)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        return self.generator

    def finish(self, generator: subprocess.Popen[bytes]) -> dict[str, Any]:
        out, _ = generator.communicate(timeout=600)
        if generator.returncode:
            raise SystemExit(f"the load generator failed ({generator.returncode})")
        return json.loads(out)

    def calibrate(self) -> dict[str, Any]:
        """Each kind alone at its rate: the CPU per ack of each (the serving processes), and
        the CPU per message sent (the workers, or all of it in one process). An idle window
        of the same length first: what the processes spend anyway (the minute job, the
        sender's polls) is taken off. `--calibrate` a multiple of the minute job's 30 s puts
        the same number of its runs in every window; the requests leave in all of it but the
        last CALIBRATION_TAIL seconds, when what they wrote goes out."""
        from bench.common import memory_mb

        figures: dict[str, Any] = {}
        rates = {"kudos": self.args.kudos, "checkin": self.args.checkins, "home": self.args.homes}
        window = self.args.calibrate  # the load for all but its tail, then the tail
        if not self.args.calibrate:
            return {"rss_idle_mb": {n: round(memory_mb(p)[0], 1) for n, p in self.pids().items()}}
        begin = time.monotonic()
        time.sleep(window)
        idle = self.cpu_between(begin, time.monotonic())
        figures["idle_cpu_s"] = idle
        print(
            f"  calibrate idle for {window:g} s: CPU "
            + ", ".join(f"{name} {v:.2f} s" for name, v in idle.items()),
            flush=True,
        )
        for kind in KINDS:
            if not rates[kind]:
                continue
            alone = {k: (rates[k] if k == kind else 0.0) for k in KINDS}
            sent_before = self.sent_count()
            begin = time.monotonic()
            out = self.finish(self.launch(self.plan(alone, max(window - CALIBRATION_TAIL, 1))))
            time.sleep(max(begin + window - time.monotonic(), 0))  # the sender's tail
            cpu = self.cpu_between(begin, time.monotonic())
            extra = {name: max(v - idle.get(name, 0.0), 0.0) for name, v in cpu.items()}
            acked = sum(1 for r in out["results"] if r[5])
            sent = self.sent_count() - sent_before
            serving = sum(v for name, v in extra.items() if name.startswith(("all", "web")))
            workers = sum(v for name, v in extra.items() if name.startswith("worker"))
            latencies = [r[3] - r[2] for r in out["results"]]
            figures[kind] = {
                "rate": rates[kind],
                "requests": len(out["results"]),
                "acked": acked,
                "messages_sent": sent,
                "ack_ms": _percentiles(latencies),
                "cpu_s": cpu,
                "load_generator_cpu_s": out["cpu_s"],
                "cpu_ms_per_ack_serving": round(serving / max(acked, 1) * 1000, 2),
                "cpu_ms_per_message_worker": (
                    round(workers / max(sent, 1) * 1000, 2) if self.args.split else None
                ),
                "errors": out["errors"][:3],
            }
            print(
                f"  calibrate {kind:8s} alone at {rates[kind]:g}/s: {acked}/{len(out['results'])} "
                f"acked, p50/p90/p99 {_fmt(figures[kind]['ack_ms'])} ms; serving CPU "
                f"{figures[kind]['cpu_ms_per_ack_serving']:.2f} ms per ack"
                + (
                    f"; workers {figures[kind]['cpu_ms_per_message_worker']:.2f} ms per message "
                    f"sent ({sent})"
                    if self.args.split
                    else f" (its {sent} messages' sending included)"
                ),
                flush=True,
            )
        figures["rss_idle_mb"] = {
            name: round(memory_mb(pid)[0], 1) for name, pid in self.pids().items()
        }
        return figures

    def sent_count(self) -> int:
        from sqlalchemy import func, select

        from storage.models import OutboxMessage

        with self.reader.connect() as connection:
            return int(
                connection.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == "sent")
                )
                or 0
            )

    def first_bulk(self) -> datetime | None:
        from sqlalchemy import func, or_, select

        from storage.models import OutboxMessage

        with self.reader.connect() as connection:
            return connection.scalar(
                select(func.min(OutboxMessage.created_at)).where(
                    or_(
                        OutboxMessage.idempotency_key.like("checkin:%:prompt"),
                        OutboxMessage.idempotency_key.like("digest:%"),
                    ),
                    OutboxMessage.created_at >= self.peak_at,
                )
            )

    # ----- the run -------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self.seed()
            self.start()
            self.next = {k: 0 for k in KINDS}
            sampler = threading.Thread(target=self.sample, daemon=True)
            sampler.start()
            time.sleep(1.5)
            calibration = self.calibrate()
            self.measure(calibration)
        finally:
            self.stop()

    def measure(self, calibration: dict[str, Any]) -> None:
        from bench.common import memory_mb

        args = self.args
        until_peak = (self.peak_at - self.pulsebot_now()).total_seconds()
        if until_peak < args.rest + LOAD_LEAD:
            raise SystemExit(
                f"09:00 comes in {until_peak:.0f} s, less than --rest: raise --startup "
                "(starting and warming took longer than it allows)"
            )
        time.sleep(until_peak - args.rest - LOAD_LEAD)
        rates = {"kudos": args.kudos, "checkin": args.checkins, "home": args.homes}
        generator = self.launch(self.plan(rates, None))
        load_began = time.monotonic()
        print(
            f"  load: {args.kudos:g} kudos/s, {args.checkins:g} check-in answers/s, "
            f"{args.homes:g} App Home opens/s, open loop, from {args.rest + LOAD_LEAD:.0f} s "
            "before 09:00",
            flush=True,
        )
        first: datetime | None = None
        while first is None:
            if generator.poll() is not None:
                raise SystemExit("the load generator stopped before the peak")
            time.sleep(0.2)
            first = self.first_bulk()
        peak_first = self.monotonic_of(first)
        stop = peak_first + args.peak
        assert generator.stdin is not None
        generator.stdin.write(f"stop {stop}\n".encode())
        generator.stdin.flush()
        print(
            f"  the peak's first write at {first.astimezone(ZoneInfo(self.zone)):%H:%M:%S} "
            f"{self.zone}; load until {args.peak:g} s after it",
            flush=True,
        )
        out = self.finish(generator)
        load_ended = time.monotonic()
        rss_load = {name: memory_mb(pid) for name, pid in self.pids().items()}
        drained = self.wait_drained()
        drain_end = time.monotonic()
        self.report(
            calibration, out, load_began, peak_first, load_ended, drained, drain_end, rss_load
        )

    def wait_drained(self) -> dict[str, Any]:
        """Every digest of the peak written, and every message sent (or failed for good).

        App Home publishes are not waited for: views.publish is Tier 4 (about 1.7 a second),
        so opens above that rate queue for minutes; the report says how long they waited."""
        from sqlalchemy import func, select

        from storage.models import Digest, OutboxMessage

        deadline = time.monotonic() + self.args.drain_timeout
        expected = len(self.zone_managers)
        while time.monotonic() < deadline:
            with self.reader.connect() as connection:
                written = connection.scalar(
                    select(func.count())
                    .select_from(Digest)
                    .where(Digest.created_at >= self.peak_at)
                )
                pending = connection.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(
                        OutboxMessage.status == "pending",
                        OutboxMessage.method != "views.publish",
                    )
                )
            if written >= expected and not pending:
                return {"drained": True, "digests": written}
            time.sleep(1)
        return {"drained": False, "digests": written, "pending": pending}

    # ----- the report ----------------------------------------------------------------------

    def rows(self) -> list[Any]:
        from sqlalchemy import func, select

        from storage.models import OutboxMessage

        with self.reader.connect() as connection:
            return connection.execute(
                select(
                    OutboxMessage.idempotency_key,
                    OutboxMessage.method,
                    OutboxMessage.status,
                    OutboxMessage.created_at,
                    OutboxMessage.sent_at,
                    func.length(OutboxMessage.payload.cast(_text_type())),
                )
            ).all()

    def report(
        self,
        calibration: dict[str, Any],
        out: dict[str, Any],
        load_began: float,
        peak_first: float,
        load_ended: float,
        drained: dict[str, Any],
        drain_end: float,
        rss_load: dict[str, tuple[float, float]],
    ) -> None:
        from bench.common import machine_line, write_figures
        from bot.delivery.pacing import TIER_RATES

        args = self.args
        rest = (peak_first - args.rest, peak_first)
        peak = (peak_first, peak_first + args.peak)
        results = out["results"]
        windows = {"rest": rest, "peak": peak}
        acks: dict[str, dict[str, Any]] = {}
        for name, (a, b) in windows.items():
            acks[name] = {}
            for kind in KINDS:
                inside = [r for r in results if r[0] == kind and a <= r[2] < b]
                acks[name][kind] = {
                    "n": len(inside),
                    "failed": sum(1 for r in inside if not r[5]),
                    "ms": _percentiles([r[3] - r[2] for r in inside]),
                }
            every = [r for r in results if a <= r[2] < b]
            acks[name]["all"] = {"n": len(every), "ms": _percentiles([r[3] - r[2] for r in every])}
        # DMs: a kudos by the ref in its text, an answer by its outbox key.
        arrivals = self.slack.call("arrivals", ["chat.postMessage"])
        by_ref: dict[int, float] = {}
        by_key: dict[str, float] = {}
        for _, at, status, key, text in arrivals:  # type: ignore[attr-defined]
            if status != 200:
                continue
            if key.startswith("kudos:") and (found := REF.search(text)):
                by_ref.setdefault(int(found.group(1)), at)
            elif key:
                by_key.setdefault(key, at)
        dms: dict[str, dict[str, Any]] = {}
        for name, (a, b) in windows.items():
            dms[name] = {}
            for kind in ("kudos", "checkin"):
                inside = [r for r in results if r[0] == kind and r[5] and a <= r[2] < b]
                waits, missing = [], 0
                for r in inside:
                    if kind == "kudos":
                        arrived = by_ref.get(int(r[1]))
                    else:
                        arrived = by_key.get(f"checkin:{r[1]}:answers:manager")
                    if arrived is None:
                        missing += 1
                    else:
                        waits.append(arrived - r[3])
                dms[name][kind] = {
                    "n": len(inside),
                    "missing": missing,
                    "s": _percentiles(waits, scale=1.0),
                    "max_s": round(max(waits), 2) if waits else None,
                }
        bulk = self.bulk_figures(TIER_RATES, peak_first, drained)
        cpu = {
            "rest": self.cpu_between(*rest),
            "peak": self.cpu_between(*peak),
            "drain": self.cpu_between(peak_first, drain_end),
        }
        acked_in = {
            name: sum(1 for r in results if r[5] and a <= r[2] < b)
            for name, (a, b) in windows.items()
        }
        per_ack = {
            name: round(
                sum(v for p, v in cpu[name].items() if p.startswith(("all", "web")))
                / max(acked_in[name], 1)
                * 1000,
                2,
            )
            for name in windows
        }
        rss = {
            name: {
                "idle": calibration["rss_idle_mb"].get(name),
                "load": round(r[0], 1),
                "peak": round(r[1], 1),
            }
            for name, r in rss_load.items()
        }
        sizes = self.payload_sizes()
        homes = self.home_waits()
        limited = {
            method: (
                int(self.slack.call("rate_limited_count", method)),  # type: ignore[call-overload]
                int(self.slack.call("calls", method)),  # type: ignore[call-overload]
            )
            for method in LIMITED
        }
        rss["load generator"] = {"idle": None, "load": None, "peak": out["rss_peak_mb"]}

        print()
        print(
            f"The Monday peak on {self.url.split(':')[0].split('+')[0]}, "
            f"{len(self.serving)} serving process(es) ({'web' if args.split else 'all'})"
            + (f" + {args.workers} worker(s)" if args.split else "")
            + f"; {machine_line(self.started)}"
        )
        print(
            f"  {self.employees} people, {self.seeded['managers']} managers, {args.weeks} weeks; "
            f"at 09:00 {self.zone}: {len(self.zone_managers)} digests, {self.prompts_due} prompts"
        )
        print(
            f"  load: {args.kudos:g} kudos/s, {args.checkins:g} answers/s, {args.homes:g} App "
            f"Home opens/s (open loop); chat.postMessage {args.post_rate:g}/s for the workspace "
            "and 1/s per channel, files.* and views.publish 100/min"
        )
        for name in windows:
            print(
                f"  ack p50/p90/p99 ms, {name:4s}: "
                + "   ".join(
                    f"{kind} {_fmt(acks[name][kind]['ms'])} (n={acks[name][kind]['n']}"
                    + (
                        f", {acks[name][kind]['failed']} failed"
                        if acks[name][kind]["failed"]
                        else ""
                    )
                    + ")"
                    for kind in KINDS
                )
            )
        for name in windows:
            print(
                f"  ack to DM p50/p90/p99 s, {name:4s}: "
                + "   ".join(
                    f"{kind} {_fmt(dms[name][kind]['s'], 2)} max {dms[name][kind]['max_s']}"
                    + (
                        f" ({dms[name][kind]['missing']} never arrived)"
                        if dms[name][kind]["missing"]
                        else ""
                    )
                    for kind in ("kudos", "checkin")
                )
            )
        print(
            f"  bulk: {bulk['rows']} rows ({bulk['prompts']} prompts, {bulk['digests']} digests) "
            f"drained in {bulk['drain_s']} s from the peak's first write"
            + ("" if drained["drained"] else " (NOT drained: timed out)")
        )
        for method, floor in bulk["floors"].items():
            print(
                f"    {method:28s} {floor['bulk']:5d} bulk + {floor['interactive']:5d} "
                f"interactive at {floor['rate']:.3g}/s: floor (N-1)/rate "
                f"{floor['floor_n1']:7.1f} s, (N-allowance)/rate {floor['floor_nl']:7.1f} s "
                f"(allowance {floor['allowance']:g}); last sent at {floor['last_s']} s"
            )
        print(
            f"    drain / floor: {bulk['ratio_n1']:.3f} against (N-1)/rate, "
            f"{_ratio(bulk['ratio_nl'])} against (N-allowance)/rate (the slowest method: "
            f"{bulk['binding']})"
        )
        for name in ("rest", "peak", "drain"):
            wall = {"rest": args.rest, "peak": args.peak, "drain": drain_end - peak_first}[name]
            print(
                f"  CPU s over {name} ({wall:.0f} s): "
                + ", ".join(f"{p} {v:.1f} ({v / wall:.0%})" for p, v in cpu[name].items())
            )
        print(
            f"  serving CPU per ack (all kinds): rest {per_ack['rest']:.2f} ms, "
            f"peak {per_ack['peak']:.2f} ms; per bulk row (all processes, drain): "
            f"{bulk['cpu_ms_per_row']} ms"
        )
        print(
            f"  App Home publishes (views.publish, Tier 4): {homes['sent']} sent, queued p50/p90/"
            f"max {_fmt(homes['s'], 1)} s; {homes['pending']} still queued when the bulk drained"
        )
        print(
            "  429s / calls: " + ", ".join(f"{m} {n}/{calls}" for m, (n, calls) in limited.items())
        )
        print(
            f"  load generator: {out['cpu_s']:.1f} CPU s over the whole load "
            f"({load_ended - load_began:.0f} s)"
        )
        print(
            "  RSS MB idle / under load / peak: "
            + ", ".join(f"{p} {v['idle']}/{v['load']}/{v['peak']}" for p, v in rss.items())
        )
        if out["slowest"] > 0.5 or out["errors"]:
            print(
                f"  load generator: slowest answer {out['slowest']:.2f} s; "
                f"errors {out['errors'][:3]}"
            )
        goals = self.goals(acks, dms, bulk)
        for goal, (passed, detail) in goals.items():
            print(f"  goal {goal}: {'PASS' if passed else 'FAIL'} ({detail})")
        label = self.url.split(":")[0].split("+")[0]
        label += f" x{args.replicas}" if args.replicas > 1 else ""
        label += " split" if args.split else ""
        write_figures(
            "peak",
            label,
            {
                "sizes": self.seeded,
                "rates": {"kudos": args.kudos, "checkin": args.checkins, "home": args.homes},
                "post_rate": args.post_rate,
                "processes": {
                    "serving": len(self.serving),
                    "workers": args.workers if args.split else 0,
                },
                "calibration": calibration,
                "ack_ms": acks,
                "dm_s": dms,
                "bulk": bulk,
                "cpu_s": cpu,
                "cpu_ms_per_ack": per_ack,
                "rss_mb": rss,
                "outbox_bytes": sizes,
                "home_publish": homes,
                "rate_limited": {m: {"429": n, "calls": c} for m, (n, c) in limited.items()},
                "load_generator_cpu_s": out["cpu_s"],
                "goals": {g: p for g, (p, _) in goals.items()},
            },
            self.started,
        )

    def bulk_figures(
        self, tiers: dict[str, float], peak_first: float, drained: dict[str, Any]
    ) -> dict[str, Any]:
        """What the minute job wrote at the peak, how long it took to leave, and the floors
        Slack's pace allows each method (interactive rows sent meanwhile share the pace)."""
        rows = self.rows()
        bulk = [r for r in rows if _is_bulk(r[0]) and r[3] >= self.peak_at]
        if not bulk:
            return {
                "rows": 0,
                "prompts": 0,
                "digests": 0,
                "drain_s": None,
                "floors": {},
                "ratio_n1": math.nan,
                "ratio_nl": None,
                "binding": None,
                "cpu_ms_per_row": None,
            }
        began = min(r[3] for r in bulk)
        ended = max(r[4] or r[3] for r in bulk)
        rates = {**tiers, "chat.postMessage": self.args.post_rate}
        floors: dict[str, dict[str, Any]] = {}
        for method in sorted({r[1] for r in bulk}):
            ours = [r for r in bulk if r[1] == method]
            others = [
                r
                for r in rows
                if r[1] == method
                and not _is_bulk(r[0])
                and r[4] is not None
                and began <= r[4] <= ended
            ]
            n = len(ours) + len(others)
            rate = rates.get(method, 20 / 60)
            # The window's first allowance may all leave at once: a second's worth for a
            # post, a minute's worth for a method of a per-minute tier.
            allowance = rate * (1 if method in PER_SECOND else 60)
            last = max(r[4] or r[3] for r in ours)
            floors[method] = {
                "bulk": len(ours),
                "interactive": len(others),
                "rate": rate,
                "allowance": round(allowance, 1),
                "floor_n1": round((n - 1) / rate, 1),
                "floor_nl": round(max(n - allowance, 0) / rate, 1),
                "last_s": round((last - began).total_seconds(), 1),
            }
        binding = max(floors, key=lambda m: floors[m]["floor_n1"])
        drain = (ended - began).total_seconds()
        cpu = self.cpu_between(peak_first, peak_first + drain)
        total_cpu = sum(v for name, v in cpu.items() if not name.startswith(("load", "postgresql")))
        return {
            "rows": len(bulk),
            "prompts": sum(1 for r in bulk if r[0].endswith(":prompt")),
            "digests": sum(
                1 for r in bulk if r[0].endswith(":message") and r[0].startswith("digest:")
            ),
            "drain_s": round(drain, 1),
            "floors": floors,
            "binding": binding,
            "ratio_n1": round(drain / max(floors[binding]["floor_n1"], 1e-9), 3),
            "ratio_nl": (
                round(drain / floors[binding]["floor_nl"], 3)
                if floors[binding]["floor_nl"] > 0
                else None  # all of it fits in the window's first allowance
            ),
            "cpu_ms_per_row": round(total_cpu / len(bulk) * 1000, 2),
            "drained": drained["drained"],
        }

    def home_waits(self) -> dict[str, Any]:
        """How long App Home publishes waited in the outbox (its clock: written to sent)."""
        rows = [r for r in self.rows() if r[0].startswith("home:")]
        waits = [(r[4] - r[3]).total_seconds() for r in rows if r[4] is not None]
        cuts = _percentiles(waits, scale=1.0)
        return {
            "sent": len(waits),
            "pending": sum(1 for r in rows if r[2] == "pending"),
            "s": [cuts[0], cuts[1], round(max(waits), 1) if waits else math.nan],
        }

    def payload_sizes(self) -> dict[str, dict[str, float]]:
        """Rows and payload bytes per kind of outbox row: what each message adds to the
        database (bench/capacity.py's growth tables)."""
        from sqlalchemy import func, select

        from storage.models import Digest

        sizes: dict[str, list[int]] = defaultdict(list)
        for key, _, _, _, _, length in self.rows():
            sizes[_kind_of(key)].append(int(length or 0))
        with self.reader.connect() as connection:
            stored = connection.scalars(
                select(func.length(Digest.content.cast(_text_type()))).where(
                    Digest.created_at >= self.peak_at
                )
            ).all()
        sizes["digest stored"] = [int(n or 0) for n in stored]  # the digests table's copy
        return {
            kind: {"rows": len(v), "mean_bytes": round(statistics.fmean(v), 1)}
            for kind, v in sorted(sizes.items())
            if v
        }

    def goals(
        self, acks: dict[str, Any], dms: dict[str, Any], bulk: dict[str, Any]
    ) -> dict[str, tuple[bool, str]]:
        rest99 = {k: acks["rest"][k]["ms"][2] for k in KINDS if acks["rest"][k]["n"]}
        peak99 = {k: acks["peak"][k]["ms"][2] for k in KINDS if acks["peak"][k]["n"]}
        ratio = {k: peak99[k] / rest99[k] for k in peak99 if k in rest99 and rest99[k] > 0}
        worst = max(ratio, key=lambda k: ratio[k]) if ratio else None
        dm_max = [dms[w][k]["max_s"] for w in dms for k in dms[w] if dms[w][k]["max_s"] is not None]
        missing = sum(dms[w][k]["missing"] for w in dms for k in dms[w])
        return {
            "ack p99 at the peak within 1.5x of at rest": (
                bool(ratio) and all(r <= 1.5 for r in ratio.values()),
                f"worst {worst} {ratio.get(worst, math.nan):.2f}x" if worst else "no data",
            ),
            "ack p99 at the peak under 250 ms": (
                bool(peak99) and max(peak99.values()) < 250,
                ", ".join(f"{k} {v:.0f} ms" for k, v in peak99.items()),
            ),
            "every interactive DM within 10 s": (
                bool(dm_max) and max(dm_max) <= 10 and not missing,
                f"slowest {max(dm_max, default=math.nan):.1f} s, {missing} never arrived",
            ),
            "bulk drained within 1.1x of its floor": (
                bool(bulk.get("drained")) and bulk["ratio_n1"] <= 1.1,
                f"{_ratio(bulk['ratio_n1'])}x (N-1)/rate, "
                f"{_ratio(bulk['ratio_nl'])}x (N-allowance)/rate",
            ),
        }


def _text_type() -> Any:
    from sqlalchemy import Text

    return Text()


def _is_bulk(key: str) -> bool:
    return key.startswith("digest:") or key.endswith(":prompt")


KINDS_OF_ROWS = (
    (re.compile(r"^kudos:\d+:(dm|feed)"), "kudos {}"),
    (re.compile(r"^checkin:\d+:(\w+)"), "checkin {}"),
    (re.compile(r"^digest:[^:]+:[^:]+:(\w+)"), "digest {}"),
    (re.compile(r"^(home):"), "{}"),
)


def _kind_of(key: str) -> str:
    """An outbox key's scheme without its ids: `kudos:{id}:dm:{user}` -> "kudos dm"."""
    for pattern, name in KINDS_OF_ROWS:
        if found := pattern.match(key):
            return name.format(found.group(1))
    return key.split(":", 1)[0]


def _percentiles(values: list[float], scale: float = 1000.0) -> list[float]:
    if len(values) < 2:
        return [round(v * scale, 1) for v in values * 3][:3] if values else [math.nan] * 3
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return [round(cuts[49] * scale, 2), round(cuts[89] * scale, 2), round(cuts[98] * scale, 2)]


def _ratio(value: float | None) -> str:
    """A drain against a floor; none when the whole bulk fits in the first allowance."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.3f}"


def _fmt(values: list[float], digits: int = 1) -> str:
    return "/".join(f"{v:.{digits}f}" for v in values)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        load_main(sys.argv[2:])
    else:
        main()
