"""`python -m bot define "QUERY" [--role ROLE] [--terms DIR]`: one term's answer in the terminal."""

from __future__ import annotations

import argparse
import shutil
import sys
from typing import Any

from bot.cli import CommandError
from bot.cli._common import (
    load_indexed_terms,
    role_directory,
    terms_dir,
    tolerate_unencodable_output,
)
from bot.glossary.model import ROLE_NAMES, Term
from bot.glossary.render import answer_to_text, build_answer
from bot.glossary.resolve import Resolution

NOT_FOUND = "No term called {text!r} in {folder}."
SUGGESTIONS = "Did you mean: {choices}?"
AMBIGUOUS = "{text!r} could mean: {choices}. Ask for one of them by name."
SHOWING = "Showing results for {matched!r}."
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
    loaded, glossary = load_indexed_terms(folder)
    skipped = sum(1 for f in loaded.files if f.term is None)
    if skipped:
        print(SKIPPED_FILES.format(count=skipped), file=sys.stderr)

    resolution = glossary.resolve(args.query)
    if resolution.term is None:
        print(no_answer(resolution, folder=str(folder)), file=sys.stderr)
        return 1
    notice = ""
    if resolution.status == "fuzzy":
        notice = SHOWING.format(matched=resolution.matched or resolution.term.term)
    answer = build_answer(resolution.term, role, roles, glossary, notice=notice)
    sys.stdout.write(answer_to_text(answer, width=_terminal_width()))
    return 0


def no_answer(resolution: Resolution, *, folder: str) -> str:
    """What to say when there is no single term: the choices, the suggestions, or nothing."""
    choices = ", ".join(_choice(t) for t in resolution.candidates)
    if resolution.status == "ambiguous":
        return AMBIGUOUS.format(text=resolution.text, choices=choices)
    message = NOT_FOUND.format(text=resolution.text or resolution.query, folder=folder)
    if choices:
        message += " " + SUGGESTIONS.format(choices=choices)
    return message


def _choice(term: Term) -> str:
    return f"{term.term} ({term.slug})"


def _terminal_width() -> int:
    return min(max(shutil.get_terminal_size((80, 24)).columns, 60), 100)
