"""A small workspace where one person, Zoe (UZOE), has done a bit of everything, written as rows.

Every text Zoe wrote starts with "ZQ-", so a test can look for all of them at once; other
people's texts name her in the ways text can (a mention, her real name, her display name).
Instants are in June 2037, years ahead of any run of the suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.services import conversations
from bot.services.digest_data import Absent, AnswerLine, Blocker, DigestData, TemplateLine
from storage.models import (
    CheckinAnswer,
    CheckinMember,
    CheckinOccurrence,
    CheckinTemplate,
    ConversationThread,
    Digest,
    DirectoryUser,
    DmChannel,
    Feedback,
    FeedbackAsked,
    FeedbackRequest,
    Kudos,
    KudosBudget,
    KudosRecipient,
    KudosValue,
    OrgEdge,
    OutboxMessage,
    OutOfOffice,
    PrivacyAudit,
    UpwardFeedback,
)
from tests.factories import TEAM, add_people, person

ZOE = "UZOE"
MANAGER = "UMARA"  # Zoe's manager
ANA, BEN = "UANA", "UBEN"  # Zoe's teammates
REPORT = "UREP"  # reports to Zoe
OTHER, OTHER_MANAGER = "UOTH", "UOTM"  # nothing to do with Zoe

ZOE_EMAIL = "zoe.quinn@example.com"
ZOE_REAL_NAME = "Zoe Quinn"
ZOE_DISPLAY = "zoeq"
ZOE_DM = "DZOE0001"

NOW = datetime(2037, 6, 15, 12, 0, tzinfo=UTC)  # a Monday, ISO week 2037-W25
LAST_WEEK = date(2037, 6, 8)
TWO_WEEKS = date(2037, 6, 1)
KUDOS_CHANNEL = "C0KUDOS"
TEAM_CHANNEL = "C0TEAM"

QUESTIONS = [
    {"id": "done", "text": "What did you get done?", "kind": "text", "required": True},
    {"id": "blockers", "text": "Any blockers?", "kind": "text", "blocker": True},
    {"id": "pulse", "text": "How do you feel?", "kind": "pulse", "required": True},
]


@dataclass
class World:
    ids: dict[str, int] = field(default_factory=dict)
    note_ids: dict[str, str] = field(default_factory=dict)


def zoe_texts() -> list[str]:
    """Every text Zoe wrote in the world (each starts with "ZQ-")."""
    return [
        "ZQ-done-1",
        "ZQ-done-2",
        "ZQ-blocker",
        "ZQ-reply-to-rep",
        "ZQ-named-note",
        "ZQ-kudos-to-ana",
        "ZQ-went-well",
        "ZQ-could-be-better",
        "ZQ-topic",
        "ZQ-question?",
        "ZQ-answer-to-otm",
        "ZQ-request-message",
        "ZQ-feedback-reply",
        "ZQ-team-answer",
    ]


def seed(session: Session) -> World:
    world = World()
    at = NOW - timedelta(days=20)
    add_people(
        session,
        at,
        person(ZOE, tz="Europe/Berlin", email=ZOE_EMAIL),
        *(person(u, tz="Europe/Berlin") for u in (MANAGER, ANA, BEN, REPORT, OTHER, OTHER_MANAGER)),
    )
    zoe = session.get(DirectoryUser, (TEAM, ZOE))
    assert zoe is not None
    zoe.name, zoe.real_name = ZOE_DISPLAY, ZOE_REAL_NAME
    session.add(DmChannel(team_id=TEAM, user_id=ZOE, channel_id=ZOE_DM))
    for user_id, manager_id in (
        (ZOE, MANAGER),
        (ANA, MANAGER),
        (BEN, MANAGER),
        (REPORT, ZOE),
        (OTHER, OTHER_MANAGER),
    ):
        session.add(
            OrgEdge(
                team_id=TEAM, user_id=user_id, manager_id=manager_id, source="csv", updated_at=at
            )
        )
    session.add(
        OutOfOffice(
            team_id=TEAM,
            user_id=ZOE,
            starts_on=date(2037, 7, 1),
            until=date(2037, 7, 14),
            set_at=at,
        )
    )
    weekly = _template(session, MANAGER, "Weekly", [ZOE, ANA, BEN], at, channel=TEAM_CHANNEL)
    zoes = _template(session, ZOE, "Zoe's team", [REPORT], at)
    world.ids.update(weekly=weekly, zoes_template=zoes)

    # ----- check-ins, two weeks
    for n, week in enumerate((TWO_WEEKS, LAST_WEEK), 1):
        world.ids[f"zoe{n}"] = _occurrence(
            session,
            weekly,
            ZOE,
            week,
            {"done": f"ZQ-done-{n}", "blockers": "ZQ-blocker" if n == 2 else "none", "pulse": 4},
        )
        world.ids[f"ana{n}"] = _occurrence(
            session, weekly, ANA, week, {"done": "Ana done, thanks Zoe Quinn", "pulse": 3}
        )
        world.ids[f"ben{n}"] = _occurrence(
            session, weekly, BEN, week, {"done": f"Ben done, <@{ZOE}> helped", "pulse": 5}
        )
        world.ids[f"rep{n}"] = _occurrence(
            session, zoes, REPORT, week, {"done": "Rep done", "pulse": 2}
        )
    _message(session, "checkin", world.ids["zoe2"], MANAGER, "Mara's reply to Zoe", 1)
    _message(session, "checkin", world.ids["rep2"], ZOE, "ZQ-reply-to-rep", 2)
    _message(session, "checkin", world.ids["rep2"], REPORT, "Rep's answer back", 3)
    session.add(
        ConversationThread(
            team_id=TEAM,
            kind="checkin",
            item_id=world.ids["rep2"],
            user_id=REPORT,
            root_outbox_id=None,
            peer_id=ZOE,
            peer_root_outbox_id=None,
        )
    )

    # ----- upward notes
    notes = {
        "zoe_named": (MANAGER, ZOE, False, "ZQ-named-note", "2037-W24", True, None),
        "anon_to_mara": (
            MANAGER,
            None,
            True,
            "Anonymous note to Mara",
            "2037-W24",
            True,
            "2037-W24",
        ),
        "anon_to_zoe": (
            ZOE,
            None,
            True,
            "Anonymous note to Zoe, released",
            "2037-W23",
            True,
            "2037-W24",
        ),
        "anon_waiting": (
            ZOE,
            None,
            True,
            "Anonymous note to Zoe, waiting",
            "2037-W24",
            False,
            None,
        ),
        "rep_named": (ZOE, REPORT, False, "Rep's signed note to Zoe", "2037-W24", True, None),
    }
    for key, (manager, author, anonymous, text, week, released, released_week) in notes.items():
        note_id = f"{key:0<32}"[:32]
        session.add(
            UpwardFeedback(
                id=note_id,
                team_id=TEAM,
                manager_id=manager,
                author_id=author,
                occurrence_id=world.ids["zoe2"] if author == ZOE else None,
                anonymous=anonymous,
                text=text,
                iso_week=week,
                released=released,
                released_week=released_week,
            )
        )
        world.note_ids[key] = note_id

    # ----- kudos
    world.ids["kudos_by_zoe"] = _kudos(session, ZOE, [ANA], "ZQ-kudos-to-ana", at, ["craft"])
    world.ids["kudos_to_zoe"] = _kudos(
        session, BEN, [ZOE, ANA], f"Ben thanks <@{ZOE}> and Ana", at + timedelta(hours=1), []
    )
    world.ids["kudos_other"] = _kudos(session, OTHER, [OTHER_MANAGER], "Unrelated kudos", at, [])
    session.add(KudosBudget(team_id=TEAM, giver_id=ZOE, local_date=at.date(), spent=1))

    # ----- feedback
    world.ids["fb_by_zoe"] = _feedback(
        session, ZOE, ANA, "ZQ-went-well", "ZQ-could-be-better", MANAGER, at
    )
    world.ids["fb_to_zoe"] = _feedback(session, ANA, ZOE, "Ana's feedback to Zoe", None, None, at)
    world.ids["fb_copy_to_zoe"] = _feedback(
        session, ANA, REPORT, "Ana's feedback to Rep", None, ZOE, at
    )
    world.ids["fb_other"] = _feedback(
        session, OTHER, OTHER_MANAGER, "Unrelated feedback", None, None, at
    )
    _message(session, "feedback", world.ids["fb_by_zoe"], ANA, "Ana's reply to Zoe's feedback", 4)
    _message(session, "feedback", world.ids["fb_by_zoe"], ZOE, "ZQ-feedback-reply", 5)

    # ----- feedback requests
    world.ids["req_by_zoe"] = _request(session, ZOE, None, "ZQ-topic", ["ZQ-question?"], "open", at)
    _asked(session, world.ids["req_by_zoe"], ANA, "answered", ["Ana's answer to Zoe"], False)
    _asked(session, world.ids["req_by_zoe"], BEN, "pending", None, False)
    world.ids["req_about_zoe"] = _request(
        session, MANAGER, ZOE, "How Zoe did", ["What went well?"], "closed", at
    )
    _asked(session, world.ids["req_about_zoe"], ANA, "answered", ["Ana shared about Zoe"], True)
    _asked(session, world.ids["req_about_zoe"], BEN, "answered", ["Ben kept to himself"], False)
    world.ids["req_about_zoe_open"] = _request(
        session, MANAGER, ZOE, "Still open", ["Anything?"], "open", at
    )
    _asked(session, world.ids["req_about_zoe_open"], ANA, "answered", ["Not delivered yet"], True)
    world.ids["req_to_zoe"] = _request(
        session, OTHER_MANAGER, None, "Otm's topic", ["Otm asks?"], "closed", at
    )
    world.ids["asked_zoe"] = _asked(
        session, world.ids["req_to_zoe"], ZOE, "answered", ["ZQ-answer-to-otm"], False
    )
    _message(session, "request", world.ids["asked_zoe"], OTHER_MANAGER, "Otm thanks Zoe", 6)
    _message(session, "request", world.ids["asked_zoe"], ZOE, "ZQ-request-message", 7)
    _message(session, "team", None, ZOE, "ZQ-team-answer", 8)

    # ----- digests: Mara's names Zoe; Zoe's own
    mara = DigestData(
        manager_id=MANAGER,
        iso_week="2037-W24",
        week_start=LAST_WEEK.isoformat(),
        week_label="8–14 Jun",
        sent=True,
        reports=[ANA, BEN, ZOE],
        people_answered=3,
        people_prompted=3,
        answered=3,
        prompted=3,
        pulse=4.0,
        pulse_people=3,
        blockers=[Blocker(ZOE, "Weekly", "Any blockers?", "ZQ-blocker", True)],
        participation=[TemplateLine("Weekly", 3, 3, None, [], [], [])],
        answers=[
            AnswerLine(ZOE, world.ids["zoe2"], "Weekly", "ZQ-done-2", False),
            AnswerLine(ANA, world.ids["ana2"], "Weekly", "Ana done, thanks Zoe Quinn", False),
        ],
        named_notes=[(ZOE, "ZQ-named-note")],
        absent=[Absent(REPORT, "missed")],
        kudos=2,
    )
    world.ids["digest_mara"] = _digest(session, mara)
    zoes_digest = DigestData(
        manager_id=ZOE,
        iso_week="2037-W24",
        week_start=LAST_WEEK.isoformat(),
        week_label="8–14 Jun",
        sent=True,
        reports=[REPORT],
        people_answered=1,
        people_prompted=1,
    )
    world.ids["digest_zoe"] = _digest(session, zoes_digest)

    # ----- the outbox: what was sent and what waits
    feed = _outbox(
        session,
        f"kudos:{world.ids['kudos_to_zoe']}:feed",
        {"channel": KUDOS_CHANNEL, "text": f"<@{BEN}> gave kudos to <@{ZOE}> and <@{ANA}>"},
        status="sent",
        result_channel=KUDOS_CHANNEL,
    )
    world.ids["feed_post"] = feed
    # Her words, with no mention of her: found by the item's key.
    world.ids["answer_in_channel"] = _outbox(
        session,
        f"checkin:{world.ids['zoe2']}:answers:channel",
        {"channel": "$parent.channel", "thread_ts": "$parent.ts", "text": "ZQ-done-2"},
        status="sent",
        result_channel=TEAM_CHANNEL,
    )
    world.ids["dm_to_ana"] = _outbox(
        session,
        f"kudos:{world.ids['kudos_by_zoe']}:dm:{ANA}",
        {"channel": ANA, "text": "ZQ-kudos-to-ana"},
        status="sent",
        result_channel="DANA",
    )
    world.ids["sent_to_zoe"] = _outbox(
        session,
        f"kudos:{world.ids['kudos_to_zoe']}:dm:{ZOE}",
        {"channel": ZOE, "text": "Ben gave you kudos"},
        status="sent",
        result_channel=ZOE_DM,
    )
    world.ids["pending_to_zoe"] = _outbox(
        session, f"checkin:{world.ids['zoe2']}:reminder", {"channel": ZOE, "text": "Reminder"}
    )
    world.ids["pending_home"] = _outbox(
        session, f"home:{ZOE}:Ev1", {"user_id": ZOE, "view": {"type": "home", "blocks": []}}
    )
    # Someone else's words with her name in them, no mention: reworded, not withdrawn.
    world.ids["named_in_words"] = _outbox(
        session,
        "kudos:777:feed",
        {"channel": KUDOS_CHANNEL, "text": f"<@{ANA}> thanks {ZOE_REAL_NAME} and <@{BEN}>"},
        status="sent",
        result_channel=KUDOS_CHANNEL,
    )
    world.ids["pending_other"] = _outbox(
        session, "kudos:999:dm:UOTM", {"channel": OTHER_MANAGER, "text": "Unrelated"}
    )
    session.add(
        PrivacyAudit(
            team_id=TEAM,
            action="export",
            actor=f"slack:{ZOE}",
            subject_id=ZOE,
            started_at=at,
            finished_at=at,
            counts={"checkin": 2},
        )
    )
    session.flush()
    return world


def _template(
    session: Session,
    owner: str,
    name: str,
    members: list[str],
    at: datetime,
    channel: str | None = None,
) -> int:
    row = CheckinTemplate(
        team_id=TEAM,
        owner_id=owner,
        name=name,
        weekdays=["fri"],
        local_time="16:00",
        questions=QUESTIONS,
        post_to_manager=True,
        channel_id=channel,
        remind_after_minutes=None,
        close_after_minutes=1440,
        schedule_from=at,
        created_at=at,
        updated_at=at,
        active=True,
    )
    session.add(row)
    session.flush()
    session.add_all(
        CheckinMember(template_id=row.id, user_id=u, team_id=TEAM, added_at=at) for u in members
    )
    return row.id


def _occurrence(
    session: Session, template_id: int, user_id: str, week: date, answers: dict[str, Any]
) -> int:
    day = week + timedelta(days=4)
    at = datetime(day.year, day.month, day.day, 14, tzinfo=UTC)
    row = CheckinOccurrence(
        team_id=TEAM,
        template_id=template_id,
        user_id=user_id,
        local_date=day,
        scheduled_at=at,
        closes_at=at + timedelta(days=1),
        state="answered",
        snooze_count=0,
        answered_at=at + timedelta(hours=1),
        created_at=at,
        updated_at=at,
    )
    session.add(row)
    session.flush()
    session.add_all(
        CheckinAnswer(occurrence_id=row.id, question_id=q, team_id=TEAM, value=v)
        for q, v in answers.items()
    )
    return row.id


def _message(
    session: Session, kind: str, item_id: int | None, author: str, text: str, n: int
) -> None:
    conversations.record(
        session,
        team_id=TEAM,
        kind=kind,
        item_id=item_id,
        author_id=author,
        text=text,
        source_key=f"seed:{n}",
        now=NOW - timedelta(days=5, minutes=-n),
    )


def _kudos(
    session: Session,
    giver: str,
    recipients: list[str],
    message: str,
    at: datetime,
    values: list[str],
) -> int:
    row = Kudos(
        team_id=TEAM,
        giver_id=giver,
        message=message,
        source="command",
        request_key=f"cmd:seed-{abs(hash((giver, message))) % 10**9}",
        quote_url=None,
        giver_local_date=at.date(),
        created_at=at,
    )
    row.recipients = [KudosRecipient(recipient_id=r) for r in recipients]
    row.values = [KudosValue(value=v) for v in values]
    session.add(row)
    session.flush()
    return row.id


def _feedback(
    session: Session,
    sender: str,
    recipient: str,
    went_well: str,
    could_be_better: str | None,
    manager: str | None,
    at: datetime,
) -> int:
    row = Feedback(
        team_id=TEAM,
        sender_id=sender,
        recipient_id=recipient,
        went_well=went_well,
        could_be_better=could_be_better,
        value="craft",
        visibility="recipient_and_manager" if manager else "recipient",
        manager_id=manager,
        quote_url=None,
        request_key=f"view:seed-{abs(hash((sender, recipient, went_well))) % 10**9}",
        created_at=at,
    )
    session.add(row)
    session.flush()
    return row.id


def _request(
    session: Session,
    requester: str,
    subject: str | None,
    topic: str,
    questions: list[str],
    state: str,
    at: datetime,
) -> int:
    row = FeedbackRequest(
        team_id=TEAM,
        requester_id=requester,
        subject_id=subject,
        topic=topic,
        questions=questions,
        due_on=(at + timedelta(days=7)).date(),
        due_at=at + timedelta(days=7),
        remind_at=at + timedelta(days=6),
        state=state,
        closed_at=at + timedelta(days=7) if state == "closed" else None,
        request_key=f"view:seed-{abs(hash((requester, topic))) % 10**9}",
        created_at=at,
    )
    session.add(row)
    session.flush()
    return row.id


def _asked(
    session: Session,
    request_id: int,
    user_id: str,
    state: str,
    answers: list[str] | None,
    share: bool,
) -> int:
    row = FeedbackAsked(
        request_id=request_id,
        team_id=TEAM,
        user_id=user_id,
        state=state,
        answers=answers,
        share_with_subject=share,
        answered_at=NOW - timedelta(days=10) if state == "answered" else None,
    )
    session.add(row)
    session.flush()
    return row.id


def _digest(session: Session, data: DigestData) -> int:
    row = Digest(
        team_id=TEAM,
        manager_id=data.manager_id,
        iso_week=data.iso_week,
        week_start=date.fromisoformat(data.week_start),
        content=data.stored_json(),
        created_at=NOW - timedelta(days=1),
        anonymity_met=True,
    )
    session.add(row)
    session.flush()
    return row.id


def _outbox(
    session: Session,
    key: str,
    payload: dict[str, Any],
    *,
    status: str = "pending",
    result_channel: str | None = None,
) -> int:
    row = OutboxMessage(
        team_id=TEAM,
        idempotency_key=key,
        method="chat.postMessage",
        payload=payload,
        status=status,
        attempts=1 if status == "sent" else 0,
        priority=0,
        result_channel=result_channel,
        result_ts="1700000000.000100" if status == "sent" else None,
        created_at=NOW - timedelta(days=2),
        sent_at=NOW - timedelta(days=2) if status == "sent" else None,
    )
    session.add(row)
    session.flush()
    return row.id
