"""A person's rights over what pulsebot holds: their export, their erasure, and the audit of both.

What an export may hold is decided here, item by item, by who may read it in the app:
- their own check-ins and the exchanges kept with them; replies they wrote to others' check-ins
  (their words, without the other person's answers);
- notes they signed; notes a manager received: named ones, and anonymous ones a sent digest
  released, never one still waiting and never an author nothing records;
- kudos and feedback they gave or received, and feedback copies they got as a manager;
- requests they made (every answer: the requester reads them all), requests they were asked
  (their own answers), requests about them (only answers their giver shared, and only once the
  request closed, as the app delivers them);
- objectives they own (with their key results), key results they own in others' objectives,
  and the goal updates they wrote.
Nothing else of another person's is read.

An erasure removes what the person wrote and every row that is only theirs; rows others keep
(a kudos they received, feedback they were sent) stay with their writer and name
`FORMER_ID`, shown as "a former colleague". Goals follow the same line: their personal and
development objectives go, with their key results and updates; team and company objectives
stay with their team, owned by a former colleague until someone takes them over; their updates
of others' key results keep their numbers and lose their note. Then every word column of every
table is searched for what is left (their id, DM, e-mail or names inside others' text) and
rewritten.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from storage import checkins as checkin_store
from storage import digest as digest_store
from storage import goals as goals_store
from storage import org as org_store
from storage import outbox as outbox_store
from storage import privacy as store
from storage.models import CheckinTemplate, FeedbackAsked, FeedbackRequest, KeyResult

FORMER_ID = store.FORMER_ID
FORMER_COLLEAGUE = "a former colleague"
REMOVED = store.REMOVED
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
MIN_NAME = 3  # shorter names would match ordinary words in others' text


class UnknownPerson(Exception):
    """Nothing stored names this person: a mistyped id, or someone already forgotten."""


def check_user_id(user_id: str) -> str:
    """A Slack user id as typed on a command line; ValueError says what is wrong with it."""
    cleaned = user_id.strip().strip("<>@")
    if not USER_ID.match(cleaned):
        raise ValueError(
            f'"{user_id}" is not a Slack user id (U… or W…, capital letters and digits)'
        )
    return cleaned


def display(user_id: str, names: dict[str, str] | None = None) -> str:
    if user_id == FORMER_ID:
        return FORMER_COLLEAGUE
    return (names or {}).get(user_id, user_id)


# ----- the export ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """One thing pulsebot holds: its kind, when it happened (an ISO week for notes, which keep
    nothing finer), the people it names, and its own fields."""

    kind: str
    at: str | None
    people: tuple[str, ...]
    fields: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "at": self.at, "people": list(self.people), **self.fields}


# What an export leaves out, and why: written into every export, so its reader knows.
NOT_INCLUDED = (
    "Who wrote an anonymous note: pulsebot never stores it, so nothing can tell.",
    "Your anonymous notes: they carry no author, so nothing finds them as yours.",
    "Anonymous notes to you that no digest has released yet.",
    "Answers to a request about you that their giver did not share with you, or that arrive "
    "only when the request closes.",
    "Other people's check-in answers, feedback and kudos that do not involve you, including "
    "the answers your reports sent you and the digests' contents about them.",
)

KIND_ORDER = (
    "checkin",
    "checkin_reply",
    "note_written",
    "note_received",
    "kudos_given",
    "kudos_received",
    "feedback_given",
    "feedback_received",
    "feedback_copy",
    "feedback_reply",
    "request_made",
    "request_asked",
    "request_about_you",
    "request_reply",
    "goal_owned",
    "key_result_owned",
    "goal_update",
    "team_answer",
    "digest_received",
)


@dataclass
class PersonalExport:
    team_id: str
    user_id: str
    generated_at: datetime
    person: dict[str, Any]
    items: list[Item] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for item in self.items:
            found[item.kind] = found.get(item.kind, 0) + 1
        return {kind: found[kind] for kind in KIND_ORDER if kind in found}

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "pulsebot-personal-export/1",
            "workspace": self.team_id,
            "user_id": self.user_id,
            "generated_at": _iso(self.generated_at),
            "person": self.person,
            "counts": self.counts(),
            "names": dict(sorted(self.names.items())),
            "not_included": list(NOT_INCLUDED),
            "items": [item.to_json() for item in self.items],
        }

    def to_bytes(self) -> bytes:
        """The JSON file: UTF-8, indented, as `pulsebot privacy export` writes it."""
        return (json.dumps(self.to_json(), ensure_ascii=False, indent=2) + "\n").encode()

    def tables(self) -> dict[str, tuple[list[str], list[dict[str, Any]]]]:
        """One table per kind (the person is the kind `person`): columns, and rows whose lists
        and mappings are JSON text, for a CSV file each."""
        tables: dict[str, tuple[list[str], list[dict[str, Any]]]] = {
            "person": (list(self.person), [self.person])
        }
        for kind in KIND_ORDER:
            rows = [item.to_json() for item in self.items if item.kind == kind]
            if not rows:
                continue
            columns: list[str] = []
            for row in rows:
                columns += [c for c in row if c not in columns]
            tables[kind] = (columns, rows)
        return tables


def export_person(session: Session, team_id: str, user_id: str, now: datetime) -> PersonalExport:
    """Everything pulsebot holds about this person that they may read. Raises UnknownPerson."""
    row = store.directory_row(session, team_id, user_id)
    if row is None and not store.is_referenced(session, team_id, user_id):
        raise UnknownPerson(user_id)
    out_of_office = org_store.get_ooo(session, team_id, [user_id]).get(user_id)
    person: dict[str, Any] = {
        "user_id": user_id,
        "display_name": row.name if row else None,
        "real_name": row.real_name if row else None,
        "email": row.email if row else None,
        "time_zone": row.tz if row else None,
        "deactivated": row.deleted if row else None,
        "guest": row.is_restricted if row else None,
        "other_organisation": (row.user_team_id != team_id) if row else None,
        "directory_updated_at": _iso(row.fetched_at) if row else None,
        "dm_channel": outbox_store.dm_channel(session, team_id, user_id),
        "manager": org_store.manager_of(session, team_id, user_id),
        "reports": org_store.reports_of(session, team_id, user_id),
        "out_of_office": (
            {"from": out_of_office.starts_on.isoformat(), "until": out_of_office.until.isoformat()}
            if out_of_office
            else None
        ),
    }
    export = PersonalExport(team_id, user_id, now, person)
    items = export.items
    items += _checkins(session, team_id, user_id, person)
    items += _notes(session, team_id, user_id)
    items += _kudos(session, team_id, user_id)
    items += _feedback(session, team_id, user_id)
    items += _requests(session, team_id, user_id)
    items += _goals(session, team_id, user_id)
    items += [
        Item("team_answer", _iso(m.created_at), (user_id,), {"text": m.text})
        for m in store.messages_by(session, team_id, user_id)
        if m.kind == "team"
    ]
    items += [
        Item("digest_received", _iso(at), (user_id,), {"week": week})
        for week, at in store.digests_to(session, team_id, user_id)
    ]
    rank = {kind: n for n, kind in enumerate(KIND_ORDER)}
    items.sort(key=lambda i: (rank[i.kind], i.at or ""))
    named = {p for item in items for p in item.people}
    named |= {user_id, *person["reports"], *([person["manager"]] if person["manager"] else [])}
    export.names = {p: display(p) for p in named if p == FORMER_ID}
    export.names.update(store.names(session, team_id, named - {FORMER_ID}))
    return export


def _checkins(session: Session, team_id: str, user_id: str, person: dict[str, Any]) -> list[Item]:
    occurrences = store.occurrences_of(session, team_id, user_id)
    mine = {o.id for o in occurrences}
    theirs = [m for m in store.messages_by(session, team_id, user_id) if m.kind == "checkin"]
    others = store.occurrences_by_id(
        session, {m.item_id for m in theirs if m.item_id is not None and m.item_id not in mine}
    )
    templates = _templates(
        session, {o.template_id for o in occurrences} | {o.template_id for o in others.values()}
    )
    person["checkins_member_of"] = sorted(
        t.name for t in _member_templates(session, team_id, user_id)
    )
    person["checkins_owned"] = sorted(t.name for t in _owned_templates(session, team_id, user_id))
    answers = _answers(session, sorted(mine))
    items = []
    for occurrence in occurrences:
        template = templates.get(occurrence.template_id)
        questions = {
            q["id"]: q.get("text", q["id"]) for q in (template.questions if template else [])
        }
        given = answers.get(occurrence.id, {})
        items.append(
            Item(
                "checkin",
                _iso(occurrence.answered_at or occurrence.scheduled_at),
                tuple(p for p in (user_id, template.owner_id if template else None) if p),
                {
                    "check_in": template.name if template else None,
                    "date": occurrence.local_date.isoformat(),
                    "state": occurrence.state,
                    "answers": {
                        questions.get(q, q): given[q]
                        for q in [*(q for q in questions if q in given), *given]
                        if q in given
                    },
                },
            )
        )
    # The exchanges kept with their check-ins, and those they took part in on others' (their
    # words and what was said back to them; never the other person's answers).
    replies = store.messages_on(session, team_id, "checkin", sorted(mine | set(others)))
    for message in sorted(replies, key=lambda m: (m.created_at, m.id)):
        occurrence_row = next((o for o in occurrences if o.id == message.item_id), None)
        occurrence_row = occurrence_row or others.get(message.item_id or 0)
        template = templates.get(occurrence_row.template_id) if occurrence_row else None
        member = occurrence_row.user_id if occurrence_row else None
        items.append(
            Item(
                "checkin_reply",
                _iso(message.created_at),
                tuple(dict.fromkeys(p for p in (message.author_id, member) if p)),
                {
                    "check_in": template.name if template else None,
                    "date": occurrence_row.local_date.isoformat() if occurrence_row else None,
                    "member": member,
                    "author": message.author_id,
                    "text": message.text,
                },
            )
        )
    return items


def _notes(session: Session, team_id: str, user_id: str) -> list[Item]:
    items = [
        Item(
            "note_written",
            note.iso_week,
            (note.manager_id,),
            {"manager": note.manager_id, "week": note.iso_week, "text": note.text},
        )
        for note in store.notes_written(session, team_id, user_id)
    ]
    for note in store.notes_received(session, team_id, user_id):
        if note.anonymous:
            # The week it was released in, never the week it was written: a digest says only
            # the span, and the author is nobody's to know.
            items.append(
                Item(
                    "note_received",
                    note.released_week,
                    (),
                    {"anonymous": True, "released_in_week": note.released_week, "text": note.text},
                )
            )
        else:
            items.append(
                Item(
                    "note_received",
                    note.iso_week,
                    tuple(p for p in (note.author_id,) if p),
                    {
                        "anonymous": False,
                        "author": note.author_id,
                        "week": note.iso_week,
                        "text": note.text,
                    },
                )
            )
    return items


def _kudos(session: Session, team_id: str, user_id: str) -> list[Item]:
    items = []
    given = store.kudos_given(session, team_id, user_id)
    received = store.kudos_received(session, team_id, user_id)
    goals = store.kudos_goal_titles(session, [k.id for k in [*given, *received]])
    for kind, rows in (("kudos_given", given), ("kudos_received", received)):
        for kudos in rows:
            recipients = sorted(r.recipient_id for r in kudos.recipients)
            items.append(
                Item(
                    kind,
                    _iso(kudos.created_at),
                    tuple(dict.fromkeys([kudos.giver_id, *recipients])),
                    {
                        "giver": kudos.giver_id,
                        "recipients": recipients,
                        "message": kudos.message,
                        "values": sorted(v.value for v in kudos.values),
                        "source": kudos.source,
                        "quoted_message": kudos.quote_url,
                        "for_goal": goals.get(kudos.id),
                    },
                )
            )
    return items


def _feedback(session: Session, team_id: str, user_id: str) -> list[Item]:
    items = []
    rows = store.feedback_of(session, team_id, user_id)
    for feedback in rows:
        if feedback.sender_id == user_id:
            kind = "feedback_given"
        elif feedback.recipient_id == user_id:
            kind = "feedback_received"
        else:
            kind = "feedback_copy"  # they are the recipient's manager, and were sent a copy
        items.append(
            Item(
                kind,
                _iso(feedback.created_at),
                tuple(
                    dict.fromkeys(
                        p
                        for p in (feedback.sender_id, feedback.recipient_id, feedback.manager_id)
                        if p
                    )
                ),
                {
                    "sender": feedback.sender_id,
                    "recipient": feedback.recipient_id,
                    "manager_copy_to": feedback.manager_id,
                    "went_well": feedback.went_well,
                    "could_be_better": feedback.could_be_better,
                    "value": feedback.value,
                    "visibility": feedback.visibility,
                    "thanked_at": _iso(feedback.thanked_at),
                    "quoted_message": feedback.quote_url,
                },
            )
        )
    # The exchanges of the feedback they sent or received: a manager's copy has none.
    talked = [f.id for f in rows if user_id in (f.sender_id, f.recipient_id)]
    items += [
        Item(
            "feedback_reply",
            _iso(m.created_at),
            (m.author_id,),
            {"feedback_id": m.item_id, "author": m.author_id, "text": m.text},
        )
        for m in store.messages_on(session, team_id, "feedback", talked)
    ]
    return items


def _requests(session: Session, team_id: str, user_id: str) -> list[Item]:
    items: list[Item] = []
    made = store.requests_by(session, team_id, user_id)
    about = [
        r for r in store.requests_about(session, team_id, user_id) if r.requester_id != user_id
    ]
    asked_rows = store.asked_of_person(session, team_id, user_id)
    asked = store.asked_in(session, [r.id for r in made] + [r.id for r in about])
    threads: dict[int, FeedbackRequest] = {}
    for request in made:
        people = [a.user_id for a in asked[request.id]]
        items.append(
            Item(
                "request_made",
                _iso(request.created_at),
                tuple(dict.fromkeys([user_id, *people, *_subject(request)])),
                {
                    **_request_fields(request),
                    "answers": [
                        {
                            "person": a.user_id,
                            "state": a.state,
                            "answers": a.answers,
                            "shared_with_subject": a.share_with_subject,
                        }
                        for a in asked[request.id]
                    ],
                },
            )
        )
        threads.update({a.id: request for a in asked[request.id]})
    for row, request in asked_rows:
        items.append(
            Item(
                "request_asked",
                _iso(row.answered_at or request.created_at),
                tuple(dict.fromkeys([request.requester_id, *_subject(request)])),
                {
                    **_request_fields(request),
                    "your_state": row.state,
                    "your_answers": row.answers,
                    "shared_with_subject": row.share_with_subject,
                },
            )
        )
        threads[row.id] = request
    for request in about:
        shared = _shared_with_subject(request, asked[request.id])
        items.append(
            Item(
                "request_about_you",
                _iso(request.closed_at or request.created_at),
                tuple(dict.fromkeys([request.requester_id, *(a.user_id for a in shared)])),
                {
                    **_request_fields(request),
                    "shared_answers": [{"person": a.user_id, "answers": a.answers} for a in shared],
                },
            )
        )
    for message in store.messages_on(session, team_id, "request", sorted(threads)):
        request = threads[message.item_id or 0]
        items.append(
            Item(
                "request_reply",
                _iso(message.created_at),
                (message.author_id,),
                {"request_topic": request.topic, "author": message.author_id, "text": message.text},
            )
        )
    return items


def _goals(session: Session, team_id: str, user_id: str) -> list[Item]:
    """Objectives they own (private ones too: they are theirs) with all their key results, the
    key results they own in others' objectives, and the updates they wrote."""
    owned = store.objectives_owned(session, team_id, user_id)
    results = goals_store.key_results_of(session, [o.id for o in owned])
    related = goals_store.objectives_by_id(
        session,
        team_id,
        [i for o in owned for i in (o.parent_id, o.carried_from_id) if i is not None],
    )
    items = []
    for objective in owned:
        parent = related.get(objective.parent_id) if objective.parent_id else None
        source = related.get(objective.carried_from_id) if objective.carried_from_id else None
        items.append(
            Item(
                "goal_owned",
                _iso(objective.created_at),
                tuple(dict.fromkeys([user_id, *(r.owner_id for r in results[objective.id])])),
                {
                    "cycle": objective.cycle,
                    "title": objective.title,
                    "goal_kind": objective.kind,
                    "visibility": objective.visibility,
                    "state": objective.state,
                    "outcome": objective.outcome,
                    "score": objective.score,
                    "closed_at": _iso(objective.closed_at),
                    "serves": parent.title if parent is not None else None,
                    "carried_over_from": source.cycle if source is not None else None,
                    "key_results": [_result_fields(r) for r in results[objective.id]],
                },
            )
        )
    for result, objective in store.results_owned_elsewhere(session, team_id, user_id):
        items.append(
            Item(
                "key_result_owned",
                _iso(result.created_at),
                (user_id, objective.owner_id),
                {
                    "cycle": objective.cycle,
                    "objective": objective.title,
                    "objective_owner": objective.owner_id,
                    **_result_fields(result),
                },
            )
        )
    for update_row, result, objective in store.goal_updates_by(session, team_id, user_id):
        items.append(
            Item(
                "goal_update",
                _iso(update_row.created_at),
                (user_id,),
                {
                    "cycle": objective.cycle,
                    "objective": objective.title,
                    "key_result": result.title,
                    "value": update_row.value,
                    "confidence": update_row.confidence,
                    "note": update_row.note,
                },
            )
        )
    return items


def _result_fields(result: KeyResult) -> dict[str, Any]:
    return {
        "key_result": result.title,
        "owner": result.owner_id,
        "measure": result.measure,
        "unit": result.unit,
        "start": result.start,
        "target": result.target,
        "current": result.current,
        "weight": result.weight,
    }


def _shared_with_subject(
    request: FeedbackRequest, asked: Sequence[FeedbackAsked]
) -> list[FeedbackAsked]:
    """What the person a request is about has been given: the answers their givers chose to
    share, delivered when the request closed (before that, nothing)."""
    if request.state != "closed":
        return []
    return [a for a in asked if a.state == "answered" and a.share_with_subject]


def _subject(request: FeedbackRequest) -> list[str]:
    return [request.subject_id] if request.subject_id else []


def _request_fields(request: FeedbackRequest) -> dict[str, Any]:
    return {
        "request_id": request.id,
        "requester": request.requester_id,
        "about": request.subject_id,
        "topic": request.topic,
        "questions": list(request.questions),
        "due_on": request.due_on.isoformat(),
        "state": request.state,
    }


def _templates(session: Session, ids: Iterable[int]) -> dict[int, CheckinTemplate]:
    return digest_store.templates(session, ids)


def _member_templates(session: Session, team_id: str, user_id: str) -> list[CheckinTemplate]:
    return checkin_store.templates_of_member(session, team_id, user_id)


def _owned_templates(session: Session, team_id: str, user_id: str) -> list[CheckinTemplate]:
    return digest_store.owned_templates(session, team_id, user_id)


def _answers(session: Session, occurrence_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    return digest_store.answers(session, occurrence_ids)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# ----- the workspace, for admins ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkspaceKind:
    """One CSV file of a workspace export: a table, the rows it shows, how each is shown."""

    name: str
    table: str
    include_anonymous: bool = False

    def columns(self) -> list[str]:
        return [c.name for c in store.table(self.table).columns]

    def count(self, session: Session, team_id: str) -> int:
        return store.count_rows(session, self.table, self._where(team_id))

    def rows(self, session: Session, team_id: str) -> Iterable[dict[str, Any]]:
        for row in store.stream_rows(session, self.table, self._where(team_id)):
            if self.table == "upward_feedback" and row["anonymous"]:
                # The week a note was written is never shown with it (a digest says only the
                # span it may come from); it had no author to show.
                row = {**row, "iso_week": None, "author_id": None, "occurrence_id": None}
            yield row

    def _where(self, team_id: str) -> Any:
        chosen = store.table(self.table)
        where = chosen.c.team_id == team_id if "team_id" in chosen.c else None
        if self.table == "upward_feedback":
            notes = store.exported_notes(self.include_anonymous)
            where = notes if where is None else where & notes
        if self.table == "kudos":  # one taken back holds nothing but its id and giver
            kept = store.kudos_kept()
            where = kept if where is None else where & kept
        if self.table in ("kudos_recipients", "kudos_values", "kudos_goals"):
            kudos = store.table("kudos")
            where = chosen.c.kudos_id.in_(
                kudos.select().with_only_columns(kudos.c.id).where(kudos.c.team_id == team_id)
            )
        if self.table == "privacy_audit":  # retention runs are every workspace's
            where = (chosen.c.team_id == team_id) | chosen.c.team_id.is_(None)
        return where


# File name, table. The outbox (a copy of every message sent, released anonymous notes among
# them), DM channels, kudos budgets and the sender's own bookkeeping are not data about people.
WORKSPACE_TABLES = (
    ("people", "directory_users"),
    ("org_chart", "org_chart"),
    ("out_of_office", "ooo_periods"),
    ("checkin_templates", "checkin_templates"),
    ("checkin_members", "checkin_members"),
    ("checkins", "checkin_occurrences"),
    ("checkin_answers", "checkin_answers"),
    ("notes", "upward_feedback"),
    ("kudos", "kudos"),
    ("kudos_recipients", "kudos_recipients"),
    ("kudos_values", "kudos_values"),
    ("feedback", "feedback"),
    ("feedback_requests", "feedback_requests"),
    ("feedback_asked", "feedback_asked"),
    ("conversation_messages", "conversation_messages"),
    ("digests", "digests"),
    ("goals", "goal_objectives"),
    ("key_results", "goal_key_results"),
    ("goal_updates", "goal_updates"),
    ("kudos_goals", "kudos_goals"),
    ("privacy_audit", "privacy_audit"),
)


def workspace_kinds(include_anonymous: bool) -> list[WorkspaceKind]:
    return [WorkspaceKind(name, table, include_anonymous) for name, table in WORKSPACE_TABLES]


# ----- what names a person, and rewriting it ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Terms:
    """What identifies a person in stored text: their id and DM, their e-mail and names."""

    user_id: str
    dm_channel: str | None = None
    email: str | None = None
    names: tuple[str, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i for i in (self.user_id, self.dm_channel) if i)

    @property
    def words(self) -> tuple[str, ...]:
        found = [self.email] if self.email else []
        found += [n for n in self.names if len(n) >= MIN_NAME]
        return tuple(sorted(set(found), key=lambda w: (-len(w), w)))

    def patterns(self) -> list[str]:
        return store.like_patterns((*self.ids, *self.words))

    def by_id(self) -> Terms:
        """Their id and DM only: what the app's own messages name them by (a mention)."""
        return Terms(self.user_id, self.dm_channel)

    def scrub(self, value: Any) -> Any:
        """The value with every mention of the person replaced: a mention by the words "a
        former colleague", their id or DM by `FORMER_ID`, their e-mail and names by the words.
        Lists and mappings are rewritten inside."""
        if isinstance(value, str):
            return self._scrub_text(value)
        if isinstance(value, list | tuple):
            return [self.scrub(v) for v in value]
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        return value

    def _scrub_text(self, text: str) -> str:
        ids = "|".join(re.escape(i) for i in self.ids)
        text = re.sub(rf"<@(?:{ids})(?:\|[^>]*)?>", FORMER_COLLEAGUE, text)
        text = re.sub(rf"(?<![A-Za-z0-9])(?:{ids})(?![A-Za-z0-9])", FORMER_ID, text)
        if self.words:
            words = "|".join(re.escape(w) for w in self.words)
            text = re.sub(rf"(?<!\w)(?:{words})(?!\w)", FORMER_COLLEAGUE, text, flags=re.I)
        return text


def terms_of(session: Session, team_id: str, user_id: str) -> Terms:
    row = store.directory_row(session, team_id, user_id)
    return Terms(
        user_id=user_id,
        dm_channel=outbox_store.dm_channel(session, team_id, user_id),
        email=row.email if row and row.email else None,
        names=tuple(n for n in ((row.name, row.real_name) if row else ()) if n),
    )


def prune_digest(content: dict[str, Any], user_id: str) -> dict[str, Any]:
    """A stored digest without the person: their entries leave every list (their answers,
    blockers and notes with them); the counts, which are the team's, stay as they were."""

    def names_them(item: Any) -> bool:
        if item == user_id:
            return True
        if isinstance(item, dict):
            return user_id in (item.get("user_id"), item.get("manager_id"))
        return isinstance(item, list | tuple) and bool(item) and item[0] == user_id

    def prune(value: Any) -> Any:
        if isinstance(value, list):
            return [prune(v) for v in value if not names_them(v)]
        if isinstance(value, dict):
            return {k: prune(v) for k, v in value.items()}
        return value

    return {key: prune(value) for key, value in content.items()}


# ----- the erasure -----------------------------------------------------------------------------


@dataclass
class Erasure:
    """What an erasure changed, kind by kind, and what the outbox work needs to know."""

    terms: Terms
    counts: dict[str, int] = field(default_factory=dict)
    # Outbox keys of the person's own items ("checkin:12:" ...): their rows carry the person's
    # words even where no mention of them does.
    item_prefixes: set[str] = field(default_factory=set)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def prepare(session: Session, team_id: str, user_id: str) -> Erasure:
    """What an erasure of this person needs to know before it changes anything (the outbox
    work runs first, while their DM channel is still known). Raises UnknownPerson."""
    if store.directory_row(session, team_id, user_id) is None and not store.is_referenced(
        session, team_id, user_id
    ):
        raise UnknownPerson(user_id)
    erasure = Erasure(terms_of(session, team_id, user_id))
    prefixes = erasure.item_prefixes
    prefixes |= {f"checkin:{o.id}:" for o in store.occurrences_of(session, team_id, user_id)}
    prefixes |= {
        f"kudos:{k.id}:" for k in store.kudos_given(session, team_id, user_id, withdrawn=True)
    }
    prefixes |= {
        f"feedback:{f.id}:"
        for f in store.feedback_of(session, team_id, user_id)
        if f.sender_id == user_id
    }
    prefixes |= {f"request:{r.id}:" for r in store.requests_by(session, team_id, user_id)}
    return erasure


def forget(session: Session, team_id: str, erasure: Erasure, now: datetime) -> Erasure:
    """Erase the person from every table but the outbox (bot/notify/privacy.py does that first,
    in the same unit of work); `erasure.counts` says what changed, kind by kind."""
    user_id = erasure.terms.user_id
    counts = erasure.counts
    occurrence_ids = [o.id for o in store.occurrences_of(session, team_id, user_id)]
    counts["directory entry"] = store.delete_directory_row(session, team_id, user_id)
    counts["check-in answers"] = store.delete_occurrences(session, team_id, occurrence_ids)
    counts["check-ins"] = len(occurrence_ids)
    counts["check-in memberships"] = store.delete_memberships(session, team_id, user_id)
    counts["check-ins they owned, now paused"] = store.pause_owned_templates(
        session, team_id, user_id, now
    )
    own_edge, report_edges = store.delete_org_edges(session, team_id, user_id)
    counts["their manager link"] = own_edge
    counts["reports left without a manager"] = report_edges
    counts["out-of-office periods"] = store.delete_ooo(session, team_id, user_id)
    written, anonymous = store.delete_notes(session, team_id, user_id)
    counts["notes they signed"] = written
    counts["anonymous notes to them"] = anonymous
    counts["named notes to them, kept by their authors"] = store.readdress_notes(
        session, team_id, user_id
    )
    counts["kudos given (message erased)"] = store.anonymise_kudos_given(session, team_id, user_id)
    counts["kudos received"] = store.anonymise_kudos_received(session, team_id, user_id)
    counts["kudos budget days"] = store.delete_budget(session, team_id, user_id)
    sent, received, copies = store.anonymise_feedback(session, team_id, user_id)
    counts["feedback given (text erased)"] = sent
    counts["feedback received"] = received
    counts["feedback copies as a manager"] = copies
    made, about = store.anonymise_requests(session, team_id, user_id, now)
    counts["feedback requests made (topic erased, closed)"] = made
    counts["feedback requests about them"] = about
    counts["feedback requests asked (answers erased)"] = store.anonymise_asked(
        session, team_id, user_id
    )
    counts["personal and development goals"] = store.delete_personal_goals(
        session, team_id, user_id
    )
    counts["team and company goals they owned, kept for their team"] = store.readdress_goals(
        session, team_id, user_id
    )
    counts["key results they owned in others' goals"] = store.readdress_key_results(
        session, team_id, user_id
    )
    counts["goal updates they wrote (note erased)"] = store.anonymise_goal_updates(
        session, team_id, user_id
    )
    counts["messages they wrote in exchanges"] = store.delete_messages_by(session, team_id, user_id)
    counts["exchange threads"] = store.delete_threads_of(session, team_id, user_id)
    counts["digests sent to them"] = store.delete_digests_to(session, team_id, user_id)
    counts["DM channel"] = store.delete_dm_channel(session, team_id, user_id)
    counts["audit entries naming them"] = store.anonymise_audit(session, user_id)
    counts["other rows naming them, rewritten"] = rewrite_mentions(session, team_id, erasure.terms)
    if erasure.total:
        store.remember_forgotten(session, team_id, store.person_digest(team_id, user_id))
    return erasure


def rewrite_mentions(session: Session, team_id: str, terms: Terms) -> int:
    """Search every word column of every table (the outbox aside) for the person and rewrite
    what is found; how many rows changed. A candidate the database finds by LIKE may not name
    them after all (a longer id, a word inside another): only real changes are written."""
    patterns = terms.patterns()
    changed = 0
    for where in store.searchable_tables():
        for row in store.rows_mentioning(session, where, patterns, team_id):
            values: dict[str, Any] = {}
            for column in where.columns:
                old = row[column]
                if old is None:
                    continue
                new = old
                if where.table.name == "digests" and column == "content":
                    new = prune_digest(new, terms.user_id)
                new = terms.scrub(new)
                if new != old:
                    values[column] = new
            if values:
                store.rewrite_row(session, where, [row[k] for k in where.key], values)
                changed += 1
    return changed


# ----- the audit -------------------------------------------------------------------------------


def record(
    session: Session,
    *,
    action: str,
    actor: str,
    now: datetime,
    counts: dict[str, int],
    team_id: str | None = None,
    subject_id: str | None = None,
) -> None:
    """One finished run in the audit log. An erasure passes no subject: its row names nobody."""
    run_id = store.start_run(
        session, action=action, actor=actor, started_at=now, team_id=team_id, subject_id=subject_id
    )
    assert run_id is not None  # no run key: nothing to conflict with
    store.finish_run(session, run_id, counts, now)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    action: str
    actor: str
    team_id: str | None
    subject: str | None
    counts: dict[str, int]
    finished: bool


def audit_log(session: Session, limit: int = 100, team_id: str | None = None) -> list[AuditEntry]:
    return [
        AuditEntry(
            row.started_at,
            row.action,
            row.actor,
            row.team_id,
            display(row.subject_id) if row.subject_id else None,
            dict(row.counts or {}),
            row.finished_at is not None,
        )
        for row in store.audit_log(session, limit, team_id)
    ]
