"""Our starter glossary: big enough, varied, clean, portable to the ai-glossary format, and ours."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from bot.glossary.load import load_glossary
from bot.glossary.model import ROLE_NAMES
from bot.glossary.validate import validate_glossary

REPO = Path(__file__).resolve().parents[1]
TERMS = REPO / "terms"
SHARED = REPO.parent / "shared" / "corpora" / "ai-glossary"
SCHEMA = SHARED / "term.schema.json"

needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason="the ai-glossary corpus (../shared) is not present"
)


@pytest.fixture(scope="module")
def starter():  # type: ignore[no-untyped-def]
    return load_glossary(TERMS)


def test_at_least_40_terms_load_without_problems(starter) -> None:  # type: ignore[no-untyped-def]
    report = validate_glossary(starter)
    assert report.files >= 40
    assert len(starter.terms) == report.files
    assert report.problems == ()


def test_six_categories_and_all_seven_roles(starter) -> None:  # type: ignore[no-untyped-def]
    categories = {c for t in starter.terms for c in t.categories}
    roles = {r for t in starter.terms for r in t.roles}
    assert len(categories) >= 6
    assert roles == set(ROLE_NAMES)


def test_citations_are_https_links(starter) -> None:  # type: ignore[no-untyped-def]
    for term in starter.terms:
        for citation in term.citations:
            assert citation.url.startswith("https://"), (term.slug, citation.url)


@needs_shared
@pytest.mark.parametrize("path", sorted(TERMS.glob("*.yml")), ids=lambda p: p.name)
def test_valid_under_the_ai_glossary_schema(path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


def _shingles(text: str, size: int = 8) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def _prose(data: dict[str, object]) -> str:
    """The written sentences of a term: definitions, framings, examples and risk notes."""
    audiences = data.get("audiences") or {}
    examples = data.get("examples") or {}
    governance = data.get("governance") or {}
    assert isinstance(audiences, dict)
    assert isinstance(examples, dict)
    assert isinstance(governance, dict)
    parts = [
        data.get("short_def"),
        data.get("long_def"),
        *audiences.values(),
        *examples.get("do", []),
        *examples.get("dont", []),
        governance.get("risk_notes"),
    ]
    return "\n".join(str(p) for p in parts if p)


@needs_shared
def test_no_sentence_is_taken_from_the_ai_glossary() -> None:
    """Every sentence in terms/ is ours: no run of eight words matches the public corpus."""
    theirs: set[str] = set()
    for path in (SHARED / "terms").glob("*.yml"):
        theirs |= _shingles(_prose(yaml.safe_load(path.read_text())))
    for path in sorted(TERMS.glob("*.yml")):
        shared = _shingles(_prose(yaml.safe_load(path.read_text()))) & theirs
        assert not shared, f"{path.name} repeats: {sorted(shared)[:3]}"
