"""`python -m bot define "QUERY" [--role ROLE] [--terms DIR]`: one term's answer in the terminal."""

from __future__ import annotations

import argparse
import shutil
import sys
from typing import Any

from bot.cli import CommandError
from bot.cli._common import (
    ExactNames,
    load_terms,
    role_directory,
    terms_dir,
    tolerate_unencodable_output,
)
from bot.glossary.model import ROLE_NAMES, Term
from bot.glossary.render import answer_to_text, build_answer

NOT_FOUND = "No term called {query!r} in {folder}."
AMBIGUOUS = "{query!r} could mean: {choices}. Ask for one of them by name."
UNKNOWN_ROLE = "unknown role {role!r}; choose one of: {roles}"
SKIPPED_FILES = "note: skipped {count} term file(s) with errors; run `python -m bot validate`."


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "define",
        help="show what a term means, framed for a role",
        description="Print a term's answer as the Slack bot would give it.",
    )
    parser.add_argument("query", help="a term name, slug or alias")
    parser.add_argument(
        "--role", help=f"frame the answer for a role ({', '.join(ROLE_NAMES)}, or e.g. 'pm')"
    )
    parser.add_argument(
        "--terms", metavar="DIR", help="glossary folder (default: $GLOSSARY_TERMS_DIR or terms/)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    tolerate_unencodable_output()
    roles = role_directory()
    role = None
    if args.role is not None:
        role = roles.find(args.role)
        if role is None:
            raise CommandError(UNKNOWN_ROLE.format(role=args.role, roles=", ".join(ROLE_NAMES)))
    folder = terms_dir(args.terms)
    loaded = load_terms(folder)
    skipped = sum(1 for f in loaded.files if f.term is None)
    if skipped:
        print(SKIPPED_FILES.format(count=skipped), file=sys.stderr)

    glossary = ExactNames(loaded.terms)
    matches = _lookup(glossary, args.query)
    if not matches:
        print(NOT_FOUND.format(query=args.query, folder=folder), file=sys.stderr)
        return 1
    if len(matches) > 1:
        choices = ", ".join(f"{t.term} ({t.slug})" for t in matches)
        print(AMBIGUOUS.format(query=args.query, choices=choices), file=sys.stderr)
        return 1
    answer = build_answer(matches[0], role, roles, glossary)
    sys.stdout.write(answer_to_text(answer, width=_terminal_width()))
    return 0


def _lookup(glossary: ExactNames, query: str) -> list[Term]:
    """The terms a query names exactly. The lead replaces this with `Glossary.resolve`."""
    return glossary.matches(query)


def _terminal_width() -> int:
    return min(max(shutil.get_terminal_size((80, 24)).columns, 60), 100)
