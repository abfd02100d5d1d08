"""Block Kit validation: the checks Slack runs on message blocks and views before it accepts them.

Slack answers `invalid_blocks` (messages) or `invalid_arguments` (views) and lists each problem
in response_metadata.messages with a JSON pointer; the app's logs show those lines, so the
wording here is Slack's.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

from bot.demo.emulator.webapi import JSONDict, int_arg

# Slack's documented limits; the emulator rejects what Slack rejects.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3_000

_TEXT_LIMITS: dict[str, dict[str, int]] = {
    "section": {"text": 3_000},
    "header": {"text": 150},
    "input": {"label": 2_000, "hint": 2_000},
}
_ELEMENT_TEXT_LIMITS: dict[str, dict[str, int]] = {
    "button": {"text": 75},
    "static_select": {"placeholder": 150},
    "multi_static_select": {"placeholder": 150},
    "plain_text_input": {"placeholder": 150},
}


def _text_of(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else ""


def missing_field(name: str) -> str:
    return f"[ERROR] missing required field: {name}"


def _too_long(limit: int, pointer: str) -> str:
    return f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]"


def _too_many(limit: int, pointer: str) -> str:
    return f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]"


def _check_element(element: Any, pointer: str) -> Iterator[str]:
    """Limits of interactive elements that a long question list or option list can hit."""
    if not isinstance(element, dict):
        return
    kind = element.get("type", "")
    for key, limit in _ELEMENT_TEXT_LIMITS.get(kind, {}).items():
        if len(_text_of(element.get(key))) > limit:
            yield _too_long(limit, f"{pointer}/{key}/text")
    if kind == "button" and len(str(element.get("value", ""))) > 2_000:
        yield _too_long(2_000, f"{pointer}/value")
    if len(str(element.get("action_id", ""))) > 255:
        yield _too_long(255, f"{pointer}/action_id")
    options = element.get("options")
    if isinstance(options, list):
        if len(options) > 100:
            yield _too_many(100, f"{pointer}/options")
        for i, option in enumerate(options):
            if isinstance(option, dict) and len(_text_of(option.get("text"))) > 75:
                yield _too_long(75, f"{pointer}/options/{i}/text/text")
    if kind == "plain_text_input":
        for key in ("max_length", "min_length"):
            if int_arg(element.get(key), 0) > 3_000:
                yield f"[ERROR] must be at most 3000 [json-pointer:{pointer}/{key}]"


def _check_block(block: JSONDict, pointer: str) -> Iterator[str]:
    kind = block.get("type", "")
    for key, limit in _TEXT_LIMITS.get(kind, {}).items():
        if len(_text_of(block.get(key))) > limit:
            yield _too_long(limit, f"{pointer}/{key}/text")
    if len(str(block.get("block_id", ""))) > 255:
        yield _too_long(255, f"{pointer}/block_id")
    fields = block.get("fields")
    if isinstance(fields, list) and len(fields) > 10:
        yield _too_many(10, f"{pointer}/fields")
    elements = block.get("elements")
    if kind == "actions" and isinstance(elements, list):
        if len(elements) > 25:
            yield _too_many(25, f"{pointer}/elements")
        for i, element in enumerate(elements):
            yield from _check_element(element, f"{pointer}/elements/{i}")
    if kind == "context" and isinstance(elements, list) and len(elements) > 10:
        yield _too_many(10, f"{pointer}/elements")
    yield from _check_element(block.get("accessory"), f"{pointer}/accessory")
    yield from _check_element(block.get("element"), f"{pointer}/element")


def block_errors(blocks: Any, pointer: str, max_blocks: int) -> list[str]:
    """Every Block Kit problem Slack would report for this array, in Slack's wording."""
    if not isinstance(blocks, list):
        return [f"[ERROR] expected array [json-pointer:{pointer}]"]
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(_too_many(max_blocks, pointer))
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        here = f"{pointer}/{i}"
        if not isinstance(block, dict) or not block.get("type"):
            errors.append(f"[ERROR] missing required field: type [json-pointer:{here}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen:
                errors.append(f"[ERROR] duplicate block_id [json-pointer:{here}/block_id]")
            seen.add(str(block_id))
        errors.extend(_check_block(block, here))
    return errors


def with_block_ids(blocks: list[JSONDict]) -> list[JSONDict]:
    """Slack fills in a random block_id where the app gave none; the app must not rely on it."""
    return [
        block if "block_id" in block else {**block, "block_id": secrets.token_urlsafe(3)}
        for block in blocks
    ]


def view_errors(view: Any, *, home: bool) -> list[str]:
    """The view-level checks Slack applies before it looks at the blocks."""
    if not isinstance(view, dict):
        return ["[ERROR] failed to match all allowed schemas [json-pointer:/view]"]
    expected = "home" if home else "modal"
    if view.get("type") != expected:
        return [f"[ERROR] must be '{expected}' [json-pointer:/view/type]"]
    errors: list[str] = []
    if not home:
        if "title" not in view:
            errors.append("[ERROR] missing required field: title [json-pointer:/view]")
        for key in ("title", "submit", "close"):
            if len(_text_of(view.get(key))) > MAX_VIEW_TITLE:
                errors.append(_too_long(MAX_VIEW_TITLE, f"/view/{key}/text"))
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and not view.get("submit"):
            errors.append(
                "[ERROR] must provide a submit property when using input blocks "
                "[json-pointer:/view]"
            )
    if len(str(view.get("private_metadata", ""))) > MAX_PRIVATE_METADATA:
        errors.append(_too_long(MAX_PRIVATE_METADATA, "/view/private_metadata"))
    for key in ("callback_id", "external_id"):
        if len(str(view.get(key, ""))) > 255:
            errors.append(_too_long(255, f"/view/{key}"))
    if "blocks" not in view:
        errors.append("[ERROR] missing required field: blocks [json-pointer:/view]")
    else:
        errors.extend(block_errors(view["blocks"], "/view/blocks", MAX_VIEW_BLOCKS))
    return errors
