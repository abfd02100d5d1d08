"""What `pulsebot checkins run-due` and the scheduler's minute job do: write what is due.

It only writes rows (occurrences, their state, and outbox rows in the same short transaction)
and returns; the outbox sender delivers. That keeps a run fast and makes it safe for several
replicas, restarts or a scheduler that fires twice: the occurrence's unique key and each
outbox row's idempotency key decide who writes, and only the writer sends.

Outbox keys (one Slack call each, ever):
- `checkin:{occurrence}:prompt`            the DM, chat.postMessage to the member's user id
- `checkin:{occurrence}:reminder`          the one reminder
- `checkin:{occurrence}:snooze:{n}`        the re-prompt after the n-th snooze
- `checkin:{occurrence}:answers:manager`   the answers, to the template owner by DM
- `checkin:{occurrence}:upward:manager`    named upward feedback, when the manager is not the owner
- `checkin:header:{template}:{YYYY-MM-DD}` the day's header in the team channel (owner's date)
- `checkin:{occurrence}:answers:channel`   the answers, a reply in that header's thread
- `checkin:{occurrence}:submitted`         chat.update of the latest prompt to "Submitted ✓"

Feedback requests' reminders, closings and summaries are due rows too: their keys are listed in
handlers/feedback_requests.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot import digest_runner
from bot.deps import Deps
from bot.digest_runner import DigestPolicy
from bot.services import checkins, feedback_requests
from handlers.checkin_messages import enqueue_prompt, enqueue_reminder
from handlers.feedback_requests import enqueue_closing, enqueue_reminders
from storage.engine import unit_of_work

log = logging.getLogger(__name__)

BATCH = 200
# Digests the scheduler's minute job writes per run (each is built and drawn, ~40 ms): a
# Monday's thousand spread over a few minutes, so prompts due meanwhile are not held up.
DIGESTS_PER_RUN = 100
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
    digests: int = 0  # weekly digests written (bot/digest_runner.py)

    @property
    def messages(self) -> int:
        return (
            self.prompted
            + self.reminded
            + self.reprompted
            + self.requests_reminded
            + self.requests_closed
            + self.digests
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
        )


def run_due(
    source: sessionmaker[Session] | Deps,
    now: datetime,
    *,
    team_id: str | None = None,
    batch_size: int = BATCH,
    digests: DigestPolicy | None = None,
    digest_limit: int | None = None,
) -> RunSummary:
    """Everything due at or before `now`, one short transaction per batch.

    Order matters: closings first (a check-in past its close gets no reminder), then new
    occurrences, re-prompts after snoozes (which count as the reminder if one was due), and
    reminders. Last, the weekly digests due (`digests`, or the settings of `Deps`; a bare
    session factory without a policy writes none).
    """
    factory = source.session_factory if isinstance(source, Deps) else source
    if digests is None and isinstance(source, Deps):
        digests = DigestPolicy.from_settings(source.settings)
    summary = RunSummary()
    for _ in range(MAX_ROUNDS):
        with unit_of_work(factory) as session:
            closed = checkins.close_due(session, now, team_id, batch_size)
        summary.closed += len(closed)
        if len(closed) < batch_size:
            break
    with unit_of_work(factory) as session:
        batches = checkins.plan_batches(session, now, team_id, batch_size)
    for batch in batches:
        with unit_of_work(factory) as session:
            result = checkins.plan_due(session, now, batch=batch)
            for due in result.created:
                enqueue_prompt(session, due, now)
        summary.prompted += len(result.created)
        summary.missed += len(result.missed)
        summary.away += len(result.away)
    for _ in range(MAX_ROUNDS):
        with unit_of_work(factory) as session:
            snoozes = checkins.due_snoozes(session, now, team_id, batch_size)
            for due in snoozes:
                enqueue_prompt(session, due, now, snoozed=True)
        summary.reprompted += len(snoozes)
        if len(snoozes) < batch_size:
            break
    for _ in range(MAX_ROUNDS):
        with unit_of_work(factory) as session:
            reminders = checkins.due_reminders(session, now, team_id, batch_size)
            for due in reminders:
                enqueue_reminder(session, due, now)
        summary.reminded += len(reminders)
        if len(reminders) < batch_size:
            break
    _run_feedback_requests(factory, now, team_id, batch_size, summary)
    if digests is not None:
        summary.digests = digest_runner.write_due(
            factory, now, digests, team_id=team_id, limit=digest_limit
        ).written
    return summary


def _run_feedback_requests(
    factory: sessionmaker[Session],
    now: datetime,
    team_id: str | None,
    batch_size: int,
    summary: RunSummary,
) -> None:
    """Closings first (a request past due gets no reminder), then the day-before reminders."""
    for _ in range(MAX_ROUNDS):
        with unit_of_work(factory) as session:
            closings = feedback_requests.due_closings(session, now, team_id, batch_size)
            for closing in closings:
                enqueue_closing(session, closing, now)
        summary.requests_closed += len(closings)
        if len(closings) < batch_size:
            break
    for _ in range(MAX_ROUNDS):
        with unit_of_work(factory) as session:
            due = feedback_requests.due_reminders(session, now, team_id, batch_size)
            for request, pending in due:
                summary.requests_reminded += enqueue_reminders(session, request, pending, now)
        if len(due) < batch_size:
            break


def scheduled_job(deps: Deps) -> Callable[[], None]:
    """The scheduler's minute job: run what is due now, then wake this process's sender."""

    def job() -> None:
        summary = run_due(deps, deps.now(), digest_limit=DIGESTS_PER_RUN)
        if summary.messages or summary.closed or summary.missed or summary.away:
            log.info("check-ins: %s", summary)
        if summary.messages:
            deps.notify_outbox()

    return job
