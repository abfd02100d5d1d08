"""`pulsebot privacy export | forget | log | retain` and `pulsebot export`: data rights.

- `privacy export USER_ID --out DIR`: everything held about one person, one JSON file and a
  CSV per kind, for an access or portability request.
- `privacy forget USER_ID [--yes]`: without --yes, what an erasure would change, kind by kind
  (the erasure is run and rolled back, so the counts are exactly what --yes does); with --yes,
  the erasure in one transaction, then the tombstones it queued are delivered.
- `privacy log`: the audit of every export, erasure and retention run.
- `privacy retain`: apply PULSEBOT_RETAIN_TEXT_DAYS / PULSEBOT_RETAIN_DAYS now, as the minute
  job does once a day.
- `export DIR [--include-anonymous]`: the workspace as CSV, one file per kind, for admins.

None of them needs a Slack token (the database is enough); forget uses one, when set, to
deliver its tombstones at once. Every run that changes or hands out data is in the audit log.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from bot import logs
from bot.cli.common import (
    ConfigError,
    at_argument,
    deliver,
    load_settings,
    parse_at,
    progress_bar,
    resolve_team,
    sessions,
    settings_from,
    team_argument,
)
from bot.clock import utc_now
from bot.jobs import minute
from bot.notify import privacy as notify
from bot.services import privacy
from bot.services.retention import RetentionPolicy
from bot.settings import DataSettings, get_data_settings
from storage import outbox as outbox_store
from storage.engine import unit_of_work

LOG_LIMIT = 50


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = verbs.add_parser(
        "privacy",
        help="a person's data: export, erase; the audit log",
        description="A person's data rights: export everything pulsebot holds about them, erase "
        "them (a former colleague in what others keep), apply retention now, and read the audit "
        "log of every export, erasure and retention run.",
    )
    commands = group.add_subparsers(title="privacy commands", metavar="COMMAND", required=True)

    export_verb = commands.add_parser(
        "export",
        help="everything pulsebot holds about a person: one JSON file, a CSV per kind",
        description="Write everything pulsebot holds about one person to DIR: one JSON file and a "
        "CSV per kind, each item with its kind, time and the people it names. Never who wrote "
        "an anonymous note, nor what others did not share with them.",
    )
    export_verb.add_argument("user_id", metavar="USER_ID", help="their Slack user id (U…)")
    export_verb.add_argument(
        "--out", required=True, metavar="DIR", help="a directory (created if missing)"
    )
    team_argument(export_verb)
    export_verb.set_defaults(handler=export_person)

    forget_verb = commands.add_parser(
        "forget",
        help="erase a person: shows what would go; --yes erases it",
        description="Erase one person: without --yes, print what would be erased (counts per "
        "kind); with --yes, erase it in one transaction, cancel what was queued to them and "
        "replace the bot's channel posts that quote them.",
    )
    forget_verb.add_argument("user_id", metavar="USER_ID", help="their Slack user id (U…)")
    forget_verb.add_argument("--yes", action="store_true", help="erase (without it: show only)")
    team_argument(forget_verb)
    forget_verb.set_defaults(handler=forget)

    log_verb = commands.add_parser(
        "log",
        help="every export, erasure and retention run",
        description="Print the privacy audit: each export, erasure and retention run, who or what "
        "asked, when, and how many rows; never any content.",
    )
    log_verb.add_argument("--limit", type=int, default=LOG_LIMIT, help="latest N (default 50)")
    log_verb.add_argument("--team", metavar="TEAM_ID", help="only this workspace's")
    log_verb.set_defaults(handler=show_log)

    retain_verb = commands.add_parser(
        "retain",
        help="apply PULSEBOT_RETAIN_TEXT_DAYS / PULSEBOT_RETAIN_DAYS now",
        description="Apply the retention settings now (the minute job applies them once a day): "
        "free text older than PULSEBOT_RETAIN_TEXT_DAYS, whole rows older than "
        "PULSEBOT_RETAIN_DAYS, in small batches.",
    )
    at_argument(retain_verb)
    retain_verb.set_defaults(handler=retain)

    workspace = verbs.add_parser(
        "export",
        help="the whole workspace as CSV, one file per kind",
        description="Write the workspace's data to DIR as CSV, one file per kind, for admins. "
        "Anonymous notes are left out unless --include-anonymous (then only released ones, "
        "never with an author or a week).",
    )
    workspace.add_argument("out", metavar="DIR", help="a directory (created if missing)")
    workspace.add_argument(
        "--include-anonymous",
        action="store_true",
        help="add anonymous notes a digest released (their text; never an author or a week)",
    )
    team_argument(workspace)
    workspace.set_defaults(handler=export_workspace)


# ----- privacy export --------------------------------------------------------------------------


def export_person(args: argparse.Namespace) -> int:
    settings = _data_settings()
    user_id = _user_id(args.user_id)
    out = Path(args.out)
    with sessions(settings) as factory:
        team_id = resolve_team(args, factory, load_settings)
        now = utc_now()
        with unit_of_work(factory) as session:
            try:
                export = privacy.export_person(session, team_id, user_id, now)
            except privacy.UnknownPerson:
                raise ConfigError(_unknown(user_id, team_id)) from None
        tables = export.tables()
        files = {out / f"pulsebot-{user_id}.json": None} | {
            out / f"pulsebot-{user_id}-{kind}.csv": kind for kind in tables
        }
        _check_out(out, files)
        with progress_bar("writing") as bar:
            task = bar.add_task("writing", total=len(files))
            for path, kind in files.items():
                if kind is None:
                    path.write_bytes(export.to_bytes())
                else:
                    columns, rows = tables[kind]
                    _write_csv(path, columns, rows)
                bar.advance(task)
        with unit_of_work(factory) as session:
            privacy.record(
                session,
                action="export",
                actor=_actor(),
                now=now,
                counts=export.counts(),
                team_id=team_id,
                subject_id=user_id,
            )
    counts = export.counts()
    print(f"Exported {user_id} ({sum(counts.values())} items) to {out}/:")
    for path in files:
        print(f"  {path.name}")
    for kind, number in counts.items():
        print(f"  {number:6d}  {kind}")
    return 0


# ----- privacy forget --------------------------------------------------------------------------


class _Rehearsal(Exception):
    """Leaves the unit of work by rolling back, carrying what the erasure would have done."""

    def __init__(self, counts: dict[str, int], name: str | None) -> None:
        super().__init__("rehearsal")
        self.counts = counts
        self.name = name


def forget(args: argparse.Namespace) -> int:
    settings = _data_settings()
    logs.configure(settings.log_level, settings.log_format)
    user_id = _user_id(args.user_id)
    with sessions(settings) as factory:
        team_id = resolve_team(args, factory, load_settings)
        now = utc_now()
        with unit_of_work(factory) as session:
            before = outbox_store.last_id(session)
        try:
            counts, name = _erase(factory, team_id, user_id, now, really=args.yes)
        except privacy.UnknownPerson:
            raise ConfigError(_unknown(user_id, team_id)) from None
        except _Rehearsal as rehearsal:
            counts, name = rehearsal.counts, rehearsal.name
        who = f"{user_id}{f' ({name})' if name else ''}"
        if user_id in settings.admins:
            print(
                f"Note: {user_id} is in PULSEBOT_ADMINS. Erasing an admin is allowed and goes "
                "like anyone else's; remove them from PULSEBOT_ADMINS yourself, or the id "
                "keeps admin rights should it use pulsebot again."
            )
        verb = "Erased" if args.yes else "Would erase"
        print(f"{verb} {who} in {team_id}:")
        for kind, number in counts.items():
            if number:
                print(f"  {number:6d}  {kind}")
        if not args.yes:
            print("Nothing was changed. Run again with --yes to erase.")
            return 0
        print(
            "Done, in one transaction. Nothing stored names them now; a second run finds "
            "nothing to erase."
        )
        if counts.get("channel posts replaced by a tombstone"):
            return _deliver_tombstones(factory, before, now)
    return 0


def _erase(
    factory: sessionmaker[Session], team_id: str, user_id: str, now: datetime, *, really: bool
) -> tuple[dict[str, int], str | None]:
    with unit_of_work(factory) as session:
        erasure = privacy.prepare(session, team_id, user_id)
        withdrawn = notify.withdraw(session, team_id, erasure, now)
        privacy.forget(session, team_id, erasure, now)
        counts = {**erasure.counts, **withdrawn}
        names = [n for n in erasure.terms.names if n]
        name = names[-1] if names else None
        if not really:
            raise _Rehearsal(counts, name)
        privacy.record(
            session,
            action="forget",
            actor=_actor(),
            now=now,
            counts={k: v for k, v in counts.items() if v},
            team_id=team_id,
        )
    return counts, name


def _deliver_tombstones(factory: sessionmaker[Session], before: int, now: datetime) -> int:
    try:
        settings = load_settings()
    except ConfigError:
        print("The tombstones are queued; a running pulsebot sends them.")
        return 0
    with unit_of_work(factory) as session:
        watched = set(outbox_store.due_ids(session, now, outbox_store.last_id(session)))
    return deliver(settings, factory, {i for i in watched if i > before}, before)


# ----- privacy log -----------------------------------------------------------------------------


def show_log(args: argparse.Namespace) -> int:
    settings = _data_settings()
    with sessions(settings) as factory, unit_of_work(factory) as session:
        entries = privacy.audit_log(session, max(1, args.limit), args.team)
    if not entries:
        print("The audit log is empty: no export, erasure or retention run yet.")
        return 0
    headers = ("when (UTC)", "what", "asked by", "workspace", "about", "counts")
    lines = [
        (
            entry.at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.action + ("" if entry.finished else " (unfinished)"),
            entry.actor,
            entry.team_id or "all",
            entry.subject or "",
            ", ".join(f"{n} {kind}" for kind, n in entry.counts.items() if n) or "nothing",
        )
        for entry in entries
    ]
    if sys.stdout.isatty():
        table = Table(*headers, title="pulsebot privacy log", show_lines=False)
        for line in lines:
            table.add_row(*line)
        Console().print(table)
    else:
        writer = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(lines)
    return 0


# ----- privacy retain --------------------------------------------------------------------------


def retain(args: argparse.Namespace) -> int:
    settings = _data_settings()
    logs.configure(settings.log_level, settings.log_format)
    policy = RetentionPolicy.from_settings(settings)
    if not policy.active:
        raise ConfigError(
            "neither PULSEBOT_RETAIN_TEXT_DAYS nor PULSEBOT_RETAIN_DAYS is set: everything is "
            "kept (see README.md, Your data)"
        )
    at = parse_at(args.at)
    with sessions(settings) as factory:
        counts = minute.apply_retention(factory, at, policy, actor=_actor(), daily=False)
    assert counts is not None
    print(f"Retention at {at.isoformat(timespec='seconds')}:")
    for kind, number in counts.items():
        print(f"  {number:8d}  {kind}")
    return 0


# ----- export (the workspace) ------------------------------------------------------------------


def export_workspace(args: argparse.Namespace) -> int:
    settings = _data_settings()
    out = Path(args.out)
    kinds = privacy.workspace_kinds(args.include_anonymous)
    with sessions(settings) as factory:
        team_id = resolve_team(args, factory, load_settings)
        files = {out / f"{kind.name}.csv": kind for kind in kinds}
        _check_out(out, files)
        now = utc_now()
        counts: dict[str, int] = {}
        with unit_of_work(factory) as session, progress_bar("exporting") as bar:
            totals = {kind.name: kind.count(session, team_id) for kind in kinds}
            task = bar.add_task("exporting", total=sum(totals.values()))
            for path, kind in files.items():
                counts[kind.name] = _write_stream(
                    path, kind.columns(), kind.rows(session, team_id), lambda: bar.advance(task)
                )
        with unit_of_work(factory) as session:
            privacy.record(
                session,
                action="workspace_export",
                actor=_actor(),
                now=now,
                counts=counts,
                team_id=team_id,
            )
    print(f"Exported workspace {team_id} to {out}/ ({len(files)} files):")
    for name, number in counts.items():
        print(f"  {number:8d}  {name}.csv")
    if not args.include_anonymous:
        print("Anonymous notes are left out; --include-anonymous adds the released ones' text.")
    return 0


# ----- shared ----------------------------------------------------------------------------------


def _data_settings() -> DataSettings:
    return settings_from(get_data_settings)


def _user_id(text: str) -> str:
    try:
        return privacy.check_user_id(text)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _unknown(user_id: str, team_id: str) -> str:
    return (
        f"nothing in this database names {user_id} in workspace {team_id}: a mistyped id, "
        "another workspace (--team), or someone already erased. Nothing was changed."
    )


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "cli"


def _check_out(out: Path, files: Iterable[Path]) -> None:
    """A directory to create or fill; never a file, never a file written before."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a directory (it is created if missing)")
    existing = [p.name for p in files if p.exists()]
    if existing:
        raise ConfigError(
            f"{out} already holds {', '.join(existing[:3])}"
            f"{' …' if len(existing) > 3 else ''}; choose another directory. Nothing was written."
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot create {out}: {error.strerror}") from None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
    return _write_stream(path, columns, rows, lambda: None)


def _write_stream(
    path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]], tick: Callable[[], Any]
) -> int:
    written = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
            written += 1
            tick()
    return written
