"""Command line: `python -m bot <command>`. Wiring only; each command lives in bot/cli/."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from bot.cli import COMMAND_MODULES, CommandError, commands


def build_parser(names: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="glossary-bot: answers 'what does this term mean?' from a YAML glossary.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in commands(names):
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # A known command first: only its module is needed. Anything else (no command, --help, a
    # typo) gets the parser of every command, to list them.
    wanted = argv[:1] if argv and argv[0] in COMMAND_MODULES else COMMAND_MODULES
    parser = build_parser(wanted)
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`); say nothing more, as other command line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return code


if __name__ == "__main__":
    sys.exit(main())
