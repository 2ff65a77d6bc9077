"""The saved index: restored only for exactly the files it was built from, and then it answers
every query as a freshly built one does; the CLI and live reload work the same with the cache."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.glossary.cache import GlossaryCache, load_indexed
from bot.glossary.load import load_glossary
from bot.glossary.resolve import Glossary, JsonText

REPO = Path(__file__).resolve().parents[1]
STARTER = REPO / "terms"
CORPUS = REPO.parent / "shared" / "corpora" / "ai-glossary" / "terms"
DEV_QUERIES = REPO.parent / "shared" / "data" / "dev_queries.jsonl"

QUERIES = [
    "model card",
    "MODEL CARDS",
    "what is a model card?",
    "modle card",
    "rlhf",
    "RAG",
    "red teaming",
    "red-teeming",
    "how does differential privacy work",
    "DP budget",
    "explainable AI",
    "banana invoice",
    "the",
    "",
    "<@U123> what's a kv cache",
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The largest glossary at hand: the shared corpus if present, else the starter terms."""
    source = CORPUS if CORPUS.is_dir() else STARTER
    target = tmp_path / "terms"
    shutil.copytree(source, target)
    return target


def queries() -> list[str]:
    found = list(QUERIES)
    if DEV_QUERIES.is_file():
        found += [json.loads(line)["query"] for line in DEV_QUERIES.read_text().splitlines()]
    return found


def answers(glossary: Glossary) -> list[tuple[object, ...]]:
    """What a user would be told for each query, searched, or named in a message."""
    out: list[tuple[object, ...]] = []
    for query in queries():
        r = glossary.resolve(query)
        out.append((query, r.status, r.slug, [t.slug for t in r.candidates], r.matched))
        out.append((query, [t.slug for t in glossary.search(query)]))
        out.append((query, [t.slug for t in glossary.mentions(query)]))
    out.append(([t.slug for t in glossary.list_terms()], glossary.categories()))
    return out


class TestSavedIndex:
    """A restored index is the index `Glossary(terms)` builds, and answers the same."""

    def test_restored_index_answers_as_a_built_one(self, folder: Path, tmp_path: Path) -> None:
        cache = GlossaryCache(tmp_path / "cache")
        _, built = load_indexed(folder, cache)
        cache.wait()
        assert list((tmp_path / "cache").glob("*.index.bin"))
        loaded, restored = load_indexed(folder, GlossaryCache(tmp_path / "cache"))

        fresh = Glossary(load_glossary(folder).terms)
        assert restored.index_state() == built.index_state() == fresh.index_state()
        assert answers(restored) == answers(fresh)
        assert dict(restored.terms) == dict(fresh.terms)
        assert loaded.problems == load_glossary(folder).problems

    def test_an_index_saved_by_another_process_is_the_one_built_here(
        self, folder: Path, tmp_path: Path
    ) -> None:
        """Another process hashes strings with another seed: the index must not depend on it
        (the order of a set of a term's spellings once did), or ties could be answered
        differently after a restart than before it."""
        saved_by = [
            "import sys; from bot.glossary.cache import GlossaryCache, load_indexed",
            "c = GlossaryCache(sys.argv[2]); load_indexed(sys.argv[1], c); c.wait()",
        ]
        for seed in ("1", "2"):
            cache_dir = tmp_path / f"cache-{seed}"
            subprocess.run(
                [sys.executable, "-c", "\n".join(saved_by), str(folder), str(cache_dir)],
                env={**os.environ, "PYTHONHASHSEED": seed},
                cwd=REPO,
                check=True,
                timeout=120,
            )
        one, two = (next((tmp_path / f"cache-{seed}").glob("*.index.bin")) for seed in ("1", "2"))
        assert one.read_bytes() == two.read_bytes()
        _, restored = load_indexed(folder, GlossaryCache(tmp_path / "cache-1"))
        assert restored.index_state() == Glossary(load_glossary(folder).terms).index_state()

    def test_the_log_says_what_came_from_the_cache(
        self, folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """For an operator wondering why a start was slow: what was parsed, what was read."""
        count = len(list(folder.glob("*.yml")))

        def start() -> list[str]:
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="bot.glossary.cache"):
                load_indexed(folder, cache := GlossaryCache(tmp_path / "cache"))
                cache.wait()
            return [r.getMessage() for r in caplog.records]

        assert start() == [
            f"glossary cache: {count} files parsed (new, changed or not cached), "
            "0 read from the cache",
            "glossary cache: index built; saving it in the background",
        ]
        assert start() == [
            f"glossary cache: 0 files parsed (new, changed or not cached), "
            f"{count} read from the cache",
            "glossary cache: index read from the cache",
        ]
        (folder / "model-card.yml").write_text(
            (folder / "model-card.yml").read_text().replace("aliases:\n", "aliases:\n- mcard\n")
        )
        assert start() == [
            "glossary cache: 1 file parsed (new, changed or not cached), "
            f"{count - 1} read from the cache",
            "glossary cache: index built; saving it in the background",
        ]

    def test_an_index_written_in_many_pieces_reads_back_whole(
        self,
        folder: Path,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """The largest sections are written a batch of rows at a time (thousands, so a small
        glossary would fit in one): with batches of three, every section is cut many times."""
        monkeypatch.setattr(JsonText, "BATCH", 3)
        cache = GlossaryCache(tmp_path / "cache")
        _, built = load_indexed(folder, cache)
        cache.wait()
        with caplog.at_level(logging.INFO):
            _, restored = load_indexed(folder, GlossaryCache(tmp_path / "cache"))
            restored.warm()  # reads every section; one that did not decode would be rebuilt
        assert "glossary cache: index read from the cache" in caplog.messages
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert restored.index_state() == built.index_state()
        assert answers(restored) == answers(Glossary(load_glossary(folder).terms))

    def test_a_changed_file_means_a_new_index(self, folder: Path, tmp_path: Path) -> None:
        cache = GlossaryCache(tmp_path / "cache")
        load_indexed(folder, cache)
        cache.wait()
        path = next(p for p in sorted(folder.glob("*.yml")) if "red-teaming" in p.name)
        path.write_text(
            path.read_text().replace("aliases:\n", "aliases:\n- adversarial drill\n", 1)
        )

        _, glossary = load_indexed(folder, GlossaryCache(tmp_path / "cache"))
        assert glossary.resolve("adversarial drill").slug == path.stem
        assert answers(glossary) == answers(Glossary(load_glossary(folder).terms))

    def test_a_deleted_file_leaves_the_index(self, folder: Path, tmp_path: Path) -> None:
        cache = GlossaryCache(tmp_path / "cache")
        load_indexed(folder, cache)
        cache.wait()
        (folder / "red-teaming.yml").unlink()
        _, glossary = load_indexed(folder, GlossaryCache(tmp_path / "cache"))
        assert glossary.get("red-teaming") is None
        assert glossary.resolve("red teaming").slug != "red-teaming"

    @pytest.mark.parametrize(
        "damage",
        [
            pytest.param(lambda b: b[: len(b) // 2], id="cut-short"),
            pytest.param(lambda b: b[:-200] + b"x" * 200, id="tail-overwritten"),
            pytest.param(
                lambda b: b[: len(b) // 3] + bytes([b[len(b) // 3] ^ 0xFF]) + b[len(b) // 3 + 1 :],
                id="flipped-byte",
            ),
            pytest.param(lambda b: b.replace(b'"version": 1', b'"version": 7'), id="version"),
            pytest.param(lambda b: b.replace(b'"files": "', b'"files": "0'), id="other-files"),
            pytest.param(lambda b: b"{}\n{}", id="empty-objects"),
        ],
    )
    def test_damaged_index_is_rebuilt(self, folder: Path, tmp_path: Path, damage: Any) -> None:
        cache = GlossaryCache(tmp_path / "cache")
        load_indexed(folder, cache)
        cache.wait()
        (path,) = (tmp_path / "cache").glob("*.index.bin")
        original = path.read_bytes()
        damaged = damage(original)
        assert damaged != original
        path.write_bytes(damaged)
        _, glossary = load_indexed(folder, GlossaryCache(tmp_path / "cache"))
        assert answers(glossary) == answers(Glossary(load_glossary(folder).terms))

    def test_state_of_other_terms_is_refused(self, folder: Path) -> None:
        terms = load_glossary(folder).terms
        state = Glossary(terms).index_state()
        with pytest.raises(ValueError, match="other terms"):
            Glossary.from_index_state(terms[1:], state)
        with pytest.raises(ValueError, match="version"):
            Glossary.from_index_state(terms, {**state, "version": 0})
        broken = {**state, "entries": [state["entries"][0][:1], [], []]}
        with pytest.raises(ValueError, match="does not fit"):
            Glossary.from_index_state(terms, broken)

    def test_without_a_cache_it_is_a_plain_build(self, folder: Path) -> None:
        loaded, glossary = load_indexed(folder, None)
        assert answers(glossary) == answers(Glossary(load_glossary(folder).terms))
        assert loaded.problems == load_glossary(folder).problems


class TestLoadedWhenFirstNeeded:
    """A restored index reads its typo, suggestion and search parts on first use."""

    def restored(self, folder: Path, cache_dir: Path) -> Glossary:
        cache = GlossaryCache(cache_dir)
        load_indexed(folder, cache)
        cache.wait()
        _, glossary = load_indexed(folder, GlossaryCache(cache_dir))
        return glossary

    def test_parts_come_from_the_file_opened_at_start(self, folder: Path, tmp_path: Path) -> None:
        """Even if the cache files are deleted or replaced after the bot started."""
        glossary = self.restored(folder, tmp_path / "cache")
        shutil.rmtree(tmp_path / "cache")
        assert answers(glossary) == answers(Glossary(load_glossary(folder).terms))

    def test_parts_damaged_after_start_are_built_instead(
        self, folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        glossary = self.restored(folder, tmp_path / "cache")
        (path,) = (tmp_path / "cache").glob("*.index.bin")
        size = path.stat().st_size
        with path.open("r+b") as damaged:  # in place: the same file the glossary holds open
            damaged.seek(size // 3)
            damaged.write(b"\x00" * (size - size // 3))
        with caplog.at_level(logging.WARNING, logger="bot.glossary.resolve"):
            assert answers(glossary) == answers(Glossary(load_glossary(folder).terms))
        assert "index unreadable; building it" in caplog.text

    def test_warm_loads_everything_now(self, folder: Path, tmp_path: Path) -> None:
        glossary = self.restored(folder, tmp_path / "cache")
        assert {"_compact", "_stem", "_phrases"}.isdisjoint(vars(glossary))
        assert "_light" in vars(glossary)  # names as typed answer at once
        glossary.warm()
        assert {"_compact", "_stem", "_phrases", "_search", "_name_words"} <= set(vars(glossary))
        assert answers(glossary) == answers(Glossary(load_glossary(folder).terms))

    def test_deferred_search_ranks_as_an_eager_one(self, folder: Path) -> None:
        terms = load_glossary(folder).terms
        deferred = Glossary(terms, defer_search=True)
        assert "_search" not in vars(deferred)
        assert answers(deferred) == answers(Glossary(terms))


class TestLiveReloadWithTheCache:
    """A bot started from the cache reloads edits exactly as one started without it."""

    def test_reload_after_a_cached_start(self, folder: Path, tmp_path: Path) -> None:
        from bot.slack.reloading import rebuild
        from bot.slack.runtime import load_holder

        cache = GlossaryCache(tmp_path / "cache", keep_details=False)
        load_holder(folder, cache)
        cache.wait()
        holder = load_holder(folder, GlossaryCache(tmp_path / "cache", keep_details=False))
        broken = folder / "red-teaming.yml"
        broken.write_text("term: [unclosed\n")  # a broken edit keeps the last good version
        renamed = next(p for p in sorted(folder.glob("*.yml")) if p != broken)
        renamed.write_text(renamed.read_text().replace("aliases:\n", "aliases:\n- zzq alias\n", 1))

        merged, glossary = rebuild(folder, holder.current)
        assert glossary.resolve("red teaming").slug == "red-teaming"
        assert broken.as_posix() in {Path(p).as_posix() for p in merged.kept}
        assert glossary.resolve("zzq alias").slug == renamed.stem
        assert [(p.line, p.rule) for p in merged.problems if p.path == str(broken)] == [
            (2, "yaml-syntax")
        ]


class TestCommandLine:
    """`validate` and `resolve` print the same with the cache, cold or warm, as without it."""

    def run(self, *args: str, cache: str, stdin: str = "") -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GLOSSARY_")}
        env["GLOSSARY_CACHE_DIR"] = cache
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=120,
        )
        return f"{done.returncode}\n{done.stdout}"

    def test_validate_and_resolve(self, folder: Path, tmp_path: Path) -> None:
        (folder / "broken.yml").write_text("term: x\nterm: y\n")
        cache = str(tmp_path / "cache")
        lines = "\n".join(q.replace("\n", " ") for q in QUERIES)
        for command in (["validate", str(folder)], ["resolve", "--terms", str(folder)]):
            plain = self.run(*command, cache="off", stdin=lines)
            assert self.run(*command, cache=cache, stdin=lines) == plain
            assert self.run(*command, cache=cache, stdin=lines) == plain
        assert "broken.yml:2:1: error: duplicate key 'term'" in self.run(
            "validate", str(folder), cache=cache
        )


@pytest.mark.parametrize(
    "count", [0, 1, JsonText.BATCH, JsonText.BATCH + 1, 2 * JsonText.BATCH + 3]
)
def test_columns_in_pieces_are_the_json_of_the_whole(count: int) -> None:
    keys = [f"key {i}" for i in range(count)]
    rows = [[i, i + 1] if i % 2 else [] for i in range(count)]
    pieces = list(JsonText.columns(keys, iter(rows)))
    assert json.loads(b"".join(pieces)) == [keys, rows]
    assert b"".join(pieces) == json.dumps([keys, rows], separators=(",", ":")).encode()
    assert len(pieces) == 2 + -(-count // JsonText.BATCH)  # rows never all made at once
