"""App Home's "Download my data": the person's export, privately, to their DM.

The export is built in one unit of work that also queues it (a file shared into their DM,
through the outbox) and records it in the audit log; the click is acked first, since nothing
about it can fail in a way the person should see in App Home.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.deps import deps_of
from bot.notify import privacy as notify
from bot.services import privacy
from handlers import ids
from handlers.payloads import team_of


def register(app: App) -> None:
    app.action(ids.PRIVACY_EXPORT_ACTION)(on_download)


def on_download(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    deps = deps_of(context)
    team_id, user_id = team_of(body), str(body["user"]["id"])
    # One export per click: a click's action_ts is its own, a retried delivery's the same.
    action = str((body.get("actions") or [{}])[0].get("action_ts") or body.get("trigger_id"))
    now = deps.now()
    with deps.unit_of_work() as session:
        try:
            export = privacy.export_person(session, team_id, user_id, now)
        except privacy.UnknownPerson:
            export = privacy.PersonalExport(team_id, user_id, now, {"user_id": user_id})
        notify.send_export(
            session, team_id, user_id, action, export.to_bytes(), now.date().isoformat(), now
        )
        privacy.record(
            session,
            action="export",
            actor=f"slack:{user_id}",
            now=now,
            counts=export.counts(),
            team_id=team_id,
            subject_id=user_id,
        )
    deps.notify_outbox()
