"""The resolver on real data: the ai-glossary corpus and the labelled dev queries in ../shared."""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from resolve_terms import CORPUS_TERMS, DEV_QUERIES, NO_CORPUS, REPO

from bot.glossary.resolve import Glossary

MIN_ACCURACY = 0.97

needs_corpus = pytest.mark.skipif(not CORPUS_TERMS.is_dir(), reason=NO_CORPUS)


@functools.cache
def load_scorer() -> ModuleType:
    """scripts/score_resolver.py, so the test and the report count the same way."""
    path = REPO / "scripts" / "score_resolver.py"
    spec = importlib.util.spec_from_file_location("score_resolver", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus() -> Glossary:
    if not CORPUS_TERMS.is_dir():
        pytest.skip(NO_CORPUS)
    glossary, loaded = Glossary.from_folder(CORPUS_TERMS)
    assert len(glossary.terms) == len(loaded.files) == 112
    return glossary


def test_dev_queries_meet_the_accuracy_bar(corpus: Glossary) -> None:
    """At least 97% right, and not one definition for a term the glossary lacks."""
    if not DEV_QUERIES.is_file():
        pytest.skip("the dev queries (../shared/data/dev_queries.jsonl) are not present")
    scorer = load_scorer()
    report = scorer.score(corpus, scorer.read_cases(DEV_QUERIES))
    print("\n".join(report.lines()))  # shown with `pytest -s`: accuracy per kind
    failures = "\n".join(scorer.describe(f) for f in report.failures)
    assert report.definitions_for_missing == 0, failures
    assert report.accuracy >= MIN_ACCURACY, failures


def test_the_report_script_runs_on_its_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    if not (CORPUS_TERMS.is_dir() and DEV_QUERIES.is_file()):
        pytest.skip(NO_CORPUS)
    assert load_scorer().main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("kind")
    assert "definitions given for `missing`: 0" in out


def test_the_report_script_scores_other_files(tmp_path: Path) -> None:
    """Other query files and glossaries can be passed, and a miss fails the run."""
    terms = REPO / "tests" / "fixtures" / "render"
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        '{"query": "model card", "expect": "model-card", "kind": "exact"}\n'
        '{"query": "kafka", "expect": null, "kind": "missing"}\n',
        encoding="utf-8",
    )
    scorer = load_scorer()
    assert scorer.main(["--queries", str(queries), "--terms", str(terms)]) == 0
    queries.write_text('{"query": "model card", "expect": null, "kind": "missing"}\n')
    assert scorer.main(["--queries", str(queries), "--terms", str(terms)]) == 1
    assert scorer.main(["--queries", str(tmp_path / "absent.jsonl")]) == 2


@needs_corpus
class TestCorpusTraits:
    """What the real corpus is known to contain, resolved the way the policy says."""

    def test_an_alias_of_two_terms_is_ambiguous(self, corpus: Glossary) -> None:
        resolution = corpus.resolve("supervised fine-tuning")
        assert resolution.status == "ambiguous"
        assert [t.slug for t in resolution.candidates] == ["fine-tuning", "instruction-tuning"]

    def test_a_name_beats_another_terms_alias(self, corpus: Glossary) -> None:
        resolution = corpus.resolve("function calling")
        assert (resolution.status, resolution.slug) == ("found", "function-calling")
        assert corpus.resolve("tool use").slug == "tool-use"

    @pytest.mark.parametrize(
        ("query", "slug"),
        [
            ("RAG", "retrieval-augmented-generation"),
            ("what does MoE stand for?", "mixture-of-experts"),
            ("DPO", "direct-preference-optimization"),
            ("CoT", "chain-of-thought-prompting"),
        ],
    )
    def test_acronyms(self, corpus: Glossary, query: str, slug: str) -> None:
        assert corpus.resolve(query).slug == slug

    @pytest.mark.parametrize(
        "query",
        [
            "stochastic gradient descent",
            "data drift",
            "feature store",
            "prompt tuning",
            "tokenizer",
            "transformers",
            "assignment",
            "DL",
            "RL",
            "PR",
            "GPU",
            "BERT",
            "what is an LLM",
        ],
    )
    def test_terms_the_corpus_lacks_get_no_definition(self, corpus: Glossary, query: str) -> None:
        assert corpus.resolve(query).slug is None

    def test_search_ranks_privacy_terms_first(self, corpus: Glossary) -> None:
        top = [t.slug for t in corpus.search("privacy budget noise", limit=2)]
        assert set(top) == {"differential-privacy", "privacy-budget"}
