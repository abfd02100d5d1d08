"""`run_due` and answer delivery on a fresh database (SQLite or PostgreSQL), exactly once.

Each run commits its own short transactions, so these tests use `session_factory` (a database
of their own), as two schedulers or a scheduler and a listener would.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import make_web_client
from bot.clock import utc_now
from bot.delivery.outbox import PARENT_CHANNEL, PARENT_TS, update_message
from bot.delivery.sender import OutboxSender
from bot.demo.emulator import SlackEmulator
from bot.deps import Deps
from bot.jobs.minute import RunSummary, run_due, scheduled_job
from bot.notify.checkins import enqueue_answer
from bot.services import checkins, org, templates
from bot.services.states import OccurrenceState
from handlers import ids
from storage.engine import unit_of_work
from storage.models import CheckinOccurrence, OutboxMessage
from tests.factories import TEAM, add_people, person
from tests.server import server_settings

Factory = sessionmaker[Session]

# The `now` fixture is Wednesday 2037-11-25 15:00 UTC; templates ask Fridays at 16:00 local.
TOKYO_AT = datetime(2037, 11, 27, 7, 0, tzinfo=UTC)
BERLIN_AT = datetime(2037, 11, 27, 15, 0, tzinfo=UTC)
NEW_YORK_AT = datetime(2037, 11, 27, 21, 0, tzinfo=UTC)
QUESTIONS = [
    {"id": "done", "text": "What did you get done?", "kind": "text", "required": True},
    {"id": "pulse", "text": "How do you feel?", "kind": "pulse"},
    {"id": "upward", "text": "For your manager?", "kind": "text", "anonymous_allowed": True},
]


def seed(
    factory: Factory,
    now: datetime,
    members: dict[str, str | None],
    **overrides: Any,
) -> int:
    """People (id -> tz) and one template owned by UMGR; returns the template id."""
    data: dict[str, Any] = {
        "name": "Weekly",
        "owner": "UMGR",
        "members": list(members),
        "schedule": {"days": ["fri"], "time": "16:00"},
        "remind_after": "4h",
        "close_after": "1d",
        "questions": QUESTIONS,
    }
    data.update(overrides)
    with unit_of_work(factory) as session:
        add_people(
            session,
            now,
            person("UMGR", tz="America/New_York"),
            *(person(uid, tz=tz) for uid, tz in members.items()),
        )
        definition = templates.parse_template(data, lambda email: None)
        [change] = templates.apply(session, TEAM, [definition], now)
    return change.template_id


TEAM_TZ = {"UANA": "America/New_York", "UBEN": "Europe/Berlin", "UCHO": "Asia/Tokyo"}


@pytest.fixture
def weekly(session_factory: Factory, now: datetime) -> int:
    return seed(session_factory, now, TEAM_TZ)


def outbox(factory: Factory) -> dict[str, OutboxMessage]:
    with unit_of_work(factory) as session:
        return {r.idempotency_key: r for r in session.scalars(select(OutboxMessage))}


def occurrences(factory: Factory) -> dict[str, CheckinOccurrence]:
    """By member; these tests have one occurrence per member unless they say otherwise."""
    with unit_of_work(factory) as session:
        found = session.scalars(select(CheckinOccurrence).order_by(CheckinOccurrence.id)).all()
    return {o.user_id: o for o in found}


def keys(factory: Factory) -> set[str]:
    return set(outbox(factory))


def start_value(row: OutboxMessage) -> str:
    [actions] = [b for b in row.payload["blocks"] if b["type"] == "actions"]
    [start] = [e for e in actions["elements"] if e["action_id"] == ids.CHECKIN_START_ACTION]
    return str(start["value"])


# ----- prompts ----------------------------------------------------------------------------------


def test_each_prompt_is_written_with_its_occurrence(session_factory: Factory, weekly: int) -> None:
    summary = run_due(session_factory, TOKYO_AT)
    assert (summary.prompted, summary.reminded, summary.missed) == (1, 0, 0)
    occ = occurrences(session_factory)["UCHO"]
    row = outbox(session_factory)[f"checkin:{occ.id}:prompt"]
    assert row.method == "chat.postMessage"
    assert row.payload["channel"] == "UCHO"  # the user id: no conversations.open
    assert row.team_id == TEAM
    assert start_value(row) == str(occ.id)
    assert occ.prompt_outbox_id == row.id
    assert "Weekly" in row.payload["text"]

    assert run_due(session_factory, TOKYO_AT).prompted == 0
    summary = run_due(session_factory, NEW_YORK_AT)
    # New York on time, Berlin late (its reminder time passed too: the late prompt is the
    # one DM), and Tokyo's reminder, due since 11:00 UTC.
    assert (summary.prompted, summary.reminded) == (2, 1)
    assert keys(session_factory) == {
        f"checkin:{o.id}:prompt" for o in occurrences(session_factory).values()
    } | {f"checkin:{occ.id}:reminder"}
    assert run_due(session_factory, NEW_YORK_AT) == RunSummary()


def test_two_schedulers_racing_write_each_occurrence_and_prompt_once(
    session_factory: Factory, now: datetime
) -> None:
    members: dict[str, str | None] = {f"U{i:03d}": None for i in range(40)}
    members.update({f"UNY{i:02d}": "America/New_York" for i in range(10)})
    seed(
        session_factory,
        now,
        members,
        schedule={"days": ["thu", "fri", "sat"], "time": "09:00"},
        remind_after="1h",
        close_after="8h",
    )
    totals: Counter[str] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def race(at: datetime) -> None:
        barrier = threading.Barrier(2)

        def one() -> None:
            try:
                barrier.wait(timeout=10)
                summary = run_due(session_factory, at, batch_size=7)
            except BaseException as error:  # surfaced below, not lost in the thread
                errors.append(error)
                return
            with lock:
                totals["prompted"] += summary.prompted
                totals["reminded"] += summary.reminded
                totals["closed"] += summary.closed

        threads = [threading.Thread(target=one) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    for day in (26, 27, 28):
        for hour in (9, 14):  # 09:00 in UTC, then 09:00 in New York
            prompt_at = datetime(2037, 11, day, hour, 0, tzinfo=UTC)
            race(prompt_at)
            race(prompt_at + timedelta(hours=1))  # their reminders
    race(datetime(2037, 11, 29, 12, 0, tzinfo=UTC))  # closings
    assert errors == []

    with unit_of_work(session_factory) as session:
        rows = session.scalars(select(CheckinOccurrence)).all()
        prompts = session.scalars(
            select(OutboxMessage.idempotency_key).where(
                OutboxMessage.idempotency_key.like("%:prompt")
            )
        ).all()
        reminders = session.scalars(
            select(OutboxMessage.idempotency_key).where(
                OutboxMessage.idempotency_key.like("%:reminder")
            )
        ).all()
    assert len(rows) == 50 * 3
    assert len({(r.user_id, r.local_date) for r in rows}) == 50 * 3
    assert sorted(prompts) == sorted(f"checkin:{r.id}:prompt" for r in rows)
    assert sorted(reminders) == sorted(f"checkin:{r.id}:reminder" for r in rows)
    # Each was reported by exactly one of the two racers.
    assert totals == {"prompted": 150, "reminded": 150, "closed": 150}
    assert {r.state for r in rows} == {OccurrenceState.MISSED}


def test_catch_up_after_an_outage(session_factory: Factory, weekly: int) -> None:
    """Down from before Friday until Saturday 10:00 UTC."""
    summary = run_due(session_factory, datetime(2037, 11, 28, 10, 0, tzinfo=UTC))
    # Tokyo's closed at Saturday 07:00 UTC: recorded missed, never prompted.
    assert (summary.prompted, summary.missed) == (2, 1)
    found = occurrences(session_factory)
    assert found["UCHO"].state == OccurrenceState.MISSED
    assert found["UCHO"].prompt_outbox_id is None
    rows = outbox(session_factory)
    assert set(rows) == {
        f"checkin:{found['UANA'].id}:prompt",
        f"checkin:{found['UBEN'].id}:prompt",
    }
    # Berlin's 16:00 passed 19 hours ago: the prompt says it is late. New York's too.
    assert "Sorry this comes late" in str(rows[f"checkin:{found['UBEN'].id}:prompt"].payload)
    # Their reminder times passed too: the late prompt is the one DM, no reminder on its heels.
    assert summary.reminded == 0
    assert run_due(session_factory, datetime(2037, 11, 28, 11, 0, tzinfo=UTC)).reminded == 0


def test_reminders_once_and_never_after_answering_or_closing(
    session_factory: Factory, weekly: int
) -> None:
    for at in (TOKYO_AT, BERLIN_AT):  # the scheduler's runs at each local time
        run_due(session_factory, at)
    found = occurrences(session_factory)
    with unit_of_work(session_factory) as session:
        checkins.submit(session, TEAM, "UBEN", found["UBEN"].id, {"done": "x"}, BERLIN_AT)
    # Tokyo's reminder (11:00 UTC) went with the 15:00 run.
    assert keys(session_factory) >= {f"checkin:{found['UCHO'].id}:reminder"}
    berlin_reminder = BERLIN_AT + timedelta(hours=4)
    assert run_due(session_factory, berlin_reminder).reminded == 0  # UBEN answered
    summary = run_due(session_factory, NEW_YORK_AT)
    assert (summary.prompted, summary.reminded) == (1, 0)
    ny_reminder = NEW_YORK_AT + timedelta(hours=4)
    assert run_due(session_factory, ny_reminder).reminded == 1
    assert run_due(session_factory, ny_reminder).reminded == 0
    found = occurrences(session_factory)
    reminders = sorted(k for k in keys(session_factory) if k.endswith(":reminder"))
    assert reminders == sorted(
        [f"checkin:{found['UANA'].id}:reminder", f"checkin:{found['UCHO'].id}:reminder"]
    )
    row = outbox(session_factory)[f"checkin:{found['UANA'].id}:reminder"]
    assert row.payload["channel"] == "UANA"
    assert start_value(row) == str(found["UANA"].id)
    assert "still open" in row.payload["text"]


def test_closing_marks_missed_and_sends_nothing(session_factory: Factory, weekly: int) -> None:
    run_due(session_factory, NEW_YORK_AT)
    before = keys(session_factory)
    # Closing and reminder time both passed while the app was down: missed, no reminder.
    summary = run_due(session_factory, NEW_YORK_AT + timedelta(days=1))
    assert (summary.closed, summary.reminded) == (3, 0)
    assert keys(session_factory) == before
    assert {o.state for o in occurrences(session_factory).values()} == {OccurrenceState.MISSED}
    assert run_due(session_factory, NEW_YORK_AT + timedelta(days=2)).closed == 0


def test_out_of_office_is_away_without_a_prompt(
    session_factory: Factory, weekly: int, now: datetime
) -> None:
    with unit_of_work(session_factory) as session:
        checkins.set_ooo(session, TEAM, "UANA", date(2037, 11, 27), now)
    summary = run_due(session_factory, NEW_YORK_AT)
    assert (summary.prompted, summary.away) == (2, 1)
    found = occurrences(session_factory)
    assert found["UANA"].state == OccurrenceState.AWAY
    run_due(session_factory, NEW_YORK_AT + timedelta(hours=5))
    assert not any(k.startswith(f"checkin:{found['UANA'].id}:") for k in keys(session_factory))


def test_snooze_reprompts_once_per_snooze_and_never_after_closing(
    session_factory: Factory, weekly: int
) -> None:
    run_due(session_factory, BERLIN_AT)
    occ = occurrences(session_factory)["UBEN"]
    with unit_of_work(session_factory) as session:
        checkins.snooze(session, TEAM, "UBEN", occ.id, timedelta(hours=2), BERLIN_AT)
    assert run_due(session_factory, BERLIN_AT + timedelta(hours=1)).reprompted == 0
    ends = BERLIN_AT + timedelta(hours=2)
    summary = run_due(session_factory, ends)
    assert summary.reprompted == 1
    rows = outbox(session_factory)
    first = rows[f"checkin:{occ.id}:snooze:1"]
    assert first.payload["channel"] == "UBEN"
    assert "Snooze is over" in str(first.payload["blocks"])
    assert occurrences(session_factory)["UBEN"].prompt_outbox_id == first.id
    assert run_due(session_factory, ends).reprompted == 0

    # Snoozed again over the reminder's time (+4h): no reminder then; the re-prompt at +5h
    # stands in for it, so none comes afterwards either.
    with unit_of_work(session_factory) as session:
        checkins.snooze(session, TEAM, "UBEN", None, timedelta(hours=3), ends)
    summary = run_due(session_factory, BERLIN_AT + timedelta(hours=4))
    assert (summary.reminded, summary.reprompted) == (0, 0)
    summary = run_due(session_factory, BERLIN_AT + timedelta(hours=5))
    assert (summary.reminded, summary.reprompted) == (0, 1)
    assert f"checkin:{occ.id}:snooze:2" in keys(session_factory)
    assert run_due(session_factory, BERLIN_AT + timedelta(hours=6)).reminded == 0
    assert f"checkin:{occ.id}:reminder" not in keys(session_factory)

    # A snooze ending just before closing, and the closing job running late: no re-prompt.
    closes = occ.closes_at
    with unit_of_work(session_factory) as session:
        with pytest.raises(checkins.CheckinRefused):
            checkins.snooze(
                session, TEAM, "UBEN", None, timedelta(hours=2), closes - timedelta(hours=1)
            )
        checkins.snooze(
            session, TEAM, "UBEN", None, timedelta(minutes=30), closes - timedelta(hours=1)
        )
    summary = run_due(session_factory, closes + timedelta(hours=1))
    assert (summary.reprompted, summary.closed) == (0, 2)  # UBEN and UCHO (UANA's still open)
    assert f"checkin:{occ.id}:snooze:3" not in keys(session_factory)


# ----- answers ----------------------------------------------------------------------------------


def submit(
    factory: Factory, user_id: str, answers: dict[str, Any], at: datetime, **kw: Any
) -> list[int]:
    with unit_of_work(factory) as session:
        occ = checkins.pending_for(session, TEAM, user_id, at)
        assert occ is not None
        submitted = checkins.submit(session, TEAM, user_id, occ.occurrence.id, answers, at, **kw)
        return enqueue_answer(session, submitted, at)


def test_answer_delivery_to_owner_channel_thread_and_the_prompt(
    session_factory: Factory, now: datetime
) -> None:
    seed(session_factory, now, TEAM_TZ, post_to={"manager": True, "channel": "C0TEAM"})
    run_due(session_factory, NEW_YORK_AT)
    found = occurrences(session_factory)
    submit(
        session_factory, "UANA", {"done": "Shipped", "pulse": "4", "upward": "Thanks!"}, NEW_YORK_AT
    )
    submit(session_factory, "UCHO", {"done": "Reviewed"}, NEW_YORK_AT)
    rows = outbox(session_factory)
    ana, cho = found["UANA"].id, found["UCHO"].id

    manager = rows[f"checkin:{ana}:answers:manager"]
    assert manager.payload["channel"] == "UMGR"
    body = str(manager.payload["blocks"])
    assert "Shipped" in body and "For you only" in body and "Thanks!" in body
    assert f"checkin:{ana}:upward:manager" not in rows  # the owner is her manager: one DM

    # One header for the owner's Friday (New York), both answers threaded under it.
    header_key = f"checkin:header:{found['UANA'].template_id}:2037-11-27"
    header = rows[header_key]
    assert header.payload["channel"] == "C0TEAM"
    assert [k for k in rows if k.startswith("checkin:header:")] == [header_key]
    for occ_id in (ana, cho):
        reply = rows[f"checkin:{occ_id}:answers:channel"]
        assert reply.depends_on_id == header.id
        assert (reply.payload["channel"], reply.payload["thread_ts"]) == (PARENT_CHANNEL, PARENT_TS)
    assert "Thanks!" not in str(rows[f"checkin:{ana}:answers:channel"].payload)

    update = rows[f"checkin:{ana}:submitted"]
    assert update.method == "chat.update"
    assert update.depends_on_id == found["UANA"].prompt_outbox_id
    assert (update.payload["channel"], update.payload["ts"]) == (PARENT_CHANNEL, PARENT_TS)
    assert "Submitted ✓" in update.payload["text"]


def test_named_upward_feedback_for_a_manager_who_is_not_the_owner(
    session_factory: Factory, weekly: int
) -> None:
    with unit_of_work(session_factory) as session:
        org.set_manager(session, TEAM, "UBEN", "UBOSS", BERLIN_AT)
    run_due(session_factory, BERLIN_AT)
    occ_id = occurrences(session_factory)["UBEN"].id
    submit(session_factory, "UBEN", {"done": "x", "upward": "Need a raise"}, BERLIN_AT)
    rows = outbox(session_factory)
    assert "Need a raise" not in str(rows[f"checkin:{occ_id}:answers:manager"].payload)
    note = rows[f"checkin:{occ_id}:upward:manager"]
    assert note.payload["channel"] == "UBOSS" and "Need a raise" in str(note.payload)


def test_anonymous_upward_feedback_is_never_sent_at_once(
    session_factory: Factory, weekly: int
) -> None:
    run_due(session_factory, BERLIN_AT)
    occ_id = occurrences(session_factory)["UBEN"].id
    submit(
        session_factory,
        "UBEN",
        {"done": "x", "upward": "Too many meetings"},
        BERLIN_AT,
        anonymous=True,
    )
    rows = outbox(session_factory)
    assert "Too many meetings" not in str([r.payload for r in rows.values()])
    assert f"checkin:{occ_id}:upward:manager" not in rows
    # The stored "Submitted ✓" is the same as without a note: it must not tie one to its author.
    assert "anonym" not in str(rows[f"checkin:{occ_id}:submitted"].payload).lower()


def test_channel_only_template_sends_no_owner_dm(session_factory: Factory, now: datetime) -> None:
    seed(
        session_factory,
        now,
        {"UBEN": "Europe/Berlin"},
        post_to={"manager": False, "channel": "C0TEAM"},
    )
    run_due(session_factory, BERLIN_AT)
    occ_id = occurrences(session_factory)["UBEN"].id
    submit(session_factory, "UBEN", {"done": "x"}, BERLIN_AT)
    assert not any(k.endswith(":answers:manager") for k in keys(session_factory))
    assert f"checkin:{occ_id}:answers:channel" in keys(session_factory)


def test_replace_message_is_a_keyed_chat_update(session_factory: Factory, now: datetime) -> None:
    with unit_of_work(session_factory) as session:
        first, again = (
            update_message(
                session,
                team_id=TEAM,
                key="checkin:1:closed:1.2",
                text="closed",
                blocks=[],
                now=now,
                where=("DUANA", "1.2"),
            )
            for _ in range(2)
        )
    assert first == again
    row = outbox(session_factory)["checkin:1:closed:1.2"]
    assert row.method == "chat.update" and row.payload["ts"] == "1.2"


# ----- through the real sender and the Slack emulator -------------------------------------------


def test_prompt_answer_and_updates_reach_slack(
    session_factory: Factory, database_url: str, now: datetime
) -> None:
    with SlackEmulator() as slack:
        for user_id, tz in {**TEAM_TZ, "UMGR": "America/New_York"}.items():
            slack.add_user(user_id, tz=tz)
        slack.add_channel("C0TEAM", "team")
        seed(session_factory, now, TEAM_TZ, post_to={"manager": True, "channel": "C0TEAM"})
        at = NEW_YORK_AT
        started = utc_now()
        sender = OutboxSender(
            session_factory=session_factory,
            client=make_web_client(server_settings(database_url, slack.url, slack.bot_token)),
            clock=lambda: at + (utc_now() - started),
            post_rate=100,
        )
        run_due(session_factory, at)
        assert sender.drain(timeout=20)
        [prompt] = slack.messages("UANA")
        assert prompt["metadata"]["event_payload"]["key"].endswith(":prompt")

        submit(session_factory, "UANA", {"done": "Shipped <!channel>", "pulse": "5"}, at)
        submit(session_factory, "UBEN", {"done": "Reviewed"}, at)
        assert sender.drain(timeout=20)
        statuses = {k: r.status for k, r in outbox(session_factory).items()}
        assert set(statuses.values()) == {"sent"}, statuses

        # The DM prompt was edited in place: chat.update on the D… channel and the prompt's ts.
        [edited] = slack.messages("UANA")
        assert edited["ts"] == prompt["ts"] and "Submitted ✓" in edited["text"]
        update = [c for c in slack.calls("chat.update") if c.get("ts") == prompt["ts"]]
        assert update and update[0]["channel"] == "DUANA"
        # Owner got both answers; the channel has one header with two threaded replies.
        assert len(slack.messages("UMGR")) == 2
        team = slack.messages("C0TEAM")
        [header] = [m for m in team if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]
        replies = [m for m in team if m is not header and m.get("thread_ts") == header["ts"]]
        assert len(replies) == 2
        assert "<!channel>" not in str(team)


def test_scheduled_job_runs_and_wakes_the_sender(
    session_factory: Factory, database_url: str, weekly: int
) -> None:
    deps = Deps(
        settings=server_settings(database_url, "http://127.0.0.1:9/api/", "xoxb-test"),
        session_factory=session_factory,
        clock=lambda: TOKYO_AT,
    )
    job = scheduled_job(deps)
    job()
    assert deps.outbox_wakeup.is_set()
    deps.outbox_wakeup.clear()
    job()
    assert not deps.outbox_wakeup.is_set()  # nothing new, no wake-up
    # The prompt, and the manager's weekly digest (due since Monday 09:00 in their zone).
    assert len([k for k in keys(session_factory) if not k.startswith("digest:")]) == 1
