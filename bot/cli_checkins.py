"""The `pulsebot checkins ...` and `pulsebot org import` verbs (DESIGN.md section 5).

Kept apart from bot/cli.py so the parser stays small; bot/cli.py imports this lazily. Verbs that
need no Slack (`checkins list`, `checkins apply` by user id, `org import` by user id) never read
a token; an email that the directory cache does not know is looked up with users.lookupByEmail,
outside any database transaction, and only then is a token required.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy.orm import Session, sessionmaker

from bot import checkin_runner, logs
from bot.app import make_web_client
from bot.cli import ConfigError
from bot.clock import utc_now
from bot.delivery.sender import OutboxSender
from bot.digest_runner import DigestPolicy
from bot.services import org, templates
from bot.services.directory import UserRecord, record_from_slack, store_users
from bot.services.schedule import format_duration
from bot.settings import DatabaseSettings, Settings
from storage import checkins as checkin_store
from storage import directory as directory_store
from storage import outbox as outbox_store
from storage.engine import make_engine, make_session_factory, unit_of_work

SettingsLoader = Callable[[], Settings]
LOOKUP_TIMEOUT = 10  # seconds per users.lookupByEmail / auth.test
SENDER_TIMEOUT = 10


# ----- verbs ------------------------------------------------------------------------------------


def apply(args: argparse.Namespace, db: DatabaseSettings, slack: SettingsLoader) -> int:
    logs.configure(db.log_level, db.log_format)
    factory, dispose = _sessions(db)
    try:
        team_id = _team(args, factory, slack)
        resolver = EmailResolver(factory, team_id, slack)
        try:
            definitions = templates.load_file(args.file, resolver)
        except templates.TemplateFileError as error:
            for message in error.messages:
                print(message, file=sys.stderr)
            print(f"{args.file}: nothing was changed.", file=sys.stderr)
            return 1
        resolver.save()
        try:
            with unit_of_work(factory) as session:
                changes = templates.apply(session, team_id, definitions, utc_now())
                if args.dry_run:
                    raise _RollBack(changes)
        except _RollBack as dry:
            changes = dry.changes
        for change in changes:
            print(_describe_change(change))
        if args.dry_run:
            print("Dry run: nothing was written.")
        return 0
    finally:
        dispose()


def list_templates(args: argparse.Namespace, db: DatabaseSettings) -> int:
    logs.configure(db.log_level, db.log_format)
    factory, dispose = _sessions(db)
    try:
        with unit_of_work(factory) as session:
            infos = templates.list_templates(session, args.team)
        if not infos:
            print("No check-in templates yet. Create some with `pulsebot checkins apply FILE.yml`.")
            return 0
        for info in infos:
            print(_describe_template(info))
        return 0
    finally:
        dispose()


def run_due(args: argparse.Namespace, settings: Settings) -> int:
    """Write what is due at `--at`, then take part in sending until those rows are settled.

    It waits for the rows due at or before `--at` (its own and any older ones), not for traffic
    that arrives meanwhile nor rows scheduled later. The rows carry no not-before time, so any
    process's sender (a running server's, say) may deliver them; this one helps. Exit 1 if one
    of the rows this run wrote failed for good, or the wait timed out, so a cron job notices.
    """
    logs.configure(settings.log_level, settings.log_format)
    at = parse_at(args.at)
    factory, dispose = _sessions(settings)
    try:
        with unit_of_work(factory) as session:
            before = outbox_store.last_id(session)
        summary = checkin_runner.run_due(
            factory, at, team_id=args.team, digests=DigestPolicy.from_settings(settings)
        )
        print(f"Due at {at.isoformat()}: {summary}.")
        with unit_of_work(factory) as session:
            watched = set(outbox_store.due_ids(session, at, outbox_store.last_id(session)))
            not_started = [
                info
                for info in templates.list_templates(session, args.team)
                if info.schedule_from is not None and info.schedule_from > at
            ]
        if summary.no_checkin_work() and not_started:
            for info in not_started:
                assert info.schedule_from is not None
                print(
                    f'Nothing was due: "{info.definition.name}" starts at '
                    f"{info.schedule_from.isoformat(timespec='seconds')}, after --at; "
                    "occurrences before a check-in was created or rescheduled are never prompted."
                )
        return deliver(settings, factory, watched, before, args.timeout)
    finally:
        dispose()


def deliver(
    settings: Settings,
    factory: sessionmaker[Session],
    watched: set[int],
    before: int,
    timeout: float | None = None,
) -> int:
    """Take part in sending until the watched rows are settled; the exit code of a verb that
    wrote the rows after id `before` (1 if one of them failed for good, or on timeout)."""
    own = {row_id for row_id in watched if row_id > before}
    sender = OutboxSender(
        session_factory=factory,
        client=make_web_client(settings, timeout=SENDER_TIMEOUT),
        clock=utc_now,
        post_rate=settings.post_rate,
    )
    timeout = timeout or max(60.0, len(watched) / settings.post_rate * 2 + 60)
    settled = _settle(sender, factory, watched, timeout)
    with unit_of_work(factory) as session:
        statuses = outbox_store.statuses_of(session, own)
    failed = sum(1 for status in statuses.values() if status == outbox_store.FAILED)
    if not settled:
        print(f"Gave up waiting after {timeout:.0f}s; the rest stays queued.", file=sys.stderr)
        return 1
    if failed > 0:
        print(f"{failed} message(s) failed for good; see the log above.", file=sys.stderr)
        return 1
    print(f"Delivered ({sender.stats.sent} sent by this process).")
    return 0


def org_import(args: argparse.Namespace, db: DatabaseSettings, slack: SettingsLoader) -> int:
    logs.configure(db.log_level, db.log_format)
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"{args.file}: can't read the file ({error})", file=sys.stderr)
        return 1
    factory, dispose = _sessions(db)
    try:
        team_id = _team(args, factory, slack)
        resolver = EmailResolver(factory, team_id, slack)
        try:
            rows, errors = org.parse_csv(text, resolver)
        except org.OrgFileError as error:
            print(f"{args.file}: {error}; nothing was imported.", file=sys.stderr)
            return 1
        resolver.save()
        with unit_of_work(factory) as session:
            report = org.store_rows(session, team_id, rows, utc_now(), errors)
        for row_error in report.errors:
            print(f"{args.file}: {row_error}", file=sys.stderr)
        cleared = f", {report.cleared} manager(s) removed" if report.cleared else ""
        print(f"{report.imported} row(s) imported{cleared}; {len(report.errors)} row(s) rejected.")
        return 0 if report.ok else 1
    finally:
        dispose()


# ----- helpers ----------------------------------------------------------------------------------


class _RollBack(Exception):
    """Leaves the unit of work by rolling back (a dry run), carrying what would have changed."""

    def __init__(self, changes: list[templates.Change]) -> None:
        super().__init__("dry run")
        self.changes = changes


class EmailResolver:
    """email -> Slack user id: the directory cache first, then users.lookupByEmail (Tier 3).

    Slack is asked only for emails the cache lacks, and only then is a token needed. Users
    found that way are cached afterwards (`save`), with their time zone.
    """

    def __init__(self, factory: sessionmaker[Session], team_id: str, slack: SettingsLoader) -> None:
        self._factory = factory
        self._team_id = team_id
        self._slack = slack
        self._client: WebClient | None = None
        self.found: list[UserRecord] = []

    def __call__(self, email: str) -> str | None:
        with unit_of_work(self._factory) as session:
            row = directory_store.find_by_email(session, self._team_id, email)
            if row is not None and not row.deleted:
                return row.user_id
        try:
            response = self._web().users_lookupByEmail(email=email)
        except SlackApiError as error:
            code = str(error.response.get("error"))
            if code == "users_not_found":
                return None
            hint = " (the app needs the users:read.email scope)" if code == "missing_scope" else ""
            raise ConfigError(f"users.lookupByEmail failed: {code}{hint}") from None
        except OSError as error:
            raise ConfigError(f"Slack is unreachable for users.lookupByEmail: {error}") from None
        user = response.get("user") or {}
        if not user.get("id") or user.get("deleted"):
            return None
        self.found.append(record_from_slack(user, self._team_id))
        return str(user["id"])

    def save(self) -> None:
        if self.found:
            with unit_of_work(self._factory) as session:
                store_users(session, self._team_id, self.found, utc_now())
            self.found = []

    def _web(self) -> WebClient:
        if self._client is None:
            client = make_web_client(self._slack(), timeout=LOOKUP_TIMEOUT)
            # Off the request path a blocking Retry-After sleep is fine (DESIGN.md section 6).
            client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=5))
            self._client = client
        return self._client


def parse_at(text: str | None) -> datetime:
    """`--at` -> an aware UTC instant; no offset means UTC."""
    if not text:
        return utc_now()
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f'--at "{text}" is not an ISO 8601 instant, e.g. 2026-11-27T16:00:00+01:00'
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _sessions(db: DatabaseSettings) -> tuple[sessionmaker[Session], Callable[[], None]]:
    engine = make_engine(db.database_url, pool_size=2)
    return make_session_factory(engine), engine.dispose


def _team(args: argparse.Namespace, factory: sessionmaker[Session], slack: SettingsLoader) -> str:
    """--team, else the only workspace the database knows, else auth.test with the token."""
    if args.team:
        return str(args.team)
    with unit_of_work(factory) as session:
        teams = checkin_store.known_teams(session)
    if len(teams) == 1:
        return teams[0]
    if len(teams) > 1:
        raise ConfigError(
            f"this database knows several workspaces ({', '.join(teams)}); pass --team"
        )
    try:
        settings = slack()
    except ConfigError:
        raise ConfigError(
            "which workspace? Pass --team T... (or set SLACK_BOT_TOKEN so auth.test can tell)"
        ) from None
    try:
        team_id = make_web_client(settings, timeout=LOOKUP_TIMEOUT).auth_test().get("team_id")
    except (SlackApiError, OSError) as error:
        raise ConfigError(f"auth.test failed ({error}); pass --team T...") from None
    if not team_id:
        raise ConfigError("auth.test gave no team id; pass --team T...")
    return str(team_id)


def _settle(
    sender: OutboxSender, factory: sessionmaker[Session], watched: set[int], timeout: float
) -> bool:
    """Send alongside any other sender until every watched row is sent or failed for good,
    showing what is left when a person is watching."""
    show = sys.stderr.isatty()
    left = set(watched)

    def done() -> bool:
        with unit_of_work(factory) as session:
            statuses = outbox_store.statuses_of(session, left)
        left.difference_update(i for i, state in statuses.items() if state != outbox_store.PENDING)
        if show:
            print(f"\rdelivering... {len(left)} message(s) left   ", end="", file=sys.stderr)
        return not left

    settled = not left or sender.settle(done, timeout)
    if show:
        print("\r" + " " * 40 + "\r", end="", file=sys.stderr)
    return settled


def _describe_change(change: templates.Change) -> str:
    parts = [f'{change.action} "{change.name}" (owner {change.owner_id}, id {change.template_id})']
    if change.members_added:
        parts.append(f"added {', '.join(change.members_added)}")
    if change.members_removed:
        parts.append(f"removed {', '.join(change.members_removed)}")
    if change.managers_set:
        parts.append(f"now reporting to {change.owner_id}: {', '.join(change.managers_set)}")
    return "; ".join(parts)


def _describe_template(info: templates.TemplateInfo) -> str:
    d = info.definition
    where = ["owner DM"] if d.post_to_manager else []
    if d.channel_id:
        where.append(f"#{d.channel_id} thread")
    remind = f"remind {format_duration(d.remind_after)}, " if d.remind_after else ""
    state = "" if d.active else " [inactive]"
    return (
        f'[{info.id}] {info.team_id} "{d.name}" owner {d.owner_id}: '
        f"{','.join(d.weekdays)} {d.local_time} (members' zones), {len(d.member_ids)} member(s), "
        f"{len(d.questions)} question(s), {remind}close {format_duration(d.close_after)}, "
        f"answers to {' + '.join(where)}{state}"
    )
