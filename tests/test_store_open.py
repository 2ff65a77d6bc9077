"""open_store(url): picking a backend from a URL, refusing bad URLs, and unreachable stores."""

from __future__ import annotations

import socket
import sqlite3
import threading
from pathlib import Path

import pytest

import bot.store
from bot.store import (
    InvalidDatabaseURLError,
    StoreUnavailableError,
    lookup_key,
    open_store,
    redact_url,
)
from bot.store.sqlite import SQLiteStore


class TestOpenStore:
    """Which backend a URL opens, and which URLs are refused."""

    @pytest.mark.parametrize(
        ("url", "path"),
        [
            ("sqlite:///glossary-bot.db", "glossary-bot.db"),
            ("sqlite:///data/bot.db", "data/bot.db"),
            ("sqlite:////var/lib/bot/bot.db", "/var/lib/bot/bot.db"),
            ("sqlite:///my%20bot.db", "my bot.db"),
            ("sqlite:///:memory:", ":memory:"),
            ("  SQLite:///x.db  ", "x.db"),
        ],
    )
    def test_sqlite_urls(self, url: str, path: str) -> None:
        store = open_store(url)
        assert isinstance(store, SQLiteStore)
        assert store.path == path

    def test_default_url_is_a_sqlite_file(self) -> None:
        assert bot.store.DEFAULT_DATABASE_URL == "sqlite:///glossary-bot.db"

    @pytest.mark.parametrize(
        "url",
        [
            "postgresql://bot:secret@db.internal:5432/glossary",
            "postgres://bot@db/glossary",
            "postgresql+psycopg://bot@db/glossary?sslmode=require",
        ],
    )
    def test_postgres_urls_open_without_connecting(self, url: str) -> None:
        """Opening is lazy: a PostgreSQL store for an unreachable host is still created."""
        from bot.store.postgres import PostgresStore

        assert isinstance(open_store(url), PostgresStore)

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("mysql://root:hunter2@db/glossary", "unsupported database URL scheme 'mysql'"),
            ("glossary-bot.db", "no scheme"),
            ("sqlite://glossary-bot.db", "sqlite:/// then a path"),
            ("sqlite:///", "no file path"),
        ],
    )
    def test_bad_urls_are_refused_without_echoing_secrets(self, url: str, message: str) -> None:
        with pytest.raises(InvalidDatabaseURLError, match=message) as caught:
            open_store(url)
        assert "hunter2" not in str(caught.value)
        assert isinstance(caught.value, ValueError)


class TestUnreachable:
    """A store that cannot reach its database says so, and ping() reports False."""

    async def test_sqlite_in_missing_folder(self, tmp_path: Path) -> None:
        store = open_store(f"sqlite:///{tmp_path / 'missing' / 'bot.db'}")
        try:
            assert await store.ping() is False
            with pytest.raises(StoreUnavailableError, match="does not exist"):
                await store.migrate()
        finally:
            await store.close()

    async def test_file_that_is_not_a_database(self, tmp_path: Path) -> None:
        """A file that is not SQLite makes migrate() fail with a StoreError, not a crash."""
        path = tmp_path / "notes.txt"
        path.write_text("not a database, just text " * 100)
        store = open_store(f"sqlite:///{path}")
        try:
            with pytest.raises(bot.store.StoreError, match="not a database"):
                await store.migrate()
            assert await store.ping() is False
        finally:
            await store.close()

    async def test_postgres_with_nothing_listening(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]  # bound but not listening: connections are refused
            store = open_store(f"postgresql://nobody@127.0.0.1:{port}/none?connect_timeout=2")
            try:
                assert await store.ping() is False
                with pytest.raises(StoreUnavailableError):
                    await store.get_role("U1")
            finally:
                await store.close()

    async def test_memory_store_works_for_quick_use(self) -> None:
        store = open_store("sqlite:///:memory:")
        try:
            await store.migrate()
            await store.set_role("U1", "legal")
            assert await store.get_role("U1") == "legal"
        finally:
            await store.close()

    async def test_closed_store_refuses_calls(self, tmp_path: Path) -> None:
        store = open_store(f"sqlite:///{tmp_path / 'bot.db'}")
        await store.migrate()
        await store.close()
        with pytest.raises(bot.store.StoreError, match="closed"):
            await store.get_role("U1")


class TestStartingBesideAnotherWriter:
    """Another process mid-write when the store first opens the file is waited for."""

    async def test_waits_for_a_writer_before_switching_to_wal(self, tmp_path: Path) -> None:
        # A writer with a pending change on a rollback-journal file: SQLite refuses the
        # switch to WAL at once ("database is locked") rather than waiting on its own.
        path = tmp_path / "bot.db"
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("CREATE TABLE notes (body TEXT)")
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO notes VALUES ('in flight')")
        release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
        release.start()
        store = open_store(f"sqlite:///{path}")
        try:
            await store.migrate()
            await store.set_role("U1", "legal")
            assert await store.get_role("U1") == "legal"
        finally:
            release.join()
            other.close()
            await store.close()
        with sqlite3.connect(path) as check:
            assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert check.execute("SELECT body FROM notes").fetchall() == [("in flight",)]

    async def test_gives_up_with_a_clear_error_after_the_busy_timeout(self, tmp_path: Path) -> None:
        path = tmp_path / "bot.db"
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("CREATE TABLE notes (body TEXT)")
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO notes VALUES ('never committed')")
        store = SQLiteStore(path, busy_timeout=0.2)
        try:
            with pytest.raises(StoreUnavailableError, match="database is locked"):
                await store.migrate()
        finally:
            other.execute("ROLLBACK")
            other.close()
            await store.close()


class TestHelpers:
    @pytest.mark.parametrize(
        ("url", "shown"),
        [
            ("postgresql://bot:s3cret@db:5432/g", "postgresql://bot:***@db:5432/g"),
            ("postgresql://bot@db/g?password=s3cret&sslmode=require", None),
            ("postgresql://bot@db/g", "postgresql://bot@db/g"),
            ("sqlite:///glossary-bot.db", "sqlite:///glossary-bot.db"),
        ],
    )
    def test_redact_url_hides_passwords(self, url: str, shown: str | None) -> None:
        redacted = redact_url(url)
        assert "s3cret" not in redacted
        if shown is not None:
            assert redacted == shown

    @pytest.mark.parametrize(
        ("query", "key"),
        [
            ("What is RAG?", "what is rag"),
            ("  ＲＡＧ  ", "rag"),
            ("“quoted”  term!", "quoted” term"),
            ("multi\n\tline", "multi line"),
        ],
    )
    def test_lookup_key(self, query: str, key: str) -> None:
        assert lookup_key(query) == key


def test_public_api_is_explicit() -> None:
    """bot.store's public names are exactly its __all__, and each exists."""
    assert sorted(bot.store.__all__) == sorted(set(bot.store.__all__))
    for name in bot.store.__all__:
        assert hasattr(bot.store, name), name
    assert {
        "Store",
        "open_store",
        "RequestDraft",
        "TermRequest",
        "OutboxItem",
        "OutboxMessage",
        "StoreError",
    } <= set(bot.store.__all__)
