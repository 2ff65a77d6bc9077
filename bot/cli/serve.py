"""`python -m bot serve [--host H] [--port P] [--terms DIR]`: the Slack app over HTTP."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.cli import CommandError
from bot.config import ConfigError, load_settings
from bot.slack.runtime import StartupError, configure_logging
from bot.slack.server import run_http

DEFAULT_HOST = "0.0.0.0"  # noqa: S104 - Slack must reach the bot (from a container, via a proxy)
DEFAULT_PORT = 3000


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the Slack app over HTTP (POST /slack/events, GET /healthz)",
        description="Run the Slack app over HTTP. Needs SLACK_BOT_TOKEN and "
        "SLACK_SIGNING_SECRET. Slack sends every request to POST /slack/events.",
    )
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on ({DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument("--terms", help="glossary folder (default: GLOSSARY_TERMS_DIR or terms/)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings("serve")
        configure_logging(settings)
        terms = Path(args.terms) if args.terms else None
        return asyncio.run(run_http(settings, args.host, args.port, terms))
    except (ConfigError, StartupError) as exc:
        raise CommandError(str(exc)) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run as: python -m bot serve")
