"""`/checkin setup [name] [@owner]`: a manager creates or edits a team check-in in a modal.

Check-ins are identified by (owner, name), as in `pulsebot checkins apply`; only the owner or
an admin (PULSEBOT_ADMINS) may change one.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.deps import Deps, deps_of
from bot.notify import checkins as notify
from bot.services import templates
from bot.services.template_text import QuestionsInvalid, parse
from handlers import ids
from handlers.blocks.checkin_setup import block_for, read_setup, saved_text, setup_modal
from handlers.blocks.common import notice_modal, read_metadata
from handlers.payloads import team_of
from handlers.users import with_directory
from handlers.views import open_view

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def register(app: App) -> None:
    app.view(ids.SETUP_MODAL)(on_setup_saved)


def on_setup_saved(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    deps = deps_of(context)
    team_id = team_of(body)
    user_id = body["user"]["id"]
    metadata = read_metadata(view.get("private_metadata"))
    owner_id = str(metadata.get("owner_id") or user_id)
    if owner_id != user_id and user_id not in deps.settings.admins:
        ack(
            response_action="errors",
            errors={
                ids.SETUP_MEMBERS_BLOCK: "Only the check-in's owner or an admin may change it."
            },
        )
        return
    raw = read_setup(view.get("state", {}).get("values", {}))
    errors = _member_problems(deps, client, team_id, raw["members"])
    existing = _existing(deps, team_id, metadata.get("template_id"))
    if existing is None and raw["name"]:
        taken = _name_taken(deps, team_id, owner_id, raw["name"])
        if taken:
            errors[ids.SETUP_NAME_BLOCK] = (
                f"A check-in named {taken} already exists; edit it with "
                f"`/checkin setup {taken}` or choose another name."
            )
    try:
        questions = parse(raw["questions"], existing.questions if existing else ())
    except QuestionsInvalid as invalid:
        errors.setdefault(ids.SETUP_QUESTIONS_BLOCK, str(invalid))
        questions = []
    spec = {
        "name": raw["name"] or metadata.get("name") or "",
        "owner": owner_id,
        "members": raw["members"],
        "schedule": {"days": raw["days"], "time": raw["time"]},
        "remind_after": raw["remind_after"],
        "close_after": raw["close_after"],
        "post_to": {"manager": raw["dm_owner"], "channel": raw["channel"]},
        "questions": questions,
    }
    try:
        definition = templates.parse_template(spec, lambda _email: None)
    except templates.TemplateInvalid as invalid:
        for error in invalid.errors:
            if not (error.path.startswith("questions") and questions == []):
                errors.setdefault(block_for(error.path), error.message)
        definition = None
    if errors or definition is None:
        ack(response_action="errors", errors=errors)
        return
    now = deps.now()
    with deps.unit_of_work() as session:
        change = templates.apply(session, team_id, [definition], now)[0]
        text = saved_text(change, definition)
        notify.confirm_setup(session, team_id, user_id, view["id"], view.get("hash", ""), text, now)
    ack()
    deps.notify_outbox()


def open_setup(
    deps: Deps, client: WebClient, team_id: str, user_id: str, trigger_id: str, text: str
) -> bool:
    """The modal for the named (or only) check-in of the owner, a new prefilled one, or a
    notice saying why not. False when Slack would not open it."""
    words = text.strip()[len("setup") :].strip()
    owner_match = MENTION.search(words)
    owner_id = owner_match.group(1) if owner_match else user_id
    name = MENTION.sub("", words).strip()
    return open_view(client, trigger_id, _setup_view(deps, team_id, user_id, owner_id, name))


def _setup_view(deps: Deps, team_id: str, user_id: str, owner_id: str, name: str) -> dict[str, Any]:
    if owner_id != user_id and user_id not in deps.settings.admins:
        return _notice(
            f"Only <@{owner_id}> or a pulsebot admin can edit <@{owner_id}>'s check-ins."
        )
    with deps.unit_of_work() as session:
        owned = templates.templates_owned_by(session, team_id, owner_id)
    if not name and len(owned) > 1:
        names = ", ".join(f"`{t.definition.name}`" for t in owned)
        return _notice(
            f"You own several check-ins: {names}. Open one with `/checkin setup NAME`, or "
            "start another with a new name."
        )
    chosen = [t for t in owned if t.definition.name.lower() == name.lower()] if name else owned
    if chosen:
        info = chosen[0]
        return setup_modal(
            info.definition,
            template_id=info.id,
            editing_for=owner_id if owner_id != user_id else None,
        )
    fresh = templates.default_template(owner_id, name=name or "Weekly check-in")
    return setup_modal(fresh, template_id=None)


def _existing(deps: Deps, team_id: str, template_id: Any) -> templates.TemplateDef | None:
    if not isinstance(template_id, int):
        return None
    with deps.unit_of_work() as session:
        info = templates.get_template(session, team_id, template_id)
    return info.definition if info else None


def _name_taken(deps: Deps, team_id: str, owner_id: str, name: str) -> str | None:
    """A new check-in must not silently replace one of the owner's others: (owner, name) is
    its identity, and `/checkin setup NAME` finds it case-insensitively."""
    with deps.unit_of_work() as session:
        owned = templates.templates_owned_by(session, team_id, owner_id)
    return next(
        (t.definition.name for t in owned if t.definition.name.lower() == name.lower()), None
    )


def _member_problems(
    deps: Deps, client: WebClient, team_id: str, member_ids: list[str]
) -> dict[str, str]:
    """Members must be people of this workspace: no bots, deactivated or external users.

    Field errors are plain text (a mention would show as `<@U…>`), so people are named.
    """
    found = with_directory(deps, client, team_id, member_ids, lambda _session, known: known)
    for user_id in member_ids:
        person = found.get(user_id)
        problem = None
        name = person.name if person else user_id
        if person is None:
            problem = f"I can't find one of the people you picked ({user_id}); remove them."
        elif person.is_bot:
            problem = f"{name} is a bot; check-ins are for people."
        elif person.deleted:
            problem = f"{name} is deactivated; remove them from the members."
        elif person.external:
            problem = f"{name} is from another organisation; only your workspace's people."
        if problem:
            return {ids.SETUP_MEMBERS_BLOCK: problem}
    return {}


def _notice(message: str) -> dict[str, Any]:
    return notice_modal("Team check-in", message)
