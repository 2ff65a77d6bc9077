"""The request flow: file a request once per term, triage it, close it when the term ships.

`Intake` holds the policy and nothing of Slack: who may triage, how many requests a person may
send per hour, what makes two requests the same (the resolver's normalisation, so "KV-cache"
and "kv cache" are one request), when a reloaded glossary has answered a request. Each change
is stored together with its outbox jobs (`jobs.py`) in one transaction; the Slack layer only
wakes the delivery worker afterwards.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from bot.config import Settings
from bot.glossary.model import Term, TermFields
from bot.glossary.normalize import clean, light_key
from bot.glossary.resolve import Glossary
from bot.intake.form import RequestForm
from bot.intake.jobs import definition_jobs, filing_jobs, status_jobs
from bot.store import (
    ACTIVE_REQUEST_STATUSES,
    Clock,
    RequestDraft,
    RequestFiling,
    RequestStatus,
    RequestTally,
    StatusChange,
    Store,
    TermRequest,
    utc_now,
)

__all__ = [
    "AlreadyDefined",
    "Filed",
    "Intake",
    "RateLimited",
    "RequestStats",
    "Submission",
    "TriageStatus",
    "defined_term",
    "request_key",
]

RATE_WINDOW = timedelta(hours=1)
MISSES_WINDOW = timedelta(days=30)
PUBLISHED_WINDOW = timedelta(days=30)
"""How long after a triager marks a request published (before the glossary has the term) a
reload still sends its requesters the definition. At most the outbox's retention
(`Store.prune_outbox`, 30 days by default), so the dedupe key of a definition already sent
is still there to stop a second one."""
DEFAULT_REQUESTS_PER_HOUR = 10

TriageStatus = Literal["accepted", "declined", "published"]
# Which statuses each triage button may move a request from, so two triagers clicking at once
# change it once, and a closed request stays closed.
TRIAGE_FROM: dict[TriageStatus, tuple[RequestStatus, ...]] = {
    "accepted": ("open",),
    "declined": ("open", "accepted"),
    "published": ("open", "accepted"),
}


@dataclass(frozen=True)
class Filed:
    """Stored (a new request, or joined to the open one), with its outbox jobs."""

    filing: RequestFiling


@dataclass(frozen=True)
class AlreadyDefined:
    """The glossary already has the term asked for: show it instead."""

    term: Term


@dataclass(frozen=True)
class RateLimited:
    """The person has sent `limit` requests in the last hour."""

    limit: int


Submission = Filed | AlreadyDefined | RateLimited


@dataclass(frozen=True)
class RequestStats:
    """For `/define stats`: the most wanted requests and the look-ups that found nothing."""

    most_requested: list[RequestTally]
    most_missed: list[tuple[str, int]]


def request_key(text: str) -> str:
    """The dedupe key of a requested term: the resolver's light key of the cleaned text
    (case, hyphens, plurals and Slack markup do not matter)."""
    return light_key(clean(text)) or " ".join(text.casefold().split())


def defined_term(glossary: Glossary, text: str) -> Term | None:
    """The term `text` names exactly (name, alias or acronym), or None. Fuzzy matches do not
    count: a near miss may well be a different term worth requesting."""
    resolution = glossary.resolve(text)
    return resolution.term if resolution.status == "found" else None


class Intake:
    """Files, triages and closes term requests in the store."""

    def __init__(
        self,
        store: Store,
        *,
        triagers: Sequence[str] = (),
        requests_per_hour: int = DEFAULT_REQUESTS_PER_HOUR,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.triagers = frozenset(triagers)
        self.requests_per_hour = requests_per_hour
        self.clock = clock
        # The glossary of the latest close_loop (the one in service, give or take a reload),
        # so a triager's "Mark published" can tell whether the term is already there.
        self.glossary: Glossary | None = None

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> Intake:
        return cls(
            store,
            triagers=settings.GLOSSARY_TRIAGERS,
            requests_per_hour=settings.GLOSSARY_REQUESTS_PER_HOUR,
        )

    def is_triager(self, user_id: str) -> bool:
        return user_id in self.triagers

    async def is_rate_limited(self, user_id: str) -> bool:
        since = self.clock() - RATE_WINDOW
        return await self.store.count_requests_since(user_id, since) >= self.requests_per_hour

    async def submit(self, form: RequestForm, user_id: str, glossary: Glossary) -> Submission:
        """Store a submitted form (joining the open request for the same term, if any)."""
        target = glossary.get(form.context.slug) if form.context.slug else None
        clarification = form.context.kind == "clarification" and target is not None
        if not clarification:
            existing = defined_term(glossary, form.term)
            if existing is not None:
                return AlreadyDefined(existing)
        if await self.is_rate_limited(user_id):
            return RateLimited(self.requests_per_hour)
        about = target if clarification else None
        draft = RequestDraft(
            term=form.term,
            # One clarification per term at a time, whatever wording each person used.
            normalised_term=request_key(about.term if about is not None else form.term),
            requester_id=user_id,
            kind="clarification" if about is not None else "new",
            target_slug=about.slug if about is not None else None,
            where_seen=form.where_seen,
            why=form.why,
            affected_roles=form.roles,
            urgency=form.urgency,
            links=form.links,
            anonymous=form.anonymous,
            source_permalink=form.context.source,
            target_fingerprint=term_fingerprint(about) if about is not None else None,
        )
        filing = await self.store.create_request(
            draft,
            outbox=lambda f: filing_jobs(
                f, links=form.links, roles=form.roles, urgency=form.urgency
            ),
        )
        return Filed(filing)

    async def triage(
        self,
        request_id: int,
        status: TriageStatus,
        *,
        by: str,
        reason: str | None = None,
        glossary: Glossary | None = None,
    ) -> StatusChange | None:
        """Apply a triager's decision; None when the request is gone or already past it.
        The caller checks `is_triager` first (and tells anyone else so).

        Published with the term already in `glossary` (default: the one close_loop last saw),
        everyone waiting gets the definition now; published ahead of it, they are told it
        comes with the reload that brings it, and close_loop sends it then."""
        slug: str | None = None
        known = glossary if glossary is not None else self.glossary
        if status == "published" and known is not None:
            request = await self.store.get_request(request_id)
            term = shipped_term(request, known) if request is not None else None
            slug = term.slug if term is not None else None
        return await self.store.set_request_status(
            request_id,
            status,
            by=by,
            reason=reason if status == "declined" else None,
            from_statuses=TRIAGE_FROM[status],
            outbox=functools.partial(status_jobs, slug=slug),
        )

    async def close_loop(self, glossary: Glossary) -> list[StatusChange]:
        """After a reload: every active request the glossary now answers becomes published,
        and everyone waiting on it is sent the definition. Everyone waiting on a request a
        triager published before the glossary had the term (in the last PUBLISHED_WINDOW) is
        sent the definition too, once the glossary has it. Safe on every replica at once, and
        on every reload: each DM is enqueued under a dedupe key. Returns the status changes
        (the definitions sent for requests already published are not changes)."""
        self.glossary = glossary
        changes: list[StatusChange] = []
        for request in await self.store.open_requests():
            term = shipped_term(request, glossary)
            if term is None:
                continue
            change = await self.store.set_request_status(
                request.id,
                "published",
                from_statuses=ACTIVE_REQUEST_STATUSES,
                outbox=functools.partial(status_jobs, slug=term.slug),
            )
            if change is not None:
                changes.append(change)
        await self._send_late_definitions(glossary)
        return changes

    async def _send_late_definitions(self, glossary: Glossary) -> None:
        """DM the definition to whoever waits on a request published ahead of its term, now
        that the glossary has it (a dedupe key stops any DM sent before)."""
        since = self.clock() - PUBLISHED_WINDOW
        for request in await self.store.published_since(since):
            if request.status_changed_by is None:
                continue  # published by a reload, definition included
            if request.kind == "clarification" and request.target_slug:
                continue  # its term existed: the "published" DM carried it
            term = shipped_term(request, glossary)
            if term is None:
                continue
            requesters = await self.store.requesters(request.id)
            for message in definition_jobs(request, requesters, term.slug):
                await self.store.enqueue(message.kind, message.payload, message.dedupe_key)

    async def requests_of(self, user_id: str, limit: int = 20) -> tuple[list[RequestTally], int]:
        """The person's requests, newest first, with how many wait on each; and how many
        more there are beyond `limit`."""
        requests = await self.store.list_requests_for_user(user_id)
        shown = requests[:limit]
        tallies = [RequestTally(r, len(await self.store.requesters(r.id))) for r in shown]
        return tallies, len(requests) - len(shown)

    async def stats(self, limit: int = 10) -> RequestStats:
        since = self.clock() - MISSES_WINDOW
        return RequestStats(
            most_requested=await self.store.top_requested(limit),
            most_missed=await self.store.top_misses(limit, since=since),
        )


def term_fingerprint(term: Term) -> str:
    """A digest of everything the term's file says (its fields, `last_reviewed` included),
    so any edit to the term, a fresh review date alone too, changes it. Where the file lives
    is left out: moving a file changes nothing a reader sees."""
    fields = term.model_dump(mode="json", include=set(TermFields.model_fields))
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def shipped_term(request: TermRequest, glossary: Glossary) -> Term | None:
    """The term that answers `request` in this glossary, if it does now.

    A new term ships when its name resolves exactly. A clarification ships when its term was
    reviewed on or after the day the request was filed and has changed since: `last_reviewed`
    is only a date, so a term reviewed earlier that same day would otherwise count, and the
    fingerprint taken at filing tells the two apart."""
    if request.kind == "clarification" and request.target_slug:
        term = glossary.get(request.target_slug)
        if term is None:
            return None
        filed_on = request.created_at.date()
        if request.target_fingerprint is None:
            # Filed before fingerprints were kept: only a later review date proves a change.
            return term if term.last_reviewed > filed_on else None
        changed = term_fingerprint(term) != request.target_fingerprint
        return term if changed and term.last_reviewed >= filed_on else None
    return defined_term(glossary, request.term)
