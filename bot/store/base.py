"""The store's contract: the `Store` Protocol, the records it returns, and its errors.

Everything the bot remembers between requests lives behind this one interface: saved roles,
Slack event dedupe, the look-up log, term requests and the outbox of Slack posts still to
deliver. Two backends implement it (`sqlite.py`, `postgres.py`) and one test suite runs
against both, so callers never need to know which one they hold.

Exceptions::

    StoreError                    anything the store reports on purpose
    ├── InvalidDatabaseURLError   open_store() got a URL it cannot use (also a ValueError)
    ├── StoreUnavailableError     the database cannot be reached, or stays locked too long
    ├── RequestNotFoundError      a request id that does not exist (also a LookupError)
    └── RequestConflictError      a status change would make two active requests for a term

Times are timezone-aware UTC datetimes. Every method that decides something by the clock
takes the store's clock (injectable, for tests) unless the caller passes `now`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, runtime_checkable

RequestKind = Literal["new", "clarification"]
RequestStatus = Literal["open", "accepted", "declined", "published"]
Urgency = Literal["now", "this_quarter", "evergreen"]
OutboxState = Literal["pending", "delivered", "failed"]

REQUEST_KINDS: tuple[RequestKind, ...] = ("new", "clarification")
REQUEST_STATUSES: tuple[RequestStatus, ...] = ("open", "accepted", "declined", "published")
URGENCIES: tuple[Urgency, ...] = ("now", "this_quarter", "evergreen")
ACTIVE_REQUEST_STATUSES: tuple[RequestStatus, ...] = ("open", "accepted")
"""A request in one of these is still being worked on: a new request for the same term joins
it instead of filing a second one."""

MISS_STATUSES: tuple[str, ...] = ("not_found", "suggest")
"""Look-up outcomes that found no term (the resolver's statuses); `top_misses` counts these."""

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class InvalidDatabaseURLError(StoreError, ValueError):
    """Raised by open_store() for a URL whose scheme or path it cannot use. The message never
    repeats the URL's password."""


class StoreUnavailableError(StoreError):
    """Raised when the database cannot be reached, or stays locked past the busy timeout."""


class RequestNotFoundError(StoreError, LookupError):
    """Raised when a method that must change a request is given an id that does not exist."""


class RequestConflictError(StoreError):
    """Raised by set_request_status() when reopening a request would make it a second active
    request for a term that already has one."""


_SPACES = re.compile(r"\s+")
_EDGE_PUNCTUATION = "?!.,;:'\"`*_~()[]{}<>“”‘’"


def lookup_key(query: str) -> str:
    """A fallback grouping key for the look-up log: NFKC, case-folded, single-spaced, without
    punctuation at either end. Callers that have the resolver's normalised text pass it as
    `key=` to `record_lookup` instead."""
    text = unicodedata.normalize("NFKC", query).casefold()
    return _SPACES.sub(" ", text).strip().strip(_EDGE_PUNCTUATION).strip()


@dataclass(frozen=True)
class Lookup:
    """One row of the look-up log: who asked what, when, and how the resolver answered."""

    user_id: str
    query: str
    key: str  # groups queries for top_misses (see lookup_key)
    status: str
    slug: str | None
    at: datetime

    @classmethod
    def of(
        cls,
        user_id: str,
        query: str,
        status: str,
        slug: str | None,
        at: datetime,
        *,
        key: str | None = None,
    ) -> Lookup:
        """A look-up as `record_lookup` takes it: `key` defaults to `lookup_key(query)`."""
        return cls(user_id, query, lookup_key(query) if key is None else key, status, slug, at)


@dataclass(frozen=True)
class RequestDraft:
    """What one person submits when they ask for a term (or a clarification of one)."""

    term: str
    normalised_term: str  # the dedupe key: one active request per (kind, key, target)
    requester_id: str
    kind: RequestKind = "new"
    target_slug: str | None = None  # the existing term a clarification is about
    where_seen: str = ""
    why: str = ""
    affected_roles: tuple[str, ...] = ()
    urgency: Urgency | None = None
    links: tuple[str, ...] = ()
    anonymous: bool = False
    source_permalink: str | None = None
    # For a clarification: a fingerprint of the target term's content as the requester saw
    # it, so the request closes once the term changes (see bot.intake.flow.shipped_term).
    target_fingerprint: str | None = None


@dataclass(frozen=True)
class TermRequest:
    """A stored request and where it is in triage."""

    id: int
    kind: RequestKind
    term: str
    normalised_term: str
    target_slug: str | None
    requester_id: str  # the first requester; kept even when anonymous, to tell them privately
    where_seen: str
    why: str
    affected_roles: tuple[str, ...]
    urgency: Urgency | None
    links: tuple[str, ...]
    anonymous: bool
    source_permalink: str | None
    status: RequestStatus
    decline_reason: str | None
    status_changed_by: str | None
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None
    declined_at: datetime | None
    published_at: datetime | None
    intake_channel: str | None  # where the intake post went, once delivered
    intake_ts: str | None
    target_fingerprint: str | None = None  # see RequestDraft; None on requests filed before

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_REQUEST_STATUSES


@dataclass(frozen=True)
class Requester:
    """One person waiting on a request, with the context they gave. One row per person."""

    request_id: int
    user_id: str
    where_seen: str
    why: str
    source_permalink: str | None
    anonymous: bool
    joined_at: datetime


@dataclass(frozen=True)
class RequestFiling:
    """The outcome of create_request / add_requester."""

    request: TermRequest
    requester: Requester  # the person this filing was for, with the context they gave
    created: bool  # False: the draft joined an active request for the same term
    added: bool  # False: this person was already waiting on that request
    waiting: int  # people waiting on the request, this one included


@dataclass(frozen=True)
class StatusChange:
    """The outcome of set_request_status: the updated request, what it was, and who waits."""

    request: TermRequest
    previous_status: RequestStatus
    requesters: tuple[Requester, ...]


@dataclass(frozen=True)
class RequestTally:
    request: TermRequest
    waiting: int


@dataclass(frozen=True)
class OutboxMessage:
    """A Slack call to make later, written in the same transaction as the change it reports.

    `dedupe_key` makes enqueueing idempotent: a second message with the same key is not
    stored (the first one's id is returned, whatever its state)."""

    kind: str
    payload: Mapping[str, Any]
    dedupe_key: str | None = None
    deliver_at: datetime | None = None  # not before this time; None: now


@dataclass(frozen=True)
class OutboxItem:
    """A stored outbox row, as claim_due hands it to a delivery worker."""

    id: int
    kind: str
    payload: dict[str, Any]
    dedupe_key: str | None
    state: OutboxState
    attempts: int  # claims so far, this one included: above 1, an earlier try may have posted
    errors: int  # failed attempts recorded with mark_retry / mark_failed
    available_at: datetime
    lease_owner: str | None
    lease_until: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    result: dict[str, Any] | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class IntakePost:
    """Where a request's intake post landed; recorded on the request by mark_delivered."""

    request_id: int
    channel: str
    ts: str


LAST_ERRORS_LIMIT = 5
"""How many distinct error codes OutboxStats.last_errors names at most."""


@dataclass(frozen=True)
class OutboxStats:
    """The outbox at a glance, for /healthz and /metrics."""

    pending: int
    due: int  # pending and deliverable now
    retrying: int  # pending rows that have failed at least once
    failed: int  # given up on (mark_failed)
    oldest_pending_age: timedelta | None
    last_error: str | None  # the newest error among pending rows (first of last_errors)
    # The newest error of each error code among pending rows, newest first, at most
    # LAST_ERRORS_LIMIT. The code is the text before the first ":" ("channel_not_found: ...");
    # one row per code, so many rows failing alike (each naming its own request) leave room
    # for the others.
    last_errors: tuple[str, ...] = field(default=())


FilingOutbox = Callable[[RequestFiling], Sequence[OutboxMessage]]
"""Called inside the filing transaction with its outcome; the messages it returns are enqueued
in that same transaction, so a request is never stored without its delivery jobs."""

StatusOutbox = Callable[[StatusChange], Sequence[OutboxMessage]]
"""Called inside the status-change transaction; see FilingOutbox."""


@runtime_checkable
class Store(Protocol):
    """Everything the bot persists. All methods are coroutines and safe to call concurrently
    from many tasks of one event loop; several processes may share one database."""

    # -- life cycle -------------------------------------------------------------------------
    async def migrate(self) -> None:
        """Bring the schema up to date. Idempotent; safe when several processes start at once."""

    async def schema_version(self) -> int:
        """The newest migration applied (0 before the first migrate())."""

    async def ping(self) -> bool:
        """True when the database answers a trivial query; never raises."""

    async def close(self) -> None:
        """Release connections. Idempotent; later calls raise StoreError."""

    # -- preferences --------------------------------------------------------------------------
    async def get_role(self, user_id: str) -> str | None: ...

    async def set_role(self, user_id: str, role: str | None) -> None:
        """Save a user's default role; None forgets it."""

    # -- Slack event dedupe -------------------------------------------------------------------
    async def claim_event(self, event_id: str, lease_seconds: float = 10.0) -> bool:
        """True when the caller must handle this event now: nobody has, and nobody holds an
        unexpired claim. A claim whose lease ran out (its handler died) can be taken again.
        Choose a lease longer than a handler ever runs."""

    async def finish_event(self, event_id: str) -> None:
        """Mark the event handled: every later claim_event for it returns False."""

    async def event_finished(self, event_id: str) -> bool:
        """Whether some handler already marked this event handled (on any replica)."""

    async def release_event(self, event_id: str) -> None:
        """Give up an unfinished claim (the handler failed cleanly), so a retry can take it
        at once instead of waiting for the lease. No effect on finished events."""

    async def prune_events(self, older_than: timedelta = timedelta(days=1)) -> int:
        """Forget finished events (and long-expired claims) older than this; returns how many.
        Slack stops retrying within minutes, so a day is plenty."""

    # -- look-up log --------------------------------------------------------------------------
    async def record_lookup(
        self,
        user_id: str,
        query: str,
        status: str,
        slug: str | None,
        *,
        key: str | None = None,
    ) -> None:
        """Log one look-up; `key` groups queries for top_misses (default: lookup_key(query))."""

    async def record_lookups(self, lookups: Sequence[Lookup]) -> None:
        """Log many look-ups in one transaction (what `LookupLog` writes as a batch)."""

    async def top_misses(
        self, limit: int = 10, since: datetime | None = None
    ) -> list[tuple[str, int]]:
        """The most frequent look-up keys that found nothing (MISS_STATUSES), most first."""

    async def lookup_counts(self, since: datetime | None = None) -> dict[str, int]:
        """How many look-ups ended in each status."""

    async def prune_lookups(self, older_than: timedelta) -> int: ...

    # -- term requests ------------------------------------------------------------------------
    async def create_request(
        self, draft: RequestDraft, *, outbox: FilingOutbox | None = None
    ) -> RequestFiling:
        """File a request, or join the active one for the same (kind, normalised_term,
        target_slug): then the draft's author is added as a requester with their context.
        Safe against two people filing the same term at once. `outbox` is called inside the
        transaction and its messages are enqueued with the request, atomically."""

    async def add_requester(
        self,
        request_id: int,
        user_id: str,
        *,
        where_seen: str = "",
        why: str = "",
        source_permalink: str | None = None,
        anonymous: bool = False,
        outbox: FilingOutbox | None = None,
    ) -> RequestFiling:
        """Add a person to a request (once: the same person twice counts once). Raises
        RequestNotFoundError for an unknown id."""

    async def get_request(self, request_id: int) -> TermRequest | None: ...

    async def find_open_request(
        self,
        normalised_term: str,
        *,
        kind: RequestKind = "new",
        target_slug: str | None = None,
    ) -> TermRequest | None:
        """The active (open or accepted) request for this key, if any."""

    async def requesters(self, request_id: int) -> list[Requester]:
        """Everyone waiting on a request, first requester first."""

    async def list_requests_for_user(self, user_id: str) -> list[TermRequest]:
        """Requests this person filed or joined, newest first."""

    async def set_request_status(
        self,
        request_id: int,
        status: RequestStatus,
        *,
        by: str | None = None,
        reason: str | None = None,
        from_statuses: Sequence[RequestStatus] | None = None,
        outbox: StatusOutbox | None = None,
    ) -> StatusChange | None:
        """Move a request to `status`, stamping who and when (and the decline reason).
        Returns None when the request does not exist or, if `from_statuses` is given, is not
        in one of them (so two triagers clicking at once change it once)."""

    async def set_intake_message(self, request_id: int, channel: str, ts: str) -> None:
        """Remember where the request's intake post is, for chat.update and thread replies."""

    async def open_requests(self) -> list[TermRequest]:
        """Active requests, oldest first (to check against a reloaded glossary)."""

    async def published_since(self, since: datetime) -> list[TermRequest]:
        """Requests published at or after `since`, oldest first (bounded by time, so a reload
        can check the recent ones against the glossary without reading every request ever
        published)."""

    async def top_requested(
        self,
        limit: int = 10,
        statuses: Sequence[RequestStatus] = ACTIVE_REQUEST_STATUSES,
    ) -> list[RequestTally]:
        """Requests with the most people waiting, most first."""

    async def count_requests_since(self, user_id: str, since: datetime) -> int:
        """Requests this person filed or joined since a time, for the per-user rate limit."""

    # -- outbox -------------------------------------------------------------------------------
    async def enqueue(
        self,
        kind: str,
        payload: Mapping[str, Any],
        dedupe_key: str | None = None,
        *,
        deliver_at: datetime | None = None,
    ) -> int:
        """Store a delivery job; returns its id (the existing id for a repeated dedupe_key)."""

    async def claim_due(
        self,
        worker_id: str,
        *,
        now: datetime | None = None,
        limit: int = 10,
        lease_seconds: float = 60.0,
    ) -> list[OutboxItem]:
        """Lease up to `limit` due pending rows to this worker, oldest first. Rows leased to
        anyone else are skipped until their lease ends, so two workers, in one process or
        many, never get the same row at the same time."""

    async def mark_delivered(
        self,
        item_id: int,
        result: Mapping[str, Any] | None = None,
        *,
        intake_post: IntakePost | None = None,
    ) -> bool:
        """Record a delivery (and, in the same transaction, where a request's intake post
        landed). False when the row was not pending (already delivered or failed)."""

    async def mark_retry(
        self, item_id: int, *, worker_id: str, error: str, retry_at: datetime
    ) -> bool:
        """Record a failed attempt and make the row due again at `retry_at`. Ignored (False)
        unless `worker_id` still holds the row's lease."""

    async def mark_failed(self, item_id: int, *, worker_id: str, error: str) -> bool:
        """Give up on a row that can never be delivered. Same lease rule as mark_retry."""

    async def release_claims(self, worker_id: str) -> int:
        """Drop every lease this worker holds (at shutdown) so others can deliver at once."""

    async def get_outbox_item(self, item_id: int) -> OutboxItem | None: ...

    async def pending_count(self) -> int: ...

    async def oldest_pending_age(self, now: datetime | None = None) -> timedelta | None:
        """How long the oldest pending row has waited; None when nothing is pending."""

    async def outbox_stats(
        self, now: datetime | None = None, *, ignore_codes: Collection[str] = ()
    ) -> OutboxStats:
        """The backlog's numbers. Errors whose code is in `ignore_codes` are left out of
        last_error and last_errors before the limit, so errors a caller does not care about
        cannot crowd out one it does."""

    async def prune_outbox(self, older_than: timedelta = timedelta(days=30)) -> int:
        """Delete delivered rows older than this; returns how many."""
