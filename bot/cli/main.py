"""`pulsebot`: the parser, and the one place where a verb's ConfigError becomes exit code 2.

Each verb group lives in a module of its own (serve, db, demo, checkins, org, digest, goals,
privacy) that adds its parsers here; `pulsebot --help` imports them but builds nothing (no
settings, no engine, no WebClient) until a verb runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.cli import checkins, db, demo, digest, goals, org, privacy, serve
from bot.cli.common import EXIT_CONFIG, ConfigError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return EXIT_CONFIG
    try:
        return int(args.handler(args) or 0)
    except ConfigError as error:
        print(f"pulsebot: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pulsebot", description="Check-ins, two-way feedback and kudos for Slack."
    )
    verbs = parser.add_subparsers(title="commands", metavar="COMMAND")
    for group in (serve, demo, db, checkins, digest, goals, org, privacy):
        group.add_parsers(verbs)
    return parser


if __name__ == "__main__":
    sys.exit(main())
