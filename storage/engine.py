"""Engines and sessions tuned per database.

SQLite: WAL so readers do not block the writer, a busy timeout, and `BEGIN IMMEDIATE` so
concurrent writers queue instead of failing with "database is locked" on lock upgrade. pysqlite's
own transaction handling is switched off so SQLAlchemy's BEGIN (and SAVEPOINTs) are the real ones.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Generic, Protocol, TypeVar, cast

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from storage.fast_path import DEFERRED, send_deferred_writes

SQLITE_BUSY_TIMEOUT_MS = 15_000
# An execution option (and session info key) marking a transaction that only reads.
READ_ONLY = "pulsebot_read_only"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    if is_sqlite(url):
        in_memory = make_url(url).database in (None, "", ":memory:")
        pool_args = {} if in_memory else {"pool_size": pool_size, "max_overflow": pool_size * 2}
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **pool_args,
        )
        _tune_sqlite(engine)
        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True)
    _send_held_writes_first(engine)
    return engine


def _send_held_writes_first(engine: Engine) -> None:
    """Writes held by storage.fast_path.DriverCursor leave before any other statement and before
    COMMIT on their connection, so their order holds and none is lost; a rollback drops them."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before_statement(connection: Any, *_: Any) -> None:
        deferred = connection.info.get(DEFERRED)
        if deferred:
            send_deferred_writes(connection.connection, deferred)

    @event.listens_for(engine, "commit")
    def _before_commit(connection: Any) -> None:
        deferred = connection.info.get(DEFERRED)
        if deferred:
            send_deferred_writes(connection.connection, deferred)

    @event.listens_for(engine, "rollback")
    @event.listens_for(engine, "begin")
    def _drop(connection: Any) -> None:
        deferred = connection.info.get(DEFERRED)
        if deferred:
            deferred.clear()


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")  # deferred: a reader, outside the writers' queue
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_WRITER_LOCKS_GUARD = threading.Lock()


def _writer_lock(factory: sessionmaker[Session]) -> AbstractContextManager[object]:
    """SQLite has one writer at a time; queue this process's writers on a lock.

    Waiting inside SQLite's busy handler means sleeping and polling (up to 100 ms a nap), which
    turns contention into multi-second tails; a lock hands the database over at once. Other
    processes on the same file still wait through the busy timeout.
    """
    engine = factory.kw.get("bind")
    if not isinstance(engine, Engine) or engine.dialect.name != "sqlite":
        return nullcontext()
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(engine, threading.Lock())


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception."""
    with _writer_lock(factory), factory() as session, session.begin():
        yield session


@contextmanager
def read_only(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A transaction that only reads: one consistent snapshot, rolled back at the end.

    Why: on SQLite a unit of work is a writer (BEGIN IMMEDIATE, after the process's writer
    lock), so a long read inside one, a digest's data or an App Home, held up every ack
    waiting to commit behind it. In WAL a reader needs neither: it begins deferred, outside
    the queue, and reads the last commit before its first statement, whatever commits after.
    On PostgreSQL it is REPEATABLE READ and READ ONLY: the same one snapshot (READ COMMITTED
    would let each statement see a later commit, and a digest mix two moments). A write put
    here by mistake fails loudly instead of vanishing: a flush raises, and PostgreSQL refuses.
    """
    with factory() as session:
        if one_writer(factory):
            session.connection(execution_options={READ_ONLY: True})
        else:
            snapshot = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            session.connection(execution_options=snapshot)
        session.info[READ_ONLY] = True
        try:
            yield session
        finally:
            session.rollback()


@event.listens_for(Session, "before_flush")
def _refuse_writes_when_reading(session: Session, *_: Any) -> None:
    if session.info.get(READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise RuntimeError("a read-only transaction was asked to write")


T = TypeVar("T")


class UnitRunner(Protocol):
    """Runs `work` as one unit of work and returns its result once that unit has committed:
    in a transaction of its own (`own_transaction`) or in a shared one (`GroupCommit.run`).

    `work` must only touch the session it is given, and may run more than once."""

    def __call__(self, work: Callable[[Session], T], /) -> T: ...


def own_transaction(factory: sessionmaker[Session]) -> UnitRunner:
    """Each unit in a transaction of its own, in the calling thread."""

    def run(work: Callable[[Session], T], /) -> T:
        with unit_of_work(factory) as session:
            return work(session)

    return run


def one_writer(factory: sessionmaker[Session]) -> bool:
    """Whether the database allows one writer at a time (SQLite), so that every write of the
    process had better queue in one place than take the file's lock from several threads."""
    engine = factory.kw.get("bind")
    return isinstance(engine, Engine) and engine.dialect.name == "sqlite"


class _Unit(Generic[T]):
    __slots__ = ("done", "error", "result", "work")

    def __init__(self, work: Callable[[Session], T]) -> None:
        self.work = work
        # A bare lock, held until the unit is settled: releasing it is one C call, where
        # Event.set runs Condition.notify_all in Python, in the writer, once per unit.
        self.done = threading.Lock()
        self.done.acquire()
        self.result: T | None = None
        self.error: BaseException | None = None


class _UnitFailed(Exception):
    """One unit of a batch raised: the batch is rolled back and run again without it."""


POSTGRES_WRITERS = 2


def _writers_for(factory: sessionmaker[Session]) -> int:
    return 1 if one_writer(factory) else POSTGRES_WRITERS


class GroupCommit:
    """Units of work from many listener threads, committed together by one writer thread.

    Why: on the `/kudos` ack path a transaction's fixed costs (a pooled connection, BEGIN,
    COMMIT, and on SQLite handing the single writer from thread to thread under the GIL) cost
    several times the kudos' own statements. The dispatch pool's waiting units share one
    transaction instead, so those costs are paid once per batch.

    The contract of `run(work)`:
    - it returns `work`'s result only after the transaction holding its writes has committed,
      so an ack sent after it is durable;
    - if `work` raises, its caller gets that exception and the batch is rolled back and run
      again without it: the others are neither lost nor acked before their commit. A unit may
      therefore run more than once; it must only touch the session it is given;
    - if the commit itself fails, every caller of that batch gets the error and nothing of the
      batch is stored.
    `work` must not open a unit of work of its own (the writer holds SQLite's writer lock).

    Writers: one on SQLite (one writer at a time is all the file allows). On PostgreSQL a few,
    so that one batch's round trips and commit wait overlap the next batch's. Writer threads
    start on demand and end after `idle_exit` seconds without work.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        writers: int | None = None,
        max_batch: int = 64,
        idle_exit: float = 2.0,
    ) -> None:
        self.factory = factory
        self._writers = writers or _writers_for(factory)
        self._max_batch = max_batch
        self._idle_exit = idle_exit
        self._queue: deque[_Unit[Any]] = deque()
        self._wakeup = threading.Condition(threading.Lock())
        self._running = 0  # writer threads alive
        self._idle = 0  # of which waiting for work
        self.batches = 0  # how many transactions the writers committed (for tests and benches)

    def run(self, work: Callable[[Session], T]) -> T:
        unit: _Unit[T] = _Unit(work)
        with self._wakeup:
            self._queue.append(unit)
            if self._idle:
                self._wakeup.notify()
            elif self._running < self._writers:
                self._running += 1
                threading.Thread(target=self._write, name="group-commit", daemon=True).start()
        unit.done.acquire()
        if unit.error is not None:
            raise unit.error
        # No error, so the writer set the result before releasing `done`: a T, not the None
        # that _Unit starts with.
        return cast(T, unit.result)

    def _write(self) -> None:
        while True:
            with self._wakeup:
                while not self._queue:
                    self._idle += 1
                    woken = self._wakeup.wait(self._idle_exit)
                    self._idle -= 1
                    if not woken and not self._queue:
                        self._running -= 1
                        return
                batch = [
                    self._queue.popleft() for _ in range(min(len(self._queue), self._max_batch))
                ]
            self._commit(batch)

    def _commit(self, batch: list[_Unit[Any]]) -> None:
        pending = batch
        while pending:
            failed: _Unit[Any] | None = None
            try:
                with unit_of_work(self.factory) as session:
                    for unit in pending:
                        try:
                            unit.result = unit.work(session)
                        except BaseException as error:
                            unit.error, failed = error, unit
                            raise _UnitFailed from error
            except _UnitFailed as failure:
                assert failed is not None
                if len(pending) > 1 and self._is_database_error(failure.__cause__):
                    # A write held for the pipeline (storage.fast_path) fails where it is sent,
                    # perhaps in a later unit: the culprit is found by running them singly.
                    failed.error = None
                    self._one_by_one(pending)
                    return
                failed.done.release()
                pending = [unit for unit in pending if unit is not failed]
                continue
            except BaseException as error:
                if len(pending) > 1 and self._is_database_error(error):
                    self._one_by_one(pending)  # perhaps one unit's held write, sent at COMMIT
                    return
                for unit in pending:  # BEGIN or COMMIT failed: nothing was stored
                    unit.result, unit.error = None, error
                    unit.done.release()
                return
            self.batches += 1
            for unit in pending:
                unit.done.release()
            return

    def _one_by_one(self, units: list[_Unit[Any]]) -> None:
        for unit in units:
            self._commit([unit])

    def _is_database_error(self, error: BaseException | None) -> bool:
        engine = self.factory.kw.get("bind")
        dbapi = getattr(getattr(engine, "dialect", None), "loaded_dbapi", None)
        return isinstance(error, DBAPIError) or (
            dbapi is not None and isinstance(error, dbapi.Error)
        )
