"""A read-only transaction reads one snapshot outside the writers' queue and never writes.

On SQLite a unit of work is a writer (BEGIN IMMEDIATE behind the process's writer lock): a long
read in one held up every ack committing behind it. These pin what the reader promises: it
neither waits for a writer nor holds one up, it sees the commit before its first read and not
the ones after, and a write put in it by mistake fails instead of vanishing.
"""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.engine import read_only, unit_of_work
from storage.models import ProcessedEvent

WAIT = 10.0


def _event(event_id: str, now: datetime) -> ProcessedEvent:
    return ProcessedEvent(team_id="T0TEAM", event_id=event_id, received_at=now)


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ProcessedEvent)) or 0)


def test_a_reader_neither_waits_for_a_writer_nor_holds_one_up(
    session_factory: sessionmaker[Session], now: datetime
) -> None:
    with unit_of_work(session_factory) as session:
        session.add(_event("Ev1", now))
    writing, reader_done = threading.Event(), threading.Event()

    def writer() -> None:  # holds the write lock until the reader has read
        with unit_of_work(session_factory) as session:
            session.add(_event("Ev2", now))
            session.flush()
            writing.set()
            assert reader_done.wait(WAIT), "the reader waited for the writer"

    thread = threading.Thread(target=writer)
    thread.start()
    assert writing.wait(WAIT)
    with read_only(session_factory) as session:
        seen = _count(session)  # the writer still holds its transaction open
    reader_done.set()
    thread.join(WAIT)
    assert not thread.is_alive()
    assert seen == 1  # the last commit, not the writer's uncommitted row

    with read_only(session_factory) as session:  # a reader open while a writer commits
        before = _count(session)
        with unit_of_work(session_factory) as other:  # would wait forever behind a writer
            other.add(_event("Ev3", now))
        after = _count(session)
    assert (before, after) == (2, 2)  # one snapshot from its first read to its end
    with read_only(session_factory) as session:
        assert _count(session) == 3


def test_a_write_in_a_reader_fails_and_leaves_nothing(
    session_factory: sessionmaker[Session], now: datetime
) -> None:
    with pytest.raises(RuntimeError, match="read-only"), read_only(session_factory) as session:
        session.add(_event("Ev9", now))
        session.flush()
    with read_only(session_factory) as session:
        assert _count(session) == 0
