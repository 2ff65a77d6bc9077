"""Reloading a running glossary: keep each broken file's last good version, and say so once.

When the term files change under a running bot, every file is read again. A file that no
longer loads (a YAML typo, a field deleted by mistake) must not make its term vanish from Slack
in the middle of the day: its last good version stays in service until the file is fixed, and
its problems are reported. A file that never loaded is left out, as at start-up, and a deleted
file's term goes away with it.

The maintainers hear about a broken file once: `unannounced` compares each broken file's errors
with those already reported, so an unrelated edit elsewhere reports nothing new, while the same
file breaking differently (or breaking again after a fix) is reported again.

Everything here is pure: the caller reads the files and swaps the index.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.glossary.load import TermFile
from bot.glossary.model import Term
from bot.glossary.problems import Problem, Severity

ErrorSignature = tuple[str, ...]
"""A broken file's errors as `line:col: message` strings, sorted: equal means "same breakage"."""


@dataclass(frozen=True)
class Merge:
    """The terms to serve after a reload, and what was wrong with the files."""

    terms: tuple[Term, ...]
    problems: tuple[Problem, ...]
    kept: tuple[str, ...]  # broken files whose last good version is still served
    left_out: tuple[str, ...]  # broken files with no good version, so not served


@dataclass(frozen=True)
class ReloadOutcome:
    """One reload attempt (or the start-up load), as /healthz, logs and `/define reload` tell it.

    `failure` is set when the folder itself could not be read: then nothing was swapped and the
    previous glossary is still in service."""

    reason: str  # "start", "watch", "signal" or "command"
    at: datetime
    terms: int
    problems: tuple[Problem, ...] = ()
    kept: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()
    failure: str | None = None
    seconds: float = 0.0

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.errors


def terms_by_path(terms: Iterable[Term]) -> dict[str, Term]:
    """The terms in service, by the file each was loaded from."""
    return {term.source_path: term for term in terms if term.source_path}


def merge_last_good(previous_by_path: Mapping[str, Term], files: Iterable[TermFile]) -> Merge:
    """Combine freshly loaded files with the terms in service.

    A file that loads gives its new term. A file that fails keeps its previous term, if it had
    one. Files no longer present are dropped. Problems are every loaded file's, unchanged.
    """
    terms: list[Term] = []
    problems: list[Problem] = []
    kept: list[str] = []
    left_out: list[str] = []
    for file in files:
        problems.extend(file.problems)
        if file.term is not None:
            terms.append(file.term)
            continue
        previous = previous_by_path.get(file.path)
        if previous is not None:
            terms.append(previous)
            kept.append(file.path)
        else:
            left_out.append(file.path)
    return Merge(tuple(terms), tuple(problems), tuple(kept), tuple(left_out))


def error_signatures(problems: Iterable[Problem]) -> dict[str, ErrorSignature]:
    """Each file with errors, and its errors (warnings do not count) as a signature."""
    by_path: dict[str, list[str]] = {}
    for problem in problems:
        if problem.severity is Severity.ERROR:
            by_path.setdefault(problem.path, []).append(
                f"{problem.line}:{problem.col}: {problem.message}"
            )
    return {path: tuple(sorted(found)) for path, found in by_path.items()}


def unannounced(
    announced: Mapping[str, ErrorSignature], current: Mapping[str, ErrorSignature]
) -> dict[str, ErrorSignature]:
    """The broken files whose errors have not been reported in exactly this form yet."""
    return {path: sig for path, sig in current.items() if announced.get(path) != sig}
