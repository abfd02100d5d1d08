"""Parsing `/kudos` text and neutralising what the bot reposts."""

from __future__ import annotations

import pytest

from bot.services.text import ZWSP, escape, neutralise, tokenize

VALUES = {"teamwork", "craft", "ownership"}


def test_mentions_in_both_escaped_forms_and_tags_in_both_forms() -> None:
    tokens = tokenize(
        "<@U1ANA|ana> <@U2BEN> thanks for the migration #teamwork <#C0CRAFT|craft>", VALUES
    )
    assert tokens.user_ids == ["U1ANA", "U2BEN"]
    assert tokens.tags == ["teamwork", "craft"]
    assert tokens.text == "thanks for the migration"


def test_unknown_tags_and_other_channels_stay_as_text() -> None:
    tokens = tokenize("<@U1> shipped #hotfix in <#C0GEN|general> #Teamwork", VALUES)
    assert tokens.tags == ["teamwork"]
    assert tokens.text == "shipped #hotfix in <#C0GEN|general>"


def test_repeated_mentions_count_once_and_keep_order() -> None:
    tokens = tokenize("<@U2> <@U1> <@U2|bob> great", VALUES)
    assert tokens.user_ids == ["U2", "U1"]


def test_hash_inside_links_and_entities_is_not_a_tag() -> None:
    tokens = tokenize("<@U1> see <https://x.example/#teamwork|docs> and issue#teamwork", VALUES)
    assert tokens.tags == []
    assert "<https://x.example/#teamwork|docs>" in tokens.text


def test_line_breaks_survive_and_spaces_collapse() -> None:
    tokens = tokenize("<@U1>  first   line\n  second <@U2> line ", VALUES)
    assert tokens.text == "first line\nsecond line"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("<!channel> look", f"@{ZWSP}channel look"),
        ("<!here|here> now", f"@{ZWSP}here now"),
        ("<!everyone>", f"@{ZWSP}everyone"),
        ("<!subteam^S123|@platform> rocks", f"@{ZWSP}platform rocks"),
        ("<!subteam^S123>", f"@{ZWSP}group"),
        ("plain @here and @channel", f"plain @{ZWSP}here and @{ZWSP}channel"),
        ("<!date^1700000000^{date}|Nov 14>", "Nov 14"),
    ],
)
def test_neutralise_removes_every_ping(raw: str, shown: str) -> None:
    assert neutralise(raw) == shown
    assert "<!" not in neutralise(raw)


def test_neutralise_keeps_links_and_user_mentions() -> None:
    text = "<@U1> fixed <https://example.com|the bug>"
    assert neutralise(text) == text


def test_modal_text_is_escaped_before_neutralising() -> None:
    typed = "<!here> & <b>"
    assert neutralise(escape(typed)) == "&lt;!here&gt; &amp; &lt;b&gt;"
