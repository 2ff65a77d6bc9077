"""A small glossary built in code for the resolver tests, with the traits real glossaries have.

Every text here is written for these tests. The glossary has a name that is also another
term's alias, an alias shared by two terms, acronyms to derive, a compound name part and an
acronym the definition writes in capitals.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.glossary.model import RoleName, Status, Term, slugify
from bot.glossary.resolve import Glossary

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS_TERMS = SHARED / "corpora" / "ai-glossary" / "terms"
DEV_QUERIES = SHARED / "data" / "dev_queries.jsonl"
NO_CORPUS = "the ai-glossary corpus (../shared/corpora/ai-glossary) is not present"


def make_term(
    name: str,
    *aliases: str,
    text: str = "",
    categories: tuple[str, ...] = ("LLM Core",),
    roles: tuple[RoleName, ...] = ("engineering",),
    status: Status = Status.APPROVED,
) -> Term:
    """A valid term whose definitions say little beyond `text`."""
    body = text or f"A test entry for {name}."
    return Term(
        slug=slugify(name),
        term=name,
        aliases=list(aliases),
        categories=list(categories),
        roles=list(roles),
        part_of_speech="noun_phrase",
        short_def=body,
        long_def=body,
        audiences={"exec": body, "engineer": body},
        examples={"do": ["Use it."], "dont": ["Misuse it."]},
        governance={},
        relationships={},
        citations=[],
        license="CC BY-SA 4.0",
        status=status,
        last_reviewed=date(2026, 1, 1),
    )


TERMS = (
    make_term("retrieval-augmented generation", "RAG", categories=("Retrieval & RAG",)),
    make_term("reinforcement learning from human feedback", "rlhf"),
    make_term("mixture of experts"),
    make_term("kv cache", "key-value cache", text="The KV cache keeps attention state."),
    make_term("function calling", "tool calling", categories=("Agents & Tooling",)),
    make_term("tool use", "function calling", categories=("Agents & Tooling",)),
    make_term("fine-tuning", "supervised fine-tuning", roles=("data_science",)),
    make_term("instruction tuning", "supervised fine-tuning", "instruction fine-tuning"),
    make_term("top-p sampling", "nucleus sampling"),
    make_term("top-k sampling"),
    make_term("hallucination", "confabulation", status=Status.REVIEWED),
    make_term("embedding", categories=("Retrieval & RAG",)),
    make_term("overfitting", categories=("Foundations",)),
    make_term("reward model"),
    make_term("knowledge distillation", "teacher-student training"),
    make_term("content moderation", "trust and safety", categories=("Governance & Risk",)),
    make_term("test set", categories=("Foundations",)),
    make_term("data lineage", categories=("Operations",)),
    make_term("data pipeline", categories=("Operations",)),
    make_term("constitutional ai", categories=("Governance & Risk",)),
    make_term(
        "differential privacy",
        "DP",
        text="Calibrated noise bounds what any one record can reveal.",
        categories=("Governance & Risk",),
        roles=("legal", "security"),
    ),
    make_term(
        "privacy budget",
        "differential privacy budget",
        text="The total privacy loss a release may spend; each query spends some of it.",
        categories=("Governance & Risk",),
        roles=("legal",),
    ),
    make_term("context window"),
    make_term("diffusion model", "denoising diffusion model"),
    make_term("chain-of-thought prompting"),
    make_term("model interpretability", "explainability", categories=("Governance & Risk",)),
    make_term("prompt registry", categories=("Operations",)),
    make_term("roc auc", text="ROC AUC summarises ranking quality.", categories=("Foundations",)),
    make_term("escalation policy", status=Status.DRAFT),
    make_term("algorithmic bias", categories=("Governance & Risk",)),
    make_term("confusion matrix", categories=("Foundations",)),
    make_term("gradient descent", categories=("Foundations",)),
    make_term("temperature"),
    make_term("prompt injection", status=Status.DEPRECATED),
)


def small_glossary() -> Glossary:
    return Glossary(TERMS)
