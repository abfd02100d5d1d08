"""The sender lease: which process sends for a workspace, kept alive by a heartbeat.

One sender per workspace keeps the pace across replicas, and on SQLite the lease is the only
claim: a sender that lost it in the middle of a call would let a second one post the same row.
So the lease is renewed by its own thread every HEARTBEAT seconds, independently of the calls,
however long one takes, and the TTL can stay short: after a `kill -9` another process takes
over within TTL seconds. A sender holds it only while it has rows to send now and lets go as
soon as it has none, so an idle replica never stands between a busy one and its rows.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from storage import outbox as store
from storage.engine import UnitRunner, own_transaction

log = logging.getLogger(__name__)

LEASE_TTL = timedelta(seconds=6)
HEARTBEAT = 2.0
# A call starts only while the lease has at least this long to run; the heartbeat keeps it
# going from there.
MIN_VALIDITY = 2.0
LOG_EVERY = 60.0


class Lease:
    """The leases this process holds, with the monotonic instant each is safe until."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        holder: str,
        clock: Clock,
        *,
        ttl: timedelta = LEASE_TTL,
        heartbeat: float = HEARTBEAT,
        unit: UnitRunner | None = None,
    ) -> None:
        """`unit` runs each renewal and release (default: a transaction of its own)."""
        self._unit = unit or own_transaction(session_factory)
        self.holder = holder
        self._clock = clock
        self._ttl = ttl
        self._heartbeat = heartbeat
        self._valid_until: dict[str, float] = {}
        self._warned_at = -LOG_EVERY
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ----- taking, keeping and giving up -----------------------------------------------------
    def acquire(self, team_id: str) -> bool:
        """Take the lease (or renew ours); False while another live holder has it."""
        with self._lock:
            return self._renew(team_id)

    def ensure(self, team_id: str) -> bool:
        """True if a call may start now: held, with MIN_VALIDITY to spare (renewed if not)."""
        with self._lock:
            until = self._valid_until.get(team_id)
            if until is not None and until - time.monotonic() >= MIN_VALIDITY:
                return True
            return self._renew(team_id)

    def held(self) -> list[str]:
        with self._lock:
            return list(self._valid_until)

    def release(self, team_id: str) -> None:
        """Let go at once, so another process with rows to send need not wait for the TTL."""
        with self._lock:
            if self._valid_until.pop(team_id, None) is None:
                return
            try:
                now = self._clock()
                self._unit(lambda session: store.release_lease(session, team_id, self.holder, now))
            except Exception:
                log.warning("outbox: could not release the lease for %s", team_id, exc_info=True)

    def release_all(self) -> None:
        for team_id in self.held():
            self.release(team_id)

    # ----- the heartbeat ---------------------------------------------------------------------
    def start_heartbeat(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._beat, name="outbox-lease", daemon=True)
        self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def beat(self) -> None:
        """Renew every lease held; one that another process took over is dropped."""
        with self._lock:
            for team_id in list(self._valid_until):
                try:
                    self._renew(team_id)
                except Exception as error:  # the database is away: the next beat tries again
                    self._warn(f"outbox: lease heartbeat failed for {team_id}: {error}")

    def _beat(self) -> None:
        while not self._stop.wait(self._heartbeat):
            self.beat()

    def _warn(self, message: str) -> None:
        """Once a minute at most: a database that is away would otherwise fill the log."""
        now = time.monotonic()
        if now - self._warned_at >= LOG_EVERY:
            self._warned_at = now
            log.warning(message)

    def _renew(self, team_id: str) -> bool:
        started = time.monotonic()
        now = self._clock()
        held = self._unit(
            lambda session: store.hold_lease(session, team_id, self.holder, now, self._ttl)
        )
        if held:
            self._valid_until[team_id] = started + self._ttl.total_seconds()
        else:
            self._valid_until.pop(team_id, None)
        return held
