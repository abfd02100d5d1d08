"""Modals: input blocks -> HTML form fields, and the submitted form -> Slack's `state.values`.

Each input is named by its block's position (`i3`), so whatever ids the app chose, the server
maps the form back through the stored view. Slack's own checks run here before anything is
sent, as Slack runs them in the client: required fields, min/max length, max selected items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.demo import render
from bot.demo.render import Context, esc, plain_text

JSONDict = dict[str, Any]
REQUIRED = "Please complete this required field."

# Every element an input block may hold, and the state key Slack reports it under.
STATE_KEYS = {
    "plain_text_input": "value",
    "number_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "multi_static_select": "selected_options",
    "checkboxes": "selected_options",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
}


def field_name(index: int) -> str:
    return f"i{index}"


def modal_html(view: JSONDict, ctx: Context, errors: Mapping[str, str], depth: int) -> str:
    """The overlay: title, blocks (inputs as fields, with their errors), Close and Submit."""
    parts = []
    for index, item in enumerate(view.get("blocks") or []):
        if not isinstance(item, dict):
            continue
        if item.get("type") == "input":
            parts.append(_input_block(item, index, ctx, errors.get(str(item.get("block_id")))))
        else:
            parts.append(render.block(item, ctx))
    submit = view.get("submit")
    submit_button = (
        f'<button type="submit" class="btn btn-primary">{plain_text(submit)}</button>'
        if submit
        else ""
    )
    close = plain_text(view.get("close")) or "Close"
    back = '<span class="modal-back">‹ </span>' if depth > 1 else ""
    return (
        f'<form class="modal" data-view="{esc(view.get("id", ""))}" novalidate>'
        f'<header class="modal-head"><h2>{back}{plain_text(view.get("title"))}</h2>'
        f'<button type="button" class="modal-x" data-close aria-label="Close">×</button></header>'
        f'<div class="modal-body">{"".join(parts)}</div>'
        f'<footer class="modal-foot"><button type="button" class="btn" data-close>{close}'
        f"</button>{submit_button}</footer></form>"
    )


def _input_block(item: JSONDict, index: int, ctx: Context, error: str | None) -> str:
    element = item.get("element") or {}
    name = field_name(index)
    optional = ' <span class="optional">(optional)</span>' if item.get("optional") else ""
    hint = f'<div class="hint">{plain_text(item.get("hint"))}</div>' if item.get("hint") else ""
    problem = f'<div class="field-error" role="alert">{esc(error)}</div>' if error else ""
    css = "field has-error" if error else "field"
    field = _field(element, name, ctx)
    if item.get("dispatch_action"):
        # Slack sends a block_actions for this input as soon as it changes.
        field = (
            f'<div class="dispatch" data-block="{esc(item.get("block_id", ""))}" '
            f'data-action="{esc(element.get("action_id", ""))}">{field}</div>'
        )
    return (
        f'<div class="{css}" data-block="{esc(item.get("block_id", ""))}">'
        f'<label class="label" for="{name}">{plain_text(item.get("label"))}{optional}</label>'
        f"{field}{hint}{problem}</div>"
    )


def _field(element: JSONDict, name: str, ctx: Context) -> str:
    kind = element.get("type")
    placeholder = esc((element.get("placeholder") or {}).get("text", ""))
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        value = esc(element.get("initial_value", ""))
        limit = element.get("max_length")
        maxlength = f' maxlength="{int(limit)}"' if isinstance(limit, int) else ""
        if element.get("multiline"):
            return (
                f'<textarea id="{name}" name="{name}" rows="4" placeholder="{placeholder}"'
                f"{maxlength}>{value}</textarea>"
            )
        kind_attr = {"email_text_input": "email", "url_text_input": "url"}.get(str(kind), "text")
        mode = ' inputmode="decimal"' if kind == "number_input" else ""
        return (
            f'<input id="{name}" name="{name}" type="{kind_attr}" value="{value}" '
            f'placeholder="{placeholder}"{maxlength}{mode}>'
        )
    if kind in ("static_select", "external_select"):
        chosen = (element.get("initial_option") or {}).get("value")
        return _select(name, placeholder, _option_pairs(element), {chosen} if chosen else set())
    if kind == "multi_static_select":
        chosen = {o.get("value") for o in element.get("initial_options") or []}
        return _checks(name, _option_pairs(element), chosen, "checkbox", chips=True)
    if kind == "radio_buttons":
        chosen = (element.get("initial_option") or {}).get("value")
        return _checks(name, _option_pairs(element), {chosen}, "radio")
    if kind == "checkboxes":
        chosen = {o.get("value") for o in element.get("initial_options") or []}
        return _checks(name, _option_pairs(element), chosen, "checkbox")
    if kind in ("users_select", "conversations_select", "channels_select"):
        pairs = [(value, esc(label)) for value, label in render.choices(element, ctx)]
        initial = (
            element.get("initial_user")
            or element.get("initial_conversation")
            or element.get("initial_channel")
        )
        return _select(name, placeholder, pairs, {initial})
    if kind in ("multi_users_select", "multi_conversations_select", "multi_channels_select"):
        pairs = [(value, esc(label)) for value, label in render.choices(element, ctx)]
        initial = (
            element.get("initial_users")
            or element.get("initial_conversations")
            or element.get("initial_channels")
            or []
        )
        return _checks(name, pairs, set(initial), "checkbox", chips=True)
    if kind == "datepicker":
        value = esc(element.get("initial_date", ""))
        return f'<input id="{name}" name="{name}" type="date" value="{value}">'
    if kind == "timepicker":
        value = esc(element.get("initial_time", ""))
        return f'<input id="{name}" name="{name}" type="time" value="{value}">'
    return f'<div class="bk-unsupported">[{esc(kind)}]</div>'


def _option_pairs(element: JSONDict) -> list[tuple[str, str]]:
    """(value, HTML label) of every option, plain or mrkdwn text alike."""
    pairs = []
    for option in render.options_of(element):
        text = option.get("text")
        label = render.mrkdwn(str(text.get("text", "")), Context()) if (
            isinstance(text, dict) and text.get("type") == "mrkdwn"
        ) else plain_text(text)
        pairs.append((str(option.get("value", "")), label))
    return pairs


def _select(name: str, placeholder: str, pairs: Sequence[tuple[str, str]], chosen: set[Any]) -> str:
    none_chosen = not (chosen - {None})
    opts = "".join(
        f'<option value="{esc(value)}"{" selected" if value in chosen else ""}>{label}</option>'
        for value, label in pairs
    )
    selected = " selected" if none_chosen else ""
    first = f'<option value=""{selected}>{placeholder or "Select"}</option>'
    return f'<select id="{name}" name="{name}">{first}{opts}</select>'


def _checks(
    name: str, pairs: Sequence[tuple[str, str]], chosen: set[Any], kind: str, chips: bool = False
) -> str:
    css = "choices chips" if chips else "choices"
    items = "".join(
        f'<label class="choice"><input type="{kind}" name="{name}" value="{esc(value)}"'
        f'{" checked" if value in chosen else ""}><span>{label}</span></label>'
        for value, label in pairs
    )
    return f'<div class="{css}" id="{name}">{items}</div>'


# ----- the submitted form -> Slack's state.values -----------------------------------------------


def state_values(
    view: JSONDict, form: Mapping[str, Sequence[str]]
) -> tuple[JSONDict, dict[str, str]]:
    """(state.values, Slack's own field errors by block_id). A non-empty error dict means
    Slack would not send the submission at all."""
    values: JSONDict = {}
    errors: dict[str, str] = {}
    for index, item in enumerate(view.get("blocks") or []):
        if not isinstance(item, dict) or item.get("type") != "input":
            continue
        element = item.get("element") or {}
        block_id = str(item.get("block_id", ""))
        action_id = str(element.get("action_id", ""))
        raw = [v for v in form.get(field_name(index), []) if v != ""]
        state, problem = _element_state(element, raw)
        if problem is None and not raw and not item.get("optional"):
            problem = REQUIRED
        if problem is not None:
            errors[block_id] = problem
        values.setdefault(block_id, {})[action_id] = state
    return values, errors


def _element_state(element: JSONDict, raw: list[str]) -> tuple[JSONDict, str | None]:
    kind = str(element.get("type", ""))
    state: JSONDict = {"type": kind}
    key = STATE_KEYS.get(kind, "value")
    if key == "value":
        text = raw[0] if raw else None
        state["value"] = text
        if text is not None:
            if len(text) > int(element.get("max_length") or 3000):
                return state, f"Must be at most {element.get('max_length') or 3000} characters."
            if len(text) < int(element.get("min_length") or 0):
                return state, f"Must be at least {element.get('min_length')} characters."
        return state, None
    if key == "selected_option":
        state[key] = _options_for(element, raw[:1])[0] if raw and _options_for(
            element, raw[:1]
        ) else None
        return state, None
    if key == "selected_options":
        state[key] = _options_for(element, raw)
    elif key.startswith("selected_") and key.endswith("s"):
        state[key] = list(dict.fromkeys(raw))
    else:
        state[key] = raw[0] if raw else None
    most = element.get("max_selected_items")
    if isinstance(most, int) and isinstance(state.get(key), list) and len(state[key]) > most:
        return state, f"Select at most {most}."
    return state, None


def _options_for(element: JSONDict, chosen: Sequence[str]) -> list[JSONDict]:
    """Slack reports whole option objects, as the app defined them."""
    options = {str(o.get("value")): o for o in render.options_of(element)}
    return [options[value] for value in chosen if value in options]
