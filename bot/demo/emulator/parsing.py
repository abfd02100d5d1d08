"""How Slack reads a request: query string, JSON, form and multipart bodies merged into one
argument dict, so handlers never care how a client chose to send."""

from __future__ import annotations

import contextlib
import json
from urllib.parse import parse_qs

from bot.demo.emulator.webapi import JSONDict

# Arguments that form-encoded callers send as JSON strings; decoded so tests see structures.
_JSON_ARGS = frozenset({"blocks", "attachments", "view", "metadata", "files"})


def parse_args(query: str, headers: dict[str, str], body: bytes) -> tuple[JSONDict, bool]:
    """Merge query and body arguments; also say whether the body was JSON (token rules differ)."""
    args = _parse_form(query) if query else {}
    content_type = headers.get("content-type", "").lower()
    is_json = "application/json" in content_type
    if body and is_json:
        try:
            parsed = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            parsed = None
        if isinstance(parsed, dict):
            args.update(parsed)
    elif body and "multipart/form-data" in content_type:
        args.update(_parse_multipart(content_type, body))
    elif body:
        args.update(_parse_form(body.decode("utf-8", "replace")))
    return _decode_json_args(args), is_json


def _parse_multipart(content_type: str, body: bytes) -> JSONDict:
    """Fields of a multipart body (legacy uploads); file parts stay bytes."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields: JSONDict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True) or b""
        data = payload if isinstance(payload, bytes) else str(payload).encode()
        if part.get_filename():
            fields[name] = data
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields


def _decode_json_args(args: JSONDict) -> JSONDict:
    """Decode JSON-string arguments (form callers); leave undecodable ones for the handler."""
    for key in _JSON_ARGS & args.keys():
        value = args[key]
        if isinstance(value, str) and value.strip():
            with contextlib.suppress(json.JSONDecodeError):
                args[key] = json.loads(value)
    return args


def _parse_form(raw: str) -> JSONDict:
    return {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}
