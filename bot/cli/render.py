"""`python -m bot render [DIR] --out FOLDER`: the glossary as Markdown pages for a docs site."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.cli import CommandError
from bot.cli._common import (
    load_terms,
    role_directory,
    terms_dir,
    tolerate_unencodable_output,
)
from bot.glossary.model import Term
from bot.glossary.render import index_markdown, term_to_markdown
from bot.glossary.resolve import Glossary

INDEX_PAGE = "index.md"
SUMMARY = "Rendered {pages} to {out} (plus {index})."
SKIPPED = " Skipped {files} with errors (listed above)."
DUPLICATE_SLUG = "{path}:1:1: error: page {page} is already rendered from {other}; skipped"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "render",
        help="write the glossary as Markdown pages",
        description=(
            "Write one Markdown page per term (<slug>.md) and an index.md into FOLDER. "
            "Files that fail to load are reported and skipped, and the exit code is then 1."
        ),
    )
    parser.add_argument(
        "dir",
        nargs="?",
        metavar="DIR",
        help="glossary folder (default: $GLOSSARY_TERMS_DIR or terms/)",
    )
    parser.add_argument("--out", metavar="FOLDER", required=True, help="where to write the pages")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    tolerate_unencodable_output()
    roles = role_directory()
    loaded = load_terms(terms_dir(args.dir))
    out = Path(args.out)

    skipped = 0
    pages: dict[str, Term] = {}
    for file in loaded.files:
        if file.term is None:
            skipped += 1
            for problem in file.problems:
                print(problem, file=sys.stderr)
            continue
        page = f"{file.term.slug}.md"
        other = pages.get(page)
        if other is not None:  # e.g. foo.yml beside foo.yaml
            skipped += 1
            print(
                DUPLICATE_SLUG.format(path=file.path, page=page, other=other.source_path),
                file=sys.stderr,
            )
            continue
        pages[page] = file.term

    glossary = Glossary(pages.values())
    files = {page: term_to_markdown(term, roles, glossary) for page, term in pages.items()}
    files[INDEX_PAGE] = index_markdown(pages.values(), roles)
    _write_all(out, files)

    summary = SUMMARY.format(pages=_count(len(pages), "page"), out=out, index=INDEX_PAGE)
    if skipped:
        summary += SKIPPED.format(files=_count(skipped, "file"))
    print(summary)
    return 1 if skipped else 0


def _write_all(out: Path, files: dict[str, str]) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in sorted(files.items()):
            # Bytes, not text mode: the same "\n" line ends on every platform.
            (out / name).write_bytes(text.encode("utf-8"))
    except FileExistsError as exc:
        raise CommandError(f"cannot write pages: {out} exists and is not a folder") from exc
    except OSError as exc:
        raise CommandError(f"cannot write pages to {out}: {exc.strerror}") from exc


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
