"""Digests a manager can trust, written the way the minute job writes them (no Slack here).

The quiet person who surfaces; the week whose anonymous note is never mentioned and the next
week that releases it without dating it; members who are not direct reports kept out of the
anonymity minimum; a manager in Pacific/Auckland; a digest held until its week's check-ins
close; follow-through counting the replies kept with each answer.

Every covered week is in March 2037 (2037's calendar is 2026's); every instant derives from it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.jobs.digests import DigestPolicy, write_due
from bot.notify.conversations import keep_reply
from bot.services import conversations, templates
from bot.services import digest_rules as rules
from bot.services.digest import DigestData
from handlers.blocks import digest as blocks
from storage import checkins as checkin_store
from storage.models import CheckinOccurrence, Digest, OutboxMessage
from tests.digest_seed import CREATED, QUESTIONS, occurrence, reply, report
from tests.factories import TEAM, add_people, person

Factory = sessionmaker[Session]
WEEK = date(2037, 3, 2)  # Monday of the covered week
POLICY = DigestPolicy()  # Monday 09:00, minimum 3


def send_time(week: date, zone: ZoneInfo) -> datetime:
    """Monday 09:00 in `zone` after the week from `week`, as UTC."""
    return datetime.combine(week + timedelta(days=7), time(9), tzinfo=zone).astimezone(UTC)


def make_template(
    session: Session,
    owner: str,
    name: str,
    members: Sequence[str],
    *,
    days: Sequence[str] = ("fri",),
    at: str = "16:00",
    close_after: str = "1d",
) -> int:
    definition = templates.parse_template(
        {
            "name": name,
            "owner": owner,
            "members": list(members),
            "schedule": {"days": list(days), "time": at},
            "close_after": close_after,
            "questions": QUESTIONS,
        },
        lambda _: None,
    )
    [change] = templates.apply(session, TEAM, [definition], CREATED)
    return change.template_id


def pulse(value: int, blocker: str = "none") -> dict[str, Any]:
    return {"done": "Shipped", "blockers": blocker, "pulse": value}


def stored(factory: Factory, manager: str, week: date) -> DigestData:
    with factory() as session:
        (content,) = session.scalars(
            select(Digest.content).where(
                Digest.manager_id == manager, Digest.iso_week == rules.iso_week(week)
            )
        )
    return DigestData.from_json(content)


def outbox_text(factory: Factory, key: str) -> str | None:
    with factory() as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
        ).first()
    return json.dumps(row.payload, ensure_ascii=False) if row is not None else None


def readable(data: DigestData, names: dict[str, str]) -> str:
    """The digest as its manager reads it: names for mentions, no mrkdwn marks, buttons in
    brackets, the anonymous notes' own message last."""
    messages = blocks.messages(data, chart=False)
    notes = blocks.anonymous_message(data)
    lines: list[str] = []
    for _, message in [*messages, *([notes] if notes else [])]:
        for block in message:
            texts: list[str] = []
            if block["type"] in ("header", "section"):
                texts.append(block["text"]["text"])
            elif block["type"] == "context":
                texts.extend(e["text"] for e in block["elements"])
            accessory = block.get("accessory")
            for text in texts:
                text = re.sub(r"<@(U\w+)>", lambda m: names.get(m[1], m[1]), text)
                text = text.replace("*", "").replace("\\n", "\n")
                if accessory:
                    text += f"   [{accessory['text']['text']}]"
                lines.append(text)
    return "\n".join(lines)


# ----- the quiet person -------------------------------------------------------------------------

ANA, KENJI = "UANA", "UKENJI"
PLATFORM = ("UBEN", "UCHLOE", KENJI, "ULARS", "UPRIYA")
LISBON = ZoneInfo("Europe/Lisbon")
NAMES = {
    ANA: "Ana",
    "UBEN": "Ben",
    "UCHLOE": "Chloé",
    KENJI: "Kenji",
    "ULARS": "Lars",
    "UPRIYA": "Priya",
}
KENJI_PULSES = (5, 4, 3, 2, 2, 2, 2)  # the seven weeks before the covered one
OTHERS = {"UBEN": 4, "UCHLOE": 4, "ULARS": 5, "UPRIYA": 3}


def quiet_team(session: Session) -> None:
    """Ana's team of five over eight weeks: Kenji's pulse 5, 4, 3, 2, 2, 2, 2 with a blocker
    the week before, then a skipped week (the covered one); everyone else answers steadily."""
    add_people(
        session,
        CREATED,
        person(ANA, tz="Europe/Lisbon"),
        *(person(u, tz="Asia/Tokyo") for u in PLATFORM),
    )
    for user_id in PLATFORM:
        report(session, user_id, ANA)
    weekly = make_template(session, ANA, "Platform weekly", PLATFORM)
    for back in range(7, -1, -1):
        week = WEEK - timedelta(weeks=back)
        for user_id, value in OTHERS.items():
            occurrence(session, weekly, user_id, week, "answered", pulse(value))
        if back == 0:
            occurrence(session, weekly, KENJI, week, "skipped")
        else:
            blocker = "Waiting on the staging cluster" if back == 1 else "none"
            kenji_pulse = KENJI_PULSES[7 - back]
            occurrence(session, weekly, KENJI, week, "answered", pulse(kenji_pulse, blocker))


def test_the_quiet_person_surfaces_first_by_name_with_pulse_trend_and_reason(
    session_factory: Factory,
) -> None:
    with session_factory() as session, session.begin():
        quiet_team(session)
    monday = send_time(WEEK, LISBON)
    assert write_due(session_factory, monday, POLICY, manager_id=ANA).written == 1
    data = stored(session_factory, ANA, WEEK)
    # Kenji is named as not answering, in the headline and in participation.
    assert [(a.user_id, a.outcome) for a in data.absent] == [(KENJI, "skipped")]
    headline = blocks.headline(data)
    assert headline.startswith(
        "Week of 2–8 Mar: 4 of 5 people answered (<@UKENJI> skipped), pulse 4.0 from 4 of 5"
    )
    assert data.participation[0].skipped == [KENJI]
    # The average leaves him out and says so; its change compares the same four people.
    assert (data.pulse, data.pulse_people, data.pulse_change) == (4.0, 4, 0.0)
    # Whom to talk to: Kenji, with his last pulse, his 4-week trend and the reason.
    (kenji,) = data.talk_to
    assert kenji.user_id == KENJI
    assert kenji.reasons == [
        "no answer this week (skipped) after a pulse of 2, with a blocker reported the week before"
    ]
    assert (kenji.last_pulse, kenji.trend) == (2.0, [2.0, 2.0, 2.0, None])
    text = readable(data, NAMES)
    lines = text.splitlines()
    # Right after the headline (and the header).
    assert lines[2] == "💬 Whom to talk to".replace("💬", ":speech_balloon:")
    assert lines[3] == (
        "• Kenji: no answer this week (skipped) after a pulse of 2, with a blocker reported the "
        "week before — last pulse 2, 4 weeks: 2 → 2 → 2 → –"
    )
    assert lines[1].startswith("Week of 2–8 Mar: 4 of 5 people answered (Kenji skipped)")
    assert "Average 4.0 from 4 of 5 (Kenji skipped)" in text
    assert "Platform weekly: 4 of 5 check-ins answered" in text and "skipped: Kenji" in text

    # The next week he misses it: both silent-week rules name him.
    with session_factory() as session, session.begin():
        weekly = session.scalars(select(CheckinOccurrence.template_id)).first()
        assert weekly is not None
        following = WEEK + timedelta(weeks=1)
        for user_id, value in OTHERS.items():
            occurrence(session, weekly, user_id, following, "answered", pulse(value))
        occurrence(session, weekly, KENJI, following, "missed")
    assert write_due(session_factory, send_time(following, LISBON), POLICY, manager_id=ANA).written
    later = stored(session_factory, ANA, following)
    (kenji,) = later.talk_to
    assert kenji.reasons == [
        "no answer this week (missed) after a pulse of 2",
        "no answer two weeks running (skipped, then missed)",
    ]
    assert kenji.trend == [2.0, 2.0, None, None]


def test_an_empty_whom_to_talk_to_says_so(session_factory: Factory) -> None:
    with session_factory() as session, session.begin():
        add_people(session, CREATED, person(ANA), *(person(u) for u in OTHERS))
        for user_id in OTHERS:
            report(session, user_id, ANA)
        weekly = make_template(session, ANA, "Platform weekly", list(OTHERS))
        for back in (1, 0):
            for user_id, value in OTHERS.items():
                occurrence(
                    session, weekly, user_id, WEEK - timedelta(weeks=back), "answered", pulse(value)
                )
    write_due(session_factory, send_time(WEEK, ZoneInfo("America/New_York")), POLICY)
    text = readable(stored(session_factory, ANA, WEEK), NAMES)
    assert ":speech_balloon: Whom to talk to\nNobody stands out this week." in text
    assert "4 of 4 people answered, pulse 4.0 (+0.0)" in text  # nobody left out: no "from"


# ----- anonymity --------------------------------------------------------------------------------

MANAGER = "UMGR"
BERLIN = ZoneInfo("Europe/Berlin")


def anonymous_note(session: Session, text: str, week: date) -> None:
    checkin_store.add_upward(
        session,
        team_id=TEAM,
        manager_id=MANAGER,
        author_id=None,
        occurrence_id=None,
        text=text,
        iso_week=rules.iso_week(week),
        released=False,
    )


def test_a_two_answer_weeks_note_is_never_mentioned_then_released_without_its_dates(
    session_factory: Factory,
) -> None:
    """Four direct reports. In the first week two answer, one with an anonymous note: that
    week's digest never mentions it. The next week three answer: its digest releases the note,
    labelled "written in the last 2 weeks", never with the first week's dates."""
    reports = ("UAMY", "UBEA", "UCAL", "UDOT")
    first, second = WEEK, WEEK + timedelta(weeks=1)
    with session_factory() as session, session.begin():
        add_people(
            session,
            CREATED,
            person(MANAGER, tz="Europe/Berlin"),
            *(person(u, tz="Europe/Berlin") for u in reports),
        )
        for user_id in reports:
            report(session, user_id, MANAGER)
        weekly = make_template(session, MANAGER, "Weekly", reports)
        for user_id in reports:
            state = "answered" if user_id in ("UAMY", "UBEA") else "missed"
            occurrence(
                session, weekly, user_id, first, state, pulse(4) if state == "answered" else None
            )
        anonymous_note(session, "The release process scares me", first)
    assert write_due(session_factory, send_time(first, BERLIN), POLICY).written == 1
    key = f"digest:{MANAGER}:{rules.iso_week(first)}"
    with session_factory() as session:
        everything = json.dumps(
            [r.payload for r in session.scalars(select(OutboxMessage))], ensure_ascii=False
        ).lower()
        met = session.scalars(select(Digest.anonymity_met)).one()
    assert outbox_text(session_factory, f"{key}:notes") is None
    assert "release process" not in everything and "anonymous" not in everything
    assert not re.search(r"notes? waits?|until \d+ people", everything)
    assert met is False
    assert stored(session_factory, MANAGER, first).anonymous_released == 0

    with session_factory() as session, session.begin():
        for user_id in reports:
            state = "answered" if user_id != "UDOT" else "missed"
            occurrence(
                session, weekly, user_id, second, state, pulse(4) if state == "answered" else None
            )
    assert write_due(session_factory, send_time(second, BERLIN), POLICY).written == 1
    notes = outbox_text(session_factory, f"digest:{MANAGER}:{rules.iso_week(second)}:notes")
    assert notes is not None and "The release process scares me" in notes
    assert "released this week, written in the last 2 weeks" in notes
    first_label = rules.week_label(first)
    for dated in (first_label, rules.iso_week(first), first.isoformat(), "2–8 Mar", "6 Mar"):
        assert dated not in notes
    assert "<@" not in notes
    data = stored(session_factory, MANAGER, second)
    assert (data.anonymous_released, data.anonymous_weeks, data.anonymous_notes) == (1, 2, [])
    with session_factory() as session:
        marks = dict(session.execute(select(Digest.iso_week, Digest.anonymity_met)).all())
    assert marks == {rules.iso_week(first): False, rules.iso_week(second): True}


def test_template_members_who_are_not_direct_reports_never_count_toward_the_minimum(
    session_factory: Factory,
) -> None:
    """UAMY and UBEA report to the manager; UXAV and UYUL are in the manager's check-in but
    report to UOTHER. All four answer: two direct reports, so the note waits. A third report
    answering the week after releases it."""
    with session_factory() as session, session.begin():
        add_people(
            session,
            CREATED,
            *(
                person(u, tz="Europe/Berlin")
                for u in (MANAGER, "UOTHER", "UAMY", "UBEA", "UCAL", "UXAV", "UYUL")
            ),
        )
        for user_id in ("UAMY", "UBEA"):
            report(session, user_id, MANAGER)
        for user_id in ("UXAV", "UYUL"):
            report(session, user_id, "UOTHER")
        weekly = make_template(session, MANAGER, "Weekly", ["UAMY", "UBEA", "UXAV", "UYUL"])
        for user_id in ("UAMY", "UBEA", "UXAV", "UYUL"):
            occurrence(session, weekly, user_id, WEEK, "answered", pulse(4))
        anonymous_note(session, "Too many meetings", WEEK)
    assert write_due(session_factory, send_time(WEEK, BERLIN), POLICY, manager_id=MANAGER).written
    data = stored(session_factory, MANAGER, WEEK)
    assert (data.people_answered, data.anonymous_released) == (4, 0)  # counted, not for notes
    assert outbox_text(session_factory, f"digest:{MANAGER}:{rules.iso_week(WEEK)}:notes") is None

    following = WEEK + timedelta(weeks=1)
    with session_factory() as session, session.begin():
        report(session, "UCAL", MANAGER)
        other = make_template(session, MANAGER, "Weekly too", ["UCAL"])
        occurrence(session, other, "UCAL", following, "answered", pulse(4))
    assert write_due(
        session_factory, send_time(following, BERLIN), POLICY, manager_id=MANAGER
    ).written
    notes = outbox_text(session_factory, f"digest:{MANAGER}:{rules.iso_week(following)}:notes")
    assert notes is not None and "Too many meetings" in notes


# ----- the manager's own week, and waiting for the check-ins to close ---------------------------

AUCKLAND = ZoneInfo("Pacific/Auckland")


def test_a_manager_in_auckland_gets_their_own_last_week_at_their_monday_nine(
    session_factory: Factory,
) -> None:
    """Monday 9 March 2037 09:00 in Auckland is Sunday 20:00 UTC: in UTC, the last complete
    week would be 23 Feb-1 Mar. The digest covers 2-8 March, the manager's own last week."""
    team = ("UN1", "UN2", "UN3")
    with session_factory() as session, session.begin():
        add_people(session, CREATED, *(person(u, tz="Pacific/Auckland") for u in ("UKIWI", *team)))
        for user_id in team:
            report(session, user_id, "UKIWI")
        weekly = make_template(session, "UKIWI", "Weekly", team)
        for user_id in team:
            occurrence(session, weekly, user_id, WEEK - timedelta(weeks=1), "answered", pulse(3))
            occurrence(session, weekly, user_id, WEEK, "answered", pulse(4))
    monday = datetime.combine(WEEK + timedelta(days=7), time(9), tzinfo=AUCKLAND)
    assert monday.astimezone(UTC).weekday() == 6  # still Sunday in UTC
    early = write_due(session_factory, monday - timedelta(minutes=1), POLICY)
    assert early.written == 0
    assert write_due(session_factory, monday, POLICY).written == 1
    data = stored(session_factory, "UKIWI", WEEK)
    assert (data.iso_week, data.week_start, data.week_label) == (
        "2037-W10",
        "2037-03-02",
        "2–8 Mar",
    )
    assert (data.people_answered, data.pulse, data.pulse_change) == (3, 4.0, 1.0)
    with session_factory() as session:
        assert session.scalars(select(Digest.iso_week)).all() == ["2037-W10"]


def test_the_digest_waits_for_the_weeks_check_ins_to_close(session_factory: Factory) -> None:
    """The manager is in Auckland. UAMY's Friday check-in closes Monday 14:00 there; UHOLO, in
    Honolulu, has a Sunday check-in whose prompt is not even written at the manager's Monday
    09:00 (it is 10:00 on Sunday in Honolulu) and closes an hour after it. The digest goes once
    both have closed, counting neither as a drop, and never shows them as open."""
    with session_factory() as session, session.begin():
        add_people(
            session,
            CREATED,
            person("UKIWI", tz="Pacific/Auckland"),
            *(person(u, tz="Pacific/Auckland") for u in ("UAMY", "UBEA", "UCAL")),
            person("UHOLO", tz="Pacific/Honolulu"),
        )
        for user_id in ("UAMY", "UBEA", "UCAL", "UHOLO"):
            report(session, user_id, "UKIWI")
        weekly = make_template(
            session, "UKIWI", "Weekly", ["UAMY", "UBEA", "UCAL"], close_after="3d"
        )
        sunday = make_template(
            session, "UKIWI", "Sunday", ["UHOLO"], days=["sun"], close_after="1h"
        )
        monday = datetime.combine(WEEK + timedelta(days=7), time(9), tzinfo=AUCKLAND)
        closes = monday.replace(hour=14)
        for user_id in ("UBEA", "UCAL"):
            occurrence(session, weekly, user_id, WEEK, "answered", pulse(4))
        ua = occurrence(session, weekly, "UAMY", WEEK, "pending", closes_at=closes)
    honolulu_sunday = datetime.combine(
        WEEK + timedelta(days=6), time(16), ZoneInfo("Pacific/Honolulu")
    )
    assert honolulu_sunday > monday  # written only after the manager's send time

    assert write_due(session_factory, monday, POLICY).written == 0  # UAMY's is open
    with session_factory() as session, session.begin():
        row = session.get(CheckinOccurrence, ua)
        assert row is not None
        row.state, row.answered_at = "answered", closes - timedelta(hours=1)
        for question, value in pulse(2).items():
            checkin_store_answer(session, ua, question, value)
    # UAMY answered; UHOLO's Sunday check-in is still to come: the digest still waits.
    assert write_due(session_factory, closes, POLICY).written == 0
    with session_factory() as session, session.begin():  # the scheduler writes its prompt
        uh = occurrence(
            session,
            sunday,
            "UHOLO",
            WEEK,
            "pending",
            closes_at=honolulu_sunday + timedelta(hours=1),
        )
        row = session.get(CheckinOccurrence, uh)
        assert row is not None
        row.local_date = WEEK + timedelta(days=6)
    assert write_due(session_factory, honolulu_sunday + timedelta(minutes=30), POLICY).written == 0
    assert write_due(session_factory, honolulu_sunday + timedelta(hours=1), POLICY).written == 1
    data = stored(session_factory, "UKIWI", WEEK)
    assert data.still_open == 0 and not data.chart[-1].unfinished
    assert (data.people_answered, data.people_prompted) == (3, 4)
    assert [(a.user_id, a.outcome) for a in data.absent] == [("UHOLO", "missed")]


def checkin_store_answer(session: Session, occurrence_id: int, question: str, value: Any) -> None:
    from storage.models import CheckinAnswer

    session.add(
        CheckinAnswer(occurrence_id=occurrence_id, question_id=question, team_id=TEAM, value=value)
    )
    session.flush()


# ----- follow-through ---------------------------------------------------------------------------


def test_follow_through_counts_the_replies_kept_with_each_answer(session_factory: Factory) -> None:
    """A manager's reply is kept as a message of the check-in's exchange, whichever way it was
    written (the Reply form, or a reply in the DM thread); the member's own answer back is not
    a reply."""
    with session_factory() as session, session.begin():
        add_people(session, CREATED, person(ANA), *(person(u) for u in OTHERS))
        for user_id in OTHERS:
            report(session, user_id, ANA)
        weekly = make_template(session, ANA, "Platform weekly", list(OTHERS))
        ids = {
            user_id: occurrence(session, weekly, user_id, WEEK, "answered", pulse(4))
            for user_id in OTHERS
        }
        at = datetime.combine(WEEK + timedelta(days=5), time(10), UTC)
        keep_reply(  # the Reply form
            session,
            team_id=TEAM,
            kind=conversations.CHECKIN,
            item_id=ids["UBEN"],
            author_id=ANA,
            text="Great week!",
            source_key="view:V1",
            key=f"checkin:{ids['UBEN']}:reply:V1",
            now=at,
        )
        reply(session, ids["UCHLOE"], ANA, "Thanks for the detail", at)  # in the DM thread
        reply(session, ids["ULARS"], "ULARS", "Answering back", at)  # the member, not a reply
    write_due(session_factory, send_time(WEEK, ZoneInfo("America/New_York")), POLICY)
    data = stored(session_factory, ANA, WEEK)
    assert data.replied == 2 and len(data.answers) == 4
    assert {a.user_id for a in data.answers if a.replied} == {"UBEN", "UCHLOE"}
    assert "you replied to 2 of 4 answers" in readable(data, NAMES)
