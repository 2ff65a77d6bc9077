"""Start-up and shutdown shared by `serve` (HTTP) and `socket` (Socket Mode).

Start-up: read the roles, load the glossary (logging each file problem as `path:line:col`),
open and migrate the store, build the app. Shutdown: wait for background work, close the
store. Problems an operator must fix are raised as `ConfigError` (a variable is wrong) or
`StartupError` (anything else, such as a busy port), each with a one-line message.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from slack_bolt.async_app import AsyncApp

from bot import logs
from bot.config import ConfigError, Settings
from bot.glossary.cache import GlossaryCache, load_indexed
from bot.glossary.load import GlossaryFolderError, paused_gc
from bot.glossary.problems import Severity
from bot.glossary.roles import RolesFileError
from bot.slack.app import app_for, build_deps
from bot.slack.deps import Deps, GlossaryHolder
from bot.slack.outbox import OutboxWorker
from bot.slack.reloading import Reloader
from bot.store import StoreError, open_store, redact_url

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0
WARM_UP_DELAY_SECONDS = 1.0


class StartupError(Exception):
    """The bot cannot start for a reason an operator can fix; the message is one line."""


@dataclass
class Runtime:
    deps: Deps
    app: AsyncApp
    reloader: Reloader | None = None
    outbox: OutboxWorker | None = None

    def warm_up(self) -> None:
        """Once serving: load, off the event loop, what a restored index left for first use.

        A moment later, so the first requests (and health checks) do not wait behind it; a
        request that needs those parts sooner loads them itself.
        """

        def warm() -> None:
            with paused_gc(freeze=True):
                self.deps.glossary.current.warm()

        timer = threading.Timer(WARM_UP_DELAY_SECONDS, warm)
        timer.daemon = True
        timer.start()

    async def close(self) -> None:
        """Stop reloading, let background work finish (bounded), then close the store."""
        if self.reloader is not None:
            await self.reloader.stop()
        if self.outbox is not None:
            await self.outbox.stop()
        await self.deps.background.drain(DRAIN_SECONDS)
        await self.deps.lookups.close()
        try:
            await self.deps.store.close()
        except StoreError:
            log.warning("store did not close cleanly", exc_info=True)


def configure_logging(settings: Settings) -> None:
    """Text or JSON lines (GLOSSARY_LOG_FORMAT) at GLOSSARY_LOG_LEVEL, never showing a secret."""
    logs.configure_logging(
        settings.GLOSSARY_LOG_LEVEL, settings.GLOSSARY_LOG_FORMAT, secret_values(settings)
    )


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold, for the log redaction filter."""
    values = [
        secret.get_secret_value()
        for secret in (
            settings.SLACK_BOT_TOKEN,
            settings.SLACK_SIGNING_SECRET,
            settings.SLACK_APP_TOKEN,
        )
        if secret is not None
    ]
    try:
        password = urlsplit(settings.GLOSSARY_DATABASE_URL).password
    except ValueError:
        password = None
    if password:
        values += [password, unquote(password)]
    return values


def load_holder(terms_dir: Path, cache: GlossaryCache | None = None) -> GlossaryHolder:
    """Load the glossary folder, logging every problem as `path:line:col: severity: message`."""
    try:
        loaded, glossary = load_indexed(terms_dir, cache)
    except GlossaryFolderError as exc:
        raise ConfigError(f"GLOSSARY_TERMS_DIR: {exc}") from None
    for problem in loaded.problems:
        level = logging.ERROR if problem.severity is Severity.ERROR else logging.WARNING
        log.log(level, "%s", problem)
    log.info("glossary: %d terms loaded from %s", len(glossary.terms), terms_dir)
    return GlossaryHolder(glossary, tuple(loaded.problems))


async def start_runtime(
    settings: Settings, *, terms_dir: Path | None = None, socket_mode: bool = False
) -> Runtime:
    try:
        roles = settings.roles()
    except RolesFileError as exc:
        raise ConfigError(f"GLOSSARY_ROLES_FILE: {exc}") from None
    cache = GlossaryCache.from_setting(settings.GLOSSARY_CACHE_DIR, keep_details=False)
    # The glossary lives as long as the process: frozen out of the cycle collector's walks.
    with paused_gc(freeze=True):
        holder = load_holder(terms_dir or settings.GLOSSARY_TERMS_DIR, cache)
    try:
        store = open_store(settings.GLOSSARY_DATABASE_URL)
    except (StoreError, ValueError) as exc:  # InvalidDatabaseURLError is both
        raise ConfigError(f"GLOSSARY_DATABASE_URL: {exc}") from None
    try:
        await store.migrate()
    except StoreError as exc:
        where = redact_url(settings.GLOSSARY_DATABASE_URL)
        raise ConfigError(f"GLOSSARY_DATABASE_URL: cannot open {where}: {exc}") from None
    deps = build_deps(settings, holder, store, roles=roles)
    app = app_for(deps, socket_mode=socket_mode)
    folder = terms_dir or settings.GLOSSARY_TERMS_DIR
    reloader = Reloader(deps, folder, watch=settings.GLOSSARY_WATCH, cache=cache)
    await reloader.start()
    outbox = OutboxWorker(deps)  # delivers what earlier processes left pending, then new rows
    deps.health_checks.append(outbox.health)
    outbox.start()
    return Runtime(deps, app, reloader, outbox)


@contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """Set `stop` on SIGTERM or SIGINT (instead of dying mid-request)."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
