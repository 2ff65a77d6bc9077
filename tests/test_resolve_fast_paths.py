"""The quicker ways the resolver takes on its slow paths give the answers of the plain ones.

Suggestions score only names of a length that can reach the similarity cutoff, typo
alignment turns away words that start otherwise before measuring them (and keys sharing a
word with the query are grouped by another word's first letter), and `find_by_name` keeps
its answers per glossary. Each is checked here against the straightforward way.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process
from resolve_terms import TERMS, make_term, small_glossary

from bot.glossary import resolve as resolve_module
from bot.glossary.normalize import clean, extract, light, stem
from bot.glossary.resolve import (
    MAX_SUGGESTIONS,
    SUGGEST_SIMILARITY,
    Glossary,
    Level,
    _ByLength,
    _Choices,
    _Entry,
    _FuzzyKey,
    _ratio_lengths,
    _typo_distance,
)

SHORT_WORDS = st.text(alphabet="abcde ", min_size=1, max_size=24)


class TestSimilarNames:
    """`_similar_names` is `process.extract` over every name of the letter, in less time."""

    @settings(max_examples=300, deadline=None)
    @given(key=SHORT_WORDS, names=st.lists(SHORT_WORDS, min_size=1, max_size=60))
    def test_same_names_in_the_same_order_as_a_full_scan(self, key: str, names: list[str]) -> None:
        # A small alphabet makes many names score alike: ties must keep the list's order.
        choices: _Choices[str] = _Choices()
        for name in names:
            choices.add(name, name)
        choices.freeze()
        glossary = Glossary([])
        expected = [
            string
            for string, _, _ in process.extract(
                key,
                choices.strings,
                scorer=fuzz.ratio,
                score_cutoff=SUGGEST_SIMILARITY,
                limit=MAX_SUGGESTIONS,
            )
        ]
        assert glossary._similar_names(key, choices) == expected

    @settings(max_examples=500, deadline=None)
    @given(a=SHORT_WORDS, b=SHORT_WORDS, cutoff=st.sampled_from([50, 75, 90, 100]))
    def test_no_string_outside_the_lengths_reaches_the_cutoff(
        self, a: str, b: str, cutoff: int
    ) -> None:
        shortest, longest = _ratio_lengths(len(a), cutoff)
        if fuzz.ratio(a, b) >= cutoff:
            assert shortest <= len(b) <= longest

    def test_strings_keep_their_order_within_a_length(self) -> None:
        by_length = _ByLength(["ccc", "a", "bb", "dd", "e", "fff"])
        assert by_length.strings == ["a", "e", "bb", "dd", "ccc", "fff"]
        assert list(by_length.rows) == [1, 4, 2, 3, 0, 5]
        assert by_length.span(2, 2) == (2, 4)
        assert by_length.span(4, 9) == (6, 6)


class TestSharedWordSuggestions:
    def test_one_shared_word_offers_the_first_terms_in_name_order(self) -> None:
        # Thirty terms share "ledger", and every name holds the query whole, so all score
        # alike: the first five in name order are offered, as a full scoring would.
        prefixes = [a + b for a in "zyxwvu" for b in "bckmn"]
        glossary = Glossary([make_term(f"{prefix} ledger") for prefix in prefixes])
        resolution = glossary.resolve("ledger")
        assert resolution.status == "suggest"
        assert [t.term for t in resolution.candidates] == [
            f"{prefix} ledger" for prefix in sorted(prefixes)[:MAX_SUGGESTIONS]
        ]

    def test_name_words_are_listed_once_in_name_order(self) -> None:
        glossary = small_glossary()
        positions = list(glossary.terms)
        for slugs in glossary._name_words.values():
            rows = [positions.index(slug) for slug in slugs]
            assert rows == sorted(set(rows))


def _plain_word_check(typed: str, known: str, typed_light: str, known_light: str) -> bool:
    """Whether a word lines up by the rules without the early exit: equal, typo or abbreviation."""
    if typed == known:
        return True
    distance = min(_typo_distance(typed, known), _typo_distance(typed_light, known_light))
    return distance < resolve_module._NO_MATCH or resolve_module._is_abbreviation(typed, known)


@settings(max_examples=400, deadline=None)
@given(
    typed=st.text(alphabet="abcdeiostr", min_size=1, max_size=12),
    known=st.text(alphabet="abcdeiostr", min_size=1, max_size=12),
)
def test_a_word_turned_away_early_could_not_have_lined_up(typed: str, known: str) -> None:
    """The first-letter test of `_alignment_cost` only refuses words the full rules refuse."""
    lights, stems = (light(typed), "same"), (stem(typed), "same")
    key = _FuzzyKey((light(known), "same"), (stem(known), "same"), _Entry("x", Level.NAME, "x"))
    cost = resolve_module._alignment_cost(lights, stems, key)
    accepted = _plain_word_check(stems[0], key.stems[0], lights[0], key.lights[0])
    assert (cost is not None) == accepted


WORDS = st.text(alphabet="abdeiostuy", min_size=1, max_size=9)


@settings(max_examples=300, deadline=None)
@given(
    keys=st.lists(st.lists(WORDS, min_size=2, max_size=4), min_size=1, max_size=60),
    typed=st.lists(WORDS, min_size=2, max_size=4),
    position=st.integers(min_value=0, max_value=3),
)
def test_grouped_keys_align_as_the_whole_posting(
    keys: list[list[str]], typed: list[str], position: int
) -> None:
    """`_ByInitials` leaves out only keys the alignment refuses, and keeps the others' order.

    Keys of one word count share the word at `position`, as in a `_by_word` posting; words
    whose stems start otherwise than the words ("y" endings) exercise the irregular keys.
    """
    count = len(typed)
    position %= count
    posting = []
    for row, words in enumerate(keys):
        words = (words * count)[:count]
        words[position] = typed[position]
        posting.append(
            _FuzzyKey(
                tuple(light(w) for w in words),
                tuple(stem(w) for w in words),
                _Entry(f"t{row}", Level.NAME, " ".join(words)),
            )
        )
    lights = tuple(light(w) for w in typed)
    stems = tuple(stem(w) for w in typed)

    def aligned(candidates: list[_FuzzyKey]) -> list[tuple[_FuzzyKey, float]]:
        costs = ((k, resolve_module._alignment_cost(lights, stems, k)) for k in candidates)
        return [(k, cost) for k, cost in costs if cost is not None]

    grouped = resolve_module._ByInitials(posting, position)
    assert aligned(list(grouped.candidates(lights, stems))) == aligned(posting)


@pytest.mark.parametrize(
    ("typed", "wanted"),
    [
        ("attention router", "attention router"),  # exact
        ("atention router", "attention router"),  # a typo after the first letter
        ("tatention router", "attention router"),  # the first two letters swapped
        ("attn router", "attention router"),  # an abbreviation beside an exact word
        ("studies router", "studying router"),  # stems agree: "studi" for both
    ],
)
def test_grouping_keeps_every_kind_of_match(typed: str, wanted: str) -> None:
    """Of a posting of many keys sharing "router", the one the typed words line up with is
    still among the candidates, whichever way they differ."""
    others = [f"{first}{rest} router" for first in "bcdfghklmnpqrvwxz" for rest in ("ay", "oo")]
    names = [wanted, *others]
    posting = [
        _FuzzyKey(
            tuple(light(w) for w in name.split()),
            tuple(stem(w) for w in name.split()),
            _Entry(f"t{row}", Level.NAME, name),
        )
        for row, name in enumerate(names)
    ]
    lights = tuple(light(w) for w in typed.split())
    stems = tuple(stem(w) for w in typed.split())
    assert resolve_module._alignment_cost(lights, stems, posting[0]) is not None
    candidates = list(resolve_module._ByInitials(posting, 1).candidates(lights, stems))
    assert posting[0] in candidates
    assert len(candidates) < len(posting) / 4  # and most of the others are left out


class TestFindByNameMemo:
    NAMES = ("KV cache", "key-value cache", "Embeddings", "MoE", "kv cahce", "", "  ")

    def test_answers_are_kept_and_stay_right(self) -> None:
        glossary = small_glossary()
        first = [glossary.find_by_name(name) for name in self.NAMES]
        assert set(glossary._found_names) == set(self.NAMES)
        assert [glossary.find_by_name(name) for name in self.NAMES] == first
        assert [glossary._find_by_name(name) for name in self.NAMES] == first

    def test_the_memo_is_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(resolve_module, "MEMO_LIMIT", 50)
        glossary = small_glossary()
        rng = random.Random(5)  # noqa: S311 - a repeatable choice, not a secret
        for i in range(500):
            text = f"{rng.choice(TERMS).term} {i}" if i % 2 else rng.choice(TERMS).term
            assert glossary.find_by_name(text) == glossary._find_by_name(text)
            assert len(glossary._found_names) <= 50

    def test_long_text_is_answered_but_not_kept(self) -> None:
        glossary = small_glossary()
        text = "kv cache " * 40
        assert glossary.find_by_name(text) is None
        assert glossary._found_names == {}

    def test_a_reload_starts_with_an_empty_memo(self) -> None:
        glossary = small_glossary()
        glossary.find_by_name("KV cache")
        assert small_glossary()._found_names == {}

    def test_memos_are_not_saved_with_the_index(self) -> None:
        glossary = small_glossary()
        glossary.find_by_name("KV cache")
        glossary.resolve("kv cashe thing")  # fills the suggestions' table of name lengths
        assert glossary._by_length
        assert glossary.index_state() == small_glossary().index_state()


@pytest.mark.parametrize("lazy", [False, True])
def test_a_restored_index_finds_names_as_a_built_one(lazy: bool) -> None:
    built = small_glossary()
    restored = Glossary.from_index_state(TERMS, built.index_state(), lazy=lazy)
    assert restored._found_names == {}
    queries = [*(t.term for t in TERMS), *(a for t in TERMS for a in t.aliases), "kv cahce"]
    for query in queries:
        assert restored.find_by_name(query) == built.find_by_name(query)
        assert restored.find_by_name(query) == built._find_by_name(query)
        resolved, expected = restored.resolve(query), built.resolve(query)
        assert (resolved.status, resolved.slug, resolved.candidates) == (
            expected.status,
            expected.slug,
            expected.candidates,
        )


class TestCleaningShortcuts:
    """ASCII text skips the per-character symbol check and, without "<", the second cleaning."""

    @pytest.mark.parametrize(
        ("text", "cleaned"),
        [("a^b", "a b"), ("café ^ \u2603 x", "café x"), ("x\ufe0f y", "x y"), ("plain", "plain")],
    )
    def test_symbols_become_spaces_in_ascii_and_other_text(self, text: str, cleaned: str) -> None:
        assert clean(text) == cleaned

    @pytest.mark.parametrize(
        "text", ["what is <https://x.com|RAG>?", "what is \uff1chttps://x.com|RAG\uff1e?"]
    )
    def test_link_labels_are_found_however_the_brackets_are_written(self, text: str) -> None:
        assert extract(text).text == "RAG"
