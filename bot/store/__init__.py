"""Persistence for the bot: `open_store(url)` picks the backend, `Store` is what it returns.

    store = open_store("sqlite:///glossary-bot.db")      # or postgresql://user@host/db
    await store.migrate()
    ...
    await store.close()

`sqlite:///relative.db` is relative to the working directory, `sqlite:////srv/bot.db` is
absolute, `sqlite:///:memory:` lives as long as the store. PostgreSQL URLs are libpq URLs
(`postgresql://` or `postgres://`), passed to psycopg as they are, so every libpq parameter
(sslmode, options, ...) works. psycopg is only imported for a PostgreSQL URL.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

from bot.store.base import (
    ACTIVE_REQUEST_STATUSES,
    MISS_STATUSES,
    REQUEST_KINDS,
    REQUEST_STATUSES,
    URGENCIES,
    Clock,
    FilingOutbox,
    IntakePost,
    InvalidDatabaseURLError,
    Lookup,
    OutboxItem,
    OutboxMessage,
    OutboxState,
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
    Store,
    StoreError,
    StoreUnavailableError,
    TermRequest,
    Urgency,
    lookup_key,
    utc_now,
)
from bot.store.migrations import LATEST_VERSION

__all__ = [
    "ACTIVE_REQUEST_STATUSES",
    "DEFAULT_DATABASE_URL",
    "LATEST_VERSION",
    "MISS_STATUSES",
    "REQUEST_KINDS",
    "REQUEST_STATUSES",
    "URGENCIES",
    "Clock",
    "FilingOutbox",
    "IntakePost",
    "InvalidDatabaseURLError",
    "Lookup",
    "OutboxItem",
    "OutboxMessage",
    "OutboxState",
    "OutboxStats",
    "RequestConflictError",
    "RequestDraft",
    "RequestFiling",
    "RequestKind",
    "RequestNotFoundError",
    "RequestStatus",
    "RequestTally",
    "Requester",
    "StatusChange",
    "StatusOutbox",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "TermRequest",
    "Urgency",
    "lookup_key",
    "open_store",
    "redact_url",
    "utc_now",
]

DEFAULT_DATABASE_URL = "sqlite:///glossary-bot.db"

_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
_PASSWORD_PARAMETER = re.compile(r"(?i)((?:^|&)password=)[^&]*")
_EXPECTED = "use sqlite:///path/to/file.db or postgresql://user:password@host:5432/dbname"


def open_store(database_url: str, *, clock: Clock = utc_now) -> Store:
    """The store for a database URL. Connects lazily: call `await store.migrate()` first.

    Raises InvalidDatabaseURLError (a ValueError) for a URL it cannot use; the message names the
    problem but never the password."""
    url = database_url.strip()
    scheme = url.partition(":")[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        return _open_sqlite(url, clock)
    if scheme in _POSTGRES_SCHEMES:
        return _open_postgres(url, clock)
    if not scheme:
        raise InvalidDatabaseURLError(f"database URL has no scheme: {_EXPECTED}")
    raise InvalidDatabaseURLError(f"unsupported database URL scheme {scheme!r}: {_EXPECTED}")


def _open_sqlite(url: str, clock: Clock) -> Store:
    from bot.store.sqlite import MEMORY, SQLiteStore

    if not url.lower().startswith(_SQLITE_PREFIX):
        raise InvalidDatabaseURLError(f"SQLite URLs start with sqlite:/// then a path: {_EXPECTED}")
    path = unquote(url[len(_SQLITE_PREFIX) :])
    if not path:
        raise InvalidDatabaseURLError(f"SQLite URL has no file path: {_EXPECTED}")
    return SQLiteStore(MEMORY if path == MEMORY else path, clock=clock)


def _open_postgres(url: str, clock: Clock) -> Store:
    try:
        from bot.store.postgres import PostgresStore
    except ImportError as exc:
        raise InvalidDatabaseURLError(
            "a PostgreSQL URL needs the psycopg driver: pip install 'glossary-bot[postgres]'"
        ) from exc
    scheme, _, rest = url.partition(":")
    if scheme.lower() != "postgresql":
        url = "postgresql:" + rest  # libpq knows postgres:// too, but not +psycopg
    return PostgresStore(url, clock=clock)


def redact_url(database_url: str) -> str:
    """The URL with any password (in the user part or a password= parameter) replaced by
    ***, for logs and /healthz."""
    try:
        parts = urlsplit(database_url)
        has_password = parts.password is not None
    except ValueError:
        return "<unparseable database URL>"
    netloc = parts.netloc
    if has_password:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:***@{hostport}"
    query = _PASSWORD_PARAMETER.sub(r"\1***", parts.query)
    if not has_password and query == parts.query:
        return database_url  # urlunsplit would turn sqlite:///x into sqlite:/x
    return urlunsplit(parts._replace(netloc=netloc, query=query))
