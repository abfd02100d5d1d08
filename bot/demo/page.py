"""The demo page: a Slack-like client rendered on the server from the emulator's state.

`GET /demo` is the whole page; `GET /demo/api/regions` gives the parts that change (sidebar,
messages, thread, modal, clock) so the page's small script can poll them; `POST /demo/api/*`
are the things a person does, each handed to the Workspace, which turns it into what Slack
would send the app. Static files (CSS, JS) ship as package data: nothing comes from a CDN.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.demo.regions import HOME, NextCheckin, Regions, channel_id
from bot.demo.workspace import Workspace

JSONDict = dict[str, Any]


def routes(workspace: Workspace, next_checkin: NextCheckin, default_person: str) -> list[BaseRoute]:
    """The page's routes, added beside /slack/events in the same server."""
    view = PageView(workspace, next_checkin, default_person)
    return [
        Route("/", lambda _: RedirectResponse("/demo"), methods=["GET"]),
        Route("/demo", _guarded(view.page), methods=["GET"]),
        Route("/favicon.ico", lambda _: Response(status_code=204), methods=["GET"]),
        Route("/demo/static/{name}", _static, methods=["GET"]),
        Route("/demo/files/{file_id}", _guarded(view.file), methods=["GET"]),
        Route("/demo/api/regions", _guarded(view.regions), methods=["GET"]),
        Route("/demo/api/{verb}", _guarded(view.act), methods=["POST"]),
    ]


Endpoint = Callable[[Request], Awaitable[Response]]
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


def _guarded(endpoint: Endpoint) -> Endpoint:
    """Only this machine's browser drives the demo: another site's page cannot, whether by a
    DNS name pointed at 127.0.0.1 (the Host header says so) or by a form posted across
    origins (it cannot send JSON without a CORS preflight, which the demo never grants)."""

    async def guarded(request: Request) -> Response:
        if request.url.hostname not in LOCAL_HOSTS:
            return Response("The demo answers only on 127.0.0.1.", status_code=403)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.method == "POST" and kind != "application/json":
            return Response("JSON only.", status_code=415)
        return await endpoint(request)

    return guarded


async def _static(request: Request) -> Response:
    name = request.path_params["name"]
    types = {"demo.css": "text/css", "demo.js": "text/javascript"}
    if name not in types:
        return Response("Not found", status_code=404)
    body = resources.files("bot.demo").joinpath("static", name).read_bytes()
    return Response(body, media_type=types[name], headers={"Cache-Control": "no-cache"})


class PageView:
    def __init__(self, workspace: Workspace, next_checkin: NextCheckin, default: str) -> None:
        self.ws = workspace
        self.next_checkin = next_checkin
        self.default = default
        self.screen = Regions(workspace, next_checkin)

    # ----- routes ------------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        where = self._where(request)
        if where["c"] == HOME:
            await asyncio.get_running_loop().run_in_executor(
                None, self.ws.open_home, where["as"]
            )
        regions = await asyncio.get_running_loop().run_in_executor(None, self.screen.all, where)
        return HTMLResponse(self.screen.shell(where, regions))

    async def regions(self, request: Request) -> Response:
        where = self._where(request)
        regions = await asyncio.get_running_loop().run_in_executor(None, self.screen.all, where)
        return JSONResponse(regions)

    async def file(self, request: Request) -> Response:
        found = self.ws.emulator.file(request.path_params["file_id"])
        if not found or not isinstance(found.get("content"), bytes):
            return Response("Not found", status_code=404)
        return Response(found["content"], media_type=str(found.get("mimetype") or "image/png"))

    async def act(self, request: Request) -> Response:
        """One thing a person did; the answer is the regions redrawn after it."""
        verb = request.path_params["verb"]
        try:
            data = await request.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return JSONResponse({"error": "a JSON object, please"}, status_code=400)
        where = self._where(request, data)
        user_id = where["as"]
        action = self._actions().get(verb)
        if action is None:
            return JSONResponse({"error": f"unknown action {verb}"}, status_code=404)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, action, user_id, where, data)
        regions = await loop.run_in_executor(None, self.screen.all, where)
        return JSONResponse(regions)

    def _actions(self) -> dict[str, Callable[[str, JSONDict, JSONDict], None]]:
        ws = self.ws

        def compose(user_id: str, where: JSONDict, data: JSONDict) -> None:
            channel = channel_id(ws, where)
            ws.compose(user_id, channel, str(data.get("text", "")), data.get("thread") or None)

        def click(user_id: str, where: JSONDict, data: JSONDict) -> None:
            ws.click(
                user_id,
                block_id=str(data.get("block", "")),
                action_id=str(data.get("action", "")),
                values=[str(v) for v in data.get("values") or []],
                channel_id=data.get("channel") or None,
                message_ts=data.get("ts") or None,
                view_id=data.get("view") or None,
                form=_form(data.get("form")) if data.get("view") else None,
            )

        def shortcut(user_id: str, where: JSONDict, data: JSONDict) -> None:
            ws.shortcut(
                user_id, str(data.get("channel")), str(data.get("ts")), str(data.get("callback"))
            )

        def react(user_id: str, where: JSONDict, data: JSONDict) -> None:
            ws.react(
                user_id, str(data.get("channel")), str(data.get("ts")), str(data.get("name"))
            )

        def submit(user_id: str, where: JSONDict, data: JSONDict) -> None:
            ws.submit(user_id, str(data.get("view")), _form(data.get("form")))

        def close(user_id: str, where: JSONDict, data: JSONDict) -> None:
            ws.close(user_id, str(data.get("view")))

        def jump(user_id: str, where: JSONDict, data: JSONDict) -> None:
            target = self._jump_target(user_id, data)
            if target is not None:
                ws.jump(target)

        def home(user_id: str, where: JSONDict, data: JSONDict) -> None:
            ws.open_home(user_id)

        return {
            "compose": compose,
            "click": click,
            "shortcut": shortcut,
            "react": react,
            "submit": submit,
            "close": close,
            "jump": jump,
            "home": home,
        }

    def _jump_target(self, user_id: str, data: JSONDict) -> datetime | None:
        now = self.ws.clock()
        kind = data.get("to")
        if kind == "next-checkin":
            return self.next_checkin(user_id)
        if kind == "hour":
            return now + timedelta(hours=1)
        if kind == "day":
            return now + timedelta(days=1)
        if kind == "at" and data.get("at"):
            zone = ZoneInfo(self._tz(user_id))
            try:
                local = datetime.fromisoformat(str(data["at"]))
            except ValueError:
                return None
            return (local if local.tzinfo else local.replace(tzinfo=zone)).astimezone(UTC)
        return None

    # ----- where the person is -----------------------------------------------------------------

    def _where(self, request: Request, data: JSONDict | None = None) -> JSONDict:
        query = request.query_params
        data = data or {}
        people = {p["id"] for p in self.ws.people()}
        user_id = str(data.get("as") or query.get("as") or self.default)
        if user_id not in people:
            user_id = self.default
        place = str(data.get("c") or query.get("c") or HOME)
        return {"as": user_id, "c": place, "t": str(data.get("t") or query.get("t") or "")}

    def _tz(self, user_id: str) -> str:
        return self.ws.context(user_id).tz


def _form(raw: Any) -> dict[str, list[str]]:
    """The page sends a form as [[name, value], ...] (FormData entries)."""
    form: dict[str, list[str]] = {}
    for pair in raw or []:
        if isinstance(pair, list) and len(pair) == 2:
            form.setdefault(str(pair[0]), []).append(str(pair[1]))
    return form
