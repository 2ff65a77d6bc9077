"""The SQLite backend: one file in WAL mode, for a single bot process (or a few on one host).

Concurrency design: one connection, owned by one dedicated worker thread. Every call is a
closure run on that thread, so within a process calls are serialised in arrival order and
never interleave inside a transaction, without a lock, and waiting coroutines do not hold
threads of the loop's default executor. SQLite allows only one writer at a time anyway, and
our statements take well under a millisecond, so a single connection costs no throughput.
Between processes, SQLite's own locking does the work: every write runs in
`BEGIN IMMEDIATE` (take the write lock before reading what to change), and the busy timeout
makes a second process wait its turn instead of failing.

Durability: `synchronous=FULL`, because the outbox promises a request is never lost once the
user was told it was filed; at our write rate the extra fsync is free.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

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
from bot.store.migrations import LATEST_VERSION, MIGRATIONS, SCHEMA_VERSION_SQLITE

logger = logging.getLogger(__name__)

T = TypeVar("T")

MEMORY = ":memory:"

# SQLite result codes (primary, the low byte) that mean "cannot use this database" rather
# than "this statement is wrong": busy, locked, read-only, I/O error, corrupt, full, cannot
# open, not a database.
_UNAVAILABLE_CODES = frozenset({5, 6, 8, 10, 11, 13, 14, 26})


def _ts(moment: datetime) -> str:
    """One fixed-width UTC text form, so comparing the text compares the times."""
    if moment.tzinfo is None:
        raise ValueError("the store needs timezone-aware datetimes")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_ts(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _parse_json(value: Any) -> Any:
    return json.loads(value)


def _dump_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_CODEC = Codec(time=_parse_ts, json=_parse_json)


_ACTIVE_JSON = _dump_json(ACTIVE_REQUEST_STATUSES)


_SET_STATUS = (
    "UPDATE term_requests SET status = :status, status_changed_by = :by, "
    "decline_reason = :reason, updated_at = :now, "
    "accepted_at = CASE WHEN :status = 'accepted' THEN :now ELSE accepted_at END, "
    "declined_at = CASE WHEN :status = 'declined' THEN :now ELSE declined_at END, "
    "published_at = CASE WHEN :status = 'published' THEN :now ELSE published_at END "
    "WHERE id = :id RETURNING *"
)


# The newest error of each code among pending rows, leaving out ignored codes before the
# limit: rows failing alike (thread notes waiting for their post, each naming its request)
# must not hide a different error behind them. The code is the text before the first ":".
_LAST_ERRORS = """
SELECT last_error FROM (
    SELECT last_error, last_error_at, id, code, ROW_NUMBER() OVER (
        PARTITION BY code ORDER BY last_error_at DESC, id DESC
    ) AS newest
    FROM (
        SELECT last_error, last_error_at, id, trim(CASE WHEN instr(last_error, ':') > 0
            THEN substr(last_error, 1, instr(last_error, ':') - 1) ELSE last_error END) AS code
        FROM outbox WHERE state = 'pending' AND last_error IS NOT NULL
    )
)
WHERE newest = 1 AND code NOT IN (SELECT value FROM json_each(?))
ORDER BY last_error_at DESC, id DESC LIMIT ?"""


_INSERT_LOOKUPS = (
    "INSERT INTO lookups (user_id, query, query_key, status, slug, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


class SQLiteStore:
    """The Store on a SQLite file (or ":memory:", which lives as long as the store)."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Clock = utc_now,
        busy_timeout: float = 10.0,
    ) -> None:
        self.path = str(path)
        self._clock = clock
        self._busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="glossary-sqlite")

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    # -- plumbing -----------------------------------------------------------------------------
    def _now(self, now: datetime | None = None) -> datetime:
        moment = self._clock() if now is None else now
        if moment.tzinfo is None:
            raise ValueError("the store needs timezone-aware datetimes")
        return moment.astimezone(UTC)

    def _connection(self) -> sqlite3.Connection:
        """The connection, opened on first use (on the worker thread, which owns it)."""
        if self._conn is None:
            if self.path != MEMORY and not Path(self.path).parent.is_dir():
                raise StoreUnavailableError(
                    f"cannot open SQLite database {self.path}: "
                    f"its folder {Path(self.path).parent} does not exist"
                )
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, never the driver.
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
            try:
                conn.row_factory = sqlite3.Row
                conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
                if self.path != MEMORY:
                    self._enter_wal_mode(conn)
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA foreign_keys = ON")
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _enter_wal_mode(self, conn: sqlite3.Connection) -> None:
        """Switch the file to WAL, waiting out other processes that hold it meanwhile.

        Changing the journal mode needs an exclusive lock, and SQLite answers "database is
        locked" at once rather than calling the busy handler, so replicas starting together
        on a fresh file would fail. WAL is stored in the file: once one process has set it,
        the others find it already set.
        """
        deadline = time.monotonic() + self._busy_timeout
        pause = 0.005
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                busy = exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)

    def _call(self, fn: Callable[[sqlite3.Connection], T], write: bool) -> T:
        conn = self._connection()
        # Writers take the write lock up front (IMMEDIATE) so a read-then-write cannot be
        # overtaken by another process; readers get one consistent snapshot (DEFERRED).
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = fn(conn)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def _run(self, fn: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        if self._closed:
            raise StoreError("the store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, partial(self._call, fn, write))
        except sqlite3.DatabaseError as exc:
            if exc.sqlite_errorcode & 0xFF in _UNAVAILABLE_CODES:
                raise StoreUnavailableError(f"SQLite database {self.path}: {exc}") from exc
            raise

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(fn, write=False)

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(fn, write=True)

    # -- life cycle ---------------------------------------------------------------------------
    async def migrate(self) -> None:
        applied_at = _ts(self._now())

        def apply(conn: sqlite3.Connection) -> list[int]:
            conn.execute(SCHEMA_VERSION_SQLITE)
            done = {row[0] for row in conn.execute("SELECT version FROM schema_version")}
            newly: list[int] = []
            for migration in MIGRATIONS:
                if migration.version in done:
                    continue
                for statement in migration.sqlite:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, applied_at),
                )
                newly.append(migration.version)
            if done and max(done) > LATEST_VERSION:
                logger.warning(
                    "database %s has schema version %d, newer than this code's %d",
                    self.path,
                    max(done),
                    LATEST_VERSION,
                )
            return newly

        try:
            newly = await self._write(apply)
        except sqlite3.Error as exc:  # start-up reports one line, so every failure is ours
            raise StoreError(f"cannot migrate SQLite database {self.path}: {exc}") from exc
        if newly:
            logger.info("migrated SQLite database %s to schema version %d", self.path, newly[-1])

    async def schema_version(self) -> int:
        def read(conn: sqlite3.Connection) -> int:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
            if exists is None:
                return 0
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
            return int(row[0] or 0)

        return await self._read(read)

    async def ping(self) -> bool:
        try:
            await asyncio.wait_for(
                self._read(lambda conn: conn.execute("SELECT 1").fetchone()), timeout=5.0
            )
        except Exception:  # health checks report, never raise
            logger.warning("SQLite store %s is not reachable", self.path, exc_info=True)
            return False
        return True

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def close_connection() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, close_connection)
        self._executor.shutdown(wait=True)

    # -- preferences --------------------------------------------------------------------------
    async def get_role(self, user_id: str) -> str | None:
        def read(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT role FROM user_preferences WHERE user_id = ?", (user_id,)
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._read(read)

    async def set_role(self, user_id: str, role: str | None) -> None:
        now = _ts(self._now())

        def write(conn: sqlite3.Connection) -> None:
            if role is None:
                conn.execute("DELETE FROM user_preferences WHERE user_id = ?", (user_id,))
            else:
                conn.execute(
                    "INSERT INTO user_preferences (user_id, role, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (user_id) DO UPDATE "
                    "SET role = excluded.role, updated_at = excluded.updated_at",
                    (user_id, role, now),
                )

        await self._write(write)

    # -- Slack event dedupe -------------------------------------------------------------------
    async def claim_event(self, event_id: str, lease_seconds: float = 10.0) -> bool:
        if lease_seconds < 0:
            raise ValueError("lease_seconds must not be negative")
        now = self._now()
        params = (event_id, _ts(now), _ts(now + timedelta(seconds=lease_seconds)))

        def write(conn: sqlite3.Connection) -> bool:
            # One statement decides: insert a new claim, or take over an expired one.
            rows = conn.execute(
                "INSERT INTO slack_events (event_id, state, attempts, claimed_at, lease_until) "
                "VALUES (?, 'claimed', 1, ?, ?) "
                "ON CONFLICT (event_id) DO UPDATE SET attempts = slack_events.attempts + 1, "
                "claimed_at = excluded.claimed_at, lease_until = excluded.lease_until "
                "WHERE slack_events.state = 'claimed' "
                "AND slack_events.lease_until <= excluded.claimed_at "
                "RETURNING event_id",
                params,
            ).fetchall()
            return bool(rows)

        return await self._write(write)

    async def finish_event(self, event_id: str) -> None:
        now = _ts(self._now())

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO slack_events "
                "(event_id, state, attempts, claimed_at, lease_until, finished_at) "
                "VALUES (?, 'done', 1, ?, ?, ?) "
                "ON CONFLICT (event_id) DO UPDATE "
                "SET state = 'done', finished_at = excluded.finished_at",
                (event_id, now, now, now),
            )

        await self._write(write)

    async def event_finished(self, event_id: str) -> bool:
        def read(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT 1 FROM slack_events WHERE event_id = ? AND state = 'done'", (event_id,)
            ).fetchone()
            return row is not None

        return await self._read(read)

    async def release_event(self, event_id: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM slack_events WHERE event_id = ? AND state = 'claimed'", (event_id,)
            )

        await self._write(write)

    async def prune_events(self, older_than: timedelta = timedelta(days=1)) -> int:
        cutoff = _ts(self._now() - older_than)

        def write(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "DELETE FROM slack_events WHERE (state = 'done' AND finished_at < ?) "
                "OR (state = 'claimed' AND lease_until < ?)",
                (cutoff, cutoff),
            )
            return cursor.rowcount

        return await self._write(write)

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
        rows = [(r.user_id, r.query, r.key, r.status, r.slug, _ts(r.at)) for r in lookups]

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany(_INSERT_LOOKUPS, rows)

        await self._write(write)

    async def top_misses(
        self, limit: int = 10, since: datetime | None = None
    ) -> list[tuple[str, int]]:
        since_text = None if since is None else _ts(since)

        def read(conn: sqlite3.Connection) -> list[tuple[str, int]]:
            rows = conn.execute(
                "SELECT query_key, COUNT(*) AS n FROM lookups "
                "WHERE status IN (SELECT value FROM json_each(?)) AND query_key <> '' "
                "AND (? IS NULL OR created_at >= ?) "
                "GROUP BY query_key ORDER BY n DESC, query_key LIMIT ?",
                (_dump_json(MISS_STATUSES), since_text, since_text, limit),
            ).fetchall()
            return [(str(row[0]), int(row[1])) for row in rows]

        return await self._read(read)

    async def lookup_counts(self, since: datetime | None = None) -> dict[str, int]:
        since_text = None if since is None else _ts(since)

        def read(conn: sqlite3.Connection) -> dict[str, int]:
            rows = conn.execute(
                "SELECT status, COUNT(*) FROM lookups WHERE (? IS NULL OR created_at >= ?) "
                "GROUP BY status ORDER BY status",
                (since_text, since_text),
            ).fetchall()
            return {str(row[0]): int(row[1]) for row in rows}

        return await self._read(read)

    async def prune_lookups(self, older_than: timedelta) -> int:
        cutoff = _ts(self._now() - older_than)

        def write(conn: sqlite3.Connection) -> int:
            return conn.execute("DELETE FROM lookups WHERE created_at < ?", (cutoff,)).rowcount

        return await self._write(write)

    # -- term requests ------------------------------------------------------------------------
    @staticmethod
    def _request(conn: sqlite3.Connection, request_id: int) -> TermRequest | None:
        row = conn.execute("SELECT * FROM term_requests WHERE id = ?", (request_id,)).fetchone()
        return None if row is None else request_from_row(row, _CODEC)

    @staticmethod
    def _active_request(
        conn: sqlite3.Connection, normalised_term: str, kind: str, target_slug: str | None
    ) -> TermRequest | None:
        row = conn.execute(
            "SELECT * FROM term_requests WHERE kind = ? AND normalised_term = ? "
            "AND coalesce(target_slug, '') = coalesce(?, '') "
            "AND status IN (SELECT value FROM json_each(?))",
            (kind, normalised_term, target_slug, _ACTIVE_JSON),
        ).fetchone()
        return None if row is None else request_from_row(row, _CODEC)

    @staticmethod
    def _add_requester(
        conn: sqlite3.Connection,
        request_id: int,
        user_id: str,
        where_seen: str,
        why: str,
        source_permalink: str | None,
        anonymous: bool,
        now: str,
    ) -> tuple[Requester, bool]:
        """The person's requester row, and whether it was added now (False: already there)."""
        row = conn.execute(
            "INSERT INTO request_requesters "
            "(request_id, user_id, where_seen, why, source_permalink, anonymous, joined_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (request_id, user_id) DO NOTHING RETURNING *",
            (request_id, user_id, where_seen, why, source_permalink, int(anonymous), now),
        ).fetchone()
        if row is not None:
            return requester_from_row(row, _CODEC), True
        row = conn.execute(
            "SELECT * FROM request_requesters WHERE request_id = ? AND user_id = ?",
            (request_id, user_id),
        ).fetchone()
        return requester_from_row(row, _CODEC), False

    @staticmethod
    def _waiting(conn: sqlite3.Connection, request_id: int) -> int:
        row = conn.execute(
            "SELECT COUNT(*) FROM request_requesters WHERE request_id = ?", (request_id,)
        ).fetchone()
        return int(row[0])

    @staticmethod
    def _requesters(conn: sqlite3.Connection, request_id: int) -> list[Requester]:
        rows = conn.execute(
            "SELECT * FROM request_requesters WHERE request_id = ? ORDER BY rowid",
            (request_id,),
        ).fetchall()
        return [requester_from_row(row, _CODEC) for row in rows]

    def _enqueue_messages(
        self, conn: sqlite3.Connection, messages: Sequence[OutboxMessage], now: datetime
    ) -> None:
        for message in messages:
            self._enqueue_one(conn, message, now)

    @staticmethod
    def _enqueue_one(conn: sqlite3.Connection, message: OutboxMessage, now: datetime) -> int:
        available_at = now if message.deliver_at is None else message.deliver_at
        rows = conn.execute(
            "INSERT INTO outbox (kind, payload, dedupe_key, available_at, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            (
                message.kind,
                _dump_json(dict(message.payload)),
                message.dedupe_key,
                _ts(available_at),
                _ts(now),
            ),
        ).fetchall()
        if rows:
            return int(rows[0][0])
        row = conn.execute(
            "SELECT id FROM outbox WHERE dedupe_key = ?", (message.dedupe_key,)
        ).fetchone()
        return int(row[0])

    async def create_request(
        self, draft: RequestDraft, *, outbox: FilingOutbox | None = None
    ) -> RequestFiling:
        check_draft(draft)
        moment = self._now()
        now = _ts(moment)

        def write(conn: sqlite3.Connection) -> RequestFiling:
            existing = self._active_request(
                conn, draft.normalised_term, draft.kind, draft.target_slug
            )
            if existing is None:
                row = conn.execute(
                    "INSERT INTO term_requests (kind, term, normalised_term, target_slug, "
                    "requester_id, where_seen, why, affected_roles, urgency, links, anonymous, "
                    "source_permalink, target_fingerprint, status, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?) RETURNING *",
                    (
                        draft.kind,
                        draft.term,
                        draft.normalised_term,
                        draft.target_slug,
                        draft.requester_id,
                        draft.where_seen,
                        draft.why,
                        _dump_json(list(draft.affected_roles)),
                        draft.urgency,
                        _dump_json(list(draft.links)),
                        int(draft.anonymous),
                        draft.source_permalink,
                        draft.target_fingerprint,
                        now,
                        now,
                    ),
                ).fetchone()
                request = request_from_row(row, _CODEC)
                requester, _ = self._add_requester(
                    conn,
                    request.id,
                    draft.requester_id,
                    draft.where_seen,
                    draft.why,
                    draft.source_permalink,
                    draft.anonymous,
                    now,
                )
                filing = RequestFiling(
                    request=request, requester=requester, created=True, added=True, waiting=1
                )
            else:
                requester, added = self._add_requester(
                    conn,
                    existing.id,
                    draft.requester_id,
                    draft.where_seen,
                    draft.why,
                    draft.source_permalink,
                    draft.anonymous,
                    now,
                )
                filing = RequestFiling(
                    request=existing,
                    requester=requester,
                    created=False,
                    added=added,
                    waiting=self._waiting(conn, existing.id),
                )
            if outbox is not None:
                self._enqueue_messages(conn, outbox(filing), moment)
            return filing

        return await self._write(write)

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
        moment = self._now()
        now = _ts(moment)

        def write(conn: sqlite3.Connection) -> RequestFiling:
            request = self._request(conn, request_id)
            if request is None:
                raise RequestNotFoundError(f"no term request with id {request_id}")
            requester, added = self._add_requester(
                conn, request_id, user_id, where_seen, why, source_permalink, anonymous, now
            )
            filing = RequestFiling(
                request=request,
                requester=requester,
                created=False,
                added=added,
                waiting=self._waiting(conn, request_id),
            )
            if outbox is not None:
                self._enqueue_messages(conn, outbox(filing), moment)
            return filing

        return await self._write(write)

    async def get_request(self, request_id: int) -> TermRequest | None:
        return await self._read(lambda conn: self._request(conn, request_id))

    async def find_open_request(
        self,
        normalised_term: str,
        *,
        kind: RequestKind = "new",
        target_slug: str | None = None,
    ) -> TermRequest | None:
        return await self._read(
            lambda conn: self._active_request(conn, normalised_term, kind, target_slug)
        )

    async def requesters(self, request_id: int) -> list[Requester]:
        return await self._read(lambda conn: self._requesters(conn, request_id))

    async def list_requests_for_user(self, user_id: str) -> list[TermRequest]:
        return await self._select_requests(
            "SELECT r.* FROM term_requests r "
            "JOIN request_requesters q ON q.request_id = r.id "
            "WHERE q.user_id = ? ORDER BY r.created_at DESC, r.id DESC",
            (user_id,),
        )

    async def _select_requests(self, sql: str, params: tuple[Any, ...]) -> list[TermRequest]:
        def read(conn: sqlite3.Connection) -> list[TermRequest]:
            return [request_from_row(row, _CODEC) for row in conn.execute(sql, params)]

        return await self._read(read)

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
        moment = self._now()
        now = _ts(moment)

        def write(conn: sqlite3.Connection) -> StatusChange | None:
            current = self._request(conn, request_id)
            if current is None:
                return None
            if from_statuses is not None and current.status not in from_statuses:
                return None
            try:
                params = status_params(status, by, reason, now, request_id)
                row = conn.execute(_SET_STATUS, params).fetchone()
            except sqlite3.IntegrityError as exc:
                raise RequestConflictError(
                    f"request {request_id} cannot become {status}: another request for "
                    f"{current.normalised_term!r} is already active"
                ) from exc
            change = StatusChange(
                request=request_from_row(row, _CODEC),
                previous_status=current.status,
                requesters=tuple(self._requesters(conn, request_id)),
            )
            if outbox is not None:
                self._enqueue_messages(conn, outbox(change), moment)
            return change

        return await self._write(write)

    async def set_intake_message(self, request_id: int, channel: str, ts: str) -> None:
        now = _ts(self._now())

        def write(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                "UPDATE term_requests SET intake_channel = ?, intake_ts = ?, updated_at = ? "
                "WHERE id = ?",
                (channel, ts, now, request_id),
            )
            if cursor.rowcount == 0:
                raise RequestNotFoundError(f"no term request with id {request_id}")

        await self._write(write)

    async def open_requests(self) -> list[TermRequest]:
        return await self._select_requests(
            "SELECT * FROM term_requests "
            "WHERE status IN (SELECT value FROM json_each(?)) ORDER BY created_at, id",
            (_ACTIVE_JSON,),
        )

    async def published_since(self, since: datetime) -> list[TermRequest]:
        return await self._select_requests(
            "SELECT * FROM term_requests WHERE status = 'published' "
            "AND published_at >= ? ORDER BY published_at, id",
            (_ts(since),),
        )

    async def top_requested(
        self,
        limit: int = 10,
        statuses: Sequence[RequestStatus] = ACTIVE_REQUEST_STATUSES,
    ) -> list[RequestTally]:
        for status in statuses:
            check_status(status)
        wanted = tuple(statuses)
        if not wanted:
            return []

        def read(conn: sqlite3.Connection) -> list[RequestTally]:
            rows = conn.execute(
                "SELECT r.*, COUNT(q.user_id) AS waiting FROM term_requests r "
                "JOIN request_requesters q ON q.request_id = r.id "
                "WHERE r.status IN (SELECT value FROM json_each(?)) "
                "GROUP BY r.id ORDER BY waiting DESC, r.created_at, r.id LIMIT ?",
                (_dump_json(wanted), limit),
            ).fetchall()
            return [
                RequestTally(request=request_from_row(row, _CODEC), waiting=int(row["waiting"]))
                for row in rows
            ]

        return await self._read(read)

    async def count_requests_since(self, user_id: str, since: datetime) -> int:
        since_text = _ts(since)

        def read(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT COUNT(*) FROM request_requesters WHERE user_id = ? AND joined_at >= ?",
                (user_id, since_text),
            ).fetchone()
            return int(row[0])

        return await self._read(read)

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
        return await self._write(lambda conn: self._enqueue_one(conn, message, now))

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
        now_text = _ts(moment)
        lease_until = _ts(moment + timedelta(seconds=lease_seconds))

        def write(conn: sqlite3.Connection) -> list[OutboxItem]:
            # BEGIN IMMEDIATE (see _call) holds the write lock from this SELECT to COMMIT,
            # so no other process can pick the same rows in between.
            rows = conn.execute(
                "UPDATE outbox SET lease_owner = ?, lease_until = ?, attempts = attempts + 1 "
                "WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' "
                "AND available_at <= ? AND (lease_until IS NULL OR lease_until <= ?) "
                "ORDER BY available_at, id LIMIT ?) RETURNING *",
                (worker_id, lease_until, now_text, now_text, limit),
            ).fetchall()
            items = [outbox_item_from_row(row, _CODEC) for row in rows]
            return sorted(items, key=lambda item: (item.available_at, item.id))

        return await self._write(write)

    async def mark_delivered(
        self,
        item_id: int,
        result: Mapping[str, Any] | None = None,
        *,
        intake_post: IntakePost | None = None,
    ) -> bool:
        now = _ts(self._now())
        result_json = None if result is None else _dump_json(dict(result))

        def write(conn: sqlite3.Connection) -> bool:
            rows = conn.execute(
                "UPDATE outbox SET state = 'delivered', delivered_at = ?, result = ?, "
                "lease_owner = NULL, lease_until = NULL "
                "WHERE id = ? AND state = 'pending' RETURNING id",
                (now, result_json, item_id),
            ).fetchall()
            if not rows:
                return False
            if intake_post is not None:
                conn.execute(
                    "UPDATE term_requests SET intake_channel = ?, intake_ts = ?, updated_at = ? "
                    "WHERE id = ?",
                    (intake_post.channel, intake_post.ts, now, intake_post.request_id),
                )
            return True

        return await self._write(write)

    async def mark_retry(
        self, item_id: int, *, worker_id: str, error: str, retry_at: datetime
    ) -> bool:
        now = _ts(self._now())
        retry_text = _ts(retry_at)

        def write(conn: sqlite3.Connection) -> bool:
            rows = conn.execute(
                "UPDATE outbox SET errors = errors + 1, last_error = ?, last_error_at = ?, "
                "available_at = ?, lease_owner = NULL, lease_until = NULL "
                "WHERE id = ? AND state = 'pending' AND lease_owner = ? RETURNING id",
                (clip_error(error), now, retry_text, item_id, worker_id),
            ).fetchall()
            return bool(rows)

        return await self._write(write)

    async def mark_failed(self, item_id: int, *, worker_id: str, error: str) -> bool:
        now = _ts(self._now())

        def write(conn: sqlite3.Connection) -> bool:
            rows = conn.execute(
                "UPDATE outbox SET state = 'failed', failed_at = ?, errors = errors + 1, "
                "last_error = ?, last_error_at = ?, lease_owner = NULL, lease_until = NULL "
                "WHERE id = ? AND state = 'pending' AND lease_owner = ? RETURNING id",
                (now, clip_error(error), now, item_id, worker_id),
            ).fetchall()
            return bool(rows)

        return await self._write(write)

    async def release_claims(self, worker_id: str) -> int:
        def write(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "UPDATE outbox SET lease_owner = NULL, lease_until = NULL "
                "WHERE lease_owner = ? AND state = 'pending'",
                (worker_id,),
            ).rowcount

        return await self._write(write)

    async def get_outbox_item(self, item_id: int) -> OutboxItem | None:
        def read(conn: sqlite3.Connection) -> OutboxItem | None:
            row = conn.execute("SELECT * FROM outbox WHERE id = ?", (item_id,)).fetchone()
            return None if row is None else outbox_item_from_row(row, _CODEC)

        return await self._read(read)

    async def pending_count(self) -> int:
        def read(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()
            return int(row[0])

        return await self._read(read)

    async def oldest_pending_age(self, now: datetime | None = None) -> timedelta | None:
        moment = self._now(now)

        def read(conn: sqlite3.Connection) -> timedelta | None:
            row = conn.execute(
                "SELECT MIN(created_at) FROM outbox WHERE state = 'pending'"
            ).fetchone()
            return None if row[0] is None else max(moment - _parse_ts(row[0]), timedelta())

        return await self._read(read)

    async def outbox_stats(
        self, now: datetime | None = None, *, ignore_codes: Collection[str] = ()
    ) -> OutboxStats:
        moment = self._now(now)
        now_text = _ts(moment)
        ignored = _dump_json(sorted(ignore_codes))

        def read(conn: sqlite3.Connection) -> OutboxStats:
            row = conn.execute(
                "SELECT "
                "COALESCE(SUM(state = 'pending'), 0), "
                "COALESCE(SUM(state = 'pending' AND available_at <= ? "
                "AND (lease_until IS NULL OR lease_until <= ?)), 0), "
                "COALESCE(SUM(state = 'pending' AND errors > 0), 0), "
                "COALESCE(SUM(state = 'failed'), 0), "
                "MIN(CASE WHEN state = 'pending' THEN created_at END) "
                "FROM outbox",
                (now_text, now_text),
            ).fetchone()
            errors = conn.execute(_LAST_ERRORS, (ignored, LAST_ERRORS_LIMIT)).fetchall()
            distinct = tuple(str(error[0]) for error in errors)
            oldest = row[4]
            return OutboxStats(
                pending=int(row[0]),
                due=int(row[1]),
                retrying=int(row[2]),
                failed=int(row[3]),
                oldest_pending_age=(
                    None if oldest is None else max(moment - _parse_ts(oldest), timedelta())
                ),
                last_error=distinct[0] if distinct else None,
                last_errors=distinct,
            )

        return await self._read(read)

    async def prune_outbox(self, older_than: timedelta = timedelta(days=30)) -> int:
        cutoff = _ts(self._now() - older_than)

        def write(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?", (cutoff,)
            ).rowcount

        return await self._write(write)
