"""Score the resolver on labelled queries and print the accuracy for each kind of query.

    python scripts/score_resolver.py [--queries FILE.jsonl] [--terms DIR] [--failures]

Each line of the queries file is {"query": ..., "expect": slug or null, "kind": ...}. A case
is correct when the slug the bot would answer with equals `expect`; `expect` null means the
bot must give no definition (not_found, suggest or ambiguous). The defaults are the dev set
and the ai-glossary corpus in ../shared beside the repository. Exits 1 when accuracy is below
--min-accuracy or any definition is given for a query of kind `missing`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEFAULT_QUERIES = SHARED / "data" / "dev_queries.jsonl"
DEFAULT_TERMS = SHARED / "corpora" / "ai-glossary" / "terms"
MISSING_KIND = "missing"

if str(REPO) not in sys.path:  # run as a file from a checkout that is not pip-installed
    sys.path.insert(0, str(REPO))

from bot.glossary.resolve import Glossary, Resolution  # noqa: E402 - needs the path above


@dataclass(frozen=True)
class Case:
    query: str
    expect: str | None
    kind: str


@dataclass(frozen=True)
class Failure:
    case: Case
    resolution: Resolution


@dataclass
class Report:
    """Correct and total counts per kind, and every failure."""

    correct: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        cases = sum(self.total.values())
        return sum(self.correct.values()) / cases if cases else 0.0

    @property
    def definitions_for_missing(self) -> int:
        """Definitions given for terms the glossary lacks: the failure that matters most."""
        return sum(
            1
            for f in self.failures
            if f.case.kind == MISSING_KIND and f.resolution.slug is not None
        )

    def lines(self) -> list[str]:
        out = [f"{'kind':<14}{'correct':>8}{'total':>7}{'accuracy':>10}"]
        for kind in self.total:
            out.append(_row(kind, self.correct[kind], self.total[kind]))
        out.append(_row("all", sum(self.correct.values()), sum(self.total.values())))
        out.append(f"definitions given for `{MISSING_KIND}`: {self.definitions_for_missing}")
        return out


def _row(kind: str, correct: int, total: int) -> str:
    share = 100 * correct / total if total else 0.0
    return f"{kind:<14}{correct:>8}{total:>7}{share:>9.1f}%"


def read_cases(path: Path) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(Case(str(row["query"]), row["expect"], str(row.get("kind", "?"))))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise SystemExit(f"{path}:{number}: not a query record ({exc})") from exc
    return cases


def score(glossary: Glossary, cases: Iterable[Case]) -> Report:
    report = Report()
    for case in cases:
        resolution = glossary.resolve(case.query)
        ok = resolution.slug == case.expect
        report.total[case.kind] = report.total.get(case.kind, 0) + 1
        report.correct[case.kind] = report.correct.get(case.kind, 0) + ok
        if not ok:
            report.failures.append(Failure(case, resolution))
    return report


def describe(failure: Failure) -> str:
    r = failure.resolution
    candidates = ", ".join(t.slug for t in r.candidates) or "-"
    return (
        f"[{failure.case.kind}] {failure.case.query!r}: expected {failure.case.expect}, "
        f"got {r.status} {r.slug} (candidates: {candidates})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES, help="JSONL file")
    parser.add_argument("--terms", type=Path, default=DEFAULT_TERMS, help="glossary folder")
    parser.add_argument("--failures", action="store_true", help="list every failed case")
    parser.add_argument("--min-accuracy", type=float, default=0.97, help="default 0.97")
    args = parser.parse_args(argv)
    for path in (args.queries, args.terms):
        if not path.exists():
            print(f"error: {path} does not exist", file=sys.stderr)
            return 2
    glossary, _ = Glossary.from_folder(args.terms)
    report = score(glossary, read_cases(args.queries))
    print("\n".join(report.lines()))
    if args.failures:
        for failure in report.failures:
            print(describe(failure))
    passed = report.accuracy >= args.min_accuracy and report.definitions_for_missing == 0
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
