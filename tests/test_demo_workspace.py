"""The demo client's Slack rules, against the emulator and a recorder in place of the app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient

from bot.demo.emulator import SlackEmulator
from bot.demo.slack_payloads import AppAnswer
from bot.demo.workspace import Workspace
from handlers import ids


class Recorder:
    """Stands in for SlackPayloads: records what would be sent, answers like the app."""

    team_id = "T0TEAM"

    def __init__(self, answer: AppAnswer | None = None) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.answer = answer or AppAnswer(200, b"")
        self.n = 0
        self.hooks = "http://127.0.0.1:1/hooks/"  # where its response_urls point

    def trigger_id(self) -> str:
        self.n += 1
        return f"1.2.trigger{self.n}"

    def response_url(self, kind: str) -> str:
        self.n += 1
        return f"{self.hooks}{kind}/{self.n}"

    def __getattr__(self, name: str) -> Any:
        def send(*args: Any, **kwargs: Any) -> AppAnswer:
            self.sent.append((name, {"args": args, **kwargs}))
            return self.answer

        return send


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator() as slack:
        slack.add_user("U0BEN", "ben")
        slack.add_user("U0ANA", "ana")
        slack.add_channel("C0KUDOS", "kudos")
        yield slack


def workspace(emulator: SlackEmulator, recorder: Recorder) -> Workspace:
    now = datetime(2031, 5, 2, 9, 0, tzinfo=UTC)
    return Workspace(emulator, recorder, lambda: now, jump=lambda at: at)  # type: ignore[arg-type]


def test_a_dm_message_is_a_message_im_event_only_when_the_app_subscribes(
    emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    ws = workspace(emulator, recorder)
    dm = emulator.dm_channel_id("U0BEN")
    monkeypatch.setattr(ids, "BOT_EVENTS", tuple(e for e in ids.BOT_EVENTS if e != "message.im"))
    ws.compose("U0BEN", dm, "hello")
    assert recorder.sent == []  # Slack sends no event the app did not subscribe to
    parent = emulator.messages(dm)[-1]

    monkeypatch.setattr(ids, "BOT_EVENTS", (*ids.BOT_EVENTS, "message.im"))
    ws.compose("U0BEN", dm, "thanks @ana <3", thread_ts=parent["ts"])
    kind, sent = recorder.sent[-1]
    event = sent["args"][0]
    assert kind == "event"
    assert event["type"] == "message" and event["channel_type"] == "im"
    assert event["text"] == "thanks <@U0ANA> &lt;3"
    assert event["thread_ts"] == parent["ts"] and event["parent_user_id"] == "U0BEN"
    assert emulator.messages(dm)[0]["reply_count"] == 1


def test_an_unknown_command_is_refused_by_slack_not_sent(emulator: SlackEmulator) -> None:
    recorder = Recorder()
    ws = workspace(emulator, recorder)
    ws.compose("U0BEN", "C0KUDOS", "/nope hi")
    assert recorder.sent == []
    assert "not a valid command" in ws.ephemerals("U0BEN", "C0KUDOS")[0].text


def test_a_command_the_app_fails_says_so_like_slack(emulator: SlackEmulator) -> None:
    recorder = Recorder(AppAnswer(500, b""))
    ws = workspace(emulator, recorder)
    ws.compose("U0BEN", "C0KUDOS", "/kudos @ben hi")
    kind, sent = recorder.sent[0]
    assert kind == "command" and sent["args"][1] == "<@U0BEN|ben> hi"
    assert "dispatch_failed" in ws.ephemerals("U0BEN", "C0KUDOS")[0].text


def test_response_action_errors_update_push_and_clear(emulator: SlackEmulator) -> None:
    recorder = Recorder()
    ws = workspace(emulator, recorder)
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "One"},
        "submit": {"type": "plain_text", "text": "Go"},
        "blocks": [
            {
                "type": "input",
                "block_id": "b",
                "label": {"type": "plain_text", "text": "Name"},
                "element": {"type": "plain_text_input", "action_id": "a"},
            }
        ],
    }
    client = WebClient(token=emulator.bot_token, base_url=emulator.url)
    first = client.views_open(trigger_id="t1", view=view)["view"]["id"]  # as the app would
    ws.state("U0BEN").modals.append(first)

    ws.submit("U0BEN", first, {})
    assert ws.state("U0BEN").errors[first] == {"b": "Please complete this required field."}
    assert recorder.sent == []  # Slack's own check: nothing sent

    recorder.answer = AppAnswer(200, b'{"response_action":"errors","errors":{"b":"Too short"}}')
    ws.submit("U0BEN", first, {"i0": ["x"]})
    assert ws.state("U0BEN").errors[first] == {"b": "Too short"}
    submitted = recorder.sent[-1][1]["view"]
    assert submitted["state"]["values"] == {"b": {"a": {"type": "plain_text_input", "value": "x"}}}

    updated = {**view, "title": {"type": "plain_text", "text": "Two"}}
    recorder.answer = AppAnswer(200, b'{"response_action":"update","view":' + _json(updated) + b"}")
    ws.submit("U0BEN", first, {"i0": ["xy"]})
    assert [v["title"]["text"] for v in ws.modal_stack("U0BEN")] == ["Two"]

    recorder.answer = AppAnswer(200, b'{"response_action":"push","view":' + _json(view) + b"}")
    ws.submit("U0BEN", first, {"i0": ["xy"]})
    assert len(ws.modal_stack("U0BEN")) == 2

    top = ws.state("U0BEN").modals[-1]
    recorder.answer = AppAnswer(200, b"")
    ws.submit("U0BEN", top, {"i0": ["xy"]})  # no response_action: this view closes
    assert ws.state("U0BEN").modals == [first]

    recorder.answer = AppAnswer(200, b'{"response_action":"clear"}')
    ws.submit("U0BEN", first, {"i0": ["xy"]})
    assert ws.state("U0BEN").modals == []


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_a_reaction_click_adds_or_takes_back_and_slack_says_which(
    emulator: SlackEmulator,
) -> None:
    recorder = Recorder()
    ws = workspace(emulator, recorder)
    message = emulator.add_message("C0KUDOS", "U0BEN", "shipped")
    ws.react("U0ANA", "C0KUDOS", message["ts"], "tada")
    ws.react("U0BEN", "C0KUDOS", message["ts"], "tada")
    assert emulator.messages("C0KUDOS")[0]["reactions"] == [
        {"name": "tada", "users": ["U0ANA", "U0BEN"], "count": 2}
    ]
    ws.react("U0ANA", "C0KUDOS", message["ts"], "tada")  # her own again: taken back
    assert emulator.messages("C0KUDOS")[0]["reactions"][0]["users"] == ["U0BEN"]
    sent = [(kind, data) for kind, data in recorder.sent]
    assert [kind for kind, _ in sent] == ["reaction", "reaction", "reaction"]
    first, _, last = (data for _, data in sent)
    assert (first["added"], first["user_id"], first["item_user"]) == (True, "U0ANA", "U0BEN")
    assert (first["channel_id"], first["message_ts"], first["name"]) == (
        "C0KUDOS",
        message["ts"],
        "tada",
    )
    assert (last["added"], last["user_id"]) == (False, "U0ANA")
    ws.react("U0ANA", "C0KUDOS", "1.000001", "tada")  # no such message: nothing
    assert len(recorder.sent) == 3


def test_a_reaction_is_an_event_only_when_the_app_subscribes(
    emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    ws = workspace(emulator, recorder)
    message = emulator.add_message("C0KUDOS", "U0BEN", "shipped")
    monkeypatch.setattr(ids, "BOT_EVENTS", ("message.im",))
    ws.react("U0ANA", "C0KUDOS", message["ts"], "kudos")
    assert recorder.sent == []
    assert emulator.messages("C0KUDOS")[0]["reactions"][0]["name"] == "kudos"


def test_a_button_in_an_ephemeral_works_and_its_response_url_changes_it_in_place(
    emulator: SlackEmulator,
) -> None:
    """Slack sends a click in an "Only visible to you" message as block_actions with an
    ephemeral container and no message; a post to that click's response_url with
    replace_original changes the message where it is, delete_original removes it, and any
    other post is a new ephemeral."""
    recorder = Recorder(
        AppAnswer(200, _json({"text": "Your goals", "blocks": [_button_section("Update")]}))
    )
    recorder.hooks = emulator.hooks_url  # response_urls the emulator answers
    ws = workspace(emulator, recorder)
    ws.compose("U0BEN", "C0KUDOS", "/goals")
    [shown] = ws.ephemerals("U0BEN", "C0KUDOS")
    assert shown.key.startswith("eph:")

    ws.click("U0BEN", block_id="b1", action_id="update", channel_id="C0KUDOS",
             message_ts=shown.key)
    kind, sent = recorder.sent[-1]
    assert kind == "block_actions" and "message" not in sent
    assert sent["container"]["is_ephemeral"] is True
    assert sent["container"]["channel_id"] == "C0KUDOS"
    assert sent["action"]["action_id"] == "update" and sent["channel"]["id"] == "C0KUDOS"
    url = sent["response_url"]

    replaced = {"replace_original": True, "text": "Saved", "blocks": [_button_section("Again")]}
    assert httpx.post(url, json=replaced, timeout=5).status_code == 200
    [now] = ws.ephemerals("U0BEN", "C0KUDOS")
    assert (now.key, now.at, now.text) == (shown.key, shown.at, "Saved")
    assert ws.ephemerals("U0ANA", "C0KUDOS") == []  # only Ben sees it

    ws.click("U0BEN", block_id="b1", action_id="update", channel_id="C0KUDOS",
             message_ts=shown.key)  # the replaced message's button works too
    second = recorder.sent[-1][1]["response_url"]
    httpx.post(second, json={"text": "A new one"}, timeout=5)
    # (this workspace's clock stands still, so only the texts are compared, not the order)
    assert sorted(e.text for e in ws.ephemerals("U0BEN", "C0KUDOS")) == ["A new one", "Saved"]
    httpx.post(second, json={"delete_original": True}, timeout=5)
    assert [e.text for e in ws.ephemerals("U0BEN", "C0KUDOS")] == ["A new one"]

    before = len(recorder.sent)
    ws.click("U0BEN", block_id="b1", action_id="update", channel_id="C0KUDOS",
             message_ts="eph:c99")  # no such ephemeral: nothing is sent
    assert len(recorder.sent) == before


def _button_section(label: str) -> dict[str, Any]:
    return {
        "type": "section",
        "block_id": "b1",
        "text": {"type": "mrkdwn", "text": label},
        "accessory": {
            "type": "button",
            "action_id": "update",
            "text": {"type": "plain_text", "text": label},
            "value": "7",
        },
    }
