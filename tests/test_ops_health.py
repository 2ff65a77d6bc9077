"""/healthz and /metrics over real HTTP, on the app the bot builds, with a real SQLite store.

Each test builds the bot's own Deps and web app (no subprocess, so each case is quick) and reads
the endpoints with an HTTP client, as a load balancer or Prometheus would.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from slack_fake import BOT_TOKEN
from slack_harness import FIXTURE_TERMS
from slack_signing import SIGNING_SECRET

from bot.config import load_settings
from bot.glossary.resolve import Glossary
from bot.slack.app import app_for, build_deps
from bot.slack.deps import Deps, GlossaryHolder
from bot.slack.reloading import Reloader
from bot.slack.runtime import load_holder
from bot.slack.server import STATE_KEY, build_web_app
from bot.store import RequestDraft, Store, open_store

BROKEN_YAML = "term: hallucination\naliases: [unclosed\n"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Bot:
    """The bot's deps, web app and an HTTP client to it."""

    def __init__(self, deps: Deps, client: TestClient, terms: Path, clock: Clock) -> None:
        self.deps = deps
        self.client = client
        self.terms = terms
        self.clock = clock
        self.reloader = Reloader(deps, terms, watch=False)

    @property
    def store(self) -> Store:
        return self.deps.store

    async def healthz(self) -> tuple[int, dict[str, Any]]:
        response = await self.client.get("/healthz")
        return response.status, await response.json()

    async def metrics(self) -> dict[str, float]:
        """Every sample as `name{label="value",...}` -> value."""
        response = await self.client.get("/metrics")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        samples: dict[str, float] = {}
        for family in text_string_to_metric_families(await response.text()):
            for sample in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return samples


@pytest.fixture
async def make_bot(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    clients: list[TestClient] = []
    stores: list[Store] = []

    async def make(terms: Path | None = None) -> Bot:
        folder = terms or tmp_path / "terms"
        if terms is None:
            shutil.copytree(FIXTURE_TERMS, folder)
        settings = load_settings(
            "serve", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET
        )
        clock = Clock()
        store = open_store(f"sqlite:///{tmp_path / 'bot.sqlite3'}", clock=clock)
        await store.migrate()
        stores.append(store)
        holder = load_holder(folder) if any(folder.iterdir()) else GlossaryHolder(Glossary([]))
        deps = build_deps(settings, holder, store)
        client = TestClient(TestServer(build_web_app(app_for(deps), deps)))
        await client.start_server()
        clients.append(client)
        return Bot(deps, client, folder, clock)

    yield make
    for client in clients:
        await client.close()
    for store in stores:
        await store.close()


class TestHealthz:
    """/healthz: ok, degraded with reasons, or 503."""

    async def test_healthy_reports_every_field(self, make_bot: Callable[..., Any]) -> None:
        bot = await make_bot()
        status, body = await bot.healthz()
        assert status == 200
        assert body["status"] == "ok"
        assert body["terms"] == 5
        assert body["store"] == "ok"
        assert "problems" not in body
        assert body["reload"]["reason"] == "start"
        assert body["reload"]["errors"] == []
        assert body["reload"]["ok"] is True
        assert body["outbox"] == {
            "pending": 0,
            "due": 0,
            "retrying": 0,
            "failed": 0,
            "oldest_pending_seconds": None,
            "last_error": None,
        }

    async def test_broken_file_after_reload_is_degraded_with_path_and_line(
        self, make_bot: Callable[..., Any]
    ) -> None:
        bot = await make_bot()
        broken = bot.terms / "hallucination.yml"
        broken.write_text(BROKEN_YAML)
        outcome = await bot.reloader.reload("command")
        assert outcome.kept == (str(broken),)
        status, body = await bot.healthz()
        assert status == 200  # look-ups still work
        assert body["status"] == "degraded"
        assert body["terms"] == 5  # the broken file's last good version is still served
        assert body["reload"]["reason"] == "command"
        assert body["reload"]["kept"] == [str(broken)]
        assert any(e.startswith(f"{broken}:3:") for e in body["reload"]["errors"])
        assert any("terms/hallucination.yml:3" in p for p in body["problems"])
        assert bot.deps.glossary.current.resolve("confabulation").slug == "hallucination"

        broken.write_text((FIXTURE_TERMS / "hallucination.yml").read_text())
        await bot.reloader.reload("command")
        status, body = await bot.healthz()
        assert (status, body["status"], body["reload"]["errors"]) == (200, "ok", [])

    async def test_failed_reload_keeps_serving_and_says_so(
        self, make_bot: Callable[..., Any]
    ) -> None:
        bot = await make_bot()
        shutil.rmtree(bot.terms)
        outcome = await bot.reloader.reload("signal")
        assert outcome.failure is not None
        status, body = await bot.healthz()
        assert status == 200
        assert body["status"] == "degraded"
        assert body["terms"] == 5
        assert "does not exist" in body["reload"]["failure"]
        assert any("last reload failed" in p for p in body["problems"])

    async def test_store_down_is_degraded(self, make_bot: Callable[..., Any]) -> None:
        bot = await make_bot()
        await bot.store.close()
        status, body = await bot.healthz()
        assert status == 200
        assert body["status"] == "degraded"
        assert body["store"] == "unreachable"
        assert "outbox" not in body
        assert any(p.startswith("store:") for p in body["problems"])

    async def test_outbox_backlog_and_its_last_error_are_reported(
        self, make_bot: Callable[..., Any]
    ) -> None:
        bot = await make_bot()
        await bot.store.enqueue("intake_post", {"request_id": 1}, "k1")
        [item] = await bot.store.claim_due("w1")
        await bot.store.mark_retry(
            item.id,
            worker_id="w1",
            error="channel_not_found",
            retry_at=bot.clock.now + timedelta(minutes=15),
        )
        status, body = await bot.healthz()
        assert status == 200
        assert body["outbox"]["pending"] == 1
        assert body["outbox"]["due"] == 0  # waiting for its retry time
        assert body["outbox"]["retrying"] == 1
        assert body["outbox"]["last_error"] == "channel_not_found"

    async def test_an_old_backlog_is_degraded(self, make_bot: Callable[..., Any]) -> None:
        bot = await make_bot()
        await bot.store.enqueue("intake_post", {"request_id": 1}, "k1")
        status, body = await bot.healthz()
        assert (status, body["status"]) == (200, "ok")
        assert body["outbox"]["pending"] == 1
        bot.clock.now += timedelta(minutes=20)
        status, body = await bot.healthz()
        assert (status, body["status"]) == (200, "degraded")
        assert body["outbox"]["oldest_pending_seconds"] == 20 * 60
        assert any("waited 20 minutes" in p for p in body["problems"])

    async def test_no_terms_is_503(self, make_bot: Callable[..., Any], tmp_path: Path) -> None:
        empty = tmp_path / "empty"
        empty.mkdir()
        bot = await make_bot(empty)
        status, body = await bot.healthz()
        assert status == 503
        assert body["status"] == "unavailable"
        assert body["terms"] == 0

    async def test_shutting_down_is_503(self, make_bot: Callable[..., Any]) -> None:
        bot = await make_bot()
        bot.client.server.app[STATE_KEY].stopping = True
        status, body = await bot.healthz()
        assert status == 503
        assert body["status"] == "stopping"

    async def test_registered_checks_add_their_problems(self, make_bot: Callable[..., Any]) -> None:
        bot = await make_bot()

        async def check() -> list[str]:
            return ["intake: the intake channel is missing"]

        bot.deps.health_checks.append(check)
        status, body = await bot.healthz()
        assert (status, body["status"]) == (200, "degraded")
        assert "intake: the intake channel is missing" in body["problems"]


class TestMetrics:
    """/metrics: the named series, counted here or read from the store at scrape time."""

    async def test_the_named_series_are_exposed(self, make_bot: Callable[..., Any]) -> None:
        bot = await make_bot()
        samples = await bot.metrics()
        for outcome in ("found", "fuzzy", "ambiguous", "suggest", "not_found"):
            assert samples[f'glossary_lookups_total{{outcome="{outcome}"}}'] == 0
        for name in (
            "glossary_terms",
            "glossary_reload_errors",
            "glossary_last_reload_timestamp_seconds",
            "glossary_store_up",
            "glossary_term_requests_filed_total",
            "glossary_outbox_pending",
            "glossary_outbox_retrying",
            "glossary_outbox_failed",
            "glossary_outbox_oldest_pending_seconds",
        ):
            assert name in samples, name
        assert samples["glossary_terms"] == 5
        assert samples["glossary_store_up"] == 1
        assert samples['glossary_reloads_total{result="errors"}'] == 0

    async def test_store_counts_are_read_at_scrape_time(self, make_bot: Callable[..., Any]) -> None:
        bot = await make_bot()
        for term, user in (("prompt injection", "U1"), ("guardrails", "U2")):
            draft = RequestDraft(term=term, normalised_term=term, requester_id=user)
            await bot.store.create_request(draft)
        await bot.store.enqueue("intake_post", {"request_id": 1}, "k1")
        [item] = await bot.store.claim_due("w1")
        await bot.store.mark_failed(item.id, worker_id="w1", error="invalid_blocks")
        await bot.store.enqueue("intake_post", {"request_id": 2}, "k2")
        samples = await bot.metrics()
        assert samples["glossary_term_requests_filed_total"] == 2
        assert samples['glossary_term_requests{status="open"}'] == 2
        assert samples["glossary_outbox_pending"] == 1
        assert samples["glossary_outbox_failed"] == 1

    async def test_reload_errors_are_counted(self, make_bot: Callable[..., Any]) -> None:
        bot = await make_bot()
        (bot.terms / "hallucination.yml").write_text(BROKEN_YAML)
        await bot.reloader.reload("watch")
        samples = await bot.metrics()
        assert samples['glossary_reloads_total{result="errors"}'] == 1
        assert samples["glossary_reload_errors"] >= 1
        assert samples["glossary_terms"] == 5

    async def test_a_dead_store_leaves_its_series_out(self, make_bot: Callable[..., Any]) -> None:
        bot = await make_bot()
        await bot.store.close()
        samples = await bot.metrics()
        assert samples["glossary_store_up"] == 0
        assert "glossary_outbox_pending" not in samples
        assert samples["glossary_terms"] == 5

    async def test_each_app_has_its_own_registry(self, make_bot: Callable[..., Any]) -> None:
        one = await make_bot()
        two = await make_bot(one.terms)
        one.deps.metrics.lookup("found")
        assert (await one.metrics())['glossary_lookups_total{outcome="found"}'] == 1
        assert (await two.metrics())['glossary_lookups_total{outcome="found"}'] == 0
