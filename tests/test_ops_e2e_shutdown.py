"""End to end: SIGTERM while an intake post is on its way leaves the outbox consistent.

Slack (the fake) takes the post but holds its answer back for longer than the bot's shutdown
grace, so SIGTERM arrives mid-delivery. The bot must still exit promptly and cleanly (the live
reload watcher and the delivery worker both stop), and the row must stay pending: not lost,
not marked failed. Restarted, the bot finds its post in the channel's history and records it,
so the channel shows exactly one post.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from slack_fake import FakeSlack
from slack_harness import BotProcess
from slack_signing import view_submission_payload

from bot.store import OutboxItem, open_store

INTAKE = "C0INTAKE01"
HELD_SECONDS = 15.0  # longer than the outbox worker's stop grace (5 s)
SHUTDOWN_BUDGET = 12.0  # what SIGTERM may take here; Docker's default is 10 s before SIGKILL
ENV = {
    "GLOSSARY_INTAKE_CHANNEL": INTAKE,
    "GLOSSARY_OUTBOX_LEASE_SECONDS": "4",
}


def _wait(condition: Any, what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


def _outbox(bot: BotProcess) -> list[OutboxItem]:
    async def read() -> list[OutboxItem]:
        store = open_store(f"sqlite:///{bot.database}")
        try:
            items = [await store.get_outbox_item(i) for i in range(1, 50)]
            return [item for item in items if item is not None]
        finally:
            await store.close()

    return asyncio.run(read())


def _posts(fake: FakeSlack, term: str) -> list[dict[str, Any]]:
    return [m for m in fake.messages_in(INTAKE) if term in str(m.get("text"))]


def test_sigterm_mid_delivery_leaves_the_row_pending_and_posts_once(tmp_path: Path) -> None:
    term = "speculative decoding"
    with FakeSlack() as fake:
        bot = BotProcess(fake, tmp_path, env=ENV).start()
        try:
            fake.fail("chat.postMessage", delay=HELD_SECONDS, channel=INTAKE)
            view = {"type": "modal", "callback_id": "term_request", "private_metadata": "{}"}
            values = {"term": {"value": {"type": "plain_text_input", "value": term}}}
            reply = bot.sender().interactive(view_submission_payload(view, values))
            assert reply.status == 200
            _wait(lambda: _posts(fake, term), "the post to reach the channel")

            started = time.monotonic()
            assert bot.stop() == 0  # SIGTERM
            assert time.monotonic() - started < SHUTDOWN_BUDGET
            rows = _outbox(bot)
            print("after SIGTERM:", [(i.kind, i.state, i.attempts, i.lease_owner) for i in rows])
            assert rows, "the outbox rows are gone"
            assert any(i.state == "pending" for i in rows)  # the held post: not lost...
            assert all(i.state != "failed" for i in rows)  # ...nor given up on
            assert all(i.lease_owner is None for i in rows if i.state == "pending")  # handed back

            fake.clear_failures()
            bot.start()
            _wait(lambda: all(i.state == "delivered" for i in _outbox(bot)), "every row delivered")
            fake.quiet(0.5)
            assert len(_posts(fake, term)) == 1
        finally:
            bot.stop()
