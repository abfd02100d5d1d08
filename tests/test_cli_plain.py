"""Block Kit read back as plain text for the CLI: what a person at a terminal reads."""

from __future__ import annotations

from bot.cli.plain import blocks_text, mentioned, mrkdwn_text

NAMES = {"U0ANA": "Ana Lima"}


def test_mrkdwn_reads_as_a_person_reads_it() -> None:
    cases = {
        "<@U0ANA> and <@U0BEN|ben>": "@Ana Lima and @ben",
        "*Blockers* _still_ ~gone~ `code`": "Blockers still gone code",
        ":construction: *Blockers*": "Blockers",
        "snake_case stays, 2*3*4 too": "snake_case stays, 2*3*4 too",
        "<#C0OPS|ops> <!here> <!subteam^S1|@sre>": "#ops @here @sre",
        "<https://x.io/a|the runbook> <https://y.io>": "the runbook (https://x.io/a) https://y.io",
        "closes <!date^1796374800^{date_short_pretty}|2037-12-04 09:00 UTC>": (
            "closes 2037-12-04 09:00 UTC"
        ),
        "Said:\n>a &lt;b&gt; &amp; c": "Said:\n  a <b> & c",
    }
    for mrkdwn, expected in cases.items():
        assert mrkdwn_text(mrkdwn, NAMES) == expected, mrkdwn


def test_blocks_keep_every_words_block_and_leave_out_what_only_slack_draws() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Your team"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Week of 3–9 Mar*"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": ":memo: *Answers*\n<@U0ANA>"}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": "*One*"}, {"type": "plain_text", "text": "Two"}],
            "accessory": {"type": "button", "text": {"type": "plain_text", "text": "View more"}},
        },
        {"type": "image", "image_url": "https://x.io/c.png", "alt_text": "chart"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "No kudos for 30 days:"}]},
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text",
                                                                      "text": "Reply"}}]},
    ]
    assert blocks_text(blocks, NAMES) == (
        "Your team\nWeek of 3–9 Mar\n\nAnswers\n@Ana Lima\nOne\nTwo\nNo kudos for 30 days:"
    )
    assert mentioned(blocks) == {"U0ANA"}
