"""Work that outlives the HTTP request that started it: tracked, logged, drained at shutdown.

Bolt starts lazy listeners with a bare `asyncio.ensure_future`: nothing keeps a reference to
the task (the event loop only holds weak ones), an exception is logged without its stack trace
and without reaching `@app.error`, and shutdown cannot wait for the work to finish. So the app
swaps in `TrackedLazyListenerRunner`, and everything else that runs after an ack goes through
`Background.spawn` too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_bolt.kwargs_injection.async_utils import build_async_required_kwargs
from slack_bolt.lazy_listener.async_runner import AsyncLazyListenerRunner
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.util.utils import get_arg_names_of_callable

log = logging.getLogger(__name__)

ErrorReporter = Callable[[BaseException, AsyncBoltRequest | None], Awaitable[None]]


class Background:
    """A set of running tasks that keeps them alive and can wait for all of them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self.report_error: ErrorReporter | None = None

    def spawn(
        self,
        coro: Coroutine[Any, Any, Any],
        *,
        name: str,
        request: AsyncBoltRequest | None = None,
    ) -> asyncio.Task[Any]:
        """Run `coro` now, in the background; its failure is logged with the stack trace."""
        task = asyncio.ensure_future(self._guarded(coro, name, request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def track(self, task: asyncio.Task[Any]) -> None:
        """Keep an already running task alive until it ends, and wait for it at shutdown."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(
        self, coro: Coroutine[Any, Any, Any], name: str, request: AsyncBoltRequest | None
    ) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            log.warning("background work %s was cancelled", name)
            raise
        except Exception as exc:
            if self.report_error is not None:
                try:
                    await self.report_error(exc, request)
                except Exception:
                    log.exception("error handler failed while reporting a background error")
            else:
                log.exception("background work %s failed", name)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for running work; cancel what is left. True if all done."""
        if not self._tasks:
            return True
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("shutdown: cancelled %d unfinished background tasks", len(pending))
            await asyncio.wait(pending, timeout=1.0)
        return not pending


class TrackedLazyListenerRunner(AsyncLazyListenerRunner):
    """Bolt's lazy listener runner, with the tasks kept in a `Background`."""

    def __init__(self, background: Background, logger: logging.Logger) -> None:
        self.background = background
        self.logger = logger

    def start(self, function: Callable[..., Awaitable[None]], request: AsyncBoltRequest) -> None:
        name = getattr(function, "__name__", "lazy listener")
        self.background.spawn(self.run(function, request), name=name, request=request)

    async def run(
        self, function: Callable[..., Awaitable[None]], request: AsyncBoltRequest
    ) -> None:
        kwargs = build_async_required_kwargs(
            logger=self.logger,
            required_arg_names=get_arg_names_of_callable(function),
            request=request,
            response=None,
            this_func=function,
        )
        await function(**kwargs)
