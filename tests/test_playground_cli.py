"""`python -m bot playground`: the real bot behind the stand-in, driven as the page drives it.

No browser here (see test_playground_browser.py): these tests post to the page's JSON API and
read its snapshots, so the whole chain (page API → signed request → the bot → Web API calls
→ workspace) is covered wherever the suite runs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playground_harness import (
    ALEX,
    FIXTURE_TERMS,
    GENERAL,
    SAM,
    PlaygroundProcess,
    clean_env,
    headers_of,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlaygroundProcess]:
    process = PlaygroundProcess(tmp_path_factory.mktemp("playground")).start()
    yield process
    process.stop()


def _bot_messages(snapshot: dict[str, Any], channel: str) -> list[dict[str, Any]]:
    return [m for m in snapshot["messages"][channel] if m["user"] == snapshot["bot"]]


def test_define_is_answered_by_the_real_bot_privately(playground: PlaygroundProcess) -> None:
    playground.post("send", user=ALEX, channel=GENERAL, text="/define RAG")
    answer = playground.wait_for(
        lambda s: next(
            (m for m in _bot_messages(s, GENERAL) if headers_of(m) and m["ephemeral"]), None
        )
    )
    assert headers_of(answer) == ["retrieval-augmented generation"]
    seen_by_sam = [m["ts"] for m in playground.state(SAM)["messages"][GENERAL]]
    assert answer["ts"] not in seen_by_sam, "someone else can see a private answer"
    activity = playground.state()["activity"]
    assert any(a["kind"] == "slash command /define" and a["ok"] for a in activity)


def test_a_mention_is_answered_in_a_thread(playground: PlaygroundProcess) -> None:
    sent = playground.post("send", user=SAM, channel=GENERAL, text="@glossary what is an LLM?")
    reply = playground.wait_for(
        lambda s: next(
            (m for m in _bot_messages(s, GENERAL) if m["thread_ts"] == sent["ts"]), None
        ),
        user=SAM,
    )
    assert headers_of(reply) == ["large language model"]
    assert reply["is_reply"]
    assert not reply["ephemeral"]


def test_the_bot_checks_signatures(playground: PlaygroundProcess) -> None:
    """The bot runs with signature checks on: a request not signed by the stand-in gets 401."""
    assert playground.bot_url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(  # noqa: S310 - the local bot
        f"{playground.bot_url}/slack/events",
        data=b"command=%2Fdefine&text=RAG",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": "1700000000",
            "X-Slack-Signature": "v0=" + "0" * 64,
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310
    assert refused.value.code == 401


def test_ctrl_c_stops_the_playground_and_the_bot(tmp_path: Path) -> None:
    process = PlaygroundProcess(tmp_path).start()
    bot_url = process.bot_url
    assert process.stop(signal.SIGINT) == 0
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        urllib.request.urlopen(f"{bot_url}/healthz", timeout=2)  # noqa: S310
    assert "Traceback" not in process.log()


def test_ctrl_c_in_a_terminal_reaches_both_and_stops_cleanly(tmp_path: Path) -> None:
    """A terminal sends SIGINT to the whole job: the bot may stop before the playground."""
    process = PlaygroundProcess(tmp_path).start(own_process_group=True)
    assert process.process is not None
    bot_url = process.bot_url
    os.killpg(process.process.pid, signal.SIGINT)
    assert process.process.wait(30) == 0
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        urllib.request.urlopen(f"{bot_url}/healthz", timeout=2)  # noqa: S310
    assert "Traceback" not in process.log()


def test_a_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "bot",
                "playground",
                "--port",
                str(port),
                "--terms",
                str(FIXTURE_TERMS),
            ],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert result.stderr.count("\n") == 1
