"""The outbox delivery worker: every intake post, thread note, post update and requester DM
reaches Slack exactly once, and none is lost.

How each promise is kept:

- **Written before any Slack call.** The request flow stores its jobs in the outbox in the
  same transaction as the change (`bot/intake/jobs.py`). This worker only reads them.
- **Never lost.** Rows stay pending until Slack accepts them. The worker starts with the bot
  (so whatever a previous process left is resumed at once), runs a round whenever a listener
  enqueues something (`Deps.outbox_wake`), and polls on a schedule. A row is leased while it
  is being delivered; a process that dies mid-delivery loses the lease and another takes over.
- **Retries.** A 429 waits exactly as long as `Retry-After` says; 5xx answers, dropped
  connections and timeouts back off exponentially (with jitter, at most 5 minutes).
- **Errors an operator must fix** (`channel_not_found`, `not_in_channel`, `invalid_auth`, an
  intake channel that is not set, ...) keep the row pending and retry with backoff capped at
  15 minutes; each attempt is logged at ERROR, and `/healthz` turns "degraded" with the
  reason while look-ups keep working.
- **Exactly once.** `chat.postMessage` has no idempotency key, so every post carries Slack
  message metadata naming its request (intake posts) or its outbox row (everything else).
  When an earlier attempt may have posted (it died without recording an outcome, or ended in
  a timeout, a dropped connection or a 5xx), the attempt first looks for that metadata in the
  destination's history since the row was written (`conversations.history` or
  `conversations.replies` with `include_all_metadata`) and, if the post is there, records it
  instead of posting again. chat.update is idempotent and needs no check.

Leases and attempts: a round claims a few rows and delivers them concurrently, each attempt
bounded to half the lease, so no attempt can outlive its lease and race a second worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, Literal

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.intake import read_job
from bot.intake.jobs import (
    GlossaryErrorsPost,
    IntakePostJob,
    IntakeUpdateJob,
    Job,
    RequesterDM,
    ScaffoldJob,
    ThreadNoteJob,
)
from bot.slack import answering, intake_blocks
from bot.slack.blocks import Message
from bot.slack.deps import Deps
from bot.store import IntakePost, OutboxItem, StoreError, TermRequest

log = logging.getLogger(__name__)

BATCH = 5
POLL_SECONDS = 5.0
STOP_GRACE_SECONDS = 5.0
CALL_TIMEOUT_SECONDS = 10.0
HEALTH_TIMEOUT_SECONDS = 2.0

TRANSIENT_BASE, TRANSIENT_CAP = 1.0, 300.0
OPERATOR_BASE, OPERATOR_CAP = 2.0, 900.0  # "at most every 15 minutes"
WAITING_BASE, WAITING_CAP = 0.5, 30.0

HISTORY_PAGES = 5
HISTORY_PAGE_SIZE = 200
HISTORY_SLACK = timedelta(minutes=1)  # clock skew between us and Slack

# Outcomes that leave open whether Slack posted: the next attempt looks before posting.
AMBIGUOUS = frozenset({"server_error", "connection_error", "timeout", "internal_error"})
UNVERIFIED = "[unverified]"  # ends an error recorded before an earlier post could be ruled out
# Transient: retried without bothering an operator. Everything else an attempt can end in
# is an operator's problem: logged at ERROR and reported by /healthz until it is delivered.
TRANSIENT = frozenset({"ratelimited", "server_error", "connection_error", "timeout"})
QUIET = TRANSIENT | {"waiting_for_intake_post"}
# The person or message is gone: retrying can never succeed, so the row is given up.
GONE: dict[str, frozenset[str]] = {
    "dm": frozenset(
        {"user_not_found", "user_disabled", "cannot_dm_bot", "user_not_visible", "not_allowed"}
    ),
    "update": frozenset({"message_not_found", "cant_update_message", "edit_window_closed"}),
    "thread": frozenset({"thread_not_found", "message_not_found"}),
}
ADVICE: dict[str, str] = {
    "channel_not_found": "check GLOSSARY_INTAKE_CHANNEL (a channel ID such as C0123456789) "
    "and that the bot was added to that channel",
    "not_in_channel": "invite the bot to the intake channel (/invite @glossary)",
    "is_archived": "the intake channel is archived; unarchive it or set another",
    "invalid_auth": "SLACK_BOT_TOKEN is not accepted; set a valid bot token and restart",
    "not_authed": "SLACK_BOT_TOKEN is missing",
    "account_inactive": "the bot's token was revoked or the app uninstalled",
    "token_revoked": "the bot's token was revoked; reinstall the app",
    "missing_scope": "the app lacks a scope it needs (see manifest.yml); reinstall it",
    "intake_channel_not_set": "set GLOSSARY_INTAKE_CHANNEL so requests reach the maintainers",
}

Destination = Literal["intake", "dm"]


@dataclass(frozen=True)
class Delivered:
    result: dict[str, Any]
    intake_post: IntakePost | None = None


@dataclass(frozen=True)
class Retry:
    code: str
    detail: str
    after: float  # seconds


@dataclass(frozen=True)
class GiveUp:
    code: str
    detail: str


Outcome = Delivered | Retry | GiveUp


def error_code(error: str | None) -> str:
    """The code at the start of a recorded error (`"channel_not_found: ..."`)."""
    return (error or "").partition(":")[0].strip()


def may_have_posted(item: OutboxItem) -> bool:
    """Could an earlier attempt at this row have reached Slack?

    Yes when an attempt ended without recording anything (its process died, or it was
    cancelled at shutdown), when the last recorded error leaves it open (a timeout, a
    dropped connection, a 5xx), or when the attempt that recorded it failed before it could
    look (UNVERIFIED). A 429 or an `ok: false` answer means that attempt posted nothing, and
    it had already looked for anything earlier."""
    if item.attempts <= 1:
        return False
    if item.attempts > item.errors + 1:
        return True
    error = item.last_error or ""
    return error_code(error) in AMBIGUOUS or error.endswith(UNVERIFIED)


@dataclass
class _Attempt:
    """One delivery attempt: whether an earlier post is still possible and unchecked."""

    unverified: bool


def backoff(errors: int, base: float, cap: float) -> float:
    """Exponential backoff after `errors` earlier failures, jittered downwards (never above
    `cap`), so many rows failing together do not retry in lockstep."""
    delay: float = min(cap, base * 2.0 ** min(errors, 30))
    return delay * random.uniform(0.8, 1.0)  # noqa: S311 - jitter, not cryptography


def web_client(deps: Deps, timeout: float) -> AsyncWebClient:
    """A Web API client without the SDK's own retries: this worker decides when to retry."""
    return AsyncWebClient(
        token=deps.settings.secret("SLACK_BOT_TOKEN"),
        base_url=deps.settings.SLACK_API_URL,
        timeout=max(1, int(timeout)),
        retry_handlers=[],
    )


class OutboxWorker:
    """Delivers due outbox rows until stopped. One per process; many processes may share a
    database (leases keep them off each other's rows)."""

    def __init__(
        self,
        deps: Deps,
        *,
        client: AsyncWebClient | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.deps = deps
        self.store = deps.store
        self.lease_seconds = deps.settings.GLOSSARY_OUTBOX_LEASE_SECONDS
        self.attempt_timeout = self.lease_seconds / 2
        # Rows a dead worker leased become due when its lease ends; look that often.
        self.poll_seconds = min(POLL_SECONDS, self.lease_seconds / 2)
        self.client = client or web_client(deps, min(CALL_TIMEOUT_SECONDS, self.attempt_timeout))
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._retry_times: list[float] = []  # monotonic times of retries this worker scheduled
        self._problems: dict[Destination, str] = {}

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start delivering now: rows a previous process left pending go first."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox")

    def wake(self) -> None:
        self.deps.outbox_wake.set()

    async def stop(self) -> None:
        """Let the round in progress finish (bounded), then hand this worker's leases back."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=STOP_GRACE_SECONDS)
            if not done:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        try:
            await self.store.release_claims(self.worker_id)
        except StoreError:
            log.warning("outbox: could not release leases at shutdown", exc_info=True)

    async def _run(self) -> None:
        log.info("outbox: delivery worker %s started", self.worker_id)
        while not self._stopping:
            handled = 0
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("outbox: a delivery round failed; trying again shortly")
            if self._stopping:
                break
            if handled < BATCH:
                await self._sleep(self._next_wait())

    async def _sleep(self, seconds: float) -> None:
        wake = self.deps.outbox_wake
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), seconds)
        wake.clear()

    def _next_wait(self) -> float:
        now = time.monotonic()
        self._retry_times = [t for t in self._retry_times if t > now]
        if not self._retry_times:
            return self.poll_seconds
        return max(0.05, min(self.poll_seconds, min(self._retry_times) - now))

    # -- one round ------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim up to BATCH due rows and deliver them concurrently; returns how many."""
        items = await self.store.claim_due(
            self.worker_id, limit=BATCH, lease_seconds=self.lease_seconds
        )
        if items:
            await asyncio.gather(*(self._handle(item) for item in items))
        return len(items)

    async def _handle(self, item: OutboxItem) -> None:
        job = read_job(item.kind, item.payload)
        destination: Destination = "dm" if isinstance(job, RequesterDM) else "intake"
        attempt = _Attempt(unverified=may_have_posted(item))
        try:
            if job is None:
                outcome: Outcome = Retry(
                    "unknown_job", f"this version cannot deliver {item.kind!r} rows", 0
                )
            else:
                delivery = self._deliver(item, job, attempt)
                outcome = await asyncio.wait_for(delivery, self.attempt_timeout)
        except TimeoutError:
            outcome = Retry("timeout", f"no answer within {self.attempt_timeout:.0f} s", 0)
        except SlackApiError as exc:
            outcome = _slack_failure(exc, _family(job))
        except (aiohttp.ClientError, SlackClientError, OSError) as exc:
            outcome = Retry("connection_error", type(exc).__name__, 0)
        except Exception:
            log.exception("outbox: delivering %s #%d failed unexpectedly", item.kind, item.id)
            outcome = Retry("internal_error", "see the log", 0)
        try:
            await self._record(item, outcome, destination, attempt)
        except StoreError:
            # The lease runs out and the row is tried again, looking in Slack first.
            log.warning("outbox: could not record the outcome of #%d", item.id, exc_info=True)

    async def _record(
        self, item: OutboxItem, outcome: Outcome, destination: Destination, attempt: _Attempt
    ) -> None:
        if isinstance(outcome, Delivered):
            await self.store.mark_delivered(
                item.id, outcome.result, intake_post=outcome.intake_post
            )
            self._problems.pop(destination, None)
            return
        error = f"{outcome.code}: {outcome.detail}"
        if isinstance(outcome, GiveUp):
            log.warning("outbox: giving up on %s #%d: %s", item.kind, item.id, error)
            await self.store.mark_failed(item.id, worker_id=self.worker_id, error=error)
            return
        delay = outcome.after or self._delay_for(outcome.code, item.errors)
        if attempt.unverified and outcome.code not in AMBIGUOUS:
            error = f"{error} {UNVERIFIED}"
        retry_at = datetime.now(UTC) + timedelta(seconds=delay)
        await self.store.mark_retry(
            item.id, worker_id=self.worker_id, error=error, retry_at=retry_at
        )
        self._retry_times.append(time.monotonic() + delay)
        if outcome.code in QUIET:
            log.info("outbox: %s #%d will retry in %.1f s (%s)", item.kind, item.id, delay, error)
        else:
            self._problems[destination] = error
            log.error(
                "outbox: CANNOT DELIVER %s #%d: %s. It stays queued; next try in %.0f s.",
                item.kind,
                item.id,
                error,
                delay,
            )

    @staticmethod
    def _delay_for(code: str, errors: int) -> float:
        if code == "waiting_for_intake_post":
            return backoff(errors, WAITING_BASE, WAITING_CAP)
        if code in TRANSIENT:
            return backoff(errors, TRANSIENT_BASE, TRANSIENT_CAP)
        return backoff(errors, OPERATOR_BASE, OPERATOR_CAP)

    # -- deliveries -----------------------------------------------------------------------------

    async def _deliver(self, item: OutboxItem, job: Job, attempt: _Attempt) -> Outcome:
        match job:
            case IntakePostJob():
                return await self._intake_post(item, job, attempt)
            case IntakeUpdateJob():
                return await self._intake_update(job)
            case ThreadNoteJob():
                note = intake_blocks.thread_note(job, self.deps.roles)
                return await self._in_thread(item, job.request_id, note, attempt)
            case ScaffoldJob():
                scaffold = intake_blocks.scaffold_message(job.term, date.today(), job.by)
                return await self._in_thread(item, job.request_id, scaffold, attempt)
            case RequesterDM():
                return await self._direct_message(item, job, attempt)
            case GlossaryErrorsPost():
                return await self._errors_post(item, job, attempt)

    async def _intake_post(
        self, item: OutboxItem, job: IntakePostJob, attempt: _Attempt
    ) -> Outcome:
        request = await self.store.get_request(job.request_id)
        if request is None:
            return GiveUp("request_not_found", f"request #{job.request_id} no longer exists")
        if request.intake_channel and request.intake_ts:
            return Delivered({"channel": request.intake_channel, "ts": request.intake_ts})
        channel = self.deps.settings.GLOSSARY_INTAKE_CHANNEL
        if not channel:
            return Retry("intake_channel_not_set", ADVICE["intake_channel_not_set"], 0)
        if attempt.unverified:

            def ours(metadata: Mapping[str, Any]) -> bool:
                payload = metadata.get("event_payload") or {}
                return metadata.get("event_type") == intake_blocks.METADATA_EVENT and str(
                    payload.get("request_id")
                ) == str(request.id)

            found = await self._find(self.client.conversations_history, channel, item, ours)
            attempt.unverified = False
            if found is not None:
                log.info("outbox: request #%d was already posted (ts %s)", request.id, found)
                post = IntakePost(request.id, channel, found)
                return Delivered({"channel": channel, "ts": found, "found": True}, post)
        message = await self._intake_message(request)
        response = await self.client.chat_postMessage(
            channel=channel,
            metadata=intake_blocks.intake_metadata(request.id),
            unfurl_links=False,
            unfurl_media=False,
            **message,
        )
        post = IntakePost(request.id, str(response["channel"]), str(response["ts"]))
        return Delivered({"channel": post.channel, "ts": post.ts}, post)

    async def _intake_message(self, request: TermRequest) -> Message:
        waiting = len(await self.store.requesters(request.id))
        return intake_blocks.intake_post(request, waiting, self.deps.roles)

    async def _intake_update(self, job: IntakeUpdateJob) -> Outcome:
        request = await self.store.get_request(job.request_id)
        if request is None:
            return GiveUp("request_not_found", f"request #{job.request_id} no longer exists")
        if not (request.intake_channel and request.intake_ts):
            return Retry("waiting_for_intake_post", f"request #{request.id}", 0)
        # Rendered from the request as it is now, so updates arriving out of order still end
        # with the post showing the latest state.
        message = await self._intake_message(request)
        await self.client.chat_update(
            channel=request.intake_channel,
            ts=request.intake_ts,
            metadata=intake_blocks.intake_metadata(request.id),
            **message,
        )
        return Delivered({"channel": request.intake_channel, "ts": request.intake_ts})

    async def _in_thread(
        self, item: OutboxItem, request_id: int, message: Message, attempt: _Attempt
    ) -> Outcome:
        request = await self.store.get_request(request_id)
        if request is None:
            return GiveUp("request_not_found", f"request #{request_id} no longer exists")
        channel, thread_ts = request.intake_channel, request.intake_ts
        if not (channel and thread_ts):
            return Retry("waiting_for_intake_post", f"request #{request.id}", 0)
        return await self._post_once(item, attempt, channel, message, thread_ts=thread_ts)

    async def _direct_message(
        self, item: OutboxItem, job: RequesterDM, attempt: _Attempt
    ) -> Outcome:
        opened = await self.client.conversations_open(users=job.user_id)
        channel = str(opened["channel"]["id"])
        answer = await self._published_answer(job) if job.notice == "published" else None
        message = intake_blocks.requester_dm(job, answer)
        return await self._post_once(item, attempt, channel, message)

    async def _errors_post(
        self, item: OutboxItem, job: GlossaryErrorsPost, attempt: _Attempt
    ) -> Outcome:
        channel = self.deps.settings.GLOSSARY_INTAKE_CHANNEL
        if not channel:
            return Retry("intake_channel_not_set", ADVICE["intake_channel_not_set"], 0)
        message: Message = {"text": job.text, "blocks": list(job.blocks)}
        return await self._post_once(item, attempt, channel, message)

    async def _post_once(
        self,
        item: OutboxItem,
        attempt: _Attempt,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None = None,
    ) -> Outcome:
        """Post `message` tagged with the row's id; after an attempt that may have posted,
        look for that tag in the channel (or thread) first, so it is never posted twice."""
        if attempt.unverified:
            fetch: Callable[..., Awaitable[Any]] = self.client.conversations_history
            if thread_ts is not None:
                fetch = partial(self.client.conversations_replies, ts=thread_ts)
            found = await self._find(fetch, channel, item, _outbox_marker(item.id))
            attempt.unverified = False
            if found is not None:
                return Delivered({"channel": channel, "ts": found, "found": True})
        response = await self.client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,  # None (a top-level post) is left out of the call
            metadata=intake_blocks.outbox_metadata(item.id),
            unfurl_links=False,
            unfurl_media=False,
            **message,
        )
        return Delivered({"channel": str(response["channel"]), "ts": str(response["ts"])})

    async def _published_answer(self, job: RequesterDM) -> Message | None:
        """The new term's answer, framed for the person's role, from the glossary in use."""
        glossary = self.deps.glossary.current
        term = glossary.get(job.slug) if job.slug else None
        if term is None:
            # Published by a triager ahead of the reload that brings the term: this DM says
            # so, and that reload sends the definition in a DM of its own (`close_loop`).
            # Answering here too, should the term arrive first, would say it twice.
            return None
        role = await answering.effective_role(self.deps, job.user_id, None)
        return answering.term_message(self.deps, glossary, term.slug, role, public=True)

    async def _find(
        self,
        fetch: Callable[..., Awaitable[Any]],
        channel: str,
        item: OutboxItem,
        matches: Callable[[Mapping[str, Any]], bool],
    ) -> str | None:
        """The ts of a message in `channel` (since the row was written) whose metadata
        `matches`, looking through at most HISTORY_PAGES pages, newest first."""
        oldest = f"{(item.created_at - HISTORY_SLACK).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            response = await fetch(
                channel=channel,
                oldest=oldest,
                limit=HISTORY_PAGE_SIZE,
                include_all_metadata=True,
                cursor=cursor,
            )
            for message in response.get("messages") or []:
                metadata = message.get("metadata")
                if isinstance(metadata, Mapping) and matches(metadata):
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        log.warning("outbox: stopped looking for #%d after %d pages", item.id, HISTORY_PAGES)
        return None

    # -- health ---------------------------------------------------------------------------------

    async def health(self) -> list[str]:
        """What an operator must fix: deliveries stuck on an error that retrying cannot cure,
        seen by this worker or (through the store) by any replica. Errors that retrying does
        cure (429s, 5xx, a thread waiting for its intake post) are not problems."""
        try:
            # QUIET errors are left out in the store, before its limit: many thread notes
            # waiting for one failed post would otherwise fill the list and hide the failure.
            stats = await asyncio.wait_for(
                self.store.outbox_stats(ignore_codes=QUIET), HEALTH_TIMEOUT_SECONDS
            )
        except (TimeoutError, StoreError):
            # The store's own check reports an unreachable database; say what we saw last.
            return [f"outbox: {_shown(error)}" for error in self._problems.values()]
        if not stats.retrying:
            self._problems.clear()  # delivered since, perhaps by another replica
        errors = [*self._problems.values(), *stats.last_errors]
        problems = [f"outbox: {_shown(e)}" for e in errors if error_code(e) not in QUIET]
        problems = list(dict.fromkeys(problems))
        if problems and stats.pending:
            noun = "message" if stats.pending == 1 else "messages"
            problems.append(f"outbox: {stats.pending} {noun} waiting to be delivered")
        return problems


def _shown(error: str) -> str:
    return error.removesuffix(f" {UNVERIFIED}")


def _family(job: Job | None) -> str:
    if isinstance(job, RequesterDM):
        return "dm"
    if isinstance(job, IntakeUpdateJob):
        return "update"
    if isinstance(job, ThreadNoteJob | ScaffoldJob):
        return "thread"
    return "post"


def _slack_failure(exc: SlackApiError, family: str) -> Outcome:
    """What an error answer from Slack means for the row."""
    response = exc.response
    status = response.status_code
    if status == 429:
        return Retry("ratelimited", "Slack asked us to slow down", _retry_after(response.headers))
    if status >= 500:
        return Retry("server_error", f"Slack answered HTTP {status}", 0)
    code = str(response.get("error") or f"http_{status}")
    if code in GONE.get(family, frozenset()):
        return GiveUp(code, "the person or message is gone")
    return Retry(code, ADVICE.get(code, "Slack refused the message; see the log"), 0)


def _retry_after(headers: Mapping[str, Any]) -> float:
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name)
        if value is not None:
            try:
                return max(1.0, float(str(value).strip()))
            except ValueError:
                break
    return backoff(0, TRANSIENT_BASE, TRANSIENT_CAP) or 1.0


def _outbox_marker(outbox_id: int) -> Callable[[Mapping[str, Any]], bool]:
    def matches(metadata: Mapping[str, Any]) -> bool:
        payload = metadata.get("event_payload") or {}
        return metadata.get("event_type") == intake_blocks.OUTBOX_EVENT and str(
            payload.get("outbox_id")
        ) == str(outbox_id)

    return matches
