"""The weekly digest as Block Kit: pure functions from `DigestData` to messages and modals.

Slack's limits hold by construction: a list becomes sections of at most 3,000 characters,
and a digest becomes a first message (headline to pulse, with the chart) plus thread replies
of at most 50 blocks each, so a 60-person team spills into the thread, never into an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from bot.delivery.uploads import FILE_PLACEHOLDER
from bot.services import digest_rules as rules
from bot.services.checkins import slack_date
from bot.services.digest import (
    Absent,
    AnswerLine,
    AnswerView,
    Blocker,
    DigestData,
    DigestPreview,
)
from bot.services.digest_data import GoalFlag, GoalLine
from bot.services.goal_progress import bar
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
from handlers.blocks.common import person as mention

MAX_BLOCKS = 50
MODAL_BLOCKS = 100
MAX_VIEW_MORE = 14  # one person's answers in a week: a daily check-in, twice
NO_KUDOS_SHOWN = 20
EMPTY = {
    "no_reports": "You have no direct reports in pulsebot's org chart and no check-in of your "
    "own, so there is nothing to sum up. `pulsebot org import` or `/checkin setup` adds them.",
    "no_checkins": "No check-ins were scheduled for your team this week.",
    "all_away": "Everyone on your team was away this week: no check-ins to sum up.",
    "no_answers": "Nobody on your team answered a check-in this week.",
}
NOBODY = "nobody on your team was asked this week"
NOBODY_ASKED = {
    EmptyReason.NO_REPORTS: "no team in pulsebot yet",
    EmptyReason.NO_CHECKINS: "no check-ins for your team this week",
    EmptyReason.ALL_AWAY: "everyone on your team was away",
}
CHART_ALT = (
    "Team pulse (line, 1 to 5) and the share who answered (bars) over the last 8 weeks; weeks "
    "without data or still open are marked, not drawn"
)

Message = tuple[str, list[Block]]


def headline(data: DigestData) -> str:
    """ "Week of 2–8 Mar: 4 of 5 people answered (<@U1> skipped), pulse 4.0 from 4 of 5 (+0.1),
    1 blocker, 3 kudos, 4 value tags": people in the headline, everyone who did not answer by
    name, and an average that says whom it leaves out. Never "0 of 0": a week in which nobody
    of the manager's own was asked says why, or, for a manager of managers, sums up their
    teams. Mrkdwn (mentions, escaped text), as a section or a message's fallback text."""
    week = f"Week of {escape(data.week_label)}: "
    if data.leads_with_teams():
        return week + ", ".join([_teams_count(data), _kudos_count(data)])
    if data.people_prompted == 0 and not data.still_open:
        nobody = NOBODY_ASKED.get(data.empty_reason, NOBODY) if data.empty_reason else NOBODY
        return week + ", ".join([nobody, _kudos_count(data)])
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
    return week + ", ".join(parts)


def messages(data: DigestData, *, chart: bool = True) -> list[Message]:
    """The first message, then thread replies; each (fallback text, at most 50 blocks).

    `chart`: the first message carries an image block whose file id the upload fills in, if
    the chart has anything to draw (`DigestData.has_chart`).
    """
    first = _top(data, chart=chart and data.has_chart())
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


def preview_modal(preview: DigestPreview | DigestData) -> dict[str, Any]:
    """"Preview digest" (App Home, `/checkin digest`): the whole digest in one modal (100
    blocks), without the chart. Before it is sent it is labelled a preview and says when it
    goes; after, it is the copy that was sent, and says when."""
    if isinstance(preview, DigestData):
        preview = DigestPreview(preview)
    data = preview.data
    blocks = [b for _, message in messages(data, chart=False) for b in message]
    if data.sent or preview.sent_at is not None:
        when = f" {slack_date(preview.sent_at)}" if preview.sent_at is not None else ""
        note = f":mailbox_with_mail: *As sent*{when}."
        title = "Weekly digest"
    else:
        when = f" {slack_date(preview.goes_at)}" if preview.goes_at is not None else " later"
        note = (
            f":eyes: *Preview, not sent yet.* It goes to you{when}; answers may still arrive "
            "until then."
        )
        title = "Digest preview"
    note += " Anonymous notes only ever appear in the sent digest."
    if len(blocks) > MODAL_BLOCKS - 2:
        blocks = blocks[: MODAL_BLOCKS - 2]
        blocks.append(context("…and more in the digest DM and its thread."))
    return _modal(title, [context(note), *blocks])


def placeholder_modal() -> dict[str, Any]:
    return _modal("Weekly digest", [section(":hourglass_flowing_sand: Building your digest…")])


def notice_modal(text: str) -> dict[str, Any]:
    return _modal("Weekly digest", [section(escape(text))])


def answer_modal(views: Sequence[AnswerView]) -> dict[str, Any]:
    """View more: each answer of the person's week whole, the exchange under it and the named
    note they left the manager, dated as the manager says dates ("Fri 27 Nov"), with Reply."""
    blocks: list[Block] = []
    for view in views:
        day = day_words(view.answered_on or view.local_date)
        blocks.append(section(f"*<@{view.member_id}>* · {escape(view.template)} · {day}"))
        for question, value in view.answers:
            blocks.extend(_long_section(f"*{escape(question)}*\n{escape(value)}"))
        if view.note:
            blocks.extend(
                _long_section(f":envelope: *Their note for you*\n{quote(escape(view.note))}")
            )
        for author, text, when in view.exchange:
            did = "answered back" if author == view.member_id else "replied"
            blocks.extend(
                _long_section(
                    f":speech_balloon: <@{author}> {did}, {day_words(when)}:\n"
                    f"{quote(escape(text))}"
                )
            )
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": plain("Reply", 75),
                        "action_id": ids.DIGEST_REPLY_ACTION,
                        "value": str(view.occurrence_id),
                    }
                ],
            }
        )
        blocks.append({"type": "divider"})
    if blocks:
        blocks.pop()  # the last divider
    view_modal = _modal("Check-in answer", blocks[:MODAL_BLOCKS])
    first = views[0].occurrence_id if views else None
    view_modal["private_metadata"] = clip(
        json.dumps({"occurrence_id": first}), PRIVATE_METADATA_MAX
    )
    return view_modal


def day_words(day: date) -> str:
    """ "Fri 27 Nov": a date as a manager says it."""
    return f"{day:%a} {day.day} {day:%b}"


def view_more_ids(value: str | None) -> list[int]:
    """A View more button's value ("12,15": one person's answers that week) back to ids;
    anything else reads as none."""
    found = []
    for part in (value or "").split(","):
        if part.strip().isdigit():
            found.append(int(part.strip()))
    return found[:MAX_VIEW_MORE]


# ----- the sections -----------------------------------------------------------------------------


def _top(data: DigestData, *, chart: bool) -> list[Block]:
    teams = data.leads_with_teams()
    title = "Your teams" if teams else "Your team"
    blocks: list[Block] = [header(f"{title}, week of {data.week_label}")]
    blocks.append(section(f"*{headline(data)}*"))
    if teams:
        blocks.append(
            context(
                "You have no check-in of your own this week: these are the teams of the "
                "managers who report to you, as counts (names stay with their managers)."
            )
        )
        blocks.extend(_skip_level(data, title=":busts_in_silhouette: *Your teams*"))
        if data.talk_to:
            blocks.extend(_talk_to(data))
        return blocks
    if data.empty_reason is not None:
        blocks.append(section(EMPTY[data.empty_reason]))
    if data.still_open:
        open_ones = "1 check-in" if data.still_open == 1 else f"{data.still_open} check-ins"
        blocks.append(context(f"{open_ones} still open: not counted as missed."))
    if data.people_prompted or data.still_open or data.talk_to:
        # With nobody asked, nobody could stand out: "nobody stands out" would only mislead.
        blocks.extend(_talk_to(data))
    if data.blockers:
        blocks.extend(_list(":construction: *Blockers*", [_blocker_line(b) for b in data.blockers]))
    blocks.extend(goals_section(data))
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
            text += f"\nAverage {data.pulse:.1f}{_from(data, names=True)}"
            if data.pulse_change is not None:
                text += f" · {data.pulse_change:+.1f} on last week"
                if data.pulse_change_people < data.pulse_people:
                    text += f" for the {data.pulse_change_people} who gave one both weeks"
            words = rules.spread_words(data.spread)
            if words:
                text += f"\nAnswers: {words}"
        else:
            text += "\nNo pulse answers this week."
        blocks.append(section(text))
    if chart:
        blocks.append(
            {
                "type": "image",
                "slack_file": {"id": FILE_PLACEHOLDER},
                "alt_text": CHART_ALT,
            }
        )
    return blocks


def _blocker_line(blocker: Blocker) -> str:
    """ "• <@U1>: Waiting on the security review — 2nd week (Platform weekly)": what blocks,
    for how long, who raised it; a "yes" that did not say reads as such, never "yes"."""
    weeks = max(blocker.weeks, 2 if blocker.still_open else 1)
    said = _blocker_words(blocker.text, 300)
    age = rules.blocker_age_words(weeks)
    if weeks >= 2:
        age = f"*{age}*"
    return f"• <@{blocker.user_id}>: {said} — {age} ({escape(blocker.template)})"


def goals_section(data: DigestData) -> list[Block]:
    """Goals, after the blockers: each team objective with its bar, its change over the week,
    the expected pace and its status; then the key results at risk or off track with their
    owner's note, and the stale ones. None at all for a team with no goals in the cycle: a
    team that does not use goals is not told so every week."""
    if not data.goals_cycle:
        return []
    expected = round((data.goals_expected or 0) * 100)
    title = f":dart: *Goals* · {escape(data.goals_cycle)}, {expected}% of the cycle gone"
    lines = [_goal_line(goal) for goal in data.goals] or ["No team objective this cycle."]
    if data.goal_flags:
        lines.append("*At risk or off track*")
        lines += [_flag_line(flag) for flag in data.goal_flags]
    if data.goal_stale:
        lines.append("*Not updated lately*")
        lines += [_flag_line(flag) for flag in data.goal_stale]
    if not data.goal_flags and not data.goal_stale:
        lines.append("Every key result is on track and updated.")
    return _list(title, lines)


def _goal_line(goal: GoalLine) -> str:
    """ "• *Self-serve grows 30%* (<@U1>): ▓▓▓▓▓░░░░░ 52% · +6 pts this week · expected 45% ·
    at risk"."""
    parts = [bar(goal.progress)]
    if goal.progress is not None:
        if goal.change is None:
            parts.append("new this week")
        elif round(goal.change) == 0:
            parts.append("no change this week")
        else:
            parts.append(f"{goal.change:+.0f} pts this week")
        parts.append(f"expected {round(goal.expected * 100)}%")
    if goal.status:
        parts.append(_status_words(goal.status))
    return f"• *{escape(goal.title)}* ({mention(goal.user_id)}): " + " · ".join(parts)


def _flag_line(flag: GoalFlag) -> str:
    """ "• Self-serve MRR (<@U2>, Self-serve grows 30%): at risk, 40% of the way: "two deals
    slipped"", with how long it went without an update when it did."""
    line = f"• {escape(flag.title)} ({mention(flag.user_id)}, {escape(flag.objective)}): "
    way = ("done" if flag.progress >= 1 else "not done") if flag.milestone else None
    line += f"{_status_words(flag.status)}, {way or f'{round(flag.progress * 100)}% of the way'}"
    if flag.note.strip():
        line += f': "{escape(clip(" ".join(flag.note.split()), 300))}"'
    if flag.stale_days is not None:
        line += f" · no update for {flag.stale_days} days"
    return line


def _status_words(status: str) -> str:
    return {"on_track": "on track", "at_risk": "*at risk*", "off_track": "*off track*"}.get(
        status, escape(status)
    )


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
        several = len({a.template for a in data.answers}) > 1 or len(data.participation) > 1
        for answer in data.answers:
            blocks.append(
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": clip(_answer_line(answer, templates=several), SECTION_TEXT_MAX),
                    },
                    "accessory": {
                        "type": "button",
                        "text": plain("View more", 75),
                        "action_id": ids.DIGEST_VIEW_MORE_ACTION,
                        "value": ",".join(
                            str(i) for i in (answer.occurrence_ids or [answer.occurrence_id])
                        ),
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
    if data.kudos_by_goal:
        recognition += "\nFor their goals: " + ", ".join(
            f"{escape(goal)} {n}" for goal, n in data.kudos_by_goal
        )
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
    answers = data.answer_count()
    if answers:
        blocks.append(
            section(
                f":white_check_mark: *Your follow-through*: you replied to {data.replied} of "
                f"{answers} answer{'s' if answers != 1 else ''}."
            )
        )
    if data.skip_level and not data.leads_with_teams():
        blocks.extend(_skip_level(data, title=":busts_in_silhouette: *Skip-level*"))
    return blocks


def _blocker_words(text: str, limit: int) -> str:
    if text.strip().lower() in {"yes", "true"}:
        text = rules.NO_DETAILS  # a digest stored before yes/no blockers asked what blocks
    return f"_{rules.NO_DETAILS}_" if text == rules.NO_DETAILS else escape(clip(text, limit))


def _answer_line(answer: AnswerLine, *, templates: bool) -> str:
    """ "*<@U1>* · pulse 4 · Shipped the retry logic for the… · :construction: Waiting on X":
    one line that reminds; the manager read the whole answer by DM, and View more shows it."""
    parts = [f"*<@{answer.user_id}>*"]
    if templates:
        parts.append(escape(answer.template))
    if answer.pulse is not None:
        parts.append(f"pulse {rules.pulse_words(answer.pulse)}")
    gist = answer.gist or (answer.summary.splitlines()[0] if answer.summary else "")
    if gist:
        parts.append(escape(rules.first_words(gist)))
    if answer.blocker:
        parts.append(f":construction: {_blocker_words(answer.blocker, 120)}")
    if answer.replied:
        parts.append("_replied_")
    return " · ".join(parts)


def _skip_level(data: DigestData, *, title: str) -> list[Block]:
    """One line per direct report's team: counts only, no names below them; small groups
    hidden."""
    lines = []
    for line in data.skip_level:
        if line.too_small:
            lines.append(f"• <@{line.manager_id}>'s team: too small to show")
            continue
        text = (
            f"• <@{line.manager_id}>'s team ({line.size} people): {line.answered} of "
            f"{line.prompted} check-ins answered"
        )
        if line.pulse is not None:
            text += f", pulse {line.pulse:.1f}{_signed(line.change)}"
        lines.append(text)
    return _list(title, lines)


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


def _teams_count(data: DigestData) -> str:
    """ "your 2 teams answered 14 of 15 check-ins": the groups large enough to show."""
    shown = [line for line in data.skip_level if not line.too_small]
    teams = f"your {len(data.skip_level)} team{'s' if len(data.skip_level) != 1 else ''}"
    if not shown:
        return f"{teams}, each too small to show"
    answered = sum(line.answered for line in shown)
    prompted = sum(line.prompted for line in shown)
    text = f"{teams} answered {answered} of {prompted} check-ins"
    if len(shown) < len(data.skip_level):
        text += f" ({len(data.skip_level) - len(shown)} too small to show)"
    return text


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
