"""The request flow against a real store: once per term, triage, rate limit, closing the loop.

Each behaviour is checked through what the store holds afterwards: the requests, who waits on
them, and the outbox jobs (what Slack will be told), on SQLite and, when a server is
available, PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pg_server import BACKENDS, database_url
from slack_harness import FIXTURE_TERMS

from bot.glossary.load import load_glossary
from bot.glossary.model import Term
from bot.glossary.resolve import Glossary
from bot.intake import (
    AlreadyDefined,
    Filed,
    FormContext,
    Intake,
    RateLimited,
    RequestForm,
    read_job,
    request_key,
)
from bot.intake.jobs import IntakePostJob, IntakeUpdateJob, RequesterDM, ScaffoldJob, ThreadNoteJob
from bot.store import OutboxItem, RequestDraft, Store, open_store

TRIAGER = "U0TRIAGE01"


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as found:
        yield found


@pytest.fixture
async def store(url: str) -> AsyncIterator[Store]:
    opened = open_store(url)
    await opened.migrate()
    yield opened
    await opened.close()


@pytest.fixture
def intake(store: Store) -> Intake:
    return Intake(store, triagers=[TRIAGER], requests_per_hour=3)


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return Glossary(load_glossary(FIXTURE_TERMS).terms)


async def jobs(store: Store) -> list[tuple[OutboxItem, object]]:
    """Every pending outbox row, oldest first, with the job it holds; then they count as
    delivered, so the next call returns only what was queued after this one."""
    items = await store.claim_due("test", limit=100)
    for item in items:
        await store.mark_delivered(item.id)
    return [(item, read_job(item.kind, item.payload)) for item in items]


def form(term: str, **changes: object) -> RequestForm:
    return RequestForm(term=term, **changes)  # type: ignore[arg-type]


async def filed(intake: Intake, glossary: Glossary, term: str, user: str, **kw: object) -> Filed:
    outcome = await intake.submit(form(term, **kw), user, glossary)
    assert isinstance(outcome, Filed), outcome
    return outcome


class TestSubmit:
    """A request is stored first, with its intake post and the requester's DM as jobs."""

    async def test_new_request_queues_one_post_and_a_dm(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        outcome = await filed(
            intake,
            glossary,
            "prompt caching",
            "U0ALICE001",
            why="cost",
            links=("https://e.com",),
            context=FormContext(source="https://acme.slack.com/archives/C1/p1"),
        )
        request = outcome.filing.request
        assert (request.term, request.status, request.why, request.links) == (
            "prompt caching",
            "open",
            "cost",
            ("https://e.com",),
        )
        assert request.source_permalink == "https://acme.slack.com/archives/C1/p1"
        queued = [job for _, job in await jobs(store)]
        assert queued == [
            IntakePostJob(request.id),
            RequesterDM("U0ALICE001", "filed", request.id, "prompt caching", waiting=1),
        ]

    async def test_second_request_for_the_same_term_joins_it(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        first = await filed(intake, glossary, "KV-cache", "U0ALICE001")
        await jobs(store)  # the first filing's jobs, out of the way
        second = await filed(
            intake, glossary, "kv cache", "U0BOB00001", where_seen="standup", anonymous=True
        )
        assert second.filing.request.id == first.filing.request.id
        assert (second.filing.created, second.filing.added, second.filing.waiting) == (
            False,
            True,
            2,
        )
        queued = [job for _, job in await jobs(store)]
        assert not any(isinstance(job, IntakePostJob) for job in queued)  # posted once only
        note = next(job for job in queued if isinstance(job, ThreadNoteJob))
        assert note.user_id is None  # anonymous: the public note cannot name them
        assert note.where_seen == "standup"
        assert IntakeUpdateJob(first.filing.request.id) in queued
        dm = next(job for job in queued if isinstance(job, RequesterDM))
        assert (dm.user_id, dm.notice, dm.waiting) == ("U0BOB00001", "joined", 2)

    async def test_asking_twice_only_reminds(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        await filed(intake, glossary, "prompt caching", "U0ALICE001")
        await jobs(store)
        await filed(intake, glossary, "Prompt Caching", "U0ALICE001")
        queued = [job for _, job in await jobs(store)]
        assert [(j.notice, j.waiting) for j in queued if isinstance(j, RequesterDM)] == [
            ("already_waiting", 1)
        ]
        assert len(queued) == 1

    async def test_existing_term_is_shown_instead(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        outcome = await intake.submit(form("RAG"), "U0ALICE001", glossary)
        assert isinstance(outcome, AlreadyDefined)
        assert outcome.term.slug == "retrieval-augmented-generation"
        assert await jobs(store) == []

    async def test_a_clarification_of_an_existing_term_is_filed(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        context = FormContext("clarification", "large-language-model")
        outcome = await filed(intake, glossary, "LLM", "U0ALICE001", context=context)
        assert outcome.filing.request.kind == "clarification"
        assert outcome.filing.request.target_slug == "large-language-model"
        # another wording of a clarification of the same term joins it
        again = await filed(
            intake, glossary, "large language models", "U0BOB00001", context=context
        )
        assert again.filing.request.id == outcome.filing.request.id

    async def test_rate_limit_per_person_per_hour(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        for n in range(3):
            await filed(intake, glossary, f"term number {n}", "U0BUSY0001")
        outcome = await intake.submit(form("one too many"), "U0BUSY0001", glossary)
        assert outcome == RateLimited(3)
        # someone else is not affected
        await filed(intake, glossary, "one too many", "U0CALM0001")


class TestTriage:
    """Only listed triagers decide; each decision updates the post and tells everyone waiting."""

    async def test_accept_queues_update_scaffold_and_dms(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        first = await filed(intake, glossary, "prompt caching", "U0ALICE001")
        await filed(intake, glossary, "prompt caching", "U0BOB00001", anonymous=True)
        await jobs(store)
        rid = first.filing.request.id
        change = await intake.triage(rid, "accepted", by=TRIAGER)
        assert change is not None
        assert (change.request.status, change.request.status_changed_by) == ("accepted", TRIAGER)
        queued = [job for _, job in await jobs(store)]
        assert IntakeUpdateJob(rid) in queued
        assert ScaffoldJob(rid, "prompt caching", TRIAGER) in queued
        told = {j.user_id for j in queued if isinstance(j, RequesterDM) and j.notice == "accepted"}
        assert told == {"U0ALICE001", "U0BOB00001"}

    async def test_each_decision_happens_once(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        rid = (await filed(intake, glossary, "prompt caching", "U0ALICE001")).filing.request.id
        assert await intake.triage(rid, "accepted", by=TRIAGER) is not None
        assert await intake.triage(rid, "accepted", by=TRIAGER) is None  # a second click
        declined = await intake.triage(rid, "declined", by=TRIAGER, reason="out of scope")
        assert declined is not None
        assert declined.request.decline_reason == "out of scope"
        assert await intake.triage(rid, "published", by=TRIAGER) is None  # closed stays closed
        dms = [j for _, j in await jobs(store) if isinstance(j, RequesterDM)]
        assert [j.notice for j in dms] == ["filed", "accepted", "declined"]
        assert dms[-1].reason == "out of scope"

    def test_who_may_triage(self, intake: Intake) -> None:
        assert intake.is_triager(TRIAGER)
        assert not intake.is_triager("U0ALICE001")


class TestCloseLoop:
    """After a reload, a request the glossary now answers is published and everyone told."""

    async def test_published_when_the_term_ships(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        # requested while the glossary lacked it; then a reload brings it
        before = Glossary([t for t in glossary.terms.values() if t.slug != "vector-database"])
        wanted = await filed(intake, before, "Vector databases", "U0ALICE001")
        other = await filed(intake, before, "prompt caching", "U0BOB00001")
        assert await intake.close_loop(before) == []
        rid = wanted.filing.request.id
        await jobs(store)
        changes = await intake.close_loop(glossary)
        assert [c.request.id for c in changes] == [rid]
        assert (await store.get_request(rid)).status == "published"  # type: ignore[union-attr]
        assert (await store.get_request(other.filing.request.id)).status == "open"  # type: ignore[union-attr]
        dms = [j for _, j in await jobs(store) if isinstance(j, RequesterDM)]
        assert [(j.user_id, j.notice, j.slug) for j in dms] == [
            ("U0ALICE001", "published", "vector-database")
        ]
        assert await intake.close_loop(glossary) == []  # a second reload changes nothing

    async def test_a_clarification_ships_when_its_term_is_reviewed(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        context = FormContext("clarification", "hallucination")
        await filed(intake, glossary, "hallucination", "U0ALICE001", context=context)
        assert await intake.close_loop(glossary) == []  # reviewed long before the request
        term = glossary.get("hallucination")
        assert term is not None
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
        reviewed = term.model_copy(update={"last_reviewed": tomorrow})
        newer = Glossary(
            [reviewed, *(t for t in glossary.terms.values() if t.slug != "hallucination")]
        )
        assert len(await intake.close_loop(newer)) == 1

    async def test_a_clarification_closes_when_its_term_changes_the_same_day(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        """Reviewed this morning, asked about at noon, edited (still today) in the afternoon:
        the edit closes the request, and the requester gets the new text. The morning review
        alone, dated the same day as the request, does not."""
        today = datetime.now(UTC).date()
        term = glossary.get("hallucination")
        assert term is not None
        morning = term.model_copy(update={"last_reviewed": today})
        context = FormContext("clarification", "hallucination")
        filing = (
            await filed(
                intake, with_term(glossary, morning), "hallucination", "U0ALICE001", context=context
            )
        ).filing
        await jobs(store)
        assert await intake.close_loop(with_term(glossary, morning)) == []  # unchanged
        assert (await store.get_request(filing.request.id)).status == "open"  # type: ignore[union-attr]
        afternoon = morning.model_copy(update={"short_def": f"{term.short_def} Now clearer."})
        changes = await intake.close_loop(with_term(glossary, afternoon))
        assert [c.request.id for c in changes] == [filing.request.id]
        assert (await store.get_request(filing.request.id)).status == "published"  # type: ignore[union-attr]
        dms = [j for _, j in await jobs(store) if isinstance(j, RequesterDM)]
        assert [(j.user_id, j.notice, j.slug) for j in dms] == [
            ("U0ALICE001", "published", "hallucination")
        ]

    async def test_a_clarification_filed_before_fingerprints_needs_a_later_review(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        """A request stored without a fingerprint (filed before they were kept) cannot tell a
        same-day review from an earlier one, so only a later review date closes it."""
        term = glossary.get("hallucination")
        assert term is not None
        legacy = RequestDraft(
            term="hallucination",
            normalised_term=request_key(term.term),
            requester_id="U0ALICE001",
            kind="clarification",
            target_slug="hallucination",
        )
        await store.create_request(legacy)
        today = datetime.now(UTC).date()
        edited_today = term.model_copy(update={"last_reviewed": today, "short_def": "Changed."})
        assert await intake.close_loop(with_term(glossary, edited_today)) == []
        tomorrow = term.model_copy(update={"last_reviewed": today + timedelta(days=1)})
        assert len(await intake.close_loop(with_term(glossary, tomorrow))) == 1


class TestPublishedBeforeTheTermShips:
    """A triager marks a request published before the glossary has the term: everyone
    waiting is told it comes with the reload that brings it, and that reload sends them the
    definition, once, whichever replica runs it and however often."""

    @staticmethod
    def without(glossary: Glossary, slug: str) -> Glossary:
        return Glossary([t for t in glossary.terms.values() if t.slug != slug])

    @staticmethod
    async def dms(store: Store) -> list[tuple[str, str, str | None, str | None]]:
        """(user, notice, slug, dedupe key) of each DM queued since the last call."""
        return [
            (job.user_id, job.notice, job.slug, item.dedupe_key)
            for item, job in await jobs(store)
            if isinstance(job, RequesterDM)
        ]

    async def test_the_definition_follows_once_the_term_ships(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        before = self.without(glossary, "vector-database")
        assert await intake.close_loop(before) == []  # the bot starts without the term
        rid = (await filed(intake, before, "Vector databases", "U0ALICE001")).filing.request.id
        await filed(intake, before, "vector database", "U0BOB00001", anonymous=True)
        await jobs(store)
        change = await intake.triage(rid, "published", by=TRIAGER)
        assert change is not None
        # told "published, it answers once the glossary reloads": no definition to show yet
        assert await self.dms(store) == [
            ("U0ALICE001", "published", None, f"dm:{rid}:U0ALICE001:published"),
            ("U0BOB00001", "published", None, f"dm:{rid}:U0BOB00001:published"),
        ]
        assert await intake.close_loop(before) == []  # a reload without the term: nothing
        assert await self.dms(store) == []

        assert await intake.close_loop(glossary) == []  # the reload that brings it
        assert await self.dms(store) == [
            ("U0ALICE001", "published", "vector-database", f"dm:{rid}:U0ALICE001:definition"),
            ("U0BOB00001", "published", "vector-database", f"dm:{rid}:U0BOB00001:definition"),
        ]

        await intake.close_loop(glossary)  # another reload
        replica = Intake(store, triagers=[TRIAGER])  # another replica, or a restart
        await replica.close_loop(glossary)
        assert await self.dms(store) == []
        assert (await store.get_request(rid)).status == "published"  # type: ignore[union-attr]

    async def test_published_with_the_term_in_place_is_told_once(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        """Published while the glossary has the term: the DM carries the definition (its
        slug), and no reload sends it again."""
        before = self.without(glossary, "vector-database")
        rid = (await filed(intake, before, "vector database", "U0ALICE001")).filing.request.id
        await intake.close_loop(before)
        await jobs(store)
        # the term shipped; a triager clicks before any reload publishes the request
        assert await intake.triage(rid, "published", by=TRIAGER, glossary=glossary)
        assert await self.dms(store) == [
            ("U0ALICE001", "published", "vector-database", f"dm:{rid}:U0ALICE001:definition"),
        ]
        await intake.close_loop(glossary)
        await Intake(store).close_loop(glossary)
        assert await self.dms(store) == []

    async def test_triage_uses_the_glossary_of_the_last_reload(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        before = self.without(glossary, "vector-database")
        rid = (await filed(intake, before, "vector database", "U0ALICE001")).filing.request.id
        # the reload's hook has not run on this request yet (another replica published
        # nothing), but this Intake saw the glossary with the term
        intake.glossary = glossary
        await jobs(store)
        assert await intake.triage(rid, "published", by=TRIAGER)
        assert [dm[2] for dm in await self.dms(store)] == ["vector-database"]
        await intake.close_loop(glossary)
        assert await self.dms(store) == []

    async def test_a_published_clarification_is_not_told_twice(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        context = FormContext("clarification", "hallucination")
        rid = (
            await filed(intake, glossary, "hallucination", "U0ALICE001", context=context)
        ).filing.request.id
        await jobs(store)
        assert await intake.triage(rid, "published", by=TRIAGER)
        assert [dm[2] for dm in await self.dms(store)] == ["hallucination"]
        term = glossary.get("hallucination")
        assert term is not None
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
        edited = term.model_copy(update={"last_reviewed": tomorrow, "short_def": "Clearer."})
        await intake.close_loop(with_term(glossary, edited))
        assert await self.dms(store) == []

    async def test_only_recent_publications_are_followed_up(
        self, store: Store, glossary: Glossary
    ) -> None:
        before = self.without(glossary, "vector-database")
        intake = Intake(store, triagers=[TRIAGER])
        rid = (await filed(intake, before, "vector database", "U0ALICE001")).filing.request.id
        await intake.close_loop(before)
        assert await intake.triage(rid, "published", by=TRIAGER)
        await jobs(store)
        later = Intake(store, clock=lambda: datetime.now(UTC) + timedelta(days=31))
        await later.close_loop(glossary)
        assert await self.dms(store) == []


def with_term(glossary: Glossary, term: Term) -> Glossary:
    """The glossary with `term` in place of the term of the same slug."""
    return Glossary([term, *(t for t in glossary.terms.values() if t.slug != term.slug)])


class TestListsAndStats:
    """`/define requests` and `/define stats` read the store."""

    async def test_my_requests_and_the_stats(
        self, intake: Intake, store: Store, glossary: Glossary
    ) -> None:
        await filed(intake, glossary, "prompt caching", "U0ALICE001")
        await filed(intake, glossary, "KV cache", "U0ALICE001")
        await filed(intake, glossary, "kv-caches", "U0BOB00001")
        mine, more = await intake.requests_of("U0ALICE001")
        assert more == 0
        assert sorted((t.request.term, t.waiting) for t in mine) == [
            ("KV cache", 2),
            ("prompt caching", 1),
        ]
        for query in ("prompt caching", "prompt caching", "quantum", "RAG"):
            resolution = glossary.resolve(query)
            await store.record_lookup("U1", query, resolution.status, resolution.slug)
        stats = await intake.stats()
        top = stats.most_requested[0]
        assert (top.request.term, top.waiting) == ("KV cache", 2)
        assert stats.most_missed[0] == ("prompt caching", 2)
