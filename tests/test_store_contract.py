"""The Store contract, run against every backend (SQLite and PostgreSQL) with the same cases.

Time comes from a fake clock, so leases expire by moving the clock rather than by sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, LiteralString

import pytest
from pg_server import BACKENDS, database_url

from bot.store import (
    LATEST_VERSION,
    IntakePost,
    OutboxMessage,
    RequestConflictError,
    RequestDraft,
    RequestFiling,
    RequestNotFoundError,
    StatusChange,
    Store,
    StoreError,
    open_store,
)
from bot.store.migrations import MIGRATIONS


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


StoreOpener = Callable[[], Awaitable[Store]]


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as database:
        yield database


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def reopen(url: str, clock: FakeClock) -> AsyncIterator[StoreOpener]:
    """Opens (and migrates) another store on the same database: a restart or a replica."""
    opened: list[Store] = []

    async def open_one() -> Store:
        store = open_store(url, clock=clock)
        opened.append(store)
        await store.migrate()
        return store

    yield open_one
    for store in opened:
        await store.close()


@pytest.fixture
async def store(reopen: StoreOpener) -> Store:
    return await reopen()


def execute(url: str, sql: LiteralString) -> None:
    """Run one statement on the database behind `url`, bypassing the store."""
    if url.startswith("sqlite:///"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            conn.execute(sql)
            conn.commit()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def draft(term: str = "Retrieval augmented generation", **changes: Any) -> RequestDraft:
    base = RequestDraft(
        term=term,
        normalised_term=term.casefold(),
        requester_id="U1",
        where_seen="design review",
        why="nobody could explain it",
        affected_roles=("product", "engineering"),
        urgency="this_quarter",
        links=("https://example.com/rag",),
        anonymous=False,
        source_permalink="https://example.slack.com/archives/C1/p1",
    )
    return replace(base, **changes)


def intake_post(filing: RequestFiling) -> Sequence[OutboxMessage]:
    if filing.created:
        return [
            OutboxMessage(
                "intake_post",
                {"request_id": filing.request.id},
                dedupe_key=f"intake:{filing.request.id}",
            )
        ]
    if filing.added:
        return [
            OutboxMessage(
                "plus_one",
                {"request_id": filing.request.id, "user": filing.requester.user_id},
                dedupe_key=f"plus_one:{filing.request.id}:{filing.requester.user_id}",
            )
        ]
    return []


class TestLifeCycle:
    """Migrations, health and closing."""

    async def test_migrate_brings_schema_to_latest(self, store: Store) -> None:
        """After migrate() the schema is at the newest version."""
        assert await store.schema_version() == LATEST_VERSION

    async def test_migrate_is_idempotent(self, store: Store) -> None:
        """Running migrate() again changes nothing and does not fail."""
        await store.set_role("U1", "product")
        await store.migrate()
        await store.migrate()
        assert await store.schema_version() == LATEST_VERSION
        assert await store.get_role("U1") == "product"

    async def test_upgrade_keeps_requests_filed_before_fingerprints(
        self, url: str, reopen: StoreOpener, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A database at version 1 (no fingerprint column) migrates in place: its requests
        stay, without a fingerprint, and new ones get one."""
        for backend in ("sqlite", "postgres"):
            monkeypatch.setattr(f"bot.store.{backend}.MIGRATIONS", MIGRATIONS[:1])
        old = await reopen()
        assert await old.schema_version() == 1
        await old.close()
        execute(
            url,
            "INSERT INTO term_requests (kind, term, normalised_term, target_slug, requester_id, "
            "created_at, updated_at) VALUES ('clarification', 'RAG', 'rag', 'rag', 'U1', "
            "'2030-01-01T00:00:00.000000+00:00', '2030-01-01T00:00:00.000000+00:00')",
        )
        monkeypatch.undo()
        store = await reopen()
        assert await store.schema_version() == LATEST_VERSION >= 2
        [legacy] = await store.open_requests()
        assert (legacy.term, legacy.target_fingerprint) == ("RAG", None)
        filing = await store.create_request(draft("Another", target_fingerprint="cd34"))
        assert filing.request.target_fingerprint == "cd34"

    async def test_fresh_database_is_version_zero(self, url: str) -> None:
        """Before migrate() the store reports schema version 0."""
        store = open_store(url)
        try:
            assert await store.schema_version() == 0
        finally:
            await store.close()

    async def test_ping_answers_true(self, store: Store) -> None:
        """ping() is True when the database answers."""
        assert await store.ping() is True

    async def test_store_satisfies_protocol(self, store: Store) -> None:
        """Both backends are Stores."""
        assert isinstance(store, Store)

    async def test_close_is_idempotent(self, url: str) -> None:
        """close() twice is fine."""
        store = open_store(url)
        await store.migrate()
        await store.close()
        await store.close()


class TestRoles:
    """Saved default roles."""

    async def test_unknown_user_has_no_role(self, store: Store) -> None:
        assert await store.get_role("U404") is None

    async def test_set_then_overwrite_then_clear(self, store: Store) -> None:
        """A saved role can be replaced, and None forgets it."""
        await store.set_role("U1", "engineering")
        assert await store.get_role("U1") == "engineering"
        await store.set_role("U1", "legal")
        assert await store.get_role("U1") == "legal"
        await store.set_role("U1", None)
        assert await store.get_role("U1") is None
        await store.set_role("U1", None)  # forgetting twice is harmless

    async def test_role_survives_restart(self, store: Store, reopen: StoreOpener) -> None:
        """A role saved before a restart is there after it."""
        await store.set_role("U1", "security")
        await store.close()
        restarted = await reopen()
        assert await restarted.get_role("U1") == "security"


class TestEventDedupe:
    """claim_event / finish_event: each Slack event handled exactly once."""

    async def test_first_claim_wins_second_loses(self, store: Store) -> None:
        """While a claim's lease runs, nobody else may claim the event."""
        assert await store.claim_event("Ev1", lease_seconds=10) is True
        assert await store.claim_event("Ev1", lease_seconds=10) is False

    async def test_finished_event_is_never_claimed_again(
        self, store: Store, clock: FakeClock
    ) -> None:
        """Once finished, a retry of the event is ignored, even long after."""
        assert await store.claim_event("Ev1") is True
        await store.finish_event("Ev1")
        assert await store.claim_event("Ev1") is False
        clock.advance(3600)
        assert await store.claim_event("Ev1") is False

    async def test_finished_is_told_apart_from_claimed(self, store: Store) -> None:
        """A replica that cannot claim can tell "already answered" from "still running"."""
        assert await store.event_finished("Ev1") is False
        await store.claim_event("Ev1")
        assert await store.event_finished("Ev1") is False
        await store.finish_event("Ev1")
        assert await store.event_finished("Ev1") is True

    async def test_expired_lease_hands_over(self, store: Store, clock: FakeClock) -> None:
        """A handler that died leaves a claim whose lease expires; the retry then wins."""
        assert await store.claim_event("Ev1", lease_seconds=10) is True
        clock.advance(9.9)
        assert await store.claim_event("Ev1", lease_seconds=10) is False
        clock.advance(0.1)
        assert await store.claim_event("Ev1", lease_seconds=10) is True
        assert await store.claim_event("Ev1", lease_seconds=10) is False

    async def test_released_claim_can_be_taken_at_once(self, store: Store) -> None:
        """A handler that failed cleanly releases its claim so a retry need not wait."""
        assert await store.claim_event("Ev1") is True
        await store.release_event("Ev1")
        assert await store.claim_event("Ev1") is True

    async def test_release_does_not_undo_finish(self, store: Store) -> None:
        """Releasing a finished event keeps it finished."""
        await store.claim_event("Ev1")
        await store.finish_event("Ev1")
        await store.release_event("Ev1")
        assert await store.claim_event("Ev1") is False

    async def test_finish_without_claim_blocks_later_claims(self, store: Store) -> None:
        await store.finish_event("Ev9")
        assert await store.claim_event("Ev9") is False

    async def test_finished_event_survives_restart(
        self, store: Store, reopen: StoreOpener, clock: FakeClock
    ) -> None:
        """Dedupe holds across restarts: a finished event stays finished."""
        await store.claim_event("Ev1")
        await store.finish_event("Ev1")
        await store.claim_event("Ev2", lease_seconds=5)  # claimed, then the process died
        await store.close()
        restarted = await reopen()
        assert await restarted.claim_event("Ev1") is False
        assert await restarted.claim_event("Ev2") is False
        clock.advance(5)
        assert await restarted.claim_event("Ev2") is True

    async def test_concurrent_claims_on_two_replicas_have_one_winner(
        self, reopen: StoreOpener
    ) -> None:
        """Two replicas claiming the same events at once: exactly one wins each."""
        first, second = await reopen(), await reopen()
        ids = [f"Ev{n}" for n in range(20)]
        results = await asyncio.gather(
            *(store.claim_event(event_id) for event_id in ids for store in (first, second))
        )
        for index in range(len(ids)):
            assert sorted(results[2 * index : 2 * index + 2]) == [False, True]

    async def test_prune_forgets_only_old_rows(self, store: Store, clock: FakeClock) -> None:
        """Pruning removes finished events older than the cutoff and keeps recent ones."""
        await store.claim_event("old")
        await store.finish_event("old")
        await store.claim_event("stale-claim", lease_seconds=1)
        clock.advance(2 * 86400)
        await store.claim_event("new")
        await store.finish_event("new")
        assert await store.prune_events(timedelta(days=1)) == 2
        assert await store.claim_event("old") is True  # forgotten, so claimable again
        assert await store.claim_event("new") is False

    async def test_negative_lease_is_rejected(self, store: Store) -> None:
        with pytest.raises(ValueError, match="lease_seconds"):
            await store.claim_event("Ev1", lease_seconds=-1)


class TestLookupLog:
    """record_lookup / top_misses / lookup_counts."""

    async def test_top_misses_counts_not_found_by_key(self, store: Store) -> None:
        """Misses group by normalised query, most frequent first; found ones do not count."""
        await store.record_lookup("U1", "What is MoE?", "not_found", None)
        await store.record_lookup("U2", "what is  moe", "not_found", None)
        await store.record_lookup("U3", "MoE", "suggest", None, key="what is moe")
        await store.record_lookup("U1", "Quokka", "not_found", None)
        await store.record_lookup("U1", "RAG", "found", "retrieval-augmented-generation")
        await store.record_lookup("U1", "RAG", "found", "retrieval-augmented-generation")
        assert await store.top_misses() == [("what is moe", 3), ("quokka", 1)]
        assert await store.top_misses(limit=1) == [("what is moe", 3)]

    async def test_top_misses_since(self, store: Store, clock: FakeClock) -> None:
        """`since` leaves out older misses."""
        await store.record_lookup("U1", "old miss", "not_found", None)
        clock.advance(60)
        cutoff = clock.now
        await store.record_lookup("U1", "new miss", "not_found", None)
        assert await store.top_misses(since=cutoff) == [("new miss", 1)]

    async def test_lookup_counts_by_status(self, store: Store) -> None:
        await store.record_lookup("U1", "a", "found", "a")
        await store.record_lookup("U1", "b", "found", "b")
        await store.record_lookup("U1", "c", "ambiguous", None)
        assert await store.lookup_counts() == {"ambiguous": 1, "found": 2}

    async def test_many_at_once_are_all_kept(self, store: Store) -> None:
        """A burst of look-ups (written together in a few transactions) loses none, and
        each caller returns only once its own row is stored."""

        async def look_up(n: int) -> None:
            await store.record_lookup(f"U{n % 7}", f"miss {n % 10}", "not_found", None)
            assert (await store.lookup_counts())["not_found"] >= 1

        await asyncio.gather(*(look_up(n) for n in range(300)))
        assert await store.lookup_counts() == {"not_found": 300}
        assert await store.top_misses(limit=2) == [("miss 0", 30), ("miss 1", 30)]

    async def test_a_look_up_after_close_is_refused(self, store: Store) -> None:
        await store.close()
        with pytest.raises(StoreError):
            await store.record_lookup("U1", "late", "not_found", None)

    async def test_prune_lookups(self, store: Store, clock: FakeClock) -> None:
        await store.record_lookup("U1", "a", "not_found", None)
        clock.advance(100)
        await store.record_lookup("U1", "b", "not_found", None)
        assert await store.prune_lookups(timedelta(seconds=50)) == 1
        assert await store.top_misses() == [("b", 1)]


class TestTermRequests:
    """Filing, joining, triage and the questions asked of requests."""

    async def test_create_stores_every_field(self, store: Store, clock: FakeClock) -> None:
        """A new request is stored open, with all fields of the form, and one requester."""
        filing = await store.create_request(draft())
        assert (filing.created, filing.added, filing.waiting) == (True, True, 1)
        stored = await store.get_request(filing.request.id)
        assert stored == filing.request
        assert stored is not None
        assert stored.term == "Retrieval augmented generation"
        assert stored.normalised_term == "retrieval augmented generation"
        assert stored.kind == "new"
        assert stored.target_slug is None
        assert stored.requester_id == "U1"
        assert stored.where_seen == "design review"
        assert stored.why == "nobody could explain it"
        assert stored.affected_roles == ("product", "engineering")
        assert stored.urgency == "this_quarter"
        assert stored.links == ("https://example.com/rag",)
        assert stored.anonymous is False
        assert stored.source_permalink == "https://example.slack.com/archives/C1/p1"
        assert stored.status == "open"
        assert stored.is_active
        assert stored.created_at == clock.now
        assert stored.updated_at == clock.now
        assert stored.intake_channel is None
        assert stored.target_fingerprint is None
        assert [r.user_id for r in await store.requesters(stored.id)] == ["U1"]

    async def test_a_clarification_keeps_the_fingerprint_of_its_term(self, store: Store) -> None:
        """What the term said when the request was filed is kept, to see it change later."""
        clarification = draft(kind="clarification", target_slug="rag", target_fingerprint="ab12")
        filing = await store.create_request(clarification)
        assert filing.request.target_fingerprint == "ab12"
        # someone joining later does not replace it
        joined = await store.create_request(replace(clarification, requester_id="U2"))
        assert joined.request.target_fingerprint == "ab12"
        stored = await store.get_request(filing.request.id)
        assert stored is not None
        assert stored.target_fingerprint == "ab12"
        [listed] = await store.open_requests()
        assert listed.target_fingerprint == "ab12"

    async def test_unicode_and_empty_optional_fields_round_trip(self, store: Store) -> None:
        filing = await store.create_request(
            draft(
                "Modèle de fondation «FM»",
                affected_roles=(),
                links=(),
                urgency=None,
                source_permalink=None,
                anonymous=True,
                where_seen="",
                why="",
            )
        )
        stored = await store.get_request(filing.request.id)
        assert stored == filing.request
        assert stored is not None
        assert stored.term == "Modèle de fondation «FM»"
        assert (stored.affected_roles, stored.links, stored.urgency) == ((), (), None)
        assert stored.anonymous is True

    async def test_request_and_intake_post_are_stored_together(self, store: Store) -> None:
        """The outbox message built for a new request is enqueued in the same transaction."""
        filing = await store.create_request(draft(), outbox=intake_post)
        assert await store.pending_count() == 1
        [item] = await store.claim_due("w1")
        assert item.kind == "intake_post"
        assert item.payload == {"request_id": filing.request.id}

    async def test_failing_outbox_builder_stores_nothing(self, store: Store) -> None:
        """If the delivery job cannot be built, the request is not stored either."""

        def broken(filing: RequestFiling) -> Sequence[OutboxMessage]:
            raise RuntimeError("template bug")

        with pytest.raises(RuntimeError, match="template bug"):
            await store.create_request(draft(), outbox=broken)
        assert await store.open_requests() == []
        assert await store.pending_count() == 0

    async def test_second_request_for_same_term_joins_the_first(self, store: Store) -> None:
        """Once per term: a second person joins the open request; no second intake post."""
        first = await store.create_request(draft(), outbox=intake_post)
        second = await store.create_request(
            draft(requester_id="U2", where_seen="standup", anonymous=True), outbox=intake_post
        )
        assert (second.created, second.added, second.waiting) == (False, True, 2)
        assert second.request.id == first.request.id
        assert (second.requester.user_id, second.requester.anonymous) == ("U2", True)
        requesters = await store.requesters(first.request.id)
        assert [(r.user_id, r.where_seen, r.anonymous) for r in requesters] == [
            ("U1", "design review", False),
            ("U2", "standup", True),
        ]
        kinds = sorted(item.kind for item in await store.claim_due("w1"))
        assert kinds == ["intake_post", "plus_one"]

    async def test_same_person_twice_counts_once(self, store: Store) -> None:
        """Asking again for a term you already asked for adds nothing and posts nothing."""
        first = await store.create_request(draft(), outbox=intake_post)
        again = await store.create_request(draft(why="still curious"), outbox=intake_post)
        assert (again.created, again.added, again.waiting) == (False, False, 1)
        assert again.request.id == first.request.id
        assert again.requester.why == "nobody could explain it"  # the first context is kept
        assert await store.pending_count() == 1

    async def test_add_requester(self, store: Store) -> None:
        """add_requester adds a person once and reports how many wait."""
        filing = await store.create_request(draft())
        joined = await store.add_requester(filing.request.id, "U2", why="launch blocker")
        assert (joined.created, joined.added, joined.waiting) == (False, True, 2)
        twice = await store.add_requester(filing.request.id, "U2")
        assert (twice.added, twice.waiting) == (False, 2)
        assert (await store.requesters(filing.request.id))[1].why == "launch blocker"

    async def test_requesters_come_in_join_order(self, store: Store) -> None:
        """The first requester is listed first, even when ids sort the other way."""
        filing = await store.create_request(draft(requester_id="U9"))
        for user in ("U1", "U5", "U0"):
            await store.add_requester(filing.request.id, user)
        requesters = await store.requesters(filing.request.id)
        assert [r.user_id for r in requesters] == ["U9", "U1", "U5", "U0"]

    async def test_add_requester_to_unknown_request_raises(self, store: Store) -> None:
        with pytest.raises(RequestNotFoundError):
            await store.add_requester(999_999, "U2")

    async def test_clarifications_are_keyed_by_target(self, store: Store) -> None:
        """A clarification of a term is separate from a new-term request and per target."""
        new = await store.create_request(draft("hallucination"))
        about_a = await store.create_request(
            draft("hallucination", kind="clarification", target_slug="hallucination")
        )
        about_b = await store.create_request(
            draft("hallucination", kind="clarification", target_slug="confabulation")
        )
        assert len({new.request.id, about_a.request.id, about_b.request.id}) == 3
        found = await store.find_open_request(
            "hallucination", kind="clarification", target_slug="confabulation"
        )
        assert found is not None
        assert found.id == about_b.request.id
        plain = await store.find_open_request("hallucination")
        assert plain is not None
        assert plain.id == new.request.id
        assert await store.find_open_request("nothing like it") is None

    async def test_closed_request_does_not_absorb_new_ones(self, store: Store) -> None:
        """After a request is declined, asking again files a fresh request."""
        first = await store.create_request(draft())
        await store.set_request_status(first.request.id, "declined", by="UT", reason="dupe")
        assert await store.find_open_request(first.request.normalised_term) is None
        again = await store.create_request(draft(requester_id="U2"))
        assert again.created
        assert again.request.id != first.request.id

    async def test_accepted_request_still_absorbs_new_ones(self, store: Store) -> None:
        """An accepted request is still being worked on, so new askers join it."""
        first = await store.create_request(draft())
        await store.set_request_status(first.request.id, "accepted", by="UT")
        again = await store.create_request(draft(requester_id="U2"))
        assert (again.created, again.request.id, again.waiting) == (False, first.request.id, 2)

    async def test_status_changes_stamp_who_and_when(self, store: Store, clock: FakeClock) -> None:
        """Each move records its time, who made it, and (for declines) the reason."""
        filing = await store.create_request(draft())
        clock.advance(10)
        accepted = await store.set_request_status(filing.request.id, "accepted", by="UT")
        assert accepted is not None
        assert accepted.previous_status == "open"
        assert accepted.request.status == "accepted"
        assert accepted.request.accepted_at == clock.now
        assert accepted.request.status_changed_by == "UT"
        assert accepted.request.updated_at == clock.now
        clock.advance(10)
        published = await store.set_request_status(filing.request.id, "published", by="UT")
        assert published is not None
        assert published.request.published_at == clock.now
        assert published.request.accepted_at == clock.now - timedelta(seconds=10)
        assert published.request.decline_reason is None
        assert not published.request.is_active

    async def test_decline_records_reason(self, store: Store) -> None:
        filing = await store.create_request(draft())
        change = await store.set_request_status(
            filing.request.id, "declined", by="UT", reason="out of scope"
        )
        assert change is not None
        assert change.request.decline_reason == "out of scope"
        assert change.request.declined_at is not None

    async def test_from_statuses_guards_double_clicks(self, store: Store) -> None:
        """With from_statuses, a change applies once even if two triagers click."""
        filing = await store.create_request(draft())
        request_id = filing.request.id
        results = await asyncio.gather(
            store.set_request_status(request_id, "accepted", from_statuses=["open"]),
            store.set_request_status(request_id, "accepted", from_statuses=["open"]),
        )
        assert sum(result is not None for result in results) == 1

    async def test_status_of_unknown_request_is_none(self, store: Store) -> None:
        assert await store.set_request_status(424242, "accepted") is None

    async def test_unknown_status_is_rejected(self, store: Store) -> None:
        filing = await store.create_request(draft())
        with pytest.raises(ValueError, match="status"):
            await store.set_request_status(filing.request.id, "lost")  # type: ignore[arg-type]

    async def test_reopening_into_a_conflict_raises(self, store: Store) -> None:
        """Reopening a declined request while another is active for its term is refused."""
        old = await store.create_request(draft())
        await store.set_request_status(old.request.id, "declined", reason="later")
        await store.create_request(draft(requester_id="U2"))
        with pytest.raises(RequestConflictError):
            await store.set_request_status(old.request.id, "open")
        unchanged = await store.get_request(old.request.id)
        assert unchanged is not None
        assert unchanged.status == "declined"

    async def test_status_change_notifies_every_requester_atomically(self, store: Store) -> None:
        """The status outbox builder sees every requester and its messages are enqueued."""
        filing = await store.create_request(draft())
        await store.add_requester(filing.request.id, "U2")

        def tell_everyone(change: StatusChange) -> Sequence[OutboxMessage]:
            return [
                OutboxMessage(
                    "dm",
                    {"user": r.user_id, "status": change.request.status},
                    dedupe_key=f"dm:{change.request.id}:{change.request.status}:{r.user_id}",
                )
                for r in change.requesters
            ]

        await store.set_request_status(filing.request.id, "published", outbox=tell_everyone)
        items = await store.claim_due("w1")
        assert sorted(item.payload["user"] for item in items) == ["U1", "U2"]
        assert {item.payload["status"] for item in items} == {"published"}

    async def test_list_requests_for_user_includes_joined(
        self, store: Store, clock: FakeClock
    ) -> None:
        """`/define requests` lists what I filed and what I joined, newest first."""
        mine = await store.create_request(draft("alpha"))
        clock.advance(1)
        theirs = await store.create_request(draft("beta", requester_id="U2"))
        await store.add_requester(theirs.request.id, "U1")
        clock.advance(1)
        await store.create_request(draft("gamma", requester_id="U3"))
        listed = await store.list_requests_for_user("U1")
        assert [r.id for r in listed] == [theirs.request.id, mine.request.id]
        assert await store.list_requests_for_user("U404") == []

    async def test_open_requests_and_top_requested(self, store: Store, clock: FakeClock) -> None:
        """Active requests, oldest first; the most-awaited ranked by people waiting."""
        a = await store.create_request(draft("a"))
        clock.advance(1)
        b = await store.create_request(draft("b"))
        await store.add_requester(b.request.id, "U2")
        await store.add_requester(b.request.id, "U3")
        clock.advance(1)
        c = await store.create_request(draft("c"))
        await store.add_requester(c.request.id, "U2")
        await store.set_request_status(a.request.id, "published")
        assert [r.id for r in await store.open_requests()] == [b.request.id, c.request.id]
        top = await store.top_requested()
        assert [(t.request.id, t.waiting) for t in top] == [(b.request.id, 3), (c.request.id, 2)]
        everything = await store.top_requested(limit=5, statuses=["open", "accepted", "published"])
        assert [t.request.id for t in everything] == [b.request.id, c.request.id, a.request.id]
        assert await store.top_requested(statuses=[]) == []

    async def test_published_since_lists_recent_publications_oldest_first(
        self, store: Store, clock: FakeClock
    ) -> None:
        """Only published requests, only those published at or after `since`, in the order
        they were published (not filed)."""
        old = await store.create_request(draft("old"))
        await store.set_request_status(old.request.id, "published", by="U9")
        clock.advance(31 * 86400)
        since = clock.now
        first_filed = await store.create_request(draft("first filed"))
        second_filed = await store.create_request(draft("second filed"))
        still_open = await store.create_request(draft("still open"))
        declined = await store.create_request(draft("declined"))
        await store.set_request_status(declined.request.id, "declined", reason="no")
        clock.advance(1)
        await store.set_request_status(second_filed.request.id, "published", by="U9")
        clock.advance(1)
        await store.set_request_status(first_filed.request.id, "published")
        listed = await store.published_since(since)
        assert [r.id for r in listed] == [second_filed.request.id, first_filed.request.id]
        assert [(r.status, r.status_changed_by) for r in listed] == [
            ("published", "U9"),
            ("published", None),
        ]
        assert still_open.request.id not in {r.id for r in listed}
        assert await store.published_since(clock.advance(1)) == []

    async def test_count_requests_since_for_rate_limit(
        self, store: Store, clock: FakeClock
    ) -> None:
        """Filing and joining both count towards the per-user limit; old ones do not."""
        await store.create_request(draft("one"))
        clock.advance(3600)
        hour_ago = clock.now
        await store.create_request(draft("two"))
        other = await store.create_request(draft("three", requester_id="U2"))
        await store.add_requester(other.request.id, "U1")
        assert await store.count_requests_since("U1", hour_ago) == 2
        assert await store.count_requests_since("U2", hour_ago) == 1
        assert await store.count_requests_since("U9", hour_ago) == 0

    async def test_set_intake_message(self, store: Store) -> None:
        filing = await store.create_request(draft())
        await store.set_intake_message(filing.request.id, "C0INTAKE", "1700000000.000100")
        stored = await store.get_request(filing.request.id)
        assert stored is not None
        assert (stored.intake_channel, stored.intake_ts) == ("C0INTAKE", "1700000000.000100")
        with pytest.raises(RequestNotFoundError):
            await store.set_intake_message(987654, "C0INTAKE", "1.2")

    async def test_requests_survive_restart(self, store: Store, reopen: StoreOpener) -> None:
        filing = await store.create_request(draft(), outbox=intake_post)
        await store.close()
        restarted = await reopen()
        assert await restarted.get_request(filing.request.id) == filing.request
        assert await restarted.pending_count() == 1

    async def test_concurrent_filings_of_one_term_file_once(self, reopen: StoreOpener) -> None:
        """Two replicas filing the same term at the same moment make one request."""
        stores = [await reopen() for _ in range(2)]
        filings = await asyncio.gather(
            *(
                store.create_request(draft(requester_id=f"U{n}"), outbox=intake_post)
                for n, store in enumerate(stores * 3)
            )
        )
        assert sum(filing.created for filing in filings) == 1
        assert len({filing.request.id for filing in filings}) == 1
        assert len(await stores[0].requesters(filings[0].request.id)) == 6
        kinds = sorted(item.kind for item in await stores[0].claim_due("w", limit=50))
        assert kinds == ["intake_post"] + ["plus_one"] * 5

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"kind": "other"}, "kind"),
            ({"urgency": "yesterday"}, "urgency"),
            ({"normalised_term": "  "}, "normalised term"),
            ({"requester_id": ""}, "requester"),
        ],
    )
    async def test_invalid_drafts_are_rejected(
        self, store: Store, changes: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(ValueError, match=message):
            await store.create_request(draft(**changes))


class TestOutbox:
    """enqueue / claim_due / mark_*: delivered once, retried, never lost."""

    async def test_enqueue_and_claim(self, store: Store, clock: FakeClock) -> None:
        """A due row is leased to the claiming worker with its payload."""
        item_id = await store.enqueue("dm", {"user": "U1", "text": "héllo"}, "k1")
        [item] = await store.claim_due("w1", lease_seconds=30)
        assert item.id == item_id
        assert item.payload == {"user": "U1", "text": "héllo"}
        assert item.dedupe_key == "k1"
        assert (item.state, item.attempts, item.errors) == ("pending", 1, 0)
        assert item.lease_owner == "w1"
        assert item.lease_until == clock.now + timedelta(seconds=30)
        assert item.created_at == clock.now

    async def test_dedupe_key_makes_enqueue_idempotent(self, store: Store) -> None:
        first = await store.enqueue("dm", {"n": 1}, "same")
        second = await store.enqueue("dm", {"n": 2}, "same")
        assert first == second
        assert await store.pending_count() == 1
        assert await store.enqueue("dm", {"n": 3}) != await store.enqueue("dm", {"n": 3})

    async def test_claim_skips_leased_rows_until_lease_expires(
        self, store: Store, clock: FakeClock
    ) -> None:
        """A leased row goes to nobody else; after the lease it is handed over."""
        await store.enqueue("dm", {}, "k1")
        [mine] = await store.claim_due("w1", lease_seconds=30)
        assert await store.claim_due("w2") == []
        clock.advance(30)
        [handed_over] = await store.claim_due("w2", lease_seconds=30)
        assert handed_over.id == mine.id
        assert handed_over.lease_owner == "w2"
        assert handed_over.attempts == 2  # above 1: check whether the first try posted

    async def test_claim_respects_limit_and_order(self, store: Store, clock: FakeClock) -> None:
        ids = []
        for n in range(5):
            ids.append(await store.enqueue("dm", {"n": n}))
            clock.advance(1)
        first = await store.claim_due("w1", limit=2)
        rest = await store.claim_due("w2", limit=10)
        assert [item.id for item in first] == ids[:2]
        assert [item.id for item in rest] == ids[2:]

    async def test_future_rows_are_not_due(self, store: Store, clock: FakeClock) -> None:
        """deliver_at and retry_at hold a row back until then."""
        later = clock.now + timedelta(minutes=5)
        await store.enqueue("dm", {}, deliver_at=later)
        assert await store.claim_due("w1") == []
        assert len(await store.claim_due("w1", now=later)) == 1

    async def test_mark_retry_records_error_and_backs_off(
        self, store: Store, clock: FakeClock
    ) -> None:
        await store.enqueue("dm", {}, "k1")
        [item] = await store.claim_due("w1")
        retry_at = clock.now + timedelta(seconds=90)
        assert await store.mark_retry(item.id, worker_id="w1", error="429", retry_at=retry_at)
        assert await store.claim_due("w1") == []
        clock.advance(90)
        [again] = await store.claim_due("w1")
        assert (again.errors, again.attempts, again.last_error) == (1, 2, "429")
        assert again.last_error_at == clock.now - timedelta(seconds=90)

    async def test_mark_retry_by_a_worker_that_lost_the_lease_is_ignored(
        self, store: Store, clock: FakeClock
    ) -> None:
        await store.enqueue("dm", {}, "k1")
        [item] = await store.claim_due("w1", lease_seconds=5)
        clock.advance(5)
        await store.claim_due("w2", lease_seconds=60)
        assert not await store.mark_retry(
            item.id, worker_id="w1", error="late", retry_at=clock.now + timedelta(hours=1)
        )
        current = await store.get_outbox_item(item.id)
        assert current is not None
        assert (current.lease_owner, current.errors) == ("w2", 0)

    async def test_mark_delivered_records_result_and_intake_post(self, store: Store) -> None:
        """Delivery and the request's post location are recorded in one step."""
        filing = await store.create_request(draft(), outbox=intake_post)
        [item] = await store.claim_due("w1")
        post = IntakePost(filing.request.id, "C0INTAKE", "1700000000.000200")
        assert await store.mark_delivered(
            item.id, {"channel": "C0INTAKE", "ts": post.ts}, intake_post=post
        )
        delivered = await store.get_outbox_item(item.id)
        assert delivered is not None
        assert delivered.state == "delivered"
        assert delivered.result == {"channel": "C0INTAKE", "ts": post.ts}
        assert delivered.lease_owner is None
        request = await store.get_request(filing.request.id)
        assert request is not None
        assert (request.intake_channel, request.intake_ts) == ("C0INTAKE", post.ts)
        assert not await store.mark_delivered(item.id)  # only once
        assert await store.pending_count() == 0
        assert await store.claim_due("w1") == []

    async def test_mark_failed_gives_up(self, store: Store) -> None:
        await store.enqueue("dm", {}, "k1")
        [item] = await store.claim_due("w1")
        assert await store.mark_failed(item.id, worker_id="w1", error="invalid payload")
        assert await store.claim_due("w1") == []
        stats = await store.outbox_stats()
        assert (stats.pending, stats.failed) == (0, 1)

    async def test_release_claims_hands_rows_over_at_once(self, store: Store) -> None:
        """A worker shutting down releases its leases so another can deliver now."""
        await store.enqueue("dm", {}, "k1")
        await store.enqueue("dm", {}, "k2")
        await store.claim_due("w1")
        assert await store.release_claims("w1") == 2
        assert len(await store.claim_due("w2")) == 2

    async def test_backlog_numbers_for_health(self, store: Store, clock: FakeClock) -> None:
        """pending_count, oldest_pending_age and outbox_stats describe the backlog."""
        assert await store.oldest_pending_age() is None
        empty = await store.outbox_stats()
        assert (empty.pending, empty.due, empty.failed, empty.oldest_pending_age) == (
            0,
            0,
            0,
            None,
        )
        await store.enqueue("dm", {}, "k1")
        clock.advance(120)
        await store.enqueue("dm", {}, "k2")
        await store.enqueue("dm", {}, "k3", deliver_at=clock.now + timedelta(hours=1))
        [first] = await store.claim_due("w1", limit=1)
        await store.mark_retry(
            first.id,
            worker_id="w1",
            error="channel_not_found",
            retry_at=clock.now + timedelta(minutes=15),
        )
        assert await store.pending_count() == 3
        assert await store.oldest_pending_age() == timedelta(seconds=120)
        stats = await store.outbox_stats()
        assert stats.pending == 3
        assert stats.due == 1
        assert stats.retrying == 1
        assert stats.failed == 0
        assert stats.oldest_pending_age == timedelta(seconds=120)
        assert stats.last_error == "channel_not_found"
        assert stats.last_errors == ("channel_not_found",)

    async def test_last_errors_name_each_code_once_and_skip_ignored_codes(
        self, store: Store, clock: FakeClock
    ) -> None:
        """Many rows failing alike, each error naming its own request, neither fill
        last_errors nor, once ignored, push an older different error out of it."""

        async def fail(key: str, error: str) -> None:
            await store.enqueue("job", {}, key)
            [item] = await store.claim_due("w1", limit=1)
            retry_at = clock.now + timedelta(hours=1)
            await store.mark_retry(item.id, worker_id="w1", error=error, retry_at=retry_at)
            clock.advance(1)

        channel = "channel_not_found: check GLOSSARY_INTAKE_CHANNEL"
        await fail("post", channel)
        for n in range(6):
            await fail(f"note-{n}", f"waiting_for_intake_post: request #{n}")
        for code in ("ratelimited", "server_error", "connection_error", "timeout"):
            await fail(code, f"{code}: retried soon")
        stats = await store.outbox_stats()
        assert stats.last_errors == (
            "timeout: retried soon",
            "connection_error: retried soon",
            "server_error: retried soon",
            "ratelimited: retried soon",
            "waiting_for_intake_post: request #5",
        )
        assert stats.last_error == "timeout: retried soon"
        # Five codes newer than the channel's fill the list; ignored, they leave it room.
        quiet = [
            "waiting_for_intake_post",
            "ratelimited",
            "server_error",
            "connection_error",
            "timeout",
        ]
        focused = await store.outbox_stats(ignore_codes=quiet)
        assert (focused.last_error, focused.last_errors) == (channel, (channel,))
        assert (focused.pending, focused.retrying) == (stats.pending, stats.retrying) == (11, 11)

    async def test_long_errors_are_clipped(self, store: Store) -> None:
        await store.enqueue("dm", {}, "k1")
        [item] = await store.claim_due("w1")
        await store.mark_retry(
            item.id, worker_id="w1", error="x" * 10_000, retry_at=item.created_at
        )
        stored = await store.get_outbox_item(item.id)
        assert stored is not None
        assert stored.last_error is not None
        assert len(stored.last_error) <= 2000

    async def test_prune_outbox_removes_old_delivered_rows_only(
        self, store: Store, clock: FakeClock
    ) -> None:
        await store.enqueue("dm", {}, "delivered")
        await store.enqueue("dm", {}, "pending", deliver_at=clock.now + timedelta(days=90))
        [item] = await store.claim_due("w1")
        await store.mark_delivered(item.id)
        clock.advance(31 * 86400)
        assert await store.prune_outbox() == 1
        assert await store.pending_count() == 1

    async def test_pending_rows_survive_restart(
        self, store: Store, reopen: StoreOpener, clock: FakeClock
    ) -> None:
        """Rows written before a crash are delivered after the restart, once."""
        await store.enqueue("intake_post", {"request_id": 7}, "intake:7")
        await store.claim_due("w-dead", lease_seconds=60)  # the process then died
        await store.close()
        restarted = await reopen()
        assert await restarted.claim_due("w-new") == []
        clock.advance(60)
        [item] = await restarted.claim_due("w-new")
        assert (item.payload, item.attempts) == ({"request_id": 7}, 2)

    async def test_two_replicas_claiming_at_once_never_share_a_row(
        self, reopen: StoreOpener
    ) -> None:
        """Concurrent claim_due calls on two connections return disjoint rows."""
        stores = [await reopen() for _ in range(2)]
        for n in range(60):
            await stores[0].enqueue("dm", {"n": n})
        batches = await asyncio.gather(
            *(store.claim_due(f"w{i}", limit=7) for i, store in enumerate(stores * 6))
        )
        claimed = [item.id for batch in batches for item in batch]
        assert len(claimed) == len(set(claimed)) == 60

    async def test_naive_datetimes_are_rejected(self, store: Store) -> None:
        with pytest.raises(ValueError, match="timezone"):
            await store.claim_due("w1", now=datetime(2030, 1, 1))  # naive on purpose
