"""A PostgreSQL server for the store tests, and a fresh database URL per test for each backend.

Where the server comes from, in order:
1. `GLOSSARY_TEST_POSTGRES_URL` (a libpq URL whose user may create schemas). If it is set
   and the server does not answer, the tests fail rather than skip: someone asked for it.
2. A throwaway cluster: `initdb` and `pg_ctl` from PATH or /usr/lib/postgresql/*/bin, in a
   temporary folder, on a free 127.0.0.1 port, stopped and deleted when the test session
   ends. PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres`
   user (which Debian's postgresql package creates) through runuser or su.
3. Otherwise the PostgreSQL tests skip with the reason. With
   `GLOSSARY_TEST_REQUIRE_POSTGRES=1` (CI sets it) they fail instead, so CI never passes
   by quietly skipping them.

Each test gets its own schema (via the URL's `options=-c search_path=...`), dropped after.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

ENV_URL = "GLOSSARY_TEST_POSTGRES_URL"
ENV_REQUIRE = "GLOSSARY_TEST_REQUIRE_POSTGRES"
BACKENDS = ("sqlite", "postgres")
RUN_AS_WHEN_ROOT = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    url: str  # connects to a database where the tests may create schemas
    origin: str  # for messages: where the server came from


class _UnavailableError(Exception):
    """No server could be had; the message says why."""


_cache: dict[str, PostgresServer | str] = {}


def postgres_server() -> PostgresServer:
    """The session's server, found or started on first use; skips (or fails) without one."""
    if "server" not in _cache:
        try:
            _cache["server"] = _find_server()
        except _UnavailableError as exc:
            _cache["server"] = str(exc)
    found = _cache["server"]
    if isinstance(found, PostgresServer):
        return found
    if os.environ.get(ENV_URL) or os.environ.get(ENV_REQUIRE, "") not in ("", "0"):
        pytest.fail(f"PostgreSQL required but unavailable: {found}", pytrace=False)
    pytest.skip(f"no PostgreSQL server: {found}")


def _find_server() -> PostgresServer:
    url = os.environ.get(ENV_URL, "").strip()
    if url:
        problem = _check_connect(url)
        if problem:
            raise _UnavailableError(f"{ENV_URL} is set but the server does not answer: {problem}")
        return PostgresServer(url=url, origin=ENV_URL)
    return _start_throwaway_cluster()


def _check_connect(url: str) -> str:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip() or type(exc).__name__
    return ""


def _postgres_bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda path: int(Path(path).parent.name) if Path(path).parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_throwaway_cluster() -> PostgresServer:
    bin_dir = _postgres_bin_dir()
    if bin_dir is None:
        raise _UnavailableError(
            f"set {ENV_URL}, or install PostgreSQL (Debian: apt-get install postgresql) so "
            "that initdb and pg_ctl are on PATH or in /usr/lib/postgresql/*/bin"
        )
    run_as: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(RUN_AS_WHEN_ROOT)
        except KeyError:
            raise _UnavailableError(
                f"running as root and there is no {RUN_AS_WHEN_ROOT!r} user to run a "
                "throwaway PostgreSQL cluster as (PostgreSQL refuses to run as root)"
            ) from None
        runuser = shutil.which("runuser")
        run_as = [runuser, "-u", owner.pw_name, "--"] if runuser else []

    def run(command: list[str]) -> subprocess.CompletedProcess[str]:
        if owner is not None and not run_as:  # no runuser: su with a quoted command line
            command = ["su", owner.pw_name, "-s", "/bin/sh", "-c", shlex.join(command)]
        else:
            command = [*run_as, *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    base = Path(tempfile.mkdtemp(prefix="glossary-test-pg-"))
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    data = base / "data"
    log = base / "server.log"
    initdb = run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]
    )
    if initdb.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise _UnavailableError(f"initdb failed: {(initdb.stderr or initdb.stdout).strip()[-500:]}")

    last_error = ""
    for _ in range(3):  # the free port may be taken between choosing and binding it
        port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {base} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        started = run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ]
        )
        if started.returncode == 0:
            atexit.register(_stop_cluster, run, bin_dir, data, base)
            url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
            problem = _check_connect(url)
            if problem:
                raise _UnavailableError(f"throwaway cluster started but does not answer: {problem}")
            return PostgresServer(url=url, origin=f"throwaway cluster in {base}")
        last_error = (started.stderr or started.stdout).strip()
        with contextlib.suppress(OSError):
            last_error += "\n" + log.read_text()[-500:]
    shutil.rmtree(base, ignore_errors=True)
    raise _UnavailableError(f"pg_ctl start failed: {last_error[-800:]}")


def _stop_cluster(
    run: Callable[[list[str]], object], bin_dir: Path, data: Path, base: Path
) -> None:
    with contextlib.suppress(Exception):
        run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
    shutil.rmtree(base, ignore_errors=True)


def _with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-c search_path={schema}', safe='')}"


@contextlib.contextmanager
def postgres_schema_url() -> Iterator[str]:
    """A URL whose tables land in a new, empty schema, dropped afterwards."""
    import psycopg

    server = postgres_server()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield _with_search_path(server.url, schema)
    finally:
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextlib.contextmanager
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL for `backend` ("sqlite" or "postgres")."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    elif backend == "postgres":
        with postgres_schema_url() as url:
            yield url
    else:
        raise ValueError(f"unknown backend {backend!r}")
