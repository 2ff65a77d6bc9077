"""End to end: mentions, DMs, ignored messages and retried events through the running bot."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

from slack_fake import BOT_USER_ID, Call, FakeSlack
from slack_harness import BotProcess, header_of, message_texts, running_bot
from slack_signing import SlackSender, dm_event, mention_event, unique

from bot.store import open_store

pytest_plugins = ["slack_fixtures"]


def _answered(call: Call) -> bool:
    return call.method == "chat.postMessage" and call.ok


def _posts(fake: FakeSlack, wait: float = 0.4) -> list:
    fake.quiet(wait)
    return fake.calls_to("chat.postMessage")


class TestMentions:
    """@bot in a channel answers in a thread, publicly, once."""

    def test_mention_answers_in_a_thread_under_the_question(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        event = mention_event(f"<@{BOT_USER_ID}> what is RAG?", ts="1700000100.000100")
        reply = slack.event(event)
        assert reply.status == 200
        (post,) = fake_slack.wait_for("chat.postMessage")
        assert post.args["channel"] == event["channel"]
        assert post.args["thread_ts"] == "1700000100.000100"
        assert header_of(post.args) == "retrieval-augmented generation"
        assert "Share in channel" not in message_texts(post.args)  # already public

    def test_mention_inside_a_thread_answers_in_that_thread(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        event = mention_event(
            f"<@{BOT_USER_ID}> LLM for legal", ts="1700000200.000200", thread_ts="1700000150.000001"
        )
        slack.event(event)
        (post,) = fake_slack.wait_for("chat.postMessage")
        assert post.args["thread_ts"] == "1700000150.000001"
        text = message_texts(post.args)
        assert "Legal counsel" in text

    def test_mention_of_an_unknown_term_offers_suggestions(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        slack.event(mention_event(f"<@{BOT_USER_ID}> what is a vector datastore?"))
        (post,) = fake_slack.wait_for("chat.postMessage")
        assert "Request this term" in message_texts(post.args)


class TestDirectMessages:
    """A DM to the bot is answered in the DM."""

    def test_dm_is_answered_directly(self, slack: SlackSender, fake_slack: FakeSlack) -> None:
        event = dm_event("hallucination", channel="D0000ALICE")
        slack.event(event)
        (post,) = fake_slack.wait_for("chat.postMessage")
        assert post.args["channel"] == "D0000ALICE"
        assert "thread_ts" not in post.args or not post.args["thread_ts"]
        assert header_of(post.args) == "hallucination"

    def test_role_can_be_saved_from_a_dm(self, slack: SlackSender, fake_slack: FakeSlack) -> None:
        slack.event(dm_event("role engineering", user="U0DMROLE01"))
        (post,) = fake_slack.wait_for("chat.postMessage")
        assert "Software engineer" in message_texts(post.args)

    def test_requests_stats_and_reload_by_dm(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        """The text commands work in a DM as they do after /define."""
        slack.event(dm_event("requests", user="U0DMLIST01"))
        slack.event(dm_event("stats", user="U0DMLIST01"))
        slack.event(dm_event("reload", user="U0DMLIST01"))
        posts = fake_slack.wait_for("chat.postMessage", count=3)
        said = [message_texts(post.args) for post in posts]
        assert any("You haven't asked for any terms yet" in text for text in said)
        assert any("Only the glossary triagers" in text for text in said)
        assert any("/define reload" in text for text in said)
        assert not any("not available" in text for text in said)


class TestIgnored:
    """The bot never answers bots (itself included), edits, deletions or channel chatter."""

    def test_bot_and_edited_messages_are_ignored(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        ignored = [
            dm_event("RAG", bot_id="B0OTHER001"),
            dm_event("RAG", subtype="bot_message", bot_id="B0OTHER001"),
            dm_event("RAG", user=BOT_USER_ID),
            dm_event(
                "RAG", subtype="message_changed", message={"text": "RAG", "user": "U0000ALICE"}
            ),
            dm_event("RAG", subtype="message_deleted"),
            dm_event("RAG", subtype="channel_join"),
            {**dm_event("RAG"), "channel_type": "channel", "channel": "C0000GENERAL"},
        ]
        for event in ignored:
            reply = slack.event(event)
            assert reply.status == 200
        assert _posts(fake_slack) == []

    def test_mentions_by_bots_or_by_the_bot_itself_are_ignored(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        for event in (
            {**mention_event(f"<@{BOT_USER_ID}> RAG"), "bot_id": "B0OTHER001"},
            {**mention_event(f"<@{BOT_USER_ID}> RAG"), "bot_profile": {"id": "B0OTHER001"}},
            mention_event(f"<@{BOT_USER_ID}> RAG", user=BOT_USER_ID),
        ):
            assert slack.event(event).status == 200
        assert _posts(fake_slack) == []

    def test_a_person_sharing_a_file_with_a_question_is_answered(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        slack.event(dm_event("what is RAG?", subtype="file_share", files=[{"id": "F1"}]))
        (post,) = fake_slack.wait_for("chat.postMessage")
        assert header_of(post.args) == "retrieval-augmented generation"


class TestRetries:
    """A retried event (X-Slack-Retry-Num) is answered exactly once, and never zero times."""

    def test_retry_of_an_answered_event_is_not_answered_again(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        event_id = unique("EvRetry")
        event = mention_event(f"<@{BOT_USER_ID}> RAG")
        assert slack.event(event, event_id=event_id).status == 200
        fake_slack.wait_for("chat.postMessage")
        for attempt in (1, 2, 3):
            assert slack.event(event, event_id=event_id, retry_num=attempt).status == 200
        assert len(_posts(fake_slack)) == 1

    def test_a_reply_that_fails_after_the_ack_is_still_posted(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        """Slack answers 500, slowly, until the bot has acked the event (Slack will not send it
        again): the bot tries again on its own, and the answer arrives, once."""
        fake_slack.fail("chat.postMessage", status=500, delay=1.0, times=3)
        event = mention_event(f"<@{BOT_USER_ID}> what is RAG?", ts="1700000900.000900")
        reply = slack.event(event)
        assert reply.status == 200
        assert reply.elapsed < 3.0  # acked inside Slack's 3 seconds, before the reply is done
        fake_slack.wait_for(lambda calls: any(_answered(c) for c in calls), timeout=20)
        answered = [c for c in _posts(fake_slack, 1.0) if _answered(c)]
        assert len(answered) == 1
        assert answered[0].args["thread_ts"] == "1700000900.000900"
        assert header_of(answered[0].args) == "retrieval-augmented generation"

    def test_retry_after_a_restart_is_still_not_answered_again(
        self, fake_slack: FakeSlack, tmp_path: Path
    ) -> None:
        event_id = unique("EvRestart")
        event = mention_event(f"<@{BOT_USER_ID}> LLM")
        with running_bot(fake_slack, tmp_path) as bot_proc:
            bot_proc.sender().event(event, event_id=event_id)
            fake_slack.wait_for("chat.postMessage")
            bot_proc.restart()
            bot_proc.sender().event(event, event_id=event_id, retry_num=1)
            assert len(_posts(fake_slack)) == 1

    def test_retry_of_an_event_whose_handler_died_is_answered(
        self, fake_slack: FakeSlack, tmp_path: Path
    ) -> None:
        """A claim left by a handler that died (here: taken directly in the store, with a short
        lease) holds off redeliveries until it expires; then a redelivery answers."""
        event_id = unique("EvDied")
        event = mention_event(f"<@{BOT_USER_ID}> hallucination")
        with running_bot(fake_slack, tmp_path) as bot_proc:
            asyncio.run(_claim(bot_proc, event_id, lease=1.0))
            first = bot_proc.sender().event(event, event_id=event_id, retry_num=1)
            assert first.status != 200  # not acknowledged: Slack must try again later
            assert _posts(fake_slack, 0.2) == []
            time.sleep(1.1)
            second = bot_proc.sender().event(event, event_id=event_id, retry_num=2)
            assert second.status == 200
            (post,) = fake_slack.wait_for("chat.postMessage")
            assert header_of(post.args) == "hallucination"
            assert slack_retry_is_quiet(bot_proc, event, event_id, fake_slack)

    def test_failed_reply_is_released_for_the_next_retry(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        event_id = unique("EvFail")
        event = mention_event(f"<@{BOT_USER_ID}> RAG")
        fake_slack.fail("chat.postMessage", error="fatal_error")
        first = slack.event(event, event_id=event_id)
        assert first.status >= 500
        second = slack.event(event, event_id=event_id, retry_num=1)
        assert second.status == 200
        oks = [c for c in fake_slack.wait_for("chat.postMessage", count=2) if c.ok]
        assert len(oks) == 1


def slack_retry_is_quiet(bot_proc: BotProcess, event: dict, event_id: str, fake: FakeSlack) -> bool:
    """One more redelivery after the answer posts nothing."""
    bot_proc.sender().event(event, event_id=event_id, retry_num=3)
    return len(_posts(fake, 0.3)) == 1


async def _claim(bot_proc: BotProcess, event_id: str, lease: float) -> None:
    store = open_store(f"sqlite:///{bot_proc.database}")
    try:
        await store.migrate()
        assert await store.claim_event(event_id, lease_seconds=lease)
    finally:
        await store.close()


class TestShutdown:
    """SIGTERM lets work already started finish, then exits 0."""

    def test_sigterm_finishes_a_reply_in_progress(
        self, fake_slack: FakeSlack, tmp_path: Path
    ) -> None:
        """The reply outlives the 2.5 s ack budget (Slack is slow), so it runs in the background
        when SIGTERM arrives; shutdown waits for it and records the event as handled."""
        event_id = unique("EvShutdown")
        with running_bot(fake_slack, tmp_path) as bot_proc:
            fake_slack.fail("chat.postMessage", delay=3.5)
            reply = bot_proc.sender().event(dm_event("RAG"), event_id=event_id)
            assert reply.status == 200
            assert reply.elapsed < 3.0  # acked within Slack's window
            assert bot_proc.stop() == 0
            assert "cancelled" not in bot_proc.stderr()
            assert not asyncio.run(_claim_again(bot_proc, event_id))

    def test_a_second_signal_while_draining_does_not_cut_it_short(
        self, fake_slack: FakeSlack, tmp_path: Path
    ) -> None:
        """Ctrl+C pressed twice, or a supervisor that repeats SIGTERM: the reply still goes."""
        event_id = unique("EvTwice")
        with running_bot(fake_slack, tmp_path) as bot_proc:
            fake_slack.fail("chat.postMessage", delay=3.5)
            reply = bot_proc.sender().event(dm_event("RAG"), event_id=event_id)
            assert reply.status == 200
            process = bot_proc.process
            assert process is not None
            process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            process.send_signal(signal.SIGINT)
            assert process.wait(20) == 0
            assert "Traceback" not in bot_proc.stderr()
            assert not asyncio.run(_claim_again(bot_proc, event_id))
            posted = fake_slack.calls_to("chat.postMessage")
            assert posted
            assert posted[-1].ok

    def test_with_a_shutdown_delay_health_turns_away_while_requests_are_still_answered(
        self, fake_slack: FakeSlack, tmp_path: Path
    ) -> None:
        """GLOSSARY_SHUTDOWN_DELAY_SECONDS: after SIGTERM the load balancer sees 503 on
        /healthz for that long, and what it still sends meanwhile is answered."""
        env = {"GLOSSARY_SHUTDOWN_DELAY_SECONDS": "2"}
        with running_bot(fake_slack, tmp_path, env=env) as bot_proc:
            assert bot_proc.healthz()[0] == 200
            process = bot_proc.process
            assert process is not None
            process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 1.5
            while bot_proc.healthz()[0] != 503:
                assert time.monotonic() < deadline, "/healthz never said it was stopping"
                time.sleep(0.05)
            status, body = bot_proc.healthz()
            assert (status, body["status"]) == (503, "stopping")
            reply = bot_proc.sender().command("RAG", response_url=fake_slack.response_url("late"))
            assert reply.status == 200
            assert "retrieval-augmented generation" in json.dumps(reply.json())
            assert process.wait(20) == 0


async def _claim_again(bot_proc: BotProcess, event_id: str) -> bool:
    store = open_store(f"sqlite:///{bot_proc.database}")
    try:
        return await store.claim_event(event_id)
    finally:
        await store.close()
