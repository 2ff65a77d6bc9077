"""The Slack app's small pure parts and its event gate, without a process or a network."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from bot.intake import REQUEST_MODAL_CALLBACK_ID
from bot.slack.background import Background
from bot.slack.dedupe import EventGate
from bot.slack.intake_blocks import request_modal
from bot.slack.listeners import shortcuts
from bot.slack.listeners.events import _ignored, strip_mentions
from bot.store import Store, open_store

REPO = Path(__file__).resolve().parents[1]
BOT = "UBOT000001"


class TestStripMentions:
    """Only the bot's own mention is removed from a question."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (f"<@{BOT}> what is RAG?", "what is RAG?"),
            (f"<@{BOT}|glossary>   RAG  ", "RAG"),
            (f"hey <@{BOT}> explain <@U0OTHER01>'s LLM", "hey explain <@U0OTHER01>'s LLM"),
            ("no mention at all", "no mention at all"),
        ],
    )
    def test_strip(self, text: str, expected: str) -> None:
        assert strip_mentions(text, BOT) == expected


class TestIgnoredMessages:
    """Bots, the bot itself, edits and other subtypes are never answered."""

    @pytest.mark.parametrize(
        "event",
        [
            {"user": "U1", "bot_id": "B1", "text": "x"},
            {"user": "U1", "subtype": "bot_message", "text": "x"},
            {"user": "U1", "subtype": "message_changed"},
            {"user": "U1", "subtype": "message_deleted"},
            {"user": "U1", "subtype": "channel_join", "text": "x"},
            {"user": "U1", "subtype": "thread_broadcast", "bot_id": "B1", "text": "x"},
            {"user": BOT, "text": "x"},
            {"user": BOT, "subtype": "file_share", "text": "x"},
            {"text": "no user"},
        ],
    )
    def test_ignored(self, event: dict) -> None:
        assert _ignored(event, BOT)

    def test_a_person_is_answered(self) -> None:
        assert not _ignored({"user": "U1", "text": "RAG", "channel_type": "im"}, BOT)

    @pytest.mark.parametrize("subtype", ["file_share", "thread_broadcast"])
    def test_a_person_sharing_a_file_or_broadcasting_a_reply_is_answered(
        self, subtype: str
    ) -> None:
        assert not _ignored({"user": "U1", "subtype": subtype, "text": "RAG"}, BOT)


@pytest.fixture
async def store() -> Store:
    opened = open_store("sqlite:///:memory:")
    await opened.migrate()
    yield opened  # type: ignore[misc]
    await opened.close()


class TestEventGate:
    """run_once replies once per event id, releases failures, and acks slow replies in time."""

    async def test_second_delivery_does_not_reply(self, store: Store) -> None:
        gate = EventGate(store, Background())
        replies: list[int] = []

        async def reply() -> None:
            replies.append(1)

        assert await gate.run_once("Ev1", reply) is None
        assert await gate.run_once("Ev1", reply) is None
        assert replies == [1]

    async def test_another_process_finished_event_is_acked_not_replied(self, store: Store) -> None:
        """Another replica answered it: a plain 200, so Slack stops retrying."""
        await store.claim_event("Ev2")
        await store.finish_event("Ev2")
        gate = EventGate(store, Background())
        replies: list[int] = []

        async def reply() -> None:
            replies.append(1)

        assert await gate.run_once("Ev2", reply) is None
        assert replies == []

    async def test_event_running_elsewhere_is_retried_later(self, store: Store) -> None:
        """Another replica holds a live claim (it may have died): a 503 keeps Slack retrying."""
        await store.claim_event("Ev5", lease_seconds=30)
        gate = EventGate(store, Background())
        replies: list[int] = []

        async def reply() -> None:
            replies.append(1)

        response = await gate.run_once("Ev5", reply)
        assert replies == []
        assert response is not None
        assert response.status == 503

    async def test_failed_reply_is_released_and_retried(self, store: Store) -> None:
        gate = EventGate(store, Background())
        calls: list[int] = []

        async def flaky() -> None:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("Slack said no")

        with pytest.raises(RuntimeError):
            await gate.run_once("Ev3", flaky)
        assert await gate.run_once("Ev3", flaky) is None
        assert calls == [1, 1]

    async def test_slow_reply_acks_within_budget_and_finishes_later(self, store: Store) -> None:
        background = Background()
        gate = EventGate(store, background, budget=0.05)
        done = asyncio.Event()

        async def slow() -> None:
            await asyncio.sleep(0.2)
            done.set()

        started = asyncio.get_running_loop().time()
        assert await gate.run_once("Ev4", slow) is None
        assert asyncio.get_running_loop().time() - started < 0.15
        assert await background.drain(2.0)
        assert done.is_set()
        assert not await store.claim_event("Ev4")  # finished

    async def test_a_slow_reply_that_fails_after_the_ack_is_tried_again(self, store: Store) -> None:
        """Slack has its 200 and will not redeliver: the gate runs the reply again itself."""
        background = Background()
        gate = EventGate(store, background, budget=0.05, late_retry_delays=(0.05, 0.05, 0.05))
        attempts: list[str] = []

        async def slow_then_fine() -> None:
            attempts.append("try")
            if len(attempts) <= 2:
                await asyncio.sleep(0.1)
                raise RuntimeError("Slack answered 500")

        assert await gate.run_once("Ev5", slow_then_fine) is None  # acked in time
        assert await background.drain(3.0)
        assert attempts == ["try", "try", "try"]  # the first, one failed retry, then success
        assert not await store.claim_event("Ev5")  # finished: a redelivery would not reply
        assert await gate.run_once("Ev5", slow_then_fine) is None
        assert len(attempts) == 3

    async def test_late_retries_stop_when_another_replica_finished_the_event(
        self, store: Store
    ) -> None:
        background = Background()
        gate = EventGate(store, background, budget=0.05, late_retry_delays=(0.1,))
        attempts: list[str] = []

        async def slow_failure() -> None:
            attempts.append("try")
            await asyncio.sleep(0.1)
            raise RuntimeError("Slack answered 500")

        await gate.run_once("Ev6", slow_failure)
        await asyncio.sleep(0.15)  # the first attempt failed and released its claim
        assert await store.claim_event("Ev6")  # another replica takes it...
        await store.finish_event("Ev6")  # ...and answers
        assert await background.drain(3.0)
        assert attempts == ["try"]

    async def test_a_reply_that_keeps_failing_is_given_up_after_the_last_retry(
        self, store: Store, caplog: pytest.LogCaptureFixture
    ) -> None:
        background = Background()
        gate = EventGate(store, background, budget=0.05, late_retry_delays=(0.01, 0.01))
        attempts: list[str] = []

        async def always_failing() -> None:
            attempts.append("try")
            await asyncio.sleep(0.1)
            raise RuntimeError("Slack answered 500")

        await gate.run_once("Ev7", always_failing)
        assert await background.drain(3.0)
        assert attempts == ["try", "try", "try"]
        assert "giving up" in caplog.text


class TestBackground:
    """Background work is kept, its errors reported, and drained at shutdown."""

    async def test_errors_reach_the_reporter(self) -> None:
        background = Background()
        seen: list[BaseException] = []

        async def report(error: BaseException, request: object) -> None:
            seen.append(error)

        background.report_error = report

        async def boom() -> None:
            raise ValueError("x")

        background.spawn(boom(), name="boom")
        assert await background.drain(1.0)
        assert [type(e) for e in seen] == [ValueError]

    async def test_drain_cancels_what_does_not_finish(self) -> None:
        background = Background()
        background.spawn(asyncio.sleep(10), name="sleeper")
        assert not await background.drain(0.05)
        assert background.pending == 0


class TestDefaultIntakeForm:
    """The default request form is a valid modal with the term prefilled."""

    def test_modal(self) -> None:
        view = request_modal("prompt caching", "new", None, "https://x.slack.com/archives/C1/p1")
        assert view["callback_id"] == REQUEST_MODAL_CALLBACK_ID
        assert len(view["title"]["text"]) <= 24
        term_input = view["blocks"][0]["element"]
        assert term_input["initial_value"] == "prompt caching"
        assert term_input["max_length"] > 0


class TestManifest:
    """manifest.yml declares what the code listens to, and nothing it does not need."""

    @pytest.fixture
    def manifest(self) -> dict:
        return yaml.safe_load((REPO / "manifest.yml").read_text())

    def test_command_events_and_interactivity(self, manifest: dict) -> None:
        (command,) = manifest["features"]["slash_commands"]
        assert command["command"] == "/define"
        assert command["usage_hint"]
        assert command["url"].endswith("/slack/events")
        events = manifest["settings"]["event_subscriptions"]["bot_events"]
        assert set(events) == {"app_mention", "message.im", "app_home_opened"}
        assert "message.channels" not in events  # would deliver mentions twice
        assert manifest["settings"]["interactivity"]["is_enabled"] is True
        assert manifest["settings"]["socket_mode_enabled"] is False
        home = manifest["features"]["app_home"]
        assert home["home_tab_enabled"]
        assert home["messages_tab_enabled"]

    def test_scopes(self, manifest: dict) -> None:
        scopes = set(manifest["oauth_config"]["scopes"]["bot"])
        assert scopes == {
            "commands",
            "chat:write",
            "app_mentions:read",
            "im:history",
            "im:read",
            "im:write",
            "users:read",
            "channels:history",
            "groups:history",
        }

    def test_shortcuts_match_the_listeners(self, manifest: dict) -> None:
        callbacks = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
        assert set(callbacks) == {shortcuts.DEFINE_TERMS, shortcuts.REQUEST_DEFINITION}
        assert callbacks[shortcuts.DEFINE_TERMS]["name"] == "Define terms in this message"
        assert all(s["type"] == "message" for s in callbacks.values())
