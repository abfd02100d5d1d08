"""The outbox: Web API calls written with the state they report, sent later exactly once."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from storage import workspaces
from storage.fast_path import driver
from storage.models import DirectoryUser, DmChannel, OutboxMessage, SenderLease
from storage.upserts import insert_ignoring_conflict, rowcount, supports_skip_locked

OUTBOX: Table = OutboxMessage.__table__


class OutboxStatus(StrEnum):
    """A row's delivery state, as stored: waiting (or retrying), done, or given up for good."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # withdrawn on purpose (its person left): settled, not a failure


PENDING, SENT, FAILED = OutboxStatus.PENDING, OutboxStatus.SENT, OutboxStatus.FAILED
CANCELLED = OutboxStatus.CANCELLED
# A row's `priority`: what answers a person's action now, or what a job or a fan-out wrote.
# Which feature writes which is bot/notify's business; the claim orders by it.
INTERACTIVE, BULK = 0, 1


def enqueue(
    session: Session,
    *,
    team_id: str,
    key: str,
    method: str,
    payload: dict[str, Any],
    now: datetime,
    depends_on: int | None = None,
    not_before: datetime | None = None,
    priority: int = INTERACTIVE,
) -> int:
    """Add a call unless its idempotency key is already there; returns the row id either way.

    Without `not_before` the row is sendable at once by every process, whatever instant its
    writer was told (a `run-due --at` ahead of the wall clock must not strand its rows).
    """
    new_id = insert_ignoring_conflict(
        session,
        OutboxMessage.__table__,
        {
            "team_id": team_id,
            "idempotency_key": key,
            "method": method,
            "payload": payload,
            "depends_on_id": depends_on,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": not_before,
            "priority": priority,
            "created_at": now,
        },
    )
    if new_id is not None:
        return int(new_id)
    return session.execute(
        select(OutboxMessage.id).where(
            OutboxMessage.team_id == team_id, OutboxMessage.idempotency_key == key
        )
    ).scalar_one()


def enqueue_many(
    session: Session,
    *,
    team_id: str,
    rows: list[tuple[str, str, dict[str, Any]]],
    now: datetime,
    priority: int = INTERACTIVE,
    not_before: datetime | None = None,
) -> None:
    """Several independent calls (key, method, payload) in one statement, one round trip;
    known keys are kept. `not_before` holds them back until then (`release` lets them go).

    Driver level (storage.fast_path): this is on the `/kudos` ack path. The payload is stored as
    SQLAlchemy's JSON type stores it, `json.dumps` text.
    """
    if not rows:
        return
    db = driver(session)
    params: dict[str, Any] = {
        "team_id": team_id,
        "status": PENDING,
        "priority": priority,
        "created_at": db.utc(now),
        "not_before": db.utc(not_before),
    }
    rows_sql = []
    for i, (key, method, payload) in enumerate(rows):
        params[f"k{i}"], params[f"m{i}"], params[f"p{i}"] = key, method, json.dumps(payload)
        rows_sql.append(
            f"(%(team_id)s, %(k{i})s, %(m{i})s, %(p{i})s, NULL, %(status)s, 0, %(not_before)s,"
            " %(priority)s, %(created_at)s)"
        )
    db.write(
        "INSERT INTO outbox (team_id, idempotency_key, method, payload, depends_on_id, status,"
        " attempts, next_attempt_at, priority, created_at) VALUES "
        + ", ".join(rows_sql)
        + " ON CONFLICT (team_id, idempotency_key) DO NOTHING",
        params,
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row to send, with what its parent returned (a thread reply needs the header's ts)."""

    id: int
    key: str
    method: str
    payload: dict[str, Any]
    attempts: int
    parent_channel: str | None
    parent_ts: str | None
    attempt_started_at: datetime | None = None  # set: the last call's outcome is unknown
    priority: int = INTERACTIVE


def claim_due(
    session: Session,
    team_id: str,
    now: datetime,
    limit: int | Callable[[str], int],
    skip_methods: Collection[str] = (),
    bulk_floor: int | Callable[[str], int] = 0,
) -> list[Claimed]:
    """Rows due now whose parent (if any) was sent, up to `limit` per method (a number, or one
    per method): interactive rows first, then bulk ones, each oldest first.

    Per method, so a fan-out of thousands of DMs never fills the batch ahead of an App Home
    publish or a chat.update. `skip_methods` (those under a 429 pause) are left out. When
    interactive rows alone fill a method's batch, its oldest bulk rows are claimed besides them,
    up to `bulk_floor`, so the sender can still give bulk rows their share of the method.

    `FOR UPDATE SKIP LOCKED` on PostgreSQL keeps two claimers apart during the claim; the sender
    lease is what keeps a second sender from sending at all (SQLite has only the lease).
    """
    due = and_(
        OutboxMessage.team_id == team_id,
        OutboxMessage.status == PENDING,
        _ready(now),
    )
    methods = session.scalars(select(OutboxMessage.method).where(due).distinct()).all()
    claimed: list[Claimed] = []
    for method in sorted(set(methods) - set(skip_methods)):
        size = limit(method) if callable(limit) else limit
        floor = bulk_floor(method) if callable(bulk_floor) else bulk_floor
        batch = _claim_method(session, due, method, size)
        bulk = sum(1 for row in batch if row.priority == BULK)
        if len(batch) == size and bulk < floor:
            taken = {row.id for row in batch}
            more = _claim_method(session, and_(due, OutboxMessage.priority == BULK), method, floor)
            batch += [row for row in more if row.id not in taken][: floor - bulk]
        claimed += batch
    return claimed


def _claim_method(session: Session, due: Any, method: str, limit: int) -> list[Claimed]:
    """Plain columns, not ORM rows: nothing claimed is changed through the session."""
    parent = aliased(OutboxMessage)
    query = (
        select(
            OutboxMessage.id,
            OutboxMessage.idempotency_key,
            OutboxMessage.payload,
            OutboxMessage.attempts,
            OutboxMessage.attempt_started_at,
            OutboxMessage.priority,
            parent.result_channel,
            parent.result_ts,
        )
        .outerjoin(parent, parent.id == OutboxMessage.depends_on_id)
        .where(
            due,
            OutboxMessage.method == method,
            or_(OutboxMessage.depends_on_id.is_(None), parent.status == SENT),
        )
        .order_by(
            OutboxMessage.priority,
            OutboxMessage.next_attempt_at.is_not(None),
            OutboxMessage.next_attempt_at,
            OutboxMessage.id,
        )
        .limit(limit)
    )
    if supports_skip_locked(session):
        query = query.with_for_update(skip_locked=True, of=OutboxMessage)
    return [
        Claimed(
            id=row_id,
            key=key,
            method=method,
            payload=payload,
            attempts=attempts,
            parent_channel=channel,
            parent_ts=ts,
            attempt_started_at=started,
            priority=priority,
        )
        for row_id, key, payload, attempts, started, priority, channel, ts in session.execute(
            query
        )
    ]


def _ready(now: datetime) -> Any:
    """Sendable now: written for "now" (no not-before time) or delayed until an instant passed."""
    return or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now)


def fail_orphans(session: Session, team_id: str, now: datetime) -> int:
    """Rows whose parent failed for good can never be sent: fail them too, visibly. Rows whose
    parent was cancelled (a thread reply under a withdrawn DM) are cancelled with it."""
    settled = 0
    for parent_status, error in ((FAILED, "parent_failed"), (CANCELLED, "parent_cancelled")):
        parent = aliased(OutboxMessage)
        orphan_ids = (
            select(OutboxMessage.id)
            .join(parent, parent.id == OutboxMessage.depends_on_id)
            .where(
                OutboxMessage.team_id == team_id,
                OutboxMessage.status == PENDING,
                parent.status == parent_status,
            )
        )
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(orphan_ids.scalar_subquery()))
            .values(status=parent_status, last_error=error, sent_at=now)
            .execution_options(synchronize_session=False)
        )
        settled += rowcount(result) or 0
    return settled


def cancel_pending_to(
    session: Session, team_id: str, user_id: str, reason: str, now: datetime
) -> int:
    """Withdraw every row not yet sent that is addressed to this person: posted to their user id
    or to their DM channel, or their App Home. Rows threaded under a withdrawn one follow it
    (`fail_orphans`). Returns how many were withdrawn."""
    targets = [user_id]
    dm = dm_channel(session, team_id, user_id)
    if dm:
        targets.append(dm)
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.team_id == team_id,
            OutboxMessage.status == PENDING,
            or_(
                OutboxMessage.payload["channel"].as_string().in_(targets),
                OutboxMessage.payload["user_id"].as_string() == user_id,
            ),
        )
        .values(status=CANCELLED, last_error=reason, sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) or 0


def cancel_pending(
    session: Session,
    team_id: str,
    *,
    ids: Collection[int] = (),
    keys: Collection[str] = (),
    reason: str,
    now: datetime,
) -> int:
    """Withdraw these rows (by id or idempotency key) if they are still pending; rows threaded
    under them follow (`fail_orphans`). Returns how many were withdrawn."""
    withdrawn = 0
    chosen: list[Any] = [
        *(OutboxMessage.id.in_(chunk) for chunk in _chunks(sorted(ids))),
        *(OutboxMessage.idempotency_key.in_(chunk) for chunk in _chunks(sorted(keys))),
    ]
    for where in chosen:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.team_id == team_id, OutboxMessage.status == PENDING, where)
            .values(status=CANCELLED, last_error=reason, sent_at=now)
            .execution_options(synchronize_session=False)
        )
        withdrawn += rowcount(result) or 0
    return withdrawn


def ids_of(session: Session, team_id: str, keys: Collection[str]) -> dict[str, int]:
    """The rows these idempotency keys name (whatever their status), by key."""
    if not keys:
        return {}
    rows = session.execute(
        select(OutboxMessage.idempotency_key, OutboxMessage.id).where(
            OutboxMessage.team_id == team_id, OutboxMessage.idempotency_key.in_(sorted(keys))
        )
    )
    return {key: row_id for key, row_id in rows}


def release(session: Session, team_id: str, payloads: dict[str, dict[str, Any]]) -> int:
    """Rows held back on purpose (`not_before`) go now, each with its final payload; rows
    already tried (sent when the hold ran out, being sent, or withdrawn) stay as they are.
    Returns how many were released."""
    released = 0
    for key, payload in payloads.items():
        result = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.team_id == team_id,
                OutboxMessage.idempotency_key == key,
                OutboxMessage.status == PENDING,
                OutboxMessage.attempts == 0,
                OutboxMessage.attempt_started_at.is_(None),
            )
            .values(payload=payload, next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )
        released += rowcount(result) or 0
    return released


def _chunks(values: list[Any], size: int = 500) -> list[list[Any]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


def departed_targets(session: Session, team_id: str, targets: Collection[str]) -> set[str]:
    """Those of these user ids and DM channel ids that belong to a deactivated person."""
    wanted = sorted(set(targets))
    if not wanted:
        return set()
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            session.scalars(
                select(DirectoryUser.user_id).where(
                    DirectoryUser.team_id == team_id,
                    DirectoryUser.deleted.is_(True),
                    DirectoryUser.user_id.in_(chunk),
                )
            )
        )
        found.update(
            session.scalars(
                select(DmChannel.channel_id)
                .join(
                    DirectoryUser,
                    and_(
                        DirectoryUser.team_id == DmChannel.team_id,
                        DirectoryUser.user_id == DmChannel.user_id,
                    ),
                )
                .where(
                    DmChannel.team_id == team_id,
                    DirectoryUser.deleted.is_(True),
                    DmChannel.channel_id.in_(chunk),
                )
            )
        )
    return found


def mark_sent(
    session: Session, row_id: int, channel: str | None, ts: str | None, now: datetime
) -> None:
    session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == row_id)
        .values(
            status=SENT,
            result_channel=channel,
            result_ts=ts,
            sent_at=now,
            attempts=OUTBOX.c.attempts + 1,
            last_error=None,
            attempt_started_at=None,
        )
    )


def mark_attempt(session: Session, row_id: int, now: datetime) -> None:
    """A call is about to start: until Slack answers, its outcome is unknown."""
    session.execute(update(OUTBOX).where(OUTBOX.c.id == row_id).values(attempt_started_at=now))


def remember_dm(session: Session, team_id: str, user_id: str, channel_id: str) -> None:
    insert_ignoring_conflict(
        session,
        DmChannel.__table__,
        {"team_id": team_id, "user_id": user_id, "channel_id": channel_id},
    )


def dm_channel(session: Session, team_id: str, user_id: str) -> str | None:
    return session.scalar(
        select(DmChannel.channel_id).where(
            DmChannel.team_id == team_id, DmChannel.user_id == user_id
        )
    )


def mark_retry(
    session: Session,
    row_id: int,
    error: str,
    next_attempt_at: datetime,
    *,
    counts: bool = True,
    outcome_known: bool = True,
) -> None:
    """Schedule another try; a rate-limit pause (`counts=False`) does not use up the bound.

    `outcome_known=False` (a timeout, a connection lost mid-call) keeps the attempt marked, so
    the next try looks for the message in Slack first.
    """
    values: dict[str, Any] = {"next_attempt_at": next_attempt_at, "last_error": error}
    if outcome_known:
        values["attempt_started_at"] = None
    if counts:
        values["attempts"] = OUTBOX.c.attempts + 1
    session.execute(update(OUTBOX).where(OUTBOX.c.id == row_id).values(**values))


def mark_failed(session: Session, row_id: int, error: str, now: datetime) -> None:
    session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == row_id)
        .values(status=FAILED, last_error=error, sent_at=now, attempts=OUTBOX.c.attempts + 1)
    )


def status_counts(session: Session, team_id: str | None = None) -> dict[str, int]:
    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    if team_id is not None:
        query = query.where(OutboxMessage.team_id == team_id)
    return {status: count for status, count in session.execute(query)}


def ready_teams(session: Session, now: datetime) -> list[str]:
    """Workspaces with a row to settle now: ready, and its parent (if any) sent or failed
    (the child of a failed parent fails too).

    A sender takes a workspace's lease only for these: holding it for rows it cannot send yet
    would stand between another process and rows that process can send. A workspace whose
    sending is stopped (`storage.workspaces`) has none: its rows wait.
    """
    parent = aliased(OutboxMessage)
    query = (
        select(OutboxMessage.team_id)
        .outerjoin(parent, parent.id == OutboxMessage.depends_on_id)
        .where(
            OutboxMessage.status == PENDING,
            _ready(now),
            or_(
                OutboxMessage.depends_on_id.is_(None),
                parent.status.in_((SENT, FAILED, CANCELLED)),
            ),
        )
        .distinct()
    )
    teams = list(session.scalars(query))
    if not teams:
        return teams
    halted = {stop.team_id for stop in workspaces.stopped(session)}
    return [team for team in teams if team not in halted]


def teams_of(session: Session, ids: Collection[int]) -> set[str]:
    """The workspaces these rows belong to."""
    ordered = sorted(ids)
    found: set[str] = set()
    for start in range(0, len(ordered), 500):
        found.update(
            session.scalars(
                select(OutboxMessage.team_id)
                .where(OutboxMessage.id.in_(ordered[start : start + 500]))
                .distinct()
            )
        )
    return found


def last_id(session: Session) -> int:
    return int(session.scalar(select(func.max(OutboxMessage.id))) or 0)


def due_ids(session: Session, at: datetime, up_to_id: int) -> list[int]:
    """Pending rows written up to `up_to_id` that were due at or before `at`: written for now,
    delayed to an instant up to `at`, or waiting out a retry's backoff (whenever it ends)."""
    return list(
        session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.status == PENDING,
                OutboxMessage.id <= up_to_id,
                or_(_ready(at), OutboxMessage.last_error.is_not(None)),
            )
        )
    )


def statuses_of(session: Session, ids: Collection[int]) -> dict[int, str]:
    """The status of each of these rows, in chunks (a fan-out can name thousands)."""
    ordered = sorted(ids)
    found: dict[int, str] = {}
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        rows = session.execute(
            select(OutboxMessage.id, OutboxMessage.status).where(OutboxMessage.id.in_(chunk))
        )
        found.update((row_id, status) for row_id, status in rows)
    return found


def known_keys(session: Session, team_id: str, keys: Collection[str]) -> set[str]:
    """Which of these idempotency keys a row already has, in chunks: a fan-out that runs every
    minute asks before it writes, instead of writing thousands of rows that are refused."""
    ordered = sorted(set(keys))
    found: set[str] = set()
    for start in range(0, len(ordered), 500):
        found.update(
            session.scalars(
                select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.team_id == team_id,
                    OutboxMessage.idempotency_key.in_(ordered[start : start + 500]),
                )
            )
        )
    return found


def hold_lease(session: Session, team_id: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the sender lease; True when `holder` holds it until now + ttl."""
    insert_ignoring_conflict(
        session,
        SenderLease.__table__,
        {"team_id": team_id, "holder": holder, "expires_at": now + ttl},
    )
    result = session.execute(
        update(SenderLease)
        .where(
            SenderLease.team_id == team_id,
            or_(SenderLease.holder == holder, SenderLease.expires_at < now),
        )
        .values(holder=holder, expires_at=now + ttl)
    )
    return bool(rowcount(result))


def release_lease(session: Session, team_id: str, holder: str, now: datetime) -> None:
    """Give the lease up on a clean stop so another replica takes over at once."""
    session.execute(
        update(SenderLease)
        .where(and_(SenderLease.team_id == team_id, SenderLease.holder == holder))
        .values(expires_at=now - timedelta(seconds=1))
    )
