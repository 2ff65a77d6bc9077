"""End to end: `python -m bot socket` runs the same app over a Socket Mode WebSocket."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl

from slack_fake import BOT_TOKEN, BOT_USER_ID, FakeSlack
from slack_harness import clean_env, header_of, running_bot
from slack_signing import event_callback_body, mention_event, slash_command_body


def test_socket_mode_answers_commands_and_mentions(tmp_path: Path) -> None:
    """A slash command is answered in the envelope's ack; a mention in a thread; and
    SIGTERM closes the connection and exits 0."""
    with FakeSlack() as fake, running_bot(fake, tmp_path, socket_mode=True) as bot:
        command = dict(
            parse_qsl(slash_command_body("RAG -r eng", response_url=fake.response_url("s")))
        )
        ack = fake.socket_send("slash_commands", command)
        assert header_of(ack["payload"]) == "retrieval-augmented generation"
        assert ack["payload"]["response_type"] == "ephemeral"

        event = json.loads(
            event_callback_body(mention_event(f"<@{BOT_USER_ID}> LLM", ts="1700000900.1"))
        )
        fake.socket_send("events_api", event)
        (post,) = fake.wait_for("chat.postMessage")
        assert post.args["thread_ts"] == "1700000900.1"
        # The same event again (a Socket Mode retry) is not answered twice.
        fake.socket_send("events_api", event, retry_attempt=1)
        assert len([c for c in fake.quiet(0.4) if c.method == "chat.postMessage"]) == 1

        assert bot.stop(signal.SIGTERM) == 0
        assert fake.socket_connections == 0


def test_refused_app_token_is_one_line(tmp_path: Path) -> None:
    with FakeSlack(app_token="xapp-the-real-one") as fake:
        env = clean_env(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_APP_TOKEN="xapp-a-wrong-one",
            SLACK_API_URL=fake.api_url,
            GLOSSARY_TERMS_DIR=str(Path(__file__).parent / "fixtures" / "slack" / "terms"),
            GLOSSARY_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        )
        result = subprocess.run(
            [sys.executable, "-m", "bot", "socket"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last == "error: SLACK_APP_TOKEN: Slack refused the connection (invalid_auth)"
    assert "Traceback" not in result.stderr
