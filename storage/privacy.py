"""Data rights in SQL: what a person's export reads, what an erasure changes, the whole-database
search for what still names someone, the audit, and the digests of erased people.

Nothing here decides what may be shown or erased (bot/services/privacy.py does); these functions
read and write what they are told, inside the caller's unit of work.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    String,
    Table,
    Text,
    and_,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from storage.kudos import WITHDRAWN
from storage.models import (
    Base,
    CheckinAnswer,
    CheckinMember,
    CheckinOccurrence,
    CheckinTemplate,
    ConversationMessage,
    ConversationThread,
    Digest,
    DirectoryUser,
    DmChannel,
    Feedback,
    FeedbackAsked,
    FeedbackRequest,
    ForgottenPerson,
    KeyResult,
    KeyResultUpdate,
    Kudos,
    KudosBudget,
    KudosGoal,
    KudosRecipient,
    Objective,
    OrgEdge,
    OutboxMessage,
    OutOfOffice,
    PrivacyAudit,
    UpwardFeedback,
)
from storage.upserts import insert_ignoring_conflict, rowcount

# Who a row names once the person it named was erased. Never a Slack id (those are upper-case
# letters and digits), so no event, click or lookup can ever match it.
FORMER_ID = "former-colleague"
# What replaces text that must keep a value (a kudos' message, a request's topic) once erased.
REMOVED = "(removed)"
# The payload of an outbox row whose content was erased; `reason` says by what.
REDACTED_KEY = "redacted"

_OPEN, _CLOSED, _PENDING, _EXPIRED = "open", "closed", "pending", "expired"
_CHUNK = 500  # ids per IN (...) list


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# ----- who is known ----------------------------------------------------------------------------


def directory_row(session: Session, team_id: str, user_id: str) -> DirectoryUser | None:
    return session.get(DirectoryUser, (team_id, user_id))


def is_referenced(session: Session, team_id: str, user_id: str) -> bool:
    """Does any row of the main tables name this person (each check an index lookup or a small
    scan)? A person with no directory row may still be known by what they did."""
    probes: list[Any] = [
        select(DirectoryUser.user_id).where(
            DirectoryUser.team_id == team_id, DirectoryUser.user_id == user_id
        ),
        select(CheckinOccurrence.id).where(
            CheckinOccurrence.team_id == team_id, CheckinOccurrence.user_id == user_id
        ),
        select(CheckinMember.user_id).where(CheckinMember.user_id == user_id),
        select(CheckinTemplate.id).where(
            CheckinTemplate.team_id == team_id, CheckinTemplate.owner_id == user_id
        ),
        select(OrgEdge.user_id).where(
            OrgEdge.team_id == team_id,
            or_(OrgEdge.user_id == user_id, OrgEdge.manager_id == user_id),
        ),
        select(Kudos.id).where(Kudos.team_id == team_id, Kudos.giver_id == user_id),
        select(KudosRecipient.kudos_id).where(KudosRecipient.recipient_id == user_id),
        select(Feedback.id).where(
            Feedback.team_id == team_id,
            or_(
                Feedback.sender_id == user_id,
                Feedback.recipient_id == user_id,
                Feedback.manager_id == user_id,
            ),
        ),
        select(FeedbackRequest.id).where(
            FeedbackRequest.team_id == team_id,
            or_(FeedbackRequest.requester_id == user_id, FeedbackRequest.subject_id == user_id),
        ),
        select(FeedbackAsked.id).where(
            FeedbackAsked.team_id == team_id, FeedbackAsked.user_id == user_id
        ),
        select(UpwardFeedback.id).where(
            UpwardFeedback.team_id == team_id,
            or_(UpwardFeedback.author_id == user_id, UpwardFeedback.manager_id == user_id),
        ),
        select(ConversationMessage.id).where(
            ConversationMessage.team_id == team_id, ConversationMessage.author_id == user_id
        ),
        select(Digest.id).where(Digest.team_id == team_id, Digest.manager_id == user_id),
        select(Objective.id).where(Objective.team_id == team_id, Objective.owner_id == user_id),
        select(KeyResult.id).where(KeyResult.team_id == team_id, KeyResult.owner_id == user_id),
        select(KeyResultUpdate.id).where(
            KeyResultUpdate.team_id == team_id, KeyResultUpdate.author_id == user_id
        ),
    ]
    return any(session.execute(probe.limit(1)).first() is not None for probe in probes)


# ----- a person's export -----------------------------------------------------------------------


def occurrences_of(session: Session, team_id: str, user_id: str) -> list[CheckinOccurrence]:
    return list(
        session.scalars(
            select(CheckinOccurrence)
            .where(CheckinOccurrence.team_id == team_id, CheckinOccurrence.user_id == user_id)
            .order_by(CheckinOccurrence.local_date, CheckinOccurrence.id)
        )
    )


def messages_on(
    session: Session, team_id: str, kind: str, item_ids: Iterable[int]
) -> list[ConversationMessage]:
    """Every message of the exchanges about these items, oldest first."""
    ids = sorted(set(item_ids))
    found: list[ConversationMessage] = []
    for chunk in _chunks(ids):
        found += session.scalars(
            select(ConversationMessage).where(
                ConversationMessage.team_id == team_id,
                ConversationMessage.kind == kind,
                ConversationMessage.item_id.in_(list(chunk)),
            )
        )
    return sorted(found, key=lambda m: (m.created_at, m.id))


def messages_by(session: Session, team_id: str, user_id: str) -> list[ConversationMessage]:
    return list(
        session.scalars(
            select(ConversationMessage)
            .where(ConversationMessage.team_id == team_id, ConversationMessage.author_id == user_id)
            .order_by(ConversationMessage.created_at, ConversationMessage.id)
        )
    )


def occurrences_by_id(session: Session, ids: Iterable[int]) -> dict[int, CheckinOccurrence]:
    wanted = sorted(set(ids))
    found: dict[int, CheckinOccurrence] = {}
    for chunk in _chunks(wanted):
        for row in session.scalars(
            select(CheckinOccurrence).where(CheckinOccurrence.id.in_(list(chunk)))
        ):
            found[row.id] = row
    return found


def notes_written(session: Session, team_id: str, user_id: str) -> list[UpwardFeedback]:
    """Named notes by this person (an anonymous one has no author: nothing finds it)."""
    return list(
        session.scalars(
            select(UpwardFeedback)
            .where(UpwardFeedback.team_id == team_id, UpwardFeedback.author_id == user_id)
            .order_by(UpwardFeedback.iso_week)
        )
    )


def notes_received(session: Session, team_id: str, manager_id: str) -> list[UpwardFeedback]:
    """Notes to this manager that reached them: named ones, and anonymous ones a sent digest
    released. Notes still waiting for a digest are not theirs to read yet."""
    return list(
        session.scalars(
            select(UpwardFeedback)
            .where(
                UpwardFeedback.team_id == team_id,
                UpwardFeedback.manager_id == manager_id,
                UpwardFeedback.released.is_(True),
            )
            .order_by(UpwardFeedback.iso_week, UpwardFeedback.id)
        )
    )


def kudos_given(
    session: Session, team_id: str, user_id: str, *, withdrawn: bool = False
) -> list[Kudos]:
    """The person's kudos; `withdrawn` adds those taken back (nothing left in them but the
    giver, and the posts they sent)."""
    query = select(Kudos).where(Kudos.team_id == team_id, Kudos.giver_id == user_id)
    if not withdrawn:
        query = query.where(Kudos.source != WITHDRAWN)
    return list(session.scalars(query.order_by(Kudos.created_at, Kudos.id)))


def kudos_received(session: Session, team_id: str, user_id: str) -> list[Kudos]:
    return list(
        session.scalars(
            select(Kudos)
            .join(KudosRecipient, KudosRecipient.kudos_id == Kudos.id)
            .where(Kudos.team_id == team_id, KudosRecipient.recipient_id == user_id)
            .order_by(Kudos.created_at, Kudos.id)
        )
    )


def feedback_of(session: Session, team_id: str, user_id: str) -> list[Feedback]:
    """Feedback this person sent, received, or was given a copy of as the recipient's manager."""
    return list(
        session.scalars(
            select(Feedback)
            .where(
                Feedback.team_id == team_id,
                or_(
                    Feedback.sender_id == user_id,
                    Feedback.recipient_id == user_id,
                    Feedback.manager_id == user_id,
                ),
            )
            .order_by(Feedback.created_at, Feedback.id)
        )
    )


def requests_by(session: Session, team_id: str, user_id: str) -> list[FeedbackRequest]:
    return list(
        session.scalars(
            select(FeedbackRequest)
            .where(FeedbackRequest.team_id == team_id, FeedbackRequest.requester_id == user_id)
            .order_by(FeedbackRequest.created_at, FeedbackRequest.id)
        )
    )


def requests_about(session: Session, team_id: str, user_id: str) -> list[FeedbackRequest]:
    return list(
        session.scalars(
            select(FeedbackRequest)
            .where(FeedbackRequest.team_id == team_id, FeedbackRequest.subject_id == user_id)
            .order_by(FeedbackRequest.created_at, FeedbackRequest.id)
        )
    )


def asked_of_person(
    session: Session, team_id: str, user_id: str
) -> list[tuple[FeedbackAsked, FeedbackRequest]]:
    rows = session.execute(
        select(FeedbackAsked, FeedbackRequest)
        .join(FeedbackRequest, FeedbackRequest.id == FeedbackAsked.request_id)
        .where(FeedbackAsked.team_id == team_id, FeedbackAsked.user_id == user_id)
        .order_by(FeedbackRequest.created_at, FeedbackAsked.id)
    )
    return [(asked, request) for asked, request in rows]


def asked_in(session: Session, request_ids: Iterable[int]) -> dict[int, list[FeedbackAsked]]:
    ids = sorted(set(request_ids))
    found: dict[int, list[FeedbackAsked]] = {i: [] for i in ids}
    for chunk in _chunks(ids):
        for row in session.scalars(
            select(FeedbackAsked)
            .where(FeedbackAsked.request_id.in_(list(chunk)))
            .order_by(FeedbackAsked.id)
        ):
            found[row.request_id].append(row)
    return found


def digests_to(session: Session, team_id: str, manager_id: str) -> list[tuple[str, datetime]]:
    """(covered week, written at) of each digest this manager was sent."""
    rows = session.execute(
        select(Digest.iso_week, Digest.created_at)
        .where(Digest.team_id == team_id, Digest.manager_id == manager_id)
        .order_by(Digest.iso_week)
    )
    return [(week, at) for week, at in rows]


def names(session: Session, team_id: str, user_ids: Iterable[str]) -> dict[str, str]:
    """Display names as the directory has them, for the people an export names."""
    ids = sorted(set(user_ids))
    found: dict[str, str] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(DirectoryUser.user_id, DirectoryUser.name, DirectoryUser.real_name).where(
                DirectoryUser.team_id == team_id, DirectoryUser.user_id.in_(list(chunk))
            )
        )
        for user_id, name, real_name in rows:
            found[user_id] = real_name or name or user_id
    return found


# ----- the workspace, for admins ---------------------------------------------------------------


def table(name: str) -> Table:
    return Base.metadata.tables[name]


def count_rows(session: Session, name: str, where: ColumnElement[bool] | None = None) -> int:
    query = select(func.count()).select_from(table(name))
    if where is not None:
        query = query.where(where)
    return int(session.execute(query).scalar_one())


def stream_rows(
    session: Session, name: str, where: ColumnElement[bool] | None = None, batch: int = 2000
) -> Iterator[dict[str, Any]]:
    """Every row of a table as {column: value}, in primary-key order, fetched in batches so a
    large table never sits in memory whole."""
    chosen = table(name)
    query = select(chosen).order_by(*chosen.primary_key.columns)
    if where is not None:
        query = query.where(where)
    result = session.execute(query.execution_options(yield_per=batch))
    for row in result:
        yield dict(row._mapping)


def kudos_kept() -> ColumnElement[bool]:
    """Kudos that still stand: not taken back (storage.kudos.WITHDRAWN)."""
    return Kudos.source != WITHDRAWN


def exported_notes(include_anonymous: bool) -> ColumnElement[bool]:
    """Named notes; with `include_anonymous`, anonymous ones a sent digest released too."""
    if include_anonymous:
        return or_(UpwardFeedback.anonymous.is_(False), UpwardFeedback.released.is_(True))
    return UpwardFeedback.anonymous.is_(False)


# ----- erasure: rows that are the person's own -------------------------------------------------


def delete_directory_row(session: Session, team_id: str, user_id: str) -> int:
    return rowcount(
        session.execute(
            delete(DirectoryUser).where(
                DirectoryUser.team_id == team_id, DirectoryUser.user_id == user_id
            )
        )
    )


def delete_dm_channel(session: Session, team_id: str, user_id: str) -> int:
    return rowcount(
        session.execute(
            delete(DmChannel).where(DmChannel.team_id == team_id, DmChannel.user_id == user_id)
        )
    )


def delete_occurrences(session: Session, team_id: str, occurrence_ids: Sequence[int]) -> int:
    """The occurrences, their answers, and the exchanges kept with them."""
    answers = 0
    for chunk in _chunks(list(occurrence_ids)):
        ids = list(chunk)
        answers += rowcount(
            session.execute(delete(CheckinAnswer).where(CheckinAnswer.occurrence_id.in_(ids)))
        )
        for model in (ConversationMessage, ConversationThread):
            session.execute(
                delete(model).where(
                    model.team_id == team_id, model.kind == "checkin", model.item_id.in_(ids)
                )
            )
        session.execute(delete(CheckinOccurrence).where(CheckinOccurrence.id.in_(ids)))
    return answers


def delete_memberships(session: Session, team_id: str, user_id: str) -> int:
    return rowcount(
        session.execute(
            delete(CheckinMember).where(
                CheckinMember.team_id == team_id, CheckinMember.user_id == user_id
            )
        )
    )


def pause_owned_templates(session: Session, team_id: str, user_id: str, now: datetime) -> int:
    """Check-ins the person owned stop (nobody is left to receive their answers) and name a
    former colleague; a name already used by another such check-in gets its id appended."""
    owned = list(
        session.scalars(
            select(CheckinTemplate).where(
                CheckinTemplate.team_id == team_id, CheckinTemplate.owner_id == user_id
            )
        )
    )
    for template in owned:
        taken = session.execute(
            select(CheckinTemplate.id).where(
                CheckinTemplate.team_id == team_id,
                CheckinTemplate.owner_id == FORMER_ID,
                CheckinTemplate.name == template.name,
            )
        ).first()
        name = f"{template.name[:70]} #{template.id}" if taken else template.name
        session.execute(
            update(CheckinTemplate)
            .where(CheckinTemplate.id == template.id)
            .values(owner_id=FORMER_ID, name=name, active=False, updated_at=now)
        )
    return len(owned)


def delete_org_edges(session: Session, team_id: str, user_id: str) -> tuple[int, int]:
    """(their own manager edge, their reports' edges): a forgotten manager manages nobody."""
    own = rowcount(
        session.execute(
            delete(OrgEdge).where(OrgEdge.team_id == team_id, OrgEdge.user_id == user_id)
        )
    )
    reports = rowcount(
        session.execute(
            delete(OrgEdge).where(OrgEdge.team_id == team_id, OrgEdge.manager_id == user_id)
        )
    )
    return own, reports


def delete_ooo(session: Session, team_id: str, user_id: str) -> int:
    return rowcount(
        session.execute(
            delete(OutOfOffice).where(
                OutOfOffice.team_id == team_id, OutOfOffice.user_id == user_id
            )
        )
    )


def delete_budget(session: Session, team_id: str, user_id: str) -> int:
    return rowcount(
        session.execute(
            delete(KudosBudget).where(
                KudosBudget.team_id == team_id, KudosBudget.giver_id == user_id
            )
        )
    )


def delete_notes(session: Session, team_id: str, user_id: str) -> tuple[int, int]:
    """(named notes they wrote, anonymous notes to them as a manager). Nobody can read the
    latter any more, and their authors cannot be told: nothing records who they are."""
    written = rowcount(
        session.execute(
            delete(UpwardFeedback).where(
                UpwardFeedback.team_id == team_id, UpwardFeedback.author_id == user_id
            )
        )
    )
    anonymous = rowcount(
        session.execute(
            delete(UpwardFeedback).where(
                UpwardFeedback.team_id == team_id,
                UpwardFeedback.manager_id == user_id,
                UpwardFeedback.anonymous.is_(True),
            )
        )
    )
    return written, anonymous


def readdress_notes(session: Session, team_id: str, user_id: str) -> int:
    """Named notes to them as a manager stay their authors' (who keep them), to a former
    colleague."""
    return rowcount(
        session.execute(
            update(UpwardFeedback)
            .where(UpwardFeedback.team_id == team_id, UpwardFeedback.manager_id == user_id)
            .values(manager_id=FORMER_ID)
        )
    )


def delete_messages_by(session: Session, team_id: str, user_id: str) -> int:
    return rowcount(
        session.execute(
            delete(ConversationMessage).where(
                ConversationMessage.team_id == team_id, ConversationMessage.author_id == user_id
            )
        )
    )


def delete_threads_of(session: Session, team_id: str, user_id: str) -> int:
    """Both sides' thread links: with one side gone, nothing is passed on any more."""
    return rowcount(
        session.execute(
            delete(ConversationThread).where(
                ConversationThread.team_id == team_id,
                or_(ConversationThread.user_id == user_id, ConversationThread.peer_id == user_id),
            )
        )
    )


def delete_digests_to(session: Session, team_id: str, manager_id: str) -> int:
    return rowcount(
        session.execute(
            delete(Digest).where(Digest.team_id == team_id, Digest.manager_id == manager_id)
        )
    )


# ----- erasure: rows others keep, naming a former colleague ------------------------------------


def anonymise_kudos_given(session: Session, team_id: str, user_id: str) -> int:
    return rowcount(
        session.execute(
            update(Kudos)
            .where(Kudos.team_id == team_id, Kudos.giver_id == user_id)
            .values(giver_id=FORMER_ID, message=REMOVED, quote_url=None)
        )
    )


def anonymise_kudos_received(session: Session, team_id: str, user_id: str) -> int:
    """The recipient becomes a former colleague; where one already is on that kudos (two
    erased recipients), the person's line goes instead, since the key allows one."""
    mine = select(KudosRecipient.kudos_id).join(Kudos, Kudos.id == KudosRecipient.kudos_id)
    mine = mine.where(Kudos.team_id == team_id, KudosRecipient.recipient_id == user_id)
    kudos_ids = list(session.scalars(mine))
    taken = set()
    for chunk in _chunks(kudos_ids):
        taken |= set(
            session.scalars(
                select(KudosRecipient.kudos_id).where(
                    KudosRecipient.kudos_id.in_(list(chunk)),
                    KudosRecipient.recipient_id == FORMER_ID,
                )
            )
        )
    for chunk in _chunks(sorted(taken)):
        session.execute(
            delete(KudosRecipient).where(
                KudosRecipient.kudos_id.in_(list(chunk)), KudosRecipient.recipient_id == user_id
            )
        )
    free = [k for k in kudos_ids if k not in taken]
    for chunk in _chunks(free):
        session.execute(
            update(KudosRecipient)
            .where(KudosRecipient.kudos_id.in_(list(chunk)), KudosRecipient.recipient_id == user_id)
            .values(recipient_id=FORMER_ID)
        )
    return len(kudos_ids)


def anonymise_feedback(session: Session, team_id: str, user_id: str) -> tuple[int, int, int]:
    """(sent, received, manager copies). What they wrote goes; what others wrote them stays
    with its writer, addressed to a former colleague."""
    sent = rowcount(
        session.execute(
            update(Feedback)
            .where(Feedback.team_id == team_id, Feedback.sender_id == user_id)
            .values(sender_id=FORMER_ID, went_well=None, could_be_better=None, quote_url=None)
        )
    )
    received = rowcount(
        session.execute(
            update(Feedback)
            .where(Feedback.team_id == team_id, Feedback.recipient_id == user_id)
            .values(recipient_id=FORMER_ID)
        )
    )
    copies = rowcount(
        session.execute(
            update(Feedback)
            .where(Feedback.team_id == team_id, Feedback.manager_id == user_id)
            .values(manager_id=FORMER_ID)
        )
    )
    return sent, received, copies


def anonymise_requests(
    session: Session, team_id: str, user_id: str, now: datetime
) -> tuple[int, int]:
    """(requests they made, requests about them). Theirs lose the topic and questions they
    wrote and close at once (no summary goes to anyone); the answers others gave stay theirs."""
    made = list(
        session.scalars(
            select(FeedbackRequest).where(
                FeedbackRequest.team_id == team_id, FeedbackRequest.requester_id == user_id
            )
        )
    )
    for request in made:
        values: dict[str, Any] = {
            "requester_id": FORMER_ID,
            "topic": REMOVED,
            "questions": [REMOVED for _ in request.questions],
        }
        if request.state == _OPEN:
            values.update(state=_CLOSED, closed_at=now)
            session.execute(
                update(FeedbackAsked)
                .where(FeedbackAsked.request_id == request.id, FeedbackAsked.state == _PENDING)
                .values(state=_EXPIRED)
            )
        session.execute(
            update(FeedbackRequest).where(FeedbackRequest.id == request.id).values(**values)
        )
    about = rowcount(
        session.execute(
            update(FeedbackRequest)
            .where(FeedbackRequest.team_id == team_id, FeedbackRequest.subject_id == user_id)
            .values(subject_id=FORMER_ID)
        )
    )
    return len(made), about


def anonymise_asked(session: Session, team_id: str, user_id: str) -> int:
    """Where they were asked: their answers go, the line stays (the requester's counts), to a
    former colleague; a second erased person in the same request loses the line instead."""
    rows = list(
        session.scalars(
            select(FeedbackAsked).where(
                FeedbackAsked.team_id == team_id, FeedbackAsked.user_id == user_id
            )
        )
    )
    for row in rows:
        taken = session.execute(
            select(FeedbackAsked.id).where(
                FeedbackAsked.request_id == row.request_id, FeedbackAsked.user_id == FORMER_ID
            )
        ).first()
        if taken:
            session.execute(delete(FeedbackAsked).where(FeedbackAsked.id == row.id))
            continue
        session.execute(
            update(FeedbackAsked)
            .where(FeedbackAsked.id == row.id)
            .values(
                user_id=FORMER_ID,
                answers=None,
                share_with_subject=False,
                state=_EXPIRED if row.state == _PENDING else row.state,
            )
        )
    return len(rows)


def anonymise_audit(session: Session, user_id: str) -> int:
    """Exports they asked for or that were about them stay in the log, naming a former
    colleague; how many entries changed."""
    actor = f"slack:{user_id}"
    ids = list(
        session.scalars(
            select(PrivacyAudit.id).where(
                or_(PrivacyAudit.subject_id == user_id, PrivacyAudit.actor == actor)
            )
        )
    )
    session.execute(
        update(PrivacyAudit).where(PrivacyAudit.subject_id == user_id).values(subject_id=FORMER_ID)
    )
    session.execute(
        update(PrivacyAudit).where(PrivacyAudit.actor == actor).values(actor=f"slack:{FORMER_ID}")
    )
    return len(ids)


def person_digest(team_id: str, user_id: str) -> str:
    return hashlib.sha256(f"{team_id}:{user_id}".encode()).hexdigest()


def remember_forgotten(session: Session, team_id: str, digest: str) -> None:
    insert_ignoring_conflict(
        session, ForgottenPerson.__table__, {"team_id": team_id, "digest": digest}
    )


def forgotten_among(session: Session, team_id: str, digests: Iterable[str]) -> set[str]:
    wanted = sorted(set(digests))
    found: set[str] = set()
    for chunk in _chunks(wanted):
        found |= set(
            session.scalars(
                select(ForgottenPerson.digest).where(
                    ForgottenPerson.team_id == team_id, ForgottenPerson.digest.in_(list(chunk))
                )
            )
        )
    return found


def any_forgotten(session: Session, team_id: str) -> bool:
    return (
        session.execute(
            select(ForgottenPerson.digest).where(ForgottenPerson.team_id == team_id).limit(1)
        ).first()
        is not None
    )


# ----- goals --------------------------------------------------------------------------------

PERSONAL_KINDS = ("personal", "development")


def objectives_owned(session: Session, team_id: str, user_id: str) -> list[Objective]:
    return list(
        session.scalars(
            select(Objective)
            .where(Objective.team_id == team_id, Objective.owner_id == user_id)
            .order_by(Objective.cycle, Objective.id)
        )
    )


def results_owned_elsewhere(
    session: Session, team_id: str, user_id: str
) -> list[tuple[KeyResult, Objective]]:
    """Key results the person owns in objectives someone else owns."""
    rows = session.execute(
        select(KeyResult, Objective)
        .join(Objective, Objective.id == KeyResult.objective_id)
        .where(
            KeyResult.team_id == team_id,
            KeyResult.owner_id == user_id,
            Objective.owner_id != user_id,
        )
        .order_by(Objective.cycle, Objective.id, KeyResult.position, KeyResult.id)
    )
    return [(result, objective) for result, objective in rows]


def goal_updates_by(
    session: Session, team_id: str, user_id: str
) -> list[tuple[KeyResultUpdate, KeyResult, Objective]]:
    rows = session.execute(
        select(KeyResultUpdate, KeyResult, Objective)
        .join(KeyResult, KeyResult.id == KeyResultUpdate.key_result_id)
        .join(Objective, Objective.id == KeyResult.objective_id)
        .where(KeyResultUpdate.team_id == team_id, KeyResultUpdate.author_id == user_id)
        .order_by(KeyResultUpdate.created_at, KeyResultUpdate.id)
    )
    return [(update_row, result, objective) for update_row, result, objective in rows]


def kudos_goal_titles(session: Session, kudos_ids: Iterable[int]) -> dict[int, str]:
    """The title of the goal each of these kudos names, if it names one."""
    titles: dict[int, str] = {}
    for chunk in _chunks(sorted(set(kudos_ids))):
        rows = session.execute(
            select(KudosGoal.kudos_id, Objective.title)
            .join(Objective, Objective.id == KudosGoal.objective_id)
            .where(KudosGoal.kudos_id.in_(list(chunk)))
        )
        titles.update((kudos_id, title) for kudos_id, title in rows)
    return titles


def delete_personal_goals(session: Session, team_id: str, user_id: str) -> int:
    """Their personal and development objectives, with their key results, the updates of those
    and the kudos' links to them (the kudos stay); objectives aligned to one or carried over
    from one keep going without the link. Done row by row here, not left to foreign keys."""
    ids = list(
        session.scalars(
            select(Objective.id).where(
                Objective.team_id == team_id,
                Objective.owner_id == user_id,
                Objective.kind.in_(PERSONAL_KINDS),
            )
        )
    )
    for chunk in _chunks(ids):
        chosen = list(chunk)
        results = select(KeyResult.id).where(KeyResult.objective_id.in_(chosen))
        session.execute(delete(KeyResultUpdate).where(KeyResultUpdate.key_result_id.in_(results)))
        session.execute(delete(KeyResult).where(KeyResult.objective_id.in_(chosen)))
        session.execute(delete(KudosGoal).where(KudosGoal.objective_id.in_(chosen)))
        session.execute(
            update(Objective).where(Objective.parent_id.in_(chosen)).values(parent_id=None)
        )
        session.execute(
            update(Objective)
            .where(Objective.carried_from_id.in_(chosen))
            .values(carried_from_id=None)
        )
        session.execute(delete(Objective).where(Objective.id.in_(chosen)))
    return len(ids)


def readdress_goals(session: Session, team_id: str, user_id: str) -> int:
    """Their team and company objectives stay with their team, owned by a former colleague
    until someone takes them over. One already held by a former colleague under that title in
    that cycle (the key allows one) gets the objective's id after its title."""
    rows = session.scalars(
        select(Objective).where(Objective.team_id == team_id, Objective.owner_id == user_id)
    ).all()
    for row in rows:
        taken = session.scalar(
            select(Objective.id).where(
                Objective.team_id == team_id,
                Objective.cycle == row.cycle,
                Objective.owner_id == FORMER_ID,
                Objective.title == row.title,
            )
        )
        values: dict[str, Any] = {"owner_id": FORMER_ID}
        if taken is not None:
            values["title"] = f"{row.title} ({row.id})"[:200]
        session.execute(update(Objective).where(Objective.id == row.id).values(**values))
    session.execute(
        update(Objective)
        .where(Objective.team_id == team_id, Objective.created_by == f"slack:{user_id}")
        .values(created_by=f"slack:{FORMER_ID}")
    )
    return len(rows)


def readdress_key_results(session: Session, team_id: str, user_id: str) -> int:
    return rowcount(
        session.execute(
            update(KeyResult)
            .where(KeyResult.team_id == team_id, KeyResult.owner_id == user_id)
            .values(owner_id=FORMER_ID)
        )
    )


def anonymise_goal_updates(session: Session, team_id: str, user_id: str) -> int:
    """Their updates of others' key results keep their numbers (others' progress rests on
    them) and lose their note and their author."""
    return rowcount(
        session.execute(
            update(KeyResultUpdate)
            .where(KeyResultUpdate.team_id == team_id, KeyResultUpdate.author_id == user_id)
            .values(author_id=FORMER_ID, note="")
        )
    )


# ----- the whole-database search ---------------------------------------------------------------

# Tables the search never rewrites: the outbox has its own treatment (bot/notify/privacy.py);
# the directory is Slack's copy of other people (one may share the name); the others hold no
# text about anyone.
_NOT_SEARCHED = frozenset(
    {"outbox", "directory_users", "privacy_forgotten", "sender_lease", "processed_events"}
)


@dataclass(frozen=True, slots=True)
class TextColumns:
    """A table's primary key and the columns that may hold words: strings, text and JSON."""

    table: Table
    key: tuple[str, ...]
    columns: tuple[str, ...]
    json_columns: frozenset[str]


def searchable_tables() -> list[TextColumns]:
    found = []
    for name, chosen in sorted(Base.metadata.tables.items()):
        if name in _NOT_SEARCHED:
            continue
        columns = [
            c.name
            for c in chosen.columns
            if isinstance(c.type, String | Text | JSON) and c.name != "team_id"
        ]
        if columns:
            found.append(
                TextColumns(
                    chosen,
                    tuple(c.name for c in chosen.primary_key.columns),
                    tuple(columns),
                    frozenset(c for c in columns if isinstance(chosen.c[c].type, JSON)),
                )
            )
    return found


def like_patterns(terms: Iterable[str]) -> list[str]:
    """LIKE patterns (lower case, escaped with `\\`) finding each term as typed and as JSON
    stores it (non-ASCII letters escaped as \\uXXXX)."""
    patterns: set[str] = set()
    for term in terms:
        for form in {term, json.dumps(term)[1:-1]}:
            escaped = form.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            patterns.add(f"%{escaped}%")
    return sorted(patterns)


def _matches(column: Any, patterns: Sequence[str]) -> ColumnElement[bool]:
    text = func.lower(cast(column, Text))
    return or_(*(text.like(p, escape="\\") for p in patterns))


def rows_mentioning(
    session: Session, where: TextColumns, patterns: Sequence[str], team_id: str | None
) -> list[dict[str, Any]]:
    """Rows of a table with any of the patterns in one of its word columns (a candidate: the
    caller decides whether it really names the person)."""
    chosen = where.table
    condition = or_(*(_matches(chosen.c[name], patterns) for name in where.columns))
    if team_id is not None and "team_id" in chosen.c:
        condition = and_(chosen.c.team_id == team_id, condition)
    return [dict(row._mapping) for row in session.execute(select(chosen).where(condition))]


def rewrite_row(
    session: Session, where: TextColumns, key: Sequence[Any], values: dict[str, Any]
) -> None:
    chosen = where.table
    session.execute(
        update(chosen)
        .where(tuple_(*(chosen.c[name] for name in where.key)) == tuple_(*key))
        .values(**values)
    )


# ----- the outbox ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    key: str
    method: str
    status: str
    payload: dict[str, Any]
    result_channel: str | None


def outbox_mentioning(
    session: Session, team_id: str, patterns: Sequence[str], channels: Sequence[str]
) -> list[OutboxRow]:
    """Rows whose payload or key has one of the patterns, or that were posted to one of the
    channels (the person's DM)."""
    condition = or_(
        _matches(OutboxMessage.payload, patterns),
        _matches(OutboxMessage.idempotency_key, patterns),
        OutboxMessage.result_channel.in_(list(channels)),
    )
    return _outbox(session, and_(OutboxMessage.team_id == team_id, condition))


def outbox_keys(session: Session, team_id: str, prefixes: Sequence[str]) -> list[tuple[int, str]]:
    """(id, key) of the rows whose key starts with one of the prefixes' kinds ("kudos:"...)."""
    if not prefixes:
        return []
    condition = or_(*(OutboxMessage.idempotency_key.like(f"{p}%") for p in prefixes))
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.idempotency_key).where(
            OutboxMessage.team_id == team_id, condition
        )
    )
    return [(row_id, key) for row_id, key in rows]


def outbox_rows(session: Session, ids: Iterable[int]) -> list[OutboxRow]:
    wanted = sorted(set(ids))
    found: list[OutboxRow] = []
    for chunk in _chunks(wanted):
        found += _outbox(session, OutboxMessage.id.in_(list(chunk)))
    return found


def _outbox(session: Session, condition: ColumnElement[bool]) -> list[OutboxRow]:
    rows = session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.idempotency_key,
            OutboxMessage.method,
            OutboxMessage.status,
            OutboxMessage.payload,
            OutboxMessage.result_channel,
        )
        .where(condition)
        .order_by(OutboxMessage.id)
    )
    return [OutboxRow(*row) for row in rows]


def rewrite_payload(session: Session, row_id: int, payload: dict[str, Any]) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(payload=payload)
        .execution_options(synchronize_session=False)
    )


def cancel_rows(session: Session, ids: Iterable[int], reason: str, now: datetime) -> int:
    """Withdraw these rows if they are still waiting; rows threaded under them follow at the
    sender's next round (`storage.outbox.fail_orphans`)."""
    cancelled = 0
    for chunk in _chunks(sorted(set(ids))):
        cancelled += rowcount(
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(list(chunk)), OutboxMessage.status == _PENDING)
                .values(status="cancelled", last_error=reason, sent_at=now)
                .execution_options(synchronize_session=False)
            )
        )
    return cancelled


def redact_rows(
    session: Session,
    ids: Iterable[int],
    reason: str,
    rekey: Iterable[int],
    dm_channels: Sequence[str],
) -> int:
    """Empty these rows' payloads (what was sent is Slack's to keep or delete; the copy here
    goes); rows in `rekey` get a key naming only the row; a result channel that is the
    person's DM is forgotten. Their status, times and the other results stay for the sender."""
    wanted = sorted(set(ids))
    for chunk in _chunks(wanted):
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(chunk)))
            .values(payload={REDACTED_KEY: reason})
            .execution_options(synchronize_session=False)
        )
    for chunk in _chunks(sorted(set(rekey))):
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(chunk)))
            .values(idempotency_key=literal(f"{reason}:") + cast(OutboxMessage.id, String))
            .execution_options(synchronize_session=False)
        )
    if dm_channels:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.result_channel.in_(list(dm_channels)))
            .values(result_channel=None)
            .execution_options(synchronize_session=False)
        )
    return len(wanted)


# ----- the audit -------------------------------------------------------------------------------


def start_run(
    session: Session,
    *,
    action: str,
    actor: str,
    started_at: datetime,
    team_id: str | None = None,
    subject_id: str | None = None,
    run_key: str | None = None,
) -> int | None:
    """A new audit row; None when `run_key` was claimed before (another replica, or earlier
    today), so that run is not done twice."""
    new_id = insert_ignoring_conflict(
        session,
        PrivacyAudit.__table__,
        {
            "team_id": team_id,
            "action": action,
            "actor": actor[:80],
            "subject_id": subject_id,
            "run_key": run_key,
            "started_at": started_at,
            "counts": {},
        },
    )
    return None if new_id is None else int(new_id)


def finish_run(
    session: Session, run_id: int, counts: dict[str, int], finished_at: datetime
) -> None:
    session.execute(
        update(PrivacyAudit)
        .where(PrivacyAudit.id == run_id)
        .values(counts=dict(counts), finished_at=finished_at)
    )


def audit_log(session: Session, limit: int, team_id: str | None = None) -> list[PrivacyAudit]:
    query = select(PrivacyAudit).order_by(PrivacyAudit.started_at.desc(), PrivacyAudit.id.desc())
    if team_id is not None:
        query = query.where(or_(PrivacyAudit.team_id == team_id, PrivacyAudit.team_id.is_(None)))
    return list(session.scalars(query.limit(limit)))
