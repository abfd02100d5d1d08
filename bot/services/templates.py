"""Check-in templates: validation (YAML file or the setup modal), apply, list, the default.

A template is identified by (owner, name): applying the same file again
updates in place. Validation happens for the whole input before anything is written, so an
invalid file changes nothing; every error names the file, the template and the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.orm import Session

from bot.services import org
from bot.services.schedule import (
    format_duration,
    parse_duration,
    parse_time,
    slots_between,
    weekday_names,
)
from storage import checkins as store
from storage.models import CheckinTemplate

ResolveEmail = Callable[[str], str | None]

QuestionKind = Literal["text", "pulse", "choice", "yes_no", "goals"]
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,31}$")
QUESTION_ID = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Three blocks each at most in the form (the input, who reads it, and a blocker's detail or the
# anonymous box), and one above them: 76 of a modal's 100.
MAX_QUESTIONS = 25
MAX_QUESTION_TEXT = 300
MAX_OPTIONS = 100  # static_select's limit
MAX_OPTION_TEXT = 75
MAX_NAME = 80
MAX_MEMBERS = 2000
MAX_CLOSE_AFTER = timedelta(days=7)
DEFAULT_CLOSE_AFTER = "1d"
# A goals question asks about the member's own key results, so it needs no words of its own:
# `{id: goals, kind: goals}` is enough.
GOALS_TEXT = "How did your key results move?"


# ----- the plain shapes the rest of the app uses ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    text: str
    kind: str  # "text" | "pulse" | "choice" | "yes_no" | "goals"
    required: bool = False
    options: tuple[str, ...] = ()
    anonymous_allowed: bool = False
    # A blocker question: a "yes", or text other than none / no / n/a, is a blocker in the digest.
    blocker: bool = False
    # False: its answers stay out of the template's team channel (the owner still reads them).
    in_channel: bool = True
    # Set only on the text a yes/no blocker question asks beside it (`form_questions`): the id of
    # that question. Never stored with the template: the form derives it.
    detail_of: str | None = None

    @property
    def upward(self) -> bool:
        """A question that may be anonymous is upward feedback: manager only, never a channel."""
        return self.anonymous_allowed

    @property
    def shared(self) -> bool:
        """Whether its answers go to the team channel, when the template has one: a pulse and an
        upward note never do, whatever the template says."""
        return self.in_channel and self.kind != "pulse" and not self.upward

    @property
    def asks_detail(self) -> bool:
        """A yes/no blocker question asks what blocks in the same form: a bare "yes" tells a
        manager nothing they can act on."""
        return self.kind == "yes_no" and self.blocker

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "text": self.text,
            "kind": self.kind,
            "required": self.required,
        }
        if self.options:
            data["options"] = list(self.options)
        if self.anonymous_allowed:
            data["anonymous_allowed"] = True
        if self.blocker:
            data["blocker"] = True
        if not self.in_channel:
            data["in_channel"] = False
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Question:
        return cls(
            id=str(data["id"]),
            text=str(data["text"]),
            kind=str(data["kind"]),
            required=bool(data.get("required", False)),
            options=tuple(str(o) for o in data.get("options") or ()),
            anonymous_allowed=bool(data.get("anonymous_allowed", False)),
            blocker=bool(data.get("blocker", False)),
            in_channel=bool(data.get("in_channel", True)),
        )


DETAIL_TEXT = "What is blocking you?"
DETAIL_HINT = (
    "Only if you answered Yes: a few words tell your manager what to unblock. Leave it empty "
    "otherwise."
)


def detail_id(question_id: str) -> str:
    """The answer key of a blocker question's detail: a dot no question id may contain, so it
    never collides with another question's answers."""
    return f"{question_id}.detail"


def form_questions(questions: Sequence[Question]) -> tuple[Question, ...]:
    """What the check-in form asks, in order: each question, and after a yes/no blocker question
    its optional "What is blocking you?" text, read by the same people."""
    asked: list[Question] = []
    for question in questions:
        asked.append(question)
        if question.asks_detail:
            asked.append(
                Question(
                    id=detail_id(question.id),
                    text=DETAIL_TEXT,
                    kind="text",
                    in_channel=question.in_channel,
                    detail_of=question.id,
                )
            )
    return tuple(asked)


@dataclass(frozen=True, slots=True)
class TemplateDef:
    """A validated template with its people resolved to Slack user ids."""

    name: str
    owner_id: str
    member_ids: tuple[str, ...]
    weekdays: tuple[str, ...]
    local_time: str
    questions: tuple[Question, ...]
    close_after: timedelta
    remind_after: timedelta | None = None
    post_to_manager: bool = True
    channel_id: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    id: int
    team_id: str
    definition: TemplateDef
    created_at: datetime
    updated_at: datetime
    # Occurrences begin after this instant (creation, or the last change of days or time).
    schedule_from: datetime | None = None


@dataclass(frozen=True, slots=True)
class FieldError:
    """`path` like `schedule.time` or `questions[focus].options`."""

    path: str
    message: str


class TemplateInvalid(Exception):
    """One template failed validation; `errors` has one entry per field."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors))
        self.errors = list(errors)


class TemplateFileError(Exception):
    """A whole file refused; `messages` are full lines (file: template "x": field: problem)."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = list(messages)


@dataclass
class Change:
    name: str
    owner_id: str
    template_id: int
    action: str  # "created" | "updated" | "unchanged"
    members_added: list[str] = field(default_factory=list)
    members_removed: list[str] = field(default_factory=list)
    managers_set: list[str] = field(default_factory=list)


# ----- validation (pydantic: the YAML shape the README shows) -----------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class QuestionSpec(_Strict):
    id: str
    text: str = Field(min_length=1, max_length=MAX_QUESTION_TEXT)
    kind: QuestionKind
    required: bool = False
    options: list[str] = Field(default_factory=list)
    anonymous_allowed: bool = False
    blocker: bool = False
    in_channel: bool | None = None  # None: shared when the kind may be

    @model_validator(mode="before")
    @classmethod
    def _goals_text(cls, data: Any) -> Any:
        """A goals question's text may be left out: the form names each key result anyway."""
        if isinstance(data, Mapping) and data.get("kind") == "goals" and not data.get("text"):
            return {**data, "text": GOALS_TEXT}
        return data

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not QUESTION_ID.match(value):
            raise ValueError(
                f'"{value}" is not a question id: use lower-case letters, digits and _, '
                "starting with a letter (up to 32)"
            )
        return value

    @field_validator("options", mode="before")
    @classmethod
    def _option_words(cls, value: object) -> object:
        return [str(v) for v in value] if isinstance(value, list) else value


class ScheduleSpec(_Strict):
    days: list[str] = Field(min_length=1)
    time: str

    @field_validator("days", mode="before")
    @classmethod
    def _one_day(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        return weekday_names(value)

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            # YAML 1.1 reads an unquoted 9:30 as the sexagesimal number 570.
            return f"{value // 60:02d}:{value % 60:02d}"
        if isinstance(value, str):
            parsed = parse_time(value if len(value) != 4 else "0" + value)
            return parsed.strftime("%H:%M")
        return value


class PostToSpec(_Strict):
    manager: bool = True
    channel: str | None = None

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not CHANNEL_ID.match(value):
            raise ValueError(
                f'"{value}" is not a channel id (like C0TEAM123); copy it from the channel\'s '
                "details"
            )
        return value


class TemplateSpec(_Strict):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    owner: str = Field(min_length=1)
    members: list[str] = Field(default_factory=list, max_length=MAX_MEMBERS)
    schedule: ScheduleSpec
    remind_after: str | None = None
    close_after: str = DEFAULT_CLOSE_AFTER
    post_to: PostToSpec = Field(default_factory=PostToSpec)
    questions: list[QuestionSpec] = Field(min_length=1, max_length=MAX_QUESTIONS)
    active: bool = True

    @field_validator("remind_after", "close_after", mode="before")
    @classmethod
    def _duration_text(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ValueError(f'must be a duration such as "30m", "4h" or "2d", got {value!r}')
        parse_duration(value)
        return value


def parse_template(data: Any, resolve_email: ResolveEmail) -> TemplateDef:
    """One template's mapping (from YAML or the setup modal) -> TemplateDef, or TemplateInvalid."""
    if not isinstance(data, Mapping):
        raise TemplateInvalid([FieldError("(template)", "must be a mapping of fields")])
    try:
        spec = TemplateSpec.model_validate(dict(data))
    except ValidationError as error:
        raise TemplateInvalid(_field_errors(error, data)) from None
    errors = _cross_checks(spec)
    owner_id = _resolve_person(spec.owner, resolve_email, "owner", errors)
    member_ids: list[str] = []
    for index, member in enumerate(spec.members):
        user_id = _resolve_person(member, resolve_email, f"members[{index}]", errors)
        if user_id is not None and user_id not in member_ids:
            member_ids.append(user_id)
    if errors or owner_id is None:
        raise TemplateInvalid(errors)
    return TemplateDef(
        name=spec.name,
        owner_id=owner_id,
        member_ids=tuple(member_ids),
        weekdays=tuple(spec.schedule.days),
        local_time=spec.schedule.time,
        questions=tuple(
            Question(
                id=q.id,
                text=q.text,
                kind=q.kind,
                required=q.required,
                options=tuple(q.options),
                anonymous_allowed=q.anonymous_allowed,
                blocker=q.blocker,
                in_channel=q.in_channel is not False,
            )
            for q in spec.questions
        ),
        close_after=parse_duration(spec.close_after),
        remind_after=parse_duration(spec.remind_after) if spec.remind_after else None,
        post_to_manager=spec.post_to.manager,
        channel_id=spec.post_to.channel,
        active=spec.active,
    )


def parse_text(text: str, source: str, resolve_email: ResolveEmail) -> list[TemplateDef]:
    """A whole YAML document (`checkins: [...]`); TemplateFileError lists every problem."""
    try:
        document = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise TemplateFileError([f"{source}: not valid YAML{where}: {problem}"]) from None
    if not isinstance(document, dict) or not isinstance(document.get("checkins"), list):
        raise TemplateFileError(
            [f"{source}: expected a top-level `checkins:` list of templates (see the README)"]
        )
    extra = sorted(str(key) for key in document if key != "checkins")
    messages = [f"{source}: unknown top-level key `{key}`" for key in extra]
    if not document["checkins"]:
        messages.append(f"{source}: `checkins:` is empty")
    templates: list[TemplateDef] = []
    seen: dict[tuple[str, str], str] = {}
    for index, item in enumerate(document["checkins"]):
        label = _template_label(item, index)
        try:
            definition = parse_template(item, resolve_email)
        except TemplateInvalid as invalid:
            messages += [f"{source}: {label}: {e.path}: {e.message}" for e in invalid.errors]
            continue
        key = (definition.owner_id, definition.name)
        if key in seen:
            messages.append(
                f"{source}: {label}: name: the same owner already has a template with this "
                f"name ({seen[key]}); (owner, name) identifies a template"
            )
            continue
        seen[key] = label
        templates.append(definition)
    if messages:
        raise TemplateFileError(messages)
    return templates


def load_file(path: str | Path, resolve_email: ResolveEmail) -> list[TemplateDef]:
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateFileError([f"{source}: can't read the file ({error})"]) from None
    return parse_text(text, source, resolve_email)


# ----- storing --------------------------------------------------------------------------------


def apply(
    session: Session, team_id: str, templates: Iterable[TemplateDef], now: datetime
) -> list[Change]:
    """Create or update each template, matched by (owner, name); report what changed.

    Members missing from the definition leave the template (their past occurrences stay);
    new members start after `now`. The owner becomes the manager of members who have none.
    Changing the days or the time moves `schedule_from` to now, so the new schedule only
    applies forward.
    """
    changes = []
    for definition in templates:
        changes.append(_apply_one(session, team_id, definition, now))
    return changes


def _apply_one(session: Session, team_id: str, definition: TemplateDef, now: datetime) -> Change:
    values = _row_values(definition)
    row = store.find_template(session, team_id, definition.owner_id, definition.name)
    new_id = None
    if row is None:
        new_id = store.insert_template(
            session,
            {
                "team_id": team_id,
                "owner_id": definition.owner_id,
                "name": definition.name,
                **values,
                "schedule_from": now,
                "created_at": now,
                "updated_at": now,
            },
        )
        if new_id is None:  # a concurrent apply created it a moment ago: update that one
            row = store.find_template(session, team_id, definition.owner_id, definition.name)
    if new_id is not None:
        change = Change(definition.name, definition.owner_id, new_id, "created")
    else:
        assert row is not None
        change = Change(definition.name, definition.owner_id, row.id, "unchanged")
        differs = {key: value for key, value in values.items() if getattr(row, key) != value}
        if differs:
            update = {**differs, "updated_at": now}
            if {"weekdays", "local_time"} & differs.keys() or differs.get("active") is True:
                update["schedule_from"] = now
            store.update_template(session, row.id, update)
            change.action = "updated"
    template_id = change.template_id
    current = {m.user_id for m in store.members_of(session, [template_id])[template_id]}
    wanted = set(definition.member_ids)
    change.members_added = store.add_members(session, team_id, template_id, wanted - current, now)
    change.members_removed = sorted(current - wanted)
    store.remove_members(session, template_id, change.members_removed)
    if change.action == "unchanged" and (change.members_added or change.members_removed):
        store.update_template(session, template_id, {"updated_at": now})
        change.action = "updated"
    for member_id in definition.member_ids:
        if org.set_manager_if_none(
            session, team_id, member_id, definition.owner_id, now, source="template"
        ):
            change.managers_set.append(member_id)
    return change


def _row_values(definition: TemplateDef) -> dict[str, Any]:
    return {
        "weekdays": list(definition.weekdays),
        "local_time": definition.local_time,
        "questions": [q.to_dict() for q in definition.questions],
        "post_to_manager": definition.post_to_manager,
        "channel_id": definition.channel_id,
        "remind_after_minutes": _minutes(definition.remind_after),
        "close_after_minutes": _minutes(definition.close_after),
        "active": definition.active,
    }


def list_templates(session: Session, team_id: str | None = None) -> list[TemplateInfo]:
    rows = store.list_templates(session, team_id)
    members = store.members_of(session, [row.id for row in rows])
    return [info_from_row(row, [m.user_id for m in members[row.id]]) for row in rows]


def get_template(session: Session, team_id: str, template_id: int) -> TemplateInfo | None:
    row = store.get_template(session, team_id, template_id)
    if row is None:
        return None
    members = store.members_of(session, [row.id])[row.id]
    return info_from_row(row, [m.user_id for m in members])


def unwritten(
    session: Session,
    team_id: str,
    people: Mapping[str, str | None],
    start: datetime,
    end: datetime,
) -> list[str]:
    """Names of the active check-ins that were due for these people (id -> zone) between
    `start` and `end` and have no occurrence yet: the minute job (or `checkins run-due`) has
    not run since. A digest over those days would read as if nobody had been asked."""
    names: list[str] = []
    rows = store.list_templates(session, team_id, active_only=True)
    members = store.members_of(session, [row.id for row in rows])
    for row in rows:
        begin = max(start, row.schedule_from)
        for member in members[row.id]:
            if member.user_id not in people:
                continue
            due = slots_between(
                row.weekdays, parse_time(row.local_time), people[member.user_id], begin, end
            )
            written = store.latest_dates(session, row.id, member.user_id, member.user_id)
            latest = written.get(member.user_id)
            if due and (latest is None or latest < due[-1].local_date):
                names.append(row.name)
                break
    return names


def templates_owned_by(session: Session, team_id: str, owner_id: str) -> list[TemplateInfo]:
    return [t for t in list_templates(session, team_id) if t.definition.owner_id == owner_id]


def info_from_row(row: CheckinTemplate, member_ids: Sequence[str]) -> TemplateInfo:
    return TemplateInfo(
        id=row.id,
        team_id=row.team_id,
        definition=definition_from_row(row, member_ids),
        created_at=row.created_at,
        updated_at=row.updated_at,
        schedule_from=row.schedule_from,
    )


def definition_from_row(row: CheckinTemplate, member_ids: Sequence[str] = ()) -> TemplateDef:
    return TemplateDef(
        name=row.name,
        owner_id=row.owner_id,
        member_ids=tuple(member_ids),
        weekdays=tuple(row.weekdays),
        local_time=row.local_time,
        questions=tuple(Question.from_dict(q) for q in row.questions),
        close_after=timedelta(minutes=row.close_after_minutes),
        remind_after=(
            timedelta(minutes=row.remind_after_minutes)
            if row.remind_after_minutes is not None
            else None
        ),
        post_to_manager=row.post_to_manager,
        channel_id=row.channel_id,
        active=row.active,
    )


# ----- the default ------------------------------------------------------------------------------

DEFAULT_QUESTIONS = (
    Question("done", "What did you get done?", "text", required=True),
    Question("next", "What's next?", "text", required=True),
    Question("blockers", "Any blockers?", "text", blocker=True),
    Question("pulse", "How do you feel this week (1-5)?", "pulse", required=True),
    Question("upward", "Anything for your manager?", "text", anonymous_allowed=True),
)


def default_template(
    owner_id: str,
    member_ids: Sequence[str] = (),
    *,
    name: str = "Weekly check-in",
    weekdays: Sequence[str] = ("fri",),
    local_time: str = "16:00",
) -> TemplateDef:
    """A manager's one-click start: Friday 16:00, reminder after 4h, closes after 3 days."""
    return TemplateDef(
        name=name,
        owner_id=owner_id,
        member_ids=tuple(dict.fromkeys(member_ids)),
        weekdays=tuple(weekday_names(weekdays)),
        local_time=parse_time(local_time).strftime("%H:%M"),
        questions=DEFAULT_QUESTIONS,
        close_after=timedelta(days=3),
        remind_after=timedelta(hours=4),
    )


# ----- helpers ----------------------------------------------------------------------------------


def _cross_checks(spec: TemplateSpec) -> list[FieldError]:
    """Rules spanning several fields, reported on the field an author would change."""
    errors = []
    for q in spec.questions:
        where = f"questions[{q.id}]"
        if q.kind == "choice":
            if len(q.options) < 2:
                errors.append(FieldError(f"{where}.options", "a choice needs at least 2 options"))
            elif len(q.options) > MAX_OPTIONS:
                errors.append(
                    FieldError(f"{where}.options", f"a choice has at most {MAX_OPTIONS} options")
                )
            elif len(set(q.options)) != len(q.options):
                errors.append(FieldError(f"{where}.options", "options must all be different"))
            elif any(not 1 <= len(o) <= MAX_OPTION_TEXT for o in q.options):
                errors.append(
                    FieldError(
                        f"{where}.options", f"each option must be 1 to {MAX_OPTION_TEXT} characters"
                    )
                )
        elif q.options:
            errors.append(
                FieldError(f"{where}.options", f"options are only for kind: choice, not {q.kind}")
            )
        if q.kind == "goals" and q.required:
            errors.append(
                FieldError(
                    f"{where}.required",
                    "a goals question cannot be required: a member who owns no key result has "
                    "nothing to answer",
                )
            )
        if q.blocker and q.kind not in ("text", "yes_no"):
            errors.append(
                FieldError(f"{where}.blocker", "only a text or yes/no question can be a blocker")
            )
        if q.blocker and q.anonymous_allowed:
            errors.append(
                FieldError(f"{where}.blocker", "upward feedback cannot be a blocker question")
            )
        if q.in_channel and (q.kind == "pulse" or q.anonymous_allowed):
            what = "a pulse" if q.kind == "pulse" else "upward feedback"
            errors.append(
                FieldError(
                    f"{where}.in_channel",
                    f"{what} is never posted to a channel: it goes to the manager only",
                )
            )
        if q.anonymous_allowed and q.kind != "text":
            errors.append(
                FieldError(
                    f"{where}.anonymous_allowed", "only a text question (upward feedback) can be"
                )
            )
    ids = [q.id for q in spec.questions]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        errors.append(
            FieldError("questions", f"ids must be unique; repeated: {', '.join(repeated)}")
        )
    if sum(q.kind == "goals" for q in spec.questions) > 1:
        errors.append(
            FieldError("questions", "at most one question may be of kind goals: it asks them all")
        )
    if sum(q.anonymous_allowed for q in spec.questions) > 1:
        errors.append(
            FieldError(
                "questions", "at most one question may be anonymous_allowed (upward feedback)"
            )
        )
    close = parse_duration(spec.close_after or DEFAULT_CLOSE_AFTER)
    if close > MAX_CLOSE_AFTER:
        errors.append(
            FieldError(
                "close_after",
                f"is at most {format_duration(MAX_CLOSE_AFTER)}, got {spec.close_after}",
            )
        )
    if spec.remind_after is not None and parse_duration(spec.remind_after) >= close:
        errors.append(
            FieldError(
                "remind_after",
                f"({spec.remind_after}) must be shorter than close_after ({spec.close_after}); "
                "a reminder after closing is never sent",
            )
        )
    if not spec.post_to.manager and not spec.post_to.channel:
        errors.append(
            FieldError("post_to", "sends the answers nowhere: set manager: true or a channel")
        )
    return errors


def _minutes(duration: timedelta | None) -> int | None:
    return None if duration is None else int(duration.total_seconds() // 60)


def _resolve_person(
    ref: str, resolve_email: ResolveEmail, path: str, errors: list[FieldError]
) -> str | None:
    ref = ref.strip()
    mention = re.match(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$", ref)
    if mention:
        return mention.group(1)
    if USER_ID.match(ref):
        return ref
    if "@" in ref:
        user_id = resolve_email(ref.lower())
        if user_id is None:
            errors.append(FieldError(path, f"no Slack user has the email {ref}"))
        return user_id
    errors.append(FieldError(path, f'"{ref}" is neither a Slack user id (U…) nor an email'))
    return None


def _template_label(item: object, index: int) -> str:
    name = item.get("name") if isinstance(item, Mapping) else None
    if isinstance(name, str) and name.strip():
        return f'template "{name.strip()}"'
    return f"template #{index + 1}"


def _field_errors(error: ValidationError, data: Mapping[str, Any]) -> list[FieldError]:
    questions = data.get("questions")
    errors = []
    for item in error.errors():
        path = _path(item["loc"], questions)
        message = item["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field (check the spelling)"
        elif item["type"] == "missing":
            message = "is required"
        errors.append(FieldError(path or "(template)", message))
    return errors


def _path(loc: tuple[int | str, ...], questions: object) -> str:
    parts: list[str] = []
    for index, part in enumerate(loc):
        if isinstance(part, int):
            label = str(part)
            if index > 0 and loc[index - 1] == "questions" and isinstance(questions, list):
                item = questions[part] if part < len(questions) else None
                if isinstance(item, Mapping) and isinstance(item.get("id"), str):
                    label = item["id"]
            if parts:
                parts[-1] += f"[{label}]"
            else:
                parts.append(f"[{label}]")
        else:
            parts.append(str(part))
    return ".".join(parts)


class _Loader(yaml.SafeLoader):
    """YAML 1.2-ish scalars: `16:00` stays a string, `no`/`on` stay words, not booleans."""


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789")
)
