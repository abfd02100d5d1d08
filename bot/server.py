"""HTTP mode: Starlette under uvicorn, with Bolt's sync App dispatched in a bounded thread pool.

Bolt's own ASGI adapters call the sync `App.dispatch` on the event loop, so every request would
queue behind the slowest one; here the loop only reads bodies and writes answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt import App, BoltRequest, BoltResponse
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.deps import Deps, connection_when_stopped
from bot.metrics import REGISTRY, REQUEST_SECONDS, REQUESTS
from bot.runtime import Runtime
from storage import workspaces

log = logging.getLogger(__name__)

DISPATCH_THREADS = 32


WORKER_ANSWER = (
    "This pulsebot runs with --role worker and serves no Slack request: point Slack's Request "
    "URL at a --role web (or all) process."
)


def create_asgi(
    app: App | None,
    deps: Deps,
    runtime: Runtime | None = None,
    *,
    threads: int = DISPATCH_THREADS,
    extra_routes: Sequence[BaseRoute] = (),
) -> ASGIApp:
    """`extra_routes` serve beside Slack's door (the demo's page); `pulsebot run` adds none.

    Without `app` (a worker) Slack's door answers 404 and says where requests belong; /healthz
    and /metrics still serve, for the process's liveness and its sender's counters."""
    executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dispatch")

    async def slack_events(scope: Scope, receive: Receive, send: Send) -> None:
        """`POST /slack/events` straight on ASGI: Starlette's Request, URL and middleware
        stack cost about as much as Bolt's whole dispatch of a command, on every request."""
        started = time.perf_counter()
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        bolt_request = BoltRequest(
            body=body.decode("utf-8"),
            query=scope["query_string"].decode("latin-1"),
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
        )
        loop = asyncio.get_running_loop()
        assert app is not None  # a worker never routes here
        bolt_response: BoltResponse = await loop.run_in_executor(
            executor, app.dispatch, bolt_request
        )
        content = (bolt_response.body or "").encode("utf-8")
        headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in bolt_response.first_headers_without_set_cookie().items()
            if name.lower() != "content-length"
        ]
        headers.append((b"content-length", str(len(content)).encode()))
        await send(
            {"type": "http.response.start", "status": bolt_response.status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": content})
        REQUEST_SECONDS.observe(time.perf_counter() - started)
        REQUESTS.labels(_kind(bolt_request), str(bolt_response.status)).inc()

    async def healthz(_: Request) -> JSONResponse:
        loop = asyncio.get_running_loop()
        db_ok, stop = await loop.run_in_executor(executor, _database_answers, deps)
        body = {"db": "ok" if db_ok else "unavailable", "slack": deps.slack.state}
        if stop is not None:  # read from the database: every replica says the same
            body["slack"] = connection_when_stopped(stop.reason)
            body["sending"] = "stopped"
            body["since"] = stop.since.isoformat(timespec="seconds")
        return JSONResponse(body, status_code=200 if db_ok else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if runtime is not None:
            runtime.start()
        try:
            yield
        finally:
            if runtime is not None:
                await asyncio.get_running_loop().run_in_executor(None, runtime.stop)
            executor.shutdown(wait=False, cancel_futures=True)

    starlette = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *extra_routes,
        ],
        lifespan=lifespan,
    )

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/slack/events":
            if app is None:
                await PlainTextResponse(WORKER_ANSWER, 404)(scope, receive, send)
            elif scope["method"] == "POST":
                await slack_events(scope, receive, send)
            else:
                await PlainTextResponse("Method Not Allowed", 405, {"Allow": "POST"})(
                    scope, receive, send
                )
        else:
            await starlette(scope, receive, send)

    return asgi


def _database_answers(deps: Deps) -> tuple[bool, workspaces.Stop | None]:
    """Whether the database answers, and the workspace's stop if its sending is stopped."""
    try:
        with deps.session_factory() as session:
            session.execute(text("SELECT 1"))
            stops = workspaces.stopped(session)
    except Exception:
        log.warning("healthz: the database does not answer", exc_info=True)
        return False, None
    ours = [s for s in stops if deps.slack.team_id in (None, s.team_id)]
    return True, (ours[0] if ours else None)


def _kind(request: BoltRequest) -> str:
    body = request.body if isinstance(request.body, dict) else {}
    return str(body.get("type") or ("command" if "command" in body else "unknown"))
