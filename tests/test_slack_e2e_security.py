"""End to end: requests not signed by Slack are refused before anything happens."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

from slack_fake import BOT_USER_ID, FakeSlack
from slack_harness import BotProcess
from slack_signing import (
    SlackSender,
    event_callback_body,
    mention_event,
    signed_headers,
    slash_command_body,
)

pytest_plugins = ["slack_fixtures"]

FORM = "application/x-www-form-urlencoded"


class TestSignatures:
    """Bad signature or stale timestamp: 401, and no Web API call, answer or store write."""

    def test_wrong_secret_is_refused(self, slack: SlackSender, fake_slack: FakeSlack) -> None:
        body = slash_command_body("RAG", response_url=fake_slack.response_url("bad"))
        reply = slack.post(body, FORM, secret="not-the-signing-secret")
        assert reply.status == 401
        assert "retrieval" not in reply.body
        event = event_callback_body(mention_event(f"<@{BOT_USER_ID}> RAG"))
        assert slack.post(event, "application/json", secret="nope").status == 401
        assert fake_slack.quiet(0.3) == []

    def test_old_timestamp_is_refused(self, slack: SlackSender, fake_slack: FakeSlack) -> None:
        body = slash_command_body("RAG", response_url=fake_slack.response_url("old"))
        reply = slack.post(body, FORM, timestamp=int(time.time()) - 10 * 60)
        assert reply.status == 401
        assert fake_slack.quiet(0.3) == []

    def test_tampered_body_is_refused(self, slack: SlackSender, fake_slack: FakeSlack) -> None:
        body = slash_command_body("RAG", response_url=fake_slack.response_url("tamper"))
        signed = signed_headers(body, FORM)  # signed for one body, sent with another
        request = urllib.request.Request(  # noqa: S310 - the bot under test, on 127.0.0.1
            slack.url,
            data=body.replace("RAG", "LLM").encode(),
            headers=signed,
            method="POST",
        )
        try:
            urllib.request.urlopen(request, timeout=5)  # noqa: S310 - local test URL
            status = 200
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status == 401
        assert fake_slack.quiet(0.3) == []

    def test_refused_mention_leaves_no_dedupe_record(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        event = mention_event(f"<@{BOT_USER_ID}> RAG")
        body = event_callback_body(event, event_id="EvForged0001")
        assert slack.post(body, "application/json", secret="forged").status == 401
        # The genuine delivery of the same event id is still answered.
        assert slack.event(event, event_id="EvForged0001").status == 200
        fake_slack.wait_for("chat.postMessage")


class TestHealth:
    """/healthz reports what the bot serves."""

    def test_healthz_reports_terms_and_store(self, bot: BotProcess) -> None:
        status, body = bot.healthz()
        assert status == 200
        assert body["status"] == "ok"
        assert body["terms"] == 5
        assert body["store"] == "ok"

    def test_url_verification_challenge_is_answered(self, slack: SlackSender) -> None:
        body = '{"token": "x", "challenge": "c-123", "type": "url_verification"}'
        reply = slack.post(body, "application/json")
        assert reply.status == 200
        assert "c-123" in reply.body
