"""`python -m bot cache`: fills the cache so that the next start parses and indexes nothing.

The Docker image runs it while it is built; these run it as a user (or the image) would, then
load the folder as the bot does and check that every term and the index came from the cache.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from test_cache_load import FIXTURES, cache_files
from test_cli_define_render_new import bot

from bot.glossary import cache as cache_module
from bot.glossary.cache import CachedTermFile, GlossaryCache, load_indexed
from bot.glossary.load import load_glossary
from bot.glossary.resolve import Glossary

BROKEN = "term: broken\naliases: [never closed\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "terms"
    shutil.copytree(FIXTURES / "render", folder)
    return folder


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


class NoBuilding:
    """Stands in for Glossary in the cache module: restoring a saved index is all it allows."""

    from_index_state = staticmethod(Glossary.from_index_state)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("the index was built, not restored from the cache")


def started_from(folder: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Glossary:
    """The folder loaded as the bot loads it, failing if any file is parsed or any index built."""
    monkeypatch.setattr(cache_module, "Glossary", NoBuilding)
    loaded, glossary = load_indexed(folder, GlossaryCache(cache_dir, keep_details=False))
    parsed = [f.path for f in loaded.files if not isinstance(f, CachedTermFile)]
    assert parsed == [], "parsed again instead of read from the cache"
    return glossary


class TestFillsTheCache:
    def test_the_next_start_parses_and_indexes_nothing(
        self, folder: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        run = bot("cache", folder, env={"GLOSSARY_CACHE_DIR": str(cache_dir)})
        terms = len(list(folder.glob("*.yml")))
        assert run.code == 0, run.err
        assert run.out == (
            f"Saved {terms} terms from {folder} in {cache_dir}: "
            "a start with these files reuses them.\n"
        )
        assert run.err == ""
        glossary = started_from(folder, cache_dir, monkeypatch)
        fresh = Glossary(load_glossary(folder).terms)
        assert glossary.index_state() == fresh.index_state()
        assert glossary.resolve("model card").slug == fresh.resolve("model card").slug

    def test_the_folder_comes_from_the_environment_as_for_the_bot(
        self, folder: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        env = {"GLOSSARY_CACHE_DIR": str(cache_dir), "GLOSSARY_TERMS_DIR": str(folder)}
        run = bot("cache", env=env)
        assert run.code == 0, run.err
        assert f"from {folder} in {cache_dir}" in run.out
        started_from(folder, cache_dir, monkeypatch)

    def test_running_it_again_keeps_the_cache(
        self, folder: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        env = {"GLOSSARY_CACHE_DIR": str(cache_dir)}
        assert bot("cache", folder, env=env).code == 0
        before = {p.name: p.read_bytes() for p in cache_dir.iterdir()}
        assert bot("cache", folder, env=env).code == 0
        assert {p.name: p.read_bytes() for p in cache_dir.iterdir()} == before
        started_from(folder, cache_dir, monkeypatch)

    def test_files_with_errors_are_listed_and_left_out_as_the_bot_leaves_them(
        self, folder: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (folder / "broken.yml").write_text(BROKEN)
        run = bot("cache", folder, env={"GLOSSARY_CACHE_DIR": str(cache_dir)})
        assert run.code == 0
        assert f"{folder / 'broken.yml'}:3:1: error: YAML syntax" in run.err
        assert run.out.endswith(" 1 file with errors left out (listed above).\n")
        glossary = started_from(folder, cache_dir, monkeypatch)
        assert "broken" not in glossary.terms


class TestWhenItCannot:
    def test_cache_off(self, folder: Path) -> None:
        run = bot("cache", folder, env={"GLOSSARY_CACHE_DIR": "off"})
        assert run.code == 2
        assert run.err == (
            "error: the cache is off (GLOSSARY_CACHE_DIR=off): there is nothing to save it in\n"
        )
        assert run.out == ""

    def test_a_cache_folder_that_cannot_be_made(self, folder: Path, tmp_path: Path) -> None:
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        run = bot("cache", folder, env={"GLOSSARY_CACHE_DIR": str(blocker / "cache")})
        assert run.code == 2
        assert "glossary cache: cannot" in run.err  # the reason, from the cache itself
        assert run.err.endswith(
            f"error: could not save the cache in {blocker / 'cache'} (the reason is above)\n"
        )

    def test_a_missing_glossary_folder(self, tmp_path: Path, cache_dir: Path) -> None:
        run = bot("cache", tmp_path / "nowhere", env={"GLOSSARY_CACHE_DIR": str(cache_dir)})
        assert run.code == 2
        assert "does not exist" in run.err
        assert not cache_dir.exists()


class TestHolds:
    """`GlossaryCache.holds`: what `cache` checks before it says the cache is saved."""

    def test_holds_a_load_once_its_index_is_written(self, folder: Path, cache_dir: Path) -> None:
        cache = GlossaryCache(cache_dir)
        loaded, _ = load_indexed(folder, cache)
        cache.wait()
        assert cache.holds(folder, loaded)

    def test_not_without_the_index(self, folder: Path, cache_dir: Path) -> None:
        cache = GlossaryCache(cache_dir)
        loaded = load_glossary(folder, cache=cache)  # terms only: no index is built
        assert not cache.holds(folder, loaded)

    def test_not_a_load_made_without_it(self, folder: Path, cache_dir: Path) -> None:
        cache = GlossaryCache(cache_dir)
        load_indexed(folder, cache)
        cache.wait()
        assert not cache.holds(folder, load_glossary(folder))

    def test_not_after_the_files_changed(self, folder: Path, cache_dir: Path) -> None:
        cache = GlossaryCache(cache_dir)
        load_indexed(folder, cache)
        cache.wait()
        (folder / "model-card.yml").unlink()
        changed = load_glossary(folder, cache=cache)  # saves the terms, not yet an index
        assert not cache.holds(folder, changed)

    @pytest.mark.parametrize("suffix", [".terms.jsonl", ".index.bin"])
    def test_not_when_a_file_is_damaged(self, folder: Path, cache_dir: Path, suffix: str) -> None:
        cache = GlossaryCache(cache_dir)
        loaded, _ = load_indexed(folder, cache)
        cache.wait()
        (damaged,) = cache_files(cache_dir, suffix)
        if suffix == ".index.bin":
            damaged.write_bytes(damaged.read_bytes()[:-100])  # its footer cut off
        else:  # one byte of a term changed, its checksum not
            data = bytearray(damaged.read_bytes())
            data[len(data) // 2] ^= 0x01
            damaged.write_bytes(bytes(data))
        assert not cache.holds(folder, loaded)
