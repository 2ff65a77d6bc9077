"""Work the cache hands to child processes gives exactly the load it would give by itself.

Many term files to parse (a first start) are parsed in forked workers; at a cached start, a
forked child hashes the term files while this process rebuilds the cached terms. Both are only
ways to be quicker: the files, terms, problems (with their lines), data and positions are the
same as a plain load's, and anything that goes wrong in a child means doing the work here.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import zlib
from pathlib import Path
from typing import Any

import pytest
from test_cache_load import FIXTURES, cache_files, forge, report, snapshot, term_folder

from bot.glossary import cache as cache_module
from bot.glossary.cache import CachedTermFile, GlossaryCache
from bot.glossary.load import load_glossary


def with_crc(data: bytes) -> bytes:
    """A terms file's bytes with the CRC line that matches the rest."""
    body = data[: data.rindex(b"\n", 0, len(data) - 1) + 1]
    return body + json.dumps({"crc32": zlib.crc32(body)}).encode() + b"\n"


BROKEN_YAML = "term: broken\naliases: [a, b\nshort_def: never closed\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = term_folder(tmp_path, corpus=True)
    (folder / "broken-yaml.yml").write_text(BROKEN_YAML)
    return folder


@pytest.fixture
def in_children(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Children for any number of files, and a record of what each child step returned."""
    if not cache_module._worker_count():
        pytest.skip("needs Linux, two CPUs and a single thread")
    monkeypatch.setattr(cache_module, "CHILD_PROCESS_MIN_FILES", 1)
    calls: dict[str, list[Any]] = {"workers": [], "hashes": []}
    parse_in_workers = cache_module._parse_in_workers
    start_hashing = cache_module._ChildHashes.start

    def recorded_parse(*args: Any) -> Any:
        calls["workers"].append(result := parse_in_workers(*args))
        return result

    def recorded_start(paths: list[str]) -> Any:
        calls["hashes"].append(result := start_hashing(paths))
        return result

    monkeypatch.setattr(cache_module, "_parse_in_workers", recorded_parse)
    monkeypatch.setattr(cache_module._ChildHashes, "start", staticmethod(recorded_start))
    return calls


class TestParsedInWorkers:
    @pytest.mark.parametrize("keep_details", [True, False], ids=["validate", "bot"])
    def test_same_files_terms_and_problems_as_parsed_here(
        self, folder: Path, tmp_path: Path, in_children: dict[str, list[Any]], keep_details: bool
    ) -> None:
        plain = load_glossary(folder)
        loaded = load_glossary(
            folder, cache=GlossaryCache(tmp_path / "c", keep_details=keep_details)
        )
        assert len(in_children["workers"]) == 1
        assert in_children["workers"][0] is not None
        assert snapshot(loaded) == snapshot(plain)
        assert loaded.terms == plain.terms
        assert loaded.problems == plain.problems
        assert report(loaded) == report(plain)
        broken = str(folder / "broken-yaml.yml")
        assert [str(p) for p in loaded.problems if p.path == broken] == [
            f"{broken}:3:10: error: YAML syntax: did not find expected ',' or ']'"
        ]

    def test_what_workers_wrote_is_what_the_next_load_reads(
        self, folder: Path, tmp_path: Path, in_children: dict[str, list[Any]]
    ) -> None:
        load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        again = load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        assert all(isinstance(f, CachedTermFile) for f in again.files if f.term is not None)
        assert snapshot(again) == snapshot(load_glossary(folder))

    def test_workers_that_fail_mean_parsing_here(
        self,
        folder: Path,
        tmp_path: Path,
        in_children: dict[str, list[Any]],
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        def broken(*args: Any) -> Any:
            raise MemoryError("a worker ran out of memory")

        monkeypatch.setattr(cache_module, "_parse_chunk", broken)
        monkeypatch.setattr(cache_module, "_warned", set())
        with caplog.at_level(logging.WARNING, logger="bot.glossary.cache"):
            loaded = load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        assert in_children["workers"] == [None]
        assert snapshot(loaded) == snapshot(load_glossary(folder))
        assert "cannot parse in worker processes" in caplog.text

    def test_no_workers_beside_other_threads(self, folder: Path, tmp_path: Path) -> None:
        """A reload runs beside the server's threads: forking then is not safe."""
        stop = threading.Event()
        other = threading.Thread(target=stop.wait)
        other.start()
        try:
            assert not cache_module._can_fork()
            assert cache_module._worker_count() == 0
            assert cache_module._ChildHashes.start([str(folder / "model-card.yml")]) is None
        finally:
            stop.set()
            other.join()


class TestHashedInAChild:
    def test_unchanged_files_are_reused(
        self, folder: Path, tmp_path: Path, in_children: dict[str, list[Any]]
    ) -> None:
        load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        cached = load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        assert in_children["hashes"][-1] is not None
        assert all(isinstance(f, CachedTermFile) for f in cached.files if f.term is not None)
        assert snapshot(cached) == snapshot(load_glossary(folder))

    def test_the_log_says_nothing_was_parsed(
        self,
        folder: Path,
        tmp_path: Path,
        in_children: dict[str, list[Any]],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        with caplog.at_level(logging.INFO, logger="bot.glossary.cache"):
            load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        count = len(list(folder.glob("*.y*ml")))
        assert in_children["hashes"][-1] is not None
        assert [r.getMessage() for r in caplog.records] == [
            f"glossary cache: {count} files read from the cache, none parsed"
        ]

    def test_edited_deleted_and_added_files(
        self, folder: Path, tmp_path: Path, in_children: dict[str, list[Any]]
    ) -> None:
        load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        edited = folder / "model-card.yml"
        before = edited.stat()
        edited.write_text(edited.read_text().replace("term: model card", "term: model carD"))
        os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))  # same size and time
        (folder / "feature-store.yml").unlink()
        shutil.copy(FIXTURES / "render" / "expert-system.yml", folder / "expert-system.yml")
        (folder / "broken-yaml.yml").write_text("term: fixed\n")

        cached = load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        assert in_children["hashes"][-1] is not None
        assert snapshot(cached) == snapshot(load_glossary(folder))
        names = {t.slug: t.term for t in cached.terms}
        assert names["model-card"] == "model carD"
        assert "feature-store" not in names
        assert names["expert-system"] == "expert system"
        # The cache written then, with the unchanged files' old lines, serves the next load.
        again = load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        assert all(isinstance(f, CachedTermFile) for f in again.files if f.term is not None)
        assert snapshot(again) == snapshot(cached)

    def test_a_child_that_fails_means_hashing_here(
        self,
        folder: Path,
        tmp_path: Path,
        in_children: dict[str, list[Any]],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        edited = folder / "model-card.yml"
        edited.write_text(edited.read_text().replace("term: model card", "term: model cards"))

        def broken(path: str) -> str:
            raise MemoryError("the child ran out of memory")

        monkeypatch.setattr(cache_module, "_sha256_of_file", broken)  # in the child
        cached = load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        assert snapshot(cached) == snapshot(load_glossary(folder))
        assert {t.slug: t.term for t in cached.terms}["model-card"] == "model cards"

    def test_a_cached_term_that_fails_the_model_is_never_served(
        self, folder: Path, tmp_path: Path, in_children: dict[str, list[Any]]
    ) -> None:
        load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        (path,) = cache_files(tmp_path / "c")
        forge(path, rb'"status":"[a-z]+"', b'"status":"published"')
        cached = load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        assert in_children["hashes"][-1] is not None
        assert snapshot(cached) == snapshot(load_glossary(folder))

    def test_a_forged_term_with_a_good_checksum_is_read(
        self, folder: Path, tmp_path: Path, in_children: dict[str, list[Any]]
    ) -> None:
        """The control for the test above: the forged file is read when it passes the model."""
        load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        (path,) = cache_files(tmp_path / "c")
        forge(path, rb'"term":"model card"', b'"term":"model cord"')
        cached = load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        assert {t.slug: t.term for t in cached.terms}["model-card"] == "model cord"

    @pytest.mark.parametrize(
        "damage",
        [
            pytest.param(lambda b: b[: len(b) // 2], id="cut-short"),
            pytest.param(lambda b: b.replace(b'"model card"', b'"model cord"', 1), id="edited"),
            pytest.param(
                lambda b: with_crc(b.replace(b"\n", b"\nnull\n[]\n", 1)), id="extra-entry"
            ),
        ],
    )
    def test_a_damaged_cache_file_is_ignored_and_written_again(
        self, folder: Path, tmp_path: Path, in_children: dict[str, list[Any]], damage: Any
    ) -> None:
        load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        (path,) = cache_files(tmp_path / "c")
        path.write_bytes(damage(path.read_bytes()))
        expected = snapshot(load_glossary(folder))
        assert snapshot(load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))) == expected
        again = load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
        assert all(isinstance(f, CachedTermFile) for f in again.files if f.term is not None)
        assert snapshot(again) == expected

    @pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads all")
    def test_an_unreadable_file_is_reported_not_reused(
        self, folder: Path, tmp_path: Path, in_children: dict[str, list[Any]]
    ) -> None:
        locked = folder / "model-card.yml"
        locked.chmod(0)
        try:
            load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
            cached = load_glossary(folder, cache=GlossaryCache(tmp_path / "c"))
            assert snapshot(cached) == snapshot(load_glossary(folder))
            assert any(p.rule == "unreadable" for p in cached.problems)
        finally:
            locked.chmod(0o644)
