"""views.*: modals and Home tabs, with single-use trigger_ids, hashes and external ids, and what
Slack does with a view_submission's response_action."""

from __future__ import annotations

import json
import secrets
import time

from bot.demo.emulator.blockkit import missing_field, view_errors, with_block_ids
from bot.demo.emulator.state import SlackState
from bot.demo.emulator.webapi import Call, JSONDict, SlackError, api


def view_object(
    view: JSONDict, view_id: str, root_id: str | None, *, team_id: str, app_id: str, bot_id: str
) -> JSONDict:
    """The view Slack echoes back: defaults filled, fresh hash, empty state. A module function
    so that a test's view_submission, sent without views.open, carries the same shape."""
    title = view.get("title")
    return {
        "id": view_id,
        "team_id": team_id,
        "type": view["type"],
        "title": title,
        "close": view.get("close"),
        "submit": view.get("submit"),
        "blocks": with_block_ids(view.get("blocks") or []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "external_id": view.get("external_id", ""),
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{secrets.token_urlsafe(6)}",
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "root_view_id": root_id or view_id,
        "previous_view_id": None,
        "app_id": app_id,
        "app_installed_team_id": team_id,
        "bot_id": bot_id,
    }


class ViewsApi(SlackState):
    """Holds modals and Home tabs and answers views.*."""

    def view_for_trigger(self, trigger_id: str) -> str | None:
        """The id of the view a views.open or views.push with this trigger_id opened."""
        with self._lock:
            return self._view_triggers.get(trigger_id)

    def apply_view_response(
        self, view_id: str, action: str, view: JSONDict | None = None
    ) -> str | None:
        """What Slack does with a view_submission's `response_action` ("update", "push"):
        update replaces the view in place (same id); push stacks a new one and returns its id.
        Invalid views raise ValueError with Slack's messages."""
        with self._lock:
            current = self._views.get(view_id)
            if current is None or not isinstance(view, dict):
                return None
            problems = view_errors(view, home=False)
            if problems:
                raise ValueError("; ".join(problems))
            if action == "update":
                updated = self._view_object(view, view_id, current["root_view_id"])
                updated["previous_view_id"] = current["previous_view_id"]
                self._views[view_id] = updated
                return view_id
            if action == "push":
                saved = self._save_view(view, current["root_view_id"])
                saved["previous_view_id"] = view_id
                return str(saved["id"])
            return None

    def view(self, view_id: str) -> JSONDict | None:
        """The current state of a modal or Home tab, as the last views.* call left it."""
        with self._lock:
            found = self._views.get(view_id)
            return json.loads(json.dumps(found)) if found else None

    def home_view(self, user_id: str) -> JSONDict | None:
        """The Home tab last published for a user."""
        with self._lock:
            view_id = self._home_views.get(user_id)
        return self.view(view_id) if view_id else None

    def _view_object(self, view: JSONDict, view_id: str, root_id: str | None) -> JSONDict:
        return view_object(
            view, view_id, root_id, team_id=self.team_id, app_id=self.app_id, bot_id=self.bot_id
        )

    def _checked_view(self, call: Call, *, home: bool = False) -> JSONDict:
        raw = call.get("view")
        if raw in (None, ""):
            raise SlackError("invalid_arguments", messages=[missing_field("view")])
        view: JSONDict = raw
        problems = view_errors(view, home=home)
        if problems:
            raise SlackError("invalid_arguments", messages=problems)
        external_id = view.get("external_id")
        if external_id and external_id in self._external_ids and not home:
            raise SlackError("duplicate_external_id")
        return view

    def _check_trigger(self, call: Call) -> str:
        """trigger_ids are single-use and short-lived: reuse or "expired..." ids are refused."""
        trigger_id = call.get("trigger_id")
        if not trigger_id:
            raise SlackError("invalid_arguments", messages=["invalid `trigger_id`"])
        trigger_id = str(trigger_id)
        if trigger_id in self._used_triggers or trigger_id.startswith("expired"):
            raise SlackError("expired_trigger_id")
        return trigger_id

    def _open_view(self, call: Call) -> JSONDict:
        """views.open and views.push: a valid view spends the trigger."""
        trigger_id = self._check_trigger(call)
        view = self._checked_view(call)
        self._used_triggers.add(trigger_id)
        saved = self._save_view(view)
        self._view_triggers[trigger_id] = saved["id"]
        return {"view": saved}

    def _save_view(self, view: JSONDict, root_id: str | None = None) -> JSONDict:
        view_id = self._next_id("V")
        saved = self._view_object(view, view_id, root_id)
        self._views[view_id] = saved
        if saved["external_id"]:
            self._external_ids[saved["external_id"]] = view_id
        return saved

    @api("views.open")
    def _views_open(self, call: Call) -> JSONDict:
        return self._open_view(call)

    @api("views.push")
    def _views_push(self, call: Call) -> JSONDict:
        return self._open_view(call)

    @api("views.update")
    def _views_update(self, call: Call) -> JSONDict:
        view_id = call.get("view_id") or self._external_ids.get(str(call.get("external_id", "")))
        if not call.get("view_id") and not call.get("external_id"):
            raise SlackError(
                "invalid_arguments", messages=["[ERROR] either view_id or external_id is required"]
            )
        current = self._views.get(str(view_id)) if view_id else None
        if current is None:
            raise SlackError("not_found")
        view = call.get("view")
        problems = view_errors(view, home=current["type"] == "home")
        if problems or not isinstance(view, dict):
            raise SlackError("invalid_arguments", messages=problems)
        if call.get("hash") and call["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        external_id = view.get("external_id") or current["external_id"]
        if self._external_ids.get(external_id, current["id"]) != current["id"]:
            raise SlackError("duplicate_external_id")
        updated = self._view_object(
            {**view, "external_id": external_id}, current["id"], current["root_view_id"]
        )
        updated["previous_view_id"] = current["previous_view_id"]
        self._views[current["id"]] = updated
        if external_id:
            self._external_ids[external_id] = current["id"]
        return {"view": updated}

    @api("views.publish")
    def _views_publish(self, call: Call) -> JSONDict:
        self._require(call, "user_id")
        user_id = str(call["user_id"])
        if user_id not in self._users:
            raise SlackError("user_not_found")
        view = self._checked_view(call, home=True)
        existing_id = self._home_views.get(user_id)
        if existing_id is not None:
            current = self._views[existing_id]
            if call.get("hash") and call["hash"] != current["hash"]:
                raise SlackError("hash_conflict")
            saved = self._view_object(view, existing_id, None)
            self._views[existing_id] = saved
        else:
            saved = self._save_view(view)
            self._home_views[user_id] = saved["id"]
        return {"view": saved}
