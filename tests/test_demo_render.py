"""Block Kit and mrkdwn -> HTML for the demo page, and modal forms -> Slack's state.values.

What the app writes is untrusted on the page: every case that could smuggle markup must come
out as text.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.demo import company, forms, render
from bot.demo import goals as demo_goals
from bot.demo.render import Context
from bot.services import templates
from bot.services.goal_checkin import Asked, Owned
from bot.services.goal_cycles import parse
from bot.services.goal_progress import Confidence, Measure
from handlers.blocks import checkins as checkin_blocks

CTX = Context(
    user_names={"U0BEN": "ben", "U0ANA": "ana"},
    channel_names={"C0KUDOS": "kudos"},
    tz="Europe/Lisbon",
    now=lambda: datetime(2031, 6, 2, 12, 0, tzinfo=UTC),
)


def tags(html: str) -> set[str]:
    return set(re.findall(r"<\s*([a-zA-Z][\w-]*)", html))


# ----- escaping ---------------------------------------------------------------------------------


def test_a_script_in_a_message_is_text() -> None:
    html = render.mrkdwn("hi &lt;script&gt;alert(1)&lt;/script&gt; <script>x</script>", CTX)
    assert "<script" not in html
    assert html.count("&lt;script&gt;") == 2


def test_a_javascript_link_renders_its_label_as_text() -> None:
    html = render.mrkdwn("<javascript:alert(1)|x> and <JavaScript:alert(2)>", CTX)
    assert "<a" not in html and "href" not in html
    assert html == "x and &lt;JavaScript:alert(2)&gt;"


def test_a_quote_cannot_leave_an_attribute() -> None:
    html = render.mrkdwn('<https://example.com/" onmouseover="alert(1)|click>', CTX)
    assert 'onmouseover="' not in html
    assert '&quot; onmouseover=&quot;alert(1)' in html
    button = render.element(
        {"type": "button", "action_id": 'a" onclick="x', "text": {"type": "plain_text",
         "text": "<b>go</b>"}},
        CTX,
        render.esc('b" x="'),
    )
    assert 'onclick="' not in button and 'x="' not in button.replace('x=&quot;', "")
    assert "&lt;b&gt;go&lt;/b&gt;" in button


def test_a_mention_label_and_an_unknown_name_are_escaped() -> None:
    html = render.mrkdwn("<@U0ZED|<img src=x onerror=alert(1)>> <#C0NEW|\"x>", CTX)
    assert "<img" not in html
    assert tags(html) <= {"span"}


def test_the_page_never_fetches_an_external_image() -> None:
    html = render.block(
        {"type": "image", "image_url": "https://tracker.example/p.png", "alt_text": "chart"}, CTX
    )
    assert "<img" not in html and "chart" in html


@pytest.mark.parametrize(
    "text",
    ["*bold <@U0BEN>*", "`<@U0BEN>` *", "\ue0000\ue001 <@U0ANA>", "_a_ ~b~ <!here>"],
)
def test_formatting_never_produces_tags_outside_the_allowed_set(text: str) -> None:
    assert tags(render.mrkdwn(text, CTX)) <= {"b", "i", "s", "code", "span", "br", "blockquote"}


# ----- mrkdwn -----------------------------------------------------------------------------------


def test_mrkdwn_styles_code_and_quotes() -> None:
    html = render.mrkdwn("*bold* _it_ ~gone~ `a*b*c` \n&gt;quoted\n&gt; more\nafter", CTX)
    assert "<b>bold</b>" in html and "<i>it</i>" in html and "<s>gone</s>" in html
    assert "<code>a*b*c</code>" in html
    assert "<blockquote>quoted<br>more</blockquote>" in html
    assert html.endswith("after")
    assert render.mrkdwn("```\nline *1*\n```", CTX) == "<pre>line *1*</pre>"


def test_mentions_channels_links_broadcasts_and_emoji() -> None:
    html = render.mrkdwn(
        ":tada: <@U0BEN> in <#C0KUDOS> <https://x.test/a?b=1&amp;c=2|docs> <!channel> :nope:", CTX
    )
    assert "🎉" in html and "@ben" in html and "#kudos" in html
    assert '<a href="https://x.test/a?b=1&amp;c=2"' in html and ">docs</a>" in html
    assert "@channel" in html and ":nope:" in html


def test_dates_render_in_the_readers_zone() -> None:
    stamp = int(datetime(2031, 6, 3, 15, 0, tzinfo=UTC).timestamp())
    html = render.mrkdwn(f"<!date^{stamp}^{{date_short_pretty}} at {{time}}|fallback>", CTX)
    assert html == "tomorrow at 4:00 PM"  # Lisbon is UTC+1 in June
    assert render.mrkdwn("<!date^nope^{time}|the fallback>", CTX) == "the fallback"


# ----- blocks -----------------------------------------------------------------------------------


def test_every_message_block_kind_renders() -> None:
    items = [
        {"type": "header", "text": {"type": "plain_text", "text": "Digest :tada:"}},
        {
            "type": "section",
            "block_id": "s1",
            "text": {"type": "mrkdwn", "text": "*Team*"},
            "fields": [{"type": "mrkdwn", "text": "a"}, {"type": "plain_text", "text": "b"}],
            "accessory": {
                "type": "overflow",
                "action_id": "more",
                "options": [{"text": {"type": "plain_text", "text": "Edit"}, "value": "e"}],
            },
        },
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "_small_"}]},
        {
            "type": "actions",
            "block_id": "a1",
            "elements": [
                {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"},
                 "style": "primary"},
                {"type": "static_select", "action_id": "pick",
                 "options": [{"text": {"type": "plain_text", "text": "One"}, "value": "1"}]},
                {"type": "datepicker", "action_id": "day", "initial_date": "2031-06-02"},
                {"type": "timepicker", "action_id": "at", "initial_time": "09:30"},
                {"type": "users_select", "action_id": "who"},
                {"type": "conversations_select", "action_id": "where"},
            ],
        },
        {"type": "image", "slack_file": {"id": "F1"}, "alt_text": "pulse chart",
         "title": {"type": "plain_text", "text": "Pulse"}},
    ]
    html = render.blocks(items, CTX)
    assert '<h3 class="bk-header">Digest 🎉</h3>' in html
    assert "bk-fields" in html and "<hr" in html and "<i>small</i>" in html
    assert 'class="btn btn-primary" data-block="a1" data-action="go"' in html
    assert 'type="date"' in html and 'value="2031-06-02"' in html
    assert 'type="time"' in html and 'value="09:30"' in html
    assert "@ben" in html and "#kudos" in html
    assert '<img class="" src="/demo/files/F1" alt="pulse chart"' in html
    assert "bk-unsupported" not in html


def test_uploaded_image_files_show_inline() -> None:
    html = render.files([{"id": "F9", "mimetype": "image/png", "title": "chart.png"}], CTX)
    assert 'src="/demo/files/F9"' in html


def test_a_click_is_looked_up_in_the_stored_blocks() -> None:
    items = [{"type": "actions", "block_id": "b", "elements": [{"type": "button",
              "action_id": "x", "value": "7"}]}]
    assert render.find_element(items, "b", "x") == items[0]["elements"][0]
    assert render.find_element(items, "b", "y") is None


# ----- modals -----------------------------------------------------------------------------------


def _input(block_id: str, element: dict[str, object], optional: bool = False) -> dict[str, object]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": block_id},
        "element": {"action_id": "v", **element},
    }


OPTIONS = [
    {"text": {"type": "plain_text", "text": "One"}, "value": "1"},
    {"text": {"type": "plain_text", "text": "Two"}, "value": "2"},
]
VIEW = {
    "id": "V1",
    "type": "modal",
    "title": {"type": "plain_text", "text": "Form"},
    "submit": {"type": "plain_text", "text": "Send"},
    "blocks": [
        {"type": "context", "elements": [{"type": "plain_text", "text": "intro"}]},
        _input("text", {"type": "plain_text_input", "max_length": 5}),
        _input("long", {"type": "plain_text_input", "multiline": True}, optional=True),
        _input("one", {"type": "static_select", "options": OPTIONS}),
        _input("many", {"type": "multi_static_select", "options": OPTIONS}, optional=True),
        _input("radio", {"type": "radio_buttons", "options": OPTIONS}, optional=True),
        _input("boxes", {"type": "checkboxes", "options": OPTIONS}, optional=True),
        _input("user", {"type": "users_select"}, optional=True),
        _input("users", {"type": "multi_users_select", "max_selected_items": 1}, optional=True),
        _input("conv", {"type": "conversations_select"}, optional=True),
        _input("date", {"type": "datepicker"}, optional=True),
        _input("time", {"type": "timepicker"}, optional=True),
    ],
}


def test_every_input_element_becomes_a_form_field() -> None:
    html = forms.modal_html(VIEW, CTX, {"text": "Too <long>"}, depth=1)
    for snippet in (
        'name="i1" type="text"',
        "<textarea",
        '<select id="i3"',
        'type="checkbox" name="i4"',
        'type="radio" name="i5"',
        'type="checkbox" name="i6"',
        '<select id="i7"',
        'type="checkbox" name="i8" value="U0BEN"',
        '<option value="C0KUDOS">#kudos</option>',
        'type="date"',
        'type="time"',
    ):
        assert snippet in html, snippet
    assert '<div class="field-error" role="alert">Too &lt;long&gt;</div>' in html
    assert "(optional)" in html


def test_the_form_becomes_slacks_state_values() -> None:
    form = {
        "i1": ["hey"],
        "i3": ["2"],
        "i4": ["1", "2"],
        "i5": ["1"],
        "i6": ["2"],
        "i7": ["U0BEN"],
        "i8": ["U0ANA"],
        "i9": ["C0KUDOS"],
        "i10": ["2031-06-02"],
        "i11": ["09:30"],
    }
    values, errors = forms.state_values(VIEW, form)
    assert errors == {}
    assert values["text"]["v"] == {"type": "plain_text_input", "value": "hey"}
    assert values["long"]["v"]["value"] is None
    assert values["one"]["v"]["selected_option"] == OPTIONS[1]
    assert values["many"]["v"]["selected_options"] == OPTIONS
    assert values["radio"]["v"]["selected_option"] == OPTIONS[0]
    assert values["boxes"]["v"]["selected_options"] == [OPTIONS[1]]
    assert values["user"]["v"]["selected_user"] == "U0BEN"
    assert values["users"]["v"]["selected_users"] == ["U0ANA"]
    assert values["conv"]["v"]["selected_conversation"] == "C0KUDOS"
    assert values["date"]["v"]["selected_date"] == "2031-06-02"
    assert values["time"]["v"]["selected_time"] == "09:30"


def test_slacks_own_checks_run_before_anything_is_sent() -> None:
    _, errors = forms.state_values(VIEW, {"i1": ["too long"], "i8": ["U0ANA", "U0BEN"]})
    assert errors == {
        "text": "Must be at most 5 characters.",
        "one": forms.REQUIRED,
        "users": "Select at most 1.",
    }


def test_legacy_attachments_cannot_inject_a_style() -> None:
    html = render.attachments(
        [
            {"color": 'red;background:url(x)"', "text": "hi *there*"},
            {"color": "#fff;background:url(x)"},
            {"color": "good", "blocks": [{"type": "divider"}]},
        ],
        CTX,
    )
    assert "url(x)" not in html and "border-color:#ddd" in html
    assert "<b>there</b>" in html and "border-color:#2eb67d" in html


def test_rich_text_elements() -> None:
    html = render.block(
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        {"type": "text", "text": "<hi>", "style": {"bold": True}},
                        {"type": "user", "user_id": "U0BEN"},
                        {"type": "link", "url": "javascript:x", "text": "bad"},
                        {"type": "broadcast", "range": "here"},
                        {"type": "emoji", "name": "tada"},
                    ],
                }
            ],
        },
        CTX,
    )
    assert "<b>&lt;hi&gt;</b>" in html and "@ben" in html and "@here" in html and "🎉" in html
    assert "href" not in html and "bad" in html


def test_a_conversations_picker_limited_to_people_lists_them_without_bots() -> None:
    ctx = Context(
        user_names={"U0BEN": "ben", "U0ANA": "ana", "UPULSEBOT": "pulsebot"},
        channel_names={"C0KUDOS": "kudos"},
        bots=frozenset({"UPULSEBOT"}),
    )
    people = {"include": ["im"], "exclude_bot_users": True}
    picker = {"type": "multi_conversations_select", "filter": people}
    assert render.choices(picker, ctx) == [("U0BEN", "@ben"), ("U0ANA", "@ana")]
    view = {
        "id": "V2",
        "type": "modal",
        "blocks": [
            _input("who", {**picker, "initial_conversations": ["U0ANA"]}),
            _input("one", {"type": "conversations_select", "filter": people}, optional=True),
        ],
    }
    html = forms.modal_html(view, ctx, {}, depth=1)
    assert 'value="U0ANA" checked' in html and "UPULSEBOT" not in html
    assert "#kudos" not in html
    values, errors = forms.state_values(view, {"i0": ["U0BEN"], "i1": ["U0ANA"]})
    assert errors == {}
    assert values["who"]["v"]["selected_conversations"] == ["U0BEN"]
    assert values["one"]["v"]["selected_conversation"] == "U0ANA"
    # Without a filter it lists channels, as before.
    assert render.choices({"type": "conversations_select"}, ctx) == [("C0KUDOS", "#kudos")]


def test_every_emoji_the_app_writes_is_drawn() -> None:
    """A shortcode in the app's messages (`:outbox_tray: Your feedback…`) shows as its emoji:
    the page knows each one the code writes; keys like `feedback:{id}:reply:` are not emoji."""
    root = Path(__file__).resolve().parents[1]
    shortcode = re.compile(r"(?<![\w}]):([a-z][a-z0-9_+-]*):(?=[\s\"*_'])")
    sources = [
        path
        for folder in ("bot", "handlers")
        for path in (root / folder).rglob("*.py")
        if "demo" not in path.parts
    ]
    used = {name for path in sources for name in shortcode.findall(path.read_text())}
    assert {"outbox_tray", "speech_balloon", "white_check_mark"} <= used
    assert sorted(used - set(render.EMOJI)) == []
    assert render.mrkdwn(":outbox_tray: Your feedback is sent", CTX) == "📤 Your feedback is sent"


def test_the_demo_check_in_asks_each_key_result_and_sends_back_what_the_app_reads() -> None:
    """The Platform check-in's goals question as the page draws it (value, confidence and note
    per key result, pre-filled, in words, not emoji codes), and the filled form as the
    `view.state.values` the app reads its goal updates from."""
    definition = templates.parse_template(company.PLATFORM_TEMPLATE, lambda email: None)
    cycle = parse("2037-Q1")
    owned = Owned(
        cycle=cycle,
        today=date(2037, 2, 20),
        asked=[
            Asked(7, demo_goals.LATENCY, demo_goals.PLATFORM_OBJECTIVE, Measure.NUMBER, "ms",
                  420, 210, 352, Confidence.OFF_TRACK),
            Asked(8, "Quota service live", demo_goals.PLATFORM_OBJECTIVE, Measure.MILESTONE, "",
                  0, 1, 0, None),
        ],
    )
    view = {
        **checkin_blocks.answer_modal(
            1, definition.name, date(2037, 2, 20), definition.questions, goals=owned
        ),
        "id": "V9",
    }
    html = forms.modal_html(view, CTX, {}, depth=1)
    assert "How did your key results move?" in html and "2037-Q1" in html
    assert f"{demo_goals.LATENCY} <" in html and 'value="352"' in html
    assert "now 352 ms (32%) · from 420 to 210 ms" in html
    assert "🔴 Off track" in html and ":red_circle:" not in html
    assert "Not done" in html
    field = {
        str(block.get("block_id")): f"i{index}" for index, block in enumerate(view["blocks"])
    }

    def name(result_id: int, part: str) -> str:
        return field[checkin_blocks.question_block(f"goals.{result_id}.{part}")]

    form = {
        field[checkin_blocks.question_block("done")]: ["Load-tested the quota service."],
        field[checkin_blocks.question_block("pulse")]: ["3"],
        name(7, "value"): ["318"],
        name(7, "confidence"): ["at_risk"],
        name(7, "note"): ["security review passed"],
        name(8, "value"): ["not_done"],
    }
    values, errors = forms.state_values(view, form)
    assert errors == {}
    answers, _ = checkin_blocks.read_answers(values, definition.questions)
    assert answers["goals"]["7"] == {
        "value": "318", "confidence": "at_risk", "note": "security review passed"
    }
    assert answers["goals"]["8"]["value"] == "not_done"
