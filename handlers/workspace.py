"""app_uninstalled and tokens_revoked: the workspace's sending stops, on every replica.

The two may arrive in either order, and Slack may deliver either more than once: the first that
stops the workspace logs it, the rest change nothing (an uninstall only renames the reason).
Sending resumes when a token works again (bot.runtime's Slack check), and nothing queued is lost.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext

from bot.deps import Deps, deps_of
from bot.services import workspace
from bot.services.events import first_time

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.event("app_uninstalled")(on_app_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)


def on_app_uninstalled(body: dict[str, Any], context: BoltContext) -> None:
    _stop(deps_of(context), body, workspace.UNINSTALLED)


def on_tokens_revoked(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    if workspace.bot_tokens_revoked(event.get("tokens")):
        _stop(deps_of(context), body, workspace.TOKENS_REVOKED)


def _stop(deps: Deps, body: dict[str, Any], reason: str) -> None:
    team_id = str(body.get("team_id") or "")
    if not team_id:
        return
    now = deps.now()
    with deps.unit_of_work() as session:
        if not first_time(session, team_id, body, now):
            return
        stopped = workspace.stop(session, team_id, reason, now)
    deps.slack.stopped = True
    if stopped.changed:
        log.warning(
            "Slack: %s in %s: sending stopped until a token works again (a reinstall); "
            "%d queued message(s) wait",
            reason,
            team_id,
            stopped.waiting,
        )
