"""The resolver's policy on a small glossary: right term, ambiguity, or an honest not found."""

from __future__ import annotations

import pytest
from resolve_terms import TERMS, make_term, small_glossary

from bot.glossary.resolve import Glossary, Resolution, derived_acronyms


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return small_glossary()


def slugs(terms: object) -> list[str]:
    return [t.slug for t in terms]  # type: ignore[attr-defined]


# (query, status, slug the bot answers with)
ANSWERS = [
    # names, slugs and declared aliases, in any case and spelling of hyphens and spaces
    ("Retrieval-Augmented Generation", "found", "retrieval-augmented-generation"),
    ("retrieval-augmented-generation", "found", "retrieval-augmented-generation"),
    ("rag", "found", "retrieval-augmented-generation"),
    ("KV Cache", "found", "kv-cache"),
    ("kv-cache", "found", "kv-cache"),
    ("kvcache", "found", "kv-cache"),
    ("key value cache", "found", "kv-cache"),
    ("finetuning", "found", "fine-tuning"),
    ("fine tuning", "found", "fine-tuning"),
    ("confabulation", "found", "hallucination"),
    ("teacher student training", "found", "knowledge-distillation"),
    # inflections on every word
    ("embeddings", "found", "embedding"),
    ("Hallucinations", "found", "hallucination"),
    ("escalation policies", "found", "escalation-policy"),
    ("confusion matrices", "found", "confusion-matrix"),
    ("algorithmic biases", "found", "algorithmic-bias"),
    ("KV cache's", "found", "kv-cache"),
    # acronyms derived from multi-word names and aliases
    ("RLHF", "found", "reinforcement-learning-from-human-feedback"),
    ("MoE", "found", "mixture-of-experts"),
    ("IFT", "found", "instruction-tuning"),
    ("T&S", "found", "content-moderation"),
    ("RM", "found", "reward-model"),
    ("KD", "found", "knowledge-distillation"),
    ("CAI", "found", "constitutional-ai"),
    # precedence: own name > declared alias > derived acronym
    ("function calling", "found", "function-calling"),
    ("DP", "found", "differential-privacy"),
    # derived forms and parts of names answer, flagged as fuzzy
    ("reward modeling", "fuzzy", "reward-model"),
    ("top p", "fuzzy", "top-p-sampling"),
    ("top_k", "fuzzy", "top-k-sampling"),
    ("AUC", "fuzzy", "roc-auc"),
    ("KV", "fuzzy", "kv-cache"),
    ("CoT", "fuzzy", "chain-of-thought-prompting"),
    ("chain of thought", "fuzzy", "chain-of-thought-prompting"),
    ("explainable AI", "fuzzy", "model-interpretability"),
    ("DP budget", "fuzzy", "privacy-budget"),
    ("ctx window", "fuzzy", "context-window"),
    ("DDPM", "fuzzy", "diffusion-model"),
    # typos: misspellings, transpositions, dropped and doubled letters
    ("halucination", "fuzzy", "hallucination"),
    ("kv cahce", "fuzzy", "kv-cache"),
    ("nucleus smapling", "fuzzy", "top-p-sampling"),
    ("gradient decent", "fuzzy", "gradient-descent"),
    ("tempreature", "fuzzy", "temperature"),
    ("overfiting", "fuzzy", "overfitting"),
    ("kvcahce", "fuzzy", "kv-cache"),
    # questions and Slack formatting around the term
    ("what does RLHF mean?", "found", "reinforcement-learning-from-human-feedback"),
    ("can someone explain the kv cache pls", "found", "kv-cache"),
    ("what is hallucination in LLMs", "found", "hallucination"),
    ("<@U0BOT123> what is *RAG*?", "found", "retrieval-augmented-generation"),
    ("<@U0BOT123> T&amp;S", "found", "content-moderation"),
    ("what is halucination?", "fuzzy", "hallucination"),
]


@pytest.mark.parametrize(("query", "status", "slug"), ANSWERS)
def test_answers(glossary: Glossary, query: str, status: str, slug: str) -> None:
    resolution = glossary.resolve(query)
    assert (resolution.status, resolution.slug) == (status, slug)
    assert resolution.term is not None
    assert resolution.candidates == ()
    assert resolution.matched


# (query, status, candidates that must be offered, in this order from the start)
NO_ANSWER = [
    ("supervised fine-tuning", "ambiguous", ["fine-tuning", "instruction-tuning"]),
    ("SFT", "ambiguous", ["fine-tuning", "instruction-tuning"]),
    ("TS", "ambiguous", ["test-set", "top-k-sampling", "top-p-sampling"]),
    ("top-q sampling", "suggest", ["top-k-sampling", "top-p-sampling"]),
    ("model registry", "suggest", ["prompt-registry"]),
    ("reward shaping", "suggest", ["reward-model"]),
    ("kafka", "not_found", []),
    ("<@U0BOT123> what is *kafka*?", "not_found", []),
    ("CNN", "not_found", []),
    ("LSTM", "not_found", []),
    ("RAH", "not_found", []),  # three letters are never fuzzy-matched: not RAG
    ("DL", "not_found", []),  # "data lineage" spells DL, but DL means deep learning
    ("", "not_found", []),
    ("   ", "not_found", []),
    ("<@U123>", "not_found", []),
]


@pytest.mark.parametrize(("query", "status", "offered"), NO_ANSWER)
def test_no_single_answer(glossary: Glossary, query: str, status: str, offered: list[str]) -> None:
    resolution = glossary.resolve(query)
    assert resolution.status == status
    assert resolution.term is None
    assert resolution.slug is None
    assert slugs(resolution.candidates)[: len(offered)] == offered
    if status == "not_found":
        assert resolution.candidates == ()


class TestResolution:
    """A resolution keeps what was typed and the term text taken from it."""

    def test_query_and_text(self, glossary: Glossary) -> None:
        resolution = glossary.resolve("<@U1> what's a *KV cache*?")
        assert resolution.query == "<@U1> what's a *KV cache*?"
        assert resolution.text == "KV cache"

    def test_not_found_text_is_the_term_asked_for(self, glossary: Glossary) -> None:
        assert glossary.resolve("can someone explain kafka pls?").text == "kafka"

    def test_fuzzy_says_what_it_matched(self, glossary: Glossary) -> None:
        assert glossary.resolve("nucleus smapling").matched == "nucleus sampling"

    def test_slug_is_none_without_a_term(self) -> None:
        assert Resolution(query="x", text="x", status="not_found").slug is None


class TestPolicy:
    """The rules that keep wrong answers out, each shown on a glossary built for it."""

    def test_a_name_beats_another_terms_alias(self) -> None:
        glossary = Glossary([make_term("tool use", "agents"), make_term("agents")])
        assert glossary.resolve("agents").slug == "agents"

    def test_a_declared_alias_beats_a_derived_acronym(self) -> None:
        glossary = Glossary([make_term("data pipeline"), make_term("differential privacy", "dp")])
        assert glossary.resolve("DP").slug == "differential-privacy"

    def test_a_derived_acronym_shared_at_the_same_level_is_ambiguous(self) -> None:
        glossary = Glossary([make_term("model card"), make_term("model compression")])
        assert glossary.resolve("MC").status == "ambiguous"

    def test_an_alias_shared_by_two_terms_is_ambiguous(self) -> None:
        glossary = Glossary([make_term("a one", "shared"), make_term("b two", "shared")])
        resolution = glossary.resolve("shared")
        assert resolution.status == "ambiguous"
        assert slugs(resolution.candidates) == ["a-one", "b-two"]

    def test_a_typo_close_to_two_terms_only_suggests(self) -> None:
        glossary = Glossary([make_term("bench mark"), make_term("bench park")])
        resolution = glossary.resolve("bench lark")
        assert resolution.status == "suggest"
        assert set(slugs(resolution.candidates)) >= {"bench-mark", "bench-park"}

    def test_a_typo_must_keep_the_first_letter(self) -> None:
        glossary = Glossary([make_term("precision")])
        assert glossary.resolve("decision").slug is None

    def test_short_words_take_no_typos(self) -> None:
        glossary = Glossary([make_term("f1 score"), make_term("rag")])
        assert glossary.resolve("f2 score").slug is None
        assert glossary.resolve("rat").slug is None

    def test_one_shared_word_is_not_a_match(self) -> None:
        glossary = Glossary([make_term("prompt registry"), make_term("gradient descent")])
        for query in ("model registry", "gradient clipping", "stochastic gradient descent"):
            assert glossary.resolve(query).slug is None, query

    def test_two_letter_acronyms_come_only_from_names(self) -> None:
        glossary = Glossary([make_term("risk register", "risk log")])
        assert glossary.resolve("RR").slug == "risk-register"
        assert glossary.resolve("RL").slug is None

    def test_terms_with_the_same_slug_are_indexed_once(self) -> None:
        glossary = Glossary([make_term("embedding"), make_term("embedding", "vector")])
        assert list(glossary.terms) == ["embedding"]
        assert glossary.get("embedding") is not None
        assert glossary.resolve("vector").slug is None


@pytest.mark.parametrize(
    ("name", "acronym"),
    [
        ("reinforcement learning from human feedback", "rlhf"),
        ("reinforcement learning from human feedback", "rlfhf"),
        ("mixture of experts", "moe"),
        ("mixture of experts", "me"),
        ("retrieval-augmented generation", "rag"),
        ("retrieval-augmented generation", "rg"),
        ("instruction fine-tuning", "ift"),
        ("constitutional ai", "cai"),
        ("trust and safety", "t&s"),
        ("trust and safety", "ts"),
    ],
)
def test_derived_acronyms(name: str, acronym: str) -> None:
    assert acronym in derived_acronyms(name)


def test_one_word_names_have_no_derived_acronym() -> None:
    assert derived_acronyms("embedding") == set()


class TestFindByName:
    """Exact name, alias or slug, for relationship names; None when absent or shared."""

    @pytest.mark.parametrize(
        ("name", "slug"),
        [
            ("KV cache", "kv-cache"),
            ("key-value cache", "kv-cache"),
            ("kv-cache", "kv-cache"),
            ("Embeddings", "embedding"),
            ("function calling", "function-calling"),
        ],
    )
    def test_finds(self, glossary: Glossary, name: str, slug: str) -> None:
        term = glossary.find_by_name(name)
        assert term is not None
        assert term.slug == slug

    @pytest.mark.parametrize(
        "name", ["inference optimization", "supervised fine-tuning", "MoE", "kv cahce"]
    )
    def test_absent_shared_or_inexact_is_none(self, glossary: Glossary, name: str) -> None:
        assert glossary.find_by_name(name) is None


class TestSearch:
    """Ranked full text over names, aliases, categories and definitions."""

    def test_words_of_a_definition_find_the_term(self, glossary: Glossary) -> None:
        top = slugs(glossary.search("privacy budget noise", limit=2))
        assert set(top) == {"privacy-budget", "differential-privacy"}

    def test_an_exact_name_comes_first(self, glossary: Glossary) -> None:
        assert slugs(glossary.search("RAG"))[0] == "retrieval-augmented-generation"

    def test_a_category_finds_its_terms(self, glossary: Glossary) -> None:
        assert {"embedding", "retrieval-augmented-generation"} <= set(
            slugs(glossary.search("retrieval"))
        )

    def test_limit_and_nothing_found(self, glossary: Glossary) -> None:
        assert len(glossary.search("sampling", limit=1)) == 1
        assert glossary.search("blockchain") == []
        assert glossary.search("") == []

    def test_a_word_said_more_often_ranks_higher_even_past_the_count_kept(self) -> None:
        """Counts are kept in 16 bits of halves; a definition that repeats a word 40,000
        times is still indexed (at the ceiling) and still ranks above one that says it less."""
        flood = make_term("flood gate", text="flood " * 40_000)
        once = make_term("calm gate", text="a flood once")
        glossary = Glossary([*TERMS, flood, once])
        assert slugs(glossary.search("flood"))[:2] == ["flood-gate", "calm-gate"]
        restored = Glossary.from_index_state([*TERMS, flood, once], glossary.index_state())
        assert slugs(restored.search("flood")) == slugs(glossary.search("flood"))


class TestBrowse:
    """Listing by category, role and status, and the categories themselves."""

    def test_terms_are_in_name_order(self, glossary: Glossary) -> None:
        names = [t.term for t in glossary.list_terms()]
        assert names == sorted(names, key=str.casefold)
        assert list(glossary.terms) == slugs(glossary.list_terms())
        assert len(glossary.terms) == len(TERMS)

    def test_by_category_in_any_case(self, glossary: Glossary) -> None:
        assert slugs(glossary.list_terms(category="retrieval & rag")) == [
            "embedding",
            "retrieval-augmented-generation",
        ]

    def test_by_role_and_status(self, glossary: Glossary) -> None:
        assert slugs(glossary.list_terms(role="legal")) == [
            "differential-privacy",
            "privacy-budget",
        ]
        assert slugs(glossary.list_terms(status="draft")) == ["escalation-policy"]
        assert slugs(glossary.list_terms(role="legal", category="governance & risk")) == [
            "differential-privacy",
            "privacy-budget",
        ]
        assert glossary.list_terms(status="no such status") == []

    def test_categories_once_each_in_order(self, glossary: Glossary) -> None:
        assert glossary.categories() == [
            "Agents & Tooling",
            "Foundations",
            "Governance & Risk",
            "LLM Core",
            "Operations",
            "Retrieval & RAG",
        ]


class TestMentions:
    """Terms named in a message, in order of appearance, each once."""

    def test_names_aliases_and_acronyms_in_order(self, glossary: Glossary) -> None:
        text = (
            "We tried RLHF, then a reward model; the KV cache blew up. "
            "<@U1> says RLHF again and mentions T&amp;S."
        )
        assert slugs(glossary.mentions(text)) == [
            "reinforcement-learning-from-human-feedback",
            "reward-model",
            "kv-cache",
            "content-moderation",
        ]

    def test_the_longest_name_wins(self, glossary: Glossary) -> None:
        assert slugs(glossary.mentions("the differential privacy budget")) == ["privacy-budget"]

    def test_acronyms_count_only_in_capitals(self, glossary: Glossary) -> None:
        assert glossary.mentions("rm -rf the rag folder") == []
        assert slugs(glossary.mentions("rm -rf the RAG folder")) == [
            "retrieval-augmented-generation"
        ]

    def test_shared_keys_are_not_guessed(self, glossary: Glossary) -> None:
        assert glossary.mentions("we did supervised fine-tuning") == []
