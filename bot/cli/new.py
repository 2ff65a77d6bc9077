"""`python -m bot new "Term name" [--terms DIR] [--force]`: start a term file from a scaffold."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from bot.cli import CommandError
from bot.cli._common import terms_dir
from bot.glossary.load import TERM_SUFFIXES
from bot.glossary.model import slugify
from bot.glossary.scaffold import scaffold_term

CREATED = "{verb} {path}. Replace every TODO, then run: python -m bot validate"
EXISTS = "{path} already exists; use --force to overwrite it."
NO_SLUG = "term name {name!r} has no letters or digits to make a file name from"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "new",
        help="create a term file with every field to fill in",
        description=(
            "Write <terms>/<slug>.yml with every field present and TODO placeholders "
            "that `validate` reports until they are replaced."
        ),
    )
    parser.add_argument("name", help='the term\'s name, e.g. "Prompt injection"')
    parser.add_argument(
        "--terms", metavar="DIR", help="glossary folder (default: $GLOSSARY_TERMS_DIR or terms/)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    slug = slugify(args.name)
    if not slug:
        raise CommandError(NO_SLUG.format(name=args.name))
    folder = terms_dir(args.terms)
    # foo.yaml and foo.yml would be the same term: overwrite whichever exists, else write .yml.
    existing = [folder / f"{slug}{suffix}" for suffix in TERM_SUFFIXES]
    existing = [p for p in existing if p.exists()]
    path = existing[0] if existing else folder / f"{slug}.yml"
    if existing and not args.force:
        print(EXISTS.format(path=path))
        return 1
    _write(path, scaffold_term(args.name, date.today()))
    print(CREATED.format(verb="Replaced" if existing else "Created", path=path))
    return 0


def _write(path: Path, text: str) -> None:
    try:
        path.write_bytes(text.encode("utf-8"))
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}") from exc
