"""What every listener and job needs, passed explicitly (nothing global, nothing at import)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar, cast

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock, utc_now
from bot.services.directory import PeopleCache
from bot.settings import Settings
from storage import workspaces
from storage.engine import GroupCommit, one_writer, read_only, unit_of_work

T = TypeVar("T")
log = logging.getLogger(__name__)

AFTER_ACK_THREADS = 4

CONTEXT_KEY = "pulsebot_deps"  # where build_app's middleware puts Deps in each Bolt context


class SlackConnection(StrEnum):
    """What the background auth.test found, or why sending is stopped; `/healthz` shows it."""

    UNKNOWN = "unknown"
    OK = "ok"
    UNREACHABLE = "unreachable"
    INVALID_AUTH = "invalid_auth"
    UNINSTALLED = "uninstalled"
    TOKEN_REVOKED = "token_revoked"


def connection_when_stopped(reason: str) -> SlackConnection:
    """How `/healthz` names a workspace's stop (`storage.workspaces`): an uninstall, a revoked
    token, or a token Slack refuses for another reason."""
    if reason == workspaces.UNINSTALLED:
        return SlackConnection.UNINSTALLED
    if reason in (workspaces.TOKENS_REVOKED, "token_revoked"):
        return SlackConnection.TOKEN_REVOKED
    return SlackConnection.INVALID_AUTH


@dataclass
class SlackStatus:
    """What the background auth.test learnt; `/healthz` shows `state`.

    `stopped`: this process last saw sending stopped for the workspace (an uninstall, a revoked
    or refused token). While it is, any request from Slack sets `recheck`, which wakes the
    background check at once: Slack sends nothing to an app that is not installed, so a request
    is the first sign of a reinstall, and an auth.test that succeeds resumes sending.
    """

    state: SlackConnection = SlackConnection.UNKNOWN
    team_id: str | None = None
    bot_user_id: str | None = None
    bot_id: str | None = None
    # Set once users.list was read through: from then on the directory cache is the whole
    # workspace, and a form may list its people itself instead of Slack's unfiltered picker.
    directory_complete: bool = False
    stopped: bool = False
    recheck: threading.Event = field(default_factory=threading.Event)


@dataclass
class Deps:
    settings: Settings
    session_factory: sessionmaker[Session]
    clock: Clock = utc_now
    outbox_wakeup: threading.Event = field(default_factory=threading.Event)
    slack: SlackStatus = field(default_factory=SlackStatus)
    people: PeopleCache = field(default_factory=PeopleCache)
    _group: GroupCommit | None = field(default=None, init=False, repr=False)
    _group_guard: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _later: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction per listener call or job run; close it before calling Slack."""
        with unit_of_work(self.session_factory) as session:
            yield session

    @contextmanager
    def read_only(self) -> Iterator[Session]:
        """A snapshot to read from, outside the writers' queue (storage.engine.read_only):
        build what takes long here, then write what it decided in a short unit of work."""
        with read_only(self.session_factory) as session:
            yield session

    def group_unit(self, work: Callable[[Session], T]) -> T:
        """Run `work` as one unit of work committed together with the other listeners' waiting
        units (storage.engine.GroupCommit); returns after its own commit, so ack after it.

        `work` may run more than once (when another unit of its batch fails) and must only use
        the session it is given.
        """
        group = self._group
        if group is None or group.factory is not self.session_factory:
            # Made on first use, and again if the database was swapped under a running app.
            with self._group_guard:
                if self._group is None or self._group.factory is not self.session_factory:
                    self._group = GroupCommit(self.session_factory)
                group = self._group
        return group.run(work)

    def background_unit(self, work: Callable[[Session], T]) -> T:
        """A unit of work of a thread beside the requests (the outbox sender, its lease, the
        Slack check).

        On SQLite through the group-commit writer: every write of the process then queues in
        one place, and an ack never waits behind a background transaction holding the file's
        single write lock (a thread that holds it may lose the interpreter for milliseconds).
        On PostgreSQL, where writers do not exclude each other, a transaction of its own, kept
        out of the listeners' batches.
        """
        if one_writer(self.session_factory):
            return self.group_unit(work)
        with unit_of_work(self.session_factory) as session:
            return work(session)

    def after_ack(self, work: Callable[[], object]) -> None:
        """Run `work` in a background thread, so that what must ask Slack first never delays
        an ack (the listener returns, and its answer goes, while `work` runs).

        Not durable: a process killed meanwhile never runs it. What must happen regardless is
        committed before the ack in a form that completes without it (e.g. held outbox rows
        that go when their hold runs out). A failure is logged, never raised.
        """
        executor = self._later
        if executor is None:
            with self._group_guard:
                if self._later is None:
                    self._later = ThreadPoolExecutor(
                        max_workers=AFTER_ACK_THREADS, thread_name_prefix="after-ack"
                    )
                executor = self._later
        executor.submit(_logged, work)

    def now(self) -> datetime:
        return self.clock()

    def notify_outbox(self) -> None:
        """Wake this process's sender now instead of at its next poll."""
        self.outbox_wakeup.set()


def deps_of(context: Mapping[str, Any]) -> Deps:
    """The Deps that build_app's middleware put in this request's Bolt context: listeners are
    plain top-level functions and reach their dependencies only through here."""
    return cast(Deps, context[CONTEXT_KEY])


def _logged(work: Callable[[], object]) -> None:
    try:
        work()
    except Exception:
        log.exception("work after an ack failed")
