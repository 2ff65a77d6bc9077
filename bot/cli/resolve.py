"""`python -m bot resolve [--terms DIR]`: queries on stdin, one JSON resolution per line out.

The same `Glossary.resolve` the Slack app and `define` use, so what this prints is what the
bot would answer: `{"query", "status", "slug", "candidates"}` for every input line, in order.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from bot.cli._common import load_indexed_terms, terms_dir
from bot.glossary.resolve import Glossary, Resolution

SKIPPED_FILES = "note: skipped {count} term file(s) with errors; run `python -m bot validate`."


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "resolve",
        help="resolve queries read from stdin, one JSON line each",
        description=(
            "Read one query per line from standard input and write one JSON line per query: "
            '{"query", "status", "slug", "candidates"}. status is found, fuzzy, ambiguous, '
            "suggest or not_found; slug is set only for found and fuzzy."
        ),
    )
    parser.add_argument(
        "--terms", metavar="DIR", help="glossary folder (default: $GLOSSARY_TERMS_DIR or terms/)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    loaded, glossary = load_indexed_terms(terms_dir(args.terms))
    skipped = sum(1 for f in loaded.files if f.term is None)
    if skipped:
        print(SKIPPED_FILES.format(count=skipped), file=sys.stderr)
    resolve_lines(glossary, sys.stdin, sys.stdout)
    return 0


def resolve_lines(glossary: Glossary, lines: TextIO, out: TextIO) -> None:
    """One JSON line per input line, flushed as it goes so the command can be used live."""
    for line in lines:
        query = line.rstrip("\r\n")
        out.write(json.dumps(resolution_record(glossary.resolve(query)), ensure_ascii=False))
        out.write("\n")
        out.flush()


def resolution_record(resolution: Resolution) -> dict[str, Any]:
    """The resolution as the JSON record the command prints."""
    return {
        "query": resolution.query,
        "status": resolution.status,
        "slug": resolution.slug,
        "candidates": [term.slug for term in resolution.candidates],
    }
