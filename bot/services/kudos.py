"""Peer recognition rules: who may receive, the daily budget, the message and its values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy.orm import Session

from bot.services import kudos_goals
from bot.services.directory import Person, people
from bot.services.goal_cycles import CycleKind
from bot.services.refusals import Refused
from bot.services.text import neutralise, tokenize, unescape
from storage import goal_plans as goal_store
from storage import kudos as store
from storage.models import Kudos

MAX_RECIPIENTS = 10
MAX_MESSAGE = 1000


@dataclass(frozen=True, slots=True)
class KudosDraft:
    """What a giver asked for, before the rules are checked."""

    giver_id: str
    recipient_ids: list[str]
    message: str
    values: list[str]
    quote_url: str | None = None
    goal_id: int | None = None  # one of the recipients' goals it recognises (the forms only)


@dataclass(frozen=True, slots=True)
class KudosPolicy:
    daily_limit: int
    values: Sequence[str]
    goal_cycle: CycleKind = "quarter"


@dataclass(frozen=True, slots=True)
class KudosGiven:
    kudos_id: int
    giver_id: str
    recipient_ids: list[str]
    values: list[str]
    message: str
    remaining: int
    replayed: bool
    quote_url: str | None = None


class KudosRefused(Refused):
    """A rule said no. `errors` holds every problem at once, keyed by the modal input it
    belongs on (recipients, message, values, goal); `message` says them all, for a command's
    answer."""

    default_field = "recipients"


def parse_command(text: str, giver_id: str, known_values: Sequence[str]) -> KudosDraft:
    tokens = tokenize(text, set(known_values))
    return KudosDraft(
        giver_id=giver_id, recipient_ids=tokens.user_ids, message=tokens.text, values=tokens.tags
    )


def is_unknown_word(text: str) -> bool:
    """`/kudos frobnicate`: one word naming nobody is a subcommand we don't have, not a kudos
    without recipients (`/kudos @ana thanks` names someone; `/kudos great work` is a sentence)."""
    words = text.split()
    return len(words) == 1 and "<@" not in words[0]


def check_draft(
    draft: KudosDraft,
    directory: dict[str, Person],
    team_id: str,
    known_values: Sequence[str] | None = None,
    goals: Mapping[int, str] | None = None,
) -> None:
    """Every rule that needs no budget; a refusal names every field that is wrong, so a form
    shows all its problems at once instead of one per try. `goals`: the objectives the
    recipients' kudos may name (kudos_goals.choices), needed when the draft names one."""
    problems = {
        field: problem
        for field, problem in (
            ("recipients", _recipients_problem(draft, directory, team_id)),
            ("message", _message_problem(draft.message)),
            ("values", _values_problem(draft.values, known_values)),
            ("goal", _goal_problem(draft.goal_id, goals)),
        )
        if problem
    }
    if problems:
        raise KudosRefused(errors=problems)


def _recipients_problem(
    draft: KudosDraft, directory: dict[str, Person], team_id: str
) -> str | None:
    recipients = draft.recipient_ids
    if not recipients:
        return "Mention who the kudos are for, e.g. `/kudos @alex thanks for the review #teamwork`."
    if len(recipients) > MAX_RECIPIENTS:
        return (
            f"Kudos can go to at most {MAX_RECIPIENTS} people at once; you named "
            f"{len(recipients)}. Split them into several kudos."
        )
    if draft.giver_id in recipients:
        return "You can't give kudos to yourself. Name the colleagues you want to thank."
    for user_id in recipients:
        person = directory.get(user_id)
        if person is None:
            return f"I can't find <@{user_id}> in this workspace. Check the name and try again."
        if person.is_bot:
            return f"<@{user_id}> is a bot: kudos are for people."
        if person.deleted:
            return f"<@{user_id}> is deactivated and can't receive kudos."
        if person.external:
            return (
                f"<@{user_id}> belongs to another organisation; kudos stay within {team_id}'s "
                "workspace."
            )
    return None


def _message_problem(message: str) -> str | None:
    if not message:
        return "Say what they did: kudos need a message, e.g. `/kudos @alex thanks for the review`."
    length = len(unescape(message))
    if length > MAX_MESSAGE:
        return (
            f"Your message is {length} characters; the limit is {MAX_MESSAGE}. Please shorten it."
        )
    return None


def _values_problem(values: Sequence[str], known_values: Sequence[str] | None) -> str | None:
    if known_values is not None and any(v not in known_values for v in values):
        return "Pick values from the list."
    return None


def _goal_problem(goal_id: int | None, goals: Mapping[int, str] | None) -> str | None:
    if goal_id is not None and goal_id not in (goals or {}):
        return kudos_goals.PICK_ONE
    return None


def give(
    session: Session,
    *,
    team_id: str,
    draft: KudosDraft,
    policy: KudosPolicy,
    source: str,
    request_key: str,
    now: datetime,
    directory: dict[str, Person] | None = None,
    goals: Mapping[int, str] | None = None,
) -> KudosGiven:
    """Check the rules and store the kudos with its budget spend, in the caller's transaction.

    The budget is spent with the insert (one statement on PostgreSQL), so a refusal writes
    nothing. A request seen before (same
    `request_key`) returns the stored kudos unchanged: a replay neither spends budget nor sends
    anything twice. `directory` saves a query when the caller already looked the people up;
    `goals` (id -> title of what the recipients' kudos may name) likewise, when the draft
    names a goal. The goal it names is stored with it, in the same transaction.
    """
    wanted = [draft.giver_id, *draft.recipient_ids]
    if directory is None or any(uid not in directory for uid in wanted):
        directory = people(session, team_id, wanted)
    if draft.goal_id is not None and goals is None:
        goals = kudos_goals.titles_by_id(
            kudos_goals.choices(session, team_id, draft.recipient_ids, now, policy.goal_cycle)
        )
    check_draft(draft, directory, team_id, policy.values, goals)
    giver = directory.get(draft.giver_id)
    local_date = giver.local_date(now) if giver else now.date()
    amount = len(draft.recipient_ids)
    message = neutralise(draft.message)
    spent, kudos_id = store.spend_and_insert(
        session,
        team_id=team_id,
        giver_id=draft.giver_id,
        message=message,
        source=source,
        request_key=request_key,
        quote_url=draft.quote_url,
        giver_local_date=local_date,
        created_at=now,
        recipient_ids=draft.recipient_ids,
        values=draft.values,
        limit=policy.daily_limit,
    )
    if spent is None:  # the budget said no; nothing was written
        existing = store.find_by_request_key(session, team_id, request_key)
        if existing is not None:
            return _replayed(session, team_id, existing, policy)
        spent_today = store.budget_spent(session, team_id, draft.giver_id, local_date)
        raise KudosRefused(
            _budget_message(amount, max(policy.daily_limit - spent_today, 0), policy)
        )
    if kudos_id is None:  # seen before: give back what this attempt spent
        store.unspend_budget(session, team_id, draft.giver_id, local_date, amount)
        existing = store.find_by_request_key(session, team_id, request_key)
        assert existing is not None
        return _replayed(session, team_id, existing, policy)
    if draft.goal_id is not None:
        goal_store.name_goal(session, kudos_id, draft.goal_id)
    remaining = policy.daily_limit - spent
    return KudosGiven(
        kudos_id=kudos_id,
        giver_id=draft.giver_id,
        recipient_ids=list(draft.recipient_ids),
        values=list(draft.values),
        message=message,
        remaining=remaining,
        replayed=False,
        quote_url=draft.quote_url,
    )


def remaining_today(
    session: Session, team_id: str, giver: Person | None, giver_id: str, limit: int, now: datetime
) -> int:
    local_date = giver.local_date(now) if giver else now.date()
    return max(limit - store.budget_spent(session, team_id, giver_id, local_date), 0)


@dataclass(frozen=True, slots=True)
class KudosStats:
    given: int
    received: int
    top: list[tuple[str, int]]
    month_label: str


def stats(
    session: Session, team_id: str, user: Person | None, user_id: str, now: datetime
) -> KudosStats:
    """This calendar month in the user's own zone."""
    zone = user.zone if user else None
    local_now = now.astimezone(zone) if zone else now
    month_start = datetime.combine(
        local_now.date().replace(day=1), time(0), tzinfo=local_now.tzinfo
    )
    counts = store.counts_since(session, team_id, user_id, month_start)
    return KudosStats(
        given=counts.given,
        received=counts.received,
        top=counts.top,
        month_label=local_now.strftime("%B %Y"),
    )


def _budget_message(wanted: int, remaining: int, policy: KudosPolicy) -> str:
    people_word = "person" if wanted == 1 else "people"
    if remaining == 0:
        return (
            f"You've used all {policy.daily_limit} kudos for today. Your budget resets at "
            "midnight your time."
        )
    return (
        f"This kudos names {wanted} {people_word} but you have {remaining} left today "
        f"(of {policy.daily_limit}). Name fewer people, or try again tomorrow."
    )


def _replayed(session: Session, team_id: str, existing: Kudos, policy: KudosPolicy) -> KudosGiven:
    spent = store.budget_spent(session, team_id, existing.giver_id, existing.giver_local_date)
    return KudosGiven(
        kudos_id=existing.id,
        giver_id=existing.giver_id,
        recipient_ids=[r.recipient_id for r in existing.recipients],
        values=[v.value for v in existing.values],
        message=existing.message,
        remaining=max(policy.daily_limit - spent, 0),
        replayed=True,
        quote_url=existing.quote_url,
    )
