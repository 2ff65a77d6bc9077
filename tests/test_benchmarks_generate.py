"""The benchmark's synthetic glossary: valid, realistic in shape, and the same for one seed."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.glossary.load import load_glossary
from bot.glossary.resolve import Glossary
from bot.glossary.validate import validate_glossary

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # benchmarks/ is a folder of the repository, not a package
    sys.path.insert(0, str(REPO))

from benchmarks.generate import load_manifest, write_glossary  # noqa: E402

COUNT = 300


def test_every_term_is_valid_and_names_are_varied(tmp_path: Path) -> None:
    folder = write_glossary(tmp_path, COUNT, seed=3) / "terms"
    loaded = load_glossary(folder)
    report = validate_glossary(loaded)
    assert report.files == COUNT
    assert report.errors == 0, [str(p) for p in report.problems][:5]
    names = [t.term for t in loaded.terms]
    assert len({n.casefold() for n in names}) == COUNT
    assert any("-" in n for n in names)  # hyphenated modifiers
    assert any(any(w.isupper() and len(w) > 1 for w in n.split()) for n in names)  # acronyms
    assert all(len(n.split()) >= 2 for n in names)
    assert sum(len(t.aliases) for t in loaded.terms) > COUNT


def test_same_seed_same_files(tmp_path: Path) -> None:
    first = write_glossary(tmp_path / "a", 120, seed=5) / "terms"
    second = write_glossary(tmp_path / "b", 120, seed=5) / "terms"
    other = write_glossary(tmp_path / "c", 120, seed=6) / "terms"
    read = {p.name: p.read_bytes() for p in first.iterdir()}
    assert read == {p.name: p.read_bytes() for p in second.iterdir()}
    assert read != {p.name: p.read_bytes() for p in other.iterdir()}


def test_labelled_queries_name_the_terms_they_say(tmp_path: Path) -> None:
    """Exact, alias and acronym queries are answered with their term; the others name none."""
    folder = write_glossary(tmp_path, COUNT, seed=3)
    glossary = Glossary(load_glossary(folder / "terms").terms)
    queries = load_manifest(folder)["queries"]
    for kind in ("exact", "alias", "acronym"):
        assert queries[kind]
        assert all(glossary.resolve(q).slug == slug for q, slug in queries[kind]), kind
    assert all(glossary.resolve(q).term is None for q, _ in queries["not_found"])
    typos = queries["typo"]
    assert sum(glossary.resolve(q).slug == slug for q, slug in typos) >= 0.9 * len(typos)
