"""Live reload's pure parts: keeping each broken file's last good version, reporting breakage
once, and the messages maintainers and triagers read; and its reload hooks, retried when the
store fails for a moment."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from slack_fake import BOT_TOKEN, message_errors
from slack_harness import FIXTURE_TERMS, message_texts
from slack_signing import SIGNING_SECRET

from bot.config import load_settings
from bot.glossary.cache import GlossaryCache
from bot.glossary.load import load_glossary
from bot.glossary.problems import Problem, Severity
from bot.glossary.reload import (
    ReloadOutcome,
    error_signatures,
    merge_last_good,
    terms_by_path,
    unannounced,
)
from bot.glossary.resolve import Glossary
from bot.intake import read_job
from bot.intake.jobs import RequesterDM
from bot.slack import answering, intake_blocks
from bot.slack.app import app_for, build_deps
from bot.slack.deps import Deps
from bot.slack.reloading import (
    Reloader,
    broken_files_message,
    display_path,
    rebuild,
    reload_outcome_message,
)
from bot.slack.runtime import load_holder
from bot.store import RequestDraft, StoreUnavailableError, TermRequest
from bot.store.sqlite import SQLiteStore

BROKEN_YAML = "term: hallucination\naliases: [unclosed\n"


@pytest.fixture
def terms(tmp_path: Path) -> Path:
    folder = tmp_path / "terms"
    shutil.copytree(FIXTURE_TERMS, folder)
    return folder


def _short_def(glossary: Glossary, slug: str) -> str:
    term = glossary.get(slug)
    assert term is not None
    return term.short_def


class TestMergeLastGood:
    """merge_last_good keeps a broken file's previous term and drops deleted files."""

    def test_a_good_edit_replaces_the_term(self, terms: Path) -> None:
        before = load_glossary(terms)
        path = terms / "hallucination.yml"
        path.write_text(path.read_text().replace("stated confidently", "asserted boldly"))
        merged = merge_last_good(terms_by_path(before.terms), load_glossary(terms).files)
        assert merged.kept == ()
        assert merged.problems == ()
        new = next(t for t in merged.terms if t.slug == "hallucination")
        assert "asserted boldly" in new.short_def

    def test_a_broken_file_keeps_its_last_good_version(self, terms: Path) -> None:
        before = load_glossary(terms)
        old = next(t for t in before.terms if t.slug == "hallucination")
        (terms / "hallucination.yml").write_text(BROKEN_YAML)
        merged = merge_last_good(terms_by_path(before.terms), load_glossary(terms).files)
        assert merged.kept == (str(terms / "hallucination.yml"),)
        assert old in merged.terms
        assert len(merged.terms) == len(before.terms)
        assert merged.problems
        assert all(p.path == str(terms / "hallucination.yml") for p in merged.problems)
        assert merged.problems[0].line == 3  # the unclosed flow sequence ends the file

    def test_a_file_that_never_loaded_is_left_out(self, terms: Path) -> None:
        before = load_glossary(terms)
        (terms / "new-term.yml").write_text("term: new term\n")  # many fields missing
        merged = merge_last_good(terms_by_path(before.terms), load_glossary(terms).files)
        assert merged.left_out == (str(terms / "new-term.yml"),)
        assert merged.kept == ()
        assert {t.slug for t in merged.terms} == {t.slug for t in before.terms}

    def test_a_deleted_file_is_dropped(self, terms: Path) -> None:
        before = load_glossary(terms)
        (terms / "vector-database.yml").unlink()
        merged = merge_last_good(terms_by_path(before.terms), load_glossary(terms).files)
        assert "vector-database" not in {t.slug for t in merged.terms}
        assert len(merged.terms) == len(before.terms) - 1

    def test_rebuild_serves_the_merged_terms(self, terms: Path) -> None:
        glossary = Glossary(load_glossary(terms).terms)
        before = _short_def(glossary, "hallucination")
        (terms / "hallucination.yml").write_text(BROKEN_YAML)
        merged, rebuilt = rebuild(terms, glossary)
        assert _short_def(rebuilt, "hallucination") == before
        assert rebuilt.resolve("confabulation").slug == "hallucination"
        assert merged.kept

    def test_rebuild_through_the_term_cache(self, terms: Path, tmp_path: Path) -> None:
        """The cache never serves a stale term: edits, breakage and fixes all come through."""
        cache = GlossaryCache(tmp_path / "cache", keep_details=False)
        glossary = Glossary(load_glossary(terms).terms)
        _, glossary = rebuild(terms, glossary, cache)  # fills the cache
        path = terms / "hallucination.yml"
        good = path.read_text()
        path.write_text(good.replace("stated confidently", "asserted boldly"))
        _, glossary = rebuild(terms, glossary, cache)
        assert "asserted boldly" in _short_def(glossary, "hallucination")
        path.write_text(BROKEN_YAML)
        merged, glossary = rebuild(terms, glossary, cache)
        assert merged.kept == (str(path),)
        assert "asserted boldly" in _short_def(glossary, "hallucination")
        path.write_text(good)
        merged, glossary = rebuild(terms, glossary, cache)
        assert merged.kept == ()
        assert "stated confidently" in _short_def(glossary, "hallucination")
        assert glossary.resolve("confabulation").slug == "hallucination"
        cache.wait()  # the index is saved in the background


def _problem(path: str, line: int, message: str, severity: Severity = Severity.ERROR) -> Problem:
    return Problem(path, line, 1, severity, message, "rule")


class TestAnnouncements:
    """A broken file is reported once per distinct breakage."""

    def test_new_breakage_is_news(self) -> None:
        current = error_signatures([_problem("t/a.yml", 3, "YAML syntax")])
        assert unannounced({}, current) == current

    def test_the_same_breakage_is_not_news(self) -> None:
        current = error_signatures([_problem("t/a.yml", 3, "YAML syntax")])
        assert unannounced(current, current) == {}

    def test_breaking_differently_is_news(self) -> None:
        before = error_signatures([_problem("t/a.yml", 3, "YAML syntax")])
        after = error_signatures([_problem("t/a.yml", 7, "missing field 'term'")])
        assert set(unannounced(before, after)) == {"t/a.yml"}

    def test_only_the_changed_file_is_news(self) -> None:
        before = error_signatures([_problem("t/a.yml", 3, "x")])
        after = error_signatures([_problem("t/a.yml", 3, "x"), _problem("t/b.yml", 1, "y")])
        assert set(unannounced(before, after)) == {"t/b.yml"}

    def test_warnings_are_not_breakage(self) -> None:
        assert error_signatures([_problem("t/a.yml", 3, "old", Severity.WARNING)]) == {}

    def test_order_of_errors_does_not_matter(self) -> None:
        one = [_problem("t/a.yml", 3, "x"), _problem("t/a.yml", 5, "y")]
        assert error_signatures(one) == error_signatures(list(reversed(one)))


def _outcome(problems: tuple[Problem, ...], kept: tuple[str, ...] = ()) -> ReloadOutcome:
    return ReloadOutcome("watch", datetime.now(UTC), 44, problems, kept, seconds=0.25)


class TestMessages:
    """What the intake channel and a triager read after a reload."""

    def test_outcome_without_errors(self) -> None:
        message = reload_outcome_message(_outcome(()))
        assert message_errors(message) == []
        assert "44 terms" in message_texts(message)
        assert "no errors" in message_texts(message)

    def test_outcome_with_errors_names_path_and_line(self) -> None:
        problem = _problem("/srv/glossary/terms/rag.yml", 12, "YAML syntax: <bad> & worse")
        message = reload_outcome_message(_outcome((problem,), kept=(problem.path,)))
        text = message_texts(message)
        assert message_errors(message) == []
        assert "`terms/rag.yml:12:1`" in text
        assert "last good version" in text
        assert "&lt;bad&gt; &amp; worse" in text  # file content is escaped
        assert "/srv/glossary" not in text  # no server paths in Slack

    def test_failed_reload_says_what_is_served(self) -> None:
        outcome = ReloadOutcome("command", datetime.now(UTC), 44, failure="folder is gone")
        text = message_texts(reload_outcome_message(outcome))
        assert "not reloaded" in text
        assert "folder is gone" in text
        assert "44 terms" in text

    def test_many_errors_fit_block_kit(self) -> None:
        problems = tuple(_problem(f"t/f{i}.yml", i, "x" * 400) for i in range(60))
        message = broken_files_message(_outcome(problems), {p.path for p in problems})
        assert message_errors(message) == []
        assert "and 50 more" in message_texts(message)

    def test_broken_files_message_lists_only_the_new_files(self) -> None:
        old = _problem("t/old.yml", 1, "old breakage")
        new = _problem("t/new.yml", 2, "new breakage")
        text = message_texts(broken_files_message(_outcome((old, new)), {new.path}))
        assert "new breakage" in text
        assert "old breakage" not in text
        assert "left out" in text  # not kept: it never loaded

    def test_without_a_watcher_maintainers_are_told_to_reload(self) -> None:
        problem = _problem("t/a.yml", 1, "broken")
        watching = message_texts(broken_files_message(_outcome((problem,)), {problem.path}))
        still = message_texts(
            broken_files_message(_outcome((problem,)), {problem.path}, watching=False)
        )
        assert "picks the change up on its own" in watching
        assert "/define reload" in still

    def test_display_path(self) -> None:
        assert display_path("/app/terms/rag.yml") == "terms/rag.yml"
        assert display_path("rag.yml") == "rag.yml"


# --- reload hooks and a store that fails for a moment -------------------------------------------

FAST_RETRIES = (0.05, 0.1, 0.2)


class FlakyStore(SQLiteStore):
    """A real SQLite store whose next `failures` reads of the open requests fail as a locked
    or unreachable database does."""

    failures = 0

    async def open_requests(self) -> list[TermRequest]:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailableError("database is locked")
        return await super().open_requests()


@pytest.fixture
async def flaky(tmp_path: Path) -> AsyncIterator[FlakyStore]:
    store = FlakyStore(tmp_path / "bot.sqlite3")
    await store.migrate()
    yield store
    await store.close()


@pytest.fixture
async def deps(terms: Path, flaky: FlakyStore) -> Deps:
    """The bot's deps and listeners (so the intake's own close-the-loop hook) on the flaky
    store, with a glossary that lacks "vector database" until the test ships it."""
    (terms / "vector-database.yml").rename(terms.parent / "vector-database.yml")
    settings = load_settings(
        "serve", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET
    )
    built = build_deps(settings, load_holder(terms), flaky)
    app_for(built)  # registers the hooks; the start-up close_loop runs in the background
    assert await built.background.drain(5.0)
    return built


def _ship_vector_database(terms: Path) -> None:
    (terms.parent / "vector-database.yml").rename(terms / "vector-database.yml")


async def _sent(deps: Deps) -> list[str]:
    """What each requester DM queued so far reads like, rendered as the outbox would."""
    texts = []
    for item in await deps.store.claim_due("test", limit=100):
        await deps.store.mark_delivered(item.id)
        job = read_job(item.kind, item.payload)
        if not isinstance(job, RequesterDM):
            continue
        glossary = deps.glossary.current
        answer = (
            answering.term_message(deps, glossary, job.slug, None, public=True)
            if job.slug and glossary.get(job.slug)
            else None
        )
        texts.append(f"{job.user_id}: {message_texts(intake_blocks.requester_dm(job, answer))}")
    return texts


async def _file(deps: Deps, term: str, user: str) -> int:
    draft = RequestDraft(term=term, normalised_term=term, requester_id=user)
    return (await deps.store.create_request(draft)).request.id


async def _settle(reloader: Reloader) -> None:
    """Wait for the hooks of the reloads so far, and for their retries."""
    await reloader.deps.background.drain(5.0)
    while reloader._retries:
        await asyncio.wait(set(reloader._retries), timeout=5.0)


class TestHookRetries:
    """A reload hook that fails on the store is tried again in the background."""

    async def test_close_loop_is_retried_after_a_store_error(
        self, deps: Deps, flaky: FlakyStore, terms: Path
    ) -> None:
        rid = await _file(deps, "vector database", "U0ALICE001")
        await _sent(deps)
        reloader = Reloader(deps, terms, watch=False, hook_retry_seconds=FAST_RETRIES)
        _ship_vector_database(terms)
        flaky.failures = 1  # the reload's close_loop finds the database locked
        await reloader.reload("command")
        await _settle(reloader)
        assert flaky.failures == 0
        assert (await flaky.get_request(rid)).status == "published"  # type: ignore[union-attr]
        (dm,) = await _sent(deps)
        assert dm.startswith("U0ALICE001: “vector database” is now in the glossary")
        short_def = deps.glossary.current.get("vector-database").short_def  # type: ignore[union-attr]
        assert short_def.split()[0] in dm

    async def test_gives_up_after_the_last_retry(
        self, deps: Deps, flaky: FlakyStore, terms: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        rid = await _file(deps, "vector database", "U0ALICE001")
        reloader = Reloader(deps, terms, watch=False, hook_retry_seconds=FAST_RETRIES)
        _ship_vector_database(terms)
        flaky.failures = 1 + len(FAST_RETRIES)
        with caplog.at_level(logging.WARNING, logger="bot.slack.reloading"):
            await reloader.reload("command")
            await _settle(reloader)
        assert flaky.failures == 0
        assert (await flaky.get_request(rid)).status == "open"
        gave_up = [r for r in caplog.records if "gave up" in r.getMessage()]
        assert [r.levelno for r in gave_up] == [logging.ERROR]
        flaky.failures = 0
        await reloader.reload("command")  # the next reload catches up
        await _settle(reloader)
        assert (await flaky.get_request(rid)).status == "published"  # type: ignore[union-attr]

    async def test_a_newer_reload_supersedes_the_retry(self, deps: Deps, terms: Path) -> None:
        seen: list[int] = []

        async def hook(glossary: Glossary) -> None:
            seen.append(len(glossary.terms))
            if len(seen) == 1:
                raise StoreUnavailableError("database is locked")

        deps.reload_hooks[:] = [hook]
        reloader = Reloader(deps, terms, watch=False, hook_retry_seconds=(30,))
        await reloader.reload("command")
        await deps.background.drain(5.0)
        assert len(reloader._retries) == 1  # waiting 30 s
        _ship_vector_database(terms)
        await reloader.reload("command")
        await asyncio.wait_for(_settle(reloader), 2.0)  # woken and gone at once
        assert seen == [4, 5]  # the failed run, then the newer reload's: no stale retry

    async def test_other_failures_are_not_retried(self, deps: Deps, terms: Path) -> None:
        calls = 0

        async def hook(glossary: Glossary) -> None:
            nonlocal calls
            calls += 1
            raise RuntimeError("a bug, not a blip")

        deps.reload_hooks[:] = [hook]
        reloader = Reloader(deps, terms, watch=False, hook_retry_seconds=FAST_RETRIES)
        await reloader.reload("command")
        await _settle(reloader)
        assert calls == 1
        assert not reloader._retries


async def test_the_start_up_pass_is_retried_after_a_store_error(
    terms: Path, flaky: FlakyStore
) -> None:
    """A term deployed while the bot was down ships at start-up, even if the store is not
    ready for the first tries."""
    draft = RequestDraft(
        term="vector database", normalised_term="vector database", requester_id="U0ALICE001"
    )
    rid = (await flaky.create_request(draft)).request.id
    flaky.failures = 2  # the first two tries find the database locked
    settings = load_settings(
        "serve", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET
    )
    built = build_deps(settings, load_holder(terms), flaky)
    app_for(built)  # registers the intake's hook
    reloader = Reloader(built, terms, watch=False, hook_retry_seconds=FAST_RETRIES)
    await reloader.start()  # the hooks run once on the glossary the bot started with
    try:
        await _settle(reloader)
    finally:
        await reloader.stop()
    assert flaky.failures == 0
    assert (await flaky.get_request(rid)).status == "published"  # type: ignore[union-attr]
    (dm,) = await _sent(built)
    assert dm.startswith("U0ALICE001: “vector database” is now in the glossary")
