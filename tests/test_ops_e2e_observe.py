"""End to end: /metrics, one JSON log line per request, and no secret in the bot's output.

One bot runs with GLOSSARY_LOG_FORMAT=json and DEBUG logging against the fake Web API; the
tests send it signed requests (answers, misses, a button, a mention, a bad signature, a reply
Slack refuses, an event nobody handles) and read its /metrics, its stderr and its stdout.
"""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_fake import BOT_TOKEN, FakeSlack
from slack_harness import BotProcess, clean_env
from slack_signing import (
    SIGNING_SECRET,
    SlackSender,
    block_actions_payload,
    button,
    dm_event,
    event_callback_body,
    interactive_body,
    mention_event,
    slash_command_body,
)

from bot.slack.blocks import ACTION_SHOW_TERM

pytest_plugins = ["slack_fixtures"]

VERIFICATION_TOKEN = "deprecated-verification-token"  # in every body slack_signing builds
PASTED_TOKEN = "xoxp-1111-2222-3333-pastedbyauser"  # someone pastes a token into /define


class LoggingBot(BotProcess):
    """The harness's bot with any variable overridden (the harness fixes the log level)."""

    def __init__(self, *args: Any, overrides: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.overrides = overrides

    def env(self) -> dict[str, str]:
        return {**super().env(), **self.overrides}


@pytest.fixture(scope="module")
def json_bot(
    fake_slack_server: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    process = LoggingBot(
        fake_slack_server,
        tmp_path_factory.mktemp("json-bot"),
        overrides={"GLOSSARY_LOG_FORMAT": "json", "GLOSSARY_LOG_LEVEL": "DEBUG"},
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture
def bot(json_bot: BotProcess, fake_slack: FakeSlack) -> BotProcess:
    if json_bot.process is None or json_bot.process.poll() is not None:
        json_bot.start()
    return json_bot


def _samples(bot: BotProcess) -> dict[str, float]:
    with urllib.request.urlopen(f"{bot.base_url}/metrics", timeout=5) as response:  # noqa: S310
        assert response.status == 200
        text = response.read().decode()
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def _define(slack: SlackSender, fake: FakeSlack, text: str, **fields: Any) -> dict[str, Any]:
    reply = slack.command(text, response_url=fake.response_url("define"), **fields)
    assert reply.status == 200, reply.body
    return reply.json()


def _json_lines(text: str) -> list[dict[str, Any]]:
    """Every line as JSON; fails on the first line that is not."""
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"stderr line {number} is not JSON: {line[:200]!r}")
    return lines


def _request_lines(bot: BotProcess, mark: int) -> list[dict[str, Any]]:
    return [
        line for line in _json_lines(bot.stderr()[mark:]) if line.get("logger") == "bot.requests"
    ]


def _send_a_bit_of_everything(bot: BotProcess, fake: FakeSlack) -> list[tuple[str, str, str]]:
    """Requests of every kind, some failing; returns the (kind, name, outcome) each should log."""
    slack = bot.sender()
    _define(slack, fake, "RAG")
    _define(slack, fake, f"what is {PASTED_TOKEN}")
    assert slack.event(mention_event("<@UBOT000001> what is an LLM?")).status == 200
    fake.wait_for("chat.postMessage")
    value = json.dumps({"slug": "hallucination", "role": None})
    payload = block_actions_payload(
        button(f"{ACTION_SHOW_TERM}:1", value), response_url=fake.response_url("click")
    )
    assert slack.interactive(payload).status == 200
    fake.wait_for(lambda calls: any(c.method == "response_url" for c in calls))
    body = slash_command_body("RAG", response_url=fake.response_url("forged"))
    assert slack.post(body, "application/x-www-form-urlencoded", secret="wrong").status == 401
    fake.fail("chat.postMessage", error="invalid_auth")
    assert slack.event(dm_event("RAG")).status == 500  # Slack will retry it
    reaction = {"type": "reaction_added", "user": "U0000ALICE", "reaction": "tada"}
    assert slack.post(event_callback_body(reaction), "application/json").status == 404
    fake.quiet(0.3)
    return [
        ("command", "/define", "found"),
        ("command", "/define", "*miss*"),
        ("event", "app_mention", "found"),
        ("action", f"{ACTION_SHOW_TERM}:1", "ok"),
        ("command", "/define", "rejected"),
        ("event", "message", "error"),
        ("event", "reaction_added", "unhandled"),
    ]


class TestMetrics:
    """/metrics moves as people use the bot."""

    def test_a_define_moves_the_lookup_counter_and_the_latency(
        self, bot: BotProcess, fake_slack: FakeSlack
    ) -> None:
        found = 'glossary_lookups_total{outcome="found"}'
        commands = 'glossary_answer_latency_seconds_count{kind="command"}'
        before = _samples(bot)
        _define(bot.sender(), fake_slack, "RAG")
        after = _samples(bot)
        assert after[found] == before[found] + 1
        assert after[commands] == before.get(commands, 0) + 1
        assert after['glossary_slack_requests_total{kind="command",outcome="found"}'] >= 1

    def test_misses_are_counted_by_outcome(self, bot: BotProcess, fake_slack: FakeSlack) -> None:
        misses = (
            'glossary_lookups_total{outcome="not_found"}',
            'glossary_lookups_total{outcome="suggest"}',
        )
        before = _samples(bot)
        _define(bot.sender(), fake_slack, "qwxzv plorbnik")
        after = _samples(bot)
        assert sum(after[m] for m in misses) == sum(before[m] for m in misses) + 1

    def test_store_and_glossary_series_are_there(self, bot: BotProcess) -> None:
        samples = _samples(bot)
        assert samples["glossary_terms"] == 5
        assert samples["glossary_store_up"] == 1
        assert samples["glossary_outbox_pending"] == 0
        assert "glossary_term_requests_filed_total" in samples
        assert "glossary_reload_errors" in samples


class TestRequestLog:
    """Each handled request is one JSON line with its kind, outcome and latency."""

    def test_one_line_per_request(self, bot: BotProcess, fake_slack: FakeSlack) -> None:
        mark = len(bot.stderr())
        expected = _send_a_bit_of_everything(bot, fake_slack)
        lines = _request_lines(bot, mark)
        seen = [(line["kind"], line["name"], line["outcome"]) for line in lines]
        assert len(seen) == len(expected), seen
        for (kind, name, outcome), got in zip(expected, seen, strict=True):
            assert got[:2] == (kind, name)
            if outcome == "*miss*":
                assert got[2] in ("not_found", "suggest")
            else:
                assert got[2] == outcome, got
        for line in lines:
            assert isinstance(line["latency_ms"], int | float)
            assert line["latency_ms"] >= 0
            assert isinstance(line["status"], int)
            assert line["ts"]
            assert line["level"] in ("INFO", "WARNING")
        assert all("text" not in line for line in lines)  # never what people typed
        assert lines[0]["user"] == "U0000ALICE"

    def test_every_line_is_json(self, bot: BotProcess) -> None:
        lines = _json_lines(bot.stderr())
        assert any(line["logger"] == "bot.slack.runtime" for line in lines)
        assert all({"ts", "level", "logger", "message"} <= set(line) for line in lines)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stdout(bot: BotProcess) -> str:
    lines = []
    while True:
        try:
            lines.append(bot._lines.get_nowait())
        except queue.Empty:
            return "\n".join(lines)


class TestSecrets:
    """Tokens, the signing secret and database passwords never reach the bot's output."""

    def test_a_busy_bot_at_debug_level_logs_no_secret(
        self, fake_slack_server: FakeSlack, tmp_path: Path
    ) -> None:
        bot = LoggingBot(
            fake_slack_server,
            tmp_path,
            overrides={"GLOSSARY_LOG_LEVEL": "DEBUG", "GLOSSARY_TRIAGERS": "U0000ALICE"},
        )
        bot.start()
        try:
            fake_slack_server.reset()
            _send_a_bit_of_everything(bot, fake_slack_server)
            _define(bot.sender(), fake_slack_server, "reload")
            fake_slack_server.fail("chat.postMessage", status=500, times=None)
            bot.sender().event(dm_event("LLM"))
            fake_slack_server.clear_failures()
        finally:
            assert bot.stop() == 0
        output = bot.stderr() + "\n" + _stdout(bot)
        assert "command /define: found" in output  # the log is there, and at DEBUG
        assert "DEBUG" in output
        for secret in (BOT_TOKEN, SIGNING_SECRET, VERIFICATION_TOKEN, PASTED_TOKEN):
            assert secret not in output, secret

    def test_forged_requests_leave_no_secret_or_typed_text_in_the_log(
        self, fake_slack_server: FakeSlack, tmp_path: Path
    ) -> None:
        """Anyone can send a badly signed request; what it carries must not reach the log.

        At the default level (INFO), as Slack would send them: a response_url on
        hooks.slack.com, percent-encoded in a form body, and JSON inside one for a click.
        """
        webhook = "https://hooks.slack.com/commands/T0000FAKE/1234/WebhookSecretPath"
        click_hook = "https://hooks.slack.com/actions/T0000FAKE/5678/ClickSecretPath"
        typed = "my private question about layoffs"
        bot = LoggingBot(fake_slack_server, tmp_path, overrides={"GLOSSARY_LOG_LEVEL": "INFO"})
        bot.start()
        try:
            slack = bot.sender()
            body = slash_command_body(typed, response_url=webhook)
            assert slack.post(body, "application/x-www-form-urlencoded", secret="no").status == 401
            value = json.dumps({"slug": "hallucination", "role": None})
            payload = block_actions_payload(
                button(f"{ACTION_SHOW_TERM}:1", value), response_url=click_hook
            )
            form = interactive_body(payload)
            assert slack.post(form, "application/x-www-form-urlencoded", secret="no").status == 401
        finally:
            assert bot.stop() == 0
        output = bot.stderr() + "\n" + _stdout(bot)
        assert "Invalid request signature detected" in output  # logged, and at INFO
        for secret in ("WebhookSecretPath", "ClickSecretPath", VERIFICATION_TOKEN, "layoffs"):
            assert secret not in output, secret

    def test_configured_secrets_are_removed_wherever_they_appear(
        self, fake_slack_server: FakeSlack, tmp_path: Path
    ) -> None:
        """The bot hands its configured secrets to the log filter: Slack echoing one back in an
        error is logged without it (the signing secret has no shape a pattern would know)."""
        bot = LoggingBot(fake_slack_server, tmp_path, overrides={"GLOSSARY_LOG_LEVEL": "INFO"})
        bot.start()
        try:
            fake_slack_server.reset()
            fake_slack_server.fail(
                "chat.postMessage", error=f"invalid_auth_{SIGNING_SECRET}", times=None
            )
            bot.sender().event(dm_event("RAG"))
            fake_slack_server.wait_for("chat.postMessage")
            fake_slack_server.quiet(0.3)
            fake_slack_server.clear_failures()
        finally:
            assert bot.stop() == 0
        output = bot.stderr() + "\n" + _stdout(bot)
        assert "invalid_auth_" in output  # Slack's answer was logged...
        assert SIGNING_SECRET not in output  # ...without the secret in it

    def test_a_database_password_is_never_printed(self, tmp_path: Path) -> None:
        password = "Sup3r-S3cret-Pw"
        url = f"postgresql://glossary:{password}@127.0.0.1:{_free_port()}/glossary"
        result = subprocess.run(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0"],
            cwd=tmp_path,
            env=clean_env(
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                GLOSSARY_DATABASE_URL=url,
                GLOSSARY_LOG_LEVEL="DEBUG",
            ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode != 0
        output = result.stdout + result.stderr
        assert "GLOSSARY_DATABASE_URL" in output  # it says what is wrong...
        assert password not in output  # ...without the password
