"""`pulsebot run --role web|worker` end to end: real processes, the emulator, signed requests.

A web process answers Slack and sends nothing itself; a worker sends and runs the minute job
(digests, their charts, prompts) and serves no Slack request. A digest drawn in the worker
arrives with its chart, and a worker killed with -9 mid-work, then started again, loses nothing
and sends nothing twice. The worker's clock is moved to the digest's minute (years ahead), so
the minute job it runs at start finds the digests due; the web process keeps the tests' clock,
on which Slack's requests are signed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine, func, select

from bot.demo.emulator import SlackEmulator
from bot.services import templates
from storage.engine import make_session_factory, unit_of_work
from storage.models import CheckinOccurrence, Digest, OutboxMessage
from tests.digest_seed import (
    AFTER_SEND,
    CREATED,
    ISO_WEEK,
    MANAGER,
    WEEK,
    answered,
    occurrence,
    seed_team,
    template,
)
from tests.factories import TEAM, add_people, person
from tests.server import SIGNING_SECRET, ServerProcess, start_process
from tests.slack_requests import SlackRequests
from tests.timeshift.clock_shift import env_at
from tests.waiting import wait_until

DIGEST_PEOPLE = ("UANN", "UBOB", "UCAT", "UDAN", "UEVE", "UOTHER", "UX01", "UY01", "UY02", "UY03")
NEW_YORK = "America/New_York"


def env_for(database_url: str, slack: SlackEmulator, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        "DATABASE_URL": database_url,
        "PULSEBOT_KUDOS_CHANNEL": "",
        "PULSEBOT_POST_RATE": "50",
        "LOG_LEVEL": "INFO",
        **extra,
    }


def statuses(db: Engine) -> dict[str, str]:
    with db.connect() as connection:
        result = connection.execute(select(OutboxMessage.idempotency_key, OutboxMessage.status))
        return {key: status for key, status in result}


def give_kudos(url: str, giver: str, recipient: str, text: str) -> None:
    with SlackRequests(url, SIGNING_SECRET) as signed:
        response = signed.command("/kudos", f"<@{recipient}> {text}", user_id=giver)
    assert response.status_code == 200 and "Kudos sent" in response.json()["text"]


def digest_posts(slack: SlackEmulator) -> dict[str, dict]:
    """The digests' first messages that Slack accepted, by idempotency key."""
    return {
        c["metadata"]["event_payload"]["key"]: c
        for c in slack.calls("chat.postMessage")
        if c.status == 200 and c["metadata"]["event_payload"]["key"].endswith(":message")
    }


def chart_of(post: dict, slack: SlackEmulator) -> dict:
    """The uploaded file the digest's image block shows."""
    (image,) = [b for b in post["blocks"] if b["type"] == "image"]
    return slack.file(image["slack_file"]["id"])


def test_web_answers_and_sends_nothing_a_worker_sends_and_runs_what_is_due(
    tmp_path: Path,
    database_url: str,
    db: Engine,
    slack: SlackEmulator,
    processes: list[ServerProcess],
) -> None:
    # A check-in due a few minutes ago in Berlin: a process that ran the minute job at start
    # would prompt UBEN at once.
    berlin_now = datetime.now(ZoneInfo("Europe/Berlin")) - timedelta(minutes=5)
    definition = templates.default_template(
        "UANA",
        ["UBEN"],
        weekdays=("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
        local_time=berlin_now.strftime("%H:%M"),
    )
    with unit_of_work(make_session_factory(db)) as session:
        add_people(session, datetime.now(UTC), person("UANA"), person("UBEN", tz="Europe/Berlin"))
        # Set up before that slot, and no earlier: its owner has no past week that a digest
        # would be due for (on a Monday the worker would write one beside the prompt).
        templates.apply(session, TEAM, [definition], datetime.now(UTC) - timedelta(minutes=10))
    env = env_for(database_url, slack)
    web = start_process(env, tmp_path / "web.log", "--role", "web")
    processes.append(web)
    give_kudos(web.url, "UCHO", "UBEN", "thanks for the review")

    time.sleep(2)  # what a web process would do by itself, it would have started by now
    assert set(statuses(db).values()) == {"pending"}, "the web process sent something"
    with db.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(CheckinOccurrence)) == 0
    assert not slack.calls("chat.postMessage")

    worker = start_process(env, tmp_path / "worker.log", "--role", "worker")
    processes.append(worker)
    refused = httpx.post(f"{worker.url}/slack/events", content=b"{}", timeout=5)
    assert refused.status_code == 404 and "--role web" in refused.text

    # The worker's minute job runs at start: the prompt is written and sent with the kudos.
    wait_until(lambda: len(slack.posted_keys()) == 2, 15, "the kudos DM and the prompt sent")
    keys = statuses(db)
    assert set(keys.values()) == {"sent"}
    assert slack.posted_keys() == dict.fromkeys(keys, 1)
    assert any(k.endswith(":prompt") for k in keys) and any(k.startswith("kudos:") for k in keys)
    assert "pulsebot web (no sending, no scheduled jobs) listening" in web.log()
    assert "pulsebot worker" in worker.log()


def test_app_home_opened_on_a_web_process_is_built_and_published_by_the_worker(
    tmp_path: Path,
    database_url: str,
    db: Engine,
    slack: SlackEmulator,
    processes: list[ServerProcess],
) -> None:
    """The web process writes what to publish and builds nothing; the worker's sender builds
    the view as the call leaves, with what the database says then (a kudos given after the
    tab was opened shows in it)."""
    env = env_for(database_url, slack)
    web = start_process(env, tmp_path / "web.log", "--role", "web")
    processes.append(web)
    opened = {"type": "app_home_opened", "user": "UBEN", "channel": "DUBEN", "tab": "home"}
    with SlackRequests(web.url, SIGNING_SECRET) as signed:
        assert signed.event(opened, event_id="Ev0HOMEWEB").status_code == 200
    with db.connect() as connection:
        (payload,) = connection.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.method == "views.publish")
        )
    assert payload == {"user_id": "UBEN", "$build": "home"}
    give_kudos(web.url, "UCHO", "UBEN", "thanks for the review")

    processes.append(start_process(env, tmp_path / "worker.log", "--role", "worker"))
    wait_until(lambda: slack.home_view("UBEN") is not None, 15, "UBEN's App Home published")
    home = slack.home_view("UBEN")
    assert home is not None and "Received: *1*" in str(home["blocks"])
    wait_until(lambda: set(statuses(db).values()) == {"sent"}, 15, "every row sent")


def test_a_digest_drawn_in_the_worker_arrives_with_its_chart(
    tmp_path: Path,
    database_url: str,
    db: Engine,
    slack: SlackEmulator,
    processes: list[ServerProcess],
) -> None:
    slack.add_user(MANAGER, tz=NEW_YORK)
    for user_id in DIGEST_PEOPLE:
        slack.add_user(user_id, tz="Europe/Berlin")
    with unit_of_work(make_session_factory(db)) as session:
        seed_team(session)
    env = env_for(database_url, slack)
    processes.append(start_process(env, tmp_path / "web.log", "--role", "web"))
    worker_env = {**env, **env_at(AFTER_SEND)}
    processes.append(start_process(worker_env, tmp_path / "worker.log", "--role", "worker"))

    key = f"digest:{MANAGER}:{ISO_WEEK}:message"
    wait_until(lambda: key in digest_posts(slack), 30, "the manager's digest")
    chart = chart_of(digest_posts(slack)[key], slack)
    assert chart["completed"] and chart["channels"] == []  # private, shown by file id
    assert chart["content"][:8] == b"\x89PNG\r\n\x1a\n"
    dm = next(m for m in slack.messages(MANAGER) if m["metadata"]["event_payload"]["key"] == key)
    assert dm["text"].startswith("Week of 3–9 Mar: 3 of 4 people answered")
    with db.connect() as connection:
        weeks = connection.scalars(select(Digest.iso_week).where(Digest.manager_id == MANAGER))
        assert weeks.all() == [ISO_WEEK]


def seed_teams(db: Engine, managers: list[str], members: dict[str, list[str]]) -> None:
    """Teams in New York with two answered weeks (a chart each), and a check-in due at the
    digest's minute, Monday 09:00 there, for every member."""
    with unit_of_work(make_session_factory(db)) as session:
        everyone = [*managers, *(m for team in members.values() for m in team)]
        add_people(session, CREATED, *(person(u, tz=NEW_YORK) for u in everyone))
        for manager in managers:
            weekly = template(session, manager, "Weekly", members[manager])
            for back, week in enumerate((WEEK - timedelta(weeks=1), WEEK)):
                for member in members[manager]:
                    occurrence(session, weekly, member, week, "answered", answered(3 + back))
        monday = templates.default_template(
            managers[0], everyone[len(managers) :], weekdays=("mon",), local_time="09:00"
        )
        templates.apply(session, TEAM, [monday], CREATED)


@pytest.fixture
def worker_clock() -> dict[str, str]:
    """The workers' environment: their clock reads the digest's minute."""
    return env_at(AFTER_SEND)


@pytest.fixture
def slack_on_the_workers_clock(worker_clock: dict[str, str]) -> Iterator[SlackEmulator]:
    """A Slack whose messages are dated on the workers' clock, as Slack's and ours agree in
    production: after a kill -9 the sender looks for a post whose answer was lost among the
    messages since just before its attempt, by their `ts`."""
    ahead = (AFTER_SEND - datetime.now(UTC)).total_seconds()
    with SlackEmulator(clock=lambda: time.time() + ahead) as emulator:
        for user_id in ("UANA", "UBEN"):
            emulator.add_user(user_id, tz=NEW_YORK)
        yield emulator


def test_a_worker_killed_mid_work_and_restarted_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path,
    database_url: str,
    db: Engine,
    worker_clock: dict[str, str],
    slack_on_the_workers_clock: SlackEmulator,
    processes: list[ServerProcess],
) -> None:
    slack = slack_on_the_workers_clock
    managers = [f"UMG{i}" for i in range(6)]
    members = {m: [f"UMB{i}{j}" for j in range(3)] for i, m in enumerate(managers)}
    everyone = [*managers, *(u for team in members.values() for u in team)]
    for user_id in everyone:
        slack.add_user(user_id, tz=NEW_YORK)
    seed_teams(db, managers, members)
    env = env_for(database_url, slack)
    web = start_process(env, tmp_path / "web.log", "--role", "web")
    processes.append(web)
    worker_env = {**env, **worker_clock}

    def start_worker(name: str) -> ServerProcess:
        started = start_process(worker_env, tmp_path / f"{name}.log", "--role", "worker")
        processes.append(started)
        return started

    def written() -> int:
        with db.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(Digest)) or 0)

    # Killed while its minute job writes: as soon as the first digest is in the database.
    first = start_worker("worker-1")
    wait_until(lambda: written() >= 1, 30, "the first digest written")
    first.kill_hard()
    # Slack's requests keep being answered while no worker runs; what they write waits.
    give_kudos(web.url, "UANA", "UBEN", "thanks for covering")

    # Killed again while it sends (and, on a slow machine, still draws): two digests posted.
    second = start_worker("worker-2")
    wait_until(lambda: len(digest_posts(slack)) >= 2, 60, "two digests posted")
    second.kill_hard()
    assert len(digest_posts(slack)) < len(managers)

    start_worker("worker-3")

    def everything_sent() -> bool:
        return written() == len(managers) and set(statuses(db).values()) == {"sent"}

    wait_until(everything_sent, 90, "everything due sent after the restart")
    keys = statuses(db)
    # Each message is in Slack once (a post Slack refused while its chart was still
    # processing, then retried, is one message).
    posted = keys.keys() - {k for k in keys if k.endswith(":chart")}  # files carry no key
    assert slack.delivered_keys(*everyone, "UBEN") == dict.fromkeys(posted, 1)
    assert len([k for k in keys if k.endswith(":prompt")]) == len(everyone) - len(managers)
    assert len([k for k in keys if k.startswith("kudos:")]) == 1
    posts = digest_posts(slack)
    assert {k.split(":")[1] for k in posts} == set(managers)
    for post in posts.values():
        assert chart_of(post, slack)["completed"]
    with db.connect() as connection:
        weeks = Counter(connection.scalars(select(Digest.manager_id)))
    assert weeks == Counter(dict.fromkeys(managers, 1))
