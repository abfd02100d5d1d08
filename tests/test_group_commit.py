"""Group commit (storage.engine.GroupCommit): the listeners' units of work share a transaction.

Each caller returns only after its own unit committed; a unit that fails is neither stored nor
allowed to take the others down; a failed commit stores nothing and says so to every caller;
the kudos budget still holds across units committed together.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.services import kudos
from storage.engine import GroupCommit, unit_of_work
from storage.events import first_time_seen
from storage.models import Kudos, KudosBudget, OutboxMessage, ProcessedEvent
from storage.outbox import enqueue_many
from tests.databases import is_postgres
from tests.factories import TEAM, add_people, person

POLICY = kudos.KudosPolicy(daily_limit=5, values=["teamwork"])


def stored_events(engine: Engine) -> set[str]:
    """Read through a connection of its own: what another process would see."""
    with engine.connect() as connection:
        return set(connection.execute(select(ProcessedEvent.event_id)).scalars())


def in_one_batch(
    group: GroupCommit, works: list[Callable[[Session], Any]]
) -> list[tuple[str, Any]]:
    """Run `works` from as many threads, queued behind a first unit that waits until all of
    them are waiting, so the writer takes them as one batch. Returns ("ok", result) or
    ("error", exception) per work, in order."""
    outcomes: list[tuple[str, Any]] = [("pending", None)] * len(works)
    running, queued = threading.Event(), threading.Event()

    def gate(_: Session) -> None:
        running.set()
        queued.wait(10)

    def call(i: int) -> None:
        try:
            outcomes[i] = ("ok", group.run(works[i]))
        except Exception as error:
            outcomes[i] = ("error", error)

    opener = threading.Thread(target=group.run, args=(gate,))
    opener.start()
    assert running.wait(10)  # the writer is busy with the gate: the others will queue
    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(works))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(group._queue) < len(works) and time.monotonic() < deadline:
        time.sleep(0.005)
    queued.set()
    for thread in [opener, *threads]:
        thread.join(timeout=30)
    return outcomes


def insert_event(event_id: str, now: datetime) -> Callable[[Session], str]:
    def work(session: Session) -> str:
        first_time_seen(session, TEAM, event_id, now)
        return event_id

    return work


@pytest.mark.parametrize("writers", [1, 4])
def test_each_caller_returns_after_its_own_commit(
    engine: Engine, session_factory: sessionmaker[Session], now: datetime, writers: int
) -> None:
    group = GroupCommit(session_factory, writers=writers)
    seen_on_return: dict[str, bool] = {}
    lock = threading.Lock()

    def caller(i: int) -> None:
        event_id = group.run(insert_event(f"E{i}", now))
        visible = event_id in stored_events(engine)  # committed, not merely written
        with lock:
            seen_on_return[event_id] = visible

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert seen_on_return == {f"E{i}": True for i in range(24)}
    assert group.batches <= 24


def test_units_waiting_together_share_one_commit(
    engine: Engine, session_factory: sessionmaker[Session], now: datetime
) -> None:
    group = GroupCommit(session_factory, writers=1)
    outcomes = in_one_batch(group, [insert_event(f"E{i}", now) for i in range(8)])
    assert outcomes == [("ok", f"E{i}") for i in range(8)]
    assert group.batches == 2  # the gate's own batch, then the eight together
    assert stored_events(engine) == {f"E{i}" for i in range(8)}


def test_a_failing_unit_is_not_stored_and_the_others_are(
    engine: Engine, session_factory: sessionmaker[Session], now: datetime
) -> None:
    group = GroupCommit(session_factory, writers=1)
    runs: dict[str, int] = {}

    def failing(session: Session) -> str:
        first_time_seen(session, TEAM, "BAD", now)  # written, then the unit fails
        raise ValueError("the listener broke")

    def counted(event_id: str) -> Callable[[Session], str]:
        def work(session: Session) -> str:
            runs[event_id] = runs.get(event_id, 0) + 1
            return insert_event(event_id, now)(session)

        return work

    works = [counted("E0"), counted("E1"), failing, counted("E3"), counted("E4")]
    outcomes = in_one_batch(group, works)
    assert [kind for kind, _ in outcomes] == ["ok", "ok", "error", "ok", "ok"]
    assert isinstance(outcomes[2][1], ValueError)
    assert stored_events(engine) == {"E0", "E1", "E3", "E4"}
    # Units run before the failure ran again in the batch that committed; none was lost.
    assert set(runs) == {"E0", "E1", "E3", "E4"}
    assert set(runs.values()) <= {1, 2}


def test_a_failed_commit_stores_nothing_and_tells_every_caller(
    engine: Engine, session_factory: sessionmaker[Session], now: datetime
) -> None:
    group = GroupCommit(session_factory, writers=1)
    failures = {"left": 0}

    @event.listens_for(session_factory, "before_commit")
    def refuse(session: Session) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("the database went away at commit")

    def arm(_: Session) -> None:
        failures["left"] = 1  # the commit of this very batch fails

    # in_one_batch's gate commits on its own first; then the batch of three, whose commit
    # `arm` makes fail.
    works = [insert_event("E0", now), arm, insert_event("E2", now)]
    outcomes = in_one_batch(group, works)
    assert [kind for kind, _ in outcomes] == ["error", "error", "error"]
    assert all("went away" in str(error) for _, error in outcomes)
    assert stored_events(engine) == set()
    assert group.run(insert_event("E9", now)) == "E9"  # the writer carries on
    assert stored_events(engine) == {"E9"}


@pytest.fixture
def people(session_factory: sessionmaker[Session], now: datetime) -> None:
    with unit_of_work(session_factory) as session:
        add_people(session, now, person("UANA"), *(person(f"UP{i}") for i in range(12)))


def give_work(i: int, now: datetime, key: str | None = None) -> Callable[[Session], Any]:
    def work(session: Session) -> Any:
        try:
            return kudos.give(
                session,
                team_id=TEAM,
                draft=kudos.parse_command(f"<@UP{i}> thanks", "UANA", POLICY.values),
                policy=POLICY,
                source="command",
                request_key=key or f"race-{i}",
                now=now,
            )
        except kudos.KudosRefused as refused:
            return refused

    return work


def count(session_factory: sessionmaker[Session], model: Any) -> int:
    with unit_of_work(session_factory) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.usefixtures("people")
def test_ten_kudos_committed_together_grant_exactly_the_budget(
    session_factory: sessionmaker[Session], now: datetime
) -> None:
    group = GroupCommit(session_factory, writers=1)
    outcomes = in_one_batch(group, [give_work(i, now) for i in range(10)])
    results = [result for _, result in outcomes]
    granted = [r for r in results if isinstance(r, kudos.KudosGiven)]
    refused = [r for r in results if isinstance(r, kudos.KudosRefused)]
    assert (len(granted), len(refused)) == (5, 5)
    assert count(session_factory, Kudos) == 5
    with unit_of_work(session_factory) as session:
        assert session.scalar(select(KudosBudget.spent)) == 5


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize("writers", [1, 4])
def test_ten_kudos_from_ten_threads_through_the_writers_grant_exactly_the_budget(
    session_factory: sessionmaker[Session], now: datetime, writers: int
) -> None:
    group = GroupCommit(session_factory, writers=writers)
    barrier = threading.Barrier(10)
    results: list[Any] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        barrier.wait()
        result = group.run(give_work(i, now))
        with lock:
            results.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(isinstance(r, kudos.KudosGiven) for r in results) == 5
    assert sum(isinstance(r, kudos.KudosRefused) for r in results) == 5
    assert count(session_factory, Kudos) == 5


@pytest.mark.usefixtures("people")
def test_a_request_replayed_within_one_batch_is_stored_and_spent_once(
    session_factory: sessionmaker[Session], now: datetime
) -> None:
    group = GroupCommit(session_factory, writers=1)
    outcomes = in_one_batch(group, [give_work(1, now, "same"), give_work(1, now, "same")])
    first, second = (result for _, result in outcomes)
    assert not first.replayed and second.replayed
    assert second.kudos_id == first.kudos_id
    assert count(session_factory, Kudos) == 1
    with unit_of_work(session_factory) as session:
        assert session.scalar(select(KudosBudget.spent)) == 1


# ----- writes held for the pipeline (storage.fast_path.DriverCursor.write) ----------------------


def outbox_keys(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(select(OutboxMessage.idempotency_key)).scalars())


def enqueue(session: Session, now: datetime, *keys: str) -> None:
    enqueue_many(
        session,
        team_id=TEAM,
        rows=[(key, "chat.postMessage", {"channel": "C1", "text": key}) for key in keys],
        now=now,
    )


def test_a_held_write_reaches_the_commit_and_any_later_statement(
    engine: Engine, session_factory: sessionmaker[Session], now: datetime
) -> None:
    with unit_of_work(session_factory) as session:
        enqueue(session, now, "last-in-the-transaction")
    with unit_of_work(session_factory) as session:
        enqueue(session, now, "read-back")
        # A SQLAlchemy statement after it sees it: held writes leave first.
        assert session.scalar(
            select(func.count()).where(OutboxMessage.idempotency_key == "read-back")
        )
    assert outbox_keys(engine) == {"last-in-the-transaction", "read-back"}


def test_a_held_write_is_dropped_with_its_rollback(
    engine: Engine, session_factory: sessionmaker[Session], now: datetime
) -> None:
    with pytest.raises(RuntimeError), unit_of_work(session_factory) as session:
        enqueue(session, now, "rolled-back")
        raise RuntimeError("the listener broke")
    with unit_of_work(session_factory) as session:
        enqueue(session, now, "next")
    assert outbox_keys(engine) == {"next"}


@pytest.mark.skipif(not is_postgres(), reason="SQLite does not enforce VARCHAR lengths")
def test_a_held_write_that_fails_fails_its_own_unit_only(
    engine: Engine, session_factory: sessionmaker[Session], now: datetime
) -> None:
    group = GroupCommit(session_factory, writers=1)

    def good(key: str) -> Callable[[Session], str]:
        def work(session: Session) -> str:
            enqueue(session, now, key)
            first_time_seen(session, TEAM, key, now)  # a statement read after the held write
            return key

        return work

    def too_long(session: Session) -> str:
        enqueue(session, now, "x" * 300)  # idempotency_key is VARCHAR(255): fails when sent
        return "too-long"

    works = [good("A"), too_long, good("B"), good("C")]
    outcomes = in_one_batch(group, works)
    assert [kind for kind, _ in outcomes] == ["ok", "error", "ok", "ok"]
    assert outbox_keys(engine) == {"A", "B", "C"}
    assert stored_events(engine) == {"A", "B", "C"}
