"""manifest.yml against the code: what Slack is told to send is exactly what the app handles.

The ids come from handlers/ids.py; "handled" is checked by dispatching signed requests through
the real Bolt App in-process (`App.dispatch(BoltRequest(...))`): Bolt answers 404 to anything
no listener matched, and Slack counts a 404 as a failure.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from slack_bolt import App, BoltRequest, BoltResponse
from sqlalchemy.orm import Session, sessionmaker

from bot.app import build_app
from bot.demo.emulator import SlackEmulator
from bot.deps import Deps
from handlers import home, ids, messages_im, reactions, users, workspace
from tests.server import SIGNING_SECRET, server_settings
from tests.slack_requests import SlackRequests

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER_URL = "https://pulsebot.example.com/slack/events"

# Candidates Slack could send a chat app; the manifest must list exactly those the app handles.
CANDIDATE_EVENTS = (
    "app_home_opened",
    "app_mention",
    "app_uninstalled",
    "member_joined_channel",
    "message.channels",
    "message.im",
    "reaction_added",
    "reaction_removed",
    "team_join",
    "tokens_revoked",
    "user_change",
)
CANDIDATE_COMMANDS = ("/kudos", "/checkin", "/feedback", "/goals")

# The bot scope each Web API method needs (Slack's method reference). Methods absent here
# (auth.test, views.*, chat.getPermalink) need none; add a row when the code calls a new one.
METHOD_SCOPES: dict[str, str | tuple[str, ...]] = {
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "users.info": "users:read",
    "users.list": "users:read",
    "users.lookupByEmail": "users:read.email",
    "users.profile.get": "users.profile:read",
    "conversations.open": "im:write",
    # Looking for a lost post in the DM it went to; channels need the optional scopes below.
    "conversations.history": "im:history",
    "conversations.replies": "im:history",
    "reactions.add": "reactions:write",
    "files.upload": "files:write",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "files.upload.v2": "files:write",
}
# Read a channel's history to look for a lost post there before sending it again: optional
# (docs/scopes.md). manifest.yml ships without them, in a commented block that adds both.
OPTIONAL_SCOPES = {"channels:history", "groups:history"}
# Each event the manifest subscribes to, and the listener that answers it.
EVENT_HANDLERS = {
    "app_home_opened": home.on_home_opened,
    "user_change": users.on_user_change,
    "team_join": users.on_team_join,
    "message.im": messages_im.on_dm,
    "app_uninstalled": workspace.on_app_uninstalled,
    "tokens_revoked": workspace.on_tokens_revoked,
    "reaction_added": reactions.on_reaction_added,
    "reaction_removed": reactions.on_reaction_removed,
}
EVENT_SCOPES = {
    "user_change": "users:read",
    "message.im": "im:history",
    "message.channels": "channels:history",
    "app_mention": "app_mentions:read",
    "member_joined_channel": "channels:read",
    "team_join": "users:read",
    "reaction_added": "reactions:read",
    "reaction_removed": "reactions:read",
}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def bot_events(manifest: dict[str, Any]) -> list[str]:
    return list(manifest["settings"]["event_subscriptions"]["bot_events"])


def commands(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return list(manifest["features"].get("slash_commands") or [])


def shortcuts(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return list(manifest["features"].get("shortcuts") or [])


@pytest.fixture
def app(database_url: str, session_factory: sessionmaker[Session], slack: SlackEmulator) -> App:
    settings = server_settings(database_url, slack.url, slack.bot_token)
    return build_app(settings, Deps(settings=settings, session_factory=session_factory))


@pytest.fixture
def signed(app: App) -> Iterator[SlackRequests]:
    """Signed exactly like Slack, answered by `App.dispatch` in this thread: no server."""

    def dispatch(request: httpx.Request) -> httpx.Response:
        response = app.dispatch(
            BoltRequest(body=request.content.decode(), headers=dict(request.headers.items()))
        )
        return httpx.Response(
            response.status, content=response.body.encode(), headers=response.first_headers()
        )

    client = httpx.Client(transport=httpx.MockTransport(dispatch))
    with SlackRequests("http://app.test", SIGNING_SECRET, client=client) as requests:
        yield requests
    client.close()


def sample_event(name: str, slack: SlackEmulator) -> dict[str, Any]:
    """A minimal, well-formed event for a manifest event name (`message.im` -> message/im)."""
    kind, _, channel_type = name.partition(".")
    now = f"{time.time():.6f}"
    event: dict[str, Any] = {"type": kind, "user": "UANA", "event_ts": now, "ts": now}
    if kind in ("user_change", "team_join"):
        event["user"] = slack.add_user("UANA", tz="America/New_York")
    elif kind == "tokens_revoked":
        event = {"type": kind, "tokens": {"oauth": ["UANA"], "bot": ["UBOT"]}, "event_ts": now}
    elif kind == "app_uninstalled":
        event = {"type": kind, "event_ts": now}
    elif kind == "app_home_opened":
        event.update(channel="DUANA", tab="home")
    elif kind == "message":
        event.update(channel="DUANA", channel_type=channel_type, text="hello")
    elif kind in ("reaction_added", "reaction_removed"):
        message = slack.add_message("C0GENERAL", "UBEN", "shipped it")
        event.update(
            reaction="kudos",
            item_user="UBEN",
            item={"type": "message", "channel": "C0GENERAL", "ts": message["ts"]},
        )
    return event


# ----- ids.py and manifest.yml name the same things ---------------------------------------------


def test_manifest_lists_exactly_the_ids_the_code_registers(manifest: dict[str, Any]) -> None:
    assert sorted(c["command"] for c in commands(manifest)) == sorted(ids.COMMANDS)
    message_shortcuts = [s["callback_id"] for s in shortcuts(manifest) if s["type"] == "message"]
    assert sorted(message_shortcuts) == sorted(ids.MESSAGE_SHORTCUTS)
    assert [s for s in shortcuts(manifest) if s["type"] != "message"] == []
    assert sorted(bot_events(manifest)) == sorted(ids.BOT_EVENTS)
    assert len(set(bot_events(manifest))) == len(bot_events(manifest))


# ----- what the manifest lists is handled -------------------------------------------------------


def test_every_manifest_command_is_handled(manifest: dict[str, Any], signed: SlackRequests) -> None:
    for command in commands(manifest):
        response = signed.command(command["command"], "help", user_id="UANA")
        assert response.status_code == 200, (command["command"], response.text)


def test_every_manifest_shortcut_is_handled(
    manifest: dict[str, Any], signed: SlackRequests, slack: SlackEmulator
) -> None:
    for shortcut in shortcuts(manifest):
        message = slack.add_message("C0GENERAL", "UBEN", "shipped it")
        response = signed.message_shortcut(
            user_id="UANA",
            callback_id=shortcut["callback_id"],
            channel_id="C0GENERAL",
            message=message,
        )
        assert response.status_code == 200, (shortcut["callback_id"], response.text)


def test_every_manifest_event_is_handled(
    manifest: dict[str, Any], signed: SlackRequests, slack: SlackEmulator
) -> None:
    for name in bot_events(manifest):
        response = signed.event(sample_event(name, slack))
        assert response.status_code == 200, (name, response.text)


def test_each_manifest_event_reaches_its_own_handler(
    manifest: dict[str, Any], app: App, slack: SlackEmulator
) -> None:
    assert sorted(bot_events(manifest)) == sorted(EVENT_HANDLERS)
    for name in bot_events(manifest):
        body = {
            "type": "event_callback",
            "team_id": "T0TEAM",
            "event_id": f"Ev{name}",
            "event": sample_event(name, slack),
        }
        request = BoltRequest(body=json.dumps(body), headers={"content-type": "application/json"})
        matched = [
            listener.ack_function
            for listener in app._listeners  # Bolt's own table: what answers each request
            if listener.matches(req=request, resp=BoltResponse(status=404))
        ]
        assert matched == [EVENT_HANDLERS[name]], name


# ----- what the app handles is in the manifest (and nothing else is) ----------------------------


def test_events_and_commands_outside_the_manifest_are_not_handled(
    manifest: dict[str, Any], signed: SlackRequests, slack: SlackEmulator
) -> None:
    subscribed = set(bot_events(manifest))
    for name in CANDIDATE_EVENTS:
        handled = signed.event(sample_event(name, slack)).status_code != 404
        assert handled == (name in subscribed), name
    declared = {c["command"] for c in commands(manifest)}
    for command in CANDIDATE_COMMANDS:
        handled = signed.command(command, "help", user_id="UANA").status_code != 404
        assert handled == (command in declared), command


# ----- the manifest's own shape ---------------------------------------------------------------


def test_commands_escape_mentions_hint_usage_and_use_the_placeholder_url(
    manifest: dict[str, Any],
) -> None:
    assert commands(manifest)
    for command in commands(manifest):
        assert command["should_escape"] is True, command["command"]
        assert str(command.get("usage_hint") or "").strip(), command["command"]
        assert str(command.get("description") or "").strip(), command["command"]
        assert command["url"] == PLACEHOLDER_URL, command["command"]


def test_events_and_interactivity_have_a_request_url_and_socket_mode_is_off(
    manifest: dict[str, Any],
) -> None:
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["request_url"] == PLACEHOLDER_URL
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"] == PLACEHOLDER_URL
    assert settings["socket_mode_enabled"] is False
    features = manifest["features"]
    assert features["bot_user"]["display_name"]
    if "app_home_opened" in bot_events(manifest):
        assert features["app_home"]["home_tab_enabled"] is True
    if "message.im" in bot_events(manifest):  # employees reply in the DM
        assert features["app_home"]["messages_tab_read_only_enabled"] is False


def methods_called() -> set[str]:
    """Web API methods the app's code calls: client.x_y(...) and outbox `method="x.y"`."""
    found: set[str] = set()
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]:
        source = path.read_text()
        for name in re.findall(r"(?:client|_client|_web\(\))\.([a-z]+_[A-Za-z0-9_]+)\(", source):
            if name != "api_call":
                found.add(
                    "files.upload.v2" if name == "files_upload_v2" else name.replace("_", ".")
                )
        found.update(re.findall(r'method\s*=\s*"([a-z]+\.[A-Za-z.]+)"', source))
    return found


def test_bot_scopes_are_exactly_the_ones_the_code_needs(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    declared = list(scopes["bot"])
    assert "user" not in scopes
    assert len(set(declared)) == len(declared)
    called = methods_called()
    assert {"chat.postMessage", "users.info"} <= called  # the scan itself works
    needed: set[str] = set()
    for method in called & set(METHOD_SCOPES):
        scope = METHOD_SCOPES[method]
        needed |= {scope} if isinstance(scope, str) else set(scope)
    needed |= {EVENT_SCOPES[e] for e in bot_events(manifest) if e in EVENT_SCOPES}
    if commands(manifest) or shortcuts(manifest):
        needed.add("commands")
    # PULSEBOT_KUDOS_CHANNEL: the feed is posted without inviting the bot.
    needed.add("chat:write.public")
    assert set(declared) == needed, {
        "missing": sorted(needed - set(declared)),
        "not needed": sorted(set(declared) - needed),
        "methods called": sorted(called),
    }
    assert not OPTIONAL_SCOPES & set(declared)  # the manifest ships without them


def test_the_commented_history_block_adds_exactly_the_optional_scopes(
    manifest: dict[str, Any],
) -> None:
    """The documented variant: uncommenting the block gives a valid manifest asking for the
    same scopes plus the two optional ones, and nothing else changes."""
    text = (ROOT / "manifest.yml").read_text()
    uncommented = re.sub(r"(?m)^(\s*)# (- (?:channels|groups):history\b)", r"\1\2", text)
    assert uncommented != text
    variant = yaml.safe_load(uncommented)
    declared = manifest["oauth_config"]["scopes"]["bot"]
    assert variant["oauth_config"]["scopes"]["bot"] == [*declared, *sorted(OPTIONAL_SCOPES)]
    variant["oauth_config"]["scopes"]["bot"] = declared
    assert variant == manifest
    assert "conversations.history" in methods_called()  # what the two scopes would serve


def test_docs_scopes_lists_every_scope_the_manifest_asks_for(manifest: dict[str, Any]) -> None:
    listed = set(
        re.findall(r"(?m)^\| `([a-z.:]+)` \|", (ROOT / "docs" / "scopes.md").read_text())
    )
    assert listed == set(manifest["oauth_config"]["scopes"]["bot"])


def test_the_readme_names_every_scope_the_manifest_asks_for(manifest: dict[str, Any]) -> None:
    readme = (ROOT / "README.md").read_text()
    marker = "`manifest.yml` asks for"
    sentence = readme[readme.index(marker) + len(marker) :].split(";", 1)[0]
    assert set(re.findall(r"`([a-z.:]+)`", sentence)) == set(
        manifest["oauth_config"]["scopes"]["bot"]
    )
