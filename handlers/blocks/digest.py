"""The weekly digest as Block Kit: pure functions from `DigestData` to messages and modals.

Slack's limits hold by construction: a list becomes sections of at most 3,000 characters,
and a digest becomes a first message (headline to pulse, with the chart) plus thread replies
of at most 50 blocks each, so a 60-person team spills into the thread, never into an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from bot.delivery.uploads import FILE_PLACEHOLDER
from bot.services import digest_rules as rules
from bot.services.digest import Absent, DigestData
from bot.services.states import CheckinOutcome, EmptyReason
from bot.services.text import escape
from handlers import ids
from handlers.blocks.common import (
    PRIVATE_METADATA_MAX,
    SECTION_TEXT_MAX,
    Block,
    clip,
    context,
    header,
    plain,
    quote,
    section,
)

MAX_BLOCKS = 50
MODAL_BLOCKS = 100
NO_KUDOS_SHOWN = 20
EMPTY = {
    "no_reports": "You have no direct reports in pulsebot's org chart and no check-in of your "
    "own, so there is nothing to sum up. `pulsebot org import` or `/checkin setup` adds them.",
    "no_checkins": "No check-ins were scheduled for your team this week.",
    "all_away": "Everyone on your team was away this week: no check-ins to sum up.",
    "no_answers": "Nobody on your team answered a check-in this week.",
}

Message = tuple[str, list[Block]]


def headline(data: DigestData) -> str:
    """ "Week of 2–8 Mar: 4 of 5 people answered (<@U1> skipped), pulse 4.0 from 4 of 5 (+0.1),
    1 blocker, 3 kudos, 4 value tags": people in the headline, everyone who did not answer by
    name, and an average that says whom it leaves out. Mrkdwn (mentions, escaped text), as a
    section or a message's fallback text."""
    people = f"{data.people_answered} of {data.people_prompted} people answered"
    if data.still_open:
        people += " so far"
    if data.absent:
        people += f" ({_absent(data.absent)})"
    parts = [people]
    if data.pulse is not None:
        parts.append(f"pulse {data.pulse:.1f}{_from(data)}{_signed(data.pulse_change)}")
    count = len(data.blockers)
    parts.append(f"{count} blocker{'s' if count != 1 else ''}")
    parts.append(_kudos_count(data))
    return f"Week of {escape(data.week_label)}: " + ", ".join(parts)


def messages(data: DigestData, *, chart: bool = True) -> list[Message]:
    """The first message, then thread replies; each (fallback text, at most 50 blocks).

    `chart`: the first message carries an image block whose file id the upload fills in.
    """
    first = _top(data, chart=chart)
    rest = _rest(data)
    if len(first) + len(rest) <= MAX_BLOCKS:
        return [(headline(data), first + rest)]
    out: list[Message] = []
    for chunk in _chunks(first, MAX_BLOCKS):
        out.append((headline(data) if not out else "Weekly digest (continued)", chunk))
    for chunk in _chunks(rest, MAX_BLOCKS):
        out.append(("Weekly digest (continued)", chunk))
    return out


def anonymous_message(data: DigestData) -> Message | None:
    """The released anonymous notes, alone in their own message: the stored copy of it (an
    outbox row) names no one, unlike the digest's other messages, which list who answered.

    Labelled by this digest and the span of weeks they may come from, never by a week: a week
    with fewer answerers than the minimum would point at them."""
    if not data.anonymous_notes:
        return None
    weeks = data.anonymous_weeks
    span = "the last week" if weeks <= 1 else f"the last {weeks} weeks"
    lines = [f"• {escape(clip(text, 1000))}" for text in data.anonymous_notes]
    blocks = _list(
        f":envelope: *Anonymous notes*, released this week, written in {span} (in random order)",
        lines,
    )
    return "Anonymous notes from your team", blocks[:MAX_BLOCKS]


def preview_modal(data: DigestData) -> dict[str, Any]:
    """`/checkin digest`: the whole digest in one modal (100 blocks), without the chart."""
    blocks = [b for _, message in messages(data, chart=False) for b in message]
    note = context(
        ("As sent." if data.sent else "As it will be sent (answers may still arrive until then).")
        + " Anonymous notes only ever appear in the sent digest."
    )
    if len(blocks) > MODAL_BLOCKS - 2:
        blocks = blocks[: MODAL_BLOCKS - 2]
        blocks.append(context("…and more in the digest DM and its thread."))
    return _modal("Weekly digest", [note, *blocks])


def placeholder_modal() -> dict[str, Any]:
    return _modal("Weekly digest", [section(":hourglass_flowing_sand: Building your digest…")])


def notice_modal(text: str) -> dict[str, Any]:
    return _modal("Weekly digest", [section(escape(text))])


def answer_modal(
    occurrence_id: int,
    member_id: str,
    template: str,
    day: str,
    answers: Sequence[tuple[str, str]],
    replies: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """View more: the whole answer, the manager's replies, and Reply."""
    blocks: list[Block] = [section(f"*<@{member_id}>* · {escape(template)} · {day}")]
    for question, value in answers:
        blocks.extend(_long_section(f"*{escape(question)}*\n{escape(value)}"))
    for author, text in replies:
        blocks.extend(
            _long_section(f":speech_balloon: <@{author}> replied:\n{quote(escape(text))}")
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": plain("Reply", 75),
                    "action_id": ids.DIGEST_REPLY_ACTION,
                    "value": str(occurrence_id),
                }
            ],
        }
    )
    view = _modal("Check-in answer", blocks[:MODAL_BLOCKS])
    view["private_metadata"] = clip(
        json.dumps({"occurrence_id": occurrence_id}), PRIVATE_METADATA_MAX
    )
    return view


# ----- the sections -----------------------------------------------------------------------------


def _top(data: DigestData, *, chart: bool) -> list[Block]:
    blocks: list[Block] = [header(f"Your team, week of {data.week_label}")]
    blocks.append(section(f"*{headline(data)}*"))
    if data.empty_reason is not None:
        blocks.append(section(EMPTY[data.empty_reason]))
    if data.still_open:
        blocks.append(context(f"{data.still_open} check-in(s) still open: not counted as missed."))
    if data.empty_reason != EmptyReason.NO_REPORTS:
        blocks.extend(_talk_to(data))
    if data.blockers:
        lines = [
            f"• <@{b.user_id}> ({escape(b.template)}): {escape(clip(b.text, 300))}"
            + (" — *still open* from last week" if b.still_open else "")
            for b in data.blockers
        ]
        blocks.extend(_list(":construction: *Blockers*", lines))
    if data.participation or data.other_prompted:
        lines = []
        for line in data.participation:
            text = f"• *{escape(line.name)}*: {line.answered} of {line.prompted} check-ins answered"
            if line.change is not None:
                text += f" ({line.change:+.0f} pts on last week)"
            for word, people in (
                ("skipped", line.skipped),
                ("missed", line.missed),
                ("still open", line.still_open),
            ):
                if people:
                    text += f"; {word}: {_people(people)}"
            lines.append(text)
        if data.other_prompted:
            lines.append(
                f"• Other teams' check-ins: {data.other_answered} of {data.other_prompted} "
                "check-ins answered"
            )
        blocks.extend(_list(":bar_chart: *Participation*", lines))
    if data.pulse is not None or chart:
        text = ":heart: *Pulse*"
        if data.pulse is not None:
            spread = " · ".join(f"{i}: {n}" for i, n in enumerate(data.spread, 1))
            text += f"\nAverage {data.pulse:.1f}{_from(data, names=True)}"
            if data.pulse_change is not None:
                text += f" · {data.pulse_change:+.1f} on last week"
                if data.pulse_change_people < data.pulse_people:
                    text += f" for the {data.pulse_change_people} who gave one both weeks"
            text += f" · answers {spread}"
        else:
            text += "\nNo pulse answers this week."
        blocks.append(section(text))
    if chart:
        blocks.append(
            {
                "type": "image",
                "slack_file": {"id": FILE_PLACEHOLDER},
                "alt_text": "Team pulse (line) and participation (bars) over the last 8 weeks",
            }
        )
    return blocks


def _talk_to(data: DigestData) -> list[Block]:
    """Whom to talk to, right after the headline; said to be empty when it is, so a manager
    knows the check ran."""
    title = ":speech_balloon: *Whom to talk to*"
    if not data.talk_to:
        return [section(f"{title}\nNobody stands out this week.")]
    lines = []
    for person in data.talk_to:
        last = (
            f"last pulse {rules.pulse_words(person.last_pulse)}"
            if person.last_pulse is not None
            else "no pulse in 8 weeks"
        )
        lines.append(
            f"• <@{person.user_id}>: {escape('; '.join(person.reasons))}"
            f" — {last}, 4 weeks: {trend_words(person.trend)}"
        )
    return _list(title, lines)


def trend_words(trend: Sequence[float | None]) -> str:
    """ "3 → 2 → 2 → –": a week without a pulse is a dash, never a zero."""
    return " → ".join(rules.pulse_words(p) if p is not None else "–" for p in trend) or "–"


def _rest(data: DigestData) -> list[Block]:
    blocks: list[Block] = []
    if data.answers:
        blocks.append(section(":memo: *Answers*"))
        for answer in data.answers:
            blocks.append(
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": clip(
                            f"*<@{answer.user_id}>* · {escape(answer.template)}"
                            + (" · _replied_" if answer.replied else "")
                            + f"\n{escape(answer.summary)}",
                            SECTION_TEXT_MAX,
                        ),
                    },
                    "accessory": {
                        "type": "button",
                        "text": plain("View more", 75),
                        "action_id": ids.DIGEST_VIEW_MORE_ACTION,
                        "value": str(answer.occurrence_id),
                    },
                }
            )
    feedback: list[str] = [
        f"• <@{author}>: {escape(clip(text, 500))}" for author, text in data.named_notes
    ]
    if feedback:
        blocks.extend(_list(":envelope: *Upward feedback*", feedback))
    recognition = ":clap: *Recognition*\n"
    if data.kudos_by_value:
        recognition += f"{_kudos_count(data)} to your team: " + ", ".join(
            f"#{escape(v)} {n}" for v, n in data.kudos_by_value
        )
    else:
        recognition += f"{data.kudos} kudos to your team this week."
    blocks.append(section(recognition))
    if data.no_kudos:
        blocks.append(context("No kudos for 30 days:"))
        for user_id in data.no_kudos[:NO_KUDOS_SHOWN]:
            blocks.append(
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f"<@{user_id}>"},
                    "accessory": {
                        "type": "button",
                        "text": plain("Give kudos", 75),
                        "action_id": ids.DIGEST_GIVE_KUDOS_ACTION,
                        "value": user_id,
                    },
                }
            )
        if len(data.no_kudos) > NO_KUDOS_SHOWN:
            blocks.append(context(f"…and {len(data.no_kudos) - NO_KUDOS_SHOWN} more."))
    answers = len(data.answers)
    if answers:
        blocks.append(
            section(
                f":white_check_mark: *Your follow-through*: you replied to {data.replied} of "
                f"{answers} answer{'s' if answers != 1 else ''}."
            )
        )
    if data.skip_level:
        lines = []
        for line in data.skip_level:
            if line.too_small:
                lines.append(f"• <@{line.manager_id}>'s group: too small to show")
                continue
            text = (
                f"• <@{line.manager_id}>'s group: {line.answered} of {line.prompted} "
                "check-ins answered"
            )
            if line.pulse is not None:
                text += f", pulse {line.pulse:.1f}{_signed(line.change)}"
            lines.append(text)
        blocks.extend(_list(":busts_in_silhouette: *Skip-level*", lines))
    return blocks


# ----- helpers ----------------------------------------------------------------------------------


def _list(title: str, lines: Iterable[str]) -> list[Block]:
    """A titled list as few sections as fit in 3,000 characters each."""
    blocks: list[Block] = []
    current = title
    for line in lines:
        line = clip(line, SECTION_TEXT_MAX - 10)
        if len(current) + 1 + len(line) > SECTION_TEXT_MAX:
            blocks.append(section(current))
            current = line
        else:
            current += "\n" + line
    blocks.append(section(current))
    return blocks


def _long_section(text: str) -> list[Block]:
    return [
        section(text[i : i + SECTION_TEXT_MAX]) for i in range(0, len(text), SECTION_TEXT_MAX)
    ] or [section(" ")]


def _chunks(blocks: list[Block], size: int) -> list[list[Block]]:
    return [blocks[i : i + size] for i in range(0, len(blocks), size)]


def _people(user_ids: Sequence[str]) -> str:
    return ", ".join(f"<@{u}>" for u in user_ids)


_ABSENT_WORDS = {
    CheckinOutcome.SKIPPED: "skipped",
    CheckinOutcome.MISSED: "missed",
    CheckinOutcome.OPEN: "still open",
    CheckinOutcome.AWAY: "away",
}


def _absent(absent: Sequence[Absent], *, asked_only: bool = False) -> str:
    """ "<@U1>, <@U2> skipped; <@U3> missed; <@U4> away", each way of not answering once."""
    groups = []
    for outcome, word in _ABSENT_WORDS.items():
        if asked_only and outcome == CheckinOutcome.AWAY:
            continue
        people = [a.user_id for a in absent if a.outcome == outcome]
        if people:
            groups.append(f"{_people(people)} {word}")
    return "; ".join(groups)


def _from(data: DigestData, *, names: bool = False) -> str:
    """ " from 4 of 5" when the average leaves someone out (`names`: and who, and why)."""
    if data.pulse_people >= data.people_prompted:
        return ""
    text = f" from {data.pulse_people} of {data.people_prompted}"
    if not names:
        return text
    left_out = [_absent(data.absent, asked_only=True)] if data.absent else []
    if data.no_pulse:
        left_out.append(f"{_people(data.no_pulse)} gave no pulse")
    left_out = [part for part in left_out if part]
    return text + (f" ({'; '.join(left_out)})" if left_out else "")


def _kudos_count(data: DigestData) -> str:
    """ "3 kudos, 4 value tags": one kudos may carry several values, or none."""
    return f"{data.kudos} kudos, {data.value_tags} value tag{'s' if data.value_tags != 1 else ''}"


def _signed(value: float | None) -> str:
    return f" ({value:+.1f})" if value is not None else ""


def _modal(title: str, blocks: list[Block]) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.DIGEST_MODAL,
        "title": plain(title, 24),
        "close": plain("Close", 24),
        "blocks": blocks,
    }
