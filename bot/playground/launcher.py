"""Start the stand-in and the real bot together, and stop both cleanly.

The bot is `python -m bot serve`, the production command, started as a child process with the
environment a deployment would give it: `SLACK_API_URL` pointing at the stand-in, a signing
secret and a bot token generated for this run (the stand-in signs with the one and accepts only
the other), `GLOSSARY_INTAKE_CHANNEL` naming the playground's #glossary-intake, the person you
act as first in `GLOSSARY_TRIAGERS`, and a SQLite file in a temporary folder that is removed
on exit (the workspace itself lives in memory, so a database kept across runs would remember
requests whose posts no longer exist). Nothing in that environment tells the bot it is in a
playground. Its log lines go to this terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bot.glossary.roles import RoleDirectory
from bot.playground.manifest import AppManifest, load_manifest
from bot.playground.preview import TermPreviewer
from bot.playground.server import Playground
from bot.playground.signing import new_signing_secret
from bot.playground.workspace import INTAKE_CHANNEL, Workspace

BOT_START_SECONDS = 60.0
BOT_STOP_SECONDS = 15.0
LISTENING = "listening on http://"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
_RELAYS: set[asyncio.Future[None]] = set()  # keeps the relay task alive while the bot runs


class PlaygroundError(Exception):
    """The playground cannot start (a busy port, a bot that will not start); one line."""


@dataclass(frozen=True)
class PlaygroundOptions:
    terms_dir: Path
    roles: RoleDirectory
    host: str = "127.0.0.1"
    port: int = 8000
    manifest: AppManifest | None = None


def new_bot_token() -> str:
    """A bot token for this run, shaped like Slack's (the bot checks the `xoxb-` prefix)."""
    return f"xoxb-{secrets.randbelow(10**12)}-{secrets.randbelow(10**12)}-{secrets.token_hex(12)}"


def bot_environment(
    base: Mapping[str, str],
    *,
    bot_token: str,
    signing_secret: str,
    api_url: str,
    database_url: str,
    terms_dir: Path,
    triagers: tuple[str, ...],
) -> dict[str, str]:
    """The bot's environment: the caller's, with everything about Slack replaced."""
    env = {k: v for k, v in base.items() if not k.startswith("SLACK_")}
    env.update(
        SLACK_BOT_TOKEN=bot_token,
        SLACK_SIGNING_SECRET=signing_secret,
        SLACK_API_URL=api_url,
        GLOSSARY_TERMS_DIR=str(terms_dir),
        GLOSSARY_DATABASE_URL=database_url,
        GLOSSARY_INTAKE_CHANNEL=INTAKE_CHANNEL,
        GLOSSARY_TRIAGERS=",".join(triagers),
        PYTHONUNBUFFERED="1",
    )
    return env


def _local_host(host: str) -> str:
    """How a process on this machine reaches a server bound to `host`."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 - compared, not bound


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


async def run_playground(options: PlaygroundOptions) -> int:
    """Serve the page and the stand-in, run the bot, until Ctrl+C or the bot stops."""
    manifest = options.manifest or load_manifest()
    bot_token = new_bot_token()
    secret = new_signing_secret()
    workspace = Workspace(bot_name=manifest.bot_name)
    playground = Playground(
        bot_token=bot_token,
        signing_secret=secret,
        manifest=manifest,
        # As given, so problems read `terms/x.yml:3:1` as `python -m bot validate` prints them.
        previewer=TermPreviewer(options.terms_dir, options.roles),
        workspace=workspace,
    )
    runner = web.AppRunner(playground.web_app(), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, options.host, options.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise PlaygroundError(
            f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc} "
            "(pick another with --port, or --port 0 for any free one)"
        ) from None
    port = _bound_port(runner, options.port)
    local = _url(_local_host(options.host), port)
    playground.set_base_url(local)
    workdir = Path(tempfile.mkdtemp(prefix="glossary-playground-"))
    bot: asyncio.subprocess.Process | None = None
    # Ctrl+C is caught from here on, before anything says "ready": a person (or a script)
    # who stops the playground the moment it is up gets a clean stop, not a traceback.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        env = bot_environment(
            os.environ,
            bot_token=bot_token,
            signing_secret=secret,
            api_url=f"{local}/api/",
            database_url=f"sqlite:///{workdir / 'playground.sqlite3'}",
            terms_dir=options.terms_dir.resolve(),
            triagers=workspace.triagers,
        )
        bot, bot_url = await _start_bot(env, options.terms_dir.resolve())
        playground.set_app_url(f"{bot_url}/slack/events")
        print(f"Glossary playground: {local}/", flush=True)
        print(f"  the bot: python -m bot serve, on {bot_url} (its log follows)", flush=True)
        print(f"  glossary: {options.terms_dir}", flush=True)
        if options.host not in LOOPBACK:
            print("  note: the page has no login; anyone who can reach it can use it", flush=True)
        print("  Ctrl+C stops the playground and the bot.", flush=True)
        return await _wait(bot, stop)
    finally:
        # The handlers stay until the end: a second Ctrl+C while stopping changes nothing.
        if bot is not None:
            await _stop(bot)
        await runner.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _start_bot(
    env: dict[str, str], terms_dir: Path
) -> tuple[asyncio.subprocess.Process, str]:
    command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0"]
    command += ["--terms", str(terms_dir)]
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), BOT_START_SECONDS)
    except TimeoutError:
        line = b""
    text = line.decode(errors="replace").strip()
    if not text.startswith(LISTENING):
        await _stop(process)
        raise PlaygroundError(
            f"the bot did not start (exit code {process.returncode}); its log is above"
        )
    address = text.split()[2]  # "listening on http://127.0.0.1:PORT (...)"
    _RELAYS.add(asyncio.ensure_future(_relay(process.stdout)))
    return process, address.rstrip("/")


async def _relay(stream: asyncio.StreamReader) -> None:
    """Pass the bot's later stdout lines through to ours."""
    while line := await stream.readline():
        sys.stdout.write(line.decode(errors="replace"))
        sys.stdout.flush()


async def _wait(bot: asyncio.subprocess.Process, stop: asyncio.Event) -> int:
    """Until `stop` is set by SIGINT/SIGTERM (0) or the bot exits on its own (1)."""
    waiter = asyncio.ensure_future(stop.wait())
    exited = asyncio.ensure_future(bot.wait())
    try:
        done, _ = await asyncio.wait({waiter, exited}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    # A Ctrl+C in a terminal reaches the bot too, which may stop first: still a clean stop.
    if exited in done and not stop.is_set():
        print(f"the bot stopped (exit code {bot.returncode}); stopping the playground", flush=True)
        return 1
    exited.cancel()
    return 0


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), BOT_STOP_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked
