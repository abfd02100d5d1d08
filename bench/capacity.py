"""docs/capacity.md's tables, computed from the figures files the benches write.

    .venv/bin/python bench/capacity.py [--post-rate 5 10] [--retain-text-days 90] [--write]

Reads bench/figures/*.json (bench/peak.py, digest.py, privacy.py, fanout.py, kudos_cpu.py,
kudos_ack.py, replicas.py each write theirs: the figures with their date, machine and command)
and prints the tables in Markdown: what was measured and where, then what 1,000, 10,000 and
100,000 employees need, how long a Monday takes at Slack's pace, how the database grows, what
breaks first, and how 100,000 people's prompts spread across zones and minutes. `--write`
puts them into docs/capacity.md between its `capacity:begin` and `capacity:end` markers.

Every assumption (how often people act, the peak's rates, the zones) is a constant below;
every measured figure names its run. Nothing is measured here.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "bench" / "figures"
DOC = ROOT / "docs" / "capacity.md"
BEGIN, END = "<!-- capacity:begin -->", "<!-- capacity:end -->"

# ----- assumptions (not measured; change them here and run again) ---------------------------

SIZES = (1_000, 10_000, 100_000)
MANAGERS_PER_EMPLOYEE = 0.1  # the benches' 10,000 people and 1,000 managers
# The zones and their shares of people, as bench/peak.py deals them out; a Monday in March.
ZONES = (
    ("Asia/Tokyo", 0.10),
    ("Asia/Kolkata", 0.15),
    ("Europe/Berlin", 0.25),
    ("Europe/London", 0.20),
    ("America/New_York", 0.30),
)
MONDAY = date(2031, 3, 10)
# The worst minute's interactive load per 10,000 people (bench/peak.py's default rates),
# scaled with the size: requests a second.
PEAK_PER_10K = {"kudos": 20.0, "checkin": 10.0, "home": 5.0}
# Each ack's direct messages: a kudos DM to its recipient, an answer's DM to the owner.
DMS_PER_ACK = {"kudos": 1, "checkin": 1, "home": 0}
# A year of one person's use: weekly check-ins (a prompt, the answers DM to the owner, the
# prompt updated to Submitted, a reminder for some), kudos given (a DM each), App Home opens.
YEAR = {
    "checkin prompt": 52,
    "checkin answers": 52,
    "checkin submitted": 52,
    "checkin reminder": 52 * 0.3,
    "kudos dm": 10.4,  # bench/digest.py's history: one kudos a fortnight
    "home": 100,
}
# A manager's year: one digest a week (its chart upload, its message, a reply now and then).
MANAGER_YEAR = {"digest chart": 52, "digest message": 52, "digest reply": 10, "digest stored": 52}
# Slack: chat.postMessage about 1/s per channel and "several hundred a minute" per workspace
# (PULSEBOT_POST_RATE, 5 by default); files.getUploadURLExternal and completeUploadExternal
# Tier 4 (100/min; two per chart: 50 charts a minute); views.publish Tier 4 (100/min).
UPLOADS_PER_SECOND = 50 / 60
VIEWS_PUBLISH_PER_SECOND = 100 / 60
WEB_CORE_BUDGET = 0.5  # a web replica is sized to stay under half a core at the worst minute
POOL_PER_PROCESS = 30  # storage.engine: pool_size 10 + max_overflow 20 connections
SPLIT_PREFERENCE = ("postgresql x3 split", "postgresql split", "sqlite split")
ALL_PREFERENCE = ("postgresql x3", "postgresql", "sqlite")


# ----- reading the figures ------------------------------------------------------------------


def load() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(FIGURES.glob("*.json")):
        runs = json.loads(path.read_text()).get("runs")
        if runs is not None:  # kudos_ack.json keeps its own shape: the ack ratios, not costs
            found[path.stem] = runs
    return found


def pick(figures: dict[str, Any], bench: str, prefer: tuple[str, ...] = ()) -> tuple[str, Any]:
    runs = figures.get(bench) or {}
    for label in (*prefer, *sorted(runs)):
        if label in runs:
            return label, runs[label]
    raise SystemExit(f"no figures from bench/{bench}.py: run it first (bench/figures/)")


RUNS: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}  # (bench, label) -> (id, run)


def source(bench: str, label: str, run: dict[str, Any]) -> str:
    """The run's short name in the tables; `runs()` lists what each one was."""
    key = (bench, label)
    if key not in RUNS:
        RUNS[key] = (f"{bench} {label}", run)
    return RUNS[key][0]


def runs() -> str:
    rows = []
    for name, run in RUNS.values():
        machine = run["machine"]
        load = " ".join(f"{v:g}" for v in machine["load_average"])
        rows.append(
            [
                name,
                run["date"],
                f"{machine['cpu']}, {machine['cores']} cores, load {load} at the start",
                f"`{run['command']}`",
            ]
        )
    return table(["run", "date", "machine", "command"], rows)


class Inputs:
    """The measured figures the tables start from, each with where it came from."""

    def __init__(self, figures: dict[str, Any]) -> None:
        self.rows: list[tuple[str, str, str]] = []  # (figure, value, source)
        label, split = pick(figures, "peak", SPLIT_PREFERENCE)
        calibration = split["figures"]["calibration"]
        where = source("peak", label, split)
        self.ack_cpu_ms = {}
        for kind in ("kudos", "checkin", "home"):
            value = calibration.get(kind, {}).get("cpu_ms_per_ack_serving")
            self.ack_cpu_ms[kind] = float(value) if value is not None else math.nan
            self.rows.append((f"CPU per ack, {kind} (serving process)", f"{value} ms", where))
        message = [
            calibration[k]["cpu_ms_per_message_worker"]
            for k in ("kudos", "checkin")
            if calibration.get(k, {}).get("cpu_ms_per_message_worker") is not None
        ]
        self.message_cpu_ms = sum(message) / len(message) if message else math.nan
        self.rows.append(
            ("CPU per outbox row sent (worker)", f"{self.message_cpu_ms:.2f} ms", where)
        )
        self.postgres_ms = self._postgres_per_ack(figures)
        label, single = pick(figures, "peak", ("sqlite", "postgresql", "postgresql x3"))
        one = single["figures"]["calibration"]
        self.all_ack_cpu_ms = {
            kind: float(one.get(kind, {}).get("cpu_ms_per_ack_serving") or math.nan)
            for kind in ("kudos", "checkin", "home")
        }
        self.rows.append(
            (
                "CPU per ack in one `--role all` process, its sending included",
                ", ".join(f"{k} {v:.1f} ms" for k, v in self.all_ack_cpu_ms.items()),
                source("peak", label, single),
            )
        )
        rss = split["figures"]["rss_mb"]
        self.rss_idle = {r: _max_rss(rss, r, "idle") for r in ("web", "worker", "all")}
        self.rss_peak = {r: _max_rss(rss, r, "peak") for r in ("web", "worker", "all")}
        self.rows.append(
            (
                "RSS per process, idle / peak",
                f"web {self.rss_idle['web']:.0f} / {self.rss_peak['web']:.0f} MB, worker "
                f"{self.rss_idle['worker']:.0f} / {self.rss_peak['worker']:.0f} MB",
                where,
            )
        )
        self.outbox = split["figures"]["outbox_bytes"]
        label, digest = pick(figures, "digest", ALL_PREFERENCE)
        biggest = max(digest["figures"].values(), key=lambda v: v["employees"])
        self.digest_cpu_ms = float(biggest["data_cpu_ms_per_digest"])
        self.chart_cpu_ms = float(biggest["chart_cpu_ms"])
        where = source("digest", label, digest)
        self.rows.append(("CPU per digest's data", f"{self.digest_cpu_ms:.1f} ms", where))
        self.rows.append(("CPU per chart", f"{self.chart_cpu_ms:.1f} ms", where))
        label, fanout = pick(figures, "fanout", ALL_PREFERENCE)
        window = fanout["figures"].get("window") or next(iter(fanout["figures"].values()))
        self.prompt_cpu_ms = float(window["cpu_ms_per_prompt"])
        self.rows.append(
            (
                "CPU per prompt written and sent (one process)",
                f"{self.prompt_cpu_ms:.2f} ms",
                source("fanout", label, fanout),
            )
        )
        label, privacy = pick(figures, "privacy", ("postgresql", "sqlite"))
        self._privacy(privacy["figures"], source("privacy", label, privacy))
        for kind in ("checkin prompt", "kudos dm", "home", "digest chart", "digest stored"):
            if kind in self.outbox:
                self.rows.append(
                    (
                        f"bytes per outbox row, {kind}",
                        f"{self.outbox[kind]['mean_bytes']:,.0f}",
                        source("peak", *pick(figures, "peak", SPLIT_PREFERENCE)),
                    )
                )

    def _postgres_per_ack(self, figures: dict[str, Any]) -> float:
        """PostgreSQL's CPU per ack (the whole local server, so an upper bound), from a
        PostgreSQL run's calibration, idle taken off."""
        runs = figures.get("peak") or {}
        for label in ("postgresql x3 split", "postgresql split", "postgresql x3", "postgresql"):
            if label not in runs:
                continue
            calibration = runs[label]["figures"]["calibration"]
            idle = calibration.get("idle_cpu_s", {}).get("postgresql (whole server)", 0.0)
            per = []
            for kind in ("kudos", "checkin", "home"):
                item = calibration.get(kind)
                if item and item["acked"]:
                    spent = item["cpu_s"].get("postgresql (whole server)", 0.0) - idle
                    per.append(max(spent, 0.0) / item["acked"] * 1000)
            if per:
                value = sum(per) / len(per)
                self.rows.append(
                    (
                        "PostgreSQL CPU per ack (mean of the kinds; the whole server)",
                        f"{value:.2f} ms",
                        source("peak", label, runs[label]),
                    )
                )
                return value
        return math.nan

    def _privacy(self, figures: dict[str, Any], where: str) -> None:
        """Bytes a year of history costs per employee, outside the outbox (whose rows are
        counted from the messages below), with its text and without."""
        employees, weeks = figures["employees"], figures["weeks"]
        scale = 52 / weeks / employees
        seeded, text = figures["tables"]["seeded"], figures["tables"]["text"]
        others = [t for t in seeded if t != "outbox"]
        self.bytes_year = sum(seeded[t]["bytes"] for t in others) * scale
        # Text retention of half the weeks removed this much: a whole year's text is twice it.
        self.text_bytes_year = 2 * sum(seeded[t]["bytes"] - text[t]["bytes"] for t in others)
        self.text_bytes_year *= scale
        rows = sum(seeded[t]["rows"] for t in others) * scale
        full, kept = seeded["outbox"], text["outbox"]
        per_row = full["bytes"] / max(full["rows"], 1)
        # Half the rows were redacted: what one redacted row still takes.
        self.redacted_row = max(2 * kept["bytes"] / max(full["rows"], 1) - per_row, 0.0)
        self.rows.append(
            (
                "rows / bytes per employee and year, outside the outbox",
                f"{rows:,.0f} / {self.bytes_year / 1e3:,.1f} KB, of which text "
                f"{self.text_bytes_year / 1e3:,.1f} KB",
                where,
            )
        )
        self.rows.append(
            (
                "bytes per outbox row once its text is retained away",
                f"{self.redacted_row:.0f}",
                where,
            )
        )


def _max_rss(rss: dict[str, Any], role: str, kind: str) -> float:
    values = [v[kind] or 0 for name, v in rss.items() if name.startswith(role)]
    return max(values, default=0.0)


# ----- the tables ---------------------------------------------------------------------------


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def peak_rates(size: int) -> dict[str, float]:
    return {kind: rate * size / 10_000 for kind, rate in PEAK_PER_10K.items()}


def outbox_bytes_year(inputs: Inputs, size: int, retain_days: int | None) -> float:
    """A year of messages' outbox rows; with text retention, rows older than `retain_days`
    keep only their bookkeeping."""
    managers = size * MANAGERS_PER_EMPLOYEE
    total = 0.0
    for kinds, people in ((YEAR, size), (MANAGER_YEAR, managers)):
        for kind, per_year in kinds.items():
            if kind == "digest stored":
                continue  # the digests table, not the outbox
            mean = _mean_bytes(inputs, kind)
            rows = per_year * people
            if retain_days is None:
                total += rows * mean
            else:
                kept = min(retain_days / 365, 1)
                total += rows * (kept * mean + (1 - kept) * inputs.redacted_row)
    return total


def _mean_bytes(inputs: Inputs, kind: str) -> float:
    if kind in inputs.outbox:
        return float(inputs.outbox[kind]["mean_bytes"])
    # Kinds the peak did not send (the Submitted update, a reminder): a prompt's size.
    return float(inputs.outbox.get("checkin prompt", {"mean_bytes": 1000})["mean_bytes"])


def growth(inputs: Inputs, size: int, retain_days: int | None) -> float:
    managers = size * MANAGERS_PER_EMPLOYEE
    digests = MANAGER_YEAR["digest stored"] * managers * _mean_bytes(inputs, "digest stored")
    history = inputs.bytes_year * size
    if retain_days is not None:
        kept = min(retain_days / 365, 1)
        history -= inputs.text_bytes_year * size * (1 - kept)
        digests *= 0.5 + 0.5 * kept  # a digest keeps its names and numbers, loses its words
    return history + digests + outbox_bytes_year(inputs, size, retain_days)


def sizing(inputs: Inputs, retain_days: int) -> str:
    rows = []
    for size in SIZES:
        rates = peak_rates(size)
        cores = sum(rates[k] * inputs.ack_cpu_ms[k] for k in rates) / 1000
        alone = sum(rates[k] * inputs.all_ack_cpu_ms[k] for k in rates) / 1000
        web = max(2, math.ceil(cores / WEB_CORE_BUDGET))
        pg_cores = sum(rates.values()) * inputs.postgres_ms / 1000
        processes = web + 2
        year = growth(inputs, size, None)
        kept = growth(inputs, size, retain_days)
        memory = web * inputs.rss_peak["web"] + 2 * inputs.rss_peak["worker"]
        if alone < WEB_CORE_BUDGET:  # one process carries it all, sending and digests too
            layout = (
                f"1 `--role all` ({alone:.2f} cores); for failover {web} web + 1 worker "
                "(+1 standby)"
            )
            database = (
                f"SQLite for one process; else {_vcpus(pg_cores)} vCPU, max_connections "
                f">= {processes * POOL_PER_PROCESS + 10}"
            )
        else:
            layout = f"{web} web + 1 worker (+1 standby)"
            database = (
                f"{_vcpus(pg_cores)} vCPU ({pg_cores:.2f} cores at the peak), "
                f"max_connections >= {processes * POOL_PER_PROCESS + 10}"
            )
        rows.append(
            [
                f"{size:,}",
                f"{sum(rates.values()):.1f}/s ({cores:.2f} cores)",
                layout,
                f"{memory / 1024:.1f} GB",
                database,
                f"{year * 3 / 1e9:.1f} GB / {kept * 3 / 1e9:.1f} GB",
            ]
        )
    return table(
        [
            "employees",
            "worst-minute acks (web CPU)",
            "pulsebot processes",
            "their RSS (split)",
            "PostgreSQL",
            f"disk after 3 years (keep all / text {retain_days} d)",
        ],
        rows,
    )


def _vcpus(cores: float) -> int:
    if math.isnan(cores):
        return 2
    return max(2, 2 ** math.ceil(math.log2(max(cores / WEB_CORE_BUDGET, 1))))


def monday(inputs: Inputs, post_rates: list[float]) -> str:
    rows = []
    biggest_share = max(share for _, share in ZONES)
    for size in SIZES:
        managers = size * MANAGERS_PER_EMPLOYEE
        in_zone, zone_managers = size * biggest_share, managers * biggest_share
        prompts = [minutes(in_zone / rate) for rate in post_rates]
        charts = zone_managers / UPLOADS_PER_SECOND
        worker_cpu = zone_managers * (inputs.digest_cpu_ms + inputs.chart_cpu_ms) / 1000
        worker_cpu += in_zone * inputs.prompt_cpu_ms / 1000
        rows.append(
            [
                f"{size:,}",
                f"{in_zone:,.0f}",
                " / ".join(prompts),
                f"{zone_managers:,.0f}",
                minutes(charts),
                f"{minutes(managers / UPLOADS_PER_SECOND)}",
                f"{worker_cpu:,.0f} s",
            ]
        )
    rates = " / ".join(f"{r:g}/s" for r in post_rates)
    return table(
        [
            "employees",
            "prompts at 09:00 in the biggest zone (30 %)",
            f"their fan-out at {rates}",
            "digests there",
            "their charts at 50/min",
            "every zone's digests",
            "worker CPU for that zone",
        ],
        rows,
    )


def database(inputs: Inputs, retain_days: int) -> str:
    rows = []
    for size in SIZES:
        full = growth(inputs, size, None)
        kept = growth(inputs, size, retain_days)
        outbox = outbox_bytes_year(inputs, size, None)
        rows.append(
            [
                f"{size:,}",
                f"{full / 1e9:.2f} GB",
                f"{outbox / full:.0%}",
                f"{kept / 1e9:.2f} GB",
            ]
        )
    return table(
        [
            "employees",
            "a year, everything kept",
            "of which outbox copies",
            f"a year, PULSEBOT_RETAIN_TEXT_DAYS={retain_days}",
        ],
        rows,
    )


def breaks(inputs: Inputs, post_rates: list[float]) -> str:
    """Each limit, and the size from which the worst minute (or Monday) exceeds it."""
    per_person = {k: v / 10_000 for k, v in PEAK_PER_10K.items()}
    dms = sum(per_person[k] * DMS_PER_ACK[k] for k in per_person)
    homes = per_person["home"]
    core = sum(per_person[k] * inputs.ack_cpu_ms[k] for k in per_person) / 1000
    biggest = max(share for _, share in ZONES)
    found = [
        (
            VIEWS_PUBLISH_PER_SECOND / homes,
            "App Home: views.publish is Tier 4 (100/min)",
            "opens queue; a tab shows its last view until its turn",
        ),
    ]
    for rate in post_rates:
        found.append(
            (
                rate / dms,
                f"interactive DMs at {rate:g}/s (chat.postMessage for the workspace)",
                "kudos and answer DMs queue behind each other: later than 10 s",
            )
        )
        found.append(
            (
                60 * rate / biggest,
                f"prompts within a minute of 09:00 at {rate:g}/s",
                "the fan-out spreads over minutes (see the spread below)",
            )
        )
    found.append(
        (
            3600 * UPLOADS_PER_SECOND / (MANAGERS_PER_EMPLOYEE * biggest),
            "digests within an hour of 09:00 (charts at 50/min)",
            "the last managers of the biggest zone get theirs after 10:00",
        )
    )
    found.append(
        (
            WEB_CORE_BUDGET / core if core else math.inf,
            "one web process under half a core at the worst minute",
            "add web replicas (they share nothing but the database)",
        )
    )
    rows = [[f"{size:,.0f}", limit, effect] for size, limit, effect in sorted(found) if size > 0]
    return table(["from about (employees)", "what is exceeded", "what people see"], rows)


def spread(post_rate: float, size: int = 100_000) -> str:
    """Every zone's members prompted at 09:00 local, one queue at the workspace's pace:
    when each zone's first and last prompt leave, in local time."""
    due = sorted(
        (datetime.combine(MONDAY, time(9), ZoneInfo(zone)).astimezone(UTC), zone, share)
        for zone, share in ZONES
    )
    free = due[0][0]
    rows = []
    for at, zone, share in due:
        count = size * share
        first = max(at, free)
        last = first + timedelta(seconds=(count - 1) / post_rate)
        free = last + timedelta(seconds=1 / post_rate)
        local = ZoneInfo(zone)
        rows.append(
            [
                zone,
                f"{count:,.0f}",
                f"{at:%H:%M}",
                f"{first.astimezone(local):%H:%M}",
                f"{last.astimezone(local):%H:%M}",
                minutes((last - at).total_seconds()),
            ]
        )
    return table(
        [
            "zone",
            "members",
            "09:00 local, in UTC",
            "first prompt (local)",
            "last prompt (local)",
            "the last member waits",
        ],
        rows,
    )


def peaks(figures: dict[str, Any]) -> str:
    """bench/peak.py's runs side by side: acks at rest and at the peak, DMs, the drain."""
    rows = []
    for label, run in sorted((figures.get("peak") or {}).items()):
        f = run["figures"]
        name = source("peak", label, run)
        acks = ", ".join(
            f"{kind} {f['ack_ms']['rest'][kind]['ms'][2]:.0f} -> "
            f"{f['ack_ms']['peak'][kind]['ms'][2]:.0f}"
            for kind in ("kudos", "checkin", "home")
        )
        dm = max(
            (v["max_s"] for w in f["dm_s"].values() for v in w.values() if v["max_s"] is not None),
            default=math.nan,
        )
        bulk = f["bulk"]
        passed = sum(1 for ok in f["goals"].values() if ok)
        rows.append(
            [
                name,
                f"{f['sizes']['employees']:,} / {f['sizes']['managers']:,}",
                " / ".join(f"{f['rates'][k]:g}" for k in ("kudos", "checkin", "home")),
                acks,
                f"{dm:.1f} s",
                f"{bulk['rows']:,} rows, {bulk['drain_s']} s, {bulk['ratio_n1']:.2f}x",
                f"{passed} of {len(f['goals'])}",
            ]
        )
    return table(
        [
            "run",
            "people / managers",
            "kudos / answers / App Home a second",
            "ack p99 ms, at rest -> at the peak",
            "slowest DM",
            "bulk: rows, drain, against its floor",
            "goals met",
        ],
        rows,
    )


def render(inputs: Inputs, post_rates: list[float], retain_days: int) -> str:
    measured = table(["figure", "value", "run"], [list(r) for r in inputs.rows])
    peak = peaks(load())
    parts = [
        "### The Monday peak, measured (bench/peak.py)\n\n" + peak,
        "### Measured inputs\n\n" + measured + "\n\n" + runs(),
        "### Sizes\n\n" + sizing(inputs, retain_days),
        "### A Monday per workspace, at Slack's pace\n\n" + monday(inputs, post_rates),
        "### Database growth per year\n\n" + database(inputs, retain_days),
        "### What breaks first\n\n" + breaks(inputs, post_rates),
    ]
    for rate in post_rates:
        parts.append(f"### 100,000 people's Monday prompts at {rate:g}/s\n\n" + spread(rate))
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--post-rate", type=float, nargs="+", default=[5.0, 10.0])
    parser.add_argument("--retain-text-days", type=int, default=90)
    parser.add_argument("--write", action="store_true", help="update docs/capacity.md")
    args = parser.parse_args()
    text = render(Inputs(load()), args.post_rate, args.retain_text_days)
    if not args.write:
        print(text)
        return
    doc = DOC.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(doc):
        raise SystemExit(f"{DOC} has no {BEGIN} ... {END} markers")
    DOC.write_text(pattern.sub(lambda _: f"{BEGIN}\n\n{text}\n\n{END}", doc))
    print(f"{DOC.relative_to(ROOT)} updated")


if __name__ == "__main__":
    main()
