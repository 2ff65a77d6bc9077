"""What the benchmark scripts share: data sets, percentiles, the machine, running the bot."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
if str(TESTS) not in sys.path:  # the fake Slack Web API and request signing of the test suite
    sys.path.insert(0, str(TESTS))

from benchmarks.generate import DEFAULT_OUT, DEFAULT_SEED, glossary_dir, write_glossary  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
SIGNING_SECRET = "benchmark-signing-secret-0123456789"  # noqa: S105 - a local fake
BOT_TOKEN = "xoxb-benchmark-token"  # noqa: S105 - a local fake
START_TIMEOUT = 600.0


def ensure_glossary(count: int, out: Path = DEFAULT_OUT, seed: int = DEFAULT_SEED) -> Path:
    """The folder holding the synthetic glossary of `count` terms (generated if missing)."""
    write_glossary(out, count, seed)
    return glossary_dir(out, count)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile, nearest-rank (p99 of 1000 values is the 990th smallest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5 - 1e-9)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> dict[str, Any]:
    """Where the figures come from, and how busy it was when they were taken."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) // 1024} MB"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "os": platform.platform(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB; NaN where /proc is missing."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far; NaN where /proc is missing.

    Beside requests per second, which the other work on a shared host moves, the CPU a server
    spends on each request says what it costs whatever the host is doing.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bot_env(**overrides: str) -> dict[str, str]:
    """This environment without SLACK_*/GLOSSARY_* settings, bytecode caching on, plus overrides.

    Bytecode goes to a folder of the benchmark's own, so the first start compiles and every
    later one reads .pyc files, as an installed bot does.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "GLOSSARY_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "glossary-bench-pycache")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


@dataclass
class Server:
    """A server process that prints `listening on http://HOST:PORT ...` when it is ready."""

    args: list[str]
    env: dict[str, str]
    process: subprocess.Popen[str] | None = None
    port: int = 0
    started: float = 0.0
    listening: float = 0.0
    lines: queue.Queue[str] = field(default_factory=queue.Queue)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            self.args,
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        try:
            line = self.lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            line = ""
        if not line.startswith("listening on http://"):
            self.stop()
            raise RuntimeError(f"server did not start: {line!r}\n{self.stderr_tail()}")
        self.listening = time.perf_counter()
        self.port = int(line.split()[2].rsplit(":", 1)[1])
        return self

    def _pump(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put("")

    _stderr: list[str] = field(default_factory=list)

    def _drain_stderr(self) -> None:
        assert self.process is not None
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line)
            del self._stderr[:-200]

    def stderr_tail(self) -> str:
        return "".join(self._stderr[-40:])

    def healthz(self) -> int:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=30) as response:  # noqa: S310 - local
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except OSError:
            return 0

    def wait_healthy(self) -> float:
        """Seconds from process start to the first 200 from /healthz."""
        deadline = time.perf_counter() + START_TIMEOUT
        while self.healthz() != 200:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"/healthz never answered 200\n{self.stderr_tail()}")
            time.sleep(0.005)
        return time.perf_counter() - self.started

    def peak_rss_mb(self) -> float:
        return peak_rss_mb(self.process.pid) if self.process is not None else float("nan")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None


def bot_server(terms: Path, cache: str, workdir: Path, api_url: str, **env: str) -> Server:
    """`python -m bot serve` on a free port, with its own database and the given cache."""
    return Server(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0"],
        bot_env(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=api_url,
            GLOSSARY_TERMS_DIR=str(terms),
            GLOSSARY_DATABASE_URL=f"sqlite:///{workdir / 'bot.sqlite3'}",
            GLOSSARY_CACHE_DIR=cache,
            GLOSSARY_LOG_LEVEL="WARNING",
            **env,
        ),
    )


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def save_results(name: str, results: dict[str, Any]) -> Path:
    """Keep the figures beside the data (benchmarks/data is not committed)."""
    DEFAULT_OUT.mkdir(parents=True, exist_ok=True)
    path = DEFAULT_OUT / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **results}, indent=1))
    return path
