"""`python -m bot socket [--terms DIR] [--health-port P]`: the Slack app in Socket Mode.

Socket Mode opens an outgoing WebSocket to Slack, so the bot needs no public URL: handy on
a laptop or behind a firewall. It needs SLACK_BOT_TOKEN and an app-level SLACK_APP_TOKEN.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.cli import CommandError
from bot.config import ConfigError, load_settings
from bot.slack.runtime import StartupError, configure_logging
from bot.slack.socket_mode import run_socket


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "socket",
        help="run the Slack app in Socket Mode (no public URL needed)",
        description="Run the Slack app over a Socket Mode WebSocket. Needs SLACK_BOT_TOKEN "
        "and SLACK_APP_TOKEN (an app-level xapp- token with connections:write).",
    )
    parser.add_argument("--terms", help="glossary folder (default: GLOSSARY_TERMS_DIR or terms/)")
    parser.add_argument(
        "--health-port", type=int, help="also serve GET /healthz on this port of 127.0.0.1"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings("socket")
        configure_logging(settings)
        terms = Path(args.terms) if args.terms else None
        return asyncio.run(run_socket(settings, terms, args.health_port))
    except (ConfigError, StartupError) as exc:
        raise CommandError(str(exc)) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run as: python -m bot socket")
