"""Questions as lines of text, for the setup modal (YAML is for files, not for a text box).

    What did you get done? *
    [pulse] How do you feel this week?
    [choice: Ship, Learn, Support] Main focus next?
    [yes/no] Anything blocking you?
    [upward] Anything for your manager?
    [goals] How did your key results move?

`*` at the end makes a question required; `[upward]` is free text that may be anonymous and
goes to the manager only. `[blocker]`, alone or after a text or yes/no kind
(`[yes/no] [blocker] Anything blocking you?`), marks a blocker question for the digest; a
yes/no one also asks "What is blocking you?" beside it. `[manager only]` keeps a question's
answers out of the team channel (a pulse and an upward note never go there anyway).
`[goals]` ("Goal updates") asks each member about the key results they own; its words may be
left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.services.templates import GOALS_TEXT, Question

MAX_QUESTIONS = 25
BLOCKER_TAG = re.compile(r"\[\s*blocker\s*\]", re.IGNORECASE)
MANAGER_ONLY_TAG = re.compile(r"\[\s*manager[\s_-]*only\s*\]", re.IGNORECASE)
LINE = re.compile(r"^\s*(?:\[(?P<tag>[^\]]*)\])?\s*(?P<text>.*?)\s*(?P<required>\*)?\s*$")
KINDS = {
    "": "text",
    "text": "text",
    "pulse": "pulse",
    "yes/no": "yes_no",
    "yes_no": "yes_no",
    "yesno": "yes_no",
    "choice": "choice",
    "upward": "text",
    "goals": "goals",
    "goal updates": "goals",
}


class QuestionsInvalid(ValueError):
    """Says which line is wrong and how to write it."""


def render(questions: Sequence[Question]) -> str:
    return "\n".join(_line(q) for q in questions)


def parse(text: str, existing: Sequence[Question] = ()) -> list[dict[str, Any]]:
    """Lines -> question mappings for `templates.parse_template`.

    A line whose text and kind match an existing question keeps that question's id, so answers
    given before an edit stay attached to the same question; other lines get ids no existing
    question has.
    """
    known = {(q.text.strip().lower(), q.kind): q.id for q in existing}
    questions: list[dict[str, Any]] = []
    # Ids of questions kept as they were are theirs; a new question never takes an id an
    # existing question had (its past answers would read as answers to the new one).
    used: set[str] = {q.id for q in existing}
    kept_ids: set[str] = set()
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise QuestionsInvalid("Add at least one question, one per line.")
    if len(lines) > MAX_QUESTIONS:
        raise QuestionsInvalid(f"A check-in has at most {MAX_QUESTIONS} questions.")
    for number, line in enumerate(lines, 1):
        blocker = BLOCKER_TAG.search(line) is not None
        line = BLOCKER_TAG.sub("", line, count=1)
        manager_only = MANAGER_ONLY_TAG.search(line) is not None
        line = MANAGER_ONLY_TAG.sub("", line, count=1)
        match = LINE.match(line)
        assert match is not None
        tag, _, options_text = (match.group("tag") or "").partition(":")
        tag = tag.strip().lower()
        question_text = match.group("text").strip()
        if tag not in KINDS:
            raise QuestionsInvalid(
                f"Line {number}: `[{tag}]` is not a kind. Use [pulse], [yes/no], "
                "[choice: A, B], [upward], [goals] or nothing for free text."
            )
        if not question_text and KINDS[tag] == "goals":
            question_text = GOALS_TEXT
        if not question_text:
            raise QuestionsInvalid(f"Line {number}: write the question after its kind.")
        kind = KINDS[tag]
        options = [o.strip() for o in options_text.split(",") if o.strip()]
        if kind == "choice" and len(options) < 2:
            raise QuestionsInvalid(
                f"Line {number}: a choice needs at least two options: `[choice: A, B] Question`."
            )
        kept = known.get((question_text.lower(), kind))  # same text and kind: same question
        if kept is not None and kept not in kept_ids:
            question_id = kept
        else:
            question_id = _unique(_slug(question_text), used)
        kept_ids.add(question_id)
        used.add(question_id)
        item: dict[str, Any] = {
            "id": question_id,
            "text": question_text,
            "kind": kind,
            "required": bool(match.group("required")),
        }
        if kind == "choice":
            item["options"] = options
        if tag == "upward":
            item["anonymous_allowed"] = True
        if manager_only and kind != "pulse" and tag != "upward":
            item["in_channel"] = False
        if blocker:
            if kind not in ("text", "yes_no") or tag == "upward":
                raise QuestionsInvalid(
                    f"Line {number}: only a text or yes/no question can be a `[blocker]`."
                )
            item["blocker"] = True
        questions.append(item)
    return questions


def _line(question: Question) -> str:
    if question.anonymous_allowed:
        tag = "[upward] "
    elif question.kind == "choice":
        tag = f"[choice: {', '.join(question.options)}] "
    elif question.kind == "pulse":
        tag = "[pulse] "
    elif question.kind == "yes_no":
        tag = "[yes/no] "
    elif question.kind == "goals":
        tag = "[goals] "
    else:
        tag = ""
    if question.blocker:
        tag += "[blocker] "
    if not question.in_channel and question.kind != "pulse" and not question.upward:
        tag += "[manager only] "
    return f"{tag}{question.text}{' *' if question.required else ''}"


def _slug(text: str) -> str:
    """A valid question id (templates.QUESTION_ID): a letter first, at most 32 characters."""
    words = re.findall(r"[a-z0-9]+", text.lower())[:4]
    slug = "_".join(words)
    if not slug[:1].isalpha():
        slug = f"q_{slug}" if slug else "q"
    return slug[:32]


def _unique(question_id: str, used: set[str]) -> str:
    candidate, n = question_id, 2
    while candidate in used:
        suffix = f"_{n}"
        candidate = f"{question_id[: 32 - len(suffix)]}{suffix}"
        n += 1
    return candidate
