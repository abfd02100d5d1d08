"""`pulsebot demo`: the product against the bundled Slack emulator, no workspace needed."""

from __future__ import annotations

import argparse


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = verbs.add_parser(
        "demo",
        help="try pulsebot in a browser: a seeded company and a Slack emulator, no workspace",
        description="Run the real app against a bundled Slack emulator, with a company of "
        "thirteen people and eight weeks of history, on a temporary SQLite file, and open a "
        "Slack-like page at http://127.0.0.1:PORT/demo. You act as anyone; the clock only moves "
        "forward, and a jump runs what falls due on the way. Nothing reads your settings or "
        "reaches Slack; Ctrl-C stops it and removes its files.",
    )
    demo.add_argument("--port", type=int, default=3000, help="port on 127.0.0.1 (default 3000)")
    demo.add_argument("--no-browser", action="store_true", help="only print the address")
    demo.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """No settings read: the demo makes its own token, secret and database. Its import stays
    inside the verb: this is the one door from production code into the demo package."""
    from bot.demo import server

    return server.run(args.port, open_browser=not args.no_browser)
