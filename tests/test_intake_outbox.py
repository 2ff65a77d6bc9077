"""The outbox worker against the fake Web API over HTTP and a real store, in this process.

These drive `OutboxWorker` directly, so a "process that died mid-delivery" is a delivery task
cancelled at a chosen moment (its lease left behind, nothing recorded), and the next worker
is another `OutboxWorker` with its own id, exactly as a restarted or second replica would be.
The subprocess versions (SIGKILL, two bot processes) are in test_intake_e2e_delivery.py.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_server import BACKENDS, database_url
from slack_fake import BOT_TOKEN, FakeSlack
from slack_harness import FIXTURE_TERMS

from bot.config import Settings
from bot.glossary.load import load_glossary
from bot.glossary.resolve import Glossary
from bot.intake import Filed, Intake, RequestForm
from bot.slack.app import app_for, build_deps
from bot.slack.deps import Deps, GlossaryHolder
from bot.slack.outbox import OutboxWorker
from bot.slack.reloading import Reloader
from bot.slack.server import health
from bot.store import OutboxItem, Store, open_store

INTAKE = "C0INTAKE01"
ALICE = "U0ALICE001"
LEASE = 2.0


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake(fake_server: FakeSlack) -> FakeSlack:
    fake_server.reset()
    return fake_server


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store(backend: str, tmp_path: Path) -> AsyncIterator[Store]:
    with database_url(backend, tmp_path) as url:
        opened = open_store(url)
        await opened.migrate()
        yield opened
        await opened.close()


def make_deps(fake: FakeSlack, store: Store, channel: str | None = INTAKE) -> Deps:
    settings = Settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=fake.api_url,
        SLACK_SIGNING_SECRET="test-signing-secret",
        GLOSSARY_INTAKE_CHANNEL=channel,
        GLOSSARY_OUTBOX_LEASE_SECONDS=LEASE,
        GLOSSARY_TERMS_DIR=FIXTURE_TERMS,
    )
    glossary = Glossary(load_glossary(FIXTURE_TERMS).terms)
    return build_deps(settings, GlossaryHolder(glossary), store)


@pytest.fixture
def deps(fake: FakeSlack, store: Store) -> Deps:
    return make_deps(fake, store)


async def file(deps: Deps, term: str, user: str = ALICE, **changes: Any) -> int:
    intake = Intake(deps.store, requests_per_hour=100)
    outcome = await intake.submit(RequestForm(term=term, **changes), user, deps.glossary.current)
    assert isinstance(outcome, Filed)
    return outcome.filing.request.id


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def intake_posts(fake: FakeSlack, request_id: int | None = None) -> list[dict[str, Any]]:
    """Top-level messages in the intake channel (for one request, by its metadata)."""
    posts = fake.messages_in(INTAKE)
    if request_id is None:
        return posts
    return [
        m
        for m in posts
        if (m.get("metadata") or {}).get("event_payload", {}).get("request_id") == request_id
    ]


async def posted(deps: Deps, request_id: int) -> bool:
    request = await deps.store.get_request(request_id)
    return request is not None and request.intake_ts is not None


async def cancel_mid_delivery(
    worker: OutboxWorker, fake: FakeSlack, method: str, channel: str = INTAKE
) -> None:
    """Start a round and kill it as soon as `method` reached Slack for `channel`: a worker
    that died there, leaving its lease and no record."""

    def calls() -> int:
        return len([c for c in fake.calls_to(method) if c.args.get("channel") == channel])

    before = calls()
    task = asyncio.create_task(worker.run_once())
    await eventually(lambda: _async(calls() > before), f"{method} call")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def _async(value: Any) -> Any:
    return value


class TestDelivery:
    """A filed request is posted once to the intake channel, and its requester told."""

    async def test_post_and_dm(self, deps: Deps, fake: FakeSlack) -> None:
        rid = await file(deps, "prompt caching", why="we pay for every token")
        worker = OutboxWorker(deps)
        assert await worker.run_once() == 2
        (post,) = intake_posts(fake, rid)
        assert post["metadata"] == {
            "event_type": "glossary_term_request",
            "event_payload": {"request_id": rid},
        }
        assert "we pay for every token" in str(post["blocks"])
        request = await deps.store.get_request(rid)
        assert request is not None
        assert (request.intake_channel, request.intake_ts) == (INTAKE, post["ts"])
        (dm,) = fake.messages_in("D0ALICE001")
        assert "prompt caching" in dm["text"]
        assert await worker.run_once() == 0  # nothing left

    async def test_rate_limits_and_server_errors_then_one_post(
        self, deps: Deps, fake: FakeSlack
    ) -> None:
        # Retry-After: 3 is well above the first backoff (0.8-1.0 s), so the gap before the
        # second attempt shows whose delay was used.
        fake.fail("chat.postMessage", status=429, retry_after=3, channel=INTAKE)
        fake.fail("chat.postMessage", status=500, channel=INTAKE)
        fake.fail("chat.postMessage", status=503, channel=INTAKE)
        rid = await file(deps, "prompt caching")
        worker = OutboxWorker(deps)
        worker.start()
        try:
            await eventually(lambda: posted(deps, rid), "the intake post", timeout=20)
        finally:
            await worker.stop()
        attempts = [c for c in fake.calls_to("chat.postMessage") if c.args["channel"] == INTAKE]
        assert [c.response.get("ok") for c in attempts] == [False, False, False, True]
        assert attempts[1].at - attempts[0].at >= 2.9  # Retry-After: 3 was honoured
        assert len(intake_posts(fake, rid)) == 1

    async def test_dropped_connection_is_retried(self, deps: Deps, fake: FakeSlack) -> None:
        """An answer that never comes (a hung connection) counts as maybe-posted: the retry
        looks first, finds nothing, and posts once."""
        fake.fail("chat.postMessage", status=503, delay=LEASE, channel=INTAKE)
        rid = await file(deps, "prompt caching")
        worker = OutboxWorker(deps)
        worker.start()
        try:
            await eventually(lambda: posted(deps, rid), "the intake post", timeout=15)
        finally:
            await worker.stop()
        assert fake.calls_to("conversations.history")  # it looked before posting again
        assert len(intake_posts(fake, rid)) == 1


class TestExactlyOnce:
    """A delivery that died mid-post is finished by the next worker without a duplicate."""

    async def test_posted_then_died_is_not_posted_again(self, deps: Deps, fake: FakeSlack) -> None:
        fake.fail("chat.postMessage", delay=LEASE + 1, channel=INTAKE)  # posts, then hangs
        rid = await file(deps, "prompt caching")
        await cancel_mid_delivery(OutboxWorker(deps, worker_id="dead"), fake, "chat.postMessage")
        assert len(intake_posts(fake, rid)) == 1  # Slack has it; the store does not know
        assert not await posted(deps, rid)
        successor = OutboxWorker(deps, worker_id="successor")
        successor.start()
        try:
            await eventually(lambda: posted(deps, rid), "the post to be recorded")
        finally:
            await successor.stop()
        history = fake.calls_to("conversations.history")
        assert history
        assert history[0].args["include_all_metadata"] in ("1", "true", True)
        assert len(intake_posts(fake, rid)) == 1
        request = await deps.store.get_request(rid)
        assert request is not None
        assert request.intake_ts == intake_posts(fake, rid)[0]["ts"]

    async def test_died_before_posting_posts_once(self, deps: Deps, fake: FakeSlack) -> None:
        fake.fail("chat.postMessage", status=503, delay=LEASE + 1, channel=INTAKE)  # hangs, no post
        rid = await file(deps, "prompt caching")
        await cancel_mid_delivery(OutboxWorker(deps, worker_id="dead"), fake, "chat.postMessage")
        assert intake_posts(fake, rid) == []
        successor = OutboxWorker(deps, worker_id="successor")
        successor.start()
        try:
            await eventually(lambda: posted(deps, rid), "the intake post")
        finally:
            await successor.stop()
        assert len(intake_posts(fake, rid)) == 1

    async def test_a_dm_is_not_sent_twice_either(self, deps: Deps, fake: FakeSlack) -> None:
        fake.fail("chat.postMessage", delay=LEASE + 1, channel="D0ALICE001")
        await file(deps, "prompt caching")
        dead = OutboxWorker(deps, worker_id="dead")
        await cancel_mid_delivery(dead, fake, "chat.postMessage", channel="D0ALICE001")
        assert len(fake.messages_in("D0ALICE001")) == 1
        successor = OutboxWorker(deps, worker_id="successor")
        successor.start()
        try:
            await eventually(lambda: pending_is(deps, 0), "every row delivered")
        finally:
            await successor.stop()
        assert len(fake.messages_in("D0ALICE001")) == 1
        assert len(intake_posts(fake)) == 1


class TestOperatorErrors:
    """Errors retrying cannot fix keep the request pending, loudly, until someone fixes them."""

    async def test_channel_not_found_keeps_it_pending_and_degrades_health(
        self, deps: Deps, fake: FakeSlack, caplog: pytest.LogCaptureFixture
    ) -> None:
        fake.fail("chat.postMessage", error="channel_not_found", times=None, channel=INTAKE)
        rid = await file(deps, "prompt caching")
        worker = OutboxWorker(deps)
        with caplog.at_level("ERROR", logger="bot.slack.outbox"):
            await worker.run_once()
        assert "CANNOT DELIVER intake_post" in caplog.text
        assert not await posted(deps, rid)
        assert len(fake.messages_in("D0ALICE001")) == 1  # the requester still hears back
        problems = await worker.health()
        assert any("channel_not_found" in p and "GLOSSARY_INTAKE_CHANNEL" in p for p in problems)
        # another replica (a fresh worker) sees the same problem through the store
        assert any("channel_not_found" in p for p in await OutboxWorker(deps).health())
        fake.clear_failures()  # the operator invites the bot
        worker.start()
        try:
            await eventually(lambda: posted(deps, rid), "the intake post", timeout=15)
        finally:
            await worker.stop()
        assert await worker.health() == []
        assert len(intake_posts(fake, rid)) == 1

    async def test_unset_intake_channel_is_reported_and_nothing_is_lost(
        self, fake: FakeSlack, store: Store
    ) -> None:
        deps = make_deps(fake, store, channel=None)
        rid = await file(deps, "prompt caching")
        worker = OutboxWorker(deps)
        await worker.run_once()
        assert any("GLOSSARY_INTAKE_CHANNEL" in p for p in await worker.health())
        assert await store.pending_count() == 1
        # configured later (a restart with the variable set): delivered then
        configured = OutboxWorker(make_deps(fake, store))
        configured.start()
        try:
            await eventually(lambda: posted(configured.deps, rid), "the intake post", timeout=15)
        finally:
            await configured.stop()

    @pytest.mark.parametrize("backend", BACKENDS)
    async def test_waiting_notes_do_not_hide_the_channel_problem(
        self, deps: Deps, fake: FakeSlack
    ) -> None:
        """With the intake channel broken, people joining requests queue thread notes that
        wait for posts that cannot land. Their errors name their own request, are retried
        often, and so are the newest; /healthz must still name the channel problem."""
        fake.fail("chat.postMessage", error="channel_not_found", times=None, channel=INTAKE)
        terms = [f"term number {n}" for n in range(6)]
        for term in terms:
            await file(deps, term)
        worker = OutboxWorker(deps)
        while await worker.run_once():  # every post fails once; retried in 1.6 s at the soonest
            pass
        for term in terms:
            await file(deps, term, user="U0BOB00001", why="me too")
        while await worker.run_once():  # every note and post update now waits for its post
            pass
        waiting = [
            item
            for item in await pending_items(deps)
            if (item.last_error or "").startswith("waiting_for_intake_post")
        ]
        assert len({item.last_error for item in waiting}) == len(terms) >= 6
        # A replica that did not see the failed posts itself (or this one after a restart)
        # knows only what the store says.
        replica = OutboxWorker(deps)
        deps.health_checks.append(replica.health)
        body, status = await health(deps)
        assert (status, body["status"]) == (200, "degraded")
        assert any(
            "channel_not_found" in p and "GLOSSARY_INTAKE_CHANNEL" in p for p in body["problems"]
        ), body
        assert not any("waiting_for_intake_post" in p for p in body["problems"]), body

    async def test_backoff_is_capped_at_fifteen_minutes(self) -> None:
        from bot.slack.outbox import OPERATOR_BASE, OPERATOR_CAP, backoff

        assert OPERATOR_CAP == 15 * 60
        delays = [backoff(n, OPERATOR_BASE, OPERATOR_CAP) for n in range(40)]
        assert max(delays) <= 15 * 60
        assert delays[-1] >= 0.8 * 15 * 60


class TestThreadsWaitForTheirPost:
    """+1 notes and post updates wait until the intake post exists, then land in its thread."""

    async def test_note_and_update_after_the_post(self, deps: Deps, fake: FakeSlack) -> None:
        fake.fail("chat.postMessage", error="not_in_channel", channel=INTAKE)
        rid = await file(deps, "prompt caching")
        await file(deps, "Prompt-Caching", user="U0BOB00001", why="me too", anonymous=True)
        worker = OutboxWorker(deps)
        await worker.run_once()  # the post fails; the note and the update must wait
        assert fake.messages_in(INTAKE) == []
        worker.start()
        try:
            await eventually(lambda: pending_is(deps, 0), "every row delivered", timeout=15)
        finally:
            await worker.stop()
        (post,) = intake_posts(fake, rid)
        (note,) = fake.messages_in(INTAKE, thread_ts=post["ts"])
        assert "me too" in str(note["blocks"])
        assert "U0BOB00001" not in str(note)  # asked anonymously
        assert "2 people" in str(post["blocks"])  # the update (or the late post) counts both
        assert [c for c in fake.calls_to("chat.update") if c.ok]


class TestSharedStore:
    """Two workers on one database never deliver the same row twice."""

    @pytest.fixture(params=BACKENDS)
    def backend(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    async def test_two_workers(self, deps: Deps, fake: FakeSlack) -> None:
        ids = [await file(deps, f"term number {n}", user=f"U0USER{n:04d}") for n in range(12)]
        workers = [OutboxWorker(deps, worker_id=name) for name in ("a", "b")]
        for worker in workers:
            worker.start()
        try:
            await eventually(lambda: pending_is(deps, 0), "every row delivered", timeout=20)
        finally:
            for worker in workers:
                await worker.stop()
        for rid in ids:
            assert len(intake_posts(fake, rid)) == 1
        intake_calls = [c for c in fake.calls_to("chat.postMessage") if c.args["channel"] == INTAKE]
        assert len(intake_calls) == len(ids)
        assert len(fake.calls_to("chat.postMessage")) == 2 * len(ids)  # and one DM each


async def pending_is(deps: Deps, count: int) -> bool:
    return await deps.store.pending_count() == count


async def pending_items(deps: Deps, up_to_id: int = 100) -> list[OutboxItem]:
    """Pending outbox rows among the first ids (the store has no listing), without leasing."""
    items = [await deps.store.get_outbox_item(item_id) for item_id in range(1, up_to_id + 1)]
    return [item for item in items if item is not None and item.state == "pending"]


class TestClosingTheLoop:
    """The hook the app registers in Deps.reload_hooks publishes what a reload brought and
    sends everyone waiting the new definition."""

    async def test_reload_hook(self, deps: Deps, fake: FakeSlack) -> None:
        full = deps.glossary.current
        before = Glossary([t for t in full.terms.values() if t.slug != "vector-database"])
        deps.glossary.swap(before)
        app_for(deps)  # registers the listeners, and the reload hook
        await deps.background.drain(5)  # its start-up catch-up: nothing to publish yet
        rid = await file(deps, "vector databases")
        await file(deps, "Vector-Database", user="U0BOB00001", anonymous=True)
        worker = OutboxWorker(deps)
        while await worker.run_once():
            pass
        deps.glossary.swap(full)
        deps.outbox_wake.clear()
        for hook in deps.reload_hooks:
            await hook(full)
        assert deps.outbox_wake.is_set()  # the worker is told at once
        request = await deps.store.get_request(rid)
        assert request is not None
        assert request.status == "published"
        worker.start()
        try:
            await eventually(lambda: pending_is(deps, 0), "every row delivered")
        finally:
            await worker.stop()
        term = full.get("vector-database")
        assert term is not None
        for channel in ("D0ALICE001", "D0BOB00001"):
            last = fake.messages_in(channel)[-1]
            assert "is now in the glossary" in last["text"]
            assert term.short_def.split()[0] in str(last["blocks"])
        (post,) = intake_posts(fake, rid)
        assert "Published" in str(post["blocks"])


class TestBrokenTermFiles:
    """A broken term file is reported in the intake channel through the outbox."""

    async def test_replicas_finding_the_same_breakage_post_it_once(
        self, fake: FakeSlack, store: Store, tmp_path: Path
    ) -> None:
        folder = tmp_path / "terms"
        shutil.copytree(FIXTURE_TERMS, folder)
        (folder / "hallucination.yml").write_text("term: [never closed\n")
        replicas = [make_deps(fake, store) for _ in range(3)]
        for replica in replicas:  # each replica reloads the same files and finds the same error
            await Reloader(replica, folder, watch=False).reload("signal")
            assert await replica.background.drain(5.0)  # the reload's announcement and hooks
        for number, replica in enumerate(replicas):
            await OutboxWorker(replica, worker_id=f"replica-{number}").run_once()
        (post,) = fake.messages_in(INTAKE)
        assert "hallucination.yml" in str(post["blocks"])

    async def test_a_different_breakage_is_posted_again(
        self, fake: FakeSlack, store: Store, tmp_path: Path
    ) -> None:
        folder = tmp_path / "terms"
        shutil.copytree(FIXTURE_TERMS, folder)
        deps = make_deps(fake, store)
        reloader = Reloader(deps, folder, watch=False)
        (folder / "hallucination.yml").write_text("term: [never closed\n")
        await reloader.reload("signal")
        (folder / "vector-database.yml").write_text("- a list, not a term\n")
        await reloader.reload("signal")
        await reloader.reload("signal")  # nothing new: no third post
        assert await deps.background.drain(5.0)
        while await OutboxWorker(deps).run_once():
            pass
        first, second = fake.messages_in(INTAKE)
        assert "hallucination.yml" in str(first["blocks"])
        assert "vector-database.yml" in str(second["blocks"])


class TestSlackUnreachable:
    async def test_a_refused_connection_is_retried_and_the_post_arrives_once(
        self, fake: FakeSlack, store: Store
    ) -> None:
        """Slack cannot be reached (nothing listens where the client connects): the post stays
        pending with the reason, and a worker that can reach Slack delivers it, once."""
        with socket.socket() as probe:  # a port that was free a moment ago: connections fail
            probe.bind(("127.0.0.1", 0))
            dead_port = probe.getsockname()[1]
        reachable = make_deps(fake, store)
        settings = reachable.settings.model_copy(
            update={"SLACK_API_URL": f"http://127.0.0.1:{dead_port}/api/"}
        )
        unreachable = build_deps(settings, reachable.glossary, store)
        rid = await file(unreachable, "prompt caching")
        assert await OutboxWorker(unreachable, worker_id="cut-off").run_once() == 2
        stats = await store.outbox_stats()
        assert stats.pending == 2
        assert stats.retrying == 2
        assert stats.last_error is not None
        assert stats.last_error.startswith("connection_error")
        assert intake_posts(fake) == []

        worker = OutboxWorker(reachable, worker_id="connected")
        worker.start()
        try:
            await eventually(lambda: posted(reachable, rid), "the intake post", timeout=20)
        finally:
            await worker.stop()
        assert len(intake_posts(fake, rid)) == 1
