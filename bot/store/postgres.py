"""The PostgreSQL backend (psycopg 3, async), for several bot replicas sharing one database.

Every method is one short transaction on a pooled connection. Races between replicas are
settled by the database, never by the bot: upserts with ON CONFLICT for event claims and
request dedupe (a partial unique index allows one active request per term), row locks for
status changes, `FOR UPDATE SKIP LOCKED` so outbox workers never lease the same row, and a
transaction-scoped advisory lock around migrations so replicas starting together migrate
once.

The pool is a few lines here rather than the psycopg_pool package: the bot makes short
queries at a modest rate, so all it needs is reuse, a size cap and dropping dead connections.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import AsyncConnection, AsyncCursor
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb

from bot.store._rows import (
    Codec,
    check_draft,
    check_status,
    clip_error,
    outbox_item_from_row,
    request_from_row,
    requester_from_row,
    status_params,
)
from bot.store.base import (
    ACTIVE_REQUEST_STATUSES,
    LAST_ERRORS_LIMIT,
    MISS_STATUSES,
    Clock,
    FilingOutbox,
    IntakePost,
    Lookup,
    OutboxItem,
    OutboxMessage,
    OutboxStats,
    RequestConflictError,
    RequestDraft,
    Requester,
    RequestFiling,
    RequestKind,
    RequestNotFoundError,
    RequestStatus,
    RequestTally,
    StatusChange,
    StatusOutbox,
    StoreError,
    StoreUnavailableError,
    TermRequest,
    utc_now,
)
from bot.store.migrations import LATEST_VERSION, MIGRATIONS, SCHEMA_VERSION_POSTGRES

logger = logging.getLogger(__name__)

Cursor = AsyncCursor[DictRow]


def _aware(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a timestamp, got {type(value).__name__}")
    return value.astimezone(UTC)


def _same(value: Any) -> Any:
    return value  # psycopg already decodes jsonb


_CODEC = Codec(time=_aware, json=_same)

_CONNECTION_DEFAULTS = {"connect_timeout": "10", "application_name": "glossary-bot"}


_SET_STATUS = (
    "UPDATE term_requests SET status = %(status)s, status_changed_by = %(by)s, "
    "decline_reason = %(reason)s, updated_at = %(now)s, "
    "accepted_at = CASE WHEN %(status)s = 'accepted' THEN %(now)s ELSE accepted_at END, "
    "declined_at = CASE WHEN %(status)s = 'declined' THEN %(now)s ELSE declined_at END, "
    "published_at = CASE WHEN %(status)s = 'published' THEN %(now)s ELSE published_at END "
    "WHERE id = %(id)s RETURNING *"
)


# The newest error of each code among pending rows, leaving out ignored codes before the
# limit: rows failing alike (thread notes waiting for their post, each naming its request)
# must not hide a different error behind them. The code is the text before the first ":".
_LAST_ERRORS = """
SELECT last_error FROM (
    SELECT DISTINCT ON (code) last_error, last_error_at, id, code
    FROM (
        SELECT last_error, last_error_at, id, btrim(split_part(last_error, ':', 1)) AS code
        FROM outbox WHERE state = 'pending' AND last_error IS NOT NULL
    ) AS pending_errors
    ORDER BY code, last_error_at DESC, id DESC
) AS newest_per_code
WHERE code <> ALL(%(ignored)s::text[])
ORDER BY last_error_at DESC, id DESC LIMIT %(limit)s"""


class _Pool:
    """At most `max_size` connections; idle ones are reused, broken ones dropped. A
    connection idle for a while is checked with a trivial query before reuse, so a database
    restart costs no failed request."""

    STALE_AFTER = 30.0  # seconds idle before a connection is checked on checkout

    def __init__(self, conninfo: str, max_size: int) -> None:
        self._conninfo = conninfo
        self._max_size = max_size
        self._idle: list[tuple[AsyncConnection[Any], float]] = []
        self._slots: asyncio.Semaphore | None = None
        self._closed = False

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        if self._closed:
            raise StoreError("the store is closed")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._max_size)
        async with self._slots:
            conn = await self._checkout()
            try:
                yield conn
            except BaseException:
                await self._return(conn)
                raise
            await self._return(conn)

    async def _checkout(self) -> AsyncConnection[Any]:
        while self._idle:
            conn, idle_since = self._idle.pop()
            if conn.closed or conn.broken:
                continue
            if time.monotonic() - idle_since < self.STALE_AFTER:
                return conn
            try:
                await conn.execute("SELECT 1")
            except psycopg.Error:
                await conn.close()
                continue
            return conn
        return await AsyncConnection.connect(self._conninfo, autocommit=True)

    async def _return(self, conn: AsyncConnection[Any]) -> None:
        reusable = (
            not self._closed
            and not conn.closed
            and not conn.broken
            and conn.info.transaction_status == TransactionStatus.IDLE
        )
        if reusable:
            self._idle.append((conn, time.monotonic()))
        else:
            await conn.close()

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            await conn.close()


class PostgresStore:
    """The Store on a PostgreSQL database given by a libpq URL."""

    def __init__(self, conninfo: str, *, clock: Clock = utc_now, max_connections: int = 10) -> None:
        given = conninfo_to_dict(conninfo)
        extra = {key: value for key, value in _CONNECTION_DEFAULTS.items() if key not in given}
        self._pool = _Pool(make_conninfo(conninfo, **extra), max_connections)
        self._host = str(given.get("host") or "local socket")
        self._clock = clock

    def __repr__(self) -> str:
        return f"PostgresStore(host={self._host!r})"

    # -- plumbing -----------------------------------------------------------------------------
    def _now(self, now: datetime | None = None) -> datetime:
        moment = self._clock() if now is None else now
        if moment.tzinfo is None:
            raise ValueError("the store needs timezone-aware datetimes")
        return moment.astimezone(UTC)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Cursor]:
        try:
            async with (
                self._pool.connection() as conn,
                conn.transaction(),
                conn.cursor(row_factory=dict_row) as cursor,
            ):
                yield cursor
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise StoreUnavailableError(f"PostgreSQL at {self._host}: {exc}") from exc

    # -- life cycle ---------------------------------------------------------------------------
    async def migrate(self) -> None:
        try:
            await self._migrate()
        except psycopg.Error as exc:  # start-up reports one line, so every failure is ours
            raise StoreError(f"cannot migrate PostgreSQL at {self._host}: {exc}") from exc

    async def _migrate(self) -> None:
        applied_at = self._now()
        async with self._transaction() as cur:
            # Replicas starting together queue here; the lock ends with the transaction.
            await cur.execute(
                "SELECT pg_advisory_xact_lock(hashtext('glossary-bot.migrate:' "
                "|| current_schema()))"
            )
            await cur.execute(SCHEMA_VERSION_POSTGRES)
            await cur.execute("SELECT version FROM schema_version")
            done = {int(row["version"]) for row in await cur.fetchall()}
            newly: list[int] = []
            for migration in MIGRATIONS:
                if migration.version in done:
                    continue
                for statement in migration.postgres:
                    await cur.execute(statement)
                await cur.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, applied_at),
                )
                newly.append(migration.version)
        if done and max(done) > LATEST_VERSION:
            logger.warning(
                "database has schema version %d, newer than this code's %d",
                max(done),
                LATEST_VERSION,
            )
        if newly:
            logger.info("migrated PostgreSQL database to schema version %d", newly[-1])

    async def schema_version(self) -> int:
        async with self._transaction() as cur:
            await cur.execute("SELECT to_regclass('schema_version') IS NOT NULL AS present")
            row = await cur.fetchone()
            if row is None or not row["present"]:
                return 0
            await cur.execute("SELECT COALESCE(MAX(version), 0) AS version FROM schema_version")
            row = await cur.fetchone()
            return 0 if row is None else int(row["version"])

    async def ping(self) -> bool:
        async def select_one() -> None:
            async with self._transaction() as cur:
                await cur.execute("SELECT 1")

        try:
            await asyncio.wait_for(select_one(), timeout=5.0)
        except Exception:  # health checks report, never raise
            logger.warning("PostgreSQL store at %s is not reachable", self._host, exc_info=True)
            return False
        return True

    async def close(self) -> None:
        await self._pool.close()

    # -- preferences --------------------------------------------------------------------------
    async def get_role(self, user_id: str) -> str | None:
        async with self._transaction() as cur:
            await cur.execute("SELECT role FROM user_preferences WHERE user_id = %s", (user_id,))
            row = await cur.fetchone()
        return None if row is None else str(row["role"])

    async def set_role(self, user_id: str, role: str | None) -> None:
        now = self._now()
        async with self._transaction() as cur:
            if role is None:
                await cur.execute("DELETE FROM user_preferences WHERE user_id = %s", (user_id,))
            else:
                await cur.execute(
                    "INSERT INTO user_preferences (user_id, role, updated_at) "
                    "VALUES (%s, %s, %s) ON CONFLICT (user_id) DO UPDATE "
                    "SET role = EXCLUDED.role, updated_at = EXCLUDED.updated_at",
                    (user_id, role, now),
                )

    # -- Slack event dedupe -------------------------------------------------------------------
    async def claim_event(self, event_id: str, lease_seconds: float = 10.0) -> bool:
        if lease_seconds < 0:
            raise ValueError("lease_seconds must not be negative")
        now = self._now()
        async with self._transaction() as cur:
            # One statement decides: insert a new claim, or take over an expired one. A
            # concurrent claimer waits on the row lock and then sees the fresh lease.
            await cur.execute(
                "INSERT INTO slack_events (event_id, state, attempts, claimed_at, lease_until) "
                "VALUES (%s, 'claimed', 1, %s, %s) "
                "ON CONFLICT (event_id) DO UPDATE SET attempts = slack_events.attempts + 1, "
                "claimed_at = EXCLUDED.claimed_at, lease_until = EXCLUDED.lease_until "
                "WHERE slack_events.state = 'claimed' "
                "AND slack_events.lease_until <= EXCLUDED.claimed_at "
                "RETURNING event_id",
                (event_id, now, now + timedelta(seconds=lease_seconds)),
            )
            return await cur.fetchone() is not None

    async def finish_event(self, event_id: str) -> None:
        now = self._now()
        async with self._transaction() as cur:
            await cur.execute(
                "INSERT INTO slack_events "
                "(event_id, state, attempts, claimed_at, lease_until, finished_at) "
                "VALUES (%s, 'done', 1, %s, %s, %s) "
                "ON CONFLICT (event_id) DO UPDATE "
                "SET state = 'done', finished_at = EXCLUDED.finished_at",
                (event_id, now, now, now),
            )

    async def event_finished(self, event_id: str) -> bool:
        async with self._transaction() as cur:
            await cur.execute(
                "SELECT 1 FROM slack_events WHERE event_id = %s AND state = 'done'", (event_id,)
            )
            return await cur.fetchone() is not None

    async def release_event(self, event_id: str) -> None:
        async with self._transaction() as cur:
            await cur.execute(
                "DELETE FROM slack_events WHERE event_id = %s AND state = 'claimed'", (event_id,)
            )

    async def prune_events(self, older_than: timedelta = timedelta(days=1)) -> int:
        cutoff = self._now() - older_than
        async with self._transaction() as cur:
            await cur.execute(
                "DELETE FROM slack_events WHERE (state = 'done' AND finished_at < %s) "
                "OR (state = 'claimed' AND lease_until < %s)",
                (cutoff, cutoff),
            )
            return cur.rowcount

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
        await self.record_lookups([Lookup.of(user_id, query, status, slug, self._now(), key=key)])

    async def record_lookups(self, lookups: Sequence[Lookup]) -> None:
        rows = [(r.user_id, r.query, r.key, r.status, r.slug, r.at) for r in lookups]
        async with self._transaction() as cur:
            await cur.executemany(
                "INSERT INTO lookups (user_id, query, query_key, status, slug, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                rows,
            )

    async def top_misses(
        self, limit: int = 10, since: datetime | None = None
    ) -> list[tuple[str, int]]:
        async with self._transaction() as cur:
            await cur.execute(
                "SELECT query_key, COUNT(*) AS n FROM lookups "
                "WHERE status = ANY(%s) AND query_key <> '' "
                "AND (%s::timestamptz IS NULL OR created_at >= %s::timestamptz) "
                "GROUP BY query_key ORDER BY n DESC, query_key LIMIT %s",
                (list(MISS_STATUSES), since, since, limit),
            )
            rows = await cur.fetchall()
        return [(str(row["query_key"]), int(row["n"])) for row in rows]

    async def lookup_counts(self, since: datetime | None = None) -> dict[str, int]:
        async with self._transaction() as cur:
            await cur.execute(
                "SELECT status, COUNT(*) AS n FROM lookups "
                "WHERE (%s::timestamptz IS NULL OR created_at >= %s::timestamptz) "
                "GROUP BY status ORDER BY status",
                (since, since),
            )
            rows = await cur.fetchall()
        return {str(row["status"]): int(row["n"]) for row in rows}

    async def prune_lookups(self, older_than: timedelta) -> int:
        cutoff = self._now() - older_than
        async with self._transaction() as cur:
            await cur.execute("DELETE FROM lookups WHERE created_at < %s", (cutoff,))
            return cur.rowcount

    # -- term requests ------------------------------------------------------------------------
    @staticmethod
    async def _request(
        cur: Cursor, request_id: int, *, for_update: bool = False
    ) -> TermRequest | None:
        await cur.execute(
            "SELECT * FROM term_requests WHERE id = %s FOR UPDATE"
            if for_update
            else "SELECT * FROM term_requests WHERE id = %s",
            (request_id,),
        )
        row = await cur.fetchone()
        return None if row is None else request_from_row(row, _CODEC)

    @staticmethod
    async def _active_request(
        cur: Cursor, normalised_term: str, kind: str, target_slug: str | None
    ) -> TermRequest | None:
        await cur.execute(
            "SELECT * FROM term_requests WHERE kind = %s AND normalised_term = %s "
            "AND coalesce(target_slug, '') = coalesce(%s, '') AND status = ANY(%s)",
            (kind, normalised_term, target_slug, list(ACTIVE_REQUEST_STATUSES)),
        )
        row = await cur.fetchone()
        return None if row is None else request_from_row(row, _CODEC)

    @staticmethod
    async def _add_requester(
        cur: Cursor,
        request_id: int,
        user_id: str,
        where_seen: str,
        why: str,
        source_permalink: str | None,
        anonymous: bool,
        now: datetime,
    ) -> tuple[Requester, bool]:
        """The person's requester row, and whether it was added now (False: already there)."""
        await cur.execute(
            "INSERT INTO request_requesters "
            "(request_id, user_id, where_seen, why, source_permalink, anonymous, joined_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (request_id, user_id) DO NOTHING RETURNING *",
            (request_id, user_id, where_seen, why, source_permalink, anonymous, now),
        )
        row = await cur.fetchone()
        if row is not None:
            return requester_from_row(row, _CODEC), True
        await cur.execute(
            "SELECT * FROM request_requesters WHERE request_id = %s AND user_id = %s",
            (request_id, user_id),
        )
        row = await cur.fetchone()
        if row is None:  # the conflicting row is committed, so this cannot happen
            raise StoreError(f"requester {user_id} of request {request_id} vanished")
        return requester_from_row(row, _CODEC), False

    @staticmethod
    async def _waiting(cur: Cursor, request_id: int) -> int:
        await cur.execute(
            "SELECT COUNT(*) AS n FROM request_requesters WHERE request_id = %s", (request_id,)
        )
        row = await cur.fetchone()
        return 0 if row is None else int(row["n"])

    @staticmethod
    async def _requesters(cur: Cursor, request_id: int) -> list[Requester]:
        await cur.execute(
            "SELECT * FROM request_requesters WHERE request_id = %s ORDER BY seq",
            (request_id,),
        )
        return [requester_from_row(row, _CODEC) for row in await cur.fetchall()]

    @staticmethod
    async def _enqueue_one(cur: Cursor, message: OutboxMessage, now: datetime) -> int:
        await cur.execute(
            "INSERT INTO outbox (kind, payload, dedupe_key, available_at, created_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            (
                message.kind,
                Jsonb(dict(message.payload)),
                message.dedupe_key,
                now if message.deliver_at is None else message.deliver_at,
                now,
            ),
        )
        row = await cur.fetchone()
        if row is None:
            await cur.execute("SELECT id FROM outbox WHERE dedupe_key = %s", (message.dedupe_key,))
            row = await cur.fetchone()
            if row is None:  # the conflicting row was deleted meanwhile; cannot happen in use
                raise StoreError(f"outbox message {message.dedupe_key!r} vanished")
        return int(row["id"])

    async def _enqueue_messages(
        self, cur: Cursor, messages: Sequence[OutboxMessage], now: datetime
    ) -> None:
        for message in messages:
            await self._enqueue_one(cur, message, now)

    async def create_request(
        self, draft: RequestDraft, *, outbox: FilingOutbox | None = None
    ) -> RequestFiling:
        check_draft(draft)
        now = self._now()
        async with self._transaction() as cur:
            filing = await self._file(cur, draft, now)
            if outbox is not None:
                await self._enqueue_messages(cur, outbox(filing), now)
        return filing

    async def _file(self, cur: Cursor, draft: RequestDraft, now: datetime) -> RequestFiling:
        # Insert-or-join. ON CONFLICT waits for a concurrent filing of the same term to commit
        # (then we join it) or roll back (then ours goes in). The loop covers the rare case of
        # the active request being closed between our insert and our select.
        for _ in range(5):
            await cur.execute(
                "INSERT INTO term_requests (kind, term, normalised_term, target_slug, "
                "requester_id, where_seen, why, affected_roles, urgency, links, anonymous, "
                "source_permalink, target_fingerprint, status, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'open', %s, %s) "
                "ON CONFLICT (kind, normalised_term, (coalesce(target_slug, ''))) "
                "WHERE status IN ('open', 'accepted') DO NOTHING RETURNING *",
                (
                    draft.kind,
                    draft.term,
                    draft.normalised_term,
                    draft.target_slug,
                    draft.requester_id,
                    draft.where_seen,
                    draft.why,
                    Jsonb(list(draft.affected_roles)),
                    draft.urgency,
                    Jsonb(list(draft.links)),
                    draft.anonymous,
                    draft.source_permalink,
                    draft.target_fingerprint,
                    now,
                    now,
                ),
            )
            row = await cur.fetchone()
            if row is not None:
                request = request_from_row(row, _CODEC)
                requester, _ = await self._add_requester(
                    cur,
                    request.id,
                    draft.requester_id,
                    draft.where_seen,
                    draft.why,
                    draft.source_permalink,
                    draft.anonymous,
                    now,
                )
                return RequestFiling(
                    request=request, requester=requester, created=True, added=True, waiting=1
                )
            existing = await self._active_request(
                cur, draft.normalised_term, draft.kind, draft.target_slug
            )
            if existing is None:
                continue
            requester, added = await self._add_requester(
                cur,
                existing.id,
                draft.requester_id,
                draft.where_seen,
                draft.why,
                draft.source_permalink,
                draft.anonymous,
                now,
            )
            return RequestFiling(
                request=existing,
                requester=requester,
                created=False,
                added=added,
                waiting=await self._waiting(cur, existing.id),
            )
        raise StoreError(f"could not file a request for {draft.normalised_term!r}: too busy")

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
        now = self._now()
        async with self._transaction() as cur:
            request = await self._request(cur, request_id)
            if request is None:
                raise RequestNotFoundError(f"no term request with id {request_id}")
            requester, added = await self._add_requester(
                cur, request_id, user_id, where_seen, why, source_permalink, anonymous, now
            )
            filing = RequestFiling(
                request=request,
                requester=requester,
                created=False,
                added=added,
                waiting=await self._waiting(cur, request_id),
            )
            if outbox is not None:
                await self._enqueue_messages(cur, outbox(filing), now)
        return filing

    async def get_request(self, request_id: int) -> TermRequest | None:
        async with self._transaction() as cur:
            return await self._request(cur, request_id)

    async def find_open_request(
        self,
        normalised_term: str,
        *,
        kind: RequestKind = "new",
        target_slug: str | None = None,
    ) -> TermRequest | None:
        async with self._transaction() as cur:
            return await self._active_request(cur, normalised_term, kind, target_slug)

    async def requesters(self, request_id: int) -> list[Requester]:
        async with self._transaction() as cur:
            return await self._requesters(cur, request_id)

    async def list_requests_for_user(self, user_id: str) -> list[TermRequest]:
        return await self._select_requests(
            "SELECT r.* FROM term_requests r "
            "JOIN request_requesters q ON q.request_id = r.id "
            "WHERE q.user_id = %s ORDER BY r.created_at DESC, r.id DESC",
            (user_id,),
        )

    async def _select_requests(self, sql: str, params: tuple[Any, ...]) -> list[TermRequest]:
        async with self._transaction() as cur:
            await cur.execute(sql, params)
            return [request_from_row(row, _CODEC) for row in await cur.fetchall()]

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
        check_status(status)
        now = self._now()
        async with self._transaction() as cur:
            # FOR UPDATE: a second triager's click waits here, then sees the new status.
            current = await self._request(cur, request_id, for_update=True)
            if current is None:
                return None
            if from_statuses is not None and current.status not in from_statuses:
                return None
            try:
                async with cur.connection.transaction():  # a savepoint, to report the conflict
                    await cur.execute(
                        _SET_STATUS, status_params(status, by, reason, now, request_id)
                    )
            except psycopg.errors.UniqueViolation as exc:
                raise RequestConflictError(
                    f"request {request_id} cannot become {status}: another request for "
                    f"{current.normalised_term!r} is already active"
                ) from exc
            row = await cur.fetchone()
            if row is None:
                return None
            change = StatusChange(
                request=request_from_row(row, _CODEC),
                previous_status=current.status,
                requesters=tuple(await self._requesters(cur, request_id)),
            )
            if outbox is not None:
                await self._enqueue_messages(cur, outbox(change), now)
        return change

    async def set_intake_message(self, request_id: int, channel: str, ts: str) -> None:
        now = self._now()
        async with self._transaction() as cur:
            await cur.execute(
                "UPDATE term_requests SET intake_channel = %s, intake_ts = %s, updated_at = %s "
                "WHERE id = %s",
                (channel, ts, now, request_id),
            )
            if cur.rowcount == 0:
                raise RequestNotFoundError(f"no term request with id {request_id}")

    async def open_requests(self) -> list[TermRequest]:
        return await self._select_requests(
            "SELECT * FROM term_requests WHERE status = ANY(%s) ORDER BY created_at, id",
            (list(ACTIVE_REQUEST_STATUSES),),
        )

    async def published_since(self, since: datetime) -> list[TermRequest]:
        return await self._select_requests(
            "SELECT * FROM term_requests WHERE status = 'published' "
            "AND published_at >= %s ORDER BY published_at, id",
            (since,),
        )

    async def top_requested(
        self,
        limit: int = 10,
        statuses: Sequence[RequestStatus] = ACTIVE_REQUEST_STATUSES,
    ) -> list[RequestTally]:
        for status in statuses:
            check_status(status)
        async with self._transaction() as cur:
            await cur.execute(
                "SELECT r.*, COUNT(q.user_id) AS waiting FROM term_requests r "
                "JOIN request_requesters q ON q.request_id = r.id "
                "WHERE r.status = ANY(%s) "
                "GROUP BY r.id ORDER BY waiting DESC, r.created_at, r.id LIMIT %s",
                (list(statuses), limit),
            )
            rows = await cur.fetchall()
        return [
            RequestTally(request=request_from_row(row, _CODEC), waiting=int(row["waiting"]))
            for row in rows
        ]

    async def count_requests_since(self, user_id: str, since: datetime) -> int:
        async with self._transaction() as cur:
            await cur.execute(
                "SELECT COUNT(*) AS n FROM request_requesters "
                "WHERE user_id = %s AND joined_at >= %s",
                (user_id, since),
            )
            row = await cur.fetchone()
        return 0 if row is None else int(row["n"])

    # -- outbox -------------------------------------------------------------------------------
    async def enqueue(
        self,
        kind: str,
        payload: Mapping[str, Any],
        dedupe_key: str | None = None,
        *,
        deliver_at: datetime | None = None,
    ) -> int:
        message = OutboxMessage(kind, payload, dedupe_key, deliver_at)
        now = self._now()
        async with self._transaction() as cur:
            return await self._enqueue_one(cur, message, now)

    async def claim_due(
        self,
        worker_id: str,
        *,
        now: datetime | None = None,
        limit: int = 10,
        lease_seconds: float = 60.0,
    ) -> list[OutboxItem]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        moment = self._now(now)
        async with self._transaction() as cur:
            # SKIP LOCKED: a row another worker is leasing right now is passed over, not
            # waited for; the lease columns then keep it ours after we commit.
            await cur.execute(
                "WITH due AS (SELECT id FROM outbox WHERE state = 'pending' "
                "AND available_at <= %(now)s AND (lease_until IS NULL OR lease_until <= %(now)s) "
                "ORDER BY available_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
                "UPDATE outbox o SET lease_owner = %(worker)s, lease_until = %(until)s, "
                "attempts = o.attempts + 1 FROM due WHERE o.id = due.id RETURNING o.*",
                {
                    "now": moment,
                    "limit": limit,
                    "worker": worker_id,
                    "until": moment + timedelta(seconds=lease_seconds),
                },
            )
            rows = await cur.fetchall()
        items = [outbox_item_from_row(row, _CODEC) for row in rows]
        return sorted(items, key=lambda item: (item.available_at, item.id))

    async def mark_delivered(
        self,
        item_id: int,
        result: Mapping[str, Any] | None = None,
        *,
        intake_post: IntakePost | None = None,
    ) -> bool:
        now = self._now()
        async with self._transaction() as cur:
            await cur.execute(
                "UPDATE outbox SET state = 'delivered', delivered_at = %s, result = %s, "
                "lease_owner = NULL, lease_until = NULL "
                "WHERE id = %s AND state = 'pending' RETURNING id",
                (now, None if result is None else Jsonb(dict(result)), item_id),
            )
            if await cur.fetchone() is None:
                return False
            if intake_post is not None:
                await cur.execute(
                    "UPDATE term_requests SET intake_channel = %s, intake_ts = %s, "
                    "updated_at = %s WHERE id = %s",
                    (intake_post.channel, intake_post.ts, now, intake_post.request_id),
                )
        return True

    async def mark_retry(
        self, item_id: int, *, worker_id: str, error: str, retry_at: datetime
    ) -> bool:
        now = self._now()
        async with self._transaction() as cur:
            await cur.execute(
                "UPDATE outbox SET errors = errors + 1, last_error = %s, last_error_at = %s, "
                "available_at = %s, lease_owner = NULL, lease_until = NULL "
                "WHERE id = %s AND state = 'pending' AND lease_owner = %s RETURNING id",
                (clip_error(error), now, self._now(retry_at), item_id, worker_id),
            )
            return await cur.fetchone() is not None

    async def mark_failed(self, item_id: int, *, worker_id: str, error: str) -> bool:
        now = self._now()
        async with self._transaction() as cur:
            await cur.execute(
                "UPDATE outbox SET state = 'failed', failed_at = %s, errors = errors + 1, "
                "last_error = %s, last_error_at = %s, lease_owner = NULL, lease_until = NULL "
                "WHERE id = %s AND state = 'pending' AND lease_owner = %s RETURNING id",
                (now, clip_error(error), now, item_id, worker_id),
            )
            return await cur.fetchone() is not None

    async def release_claims(self, worker_id: str) -> int:
        async with self._transaction() as cur:
            await cur.execute(
                "UPDATE outbox SET lease_owner = NULL, lease_until = NULL "
                "WHERE lease_owner = %s AND state = 'pending'",
                (worker_id,),
            )
            return cur.rowcount

    async def get_outbox_item(self, item_id: int) -> OutboxItem | None:
        async with self._transaction() as cur:
            await cur.execute("SELECT * FROM outbox WHERE id = %s", (item_id,))
            row = await cur.fetchone()
        return None if row is None else outbox_item_from_row(row, _CODEC)

    async def pending_count(self) -> int:
        async with self._transaction() as cur:
            await cur.execute("SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending'")
            row = await cur.fetchone()
        return 0 if row is None else int(row["n"])

    async def oldest_pending_age(self, now: datetime | None = None) -> timedelta | None:
        moment = self._now(now)
        async with self._transaction() as cur:
            await cur.execute(
                "SELECT MIN(created_at) AS oldest FROM outbox WHERE state = 'pending'"
            )
            row = await cur.fetchone()
        if row is None or row["oldest"] is None:
            return None
        return max(moment - _aware(row["oldest"]), timedelta())

    async def outbox_stats(
        self, now: datetime | None = None, *, ignore_codes: Collection[str] = ()
    ) -> OutboxStats:
        moment = self._now(now)
        async with self._transaction() as cur:
            await cur.execute(
                "SELECT "
                "COUNT(*) FILTER (WHERE state = 'pending') AS pending, "
                "COUNT(*) FILTER (WHERE state = 'pending' AND available_at <= %(now)s "
                "AND (lease_until IS NULL OR lease_until <= %(now)s)) AS due, "
                "COUNT(*) FILTER (WHERE state = 'pending' AND errors > 0) AS retrying, "
                "COUNT(*) FILTER (WHERE state = 'failed') AS failed, "
                "MIN(created_at) FILTER (WHERE state = 'pending') AS oldest "
                "FROM outbox",
                {"now": moment},
            )
            row = await cur.fetchone()
            await cur.execute(
                _LAST_ERRORS, {"ignored": sorted(ignore_codes), "limit": LAST_ERRORS_LIMIT}
            )
            errors = await cur.fetchall()
        if row is None:  # an aggregate always returns a row
            raise StoreError("outbox statistics query returned nothing")
        distinct = tuple(str(error["last_error"]) for error in errors)
        oldest = row["oldest"]
        return OutboxStats(
            pending=int(row["pending"]),
            due=int(row["due"]),
            retrying=int(row["retrying"]),
            failed=int(row["failed"]),
            oldest_pending_age=(
                None if oldest is None else max(moment - _aware(oldest), timedelta())
            ),
            last_error=distinct[0] if distinct else None,
            last_errors=distinct,
        )

    async def prune_outbox(self, older_than: timedelta = timedelta(days=30)) -> int:
        cutoff = self._now() - older_than
        async with self._transaction() as cur:
            await cur.execute(
                "DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < %s", (cutoff,)
            )
            return cur.rowcount
