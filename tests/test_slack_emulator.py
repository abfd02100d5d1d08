"""The Slack emulator and signed-request helper, exercised through the real slack_sdk client.

If these pass, other tests can trust that what works against the emulator speaks Slack's
protocol: the same client, the same shapes, the same error codes and 429s.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from bot.demo.emulator import SlackEmulator
from tests.slack_requests import SlackRequests

SECRET = "test-signing-secret"


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.add_user("UALICE", "alice", email="alice@example.com")
        emulator.add_user("UBOB", "bob", tz="Europe/London")
        emulator.add_channel("CKUDOS", "kudos")
        yield emulator


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=emu.bot_token, base_url=emu.url, retry_handlers=[], timeout=5)


def slack_error(call: Callable[..., Any], **kwargs: Any) -> SlackApiError:
    """Run a Web API call that must fail and return the SlackApiError for assertions."""
    with pytest.raises(SlackApiError) as info:
        call(**kwargs)
    return info.value


def error_code(call: Callable[..., Any], **kwargs: Any) -> str:
    return slack_error(call, **kwargs).response["error"]


def modal(title: str = "Check-in", blocks: int = 1, **extra: Any) -> dict[str, Any]:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "How was your week?"}}
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": [section] * blocks,
        **extra,
    }


# --- auth and plumbing ------------------------------------------------------------------------


def test_auth_test_shape_and_headers(emu: SlackEmulator, client: WebClient) -> None:
    response = client.auth_test()
    assert response.data == {
        "ok": True,
        "url": "https://example.slack.com/",
        "team": "Example",
        "user": "pulsebot",
        "team_id": "T0TEAM",
        "user_id": "UBOT",
        "bot_id": "BBOT",
        "is_enterprise_install": False,
    }
    headers = {name.lower(): value for name, value in response.headers.items()}
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["x-slack-req-id"]
    call = emu.calls("auth.test")[0]
    assert call.headers["authorization"] == "Bearer xoxb-test-token"
    assert call.status == 200
    assert call.path == "/api/auth.test"


def test_unknown_method_answers_like_slack(client: WebClient) -> None:
    error = slack_error(client.api_call, api_method="chat.postMesage")
    assert error.response.status_code == 200
    assert error.response["error"] == "unknown_method"


def test_wrong_token_is_invalid_auth_and_missing_token_is_not_authed(emu: SlackEmulator) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=emu.url, retry_handlers=[])
    assert error_code(wrong.auth_test) == "invalid_auth"
    anonymous = WebClient(base_url=emu.url, retry_handlers=[])
    assert error_code(anonymous.auth_test) == "not_authed"


def test_token_as_form_field_and_get_query_are_accepted(emu: SlackEmulator) -> None:
    form = httpx.post(emu.url + "users.info", data={"token": emu.bot_token, "user": "UALICE"})
    assert form.json()["user"]["id"] == "UALICE"
    query = httpx.get(emu.url + "users.info", params={"token": emu.bot_token, "user": "UBOB"})
    assert query.json()["user"]["id"] == "UBOB"


def test_token_inside_a_json_body_is_not_authentication(emu: SlackEmulator) -> None:
    response = httpx.post(emu.url + "auth.test", json={"token": emu.bot_token})
    assert response.json() == {"ok": False, "error": "not_authed"}


def test_form_encoded_blocks_are_decoded_for_assertions(emu: SlackEmulator) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]
    response = httpx.post(
        emu.url + "chat.postMessage",
        data={"channel": "C0GENERAL", "text": "hi", "blocks": json.dumps(blocks)},
        headers={"Authorization": f"Bearer {emu.bot_token}"},
    )
    assert response.json()["ok"] is True
    assert emu.calls("chat.postMessage")[0]["blocks"] == blocks


# --- users --------------------------------------------------------------------------------------


def test_users_info_returns_a_full_user_object(emu: SlackEmulator, client: WebClient) -> None:
    user = client.users_info(user="UALICE")["user"]
    assert user["id"] == "UALICE"
    assert user["team_id"] == "T0TEAM"
    assert user["name"] == "alice"
    assert user["deleted"] is False
    assert user["is_bot"] is False
    assert user["is_app_user"] is False
    assert user["tz"] == "America/New_York"
    assert user["tz_offset"] in (-5 * 3600, -4 * 3600)
    assert user["tz_label"] in ("Eastern Standard Time", "Eastern Daylight Time")
    assert user["profile"]["email"] == "alice@example.com"
    assert {"real_name", "display_name", "image_72"} <= user["profile"].keys()
    assert isinstance(user["updated"], int)


def test_users_without_tz_slackbot_bots_guests_and_external(
    emu: SlackEmulator, client: WebClient
) -> None:
    emu.add_user("UNOTZ", "notz", tz=None)
    emu.add_user("UGUEST", "guest", is_restricted=True)
    emu.add_user("WEXT", "ext", team_id="T0OTHER")
    assert "tz" not in client.users_info(user="UNOTZ")["user"]
    assert "tz_offset" not in client.users_info(user="UNOTZ")["user"]
    assert client.users_info(user="USLACKBOT")["user"]["is_bot"] is False
    assert client.users_info(user="UBOT")["user"]["is_bot"] is True
    assert client.users_info(user="UGUEST")["user"]["is_restricted"] is True
    assert client.users_info(user="WEXT")["user"]["team_id"] == "T0OTHER"
    assert error_code(client.users_info, user="UNOBODY") == "user_not_found"


def test_users_list_paginates_with_an_opaque_cursor(emu: SlackEmulator, client: WebClient) -> None:
    for i in range(5):
        emu.add_user(f"UPAGE{i}", f"page{i}", deleted=i == 0)
    emu.add_user("WEXT", "ext", team_id="T0OTHER")
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        page = client.users_list(limit=3, cursor=cursor or None)
        assert len(page["members"]) <= 3
        seen += [member["id"] for member in page["members"]]
        pages += 1
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
        assert not cursor.startswith(("U", "W"))  # opaque, not a raw user id
    expected = ["USLACKBOT", "UBOT", "UALICE", "UBOB", *(f"UPAGE{i}" for i in range(5))]
    assert seen == expected  # deactivated users included, external users not
    assert pages == 3
    assert error_code(client.users_list, cursor="bm90LWEtY3Vyc29y") == "invalid_cursor"


def test_users_lookup_by_email(emu: SlackEmulator, client: WebClient) -> None:
    assert client.users_lookupByEmail(email="ALICE@example.com")["user"]["id"] == "UALICE"
    emu.add_user("UGONE", "gone", deleted=True, email="gone@example.com")
    assert error_code(client.users_lookupByEmail, email="gone@example.com") == "users_not_found"
    assert error_code(client.users_lookupByEmail, email="no@example.com") == "users_not_found"


# --- conversations ------------------------------------------------------------------------------


def test_conversations_open_is_stable_and_refuses_bots_and_deactivated(
    emu: SlackEmulator, client: WebClient
) -> None:
    first = client.conversations_open(users="UALICE")
    again = client.conversations_open(users="UALICE")
    assert first["channel"]["id"] == again["channel"]["id"] == emu.dm_channel_id("UALICE")
    assert first["channel"]["id"].startswith("D")
    assert again["already_open"] is True
    emu.add_user("UGONE", "gone", deleted=True)
    assert error_code(client.conversations_open, users="UGONE") == "user_disabled"
    assert error_code(client.conversations_open, users="UBOT") == "cannot_dm_bot"
    assert error_code(client.conversations_open, users="UNOBODY") == "user_not_found"


def test_conversations_info(emu: SlackEmulator, client: WebClient) -> None:
    emu.add_channel("CSECRET", "secret", is_private=True, bot_is_member=False)
    channel = client.conversations_info(channel="CKUDOS")["channel"]
    assert (channel["id"], channel["name"], channel["is_private"]) == ("CKUDOS", "kudos", False)
    dm = client.conversations_info(channel=emu.dm_channel_id("UALICE"))["channel"]
    assert dm["is_im"] is True and dm["user"] == "UALICE"
    assert error_code(client.conversations_info, channel="CNOPE") == "channel_not_found"
    assert error_code(client.conversations_info, channel="CSECRET") == "channel_not_found"


# --- chat ---------------------------------------------------------------------------------------


def test_post_message_to_a_channel_stores_it_with_unique_increasing_ts(
    emu: SlackEmulator, client: WebClient
) -> None:
    metadata = {"event_type": "kudos_given", "event_payload": {"id": "7"}}
    first = client.chat_postMessage(channel="CKUDOS", text="one", metadata=metadata)
    second = client.chat_postMessage(channel="#kudos", text="two", thread_ts=first["ts"])
    assert first["channel"] == second["channel"] == "CKUDOS"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["text"] == "one"
    assert first["message"]["bot_id"] == "BBOT"
    stored = emu.messages("CKUDOS")
    assert [m["text"] for m in stored] == ["one", "two"]
    assert stored[0]["metadata"] == metadata
    assert stored[1]["thread_ts"] == first["ts"]
    assert stored[0]["user"] == "UBOT"


def test_post_message_to_a_user_id_goes_to_the_dm(emu: SlackEmulator, client: WebClient) -> None:
    response = client.chat_postMessage(channel="UALICE", text="How was your week?")
    assert response["channel"] == emu.dm_channel_id("UALICE")
    assert response["channel"].startswith("D")
    assert emu.messages("UALICE")[0]["text"] == "How was your week?"
    assert emu.messages(response["channel"]) == emu.messages("UALICE")


def test_post_message_target_errors(emu: SlackEmulator, client: WebClient) -> None:
    emu.add_user("UGONE", "gone", deleted=True)
    emu.add_channel("COLD", "old", is_archived=True)
    emu.add_channel("CSECRET", "secret", is_private=True, bot_is_member=False)
    emu.add_channel("COPEN", "open", bot_is_member=False)
    post = client.chat_postMessage
    assert post(channel="UGONE", text="hi")["ok"] is True  # Slack accepts it (sdk#1156)
    assert post(channel="COPEN", text="hi")["ok"] is True  # chat:write.public
    assert error_code(post, channel="UBOT", text="hi") == "cannot_dm_bot"
    assert error_code(post, channel="UNOBODY", text="hi") == "channel_not_found"
    assert error_code(post, channel="CNOPE", text="hi") == "channel_not_found"
    assert error_code(post, channel="DSOMEONEELSE", text="hi") == "channel_not_found"
    assert error_code(post, channel="COLD", text="hi") == "is_archived"
    assert error_code(post, channel="CSECRET", text="hi") == "channel_not_found"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_content_errors(client: WebClient) -> None:
    post = client.chat_postMessage
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    assert error_code(post, channel="C0GENERAL") == "no_text"
    assert error_code(post, channel="C0GENERAL", text="x" * 40_001) == "msg_too_long"
    error = slack_error(post, channel="C0GENERAL", text="x", blocks=[section] * 51)
    assert error.response["error"] == "invalid_blocks"
    assert error.response["response_metadata"]["messages"] == [
        "[ERROR] no more than 50 items allowed [json-pointer:/blocks]"
    ]
    long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3_001}}
    error = slack_error(post, channel="C0GENERAL", text="x", blocks=[long_section])
    assert "/blocks/0/text/text" in error.response["response_metadata"]["messages"][0]


def test_chat_update_edits_the_stored_message(emu: SlackEmulator, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="UALICE", text="Rate your week")
    updated = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Thanks!")
    assert updated["ts"] == posted["ts"]
    assert updated["message"]["text"] == "Thanks!"
    assert [m["text"] for m in emu.messages("UALICE")] == ["Thanks!"]
    update = client.chat_update
    assert error_code(update, channel=posted["channel"], ts="1.000001", text="x") == (
        "message_not_found"
    )
    assert error_code(update, channel="UALICE", ts=posted["ts"], text="x") == "channel_not_found"
    assert error_code(update, channel="CNOPE", ts=posted["ts"], text="x") == "channel_not_found"


def test_ephemeral_permalink_and_reaction(emu: SlackEmulator, client: WebClient) -> None:
    ephemeral = client.chat_postEphemeral(channel="C0GENERAL", user="UALICE", text="only you")
    assert ephemeral["message_ts"]
    posted = client.chat_postMessage(channel="CKUDOS", text="kudos!")
    link = client.chat_getPermalink(channel="CKUDOS", message_ts=posted["ts"])["permalink"]
    assert link == f"https://example.slack.com/archives/CKUDOS/p{posted['ts'].replace('.', '')}"
    permalink = client.chat_getPermalink
    assert error_code(permalink, channel="CKUDOS", message_ts="1.000001") == "message_not_found"
    client.reactions_add(channel="CKUDOS", name="tada", timestamp=posted["ts"])
    assert emu.messages("CKUDOS")[0]["reactions"] == [
        {"name": "tada", "users": ["UBOT"], "count": 1}
    ]
    react = client.reactions_add
    assert error_code(react, channel="CKUDOS", name="tada", timestamp=posted["ts"]) == (
        "already_reacted"
    )


# --- views --------------------------------------------------------------------------------------


def test_views_open_returns_the_view_and_triggers_are_single_use(
    emu: SlackEmulator, client: WebClient
) -> None:
    view = modal(callback_id="checkin", private_metadata="42")
    opened = client.views_open(trigger_id="123.456.abc", view=view)["view"]
    assert opened["id"].startswith("V")
    assert opened["team_id"] == "T0TEAM"
    assert (opened["type"], opened["callback_id"], opened["private_metadata"]) == (
        "modal",
        "checkin",
        "42",
    )
    assert opened["state"] == {"values": {}}
    assert opened["hash"] and opened["blocks"][0]["block_id"]
    assert emu.view(opened["id"])["callback_id"] == "checkin"
    assert error_code(client.views_open, trigger_id="123.456.abc", view=view) == (
        "expired_trigger_id"
    )
    assert error_code(client.views_open, trigger_id="expired.1", view=view) == (
        "expired_trigger_id"
    )
    assert error_code(client.views_open, trigger_id="", view=view) == "invalid_arguments"


def test_views_open_enforces_block_kit_limits(client: WebClient) -> None:
    error = slack_error(client.views_open, trigger_id="t1", view=modal(title="x" * 25))
    assert error.response["error"] == "invalid_arguments"
    assert error.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    error = slack_error(client.views_open, trigger_id="t2", view=modal(blocks=101))
    assert error.response["response_metadata"]["messages"] == [
        "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"
    ]


def test_views_update_push_and_publish(emu: SlackEmulator, client: WebClient) -> None:
    opened = client.views_open(trigger_id="t1", view=modal(external_id="checkin-1"))["view"]
    updated = client.views_update(view_id=opened["id"], view=modal("Page 2"), hash=opened["hash"])
    assert updated["view"]["id"] == opened["id"]
    assert updated["view"]["title"]["text"] == "Page 2"
    by_external = client.views_update(external_id="checkin-1", view=modal("Page 3"))
    assert by_external["view"]["id"] == opened["id"]
    update = client.views_update
    assert error_code(update, view_id=opened["id"], view=modal(), hash=opened["hash"]) == (
        "hash_conflict"
    )
    assert error_code(update, view_id="VNOPE", view=modal()) == "not_found"
    pushed = client.views_push(trigger_id="t2", view=modal("Pushed"))["view"]
    assert pushed["id"] != opened["id"]
    home = {"type": "home", "blocks": [{"type": "divider"}]}
    published = client.views_publish(user_id="UALICE", view=home)["view"]
    assert published["type"] == "home"
    assert emu.home_view("UALICE")["id"] == published["id"]
    assert error_code(client.views_publish, user_id="UALICE", view=modal()) == ("invalid_arguments")


# --- files --------------------------------------------------------------------------------------


def test_files_upload_v2_round_trip(emu: SlackEmulator, client: WebClient) -> None:
    png = b"\x89PNG\r\n\x1a\nchart"
    response = client.files_upload_v2(
        channel="CKUDOS",
        content=png,
        filename="digest.png",
        title="Digest",
        initial_comment="Weekly digest",
    )
    file_id = response["file"]["id"]
    assert response["files"][0]["title"] == "Digest"
    assert emu.file(file_id)["content"] == png
    assert [c.method for c in emu.calls()] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    message = emu.messages("CKUDOS")[0]
    assert message["text"] == "Weekly digest"
    assert message["files"][0]["id"] == file_id
    complete = client.files_completeUploadExternal
    assert error_code(complete, files=[{"id": "FNOPE"}]) == "file_not_found"


def test_files_are_shared_into_conversations_only_and_images_need_a_completed_file(
    emu: SlackEmulator, client: WebClient
) -> None:
    ticket = client.files_getUploadURLExternal(filename="c.png", length=4)
    file_id = ticket["file_id"]
    image = {"type": "image", "slack_file": {"id": file_id}, "alt_text": "chart"}
    # Not uploaded and completed yet: Slack refuses an image block naming it.
    post = client.chat_postMessage
    assert error_code(post, channel="UALICE", text="x", blocks=[image]) == "invalid_blocks"
    assert httpx.post(ticket["upload_url"], content=b"\x89PNG").status_code == 200
    complete = client.files_completeUploadExternal
    # Like Slack: a user id is not a channel (only C, G, D or Z ids are).
    assert error_code(complete, files=[{"id": file_id}], channel_id="UALICE") == ("invalid_channel")
    # No channel: a private file, completed, shared nowhere.
    client.files_completeUploadExternal(files=[{"id": file_id, "title": "Chart"}])
    assert emu.file(file_id)["completed"] and emu.file(file_id)["channels"] == []
    assert post(channel="UALICE", text="x", blocks=[image])["ok"]


# --- rate limits and faults ---------------------------------------------------------------------


def test_method_rate_limit_answers_429_with_retry_after(
    emu: SlackEmulator, client: WebClient
) -> None:
    emu.set_rate_limit("users.info", per_minute=2)
    client.users_info(user="UALICE")
    client.users_info(user="UALICE")
    error = slack_error(client.users_info, user="UALICE")
    assert error.response.status_code == 429
    assert error.response["error"] == "ratelimited"
    assert int(error.response.headers["retry-after"]) >= 1
    assert emu.rate_limited_count("users.info") == 1
    assert emu.rate_limited_count() == 1
    assert len(emu.calls("users.info")) == 3  # the 429 is recorded too
    client.auth_test()  # other methods are unaffected


def test_fixed_retry_after_and_burst(emu: SlackEmulator, client: WebClient) -> None:
    emu.set_rate_limit("chat.update", per_minute=50, burst=1, retry_after=7)
    posted = client.chat_postMessage(channel="C0GENERAL", text="a")
    client.chat_update(channel="C0GENERAL", ts=posted["ts"], text="b")
    error = slack_error(client.chat_update, channel="C0GENERAL", ts=posted["ts"], text="c")
    assert error.response.headers["retry-after"] == "7"


def test_strict_window_limit_counts_calls_in_any_second(
    emu: SlackEmulator, client: WebClient
) -> None:
    emu.set_window_limit("users.info", calls=3, seconds=1.0)
    for _ in range(3):
        client.users_info(user="UALICE")
    error = slack_error(client.users_info, user="UALICE")
    assert error.response.status_code == 429
    assert int(error.response.headers["retry-after"]) == 1
    time.sleep(1.05)  # the first three left the window
    client.users_info(user="UALICE")


def test_default_burst_is_a_few_calls_not_a_minutes_worth(
    emu: SlackEmulator, client: WebClient
) -> None:
    emu.set_rate_limit("users.info", per_minute=600)  # 10/s: a burst of 12, not 600
    answered = [client.users_info(user="UALICE") for _ in range(12)]
    assert all(r["ok"] for r in answered)
    # Tokens come back at 10/s, so a busy machine may earn one or two meanwhile: a 429 must
    # come within a few more calls, where a minute's worth of burst would allow them all.
    statuses = []
    for _ in range(20):
        try:
            client.users_info(user="UALICE")
            statuses.append(200)
        except SlackApiError as error:
            statuses.append(error.response.status_code)
            break
    assert statuses[-1] == 429, statuses


def test_channel_rate_limit_is_per_channel(emu: SlackEmulator, client: WebClient) -> None:
    emu.set_channel_rate_limit(per_second=1.0, burst=1)
    client.chat_postMessage(channel="C0GENERAL", text="1")
    client.chat_postMessage(channel="CKUDOS", text="1")
    error = slack_error(client.chat_postMessage, channel="C0GENERAL", text="2")
    assert error.response.status_code == 429
    assert error.response.headers["retry-after"] == "1"
    assert len(emu.messages("C0GENERAL")) == 1


def test_injected_500_without_json_then_recovery(emu: SlackEmulator, client: WebClient) -> None:
    emu.inject_fault("users.info", status=500, times=2)
    for _ in range(2):
        assert slack_error(client.users_info, user="UALICE").response.status_code == 500
    assert client.users_info(user="UALICE")["ok"] is True
    assert [c.status for c in emu.calls("users.info")] == [500, 500, 200]


def test_injected_json_errors_and_429(emu: SlackEmulator, client: WebClient) -> None:
    emu.inject_fault("auth.test", status=503, error="internal_error")
    error = slack_error(client.auth_test)
    assert (error.response.status_code, error.response["error"]) == (503, "internal_error")
    emu.inject_fault("auth.test", error="fatal_error")
    assert error_code(client.auth_test) == "fatal_error"
    emu.inject_fault("auth.test", status=429, retry_after=3)
    error = slack_error(client.auth_test)
    assert error.response.headers["retry-after"] == "3"
    assert emu.rate_limited_count("auth.test") == 1


def test_injected_delay_does_not_block_other_clients(emu: SlackEmulator) -> None:
    emu.inject_fault("users.info", delay=0.4)
    slow_client = WebClient(token=emu.bot_token, base_url=emu.url, retry_handlers=[])
    results: dict[str, float] = {}

    def slow() -> None:
        started = time.monotonic()
        slow_client.users_info(user="UALICE")
        results["slow"] = time.monotonic() - started

    thread = threading.Thread(target=slow)
    thread.start()
    while not emu.calls("users.info"):  # the slow call is in flight (recorded, unanswered)
        time.sleep(0.005)
    started = time.monotonic()
    WebClient(token=emu.bot_token, base_url=emu.url).auth_test()
    results["fast"] = time.monotonic() - started
    thread.join()
    assert results["slow"] >= 0.4
    assert results["fast"] < 0.3


def test_injected_delay_trips_a_client_timeout(emu: SlackEmulator) -> None:
    emu.inject_fault("chat.postMessage", delay=0.5)
    impatient = WebClient(token=emu.bot_token, base_url=emu.url, retry_handlers=[], timeout=0.1)
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="C0GENERAL", text="hi")


# --- recording ----------------------------------------------------------------------------------


def test_wait_for_sees_calls_from_other_threads(emu: SlackEmulator, client: WebClient) -> None:
    def later() -> None:
        time.sleep(0.05)
        client.chat_postMessage(channel="UBOB", text="reminder")

    threading.Thread(target=later).start()
    calls = emu.wait_for(
        "chat.postMessage", timeout=2, predicate=lambda c: emu.messages("UBOB") != []
    )
    assert calls[0]["channel"] == "UBOB"
    with pytest.raises(AssertionError, match=r"chat\.postMessage"):
        emu.wait_for("chat.postMessage", count=2, timeout=0.05)


def test_reset_forgets_activity_but_keeps_the_workspace(
    emu: SlackEmulator, client: WebClient
) -> None:
    client.chat_postMessage(channel="CKUDOS", text="x")
    emu.set_rate_limit("auth.test", per_minute=1)
    emu.reset()
    assert emu.calls() == []
    assert emu.messages("CKUDOS") == []
    client.auth_test()
    client.auth_test()  # limit gone
    assert client.users_info(user="UALICE")["ok"] is True
    assert client.conversations_info(channel="CKUDOS")["ok"] is True


def test_many_threads_are_all_recorded_with_unique_ts(emu: SlackEmulator) -> None:
    def work() -> None:
        worker = WebClient(token=emu.bot_token, base_url=emu.url, retry_handlers=[])
        for _ in range(25):
            worker.chat_postMessage(channel="C0GENERAL", text="load")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(emu.calls("chat.postMessage")) == 200
    assert len({m["ts"] for m in emu.messages("C0GENERAL")}) == 200


# --- signed requests ----------------------------------------------------------------------------


class Captured:
    """An httpx transport that keeps requests instead of sending them."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200)


@pytest.fixture
def captured() -> Captured:
    return Captured()


@pytest.fixture
def slack(captured: Captured, emu: SlackEmulator) -> SlackRequests:
    http = httpx.Client(transport=httpx.MockTransport(captured))
    return SlackRequests("http://app.test", SECRET, client=http, response_url_base=emu.hooks_url)


def payload_of(request: httpx.Request) -> dict[str, Any]:
    return json.loads(parse_qs(request.content.decode())["payload"][0])


def test_signatures_verify_with_slack_sdk(slack: SlackRequests, captured: Captured) -> None:
    slack.command("/kudos", "@bob great demo", user_id="UALICE")
    slack.block_action(user_id="UALICE", action_id="rate", value="4")
    slack.view_submission(user_id="UALICE", callback_id="checkin", values={})
    slack.message_shortcut(
        user_id="UALICE",
        callback_id="kudos",
        channel_id="C0GENERAL",
        message={"ts": "1.000001", "text": "hi"},
    )
    slack.event({"type": "app_home_opened", "user": "UALICE"}, retry_num=1)
    slack.url_verification("challenge-me")
    verifier = SignatureVerifier(SECRET)
    assert len(captured.requests) == 6
    for request in captured.requests:
        assert request.url.path == "/slack/events"
        assert verifier.is_valid_request(request.content, dict(request.headers))
    stale = slack.sign(b"body", timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(b"body", stale)
    assert not SignatureVerifier("other").is_valid_request(
        captured.requests[0].content, dict(captured.requests[0].headers)
    )


def test_request_shapes(slack: SlackRequests, captured: Captured, emu: SlackEmulator) -> None:
    slack.command("/checkin", "now", user_id="UALICE")
    slack.command("/checkin", "again", user_id="UALICE")
    form = {k: v[0] for k, v in parse_qs(captured.requests[0].content.decode()).items()}
    assert form["command"] == "/checkin" and form["text"] == "now"
    assert form["user_id"] == "UALICE" and form["team_id"] == "T0TEAM"
    assert form["response_url"].startswith(emu.hooks_url)
    again = parse_qs(captured.requests[1].content.decode())
    assert again["trigger_id"][0] != form["trigger_id"]

    slack.view_submission(
        user_id="UALICE",
        callback_id="checkin",
        values={"mood": {"score": {"type": "static_select", "selected_option": {"value": "4"}}}},
        private_metadata="run-9",
    )
    view = payload_of(captured.requests[2])["view"]
    assert view["state"]["values"]["mood"]["score"]["selected_option"]["value"] == "4"
    assert view["private_metadata"] == "run-9"

    slack.event({"type": "app_home_opened", "user": "UALICE"}, event_id="Ev1", retry_num=2)
    envelope = json.loads(captured.requests[3].content)
    assert (envelope["type"], envelope["event_id"]) == ("event_callback", "Ev1")
    assert captured.requests[3].headers["x-slack-retry-num"] == "2"
    assert captured.requests[3].headers["x-slack-retry-reason"] == "http_timeout"


def test_bolt_accepts_every_request_kind(
    slack: SlackRequests, captured: Captured, emu: SlackEmulator, client: WebClient
) -> None:
    """Bolt parses and routes each payload; respond() reaches the emulator's response_url."""
    app = App(client=client, signing_secret=SECRET, process_before_response=True)
    seen: list[str] = []

    @app.command("/kudos")
    def on_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        ack()
        respond(f"thanks, {command['text']}")
        seen.append("command")

    @app.action("rate")
    def on_action(ack: Any, action: dict[str, Any]) -> None:
        ack()
        seen.append(f"action:{action['value']}")

    @app.view("checkin")
    def on_view(ack: Any, view: dict[str, Any]) -> None:
        ack()
        seen.append(f"view:{view['private_metadata']}")

    @app.shortcut("give_kudos")
    def on_shortcut(ack: Any, shortcut: dict[str, Any]) -> None:
        ack()
        seen.append(f"shortcut:{shortcut['message']['ts']}")

    @app.event("app_home_opened")
    def on_event(event: dict[str, Any]) -> None:
        seen.append(f"event:{event['user']}")

    slack.command("/kudos", "bob", user_id="UALICE")
    slack.block_action(user_id="UALICE", action_id="rate", value="5")
    slack.view_submission(user_id="UALICE", callback_id="checkin", values={}, private_metadata="m")
    slack.message_shortcut(
        user_id="UALICE",
        callback_id="give_kudos",
        channel_id="C0GENERAL",
        message={"type": "message", "ts": "1.000002", "text": "hi"},
    )
    slack.event({"type": "app_home_opened", "user": "UALICE", "tab": "home"})
    slack.url_verification("abc")
    for request in captured.requests:
        headers = {k: [v] for k, v in request.headers.items()}
        response = app.dispatch(BoltRequest(body=request.content.decode(), headers=headers))
        assert response.status == 200, response.body
    assert seen == ["command", "action:5", "view:m", "shortcut:1.000002", "event:UALICE"]
    assert emu.calls("response_url")[0]["text"] == "thanks, bob"


# ----- history, metadata and answers that never arrive ------------------------------------------


def test_history_and_replies_carry_metadata_only_when_asked(
    emu: SlackEmulator, client: WebClient
) -> None:
    meta = {"event_type": "pulsebot_outbox", "event_payload": {"key": "k1"}}
    parent = client.chat_postMessage(channel="UALICE", text="parent", metadata=meta)
    dm = parent["channel"]
    assert dm.startswith("D")
    reply = client.chat_postMessage(channel=dm, text="reply", thread_ts=parent["ts"], metadata=meta)
    client.chat_postMessage(channel=dm, text="later")

    history = client.conversations_history(channel=dm, include_all_metadata=True, limit=10)
    assert [m["text"] for m in history["messages"]] == ["later", "parent"]  # newest first
    assert history["messages"][1]["metadata"] == meta
    assert "metadata" not in client.conversations_history(channel=dm)["messages"][1]
    oldest = client.conversations_history(channel=dm, oldest=parent["ts"])["messages"]
    assert [m["text"] for m in oldest] == ["later"]  # oldest is exclusive

    thread = client.conversations_replies(channel=dm, ts=parent["ts"], include_all_metadata=True)
    assert [m["ts"] for m in thread["messages"]] == [parent["ts"], reply["ts"]]
    assert thread["messages"][1]["metadata"] == meta
    assert slack_error(client.conversations_replies, channel=dm, ts="1.000001").response[
        "error"
    ] == "thread_not_found"


def test_history_needs_its_scope_and_membership(emu: SlackEmulator, client: WebClient) -> None:
    emu.add_channel("C0OUTSIDE", "outside", bot_is_member=False)
    outside = slack_error(client.conversations_history, channel="C0OUTSIDE")
    assert outside.response["error"] == "not_in_channel"
    emu.set_scopes("chat:write,users:read")
    dm = client.chat_postMessage(channel="UALICE", text="hi")["channel"]
    missing = slack_error(client.conversations_history, channel=dm)
    assert missing.response["error"] == "missing_scope"
    assert missing.response["needed"] == "im:history"


@pytest.mark.parametrize(("lost", "stored"), [("before", 0), ("after", 1)])
def test_a_lost_answer_drops_the_connection_before_or_after_storing(
    emu: SlackEmulator, client: WebClient, lost: str, stored: int
) -> None:
    emu.inject_fault("chat.postMessage", lost_answer=lost)
    with pytest.raises(Exception) as raised:
        client.chat_postMessage(channel="C0GENERAL", text="maybe")
    assert not isinstance(raised.value, SlackApiError)  # no answer at all, not an error answer
    assert len(emu.messages("C0GENERAL")) == stored
    client.chat_postMessage(channel="C0GENERAL", text="next")  # the next call is answered


def test_a_held_answer_arrives_late_after_storing(emu: SlackEmulator) -> None:
    emu.inject_fault("chat.postMessage", hold=2.0)
    impatient = WebClient(token=emu.bot_token, base_url=emu.url, timeout=1, retry_handlers=[])
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="C0GENERAL", text="slow")
    assert [m["text"] for m in emu.messages("C0GENERAL")] == ["slow"]
