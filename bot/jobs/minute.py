"""The minute job, also `pulsebot checkins run-due`: write everything that is due.

It only writes rows (occurrences, their state, and outbox rows in the same short transaction)
and returns; the outbox sender delivers. That keeps a run fast and makes it safe for several
replicas, restarts or a scheduler that fires twice: the occurrence's unique key and each
outbox row's idempotency key decide who writes, and only the writer sends.

What it writes and under which idempotency keys is bot/notify's business (one module per
feature); this module only decides what is due, in which order, in which batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.deps import Deps
from bot.jobs import digests as digest_jobs
from bot.jobs import goal_cycle
from bot.jobs.digests import DigestPolicy
from bot.notify import checkins as notify
from bot.notify import feedback_requests as notify_requests
from bot.services import checkins, feedback_requests, retention
from bot.services.retention import RetentionPolicy
from storage.engine import read_only, unit_of_work

log = logging.getLogger(__name__)

BATCH = 200
# Digests the scheduler's minute job writes per run (each is built and drawn, ~70 ms): a
# Monday's thousand spread over a few minutes, so prompts due meanwhile are not held up.
DIGESTS_PER_RUN = 100
# And no more than this many of a workspace's digests waiting in the outbox: two runs' worth
# at the pace a digest with a chart leaves (file uploads, 50 a minute), so the queue never
# runs dry between runs and nothing is drawn long before Slack can take it.
DIGESTS_AHEAD = 50
MAX_ROUNDS = 10_000  # batches per kind and run: a guard, never reached while claims progress


@dataclass
class RunSummary:
    prompted: int = 0
    reminded: int = 0
    reprompted: int = 0  # after a snooze
    closed: int = 0  # pending -> missed at close time
    missed: int = 0  # written as missed in a catch-up (closed before anyone wrote them)
    away: int = 0
    requests_reminded: int = 0  # people reminded of a feedback request due within a day
    requests_closed: int = 0  # feedback requests closed (each with its summary)
    digests: int = 0  # weekly digests written (bot/jobs/digests.py)
    goal_closings: int = 0  # owners asked to close a cycle's objectives (bot/jobs/goal_cycle.py)
    retained: int = 0  # rows today's retention run deleted or emptied (once a day)

    @property
    def messages(self) -> int:
        return (
            self.prompted
            + self.reminded
            + self.reprompted
            + self.requests_reminded
            + self.requests_closed
            + self.digests
            + self.goal_closings
        )

    def no_checkin_work(self) -> bool:
        """Nothing happened to any check-in occurrence (digests and requests aside)."""
        return not (
            self.prompted
            or self.reminded
            or self.reprompted
            or self.closed
            or self.missed
            or self.away
        )

    def __str__(self) -> str:
        return (
            f"{self.prompted} prompted, {self.reminded} reminded, {self.reprompted} re-prompted "
            f"after a snooze, {self.closed} closed, {self.missed} missed while down, "
            f"{self.away} away, {self.digests} digest(s)"
            + (
                f", {self.requests_reminded} reminded of a feedback request, "
                f"{self.requests_closed} feedback requests closed"
                if self.requests_reminded or self.requests_closed
                else ""
            )
            + (f", {self.goal_closings} asked to close a goal cycle" if self.goal_closings else "")
            + (f", {self.retained} row(s) past retention" if self.retained else "")
        )


def run_due(
    source: sessionmaker[Session] | Deps,
    now: datetime,
    *,
    team_id: str | None = None,
    batch_size: int = BATCH,
    digests: DigestPolicy | None = None,
    digest_limit: int | None = None,
    digests_ahead: int | None = None,
    keep: RetentionPolicy | None = None,
) -> RunSummary:
    """Everything due at or before `now`, one short transaction per batch.

    Order matters: closings first (a check-in past its close gets no reminder), then new
    occurrences, re-prompts after snoozes (which count as the reminder if one was due), and
    reminders. Then feedback requests, the closing DMs of a goal cycle's last day, and the
    weekly digests due (`digests`, or the settings of `Deps`; a bare session factory without a
    policy writes none), up to `digest_limit` and `digests_ahead` (bot/jobs/digests.py).
    Last, once a day, retention (`keep`, or the settings of `Deps`).
    """
    factory = source.session_factory if isinstance(source, Deps) else source
    if digests is None and isinstance(source, Deps):
        digests = DigestPolicy.from_settings(source.settings)
    if keep is None and isinstance(source, Deps):
        keep = RetentionPolicy.from_settings(source.settings)
    summary = RunSummary()

    def close(session: Session) -> int:
        return len(checkins.close_due(session, now, team_id, batch_size))

    def reprompt(session: Session) -> int:
        snoozes = checkins.due_snoozes(session, now, team_id, batch_size)
        for due in snoozes:
            notify.enqueue_prompt(session, due, now, snoozed=True)
        return len(snoozes)

    def remind(session: Session) -> int:
        reminders = checkins.due_reminders(session, now, team_id, batch_size)
        for due in reminders:
            notify.enqueue_reminder(session, due, now)
        return len(reminders)

    summary.closed = drain(factory, close, batch_size)
    with read_only(factory) as session:  # most minutes: no template has anything due
        batches = checkins.plan_batches(session, now, team_id, batch_size, only_due=True)
    for batch in batches:
        with unit_of_work(factory) as session:
            result = checkins.plan_due(session, now, batch=batch)
            for due in result.created:
                notify.enqueue_prompt(session, due, now)
        summary.prompted += len(result.created)
        summary.missed += len(result.missed)
        summary.away += len(result.away)
    summary.reprompted = drain(factory, reprompt, batch_size)
    summary.reminded = drain(factory, remind, batch_size)
    _run_feedback_requests(factory, now, team_id, batch_size, summary)
    summary.goal_closings = goal_cycle.write_due(
        factory, now, team_id=team_id, batch_size=batch_size
    )
    if digests is not None:
        summary.digests = digest_jobs.write_due(
            factory, now, digests, team_id=team_id, limit=digest_limit, ahead=digests_ahead
        ).written
    if keep is not None and keep.active:
        counts = apply_retention(factory, now, keep)
        summary.retained = sum(counts.values()) if counts else 0
    return summary


def apply_retention(
    factory: sessionmaker[Session],
    now: datetime,
    policy: RetentionPolicy,
    *,
    actor: str = "minute job",
    daily: bool = True,
) -> dict[str, int] | None:
    """Delete or empty what is older than the policy keeps, step by step in batches; what each
    step did, or None when today's run (UTC) was already claimed by this or another process.
    `daily=False` (a run asked for by hand) always runs. Every run is in the audit log."""
    with unit_of_work(factory) as session:
        if daily:
            run_id = retention.claim_day(session, now, actor)
        else:
            run_id = retention.start(session, now, actor)
    if run_id is None:
        return None
    counts = {
        name: drain(factory, step, policy.batch) for name, step in retention.steps(policy, now)
    }
    with unit_of_work(factory) as session:
        retention.finish(session, run_id, counts, now)
    if any(counts.values()):
        log.info("retention: %s", ", ".join(f"{n} {name}" for name, n in counts.items() if n))
    return counts


def drain(factory: sessionmaker[Session], step: Callable[[Session], int], batch_size: int) -> int:
    """Run `step` (which claims at most `batch_size` items and returns how many it claimed),
    each time in a short unit of work of its own, until a batch comes back short; the total.

    Short transactions keep the ack path's writers from waiting behind a whole fan-out.
    """
    total = 0
    for _ in range(MAX_ROUNDS):
        with unit_of_work(factory) as session:
            claimed = step(session)
        total += claimed
        if claimed < batch_size:
            break
    return total


def _run_feedback_requests(
    factory: sessionmaker[Session],
    now: datetime,
    team_id: str | None,
    batch_size: int,
    summary: RunSummary,
) -> None:
    """Closings first (a request past due gets no reminder), then the day-before reminders."""

    def close(session: Session) -> int:
        closings = feedback_requests.due_closings(session, now, team_id, batch_size)
        for closing in closings:
            notify_requests.enqueue_closing(session, closing, now)
        return len(closings)

    def remind(session: Session) -> int:
        due = feedback_requests.due_reminders(session, now, team_id, batch_size)
        for request, pending in due:
            summary.requests_reminded += notify_requests.enqueue_reminders(
                session, request, pending, now
            )
        return len(due)

    summary.requests_closed = drain(factory, close, batch_size)
    drain(factory, remind, batch_size)


def scheduled_job(deps: Deps) -> Callable[[], None]:
    """The scheduler's minute job: run what is due now, then wake this process's sender."""

    def job() -> None:
        summary = run_due(
            deps, deps.now(), digest_limit=DIGESTS_PER_RUN, digests_ahead=DIGESTS_AHEAD
        )
        if summary.messages or summary.closed or summary.missed or summary.away:
            log.info("check-ins: %s", summary)
        if summary.messages:
            deps.notify_outbox()

    return job
