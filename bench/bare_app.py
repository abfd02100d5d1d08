"""The baseline for bench/kudos_ack.py: a bare Bolt app whose only listeners ack `/kudos` and
`reaction_added`.

It imports nothing of pulsebot, so it measures what Bolt, uvicorn and this machine cost and
nothing else: uvicorn, Bolt's ASGI `SlackRequestHandler` subclassed so that `dispatch` runs the
sync `App.dispatch` in a `ThreadPoolExecutor(40)` (Bolt's own adapter calls it on the event
loop), `process_before_response=True`, log level warning.

    python bench/bare_app.py --port 3001 --secret SECRET --token xoxb-... --api-url URL
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import uvicorn
from slack_bolt import Ack, App, BoltRequest, BoltResponse
from slack_bolt.adapter.asgi import SlackRequestHandler
from slack_bolt.adapter.asgi.http_request import AsgiHttpRequest
from slack_sdk import WebClient

THREADS = 40


class PooledRequestHandler(SlackRequestHandler):
    """Bolt's ASGI handler, with the sync dispatch moved off the event loop."""

    def __init__(self, app: App, executor: ThreadPoolExecutor) -> None:
        super().__init__(app)
        self.executor = executor

    async def dispatch(self, request: AsgiHttpRequest) -> BoltResponse:
        bolt_request = BoltRequest(
            body=await request.get_raw_body(),
            query=request.query_string,
            headers=request.get_headers(),
        )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.app.dispatch, bolt_request)


def build(secret: str, token: str, api_url: str) -> PooledRequestHandler:
    client = WebClient(token=token, base_url=api_url, retry_handlers=[])
    app = App(
        client=client,
        signing_secret=secret,
        token_verification_enabled=False,
        process_before_response=True,
    )

    @app.command("/kudos")
    def on_kudos(ack: Ack) -> None:
        ack(text="ok", response_type="ephemeral")

    @app.event("reaction_added")
    def on_reaction(ack: Ack) -> None:
        ack()

    return PooledRequestHandler(app, ThreadPoolExecutor(max_workers=THREADS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--token", required=True, help="the bot token (Bolt runs auth.test once)")
    parser.add_argument("--api-url", required=True, help="where auth.test goes (the emulator)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    uvicorn.run(
        build(args.secret, args.token, args.api_url),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
