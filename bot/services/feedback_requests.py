"""`/feedback request`: asking 1-10 people for feedback on a topic.

States per person asked (`AskedState`): pending -> answered | declined | expired. A request
is due at the end of its due date in the requester's zone; one reminder goes a day before, and
at the due time it closes (the minute job does both, from rows). Permissions: only the people
asked may answer or decline, only while it is open; the answers are readable by the requester,
and by the subject where the giver ticked "share". A denial reads the same whether or not the
request exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from bot.services.directory import Person, people, zone_or_utc
from bot.services.refusals import Refused
from bot.services.slack_limits import TEXT_MAX
from bot.services.states import AskedState, RequestState, RequestUnavailableReason
from bot.services.text import neutralise, unescape
from storage import feedback as store
from storage import org as org_store
from storage.models import FeedbackAsked, FeedbackRequest

MAX_PEOPLE = 10
MAX_QUESTIONS = 3
TOPIC_MAX = 150
QUESTION_MAX = 150
ANSWER_MAX = TEXT_MAX
DEFAULT_DUE = timedelta(days=7)
REMIND_BEFORE = timedelta(days=1)
DEFAULT_QUESTIONS = (
    "What went well?",
    "What could be better?",
    "Anything else I should know?",
)
DENIED = "I can't find that request, or it wasn't sent to you."
# The names the handlers group the people asked by.
PENDING, ANSWERED = AskedState.PENDING, AskedState.ANSWERED
DECLINED, EXPIRED = AskedState.DECLINED, AskedState.EXPIRED


@dataclass(frozen=True, slots=True)
class RequestDraft:
    requester_id: str
    people: list[str]
    topic: str
    questions: list[str]
    due_on: date | None
    subject_id: str | None = None


@dataclass(frozen=True, slots=True)
class RequestItem:
    id: int
    team_id: str
    requester_id: str
    subject_id: str | None
    topic: str
    questions: list[str]
    due_on: date
    due_at: datetime
    state: RequestState
    zone: str  # the requester's: a request is due at the end of its day there


@dataclass(frozen=True, slots=True)
class AskedItem:
    id: int
    user_id: str
    state: AskedState
    answers: list[str] | None
    share: bool
    ask_outbox_id: int | None


@dataclass(frozen=True, slots=True)
class Created:
    request: RequestItem
    asked: list[AskedItem]
    replayed: bool


@dataclass(frozen=True, slots=True)
class Settled:
    """An answer or a decline, as it was stored (`changed` false: it was settled before)."""

    request: RequestItem
    asked: AskedItem
    changed: bool


@dataclass(frozen=True, slots=True)
class Closing:
    request: RequestItem
    asked: list[AskedItem]
    shared: list[AskedItem]  # what the subject may read: answers whose giver ticked "share"


class RequestRefused(Refused):
    """A rule said no. `errors` holds every problem at once, keyed by the form input it belongs
    on: people, topic, questions (or `question{i}`, one of them), due, subject."""

    default_field = "people"


class RequestUnavailable(Exception):
    """The request can't be answered by this person now; `reason` lets the handler word it.

    A denial carries no request: it must not tell whether one exists."""

    def __init__(
        self, message: str, reason: RequestUnavailableReason, request: RequestItem | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.request = request


class AnswersInvalid(Exception):
    def __init__(self, errors: dict[int, str]) -> None:
        super().__init__("invalid answers")
        self.errors = errors


# ----- creating ---------------------------------------------------------------------------------


def default_due(now: datetime, zone_name: str | None) -> date:
    return now.astimezone(zone_or_utc(zone_name)).date() + DEFAULT_DUE


def due_instant(due_on: date, zone_name: str | None) -> datetime:
    """The end of that day in the requester's zone: the next local midnight, as UTC."""
    zone = zone_or_utc(zone_name)
    midnight = datetime.combine(due_on + timedelta(days=1), time(0), tzinfo=zone)
    return midnight.astimezone(zone_or_utc("UTC"))


def create(
    session: Session,
    *,
    team_id: str,
    draft: RequestDraft,
    request_key: str,
    now: datetime,
    directory: dict[str, Person] | None = None,
) -> Created:
    """Check every rule, then store the request and the people asked; a replay returns it."""
    existing = store.request_by_key(session, team_id, request_key)
    if existing is not None:
        return Created(_request(session, existing), _asked(session, existing.id), replayed=True)
    wanted = [draft.requester_id, *draft.people, *([draft.subject_id] if draft.subject_id else [])]
    if directory is None or any(uid not in directory for uid in wanted):
        directory = people(session, team_id, wanted)
    _check(session, team_id, draft, directory, now)
    assert draft.due_on is not None
    requester = directory.get(draft.requester_id)
    due_at = due_instant(draft.due_on, requester.tz if requester else None)
    new_id = store.insert_request(
        session,
        {
            "team_id": team_id,
            "requester_id": draft.requester_id,
            "subject_id": draft.subject_id,
            "topic": neutralise(draft.topic),
            "questions": [neutralise(q) for q in draft.questions],
            "due_on": draft.due_on,
            "due_at": due_at,
            "remind_at": due_at - REMIND_BEFORE,
            "request_key": request_key,
            "created_at": now,
        },
    )
    if new_id is None:
        found = store.request_by_key(session, team_id, request_key)
        assert found is not None
        return Created(_request(session, found), _asked(session, found.id), replayed=True)
    store.add_asked(session, team_id, new_id, draft.people)
    found = store.get_request(session, team_id, new_id)
    assert found is not None
    return Created(_request(session, found), _asked(session, new_id), replayed=False)


def reports_to_ask_about(
    session: Session, team_id: str, requester_id: str
) -> list[tuple[str, str]]:
    """(user id, name) of the direct reports a request may be about, by name: only a manager
    sees the subject field, and it lists no one else (nor a deactivated report)."""
    found = people(session, team_id, org_store.reports_of(session, team_id, requester_id))
    active = [p for p in found.values() if not (p.deleted or p.is_bot)]
    return sorted(((p.user_id, p.name) for p in active), key=lambda c: c[1].lower())


def _check(
    session: Session, team_id: str, draft: RequestDraft, directory: dict[str, Person], now: datetime
) -> None:
    """Every rule; a refusal names every field that is wrong, so the form shows all its
    problems at once."""
    problems = {
        field: problem
        for field, problem in (
            ("subject", _subject_problem(session, team_id, draft)),
            ("people", _people_problem(draft, directory, team_id)),
            ("topic", _topic_problem(draft.topic)),
            ("due", _due_problem(draft, directory, now)),
        )
        if problem
    }
    problems.update(_question_problems(draft.questions))
    if problems:
        raise RequestRefused(errors=problems)


def _subject_problem(session: Session, team_id: str, draft: RequestDraft) -> str | None:
    if draft.subject_id is None:
        return None
    if draft.subject_id == draft.requester_id:
        return "Ask about one of your direct reports, not yourself."
    if org_store.manager_of(session, team_id, draft.subject_id) != draft.requester_id:
        return f"Only <@{draft.subject_id}>'s manager can ask for feedback about them."
    return None


def _people_problem(
    draft: RequestDraft, directory: dict[str, Person], team_id: str
) -> str | None:
    chosen = list(dict.fromkeys(draft.people))
    if not chosen:
        return "Choose 1 to 10 people to ask."
    if len(chosen) > MAX_PEOPLE:
        return f"Ask at most {MAX_PEOPLE} people; you chose {len(chosen)}."
    for user_id in chosen:
        person = directory.get(user_id)
        if user_id == draft.requester_id:
            return "You can't ask yourself: choose colleagues."
        if draft.subject_id is not None and user_id == draft.subject_id:
            return f"<@{user_id}> is who the request is about: ask others."
        if person is None:
            return f"I can't find <@{user_id}> in this workspace."
        if person.is_bot:
            return f"<@{user_id}> is a bot: ask people."
        if person.deleted:
            return f"<@{user_id}> is deactivated."
        if person.external:
            return (
                f"<@{user_id}> belongs to another organisation; requests stay within "
                f"{team_id}'s workspace."
            )
    return None


def _topic_problem(topic: str) -> str | None:
    if not topic:
        return "Name the topic, e.g. “the Q4 launch review”."
    return length_problem("The topic", topic, TOPIC_MAX)


def _question_problems(questions: Sequence[str]) -> dict[str, str]:
    if not questions:
        return {"questions": "Ask at least one question."}
    if len(questions) > MAX_QUESTIONS:
        return {"questions": f"Ask at most {MAX_QUESTIONS} questions."}
    found: dict[str, str] = {}
    for index, question in enumerate(questions):
        problem = length_problem("This question", question, QUESTION_MAX)
        if problem:
            found[f"question{index}"] = problem
    return found


def _due_problem(draft: RequestDraft, directory: dict[str, Person], now: datetime) -> str | None:
    requester = directory.get(draft.requester_id)
    today = now.astimezone(zone_or_utc(requester.tz if requester else None)).date()
    if draft.due_on is None:
        return "Choose a due date."
    if draft.due_on < today:
        return "The due date is in the past: choose today or later."
    return None


def length_problem(what: str, text: str, limit: int) -> str | None:
    """A text over its limit says how long it is and what the limit is (`text` as Slack
    escapes it; counted as the person sees it)."""
    length = len(unescape(text))
    if length <= limit:
        return None
    return f"{what} is {length} characters; the limit is {limit}. Please shorten it."


# ----- answering --------------------------------------------------------------------------------


def open_for(
    session: Session, team_id: str, user_id: str, request_id: int | None, now: datetime
) -> tuple[RequestItem, AskedItem]:
    """The request and this person's place in it, if they may still answer."""
    request, asked = _mine(session, team_id, user_id, request_id)
    item = _request(session, request)
    if request.state != RequestState.OPEN or request.due_at <= now:
        raise RequestUnavailable(
            f"This request closed at the end of {item.due_on.isoformat()}, {item.zone} time: "
            "it no longer takes answers.",
            RequestUnavailableReason.CLOSED,
            item,
        )
    if asked.state != AskedState.PENDING:
        word = "answered" if asked.state == AskedState.ANSWERED else "declined"
        raise RequestUnavailable(
            f"You already {word} this request. Thank you!", RequestUnavailableReason.SETTLED, item
        )
    return item, _asked_item(asked)


def answer(
    session: Session,
    team_id: str,
    user_id: str,
    request_id: int | None,
    raw: Sequence[str],
    share: bool,
    now: datetime,
) -> Settled:
    """Store one person's answers (texts as Slack escapes them): at least one, each bounded."""
    item, asked = open_for(session, team_id, user_id, request_id, now)
    answers = [(raw[i] if i < len(raw) else "").strip() for i in range(len(item.questions))]
    errors = {
        i: problem
        for i, text in enumerate(answers)
        if (problem := length_problem("This answer", text, ANSWER_MAX))
    }
    if not any(answers):
        errors[0] = "Answer at least one question."
    if errors:
        raise AnswersInvalid(errors)
    clean = [neutralise(text) for text in answers]
    changed = store.settle(
        session,
        asked.id,
        AskedState.ANSWERED,
        now,
        clean,
        share=share and item.subject_id is not None,
    )
    return Settled(item, _reload(session, team_id, item.id, user_id), changed)


def decline(
    session: Session, team_id: str, user_id: str, request_id: int | None, now: datetime
) -> Settled:
    item, asked = open_for(session, team_id, user_id, request_id, now)
    changed = store.settle(session, asked.id, AskedState.DECLINED, now)
    return Settled(item, _reload(session, team_id, item.id, user_id), changed)


# ----- reading ----------------------------------------------------------------------------------


def answers_for(
    session: Session, team_id: str, reader_id: str, request_id: int | None
) -> tuple[RequestItem, list[AskedItem]]:
    """What a reader may see of the answers: all of them for the requester; for the subject,
    those whose giver ticked "share"; nothing (a denial) for anyone else."""
    request = store.get_request(session, team_id, request_id) if request_id is not None else None
    if request is None:
        raise RequestUnavailable(DENIED, RequestUnavailableReason.DENIED)
    asked = _asked(session, request.id)
    if reader_id == request.requester_id:
        return _request(session, request), asked
    if reader_id == request.subject_id:
        shared = [a for a in asked if a.state == AskedState.ANSWERED and a.share]
        return _request(session, request), shared
    raise RequestUnavailable(DENIED, RequestUnavailableReason.DENIED)


def waiting_for(
    session: Session, team_id: str, user_id: str, limit: int = 5
) -> list[tuple[RequestItem, AskedItem]]:
    return [
        (_request(session, request), _asked_item(asked))
        for request, asked in store.waiting_for(session, team_id, user_id, limit)
    ]


def open_requests(
    session: Session, team_id: str, requester_id: str, limit: int = 5
) -> list[tuple[RequestItem, int, int]]:
    """The requester's open requests with (answered, asked) counts."""
    return [
        (_request(session, request), answered, total)
        for request, answered, total in store.open_requests_of(
            session, team_id, requester_id, limit
        )
    ]


# ----- the minute job ---------------------------------------------------------------------------


def due_reminders(
    session: Session, now: datetime, team_id: str | None, limit: int
) -> list[tuple[RequestItem, list[AskedItem]]]:
    """Requests whose reminder is due, each claimed once, with the people still pending."""
    return [
        (
            _request(session, request),
            [a for a in _asked(session, request.id) if a.state == AskedState.PENDING],
        )
        for request in store.claim_reminders(session, team_id, now, limit)
    ]


def due_closings(session: Session, now: datetime, team_id: str | None, limit: int) -> list[Closing]:
    """Requests past due, closed once (pending people expire), with what the subject may read."""
    closings = []
    for request in store.claim_closings(session, team_id, now, limit):
        item, asked = answers_for(session, request.team_id, request.requester_id, request.id)
        shared: list[AskedItem] = []
        if request.subject_id:
            shared = answers_for(session, request.team_id, request.subject_id, request.id)[1]
        closings.append(Closing(item, asked, shared))
    return closings


def record_ask(session: Session, asked_id: int, outbox_id: int) -> None:
    """The DM that asked them: "Answered ✓" replaces it later."""
    store.set_ask_outbox(session, asked_id, outbox_id)


# ----- pieces -----------------------------------------------------------------------------------


def _mine(
    session: Session, team_id: str, user_id: str, request_id: int | None
) -> tuple[FeedbackRequest, FeedbackAsked]:
    request = store.get_request(session, team_id, request_id) if request_id is not None else None
    asked = store.asked_row(session, team_id, request.id, user_id) if request is not None else None
    if request is None or asked is None:
        raise RequestUnavailable(DENIED, RequestUnavailableReason.DENIED)
    return request, asked


def _reload(session: Session, team_id: str, request_id: int, user_id: str) -> AskedItem:
    session.expire_all()
    row = store.asked_row(session, team_id, request_id, user_id)
    assert row is not None
    return _asked_item(row)


def _asked(session: Session, request_id: int) -> list[AskedItem]:
    return [_asked_item(row) for row in store.asked_of(session, request_id)]


def _request(session: Session, row: FeedbackRequest) -> RequestItem:
    requester = people(session, row.team_id, [row.requester_id]).get(row.requester_id)
    return RequestItem(
        id=row.id,
        team_id=row.team_id,
        requester_id=row.requester_id,
        subject_id=row.subject_id,
        topic=row.topic,
        questions=list(row.questions),
        due_on=row.due_on,
        due_at=row.due_at,
        state=RequestState(row.state),
        zone=zone_or_utc(requester.tz if requester else None).key,
    )


def _asked_item(row: FeedbackAsked) -> AskedItem:
    return AskedItem(
        id=row.id,
        user_id=row.user_id,
        state=AskedState(row.state),
        answers=list(row.answers) if row.answers is not None else None,
        share=row.share_with_subject,
        ask_outbox_id=row.ask_outbox_id,
    )


def request_item(session: Session, row: FeedbackRequest) -> RequestItem:
    """A stored request as plain data, for the rules of other features (a leaver's requests)."""
    return _request(session, row)


def asked_item(row: FeedbackAsked) -> AskedItem:
    return _asked_item(row)
