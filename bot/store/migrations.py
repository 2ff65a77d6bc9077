"""Schema migrations for both backends, side by side so their version numbers cannot drift.

Each migration is a list of single statements per dialect (no `;` inside a statement), run
in one transaction together with its row in `schema_version`. Never edit a released
migration: add a new one with the next version.

Timestamps: SQLite stores ISO-8601 UTC text of one fixed width (so text order is time
order); PostgreSQL uses timestamptz. JSON: SQLite text, PostgreSQL jsonb.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]


SCHEMA_VERSION_SQLITE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""

SCHEMA_VERSION_POSTGRES = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
)"""

_INITIAL_SQLITE = (
    """
    CREATE TABLE user_preferences (
        user_id TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """
    CREATE TABLE slack_events (
        event_id TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('claimed', 'done')),
        attempts INTEGER NOT NULL DEFAULT 1,
        claimed_at TEXT NOT NULL,
        lease_until TEXT NOT NULL,
        finished_at TEXT
    )""",
    "CREATE INDEX slack_events_by_age ON slack_events (claimed_at)",
    """
    CREATE TABLE lookups (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        query TEXT NOT NULL,
        query_key TEXT NOT NULL,
        status TEXT NOT NULL,
        slug TEXT,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX lookups_by_status_time ON lookups (status, created_at)",
    "CREATE INDEX lookups_by_time ON lookups (created_at)",
    # AUTOINCREMENT: a request id travels in Slack message metadata, so it is never reused.
    """
    CREATE TABLE term_requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('new', 'clarification')),
        term TEXT NOT NULL,
        normalised_term TEXT NOT NULL,
        target_slug TEXT,
        requester_id TEXT NOT NULL,
        where_seen TEXT NOT NULL DEFAULT '',
        why TEXT NOT NULL DEFAULT '',
        affected_roles TEXT NOT NULL DEFAULT '[]',
        urgency TEXT CHECK (urgency IN ('now', 'this_quarter', 'evergreen')),
        links TEXT NOT NULL DEFAULT '[]',
        anonymous INTEGER NOT NULL DEFAULT 0,
        source_permalink TEXT,
        status TEXT NOT NULL DEFAULT 'open'
            CHECK (status IN ('open', 'accepted', 'declined', 'published')),
        decline_reason TEXT,
        status_changed_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        accepted_at TEXT,
        declined_at TEXT,
        published_at TEXT,
        intake_channel TEXT,
        intake_ts TEXT
    )""",
    # The database itself guarantees one active request per term, whatever races above it.
    """
    CREATE UNIQUE INDEX term_requests_one_active
        ON term_requests (kind, normalised_term, coalesce(target_slug, ''))
        WHERE status IN ('open', 'accepted')""",
    "CREATE INDEX term_requests_by_status ON term_requests (status, created_at)",
    """
    CREATE TABLE request_requesters (
        request_id INTEGER NOT NULL REFERENCES term_requests (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        where_seen TEXT NOT NULL DEFAULT '',
        why TEXT NOT NULL DEFAULT '',
        source_permalink TEXT,
        anonymous INTEGER NOT NULL DEFAULT 0,
        joined_at TEXT NOT NULL,
        PRIMARY KEY (request_id, user_id)
    )""",
    "CREATE INDEX request_requesters_by_user ON request_requesters (user_id, joined_at)",
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        dedupe_key TEXT UNIQUE,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        available_at TEXT NOT NULL,
        lease_owner TEXT,
        lease_until TEXT,
        last_error TEXT,
        last_error_at TEXT,
        result TEXT,
        created_at TEXT NOT NULL,
        delivered_at TEXT,
        failed_at TEXT
    )""",
    "CREATE INDEX outbox_due ON outbox (state, available_at, id)",
)

_INITIAL_POSTGRES = (
    """
    CREATE TABLE user_preferences (
        user_id TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
    )""",
    """
    CREATE TABLE slack_events (
        event_id TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('claimed', 'done')),
        attempts INTEGER NOT NULL DEFAULT 1,
        claimed_at TIMESTAMPTZ NOT NULL,
        lease_until TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ
    )""",
    "CREATE INDEX slack_events_by_age ON slack_events (claimed_at)",
    """
    CREATE TABLE lookups (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id TEXT NOT NULL,
        query TEXT NOT NULL,
        query_key TEXT NOT NULL,
        status TEXT NOT NULL,
        slug TEXT,
        created_at TIMESTAMPTZ NOT NULL
    )""",
    "CREATE INDEX lookups_by_status_time ON lookups (status, created_at)",
    "CREATE INDEX lookups_by_time ON lookups (created_at)",
    """
    CREATE TABLE term_requests (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('new', 'clarification')),
        term TEXT NOT NULL,
        normalised_term TEXT NOT NULL,
        target_slug TEXT,
        requester_id TEXT NOT NULL,
        where_seen TEXT NOT NULL DEFAULT '',
        why TEXT NOT NULL DEFAULT '',
        affected_roles JSONB NOT NULL DEFAULT '[]',
        urgency TEXT CHECK (urgency IN ('now', 'this_quarter', 'evergreen')),
        links JSONB NOT NULL DEFAULT '[]',
        anonymous BOOLEAN NOT NULL DEFAULT FALSE,
        source_permalink TEXT,
        status TEXT NOT NULL DEFAULT 'open'
            CHECK (status IN ('open', 'accepted', 'declined', 'published')),
        decline_reason TEXT,
        status_changed_by TEXT,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        accepted_at TIMESTAMPTZ,
        declined_at TIMESTAMPTZ,
        published_at TIMESTAMPTZ,
        intake_channel TEXT,
        intake_ts TEXT
    )""",
    """
    CREATE UNIQUE INDEX term_requests_one_active
        ON term_requests (kind, normalised_term, coalesce(target_slug, ''))
        WHERE status IN ('open', 'accepted')""",
    "CREATE INDEX term_requests_by_status ON term_requests (status, created_at)",
    """
    CREATE TABLE request_requesters (
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        request_id BIGINT NOT NULL REFERENCES term_requests (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        where_seen TEXT NOT NULL DEFAULT '',
        why TEXT NOT NULL DEFAULT '',
        source_permalink TEXT,
        anonymous BOOLEAN NOT NULL DEFAULT FALSE,
        joined_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (request_id, user_id)
    )""",
    "CREATE INDEX request_requesters_by_user ON request_requesters (user_id, joined_at)",
    """
    CREATE TABLE outbox (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind TEXT NOT NULL,
        payload JSONB NOT NULL,
        dedupe_key TEXT UNIQUE,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        available_at TIMESTAMPTZ NOT NULL,
        lease_owner TEXT,
        lease_until TIMESTAMPTZ,
        last_error TEXT,
        last_error_at TIMESTAMPTZ,
        result JSONB,
        created_at TIMESTAMPTZ NOT NULL,
        delivered_at TIMESTAMPTZ,
        failed_at TIMESTAMPTZ
    )""",
    "CREATE INDEX outbox_due ON outbox (state, available_at, id)",
)

# A clarification closes when its term changed after it was filed; `last_reviewed` is only a
# date, so a term reviewed on the day of the request needs the term's content at filing time
# to compare against. Requests filed before this migration have none (NULL).
_TARGET_FINGERPRINT = "ALTER TABLE term_requests ADD COLUMN target_fingerprint TEXT"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial", _INITIAL_SQLITE, _INITIAL_POSTGRES),
    Migration(2, "request_target_fingerprint", (_TARGET_FINGERPRINT,), (_TARGET_FINGERPRINT,)),
)

LATEST_VERSION = MIGRATIONS[-1].version
