"""The outbox's claim order, without Slack and without timing: interactive rows first.

A person's action (a kudos, a reply) must not wait behind a Monday's fan-out of digests; the
claim, not the sender's speed, is what guarantees it, so it is tested on the claim alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from storage import outbox

TEAM = "T0CLAIM"
NOW = datetime(2037, 3, 9, 8, 0, tzinfo=UTC)


def _post(
    session: Session, key: str, channel: str, text: str, now: datetime, *, bulk: bool = False
) -> None:
    _row(session, key, "chat.postMessage", {"channel": channel, "text": text}, now, bulk=bulk)


def _row(
    session: Session,
    key: str,
    method: str,
    payload: dict[str, Any],
    now: datetime,
    *,
    bulk: bool = False,
) -> None:
    outbox.enqueue(
        session,
        team_id=TEAM,
        key=key,
        method=method,
        payload=payload,
        now=now,
        priority=outbox.BULK if bulk else outbox.INTERACTIVE,
    )


def test_an_interactive_row_written_after_150_bulk_rows_is_claimed_first(session: Session) -> None:
    for n in range(150):
        at = NOW + timedelta(seconds=n)
        _post(session, f"digest:UM{n:03d}:message", f"UM{n:03d}", "Weekly digest", at, bulk=True)
    _post(session, "kudos:1:dm:UBEN", "UBEN", "You got kudos", NOW + timedelta(minutes=5))
    session.flush()
    claimed = outbox.claim_due(session, TEAM, NOW + timedelta(minutes=5), limit=10)
    assert claimed[0].key == "kudos:1:dm:UBEN"
    # Then the bulk rows, oldest first.
    assert [c.key for c in claimed[1:]] == [f"digest:UM{n:03d}:message" for n in range(9)]
    (only,) = outbox.claim_due(session, TEAM, NOW + timedelta(minutes=5), limit=1)
    assert only.key == "kudos:1:dm:UBEN"


def test_a_batch_full_of_interactive_rows_still_claims_the_oldest_bulk_rows(
    session: Session,
) -> None:
    """A flood of people's actions never leaves the sender without a fan-out row to mix in."""
    for n in range(3):
        _post(session, f"checkin:{n}:prompt", f"UM{n:03d}", "How was your week?", NOW, bulk=True)
    for n in range(12):
        _post(session, f"kudos:{n}:dm:UBEN", "UBEN", "You got kudos", NOW + timedelta(seconds=n))
    session.flush()
    later = NOW + timedelta(minutes=1)

    claimed = outbox.claim_due(session, TEAM, later, limit=10, bulk_floor=2)
    assert [c.key for c in claimed] == [f"kudos:{n}:dm:UBEN" for n in range(10)] + [
        "checkin:0:prompt",
        "checkin:1:prompt",
    ]
    assert [c.priority for c in claimed] == [outbox.INTERACTIVE] * 10 + [outbox.BULK] * 2
    # Room left in the batch: the bulk rows come in order, never twice.
    claimed = outbox.claim_due(session, TEAM, later, limit=14, bulk_floor=2)
    assert [c.key for c in claimed[12:]] == ["checkin:0:prompt", "checkin:1:prompt"]
    # Without a floor, the interactive rows alone.
    claimed = outbox.claim_due(session, TEAM, later, limit=10)
    assert {c.priority for c in claimed} == {outbox.INTERACTIVE}


def test_each_method_is_claimed_up_to_its_own_limit(session: Session) -> None:
    """A chart upload's row carries its PNG: a method sent once a second is claimed a few rows
    at a time, while the posts beside it are claimed by the dozen."""
    for n in range(30):
        chart = {"filename": "team.png", "content_b64": "iVBORw0KGgo=" * 100}
        _row(session, f"digest:UM{n:03d}:chart", "pulsebot.files_upload", chart, NOW, bulk=True)
        _post(session, f"checkin:{n}:prompt", f"UM{n:03d}", "How was your week?", NOW, bulk=True)
    session.flush()
    sizes = {"pulsebot.files_upload": 2, "chat.postMessage": 25}

    claimed = outbox.claim_due(session, TEAM, NOW, limit=sizes.__getitem__, bulk_floor=lambda m: 1)
    methods = [c.method for c in claimed]
    assert methods.count("pulsebot.files_upload") == 2
    assert methods.count("chat.postMessage") == 25
    assert [c.key for c in claimed if c.method == "pulsebot.files_upload"] == [
        "digest:UM000:chart",
        "digest:UM001:chart",
    ]
