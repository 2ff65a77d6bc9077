"""The look-up log, written in batches by one task instead of a write per answer.

Every `/define` logs what was asked and how it was answered (for `stats` and the most missed
terms). Starting a task and a database transaction for each of them cost as much as finding
the answer, so `add` only appends to a list, and one writer task stores whatever has gathered,
a short moment later, in a single transaction: one commit (and one fsync) for a burst.

The log is a statistic, not a promise made to a user, so it trades a little durability for
speed: rows wait in memory for at most `FLUSH_DELAY_SECONDS` (plus the write), a failed write
keeps them for the next try (up to `MAX_PENDING` rows, oldest dropped first), and `close`
writes what is left at shutdown. Readers in this process call `flush` first, so a person who
asks for `stats` right after a look-up sees it counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.store.base import Clock, Lookup, Store, utc_now

log = logging.getLogger(__name__)

FLUSH_DELAY_SECONDS = 0.05
MAX_PENDING = 50_000
# After a failed write: wait this long, doubling up to the maximum, before trying again.
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0


class LookupLog:
    """Look-ups appended now and stored together by one background writer."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = utc_now,
        delay: float = FLUSH_DELAY_SECONDS,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._store = store
        self._clock = clock
        self._delay = delay
        self._max_pending = max_pending
        self._pending: list[Lookup] = []
        self._wake = asyncio.Event()
        self._writing = asyncio.Lock()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._dropped = 0

    @property
    def pending(self) -> int:
        """Rows not yet stored."""
        return len(self._pending)

    def add(
        self, user_id: str, query: str, status: str, slug: str | None, *, key: str | None = None
    ) -> None:
        """Log one look-up (stored a moment later). Call it from the event loop."""
        self._pending.append(Lookup.of(user_id, query, status, slug, self._clock(), key=key))
        if len(self._pending) > self._max_pending:
            self._drop_oldest()
        if self._closing:
            return  # close() writes what is pending; no new writer after it
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._run(), name="lookup log writer"
            )
        self._wake.set()

    async def flush(self) -> bool:
        """Store every pending row now. False if the store refused (the rows are kept)."""
        async with self._writing:
            batch, self._pending = self._pending, []
            if not batch:
                return True
            try:
                await self._store.record_lookups(batch)
            except BaseException as exc:
                # Put them back in front of anything added meanwhile, for the next try.
                self._pending[:0] = batch
                if not isinstance(exc, Exception):
                    raise  # cancelled (a shutdown that ran out of time): close() reports
                if len(self._pending) > self._max_pending:
                    self._drop_oldest()
                log.warning(
                    "could not store %d look-ups; keeping them to try again",
                    len(batch),
                    exc_info=True,
                )
                return False
            return True

    async def close(self, timeout: float = 5.0) -> None:
        """Stop the writer and store what is pending, waiting at most `timeout` seconds."""
        self._closing = True
        writer = self._writer
        if writer is not None and not writer.done():
            async with self._writing:  # never stop a write half-way: let a running one end
                writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flush(), timeout)
        if self._pending:
            log.warning("shutdown: %d look-ups were not stored", len(self._pending))

    async def _run(self) -> None:
        retry_in = RETRY_FIRST_SECONDS
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._delay)  # let a burst gather into one transaction
            self._wake.clear()
            if await self.flush():
                retry_in = RETRY_FIRST_SECONDS
                continue
            await asyncio.sleep(retry_in)
            retry_in = min(retry_in * 2, RETRY_MAX_SECONDS)
            self._wake.set()

    def _drop_oldest(self) -> None:
        excess = len(self._pending) - self._max_pending
        del self._pending[:excess]
        self._dropped += excess
        log.warning(
            "the look-up log cannot keep up; dropped the %d oldest unstored look-ups (%d in all)",
            excess,
            self._dropped,
        )
