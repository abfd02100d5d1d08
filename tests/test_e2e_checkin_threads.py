"""Check-in exchanges both ways: a member answers back under a manager's reply as a
plain Slack reply (`message.im`), it reaches the manager's thread under that answer, and the
manager's plain replies there reach the member's; named upward notes are replyable too."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.demo.emulator import SlackEmulator
from storage.models import CheckinOccurrence, ConversationMessage
from tests.feedback_flows import all_sent, dm_event
from tests.server import RunningServer
from tests.slack_requests import SlackRequests
from tests.test_e2e_checkin_delivery import answers, submit, team  # noqa: F401 (fixture)


def test_answer_back_threads_both_ways_and_named_upward_notes_are_replyable(
    server: RunningServer,
    slack: SlackEmulator,
    signed: SlackRequests,
    team: dict[str, CheckinOccurrence],  # noqa: F811
) -> None:
    ben_prompt = slack.messages("UBEN")[0]
    fin_prompt = slack.messages("UFIN")[0]
    assert submit(server.url, "UBEN", team["UBEN"], answers(), "VBEN") == {}
    assert submit(server.url, "UFIN", team["UFIN"], answers("Need a new laptop"), "VFIN") == {}
    all_sent(server)
    answers_dm = next(m for m in slack.messages("UANA") if "<@UBEN>" in m["text"])
    upward = slack.messages("UCHO")[0]
    assert "Need a new laptop" in json.dumps(upward["blocks"])
    assert "checkin_reply" in json.dumps(upward["blocks"])  # named notes can be replied to

    signed.block_action(
        user_id="UANA",
        action_id="checkin_reply",
        value=str(team["UBEN"].id),
        channel_id="DUANA",
        message_ts=answers_dm["ts"],
        trigger_id="t-reply",
    )
    modal = slack.wait_for("views.open", predicate=lambda c: c["trigger_id"] == "t-reply")[0]
    view = modal["view"] if isinstance(modal["view"], dict) else json.loads(modal["view"])
    signed.view_submission(
        user_id="UANA",
        callback_id="checkin_reply_modal",
        values={"checkin_reply": {"reply": {"type": "plain_text_input", "value": "Nice work"}}},
        private_metadata=view["private_metadata"],
        view_id="VREPLY",
    )
    slack.wait_for("chat.postMessage", predicate=lambda c: c.get("thread_ts") == ben_prompt["ts"])

    # Ben answers back under the reply: it reaches Ana's thread under his answers.
    signed.event(dm_event("UBEN", "Thanks!", ts="1900000300.000001", thread_ts=ben_prompt["ts"]))
    back = slack.wait_for("chat.postMessage", predicate=lambda c: "Thanks!" in c["text"])
    assert back[0]["channel"] == "DUANA" and back[0]["thread_ts"] == answers_dm["ts"]
    # Ana writes in her thread: it reaches Ben's.
    signed.event(dm_event("UANA", "Anytime", ts="1900000300.000002", thread_ts=answers_dm["ts"]))
    forth = slack.wait_for("chat.postMessage", predicate=lambda c: "Anytime" in c["text"])
    assert forth[0]["channel"] == "DUBEN" and forth[0]["thread_ts"] == ben_prompt["ts"]

    # Cho replies under Fin's named note, and Fin's answer-back reaches Cho's thread.
    signed.event(dm_event("UCHO", "Ordered one", ts="1900000300.000003", thread_ts=upward["ts"]))
    to_fin = slack.wait_for("chat.postMessage", predicate=lambda c: "Ordered one" in c["text"])
    assert to_fin[0]["channel"] == "DUFIN" and to_fin[0]["thread_ts"] == fin_prompt["ts"]
    signed.event(dm_event("UFIN", "Great", ts="1900000300.000004", thread_ts=fin_prompt["ts"]))
    to_cho = slack.wait_for(
        "chat.postMessage", predicate=lambda c: "Great" in c["text"] and c["channel"] == "DUCHO"
    )
    assert to_cho[0]["thread_ts"] == upward["ts"]

    all_sent(server)
    with server.deps.unit_of_work() as session:
        said = session.scalars(select(ConversationMessage).order_by(ConversationMessage.id)).all()
        ben_thread = [(m.author_id, m.text) for m in said if m.item_id == team["UBEN"].id]
        assert ben_thread == [("UANA", "Nice work"), ("UBEN", "Thanks!"), ("UANA", "Anytime")]
        assert {m.kind for m in said} == {"checkin"}
