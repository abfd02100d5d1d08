"""Check-in messages and the answer modal: data in, Block Kit out.

Answers are stored as the member typed them; everything here that shows one escapes it and
takes the ping out of broadcasts, so `<!channel>` typed in a modal never notifies anyone when
it is reposted to a manager or a team channel. Sizes stay within Slack's limits
(bot/services/slack_limits.py), so Slack never refuses a message for its size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.services import goal_checkin
from bot.services.checkins import slack_date
from bot.services.digest_rules import NO_DETAILS, blocker_text
from bot.services.goal_checkin import Asked, Owned
from bot.services.goal_progress import Confidence, Measure
from bot.services.slack_limits import (
    BUTTON_TEXT_MAX,
    MESSAGE_BLOCKS_MAX,
    SELECT_OPTIONS_MAX,
    TEXT_MAX,
    VIEW_BLOCKS_MAX,
)
from bot.services.templates import DETAIL_HINT, Question, form_questions
from bot.services.text import escape, neutralise
from handlers import ids
from handlers.blocks.common import (
    MODAL_TITLE_MAX,
    SECTION_TEXT_MAX,
    Block,
    clip,
    context,
    header,
    option,
    plain,
    quote,
    read_metadata,
    section,
    write_metadata,
)

MODAL_BLOCKS_MAX = VIEW_BLOCKS_MAX
LABEL_MAX = 2000
TEXT_ANSWER_MAX = TEXT_MAX
SUMMARY_ANSWER_MAX = 300  # the member's own summary only needs a reminder of what they said
SNOOZE_BUTTON = "1h"
PULSE_LABELS = {
    1: ":slightly_frowning_face: 1 — rough",
    2: ":confused: 2 — meh",
    3: ":neutral_face: 3 — okay",
    4: ":slightly_smiling_face: 4 — good",
    5: ":star-struck: 5 — great",
}
YES_NO = (("Yes", "yes"), ("No", "no"))
FALLBACK_TEXT_MAX = TEXT_MAX

Answers = Sequence[tuple[Question, Any]]


@dataclass(frozen=True, slots=True)
class Readers:
    """Who reads a check-in's answers: the owner every answer; the member's manager (the org
    chart's, else the owner) an upward note; the team channel, if any, the shared questions."""

    owner_id: str
    manager_id: str | None = None
    channel_id: str | None = None

    def of(self, question: Question) -> str:
        """ "Read by <@U…> (your manager) and <#C…>": mrkdwn, so Slack shows the names."""
        if question.upward:
            return f":lock: Read by {self._person(self.manager_id or self.owner_id)} only"
        if self.channel_id and question.shared:
            return f":busts_in_silhouette: Read by {self._answerers()} and <#{self.channel_id}>"
        return f":bust_in_silhouette: Read by {self._answerers()} only"

    def everything(self) -> str:
        """The same, once for the whole form, when no question goes to a channel."""
        return f":bust_in_silhouette: Your answers are read by {self._answerers()} only"

    def _answerers(self) -> str:
        """The owner, and the member's manager if someone else (they may open any answer)."""
        if self.manager_id is None or self.manager_id == self.owner_id:
            return self._person(self.owner_id)
        return f"<@{self.owner_id}> and {self._person(self.manager_id)}"

    def _person(self, user_id: str) -> str:
        return f"<@{user_id}>" + (" (your manager)" if user_id == self.manager_id else "")


# ----- the DMs a member gets --------------------------------------------------------------------


def prompt_message(
    occurrence_id: int,
    template_name: str,
    owner_id: str,
    questions: Sequence[Question],
    closes_at: datetime,
    *,
    channel_id: str | None = None,
    late: bool = False,
    snoozed: bool = False,
) -> tuple[str, list[Block]]:
    """The check-in DM: intro, who reads which answer, and Start / Snooze 1h / Skip."""
    if snoozed:
        intro = f":alarm_clock: Snooze is over: your *{escape(template_name)}* check-in is waiting."
    else:
        intro = f":wave: Time for your *{escape(template_name)}* check-in."
    intro += "\n" + who_reads(owner_id, questions, channel_id)
    if late:
        intro += "\n_Sorry this comes late: pulsebot was unavailable at the usual time._"
    count = "1 question" if len(questions) == 1 else f"{len(questions)} questions"
    text = f"Time for your {template_name} check-in"
    blocks = [
        section(clip(intro, SECTION_TEXT_MAX)),
        context(f"{count} · closes {slack_date(closes_at)}"),
        _buttons(occurrence_id),
    ]
    return text, blocks


def who_reads(owner_id: str, questions: Sequence[Question], channel_id: str | None) -> str:
    """Who will read which answer, said before the member starts: the owner reads them all; a
    team channel only the questions the template shares there, never a pulse or a note."""
    shared = [q for q in questions if q.shared] if channel_id else []
    if not shared:
        return f"Your answers go to <@{owner_id}> only."
    names = [f"_{escape(q.text)}_" for q in shared]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    kept = [
        word
        for word, present in (
            ("your pulse", any(q.kind == "pulse" for q in questions)),
            ("your note for your manager", any(q.upward for q in questions)),
            ("your other answers", any(not q.shared and not _never_shared(q) for q in questions)),
        )
        if present
    ]
    stop = "" if shared[-1].text.rstrip()[-1:] in "?!." else "."
    text = f"Your answers go to <@{owner_id}>; <#{channel_id}> also sees your answers to {listed}"
    text += stop
    if kept:
        joined = kept[0] if len(kept) == 1 else f"{', '.join(kept[:-1])} and {kept[-1]}"
        go = "goes" if len(kept) == 1 and kept[0] != "your other answers" else "go"
        text += f" {joined[0].upper()}{joined[1:]} never {go} there."
    return text


def reminder_message(
    occurrence_id: int, template_name: str, closes_at: datetime
) -> tuple[str, list[Block]]:
    text = f"Reminder: your {template_name} check-in is still open"
    blocks = [
        section(
            f":hourglass_flowing_sand: Reminder: your *{escape(template_name)}* check-in is "
            f"still open. It closes {slack_date(closes_at)}."
        ),
        _buttons(occurrence_id),
    ]
    return text, blocks


def closed_message(template_name: str, local_date: date) -> tuple[str, list[Block]]:
    """What replaces a prompt clicked after closing (buttons cannot be disabled otherwise)."""
    text = f"This {template_name} check-in has closed"
    blocks = [
        section(
            f":lock: Your *{escape(template_name)}* check-in for {_day(local_date)} has closed. "
            "The next one comes at its usual time."
        )
    ]
    return text, blocks


def status_message(template_name: str, local_date: date, status: str) -> tuple[str, list[Block]]:
    """Replaces a prompt after Skip, Snooze or an unavailable click: one line, no buttons.

    `status` is already-safe mrkdwn, e.g. "Skipped." or "Snoozed until <!date…>.".
    """
    text = f"{template_name} check-in: {status}"
    blocks = [section(f"*{escape(template_name)}* check-in for {_day(local_date)}: {status}")]
    return text, blocks


def submitted_message(
    template_name: str,
    local_date: date,
    answers: Answers,
    *,
    upward_sent: bool = False,
    upward_anonymous: bool = False,
) -> tuple[str, list[Block]]:
    """The prompt DM after submission (chat.update): "Submitted ✓" and a short summary."""
    lines = _answer_lines(answers, SUMMARY_ANSWER_MAX)
    blocks: list[Block] = [
        section(f"*Submitted ✓* — {escape(template_name)}, {_day(local_date)}")
    ]
    blocks += _sections(lines, MESSAGE_BLOCKS_MAX - 2)
    # An anonymous note is never mentioned here: this message is stored (an outbox row tied
    # to the occurrence). The modal's own answer confirms it instead.
    if upward_sent and not upward_anonymous:
        blocks.append(context("Your note was sent to your manager."))
    return f"Submitted ✓ {template_name} check-in", blocks


# ----- the answer modal -------------------------------------------------------------------------


def answer_modal(
    occurrence_id: int,
    template_name: str,
    local_date: date,
    questions: Sequence[Question],
    *,
    readers: Readers | None = None,
    initial: Mapping[str, Any] | None = None,
    anonymity_min: int | None = None,
    release_after: int | None = None,
    goals: Owned | None = None,
) -> dict[str, Any]:
    """One input per question: text, pulse (1-5 with emoji), choice, yes/no (a blocker one with
    its optional "What is blocking you?" text under it), and for a goals question three per key
    result the member owns (`goals`): the value (done or not, for a milestone), the confidence
    and a note, pre-filled with the last ones, or one line saying they own none.

    `readers`: who reads which answer, said under each question when a team channel sees some
    of them (else once, above them all, since one person reads everything). The upward-feedback
    question gets an "anonymous" checkbox under it; `anonymity_min` set means the manager has
    fewer direct reports than that, so the box is replaced by a line saying why there is none.
    `release_after`: the anonymity minimum, said under the box. At most three blocks per
    question and one above them: 76 for the 25 a template allows, within a modal's 100; a goals
    question takes the room the others leave, up to `goal_checkin.MAX_ASKED` key results, and
    says how many more `/goals` updates.
    """
    top = f"{escape(template_name)} · {_day(local_date)}"
    per_question = readers is not None and bool(readers.channel_id) and any(
        q.shared for q in questions
    )
    if readers is not None and not per_question:
        top += f"\n{readers.everything()}"
    blocks: list[Block] = [context(top)]
    asked = form_questions(questions)
    for index, question in enumerate(asked):
        if question.kind == "goals":
            after = 3 * len(asked[index + 1 :])  # what the questions after it may take
            readers_line = readers.of(question) if per_question and readers else None
            blocks += _goal_inputs(
                question, goals, MODAL_BLOCKS_MAX - len(blocks) - after, readers_line
            )
            continue
        if len(blocks) + 3 > MODAL_BLOCKS_MAX:
            break
        field = _question_input(question, (initial or {}).get(question.id))
        if per_question and question.upward:
            field.pop("hint", None)  # the line under it names the reader
        blocks.append(field)
        if question.asks_detail:
            continue  # its readers are said once, under its detail
        if per_question and readers is not None:
            blocks.append(context(readers.of(question)))
        if question.anonymous_allowed:
            blocks.append(
                _anonymous_box(release_after)
                if anonymity_min is None
                else context(
                    f"No anonymous option: your manager has fewer than {anonymity_min} direct "
                    "reports, so a note could point to you. Your note goes with your name."
                )
            )
    metadata: dict[str, Any] = {"occurrence_id": occurrence_id}
    if goals is not None and goals.asked:
        metadata["goals"] = goal_checkin.baseline(goals)
    return {
        "type": "modal",
        "callback_id": ids.CHECKIN_MODAL,
        "title": plain(template_name or "Check-in", MODAL_TITLE_MAX),
        "submit": plain("Submit", MODAL_TITLE_MAX),
        "close": plain("Later", MODAL_TITLE_MAX),
        "private_metadata": write_metadata(metadata),
        "blocks": blocks,
    }


def anonymous_confirmation(template_name: str, anonymity_min: int) -> dict[str, Any]:
    """The modal's `response_action: update` after an anonymous note: never stored anywhere."""
    return {
        "type": "modal",
        "title": plain(template_name or "Check-in", MODAL_TITLE_MAX),
        "close": plain("Done", MODAL_TITLE_MAX),
        "blocks": [
            section("*Submitted ✓*"),
            context(
                "Your anonymous note waits for one of your manager's weekly digests. It goes out "
                "with the other notes waiting then, once at least "
                f"{anonymity_min} of their direct reports have answered over the weeks those "
                "notes come from; until then nothing mentions it. It carries no name, and no "
                'date but that span ("written in the last 3 weeks").'
            ),
        ],
    }


def read_answers(
    state_values: Mapping[str, Any], questions: Sequence[Question]
) -> tuple[dict[str, Any], bool]:
    """A submitted modal's `view.state.values` -> ({question id: raw value}, anonymous).

    Raw values go to `bot.services.checkins.submit`, which validates them.
    """
    answers: dict[str, Any] = {}
    for question in form_questions(questions):
        if question.kind == "goals":
            answers[question.id] = _goal_answers(state_values, question.id)
            continue
        element = (state_values.get(question_block(question.id)) or {}).get(
            ids.CHECKIN_ANSWER_ACTION
        ) or {}
        if "value" in element:
            answers[question.id] = element.get("value")
        elif element.get("selected_option"):
            answers[question.id] = element["selected_option"].get("value")
        else:
            answers[question.id] = None
    box = (state_values.get(ids.CHECKIN_ANONYMOUS_BLOCK) or {}).get(
        ids.CHECKIN_ANONYMOUS_ACTION
    ) or {}
    anonymous = any(o.get("value") == "anonymous" for o in box.get("selected_options") or [])
    return answers, anonymous


def modal_errors(errors: Mapping[str, str]) -> dict[str, str]:
    """Question-id errors (AnswersInvalid.errors) -> block-id errors for `response_action`."""
    return {question_block(question_id): message for question_id, message in errors.items()}


def occurrence_from_metadata(private_metadata: str | None) -> int | None:
    value = read_metadata(private_metadata).get("occurrence_id")
    return value if isinstance(value, int) else None


def goals_from_metadata(private_metadata: str | None) -> dict[str, Any] | None:
    """What the form's key results were pre-filled with (`goal_checkin.baseline`), if any."""
    value = read_metadata(private_metadata).get("goals")
    return value if isinstance(value, dict) else None


def question_block(question_id: str) -> str:
    return f"{ids.CHECKIN_QUESTION_BLOCK_PREFIX}{question_id}"


# ----- what managers and channels get -----------------------------------------------------------


def manager_answers(
    occurrence_id: int,
    member_id: str,
    template_name: str,
    local_date: date,
    answers: Answers,
    *,
    upward_text: str | None = None,
    reader_id: str | None = None,
) -> tuple[str, list[Block]]:
    """The owner's DM: every answer, the named upward note if it is for them, and Reply. A
    goals answer is one line per key result, but a private goal's only for its people."""
    title = f":memo: <@{member_id}> answered *{escape(template_name)}* for {_day(local_date)}"
    lines = _answer_lines(answers, TEXT_ANSWER_MAX, reader=reader_id)
    tail: list[Block] = []
    if upward_text:
        tail.append(section(f"*For you only:*\n{quote(_safe(upward_text))}"))
    tail.append(_reply_button(occurrence_id))
    blocks = [section(title), *_sections(lines, MESSAGE_BLOCKS_MAX - 1 - len(tail)), *tail]
    return _fallback(f"<@{member_id}> answered {template_name}", lines), blocks


def upward_message(
    member_id: str, template_name: str, text: str, occurrence_id: int | None = None
) -> tuple[str, list[Block]]:
    """Named upward feedback for a manager who is not the template's owner; with the
    occurrence, a Reply button too (named notes can be replied to like any answer)."""
    body = f":speech_balloon: <@{member_id}> left you a note in *{escape(template_name)}*:"
    message_blocks = [section(f"{body}\n{quote(_safe(text))}")]
    if occurrence_id is not None:
        message_blocks.append(_reply_button(occurrence_id))
    return f"A note from <@{member_id}>", message_blocks


def channel_header(template_name: str, local_date: date) -> tuple[str, list[Block]]:
    """The day's header in a team channel; each answer is a reply in its thread."""
    title = f"{template_name} — {_day(local_date)}"
    return title, [header(title), context("Answers arrive as replies in this thread.")]


def channel_answers(
    member_id: str, template_name: str, answers: Answers
) -> tuple[str, list[Block]] | None:
    """An answer in the channel thread: only the questions the template shares there, never a
    pulse nor upward feedback. None when none of them was answered: nothing goes."""
    lines = _answer_lines(answers, TEXT_ANSWER_MAX, shared_only=True)
    if not lines:
        return None
    blocks = [section(f"<@{member_id}>'s check-in"), *_sections(lines, MESSAGE_BLOCKS_MAX - 1)]
    return _fallback(f"<@{member_id}> answered {template_name}", lines), blocks


# ----- a manager's reply ------------------------------------------------------------------------


def reply_modal(occurrence_id: int | None) -> dict[str, Any]:
    """The Reply form, the same from the answers DM and from the digest's View more."""
    return {
        "type": "modal",
        "callback_id": ids.CHECKIN_REPLY_MODAL,
        "title": plain("Reply", MODAL_TITLE_MAX),
        "submit": plain("Send", MODAL_TITLE_MAX),
        "close": plain("Cancel", MODAL_TITLE_MAX),
        "private_metadata": write_metadata({"occurrence_id": occurrence_id}),
        "blocks": [
            context("Only the person who answered sees your reply, in their DM with pulsebot."),
            {
                "type": "input",
                "block_id": ids.CHECKIN_REPLY_BLOCK,
                "label": plain("Your reply"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.CHECKIN_REPLY_INPUT,
                    "multiline": True,
                    "max_length": TEXT_MAX,
                },
            },
        ],
    }


def reply_message(manager_id: str, template_name: str, text: str) -> tuple[str, list[Block]]:
    """The reply in the member's DM thread; `text` is already escaped."""
    return (
        f"<@{manager_id}> replied to your {template_name} check-in: {text}",
        [
            section(
                f":speech_balloon: <@{manager_id}> replied to your *{escape(template_name)}* "
                f"check-in:\n{quote(text)}"
            )
        ],
    )


# ----- pieces -----------------------------------------------------------------------------------


def _reply_button(occurrence_id: int) -> Block:
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": ids.CHECKIN_REPLY_ACTION,
                "text": plain("Reply", BUTTON_TEXT_MAX),
                "value": str(occurrence_id),
            }
        ],
    }


def _buttons(occurrence_id: int) -> Block:
    value = str(occurrence_id)
    return {
        "type": "actions",
        "block_id": ids.CHECKIN_ACTIONS_BLOCK,
        "elements": [
            {
                "type": "button",
                "action_id": ids.CHECKIN_START_ACTION,
                "text": plain("Start check-in", BUTTON_TEXT_MAX),
                "style": "primary",
                "value": value,
            },
            {
                "type": "button",
                "action_id": ids.CHECKIN_SNOOZE_ACTION,
                "text": plain(f"Snooze {SNOOZE_BUTTON}", BUTTON_TEXT_MAX),
                "value": value,
            },
            {
                "type": "button",
                "action_id": ids.CHECKIN_SKIP_ACTION,
                "text": plain("Skip", BUTTON_TEXT_MAX),
                "value": value,
            },
        ],
    }


def _question_input(question: Question, initial: Any) -> Block:
    element: dict[str, Any] = {"action_id": ids.CHECKIN_ANSWER_ACTION}
    if question.kind == "pulse":
        options = [option(label, str(n)) for n, label in PULSE_LABELS.items()]
        element.update(type="static_select", placeholder=plain("1 to 5"), options=options)
        chosen = [o for o in options if o["value"] == str(initial)]
        if chosen:
            element["initial_option"] = chosen[0]
    elif question.kind == "choice":
        options = [option(text, text) for text in question.options[:SELECT_OPTIONS_MAX]]
        element.update(type="static_select", placeholder=plain("Pick one"), options=options)
        chosen = [o for o in options if o["value"] == initial]
        if chosen:
            element["initial_option"] = chosen[0]
    elif question.kind == "yes_no":
        options = [option(text, value) for text, value in YES_NO]
        element.update(type="radio_buttons", options=options)
        wanted = {True: "yes", False: "no"}.get(initial, initial) if initial is not None else None
        chosen = [o for o in options if o["value"] == wanted]
        if chosen:
            element["initial_option"] = chosen[0]
    else:
        element.update(type="plain_text_input", multiline=True, max_length=TEXT_ANSWER_MAX)
        if isinstance(initial, str) and initial:
            element["initial_value"] = clip(initial, TEXT_ANSWER_MAX)
    block: Block = {
        "type": "input",
        "block_id": question_block(question.id),
        "optional": not question.required,
        "label": plain(question.text, LABEL_MAX),
        "element": element,
    }
    if question.anonymous_allowed:
        block["hint"] = plain("Only your manager reads this; never a team channel.")
    if question.detail_of is not None:
        block["hint"] = plain(DETAIL_HINT)
    return block


def _anonymous_box(release_after: int | None = None) -> Block:
    enough = (
        f"at least {release_after} of your manager's direct reports have"
        if release_after
        else "enough of the team has"
    )
    return {
        "type": "input",
        "block_id": ids.CHECKIN_ANONYMOUS_BLOCK,
        "optional": True,
        "label": plain("Anonymity"),
        "hint": plain(
            "Anonymous notes reach your manager without your name, only in a weekly digest: "
            f"they go out together once {enough} answered over the weeks they come from, "
            "dated only by that span. Until then nothing says a note is waiting."
        ),
        "element": {
            "type": "checkboxes",
            "action_id": ids.CHECKIN_ANONYMOUS_ACTION,
            "options": [option("Send my note anonymously", "anonymous")],
        },
    }


def _never_shared(question: Question) -> bool:
    return question.kind == "pulse" or question.upward


def _answer_lines(
    answers: Answers, limit: int, *, shared_only: bool = False, reader: str | None = None
) -> list[str]:
    """One "*question*\nanswer" per answer; a blocker's detail is read as its question's answer,
    as the digest reads it, not as an answer of its own. A goals answer is a line per key
    result `reader` may read (a channel: public goals only); none left, no answer at all."""
    details = {q.detail_of: value for q, value in answers if q.detail_of is not None}
    lines = []
    for question, value in answers:
        if question.detail_of is not None or not (question.shared or not shared_only):
            continue
        if question.kind == "goals":
            shown = goal_lines(value, reader, in_channel=shared_only)
            if shown:
                lines.append(f"*{escape(question.text)}*\n{clip(shown, limit)}")
            continue
        lines.append(
            f"*{escape(question.text)}*\n{_shown(question, value, limit, details.get(question.id))}"
        )
    return lines


def goal_lines(value: Any, reader: str | None = None, *, in_channel: bool = False) -> str:
    """ "• Self-serve MRR 100,000 → 112,000 USD (40%, at risk): "two deals slipped"", one line
    per key result of a goals answer that `reader` may read; mrkdwn, pinging no one."""
    return "\n".join(
        f"• {_safe(goal_checkin.result_line(entry))}"
        for entry in goal_checkin.entries(value)
        if goal_checkin.visible(entry, reader, in_channel=in_channel)
    )


CONFIDENCE_WORDS = (
    (Confidence.ON_TRACK, ":large_green_circle: On track"),
    (Confidence.AT_RISK, ":large_yellow_circle: At risk"),
    (Confidence.OFF_TRACK, ":red_circle: Off track"),
)
MILESTONE_WORDS = ((goal_checkin.NOT_DONE, "Not done"), (goal_checkin.DONE, "Done"))


def _goal_inputs(
    question: Question, goals: Owned | None, room: int, readers_line: str | None
) -> list[Block]:
    """The goals question: a line naming it (and its readers), then value, confidence and note
    for each key result that fits in `room` blocks, and how many more `/goals` updates."""
    head = f"*{escape(question.text)}*"
    if goals is None or not goals.asked:
        cycle = f" in {goals.cycle.name}" if goals is not None else ""
        head += f"\nYou own no active key result{cycle}, so there is nothing to update here."
        return [context(head + (f"\n{readers_line}" if readers_line else ""))]
    head += (
        f" · {goals.cycle.name}\nChange a value or the confidence, or add a note, to update a key "
        "result; one you leave as it is stays as it is."
    )
    if any(a.private_to for a in goals.asked):
        head += " Private goals are read by their owner's managers only, never in a channel."
    if readers_line:
        head += f"\n{readers_line}"
    fits = max(0, min(len(goals.asked), (room - 2) // 3))
    blocks: list[Block] = [context(head)]
    for item in goals.asked[:fits]:
        blocks += _goal_result_inputs(question.id, item)
    left = len(goals.asked) - fits + goals.more
    if left:
        more = "1 more key result" if left == 1 else f"{left} more key results"
        blocks.append(context(f"You own {more}: update them with `/goals`."))
    return blocks


def _goal_result_inputs(question_id: str, item: Asked) -> list[Block]:
    key = goal_checkin.field_id
    amount = goal_checkin.with_unit
    pct = f"{round(item.progress * 100)}%"
    if item.measure == Measure.MILESTONE:
        options = [option(text, value) for value, text in MILESTONE_WORDS]
        chosen = options[1] if item.current >= 1 else options[0]
        value: dict[str, Any] = {
            "type": "static_select",
            "action_id": ids.CHECKIN_ANSWER_ACTION,
            "placeholder": plain("Done?"),
            "options": options,
            "initial_option": chosen,
        }
        state = "done" if item.current >= 1 else "not done"
        hint = f"{item.objective_title} · a milestone, {state}"
    else:
        value = {
            "type": "plain_text_input",
            "action_id": ids.CHECKIN_ANSWER_ACTION,
            "initial_value": _input_number(item.current),
            "max_length": 30,
        }
        words = goal_checkin.number_words
        hint = (
            f"{item.objective_title} · now {amount(words(item.current), item.unit, item.measure)}"
            f" ({pct}) · from {words(item.start)} to "
            f"{amount(words(item.target), item.unit, item.measure)}"
        )
    confidence: dict[str, Any] = {
        "type": "static_select",
        "action_id": ids.CHECKIN_ANSWER_ACTION,
        "placeholder": plain("How confident are you?"),
        "options": [option(text, c.value) for c, text in CONFIDENCE_WORDS],
    }
    if item.confidence is not None:
        confidence["initial_option"] = next(
            o for o in confidence["options"] if o["value"] == item.confidence.value
        )
    note: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids.CHECKIN_ANSWER_ACTION,
        "max_length": goal_checkin.NOTE_MAX,
        "placeholder": plain("What moved it, or what is in the way"),
    }
    return [
        {
            "type": "input",
            "block_id": question_block(key(question_id, item.result_id, "value")),
            "optional": True,
            "label": plain(item.title, LABEL_MAX),
            "hint": plain(hint, LABEL_MAX),
            "element": value,
        },
        {
            "type": "input",
            "block_id": question_block(key(question_id, item.result_id, "confidence")),
            "optional": True,
            "label": plain("Confidence"),
            "element": confidence,
        },
        {
            "type": "input",
            "block_id": question_block(key(question_id, item.result_id, "note")),
            "optional": True,
            "label": plain("Note"),
            "element": note,
        },
    ]


def _input_number(value: float) -> str:
    """A value as the input shows it: no thousands separator to misread, no trailing `.0`."""
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def _goal_answers(state_values: Mapping[str, Any], question_id: str) -> dict[str, dict[str, Any]]:
    """The goal inputs of a submitted form: {key result id: {value, confidence, note}}."""
    prefix = question_block(f"{question_id}.")
    found: dict[str, dict[str, Any]] = {}
    for block_id, actions in state_values.items():
        if not isinstance(block_id, str) or not block_id.startswith(prefix):
            continue
        result_id, _, name = block_id[len(prefix) :].partition(".")
        element = (actions or {}).get(ids.CHECKIN_ANSWER_ACTION) or {}
        if name not in goal_checkin.FIELDS or not isinstance(element, dict):
            continue
        if element.get("selected_option"):
            given = element["selected_option"].get("value")
        else:
            given = element.get("value")
        found.setdefault(result_id, {})[name] = given
    return found


def _shown(question: Question, value: Any, limit: int, detail: Any = None) -> str:
    if question.kind == "pulse" and isinstance(value, int):
        return PULSE_LABELS.get(value, str(value))
    if question.kind == "yes_no" and question.blocker:
        words = blocker_text(question.kind, value, detail)
        if words == NO_DETAILS:
            return f"Yes: _{NO_DETAILS}_"
        if words is not None:
            return f"Yes:\n{quote(clip(_safe(words), limit))}"
    if question.kind == "yes_no":
        return "Yes" if value is True else "No" if value is False else _safe(str(value))
    return quote(clip(_safe(str(value)), limit))


def _safe(text: str) -> str:
    """Typed text -> mrkdwn that shows as typed and pings no one."""
    return neutralise(escape(text))


def _sections(lines: Sequence[str], room: int) -> list[Block]:
    """One section per answer; past the block budget, the rest share a last section."""
    if room <= 0:
        return []
    blocks = [section(clip(line, SECTION_TEXT_MAX)) for line in lines[: room - 1]]
    rest = lines[room - 1 :]
    if len(rest) == 1:
        blocks.append(section(clip(rest[0], SECTION_TEXT_MAX)))
    elif rest:
        blocks.append(section(clip("\n\n".join(rest), SECTION_TEXT_MAX)))
    return blocks


def _fallback(headline: str, lines: Sequence[str]) -> str:
    """Notification / screen-reader text: the headline and as much as fits."""
    return clip("\n".join([headline, *lines]), FALLBACK_TEXT_MAX)


def _day(local_date: date) -> str:
    return f"{local_date:%a} {local_date.day} {local_date:%b %Y}"
