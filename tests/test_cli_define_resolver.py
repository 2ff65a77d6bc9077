"""`python -m bot define` answers through the resolver, as the Slack app does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpora" / "ai-glossary" / "terms"


def define(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "define", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("what does RLHF mean?", "reinforcement learning from human feedback"),
        ("*RAG*", "retrieval-augmented generation"),
        ("<@U123> can someone explain embeddings pls", "embedding"),
    ],
)
def test_questions_and_markup_find_the_term(query: str, title: str) -> None:
    result = define(query)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == title


def test_a_typo_says_what_it_is_showing() -> None:
    result = define("halucination")
    assert result.returncode == 0
    assert result.stdout.startswith("Showing results for 'hallucination'.")


def test_no_match_offers_suggestions_and_exits_1() -> None:
    result = define("supervised fine-tuning")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "No term called 'supervised fine-tuning'" in result.stderr
    assert "Did you mean: supervised learning (supervised-learning)" in result.stderr


def test_unrelated_words_find_nothing() -> None:
    result = define("quarterly revenue forecast")
    assert result.returncode == 1
    assert "Did you mean" not in result.stderr


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the ai-glossary corpus (../shared) is not present")
def test_a_shared_alias_lists_both_terms() -> None:
    result = define("supervised fine-tuning", "--terms", str(CORPUS))
    assert result.returncode == 1
    assert "could mean: fine-tuning (fine-tuning), instruction tuning (instruction-tuning)" in (
        result.stderr
    )
