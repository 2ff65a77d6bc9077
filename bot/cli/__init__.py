"""The CLI's commands. Each module has `register(subparsers)` that adds one sub-command whose
handler is stored as `run(args) -> int` (the exit code) via `parser.set_defaults(run=...)`."""

from __future__ import annotations

import importlib
from types import ModuleType

COMMAND_MODULES = (
    "validate",
    "define",
    "resolve",
    "render",
    "new",
    "serve",
    "socket",
    "playground",
)


class CommandError(Exception):
    """A problem the user can fix (a missing folder, a bad option): shown as one line, exit 2."""


def _commands() -> list[ModuleType]:
    found = []
    for name in COMMAND_MODULES:
        try:
            found.append(importlib.import_module(f"bot.cli.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"bot.cli.{name}":
                raise
    return found


COMMANDS = _commands()
