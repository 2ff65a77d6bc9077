"""Parsing without keeping positions gives the same term, data and problems (with lines)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cache_load import ODD_FILES, term_folder

from bot.glossary.load import TermFile, parse_term_text, term_file_names, term_paths


def files(tmp_path: Path) -> list[Path]:
    folder = term_folder(tmp_path, corpus=True)
    (folder / "bad-field.yml").write_text(
        "term: a\naliases: [x, 3]\nroles: [nobody]\nshort_def: ''\n"
    )
    return term_paths(folder)


def parse(path: Path, *, positions: bool) -> TermFile:
    return parse_term_text(
        path.read_bytes(), TermFile(path=str(path), slug=path.stem), positions=positions
    )


def test_same_outcome_with_and_without_positions(tmp_path: Path) -> None:
    for path in files(tmp_path):
        full, lean = parse(path, positions=True), parse(path, positions=False)
        assert (lean.term, lean.data, lean.problems) == (full.term, full.data, full.problems)
        if not full.problems:
            assert lean.positions == {}  # not recorded: that is the point


def test_schema_errors_keep_their_lines_without_positions(tmp_path: Path) -> None:
    (path,) = [p for p in files(tmp_path) if p.name == "bad-field.yml"]
    problems = [(p.line, p.col, p.rule) for p in parse(path, positions=False).problems]
    assert (2, 14, "schema") in problems  # aliases[1], the 3
    assert (3, 9, "schema") in problems  # roles[0]


@pytest.mark.parametrize("name", sorted(ODD_FILES))
def test_odd_yaml_without_positions(tmp_path: Path, name: str) -> None:
    (path,) = [p for p in files(tmp_path) if p.name == name]
    full, lean = parse(path, positions=True), parse(path, positions=False)
    assert (lean.term, lean.data, lean.problems) == (full.term, full.data, full.problems)


def test_names_are_those_of_the_paths(tmp_path: Path) -> None:
    folder = term_folder(tmp_path)
    assert [folder / name for name in term_file_names(folder)] == term_paths(folder)
