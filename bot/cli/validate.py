"""`python -m bot validate [DIR] [--strict] [--format text|json]`: check a glossary folder."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.cli import CommandError
from bot.cli._common import term_cache, terms_dir
from bot.glossary.load import GlossaryFolderError, load_glossary
from bot.glossary.validate import Report, validate_glossary


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "validate",
        help="check term files and report every problem as path:line:col",
        description="Check every term file in a glossary folder. Exit 1 on any error "
        "(and on warnings with --strict), else 0.",
    )
    parser.add_argument(
        "dir", nargs="?", help="glossary folder (default: GLOSSARY_TERMS_DIR or terms/)"
    )
    parser.add_argument("--strict", action="store_true", help="treat warnings as failures")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    folder = terms_dir(args.dir)
    try:
        report = validate_glossary(load_glossary(folder, cache=term_cache(keep_details=True)))
    except GlossaryFolderError as exc:
        raise CommandError(str(exc)) from exc
    if args.format == "json":
        print(json.dumps(report_as_json(report, strict=args.strict), indent=2))
    else:
        for problem in report.problems:
            print(problem)
        print(summary_line(report))
    return 1 if report.failed(strict=args.strict) else 0


def summary_line(report: Report) -> str:
    def count(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    return (
        f"{count(report.files, 'file')} checked: "
        f"{count(report.errors, 'error')}, {count(report.warnings, 'warning')}"
    )


def report_as_json(report: Report, *, strict: bool) -> dict[str, Any]:
    return {
        "files": report.files,
        "errors": report.errors,
        "warnings": report.warnings,
        "ok": not report.failed(strict=strict),
        "problems": [p.as_dict() for p in report.problems],
    }


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run as: python -m bot validate")
