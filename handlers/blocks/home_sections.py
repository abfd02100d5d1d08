"""App Home sections from check-ins and kudos: yours, and your team's if you manage one.

At most `MAX_BLOCKS` blocks together, so App Home stays under Slack's 100 with the sections
other features add; long lists end in "see all" instead of growing.
"""

from __future__ import annotations

from bot.services.digest import DigestData
from bot.services.home import MyHome, sparkline
from bot.services.text import escape
from handlers import ids
from handlers.blocks.common import Block, clip, context, header, person, plain, section
from handlers.blocks.digest import headline, trend_words

MAX_BLOCKS = 40
TALK_TO_SHOWN = 5
KUDOS_SHOWN = 5


def my_sections(home: MyHome) -> list[Block]:
    blocks: list[Block] = [header("Your check-ins")]
    if home.answers:
        for answer in home.answers:
            text = (
                f"*{escape(answer.template)}* · {answer.local_date:%a %d %b}\n"
                f"{escape(clip(answer.summary, 400))}"
            )
            for author, reply in answer.replies[-2:]:
                text += f"\n:speech_balloon: {person(author)}: {escape(clip(reply, 300))}"
            blocks.append(section(text))
    else:
        blocks.append(section("_No answers yet._"))
    if any(p is not None for p in home.pulses):
        blocks.append(context(f"Your pulse, last 8 weeks: `{home.sparkline}`"))
    blocks.append(header("Your kudos"))
    received = "\n".join(
        f"• from {person(k.other_ids[0])}: {escape(clip(k.message, 120))}"
        for k in home.received[:KUDOS_SHOWN]
    )
    given = "\n".join(
        f"• to {', '.join(person(u) for u in k.other_ids)}: {escape(clip(k.message, 120))}"
        for k in home.given[:KUDOS_SHOWN]
    )
    blocks.append(section(f"*Received*\n{received or '_None yet._'}"))
    blocks.append(section(f"*Given*\n{given or '_None yet._'}"))
    if len(home.received) > KUDOS_SHOWN or len(home.given) > KUDOS_SHOWN:
        blocks.append(context("See all with `/kudos stats`."))
    return blocks


def team_sections(data: DigestData) -> list[Block]:
    """Participation and pulse over 8 weeks, whom to talk to, and "Preview digest"."""
    participation = "".join(
        "·" if w.participation is None else sparkline([1 + 4 * w.participation]) for w in data.chart
    )
    pulses = sparkline([w.pulse for w in data.chart])
    if data.leads_with_teams() or not data.has_chart():
        # A manager of managers, or a team without check-ins: the digest's own headline, never
        # "0 of 0" beside empty sparklines.
        summary = headline(data)
        title = "Your teams" if data.leads_with_teams() else "Your team"
    else:
        title = "Your team"
        summary = (
            f"*Week of {escape(data.week_label)}*: {data.people_answered} of "
            f"{data.people_prompted} people answered"
            + (f", pulse {data.pulse:.1f}" if data.pulse is not None else "")
            + f"\nParticipation, 8 weeks: `{participation}`\nPulse, 8 weeks: `{pulses}`"
        )
    blocks: list[Block] = [header(title), section(summary)]
    if data.talk_to:
        lines = [
            f"• <@{t.user_id}>: {escape('; '.join(t.reasons))} — 4 weeks: {trend_words(t.trend)}"
            for t in data.talk_to[:TALK_TO_SHOWN]
        ]
        blocks.append(section("*Whom to talk to*\n" + "\n".join(lines)))
        if len(data.talk_to) > TALK_TO_SHOWN:
            blocks.append(
                context(f"…and {len(data.talk_to) - TALK_TO_SHOWN} more: see all in the digest.")
            )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": plain("Preview digest", 75),
                    "action_id": ids.DIGEST_PREVIEW_ACTION,
                    "value": data.iso_week,
                }
            ],
        }
    )
    return blocks


def sections(home: MyHome | None, team: DigestData | None) -> list[Block]:
    blocks = (team_sections(team) if team is not None else []) + (
        my_sections(home) if home is not None else []
    )
    return blocks[:MAX_BLOCKS]
