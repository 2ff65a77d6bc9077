"""Answer each Slack event exactly once, across retries, restarts and replicas.

Slack redelivers an event (with `X-Slack-Retry-Num`) when it did not get a 2xx within 3
seconds. The record of which events were handled lives in the store, keyed by the envelope's
`event_id`, so it holds across processes. The flow for one delivery:

1. `claim_event` (a lease). Claimed: reply now. Not claimed: someone handled it, or is
   handling it right now.
2. The reply is sent *before* Slack gets its 2xx, within a budget (2.5 s, under Slack's 3 s).
   If the process dies mid-reply, Slack never got a 2xx and redelivers, and the lease lets
   the redelivery take over once it expires. (Acking first would be faster by one reply's
   latency, but a process dying between the ack and the reply would then lose the event for
   good: Slack does not redeliver what it saw acknowledged.) A reply slower than the budget
   carries on in the background and the ack goes out.
3. Success: `finish_event` (later deliveries are ignored forever). Failure: `release_event`
   and a 5xx, so Slack's next retry handles it at once instead of waiting for the lease.
4. A reply that fails after the ack went out has no Slack retry coming: this process tries
   it again a few times, spaced out (`LATE_RETRY_DELAYS`), claiming the event each time.

A delivery that cannot claim because the event is finished (here or on another replica), or
running in this process, gets a 200. Otherwise the claim belongs to a handler elsewhere that
may have died, so the delivery gets a 503: Slack retries (after about 1 and 5 minutes), and a
later retry either finds the event finished (200) or takes over the expired lease. Answering
200 there would turn a crash into an event that is never answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from slack_bolt.response import BoltResponse

from bot.slack.background import Background
from bot.store import Store, StoreError

log = logging.getLogger(__name__)

REPLY_BUDGET_SECONDS = 2.5
# Longer than a reply normally takes (even with a rate-limit retry), shorter than Slack's
# second retry (about a minute after the first failure), so a dead handler's event is taken
# over by that retry.
EVENT_LEASE_SECONDS = 30.0
_REMEMBERED = 4096
# When a reply that outlived the budget fails, Slack has its 200 and will not redeliver: try
# again after these pauses (seconds), long enough for a Slack outage or rate limit to pass.
LATE_RETRY_DELAYS = (2.0, 10.0, 30.0)


class EventGate:
    """Runs an event's reply at most once per event_id (at least once if the bot survives)."""

    def __init__(
        self,
        store: Store,
        background: Background,
        *,
        budget: float = REPLY_BUDGET_SECONDS,
        lease: float = EVENT_LEASE_SECONDS,
        late_retry_delays: tuple[float, ...] = LATE_RETRY_DELAYS,
    ) -> None:
        self._store = store
        self._background = background
        self._budget = budget
        self._lease = lease
        self._late_retry_delays = late_retry_delays
        self._running: set[str] = set()
        self._finished: OrderedDict[str, None] = OrderedDict()

    async def run_once(
        self, event_id: str | None, reply: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Handle one delivery. Returns the HTTP answer to give Slack (None: a plain 200)."""
        if not event_id:  # not an Events API envelope; nothing to dedupe on
            await reply()
            return None
        if event_id in self._finished or event_id in self._running:
            log.info("event %s: duplicate delivery, already handled here", event_id)
            return None
        if not await self._claim(event_id):
            if await self._finished_elsewhere(event_id):
                log.info("event %s: duplicate delivery, already handled", event_id)
                return None
            log.info("event %s: claimed elsewhere; asking Slack to retry later", event_id)
            return BoltResponse(status=503, body="event in progress elsewhere")
        self._running.add(event_id)
        task = asyncio.ensure_future(self._handle(event_id, reply))
        self._background.track(task)
        done, _ = await asyncio.wait({task}, timeout=self._budget)
        if not done:
            log.warning("event %s: reply still running after %.1fs; acking", event_id, self._budget)
            self._background.spawn(self._finish_late(event_id, task, reply), name="late reply")
            return None
        error = task.result()
        if error is not None:
            raise error  # to @app.error: logged with its trace; Slack gets a 500 and retries
        return None

    async def _finish_late(
        self,
        event_id: str,
        task: asyncio.Task[BaseException | None],
        reply: Callable[[], Awaitable[None]],
    ) -> None:
        """See a reply that outlived the budget through: if it fails, run it again later."""
        error = await task
        for delay in self._late_retry_delays:
            if error is None:
                return
            log.warning(
                "event %s: reply failed after the ack (%s); trying again in %.0fs",
                event_id,
                error,
                delay,
            )
            await asyncio.sleep(delay)
            if not await self._claim(event_id):
                return  # finished meanwhile (a retry here, or another replica)
            self._running.add(event_id)
            error = await self._handle(event_id, reply)
        if error is not None:
            log.error("event %s: reply failed after the ack; giving up", event_id, exc_info=error)

    async def _claim(self, event_id: str) -> bool:
        try:
            return await self._store.claim_event(event_id, lease_seconds=self._lease)
        except StoreError:
            # Better a rare double answer than none: reply without the record.
            log.exception("event %s: store unavailable for dedupe; replying anyway", event_id)
            return True

    async def _finished_elsewhere(self, event_id: str) -> bool:
        try:
            return await self._store.event_finished(event_id)
        except StoreError:
            log.exception("event %s: store unavailable to check the event's outcome", event_id)
            return False

    async def _handle(
        self, event_id: str, reply: Callable[[], Awaitable[None]]
    ) -> BaseException | None:
        try:
            await reply()
        except Exception as exc:  # noqa: BLE001 - any failure releases the claim; run_once re-raises it
            self._running.discard(event_id)
            await self._record(self._store.release_event, event_id)
            return exc
        self._remember(event_id)
        self._running.discard(event_id)
        await self._record(self._store.finish_event, event_id)
        return None

    def _remember(self, event_id: str) -> None:
        self._finished[event_id] = None
        while len(self._finished) > _REMEMBERED:
            self._finished.popitem(last=False)

    async def _record(self, action: Callable[[str], Awaitable[None]], event_id: str) -> None:
        try:
            await action(event_id)
        except StoreError:
            log.exception("event %s: could not record the outcome in the store", event_id)
