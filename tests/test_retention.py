"""Retention: free text past PULSEBOT_RETAIN_TEXT_DAYS goes and every number stays (the digest's
pulse trend and counts read the same); whole rows past PULSEBOT_RETAIN_DAYS go; batches are
small, a second run changes nothing, the minute job applies it once a day, and a setting of 0 or
less is refused in one line. The clock is injected: instants come from the seeds."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import logs
from bot.cli.main import main
from bot.deps import Deps
from bot.jobs import minute
from bot.services import digest, home
from bot.services import retention as retention_service
from bot.services.retention import RetentionPolicy
from bot.settings import Settings, get_data_settings, get_database_settings, get_settings
from storage import goals as goal_store
from storage.engine import unit_of_work
from storage.models import (
    CheckinAnswer,
    CheckinOccurrence,
    ConversationMessage,
    Digest,
    Feedback,
    FeedbackRequest,
    KeyResult,
    KeyResultUpdate,
    Kudos,
    Objective,
    OutboxMessage,
    PrivacyAudit,
    UpwardFeedback,
)
from storage.privacy import REDACTED_KEY, REMOVED
from tests import privacy_seed
from tests.digest_seed import MANAGER, SEND_AT, WEEK, ZONE, seed_team
from tests.factories import TEAM

# What the digest counts: none of it may move when only text goes.
COUNTS = (
    "people_answered",
    "people_prompted",
    "answered",
    "prompted",
    "still_open",
    "pulse",
    "pulse_people",
    "pulse_change",
    "pulse_change_people",
    "spread",
    "kudos",
    "value_tags",
    "kudos_by_value",
    "replied",
    "other_answered",
    "other_prompted",
)


def _digest(factory: sessionmaker[Session]) -> digest.DigestData:
    with unit_of_work(factory) as session:
        return digest.build(
            session, TEAM, MANAGER, SEND_AT, zone=ZONE, anonymity_min=3, week_start=WEEK
        ).data


def _texts(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as session:
        values = session.scalars(select(CheckinAnswer.value)).all()
    return sum(1 for v in values if isinstance(v, str))


def test_text_retention_keeps_the_pulse_trend_and_every_count(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        seed_team(session)
    before = _digest(session_factory)
    with unit_of_work(session_factory) as session:
        pulses_before = home.mine(session, TEAM, "UANN", SEND_AT, ZONE).pulses
        numbers_before = session.scalar(select(func.count()).select_from(CheckinAnswer))
    assert _texts(session_factory) > 0 and before.blockers and before.kudos == 2

    # A day: even the covered week's words go (its check-ins closed on Saturday).
    policy = RetentionPolicy(text_days=1, batch=3)
    counts = minute.apply_retention(session_factory, SEND_AT, policy, daily=False)
    assert counts is not None
    assert counts["answer texts"] > 3  # more than one batch
    assert counts["kudos messages"] == 3 and counts["exchange messages"] == 1

    after = _digest(session_factory)
    assert [(w.label, w.pulse, w.participation) for w in after.chart] == [
        (w.label, w.pulse, w.participation) for w in before.chart
    ]
    for name in COUNTS:
        assert getattr(after, name) == getattr(before, name), name
    assert [(p.name, p.answered, p.prompted) for p in after.participation] == [
        (p.name, p.answered, p.prompted) for p in before.participation
    ]
    assert after.blockers == []  # their words are gone, the people and the counts are not
    with unit_of_work(session_factory) as session:
        assert home.mine(session, TEAM, "UANN", SEND_AT, ZONE).pulses == pulses_before
        assert session.scalars(select(Kudos.message)).all() == [REMOVED] * 3
        assert session.scalars(select(ConversationMessage.text)).all() == [REMOVED]
        # Text answers left; pulses all there.
        remaining = session.scalar(select(func.count()).select_from(CheckinAnswer))
    assert _texts(session_factory) == 0
    assert remaining == numbers_before - counts["answer texts"]
    again = minute.apply_retention(session_factory, SEND_AT, policy, daily=False)
    assert again is not None and not any(again.values())


def test_text_retention_empties_stored_digests_and_sent_copies_but_keeps_their_numbers(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        world = privacy_seed.seed(session)
    later = privacy_seed.NOW + timedelta(days=3)
    counts = minute.apply_retention(
        session_factory, later, RetentionPolicy(text_days=2), daily=False
    )
    assert counts is not None and counts["digest texts"] == 2
    with unit_of_work(session_factory) as session:
        row = session.get(Digest, world.ids["digest_mara"])
        assert row is not None
        content = digest.DigestData.from_json(row.content)
        assert content.people_answered == 3 and content.pulse == 4.0 and content.kudos == 2
        assert [b.text for b in content.blockers] == [REMOVED]
        assert [a.summary for a in content.answers] == ["", ""]
        assert content.named_notes == [(privacy_seed.ZOE, REMOVED)]
        sent = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "sent")).all()
        assert sent and all(r.payload == {REDACTED_KEY: "retention"} for r in sent)
        assert all(r.result_ts for r in sent)  # a thread still finds its root
        waiting = session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == "pending")
        ).all()
        assert waiting and all(REDACTED_KEY not in r.payload for r in waiting)
        feedback = session.scalars(select(Feedback)).all()
        assert all(f.went_well is None and f.could_be_better is None for f in feedback)
        topics = session.scalars(
            select(FeedbackRequest.topic).where(FeedbackRequest.state == "closed")
        ).all()
        assert set(topics) == {REMOVED}
        open_topics = session.scalars(
            select(FeedbackRequest.topic).where(FeedbackRequest.state == "open")
        ).all()
        assert REMOVED not in open_topics  # still being answered
        assert session.scalar(select(func.count()).select_from(UpwardFeedback)) == 0


def test_whole_row_retention_goes_in_small_batches_and_twice_changes_nothing(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with unit_of_work(session_factory) as session:
        privacy_seed.seed(session)
    calls: list[tuple[str, int]] = []
    real_steps = retention_service.steps

    def spied(policy: RetentionPolicy, now: datetime) -> list[tuple[str, Any]]:
        def spy(name: str, step: Callable[[Session], int]) -> Callable[[Session], int]:
            def run(session: Session) -> int:
                taken = step(session)
                calls.append((name, taken))
                return taken

            return run

        return [(name, spy(name, step)) for name, step in real_steps(policy, now)]

    monkeypatch.setattr(retention_service, "steps", spied)
    policy = RetentionPolicy(row_days=7, batch=2)
    counts = minute.apply_retention(session_factory, privacy_seed.NOW, policy, daily=False)
    assert counts is not None
    assert all(taken <= 2 for _, taken in calls)  # never more than a batch per transaction
    assert len([c for c in calls if c[0] == "check-ins"]) == 3  # 4 rows: 2 + 2, then none
    assert counts["check-ins"] == 4  # the first week's four; last week's stay
    assert counts["kudos"] == 3 and counts["feedback"] == 4
    assert counts["feedback requests"] == 2  # closed ones; open ones are still answered
    assert counts["outbox rows"] == 0 and counts["digests"] == 0  # two days old: kept
    with unit_of_work(session_factory) as session:
        left = session.scalars(select(CheckinOccurrence.local_date)).all()
        assert set(left) == {privacy_seed.LAST_WEEK + timedelta(days=4)}
        assert session.scalar(select(func.count()).select_from(Kudos)) == 0
    calls.clear()
    again = minute.apply_retention(session_factory, privacy_seed.NOW, policy, daily=False)
    assert again is not None and not any(again.values())


def test_the_minute_job_applies_retention_once_a_day_with_an_injected_clock(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        privacy_seed.seed(session)
    instants = iter(
        [
            privacy_seed.NOW,
            privacy_seed.NOW + timedelta(hours=5),  # the same day: already done
            privacy_seed.NOW + timedelta(days=1),  # the next day: again (nothing left)
        ]
    )
    current = {"now": privacy_seed.NOW}
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        SLACK_BOT_TOKEN="xoxb-test",
        DATABASE_URL="sqlite://",
        PULSEBOT_RETAIN_TEXT_DAYS="30",
        PULSEBOT_RETAIN_DAYS="10",
    )
    deps = Deps(settings=settings, session_factory=session_factory, clock=lambda: current["now"])
    job = minute.scheduled_job(deps)
    retained = []
    for instant in instants:
        current["now"] = instant
        job()
        with unit_of_work(session_factory) as session:
            runs = session.scalars(
                select(PrivacyAudit).where(PrivacyAudit.action == "retention")
            ).all()
        retained.append([(r.actor, r.run_key, sum(r.counts.values())) for r in runs])
    first, same_day, next_day = retained
    assert len(first) == 1 and first[0][0] == "minute job" and first[0][2] > 0
    assert same_day == first
    assert len(next_day) == 2 and next_day[1][2] == 0
    assert next_day[1][1] == f"retention:{(privacy_seed.NOW + timedelta(days=1)).date()}"


# ----- settings ------------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("PULSEBOT_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(logs, "configure", lambda *args, **kwargs: None)
    _clear()
    yield
    _clear()


def _clear() -> None:
    get_settings.cache_clear()
    get_database_settings.cache_clear()
    get_data_settings.cache_clear()


@pytest.mark.parametrize("value", ["0", "-3", "soon"])
@pytest.mark.parametrize("name", ["PULSEBOT_RETAIN_DAYS", "PULSEBOT_RETAIN_TEXT_DAYS"])
def test_a_retention_of_zero_or_less_is_refused_at_start_up_in_one_line(
    env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    session_factory: sessionmaker[Session],
    name: str,
    value: str,
) -> None:
    monkeypatch.setenv(name, value)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    for argv in (["run"], ["privacy", "retain"], ["checkins", "run-due"]):
        _clear()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert f"{name} is invalid: must be a whole number of days above 0" in err
    with unit_of_work(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(PrivacyAudit)) == 0


def test_retain_by_hand_without_a_setting_says_what_to_set(
    env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["privacy", "retain"]) == 2
    assert "neither PULSEBOT_RETAIN_TEXT_DAYS nor PULSEBOT_RETAIN_DAYS is set" in (
        capsys.readouterr().err
    )


def test_retain_by_hand_applies_it_now_and_logs_the_run(
    env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        privacy_seed.seed(session)
    monkeypatch.setenv("PULSEBOT_RETAIN_DAYS", "7")
    at = privacy_seed.NOW.astimezone(UTC).isoformat()
    assert main(["privacy", "retain", "--at", at]) == 0
    out = capsys.readouterr().out
    assert "4  check-ins" in out
    with unit_of_work(session_factory) as session:
        [run] = session.scalars(
            select(PrivacyAudit).where(PrivacyAudit.action == "retention")
        ).all()
        assert run.actor.startswith("cli") and run.run_key is None and run.finished_at
        assert run.counts["check-ins"] == 4


def test_goal_update_notes_go_with_the_text_and_old_updates_with_the_rows(
    session_factory: sessionmaker[Session],
) -> None:
    now = datetime(2037, 3, 20, 12, tzinfo=UTC)
    old, recent = now - timedelta(days=40), now - timedelta(days=2)
    with unit_of_work(session_factory) as session:
        objective = Objective(
            team_id=TEAM,
            cycle="2037-Q1",
            title="Ship it",
            owner_id="UANN",
            kind="team",
            visibility="public",
            state="active",
            created_by="cli",
            created_at=old,
            updated_at=old,
        )
        session.add(objective)
        session.flush()
        result = KeyResult(
            team_id=TEAM,
            objective_id=objective.id,
            title="Users",
            owner_id="UANN",
            measure="number",
            unit="",
            start=0,
            target=100,
            current=0,
            weight=1,
            position=0,
            created_at=old,
            updated_at=old,
        )
        session.add(result)
        session.flush()
        for at, value, note in ((old, 20, "slow start"), (recent, 45, "two launches")):
            assert goal_store.add_update(
                session,
                result,
                value=value,
                confidence="on_track",
                note=note,
                author_id="UANN",
                now=at,
                request_key=f"k{value}",
            )

    counts = minute.apply_retention(
        session_factory, now, RetentionPolicy(text_days=30, batch=1), daily=False
    )
    assert counts is not None and counts["goal update notes"] == 1
    with unit_of_work(session_factory) as session:
        kept = session.execute(
            select(KeyResultUpdate.value, KeyResultUpdate.note).order_by(KeyResultUpdate.id)
        ).all()
    assert [tuple(row) for row in kept] == [(20, ""), (45, "two launches")]

    counts = minute.apply_retention(
        session_factory, now, RetentionPolicy(row_days=30, batch=1), daily=False
    )
    assert counts is not None and counts["goal updates"] == 1
    with unit_of_work(session_factory) as session:
        assert session.scalars(select(KeyResultUpdate.value)).all() == [45]
        assert session.scalar(select(KeyResult.current)) == 45  # the result keeps its value
