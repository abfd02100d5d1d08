"""What every verb shares: settings loaded into one-line errors, sessions, `--at`, the
workspace to act on, e-mail lookups, and waiting for the outbox to deliver what a verb wrote.

Verbs that need no Slack (`checkins list`, `db upgrade`, ...) never read a token: only the
helpers that really call Slack ask for the full settings, and only when they are used.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy.orm import Session, sessionmaker

from bot.app import make_web_client
from bot.clock import utc_now
from bot.delivery.sender import SENDER_TIMEOUT, TOKEN_REFUSED, OutboxSender
from bot.deps import Deps
from bot.runtime import builders
from bot.services import workspace
from bot.services.directory import UserRecord, record_from_slack, store_users
from bot.settings import (
    WHERE_TO_GET,
    DatabaseSettings,
    Settings,
    describe_problem,
    get_database_settings,
    get_settings,
)
from storage import checkins as checkin_store
from storage import directory as directory_store
from storage import outbox as outbox_store
from storage.engine import make_engine, make_session_factory, unit_of_work

EXIT_CONFIG = 2
LOOKUP_TIMEOUT = 10  # seconds per users.lookupByEmail / auth.test

SettingsLoader = Callable[[], Settings]
S = TypeVar("S")


class ConfigError(Exception):
    """A setting is missing or wrong: one line for the operator, exit code 2."""


def settings_from(read: Callable[[], S]) -> S:
    """Settings as `read` builds them from the environment; a bad or missing value is a
    ConfigError whose one line says which and where to fix it (exit 2)."""
    try:
        return read()
    except ValidationError as error:
        raise ConfigError(describe_problem(error)) from None


def load_settings() -> Settings:
    return settings_from(get_settings)


def load_database_settings() -> DatabaseSettings:
    return settings_from(get_database_settings)


def describe_missing(name: str) -> str:
    return (
        f"{name} is not set. Get it from {WHERE_TO_GET[name]}, then put it in the environment "
        "or .env."
    )


def team_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--team",
        metavar="TEAM_ID",
        help="workspace id (T...); needed only when the database knows several workspaces or none",
    )


def at_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--at", metavar="ISO8601", help="the instant (default now; no offset means UTC)"
    )


@contextmanager
def sessions(db: DatabaseSettings) -> Iterator[sessionmaker[Session]]:
    """A small engine for one command, disposed when the command ends."""
    engine = make_engine(db.database_url, pool_size=2)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


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


def resolve_team(
    args: argparse.Namespace, factory: sessionmaker[Session], slack: SettingsLoader
) -> str:
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
            # A command is off the request path, so a blocking Retry-After sleep is fine here.
            client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=5))
            self._client = client
        return self._client


def progress_bar(what: str) -> Progress:
    """A bar on a terminal; nothing at all when stderr is a pipe or a file (cron, CI logs)."""
    return Progress(
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not sys.stderr.isatty(),
        transient=True,
    )


def deliver(
    settings: Settings,
    factory: sessionmaker[Session],
    watched: set[int],
    before: int,
    timeout: float | None = None,
) -> int:
    """Take part in sending until the watched rows are settled; the exit code of a verb that
    wrote the rows after id `before` (1 if one of them failed for good, on timeout, or when
    they wait because the workspace's sending is stopped: the app uninstalled, say)."""
    own = {row_id for row_id in watched if row_id > before}
    client = make_web_client(settings, timeout=SENDER_TIMEOUT)
    _resume_if_token_works(client, factory)
    sender = OutboxSender(
        session_factory=factory,
        client=client,
        clock=utc_now,
        post_rate=settings.post_rate,
        builders=builders(Deps(settings=settings, session_factory=factory)),
    )
    timeout = timeout or max(60.0, len(watched) / settings.post_rate * 2 + 60)
    settled, held = _settle(sender, factory, watched, timeout)
    with unit_of_work(factory) as session:
        statuses = outbox_store.statuses_of(session, own)
    failed = sum(1 for status in statuses.values() if status == outbox_store.FAILED)
    if held:
        for stop in held:
            print(
                f"Sending to {stop.team_id} is stopped ({stop.reason} since "
                f"{stop.since.isoformat(timespec='seconds')}): the rest waits, and goes out "
                "once a token works again (docs/scopes.md).",
                file=sys.stderr,
            )
        return 1
    if not settled:
        print(f"Gave up waiting after {timeout:.0f}s; the rest stays queued.", file=sys.stderr)
        return 1
    if failed > 0:
        print(f"{failed} message(s) failed for good; see the log above.", file=sys.stderr)
        return 1
    print(f"Delivered ({sender.stats.sent} sent by this process).")
    return 0


def _resume_if_token_works(client: WebClient, factory: sessionmaker[Session]) -> None:
    """A workspace stopped (uninstalled, token revoked) and a token that works now: resume it
    before sending, as a running server would."""
    with unit_of_work(factory) as session:
        stops = workspace.stops(session)
    if not stops:
        return
    try:
        team_id = str(client.auth_test().get("team_id") or "")
    except SlackApiError as error:
        if str(error.response.get("error")) not in TOKEN_REFUSED:
            print(f"auth.test failed ({error.response.get('error')})", file=sys.stderr)
        return
    except OSError:
        return
    with unit_of_work(factory) as session:
        resumed = workspace.resume(session, team_id, utc_now())
    if resumed is not None:
        print(f"The token works again in {team_id}: sending resumed ({resumed.waiting} queued).")


def _settle(
    sender: OutboxSender, factory: sessionmaker[Session], watched: set[int], timeout: float
) -> tuple[bool, list[workspace.Stop]]:
    """Send alongside any other sender until every watched row is sent, failed for good or
    cancelled, showing what is left when a person is watching. Returns whether they settled,
    and the stops that hold the rest (rows that wait for a reinstall are not waited for)."""
    if not watched:
        return True, []
    left = set(watched)
    held: list[workspace.Stop] = []
    with progress_bar("delivering") as bar:
        task = bar.add_task("delivering", total=len(watched))

        def done() -> bool:
            with unit_of_work(factory) as session:
                statuses = outbox_store.statuses_of(session, left)
                left.difference_update(
                    i for i, state in statuses.items() if state != outbox_store.PENDING
                )
                stops = workspace.stops(session) if left else []
                teams = outbox_store.teams_of(session, left) if stops else set()
            bar.update(task, completed=len(watched) - len(left))
            if stops and teams <= {stop.team_id for stop in stops}:
                held[:] = [stop for stop in stops if stop.team_id in teams]
                return True
            return not left

        return sender.settle(done, timeout), held
