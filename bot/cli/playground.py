"""`python -m bot playground [--port 8000] [--terms DIR] [--host 127.0.0.1]`: try the bot locally.

Needs no Slack workspace, app or token: it starts the real bot with a local stand-in for
Slack and serves a Slack-like page to talk to it (see bot/playground/).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.cli import CommandError
from bot.cli._common import role_directory, terms_dir
from bot.playground import PlaygroundOptions, run_playground
from bot.playground.launcher import PlaygroundError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "playground",
        help="try the bot in your browser, without a Slack workspace",
        description="Start the real bot with a local stand-in for Slack, and serve a "
        "Slack-like page to use it: /define, mentions, DMs, buttons, the request form, "
        "the intake channel, App Home, and a preview of any term file. Needs no Slack "
        "account or tokens.",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address the page listens on ({DEFAULT_HOST}: this machine only)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument("--terms", help="glossary folder (default: GLOSSARY_TERMS_DIR or terms/)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    options = PlaygroundOptions(
        terms_dir=Path(terms_dir(args.terms)),
        roles=role_directory(),
        host=args.host,
        port=args.port,
    )
    try:
        return asyncio.run(run_playground(options))
    except PlaygroundError as exc:
        raise CommandError(str(exc)) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run as: python -m bot playground")
