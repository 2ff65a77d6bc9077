"""Content rules for a glossary, and the problems they report.

Loading (load.py) already rejects what does not fit the term model. These rules judge what
fits but is still wrong or doubtful: definitions of the wrong length, empty lists, names that
collide across files, links to terms the glossary lacks, reviews that are overdue.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from bot.glossary.load import LoadedGlossary, TermFile
from bot.glossary.model import Term, slugify
from bot.glossary.problems import Problem, Severity

SHORT_DEF_MAX_WORDS = 40
LONG_DEF_MIN_WORDS = 80
LONG_DEF_MAX_WORDS = 220
REVIEW_MAX_AGE = timedelta(days=365)
PLACEHOLDER_MARKER = "TODO"

ERROR = Severity.ERROR
WARNING = Severity.WARNING


@dataclass(frozen=True)
class Report:
    """The outcome of validating a folder."""

    files: int
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> int:
        return sum(p.severity is ERROR for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity is WARNING for p in self.problems)

    def failed(self, *, strict: bool = False) -> bool:
        return self.errors > 0 or (strict and self.warnings > 0)


def name_key(name: str) -> str:
    """How names are compared across files: case, spacing and punctuation do not count."""
    return " ".join(re.findall(r"[0-9a-z]+", name.casefold()))


def validate_glossary(loaded: LoadedGlossary, *, today: date | None = None) -> Report:
    """Every problem of every file: those found while loading, then the content rules."""
    today = today or date.today()
    problems: list[Problem] = []
    built: list[tuple[TermFile, Term]] = []
    for term_file in loaded.files:
        problems.extend(term_file.problems)
        if term_file.term is not None:
            built.append((term_file, term_file.term))
            problems.extend(check_term(term_file, term_file.term, today))
    problems.extend(check_across_files(built))
    ordered = sorted(problems, key=lambda p: (p.path, p.line, p.col, p.severity, p.message))
    return Report(files=len(loaded.files), problems=tuple(ordered))


# --- rules on one term -------------------------------------------------------------------


def check_term(term_file: TermFile, term: Term, today: date) -> Iterator[Problem]:
    for rule in TERM_RULES:
        yield from rule(term_file, term, today)


def _words(text: str) -> int:
    return len(text.split())


def _definition_lengths(tf: TermFile, term: Term, today: date) -> Iterator[Problem]:
    short = _words(term.short_def)
    if short > SHORT_DEF_MAX_WORDS:
        yield tf.problem(
            ("short_def",),
            ERROR,
            f"short_def has {short} words; keep it to {SHORT_DEF_MAX_WORDS} or fewer",
            "short-def-length",
        )
    long = _words(term.long_def)
    if not LONG_DEF_MIN_WORDS <= long <= LONG_DEF_MAX_WORDS:
        yield tf.problem(
            ("long_def",),
            ERROR,
            f"long_def has {long} words; it must have {LONG_DEF_MIN_WORDS} to {LONG_DEF_MAX_WORDS}",
            "long-def-length",
        )


def _slug_matches_file(tf: TermFile, term: Term, today: date) -> Iterator[Problem]:
    expected = slugify(term.term)
    if expected != tf.slug:
        yield tf.problem(
            ("term",),
            ERROR,
            f"term '{term.term}' has slug '{expected}' but the file is named '{tf.slug}'; "
            f"rename the file to {expected}.yml or fix the name",
            "slug-mismatch",
        )


def _lists_not_empty(tf: TermFile, term: Term, today: date) -> Iterator[Problem]:
    lists: dict[tuple[str, ...], list[object]] = {
        ("categories",): list(term.categories),
        ("roles",): list(term.roles),
        ("examples", "do"): list(term.examples.do),
        ("examples", "dont"): list(term.examples.dont),
        ("citations",): list(term.citations),
    }
    for where, items in lists.items():
        if not items:
            yield tf.problem(
                where, ERROR, f"'{'.'.join(where)}' is empty; add at least one", "empty-list"
            )


def _unique_items(tf: TermFile, term: Term, today: date) -> Iterator[Problem]:
    lists: dict[str, list[str]] = {
        "aliases": list(term.aliases),
        "roles": list(term.roles),
        "categories": list(term.categories),
    }
    for field, items in lists.items():
        seen: set[str] = set()
        for index, item in enumerate(items):
            key = name_key(item)
            if key in seen:
                yield tf.problem(
                    (field, index), WARNING, f"'{item}' is listed twice in {field}", "repeated-item"
                )
            seen.add(key)


def _citation_urls(tf: TermFile, term: Term, today: date) -> Iterator[Problem]:
    for index, citation in enumerate(term.citations):
        if not re.match(r"https?://[^\s/]+\.[^\s]*", citation.url):
            yield tf.problem(
                ("citations", index, "url"),
                ERROR,
                f"citation URL '{citation.url}' must be an http(s) link",
                "citation-url",
            )


def _review_date(tf: TermFile, term: Term, today: date) -> Iterator[Problem]:
    reviewed = term.last_reviewed
    if reviewed > today:
        yield tf.problem(
            ("last_reviewed",),
            WARNING,
            f"last_reviewed {reviewed.isoformat()} is in the future",
            "review-in-future",
        )
    elif today - reviewed > REVIEW_MAX_AGE:
        yield tf.problem(
            ("last_reviewed",),
            WARNING,
            f"last_reviewed {reviewed.isoformat()} is over a year ago; review the term again",
            "review-overdue",
        )


def _placeholders(tf: TermFile, term: Term, today: date) -> Iterator[Problem]:
    """A scaffold from `new` keeps failing until every TODO is written."""
    for where, text in _text_fields(tf.data or {}, ()):
        if PLACEHOLDER_MARKER in text:
            yield tf.problem(
                where,
                ERROR,
                f"'{_dotted(where)}' still holds placeholder text ({PLACEHOLDER_MARKER})",
                "placeholder",
            )


def _text_fields(
    value: object, where: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _text_fields(item, (*where, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _text_fields(item, (*where, index))


def _dotted(where: tuple[str | int, ...]) -> str:
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


TermRule = Callable[[TermFile, Term, date], Iterator[Problem]]
TERM_RULES: tuple[TermRule, ...] = (
    _definition_lengths,
    _slug_matches_file,
    _lists_not_empty,
    _unique_items,
    _citation_urls,
    _review_date,
    _placeholders,
)


# --- rules across files ------------------------------------------------------------------


def check_across_files(built: list[tuple[TermFile, Term]]) -> Iterator[Problem]:
    names: dict[str, list[tuple[TermFile, Term]]] = defaultdict(list)
    aliases: dict[str, list[tuple[TermFile, Term, int]]] = defaultdict(list)
    for tf, term in built:
        names[name_key(term.term)].append((tf, term))
        for index, alias in enumerate(dict.fromkeys(term.aliases)):
            aliases[name_key(alias)].append((tf, term, index))

    for same_name in names.values():
        first_file = same_name[0][0]
        for tf, term in same_name[1:]:
            yield tf.problem(
                ("term",),
                ERROR,
                f"term name '{term.term}' is also used by {first_file.path}",
                "duplicate-name",
            )

    for key, owners in aliases.items():
        distinct = {term.slug for _, term, _ in owners}
        if len(distinct) > 1:
            others = ", ".join(sorted(distinct))
            for tf, term, index in owners:
                yield tf.problem(
                    ("aliases", index),
                    WARNING,
                    f"alias '{term.aliases[index]}' is shared by several terms ({others}); "
                    "look-ups of it will ask which one",
                    "shared-alias",
                )
        for tf, term in names.get(key, []):
            alias_owners = sorted({t.slug for _, t, _ in owners if t.slug != term.slug})
            if alias_owners:
                yield tf.problem(
                    ("term",),
                    WARNING,
                    f"term name '{term.term}' is also an alias of {', '.join(alias_owners)}; "
                    "the name wins in look-ups",
                    "name-is-alias",
                )

    known = set(names) | set(aliases)
    for tf, term in built:
        for relation in ("broader", "narrower", "related"):
            for index, target in enumerate(getattr(term.relationships, relation)):
                if name_key(target) not in known:
                    yield tf.problem(
                        ("relationships", relation, index),
                        WARNING,
                        f"{relation} term '{target}' is not in the glossary",
                        "unknown-relationship",
                    )
