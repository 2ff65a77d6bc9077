"""Normalisation: what Slack delivers and people type, turned into the text and keys to look up."""

from __future__ import annotations

import pytest

from bot.glossary.normalize import clean, compact_keys, extract, light_key, stem_key, words


class TestClean:
    """Slack markup, entities and Unicode variants go; the words stay, in their case."""

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("<@U0BOT123> RAG", "RAG"),
            ("<@U0BOT123|glossary> RAG", "RAG"),
            ("<#C0123|general> RAG", "RAG"),
            ("<!here> RAG", "RAG"),
            ("<!subteam^S0123|@ml-team> RAG", "RAG"),
            ("RAG <https://example.com|docs>", "RAG"),
            ("RAG <https://example.com>", "RAG"),
            ("RAG https://example.com/page", "RAG"),
            (
                "<https://example.com/rag|retrieval-augmented generation>",
                "retrieval-augmented generation",
            ),
            ("*RAG*", "RAG"),
            ("_RAG_", "RAG"),
            ("~RAG~", "RAG"),
            ("`RAG`", "RAG"),
            ("```RAG```", "RAG"),
            ("*_gradient descent_*", "gradient descent"),
            ("top_k", "top k"),
            ("T&amp;S", "T&S"),
            ("&gt; what's RAG", "what's RAG"),
            ("“embedding”", "embedding"),
            ("‘fine-tuning’?", "fine-tuning"),
            ("self‑critique loop", "self-critique loop"),
            ("low–rank adaptation", "low-rank adaptation"),
            ("ＲＡＧ", "RAG"),
            ("RAG :thinking_face:", "RAG"),
            ("🤖 RAG ❤️", "RAG"),
            ("zero\u200bwidth", "zerowidth"),
            ("  many   spaces\n\nand lines ", "many spaces and lines"),
        ],
    )
    def test_markup_is_removed(self, raw: str, expected: str) -> None:
        assert clean(raw) == expected


class TestExtract:
    """The term is taken out of the question around it; the display text keeps its case."""

    @pytest.mark.parametrize(
        ("question", "term"),
        [
            ("what is a context window?", "context window"),
            ("What's the KV cache", "KV cache"),
            ("whats the target variable", "target variable"),
            ("what does RLHF mean", "RLHF"),
            ("what does RLHF stand for?", "RLHF"),
            ("what does a reward model do", "reward model"),
            ("how does nucleus sampling work", "nucleus sampling"),
            ("define: temperature pls", "temperature"),
            ("define temperature", "temperature"),
            ("can someone explain prompt injection", "prompt injection"),
            ("could you please explain the KV cache?", "KV cache"),
            ("explain RAG pls", "RAG"),
            ("meaning of overfitting", "overfitting"),
            ("definition of token", "token"),
            ("eli5 top-k sampling", "top-k sampling"),
            ("anyone know what an agent executor is?", "agent executor"),
            ("<!here> does anyone know what instruction tuning is?", "instruction tuning"),
            ("what is hallucination in LLMs", "hallucination"),
            ("what's a KV cache for?", "KV cache"),
            ("what is meant by model drift", "model drift"),
            ("hey bot, what's RLHF?", "RLHF"),
            ("quick q: what is a vector store?", "vector store"),
            ("RAG?", "RAG"),
            ("thanks", "thanks"),
        ],
    )
    def test_question_phrasing_is_stripped(self, question: str, term: str) -> None:
        assert extract(question).text == term

    def test_candidates_run_from_least_to_most_stripped(self) -> None:
        """A name that starts with an opener word is still tried as typed first."""
        extraction = extract("a/b testing")
        assert extraction.candidates[0] == "a/b testing"
        assert extraction.text == "b testing"

    def test_closing_verbs_are_only_stripped_after_an_opener(self) -> None:
        assert extract("what is tool use for").text == "tool use"
        assert extract("harmonic mean").text == "harmonic mean"


class TestKeys:
    """Case, punctuation, hyphens, possessives and inflections do not change a key."""

    @pytest.mark.parametrize(
        "variants",
        [
            ("kv-cache", "kv cache", "KV Cache", "KV caches", "kv cache's", "KV-Caches'"),
            ("embedding", "embeddings", "Embedding's"),
            ("hallucination", "hallucinations", "HALLUCINATIONS"),
            ("bias", "biases"),
            ("escalation policy", "escalation policies"),
            ("confusion matrix", "confusion matrices"),
            ("regularization", "regularisation"),
            ("naïve bayes", "naive bayes"),
            ("model's card", "model card"),
        ],
    )
    def test_light_keys_agree(self, variants: tuple[str, ...]) -> None:
        assert len({light_key(v) for v in variants}) == 1

    @pytest.mark.parametrize(
        ("one", "other"),
        [
            ("reward modeling", "reward model"),
            ("reward modelling", "reward model"),
            ("overfit", "overfitting"),
            ("trained", "training"),
            ("quantized", "quantization"),
            ("explainable", "explainability"),
            ("hallucinate", "hallucination"),
            ("embed", "embedding"),
            ("red team", "red teaming"),
        ],
    )
    def test_stem_keys_meet_across_derived_forms(self, one: str, other: str) -> None:
        assert stem_key(one) == stem_key(other)

    @pytest.mark.parametrize(
        ("one", "other"),
        [("decoder", "decoding"), ("tokenizer", "token"), ("embed", "emb"), ("speed", "spe")],
    )
    def test_stem_keys_keep_different_words_apart(self, one: str, other: str) -> None:
        assert stem_key(one) != stem_key(other)

    def test_compact_keys_ignore_spaces_and_hyphens(self) -> None:
        assert compact_keys(words("fine-tuning")) == compact_keys(words("finetuning"))
        assert compact_keys(words("over fitting")) == compact_keys(words("overfitting"))

    def test_an_ampersand_inside_a_word_is_kept_and_a_lone_one_is_and(self) -> None:
        assert words("T&S") == ["t&s"]
        assert words("trust & safety") == ["trust", "and", "safety"]

    def test_words_can_keep_their_case(self) -> None:
        assert words("The KV cache's size", keep_case=True) == ["The", "KV", "cache", "size"]
