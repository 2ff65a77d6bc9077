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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from slack_bolt.async_app import AsyncApp

from bot.config import ConfigError, Settings
from bot.glossary.load import GlossaryFolderError, load_glossary
from bot.glossary.problems import Severity
from bot.glossary.resolve import Glossary
from bot.glossary.roles import RolesFileError
from bot.slack.app import app_for, build_deps
from bot.slack.deps import Deps, GlossaryHolder
from bot.store import StoreError, open_store, redact_url

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0


class StartupError(Exception):
    """The bot cannot start for a reason an operator can fix; the message is one line."""


@dataclass
class Runtime:
    deps: Deps
    app: AsyncApp

    async def close(self) -> None:
        """Let background work finish (bounded), then close the store."""
        await self.deps.background.drain(DRAIN_SECONDS)
        try:
            await self.deps.store.close()
        except StoreError:
            log.warning("store did not close cleanly", exc_info=True)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The Web API client logs every request at DEBUG, including payloads; keep it quieter.
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLevelName(level)))


def load_holder(terms_dir: Path) -> GlossaryHolder:
    """Load the glossary folder, logging every problem as `path:line:col: severity: message`."""
    try:
        loaded = load_glossary(terms_dir)
    except GlossaryFolderError as exc:
        raise ConfigError(f"GLOSSARY_TERMS_DIR: {exc}") from None
    for problem in loaded.problems:
        level = logging.ERROR if problem.severity is Severity.ERROR else logging.WARNING
        log.log(level, "%s", problem)
    glossary = Glossary(loaded.terms)
    log.info("glossary: %d terms loaded from %s", len(glossary.terms), terms_dir)
    return GlossaryHolder(glossary, tuple(loaded.problems))


async def start_runtime(
    settings: Settings, *, terms_dir: Path | None = None, socket_mode: bool = False
) -> Runtime:
    try:
        roles = settings.roles()
    except RolesFileError as exc:
        raise ConfigError(f"GLOSSARY_ROLES_FILE: {exc}") from None
    holder = load_holder(terms_dir or settings.GLOSSARY_TERMS_DIR)
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
    return Runtime(deps, app_for(deps, socket_mode=socket_mode))


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
