"""Prometheus metrics for `/metrics`: what this process did, and what the store holds now.

Two kinds of series:

- Counted here, in this process: look-ups by outcome (`glossary_lookups_total`), handled
  Slack requests and their latency (`glossary_slack_requests_total`,
  `glossary_answer_latency_seconds`), reloads (`glossary_reloads_total`). With several
  replicas, sum them across instances.
- Read at scrape time, by `refresh` just before the registry is rendered: the glossary in
  service (`glossary_terms`, `glossary_reload_errors`, `glossary_last_reload_timestamp_seconds`)
  and, from the store, the term requests filed and the outbox backlog
  (`glossary_term_requests_filed_total`, `glossary_outbox_pending`, `glossary_outbox_failed`,
  ...). The store is shared by every replica, so those are the same on each: take the max,
  not the sum. Nothing that files requests or delivers posts needs to call this module.

Each `Metrics` has its own registry (not prometheus_client's global one), so a process, or a
test, can build several apps side by side.

`RequestRecord` is the request being handled, in a context variable: `InstrumentedApp` (see
`observe.py`) opens it, and whatever answers the request notes its outcome on it (`lookup`,
`note_error`), so the request's log line says "found" or "not_found" instead of just "200".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.glossary.reload import ReloadOutcome
from bot.store import REQUEST_STATUSES, OutboxStats, Store, StoreError

if TYPE_CHECKING:
    from bot.slack.deps import GlossaryHolder

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
LOOKUP_OUTCOMES = ("found", "fuzzy", "ambiguous", "suggest", "not_found")
REQUEST_KINDS = ("command", "event", "action", "view", "shortcut", "options", "other")
RELOAD_RESULTS = ("ok", "errors", "failed")
# Slack waits 3 s for an ack; the buckets resolve the interesting part below that.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
STORE_READ_TIMEOUT = 2.0
REQUEST_COUNT_LIMIT = 1_000_000  # top_requested needs a limit; this one means "all of them"


@dataclass
class RequestRecord:
    """The Slack request being handled: what it is, and how it ended."""

    kind: str
    name: str
    outcome: str | None = None
    started: float = field(default_factory=time.perf_counter)


CURRENT_REQUEST: ContextVar[RequestRecord | None] = ContextVar("glossary_request", default=None)


def note_outcome(outcome: str) -> None:
    """Say how the current request ended (no effect outside a request)."""
    record = CURRENT_REQUEST.get()
    if record is not None:
        record.outcome = outcome


def note_error() -> None:
    note_outcome("error")


@dataclass(frozen=True)
class StoreSnapshot:
    """What the store said at the last scrape; None where it could not answer."""

    outbox: OutboxStats | None
    requests_by_status: dict[str, int] | None


class Metrics:
    """This process's registry, its counters, and the scrape-time view of glossary and store."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.lookups = Counter(
            "glossary_lookups",
            "Look-ups answered, by outcome (found, fuzzy, ambiguous, suggest, not_found).",
            ["outcome"],
            registry=self.registry,
        )
        self.requests = Counter(
            "glossary_slack_requests",
            "Slack requests handled, by kind (command, event, action, ...) and outcome.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "glossary_answer_latency_seconds",
            "Time from receiving a Slack request to answering it (the ack), by kind.",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.reloads = Counter(
            "glossary_reloads",
            "Glossary reloads, by result: ok, errors (some files broken), failed (not swapped).",
            ["result"],
            registry=self.registry,
        )
        for outcome in LOOKUP_OUTCOMES:
            self.lookups.labels(outcome)
        for result in RELOAD_RESULTS:
            self.reloads.labels(result)
        # Each request's series, looked up once: `labels()` checks and locks on every call,
        # which showed in the cost of every request.
        self._lookup_series: dict[str, Counter] = {}
        self._request_series: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        self._holder: GlossaryHolder | None = None
        self._snapshot = StoreSnapshot(None, None)
        self.registry.register(_StateCollector(self))

    # -- counted where things happen ------------------------------------------------------------

    def lookup(self, outcome: str) -> None:
        """One look-up answered with this resolver status."""
        series = self._lookup_series.get(outcome)
        if series is None:
            series = self._lookup_series[outcome] = self.lookups.labels(outcome)
        series.inc()
        note_outcome(outcome)

    def request_done(self, kind: str, outcome: str, seconds: float) -> None:
        series = self._request_series.get((kind, outcome))
        if series is None:
            series = (self.requests.labels(kind, outcome), self.latency.labels(kind))
            self._request_series[(kind, outcome)] = series
        count, latency = series
        count.inc()
        latency.observe(seconds)

    def reloaded(self, outcome: ReloadOutcome) -> None:
        result = "failed" if outcome.failure else ("errors" if outcome.errors else "ok")
        self.reloads.labels(result).inc()

    # -- read at scrape time ---------------------------------------------------------------------

    async def refresh(self, store: Store, holder: GlossaryHolder) -> None:
        """Read the glossary's and the store's numbers for the next render (bounded: a slow
        store leaves its series out rather than hold the scrape)."""
        self._holder = holder
        outbox: OutboxStats | None = None
        by_status: dict[str, int] | None = None
        try:
            outbox = await asyncio.wait_for(store.outbox_stats(), STORE_READ_TIMEOUT)
            tallies = await asyncio.wait_for(
                store.top_requested(REQUEST_COUNT_LIMIT, statuses=REQUEST_STATUSES),
                STORE_READ_TIMEOUT,
            )
            by_status = dict.fromkeys(REQUEST_STATUSES, 0)
            for tally in tallies:
                by_status[tally.request.status] = by_status.get(tally.request.status, 0) + 1
        except (TimeoutError, StoreError):
            log.warning("metrics: the store did not answer; store series left out", exc_info=True)
        self._snapshot = StoreSnapshot(outbox, by_status)

    def render(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)

    def state_metrics(self) -> Iterator[Metric]:
        holder = self._holder
        if holder is not None:
            yield _gauge("glossary_terms", "Terms in service.", len(holder.current.terms))
            yield _gauge(
                "glossary_reload_errors",
                "Errors in the term files of the glossary in service (broken files keep their "
                "last good version).",
                holder.error_count,
            )
            yield _gauge(
                "glossary_last_reload_timestamp_seconds",
                "When the glossary in service was loaded (Unix time).",
                holder.loaded_at.timestamp(),
            )
        snapshot = self._snapshot
        yield _gauge(
            "glossary_store_up",
            "1 when the store answered at the last scrape, else 0.",
            int(snapshot.outbox is not None),
        )
        if snapshot.requests_by_status is not None:
            filed = CounterMetricFamily(
                "glossary_term_requests_filed", "Term requests filed (from the store)."
            )
            filed.add_metric([], sum(snapshot.requests_by_status.values()))
            yield filed
            by_status = GaugeMetricFamily(
                "glossary_term_requests",
                "Term requests by status (from the store).",
                labels=["status"],
            )
            for status, count in sorted(snapshot.requests_by_status.items()):
                by_status.add_metric([status], count)
            yield by_status
        outbox = snapshot.outbox
        if outbox is not None:
            yield _gauge(
                "glossary_outbox_pending", "Slack posts waiting in the outbox.", outbox.pending
            )
            yield _gauge("glossary_outbox_due", "Pending posts deliverable now.", outbox.due)
            yield _gauge(
                "glossary_outbox_retrying",
                "Pending posts that failed at least once and wait for a retry.",
                outbox.retrying,
            )
            yield _gauge(
                "glossary_outbox_failed", "Posts given up on (need an operator).", outbox.failed
            )
            age = outbox.oldest_pending_age
            yield _gauge(
                "glossary_outbox_oldest_pending_seconds",
                "How long the oldest pending post has waited (0 when none).",
                age.total_seconds() if age is not None else 0.0,
            )


class _StateCollector:
    """Yields the scrape-time series (prometheus_client calls `collect` while rendering)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return self._metrics.state_metrics()

    def describe(self) -> Iterator[Metric]:
        return iter(())


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
