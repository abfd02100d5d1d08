"""The baseline for bench/kudos_ack.py: a Bolt app whose only listener acks `/kudos`,
served exactly as pulsebot is (uvicorn, Starlette, dispatch in the same bounded thread pool)."""

from __future__ import annotations

import argparse

import uvicorn
from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy.orm import sessionmaker

from bot.deps import Deps
from bot.server import create_asgi
from bot.settings import Settings
from storage.engine import make_engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=args.secret,
        SLACK_API_URL=args.api_url,
        DATABASE_URL="sqlite://",
    )
    client = WebClient(token="xoxb-test-token", base_url=args.api_url, retry_handlers=[])
    app = App(
        client=client,
        signing_secret=args.secret,
        token_verification_enabled=False,
        process_before_response=True,
    )

    @app.command("/kudos")
    def on_kudos(ack: Ack) -> None:
        ack(text="ok", response_type="ephemeral")

    deps = Deps(settings=settings, session_factory=sessionmaker(make_engine("sqlite://")))
    uvicorn.run(
        create_asgi(app, deps), host="127.0.0.1", port=args.port, log_config=None, access_log=False
    )


if __name__ == "__main__":
    main()
