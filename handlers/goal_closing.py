"""A cycle's end: Close and Carry over in the closing DM, and the Close form.

Each action is one unit of work: the rule (bot.services.goal_closing, which also says who may
act), and the DM rebuilt through the outbox (bot.notify.goal_closing). The only Web API call
made here is views.open, for the form or for a refusal, while the trigger lasts.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.deps import Deps, deps_of
from bot.notify import goal_closing as notify
from bot.services import goal_closing as service
from bot.services.goal_access import Asker, GoalRefused, GoalState
from bot.services.text import escape
from handlers import ids
from handlers.blocks import goal_closing as blocks
from handlers.blocks.common import notice_modal, read_metadata
from handlers.payloads import as_int, click, field, team_of
from handlers.views import ack_submission, open_view

TITLE = "Close objective"


def register(app: App) -> None:
    app.action(ids.GOAL_CLOSE_ACTION)(on_close_click)
    app.action(ids.GOAL_CARRY_OVER_ACTION)(on_carry_over)
    app.view(ids.GOAL_CLOSE_MODAL)(on_close)


def asker(deps: Deps, user_id: str) -> Asker:
    return Asker(user_id, is_admin=user_id in deps.settings.admins)


def on_close_click(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """Open the Close form, or say why not (not theirs, or closed already)."""
    ack()
    deps = deps_of(context)
    team_id, user_id, objective_id, clicked = click(body)
    listed = blocks.listed_ids(body.get("message") or {})
    try:
        with deps.unit_of_work() as session:
            found = service.target(session, team_id, asker(deps, user_id), objective_id)
    except GoalRefused as refused:
        view = notice_modal(TITLE, escape(refused.message))
    else:
        if found.state == GoalState.CLOSED:
            view = notice_modal(
                TITLE, f"*{escape(found.title)}* is closed already ({found.outcome or 'closed'})."
            )
        else:
            view = blocks.close_modal(found.title, found.cycle, found.id, clicked, listed)
    open_view(client, body["trigger_id"], view)


def on_close(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    deps = deps_of(context)
    team_id, user_id = team_of(body), body["user"]["id"]
    meta = read_metadata(view.get("private_metadata"))
    objective_id = as_int(meta.get("objective_id"))
    where = _where(meta.get("where"))
    listed = [i for i in (as_int(v) for v in meta.get("listed") or []) if i is not None]
    outcome = (
        field(view, ids.GOAL_CLOSE_OUTCOME_BLOCK, ids.GOAL_CLOSE_INPUT).get("selected_option") or {}
    ).get("value")
    score = str(field(view, ids.GOAL_CLOSE_SCORE_BLOCK, ids.GOAL_CLOSE_INPUT).get("value") or "")
    now = deps.now()

    def store() -> service.Closed:
        with deps.unit_of_work() as session:
            closed = service.close(
                session, team_id, asker(deps, user_id), objective_id, outcome, score, now
            )
            if not closed.replayed and where is not None:
                _refresh(session, team_id, closed.objective, "closed", listed, where, deps)
        return closed

    ack_submission(
        ack,
        deps,
        store,
        GoalRefused,
        blocks.field_block,
        lambda closed: blocks.closed_modal(closed.objective.title, closed.outcome, closed.score),
    )


def on_carry_over(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """Carry the objective over; the DM then says so. A second click changes nothing."""
    ack()
    deps = deps_of(context)
    team_id, user_id, objective_id, clicked = click(body)
    listed = blocks.listed_ids(body.get("message") or {})
    try:
        with deps.unit_of_work() as session:
            carried = service.carry_over(
                session, team_id, asker(deps, user_id), objective_id, deps.now()
            )
            if not carried.replayed and clicked is not None:
                _refresh(session, team_id, carried.objective, "carried", listed, clicked, deps)
    except GoalRefused as refused:
        open_view(client, body["trigger_id"], notice_modal("Carry over", escape(refused.message)))
        return
    if not carried.replayed:
        deps.notify_outbox()


def _refresh(
    session: Session,
    team_id: str,
    acted: service.Target,
    action: str,
    listed: list[int],
    where: tuple[str, str],
    deps: Deps,
) -> None:
    now = deps.now()
    items = service.items_of(session, team_id, acted, listed, now)
    notify.enqueue_refresh(
        session, team_id, acted.id, action, acted.cycle, acted.next_cycle, items, where, now
    )


def _where(value: Any) -> tuple[str, str] | None:
    """The closing DM the form was opened from, as its metadata carries it."""
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return value[0], value[1]
    return None
