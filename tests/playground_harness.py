"""Runs `python -m bot playground` as a subprocess and reads what its page API shows.

The playground starts the real bot itself (`python -m bot serve`, signature checks on); the
tests talk to it only as the page does, over HTTP, so they see what a person would.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FIXTURE_TERMS = REPO / "tests" / "fixtures" / "slack" / "terms"
START_TIMEOUT = 40.0
ALEX = "U0ALEX00001"
SAM = "U0SAM000001"
GENERAL = "C0GENERAL01"
INTAKE = "C0INTAKE001"


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "GLOSSARY_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


class PlaygroundProcess:
    """One `python -m bot playground --port 0` process."""

    def __init__(self, workdir: Path, terms: Path = FIXTURE_TERMS) -> None:
        self.workdir = workdir
        self.terms = terms
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.bot_url = ""
        self.log_path = workdir / "playground.log"
        self._lines: queue.Queue[str] = queue.Queue()

    def start(self, *, own_process_group: bool = False) -> PlaygroundProcess:
        """Start it; `own_process_group` makes it a terminal's foreground job of its own, so
        a test can deliver Ctrl+C as a terminal does: to the playground and the bot at once."""
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "playground", "--port", "0", "--terms", str(self.terms)],
            cwd=self.workdir,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=own_process_group,
        )
        log.close()
        threading.Thread(target=self._pump, daemon=True).start()
        first = self._line()
        match = re.match(r"Glossary playground: (http://\S+?)/?$", first)
        if not match:
            self.stop()
            raise AssertionError(f"unexpected first line {first!r}:\n{self.log()}")
        self.url = match.group(1)
        second = self._line()
        bot = re.search(r"on (http://\S+)", second)
        self.bot_url = bot.group(1) if bot else ""
        return self

    def _pump(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put("")

    def _line(self) -> str:
        try:
            return self._lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            return ""

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(5)
        self.process = None
        return code

    def log(self) -> str:
        try:
            return self.log_path.read_text()
        except OSError:
            return ""

    # -- the page's API --------------------------------------------------------------------------

    def post(self, route: str, **body: Any) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - the local playground
            f"{self.url}/play/api/{route}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            return dict(json.loads(exc.read() or b"{}"))

    def state(self, user: str = ALEX) -> dict[str, Any]:
        url = f"{self.url}/play/api/state?user={user}&after=-1"
        with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310
            return dict(json.loads(response.read()))

    def wait_for(
        self, found: Callable[[dict[str, Any]], Any], *, user: str = ALEX, timeout: float = 10.0
    ) -> Any:
        """Poll the page's snapshot until `found(snapshot)` is truthy; return that value."""
        deadline = time.monotonic() + timeout
        while True:
            snapshot = self.state(user)
            value = found(snapshot)
            if value:
                return value
            if time.monotonic() > deadline:
                messages = json.dumps(snapshot["messages"], indent=1)[:3000]
                raise AssertionError(f"timed out; messages:\n{messages}\n{self.log()[-3000:]}")
            time.sleep(0.05)


def headers_of(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message.get("blocks") or [] if b.get("type") == "header"]
