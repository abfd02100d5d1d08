"""The emulator as a real HTTP server on 127.0.0.1: it records every request, enforces rate
limits (429 with Retry-After) and injects faults, then hands the call to a method handler.

Slack is unreachable from development machines and CI, so the app talks to this server instead:
`WebClient(token=..., base_url=emulator.url)` works unchanged, because requests are parsed the
way Slack parses them and answered with Slack's shapes, error codes and headers. Recording lets
a test assert on what was sent, not just on a count; faults (5xx, slow answers, `ok: false`,
lost answers) exercise the app's retry and error paths.
"""

from __future__ import annotations

import collections
import json
import math
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from bot.demo.emulator.chat import ChatApi
from bot.demo.emulator.conversations import ConversationsApi
from bot.demo.emulator.files import FilesApi
from bot.demo.emulator.limits import Bucket, Window, rate_limited
from bot.demo.emulator.parsing import parse_args
from bot.demo.emulator.users import UsersApi
from bot.demo.emulator.views import ViewsApi
from bot.demo.emulator.webapi import Call, JSONDict, SlackError, api, handler_for, int_arg

RESPONSE_URL_USES = 5
# Where an answer never arrives: the connection closes before Slack runs the call, or after.
LOST_BEFORE, LOST_AFTER = "before", "after"
_DROP = 0  # a _Reply status: close the connection without answering


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
        length = int_arg(self.headers.get("Content-Length"), 0)
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


def _json_reply(status: int, payload: JSONDict, headers: dict[str, str] | None = None) -> _Reply:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return _Reply(status, body, headers=headers or {})


class SlackEmulator(UsersApi, ConversationsApi, ChatApi, ViewsApi, FilesApi):
    """A Slack workspace on 127.0.0.1: users, channels, messages, views, files, limits, faults.

    Start it (or use it as a context manager), point the app's `SLACK_API_URL` at `url`, then
    assert on `calls()`, `messages()` and friends. State lives behind one lock; handlers are
    quick and injected delays sleep outside it, so many client threads are served at once.
    """

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
        self._token_refusal: str | None = None  # set: Slack refuses bot_token with this error
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        super().__init__(team_id, bot_user_id, clock)
        self.add_user("USLACKBOT", "slackbot", tz="America/Los_Angeles", real_name="Slackbot")
        self.add_user(bot_user_id, "pulsebot", tz=None, is_bot=True, real_name="Pulsebot")
        self.add_channel("C0GENERAL", "general")

    def _reset_state(self) -> None:
        super()._reset_state()
        self._calls: list[Call] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._limits: dict[str, Bucket | Window] = {}
        self._hook_uses: dict[str, int] = {}

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

    # --- inspection ---------------------------------------------------------------------------

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
            self._limits[method] = Bucket(
                rate=per_minute / 60.0, capacity=float(burst), fixed_retry_after=retry_after
            )

    def set_window_limit(self, method: str, calls: int, seconds: float = 1.0) -> None:
        """Per-method strict sliding window: at most `calls` in any `seconds`."""
        with self._lock:
            self._limits[method] = Window(calls=calls, seconds=seconds)

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

    def revoke_token(self, error: str = "token_revoked") -> None:
        """The app was uninstalled or its token revoked: every call made with the bot token
        (auth.test included) answers `{"ok": false, "error": error}` with HTTP 200, as Slack
        does; `token_revoked`, `invalid_auth` and `account_inactive` are the codes Slack uses.
        Users, channels and messages stay."""
        with self._lock:
            self._token_refusal = error

    def restore_token(self) -> None:
        """Installed again with the same token: calls work as before."""
        with self._lock:
            self._token_refusal = None

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
            args, is_json = parse_args(parts.query, headers, body)
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
        except SlackError as err:
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
            err = rate_limited(fault.retry_after or 1)
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
        handler = handler_for(method)
        if handler is None:
            raise SlackError("unknown_method")
        if method != "api.test":
            self._authenticate(call, headers, is_json)
            bucket = self._limits.get(method)
            if bucket is not None and (retry_after := bucket.take()) is not None:
                raise rate_limited(retry_after)
        return handler(self, call)

    def _authenticate(self, call: Call, headers: dict[str, str], is_json: bool) -> None:
        """Bearer header, or a `token` argument for form/query calls (never inside JSON)."""
        auth = headers.get("authorization", "")
        token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else None
        if token is None and not is_json:
            token = call.get("token")
        if not token:
            raise SlackError("not_authed")
        if token != self.bot_token:
            raise SlackError("invalid_auth")
        if self._token_refusal is not None:
            raise SlackError(self._token_refusal)

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

    # --- Web API methods ----------------------------------------------------------------------

    @api("api.test")
    def _api_test(self, call: Call) -> JSONDict:
        return {"args": dict(call)}

    @api("auth.test")
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
