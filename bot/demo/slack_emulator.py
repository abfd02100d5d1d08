"""An in-project Slack Web API emulator for the tests and the demo (DESIGN.md sections 7, 12).

Slack is unreachable from development machines and CI, so the app talks to this real HTTP
server instead: `WebClient(token=..., base_url=emulator.url)` works unchanged, because the
emulator parses requests the way Slack does (JSON bodies with a Bearer token, form bodies with
the token in the header or a `token` field, GET query strings) and answers with Slack's shapes,
error codes and headers. Every request is recorded so a test asserts on what was sent, not just
on a count; rate limits answer 429 with Retry-After; faults (5xx, slow answers, `ok: false`)
can be injected to exercise the app's retry and error paths.

Choices where Slack's behaviour is easy to get wrong (see the method handlers for details):
- chat.postMessage to a deactivated user's id succeeds (Slack keeps the DM history; a maintainer
  confirmed it in python-slack-sdk#1156), while conversations.open answers `user_disabled`.
- Posting to a bot user's id, or opening a DM with it, answers `cannot_dm_bot`.
- A private channel the bot is not in is invisible to it: `channel_not_found`, not
  `not_in_channel` (that one is for public channels without chat:write.public).
"""

from __future__ import annotations

import base64
import collections
import contextlib
import hashlib
import itertools
import json
import math
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

JSONDict = dict[str, Any]

# Slack's documented limits (DESIGN.md section 8); the emulator rejects what Slack rejects.
MAX_TEXT = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3_000
RESPONSE_URL_USES = 5

# Arguments that form-encoded callers send as JSON strings; decoded so tests see structures.
_JSON_ARGS = frozenset({"blocks", "attachments", "view", "metadata", "files"})

_TZ_LABELS = {
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "IST": "India Standard Time",
    "JST": "Japan Standard Time",
    "UTC": "Coordinated Universal Time",
}

_SCOPES = (
    "chat:write,chat:write.public,commands,users:read,users:read.email,im:history,im:write,"
    "channels:history,groups:history,files:write"
)
# Where an answer never arrives: the connection closes before Slack runs the call, or after.
LOST_BEFORE, LOST_AFTER = "before", "after"
_DROP = 0  # a _Reply status: close the connection without answering

_Handler = Callable[["SlackEmulator", "Call"], JSONDict]
_HANDLERS: dict[str, _Handler] = {}


def _api(name: str) -> Callable[[_Handler], _Handler]:
    """Register a Web API method handler, so unknown names fall through to `unknown_method`."""

    def register(fn: _Handler) -> _Handler:
        _HANDLERS[name] = fn
        return fn

    return register


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


class _SlackError(Exception):
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


def _rate_limited(retry_after: int) -> _SlackError:
    """Slack's 429: the body says `ratelimited`, the header says how long to wait."""
    return _SlackError("ratelimited", status=429, headers={"Retry-After": str(retry_after)})


@dataclass
class _Bucket:
    """A token bucket, the model behind Slack's "N per minute, short bursts tolerated"."""

    rate: float  # tokens per second
    capacity: float
    fixed_retry_after: int | None = None
    tokens: float = field(init=False)
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    def take(self) -> int | None:
        """Spend one token; None when allowed, else the Retry-After seconds (>= 1)."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        if self.fixed_retry_after is not None:
            return self.fixed_retry_after
        return max(1, math.ceil((1 - self.tokens) / self.rate))


@dataclass
class _Window:
    """A strict sliding window: at most `calls` in any `seconds`, the strictest reading of
    "N per second" (a limiter that a client at exactly N/s overruns on any arrival jitter)."""

    calls: int
    seconds: float
    times: collections.deque[float] = field(default_factory=collections.deque)

    def take(self) -> int | None:
        now = time.monotonic()
        while self.times and now - self.times[0] >= self.seconds:
            self.times.popleft()
        if len(self.times) < self.calls:
            self.times.append(now)
            return None
        return max(1, math.ceil(self.seconds - (now - self.times[0])))


@dataclass
class _Fault:
    status: int
    error: str | None
    delay: float
    times: int
    retry_after: int | None
    lost_answer: str | None = None
    hold: float = 0.0


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Channel:
    id: str
    name: str
    is_private: bool
    is_archived: bool
    bot_is_member: bool
    created: int = field(default_factory=lambda: int(time.time()))


def _truthy(value: Any) -> bool:
    """Slack accepts booleans as true/false, 1/0 (slack_sdk sends "1"/"0" in forms)."""
    return value is True or str(value).lower() in ("1", "true")


def _int_arg(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _tz_fields(tz: str) -> JSONDict:
    """tz, tz_label and tz_offset as Slack computes them: for the current moment."""
    now = datetime.now(ZoneInfo(tz))
    offset = now.utcoffset()
    abbreviation = now.tzname() or ""
    return {
        "tz": tz,
        "tz_label": _TZ_LABELS.get(abbreviation, abbreviation),
        "tz_offset": int(offset.total_seconds()) if offset else 0,
    }


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


def _text_of(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else ""


# --- Block Kit validation ---------------------------------------------------------------------
# Slack answers `invalid_blocks` (messages) or `invalid_arguments` (views) and lists each
# problem in response_metadata.messages with a JSON pointer; the app's logs show those lines.

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


def _missing(name: str) -> str:
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
            if _int_arg(element.get(key), 0) > 3_000:
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


def _block_errors(blocks: Any, pointer: str, max_blocks: int) -> list[str]:
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


def _with_block_ids(blocks: list[JSONDict]) -> list[JSONDict]:
    """Slack fills in a random block_id where the app gave none; the app must not rely on it."""
    return [
        block if "block_id" in block else {**block, "block_id": secrets.token_urlsafe(3)}
        for block in blocks
    ]


def _view_errors(view: Any, *, home: bool) -> list[str]:
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
        errors.extend(_block_errors(view["blocks"], "/view/blocks", MAX_VIEW_BLOCKS))
    return errors


# --- HTTP plumbing ----------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    """Threaded, quick to stop, and tolerant of clients that hang up (timeouts in tests)."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 512
    allow_reuse_address = True
    emulator: SlackEmulator

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name, which can stall without a network.
        TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: httpx/requests clients reuse connections
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging; the emulator's record is `calls()`."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = _int_arg(self.headers.get("Content-Length"), 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        try:
            reply = self.server.emulator._handle_http(self.path, headers, body)
        except Exception:  # an emulator bug: show it to the test instead of hanging up
            trace = traceback.format_exc()
            sys.stderr.write(trace)
            reply = _Reply(500, trace.encode(), "text/plain; charset=utf-8")
        if reply.status == _DROP:  # the answer is lost: the client sees the connection close
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(reply.body)


def _parse_args(query: str, headers: dict[str, str], body: bytes) -> tuple[JSONDict, bool]:
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
        if part.get_filename():
            fields[name] = payload
        else:
            fields[name] = payload.decode("utf-8", "replace")
    return fields


def _json_reply(status: int, payload: JSONDict, headers: dict[str, str] | None = None) -> _Reply:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return _Reply(status, body, headers=headers or {})


# --- The emulator -----------------------------------------------------------------------------


class SlackEmulator:
    """A Slack workspace on 127.0.0.1: users, channels, messages, views, files, limits, faults.

    Start it (or use it as a context manager), point the app's `SLACK_API_URL` at `url`, then
    assert on `calls()`, `messages()` and friends. State lives behind one lock; handlers are
    quick and injected delays sleep outside it, so many client threads are served at once.
    """

    TEAM_NAME: ClassVar[str] = "Example"
    TEAM_DOMAIN: ClassVar[str] = "example"

    def __init__(
        self,
        bot_token: str = "xoxb-test-token",
        team_id: str = "T0TEAM",
        bot_user_id: str = "UBOT",
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock` (epoch seconds) dates message `ts`: the demo passes its own clock, which a
        "Jump to" moves ahead; tests keep the wall clock."""
        self.bot_token = bot_token
        self._clock = clock
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id[1:]
        self.app_id = "A0PULSEBOT"
        self.url = ""
        self.hooks_url = ""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # Re-entrant: a wait_for predicate may call back into messages() or calls().
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._users: dict[str, JSONDict] = {}
        self._channels: dict[str, _Channel] = {}
        self._opened_dms: set[str] = set()
        self._scopes = _SCOPES
        self._ids = itertools.count(1)
        self._last_ts_us = 0
        self._reset_state()
        self.add_user("USLACKBOT", "slackbot", tz="America/Los_Angeles", real_name="Slackbot")
        self.add_user(bot_user_id, "pulsebot", tz=None, is_bot=True, real_name="Pulsebot")
        self.add_channel("C0GENERAL", "general")

    def _reset_state(self) -> None:
        """Everything a test produces; users and channels are the workspace and survive."""
        self._calls: list[Call] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._limits: dict[str, _Bucket | _Window] = {}
        self._channel_limit: tuple[float, int] | None = None
        self._channel_buckets: dict[str, _Bucket] = {}
        self._messages: dict[str, list[JSONDict]] = {}
        self._views: dict[str, JSONDict] = {}
        self._home_views: dict[str, str] = {}
        self._external_ids: dict[str, str] = {}
        self._used_triggers: set[str] = set()
        self._files: dict[str, JSONDict] = {}
        self._hook_uses: dict[str, int] = {}
        self._view_triggers: dict[str, str] = {}

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> SlackEmulator:
        """Bind a free port (0) so parallel test runs never collide, and serve in a thread."""
        server = _Server(("127.0.0.1", 0), _RequestHandler)
        server.emulator = self
        port = server.server_address[1]
        self.url = f"http://127.0.0.1:{port}/api/"
        self.hooks_url = f"http://127.0.0.1:{port}/hooks/"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"slack-emulator-{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- workspace setup ----------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        tz: str | None = "America/New_York",
        is_bot: bool = False,
        deleted: bool = False,
        team_id: str | None = None,
        email: str | None = None,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        real_name: str | None = None,
        title: str = "",
    ) -> JSONDict:
        """Add (or replace, e.g. to deactivate) a user; returns the Slack user object.

        tz=None builds a user without tz fields, which Slack sometimes sends; a team_id other
        than the emulator's is a Slack Connect (external) user, absent from users.list.
        """
        name = name or user_id.lower()
        real_name = real_name if real_name is not None else name.replace(".", " ").title()
        if email is None and not is_bot and user_id != "USLACKBOT":
            email = f"{name}@example.com"
        team = team_id or self.team_id
        profile: JSONDict = {
            "title": title,
            "phone": "",
            "skype": "",
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": name,
            "display_name_normalized": name,
            "fields": None,
            "status_text": "",
            "status_emoji": "",
            "status_expiration": 0,
            "avatar_hash": hashlib.md5(user_id.encode()).hexdigest()[:12],
            "first_name": real_name.split(" ")[0],
            "last_name": " ".join(real_name.split(" ")[1:]),
            "image_24": f"https://avatars.example.com/{user_id}_24.png",
            "image_48": f"https://avatars.example.com/{user_id}_48.png",
            "image_72": f"https://avatars.example.com/{user_id}_72.png",
            "image_192": f"https://avatars.example.com/{user_id}_192.png",
            "team": team,
        }
        if email is not None:
            profile["email"] = email
        # Each bot user has its own bot id; the emulator's own bot matches auth.test.
        if is_bot:
            profile.update(
                {"bot_id": "B" + user_id[1:], "api_app_id": self.app_id, "always_active": True}
            )
        user: JSONDict = {
            "id": user_id,
            "team_id": team,
            "name": name,
            "deleted": deleted,
            "color": "9f69e7",
            "real_name": real_name,
        }
        if tz is not None:
            user.update(_tz_fields(tz))
        user.update(
            {
                "profile": profile,
                "is_admin": False,
                "is_owner": False,
                "is_primary_owner": False,
                "is_restricted": is_restricted,
                "is_ultra_restricted": is_ultra_restricted,
                "is_bot": is_bot,
                "is_app_user": False,
                "updated": int(time.time()),
                "is_email_confirmed": email is not None,
                "who_can_share_contact_card": "EVERYONE",
            }
        )
        with self._lock:
            self._users[user_id] = user
        return json.loads(json.dumps(user))

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        is_archived: bool = False,
        bot_is_member: bool = True,
    ) -> None:
        """Add (or replace) a channel; private ones the bot is not in are invisible to it."""
        with self._lock:
            self._channels[channel_id] = _Channel(
                channel_id, name, is_private, is_archived, bot_is_member
            )

    def dm_channel_id(self, user_id: str) -> str:
        """The bot's DM with a user: stable per user, so tests can predict it."""
        return "D" + user_id

    # --- inspection ---------------------------------------------------------------------------

    def add_message(
        self,
        channel_id: str,
        user_id: str,
        text: str,
        *,
        thread_ts: str | None = None,
        ts: float | None = None,
        blocks: list[JSONDict] | None = None,
    ) -> JSONDict:
        """A message a person wrote (not the bot), e.g. for a message shortcut to point at.

        `thread_ts` makes it a reply; `ts` (epoch seconds) dates it in the past, for a demo's
        history; `blocks` are stored as given. A user id as `channel_id` means their DM.
        """
        with self._lock:
            channel_id = self._dm_key(channel_id)
            stamp = self._next_ts() if ts is None else self._past_ts(ts)
            message: JSONDict = {
                "type": "message",
                "channel": channel_id,
                "user": user_id,
                "team": self.team_id,
                "ts": stamp,
                "text": text,
                "blocks": blocks,
                "thread_ts": thread_ts,
                "metadata": None,
            }
            if user_id == self.bot_user_id:
                message.update({"bot_id": self.bot_id, "app_id": self.app_id})
            self._messages.setdefault(channel_id, []).append(message)
            self._messages[channel_id].sort(key=lambda m: float(m["ts"]))
            if thread_ts:
                self._count_reply(channel_id, thread_ts, stamp)
            return self._public_message(message)

    def users(self) -> list[JSONDict]:
        """Every user object of the workspace (a copy), in the order they were added."""
        with self._lock:
            return json.loads(json.dumps(list(self._users.values())))

    def channels(self) -> list[JSONDict]:
        """Every channel as conversations.info shows it (a copy)."""
        with self._lock:
            return [self._channel_object(c) for c in self._channels.values()]

    def view_for_trigger(self, trigger_id: str) -> str | None:
        """The id of the view a views.open or views.push with this trigger_id opened."""
        with self._lock:
            return self._view_triggers.get(trigger_id)

    def apply_view_response(
        self, view_id: str, action: str, view: JSONDict | None = None
    ) -> str | None:
        """What Slack does with a view_submission's `response_action` ("update", "push"):
        update replaces the view in place (same id); push stacks a new one and returns its id.
        Invalid views raise ValueError with Slack's messages."""
        with self._lock:
            current = self._views.get(view_id)
            if current is None or not isinstance(view, dict):
                return None
            problems = _view_errors(view, home=False)
            if problems:
                raise ValueError("; ".join(problems))
            if action == "update":
                updated = self._view_object(view, view_id, current["root_view_id"])
                updated["previous_view_id"] = current["previous_view_id"]
                self._views[view_id] = updated
                return view_id
            if action == "push":
                saved = self._save_view(view, current["root_view_id"])
                saved["previous_view_id"] = view_id
                return str(saved["id"])
            return None

    def calls(self, method: str | None = None) -> list[Call]:
        """Requests in the order received (including 429s and faults); a copy of the list."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def posted_keys(self) -> collections.Counter[str]:
        """chat.postMessage calls answered with HTTP 200 (`ok`, or a Slack error), per outbox
        idempotency key (carried in the message metadata)."""
        return collections.Counter(
            c["metadata"]["event_payload"]["key"]
            for c in self.calls("chat.postMessage")
            if c.status == 200 and isinstance(c.get("metadata"), dict)
        )

    def delivered_keys(self, *channels: str) -> collections.Counter[str]:
        """Messages that exist in these channels (posts Slack accepted), per idempotency key."""
        return collections.Counter(
            m["metadata"]["event_payload"]["key"]
            for channel in channels
            for m in self.messages(channel)
            if m.get("metadata")
        )

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until `count` answered calls to `method` match; end-to-end tests poll this.

        Only answered calls count (status set), so state such as `messages()` already reflects
        them when this returns.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matching = [
                    c
                    for c in self._calls
                    if c.method == method and c.status and (predicate is None or predicate(c))
                ]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [c for c in self._calls if c.method == method]
                    raise AssertionError(
                        f"expected {count} matching {method} call(s) within {timeout}s, "
                        f"{len(matching)} matched; all {method} calls: {seen!r}"
                    )
                self._changed.wait(remaining)

    def messages(self, channel: str) -> list[JSONDict]:
        """Current messages of a channel (or of the DM with a user id), edits applied."""
        with self._lock:
            key = self._dm_key(channel)
            return json.loads(json.dumps(self._messages.get(key, [])))

    def view(self, view_id: str) -> JSONDict | None:
        """The current state of a modal or Home tab, as the last views.* call left it."""
        with self._lock:
            found = self._views.get(view_id)
            return json.loads(json.dumps(found)) if found else None

    def home_view(self, user_id: str) -> JSONDict | None:
        """The Home tab last published for a user."""
        with self._lock:
            view_id = self._home_views.get(user_id)
        return self.view(view_id) if view_id else None

    def file(self, file_id: str) -> JSONDict | None:
        """An uploaded file's object plus its bytes under "content"."""
        with self._lock:
            found = self._files.get(file_id)
            return dict(found) if found else None

    def rate_limited_count(self, method: str | None = None) -> int:
        """How many requests were answered 429 (limits and injected 429 faults alike)."""
        with self._lock:
            return sum(
                1 for c in self._calls if c.status == 429 and (method is None or c.method == method)
            )

    # --- behaviour knobs ----------------------------------------------------------------------

    def set_rate_limit(
        self,
        method: str,
        per_minute: int,
        *,
        burst: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Per-method token bucket (Slack's tiers). The burst defaults to a few calls beyond a
        second's worth, as Slack tolerates "short bursts", never a minute's worth."""
        if burst is None:
            burst = min(per_minute, math.ceil(per_minute / 60) + 2)
        with self._lock:
            self._limits[method] = _Bucket(
                rate=per_minute / 60.0, capacity=float(burst), fixed_retry_after=retry_after
            )

    def set_window_limit(self, method: str, calls: int, seconds: float = 1.0) -> None:
        """Per-method strict sliding window: at most `calls` in any `seconds`."""
        with self._lock:
            self._limits[method] = _Window(calls=calls, seconds=seconds)

    def set_channel_rate_limit(self, per_second: float = 1.0, burst: int = 1) -> None:
        """chat.postMessage per channel: Slack allows about one message a second each."""
        with self._lock:
            self._channel_limit = (per_second, burst)
            self._channel_buckets.clear()

    def inject_fault(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        delay: float = 0.0,
        times: int = 1,
        retry_after: int | None = None,
        lost_answer: str | None = None,
        hold: float = 0.0,
    ) -> None:
        """Make the next `times` calls to `method` slow and/or fail.

        status 200 with an error answers `{"ok": false, "error": error}`; 200 without one only
        delays; 429 answers `ratelimited` with Retry-After; other statuses answer the error as
        JSON when given, else a non-JSON body like a load balancer's.

        Calls whose outcome the client cannot know: `lost_answer="before"` drops the connection
        before Slack runs the call (nothing is stored), `lost_answer="after"` runs it (a message
        is stored) and then drops the connection; `hold=N` runs it and answers only N seconds
        later (the client times out, or is killed, in between).
        """
        if lost_answer not in (None, LOST_BEFORE, LOST_AFTER):
            raise ValueError(f"lost_answer is {LOST_BEFORE!r} or {LOST_AFTER!r}")
        with self._lock:
            self._faults.setdefault(method, []).append(
                _Fault(status, error, delay, times, retry_after, lost_answer, hold)
            )

    def clear_faults(self) -> None:
        """Slack is healthy again; messages and calls so far stay."""
        with self._lock:
            self._faults.clear()

    def set_scopes(self, scopes: str) -> None:
        """The bot token's scopes (comma-separated); methods needing another say missing_scope."""
        with self._lock:
            self._scopes = scopes

    def reset(self) -> None:
        """Forget calls, faults, limits, messages, views and files; keep users and channels."""
        with self._lock:
            self._reset_state()
            self._opened_dms.clear()

    # --- request handling ---------------------------------------------------------------------

    def _handle_http(self, raw_path: str, headers: dict[str, str], body: bytes) -> _Reply:
        parts = urlsplit(raw_path)
        if parts.path.startswith("/api/"):
            args, is_json = _parse_args(parts.query, headers, body)
            method = parts.path[len("/api/") :]
            return self._handle_api(method, args, headers, is_json, parts.path)
        if parts.path.startswith("/upload/"):
            return self._handle_upload(parts.path[len("/upload/") :], headers, body)
        if parts.path.startswith("/hooks/"):
            return self._handle_hook(parts.path, headers, body)
        return _Reply(404, b"Not Found", "text/plain; charset=utf-8")

    def _record(self, call: Call) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    def _answer(self, call: Call, reply: _Reply) -> _Reply:
        """Set the call's status under the lock so waiters see a finished call."""
        with self._changed:
            call.status = reply.status
            self._changed.notify_all()
        reply.headers.setdefault("X-Slack-Req-Id", secrets.token_hex(16))
        return reply

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            queue = self._faults.get(method)
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

    def _handle_api(
        self, method: str, args: JSONDict, headers: dict[str, str], is_json: bool, path: str
    ) -> _Reply:
        call = Call(args, method=method, headers=headers, path=path)
        self._record(call)
        fault = self._take_fault(method)
        if fault is not None and fault.lost_answer == LOST_BEFORE:
            return self._answer(call, _Reply(_DROP, b""))
        if fault is not None and fault.lost_answer is None:
            if fault.delay > 0:
                time.sleep(fault.delay)  # outside the lock: other clients go on being served
            reply = self._fault_reply(fault)
            if reply is not None:
                return self._answer(call, reply)
        try:
            with self._lock:  # serialise under the lock: payloads reference live state
                payload = self._run(method, call, headers, is_json)
                reply = _json_reply(200, {"ok": True, **payload})
        except _SlackError as err:
            error: JSONDict = {"ok": False, "error": err.error, **err.extra}
            if err.messages:
                error["response_metadata"] = {"messages": err.messages}
            reply = _json_reply(err.status, error, dict(err.headers))
        reply.headers["X-OAuth-Scopes"] = self._scopes
        if fault is not None and fault.lost_answer == LOST_AFTER:
            return self._answer(call, _Reply(_DROP, b""))
        if fault is not None and fault.hold > 0:
            time.sleep(fault.hold)  # done and stored; the answer is late
        return self._answer(call, reply)

    def _fault_reply(self, fault: _Fault) -> _Reply | None:
        if fault.status == 429:
            err = _rate_limited(fault.retry_after or 1)
            return _json_reply(429, {"ok": False, "error": "ratelimited"}, err.headers)
        if fault.status == 200:
            if fault.error is None:
                return None  # a slow but otherwise normal answer
            return _json_reply(200, {"ok": False, "error": fault.error})
        if fault.error is not None:
            return _json_reply(fault.status, {"ok": False, "error": fault.error})
        html = f"<html><body><h1>{fault.status} Service Unavailable</h1></body></html>"
        return _Reply(fault.status, html.encode(), "text/html; charset=utf-8")

    def _run(self, method: str, call: Call, headers: dict[str, str], is_json: bool) -> JSONDict:
        """Checks in Slack's order: method, authentication, rate limit, then the method itself."""
        handler = _HANDLERS.get(method)
        if handler is None:
            raise _SlackError("unknown_method")
        if method != "api.test":
            self._authenticate(call, headers, is_json)
            bucket = self._limits.get(method)
            if bucket is not None and (retry_after := bucket.take()) is not None:
                raise _rate_limited(retry_after)
        return handler(self, call)

    def _authenticate(self, call: Call, headers: dict[str, str], is_json: bool) -> None:
        """Bearer header, or a `token` argument for form/query calls (never inside JSON)."""
        auth = headers.get("authorization", "")
        token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else None
        if token is None and not is_json:
            token = call.get("token")
        if not token:
            raise _SlackError("not_authed")
        if token != self.bot_token:
            raise _SlackError("invalid_auth")

    def _handle_upload(self, file_id: str, headers: dict[str, str], body: bytes) -> _Reply:
        """The upload URL of files.getUploadURLExternal: raw bytes in, `OK - <n>` out."""
        args = {"file_id": file_id, "length": len(body)}
        call = Call(args, method="upload", headers=headers, path=f"/upload/{file_id}")
        self._record(call)
        with self._lock:
            pending = self._files.get(file_id)
            if pending is not None:
                pending["content"] = body
                pending["size"] = len(body)
        if pending is None:
            return self._answer(call, _Reply(404, b"file not found", "text/plain; charset=utf-8"))
        return self._answer(call, _Reply(200, f"OK - {len(body)}".encode(), "text/plain"))

    def _handle_hook(self, path: str, headers: dict[str, str], body: bytes) -> _Reply:
        """A response_url: records the payload (method "response_url"), five uses like Slack."""
        try:
            payload = json.loads(body) if body else {}
        except json.JSONDecodeError:
            payload = {"raw": body.decode("utf-8", "replace")}
        args = payload if isinstance(payload, dict) else {"raw": payload}
        call = Call(args, method="response_url", headers=headers, path=path)
        self._record(call)
        with self._lock:
            uses = self._hook_uses.get(path, 0) + 1
            self._hook_uses[path] = uses
        if uses > RESPONSE_URL_USES:
            return self._answer(call, _Reply(404, b"used_url", "text/html"))
        return self._answer(call, _Reply(200, b"ok", "text/html"))

    # --- helpers used by handlers (called with the lock held) ---------------------------------

    def _next_ts(self) -> str:
        """Slack ts: seconds.micros near now, unique and increasing across the emulator."""
        now_us = int(self._clock() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _past_ts(self, at: float) -> str:
        """A ts for a message dated in the past (a demo's history); unique, not increasing."""
        micros = int(at * 1_000_000)
        taken = {m["ts"] for msgs in self._messages.values() for m in msgs}
        while (stamp := f"{micros // 1_000_000}.{micros % 1_000_000:06d}") in taken:
            micros += 1
        return stamp

    def _count_reply(self, channel_id: str, parent_ts: str, ts: str) -> None:
        for parent in self._messages.get(channel_id, []):
            if parent["ts"] == parent_ts:
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = max(ts, parent.get("latest_reply", ts), key=float)

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):09d}"

    def _dm_key(self, channel: str) -> str:
        return self.dm_channel_id(channel) if channel in self._users else channel

    def _user_for_dm(self, channel_id: str) -> JSONDict | None:
        return self._users.get(channel_id[1:]) if channel_id.startswith("D") else None

    def _require(self, call: Call, *names: str) -> None:
        missing = [name for name in names if call.get(name) in (None, "")]
        if missing:
            raise _SlackError(
                "invalid_arguments",
                messages=[_missing(name) for name in missing],
            )

    def _visible_channel(self, channel_id: str) -> _Channel:
        """A channel the bot can see: private channels it is not in do not exist for it."""
        found = self._channels.get(channel_id)
        if found is None:
            found = next((c for c in self._channels.values() if c.name == channel_id), None)
        if found is None or (found.is_private and not found.bot_is_member):
            raise _SlackError("channel_not_found")
        return found

    def _resolve_post_target(self, target: str) -> str:
        """Where chat.postMessage writes: a channel id or name, the app DM, or a user id."""
        if not target:
            raise _SlackError("channel_not_found")
        if target[0] in "UW" and target in self._users:
            return self._open_dm(target, missing_error="channel_not_found", deleted_ok=True)
        if target.startswith("D"):
            if self._user_for_dm(target) is None:
                raise _SlackError("channel_not_found")  # someone else's DM
            return target
        channel = self._visible_channel(target.lstrip("#"))
        if channel.is_archived:
            raise _SlackError("is_archived")
        return channel.id

    def _open_dm(self, user_id: str, *, missing_error: str, deleted_ok: bool) -> str:
        user = self._users.get(user_id)
        if user is None:
            raise _SlackError(missing_error)
        if user["is_bot"]:
            raise _SlackError("cannot_dm_bot")
        if user["deleted"] and not deleted_ok:
            raise _SlackError("user_disabled")
        return self.dm_channel_id(user_id)

    def _check_channel_rate(self, channel_id: str) -> None:
        if self._channel_limit is None:
            return
        per_second, burst = self._channel_limit
        bucket = self._channel_buckets.setdefault(
            channel_id, _Bucket(rate=per_second, capacity=float(burst))
        )
        if (retry_after := bucket.take()) is not None:
            raise _rate_limited(retry_after)

    def _validated_content(self, call: Call, *, error: str = "invalid_blocks") -> JSONDict:
        """text/blocks/metadata checks shared by chat.postMessage, postEphemeral and update."""
        text = call.get("text")
        blocks = call.get("blocks")
        if not text and not blocks and not call.get("attachments"):
            raise _SlackError("no_text")
        if text is not None and len(str(text)) > MAX_TEXT:
            raise _SlackError("msg_too_long")
        if blocks not in (None, "", []):
            if not isinstance(blocks, list):
                raise _SlackError("invalid_blocks_format")
            problems = _block_errors(blocks, "/blocks", MAX_MESSAGE_BLOCKS)
            problems += self._file_errors(blocks)
            if problems:
                raise _SlackError(error, messages=problems)
            blocks = _with_block_ids(blocks)
        metadata = call.get("metadata")
        if metadata not in (None, ""):
            if not isinstance(metadata, dict):
                raise _SlackError("invalid_metadata_format")
            if not metadata.get("event_type") or not isinstance(
                metadata.get("event_payload", {}), dict
            ):
                raise _SlackError("invalid_metadata_schema")
        return {
            "text": "" if text is None else str(text),
            "blocks": blocks or None,
            "metadata": metadata or None,
        }

    def _file_errors(self, blocks: list[Any]) -> list[str]:
        """An image block's `slack_file` must name a completed upload of this workspace."""
        errors = []
        for i, block in enumerate(blocks):
            if not isinstance(block, dict) or block.get("type") != "image":
                continue
            file_ref = block.get("slack_file")
            if file_ref is None:
                if not block.get("image_url"):
                    errors.append(_missing(f"image_url [json-pointer:/blocks/{i}]"))
                continue
            found = self._files.get(str((file_ref or {}).get("id")))
            if found is None or not found["completed"]:
                errors.append(f"[ERROR] invalid slack_file [json-pointer:/blocks/{i}/slack_file]")
        return errors

    def _find_message(self, channel_id: str, ts: str) -> JSONDict:
        for message in self._messages.get(channel_id, []):
            if message["ts"] == ts:
                return message
        raise _SlackError("message_not_found")

    def _public_message(self, message: JSONDict) -> JSONDict:
        """A stored message as the API shows it: absent fields omitted, not null."""
        return {k: v for k, v in message.items() if v is not None and k != "channel"}

    def _store_message(self, channel_id: str, content: JSONDict, call: Call) -> JSONDict:
        ts = self._next_ts()
        message: JSONDict = {
            "type": "message",
            "channel": channel_id,
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
            "text": content["text"],
            "blocks": content["blocks"],
            "attachments": call.get("attachments") or None,
            "thread_ts": call.get("thread_ts") or None,
            "metadata": content["metadata"],
            "files": content.get("files"),
            "bot_profile": {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": "pulsebot",
                "team_id": self.team_id,
                "deleted": False,
            },
        }
        self._messages.setdefault(channel_id, []).append(message)
        parent_ts = message["thread_ts"]
        if parent_ts:
            self._count_reply(channel_id, parent_ts, ts)
        return message

    def _view_object(self, view: JSONDict, view_id: str, root_id: str | None) -> JSONDict:
        """The view Slack echoes back: defaults filled, fresh hash, empty state."""
        title = view.get("title")
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "title": title,
            "close": view.get("close"),
            "submit": view.get("submit"),
            "blocks": _with_block_ids(view.get("blocks") or []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_urlsafe(6)}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root_id or view_id,
            "previous_view_id": None,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _checked_view(self, call: Call, *, home: bool = False) -> JSONDict:
        view = call.get("view")
        if view in (None, ""):
            raise _SlackError("invalid_arguments", messages=[_missing("view")])
        problems = _view_errors(view, home=home)
        if problems:
            raise _SlackError("invalid_arguments", messages=problems)
        external_id = view.get("external_id")
        if external_id and external_id in self._external_ids and not home:
            raise _SlackError("duplicate_external_id")
        return view

    def _check_trigger(self, call: Call) -> str:
        """trigger_ids are single-use and short-lived: reuse or "expired..." ids are refused."""
        trigger_id = call.get("trigger_id")
        if not trigger_id:
            raise _SlackError("invalid_arguments", messages=["invalid `trigger_id`"])
        trigger_id = str(trigger_id)
        if trigger_id in self._used_triggers or trigger_id.startswith("expired"):
            raise _SlackError("expired_trigger_id")
        return trigger_id

    def _open_view(self, call: Call) -> JSONDict:
        """views.open and views.push: a valid view spends the trigger."""
        trigger_id = self._check_trigger(call)
        view = self._checked_view(call)
        self._used_triggers.add(trigger_id)
        saved = self._save_view(view)
        self._view_triggers[trigger_id] = saved["id"]
        return {"view": saved}

    def _save_view(self, view: JSONDict, root_id: str | None = None) -> JSONDict:
        view_id = self._next_id("V")
        saved = self._view_object(view, view_id, root_id)
        self._views[view_id] = saved
        if saved["external_id"]:
            self._external_ids[saved["external_id"]] = view_id
        return saved

    def _file_object(self, file_id: str) -> JSONDict:
        found = self._files[file_id]
        return {k: v for k, v in found.items() if k != "content"}

    # --- Web API methods ----------------------------------------------------------------------

    @_api("api.test")
    def _api_test(self, call: Call) -> JSONDict:
        return {"args": dict(call)}

    @_api("auth.test")
    def _auth_test(self, call: Call) -> JSONDict:
        return {
            "url": f"https://{self.TEAM_DOMAIN}.slack.com/",
            "team": self.TEAM_NAME,
            "user": self._users[self.bot_user_id]["name"],
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    @_api("users.info")
    def _users_info(self, call: Call) -> JSONDict:
        user = self._users.get(str(call.get("user", "")))
        if user is None:
            raise _SlackError("user_not_found")
        return {"user": user}

    @_api("users.list")
    def _users_list(self, call: Call) -> JSONDict:
        """Real pagination: an opaque cursor naming the next user, "" at the end."""
        members = [u for u in self._users.values() if u["team_id"] == self.team_id]
        start = 0
        cursor = call.get("cursor")
        if cursor:
            try:
                marker = base64.b64decode(str(cursor), validate=True).decode()
                next_id = marker.removeprefix("user:")
                start = next(i for i, u in enumerate(members) if u["id"] == next_id)
            except (ValueError, StopIteration):
                raise _SlackError("invalid_cursor") from None
        limit = min(_int_arg(call.get("limit"), 0), 1_000) or len(members)
        page = members[start : start + limit]
        rest = members[start + limit :]
        next_cursor = base64.b64encode(f"user:{rest[0]['id']}".encode()).decode() if rest else ""
        return {
            "members": page,
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": next_cursor},
        }

    @_api("users.lookupByEmail")
    def _users_lookup_by_email(self, call: Call) -> JSONDict:
        """Deactivated and external users are not found by email, as in Slack."""
        self._require(call, "email")
        email = str(call["email"]).lower()
        for user in self._users.values():
            if (
                user["profile"].get("email", "").lower() == email
                and not user["deleted"]
                and user["team_id"] == self.team_id
            ):
                return {"user": user}
        raise _SlackError("users_not_found")

    @_api("conversations.open")
    def _conversations_open(self, call: Call) -> JSONDict:
        users = [u for u in str(call.get("users", "")).split(",") if u]
        if not users:
            channel = call.get("channel")
            if channel and self._user_for_dm(str(channel)) is not None:
                return {"channel": {"id": channel}, "no_op": True, "already_open": True}
            raise _SlackError("channel_not_found" if channel else "users_list_not_supplied")
        if len(users) > 8:
            raise _SlackError("too_many_users")
        if len(users) > 1:
            digest = hashlib.sha1(",".join(sorted(users)).encode()).hexdigest()[:9]
            for user_id in users:
                self._open_dm(user_id, missing_error="user_not_found", deleted_ok=False)
            group_id = "C" + digest.upper()
            self._channels.setdefault(
                group_id, _Channel(group_id, f"mpdm-{digest}", True, False, True)
            )
            return {"channel": {"id": group_id}}
        dm_id = self._open_dm(users[0], missing_error="user_not_found", deleted_ok=False)
        result: JSONDict = {"channel": {"id": dm_id}}
        if dm_id in self._opened_dms:
            result.update({"no_op": True, "already_open": True})
        self._opened_dms.add(dm_id)
        if _truthy(call.get("return_im")):
            result["channel"] = self._im_object(dm_id)
        return result

    def _im_object(self, dm_id: str) -> JSONDict:
        user = self._user_for_dm(dm_id) or {}
        return {
            "id": dm_id,
            "created": int(time.time()),
            "is_archived": False,
            "is_im": True,
            "is_org_shared": False,
            "context_team_id": self.team_id,
            "updated": int(time.time() * 1000),
            "user": user.get("id"),
            "is_user_deleted": bool(user.get("deleted")),
            "priority": 0,
        }

    @_api("conversations.info")
    def _conversations_info(self, call: Call) -> JSONDict:
        channel_id = str(call.get("channel", ""))
        if channel_id.startswith("D") and self._user_for_dm(channel_id) is not None:
            return {"channel": self._im_object(channel_id)}
        found = self._channels.get(channel_id)
        if found is None or (found.is_private and not found.bot_is_member):
            raise _SlackError("channel_not_found")
        return {"channel": self._channel_object(found)}

    def _channel_object(self, channel: _Channel) -> JSONDict:
        empty = {"value": "", "creator": "", "last_set": 0}
        return {
            "id": channel.id,
            "name": channel.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.is_private,
            "created": channel.created,
            "is_archived": channel.is_archived,
            "is_general": channel.name == "general",
            "unlinked": 0,
            "name_normalized": channel.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": self.team_id,
            "updated": channel.created * 1000,
            "parent_conversation": None,
            "creator": "U0CREATOR",
            "is_ext_shared": False,
            "shared_team_ids": [self.team_id],
            "pending_connected_team_ids": [],
            "is_member": channel.bot_is_member,
            "topic": dict(empty),
            "purpose": dict(empty),
            "previous_names": [],
        }

    def _history_channel(self, call: Call) -> str:
        """The channel whose history the bot may read, checking the scope Slack would."""
        self._require(call, "channel")
        channel_id = str(call["channel"])
        if channel_id.startswith("D"):
            if self._user_for_dm(channel_id) is None:
                raise _SlackError("channel_not_found")
            scope = "im:history"
        else:
            channel = self._visible_channel(channel_id)
            scope = "groups:history" if channel.is_private else "channels:history"
            if not channel.bot_is_member and scope in self._scopes.split(","):
                raise _SlackError("not_in_channel")
            channel_id = channel.id
        if scope not in self._scopes.split(","):
            raise _SlackError("missing_scope", needed=scope, provided=self._scopes)
        return channel_id

    def _listed(self, message: JSONDict, with_metadata: bool) -> JSONDict:
        listed = {k: v for k, v in message.items() if v is not None and k != "channel"}
        if not with_metadata:
            listed.pop("metadata", None)
        return listed

    @_api("conversations.history")
    def _conversations_history(self, call: Call) -> JSONDict:
        """Top-level messages, newest first, between `oldest` and `latest` (exclusive unless
        `inclusive`); thread replies only when broadcast. Metadata only with
        `include_all_metadata`, as Slack does."""
        channel_id = self._history_channel(call)
        oldest = float(call.get("oldest") or 0)
        latest = float(call.get("latest") or time.time() + 1e9)
        inclusive = _truthy(call.get("inclusive"))
        limit = max(1, min(_int_arg(call.get("limit"), 100), 999))
        offset = _int_arg(call.get("cursor"), 0)

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        found = [
            m
            for m in reversed(self._messages.get(channel_id, []))
            if within(float(m["ts"]))
            and (not m.get("thread_ts") or m["thread_ts"] == m["ts"] or m.get("subtype"))
        ]
        page = found[offset : offset + limit]
        more = offset + limit < len(found)
        metadata = _truthy(call.get("include_all_metadata"))
        return {
            "messages": [self._listed(m, metadata) for m in page],
            "has_more": more,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": str(offset + limit) if more else ""},
        }

    @_api("conversations.replies")
    def _conversations_replies(self, call: Call) -> JSONDict:
        """A thread: its parent first, then the replies, oldest first."""
        self._require(call, "ts")
        channel_id = self._history_channel(call)
        parent_ts = str(call["ts"])
        messages = self._messages.get(channel_id, [])
        parent = next((m for m in messages if m["ts"] == parent_ts), None)
        if parent is None:
            raise _SlackError("thread_not_found")
        oldest = float(call.get("oldest") or 0)
        limit = max(1, min(_int_arg(call.get("limit"), 1000), 1000))
        offset = _int_arg(call.get("cursor"), 0)
        replies = [
            m for m in messages if m.get("thread_ts") == parent_ts and m["ts"] != parent_ts
        ]
        thread = [parent, *[m for m in replies if float(m["ts"]) >= oldest]]
        page = thread[offset : offset + limit]
        more = offset + limit < len(thread)
        metadata = _truthy(call.get("include_all_metadata"))
        return {
            "messages": [self._listed(m, metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(offset + limit) if more else ""},
        }

    @_api("chat.postMessage")
    def _chat_post_message(self, call: Call) -> JSONDict:
        channel_id = self._resolve_post_target(str(call.get("channel") or ""))
        self._check_channel_rate(channel_id)
        content = self._validated_content(call)
        message = self._store_message(channel_id, content, call)
        return {
            "channel": channel_id,
            "ts": message["ts"],
            "message": self._public_message(message),
        }

    @_api("chat.postEphemeral")
    def _chat_post_ephemeral(self, call: Call) -> JSONDict:
        self._resolve_post_target(str(call.get("channel") or ""))
        user_id = str(call.get("user") or "")
        if user_id not in self._users:
            raise _SlackError("user_not_found")
        self._validated_content(call)
        return {"message_ts": self._next_ts()}

    @_api("chat.update")
    def _chat_update(self, call: Call) -> JSONDict:
        """Edits in place; channel must be an id (a user id is `channel_not_found`, as Slack)."""
        channel_id = str(call.get("channel") or "")
        if not (channel_id.startswith("D") and self._user_for_dm(channel_id) is not None):
            channel_id = self._visible_channel(channel_id).id
        self._require(call, "ts")
        message = self._find_message(channel_id, str(call["ts"]))
        if message["user"] != self.bot_user_id:
            raise _SlackError("cant_update_message")
        content = self._validated_content(call)
        message["text"] = content["text"]
        # Omitted fields keep their old values (documented for metadata; same for blocks).
        if call.get("blocks") is not None:
            message["blocks"] = content["blocks"]
        if call.get("metadata") is not None:
            message["metadata"] = content["metadata"]
        if call.get("attachments") is not None:
            message["attachments"] = call.get("attachments") or None
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        public = self._public_message(message)
        return {
            "channel": channel_id,
            "ts": message["ts"],
            "text": message["text"],
            "message": public,
        }

    @_api("chat.getPermalink")
    def _chat_get_permalink(self, call: Call) -> JSONDict:
        channel_id = str(call.get("channel") or "")
        if not (channel_id.startswith("D") and self._user_for_dm(channel_id) is not None):
            channel_id = self._visible_channel(channel_id).id
        self._require(call, "message_ts")
        message = self._find_message(channel_id, str(call["message_ts"]))
        link = (
            f"https://{self.TEAM_DOMAIN}.slack.com/archives/{channel_id}/"
            f"p{message['ts'].replace('.', '')}"
        )
        if message.get("thread_ts") and message["thread_ts"] != message["ts"]:
            link += f"?thread_ts={message['thread_ts']}&cid={channel_id}"
        return {"channel": channel_id, "permalink": link}

    @_api("reactions.add")
    def _reactions_add(self, call: Call) -> JSONDict:
        self._require(call, "channel", "name", "timestamp")
        channel_id = str(call["channel"])
        if not (channel_id.startswith("D") and self._user_for_dm(channel_id) is not None):
            channel_id = self._visible_channel(channel_id).id
        message = self._find_message(channel_id, str(call["timestamp"]))
        name = str(call["name"]).strip(":")
        reactions: list[JSONDict] = message.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["name"] == name:
                if self.bot_user_id in reaction["users"]:
                    raise _SlackError("already_reacted")
                reaction["users"].append(self.bot_user_id)
                reaction["count"] += 1
                return {}
        reactions.append({"name": name, "users": [self.bot_user_id], "count": 1})
        return {}

    @_api("views.open")
    def _views_open(self, call: Call) -> JSONDict:
        return self._open_view(call)

    @_api("views.push")
    def _views_push(self, call: Call) -> JSONDict:
        return self._open_view(call)

    @_api("views.update")
    def _views_update(self, call: Call) -> JSONDict:
        view_id = call.get("view_id") or self._external_ids.get(str(call.get("external_id", "")))
        if not call.get("view_id") and not call.get("external_id"):
            raise _SlackError(
                "invalid_arguments", messages=["[ERROR] either view_id or external_id is required"]
            )
        current = self._views.get(str(view_id)) if view_id else None
        if current is None:
            raise _SlackError("not_found")
        view = call.get("view")
        problems = _view_errors(view, home=current["type"] == "home")
        if problems or not isinstance(view, dict):
            raise _SlackError("invalid_arguments", messages=problems)
        if call.get("hash") and call["hash"] != current["hash"]:
            raise _SlackError("hash_conflict")
        external_id = view.get("external_id") or current["external_id"]
        if self._external_ids.get(external_id, current["id"]) != current["id"]:
            raise _SlackError("duplicate_external_id")
        updated = self._view_object(
            {**view, "external_id": external_id}, current["id"], current["root_view_id"]
        )
        updated["previous_view_id"] = current["previous_view_id"]
        self._views[current["id"]] = updated
        if external_id:
            self._external_ids[external_id] = current["id"]
        return {"view": updated}

    @_api("views.publish")
    def _views_publish(self, call: Call) -> JSONDict:
        self._require(call, "user_id")
        user_id = str(call["user_id"])
        if user_id not in self._users:
            raise _SlackError("user_not_found")
        view = self._checked_view(call, home=True)
        existing_id = self._home_views.get(user_id)
        if existing_id is not None:
            current = self._views[existing_id]
            if call.get("hash") and call["hash"] != current["hash"]:
                raise _SlackError("hash_conflict")
            saved = self._view_object(view, existing_id, None)
            self._views[existing_id] = saved
        else:
            saved = self._save_view(view)
            self._home_views[user_id] = saved["id"]
        return {"view": saved}

    @_api("files.getUploadURLExternal")
    def _files_get_upload_url(self, call: Call) -> JSONDict:
        self._require(call, "filename", "length")
        length = _int_arg(call["length"], -1)
        if length <= 0:
            raise _SlackError("missing_argument" if length == 0 else "invalid_arguments")
        file_id = self._next_id("F")
        filename = str(call["filename"])
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "binary"
        self._files[file_id] = {
            "id": file_id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": filename,
            "title": filename,
            "mimetype": "image/png" if extension == "png" else "application/octet-stream",
            "filetype": extension,
            "user": self.bot_user_id,
            "user_team": self.team_id,
            "size": length,
            "is_external": False,
            "url_private": f"https://files.slack.com/files-pri/{self.team_id}-{file_id}/{filename}",
            "permalink": f"https://{self.TEAM_DOMAIN}.slack.com/files/{self.bot_user_id}/"
            f"{file_id}/{filename}",
            "alt_txt": call.get("alt_txt"),
            "content": None,
            "channels": [],
            "completed": False,
        }
        base = self.url[: -len("/api/")]
        return {"upload_url": f"{base}/upload/{file_id}", "file_id": file_id}

    @_api("files.completeUploadExternal")
    def _files_complete_upload(self, call: Call) -> JSONDict:
        entries = call.get("files")
        if not isinstance(entries, list) or not entries:
            raise _SlackError("invalid_arguments", messages=[_missing("files")])
        channel_id = call.get("channel_id")
        if channel_id:
            # Slack shares a file into a conversation id (C, G, D, Z), never a user id.
            if str(channel_id)[:1] not in "CGDZ":
                raise _SlackError("invalid_channel")
            try:
                channel_id = self._resolve_post_target(str(channel_id))
            except _SlackError:
                raise _SlackError("invalid_channel") from None
        for entry in entries:
            found = self._files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if found is None or found["content"] is None:
                raise _SlackError("file_not_found")
        completed = []
        for entry in entries:
            found = self._files[entry["id"]]
            found["title"] = entry.get("title") or found["title"]
            found["completed"] = True
            if channel_id:
                found["channels"] = [channel_id]
            completed.append(self._file_object(entry["id"]))
        if channel_id:
            content = {
                "text": str(call.get("initial_comment") or ""),
                "blocks": None,
                "metadata": None,
                "files": completed,
            }
            self._store_message(str(channel_id), content, call)
        return {"files": completed}
