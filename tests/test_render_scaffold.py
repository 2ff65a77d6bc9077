"""The `new` scaffold: structurally valid YAML with every field, and TODO in every placeholder."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.glossary.load import load_term_file
from bot.glossary.model import FIELD_ORDER, ROLE_NAMES, Status, slugify
from bot.glossary.scaffold import PLACEHOLDER_MARKER, PLACEHOLDER_URL, scaffold_term

TODAY = date(2026, 1, 15)
NAMES = [
    "Prompt injection",
    "k-nearest neighbours",
    'Retrieval: "augmented" #generation',
    "Café  au   lait",
    "yes",  # a YAML 1.1 boolean when left unquoted
    "- dash first",
]


def write_scaffold(folder: Path, name: str) -> Path:
    path = folder / f"{slugify(name)}.yml"
    path.write_text(scaffold_term(name, TODAY), encoding="utf-8")
    return path


def free_text_values(data: Any, where: str = "") -> list[tuple[str, str]]:
    """Every string in the scaffold outside the fields whose values come from fixed lists."""
    if isinstance(data, dict):
        return [pair for k, v in data.items() for pair in free_text_values(v, f"{where}.{k}")]
    if isinstance(data, list):
        return [pair for i, v in enumerate(data) for pair in free_text_values(v, f"{where}[{i}]")]
    if isinstance(data, str):
        return [(where, data)]
    return []


class TestScaffold:
    """scaffold_term writes a complete term that loads, and that validation rejects."""

    @pytest.mark.parametrize("name", NAMES)
    def test_loads_without_schema_problems(self, tmp_path: Path, name: str) -> None:
        loaded = load_term_file(write_scaffold(tmp_path, name))
        assert loaded.problems == []
        assert loaded.term is not None
        assert loaded.term.term == " ".join(name.split())
        assert loaded.term.status is Status.DRAFT
        assert loaded.term.last_reviewed == TODAY

    def test_every_field_is_present_in_the_formats_order(self) -> None:
        data = yaml.safe_load(scaffold_term("Prompt injection", TODAY))
        assert tuple(data) == FIELD_ORDER

    def test_every_free_text_placeholder_says_todo(self) -> None:
        data = yaml.safe_load(scaffold_term("Prompt injection", TODAY))
        fixed = {".term", ".part_of_speech", ".status"} | {f".roles[{i}]" for i in range(7)}
        texts = [(where, text) for where, text in free_text_values(data) if where not in fixed]
        assert len(texts) >= 16
        for where, text in texts:
            assert re.search(rf"\b{PLACEHOLDER_MARKER}\b", text), where

    def test_free_text_fields_start_with_todo_and_lists_hold_todo_items(self) -> None:
        data = yaml.safe_load(scaffold_term("Prompt injection", TODAY))
        for field in ("short_def", "long_def", "license"):
            assert data[field].startswith("TODO"), field
        for field in ("aliases", "categories"):
            assert data[field][0].startswith("TODO: "), field
        assert data["examples"]["do"][0].startswith("TODO: ")
        assert data["examples"]["dont"][0].startswith("TODO: ")
        assert data["citations"] == [{"source": "TODO: publisher - title", "url": PLACEHOLDER_URL}]
        assert PLACEHOLDER_URL == "https://example.com/TODO"

    def test_every_role_is_offered_for_the_author_to_trim(self) -> None:
        data = yaml.safe_load(scaffold_term("Prompt injection", TODAY))
        assert data["roles"] == list(ROLE_NAMES)

    def test_each_field_has_a_comment_explaining_it(self) -> None:
        text = scaffold_term("Prompt injection", TODAY)
        lines = text.splitlines()
        for field in FIELD_ORDER:
            at = lines.index(next(line for line in lines if line.startswith(f"{field}:")))
            assert lines[at - 1].startswith("# "), field

    def test_is_deterministic_for_a_name_and_a_date(self) -> None:
        assert scaffold_term("Prompt injection", TODAY) == scaffold_term("Prompt injection", TODAY)
        assert "last_reviewed: 2026-01-15\n" in scaffold_term("Prompt injection", TODAY)
