"""How long pulsebot keeps what people wrote, and everything else.

Two horizons, each unset by default (keep):
- `text_days`: free text older than this goes (text and choice answers, notes, feedback,
  kudos messages, requests' topics, questions and answers, what was said in exchanges, the text
  inside stored digests, and the outbox's copies of what was sent). The rows stay with their
  numbers and states, so the pulse trend, participation and every count read the same.
- `row_days`: whole rows older than this go (check-ins with their answers, kudos, feedback,
  requests, exchanges, notes, digests, settled outbox rows, seen events, out-of-office
  periods). The audit log and the directory (a copy of Slack's) are not aged.

Each step takes at most `batch` rows per call; the minute job repeats it in short transactions
(`bot.jobs.minute.drain`) so a request's ack never waits behind a long delete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.settings import DataSettings
from storage import privacy as audit_store
from storage import retention as store
from storage.privacy import REMOVED

BATCH = 2000
RUN = "retention"

Step = Callable[[Session], int]


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    text_days: int | None = None
    row_days: int | None = None
    batch: int = BATCH

    @classmethod
    def from_settings(cls, settings: DataSettings) -> RetentionPolicy:
        return cls(text_days=settings.retain_text_days, row_days=settings.retain_days)

    @property
    def active(self) -> bool:
        return self.text_days is not None or self.row_days is not None


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def steps(policy: RetentionPolicy, now: datetime) -> list[tuple[str, Step]]:
    """(what it counts, one batch) in the order they run: text first, then whole rows, and
    within rows the ones others point at last (a check-in before the outbox row it names)."""
    limit = policy.batch
    found: list[tuple[str, Step]] = []
    if policy.text_days is not None:
        text_cut = now - timedelta(days=policy.text_days)
        text_week = iso_week(text_cut.date())
        # One cursor per step that keeps the rows it changed: each run starts afresh.
        at = [store.Cursor() for _ in range(8)]
        found += [
            ("answer texts", lambda s: store.delete_text_answers(s, text_cut, limit, at[0])),
            ("notes", lambda s: store.delete_notes(s, text_week, limit)),
            ("feedback texts", lambda s: store.blank_feedback(s, text_cut, limit, at[1])),
            ("kudos messages", lambda s: store.blank_kudos(s, text_cut, limit, at[2])),
            ("request texts", lambda s: store.blank_requests(s, text_cut, limit, at[3])),
            ("exchange messages", lambda s: store.blank_messages(s, text_cut, limit, at[4])),
            ("goal update notes", lambda s: store.blank_goal_notes(s, text_cut, limit, at[7])),
            ("digest texts", lambda s: strip_digests(s, text_cut, limit, at[6])),
            ("sent message copies", lambda s: store.redact_outbox(s, text_cut, limit, RUN, at[5])),
        ]
    if policy.row_days is not None:
        row_cut = now - timedelta(days=policy.row_days)
        row_week, row_day = iso_week(row_cut.date()), row_cut.date()
        found += [
            ("goal updates", lambda s: store.delete_goal_updates(s, row_cut, limit)),
            ("check-ins", lambda s: store.delete_checkins(s, row_cut, limit)),
            ("kudos", lambda s: store.delete_kudos(s, row_cut, limit)),
            ("kudos budget days", lambda s: store.delete_budget(s, row_day, limit)),
            ("feedback", lambda s: store.delete_feedback(s, row_cut, limit)),
            ("feedback requests", lambda s: store.delete_requests(s, row_cut, limit)),
            ("exchange messages deleted", lambda s: store.delete_messages(s, row_cut, limit)),
            ("notes deleted", lambda s: store.delete_notes(s, row_week, limit)),
            ("digests", lambda s: store.delete_digests(s, row_cut, limit)),
            ("outbox rows", lambda s: store.delete_outbox(s, row_cut, limit)),
            ("seen events", lambda s: store.delete_events(s, row_cut, limit)),
            ("out-of-office periods", lambda s: store.delete_ooo(s, row_day, limit)),
        ]
    return found


def strip_digests(
    session: Session, before: datetime, limit: int, cursor: store.Cursor | None = None
) -> int:
    rows = store.digests_with_text(session, before, limit, cursor)
    for digest_id, content in rows:
        store.set_digest_content(session, digest_id, without_text(content))
    return len(rows)


def without_text(content: dict[str, Any]) -> dict[str, Any]:
    """A stored digest with its words gone (blockers, answer summaries, signed notes) and
    every name and number kept; marked, so it is not read again."""
    data = dict(content)
    data["blockers"] = [{**b, "text": REMOVED} for b in data.get("blockers") or []]
    data["answers"] = [{**a, "summary": ""} for a in data.get("answers") or []]
    data["named_notes"] = [[n[0], REMOVED] for n in data.get("named_notes") or []]
    data[store.TEXT_REMOVED] = True
    return data


def claim_day(session: Session, now: datetime, actor: str) -> int | None:
    """Today's run (UTC), for whichever process asks first; None when it was claimed already."""
    return audit_store.start_run(
        session,
        action=RUN,
        actor=actor,
        started_at=now,
        run_key=f"{RUN}:{now.date().isoformat()}",
    )


def start(session: Session, now: datetime, actor: str) -> int:
    """A run asked for by hand: no daily key, so it always runs."""
    run_id = audit_store.start_run(session, action=RUN, actor=actor, started_at=now)
    assert run_id is not None
    return run_id


def finish(session: Session, run_id: int, counts: dict[str, int], now: datetime) -> None:
    audit_store.finish_run(session, run_id, counts, now)
