"""`python -m bot cache [DIR]`: parse and index a glossary now, and save both in the cache.

For images and deploy steps: a Docker image built with its terms can carry their cache, so
every container started from it (a new replica, a serverless cold start) answers within a
second instead of parsing and indexing every file first.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.cli import CommandError
from bot.cli._common import CACHE_DIR_ENV, term_cache, terms_dir
from bot.glossary.cache import load_indexed
from bot.glossary.load import GlossaryFolderError

SAVED = "Saved {terms} from {folder} in {cache}: a start with these files reuses them."
LEFT_OUT = " {files} with errors left out (listed above)."
CACHE_OFF = f"the cache is off ({CACHE_DIR_ENV}=off): there is nothing to save it in"
NOT_SAVED = "could not save the cache in {cache} (the reason is above)"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cache",
        help="parse and index the glossary now, and save both for later starts",
        description=(
            "Parse and index every term file, and save the result in the cache folder "
            f"(${CACHE_DIR_ENV}, else a folder of this user's in the system temp folder), so "
            "that the bot and the other commands start at once while the files are unchanged. "
            "Exit 0 once saved, also when some files have errors (they are listed, and left "
            "out as the bot leaves them out)."
        ),
    )
    parser.add_argument(
        "dir", nargs="?", help="glossary folder (default: $GLOSSARY_TERMS_DIR or terms/)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    folder = terms_dir(args.dir)
    cache = term_cache()
    if cache is None:
        raise CommandError(CACHE_OFF)
    try:
        loaded, glossary = load_indexed(folder, cache)
    except (GlossaryFolderError, OSError) as exc:
        raise CommandError(str(exc)) from exc
    cache.wait()  # the index is written in the background
    if not cache.holds(folder, loaded):
        raise CommandError(NOT_SAVED.format(cache=cache.directory))
    broken = [file for file in loaded.files if file.term is None]
    for file in broken:
        for problem in file.problems:
            print(problem, file=sys.stderr)
    summary = SAVED.format(
        terms=_count(len(glossary.terms), "term"), folder=folder, cache=cache.directory
    )
    if broken:
        summary += LEFT_OUT.format(files=_count(len(broken), "file"))
    print(summary)
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
