"""Runs the real bot (`python -m bot serve`) as a subprocess against the fake Slack Web API,
and reads what a user would see in the messages it sends. Fixtures are in `slack_fixtures.py`.

The bot is started with `--port 0` and reports its port on its first stdout line, so tests
never race for a port. Its stderr goes to a file, replayed on failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from slack_fake import APP_TOKEN, BOT_TOKEN, FakeSlack, texts_in
from slack_signing import SIGNING_SECRET, SlackSender

REPO = Path(__file__).resolve().parents[1]
FIXTURE_TERMS = REPO / "tests" / "fixtures" / "slack" / "terms"
START_TIMEOUT = 20.0


def clean_env(**overrides: str) -> dict[str, str]:
    """The test process's environment without any SLACK_* or GLOSSARY_* setting, plus overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "GLOSSARY_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


class BotProcess:
    """One `python -m bot serve` process; start, stop, restart (keeping its database)."""

    def __init__(
        self,
        fake: FakeSlack,
        workdir: Path,
        *,
        terms_dir: Path = FIXTURE_TERMS,
        env: dict[str, str] | None = None,
        socket_mode: bool = False,
    ) -> None:
        self.socket_mode = socket_mode
        self.fake = fake
        self.workdir = workdir
        self.terms_dir = terms_dir
        self.database = workdir / "bot.sqlite3"
        self.extra_env = env or {}
        self.process: subprocess.Popen[str] | None = None
        self.port = 0
        self.stderr_path = workdir / "bot-stderr.log"
        self._lines: queue.Queue[str] = queue.Queue()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.base_url}/slack/events"

    def env(self) -> dict[str, str]:
        secret = {"SLACK_APP_TOKEN": APP_TOKEN} if self.socket_mode else {}
        if not self.socket_mode:
            secret["SLACK_SIGNING_SECRET"] = SIGNING_SECRET
        return clean_env(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            **secret,
            SLACK_API_URL=self.fake.api_url,
            GLOSSARY_TERMS_DIR=str(self.terms_dir),
            GLOSSARY_DATABASE_URL=f"sqlite:///{self.database}",
            GLOSSARY_LOG_LEVEL="INFO",
            **self.extra_env,
        )

    def start(self, *, wait_healthy: bool = True) -> BotProcess:
        stderr = self.stderr_path.open("a")
        serve = ["serve", "--host", "127.0.0.1", "--port", "0"]
        args = ["socket"] if self.socket_mode else serve
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            cwd=self.workdir,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        stderr.close()
        self._lines = queue.Queue()
        # Each process gets its own queue: a killed predecessor's pump must not reach this one.
        threading.Thread(target=self._pump, args=(self.process, self._lines), daemon=True).start()
        try:
            line = self._lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            line = ""
        if not line:
            raise AssertionError(f"bot did not start:\n{self.stderr()}")
        if self.socket_mode:
            if not line.startswith("connected to Slack in Socket Mode"):
                raise AssertionError(f"unexpected first line {line!r}:\n{self.stderr()}")
            return self
        if not line.startswith("listening on http://"):
            raise AssertionError(f"unexpected first line {line!r}:\n{self.stderr()}")
        self.port = int(line.split()[2].rsplit(":", 1)[1])
        if wait_healthy:
            self.wait_healthy()
        return self

    def _pump(self, process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.strip())
        lines.put("")  # the process closed its stdout: it has exited

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status, body = self.healthz()
            if status == 200:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"/healthz never became healthy: {status} {body}")
            time.sleep(0.05)

    def healthz(self) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=5) as response:  # noqa: S310
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
        except OSError:
            return 0, {}

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(5)
        self.process = None
        return code

    def restart(self) -> BotProcess:
        self.stop()
        return self.start()

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text()
        except OSError:
            return ""

    def sender(self) -> SlackSender:
        return SlackSender(self.events_url)


@contextlib.contextmanager
def running_bot(fake: FakeSlack, workdir: Path, **kwargs: Any) -> Iterator[BotProcess]:
    """A bot process of its own, for tests that restart or reconfigure it."""
    process = BotProcess(fake, workdir, **kwargs)
    process.start()
    try:
        yield process
    finally:
        process.stop()
        sys.stderr.write(process.stderr())


# --- reading what a user sees -----------------------------------------------------------------


def message_texts(message: dict[str, Any]) -> str:
    """All readable text of a message dict (ack body, response_url post, chat.* args)."""
    blocks = message.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return "\n".join([str(message.get("text") or ""), *texts_in(blocks)])


def header_of(message: dict[str, Any]) -> str:
    blocks = message.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    headers = [b["text"]["text"] for b in blocks if b.get("type") == "header"]
    return headers[0] if headers else ""


def action_elements(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every interactive element of a message (buttons, selects, accessories)."""
    blocks = message.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    found: list[dict[str, Any]] = []
    for block in blocks:
        found.extend(block.get("elements", []) if block.get("type") == "actions" else [])
        if "accessory" in block:
            found.append(block["accessory"])
    return [e for e in found if "action_id" in e]


def find_action(message: dict[str, Any], prefix: str) -> dict[str, Any]:
    for element in action_elements(message):
        if element["action_id"].startswith(prefix):
            return element
    raise AssertionError(
        f"no {prefix} element in {[e['action_id'] for e in action_elements(message)]}"
    )


def block_id_of(message: dict[str, Any], action_id: str) -> str:
    blocks = message.get("blocks") or []
    for block in blocks:
        if block.get("type") == "actions" and any(
            e.get("action_id") == action_id for e in block.get("elements", [])
        ):
            return str(block.get("block_id", ""))
    raise AssertionError(f"no actions block holding {action_id}")
