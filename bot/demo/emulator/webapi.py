"""What every Web API method handler speaks: a recorded `Call` in, a JSON dict or a `SlackError`
out; and the table from method name to handler, so unknown names answer `unknown_method`.

Shared by the method families and the server, so that none of them imports another's module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

JSONDict = dict[str, Any]
Copied = TypeVar("Copied")


def json_copy(value: Copied) -> Copied:
    """A deep copy through JSON, so a caller never holds the emulator's own objects, and what
    it holds has exactly the shapes Slack's JSON would have."""
    copied: Copied = json.loads(json.dumps(value))
    return copied

Handler = TypeVar("Handler", bound=Callable[..., JSONDict])
# Handlers are methods of the emulator's mixins: the server passes itself as their `self`.
_HANDLERS: dict[str, Callable[..., JSONDict]] = {}


def api(name: str) -> Callable[[Handler], Handler]:
    """Register a Web API method handler, so unknown names fall through to `unknown_method`."""

    def register(fn: Handler) -> Handler:
        _HANDLERS[name] = fn
        return fn

    return register


def handler_for(method: str) -> Callable[..., JSONDict] | None:
    return _HANDLERS.get(method)


class Call(dict[str, Any]):
    """One request as the emulator received it: the merged arguments, plus metadata.

    A dict so tests read arguments naturally (`call["channel"]`); the attributes carry what a
    dict key would collide with. `status` is 0 while the request is still being answered.
    """

    method: str
    headers: dict[str, str]
    status: int
    at: float
    path: str

    def __init__(self, args: JSONDict, *, method: str, headers: dict[str, str], path: str) -> None:
        super().__init__(args)
        self.method = method
        self.headers = headers
        self.status = 0
        self.at = time.monotonic()
        self.path = path

    def __repr__(self) -> str:
        return f"Call({self.method!r}, status={self.status}, {dict.__repr__(self)})"


class SlackError(Exception):
    """Raised by a handler to answer `{"ok": false, "error": ...}` the way Slack does."""

    def __init__(
        self,
        error: str,
        *,
        messages: list[str] | None = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **extra: str,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages
        self.status = status
        self.headers = headers or {}
        self.extra = extra  # e.g. missing_scope's `needed` and `provided`


def truthy(value: Any) -> bool:
    """Slack accepts booleans as true/false, 1/0 (slack_sdk sends "1"/"0" in forms)."""
    return value is True or str(value).lower() in ("1", "true")


def int_arg(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
