"""The outbox sender: one per workspace at a time (a lease), paced, with its own retries.

It never sleeps inside a transaction and never lets slack_sdk retry for it: a connection-error
retry could double a post whose answer was lost, and a 429 sleep would stall every other method.
"""

from __future__ import annotations

import http.client
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock, utc_now
from bot.delivery import uploads
from bot.delivery.outbox import PARENT_CHANNEL, PARENT_TS
from bot.delivery.pacing import Pacer
from bot.metrics import OUTBOX_FAILED, OUTBOX_RETRIED, OUTBOX_SENT
from storage import outbox as store
from storage.engine import unit_of_work

log = logging.getLogger(__name__)

# A holder renews every LEASE_RENEW seconds before a call; the TTL outlasts a renewal gap plus
# the longest pacing wait and a call's timeout, so a live sender never loses the lease mid-call.
LEASE_TTL = timedelta(seconds=20)
LEASE_RENEW = 2.0
ROUND_SECONDS = 1.0
MAX_ATTEMPTS = 8
MAX_BACKOFF = 300.0
BATCH = 100
# Slack errors worth another try; anything else from Slack is final for that row.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one call came to: sent, a pause and retry, or a final failure."""

    kind: str  # "sent" | "retry" | "failed"
    channel: str | None = None
    ts: str | None = None
    error: str | None = None
    retry_after: float | None = None
    counts: bool = True


@dataclass
class SenderStats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    rate_limited: int = 0
    failures: list[str] = field(default_factory=list)


class OutboxSender:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        client: WebClient,
        clock: Clock,
        post_rate: float,
        lease_clock: Clock | None = None,
        holder: str | None = None,
        wakeup: threading.Event | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sessions = session_factory
        self._client = client
        # `clock` decides which rows are due (a `run-due --at` in the future runs ahead); the
        # lease lives on the clock every replica shares, the wall clock unless a test says so.
        self._clock = clock
        self._lease_clock = lease_clock or utc_now
        self._pacer = Pacer(post_rate)
        self.holder = holder or f"sender-{uuid.uuid4().hex[:12]}"
        self._wakeup = wakeup or threading.Event()
        self._stop = threading.Event()
        self._sleep = sleep
        self._lease_renewed: dict[str, float] = {}
        self.stats = SenderStats()

    # ----- running -----------------------------------------------------------------------
    def run_forever(self, idle_wait: float = 0.25) -> None:
        while not self._stop.is_set():
            try:
                worked = self.step()
            except Exception:  # keep sending after a database hiccup; it is logged
                log.exception("outbox sender step failed; retrying shortly")
                worked = False
            if not worked:
                self._wakeup.wait(idle_wait)
                self._wakeup.clear()
        self._release_all()

    def stop(self) -> None:
        self._stop.set()
        self._wakeup.set()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="outbox-sender", daemon=True)
        thread.start()
        return thread

    def drain(self, timeout: float) -> bool:
        """Send until nothing is pending (ours or another sender's doing); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            worked = self.step()
            with unit_of_work(self._sessions) as session:
                pending = store.status_counts(session).get(store.PENDING, 0)
            if pending == 0:
                self._release_all()
                return True
            if not worked:  # between rounds of a busy queue, no idle gap: slots would be lost
                self._wakeup.wait(0.1)
                self._wakeup.clear()
        self._release_all()
        return False

    # ----- one round ---------------------------------------------------------------------
    def step(self) -> bool:
        """One pass over every workspace with pending rows; True if anything was attempted."""
        with unit_of_work(self._sessions) as session:
            teams = store.pending_teams(session)
        worked = False
        for team_id in teams:
            if self._stop.is_set():
                break
            if self._hold_lease(team_id):
                worked = self._send_batch(team_id) or worked
        return worked

    def _send_batch(self, team_id: str) -> bool:
        """Send a claimed batch, always the row whose method and channel are free soonest.

        One method's long queue (a fan-out of DMs at the post rate, a busy channel at one a
        second) never holds back another's rows: an App Home publish claimed beside 2,000 DMs
        goes at its own pace. After at most ROUND_SECONDS the batch is claimed afresh, so rows
        written meanwhile get their turn too.
        """
        with unit_of_work(self._sessions) as session:
            orphans = store.fail_orphans(session, team_id, self._clock())
            batch = store.claim_due(
                session,
                team_id,
                self._clock(),
                BATCH,
                skip_methods=self._pacer.paused_methods(time.monotonic()),
            )
        if orphans:
            log.error(
                "outbox: %d message(s) failed because the message they reply to failed", orphans
            )
        attempted = False
        round_ends = time.monotonic() + ROUND_SECONDS
        remaining = list(batch)
        while remaining and not self._stop.is_set():
            now = time.monotonic()
            waits = [
                (self._pacer.ready_in(row.method, _target_channel(row), now), index)
                for index, row in enumerate(remaining)
            ]
            wait, index = min(waits)
            if now + wait > round_ends:
                break
            if not self._hold_lease(team_id, renew_only_if_due=True):
                log.warning("outbox: lost the sender lease for %s; another replica sends", team_id)
                break
            row = remaining.pop(index)
            wait = self._pacer.reserve(row.method, _target_channel(row), time.monotonic())
            if wait > 0:
                self._sleep(wait)
            outcome = self._call(row)
            self._record(row, outcome)
            attempted = True
        return attempted

    # ----- the call ----------------------------------------------------------------------
    def _call(self, row: store.Claimed) -> Outcome:
        payload = _resolve_parent(row)
        if row.method == "chat.postMessage":
            payload.setdefault(
                "metadata", {"event_type": "pulsebot_outbox", "event_payload": {"key": row.key}}
            )
        try:
            if row.method in uploads.PSEUDO_METHODS:  # a file upload, a post showing a file
                data = uploads.call(self._client, row.method, payload, row.key, row.attempts)
                return Outcome("sent", channel=data.get("channel"), ts=data.get("ts"))
            response = self._client.api_call(row.method, json=payload)
        except uploads.RetryLater as error:
            return Outcome("retry", error=error.code)
        except SlackApiError as error:
            return self._classify(row, error)
        except (OSError, http.client.HTTPException) as error:
            # URLError, timeouts, resets, and an answer cut off mid-body (IncompleteRead)
            return Outcome("retry", error=f"connection: {error}")
        except Exception as error:  # anything else: retried within the bound, never lost
            log.exception("outbox: %s %s raised unexpectedly", row.method, row.key)
            return Outcome("retry", error=f"unexpected: {type(error).__name__}")
        data: dict[str, Any] = response.data if isinstance(response.data, dict) else {}
        return Outcome(
            "sent",
            channel=data.get("channel") or _dict(data.get("view")).get("id"),
            ts=data.get("ts") or data.get("message_ts"),
        )

    def _classify(self, row: store.Claimed, error: SlackApiError) -> Outcome:
        status = error.response.status_code
        code = str(error.response.get("error") or f"http_{status}")
        if status == 429 or code == "ratelimited":
            retry_after = _retry_after(error.response.headers)
            self._pacer.pause(row.method, retry_after, time.monotonic())
            self.stats.rate_limited += 1
            return Outcome("retry", error="ratelimited", retry_after=retry_after, counts=False)
        if status >= 500 or code in TRANSIENT_ERRORS:
            return Outcome("retry", error=code)
        return Outcome("failed", error=code)

    def _record(self, row: store.Claimed, outcome: Outcome) -> None:
        now = self._clock()
        with unit_of_work(self._sessions) as session:
            if outcome.kind == "sent":
                store.mark_sent(session, row.id, outcome.channel, outcome.ts, now)
            elif outcome.kind == "retry" and (
                not outcome.counts or row.attempts + 1 < MAX_ATTEMPTS
            ):
                delay = outcome.retry_after or _backoff(row.attempts)
                store.mark_retry(
                    session,
                    row.id,
                    outcome.error or "",
                    now + timedelta(seconds=delay),
                    counts=outcome.counts,
                )
            else:
                store.mark_failed(session, row.id, outcome.error or "unknown", now)
        self._count(row, outcome)

    def _count(self, row: store.Claimed, outcome: Outcome) -> None:
        if outcome.kind == "sent":
            self.stats.sent += 1
            OUTBOX_SENT.labels(row.method).inc()
        elif outcome.kind == "retry" and (not outcome.counts or row.attempts + 1 < MAX_ATTEMPTS):
            self.stats.retried += 1
            OUTBOX_RETRIED.labels(row.method, _label(outcome.error)).inc()
            log.info("outbox: %s %s will be retried (%s)", row.method, row.key, outcome.error)
        else:
            self.stats.failed += 1
            self.stats.failures.append(f"{row.key}: {outcome.error}")
            OUTBOX_FAILED.labels(row.method, _label(outcome.error)).inc()
            log.error(
                "outbox: %s %s failed for good after %d attempt(s): %s",
                row.method,
                row.key,
                row.attempts + 1,
                outcome.error,
            )

    # ----- the lease ---------------------------------------------------------------------
    def _hold_lease(self, team_id: str, renew_only_if_due: bool = False) -> bool:
        renewed = self._lease_renewed.get(team_id)
        if (
            renew_only_if_due
            and renewed is not None
            and (time.monotonic() - renewed < LEASE_TTL.total_seconds() / 3)
        ):
            return True
        with unit_of_work(self._sessions) as session:
            held = store.hold_lease(session, team_id, self.holder, self._lease_clock(), LEASE_TTL)
        if held:
            self._lease_renewed[team_id] = time.monotonic()
        else:
            self._lease_renewed.pop(team_id, None)
        return held

    def _release_all(self) -> None:
        for team_id in list(self._lease_renewed):
            try:
                with unit_of_work(self._sessions) as session:
                    store.release_lease(session, team_id, self.holder, self._lease_clock())
            except Exception:
                log.warning("outbox: could not release the lease for %s", team_id, exc_info=True)
        self._lease_renewed.clear()


def _resolve_parent(row: store.Claimed) -> dict[str, Any]:
    replacements = {PARENT_CHANNEL: row.parent_channel, PARENT_TS: row.parent_ts}
    return {
        key: replacements[value] if isinstance(value, str) and value in replacements else value
        for key, value in row.payload.items()
    }


def _target_channel(row: store.Claimed) -> str | None:
    channel = row.payload.get("channel")
    if channel == PARENT_CHANNEL:
        return row.parent_channel
    return channel if isinstance(channel, str) else None


def _retry_after(headers: Any) -> float:
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name) if headers else None
        if value is not None:
            if isinstance(value, list):
                value = value[0]
            try:
                return max(float(value), 1.0)
            except ValueError:
                break
    return 1.0


def _backoff(attempts: int) -> float:
    base = min(2.0**attempts, MAX_BACKOFF)
    return base * (0.5 + random.random() / 2)


def _label(error: str | None) -> str:
    """A bounded metric label: Slack's error code, or the kind of failure, never free text."""
    if not error:
        return "unknown"
    kind = error.split(":", 1)[0]
    return kind if kind.replace("_", "").isalnum() and len(kind) <= 40 else "other"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
