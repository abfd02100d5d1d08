"""`/kudos` end to end: real server, signed requests, the Slack emulator, the database."""

from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from bot.demo.emulator import SlackEmulator
from storage.models import Kudos, KudosRecipient, OutboxMessage
from tests.server import KUDOS_CHANNEL, RunningServer
from tests.slack_requests import SlackRequests
from tests.waiting import wait_until


def count(server: RunningServer, model: type) -> int:
    with server.deps.unit_of_work() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_kudos_command_posts_to_feed_and_dms_each_recipient(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    response = signed.command(
        "/kudos", "<@UBEN|ben> <@UCHO> thanks for the migration #teamwork", user_id="UANA"
    )
    assert response.status_code == 200
    body = response.json()
    assert "Kudos sent to <@UBEN> and <@UCHO>" in body["text"]
    assert "3 of 5 kudos left" in body["text"]

    feed = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == KUDOS_CHANNEL)
    assert "<@UANA> gave kudos to <@UBEN> and <@UCHO>" in feed[0]["text"]
    assert "`#teamwork`" in json.dumps(feed[0]["blocks"])
    dms = slack.wait_for(
        "chat.postMessage", count=2, predicate=lambda c: c["channel"] in {"UBEN", "UCHO"}
    )
    assert sorted(c["channel"] for c in dms) == ["UBEN", "UCHO"]
    assert all("thanks for the migration" in c["text"] for c in dms)
    assert slack.messages("UBEN")[0]["text"].startswith(":tada: <@UANA> gave you")

    with server.deps.unit_of_work() as session:
        kudos = session.scalars(select(Kudos)).one()
        assert kudos.giver_id == "UANA" and kudos.message == "thanks for the migration"
        assert {v.value for v in kudos.values} == {"teamwork"}
        rows = session.scalars(select(OutboxMessage)).all()
    wait_until(lambda: _all_sent(server))
    with server.deps.unit_of_work() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [r.status for r in rows] == ["sent"] * 3
        assert {r.result_channel for r in rows} == {KUDOS_CHANNEL, "DUBEN", "DUCHO"}
        assert all(r.result_ts for r in rows)


def test_refusals_are_ephemeral_and_change_nothing(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    cases = {
        "<@UANA> me": "yourself",
        "<@UROBOT> thanks": "bot",
        "<@UGONE> thanks": "deactivated",
        "<@UEXT> thanks": "another organisation",
        "<@UNOSUCH> thanks": "can't find",
        "<@UBEN> #teamwork": "need a message",
        "<@UBEN> " + "x" * 1001: "limit is 1000",
        "thanks all": "Mention who",
    }
    for text, expected in cases.items():
        response = signed.command("/kudos", text, user_id="UANA")
        assert response.status_code == 200
        body = response.json()
        assert expected in body["text"], (text, body)
        assert body.get("response_type", "ephemeral") == "ephemeral"
    assert count(server, Kudos) == 0
    assert count(server, OutboxMessage) == 0
    time.sleep(0.3)
    assert slack.calls("chat.postMessage") == []


def test_daily_budget_is_counted_in_recipients_and_refused_whole(
    server: RunningServer, signed: SlackRequests
) -> None:
    signed.command("/kudos", "<@UBEN> <@UCHO> <@UDEV> great launch", user_id="UANA")
    refused = signed.command("/kudos", "<@UBEN> <@UCHO> <@UDEV> again", user_id="UANA").json()
    assert "you have 2 left today" in refused["text"]
    assert count(server, KudosRecipient) == 3
    ok = signed.command("/kudos", "<@UBEN> <@UCHO> one more", user_id="UANA").json()
    assert "no kudos left" in ok["text"]


def test_guest_may_receive_and_mass_mentions_never_ping(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    text = "<@UDEV> rescued the release <!channel> <!here> <!everyone> <!subteam^S0OPS|@ops>"
    signed.command("/kudos", text, user_id="UANA")
    posts = slack.wait_for("chat.postMessage", count=2)
    for post in posts:
        sent = json.dumps({"text": post["text"], "blocks": post.get("blocks")})
        assert "<!" not in sent
        assert "@\\u200bchannel" in sent or "@\u200bchannel" in sent


def test_empty_kudos_opens_the_modal_and_submission_gives(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    response = signed.command("/kudos", "", user_id="UANA", trigger_id="trig-1")
    assert response.status_code == 200 and response.text == ""
    opened = slack.wait_for("views.open")[0]
    assert opened["trigger_id"] == "trig-1"
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert view["callback_id"] == "kudos_modal"

    answer = signed.view_submission(
        user_id="UANA",
        callback_id="kudos_modal",
        view_id="VKUDOS1",
        private_metadata=view["private_metadata"],
        values={
            "kudos_recipients": {
                "recipients": {"type": "multi_users_select", "selected_users": ["UBEN"]}
            },
            "kudos_message": {
                "message": {"type": "plain_text_input", "value": "<!here> great pairing & help"}
            },
            "kudos_values": {
                "values": {
                    "type": "multi_static_select",
                    "selected_options": [
                        {"value": "craft", "text": {"type": "plain_text", "text": "#craft"}}
                    ],
                }
            },
        },
    )
    assert answer.status_code == 200
    # The form turns into its confirmation: the giver reads it where they are.
    assert answer.json()["response_action"] == "update"
    assert "Kudos sent to <@UBEN>" in json.dumps(answer.json()["view"])
    dm = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UBEN")[0]
    assert "&lt;!here&gt; great pairing &amp; help" in dm["text"]

    # The same view submitted twice (a double click) is one kudos.
    signed.view_submission(
        user_id="UANA",
        callback_id="kudos_modal",
        view_id="VKUDOS1",
        private_metadata=view["private_metadata"],
        values={
            "kudos_recipients": {
                "recipients": {"type": "multi_users_select", "selected_users": ["UBEN"]}
            },
            "kudos_message": {"message": {"type": "plain_text_input", "value": "again"}},
        },
    )
    assert count(server, Kudos) == 1


def test_modal_errors_land_on_the_field(server: RunningServer, signed: SlackRequests) -> None:
    def submit(users: list[str], message: str) -> dict:
        response = signed.view_submission(
            user_id="UANA",
            callback_id="kudos_modal",
            view_id=f"V{len(users)}{len(message)}",
            values={
                "kudos_recipients": {
                    "recipients": {"type": "multi_users_select", "selected_users": users}
                },
                "kudos_message": {"message": {"type": "plain_text_input", "value": message}},
            },
        )
        assert response.status_code == 200
        return response.json() if response.text else {}

    assert submit(["UANA"], "me")["errors"] == {
        "kudos_recipients": "You can't give kudos to yourself. Name the colleagues you want "
        "to thank."
    }
    assert "kudos_message" in submit(["UBEN"], "   ")["errors"]
    assert "deactivated" in submit(["UGONE"], "hi")["errors"]["kudos_recipients"]
    too_long = submit(["UBEN"], "x" * 1001)["errors"]["kudos_message"]
    assert "1001 characters; the limit is 1000" in too_long
    assert submit(["UBEN"], "x" * 1000)["response_action"] == "update"  # accepted
    assert count(server, Kudos) == 1


def test_every_problem_of_a_form_shows_at_once_and_nothing_is_given(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    answer = signed.view_submission(
        user_id="UANA",
        callback_id="kudos_modal",
        view_id="VALLBAD",
        values={
            "kudos_recipients": {
                "recipients": {
                    "type": "multi_static_select",
                    "selected_options": [{"value": "UANA"}],
                }
            },
            "kudos_message": {"message": {"type": "plain_text_input", "value": ""}},
            "kudos_values": {
                "values": {
                    "type": "multi_static_select",
                    "selected_options": [{"value": "bribery"}],
                }
            },
        },
    ).json()
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {
        "kudos_recipients": "You can't give kudos to yourself. Name the colleagues you want "
        "to thank.",
        "kudos_message": "Say what they did: kudos need a message, e.g. `/kudos @alex thanks "
        "for the review`.",
        "kudos_values": "Pick values from the list.",
    }
    assert count(server, Kudos) == 0 and count(server, OutboxMessage) == 0


def test_an_unknown_word_is_answered_like_the_other_commands_and_a_kudos_still_gives(
    server: RunningServer, signed: SlackRequests
) -> None:
    unknown = signed.command("/kudos", "frobnicate", user_id="UANA").json()
    assert unknown["text"] == "I don't know `/kudos frobnicate`. Try `/kudos help`."
    assert unknown.get("response_type", "ephemeral") == "ephemeral"
    assert count(server, Kudos) == 0
    given = signed.command("/kudos", "<@UBEN|ben> thanks", user_id="UANA").json()
    assert "Kudos sent to <@UBEN>" in given["text"]
    sentence = signed.command("/kudos", "great work", user_id="UANA").json()
    assert "Mention who the kudos are for" in sentence["text"]
    assert count(server, Kudos) == 1


def test_message_shortcut_prefills_author_and_quotes_permalink(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    original = slack.add_message("C0GENERAL", "UBEN", "I fixed the flaky deploy")
    response = signed.message_shortcut(
        user_id="UANA", callback_id="give_kudos", channel_id="C0GENERAL", message=original
    )
    assert response.status_code == 200
    opened = slack.wait_for("views.open")[0]
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    recipients = next(b for b in view["blocks"] if b.get("block_id") == "kudos_recipients")
    chosen = recipients["element"].get("initial_options") or []
    assert [o["value"] for o in chosen] == ["UBEN"] or recipients["element"].get(
        "initial_conversations"
    ) == ["UBEN"]
    assert "I fixed the flaky deploy" in json.dumps(view["blocks"])
    metadata = json.loads(view["private_metadata"])
    assert metadata["quote_url"].startswith("https://")
    assert slack.calls("chat.getPermalink")[0]["message_ts"] == original["ts"]

    # Sent from the form: its confirmation is the form itself, not a DM from the bot.
    answer = signed.view_submission(
        user_id="UANA",
        callback_id="kudos_modal",
        view_id="VSHORTCUT",
        private_metadata=view["private_metadata"],
        values={
            "kudos_recipients": {
                "recipients": {
                    "type": "multi_static_select",
                    "selected_options": [{"value": "UBEN"}],
                }
            },
            "kudos_message": {"message": {"type": "plain_text_input", "value": "great fix"}},
        },
    ).json()
    assert answer["response_action"] == "update"
    shown = json.dumps(answer["view"])
    assert "Kudos sent to <@UBEN>" in shown and "4 of 5 kudos left" in shown
    assert "submit" not in answer["view"]
    slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UBEN")
    wait_until(lambda: _all_sent(server))
    assert [c for c in slack.calls("chat.postMessage") if c["channel"] == "UANA"] == []


def test_the_who_picker_offers_only_people_who_can_receive_kudos(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    wait_until(lambda: server.deps.slack.directory_complete, what="users.list read")
    signed.command("/kudos", "", user_id="UANA", trigger_id="trig-pick")
    view = _opened(slack, "trig-pick")
    picker = next(b for b in view["blocks"] if b["block_id"] == "kudos_recipients")["element"]
    assert picker["type"] == "multi_static_select"
    # Not the giver, the bots (Slackbot too), the deactivated or another organisation's.
    assert [o["value"] for o in picker["options"]] == ["UBEN", "UCHO", "UDEV"]

    # A newcomer is listed as soon as Slack says they joined.
    newcomer = slack.add_user("UNEWBIE", tz="Europe/Paris")
    signed.event({"type": "team_join", "user": newcomer, "event_ts": "1.0"}, event_id="EvJOIN")
    signed.command("/kudos", "", user_id="UANA", trigger_id="trig-join")
    view = _opened(slack, "trig-join")
    picker = next(b for b in view["blocks"] if b["block_id"] == "kudos_recipients")["element"]
    assert "UNEWBIE" in [o["value"] for o in picker["options"]]

    # Before users.list was read whole, a list would leave people out: Slack's own picker,
    # limited to people who are not bots.
    server.deps.slack.directory_complete = False
    signed.command("/kudos", "", user_id="UANA", trigger_id="trig-slack")
    view = _opened(slack, "trig-slack")
    picker = next(b for b in view["blocks"] if b["block_id"] == "kudos_recipients")["element"]
    assert picker["type"] == "multi_conversations_select"
    assert picker["filter"]["exclude_bot_users"] is True and picker["filter"]["include"] == ["im"]
    answer = signed.view_submission(
        user_id="UANA",
        callback_id="kudos_modal",
        view_id="VCONV",
        private_metadata=view["private_metadata"],
        values={
            "kudos_recipients": {
                "recipients": {
                    "type": "multi_conversations_select",
                    "selected_conversations": ["UCHO"],
                }
            },
            "kudos_message": {"message": {"type": "plain_text_input", "value": "thanks"}},
        },
    ).json()
    assert "Kudos sent to <@UCHO>" in json.dumps(answer["view"])


def _opened(slack: SlackEmulator, trigger_id: str) -> dict:
    call = slack.wait_for("views.open", predicate=lambda c: c["trigger_id"] == trigger_id)[0]
    return call["view"] if isinstance(call["view"], dict) else json.loads(call["view"])


def test_stats_show_counts_and_leaderboard(server: RunningServer, signed: SlackRequests) -> None:
    signed.command("/kudos", "<@UBEN> <@UCHO> thanks", user_id="UANA")
    signed.command("/kudos", "<@UBEN> thanks", user_id="UCHO")
    body = signed.command("/kudos", "stats", user_id="UBEN").json()
    assert body["text"] == "Kudos in November 2037: given 0, received 2".replace(
        "November 2037", time.strftime("%B %Y", time.gmtime())
    ) or "Received: *2*" in json.dumps(body["blocks"])
    board = json.dumps(body["blocks"])
    assert board.index("<@UBEN>") < board.index("<@UCHO>")


def test_bad_or_stale_signatures_get_401_and_change_nothing(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    body = b"command=%2Fkudos&text=%3C%40UBEN%3E+hi&user_id=UANA&team_id=T0TEAM&trigger_id=t1"
    good = signed.sign(body)
    forged = {**good, "X-Slack-Signature": "v0=" + "0" * 64}
    assert signed.post_raw(body, forged).status_code == 401
    stale = signed.sign(body, timestamp=int(time.time()) - 6 * 60)
    assert signed.post_raw(body, stale).status_code == 401
    assert (
        signed.post_raw(body, {"Content-Type": "application/x-www-form-urlencoded"}).status_code
        == 401
    )
    assert count(server, Kudos) == 0
    background = {"auth.test", "users.list"}  # the server's own start-up check
    assert [c.method for c in slack.calls() if c.method not in background] == []


def test_healthz_reports_database_and_slack(server: RunningServer) -> None:
    import httpx

    wait_until(lambda: server.deps.slack.state == "ok")
    response = httpx.get(f"{server.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"db": "ok", "slack": "ok"}


def _all_sent(server: RunningServer) -> bool:
    with server.deps.unit_of_work() as session:
        statuses = session.scalars(select(OutboxMessage.status)).all()
    return bool(statuses) and all(s == "sent" for s in statuses)


def test_a_database_outage_gets_a_kind_answer_and_healthz_503(
    server: RunningServer, signed: SlackRequests, tmp_path
) -> None:
    import httpx
    from sqlalchemy.orm import sessionmaker

    from storage.engine import make_engine

    broken = make_engine(f"sqlite:///{tmp_path}/missing/dir/pulsebot.db")
    server.deps.session_factory = sessionmaker(broken)
    body = signed.command("/kudos", "<@UBEN> thanks", user_id="UANA").json()
    assert body["response_type"] == "ephemeral"
    assert "nothing was saved" in body["text"]
    modal = signed.view_submission(
        user_id="UANA",
        callback_id="kudos_modal",
        view_id="VDOWN",
        values={
            "kudos_recipients": {
                "recipients": {"type": "multi_users_select", "selected_users": ["UBEN"]}
            },
            "kudos_message": {"message": {"type": "plain_text_input", "value": "hi"}},
        },
    ).json()
    assert modal["response_action"] == "update"
    assert "nothing was saved" in json.dumps(modal["view"])
    health = httpx.get(f"{server.url}/healthz")
    assert health.status_code == 503
    assert health.json()["db"] == "unavailable"


def test_slow_users_info_never_holds_the_ack_past_slacks_three_seconds(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    wait_until(lambda: server.deps.slack.state == "ok")
    time.sleep(0.3)  # the start-up users.list has filled the cache
    for user_id in ("UNEW1", "UNEW2", "UNEW3"):
        slack.add_user(user_id, tz="Europe/Paris")  # joined after the warm-up: not cached
    slack.inject_fault("users.info", delay=0.8, times=3)
    started = time.monotonic()
    body = signed.command("/kudos", "<@UNEW1> <@UNEW2> <@UNEW3> welcome!", user_id="UANA").json()
    assert time.monotonic() - started < 2.5
    assert "can't find <@UNEW3>" in body["text"]
    assert count(server, Kudos) == 0


def test_an_expired_trigger_is_answered_not_silent(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    response = signed.command("/kudos", "", user_id="UANA", trigger_id="expired-1")
    assert response.status_code == 200
    assert "couldn't open the kudos form" in response.json()["text"]
    assert slack.calls("views.open")[0].status == 200  # Slack answered expired_trigger_id


def test_shortcut_still_opens_when_the_permalink_cannot_be_had(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    original = slack.add_message("C0GENERAL", "UBEN", "I fixed the flaky deploy")
    slack.inject_fault("chat.getPermalink", status=503)
    response = signed.message_shortcut(
        user_id="UANA", callback_id="give_kudos", channel_id="C0GENERAL", message=original
    )
    assert response.status_code == 200
    opened = slack.wait_for("views.open")[0]
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert json.loads(view["private_metadata"])["quote_url"] is None
    assert "I fixed the flaky deploy" in json.dumps(view["blocks"])
