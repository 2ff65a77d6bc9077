"""The CLI's commands. Each module has `register(subparsers)` that adds one sub-command whose
handler is stored as `run(args) -> int` (the exit code) via `parser.set_defaults(run=...)`.

Modules are imported only when wanted: `validate` has no use for Bolt and aiohttp, which are
most of a command's start-up time, and `serve` none for the playground.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType

COMMAND_MODULES = (
    "validate",
    "define",
    "resolve",
    "render",
    "new",
    "cache",
    "serve",
    "socket",
    "playground",
)


class CommandError(Exception):
    """A problem the user can fix (a missing folder, a bad option): shown as one line, exit 2."""


def commands(names: Sequence[str] = COMMAND_MODULES) -> list[ModuleType]:
    """The command modules of these names, imported (all of them by default)."""
    found = []
    for name in names:
        try:
            found.append(importlib.import_module(f"bot.cli.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"bot.cli.{name}":
                raise
    return found
