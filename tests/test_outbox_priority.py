"""Which rows each bot/notify function writes as bulk, and which as interactive.

What a scheduled job or a fan-out writes (one action, many recipients) is bulk, so a person's
own action overtakes it; what answers a person's action now is interactive. One case per
notify function: it is called as its job or listener calls it, and every row it wrote is read
back from the outbox, its key matched against the key schemes the case expects, each with the
priority it must carry. A key nobody expected fails the case too, so a new row has to be placed
here on purpose; and a public function of bot/notify that no case names fails the guard, so a
new notify function cannot land without its rows' priority pinned.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import bot.notify
from bot.delivery import outbox
from bot.notify import (
    checkins,
    conversations,
    digest,
    feedback,
    feedback_requests,
    goal_closing,
    goals,
    home,
    kudos,
    lifecycle,
    privacy,
    reactions,
)
from bot.services import conversations as threads
from bot.services import feedback_requests as requests
from bot.services import reactions as reacting
from bot.services import templates
from bot.services.checkins import Due, Occurrence, ReplyTarget, Submitted
from bot.services.digest_data import DigestData
from bot.services.feedback import FeedbackItem
from bot.services.goal_access import GoalKind, GoalState
from bot.services.goal_closing import ClosingDue, ClosingItem
from bot.services.goal_cycles import parse as cycle
from bot.services.kudos import KudosDraft
from bot.services.lifecycle import Departure, GoalsLeft, Withdrawn
from bot.services.privacy import prepare
from bot.services.states import (
    AskedState,
    CheckinUnavailableReason,
    OccurrenceState,
    RequestState,
)
from handlers.reactions import HOLD
from storage import outbox as store
from storage.models import OutboxMessage
from tests.factories import TEAM, add_people, person

BULK, INTERACTIVE = store.BULK, store.INTERACTIVE
NOW = datetime(2037, 3, 9, 8, 0, tzinfo=UTC)  # far from any run
CLICKED = ("DUBEN", "2143353600.000100")  # a DM message someone clicked: (channel, ts)
OCCURRENCE = 41
DAILY = templates.TemplateDef(
    name="Daily",
    owner_id="UANA",
    member_ids=("UBEN",),
    weekdays=("mon",),
    local_time="09:00",
    questions=templates.DEFAULT_QUESTIONS,
    close_after=timedelta(hours=8),
    channel_id="C0TEAM",
)


@dataclass
class World:
    """The session a case writes in, and the outbox rows written before its call (a prompt to
    update, an ask to withdraw), which are not the case's."""

    session: Session
    since: int = 0
    ids: dict[str, int] = field(default_factory=dict)

    def start(self) -> None:
        """What follows is the call under test."""
        self.session.flush()
        self.since = store.last_id(self.session)

    def written(self) -> dict[str, int]:
        self.session.flush()
        rows = self.session.execute(
            select(OutboxMessage.idempotency_key, OutboxMessage.priority).where(
                OutboxMessage.id > self.since
            )
        )
        return dict(rows.all())

    def occurrence(self, *, prompted: bool = True, snoozes: int = 0) -> Occurrence:
        prompt = self.ids.get("prompt")
        if prompted and prompt is None:
            prompt = self.ids["prompt"] = checkins.enqueue_prompt(
                self.session, Due(self.occurrence(prompted=False), DAILY), NOW
            )
        return Occurrence(
            id=OCCURRENCE,
            team_id=TEAM,
            template_id=7,
            user_id="UBEN",
            local_date=NOW.date(),
            scheduled_at=NOW,
            closes_at=NOW + timedelta(hours=8),
            remind_at=None,
            state=OccurrenceState.PENDING,
            snoozed_until=None,
            snooze_count=snoozes,
            reminded_at=None,
            answered_at=None,
            prompt_outbox_id=prompt if prompted else None,
        )

    def sent(self, row_id: int, channel: str) -> None:
        store.mark_sent(self.session, row_id, channel, "2143353600.000200", NOW)


# ----- requests and feedback as their services return them ---------------------------------------


def request() -> requests.RequestItem:
    return requests.RequestItem(
        id=5,
        team_id=TEAM,
        requester_id="UANA",
        subject_id="UDEV",
        topic="the launch",
        questions=["What went well?"],
        due_on=date(2037, 3, 13),
        due_at=datetime(2037, 3, 13, 23, tzinfo=UTC),
        state=RequestState.OPEN,
        zone="UTC",
    )


def asked(
    user_id: str, state: AskedState = AskedState.PENDING, ask: int | None = None
) -> requests.AskedItem:
    answers = ["Calm and clear"] if state == AskedState.ANSWERED else None
    return requests.AskedItem(
        id=1 if user_id == "UBEN" else 2,
        user_id=user_id,
        state=state,
        answers=answers,
        share=True,
        ask_outbox_id=ask,
    )


def asks(w: World) -> list[requests.AskedItem]:
    """The request's asking DMs, written (and sent) before the call."""
    feedback_requests.enqueue_asks(
        w.session,
        requests.Created(request(), [asked("UBEN"), asked("UCHO")], replayed=False),
        NOW,
    )
    w.session.flush()
    found = []
    for user_id in ("UBEN", "UCHO"):
        row = threads.root_row(w.session, TEAM, f"request:5:ask:{user_id}")
        assert row is not None
        w.sent(row, f"D{user_id}")
        found.append(asked(user_id, ask=row))
    return found


def given() -> FeedbackItem:
    return FeedbackItem(
        id=3,
        sender_id="UANA",
        recipient_id="UBEN",
        went_well="The demo",
        could_be_better=None,
        value=None,
        manager_id="UCHO",
        quote_url=None,
        created_at=NOW,
        thanked=False,
    )


# ----- the cases: one per notify function -------------------------------------------------------

Case = tuple[Callable[[World], None], dict[str, int]]


def prompt(w: World) -> None:
    w.start()
    checkins.enqueue_prompt(w.session, Due(w.occurrence(prompted=False), DAILY), NOW)


def reprompt(w: World) -> None:
    occurrence = w.occurrence(snoozes=1)
    w.start()
    checkins.enqueue_prompt(w.session, Due(occurrence, DAILY), NOW, snoozed=True)


def reminder(w: World) -> None:
    occurrence = w.occurrence()
    w.start()
    checkins.enqueue_reminder(w.session, Due(occurrence, DAILY), NOW)


def answer(w: World) -> None:
    occurrence = w.occurrence()
    add_people(w.session, NOW, person("UANA"), person("UBEN"), person("UCHO"))
    w.start()
    submitted = Submitted(
        occurrence=occurrence,
        template=DAILY,
        answers=[(DAILY.questions[0], "Shipped v2")],
        upward_text="More focus time",
        upward_anonymous=False,
        manager_id="UCHO",  # not the owner: the named note goes to Cho on its own
    )
    checkins.enqueue_answer(w.session, submitted, NOW)


def skipped(w: World) -> None:
    occurrence = w.occurrence()
    w.start()
    checkins.show_skipped(w.session, occurrence, "Skipped.", NOW, CLICKED)
    checkins.show_skipped(w.session, occurrence, "Skipped.", NOW + timedelta(seconds=1))


def snoozed(w: World) -> None:
    occurrence = w.occurrence(snoozes=1)
    w.start()
    checkins.show_snoozed(w.session, occurrence, "Snoozed.", NOW, CLICKED)
    checkins.show_snoozed(w.session, occurrence, "Snoozed.", NOW)


def away(w: World) -> None:
    occurrence = w.occurrence()
    w.start()
    checkins.show_away(w.session, occurrence, NOW)


def unavailable(w: World) -> None:
    occurrence = w.occurrence()
    w.start()
    checkins.show_unavailable(
        w.session, occurrence, CheckinUnavailableReason.CLOSED, "closed", CLICKED, NOW
    )
    checkins.explain_refusal(w.session, TEAM, OCCURRENCE, CLICKED, "Too late to snooze", NOW)


def reply(w: World) -> None:
    answer(w)
    w.start()
    target = ReplyTarget(OCCURRENCE, "UBEN", "Daily", w.ids["prompt"])
    checkins.enqueue_reply(w.session, TEAM, "UANA", target, "VREPLY", "Great work", NOW)


def setup(w: World) -> None:
    w.start()
    checkins.confirm_setup(w.session, TEAM, "UANA", "VSETUP", "h1", "Saved Daily", NOW)


def exchange(w: World) -> None:
    w.start()
    side = threads.Exchange(TEAM, threads.FEEDBACK, 3, "UBEN", None, "UANA", None)
    conversations.forward_dm(w.session, side, "UBEN", "Thanks!", "DUBEN", "2143353600.1", NOW)
    conversations.send_hint(w.session, TEAM, "UBEN", NOW)


def weekly_digest(w: World) -> None:
    w.start()
    data = DigestData(
        manager_id="UANA",
        iso_week="2037-W11",
        week_start="2037-03-09",
        week_label="9–15 Mar",
        reports=["UBEN"],
        anonymous_notes=["Meetings are too long"],
    )
    messages = [("Your team's week", []), ("More of it", [])]
    digest.enqueue_digest(w.session, TEAM, data, b"\x89PNG chart", messages, NOW)
    plain = replace(data, manager_id="UCHO", anonymous_notes=[])
    digest.enqueue_digest(w.session, TEAM, plain, None, messages[:1], NOW)


def preview(w: World) -> None:
    w.start()
    digest.fill_preview(w.session, TEAM, "VPREVIEW", {"type": "modal", "blocks": []}, NOW)


def app_home(w: World) -> None:
    w.start()
    home.publish_home(w.session, TEAM, "UBEN", "Ev1", NOW)


def kudos_posts(w: World) -> None:
    w.start()
    draft = KudosDraft("UANA", ["UBEN", "UCHO"], "thanks for the review", ["teamwork"])
    built = kudos.posts("C0KUDOS", draft, "thanks for the review")
    kudos.enqueue_posts(w.session, TEAM, 9, built, NOW)


def held_kudos_posts(w: World) -> None:
    """A reaction's kudos: its posts held on the ack path, then released with the message's
    link after it."""
    w.start()
    draft = KudosDraft("UANA", ["UBEN"], ":tada: on a message", [])
    kudos.enqueue_posts(
        w.session, TEAM, 9, kudos.posts("C0KUDOS", draft, draft.message), NOW, NOW + HOLD
    )
    quoted = replace(draft, quote_url="https://example.slack.com/archives/C0GEN/p1")
    built = kudos.posts("C0KUDOS", quoted, draft.message)
    assert kudos.release_posts(w.session, TEAM, 9, built) == len(built)


def kudos_withdrawn(w: World) -> None:
    """A reaction removed within its minute: the feed post went, the DM had not."""
    draft = KudosDraft("UANA", ["UBEN"], ":tada: on a message", [])
    kudos.enqueue_posts(w.session, TEAM, 9, kudos.posts("C0KUDOS", draft, draft.message), NOW)
    w.sent(outbox.row_ids(w.session, TEAM, ["kudos:9:feed"])["kudos:9:feed"], "C0KUDOS")
    w.start()
    withdrawn = reacting.Withdrawn(9, "UANA", ["UBEN"])
    kudos.withdraw_posts(w.session, TEAM, withdrawn, NOW + timedelta(seconds=20))


def reaction_refused(w: World) -> None:
    w.start()
    reaction = reacting.Reaction("UANA", "UBEN", "C0GEN", "2143353600.000300", "tada")
    text = "No kudos left today"
    reactions.refusal_note(w.session, TEAM, reaction, reacting.Rule.BUDGET, text, NOW)
    reactions.refusal_note(w.session, TEAM, reaction, reacting.Rule.BUDGET, text, NOW)


def departure(w: World) -> None:
    waiting = asks(w)
    w.start()
    left = Departure(TEAM, "UANA", 0, [Withdrawn(request(), waiting)], 0)
    lifecycle.withdraw(w.session, left, NOW)


def goals_left(w: World) -> None:
    w.start()
    left = GoalsLeft("UCHO", [(4, "2037-Q1", "Ship v3")], [("NPS 40", "Happy users", "2037-Q1")])
    lifecycle.tell_manager_of_goals(w.session, Departure(TEAM, "UANA", 0, [], 0, left), NOW)


def closing_items() -> tuple[ClosingItem, ...]:
    """An owner's objectives at the cycle's end: one still active, one closed already."""
    active = ClosingItem(4, "Ship v3", GoalKind.TEAM, GoalState.ACTIVE, "▓▓░░", *[None] * 4)
    closed = replace(active, id=5, state=GoalState.CLOSED, outcome="achieved", score=1.0)
    return active, closed


def cycle_closing(w: World) -> None:
    w.start()
    due = ClosingDue(TEAM, "UBEN", cycle("2037-Q1"), cycle("2037-Q2"), closing_items())
    goal_closing.enqueue_closing(w.session, due, NOW)


def cycle_closing_acted(w: World) -> None:
    """Close from the form opened in the closing DM, then Carry over from the same DM."""
    w.start()
    items = closing_items()
    for objective, action in ((5, "closed"), (4, "carried")):
        goal_closing.enqueue_refresh(
            w.session, TEAM, objective, action, "2037-Q1", "2037-Q2", items, CLICKED, NOW
        )


def goal_home(w: World) -> None:
    w.start()
    view = {"type": "home", "blocks": []}
    goals.refresh_home(w.session, TEAM, "UBEN", "VUPDATE", view, NOW)


def goal_message(w: World) -> None:
    w.start()
    url = "https://hooks.slack.com/actions/T0/1/abc"
    goals.refresh_message(w.session, TEAM, "VUPDATE", url, "Your goals", [], NOW)


def goal_list(w: World) -> None:
    w.start()
    modal = {"type": "modal", "blocks": []}
    goals.refresh_list(w.session, TEAM, "VUPDATE", "VLIST", modal, NOW)


def feedback_given(w: World) -> None:
    w.start()
    feedback.enqueue_feedback(w.session, TEAM, given(), NOW)


def thanks(w: World) -> None:
    feedback_given(w)
    w.start()
    feedback.enqueue_thanks(w.session, TEAM, given(), CLICKED, NOW)


def feedback_reply(w: World) -> None:
    feedback_given(w)
    w.start()
    feedback.send_reply(
        w.session,
        team_id=TEAM,
        feedback_id=3,
        author_id="UBEN",
        text="Thank you",
        view_id="VFB",
        now=NOW,
    )


def team_answer(w: World) -> None:
    w.start()
    feedback.send_team_answer(
        w.session,
        team_id=TEAM,
        manager_id="UANA",
        reports=["UBEN", "UCHO", "UDEV"],
        text="We will keep Fridays free",
        week="2037-W11",
        view_id="VTEAM",
        now=NOW,
    )


def request_created(w: World) -> None:
    w.start()
    created = requests.Created(request(), [asked("UBEN"), asked("UCHO")], replayed=False)
    feedback_requests.enqueue_asks(w.session, created, NOW)


def request_answered(w: World) -> None:
    ben, cho = asks(w)
    w.start()
    settled = requests.Settled(
        request(), replace(ben, state=AskedState.ANSWERED, answers=["Calm"]), True
    )
    feedback_requests.enqueue_answer(w.session, settled, NOW)
    feedback_requests.replace_ask(w.session, request(), cho, "declined", "Declined.", CLICKED, NOW)
    feedback_requests.enqueue_closed_notice(w.session, TEAM, "UCHO", request(), CLICKED, NOW)


def request_reminded(w: World) -> None:
    w.start()
    feedback_requests.enqueue_reminders(w.session, request(), [asked("UBEN"), asked("UCHO")], NOW)


def request_closed(w: World) -> None:
    w.start()
    ben = asked("UBEN", AskedState.ANSWERED)
    closing = requests.Closing(request(), [ben, asked("UCHO", AskedState.EXPIRED)], [ben])
    feedback_requests.enqueue_closing(w.session, closing, NOW)


def export(w: World) -> None:
    w.start()
    privacy.send_export(w.session, TEAM, "UBEN", "Ev2", b"{}", "2037-03-09", NOW)


def erasure(w: World) -> None:
    add_people(w.session, NOW, person("UZED"))
    feed = outbox.post_message(
        w.session,
        team_id=TEAM,
        key="kudos:8:feed",
        channel="C0KUDOS",
        text="<@UANA> gave kudos to <@UZED>",
        blocks=None,
        now=NOW,
    )
    w.sent(feed, "C0KUDOS")
    w.start()
    privacy.withdraw(w.session, TEAM, prepare(w.session, TEAM, "UZED"), NOW)


N = r"\d+"
TIME = r"\d+\.\d+"
CASES: dict[str, Case] = {
    # The minute job's check-in fan-out.
    "checkins.enqueue_prompt": (prompt, {rf"checkin:{N}:prompt": BULK}),
    "checkins.enqueue_prompt(snoozed)": (reprompt, {rf"checkin:{N}:snooze:{N}": BULK}),
    "checkins.enqueue_reminder": (reminder, {rf"checkin:{N}:reminder": BULK}),
    # Someone's submission, click or command.
    "checkins.enqueue_answer": (
        answer,
        {
            rf"checkin:{N}:answers:manager": INTERACTIVE,
            rf"checkin:{N}:upward:manager": INTERACTIVE,
            rf"checkin:header:{N}:\d{{4}}-\d\d-\d\d": INTERACTIVE,
            rf"checkin:{N}:answers:channel": INTERACTIVE,
            rf"checkin:{N}:submitted": INTERACTIVE,
        },
    ),
    "checkins.show_skipped": (skipped, {rf"checkin:{N}:skip:{TIME}": INTERACTIVE}),
    "checkins.show_snoozed": (
        snoozed,
        {rf"checkin:{N}:snooze:{TIME}": INTERACTIVE, rf"checkin:{N}:snoozed:{N}": INTERACTIVE},
    ),
    "checkins.show_away": (away, {rf"checkin:{N}:away": INTERACTIVE}),
    "checkins.show_unavailable/explain_refusal": (
        unavailable,
        {rf"checkin:{N}:closed:{TIME}": INTERACTIVE, rf"checkin:{N}:refused:{TIME}": INTERACTIVE},
    ),
    "checkins.enqueue_reply/conversations.keep_reply/echo": (
        reply,
        {rf"checkin:{N}:reply:\w+": INTERACTIVE, rf"checkin:{N}:reply:\w+:echo": INTERACTIVE},
    ),
    "checkins.confirm_setup": (setup, {r"setup:\w+:\w+": INTERACTIVE}),
    "conversations.forward_dm/send_hint": (
        exchange,
        {rf"im:\w+:{TIME}:to:\w+": INTERACTIVE, r"dm_hint:\w+:\d{4}-\d\d-\d\d": INTERACTIVE},
    ),
    # The weekly digests (the minute job), and a preview someone asked for.
    "digest.enqueue_digest": (
        weekly_digest,
        {
            r"digest:\w+:\d{4}-W\d\d:chart": BULK,
            r"digest:\w+:\d{4}-W\d\d:message": BULK,
            rf"digest:\w+:\d{{4}}-W\d\d:reply:{N}": BULK,
            r"digest:\w+:\d{4}-W\d\d:notes": BULK,
        },
    ),
    "digest.fill_preview": (preview, {r"digest:preview:\w+": INTERACTIVE}),
    "home.publish_home/publish": (app_home, {r"home:\w+:\w+": INTERACTIVE}),
    # A kudos answers its giver, whatever the number of recipients; by reaction too, its posts
    # held then released, or taken back, and the note when a rule refused it.
    "kudos.enqueue_posts": (
        kudos_posts,
        {rf"kudos:{N}:feed": INTERACTIVE, rf"kudos:{N}:dm:\w+": INTERACTIVE},
    ),
    "kudos.enqueue_posts(held)/release_posts": (
        held_kudos_posts,
        {rf"kudos:{N}:feed": INTERACTIVE, rf"kudos:{N}:dm:\w+": INTERACTIVE},
    ),
    "kudos.withdraw_posts": (
        kudos_withdrawn,
        {rf"kudos:{N}:withdrawn:feed": INTERACTIVE, rf"kudos:{N}:withdrawn:dm:\w+": INTERACTIVE},
    ),
    "reactions.refusal_note": (
        reaction_refused,
        {r"reaction:\w+:refused:\w+:\d{10}": INTERACTIVE},
    ),
    # A departure changes many people's DMs, and tells a manager of goals left; nobody asked.
    "lifecycle.withdraw/feedback_requests.withdraw": (
        departure,
        {rf"request:{N}:withdrawn:\w+": BULK},
    ),
    "lifecycle.tell_manager_of_goals": (
        goals_left,
        {r"goal-owner-left:\w+:\d{4}-\d\d-\d\d": BULK},
    ),
    # A cycle's end: the minute job asks every owner; each Close or Carry over answers a click.
    "goal_closing.enqueue_closing": (cycle_closing, {r"goal-close:\d{4}-Q\d:\w+": BULK}),
    "goal_closing.enqueue_refresh": (
        cycle_closing_acted,
        {rf"goal-close:{N}:closed": INTERACTIVE, rf"goal-close:{N}:carried": INTERACTIVE},
    ),
    # An Update (or a new goal) shows again where its button was.
    "goals.refresh_home": (goal_home, {r"goals:\w+:home:\w+": INTERACTIVE}),
    "goals.refresh_message": (goal_message, {r"goals:\w+:message": INTERACTIVE}),
    "goals.refresh_list": (goal_list, {r"goals:\w+:list": INTERACTIVE}),
    "feedback.enqueue_feedback": (
        feedback_given,
        {
            rf"feedback:{N}:dm": INTERACTIVE,
            rf"feedback:{N}:sent": INTERACTIVE,
            rf"feedback:{N}:manager": INTERACTIVE,
        },
    ),
    "feedback.enqueue_thanks": (
        thanks,
        {rf"feedback:{N}:thanks": INTERACTIVE, rf"feedback:{N}:thanked": INTERACTIVE},
    ),
    "feedback.send_reply/conversations.forward/echo": (
        feedback_reply,
        {
            rf"feedback:{N}:reply:\w+:to:\w+": INTERACTIVE,
            rf"feedback:{N}:reply:\w+:echo": INTERACTIVE,
        },
    ),
    "feedback.send_team_answer": (team_answer, {r"team_answer:\w+:\w+": BULK}),
    # A request asks many people at once; its reminders and closing are the minute job's.
    "feedback_requests.enqueue_asks": (
        request_created,
        {rf"request:{N}:ask:\w+": BULK, rf"request:{N}:created": INTERACTIVE},
    ),
    "feedback_requests.enqueue_answer/replace_ask/enqueue_closed_notice": (
        request_answered,
        {
            rf"request:{N}:answer:\w+": INTERACTIVE,
            rf"request:{N}:answered:\w+": INTERACTIVE,
            rf"request:{N}:declined:\w+": INTERACTIVE,
            rf"request:{N}:closed:\w+:{TIME}": INTERACTIVE,
        },
    ),
    "feedback_requests.enqueue_reminders": (request_reminded, {rf"request:{N}:remind:\w+": BULK}),
    "feedback_requests.enqueue_closing": (
        request_closed,
        {rf"request:{N}:summary": BULK, rf"request:{N}:subject": BULK},
    ),
    "privacy.send_export": (export, {r"privacy:export:\w+:\w+": INTERACTIVE}),
    "privacy.withdraw": (erasure, {rf"privacy:tombstone:{N}": BULK}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_notify_function_writes_its_rows_with_the_priority_of_their_key(
    session: Session, name: str
) -> None:
    write, expected = CASES[name]
    world = World(session)
    write(world)
    written = world.written()
    assert written, f"{name} wrote nothing"
    matched: dict[str, str] = {}
    for key, priority in written.items():
        schemes = [scheme for scheme in expected if re.fullmatch(scheme, key)]
        assert len(schemes) == 1, f"{name} wrote {key!r}, matching {schemes} of {list(expected)}"
        matched[schemes[0]] = key
        kind = "bulk" if expected[schemes[0]] == BULK else "interactive"
        assert priority == expected[schemes[0]], f"{key} must be {kind}"
    assert set(matched) == set(expected), f"{name} wrote no {set(expected) - set(matched)}"


# Public notify functions that write nothing to the outbox, so no case names them.
WRITES_NOTHING = {
    "kudos.posts": "builds a kudos' posts before the unit of work; enqueue_posts writes them",
    "goal_closing.closing_key": "the closing DM's key, which the job looks up",
    "goal_closing.not_asked": "reads which owners' closing DMs were written",
}


def notify_functions() -> set[str]:
    """Every public function defined in a bot/notify module, as `module.function`."""
    found = set()
    for info in pkgutil.iter_modules(bot.notify.__path__):
        module = importlib.import_module(f"bot.notify.{info.name}")
        found |= {
            f"{info.name}.{name}"
            for name, function in inspect.getmembers(module, inspect.isfunction)
            if function.__module__ == module.__name__ and not name.startswith("_")
        }
    return found


def named(case: str) -> set[str]:
    """The functions a case's name names: `module.f/g/other.h(qualifier)` names module.f,
    module.g and other.h; a name without its module is of the module named before it."""
    names = set()
    module = ""
    for part in case.split("/"):
        part = re.sub(r"\(.*\)$", "", part)
        if "." in part:
            module, part = part.split(".")
        names.add(f"{module}.{part}")
    return names


def test_every_notify_function_that_writes_is_named_by_a_case() -> None:
    functions = notify_functions()
    covered = set().union(*map(named, CASES))
    unpinned = functions - covered - set(WRITES_NOTHING)
    assert not unpinned, f"no case pins the priority of what {sorted(unpinned)} write"
    assert covered <= functions, f"cases name no such function: {sorted(covered - functions)}"
    assert set(WRITES_NOTHING) <= functions, (
        f"gone, still listed as writing nothing: {sorted(set(WRITES_NOTHING) - functions)}"
    )
    assert not covered & set(WRITES_NOTHING), (
        f"named by a case, yet listed as writing nothing: {sorted(covered & set(WRITES_NOTHING))}"
    )
