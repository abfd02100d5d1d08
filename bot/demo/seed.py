"""Eight weeks of company history, written through bot.services with explicit `now` values.

History is data, not replayed through Slack: nothing here enqueues a message, so only what
happens after start-up is delivered. One function per feature, called in order by
`seed_company`; a new feature adds its own `seed_<feature>` (digest, feedback...) and one line
there. Every choice comes from a seeded random generator, so two runs tell the same story.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy.orm import Session

from bot.demo import company
from bot.demo import goals as demo_goals
from bot.demo.emulator import SlackEmulator
from bot.deps import Deps
from bot.jobs.digests import DigestPolicy, write_due
from bot.services import (
    checkins,
    conversations,
    directory,
    feedback,
    goal_checkin,
    goal_files,
    goal_plans,
    kudos,
    kudos_goals,
    org,
    templates,
)
from bot.services import digest_rules as rules
from bot.services.goal_cycles import CycleKind, cycle_of
from bot.services.goal_progress import Confidence, Measure
from bot.services.schedule import parse_time, slots_between
from bot.services.templates import detail_id
from bot.services.text import escape
from handlers.blocks import checkins as checkin_blocks
from handlers.blocks.common import quote, section
from handlers.blocks.kudos import feed_post

HISTORY = timedelta(weeks=8)
RECENT = timedelta(days=14)  # how far back the DMs and team threads show past answers


@dataclass
class SeedSummary:
    people: int = 0
    templates: int = 0
    answered: int = 0
    skipped: int = 0
    missed: int = 0
    pending: int = 0
    goals: int = 0
    key_results: int = 0
    goal_updates: int = 0
    kudos: int = 0
    kudos_for_goals: int = 0
    feedback: int = 0
    digests: int = 0

    def __str__(self) -> str:
        return (
            f"{self.people} people, {self.templates} check-ins, {self.answered} answers "
            f"({self.skipped} skipped, {self.missed} missed, {self.pending} open), "
            f"{self.goals} goals, {self.key_results} key results "
            f"({self.goal_updates} updates), "
            f"{self.kudos} kudos ({self.kudos_for_goals} naming a goal), "
            f"{self.feedback} pieces of feedback, "
            f"{self.digests} weekly digests to send"
        )


def seed_company(deps: Deps, emulator: SlackEmulator, now: datetime) -> SeedSummary:
    """The whole company, its history up to `now`, in the emulator and the database."""
    rng = random.Random(9)
    summary = SeedSummary()
    seed_people(deps, emulator, now, summary)
    seed_org(deps, now, summary)
    story = seed_goals(deps, now, summary)
    answered = seed_checkins(deps, now, rng, summary, story)
    seed_checkin_messages(deps, emulator, answered, now, rng)
    seed_kudos(deps, emulator, now, rng, summary)
    seed_feedback(deps, now, summary)
    seed_chatter(emulator, now)
    seed_digest(deps, now, summary)
    return summary


# ----- people and the org chart ----------------------------------------------------------------


def seed_people(deps: Deps, emulator: SlackEmulator, now: datetime, summary: SeedSummary) -> None:
    """Slack users and channels in the emulator, and the same people in the directory cache
    (as a users.list warm-up would leave it, so the first request needs no users.info)."""
    for person in company.PEOPLE:
        emulator.add_user(
            person.user_id,
            person.handle,
            tz=person.tz,
            real_name=person.real_name,
            email=f"{person.handle}@example.com",
            title=person.title,
        )
    for channel in company.CHANNELS:
        emulator.add_channel(channel.channel_id, channel.name)
    records = [
        directory.record_from_slack(user, company.TEAM_ID)
        for user in emulator.users()
        if user["team_id"] == company.TEAM_ID
    ]
    with deps.unit_of_work() as session:
        directory.store_users(session, company.TEAM_ID, records, now)
    summary.people = len(company.PEOPLE)


def seed_org(deps: Deps, now: datetime, summary: SeedSummary) -> None:
    """Everyone's manager, as `pulsebot org import` would store it."""
    with deps.unit_of_work() as session:
        for person in company.PEOPLE:
            if person.manager:
                org.set_manager(
                    session, company.TEAM_ID, person.user_id, person.manager, now - HISTORY,
                    source="import",
                )


# ----- goals -----------------------------------------------------------------------------------


def seed_goals(deps: Deps, now: datetime, summary: SeedSummary) -> demo_goals.Story:
    """The company's goals in the cycle holding `now`, applied as `pulsebot goals apply` applies
    a file, as set at the cycle's start; the check-ins then tell their story."""
    kind = deps.settings.goal_cycle
    cycle = cycle_of(now.date(), kind)
    text = yaml.safe_dump(
        {"cycle": cycle.name, "goals": demo_goals.GOALS}, sort_keys=False, allow_unicode=True
    )

    def known_in(name: str) -> list[goal_files.KnownObjective]:
        with deps.unit_of_work() as session:
            return goal_plans.known_objectives(session, company.TEAM_ID, name)

    plan = goal_files.load_plan(
        text,
        "demo-goals.yml",
        today=now.date(),
        cycle_kind=kind,
        resolve_email=demo_goals.user_of_email,
        known_in=known_in,
    )
    with deps.unit_of_work() as session:
        goal_plans.apply_plan(session, company.TEAM_ID, plan, demo_goals.created_at(cycle))
    summary.goals, summary.key_results = demo_goals.counts()
    return demo_goals.story(cycle, now - HISTORY, now)


class _GoalAnswers:
    """What members write in their check-in's goals question, following the story: the new
    value and confidence when either moved, and a beat's note: good news once, the first time
    it is reached, a result at risk at every update. A result on track that has not moved
    since their last check-in gets a word saying so (people who mean to keep a goal do), so
    that only someone who has gone quiet answers two check-ins in a row without updating it."""

    def __init__(self, story: demo_goals.Story, kind: CycleKind) -> None:
        self.story = story
        self.kind = kind
        self._noted: dict[int, str] = {}
        self._updated: dict[int, datetime] = {}  # each result's last update
        self._left: set[int] = set()  # results left as they were at their owner's last answer

    def answer(
        self, owned: goal_checkin.Owned, at: datetime, zone: ZoneInfo
    ) -> dict[str, dict[str, str]]:
        written: dict[str, dict[str, str]] = {}
        for asked in owned.asked:
            if asked.title not in demo_goals.STORY:
                continue
            result_id = asked.result_id
            beat = self.story.beat(asked.title, at)
            if beat.quiet:
                continue
            value = self.story.value(asked.title, asked.measure, asked.start, asked.target, beat)
            on_track = beat.confidence == Confidence.ON_TRACK
            # Good news is told once; a result at risk is explained at every update.
            fresh = self._noted.get(result_id) != beat.note or not on_track
            note = beat.note if beat.note and fresh else ""
            if note:
                self._noted[result_id] = note
            unchanged = value == asked.current and beat.confidence == asked.confidence
            if unchanged and not note:
                last = self._updated.get(result_id)
                if result_id not in self._left or last is None or not on_track:
                    self._left.add(result_id)
                    continue
                note = f"no change since {_since(last, at, zone)}"
            self._left.discard(result_id)
            self._updated[result_id] = at
            shown = (
                (goal_checkin.DONE if value >= 1 else goal_checkin.NOT_DONE)
                if asked.measure == Measure.MILESTONE
                else goal_checkin.number_words(value)
            )
            written[str(result_id)] = {
                "value": shown,
                "confidence": beat.confidence.value,
                "note": note,
            }
        return written


def _since(last: datetime, at: datetime, zone: ZoneInfo) -> str:
    """"Monday" within the week, "last week" beyond it, as the member would say it."""
    if at - last >= timedelta(days=6):
        return "last week"
    return f"{last.astimezone(zone):%A}"


# ----- check-ins -------------------------------------------------------------------------------

# Each person's pulse drifts around a mood; Kenji's slides, so the digest has someone to flag.
_MOOD = {"U0KENJI": (4.2, -0.35), "U0ZOE": (3.2, 0.15), "U0LARS": (4.0, 0.0)}
_DONE = (
    "Shipped the retry logic for the billing webhooks.",
    "Paired with Priya on the ingestion backfill; it runs in half the time now.",
    "Closed 14 support escalations and wrote up the two interesting ones.",
    "Moved the staging cluster to the new node pool.",
    "Reviewed the on-call runbook and fixed the stale links.",
    "Finished the rate-limit dashboard; it is on the team board.",
    "Migrated the last service off the old queue.",
    "Wrote the design doc for per-tenant quotas.",
    "Fixed the flaky deploy step that failed one run in ten.",
    "Onboarded two new customers and recorded the walkthrough.",
)
_WINS = (
    "Acme renewed for two years after the quarterly review.",
    "Fixed a data export for a customer in 20 minutes, live on the call.",
    "A customer sent a thank-you note for the onboarding guide.",
    "Closed the oldest open ticket in the queue.",
    "",
)
# What blocks people, in their words. Kenji's stays the same week after week, so the digest
# shows how long it has been open.
_BLOCKERS = (
    "Waiting on access to the billing database.",
    "The staging cluster is down again.",
    "Need a decision on the quota limits before I can go on.",
    "Two customers waiting on the same export fix.",
    "Blocked on a review from the security team.",
    "The vendor hasn't sent the new API keys yet.",
)
_STUCK = {"U0KENJI": "Waiting on the security review of the quota service; asked twice."}
# Of the blocked answers to a yes/no blocker question, the share that leaves its detail empty:
# real people do, and the digest says so.
_NO_DETAIL = 0.2


class _Words:
    """What people write beside their answers, chosen apart from the story's generator so the
    week-by-week story stays the same. A blocker keeps its words while it stays open (people
    report the same one again) and gets new ones after an answer that reported none."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._open: dict[str, str] = {}

    def blocker(self, user_id: str, blocked: bool) -> str:
        if not blocked:
            self._open.pop(user_id, None)
            return ""
        if user_id not in self._open:
            self._open[user_id] = _STUCK.get(user_id) or self.rng.choice(_BLOCKERS)
        return self._open[user_id]


# Notes for the manager, each written once: the same words under a name and anonymously would
# tell who wrote the anonymous one. When they run out, nobody writes another.
_UPWARD = (
    "Could we keep Friday afternoons free of meetings?",
    "The on-call rotation feels heavy with two people out.",
    "Thanks for shielding us from the re-org noise this month.",
    "I'd like more context on why the roadmap changed.",
    "The new deploy checklist saves me time, thank you.",
    "Standups have crept past twenty minutes; can we trim them?",
    "I'd like to pair with someone on the billing code next sprint.",
    "Priorities shifted three times this week and it was hard to keep up.",
    "Could we get a budget for a conference this year?",
    "Hiring interviews are eating most of my Thursdays.",
    "More written decisions, please: I missed the call where it was decided.",
    "The quarterly goals finally feel achievable. Nice planning.",
    "I'm not sure who owns the staging environment any more.",
    "Please keep the demo days, they are the best part of the month.",
    "Code reviews sit for days; could we agree on a turnaround?",
    "I'd welcome more feedback on my design docs before they go wide.",
    "The customer escalations land on the same two people every week.",
    "Thanks for the flexible hours while I moved house.",
    "Our retro actions never get done; could we pick just one?",
    "I'd like to hear more about where the team is heading next year.",
    "The support rota works well now, thank you for fixing it.",
    "The office noise makes focus hard; could we have a quiet room?",
    "Onboarding docs are out of date: happy to help rewrite them.",
    "I'd appreciate a heads-up before meetings get moved.",
)


def seed_checkins(
    deps: Deps,
    now: datetime,
    rng: random.Random,
    summary: SeedSummary,
    story: demo_goals.Story,
) -> list[checkins.Submitted]:
    """Two templates created eight weeks ago, and every occurrence since, as the scheduler
    would have written it: most answered (with pulse, blockers, goal updates following the
    `story` and notes for the manager), a few skipped, a few missed. Check-ins still open at
    `now` stay open for /checkin. Returns the answers, oldest first."""
    start = now - HISTORY
    people = {p.user_id: p for p in company.PEOPLE}

    def resolve(email: str) -> str | None:
        handle = email.split("@")[0]
        return next((p.user_id for p in company.PEOPLE if p.handle == handle), None)

    definitions = [templates.parse_template(spec, resolve) for spec in company.TEMPLATES]
    with deps.unit_of_work() as session:
        templates.apply(session, company.TEAM_ID, definitions, start)
    summary.templates = len(definitions)
    instants = sorted(
        {
            slot.at
            for definition in definitions
            for member in definition.member_ids
            for slot in slots_between(
                definition.weekdays,
                parse_time(definition.local_time),
                people[member].tz,
                start,
                now,
            )
        }
    )
    answered: list[checkins.Submitted] = []
    notes = list(_UPWARD)
    random.Random(11).shuffle(notes)
    words = _Words(13)
    goals = _GoalAnswers(story, deps.settings.goal_cycle)
    for instant in [*instants, now]:
        with deps.unit_of_work() as session:
            planned = checkins.plan_due(session, instant, company.TEAM_ID)
            for due in planned.created:
                submitted = _answer_in_history(
                    session, due, now, rng, summary, notes, words, goals
                )
                if submitted is not None:
                    answered.append(submitted)
        summary.missed += len(planned.missed)
    with deps.unit_of_work() as session:
        summary.missed += len(checkins.close_due(session, now, company.TEAM_ID, 10_000))
    return sorted(answered, key=lambda s: s.occurrence.answered_at or now)


def _answer_in_history(
    session: Session,
    due: checkins.Due,
    now: datetime,
    rng: random.Random,
    summary: SeedSummary,
    notes: list[str],
    words: _Words,
    goals: _GoalAnswers,
) -> checkins.Submitted | None:
    """One check-in answered (or skipped, or left to be missed) at its time in history;
    `notes` are the notes for managers not yet written, each taken once; `words` chooses what
    blocks someone, as they would write it; `goals` what they update of their key results."""
    occurrence = due.occurrence
    answered_at = occurrence.scheduled_at + timedelta(minutes=rng.randint(5, 300))
    if answered_at >= now or occurrence.closes_at <= answered_at:
        summary.pending += 1  # still open at start-up: /checkin opens it
        return None
    roll = rng.random()
    if roll < 0.06:
        checkins.skip(session, occurrence.team_id, occurrence.user_id, occurrence.id, answered_at)
        summary.skipped += 1
        return None
    if roll < 0.12:
        return None  # left unanswered: closing marks it missed
    weeks_ago = (now - occurrence.scheduled_at).days / 7
    base, drift = _MOOD.get(occurrence.user_id, (3.9, 0.0))
    pulse = round(base + drift * (8 - weeks_ago) + rng.uniform(-0.7, 0.7))
    pulse = max(1, min(5, pulse))
    raw: dict[str, Any] = {}
    anonymous = False
    updates = 0
    for question in due.template.questions:
        if question.kind == "pulse":
            raw[question.id] = str(pulse)
        elif question.blocker:
            blocked = pulse <= 2 or rng.random() < 0.1
            said = words.blocker(occurrence.user_id, blocked)
            if question.kind == "yes_no":
                raw[question.id] = "yes" if blocked else "no"
                if blocked and words.rng.random() >= _NO_DETAIL:
                    raw[detail_id(question.id)] = said
            else:
                raw[question.id] = said or words.rng.choice(("", "None", "nothing"))
        elif question.kind == "yes_no":
            raw[question.id] = "yes" if pulse <= 2 or rng.random() < 0.1 else "no"
        elif question.kind == "choice":
            raw[question.id] = rng.choice(question.options)
        elif question.kind == "goals":
            owned = checkins.goals_asked(
                session, occurrence.team_id, occurrence.user_id, due.template, answered_at,
                goals.kind,
            )
            if owned is not None and owned.asked:
                person = company.person(occurrence.user_id)
                zone = ZoneInfo(person.tz if person else "UTC")
                raw[question.id] = goals.answer(owned, answered_at, zone)
                updates += sum(1 for given in raw[question.id].values() if given)
        elif question.upward:
            if rng.random() < 0.15 and notes:
                raw[question.id] = notes.pop()
                anonymous = rng.random() < 0.5
        elif question.id == "win":
            raw[question.id] = rng.choice(_WINS) or None
        else:
            raw[question.id] = rng.choice(_DONE)
    submitted = checkins.submit(
        session,
        occurrence.team_id,
        occurrence.user_id,
        occurrence.id,
        raw,
        answered_at,
        anonymous=anonymous,
        goal_cycle=goals.kind,
    )
    summary.answered += 1
    summary.goal_updates += updates
    return submitted


def seed_checkin_messages(
    deps: Deps,
    emulator: SlackEmulator,
    answered: list[checkins.Submitted],
    now: datetime,
    rng: random.Random,
) -> None:
    """The last two weeks of answers as Slack would show them: the member's "Submitted ✓"
    (with the owner's reply in its thread, now and then), the owner's copy (with Reply, which
    works), and the team channel's daily thread.

    A reply is also kept with its answer, as the Reply button keeps it: View more shows it and
    the digest's follow-through counts it (a reply that existed only as a message was shown in
    the DM yet counted as none).

    Only check-ins that have closed: a day whose check-in is still open gets its header from
    the app itself when the next answer arrives, so a header is never written twice.
    """
    headers: dict[tuple[str, str], str] = {}
    for submitted in answered:
        occurrence, template = submitted.occurrence, submitted.template
        at = occurrence.answered_at
        # A day later than its close, every zone's check-in of that day has closed too.
        if at is None or occurrence.closes_at + timedelta(days=1) > now or at < now - RECENT:
            continue
        bot = company.BOT_USER_ID
        text, blocks = checkin_blocks.submitted_message(
            template.name,
            occurrence.local_date,
            submitted.answers,
            upward_sent=submitted.upward_text is not None,
            upward_anonymous=submitted.upward_anonymous,
        )
        mine = emulator.add_message(
            occurrence.user_id, bot, text, ts=at.timestamp(), blocks=blocks
        )
        if template.post_to_manager and rng.random() < 0.35:
            replied_at = at + timedelta(hours=rng.randint(1, 20))
            _seed_reply(deps, emulator, submitted, mine["ts"], replied_at)
        named = submitted.upward_text if not submitted.upward_anonymous else None
        if template.post_to_manager:
            text, blocks = checkin_blocks.manager_answers(
                occurrence.id,
                occurrence.user_id,
                template.name,
                occurrence.local_date,
                submitted.answers,
                upward_text=named if submitted.manager_id == template.owner_id else None,
            )
            emulator.add_message(template.owner_id, bot, text, ts=at.timestamp() + 1, blocks=blocks)
        shared = checkin_blocks.channel_answers(
            occurrence.user_id, template.name, submitted.answers
        )
        if template.channel_id and shared is not None:
            owner = company.person(template.owner_id)
            zone = ZoneInfo(owner.tz if owner else "UTC")
            day = occurrence.scheduled_at.astimezone(zone).date()
            key = (template.channel_id, f"{template.name}:{day.isoformat()}")
            if key not in headers:
                text, blocks = checkin_blocks.channel_header(template.name, day)
                header = emulator.add_message(
                    template.channel_id, bot, text, ts=at.timestamp(), blocks=blocks
                )
                headers[key] = header["ts"]
            text, blocks = shared
            emulator.add_message(
                template.channel_id,
                bot,
                text,
                thread_ts=headers[key],
                ts=at.timestamp() + 2,
                blocks=blocks,
            )


_REPLIES = (
    "Thanks, that's a great week. Let's talk about what's next on Tuesday.",
    "Nice work! Anything I can unblock for you?",
    "Noted. I'll bring it up with the other leads.",
    "Really appreciate the detail here.",
)


def _seed_reply(
    deps: Deps,
    emulator: SlackEmulator,
    submitted: checkins.Submitted,
    thread_ts: str,
    at: datetime,
) -> None:
    """The owner's reply in the member's DM thread, worded as the Reply button words it
    (reply_message in handlers/blocks/checkins.py), and kept with the answer's exchange as
    that button keeps it."""
    template = submitted.template
    owner = template.owner_id
    text = _REPLIES[submitted.occurrence.id % len(_REPLIES)]
    with deps.unit_of_work() as session:
        conversations.record(
            session,
            team_id=submitted.occurrence.team_id,
            kind=conversations.CHECKIN,
            item_id=submitted.occurrence.id,
            author_id=owner,
            text=text,
            source_key=f"demo-seed-reply:{submitted.occurrence.id}",
            now=at,
        )
    emulator.add_message(
        submitted.occurrence.user_id,
        company.BOT_USER_ID,
        f"<@{owner}> replied to your {template.name} check-in: {text}",
        thread_ts=thread_ts,
        ts=at.timestamp(),
        blocks=[
            section(
                f":speech_balloon: <@{owner}> replied to your *{escape(template.name)}* "
                f"check-in:\n{quote(text)}"
            )
        ],
    )


# ----- kudos -----------------------------------------------------------------------------------

_KUDOS = (
    "thanks for jumping on the 2 a.m. incident and writing the timeline",
    "the new onboarding guide made my first week so much easier",
    "for patiently walking a customer through the export, twice",
    "the dashboard you built caught the memory leak before customers did",
    "for the clearest design review I have read this year",
    "for covering my on-call shift while I was sick",
    "the migration went out with zero downtime",
    "for turning a grumpy escalation into a renewal",
)
# What a kudos naming one of these goals says (the kudos form offers the recipients' goals).
_GOAL_KUDOS = {
    demo_goals.PLATFORM_OBJECTIVE: "the quota lookup cache took a real bite out of our latency",
    demo_goals.CUSTOMER_OBJECTIVE: "the pricing page test brought in three self-serve upgrades",
    "The data pipeline runs itself": "the retries with backoff mean no more 6 a.m. reruns",
    "Faster first replies": "the saved replies cut our first response time for everyone",
    "Learn the billing code": "for picking up the invoice export and asking the right questions",
    demo_goals.COMPANY_PEOPLE: "for the mentoring budget: I finally signed up for the course",
    demo_goals.COMPANY_GROW: "the renewal playbook kept Acme with us",
    demo_goals.COMPANY_PLATFORM: "for holding the line on the security review",
}


def seed_kudos(
    deps: Deps,
    emulator: SlackEmulator,
    now: datetime,
    rng: random.Random,
    summary: SeedSummary,
) -> None:
    """About four kudos a week, stored through the kudos rules (budget, values), and their
    posts in #kudos as the app would have left them there. Now and then one given in the form
    names a goal of its recipients (`/goals` and the digest count it)."""
    kind = deps.settings.goal_cycle
    policy = kudos.KudosPolicy(daily_limit=5, values=company.VALUES, goal_cycle=kind)
    ids = [p.user_id for p in company.PEOPLE]
    naming = random.Random(17)  # apart from `rng`, so the kudos themselves stay the same
    when = now - HISTORY + timedelta(hours=7)
    count = 0
    while when < now - timedelta(hours=2):
        giver = rng.choice(ids)
        recipients = rng.sample([i for i in ids if i != giver], k=rng.choice((1, 1, 1, 2)))
        values = rng.sample(company.VALUES, k=rng.choice((1, 1, 2)))
        draft = kudos.KudosDraft(giver, recipients, rng.choice(_KUDOS), list(values))
        goal_title: str | None = None
        with deps.unit_of_work() as session:
            offered = [
                choice
                for choice in kudos_goals.choices(session, company.TEAM_ID, recipients, when, kind)
                if choice.title in _GOAL_KUDOS
            ]
            if offered and naming.random() < 0.5:
                goal = naming.choice(offered)
                goal_title = goal.title
                draft = replace(
                    draft, message=_GOAL_KUDOS[goal.title], goal_id=goal.objective_id
                )
            given = kudos.give(
                session,
                team_id=company.TEAM_ID,
                draft=draft,
                policy=policy,
                source="modal" if goal_title else "command",
                request_key=f"demo-seed:{count}",
                now=when,
            )
        summary.kudos_for_goals += goal_title is not None
        text, blocks = feed_post(
            given.giver_id, given.recipient_ids, given.message, given.values, goal_title=goal_title
        )
        emulator.add_message(
            company.KUDOS_CHANNEL, company.BOT_USER_ID, text, ts=when.timestamp(), blocks=blocks
        )
        count += 1
        when += timedelta(hours=rng.randint(20, 60))
    summary.kudos = count


# ----- private feedback -------------------------------------------------------------------------

# (sender, recipient, went well, could be better, value, days ago)
_FEEDBACK: tuple[tuple[str, str, str, str, str | None, float], ...] = (
    (company.PLATFORM_MANAGER, "U0BEN", "Your write-up of the quota limits made the review "
     "quick: every trade-off was on the page.", "Loop Priya in earlier on anything that touches "
     "the data pipeline.", "craft", 9),
    ("U0CHLOE", "U0BEN", "Thanks for pairing on the deploy race, you stayed calm the whole way.",
     "", "teamwork", 3),
    ("U0BEN", "U0KENJI", "The quota PR was small and easy to review, as promised.", "A short "
     "note on how you tested it would help the next reviewer.", None, 2),
    ("U0ZOE", "U0LUCIA", "Acme's call went well because you had the export logs ready.", "",
     "customers", 5),
)


def seed_feedback(deps: Deps, now: datetime, summary: SeedSummary) -> None:
    """A few pieces of private feedback, stored through the feedback rules, so App Home's
    Feedback section has something to show."""
    for index, (sender, recipient, well, better, value, days) in enumerate(_FEEDBACK):
        draft = feedback.FeedbackDraft(sender, recipient, well, better, value)
        with deps.unit_of_work() as session:
            feedback.give(
                session,
                team_id=company.TEAM_ID,
                draft=draft,
                values=company.VALUES,
                request_key=f"demo-seed-feedback:{index}",
                now=now - timedelta(days=days),
            )
    summary.feedback = len(_FEEDBACK)


# ----- the weekly digest ------------------------------------------------------------------------


def seed_digest(deps: Deps, now: datetime, summary: SeedSummary) -> None:
    """Every past week's digests, written in order as the minute job would have written them,
    so anonymous notes are released week by week (each batch labelled by its own span) and not
    all at once under last week's label. The earlier ones are history, delivered before the
    demo's Slack existed; the latest due at start-up is sent by the sender as soon as the demo
    runs, chart included, so a manager's DM shows one at once. Next week's come with a jump to
    Monday."""
    policy = DigestPolicy.from_settings(deps.settings)
    # On the Wednesday after a week, every zone covers that week, its send time has passed and
    # its check-ins have closed: one run writes all of that week's digests.
    latest = rules.monday_of(now.astimezone(UTC).date()) - timedelta(weeks=1)
    week = rules.monday_of((now - HISTORY).astimezone(UTC).date())
    while week < latest:
        wednesday = datetime.combine(week + timedelta(days=9), time(0), tzinfo=UTC)
        write_due(deps.session_factory, wednesday, policy, deliver=False)
        week += timedelta(weeks=1)
    summary.digests = write_due(deps.session_factory, now, policy).written


# ----- what people said in channels ------------------------------------------------------------

_CHATTER: tuple[tuple[str, str, str, float], ...] = (
    ("C0GENERAL", company.DIRECTOR, "Reminder: all-hands moves to Thursday this week.", 26),
    ("C0PLATFORM", "U0CHLOE", "Staging is back. The disk filled up with old build caches; "
     "I added a cleanup job so it does not happen again.", 5),
    ("C0PLATFORM", "U0KENJI", "Anyone free to review the quota PR? It's small, promise.", 3),
    ("C0PLATFORM", "U0BEN", "I fixed the flaky deploy step: it was a race on the lock file.", 1.5),
    ("C0CUSTOMER", "U0LUCIA", "Acme's export works again, the customer confirmed on the call.", 4),
    ("C0CUSTOMER", "U0ZOE", "Wrote a short FAQ for the new billing page, feedback welcome.", 2),
)


def seed_chatter(emulator: SlackEmulator, now: datetime) -> None:
    """A few recent human messages, so a message's ⋯ menu has something to act on."""
    for channel, user_id, text, hours_ago in _CHATTER:
        at = now - timedelta(hours=hours_ago)
        emulator.add_message(channel, user_id, text, ts=at.timestamp())

