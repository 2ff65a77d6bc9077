"""What the listeners are given: settings, the live glossary, the store, roles and hooks.

Listeners receive one `Deps` and nothing else, so a test (or another entry point) can build
the app with any store, glossary or intake implementation. The glossary sits in a
`GlossaryHolder` whose `current` is replaced in one assignment when the terms are reloaded:
a request that already read `holder.current` finishes with the index it started with.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.config import Settings
from bot.glossary.problems import Problem, Severity
from bot.glossary.reload import ReloadOutcome
from bot.glossary.resolve import Glossary
from bot.glossary.roles import RoleDirectory
from bot.slack.background import Background
from bot.slack.metrics import Metrics
from bot.slack.rendered import RenderedAnswers
from bot.store import Store
from bot.store.lookup_log import LookupLog
from bot.store.saved_roles import SavedRoles

log = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[Sequence[str]]]
"""Returns the problems an operator should know about (empty: healthy). Used by /healthz."""

ReloadHook = Callable[[Glossary], Awaitable[None]]
"""Called with the new glossary after each reload is swapped in (e.g. to close term requests)."""

ReloadCommand = Callable[[str], Coroutine[Any, Any, ReloadOutcome]]
"""Reloads the glossary now (the argument says why: "command", "signal", ...); see reloading.py."""


@dataclass
class GlossaryHolder:
    """The glossary in use, swapped as a whole on reload."""

    current: Glossary
    problems: tuple[Problem, ...] = ()
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_reload: ReloadOutcome | None = None  # the last load or reload attempt, for /healthz

    def swap(self, glossary: Glossary, problems: Sequence[Problem] = ()) -> None:
        """Put a freshly built glossary in service. Readers see the old or the new, never a mix."""
        self.problems = tuple(problems)
        self.loaded_at = datetime.now(UTC)
        self.current = glossary

    @property
    def error_count(self) -> int:
        return sum(p.severity is Severity.ERROR for p in self.problems)


class IntakeHook(Protocol):
    """Where "Request this term", "Suggest a clarification" and `/define request` lead.

    `kind` is "new" (a missing term) or "clarification" (about the existing term `slug`);
    `source` is a permalink to the message that prompted it, when there is one. `client` is
    the request's Slack AsyncWebClient; the hook must call views.open within 3 s of the click,
    because a trigger_id expires then.
    """

    async def open_request_modal(
        self,
        client: Any,
        trigger_id: str,
        term: str,
        kind: str,
        slug: str | None,
        source: str | None,
    ) -> None: ...

    async def submit(
        self, client: Any, user_id: str, view: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Handle the modal's submission. Return an ack body (e.g. `{"response_action":
        "errors", "errors": {...}}`) to keep the modal open, or None to close it."""
        ...


@dataclass
class Deps:
    """Everything a listener may use. Built once by `create_app`."""

    settings: Settings
    glossary: GlossaryHolder
    store: Store
    roles: RoleDirectory
    intake: IntakeHook
    background: Background
    saved_roles: SavedRoles
    lookups: LookupLog  # the look-up log, written in batches
    health_checks: list[HealthCheck] = field(default_factory=list)
    reload_hooks: list[ReloadHook] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    rendered: RenderedAnswers = field(default_factory=RenderedAnswers)  # answers to send again
    # Set after outbox rows are written, so the delivery worker (outbox.py) runs at once.
    outbox_wake: asyncio.Event = field(default_factory=asyncio.Event)
    reload: ReloadCommand | None = None  # set by the runtime when it can reload the glossary
