"""The outbox sender: one per workspace at a time (a lease), paced, with its own retries.

It never sleeps inside a transaction and never lets slack_sdk retry for it: a connection-error
retry could double a post whose answer was lost, and a 429 sleep would stall every other method.
"""

from __future__ import annotations

import http.client
import logging
import math
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock, utc_now
from bot.delivery import responses, uploads
from bot.delivery.lease import HEARTBEAT, LEASE_TTL, Lease
from bot.delivery.outbox import BUILD, PARENT_CHANNEL, PARENT_TS
from bot.delivery.pacing import Pacer
from bot.metrics import OUTBOX_FAILED, OUTBOX_RECONCILED, OUTBOX_RETRIED, OUTBOX_SENT
from storage import outbox as store
from storage import workspaces
from storage.engine import UnitRunner, own_transaction

log = logging.getLogger(__name__)
T = TypeVar("T")
# Makes a row's arguments from its payload and workspace when it leaves (bot.delivery.outbox.BUILD)
Builder = Callable[[str, dict[str, Any]], dict[str, Any]]

SENDER_TIMEOUT = 10  # seconds per Slack call from a sender
ROUND_SECONDS = 1.0
LOG_EVERY = 60.0  # seconds between two logs of the same sender failure
# Calls whose double would show; a lost answer is checked in Slack before posting again.
RECONCILED_METHODS = frozenset({"chat.postMessage", uploads.POST_WITH_FILE})
LOOKBACK = timedelta(seconds=60)  # Slack's clock against ours, when looking for a lost post
LOOKUP_PAGES = 5
MAX_ATTEMPTS = 8
MAX_BACKOFF = 300.0
# Rows claimed per method and round, at most. A round lasts at most ROUND_SECONDS however many
# it claimed, so the size bounds a claim's work, never how long a row written meanwhile waits.
BATCH = 100
# A method is claimed for this many rounds of its pace (and CLAIM_SPARE more), so rows held back
# by a channel's own pace leave others to send; never the whole BATCH for a method that sends
# one call a second: each claimed row is read and decoded, and a chart upload's row holds its PNG.
CLAIM_ROUNDS = 2
CLAIM_SPARE = 2
# Interactive rows go first, but never more than this many calls of a method in a row while a
# bulk row of it waits: a fan-out keeps at least a fifth of its method's pace through a flood of
# people's actions, and a person's row waits for at most one bulk call.
INTERACTIVE_RUN = 4
# Calls whose "sent" may be written with the next transaction instead of one of its own: a
# reconciled call's attempt is marked before it leaves, so a crash before the write is caught by
# looking in Slack; the others set a state, and setting it twice shows nothing more.
DEFERRED_METHODS = RECONCILED_METHODS | {"views.publish", "views.update", "chat.update"}
# Slack errors worth another try; anything else from Slack is final for that row.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
# Slack refuses the token itself (the app uninstalled, the token revoked, the workspace gone):
# every other call would answer the same, so the workspace stops and its rows wait.
TOKEN_REFUSED = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked"})
DEPARTED = "recipient_deactivated"  # why a row to someone deactivated is withdrawn


class Kind(StrEnum):
    """What a call came to, for the row's bookkeeping."""

    SENT = "sent"
    RETRY = "retry"  # paused (429), or failed in a way worth another attempt
    FAILED = "failed"  # for good
    REFUSED = "refused"  # the token was refused: the workspace stops, the row waits


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one call came to: sent, a pause and retry, or a final failure."""

    kind: Kind
    channel: str | None = None
    ts: str | None = None
    error: str | None = None
    retry_after: float | None = None
    counts: bool = True
    known: bool = True  # False: Slack may or may not have done the call


@dataclass
class SenderStats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    rate_limited: int = 0
    withdrawn: int = 0  # addressed to someone deactivated: cancelled, never sent
    stopped: list[str] = field(default_factory=list)  # workspaces this sender stopped
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
        lease_ttl: timedelta = LEASE_TTL,
        lease_heartbeat: float = HEARTBEAT,
        on_stop: Callable[[str], None] | None = None,
        unit: UnitRunner | None = None,
        builders: Mapping[str, Builder] | None = None,
    ) -> None:
        """`on_stop(team_id)`: this sender stopped a workspace's sending (its token refused).

        `builders`: by name, what makes the arguments of a row written with `BUILD` (App Home's
        view). A row whose builder this sender lacks waits for a sender that has it.

        `unit` runs each of the sender's and its lease's transactions (default: one of its own,
        in the calling thread). A serving process on SQLite passes its group-commit writer, so
        the bookkeeping after each call is one more unit in the listeners' next batch instead
        of a transaction that holds the file's single write lock against their acks.
        """
        self._unit = unit or own_transaction(session_factory)
        self._builders = dict(builders or {})
        self._buildable = {"", *self._builders}
        self._on_stop = on_stop
        self._client = client
        # `clock` decides which rows are due (a `run-due --at` in the future runs ahead); the
        # lease lives on the clock every replica shares, the wall clock unless a test says so.
        self._clock = clock
        self._pacer = Pacer(post_rate)
        # Host and pid in the lease row tell an operator which replica sends.
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = Lease(
            session_factory,
            self.holder,
            lease_clock or utc_now,
            ttl=lease_ttl,
            heartbeat=lease_heartbeat,
            unit=self._unit,
        )
        self._wakeup = wakeup or threading.Event()
        self._stop = threading.Event()
        self._sleep = sleep
        self._last_logged: dict[str, float] = {}
        # Per method: interactive calls in a row while a bulk row of that method waited.
        self._interactive_run: dict[str, int] = {}
        # Calls that went out, whose "sent" waits for the sender's next transaction (or the end
        # of the round): one transaction per call instead of two.
        self._settled: list[tuple[str, store.Claimed, Outcome, datetime]] = []
        self._known_dms: set[tuple[str, str]] = set()  # (team, user) whose DM is remembered
        self.stats = SenderStats()

    # ----- running -----------------------------------------------------------------------
    def run_forever(self, idle_wait: float = 0.25) -> None:
        self.lease.start_heartbeat()
        try:
            while not self._stop.is_set():
                try:
                    worked = self.step()
                except Exception as error:  # keep sending after a database hiccup
                    self._log_throttled(error)
                    worked = False
                if not worked:
                    self._wakeup.wait(idle_wait)
                    self._wakeup.clear()
        finally:
            self.lease.stop_heartbeat()
            self.lease.release_all()

    def stop(self) -> None:
        self._stop.set()
        self._wakeup.set()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="outbox-sender", daemon=True)
        thread.start()
        return thread

    def drain(self, timeout: float) -> bool:
        """Send until nothing is pending (ours or another sender's doing); False on timeout."""
        return self.settle(lambda: self._pending() == 0, timeout)

    def settle(self, done: Callable[[], bool], timeout: float) -> bool:
        """Take part in sending until `done()`; False on timeout. The lease is let go after."""
        deadline = time.monotonic() + timeout
        self.lease.start_heartbeat()
        try:
            while time.monotonic() < deadline:
                worked = self.step()
                if done():
                    return True
                if not worked:  # between rounds of a busy queue, no idle gap: slots would be lost
                    self._wakeup.wait(0.1)
                    self._wakeup.clear()
            return False
        finally:
            self.lease.stop_heartbeat()
            self.lease.release_all()

    def _pending(self) -> int:
        return self._unit(lambda session: store.status_counts(session).get(store.PENDING, 0))

    # ----- one round ---------------------------------------------------------------------
    def step(self) -> bool:
        """One pass over every workspace with rows to send now; True if anything was attempted.

        The lease is taken only for those workspaces and let go as soon as one has nothing
        this sender can send, so a process with nothing to do never blocks one that has.
        """
        now = self._clock()
        teams = self._unit(lambda session: store.ready_teams(session, now))
        for team_id in set(self.lease.held()) - set(teams):
            self.lease.release(team_id)
        worked = False
        for team_id in teams:
            if self._stop.is_set():
                break
            if self.lease.acquire(team_id):
                sent = self._send_batch(team_id)
                if not sent:
                    self.lease.release(team_id)
                worked = sent or worked
        return worked

    def _send_batch(self, team_id: str) -> bool:
        """Send a claimed batch, always the row whose method and channel are free soonest, an
        interactive one before a bulk one (`_rank`).

        One method's long queue (a fan-out of DMs at the post rate, a busy channel at one a
        second) never holds back another's rows: an App Home publish claimed beside 2,000 DMs
        goes at its own pace. After at most ROUND_SECONDS the batch is claimed afresh, so a row
        written meanwhile (by this process or another) waits for at most the rest of the round
        and its method's next slot, not for the batch: a kudos DM claimed behind a fan-out of
        prompts takes the next chat.postMessage slot, within the method's pace.
        """
        at = self._clock()
        paused = self._pacer.paused_methods(time.monotonic())

        def claim(session: Session) -> tuple[int, list[store.Claimed], int]:
            orphans = store.fail_orphans(session, team_id, at)
            if workspaces.is_stopped(session, team_id):  # another replica may have stopped it
                return orphans, [], 0
            batch = store.claim_due(
                session,
                team_id,
                at,
                self._claim_size,
                skip_methods=paused,
                bulk_floor=self._bulk_floor,
            )
            return orphans, *self._without_departed(session, team_id, batch, at)

        orphans, batch, withdrawn = self._unit(claim)
        self.stats.withdrawn += withdrawn
        if orphans:
            log.error(
                "outbox: %d message(s) failed because the message they reply to failed", orphans
            )
        if withdrawn:
            log.info("outbox: %d message(s) to deactivated people withdrawn", withdrawn)
        attempted = orphans > 0 or withdrawn > 0
        try:
            return self._send_rows(team_id, batch) or attempted
        finally:
            if self._settled:
                self._settled_with(lambda session: None)

    def _send_rows(self, team_id: str, batch: list[store.Claimed]) -> bool:
        attempted = False
        round_ends = time.monotonic() + ROUND_SECONDS
        # A row this sender cannot build waits, untouched, for a sender that can.
        remaining = [row for row in batch if row.payload.get(BUILD, "") in self._buildable]
        while remaining and not self._stop.is_set():
            now = time.monotonic()
            waits = [
                (
                    self._pacer.ready_in(row.method, _target_channel(row), now),
                    self._rank(row),
                    index,
                )
                for index, row in enumerate(remaining)
            ]
            wait, _, index = min(waits)
            if now + wait > round_ends:
                break
            if not self.lease.ensure(team_id):
                log.warning("outbox: lost the sender lease for %s; another replica sends", team_id)
                break
            row = remaining.pop(index)
            self._took(row, remaining)
            if row.method in RECONCILED_METHODS and row.attempt_started_at is not None:
                found = self._look_for(team_id, row)
                if found is not None:
                    self._record(team_id, row, found)
                    attempted = True
                    if found.kind == Kind.REFUSED:
                        break
                    continue
            wait = self._pacer.reserve(row.method, _target_channel(row), time.monotonic())
            if wait > 0:
                self._sleep(wait)
            if row.method in RECONCILED_METHODS:
                # Committed before the call: a crash from here on leaves the attempt marked,
                # and the next sender looks in Slack before posting again.
                self._settled_with(partial(store.mark_attempt, row_id=row.id, now=self._clock()))
            outcome = self._call(team_id, row)
            self._record(team_id, row, outcome)
            attempted = True
            if outcome.kind == Kind.REFUSED:
                break  # the rest of the batch waits with the row: no call after a refusal
        return attempted

    def _settled_with(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one unit, after writing the calls that went out since the last one.
        They are let go only once written: a unit that fails leaves them for the next."""
        settled = list(self._settled)
        remembered: list[tuple[str, str]] = []

        def unit(session: Session) -> T:
            remembered.clear()  # a unit run again (its batch rolled back) starts over
            for team_id, row, outcome, at in settled:
                dm = self._write_sent(session, team_id, row, outcome, at)
                if dm is not None:
                    remembered.append(dm)
            return work(session)

        result = self._unit(unit)
        self._known_dms.update(remembered)  # committed: never written again by this process
        del self._settled[: len(settled)]
        return result

    def _claim_size(self, method: str) -> int:
        """Rows of a method worth reading this round: what its pace lets go, with room to spare."""
        per_round = ROUND_SECONDS / self._pacer.interval(method)
        return min(BATCH, math.ceil(CLAIM_ROUNDS * per_round) + CLAIM_SPARE)

    def _bulk_floor(self, method: str) -> int:
        """Bulk rows claimed beside a claim full of interactive ones, for the bulk's turns."""
        return max(1, self._claim_size(method) // (INTERACTIVE_RUN + 1))

    def _rank(self, row: store.Claimed) -> int:
        """0 for the row its method should send next among those free as soon: interactive,
        unless INTERACTIVE_RUN of them went in a row while a bulk one waited."""
        bulk_turn = self._interactive_run.get(row.method, 0) >= INTERACTIVE_RUN
        return 0 if (row.priority == store.BULK) == bulk_turn else 1

    def _took(self, row: store.Claimed, remaining: list[store.Claimed]) -> None:
        """Count the interactive calls of a method made while a bulk row of it waited."""
        waiting = any(r.method == row.method and r.priority == store.BULK for r in remaining)
        if row.priority == store.BULK or not waiting:
            self._interactive_run[row.method] = 0
        else:
            self._interactive_run[row.method] = self._interactive_run.get(row.method, 0) + 1

    def _without_departed(
        self, session: Session, team_id: str, batch: list[store.Claimed], now: datetime
    ) -> tuple[list[store.Claimed], int]:
        """Withdraw the claimed rows addressed to someone deactivated: whatever queued them
        (a fan-out racing the deactivation, a closing written later), nothing reaches a person
        who left. Returns the rest and how many were withdrawn (it may run more than once: it
        only touches the session)."""
        recipients = {row.id: _recipients(row) for row in batch}
        wanted = {target for targets in recipients.values() for target in targets}
        departed = store.departed_targets(session, team_id, wanted) if wanted else set()
        if not departed:
            return batch, 0
        gone = {row_id for row_id, targets in recipients.items() if targets & departed}
        store.cancel_pending(session, team_id, ids=gone, reason=DEPARTED, now=now)
        return [row for row in batch if row.id not in gone], len(gone)

    # ----- the call ----------------------------------------------------------------------
    def _call(self, team_id: str, row: store.Claimed) -> Outcome:
        payload = _resolve_parent(row)
        if BUILD in payload:
            try:
                payload = self._builders[str(payload[BUILD])](team_id, payload)
            except Exception as error:  # a database hiccup: retried within the bound
                log.exception("outbox: building %s for %s failed", payload[BUILD], row.key)
                return Outcome(Kind.RETRY, error=f"build: {type(error).__name__}")
        if row.method == "chat.postMessage":
            payload.setdefault(
                "metadata", {"event_type": "pulsebot_outbox", "event_payload": {"key": row.key}}
            )
        self._pacer.departed(row.method, time.monotonic())
        try:
            if row.method in uploads.PSEUDO_METHODS:  # a file upload, a post showing a file
                done = uploads.call(self._client, row.method, payload, row.key, row.attempts)
                return Outcome(Kind.SENT, channel=done.get("channel"), ts=done.get("ts"))
            if row.method == responses.RESPOND:  # an ephemeral message replaced in place
                responses.call(payload)
                return Outcome(Kind.SENT)
            response = self._client.api_call(row.method, json=payload)
        except uploads.RetryLater as error:
            return Outcome(Kind.RETRY, error=error.code)
        except SlackApiError as error:
            return self._classify(row, error)
        except ConnectionRefusedError as error:  # never reached Slack: nothing was posted
            return Outcome(Kind.RETRY, error=f"connection: {error}")
        except (OSError, http.client.HTTPException) as error:
            # Timeouts, resets, an answer cut off mid-body (IncompleteRead): Slack may have
            # done the call. The attempt stays marked; the next one looks before posting.
            return Outcome(Kind.RETRY, error=f"connection: {error}", known=False)
        except Exception as error:  # anything else: retried within the bound, never lost
            log.exception("outbox: %s %s raised unexpectedly", row.method, row.key)
            return Outcome(Kind.RETRY, error=f"unexpected: {type(error).__name__}")
        data: dict[str, Any] = response.data if isinstance(response.data, dict) else {}
        return Outcome(
            Kind.SENT,
            channel=data.get("channel") or _dict(data.get("view")).get("id"),
            ts=data.get("ts") or data.get("message_ts"),
        )

    def _classify(self, row: store.Claimed, error: SlackApiError) -> Outcome:
        limited = self._rate_limited(row.method, error, known=True)
        if limited is not None:
            return limited
        status = error.response.status_code
        code = str(error.response.get("error") or f"http_{status}")
        if code in TOKEN_REFUSED:
            return Outcome(Kind.REFUSED, error=code, counts=False)
        if status >= 500 or code in TRANSIENT_ERRORS:
            return Outcome(Kind.RETRY, error=code)
        return Outcome(Kind.FAILED, error=code)

    def _rate_limited(self, method: str, error: SlackApiError, *, known: bool) -> Outcome | None:
        """A 429 pauses that method for its Retry-After, and the row waits without spending
        an attempt; None when the error is something else. `known`: whether the row's own
        call is known not to have posted (False while looking for a lost answer)."""
        if error.response.status_code != 429 and error.response.get("error") != "ratelimited":
            return None
        retry_after = _retry_after(error.response.headers)
        self._pacer.pause(method, retry_after, time.monotonic())
        self.stats.rate_limited += 1
        return Outcome(
            Kind.RETRY, error="ratelimited", retry_after=retry_after, counts=False, known=known
        )

    def _record(self, team_id: str, row: store.Claimed, outcome: Outcome) -> None:
        now = self._clock()
        if outcome.kind == Kind.SENT:
            self._settled.append((team_id, row, outcome, now))
            if row.method not in DEFERRED_METHODS:  # written now, with any that waited
                self._settled_with(lambda session: None)
            self._count(row, outcome)
            return
        delay = outcome.retry_after or _backoff(row.attempts)

        def bookkeeping(session: Session) -> tuple[bool, int]:
            """The row's outcome; whether this call stopped the workspace, and what waits."""
            stopped_here = False
            waiting = 0
            if outcome.kind == Kind.REFUSED:
                # Not an attempt: Slack did nothing. The row is due again the moment the
                # workspace sends again, and a lost answer it carried is still looked for.
                store.mark_retry(
                    session,
                    row.id,
                    outcome.error or "",
                    now,
                    counts=False,
                    outcome_known=outcome.known,
                )
                stopped_here = workspaces.stop(session, team_id, outcome.error or "", now)
                if stopped_here:
                    waiting = store.status_counts(session, team_id).get(store.PENDING, 0)
            elif outcome.kind == Kind.RETRY and (
                not outcome.counts or row.attempts + 1 < MAX_ATTEMPTS
            ):
                store.mark_retry(
                    session,
                    row.id,
                    outcome.error or "",
                    now + timedelta(seconds=delay),
                    counts=outcome.counts,
                    outcome_known=outcome.known,
                )
            else:
                store.mark_failed(session, row.id, outcome.error or "unknown", now)
            return stopped_here, waiting

        stopped_here, waiting = self._settled_with(bookkeeping)
        if stopped_here:
            self.stats.stopped.append(team_id)
            if self._on_stop is not None:
                self._on_stop(team_id)
            log.error(
                "outbox: Slack refused the token for workspace %s (%s): sending stopped there "
                "until a token works again; %d message(s) wait",
                team_id,
                outcome.error,
                waiting,
            )
        self._count(row, outcome)

    def _write_sent(
        self, session: Session, team_id: str, row: store.Claimed, outcome: Outcome, at: datetime
    ) -> tuple[str, str] | None:
        """Mark the row sent; the (team, user) whose DM channel this wrote, if it wrote one
        (once per person and process)."""
        store.mark_sent(session, row.id, outcome.channel, outcome.ts, at)
        target = _target_channel(row)
        channel = outcome.channel or ""
        if not (target and target[:1] in "UW" and channel.startswith("D")):
            return None
        if (team_id, target) in self._known_dms:
            return None
        store.remember_dm(session, team_id, target, channel)
        return team_id, target

    def _count(self, row: store.Claimed, outcome: Outcome) -> None:
        if outcome.kind == Kind.REFUSED:
            OUTBOX_RETRIED.labels(row.method, _label(outcome.error)).inc()
        elif outcome.kind == Kind.SENT:
            self.stats.sent += 1
            OUTBOX_SENT.labels(row.method).inc()
        elif outcome.kind == Kind.RETRY and (not outcome.counts or row.attempts + 1 < MAX_ATTEMPTS):
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

    # ----- looking before posting again --------------------------------------------------
    def _look_for(self, team_id: str, row: store.Claimed) -> Outcome | None:
        """Did the last call, whose answer was lost, post the message after all?

        Each post carries its idempotency key in message metadata, so the channel's history
        (or the thread's replies) since just before that attempt tells. Found: that message is
        the row's, and nothing is posted again. Not found: post. History unreadable (a scope
        missing, the channel not visible): post again, counted as unverified.
        """
        assert row.attempt_started_at is not None
        payload = _resolve_parent(row)
        channel = payload.get("channel")
        if not isinstance(channel, str) or not channel:
            return None
        try:
            if channel[:1] in "UW":
                channel = self._dm_of(team_id, channel)
            oldest = f"{(row.attempt_started_at - LOOKBACK).timestamp():.6f}"
            thread_ts = payload.get("thread_ts")
            for message in self._history(channel, oldest, thread_ts):
                metadata = _dict(message.get("metadata"))
                if _dict(metadata.get("event_payload")).get("key") == row.key:
                    OUTBOX_RECONCILED.labels("found").inc()
                    log.info("outbox: %s was posted before its answer was lost", row.key)
                    return Outcome(Kind.SENT, channel=channel, ts=str(message.get("ts")))
        except SlackApiError as error:
            method = str(error.response.api_url).rsplit("/", 1)[-1]
            limited = self._rate_limited(method, error, known=False)
            if limited is not None:
                return limited
            code = str(error.response.get("error") or f"http_{error.response.status_code}")
            if code in TOKEN_REFUSED:  # not a missing scope: nothing can be read or posted
                return Outcome(Kind.REFUSED, error=code, counts=False, known=False)
            OUTBOX_RECONCILED.labels("unverified").inc()
            log.warning(
                "outbox: cannot look for %s in Slack (%s); posting it again, it may show twice",
                row.key,
                code,
            )
            return None
        except (OSError, http.client.HTTPException) as error:
            return Outcome(Kind.RETRY, error=f"connection: {error}", known=False)
        OUTBOX_RECONCILED.labels("not_found").inc()
        return None

    def _dm_of(self, team_id: str, user_id: str) -> str:
        known = self._unit(lambda session: store.dm_channel(session, team_id, user_id))
        if known:
            return known
        self._pace("conversations.open")
        response = _dict(self._client.conversations_open(users=user_id).data)
        channel = str(_dict(response.get("channel")).get("id") or "")
        if channel:
            self._unit(lambda session: store.remember_dm(session, team_id, user_id, channel))
        return channel

    def _history(self, channel: str, oldest: str, thread_ts: Any) -> list[dict[str, Any]]:
        """Messages since `oldest`: a thread's replies, or the channel's top level."""
        method = "conversations.replies" if thread_ts else "conversations.history"
        args: dict[str, Any] = {
            "channel": channel,
            "oldest": oldest,
            "include_all_metadata": True,
            "limit": 200,
        }
        if thread_ts:
            args["ts"] = thread_ts
        messages: list[dict[str, Any]] = []
        for _ in range(LOOKUP_PAGES):
            self._pace(method)
            if thread_ts:
                data = _dict(self._client.conversations_replies(**args).data)
            else:
                data = _dict(self._client.conversations_history(**args).data)
            messages += [m for m in data.get("messages") or [] if isinstance(m, dict)]
            cursor = _dict(data.get("response_metadata")).get("next_cursor")
            if not data.get("has_more") or not cursor:
                break
            args["cursor"] = cursor
        return messages

    def _pace(self, method: str) -> None:
        wait = self._pacer.reserve(method, None, time.monotonic())
        if wait > 0:
            self._sleep(wait)

    def _log_throttled(self, error: Exception) -> None:
        """The same failure (a missing table, a database away) logged at most once a minute."""
        signature = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        now = time.monotonic()
        last = self._last_logged.get(signature)
        if last is not None and now - last < LOG_EVERY:
            return
        self._last_logged[signature] = now
        log.error("outbox sender step failed; retrying (%s)", signature, exc_info=error)


def _resolve_parent(row: store.Claimed) -> dict[str, Any]:
    replacements = {PARENT_CHANNEL: row.parent_channel, PARENT_TS: row.parent_ts}
    return {
        key: replacements[value] if isinstance(value, str) and value in replacements else value
        for key, value in row.payload.items()
    }


def _recipients(row: store.Claimed) -> set[str]:
    """The people (user ids) and DMs (D ids) a row is addressed to, if any."""
    found: set[str] = set()
    channel = _target_channel(row)
    if channel and channel[:1] in "UWD":
        found.add(channel)
    user = row.payload.get("user_id")  # views.publish: a person's App Home
    if isinstance(user, str) and user:
        found.add(user)
    return found


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
