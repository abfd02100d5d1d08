"""`/feedback` end to end: the real server, signed requests, the Slack emulator, the database.

UANA gives UBEN feedback; UCHO is UBEN's manager. Every path, refusal and denial."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from bot.demo.emulator import SlackEmulator
from bot.services.feedback import DENIED
from storage.models import ConversationMessage, Feedback, OutboxMessage
from tests.feedback_flows import (
    all_sent,
    count,
    dm_event,
    give_values,
    opened_view,
    picked,
    posts_to,
    set_managers,
    submit,
    text_input,
)
from tests.server import RunningServer
from tests.slack_requests import SlackRequests
from tests.waiting import wait_until


@pytest.fixture
def org(server: RunningServer) -> RunningServer:
    set_managers(server, {"UBEN": "UCHO"})
    return server


def _give(signed: SlackRequests, slack: SlackEmulator, view_id: str = "VGIVE1") -> dict:
    response = signed.command("/feedback", "<@UBEN|ben>", user_id="UANA", trigger_id="t-give")
    assert response.status_code == 200 and response.text == ""
    view = opened_view(slack, "t-give")
    assert view["callback_id"] == "feedback_modal"
    assert picked(view["blocks"][0]["element"]) == ["UBEN"]
    visibility = next(b for b in view["blocks"] if b["block_id"] == "feedback_visibility")
    offered = [o["value"] for o in visibility["element"]["options"]]
    assert offered == ["recipient", "recipient_and_manager"]  # UBEN has a manager
    answer = submit(
        signed,
        "UANA",
        "feedback_modal",
        give_values(
            "UBEN",
            "Your demo <!here> was clear & calm",
            "Share the slides earlier",
            visibility="recipient_and_manager",
            value="craft",
        ),
        view_id=view_id,
        private_metadata=view["private_metadata"],
    )
    # The form turns into its confirmation, where the sender is looking.
    assert answer["response_action"] == "update"
    assert "on its way to <@UBEN> and their manager <@UCHO>" in json.dumps(answer["view"])
    return view


def test_give_thank_reply_and_answer_back_in_threads_on_both_sides(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    view = _give(signed, slack)
    all_sent(org)
    dm = slack.messages("UBEN")[0]
    assert "<@UANA> sent you feedback" in dm["text"]
    sent = json.dumps(dm["blocks"])
    assert "&lt;!here&gt;" in sent and "<!here>" not in sent and "`#craft`" in sent
    assert "your manager <@UCHO>" in sent
    copy = slack.messages("UANA")[0]
    assert "Your feedback to <@UBEN> is sent" in copy["text"]
    manager = slack.messages("UCHO")[0]
    assert "Copy for you as <@UBEN>'s manager" in json.dumps(manager["blocks"])

    # The same submission again (a double click) stores and sends nothing more.
    submit(
        signed,
        "UANA",
        "feedback_modal",
        give_values("UBEN", "again", visibility="recipient_and_manager"),
        view_id="VGIVE1",
        private_metadata=view["private_metadata"],
    )
    with org.deps.unit_of_work() as session:
        feedback = session.scalars(select(Feedback)).one()
        assert feedback.visibility == "recipient_and_manager" and feedback.manager_id == "UCHO"
    assert count(org, OutboxMessage) == 3

    # Thank: the sender hears it once, in their thread; the DM loses its Thank button.
    for _ in range(2):
        signed.block_action(
            user_id="UBEN",
            action_id="feedback_thank",
            value=str(feedback.id),
            channel_id="DUBEN",
            message_ts=dm["ts"],
        )
    thanks = slack.wait_for("chat.postMessage", predicate=lambda c: "thanked you" in c["text"])
    assert thanks[0]["thread_ts"] == copy["ts"] and thanks[0]["channel"] == "DUANA"
    updated = slack.wait_for("chat.update")[0]
    assert updated["ts"] == dm["ts"] and "feedback_thank" not in json.dumps(updated["blocks"])
    all_sent(org)
    assert len([c for c in posts_to(slack, "DUANA") if "thanked" in c["text"]]) == 1

    # Reply (a modal): lands in the sender's thread, and is echoed in the recipient's.
    signed.block_action(
        user_id="UBEN",
        action_id="feedback_reply",
        value=str(feedback.id),
        channel_id="DUBEN",
        message_ts=dm["ts"],
        trigger_id="t-reply",
    )
    reply_view = opened_view(slack, "t-reply")
    assert reply_view["callback_id"] == "feedback_reply_modal"
    empty = submit(
        signed,
        "UBEN",
        "feedback_reply_modal",
        {"feedback_reply": text_input("")},
        view_id="VREPLY1",
        private_metadata=reply_view["private_metadata"],
    )
    assert empty["response_action"] == "errors" and "feedback_reply" in empty["errors"]
    for _ in range(2):  # a replayed submission changes nothing
        assert (
            submit(
                signed,
                "UBEN",
                "feedback_reply_modal",
                {"feedback_reply": text_input("Thanks, will do <!channel>")},
                view_id="VREPLY1",
                private_metadata=reply_view["private_metadata"],
            )
            == {}
        )
    to_sender = slack.wait_for(
        "chat.postMessage", predicate=lambda c: "<@UBEN> replied" in c["text"]
    )[0]
    assert to_sender["thread_ts"] == copy["ts"] and "<!channel>" not in to_sender["text"]
    echo = slack.wait_for("chat.postMessage", predicate=lambda c: "You replied" in c["text"])[0]
    assert echo["thread_ts"] == dm["ts"] and echo["channel"] == "DUBEN"

    # The sender answers back as a plain reply in their thread: it reaches the recipient's.
    event = dm_event("UANA", "Glad it helped", ts="1900000000.000100", thread_ts=copy["ts"])
    assert signed.event(event, event_id="EvBACK1").status_code == 200
    back = slack.wait_for("chat.postMessage", predicate=lambda c: "Glad it helped" in c["text"])
    assert back[0]["channel"] == "DUBEN" and back[0]["thread_ts"] == dm["ts"]
    # And the recipient answers that in theirs: it reaches the sender's thread.
    event = dm_event("UBEN", "See you Monday", ts="1900000000.000200", thread_ts=dm["ts"])
    signed.event(event, event_id="EvBACK2")
    forth = slack.wait_for("chat.postMessage", predicate=lambda c: "See you Monday" in c["text"])
    assert forth[0]["channel"] == "DUANA" and forth[0]["thread_ts"] == copy["ts"]
    # Slack's retry of the same event, and the same message under a new event id: nothing.
    signed.event(event, event_id="EvBACK2", retry_num=1)
    signed.event(event, event_id="EvBACK2-again")
    all_sent(org)
    assert len([c for c in slack.calls("chat.postMessage") if "See you" in c["text"]]) == 1
    with org.deps.unit_of_work() as session:
        said = session.scalars(select(ConversationMessage).order_by(ConversationMessage.id)).all()
        assert [(m.author_id, m.kind, m.item_id) for m in said] == [
            ("UBEN", "feedback", feedback.id),
            ("UANA", "feedback", feedback.id),
            ("UBEN", "feedback", feedback.id),
        ]


@pytest.mark.parametrize(
    ("values", "block", "words"),
    [
        (give_values("UANA", "me"), "feedback_recipient", "someone else"),
        (give_values("UROBOT", "beep"), "feedback_recipient", "is a bot"),
        (give_values("USLACKBOT", "beep"), "feedback_recipient", "is a bot"),
        (give_values("UGONE", "bye"), "feedback_recipient", "deactivated"),
        (give_values("UEXT", "hi"), "feedback_recipient", "another organisation"),
        (give_values(None, "hi"), "feedback_recipient", "Choose who"),
        (give_values("UBEN", "", ""), "feedback_went_well", "at least one"),
        (give_values("UBEN", "x" * 3001), "feedback_went_well", "limit is 3000"),
        (give_values("UBEN", "ok", "<" * 3001), "feedback_could_be_better", "limit is 3000"),
        (
            give_values("UDEV", "ok", visibility="recipient_and_manager"),
            "feedback_visibility",
            "no manager",
        ),
        (give_values("UBEN", "ok", value="bribery"), "feedback_value", "from the list"),
    ],
)
def test_refusals_name_the_field_and_store_nothing(
    org: RunningServer,
    slack: SlackEmulator,
    signed: SlackRequests,
    values: dict,
    block: str,
    words: str,
) -> None:
    answer = submit(signed, "UANA", "feedback_modal", values, view_id="VBAD")
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [block] and words in answer["errors"][block], answer
    assert count(org, Feedback) == 0 and count(org, OutboxMessage) == 0


def test_denials_read_the_same_whether_or_not_the_feedback_exists(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    _give(signed, slack)
    all_sent(org)
    with org.deps.unit_of_work() as session:
        feedback_id = session.scalars(select(Feedback.id)).one()
    rows = count(org, OutboxMessage)
    # Forged buttons: the sender, the manager (who may read it) and a stranger; a missing id.
    for n, (user_id, value) in enumerate(
        [("UANA", feedback_id), ("UCHO", feedback_id), ("UDEV", feedback_id), ("UDEV", 9999)]
    ):
        for action in ("feedback_thank", "feedback_reply"):
            trigger = f"t-deny-{action}-{n}"
            signed.block_action(
                user_id=user_id,
                action_id=action,
                value=str(value),
                channel_id=f"D{user_id}",
                trigger_id=trigger,
            )
            shown = opened_view(slack, trigger)
            assert shown["blocks"][0]["text"]["text"] == DENIED, (user_id, action)
        # A reply form submitted with someone else's (or no such) feedback id.
        answer = submit(
            signed,
            user_id,
            "feedback_reply_modal",
            {"feedback_reply": text_input("sneaky")},
            view_id=f"VSNEAK{n}",
            private_metadata=json.dumps({"feedback_id": value}),
        )
        assert answer["errors"] == {"feedback_reply": DENIED}
    with org.deps.unit_of_work() as session:
        assert session.scalars(select(Feedback)).one().thanked_at is None
    assert count(org, OutboxMessage) == rows and count(org, ConversationMessage) == 0


def test_shortcut_prefills_the_author_and_quotes_the_message(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    message = slack.add_message("C0GENERAL", "UBEN", "Shipped the *migration*")
    response = signed.message_shortcut(
        user_id="UANA",
        callback_id="give_feedback",
        channel_id="C0GENERAL",
        message=message,
        trigger_id="t-short",
    )
    assert response.status_code == 200
    view = opened_view(slack, "t-short")
    assert view["callback_id"] == "feedback_modal"
    assert "Shipped the *migration*" in view["blocks"][0]["elements"][0]["text"]
    assert picked(view["blocks"][1]["element"]) == ["UBEN"]
    link = json.loads(view["private_metadata"])["quote_url"]
    assert link.startswith("https://example.slack.com/archives/C0GENERAL/p")
    answer = submit(
        signed,
        "UANA",
        "feedback_modal",
        give_values("UBEN", "Clean rollout"),
        view_id="VSHORT",
        private_metadata=view["private_metadata"],
    )
    # The confirmation is the form itself, in the channel where the shortcut was used.
    assert answer["response_action"] == "update" and "submit" not in answer["view"]
    assert "on its way to <@UBEN>." in json.dumps(answer["view"])
    dm = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UBEN")[0]
    sent = json.dumps(dm["blocks"])
    assert link in sent and "Only you and <@UANA>, who wrote it, can read this." in sent
    with org.deps.unit_of_work() as session:
        assert session.scalars(select(Feedback)).one().quote_url == link
    assert not [c for c in slack.calls("chat.postMessage") if c["channel"] == "UCHO"]


def test_feedback_command_help_unknown_text_and_the_form_for_no_one_yet(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    assert "/feedback request" in signed.command("/feedback", "help", user_id="UANA").json()["text"]
    unclear = signed.command("/feedback", "bananas", user_id="UANA").json()
    assert unclear["text"] == "I don't know `/feedback bananas`. Try `/feedback help`."
    signed.command("/feedback", "", user_id="UANA", trigger_id="t-empty")
    view = opened_view(slack, "t-empty")
    assert picked(view["blocks"][0]["element"]) == []
    # Choosing UDEV (no manager) redraws the form without "them and their manager".
    view["id"] = "VREDRAW"
    signed.block_action(
        user_id="UANA",
        action_id="feedback_recipient_chosen",
        view=view,
        action={"type": "users_select", "selected_user": "UDEV"},
    )
    updated = slack.wait_for("views.update")[0]
    redrawn = updated["view"] if isinstance(updated["view"], dict) else json.loads(updated["view"])
    visibility = next(b for b in redrawn["blocks"] if b["block_id"] == "feedback_visibility")
    assert [o["value"] for o in visibility["element"]["options"]] == ["recipient"]


def test_dm_hint_once_a_day_and_every_other_message_is_acked_and_ignored(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    base = "1900000100.0000"
    events = [
        dm_event("UBEN", "hello?", ts=f"{base}01"),
        dm_event("UBEN", "anyone?", ts=f"{base}02"),  # the same day: no second hint
        dm_event("UBEN", "edited", ts=f"{base}03", subtype="message_changed"),
        dm_event("UBEN", "", ts=f"{base}04", subtype="message_deleted"),
        dm_event("UBEN", "a file", ts=f"{base}05", subtype="file_share"),
        dm_event("UBOT", "my own post", ts=f"{base}06", bot_id="BBOT"),
        dm_event("UBEN", "in a thread we don't know", ts=f"{base}07", thread_ts=f"{base}01"),
    ]
    for event in events:
        assert signed.event(event).status_code == 200
    hint = slack.wait_for("chat.postMessage", predicate=lambda c: c["channel"] == "UBEN")[0]
    assert "/feedback @name" in hint["text"]
    time.sleep(0.3)
    all_sent(org)
    assert len(slack.calls("chat.postMessage")) == 1
    assert count(org, ConversationMessage) == 0


def test_shortcut_on_a_bots_message_prefills_no_one(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    message = {"type": "message", "user": "UROBOT", "bot_id": "BROBOT", "ts": "1.000001"}
    signed.message_shortcut(
        user_id="UANA",
        callback_id="give_feedback",
        channel_id="C0GENERAL",
        message={**message, "text": "Deploy finished"},
        trigger_id="t-bot",
    )
    view = opened_view(slack, "t-bot")
    recipient = next(b for b in view["blocks"] if b.get("block_id") == "feedback_recipient")
    assert picked(recipient["element"]) == []
    assert "Deploy finished" in view["blocks"][0]["elements"][0]["text"]


def test_text_after_the_mention_opens_the_form_with_it_and_too_much_says_how_much(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    signed.command(
        "/feedback",
        "<@UBEN|ben> great job on the runbook &amp; the <#C0OPS|ops> handover",
        user_id="UANA",
        trigger_id="t-typed",
    )
    view = opened_view(slack, "t-typed")
    assert picked(view["blocks"][0]["element"]) == ["UBEN"]
    went_well = next(b for b in view["blocks"] if b["block_id"] == "feedback_went_well")
    typed = "great job on the runbook & the #ops handover"
    assert went_well["element"]["initial_value"] == typed
    # Sent as Slack sends the form back: the text as it stands in the field.
    answer = submit(
        signed, "UANA", "feedback_modal", give_values("UBEN", typed), view_id="VTYPED"
    )
    assert answer["response_action"] == "update"
    with org.deps.unit_of_work() as session:
        assert session.scalars(select(Feedback.went_well)).one() == (
            "great job on the runbook &amp; the #ops handover"
        )

    opened = len(slack.calls("views.open"))
    long = signed.command("/feedback", "<@UBEN|ben> " + "x" * 3001, user_id="UANA").json()
    assert long["response_type"] == "ephemeral"
    assert "This is 3001 characters; the limit is 3000." in long["text"]
    assert "did not open" in long["text"]
    assert len(slack.calls("views.open")) == opened and count(org, Feedback) == 1


def test_every_problem_of_the_form_shows_at_once_and_nothing_is_sent(
    org: RunningServer, signed: SlackRequests
) -> None:
    answer = submit(
        signed,
        "UANA",
        "feedback_modal",
        give_values("UANA", "x" * 3001, "y" * 3002, value="bribery"),
        view_id="VALLBAD",
    )
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {
        "feedback_recipient": "Feedback is for someone else. For notes to yourself, try your "
        "check-in.",
        "feedback_went_well": "This is 3001 characters; the limit is 3000. Please shorten it.",
        "feedback_could_be_better": "This is 3002 characters; the limit is 3000. Please shorten "
        "it.",
        "feedback_value": "Pick a value from the list.",
    }
    assert count(org, Feedback) == 0 and count(org, OutboxMessage) == 0


def test_the_to_picker_lists_only_people_who_can_receive_feedback(
    org: RunningServer, slack: SlackEmulator, signed: SlackRequests
) -> None:
    wait_until(lambda: org.deps.slack.directory_complete, what="users.list read")
    signed.command("/feedback", "<@UBEN|ben>", user_id="UANA", trigger_id="t-pick")
    picker = opened_view(slack, "t-pick")["blocks"][0]["element"]
    assert picker["type"] == "static_select"
    assert [o["value"] for o in picker["options"]] == ["UBEN", "UCHO", "UDEV"]
    assert picked(picker) == ["UBEN"]
    # Choosing from the list redraws the form with the same list.
    signed.block_action(
        user_id="UANA",
        action_id="feedback_recipient_chosen",
        view={"id": "VPICK", "blocks": [], "private_metadata": ""},
        action={"type": "static_select", "selected_option": {"value": "UDEV"}},
    )
    updated = slack.wait_for("views.update")[0]
    redrawn = updated["view"] if isinstance(updated["view"], dict) else json.loads(updated["view"])
    assert picked(redrawn["blocks"][0]["element"]) == ["UDEV"]
    visibility = next(b for b in redrawn["blocks"] if b["block_id"] == "feedback_visibility")
    assert [o["value"] for o in visibility["element"]["options"]] == ["recipient"]
