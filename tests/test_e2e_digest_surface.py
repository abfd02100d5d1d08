"""What members and managers read, end to end: the real server, the emulator, signed requests.

A blocker with and without its details, from the form to the owner's DM, the team channel and
the digest (what blocks, for how long, who raised it; View more with its dates in words); a
pulse question in a channel template that stays out of the channel while the form and the
prompt say who reads what; a director's digest that leads with the teams below her, with no
chart and no "0 of 0", previewed as a preview before it goes and as sent after.

The server runs on real time: the check-ins answered here were due a few minutes ago in
Berlin, and every other instant derives from the clock.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.demo.emulator import Call, SlackEmulator
from bot.jobs.digests import DigestPolicy, write_due
from bot.jobs.minute import run_due
from bot.services import digest_rules as rules
from bot.services import templates
from bot.services.templates import Question
from handlers.users import sync_all
from storage.models import CheckinAnswer, CheckinOccurrence, OrgEdge, OutboxMessage
from tests.factories import TEAM
from tests.server import RunningServer
from tests.slack_requests import SlackRequests

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
MANAGER, CHANNEL = "UMAN", "C0PLAT"
MEMBERS = ("UBEN", "UEVA", "UFIN")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
QUESTIONS = (
    Question("done", "What did you get done?", "text", required=True),
    Question("pulse", "How do you feel this week?", "pulse", required=True),
    Question("blocked", "Anything blocking you?", "yes_no", blocker=True),
    Question("workload", "How is your workload?", "text", in_channel=False),
)
REVIEW = "Waiting on the security review"


# ----- a team in Berlin whose check-in is open now ----------------------------------------------


@pytest.fixture
def team(server: RunningServer, slack: SlackEmulator) -> dict[str, CheckinOccurrence]:
    """Prompted a few minutes ago, in Berlin; returns each member's open occurrence."""
    slack.add_channel(CHANNEL, "platform")
    for user_id in (MANAGER, *MEMBERS):
        slack.add_user(user_id, tz="Europe/Berlin")
    sync_all(server.deps, WebClient(token=slack.bot_token, base_url=slack.url), TEAM)
    now = datetime.now(UTC)
    berlin = now.astimezone(BERLIN) - timedelta(minutes=5)
    definition = templates.TemplateDef(
        name="Platform weekly",
        owner_id=MANAGER,  # applying it makes her everyone's manager
        member_ids=MEMBERS,
        weekdays=(WEEKDAYS[berlin.weekday()],),
        local_time=berlin.strftime("%H:%M"),
        questions=QUESTIONS,
        close_after=timedelta(hours=8),
        channel_id=CHANNEL,
    )
    with server.deps.unit_of_work() as session:
        templates.apply(session, TEAM, [definition], now - timedelta(days=1))
    run_due(server.deps.session_factory, now)
    slack.wait_for("chat.postMessage", count=3, predicate=lambda c: c["channel"] in MEMBERS)
    with server.deps.unit_of_work() as session:
        rows = session.scalars(
            select(CheckinOccurrence).where(CheckinOccurrence.state == "pending")
        ).all()
    found = {row.user_id: row for row in rows}
    assert set(found) == set(MEMBERS)
    return found


def form(
    *, blocked: str | None, detail: str = "", pulse: str = "4", workload: str = ""
) -> dict[str, Any]:
    """A filled-in answer modal's `view.state.values`, as Slack sends it."""

    def text(value: str) -> dict[str, Any]:
        return {"answer": {"type": "plain_text_input", "value": value or None}}

    return {
        "checkin_q_done": text("Shipped the quota limits"),
        "checkin_q_pulse": {
            "answer": {"type": "static_select", "selected_option": {"value": pulse}}
        },
        "checkin_q_blocked": {
            "answer": {
                "type": "radio_buttons",
                "selected_option": {"value": blocked} if blocked else None,
            }
        },
        "checkin_q_blocked.detail": text(detail),
        "checkin_q_workload": text(workload),
    }


def submit(
    signed: SlackRequests, user_id: str, occurrence: CheckinOccurrence, values: dict[str, Any]
) -> dict[str, Any]:
    response = signed.view_submission(
        user_id=user_id,
        callback_id="checkin_modal",
        values=values,
        private_metadata=json.dumps({"occurrence_id": occurrence.id}),
        view_id=f"V{user_id}",
    )
    assert response.status_code == 200
    return response.json() if response.text else {}


def keyed(slack: SlackEmulator, key: str, timeout: float = 15) -> Call:
    (call,) = slack.wait_for(
        "chat.postMessage",
        timeout=timeout,
        predicate=lambda c: c["metadata"]["event_payload"]["key"] == key,
    )
    return call


def blocks_text(call: Call) -> str:
    return json.dumps(call["blocks"], ensure_ascii=False)


def view_of(call: Call) -> dict[str, Any]:
    view = call["view"]
    return view if isinstance(view, dict) else json.loads(view)


def opened_view(slack: SlackEmulator, trigger_id: str) -> dict[str, Any]:
    (call,) = slack.wait_for("views.open", predicate=lambda c: c["trigger_id"] == trigger_id)
    return view_of(call)


def day_words(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


# ----- a blocker says what blocks ---------------------------------------------------------------


def test_a_blocker_with_and_without_details_from_the_form_to_the_digest(
    server: RunningServer,
    slack: SlackEmulator,
    signed: SlackRequests,
    team: dict[str, CheckinOccurrence],
) -> None:
    ben, eva, fin = (team[u] for u in MEMBERS)
    week = rules.monday_of(ben.local_date)
    # Ben was blocked by the same review last week too.
    with server.deps.unit_of_work() as session:
        last_week = CheckinOccurrence(
            team_id=TEAM,
            template_id=ben.template_id,
            user_id="UBEN",
            local_date=ben.local_date - timedelta(days=7),
            scheduled_at=ben.scheduled_at - timedelta(days=7),
            closes_at=ben.closes_at - timedelta(days=7),
            state="answered",
            snooze_count=0,
            answered_at=ben.scheduled_at - timedelta(days=7, minutes=-30),
            created_at=ben.scheduled_at - timedelta(days=7),
            updated_at=ben.scheduled_at - timedelta(days=7),
        )
        session.add(last_week)
        session.flush()
        for question_id, value in {
            "done": "x", "pulse": 3, "blocked": True, "blocked.detail": REVIEW
        }.items():
            session.add(
                CheckinAnswer(
                    occurrence_id=last_week.id, question_id=question_id, team_id=TEAM, value=value
                )
            )

    assert submit(signed, "UBEN", ben, form(blocked="yes", detail=REVIEW)) == {}
    assert submit(signed, "UEVA", eva, form(blocked="yes")) == {}  # yes, and nothing more
    # "No" beside a detail: the member says which, on the question.
    refused = submit(signed, "UFIN", fin, form(blocked="no", detail="The vendor"))
    assert refused["response_action"] == "errors"
    assert "pick Yes, or clear that text" in refused["errors"]["checkin_q_blocked"]
    assert submit(signed, "UFIN", fin, form(blocked="no")) == {}
    server.deps.notify_outbox()

    # The owner's DM and the team channel read a blocker the same way: never a bare "yes".
    ben_dm = blocks_text(keyed(slack, f"checkin:{ben.id}:answers:manager"))
    eva_dm = blocks_text(keyed(slack, f"checkin:{eva.id}:answers:manager"))
    assert f"*Anything blocking you?*\\nYes:\\n>{REVIEW}" in ben_dm
    assert "*Anything blocking you?*\\nYes: _blocked (no details given)_" in eva_dm
    assert "What is blocking you?" not in ben_dm  # the detail is the question's answer
    ben_thread = blocks_text(keyed(slack, f"checkin:{ben.id}:answers:channel"))
    eva_thread = blocks_text(keyed(slack, f"checkin:{eva.id}:answers:channel"))
    assert f"Yes:\\n>{REVIEW}" in ben_thread
    assert "Yes: _blocked (no details given)_" in eva_thread
    with server.deps.unit_of_work() as session:
        stored = dict(
            session.execute(
                select(CheckinAnswer.question_id, CheckinAnswer.value).where(
                    CheckinAnswer.occurrence_id == ben.id
                )
            ).all()
        )
    assert stored["blocked"] is True and stored["blocked.detail"] == REVIEW

    # The digest of the week: what blocks, for how long, who raised it.
    monday = rules.due_at(week, BERLIN, "mon", time(9))
    policy = DigestPolicy.from_settings(server.deps.settings)
    assert run_due(server.deps.session_factory, monday, digests=policy).digests == 1
    server.deps.notify_outbox()
    digest = keyed(slack, f"digest:{MANAGER}:{rules.iso_week(week)}:message", timeout=20)
    body = blocks_text(digest)
    assert f"<@UBEN>: {REVIEW} — *2nd week* (Platform weekly)" in body
    assert "<@UEVA>: _blocked (no details given)_ — new this week (Platform weekly)" in body
    assert "<@UFIN>:" not in body.split("*Blockers*")[1].split("*Participation*")[0]
    assert "2 blockers" in digest["text"]
    # One line per person, with View more: the whole answer, dated as the manager says it.
    (more,) = [
        b["accessory"]
        for b in digest["blocks"]
        if b.get("accessory", {}).get("action_id") == "digest_view_more"
        and "<@UBEN>" in b["text"]["text"]
    ]
    assert more["value"] == str(ben.id)
    signed.block_action(
        user_id=MANAGER, action_id="digest_view_more", value=more["value"], trigger_id="vm-ben"
    )
    opened = opened_view(slack, "vm-ben")
    view_body = json.dumps(opened["blocks"], ensure_ascii=False)
    assert REVIEW in view_body and "How is your workload?" not in view_body  # not answered
    answered_on = datetime.now(UTC).astimezone(BERLIN).date()
    assert f"Platform weekly · {day_words(answered_on)}" in view_body
    assert answered_on.isoformat() not in view_body


# ----- the channel sees only what the template shares there -------------------------------------


def test_a_pulse_question_in_a_channel_template_stays_out_of_the_channel(
    server: RunningServer,
    slack: SlackEmulator,
    signed: SlackRequests,
    team: dict[str, CheckinOccurrence],
) -> None:
    ben = team["UBEN"]
    # The prompt says who reads which answer before Ben starts.
    prompt = keyed(slack, f"checkin:{ben.id}:prompt")
    assert (
        "<#C0PLAT> also sees your answers to _What did you get done?_ and _Anything blocking "
        "you?_ Your pulse and your other answers never go there." in blocks_text(prompt)
    )
    # So does the form, under each question.
    signed.block_action(
        user_id="UBEN",
        action_id="checkin_start",
        value=str(ben.id),
        channel_id="DUBEN",
        message_ts=slack.messages("UBEN")[0]["ts"],
        trigger_id="start-ben",
    )
    modal = opened_view(slack, "start-ben")
    readers: dict[str, str] = {}
    current = None
    for block in modal["blocks"]:
        if block["type"] == "input":
            current = block["block_id"]
        elif block["type"] == "context" and current:
            readers[current] = block["elements"][0]["text"]
    assert readers["checkin_q_pulse"] == ":bust_in_silhouette: Read by <@UMAN> (your manager) only"
    assert readers["checkin_q_done"].endswith("Read by <@UMAN> (your manager) and <#C0PLAT>")
    assert readers["checkin_q_workload"].endswith("only")

    values = form(blocked="no", pulse="2", workload="Too many on-call nights")
    assert submit(signed, "UBEN", ben, values) == {}
    server.deps.notify_outbox()
    thread = keyed(slack, f"checkin:{ben.id}:answers:channel")
    shared = blocks_text(thread) + thread["text"]
    assert thread["channel"] == CHANNEL and "Shipped the quota limits" in shared
    for private in ("How do you feel", "2 — meh", "workload", "on-call nights"):
        assert private not in shared, private
    # The owner reads every answer.
    owner = blocks_text(keyed(slack, f"checkin:{ben.id}:answers:manager"))
    assert "How do you feel this week?" in owner and ":confused: 2 — meh" in owner
    assert "Too many on-call nights" in owner
    assert not any(
        "meh" in json.dumps(c["blocks"]) for c in slack.calls("chat.postMessage")
        if c["channel"] == CHANNEL
    )


# ----- a director's digest ----------------------------------------------------------------------

DIRECTOR = "UDIR"
LEADS = {"ULEAD1": ("UA1", "UA2", "UA3"), "ULEAD2": ("UB1", "UB2", "UB3", "UB4")}


def seed_director(server: RunningServer, slack: SlackEmulator, week: date) -> None:
    """A director with two managers, each with their own team's weekly check-in; she has
    none of her own. Two weeks of answers, recorded months after everyone arrived."""
    since = datetime.now(UTC) - timedelta(days=70)
    everyone = [DIRECTOR, *LEADS, *(m for members in LEADS.values() for m in members)]
    for user_id in everyone:
        slack.add_user(user_id, tz="America/New_York")
    sync_all(server.deps, WebClient(token=slack.bot_token, base_url=slack.url), TEAM)
    with server.deps.unit_of_work() as session:
        for lead in LEADS:
            session.add(
                OrgEdge(
                    team_id=TEAM, user_id=lead, manager_id=DIRECTOR, source="csv", updated_at=since
                )
            )
        for lead, members in LEADS.items():
            definition = templates.TemplateDef(
                name=f"{lead} weekly",
                owner_id=lead,
                member_ids=members,
                weekdays=("fri",),
                local_time="16:00",
                questions=QUESTIONS,
                close_after=timedelta(days=1),
            )
            [change] = templates.apply(session, TEAM, [definition], since)
            for back, pulse in ((1, 4), (0, 3)):
                day = week - timedelta(weeks=back) + timedelta(days=4)
                at = datetime.combine(day, time(16), NEW_YORK).astimezone(UTC)
                for member in members:
                    row = CheckinOccurrence(
                        team_id=TEAM,
                        template_id=change.template_id,
                        user_id=member,
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
                    for question_id, value in {"done": "Shipped", "pulse": pulse}.items():
                        session.add(
                            CheckinAnswer(
                                occurrence_id=row.id,
                                question_id=question_id,
                                team_id=TEAM,
                                value=value,
                            )
                        )


def preview(slack: SlackEmulator, signed: SlackRequests, trigger: str) -> dict[str, Any]:
    slack.reset()
    response = signed.command("/checkin", "digest", user_id=DIRECTOR, trigger_id=trigger)
    assert response.status_code == 200
    (updated,) = slack.wait_for("views.update", timeout=10)
    return view_of(updated)


def test_a_directors_digest_leads_with_the_teams_below_her_with_no_chart_and_no_0_of_0(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    now = datetime.now(UTC)
    week = rules.covered_week(now, NEW_YORK)
    seed_director(server, slack, week)

    # Before it is written: the coming digest, labelled as a preview.
    coming = preview(slack, signed, "t-before")
    assert coming["title"]["text"] == "Digest preview"
    first = coming["blocks"][0]["elements"][0]["text"]
    assert first.startswith(":eyes: *Preview, not sent yet.* It goes to you <!date^")
    assert "Your teams, week of" in json.dumps(coming["blocks"], ensure_ascii=False)

    at = max(now, rules.due_at(week, NEW_YORK, "mon", time(9)))
    policy = DigestPolicy.from_settings(server.deps.settings)
    assert write_due(server.deps.session_factory, at, policy, manager_id=DIRECTOR).written == 1
    server.deps.notify_outbox()
    key = f"digest:{DIRECTOR}:{rules.iso_week(week)}"
    sent = keyed(slack, f"{key}:message", timeout=20)
    kinds = [b["type"] for b in sent["blocks"]]
    texts = [b["text"]["text"] for b in sent["blocks"] if b["type"] in ("header", "section")]
    assert "image" not in kinds
    assert texts[0] == f"Your teams, week of {rules.week_label(week)}"
    assert sent["text"].startswith(
        f"Week of {rules.week_label(week)}: your 2 teams answered 7 of 7 check-ins"
    )
    assert texts[2].startswith(":busts_in_silhouette: *Your teams*")
    assert "<@ULEAD1>'s team (3 people): 3 of 3 check-ins answered, pulse 3.0 (-1.0)" in texts[2]
    assert "<@ULEAD2>'s team (4 people): 4 of 4 check-ins answered, pulse 3.0 (-1.0)" in texts[2]
    body = blocks_text(sent)
    for never in ("0 of 0", "No check-ins were scheduled", "No pulse", "<@UA1>", "<@UB1>"):
        assert never not in body, never
    with server.deps.unit_of_work() as session:
        uploads = session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.idempotency_key == f"{key}:chart")
        ).all()
    assert uploads == [] and not slack.calls("files.getUploadURLExternal")

    # After: what was sent, and said so.
    after = preview(slack, signed, "t-after")
    assert after["title"]["text"] == "Weekly digest"
    said = after["blocks"][0]["elements"][0]["text"]
    assert said.startswith(":mailbox_with_mail: *As sent* <!date^")
    shown = [b for b in after["blocks"][1:] if b["type"] in ("header", "section")]
    assert [b["text"]["text"] for b in shown][:3] == texts[:3]
