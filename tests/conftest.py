"""Shared fixtures: databases, settings, the Slack emulator and the real server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.demo.emulator import SlackEmulator
from storage.engine import make_engine, make_session_factory
from tests.databases import fresh_database
from tests.server import (
    KUDOS_CHANNEL,
    SIGNING_SECRET,
    RunningServer,
    ServerProcess,
    running_server,
    server_settings,
)
from tests.slack_requests import SlackRequests
from tests.timeshift.clock_shift import export_to_children, shift_days, start_shift


def pytest_configure(config: pytest.Config) -> None:
    """With TESTS_TIME_SHIFT_DAYS, this run (and every process it starts) lives years ahead."""
    start_shift()
    export_to_children()


def pytest_report_header(config: pytest.Config) -> str | None:
    days = shift_days()
    return f"wall clock moved {days:g} days ahead (TESTS_TIME_SHIFT_DAYS)" if days else None


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database of this test's own (needed when a server thread or process shares it)."""
    with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=5)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    """The test's own view of a database that server processes share."""
    engine = make_engine(database_url, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def processes() -> Iterator[list[ServerProcess]]:
    """Every `pulsebot run` process a test starts is stopped, whatever happens."""
    started: list[ServerProcess] = []
    yield started
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def shared_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with fresh_database(tmp_path_factory.mktemp("shared")) as url:
        engine = make_engine(url, pool_size=2)
        yield engine
        engine.dispose()


@pytest.fixture
def session(shared_engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back: unit tests leave nothing behind."""
    with shared_engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()


@pytest.fixture
def now() -> datetime:
    return datetime(2037, 11, 25, 15, 0, tzinfo=UTC)


# ----- Slack emulator and the real server ---------------------------------------------------

WORKSPACE = [
    # (user id, tz, extra add_user arguments)
    ("UANA", "America/New_York", {}),
    ("UBEN", "Europe/Berlin", {}),
    ("UCHO", "Asia/Tokyo", {}),
    ("UDEV", "America/Los_Angeles", {"is_restricted": True}),
    ("UGONE", "America/New_York", {"deleted": True}),
    ("UROBOT", None, {"is_bot": True}),
    ("UEXT", "Europe/London", {"team_id": "T0OTHER"}),
]


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        for user_id, tz, extra in WORKSPACE:
            emulator.add_user(user_id, tz=tz, **extra)
        emulator.add_channel(KUDOS_CHANNEL, "kudos", bot_is_member=False)
        yield emulator


@pytest.fixture
def server(database_url: str, slack: SlackEmulator) -> Iterator[RunningServer]:
    settings = server_settings(database_url, slack.url, slack.bot_token)
    with running_server(settings) as running:
        yield running


@pytest.fixture
def signed(server: RunningServer) -> Iterator[SlackRequests]:
    requests = SlackRequests(server.url, SIGNING_SECRET)
    yield requests
    requests.close()


@pytest.fixture(autouse=True)
def _no_misnamed_listener_arguments(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Bolt passes None for a listener parameter it does not know, and only logs it."""
    yield
    bad = [r.getMessage() for r in caplog.records if "is not a valid argument" in r.getMessage()]
    assert not bad, bad
