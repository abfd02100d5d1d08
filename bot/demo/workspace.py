"""What a person does in the demo's Slack client, turned into what Slack would do.

Typing in the composer, clicking a button, using a message shortcut, submitting or closing a
modal, opening App Home: each becomes the request Slack would send (signed, to /slack/events)
and, where Slack keeps client-side state (the modal stack, "only visible to you" messages,
its own required-field checks), this module keeps it. Everything shown comes from the
emulator, which holds what the app wrote through the Web API.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.demo import forms, render
from bot.demo.emulator import SlackEmulator
from bot.demo.slack_payloads import AppAnswer, SlackPayloads
from handlers import ids

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
DueJob = Callable[[datetime], object]
Stops = Callable[[datetime, datetime], list[datetime]]  # (after, until) -> due instants
MAX_STOPS = 2000  # a guard on one jump's stops: a year of a dozen people's weekly check-ins

# Message shortcut names as manifest.yml declares them; a new callback id shows as itself.
SHORTCUT_NAMES = {"give_kudos": "Give kudos", "give_feedback": "Give feedback"}


EPHEMERAL_PREFIX = "eph:"  # what the page names an ephemeral by, where a message has its ts


@dataclass
class Ephemeral:
    """An "Only visible to you" message: Slack keeps these in the client, not the channel.
    `at` is on the demo clock (epoch seconds), so it sorts among the channel's messages;
    `key` names it on the page (a click in it says which), `eph:` and where it came from."""

    user_id: str
    channel_id: str
    text: str
    blocks: list[JSONDict] | None
    at: float
    thread_ts: str | None = None
    key: str = ""


@dataclass
class ClientState:
    """Per person: the modal stack (view ids, top last), field errors, ephemerals, toasts."""

    modals: list[str] = field(default_factory=list)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)
    ephemerals: list[Ephemeral] = field(default_factory=list)
    notice: str | None = None


class Workspace:
    def __init__(
        self,
        emulator: SlackEmulator,
        payloads: SlackPayloads,
        clock: Callable[[], datetime],
        *,
        jump: Callable[[datetime], datetime],
        due_jobs: Sequence[DueJob] = (),
        stops: Stops | None = None,
        reactions: Sequence[str] = (),
    ) -> None:
        """`reactions`: the emoji a message's reaction bar offers (the app's kudos ones)."""
        self.emulator = emulator
        self.reactions = list(reactions)
        self.payloads = payloads
        self.clock = clock
        self._jump = jump
        self.due_jobs = list(due_jobs)
        self._stops = stops
        self._lock = threading.Lock()
        self._clients: dict[str, ClientState] = {}
        self._response_urls: dict[str, tuple[str, str]] = {}  # path -> (user, channel)
        # A click in an ephemeral: its response_url's path -> the ephemeral's key, which a
        # post there with replace_original (or delete_original) changes in place.
        self._replaces: dict[str, str] = {}
        self._numbered = 0
        self._started = clock().timestamp()
        self._seen: dict[tuple[str, str], float] = {}  # (user, channel) -> newest ts seen

    # ----- who and where ---------------------------------------------------------------------

    def people(self) -> list[JSONDict]:
        """The workspace's humans, in seeding order."""
        return [
            u
            for u in self.emulator.users()
            if not u["is_bot"] and u["id"] != "USLACKBOT" and not u["deleted"]
        ]

    def user(self, user_id: str) -> JSONDict:
        found = next((u for u in self.emulator.users() if u["id"] == user_id), None)
        if found is None:
            raise KeyError(user_id)
        return found

    def channels(self) -> list[JSONDict]:
        return [c for c in self.emulator.channels() if not c["is_archived"]]

    def context(self, user_id: str) -> render.Context:
        users = self.emulator.users()
        names = {u["id"]: u["profile"].get("display_name") or u["name"] for u in users}
        return render.Context(
            user_names={
                u["id"]: names[u["id"]]
                for u in users
                if not u["is_bot"] and u["id"] != "USLACKBOT"
            }
            | {self.emulator.bot_user_id: "pulsebot"},
            channel_names={c["id"]: c["name"] for c in self.channels()},
            bots=frozenset(
                u["id"] for u in users if u["is_bot"] or u["id"] == "USLACKBOT"
            )
            | {self.emulator.bot_user_id},
            tz=next((u.get("tz") for u in users if u["id"] == user_id), None) or "UTC",
            now=self.clock,
        )

    def channel_ref(self, channel_id: str) -> JSONDict:
        if channel_id.startswith("D"):
            return {"id": channel_id, "name": "directmessage"}
        found = next((c for c in self.channels() if c["id"] == channel_id), None)
        return {"id": channel_id, "name": found["name"] if found else channel_id.lower()}

    def state(self, user_id: str) -> ClientState:
        with self._lock:
            return self._clients.setdefault(user_id, ClientState())

    def mark_seen(self, user_id: str, channel_id: str) -> None:
        """The person looked at this channel: what is in it now is read."""
        newest = max((float(m["ts"]) for m in self.emulator.messages(channel_id)), default=0.0)
        with self._lock:
            key = (user_id, channel_id)
            self._seen[key] = max(self._seen.get(key, self._started), newest)

    def unread(self, user_id: str, channel_id: str) -> int:
        """Messages from others (the app included) newer than what the person last saw; the
        seeded history counts as read."""
        with self._lock:
            seen = self._seen.get((user_id, channel_id), self._started)
        return sum(
            1
            for m in self.emulator.messages(channel_id)
            if float(m["ts"]) > seen and m.get("user") != user_id
        )

    # ----- the composer ----------------------------------------------------------------------

    def compose(
        self, user_id: str, channel_id: str, text: str, thread_ts: str | None = None
    ) -> None:
        """A slash command, or a message; in the bot's DM a message is a `message.im` event."""
        text = text.strip()
        if not text:
            return
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            self.command(user_id, channel_id, command, rest, thread_ts)
            return
        message = self.emulator.add_message(
            channel_id, user_id, self.escape(text, for_command=False), thread_ts=thread_ts
        )
        if channel_id.startswith("D") and "message.im" in ids.BOT_EVENTS:
            event: JSONDict = {
                "type": "message",
                "client_msg_id": str(uuid.uuid4()),
                "channel": channel_id,
                "user": user_id,
                "text": message["text"],
                "blocks": [_rich_text(message["text"])],
                "ts": message["ts"],
                "event_ts": message["ts"],
                "channel_type": "im",
                "team": self.payloads.team_id,
            }
            if thread_ts:
                parent = next(
                    (m for m in self.emulator.messages(channel_id) if m["ts"] == thread_ts), {}
                )
                event["thread_ts"] = thread_ts
                if parent.get("user"):
                    event["parent_user_id"] = parent["user"]
            self._deliver(self.payloads.event(event), user_id, "message")

    def escape(self, text: str, *, for_command: bool) -> str:
        """What Slack sends for typed text: &, <, > escaped; @handles and #channels as links.

        Commands have `should_escape`, so a mention arrives as `<@U…|handle>`; in a message
        Slack stores `<@U…>`. A #word that names no channel stays text (a kudos value tag).
        """
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        handles: dict[str, str] = {}
        for person in self.people():
            handles[person["name"].lower()] = person["id"]
            first = str(person["profile"].get("first_name", "")).lower()
            handles.setdefault(first, person["id"])
        channels = {c["name"].lower(): c["id"] for c in self.channels()}

        def mention(match: re.Match[str]) -> str:
            user_id = handles.get(match.group(1).lower())
            if user_id is None:
                return match.group(0)
            return f"<@{user_id}|{match.group(1).lower()}>" if for_command else f"<@{user_id}>"

        def channel(match: re.Match[str]) -> str:
            channel_id = channels.get(match.group(1).lower())
            if channel_id is None:
                return match.group(0)
            name = match.group(1).lower()
            return f"<#{channel_id}|{name}>" if for_command else f"<#{channel_id}>"

        text = re.sub(r"(?<![\w<])@([\w.-]+)", mention, text)
        return re.sub(r"(?<![\w<&])#([\w-]+)", channel, text)

    def command(
        self,
        user_id: str,
        channel_id: str,
        command: str,
        text: str,
        thread_ts: str | None = None,
    ) -> None:
        if command not in ids.COMMANDS:
            self._ephemeral(
                user_id, channel_id, f"`{command}` is not a valid command.", None, thread_ts
            )
            return
        trigger_id = self.payloads.trigger_id()
        response_url = self.payloads.response_url("commands")
        with self._lock:
            self._response_urls[_path(response_url)] = (user_id, channel_id)
        answer = self.payloads.command(
            command,
            self.escape(text, for_command=True),
            user=self.user(user_id),
            channel_id=channel_id,
            channel_name=self.channel_ref(channel_id)["name"],
            trigger_id=trigger_id,
            response_url=response_url,
        )
        if answer.status != 200:
            self._ephemeral(
                user_id,
                channel_id,
                f"`{command}` failed with the error \"dispatch_failed\" (HTTP {answer.status}).",
                None,
                thread_ts,
            )
            return
        body = answer.json()
        if body and (body.get("text") or body.get("blocks")):
            if body.get("response_type") == "in_channel":
                self.emulator.add_message(
                    channel_id, self.emulator.bot_user_id, str(body.get("text") or ""),
                    blocks=body.get("blocks"),
                )
            else:
                self._ephemeral(
                    user_id, channel_id, str(body.get("text") or ""), body.get("blocks"), thread_ts
                )
        self._open_modal_for(user_id, trigger_id)

    # ----- clicks, shortcuts, App Home --------------------------------------------------------

    def click(
        self,
        user_id: str,
        *,
        block_id: str,
        action_id: str,
        values: Sequence[str] = (),
        channel_id: str | None = None,
        message_ts: str | None = None,
        view_id: str | None = None,
        form: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """A button, select or picker in a message (channel and ts) or a view (view id); an
        ephemeral message is named by its key in place of a ts."""
        if message_ts and message_ts.startswith(EPHEMERAL_PREFIX) and channel_id:
            self._click_ephemeral(
                user_id, channel_id, message_ts, block_id=block_id, action_id=action_id,
                values=values,
            )
            return
        message = None
        view = None
        if view_id:
            view = self.emulator.view(view_id)
            items = view.get("blocks") if view else None
        else:
            message = next(
                (m for m in self.emulator.messages(channel_id or "") if m["ts"] == message_ts),
                None,
            )
            items = message.get("blocks") if message else None
        element = render.find_element(items, block_id, action_id)
        if element is None:
            return
        action = _action(element, block_id, values)
        trigger_id = self.payloads.trigger_id()
        state = forms.state_values(view, form or {})[0] if view and form is not None else None
        if view is not None:
            view = {**view, "state": {"values": state or {}}}
            answer = self.payloads.block_actions(
                user=self.user(user_id), action=action, trigger_id=trigger_id, view=view,
                state=state,
            )
        else:
            assert message is not None and channel_id is not None
            answer = self.payloads.block_actions(
                user=self.user(user_id),
                action=action,
                trigger_id=trigger_id,
                message=_as_sent(message),
                channel=self.channel_ref(channel_id),
            )
        self._deliver(answer, user_id, "click")
        self._open_modal_for(user_id, trigger_id)

    def _click_ephemeral(
        self,
        user_id: str,
        channel_id: str,
        key: str,
        *,
        block_id: str,
        action_id: str,
        values: Sequence[str],
    ) -> None:
        """A click in an "Only visible to you" message: Slack sends block_actions with an
        ephemeral container and no message, and a response_url whose `replace_original`
        changes that message where it is."""
        shown = next((e for e in self.ephemerals(user_id, channel_id) if e.key == key), None)
        if shown is None:
            return
        element = render.find_element(shown.blocks, block_id, action_id)
        if element is None:
            return
        trigger_id = self.payloads.trigger_id()
        response_url = self.payloads.response_url("actions")
        with self._lock:
            self._response_urls[_path(response_url)] = (user_id, channel_id)
            self._replaces[_path(response_url)] = key
        answer = self.payloads.block_actions(
            user=self.user(user_id),
            action=_action(element, block_id, values),
            trigger_id=trigger_id,
            channel=self.channel_ref(channel_id),
            container={
                "type": "message",
                "message_ts": f"{shown.at:.6f}",
                "channel_id": channel_id,
                "is_ephemeral": True,
            },
            response_url=response_url,
        )
        self._deliver(answer, user_id, "click")
        self._open_modal_for(user_id, trigger_id)

    def shortcut(self, user_id: str, channel_id: str, message_ts: str, callback_id: str) -> None:
        if callback_id not in ids.MESSAGE_SHORTCUTS:
            return
        message = next(
            (m for m in self.emulator.messages(channel_id) if m["ts"] == message_ts), None
        )
        if message is None:
            return
        trigger_id = self.payloads.trigger_id()
        answer = self.payloads.message_shortcut(
            user=self.user(user_id),
            callback_id=callback_id,
            channel=self.channel_ref(channel_id),
            message=_as_sent(message),
            trigger_id=trigger_id,
        )
        self._deliver(answer, user_id, "shortcut")
        self._open_modal_for(user_id, trigger_id)

    def react(self, user_id: str, channel_id: str, message_ts: str, name: str) -> None:
        """A click on a reaction: adds it, or takes back the person's own, as Slack's client
        does; Slack then sends `reaction_added` / `reaction_removed` (if subscribed), naming
        the message's author as `item_user` (absent when no user wrote it)."""
        message = next(
            (m for m in self.emulator.messages(channel_id) if m["ts"] == message_ts), None
        )
        if message is None or not name:
            return
        mine = any(
            r["name"] == name and user_id in r["users"] for r in message.get("reactions") or []
        )
        if not self.emulator.react(channel_id, message_ts, user_id, name, add=not mine):
            return
        if ("reaction_removed" if mine else "reaction_added") not in ids.BOT_EVENTS:
            return
        answer = self.payloads.reaction(
            added=not mine,
            user_id=user_id,
            name=name,
            channel_id=str(message.get("channel") or channel_id),
            message_ts=message_ts,
            item_user=message.get("user"),
        )
        self._deliver(answer, user_id, "reaction")

    def open_home(self, user_id: str) -> None:
        """Slack sends app_home_opened each time the tab is opened (if subscribed)."""
        if "app_home_opened" not in ids.BOT_EVENTS:
            return
        event: JSONDict = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.emulator.dm_channel_id(user_id),
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        home = self.emulator.home_view(user_id)
        if home is not None:
            event["view"] = home
        self._deliver(self.payloads.event(event), user_id, "App Home")

    # ----- modals ------------------------------------------------------------------------------

    def submit(self, user_id: str, view_id: str, form: Mapping[str, Sequence[str]]) -> None:
        """Slack's own checks first (nothing is sent if they fail), then view_submission and
        its response_action: errors, update, push or clear; none closes this view."""
        client = self.state(user_id)
        view = self.emulator.view(view_id)
        if view is None or view_id not in client.modals:
            return
        values, problems = forms.state_values(view, form)
        if problems:
            client.errors[view_id] = problems
            return
        client.errors.pop(view_id, None)
        answer = self.payloads.view_submission(
            user=self.user(user_id),
            view={**view, "state": {"values": values}},
            trigger_id=self.payloads.trigger_id(),
        )
        if answer.status != 200:
            client.notice = "We had some trouble connecting. Try again?"
            return
        body = answer.json() or {}
        action = body.get("response_action")
        try:
            if action == "errors":
                client.errors[view_id] = {
                    str(k): str(v) for k, v in (body.get("errors") or {}).items()
                }
            elif action == "update":
                self.emulator.apply_view_response(view_id, "update", body.get("view"))
            elif action == "push":
                pushed = self.emulator.apply_view_response(view_id, "push", body.get("view"))
                if pushed:
                    client.modals.append(pushed)
            elif action == "clear":
                client.modals.clear()
            else:
                client.modals.remove(view_id)
        except ValueError as problem:
            log.warning("response_action %s refused: %s", action, problem)
            client.notice = "The app answered with a view Slack would refuse."

    def close(self, user_id: str, view_id: str) -> None:
        client = self.state(user_id)
        view = self.emulator.view(view_id)
        if view_id in client.modals:
            client.modals.remove(view_id)
        if view is not None and view.get("notify_on_close"):
            self.payloads.view_closed(user=self.user(user_id), view=view)

    def modal_stack(self, user_id: str) -> list[JSONDict]:
        client = self.state(user_id)
        views = [self.emulator.view(view_id) for view_id in client.modals]
        return [v for v in views if v is not None]

    # ----- the clock ---------------------------------------------------------------------------

    def jump(self, instant: datetime) -> datetime:
        """Move the clock ahead and run what is due (prompts, reminders, closings, digests,
        and whatever jobs later features add), stopping on the way wherever something fell
        due, so each thing goes out at its own time as on a server that never stopped."""
        on_the_way = self._stops(self.clock(), instant) if self._stops else []
        for stop in [*[t for t in on_the_way if t < instant][:MAX_STOPS], instant]:
            now = self._jump(stop)
            self._run_due(now)
        return now

    def _run_due(self, now: datetime) -> None:
        for job in self.due_jobs:
            try:
                job(now)
            except Exception:
                log.exception("a due job failed after the jump")

    # ----- what the person sees that is not in a channel ----------------------------------------

    def ephemerals(self, user_id: str, channel_id: str) -> list[Ephemeral]:
        """Ack answers, response_url posts and chat.postEphemeral calls for this person here.

        A post to the response_url of a click in an ephemeral replaces that ephemeral where it
        is (`replace_original`) or removes it (`delete_original`), as Slack's client does."""
        found = [
            e for e in self.state(user_id).ephemerals if e.channel_id == channel_id
        ]
        with self._lock:
            routes = dict(self._response_urls)
            replaces = dict(self._replaces)
        # Calls carry a monotonic time; date them on the demo clock, like messages.
        offset = self.clock().timestamp() - time.monotonic()
        for number, call in enumerate(self.emulator.calls("chat.postEphemeral")):
            if call.status == 200 and call.get("user") == user_id and (
                call.get("channel") in (channel_id, user_id)
            ):
                found.append(
                    Ephemeral(
                        user_id, channel_id, str(call.get("text") or ""), call.get("blocks"),
                        call.at + offset, key=f"{EPHEMERAL_PREFIX}p{number}",
                    )
                )
        for number, call in enumerate(self.emulator.calls("response_url")):
            where = routes.get(call.path)
            if where != (user_id, channel_id) or call.get("response_type") == "in_channel":
                continue
            if call.status != 200:
                continue  # a used-up response_url: Slack showed nothing
            original = replaces.get(call.path)
            changes = call.get("replace_original") or call.get("delete_original")
            if original is not None and changes:
                at = next((i for i, e in enumerate(found) if e.key == original), None)
                if at is not None:
                    if call.get("delete_original"):
                        found.pop(at)
                    else:
                        found[at] = replace(
                            found[at], text=str(call.get("text") or ""), blocks=call.get("blocks")
                        )
                    continue
            found.append(
                Ephemeral(
                    user_id, channel_id, str(call.get("text") or ""), call.get("blocks"),
                    call.at + offset, key=f"{EPHEMERAL_PREFIX}r{number}",
                )
            )
        return sorted(found, key=lambda e: e.at)

    def take_notice(self, user_id: str) -> str | None:
        client = self.state(user_id)
        notice, client.notice = client.notice, None
        return notice

    # ----- plumbing ----------------------------------------------------------------------------

    def _ephemeral(
        self,
        user_id: str,
        channel_id: str,
        text: str,
        blocks: list[JSONDict] | None,
        thread_ts: str | None = None,
    ) -> None:
        with self._lock:
            self._numbered += 1
            key = f"{EPHEMERAL_PREFIX}c{self._numbered}"
        self.state(user_id).ephemerals.append(
            Ephemeral(
                user_id, channel_id, text, blocks, self.clock().timestamp(), thread_ts, key=key
            )
        )

    def _deliver(self, answer: AppAnswer, user_id: str, what: str) -> None:
        """Slack shows a failed interaction as a small error; so does the demo."""
        if answer.status >= 400:
            log.warning("the app answered %s to a %s", answer.status, what)
            self.state(user_id).notice = (
                f"pulsebot didn't respond to that {what} (HTTP {answer.status})."
            )

    def _open_modal_for(self, user_id: str, trigger_id: str) -> None:
        """A views.open with this trigger starts a stack; a views.push adds to it."""
        view_id = self.emulator.view_for_trigger(trigger_id)
        if view_id is None:
            return
        client = self.state(user_id)
        pushed = any(c.get("trigger_id") == trigger_id for c in self.emulator.calls("views.push"))
        if not pushed:
            client.modals.clear()
        client.modals.append(view_id)


def _action(element: JSONDict, block_id: str, values: Sequence[str]) -> JSONDict:
    """The `actions[0]` Slack sends for an element and what was chosen."""
    kind = str(element.get("type", ""))
    action: JSONDict = {
        "type": kind,
        "action_id": element.get("action_id"),
        "block_id": block_id,
    }
    first = values[0] if values else None
    if kind == "button":
        action["text"] = element.get("text")
        if "value" in element:
            action["value"] = element["value"]
        if element.get("style"):
            action["style"] = element["style"]
    elif kind in ("static_select", "overflow", "radio_buttons", "external_select"):
        action["selected_option"] = render.option_by_value(element, first or "")
    elif kind in ("multi_static_select", "checkboxes"):
        action["selected_options"] = [
            o for v in values if (o := render.option_by_value(element, v)) is not None
        ]
    elif kind in ("users_select", "conversations_select", "channels_select"):
        key = forms.STATE_KEYS[kind]
        action[key] = first
    elif kind in ("multi_users_select", "multi_conversations_select", "multi_channels_select"):
        action[forms.STATE_KEYS[kind]] = list(values)
    elif kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        action["value"] = first
    elif kind == "datepicker":
        action["selected_date"] = first
    elif kind == "timepicker":
        action["selected_time"] = first
    return action


def _as_sent(message: JSONDict) -> JSONDict:
    """A stored message as Slack puts it in a payload: no channel key, absent fields omitted."""
    return {k: v for k, v in message.items() if k != "channel" and v is not None}


def _rich_text(text: str) -> JSONDict:
    """The rich_text block Slack's client attaches to a typed message (text only here)."""
    return {
        "type": "rich_text",
        "block_id": uuid.uuid4().hex[:5],
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
    }


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[-1].split("/", 1)[-1]
