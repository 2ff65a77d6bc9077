"""The glossary index and the lookup policy: the right term for what people type, or none.

A wrong definition given confidently is worse than "not found", so the policy is a ladder
from certain to plausible that stops at the first rung that holds:

1. Exact keys: the name, the slug, declared aliases, and acronyms derived from multi-word
   names and aliases (RLHF, MoE, T&S), compared after normalisation (case, punctuation,
   hyphens, plurals). Precedence: a term's own name > a declared alias > a derived acronym.
   A key that several terms share at its best level is *ambiguous*, never a guess.
2. The same keys written as one word (`finetuning`), then compared as stems (`reward
   modeling`); a stem match is reported as fuzzy ("showing results for ...").
3. Parts that stand for a whole name: the leading compound of a name (`top-p` of "top-p
   sampling", CoT of "chain-of-thought prompting") and name words that the term's own text
   writes in capitals (AUC of "roc auc").
4. Rewritten queries: a domain word dropped (`explainable AI`, `LLM evaluation`), a known
   acronym spelt out inside a phrase (`DP budget`), a long acronym with one letter more
   than a derived one (`DDPM` for "denoising diffusion model").
5. Typos, word by word: each word of the query must line up with the word of a key in the
   same position, within edits that grow with word length (none for words of three letters
   or fewer, so acronyms are never guessed; the first letter must match), or as a visible
   abbreviation (`ctx`). A match answers only when no other term is as close.

What reaches none of these is "suggest" (similar names, terms sharing a name word) or
"not_found". Exact lookups are dictionary hits; typo candidates come from buckets keyed by
word count and first letters, so their cost stays small as the glossary grows.
"""

from __future__ import annotations

import base64
import heapq
import itertools
import json
import logging
import math
import re
import sys
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache, partial
from itertools import filterfalse
from pathlib import Path
from sys import intern
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, Literal, NamedTuple, TypeVar, cast

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.glossary.load import LoadedGlossary, load_glossary, return_freed_memory
from bot.glossary.model import Term
from bot.glossary.normalize import (
    DOMAIN_QUALIFIERS,
    clean,
    compact_keys,
    extract,
    has_vowel,
    light,
    light_key,
    stem,
    words,
)

log = logging.getLogger(__name__)

__all__ = [
    "RESERVED_ACRONYMS",
    "Glossary",
    "Resolution",
    "ResolutionStatus",
    "derived_acronyms",
]

ResolutionStatus = Literal["found", "fuzzy", "ambiguous", "suggest", "not_found"]

MAX_QUERY_CHARS = 500  # longer input is a pasted message, not a term
MAX_FUZZY_WORDS = 8
MAX_SUGGESTIONS = 5
SUGGEST_SIMILARITY = 75  # fuzz.ratio a name needs to be offered as "did you mean"
MEMO_LIMIT = 20_000  # answers a glossary keeps per memo before it starts afresh
MEMO_TEXT_CHARS = 200  # longer text is no name: answered without keeping it in a memo
_UNKNOWN = object()  # not in a memo (None is a valid answer)


def _word_set(text: str) -> frozenset[str]:
    """A set of words written as running text, which reads better than a column of strings."""
    return frozenset(text.split())


# Words that carry no meaning of their own in names and questions.
STOP_WORDS = _word_set(
    "a an and are as at be by for from how in into is it of on or over the this that to "
    "via vs what when where which who why with"
)
_is_stop_word = STOP_WORDS.__contains__

# Acronyms whose meaning is settled in tech writing. Initials that happen to spell one are a
# guess that would answer the wrong question ("data lineage" is not what DL means); a term
# that really goes by one of these says so with a declared alias, which is still honoured.
RESERVED_ACRONYMS = _word_set(
    "ai ml dl rl nn lm llm nlp cv pr ci cd qa ui ux hr it os db id ip api sdk gpu cpu "
    "tpu pm ds de sre ops faq roi kpi okr sla etl sql eta pii phi sso iam"
)


@dataclass(frozen=True)
class Resolution:
    """What a query resolved to. `term` is set only for found and fuzzy."""

    query: str
    text: str
    status: ResolutionStatus
    term: Term | None = None
    candidates: tuple[Term, ...] = ()
    matched: str = ""

    @property
    def slug(self) -> str | None:
        return self.term.slug if self.term is not None else None


class Level(IntEnum):
    """How a key names a term; the lower level wins when terms share a key."""

    NAME = 0
    ALIAS = 1
    ACRONYM = 2
    PART = 3


_T = TypeVar("_T")
_STRONG = (Level.NAME, Level.ALIAS, Level.ACRONYM)
_NAMES = (Level.NAME, Level.ALIAS)


# Named tuples rather than dataclasses: a large glossary holds hundreds of thousands of these,
# and tuples are quicker to create (at start-up, and when an index is restored) and smaller.
class _Entry(NamedTuple):
    slug: str
    level: Level
    display: str  # the name, alias or acronym as a person reads it


class _FuzzyKey(NamedTuple):
    lights: tuple[str, ...]
    stems: tuple[str, ...]
    entry: _Entry


@dataclass(frozen=True)
class _Hit:
    """One lookup's outcome: one term, or several sharing the key."""

    entries: tuple[_Entry, ...]
    approximate: bool  # matched only after stemming or rewriting: shown as fuzzy

    @property
    def slugs(self) -> list[str]:
        return list(dict.fromkeys(e.slug for e in self.entries))


@dataclass
class _Index:
    """Keys to entries at one strength of normalisation; one entry per term and key."""

    keys: dict[str, list[_Entry]] = field(default_factory=lambda: defaultdict(list))
    # While building: where each term sits in a bucket of many, so a key that thousands of
    # terms share (a two-letter acronym in a large glossary) costs no scan per term.
    _large: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, key: str, entry: _Entry) -> None:
        if not key:
            return
        bucket = self.keys[key]
        slots = self._large.get(key)
        if slots is None:
            for i, present in enumerate(bucket):
                if present.slug == entry.slug:
                    if entry.level < present.level:
                        bucket[i] = entry
                    return
            bucket.append(entry)
            if len(bucket) > _SCAN_LIMIT:
                self._large[key] = {e.slug: i for i, e in enumerate(bucket)}
            return
        at = slots.get(entry.slug)
        if at is None:
            slots[entry.slug] = len(bucket)
            bucket.append(entry)
        elif entry.level < bucket[at].level:
            bucket[at] = entry

    def freeze(self) -> None:
        self._large = {}

    def best(self, key: str, levels: tuple[Level, ...]) -> tuple[_Entry, ...]:
        """The entries at the strongest of `levels` that the key has."""
        found = [e for e in self.keys.get(key, ()) if e.level in levels]
        if not found:
            return ()
        top = min(e.level for e in found)
        return tuple(e for e in found if e.level == top)


class _Choices(Generic[_T]):
    """Strings grouped for rapidfuzz: each string once, with what it stands for."""

    __slots__ = ("_items", "strings")  # a large glossary has tens of thousands of groups

    def __init__(self) -> None:
        self._items: dict[str, list[_T]] = defaultdict(list)
        self.strings: list[str] = []

    def add(self, string: str, item: _T) -> None:
        self._items[string].append(item)

    def freeze(self) -> None:
        self.strings = list(self._items)

    def __getitem__(self, string: str) -> list[_T]:
        return self._items[string]

    @classmethod
    def restored(cls, items: dict[str, list[_T]]) -> _Choices[_T]:
        choices: _Choices[_T] = cls()
        choices._items = items
        choices.strings = list(items)
        return choices

    def items(self) -> Iterable[tuple[str, list[_T]]]:
        return self._items.items()


class _ByLength:
    """A list of strings ordered by length, to score only those of the lengths that can match.

    `rows[i]` is where `strings[i]` stands in the original list; strings of one length keep
    their original order (a stable sort), so ties can still be broken by that order.
    """

    __slots__ = ("_lengths", "rows", "strings")

    def __init__(self, strings: list[str]) -> None:
        order = sorted(range(len(strings)), key=lambda row: len(strings[row]))
        self.strings = [strings[row] for row in order]
        # Numbers as arrays: a tenth of the memory of lists of ints for a large glossary.
        self.rows = array("Q", order)
        self._lengths = array("Q", map(len, self.strings))

    def span(self, shortest: int, longest: int) -> tuple[int, int]:
        """The slice of `strings` whose lengths lie in [shortest, longest]."""
        return bisect_left(self._lengths, shortest), bisect_right(self._lengths, longest)


class _ByInitials:
    """The keys of one `_by_word` posting, grouped by the first letter of another word.

    `_alignment_cost` rejects a key at once when one of its words starts with a letter the
    typed word neither starts with nor has second (a swap); so of the keys sharing one word
    with the query, only those whose other words start right can match. A posting of a
    common word holds hundreds of keys; the groups leave a query a few dozen to align, the
    same ones in the same order as the whole posting would give (only hopeless ones go).

    One other word sorts the keys (the first one not shared): grouping by two more than
    doubles the groups' memory (5.4 against 3.0 MB at 10,000 terms) to make a typo look-up
    15% quicker, as the alignment turns the rest away at their first word anyway.
    """

    __slots__ = ("_groups", "_irregular", "_keys", "_other")

    # Aligning a few keys costs less than grouping them.
    WORTH_GROUPING = 16

    def __init__(self, keys: list[_FuzzyKey], position: int) -> None:
        self._keys = keys
        self._other = 1 if position == 0 else 0  # postings are of keys of two words or more
        other = self._other
        groups: dict[str, list[int]] = defaultdict(list)
        # Keys whose stem and light word start differently there: always aligned.
        irregular: list[int] = []
        for row, key in enumerate(keys):
            initial = key.stems[other][0]
            if initial != key.lights[other][0]:
                irregular.append(row)
            else:
                groups[initial].append(row)
        # Rows as arrays of ints: smaller than lists, in every group of every large posting.
        self._groups = {letter: array("I", rows) for letter, rows in groups.items()}
        self._irregular = array("I", irregular)

    def candidates(self, lights: tuple[str, ...], stems: tuple[str, ...]) -> list[_FuzzyKey]:
        """The keys whose other word starts with a letter the typed word could have."""
        other = self._other
        rows = list(self._irregular)
        for letter in {*stems[other][:2], *lights[other][:2]}:
            rows.extend(self._groups.get(letter, ()))
        rows.sort()
        return [self._keys[row] for row in rows]


def _ratio_lengths(length: int, cutoff: float) -> tuple[int, int]:
    """The lengths a string needs for `fuzz.ratio` with one of `length` to reach `cutoff`.

    The ratio is 200 * LCS / (a + b), and LCS is at most the shorter length, so a string of
    length b > a can reach the cutoff c only if b <= a * (200 - c) / c, and one of b < a only
    if b >= a * c / (200 - c). Widened by one either way, so rounding can never drop a match.
    """
    if cutoff <= 0:  # every string reaches it
        return 0, sys.maxsize
    shortest = math.floor(length * cutoff / (200 - cutoff)) - 1
    longest = math.ceil(length * (200 - cutoff) / cutoff) + 1
    return max(shortest, 0), longest


class Glossary:
    """Every term, indexed for resolving queries, searching and browsing."""

    _pending: dict[str, Callable[[], None]]  # what a lazy restore left for first use

    def __init__(self, terms: Iterable[Term], *, defer_search: bool = False) -> None:
        """Index `terms` (the first of any two with one slug).

        `defer_search` leaves the definitions' search index, a third of the work, until
        `search` first needs it or `warm()` is called: for a bot that must answer soon.
        """
        unique: dict[str, Term] = {}
        for term in terms:
            unique.setdefault(term.slug, term)
        ordered = sorted(unique.values(), key=lambda t: (t.term.casefold(), t.slug))
        self._set_terms(ordered)
        self._init_memos()
        self._name_keys = {t.slug: light_key(t.term) for t in ordered}

        self._light = _Index()
        self._compact = _Index()
        self._stem = _Index()
        self._stem_compact = _Index()
        # Typo candidates: keys of several words by (word count, first letters); one-word
        # keys and keys written as one word by first letter, for rapidfuzz to scan.
        self._phrases: dict[tuple[int, str], _Choices[_FuzzyKey]] = defaultdict(_Choices)
        self._by_word: dict[tuple[int, int, str], list[_FuzzyKey]] = defaultdict(list)
        self._single: dict[str, _Choices[_FuzzyKey]] = defaultdict(_Choices)
        self._compacts: dict[tuple[str, int], _Choices[_Entry]] = defaultdict(_Choices)
        self._names_by_letter: dict[str, _Choices[str]] = defaultdict(_Choices)
        # Terms whose names use a word, in name order (terms are indexed in that order).
        self._name_words: dict[str, list[str]] = defaultdict(list)
        self._max_key_words = 1
        for term in ordered:
            self._index_term(term)
        for index in (self._light, self._compact, self._stem, self._stem_compact):
            index.freeze()
        for group in (self._phrases, self._single, self._compacts, self._names_by_letter):
            for choices in group.values():
                choices.freeze()

        def build_search() -> None:
            search = _SearchIndex()
            for term in ordered:
                search.add(term)
            search.freeze()
            self._search = search
            return_freed_memory()  # what the copy left free since its last time

        if defer_search:
            self._pending = {"search": build_search}
        else:
            build_search()

    def _set_terms(self, ordered: list[Term]) -> None:
        self._terms: dict[str, Term] = {t.slug: t for t in ordered}
        self.terms: Mapping[str, Term] = MappingProxyType(self._terms)
        self._positions = {slug: i for i, slug in enumerate(self._terms)}

    def _init_memos(self) -> None:
        """Answers and derived tables kept per glossary, which never changes once built.

        Not part of the index state: rebuilt as they are used, after a restore as well.
        """
        self._found_names: dict[str, Term | None] = {}
        self._by_length: dict[str, _ByLength] = {}
        self._by_initials: dict[tuple[int, int, str], _ByInitials] = {}

    @classmethod
    def from_folder(cls, path: str | Path) -> tuple[Glossary, LoadedGlossary]:
        """Load a folder of term files; files that fail to load are left out of the index."""
        loaded = load_glossary(path)
        return cls(loaded.terms), loaded

    # -- saving and restoring the index ----------------------------------------------------------

    def index_state(self) -> dict[str, Any]:
        """The whole index as JSON-ready data, for `from_index_state` to restore without rebuilding.

        Building the index normalises every name and reads every definition; restoring only
        puts the saved keys back. Entries and typo keys are written once, in tables, and
        referred to by their row, so the state is small and quick to decode.
        """
        state: dict[str, Any] = {}
        for name, value in self.index_sections():
            if isinstance(value, array):
                state[name] = [value.typecode, base64.b64encode(value.tobytes()).decode("ascii")]
            elif isinstance(value, JsonText):
                state[name] = value.decoded()
            else:
                state[name] = value
        return state

    def index_sections(self) -> Iterator[tuple[str, Any]]:
        """`index_state()` one section at a time, with the search postings as `array`s and the
        largest sections as `JsonText` (each is read to its end before the next is asked for).

        For writing a large index without holding all of it as JSON at once; any mapping of
        these names to these values (or their JSON forms) restores it.
        """
        return _IndexState.sections(self)

    @classmethod
    def from_index_state(
        cls, terms: Iterable[Term], state: Mapping[str, Any], *, lazy: bool = False
    ) -> Glossary:
        """The glossary `index_state()` was taken from, given the same terms.

        Raises `ValueError` when the state does not fit the terms (another version, another
        glossary, a damaged file); the caller then builds the index from the terms instead.

        With `lazy`, only the names as typed are restored now (what a bare name needs); the
        other spellings, the typo, suggestion and search structures are read from `state`
        (which must stay readable) when first used, or by `warm()`. Should that fail, they
        are built from the terms instead.
        """
        glossary = cls.__new__(cls)
        try:
            _IndexState.restore(glossary, list(terms), state, lazy=lazy)
        except _STATE_ERRORS as exc:
            raise ValueError(f"index state does not fit these terms: {exc!r}") from None
        return glossary

    def warm(self) -> None:
        """Restore now whatever a lazily restored index left for later (see from_index_state),
        and build the memos typo look-ups and suggestions use, so no reader waits for them."""
        for name in _DEFERRED:
            getattr(self, name)
        for key, posting in self._by_word.items():
            if len(posting) > _ByInitials.WORTH_GROUPING:
                self._posting_by_initials(key, posting)
        for letter, choices in self._names_by_letter.items():
            if letter not in self._by_length:
                self._by_length[letter] = _ByLength(choices.strings)

    if not TYPE_CHECKING:  # for mypy, every attribute is set in __init__ as usual

        def __getattr__(self, name: str) -> Any:
            """A structure a lazy restore left for later: restore its group now, once."""
            group = _DEFERRED.get(name)
            pending = self.__dict__.get("_pending")
            if group is None or pending is None:
                raise AttributeError(name)
            with _DEFERRED_LOCK:
                if name not in self.__dict__:
                    restore = pending.pop(group, None)
                    if restore is not None:
                        try:
                            restore()
                        except _STATE_ERRORS:  # the saved data went bad: build them instead
                            log.warning("saved %s index unreadable; building it", group)
                            fresh = Glossary(self._terms.values())
                            for attribute, of_group in _DEFERRED.items():
                                if of_group == group:
                                    setattr(self, attribute, getattr(fresh, attribute))
            return self.__dict__[name]

    # -- indexing ------------------------------------------------------------------------------

    def _index_term(self, term: Term) -> None:
        slug = term.slug
        self._add_name(slug, term.term, Level.NAME)
        self._add_name(slug, slug.replace("-", " "), Level.NAME, display=term.term)
        for alias in term.aliases:
            self._add_name(slug, alias, Level.ALIAS)
        for text in (term.term, *term.aliases):
            # Sorted, and forms below deduplicated in order rather than through a set: a set's
            # order changes with each process's string hashing, and a saved index is read by
            # another process than the one that built it, which must answer every tie the same.
            for acronym in sorted(derived_acronyms(text)):
                # Two letters from an alias are too weak a signal: "risk log" is not RL.
                if acronym in RESERVED_ACRONYMS or (len(acronym) <= 2 and text is not term.term):
                    continue
                self._light.add(acronym, _Entry(slug, Level.ACRONYM, acronym.upper()))
        part = _Entry(slug, Level.PART, term.term)
        for text in name_parts(term):
            self._light.add(light_key(text), part)
            self._stem.add(_stem_text(text), part)
        for acronym in compound_acronyms(term.term):
            if acronym not in RESERVED_ACRONYMS:
                self._light.add(acronym, part)

    def _add_name(self, slug: str, text: str, level: Level, display: str = "") -> None:
        tokens = words(text)
        if not tokens:
            return
        entry = _Entry(slug, level, display or text)
        lights = tuple(light(w) for w in tokens)
        stems = tuple(stem(w) for w in tokens)
        light_form = " ".join(lights)
        compact_light, compact_stem = compact_keys(tokens)
        self._light.add(light_form, entry)
        self._compact.add(compact_light, entry)
        self._stem.add(" ".join(stems), entry)
        self._stem_compact.add(compact_stem, entry)

        if stems == lights:  # most words have no suffix to strip: one tuple serves both
            stems = lights
        key = _FuzzyKey(lights, stems, entry)
        if len(stems) == 1:  # each form once, in a fixed order (see _index_term)
            for form in dict.fromkeys((lights[0], stems[0])):
                self._single[form[0]].add(form, key)
        else:
            phrases = self._phrases[(len(stems), _initials(stems))]
            for form in dict.fromkeys(("".join(lights), "".join(stems))):
                phrases.add(form, key)
            for position, word in enumerate(stems):
                self._by_word[(len(stems), position, word)].append(key)
        for compact in dict.fromkeys((compact_light, compact_stem)):
            if len(compact) >= _COMPACT_MIN:
                self._compacts[(compact[0], len(compact))].add(compact, entry)
        self._names_by_letter[light_form[0]].add(light_form, slug)
        self._max_key_words = max(self._max_key_words, len(stems))
        for word in stems:
            if word not in STOP_WORDS and word not in DOMAIN_QUALIFIERS:
                slugs = self._name_words[word]
                if not slugs or slugs[-1] != slug:  # a term's names are all indexed at once
                    slugs.append(slug)

    # -- lookups -------------------------------------------------------------------------------

    def get(self, slug: str) -> Term | None:
        return self._terms.get(slug)

    def find_by_name(self, name: str) -> Term | None:
        """The one term with exactly this (normalised) name, alias or slug, else None.

        Callers ask again and again (every related term of every answer), so answers are
        kept. Any text can be asked, so the memo holds only short texts and is emptied when
        it grows past a bound.
        """
        if len(name) > MEMO_TEXT_CHARS:
            return self._find_by_name(name)
        memo = self._found_names
        found = memo.get(name, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._find_by_name(name)
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            memo[name] = found
        return cast("Term | None", found)

    def _find_by_name(self, name: str) -> Term | None:
        tokens = words(name)
        keys = (" ".join(light(w) for w in tokens), compact_keys(tokens)[0])
        for index, key in zip((self._light, self._compact), keys, strict=True):
            slugs = {e.slug for e in index.best(key, _NAMES)}
            if slugs:
                return self._terms[slugs.pop()] if len(slugs) == 1 else None
        return None

    def resolve(self, query: str) -> Resolution:
        """Find the term a query asks about, following the policy in the module docstring."""
        query_text = query[:MAX_QUERY_CHARS]
        if _PLAIN.fullmatch(query_text):  # the common case: a bare name, one dictionary hit
            entries = self._light.best(light_key(query_text), _STRONG)
            if entries:
                return self._answer(query, query_text.strip(), _Hit(entries, approximate=False))

        extraction = extract(query_text)
        text = extraction.text
        if not words(text):
            return Resolution(query=query, text=text, status="not_found")
        for candidate in extraction.candidates:
            hit = self._exact(candidate)
            if hit is not None:
                return self._answer(query, candidate, hit)
        for rewrite in (self._drop_qualifiers, self._expand_acronyms, self._acronym_plus_one):
            hit = rewrite(text)
            if hit is not None:
                return self._answer(query, text, hit)

        ranked = self._typos(text)
        if ranked and _confident(ranked):
            return self._answer(query, text, _Hit((ranked[0][1],), approximate=True))
        near = [entry.slug for _, entry in ranked]
        slugs = list(dict.fromkeys([*near, *self._suggestions(text)]))[:MAX_SUGGESTIONS]
        return Resolution(
            query=query,
            text=text,
            status="suggest" if slugs else "not_found",
            candidates=tuple(self._terms[s] for s in slugs),
        )

    def _exact(self, text: str) -> _Hit | None:
        """A key as typed: light, then as one word, then as stems; parts of names last."""
        tokens = words(text)
        light_form = " ".join(light(w) for w in tokens)
        stem_form = " ".join(stem(w) for w in tokens)
        compact_light, compact_stem = compact_keys(tokens)
        for index, key, approximate in (
            (self._light, light_form, False),
            (self._compact, compact_light, False),
            (self._stem, stem_form, True),
            (self._stem_compact, compact_stem, True),
        ):
            entries = index.best(key, _STRONG)
            if entries:
                return _Hit(entries, approximate)
        for index, key in ((self._light, light_form), (self._stem, stem_form)):
            entries = index.best(key, (Level.PART,))
            if entries:
                return _Hit(entries, approximate=True)
        return None

    def _answer(self, query: str, text: str, hit: _Hit) -> Resolution:
        slugs = hit.slugs
        if len(slugs) > 1:
            return Resolution(
                query=query,
                text=text,
                status="ambiguous",
                candidates=tuple(self._terms[s] for s in sorted(slugs, key=self._order)),
            )
        entry = hit.entries[0]
        return Resolution(
            query=query,
            text=text,
            status="fuzzy" if hit.approximate else "found",
            term=self._terms[entry.slug],
            matched=entry.display,
        )

    def _order(self, slug: str) -> int:
        return self._positions[slug]

    # -- rewrites ------------------------------------------------------------------------------

    def _drop_qualifiers(self, text: str) -> _Hit | None:
        """`explainable AI` -> `explainable`: a domain word around a term is not part of it."""
        tokens = words(text)
        start, end = 0, len(tokens)
        while start < end and light(tokens[start]) in DOMAIN_QUALIFIERS:
            start += 1
        while end > start and light(tokens[end - 1]) in DOMAIN_QUALIFIERS:
            end -= 1
        if (start, end) == (0, len(tokens)) or start >= end:
            return None
        hit = self._exact(" ".join(tokens[start:end]))
        return _Hit(hit.entries, approximate=True) if hit is not None else None

    def _expand_acronyms(self, text: str) -> _Hit | None:
        """`DP budget` -> `differential privacy budget`, when DP names exactly one term."""
        tokens = words(text)
        if not 2 <= len(tokens) <= 6:
            return None
        for i, token in enumerate(tokens):
            if len(token) > 5:
                continue
            slugs = {e.slug for e in self._light.best(light(token), _STRONG)}
            if len(slugs) != 1:
                continue
            term = self._terms[slugs.pop()]
            for spelled in (term.term, *term.aliases):
                if len(words(spelled)) < 2:
                    continue
                hit = self._exact(" ".join([*tokens[:i], spelled, *tokens[i + 1 :]]))
                if hit is not None and all(e.level in _NAMES for e in hit.entries):
                    return _Hit(hit.entries, approximate=True)
        return None

    def _acronym_plus_one(self, text: str) -> _Hit | None:
        """`DDPM` -> the one term with a derived acronym DDM: one inner letter more.

        Only for an acronym typed as one (two capitals, or no vowels) of 4 to 6 letters,
        against derived acronyms of three letters or more that share its first letter.
        """
        raw = text.strip()
        if not re.fullmatch(r"[A-Za-z]{4,6}", raw):
            return None
        if sum(c.isupper() for c in raw) < 2 and has_vowel(raw.lower()):
            return None
        query = raw.lower()
        slugs: set[str] = set()
        for i in range(1, len(query)):
            shorter = query[:i] + query[i + 1 :]
            slugs.update(e.slug for e in self._light.best(shorter, (Level.ACRONYM,)))
        if len(slugs) != 1:
            return None
        slug = slugs.pop()
        return _Hit((_Entry(slug, Level.ACRONYM, self._terms[slug].term),), approximate=True)

    # -- typos ---------------------------------------------------------------------------------

    def _typos(self, text: str) -> list[tuple[float, _Entry]]:
        """Keys within a few edits (or abbreviations) of the query, best first, one per term."""
        typed = words(text)
        if not typed or len(typed) > MAX_FUZZY_WORDS:
            return []
        lights = tuple(light(w) for w in typed)
        stems = tuple(stem(w) for w in typed)
        costs: dict[str, tuple[float, _Entry]] = {}
        for key in self._typo_candidates(lights, stems):
            cost = _alignment_cost(lights, stems, key)
            if cost is not None:
                _keep_cheapest(costs, cost, key.entry)
        if not costs:
            for compact in {"".join(lights), "".join(stems)}:
                for cost, entry in self._compact_typos(compact):
                    _keep_cheapest(costs, cost, entry)
        return sorted(costs.values(), key=lambda pair: (pair[0], self._order(pair[1].slug)))

    def _typo_candidates(
        self, lights: tuple[str, ...], stems: tuple[str, ...]
    ) -> Iterator[_FuzzyKey]:
        """Keys worth aligning: near the query as one string, or sharing its rarest word.

        Both filters are cheap and let through every key the alignment could accept (the
        distance of the joined words is at most the sum of the words' distances).
        """
        if len(stems) > 1:
            yield from self._phrase_candidates(lights, stems)
            return
        word = stems[0]
        if not _allowed_edits(len(word)):
            return
        for letter in dict.fromkeys(word[:2]):  # the second too: a swap of the first two
            choices = self._single.get(letter)
            if choices is None:
                continue
            for form in {lights[0], stems[0]}:
                for string, _, _ in process.extract(
                    form, choices.strings, scorer=OSA.distance, score_cutoff=2, limit=None
                ):
                    yield from choices[string]

    def _phrase_candidates(
        self, lights: tuple[str, ...], stems: tuple[str, ...]
    ) -> Iterator[_FuzzyKey]:
        budget = sum(_allowed_edits(len(w)) for w in stems)
        if budget:
            joined = {"".join(lights), "".join(stems)}
            for initials in _initial_variants(stems):
                choices = self._phrases.get((len(stems), initials))
                if choices is None:
                    continue
                for form in joined:
                    for string, _, _ in process.extract(
                        form, choices.strings, scorer=OSA.distance, score_cutoff=budget, limit=None
                    ):
                        yield from choices[string]
        # An abbreviation needs an exact word beside it: the keys sharing the rarest one.
        postings = [
            (key, posting)
            for i, w in enumerate(stems)
            if (posting := self._by_word.get(key := (len(stems), i, w)))
        ]
        if postings:
            key, posting = min(postings, key=lambda pair: len(pair[1]))
            if len(posting) <= _ByInitials.WORTH_GROUPING:
                yield from posting
                return
            yield from self._posting_by_initials(key, posting).candidates(lights, stems)

    def _posting_by_initials(
        self, key: tuple[int, int, str], posting: list[_FuzzyKey]
    ) -> _ByInitials:
        grouped = self._by_initials.get(key)
        if grouped is None:  # built by warm() or on first use: a memo, never saved
            grouped = self._by_initials[key] = _ByInitials(posting, key[1])
        return grouped

    def _compact_typos(self, query: str) -> Iterator[tuple[float, _Entry]]:
        """Typos across word boundaries (`kvcahce`), on keys written as one word."""
        if len(query) < _COMPACT_MIN:
            return
        allowed = 2 if len(query) >= 14 else 1
        for length in range(len(query) - allowed, len(query) + allowed + 1):
            choices = self._compacts.get((query[0], length))
            if choices is None:
                continue
            for string, distance, _ in process.extract(
                query, choices.strings, scorer=OSA.distance, score_cutoff=allowed, limit=None
            ):
                for entry in choices[string]:
                    if entry.level in _NAMES:
                        yield float(distance), entry

    # -- suggestions ---------------------------------------------------------------------------

    def _suggestions(self, text: str) -> list[str]:
        """Terms worth offering when nothing matched: similar names, then shared name words."""
        key = light_key(text)
        found: list[str] = []
        choices = self._names_by_letter.get(key[:1])
        if choices is not None:
            for string in self._similar_names(key, choices):
                found.extend(choices[string])
        # A term scores the weights of the rare words its names share with the text.
        postings = [
            (slugs, math.log(1 + len(self._terms) / len(slugs)))
            for word in {stem(w) for w in words(text)} - STOP_WORDS - DOMAIN_QUALIFIERS
            if (slugs := self._name_words.get(word))
        ]
        shared: dict[str, float]
        if len(postings) == 1:
            # One word shared: all its terms score alike, so the best are the first in name
            # order, which is the order of the list. No need to score the whole list.
            slugs, weight = postings[0]
            best = slugs[: MAX_SUGGESTIONS * 4]
            shared = dict.fromkeys(best, weight)
        else:
            shared = defaultdict(float)
            for slugs, weight in postings:
                for slug in slugs:
                    shared[slug] += weight
            positions = self._positions
            best = heapq.nsmallest(
                MAX_SUGGESTIONS * 4, shared, key=lambda s: (-shared[s], positions[s])
            )
        found.extend(sorted(best, key=lambda s: (-shared[s], -fuzz.ratio(key, self._name_keys[s]))))
        return list(dict.fromkeys(found))[:MAX_SUGGESTIONS]

    def _similar_names(self, key: str, choices: _Choices[str]) -> list[str]:
        """The names most like `key` by fuzz.ratio, at least SUGGEST_SIMILARITY, best first.

        The same as `process.extract(key, choices.strings, limit=MAX_SUGGESTIONS)` with that
        cutoff, ties in list order, but scoring only names of a length that can reach it: a
        letter holds thousands of names in a large glossary, and most are too long or short.
        """
        by_length = self._by_length.get(key[0])
        if by_length is None:  # built by warm() or on first use: a memo, never saved
            by_length = self._by_length[key[0]] = _ByLength(choices.strings)
        start, end = by_length.span(*_ratio_lengths(len(key), SUGGEST_SIMILARITY))
        hits = process.extract(
            key,
            by_length.strings[start:end],
            scorer=fuzz.ratio,
            score_cutoff=SUGGEST_SIMILARITY,
            limit=None,
        )
        rows = by_length.rows
        hits.sort(key=lambda hit: (-hit[1], rows[start + hit[2]]))
        return [string for string, _, _ in hits[:MAX_SUGGESTIONS]]

    # -- search and browse ---------------------------------------------------------------------

    def search(self, text: str, limit: int = 10) -> list[Term]:
        """Terms ranked by how well their name, aliases, categories and definitions match.

        A query that is exactly a name or alias puts that term first.
        """
        phrase = light_key(clean(text))
        exact = [e.slug for e in self._light.best(phrase, _NAMES)] if phrase else []
        order = list(dict.fromkeys([*exact, *self._search.rank(text)]))
        return [self._terms[s] for s in order[: max(limit, 0)]]

    def list_terms(
        self,
        *,
        category: str | None = None,
        role: str | None = None,
        status: str | None = None,
    ) -> list[Term]:
        """Terms in name order, filtered by category (any case or spacing), role and status."""
        wanted = _category_key(category) if category else None
        wanted_status = str(status).lower() if status else None
        return [
            term
            for term in self._terms.values()
            if (wanted is None or wanted in {_category_key(c) for c in term.categories})
            and (role is None or role in term.roles)
            and (wanted_status is None or term.status.value == wanted_status)
        ]

    def categories(self) -> list[str]:
        """Every category once, as first written, in alphabetical order."""
        seen: dict[str, str] = {}
        for term in self._terms.values():
            for category in term.categories:
                seen.setdefault(_category_key(category), category)
        return sorted(seen.values(), key=str.casefold)

    def mentions(self, text: str) -> list[Term]:
        """Terms a message names, in order of first appearance, each once.

        The longest name wins (`kv cache` rather than `cache`). Acronyms and keys of four
        letters or fewer count only when written with a capital, so "rm -rf" is not the
        reward model.
        """
        typed = words(clean(text), keep_case=True)
        keys = [light(w.casefold()) for w in typed]
        found: list[str] = []
        i = 0
        while i < len(keys):
            for size in range(min(self._max_key_words, len(keys) - i), 0, -1):
                slugs = self._mention_at(" ".join(keys[i : i + size]), typed[i : i + size])
                if slugs:
                    if len(slugs) == 1:  # a shared key names no term, but its words are used
                        found.append(slugs.pop())
                    i += size
                    break
            else:
                i += 1
        return [self._terms[s] for s in dict.fromkeys(found)]

    def _mention_at(self, key: str, typed: list[str]) -> set[str]:
        """The terms a span of words names (several if it is shared), else none."""
        entries = self._light.best(key, _STRONG)
        if not entries and len(typed) == 1:
            entries = self._compact.best(key, _NAMES)
        if not entries:
            return set()
        capitalised = any(c.isupper() for w in typed for c in w)
        if (entries[0].level is Level.ACRONYM or len(key) <= 4) and not capitalised:
            return set()
        return {e.slug for e in entries}


# -- key derivation ----------------------------------------------------------------------------

_COMPACT_MIN = 6
_SCAN_LIMIT = 8  # a bucket of more terms gets a slug -> position map while building
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 '&/.-]*")


def _stem_text(text: str) -> str:
    return " ".join(stem(w) for w in words(text))


def _category_key(category: str) -> str:
    return " ".join(words(category))


def _initials(stems: tuple[str, ...]) -> str:
    return "".join(w[0] for w in stems)


def _initial_variants(stems: tuple[str, ...]) -> Iterator[str]:
    """First letters of the words, also with a word's first two letters swapped (a typo)."""
    options = [
        (w[0], w[1]) if len(w) >= 4 and w[1] != w[0] and w[1].isalpha() else (w[0],) for w in stems
    ]
    yield from itertools.islice(map("".join, itertools.product(*options)), 64)


def _allowed_edits(length: int) -> int:
    """Typos a word of this length may carry: none up to 3 letters, 1 up to 9, then 2."""
    if length <= 3:
        return 0
    return 1 if length < 10 else 2


_NO_MATCH = 99


def _typo_distance(typed: str, known: str) -> int:
    """Edits between two words if within what their length allows, else _NO_MATCH.

    Typos rarely touch the first letter, so it must match (or swap with the second).
    """
    allowed = _allowed_edits(min(len(typed), len(known)))
    if not allowed or not (typed[0] == known[0] or typed[:2] == known[1::-1]):
        return _NO_MATCH
    distance: int = OSA.distance(typed, known, score_cutoff=allowed)
    return distance if distance <= allowed else _NO_MATCH


def _alignment_cost(
    lights: tuple[str, ...], stems: tuple[str, ...], key: _FuzzyKey
) -> float | None:
    """Edits that line the query's words up with a key's, or None if a word is foreign.

    Words are equal when their stems are. A typo is measured on the lightly normalised words
    as well as on the stems, since a misspelt word may keep the suffix its stem would lose.
    One abbreviated word is allowed, next to at least one exact word.
    """
    if len(stems) != len(key.stems):
        return None
    cost = 0.0
    exact = abbreviations = 0
    for typed, known, typed_light, known_light in zip(
        stems, key.stems, lights, key.lights, strict=True
    ):
        if typed == known:
            exact += 1
            continue
        # Most candidate keys fail on a word that starts otherwise. A typo needs the first
        # letter (or the first two swapped) of the stems or of the light words to agree, and
        # an abbreviation the stems' first letter, so such a word is foreign: say so before
        # measuring any distance (the same answer as below, several times quicker).
        if (
            typed[0] != known[0]
            and typed_light[0] != known_light[0]
            and typed[:2] != known[1::-1]
            and typed_light[:2] != known_light[1::-1]
        ):
            return None
        distance = min(_typo_distance(typed, known), _typo_distance(typed_light, known_light))
        if distance < _NO_MATCH:
            cost += distance
        elif _is_abbreviation(typed, known):
            abbreviations += 1
            cost += 1.5
        else:
            return None
    if abbreviations and (abbreviations > 1 or exact == 0):
        return None
    return cost


def _is_abbreviation(short: str, word: str) -> bool:
    """`ctx` for context, `eval` for evaluation: a shortening people write on purpose.

    A truncation of the word, or its first letter followed by consonants of the word in
    order, so that a real word ("set") is not read as an abbreviation of another ("sentiment").
    """
    if not 2 <= len(short) <= len(word) - 2 or short[0] != word[0] or not short.isalnum():
        return False
    if word.startswith(short) and len(short) >= 3:
        return True
    if has_vowel(short[1:]):
        return False
    rest = iter(word[1:])
    return all(c in rest for c in short[1:])


def _keep_cheapest(costs: dict[str, tuple[float, _Entry]], cost: float, entry: _Entry) -> None:
    current = costs.get(entry.slug)
    if current is None or (cost, entry.level) < (current[0], current[1].level):
        costs[entry.slug] = (cost, entry)


def _confident(ranked: list[tuple[float, _Entry]]) -> bool:
    """A typo match answers only when every other term is at least one edit further away."""
    return len(ranked) == 1 or ranked[1][0] - ranked[0][0] >= 1


def derived_acronyms(text: str) -> set[str]:
    """Acronyms a multi-word name is known by: RLHF, MoE, RAG, CAI, IFT, T&S.

    First letters of the words: with and without small words (of, from, the, and); with
    hyphenated words taken whole and split; with "and" written "&"; and with short words
    that are acronyms themselves ("AI", "KV") spelt out in full.
    """
    split = words(text)
    whole = ["".join(words(chunk)) for chunk in text.split()]
    out: set[str] = set()
    for tokens in (split, [t for t in whole if t]):
        for keep_small in (True, False):
            kept = tokens if keep_small else [t for t in tokens if t not in STOP_WORDS]
            if len(kept) < 2:
                continue
            out.add("".join(t[0] for t in kept))
            out.add("".join(t if _spelled_out(t) else t[0] for t in kept))
            if keep_small and "and" in kept:
                out.add("".join("&" if t == "and" else t[0] for t in kept))
    return {light(a) for a in out if len(a) >= 2}


def _spelled_out(word: str) -> bool:
    """Short words that are acronyms themselves (AI, ML, KV, LLM) keep all their letters."""
    if word in STOP_WORDS or not word.isalnum():
        return False
    return len(word) <= 2 or (len(word) <= 4 and not has_vowel(word))


def name_parts(term: Term) -> list[str]:
    """Parts of a multi-word name that people use alone for the whole term.

    The leading compound ("top-p" of "top-p sampling"), and words of the name that the
    term's own text writes in capitals, which marks them as acronyms ("AUC" of "roc auc").
    """
    parts: list[str] = []
    name_words = term.term.split()
    if len(name_words) >= 2 and len(words(name_words[0])) >= 2:
        parts.append(name_words[0])
    tokens = words(term.term)
    if len(tokens) >= 2:
        text = " ".join(
            (term.short_def, term.long_def, term.audiences.exec, term.audiences.engineer)
        )
        for token in tokens:
            if not 2 <= len(token) <= 5 or token in STOP_WORDS or token in DOMAIN_QUALIFIERS:
                continue
            capitals = token.upper()
            # The substring test is a quick no for almost every word; the pattern decides.
            if capitals in text and _written_alone(capitals).search(text):
                parts.append(token)
    return parts


@lru_cache(maxsize=4096)
def _written_alone(capitals: str) -> re.Pattern[str]:
    """`AUC` or `AUCs` as a word of its own (not inside `ROC-AUC-like` or `AUCTION`)."""
    return re.compile(rf"(?<![\w-]){re.escape(capitals)}s?(?![\w-])")


def compound_acronyms(name: str) -> set[str]:
    """CoT of "chain-of-thought prompting": initials of a leading compound of 3+ parts."""
    chunks = name.split()
    if len(chunks) < 2:
        return set()
    parts = words(chunks[0])
    if len(parts) < 3:
        return set()
    return {light("".join(p[0] for p in parts))}


# -- search ------------------------------------------------------------------------------------

# How much an occurrence of a word counts, by where it is; the text (definitions) counts 1.
_NAME_WEIGHT, _ALIAS_WEIGHT, _CATEGORY_WEIGHT = 3.0, 2.0, 1.5
_MAX_HALVES = 0xFFFF  # the largest term frequency a search posting holds, in halves


class _SearchIndex:
    """BM25 over stemmed words, with a term's name and aliases weighted above its text.

    Postings are kept in flat arrays (row `i` of word `w` spans `offsets[i]:offsets[i + 1]` of
    `ids` and `tfs`) rather than a dict per word: a 10,000-term glossary has over a million
    (word, term) pairs, which as Python floats in dicts cost ten times the memory.
    """

    K1 = 1.2
    B = 0.75

    def __init__(self) -> None:
        self._slugs: list[str] = []
        self._building: dict[str, tuple[array[int], array[int]]] = {}
        self._rows: dict[str, int] = {}
        self._offsets: array[int] = array("Q", [0])
        self._ids: array[int] = array("I")
        # Term frequencies are multiples of 0.5 (counts times 3, 2, 1.5 or 1): kept as counts
        # of halves in 16 bits, a quarter of the memory of doubles, and the same scores. Only
        # a word written over 32,000 times in one term would reach the ceiling (and BM25 gives
        # such counts all but the same score anyway).
        self._tfs: array[int] = array("H")
        self._lengths: array[float] = array("d")
        self._average = 1.0

    def add(self, term: Term) -> None:
        position = len(self._slugs)
        self._slugs.append(term.slug)
        text = " ".join(
            (term.short_def, term.long_def, term.audiences.exec, term.audiences.engineer)
        )
        # Occurrences in the text weigh 1, so a count is the weight; the few words of the name,
        # aliases and categories add theirs. The same sums as adding a weight per occurrence
        # (each value is a small multiple of 0.5, so the floats are exact in any order), at C
        # speed for the long text.
        counts = Counter(map(stem, filterfalse(_is_stop_word, words(text))))
        weighted = cast("dict[str, float]", counts)
        for field_text, weight in (
            (term.term, _NAME_WEIGHT),
            (" ".join(term.aliases), _ALIAS_WEIGHT),
            (" ".join(term.categories), _CATEGORY_WEIGHT),
        ):
            for word in map(stem, filterfalse(_is_stop_word, words(field_text))):
                weighted[word] = weighted.get(word, 0) + weight
        building = self._building
        for word, tf in weighted.items():
            postings = building.get(word)
            if postings is None:
                postings = building[word] = (array("I"), array("H"))
            postings[0].append(position)
            postings[1].append(min(int(tf * 2), _MAX_HALVES))
        self._lengths.append(float(sum(weighted.values())))

    # Postings copied between handing the freed per-word arrays back to the system.
    RETURN_FREED_EVERY = 131_072

    def freeze(self) -> None:
        building, self._building = self._building, {}
        copied = 0
        for word in list(building):
            ids, tfs = building.pop(word)  # freed as they are copied: no second copy at once
            self._rows[word] = len(self._offsets) - 1
            self._ids.extend(ids)
            self._tfs.extend(tfs)
            self._offsets.append(len(self._ids))
            # The flat arrays cannot grow into the small blocks the per-word ones leave free
            # in the heap: given back as the copy goes, they never all count at once.
            copied += len(ids)
            del ids, tfs
            if copied >= self.RETURN_FREED_EVERY:
                return_freed_memory()
                copied = 0
        if self._lengths:
            self._average = sum(self._lengths) / len(self._lengths)

    def rank(self, text: str) -> list[str]:
        total = len(self._slugs)
        scores: dict[int, float] = defaultdict(float)
        for word in set(_search_words(text)):
            row = self._rows.get(word)
            if row is None:
                continue
            start, end = self._offsets[row], self._offsets[row + 1]
            count = end - start
            idf = math.log(1 + (total - count + 0.5) / (count + 0.5))
            for position, halves in zip(self._ids[start:end], self._tfs[start:end], strict=True):
                tf = halves * 0.5
                norm = 1 - self.B + self.B * self._lengths[position] / self._average
                scores[position] += idf * tf * (self.K1 + 1) / (tf + self.K1 * norm)
        slugs = self._slugs
        return [slugs[p] for p in sorted(scores, key=lambda p: (-scores[p], slugs[p]))]

    ARRAYS = ("_offsets", "_ids", "_tfs", "_lengths")

    def sections(self) -> Iterator[tuple[str, Any]]:
        """The words, then each array as it stands (see `_IndexState.sections`)."""
        yield "search_words", list(self._rows)
        for name in self.ARRAYS:
            yield f"search{name}", getattr(self, name)

    @classmethod
    def restored(cls, slugs: list[str], state: Mapping[str, Any]) -> _SearchIndex:
        index = cls()
        index._slugs = slugs
        index._rows = {word: row for row, word in enumerate(state["search_words"])}
        for name in cls.ARRAYS:
            setattr(index, name, _as_array(state[f"search{name}"], getattr(index, name).typecode))
        if len(index._offsets) != len(index._rows) + 1 or len(index._ids) != len(index._tfs):
            raise ValueError("search arrays do not line up")
        if len(index._lengths) != len(slugs) or index._offsets[-1] != len(index._ids):
            raise ValueError("search arrays do not line up")
        if index._ids and max(index._ids) >= len(slugs):
            raise ValueError("search postings name unknown terms")
        if index._lengths:
            index._average = sum(index._lengths) / len(index._lengths)
        return index


def _as_array(value: Any, typecode: str) -> array[Any]:
    """An array as `_IndexState.sections` gave it, or as JSON holds it: [typecode, base64]."""
    if isinstance(value, array):
        if value.typecode != typecode:
            raise ValueError(f"array of type {value.typecode!r}, not {typecode!r}")
        return value
    code, encoded = value
    if code != typecode:
        raise ValueError(f"array of type {code!r}, not {typecode!r}")
    restored: array[Any] = array(typecode)
    restored.frombytes(base64.b64decode(encoded, validate=True))
    return restored


def _search_words(text: str) -> list[str]:
    return [stem(w) for w in words(text) if w not in STOP_WORDS]


# -- saved index -------------------------------------------------------------------------------

_LEVELS = {int(level): level for level in Level}
_STATE_ERRORS = (KeyError, IndexError, TypeError, AttributeError, ValueError)

# What a lazy restore leaves for first use, by group: typo and suggestion look-ups, search.
_DEFERRED = {
    "_compact": "exact",
    "_stem": "exact",
    "_stem_compact": "exact",
    "_phrases": "fuzzy",
    "_by_word": "fuzzy",
    "_single": "fuzzy",
    "_compacts": "fuzzy",
    "_names_by_letter": "fuzzy",
    "_name_words": "fuzzy",
    "_search": "search",
}
_DEFERRED_LOCK = threading.RLock()


class JsonText:
    """A section of `Glossary.index_sections` as JSON text, made and handed out in pieces.

    A mapping of 30,000 keys to rows is a few hundred KB as text, but several MB as lists of
    int objects: made a batch at a time, they never all exist at once.
    """

    BATCH = 2048

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        return self._pieces

    def decoded(self) -> Any:
        return json.loads(b"".join(self))

    @classmethod
    def columns(cls, keys: list[Any], rows: Iterable[Any]) -> JsonText:
        """`[keys, [row, ...]]`, with each row made only when its batch is written."""

        def pieces() -> Iterator[bytes]:
            yield b"[" + _json_bytes(keys) + b",["
            comma = b""
            pending = iter(rows)
            while batch := list(itertools.islice(pending, cls.BATCH)):
                yield comma + _json_bytes(batch)[1:-1]
                comma = b","
            yield b"]]"

        return cls(pieces())


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class _IndexState:
    """How `Glossary.index_sections` writes the index out and `restore` reads it back.

    Entries and typo keys become rows of tables (an entry is shared by up to eight
    structures; equal ones, such as a name and its slug's spelling of it, share one row, and
    one object once restored), mappings become a column of keys beside a column of row lists,
    tuples become lists, and the search postings stay flat arrays. Each section can be saved
    and restored on its own, so neither side ever holds the whole index twice; `restore`
    reads each section once, in its own order, and turns columns back into objects with `map`
    and `zip`, whose loops run in C. It checks that the saved terms and order are exactly those
    `Glossary(terms)` would index, and raises otherwise.
    """

    VERSION = 4

    @staticmethod
    def sections(g: Glossary) -> Iterator[tuple[str, Any]]:
        # A deferred search index is built now, before the tables below exist: building it
        # briefly holds its postings twice, which should not come on top of them.
        search = g._search
        slug_rows = g._positions
        # The tables are held until the last sections, while everything else is written: as
        # arrays, and the key tuples themselves (JSON writes a tuple as a list), they cost a
        # fraction of what lists of new int and list objects would.
        entry_rows: dict[_Entry, int] = {}
        entries: tuple[array[int], array[int], list[str]] = (array("i"), array("b"), [])
        fuzzy_rows: dict[_FuzzyKey, int] = {}
        fuzzy: tuple[list[tuple[str, ...]], list[tuple[str, ...]], array[int]]
        fuzzy = ([], [], array("i"))

        def entry(e: _Entry) -> int:
            row = entry_rows.get(e)
            if row is None:
                row = entry_rows[e] = len(entries[2])
                entries[0].append(slug_rows[e.slug])
                entries[1].append(int(e.level))
                entries[2].append(e.display)
            return row

        def key(k: _FuzzyKey) -> int:
            row = fuzzy_rows.get(k)
            if row is None:
                row = fuzzy_rows[k] = len(fuzzy[0])
                fuzzy[0].append(k.lights)
                fuzzy[1].append(k.stems)
                fuzzy[2].append(entry(k.entry))
            return row

        def entry_rows_of(mapping: Mapping[str, list[_Entry]]) -> Iterator[list[int]]:
            return ([entry(e) for e in items] for items in mapping.values())

        def slug_rows_of(mapping: Mapping[str, Iterable[str]]) -> Iterator[list[int]]:
            return (sorted(slug_rows[s] for s in items) for items in mapping.values())

        def of_entries(mapping: Mapping[str, list[_Entry]]) -> list[Any]:
            return [list(mapping), list(entry_rows_of(mapping))]

        def of_keys(mapping: Mapping[str, list[_FuzzyKey]]) -> list[Any]:
            return [list(mapping), [[key(k) for k in items] for items in mapping.values()]]

        def of_slugs(mapping: Mapping[str, Iterable[str]]) -> list[Any]:
            return [list(mapping), list(slug_rows_of(mapping))]

        # The large sections, as the same JSON text made a batch of rows at a time.
        def entries_text(mapping: Mapping[str, list[_Entry]]) -> JsonText:
            return JsonText.columns(list(mapping), entry_rows_of(mapping))

        def slugs_text(mapping: Mapping[str, Iterable[str]]) -> JsonText:
            return JsonText.columns(list(mapping), slug_rows_of(mapping))

        yield "version", _IndexState.VERSION
        yield "slugs", list(g._terms)
        yield "name_keys", [g._name_keys[slug] for slug in g._terms]
        yield "max_key_words", g._max_key_words
        yield "light", entries_text(g._light.keys)
        yield "compact", entries_text(g._compact.keys)
        yield "stem", entries_text(g._stem.keys)
        yield "stem_compact", entries_text(g._stem_compact.keys)
        yield (
            "phrases",
            JsonText.columns(
                [list(k) for k in g._phrases],
                (of_keys(dict(c.items())) for c in g._phrases.values()),
            ),
        )
        yield (
            "by_word",
            JsonText.columns(
                [list(k) for k in g._by_word], ([key(k) for k in ks] for ks in g._by_word.values())
            ),
        )
        yield "single", [list(g._single), [of_keys(dict(c.items())) for c in g._single.values()]]
        yield (
            "compacts",
            [
                [list(k) for k in g._compacts],
                [of_entries(dict(c.items())) for c in g._compacts.values()],
            ],
        )
        yield (
            "names_by_letter",
            [
                list(g._names_by_letter),
                [of_slugs(dict(c.items())) for c in g._names_by_letter.values()],
            ],
        )
        yield "name_words", slugs_text(g._name_words)
        yield from search.sections()
        entry_rows.clear()
        fuzzy_rows.clear()
        # Last: the structures above fill the tables.
        yield "entries", [entries[0].tolist(), entries[1].tolist(), entries[2]]
        yield "fuzzy", [fuzzy[0], fuzzy[1], fuzzy[2].tolist()]

    @staticmethod
    def restore(
        g: Glossary, terms: list[Term], state: Mapping[str, Any], *, lazy: bool = False
    ) -> None:
        version = state["version"]
        if version != _IndexState.VERSION:
            raise ValueError(f"index state version {version!r}")
        unique: dict[str, Term] = {}
        for term in terms:
            unique.setdefault(term.slug, term)
        ordered = sorted(unique.values(), key=lambda t: (t.term.casefold(), t.slug))
        slugs: list[str] = [t.slug for t in ordered]
        if state["slugs"] != slugs:
            raise ValueError("the saved index is of other terms")
        g._set_terms(ordered)
        g._init_memos()
        g._name_keys = dict(zip(slugs, map(intern, state["name_keys"]), strict=True))
        g._max_key_words = int(state["max_key_words"])

        # Words repeat across thousands of keys: one string each, as the built index has.
        slug_rows, levels, displays = state["entries"]
        entries: list[_Entry] = list(
            map(
                partial(tuple.__new__, _Entry),
                zip(
                    map(slugs.__getitem__, slug_rows),
                    map(_LEVELS.__getitem__, levels),
                    map(intern, displays),
                    strict=True,
                ),
            )
        )
        del slug_rows, levels, displays
        of_entry = partial(map, entries.__getitem__)
        of_slug = partial(map, slugs.__getitem__)
        g._light = _Index(_mapping(state["light"], of_entry))

        def exact_group() -> None:
            # Names as typed are all in `_light`: most look-ups (and every bare name) need
            # nothing else, so the other spellings' indexes can wait for their first use.
            compact = _Index(_mapping(state["compact"], of_entry))
            stem = _Index(_mapping(state["stem"], of_entry))
            stem_compact = _Index(_mapping(state["stem_compact"], of_entry))
            g._compact, g._stem, g._stem_compact = compact, stem, stem_compact

        def fuzzy_group() -> None:
            lights, stems, key_entries = state["fuzzy"]
            light_words: list[tuple[str, ...]] = list(map(tuple, map(partial(map, intern), lights)))
            stem_words = [
                li if tuple(st) == li else tuple(map(intern, st))
                for li, st in zip(light_words, stems, strict=True)
            ]
            fuzzy: list[_FuzzyKey] = list(
                map(
                    partial(tuple.__new__, _FuzzyKey),
                    zip(
                        light_words, stem_words, map(entries.__getitem__, key_entries), strict=True
                    ),
                )
            )
            del lights, stems, key_entries, light_words, stem_words
            of_key = partial(map, fuzzy.__getitem__)
            names, columns = state["phrases"]
            phrases = {
                (int(n), intern(first)): _choices(c, of_key)
                for (n, first), c in zip(names, columns, strict=True)
            }
            names, rows = state["by_word"]
            by_word = {
                (int(n), int(at), intern(word)): list(of_key(r))
                for (n, at, word), r in zip(names, rows, strict=True)
            }
            names, columns = state["single"]
            single = {intern(c0): _choices(c, of_key) for c0, c in zip(names, columns, strict=True)}
            names, columns = state["compacts"]
            compacts = {
                (intern(letter), int(size)): _choices(c, of_entry)
                for (letter, size), c in zip(names, columns, strict=True)
            }
            names, columns = state["names_by_letter"]
            names_by_letter = {
                intern(letter): _choices(c, of_slug)
                for letter, c in zip(names, columns, strict=True)
            }
            name_words = _mapping(state["name_words"], of_slug)  # saved in name order
            # Set together, once all are built: a reader sees all of them or none.
            g._phrases, g._by_word, g._single = phrases, by_word, single
            g._compacts, g._names_by_letter, g._name_words = compacts, names_by_letter, name_words

        def search_group() -> None:
            g._search = _SearchIndex.restored(slugs, state)

        if lazy:
            g._pending = {"exact": exact_group, "fuzzy": fuzzy_group, "search": search_group}
        else:
            exact_group()
            fuzzy_group()
            search_group()


def _mapping(column: list[Any], pick: Any, kind: Any = list) -> dict[str, Any]:
    """Saved [keys, rows] back to {key: kind(items)}, the items picked by row from a table."""
    texts, rows = column
    return dict(zip(map(intern, texts), map(kind, map(pick, rows)), strict=True))


def _choices(column: list[Any], pick: Any) -> _Choices[Any]:
    return _Choices.restored(_mapping(column, pick))
