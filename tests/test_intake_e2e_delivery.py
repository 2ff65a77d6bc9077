"""End to end: intake posts are never lost and never doubled, whatever Slack or the host does.

The real bot runs as a subprocess against the fake Web API, which is told to answer 429s,
5xx, `channel_not_found`, or to hold an answer back while the bot is killed with SIGKILL. A
short outbox lease (GLOSSARY_OUTBOX_LEASE_SECONDS=4) lets a restarted bot take over a dead
one's delivery within seconds. The last test runs two bot processes on one PostgreSQL
database (skipped, with the reason, when no server can be had).
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_server import postgres_schema_url
from slack_fake import FakeSlack
from slack_harness import BotProcess, header_of
from slack_signing import SlackSender, view_submission_payload

from bot.store import open_store

INTAKE = "C0INTAKE01"
LEASE = 4
WAIT = 20.0
ENV = {
    "GLOSSARY_INTAKE_CHANNEL": INTAKE,
    "GLOSSARY_TRIAGERS": "U0TRIAGE01",
    "GLOSSARY_OUTBOX_LEASE_SECONDS": str(LEASE),
    "GLOSSARY_WATCH": "false",
}


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake(fake_server: FakeSlack) -> FakeSlack:
    fake_server.reset()
    return fake_server


@pytest.fixture(scope="module")
def bot_process(
    fake_server: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    process = BotProcess(fake_server, tmp_path_factory.mktemp("bot"), env=ENV)
    process.start()
    yield process
    process.stop()


@pytest.fixture
def bot(bot_process: BotProcess, fake: FakeSlack) -> BotProcess:
    if bot_process.process is None or bot_process.process.poll() is not None:
        bot_process.start()
    return bot_process


def submit(slack: SlackSender, user: str, term: str) -> None:
    view = {"type": "modal", "callback_id": "term_request", "private_metadata": "{}"}
    values = {"term": {"value": {"type": "plain_text_input", "value": term}}}
    reply = slack.interactive(view_submission_payload(view, values, user_id=user))
    assert reply.status == 200
    assert reply.body in ("", "{}"), reply.body


def intake_posts(fake: FakeSlack, term: str) -> list[dict[str, Any]]:
    """The intake channel's posts about `term` (as a person scrolling the channel sees)."""
    title = f"Term request: {term} ("
    return [m for m in fake.messages_in(INTAKE) if str(m.get("text")).startswith(title)]


def post_attempts(fake: FakeSlack) -> list[Any]:
    return [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == INTAKE]


def wait_until(condition: Any, what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def pending(database_url: str) -> int:
    """Outbox rows not yet delivered, read from the bot's database."""

    async def count() -> int:
        store = open_store(database_url)
        try:
            return await store.pending_count()
        finally:
            await store.close()

    return asyncio.run(count())


def settled(fake: FakeSlack, database_url: str) -> None:
    """Wait until every outbox row is delivered: after that nothing can be posted again."""
    wait_until(lambda: pending(database_url) == 0, "every outbox row delivered")
    fake.quiet(0.3)


def sqlite_url(bot: BotProcess) -> str:
    return f"sqlite:///{bot.database}"


class TestRetries:
    """Rate limits and server errors are retried until Slack takes the post, once."""

    def test_429_and_500s_then_one_post(self, bot: BotProcess, fake: FakeSlack) -> None:
        # Retry-After: 3 is well above the first backoff (0.8-1.0 s), so the gap before the
        # second attempt shows whose delay was used.
        fake.fail("chat.postMessage", status=429, retry_after=3, channel=INTAKE)
        fake.fail("chat.postMessage", status=500, channel=INTAKE)
        fake.fail("chat.postMessage", status=500, channel=INTAKE)
        submit(bot.sender(), "U0RETRY001", "speculative decoding")
        wait_until(lambda: intake_posts(fake, "speculative decoding"), "the intake post")
        settled(fake, sqlite_url(bot))
        assert len(intake_posts(fake, "speculative decoding")) == 1
        statuses = [c.response.get("ok") for c in post_attempts(fake)]
        assert statuses == [False, False, False, True]
        first, second = post_attempts(fake)[:2]
        assert second.at - first.at >= 2.9  # waited as Retry-After said


class TestOperatorErrors:
    """channel_not_found keeps the request pending and /healthz degraded; look-ups still work."""

    def test_channel_not_found_then_fixed(self, bot: BotProcess, fake: FakeSlack) -> None:
        fake.fail("chat.postMessage", error="channel_not_found", times=None, channel=INTAKE)
        slack = bot.sender()
        submit(slack, "U0BROKEN01", "constitutional AI")
        status, health = wait_until(
            lambda: (h := bot.healthz())[1].get("status") == "degraded" and h,
            "a degraded /healthz",
        )
        assert status == 200
        assert health["terms"] > 0
        assert any("channel_not_found" in p for p in health["problems"]), health
        assert "CANNOT DELIVER intake_post" in bot.stderr()
        answer = slack.command("RAG", response_url=fake.response_url("q")).json()
        assert header_of(answer) == "retrieval-augmented generation"  # still answering
        assert intake_posts(fake, "constitutional AI") == []
        fake.clear_failures()  # someone invites the bot to the channel
        wait_until(lambda: intake_posts(fake, "constitutional AI"), "the post, once fixed")
        status, health = wait_until(
            lambda: (h := bot.healthz())[1].get("status") == "ok" and h, "a healthy /healthz"
        )
        assert status == 200
        assert len(intake_posts(fake, "constitutional AI")) == 1


class TestKilled:
    """A bot killed mid-delivery and restarted posts exactly once."""

    def test_killed_before_the_post_reached_slack(self, bot: BotProcess, fake: FakeSlack) -> None:
        # Slack hangs and then fails: nothing is posted while the bot waits, and it dies.
        fake.fail("chat.postMessage", status=503, delay=LEASE + 1, channel=INTAKE)
        submit(bot.sender(), "U0KILLED01", "model distillation")
        wait_until(lambda: post_attempts(fake), "the delivery to start")
        bot.stop(signal.SIGKILL)
        assert intake_posts(fake, "model distillation") == []
        bot.start()
        wait_until(lambda: intake_posts(fake, "model distillation"), "the post after restart")
        settled(fake, sqlite_url(bot))
        assert len(intake_posts(fake, "model distillation")) == 1
        assert len(fake.messages_in("D0KILLED01")) == 1  # and one DM

    def test_killed_after_posting_before_recording(self, bot: BotProcess, fake: FakeSlack) -> None:
        # Slack takes the post but its answer is held back: the bot dies not knowing.
        fake.fail("chat.postMessage", delay=LEASE + 1, channel=INTAKE)
        submit(bot.sender(), "U0KILLED02", "reward hacking")
        wait_until(lambda: intake_posts(fake, "reward hacking"), "the post")
        bot.stop(signal.SIGKILL)
        bot.start()
        wait_until(lambda: fake.calls_to("conversations.history"), "the history check")
        settled(fake, sqlite_url(bot))
        assert len(intake_posts(fake, "reward hacking")) == 1
        assert len(post_attempts(fake)) == 1  # found in the history, not posted again
        looked = fake.calls_to("conversations.history")[0].args
        assert looked["channel"] == INTAKE
        assert str(looked["include_all_metadata"]).lower() in ("1", "true")


class PostgresBot(BotProcess):
    """A bot process on a given database URL instead of its own SQLite file."""

    def __init__(self, fake: FakeSlack, workdir: Path, database_url: str) -> None:
        super().__init__(fake, workdir, env=ENV)
        self.database_url = database_url

    def env(self) -> dict[str, str]:
        return {**super().env(), "GLOSSARY_DATABASE_URL": self.database_url}


class TestTwoProcessesOnePostgres:
    """Two replicas sharing one PostgreSQL store never deliver the same outbox row twice."""

    def test_each_request_is_posted_once(self, fake: FakeSlack, tmp_path: Path) -> None:
        with postgres_schema_url() as url:
            bots = [PostgresBot(fake, tmp_path / name, url) for name in ("a", "b")]
            for bot in bots:
                bot.workdir.mkdir()
                bot.start()
            try:
                # Slow posts, so both replicas' deliveries overlap.
                fake.fail("chat.postMessage", delay=0.2, times=None, channel=INTAKE)
                terms = [f"shared term {n}" for n in range(12)]
                for n, term in enumerate(terms):
                    submit(bots[n % 2].sender(), f"U0REPLICA{n:02d}", term)
                wait_until(lambda: all(intake_posts(fake, t) for t in terms), "every intake post")
                settled(fake, url)
            finally:
                for bot in bots:
                    bot.stop()
        for term in terms:
            assert len(intake_posts(fake, term)) == 1, term
        assert len(post_attempts(fake)) == len(terms)
        request_ids = [json.dumps(m["metadata"]["event_payload"]) for m in fake.messages_in(INTAKE)]
        assert len(set(request_ids)) == len(terms)
