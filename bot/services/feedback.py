"""`/feedback`: private feedback between any two colleagues.

Every read or write names who asks. Feedback is readable by its sender and its recipient, plus
the recipient's manager when the sender chose so; anyone else gets `FeedbackDenied`, whose
message is the same whether or not the feedback exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.services.directory import Person, people
from bot.services.refusals import Refused
from bot.services.slack_limits import TEXT_MAX as SLACK_TEXT_MAX
from bot.services.text import neutralise, unescape
from storage import feedback as store
from storage import org as org_store
from storage.models import Feedback

TEXT_MAX = SLACK_TEXT_MAX
RECIPIENT_ONLY = "recipient"
WITH_MANAGER = "recipient_and_manager"
VISIBILITIES = (RECIPIENT_ONLY, WITH_MANAGER)
DENIED = "I can't find that feedback, or it isn't yours to open."


@dataclass(frozen=True, slots=True)
class FeedbackDraft:
    """What a sender asked for, before the rules are checked (texts as Slack escapes them)."""

    sender_id: str
    recipient_id: str | None
    went_well: str
    could_be_better: str
    value: str | None = None
    visibility: str = RECIPIENT_ONLY
    quote_url: str | None = None


@dataclass(frozen=True, slots=True)
class FeedbackItem:
    id: int
    sender_id: str
    recipient_id: str
    went_well: str | None
    could_be_better: str | None
    value: str | None
    manager_id: str | None  # set only when the sender chose "them and their manager"
    quote_url: str | None
    created_at: datetime
    thanked: bool


@dataclass(frozen=True, slots=True)
class Given:
    item: FeedbackItem
    replayed: bool


class FeedbackRefused(Refused):
    """A rule said no. `errors` holds every problem at once, keyed by the modal input it
    belongs on (recipient, went_well, could_be_better, value, visibility)."""

    default_field = "recipient"


class FeedbackDenied(Exception):
    """Not yours, or not there: the same words either way."""

    def __init__(self) -> None:
        super().__init__(DENIED)
        self.message = DENIED


def recipient_problem(
    sender_id: str, recipient_id: str | None, directory: dict[str, Person], team_id: str
) -> str | None:
    """Yourself, bots (Slackbot too), deactivated and external people are refused."""
    if not recipient_id:
        return "Choose who the feedback is for."
    if recipient_id == sender_id:
        return "Feedback is for someone else. For notes to yourself, try your check-in."
    person = directory.get(recipient_id)
    if person is None:
        return f"I can't find <@{recipient_id}> in this workspace."
    if person.is_bot:
        return f"<@{recipient_id}> is a bot: feedback is for people."
    if person.deleted:
        return f"<@{recipient_id}> is deactivated and can't receive feedback."
    if person.external:
        return (
            f"<@{recipient_id}> belongs to another organisation; feedback stays within "
            f"{team_id}'s workspace."
        )
    return None


def text_problems(went_well: str, could_be_better: str) -> dict[str, str]:
    """Each text over the limit says how long it is; two empty texts are one problem."""
    if not went_well and not could_be_better:
        return {"went_well": "Write at least one: what went well, or what could be better."}
    return {
        field: length_problem(len(unescape(text)))
        for field, text in (("went_well", went_well), ("could_be_better", could_be_better))
        if len(unescape(text)) > TEXT_MAX
    }


def length_problem(length: int) -> str:
    """What a text over the limit is told, typed in the form or after `/feedback @name`."""
    return f"This is {length} characters; the limit is {TEXT_MAX}. Please shorten it."


def give(
    session: Session,
    *,
    team_id: str,
    draft: FeedbackDraft,
    values: Sequence[str],
    request_key: str,
    now: datetime,
    directory: dict[str, Person] | None = None,
) -> Given:
    """Check the rules and store the feedback, in the caller's transaction.

    A refusal raises before anything is written. The same `request_key` again (a double
    click) returns the stored feedback with `replayed` set, so nothing is sent twice.
    """
    existing = store.feedback_by_key(session, team_id, request_key)
    if existing is not None:
        return Given(_item(existing), replayed=True)
    wanted = [draft.sender_id, *([draft.recipient_id] if draft.recipient_id else [])]
    if directory is None or any(uid not in directory for uid in wanted):
        directory = people(session, team_id, wanted)
    problems: dict[str, str] = {}
    recipient = recipient_problem(draft.sender_id, draft.recipient_id, directory, team_id)
    if recipient is not None:
        problems["recipient"] = recipient
    problems.update(text_problems(draft.went_well, draft.could_be_better))
    if draft.value is not None and draft.value not in values:
        problems["value"] = "Pick a value from the list."
    manager_id = None
    if draft.visibility not in VISIBILITIES:
        problems["visibility"] = "Choose who may read it."
    elif draft.visibility == WITH_MANAGER and draft.recipient_id and recipient is None:
        manager_id = org_store.manager_of(session, team_id, draft.recipient_id)
        if manager_id is None or manager_id == draft.sender_id:
            problems["visibility"] = (
                f"<@{draft.recipient_id}> has no manager in pulsebot"
                + (" other than you" if manager_id == draft.sender_id else "")
                + ": choose “Only them”."
            )
    if problems:
        raise FeedbackRefused(errors=problems)
    assert draft.recipient_id is not None
    values_row = {
        "team_id": team_id,
        "sender_id": draft.sender_id,
        "recipient_id": draft.recipient_id,
        "went_well": neutralise(draft.went_well) or None,
        "could_be_better": neutralise(draft.could_be_better) or None,
        "value": draft.value,
        "visibility": draft.visibility,
        "manager_id": manager_id,
        "quote_url": draft.quote_url,
        "request_key": request_key,
        "created_at": now,
    }
    new_id = store.insert_feedback(session, values_row)
    if new_id is None:  # a twin submission won the race
        found = store.feedback_by_key(session, team_id, request_key)
        assert found is not None
        return Given(_item(found), replayed=True)
    found = store.get_feedback(session, team_id, new_id)
    assert found is not None
    return Given(_item(found), replayed=False)


def has_manager(session: Session, team_id: str, user_id: str) -> bool:
    """Whether "them and their manager" can be offered for this recipient."""
    return org_store.manager_of(session, team_id, user_id) is not None


def read(session: Session, team_id: str, reader_id: str, feedback_id: int | None) -> FeedbackItem:
    """The feedback, for its sender, its recipient, or the manager the sender chose."""
    row = store.get_feedback(session, team_id, feedback_id) if feedback_id is not None else None
    if row is None or reader_id not in {row.sender_id, row.recipient_id, row.manager_id}:
        raise FeedbackDenied()
    return _item(row)


def for_recipient(
    session: Session, team_id: str, user_id: str, feedback_id: int | None
) -> FeedbackItem:
    """Thank and Reply belong to the recipient alone."""
    item = read(session, team_id, user_id, feedback_id)
    if item.recipient_id != user_id:
        raise FeedbackDenied()
    return item


def thank(
    session: Session, team_id: str, user_id: str, feedback_id: int | None, now: datetime
) -> tuple[FeedbackItem, bool]:
    """The recipient thanks the sender; True only the first time (the sender is told once)."""
    item = for_recipient(session, team_id, user_id, feedback_id)
    return item, store.mark_thanked(session, item.id, now)


def received(session: Session, team_id: str, user_id: str, limit: int = 5) -> list[FeedbackItem]:
    """The last feedback a person received (App Home): theirs to read by definition."""
    return [_item(row) for row in store.received(session, team_id, user_id, limit)]


def _item(row: Feedback) -> FeedbackItem:
    return FeedbackItem(
        id=row.id,
        sender_id=row.sender_id,
        recipient_id=row.recipient_id,
        went_well=row.went_well,
        could_be_better=row.could_be_better,
        value=row.value,
        manager_id=row.manager_id,
        quote_url=row.quote_url,
        created_at=row.created_at,
        thanked=row.thanked_at is not None,
    )


NO_TEAM = (
    "Only a manager with direct reports in pulsebot can answer the team. If that's you, ask "
    "your admin to import the org chart."
)


def team_of(session: Session, team_id: str, manager_id: str) -> list[str]:
    """Who a manager's "Answer the team" reaches: their direct reports, and only theirs."""
    return org_store.reports_of(session, team_id, manager_id)
