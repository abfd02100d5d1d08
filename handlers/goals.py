"""`/goals`, the creation form, the Update form of a key result, and "See all".

Each path: parse -> one unit of work (the rules in bot.services.goal_commands; what a stored
update or goal refreshes, through bot.notify.goals) -> ack. A command is answered in its ack,
ephemerally; a form turns into its confirmation where the person is looking, and the place its
button sat in (the `/goals` answer, the "see all" list, App Home) is shown again from the
outbox. The Web API calls made here are the ones that cannot wait: views.open (or views.push
over the "see all" list) while the trigger lasts, and views.update of the creation form being
filled in.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.deps import Deps, deps_of
from bot.notify import goals as notify
from bot.services import goal_commands as service
from bot.services.directory import Person
from bot.services.goal_access import GoalRefused
from bot.services.slack_limits import SELECT_OPTIONS_MAX
from bot.services.text import escape
from handlers import ids
from handlers.blocks import goals as blocks
from handlers.blocks.common import Block, person, read_metadata, section
from handlers.home import build_home
from handlers.payloads import action_value, as_int, field, people_in, selected, team_of, text_of
from handlers.users import with_directory
from handlers.views import ack_form, ack_submission, open_view

log = logging.getLogger(__name__)

RESULT_INPUT = re.compile(r"^goal_kr(\d+)_([a-z]+)$")
SLACK_HOOKS = "https://hooks.slack.com/"
UPDATE_FIELDS = {"value", "done", "confidence", "note"}


def register(app: App) -> None:
    app.command(ids.GOALS_COMMAND)(on_goals)
    app.action(ids.GOALS_NEW_ACTION)(on_new_clicked)
    app.action(ids.GOALS_ADD_RESULT_ACTION)(on_add_result)
    app.view(ids.GOALS_NEW_MODAL)(on_create)
    app.action(ids.GOALS_UPDATE_ACTIONS)(on_update_clicked)
    app.view(ids.GOALS_UPDATE_MODAL)(on_update)
    app.action(ids.GOALS_SEE_ALL_ACTION)(on_see_all)


def on_goals(ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    deps = deps_of(context)
    team_id, user_id = command["team_id"], command["user_id"]
    text = (command.get("text") or "").strip()
    parsed = service.parse_command(text)
    if parsed.verb == "help":
        ack(text=blocks.HELP, response_type="ephemeral")
    elif parsed.verb == "unknown":
        ack(text=blocks.unknown(escape(text)), response_type="ephemeral")
    elif parsed.verb == "new":
        # The form opens before the ack, so a refused views.open can still be told in it.
        opened = open_new_form(deps, client, team_id, user_id, command["trigger_id"], "command")
        ack_form(ack, opened, "/goals new")
    else:
        which = f"user:{parsed.user_id}" if parsed.verb == "user" else parsed.verb
        fallback, answer = _list(deps, client, team_id, user_id, which, modal=False)
        ack(text=fallback, blocks=answer, response_type="ephemeral")


def on_see_all(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """The whole list in a modal (100 blocks), over whatever the button sat in."""
    ack()
    deps = deps_of(context)
    team_id, user_id = team_of(body), body["user"]["id"]
    which = str(action_value(body) or "mine")
    title, answer = _list(deps, client, team_id, user_id, which, modal=True)
    _show(client, body, blocks.list_modal(title, answer, which))


def on_new_clicked(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    open_new_form(
        deps_of(context),
        client,
        team_of(body),
        body["user"]["id"],
        body["trigger_id"],
        _origin(body),
    )


def on_add_result(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """One more key result group; the groups already filled keep their block ids, so Slack
    keeps what was typed in them."""
    ack()
    deps = deps_of(context)
    view = body.get("view") or {}
    meta = read_metadata(view.get("private_metadata"))
    count = as_int(meta.get("results")) or 1
    if count >= service.MAX_RESULTS:
        return
    team_id, user_id = team_of(body), body["user"]["id"]
    form = _new_form(deps, client, team_id, user_id, count + 1, str(meta.get("from") or ""))
    try:
        client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=form)
    except (SlackApiError, OSError) as error:
        log.info("views.update of the goal form failed: %s", error)


def on_create(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    deps = deps_of(context)
    team_id, user_id = team_of(body), body["user"]["id"]
    draft = goal_draft(view)
    origin = str(read_metadata(view.get("private_metadata")).get("from") or "")
    owners = [r.owner_id for r in draft.results if r.owner_id]

    def store() -> service.Created:
        def work(session: Session, people: dict[str, Person]) -> service.Created | GoalRefused:
            goal_scope = _scope(deps, team_id, user_id, people)
            try:
                created = service.create(session, goal_scope, draft, people)
            except GoalRefused as refused:
                # Returned, not raised: the other units committed with this one keep their run.
                return refused
            if origin == "home":
                _refresh_home(deps, session, goal_scope, people, view["id"])
            return created

        outcome = with_directory(deps, client, team_id, [user_id, *owners], work)
        if isinstance(outcome, GoalRefused):
            raise outcome
        return outcome

    ack_submission(
        ack,
        deps,
        store,
        GoalRefused,
        blocks.field_block,
        lambda created: blocks.created_modal(created.title, created.results, created.cycle),
    )


def on_update_clicked(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """The Update form of the clicked key result; a forged id, or a private goal of someone
    else, gets the same "isn't there" as a missing one."""
    ack()
    deps = deps_of(context)
    team_id, user_id = team_of(body), body["user"]["id"]
    result_id = as_int(action_value(body))
    origin = _click_origin(deps, body)

    def work(session: Session, people: dict[str, Person]) -> dict[str, Any]:
        goal_scope = _scope(deps, team_id, user_id, people)
        try:
            target = service.update_target(session, goal_scope, result_id)
        except GoalRefused as refused:
            return blocks.refusal_modal(refused.message)
        return blocks.update_modal(target.objective, target.result, origin=origin)

    _show(client, body, with_directory(deps, client, team_id, [user_id], work))


def on_update(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """One update row (a resent form stores nothing more), then the goal as it now stands."""
    deps = deps_of(context)
    team_id, user_id = team_of(body), body["user"]["id"]
    meta = read_metadata(view.get("private_metadata"))
    result_id = as_int(meta.get("result"))
    draft = service.UpdateDraft(
        value=text_of(view, ids.GOALS_VALUE_BLOCK),
        done=bool(field(view, ids.GOALS_DONE_BLOCK).get("selected_options")),
        confidence=selected(view, ids.GOALS_CONFIDENCE_BLOCK),
        note=text_of(view, ids.GOALS_NOTE_BLOCK),
    )

    def work(
        session: Session, people: dict[str, Person]
    ) -> tuple[service.Updated, float] | GoalRefused:
        goal_scope = _scope(deps, team_id, user_id, people)
        try:
            updated = service.record_update(
                session, goal_scope, result_id, draft, f"view:{view['id']}"
            )
        except GoalRefused as refused:
            return refused
        if not updated.replayed:
            _refresh_origin(deps, session, goal_scope, people, view["id"], meta)
        return updated, goal_scope.expected

    outcome = with_directory(deps, client, team_id, [user_id], work)
    if isinstance(outcome, GoalRefused):
        if set(outcome.errors) <= UPDATE_FIELDS:
            errors = {blocks.field_block(name): text for name, text in outcome.errors.items()}
            ack(response_action="errors", errors=errors)
        else:  # the goal itself: gone, not theirs, closed
            ack(response_action="update", view=blocks.refusal_modal(outcome.message))
        return
    updated, expected = outcome
    line = service.GoalLine(updated.target.objective)
    ack(response_action="update", view=blocks.updated_modal(line, expected))
    if not updated.replayed:
        deps.notify_outbox()


# ----- the pieces ---------------------------------------------------------------------------


def open_new_form(
    deps: Deps, client: WebClient, team_id: str, user_id: str, trigger_id: str, origin: str
) -> bool:
    """The creation form with one key result; False when Slack would not open it."""
    form = _new_form(deps, client, team_id, user_id, 1, origin)
    return open_view(client, trigger_id, form)


def _new_form(
    deps: Deps, client: WebClient, team_id: str, user_id: str, results: int, origin: str
) -> dict[str, Any]:
    def work(session: Session, people: dict[str, Person]) -> dict[str, Any]:
        goal_scope = _scope(deps, team_id, user_id, people)
        goals = service.parent_board(session, goal_scope)
        return blocks.new_goal_modal(
            author_id=user_id,
            cycle=goal_scope.cycle,
            is_admin=goal_scope.asker.is_admin,
            parents=service.parent_options(goals, SELECT_OPTIONS_MAX),
            results=results,
            origin=origin,
        )

    return with_directory(deps, client, team_id, [user_id], work)


def _list(
    deps: Deps, client: WebClient, team_id: str, user_id: str, which: str, *, modal: bool
) -> tuple[str, list[Block]]:
    """A list (`mine`, `user:U…`, `team`, `company`) as a message or, for "See all", a modal;
    returns (a short text: the message's fallback or the modal's title, the blocks)."""

    def work(session: Session, people: dict[str, Person]) -> tuple[str, list[Block]]:
        return _list_blocks(session, _scope(deps, team_id, user_id, people), which, modal=modal)

    return with_directory(deps, client, team_id, [user_id], work)


def _list_blocks(
    session: Session, goal_scope: service.GoalScope, which: str, *, modal: bool
) -> tuple[str, list[Block]]:
    cycle, expected = goal_scope.cycle, goal_scope.expected
    place = blocks.in_modal(which) if modal else blocks.in_message(which)
    asker = goal_scope.asker.user_id
    if which == "team":
        goals = service.people_board(session, goal_scope, asker, team=True)
        team = service.team_goals(session, goals)
        if team is None:
            return "Team goals", [section(blocks.NOT_A_MANAGER)]
        return "Team goals", blocks.team_blocks(team, cycle=cycle, expected=expected, place=place)
    if which == "company":
        tree = service.company_tree(service.board(session, goal_scope))
        answer = blocks.company_blocks(tree, cycle=cycle, expected=expected, place=place)
        return "Company objectives", answer
    owner = which.removeprefix("user:") if which.startswith("user:") else asker
    goals = service.people_board(session, goal_scope, owner)
    mine = owner == asker
    title = f"*Your goals · {cycle.name}*" if mine else f"*{person(owner)}'s goals · {cycle.name}*"
    empty = (
        f"You have no goals in {cycle.name} yet: `/goals new` creates one."
        if mine
        else f"{person(owner)} has no goals shared with you in {cycle.name}."
    )
    answer = blocks.goals_blocks(
        title,
        goals.goals_of(owner),
        cycle=cycle,
        expected=expected,
        place=place,
        empty=empty,
        new_button=mine and not modal,
    )
    return ("Your goals" if mine else "Goals"), answer


def goal_draft(view: dict[str, Any]) -> service.GoalDraft:
    """The creation form as typed: every key result group the state holds, by its number
    (a forged sixth is kept, so the rules can refuse it)."""
    values = view.get("state", {}).get("values", {})
    groups: dict[int, dict[str, Any]] = {}
    for block_id, actions in values.items():
        match = RESULT_INPUT.match(block_id)
        if match and isinstance(actions, dict):
            state = actions.get(ids.GOALS_INPUT)
            groups.setdefault(int(match.group(1)), {})[match.group(2)] = (
                state if isinstance(state, dict) else {}
            )
    results = []
    for index in range(1, max(groups, default=0) + 1):
        group = groups.get(index, {})
        owners = people_in(group.get("owner", {}))
        measure = group.get("measure", {}).get("selected_option")
        results.append(
            service.ResultDraft(
                title=str(group.get("title", {}).get("value") or ""),
                measure=str(measure["value"]) if isinstance(measure, dict) else None,
                start=str(group.get("start", {}).get("value") or ""),
                target=str(group.get("target", {}).get("value") or ""),
                unit=str(group.get("unit", {}).get("value") or ""),
                owner_id=owners[0] if owners else None,
            )
        )
    return service.GoalDraft(
        title=text_of(view, ids.GOALS_TITLE_BLOCK),
        kind=selected(view, ids.GOALS_KIND_BLOCK),
        visibility=selected(view, ids.GOALS_VISIBILITY_BLOCK),
        parent=selected(view, ids.GOALS_PARENT_BLOCK),
        results=tuple(results),
    )


def _scope(deps: Deps, team_id: str, user_id: str, people: dict[str, Person]) -> service.GoalScope:
    """Who asks, on their own local day (UTC's for someone the directory does not know)."""
    now = deps.now()
    user = people.get(user_id)
    settings = deps.settings
    return service.scope(
        team_id,
        user_id,
        admins=settings.admins,
        now=now,
        today=user.local_date(now) if user else now.date(),
        cycle_kind=settings.goal_cycle,
        stale_days=settings.goal_stale_days,
    )


def _refresh_home(
    deps: Deps,
    session: Session,
    goal_scope: service.GoalScope,
    people: dict[str, Person],
    form_view_id: str,
) -> None:
    user_id = goal_scope.asker.user_id
    home = build_home(
        deps, session, goal_scope.team_id, user_id, people.get(user_id), goal_scope.now
    )
    notify.refresh_home(session, goal_scope.team_id, user_id, form_view_id, home, goal_scope.now)


def _origin(body: dict[str, Any]) -> str:
    """Where a button was clicked: App Home, a modal ("see all") or a message."""
    view = body.get("view")
    if isinstance(view, dict):
        return "home" if view.get("type") == "home" else "modal"
    return "message"


def _click_origin(deps: Deps, body: dict[str, Any]) -> dict[str, Any]:
    """What the Update form keeps of where its button was, to show that place again once the
    update is stored: the list's name, and the message's response_url or the modal's id."""
    origin: dict[str, Any] = {"from": _origin(body)}
    block_id = str((body.get("actions") or [{}])[0].get("block_id") or "")
    which = blocks.list_of(block_id)
    if origin["from"] == "message" and which:
        url = str(body.get("response_url") or "")
        if _from_slack(url, deps.settings.slack_api_url):
            origin.update(which=which, response_url=url)
    elif origin["from"] == "modal":
        view = body.get("view") or {}
        listed = read_metadata(view.get("private_metadata")).get("which")
        if isinstance(listed, str) and view.get("callback_id") == ids.GOALS_LIST_MODAL:
            origin.update(which=listed, list_view=str(view.get("id")))
    return origin


def _from_slack(url: str, api_url: str) -> bool:
    """A response_url is posted to only where Slack's are (or where the configured Web API
    lives, for an emulator)."""
    if url.startswith(SLACK_HOOKS):
        return True
    given, api = urlsplit(url), urlsplit(api_url)
    return bool(given.netloc) and (given.scheme, given.netloc) == (api.scheme, api.netloc)


def _refresh_origin(
    deps: Deps,
    session: Session,
    goal_scope: service.GoalScope,
    people: dict[str, Person],
    form_view_id: str,
    origin: dict[str, Any],
) -> None:
    """Show again, through the outbox, where the form's button was."""
    team_id, now = goal_scope.team_id, goal_scope.now
    which = origin.get("which")
    url = str(origin.get("response_url") or "")
    if origin.get("from") == "home":
        _refresh_home(deps, session, goal_scope, people, form_view_id)
    elif isinstance(which, str) and _from_slack(url, deps.settings.slack_api_url):
        text, answer = _list_blocks(session, goal_scope, which, modal=False)
        notify.refresh_message(session, team_id, form_view_id, url, text, answer, now)
    elif origin.get("list_view") and isinstance(which, str):
        title, answer = _list_blocks(session, goal_scope, which, modal=True)
        modal = blocks.list_modal(title, answer, which)
        list_view = str(origin["list_view"])
        notify.refresh_list(session, team_id, form_view_id, list_view, modal, now)


def _show(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
    """Over a modal (the "see all" list), push; anywhere else, open."""
    if _origin(body) != "modal":
        open_view(client, body["trigger_id"], view)
        return
    try:
        client.views_push(trigger_id=body["trigger_id"], view=view)
    except (SlackApiError, OSError) as error:
        log.info("views.push %s failed: %s", view.get("callback_id"), error)
