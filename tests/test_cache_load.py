"""The term cache: a cached load is the same load, it follows every file change, and it never
trusts a cache file it should not (damaged, from other code, or writable by someone else)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import zlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.glossary.cache import CachedTermFile, GlossaryCache
from bot.glossary.load import LoadedGlossary, TermFile, load_glossary
from bot.glossary.validate import validate_glossary

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
CORPUS = REPO.parent / "shared" / "corpora" / "ai-glossary" / "terms"
TODAY = date(2026, 12, 1)

# Files a cache must carry exactly, beside the fixtures: YAML that is not plain mappings of text.
ODD_FILES = {
    "dates-and-numbers.yml": "term: a\nn: 12\nf: 1.5\nb: yes\nz: ~\nd: 2026-01-01\n",
    "datetime.yml": "term: a\nwhen: 2026-01-01 10:00:00+02:00\n",
    "anchors.yml": "term: a\nbase: &b {x: 1}\nother:\n  <<: *b\n  y: 2\nagain: *b\n",
    "a-set.yml": "term: a\nset: !!set {a, b}\n",
    "binary.yml": "term: a\nbin: !!binary aGVsbG8=\n",
    "custom-tag.yml": "term: a\nx: !custom 1\n",
    "int-key.yml": "term: a\n1: x\n",
    "bad-date.yml": "term: a\nlast_reviewed: 2026-13-45\n",
    "self-alias.yml": "term: a\nx: &a [*a]\n",
    "nested-duplicate.yml": "term: a\nx: {a: 1, a: 2}\n",
    "nul-key.yml": 'term: a\n"\\0date": "2026-01-01"\n',
    "empty.yml": "",
    "a-list.yml": "- a\n- b\n",
}


def term_folder(tmp_path: Path, *, corpus: bool = False) -> Path:
    """Fixture terms (valid and broken) plus odd YAML, in a folder of their own."""
    folder = tmp_path / "terms"
    folder.mkdir()
    sources = [FIXTURES / "valid", FIXTURES / "invalid", REPO / "terms"]
    if corpus and CORPUS.is_dir():
        sources.append(CORPUS)
    for source in sources:
        for path in source.glob("*.y*ml"):
            shutil.copy(path, folder / path.name)
    for name, text in ODD_FILES.items():
        (folder / name).write_text(text)
    return folder


def snapshot(loaded: LoadedGlossary) -> list[tuple[Any, ...]]:
    """Everything a load says about each file, in a form that compares by value."""
    out = []
    for f in loaded.files:
        term = f.term
        out.append(
            (
                f.path,
                f.slug,
                None if term is None else term.model_dump(),
                None if term is None else term.model_dump(mode="json", exclude_unset=True),
                f.data,
                dict(f.positions),
                list(f.problems),
            )
        )
    return out


def report(loaded: LoadedGlossary) -> list[str]:
    return [str(p) for p in validate_glossary(loaded, today=TODAY).problems]


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


class TestSameAsUncached:
    """A load through the cache gives exactly what a plain load gives, hit or miss."""

    def test_first_and_second_load_equal_plain_load(self, tmp_path: Path, cache_dir: Path) -> None:
        folder = term_folder(tmp_path, corpus=True)
        plain = load_glossary(folder)
        first = load_glossary(folder, cache=GlossaryCache(cache_dir))
        second = load_glossary(folder, cache=GlossaryCache(cache_dir))
        assert any(isinstance(f, CachedTermFile) for f in second.files)
        assert snapshot(first) == snapshot(plain)
        assert snapshot(second) == snapshot(plain)
        assert second.terms == plain.terms
        assert second.problems == plain.problems

    def test_validation_report_is_the_same(self, tmp_path: Path, cache_dir: Path) -> None:
        """Errors and warnings, with their lines, whether the files came from the cache or not."""
        folder = term_folder(tmp_path, corpus=True)
        expected = report(load_glossary(folder))
        load_glossary(folder, cache=GlossaryCache(cache_dir))
        assert report(load_glossary(folder, cache=GlossaryCache(cache_dir))) == expected
        assert any(":12:1: error: short_def has 50 words" in line for line in expected)

    def test_details_not_kept_are_read_again_from_the_file(
        self, tmp_path: Path, cache_dir: Path
    ) -> None:
        """The bot's cache keeps no data or positions in memory; asking for them still works."""
        folder = term_folder(tmp_path)
        plain = load_glossary(folder)
        load_glossary(folder, cache=GlossaryCache(cache_dir, keep_details=False))
        lean = load_glossary(folder, cache=GlossaryCache(cache_dir, keep_details=False))
        assert snapshot(lean) == snapshot(plain)
        assert report(lean) == report(plain)

    def test_the_same_folder_named_another_way_reports_its_own_paths(
        self, tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        folder = term_folder(tmp_path)
        load_glossary(folder, cache=GlossaryCache(cache_dir))
        monkeypatch.chdir(tmp_path)
        relative = load_glossary(Path("terms"), cache=GlossaryCache(cache_dir))
        assert all(f.path.startswith("terms/") for f in relative.files)
        assert snapshot(relative) == snapshot(load_glossary(Path("terms")))


class TestChanges:
    """An edited file is parsed again, a deleted one dropped, a new one added."""

    def test_edit_delete_add(self, tmp_path: Path, cache_dir: Path) -> None:
        folder = term_folder(tmp_path)
        load_glossary(folder, cache=GlossaryCache(cache_dir))
        edited = folder / "model-card.yml"
        edited.write_text(edited.read_text().replace("term: model card", "term: model cards"))
        (folder / "feature-store.yml").unlink()
        shutil.copy(FIXTURES / "render" / "expert-system.yml", folder / "expert-system.yml")

        cached = load_glossary(folder, cache=GlossaryCache(cache_dir))
        assert snapshot(cached) == snapshot(load_glossary(folder))
        names = {t.slug: t.term for t in cached.terms}
        assert names["model-card"] == "model cards"
        assert "feature-store" not in names
        assert names["expert-system"] == "expert system"

    def test_same_size_and_time_still_counts_as_changed(
        self, tmp_path: Path, cache_dir: Path
    ) -> None:
        """Files are compared by their bytes, not by size or modification time."""
        folder = term_folder(tmp_path)
        load_glossary(folder, cache=GlossaryCache(cache_dir))
        path = folder / "model-card.yml"
        before = path.stat()
        path.write_text(path.read_text().replace("term: model card", "term: model carD"))
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert path.stat().st_size == before.st_size

        cached = load_glossary(folder, cache=GlossaryCache(cache_dir))
        assert {t.slug: t.term for t in cached.terms}["model-card"] == "model carD"

    def test_a_fixed_file_stops_reporting_its_error(self, tmp_path: Path, cache_dir: Path) -> None:
        folder = term_folder(tmp_path)
        load_glossary(folder, cache=GlossaryCache(cache_dir))
        shutil.copy(FIXTURES / "valid" / "feature-store.yml", folder / "not-utf8.yml")
        cached = load_glossary(folder, cache=GlossaryCache(cache_dir))
        assert not [p for p in cached.problems if p.rule == "not-utf8"]
        assert snapshot(cached) == snapshot(load_glossary(folder))


class TestReloadThroughOneCache:
    """A bot reloads through the cache it started with: the term of a file whose bytes did not
    change is the one already in memory, so the old glossary and the new share it (one copy,
    not two), and every change still shows."""

    def test_unchanged_files_give_the_same_terms(self, tmp_path: Path, cache_dir: Path) -> None:
        folder = term_folder(tmp_path)
        cache = GlossaryCache(cache_dir, keep_details=False)
        first = load_glossary(folder, cache=cache)
        edited = folder / "model-card.yml"
        edited.write_text(edited.read_text().replace("term: model card", "term: model cards"))

        second = load_glossary(folder, cache=cache)
        assert snapshot(second) == snapshot(load_glossary(folder))
        before = {t.source_path: t for t in first.terms}
        shared = 0
        for term in second.terms:
            if term.source_path == str(edited):
                assert term is not before[term.source_path]
                assert term.term == "model cards"
            else:
                assert term is before[term.source_path]
                shared += 1
        assert shared == len(first.terms) - 1
        third = load_glossary(folder, cache=cache)
        assert snapshot(third) == snapshot(load_glossary(folder))
        assert all(a is b for a, b in zip(third.terms, second.terms, strict=True))

    def test_another_cache_file_shares_nothing(self, tmp_path: Path, cache_dir: Path) -> None:
        """Terms are shared only when the cache file is of exactly the files last loaded: one
        written by another process for other bytes of a file is read, not trusted to match."""
        folder = term_folder(tmp_path)
        cache = GlossaryCache(cache_dir, keep_details=False)
        first = load_glossary(folder, cache=cache)
        path = folder / "model-card.yml"
        path.write_text(path.read_text().replace("term: model card", "term: model cards"))
        load_glossary(folder, cache=GlossaryCache(cache_dir, keep_details=False))  # elsewhere

        again = load_glossary(folder, cache=cache)
        assert snapshot(again) == snapshot(load_glossary(folder))
        assert not {id(t) for t in again.terms} & {id(t) for t in first.terms}

    def test_a_file_changed_back_is_its_old_self_again(
        self, tmp_path: Path, cache_dir: Path
    ) -> None:
        folder = term_folder(tmp_path)
        cache = GlossaryCache(cache_dir, keep_details=False)
        load_glossary(folder, cache=cache)
        path = folder / "model-card.yml"
        original = path.read_text()
        path.write_text(original.replace("term: model card", "term: model cards"))
        assert {t.slug: t.term for t in load_glossary(folder, cache=cache).terms}[
            "model-card"
        ] == "model cards"
        path.write_text(original)
        reverted = load_glossary(folder, cache=cache)
        assert {t.slug: t.term for t in reverted.terms}["model-card"] == "model card"
        assert snapshot(reverted) == snapshot(load_glossary(folder))

    def test_problems_are_not_counted_twice(self, tmp_path: Path, cache_dir: Path) -> None:
        """A shared file's problems are its own list, read again, never added to."""
        folder = term_folder(tmp_path)
        cache = GlossaryCache(cache_dir)
        expected = report(load_glossary(folder))
        for _ in range(3):
            loaded = load_glossary(folder, cache=cache)
            assert report(loaded) == expected
            assert loaded.problems == load_glossary(folder).problems


def cache_files(cache_dir: Path, suffix: str = ".terms.jsonl") -> list[Path]:
    return sorted(cache_dir.glob(f"*{suffix}"))


def forge(path: Path, pattern: bytes, replacement: bytes) -> None:
    """Edit a cache file's entries and give it the checksum that matches them."""
    lines = path.read_bytes().splitlines(keepends=True)
    body = [re.sub(pattern, replacement, line, count=1) for line in lines[:-1]]
    assert body != lines[:-1], "nothing to forge"
    trailer = json.dumps({"crc32": zlib.crc32(b"".join(body))}).encode() + b"\n"
    path.write_bytes(b"".join([*body, trailer]))


class TestUntrustedCacheFiles:
    """A damaged, foreign or unsafe cache file is ignored, and the load is still right."""

    @pytest.mark.parametrize(
        "damage",
        [
            pytest.param(lambda b: b[: len(b) // 2], id="cut-short"),
            pytest.param(lambda b: b.replace(b'"model card"', b'"model cord"', 1), id="edited"),
            pytest.param(lambda b: b"not json at all\n" + b, id="garbage-header"),
            pytest.param(lambda b: b"", id="empty"),
            pytest.param(lambda b: b.replace(b'"version":1', b'"version":99', 1), id="version"),
            pytest.param(lambda b: b.replace(b'"code":"', b'"code":"0', 1), id="other-code"),
        ],
    )
    def test_damaged_or_foreign_file_is_ignored(
        self, tmp_path: Path, cache_dir: Path, damage: Any
    ) -> None:
        folder = term_folder(tmp_path)
        expected = snapshot(load_glossary(folder))
        load_glossary(folder, cache=GlossaryCache(cache_dir))
        (path,) = cache_files(cache_dir)
        path.write_bytes(damage(path.read_bytes()))

        assert snapshot(load_glossary(folder, cache=GlossaryCache(cache_dir))) == expected
        # ...and it was replaced by a good one, which the next load uses.
        again = load_glossary(folder, cache=GlossaryCache(cache_dir))
        assert any(isinstance(f, CachedTermFile) for f in again.files)
        assert snapshot(again) == expected

    def test_a_term_that_fails_the_model_is_never_served(
        self, tmp_path: Path, cache_dir: Path
    ) -> None:
        """Even with a matching checksum, cached terms go through the same model as YAML."""
        folder = term_folder(tmp_path)
        expected = snapshot(load_glossary(folder))
        load_glossary(folder, cache=GlossaryCache(cache_dir))
        (path,) = cache_files(cache_dir)
        forge(path, rb'"status":"[a-z]+"', b'"status":"published"')
        assert snapshot(load_glossary(folder, cache=GlossaryCache(cache_dir))) == expected

    def test_folder_others_can_write_is_not_used(
        self, tmp_path: Path, cache_dir: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        folder = term_folder(tmp_path)
        cache_dir.mkdir()
        cache_dir.chmod(0o777)
        with caplog.at_level(logging.WARNING, logger="bot.glossary.cache"):
            loaded = load_glossary(folder, cache=GlossaryCache(cache_dir))
            load_glossary(folder, cache=GlossaryCache(cache_dir))
        assert snapshot(loaded) == snapshot(load_glossary(folder))
        assert cache_files(cache_dir) == []
        warnings = [r for r in caplog.records if "only this user can write" in r.getMessage()]
        assert len(warnings) == 1  # said once, not at every load

    def test_file_others_can_write_is_not_read(self, tmp_path: Path, cache_dir: Path) -> None:
        """Someone else could have planted well-formed but wrong definitions in it."""
        folder = term_folder(tmp_path)
        load_glossary(folder, cache=GlossaryCache(cache_dir))
        (path,) = cache_files(cache_dir)
        forge(path, rb'"term":"model card"', b'"term":"model cord"')
        path.chmod(0o666)
        reloaded = load_glossary(folder, cache=GlossaryCache(cache_dir))
        assert snapshot(reloaded) == snapshot(load_glossary(folder))
        # It was not trusted, so it was written again, safely.
        (path,) = cache_files(cache_dir)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

    def test_forged_file_with_a_good_checksum_is_read_when_trusted(
        self, tmp_path: Path, cache_dir: Path
    ) -> None:
        """The control for the two tests around it: `forge` makes a file the cache accepts."""
        folder = term_folder(tmp_path)
        load_glossary(folder, cache=GlossaryCache(cache_dir))
        (path,) = cache_files(cache_dir)
        forge(path, rb'"term":"model card"', b'"term":"model cord"')
        names = {
            t.slug: t.term for t in load_glossary(folder, cache=GlossaryCache(cache_dir)).terms
        }
        assert names["model-card"] == "model cord"

    @pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
    def test_file_of_another_user_is_not_read(self, tmp_path: Path, cache_dir: Path) -> None:
        folder = term_folder(tmp_path)
        load_glossary(folder, cache=GlossaryCache(cache_dir))
        (path,) = cache_files(cache_dir)
        forge(path, rb'"term":"model card"', b'"term":"model cord"')
        os.chown(path, 12345, 12345)  # a planted file: right shape, wrong owner
        cached = load_glossary(folder, cache=GlossaryCache(cache_dir))
        assert snapshot(cached) == snapshot(load_glossary(folder))


class TestWhereTheCacheCannotBe:
    """No cache folder, or one that cannot be written: the bot loads as if there were none."""

    def test_unwritable_location_runs_uncached_and_says_so_once(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        folder = term_folder(tmp_path)
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        cache = GlossaryCache(blocker / "cache")
        with caplog.at_level(logging.WARNING, logger="bot.glossary.cache"):
            first = load_glossary(folder, cache=cache)
            load_glossary(folder, cache=cache)
        assert snapshot(first) == snapshot(load_glossary(folder))
        assert len([r for r in caplog.records if "cannot" in r.getMessage()]) == 1

    def test_off_means_no_cache(self) -> None:
        assert GlossaryCache.from_setting("off") is None
        assert GlossaryCache.from_setting(" OFF ") is None
        default = GlossaryCache.from_setting(None)
        assert default is not None
        assert default.directory.name.startswith("glossary-bot-cache-")

    def test_default_folder_is_private(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TMPDIR", str(tmp_path))
        import tempfile

        monkeypatch.setattr(tempfile, "tempdir", None)
        cache = GlossaryCache()
        assert cache.directory.parent == tmp_path
        folder = term_folder(tmp_path)
        load_glossary(folder, cache=cache)
        assert stat.S_IMODE(cache.directory.stat().st_mode) == 0o700
        assert cache_files(cache.directory)


class TestTwoProcessesAtOnce:
    """Writers race: each renames a whole file into place, so the cache is always whole."""

    def test_concurrent_writers_leave_one_good_cache(self, tmp_path: Path, cache_dir: Path) -> None:
        folder = term_folder(tmp_path, corpus=True)
        script = (
            "import sys; from bot.glossary.cache import GlossaryCache, load_indexed\n"
            "c = GlossaryCache(sys.argv[2]); load_indexed(sys.argv[1], c); c.wait()\n"
        )
        runs = [
            subprocess.Popen([sys.executable, "-c", script, str(folder), str(cache_dir)])
            for _ in range(3)
        ]
        assert [run.wait(60) for run in runs] == [0, 0, 0]
        assert not list(cache_dir.glob("*.tmp"))
        assert len(cache_files(cache_dir)) == 1
        again = load_glossary(folder, cache=GlossaryCache(cache_dir))
        assert all(isinstance(f, CachedTermFile) for f in again.files if f.term is not None)
        assert snapshot(again) == snapshot(load_glossary(folder))


class TestSharedFieldSets:
    """Terms from the cache share their `model_fields_set`s, and behave exactly as before."""

    def test_shared_sets_change_nothing_a_caller_sees(self, tmp_path: Path) -> None:
        folder = term_folder(tmp_path)
        plain = list(load_glossary(folder).terms)
        cached = list(load_glossary(folder, cache=GlossaryCache(tmp_path / "cache")).terms)
        assert cached == plain
        assert [t.model_dump(exclude_unset=True) for t in cached] == [
            t.model_dump(exclude_unset=True) for t in plain
        ]
        first, second = cached[0], cached[1]
        assert first.__pydantic_fields_set__ is second.__pydantic_fields_set__
        copy = first.model_copy(update={"slug": "another"})
        assert copy.model_fields_set is not first.model_fields_set
        assert second.model_fields_set == plain[1].model_fields_set
        with pytest.raises(ValidationError, match="frozen"):
            first.term = "renamed"  # type: ignore[misc]
        assert first.model_fields_set == plain[0].model_fields_set


def test_term_files_keep_their_type_and_fields() -> None:
    """A cached file is a TermFile to everyone who uses one (validate, reload, the CLI)."""
    assert issubclass(CachedTermFile, TermFile)
