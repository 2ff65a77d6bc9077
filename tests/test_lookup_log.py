"""The look-up log: rows added now are stored together a moment later, on a real SQLite file,
and none is lost when the database is away for a while or the bot shuts down."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from bot.store import Lookup, open_store
from bot.store.lookup_log import LookupLog
from bot.store.sqlite import SQLiteStore


def stored_queries(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT query FROM lookups ORDER BY id")]


class CountingStore(SQLiteStore):
    """A real SQLite store that also counts the batches it is asked to write."""

    batches: list[int]

    async def record_lookups(self, lookups: Sequence[Lookup]) -> None:
        self.batches.append(len(lookups))
        await super().record_lookups(lookups)


async def counting_store(path: Path) -> CountingStore:
    store = CountingStore(path)
    store.batches = []
    await store.migrate()
    return store


async def test_a_burst_is_stored_in_one_transaction_in_order(tmp_path: Path) -> None:
    store = await counting_store(tmp_path / "bot.db")
    lookups = LookupLog(store, delay=0.05)
    for n in range(300):
        lookups.add(f"U{n % 7}", f"miss {n}", "not_found", None)
    assert lookups.pending == 300
    await asyncio.sleep(0.3)  # the writer's moment, then its write
    assert lookups.pending == 0
    assert store.batches == [300]
    assert stored_queries(tmp_path / "bot.db") == [f"miss {n}" for n in range(300)]
    assert await store.lookup_counts() == {"not_found": 300}
    await lookups.close()
    await store.close()


async def test_flush_makes_stats_current_at_once(tmp_path: Path) -> None:
    store = await counting_store(tmp_path / "bot.db")
    lookups = LookupLog(store, delay=60)  # the writer would wait a minute
    lookups.add("U1", "What is MoE?", "not_found", None, key="what is moe")
    lookups.add("U2", "RAG", "found", "retrieval-augmented-generation")
    assert await lookups.flush()
    assert await store.top_misses() == [("what is moe", 1)]
    assert await store.lookup_counts() == {"found": 1, "not_found": 1}
    await lookups.close()
    await store.close()


async def test_rows_wait_while_the_database_is_away_and_are_stored_when_it_is_back(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "later"  # does not exist yet: the store cannot open its file
    store = open_store(f"sqlite:///{folder / 'bot.db'}")
    lookups = LookupLog(store, delay=0.01)
    lookups.add("U1", "first", "not_found", None)
    assert not await lookups.flush()
    assert lookups.pending == 1  # kept, not dropped
    lookups.add("U1", "second", "found", "second")

    folder.mkdir()
    await store.migrate()
    assert await lookups.flush()
    assert stored_queries(folder / "bot.db") == ["first", "second"]
    await lookups.close()
    await store.close()


async def test_the_writer_retries_on_its_own(tmp_path: Path) -> None:
    folder = tmp_path / "later"
    store = open_store(f"sqlite:///{folder / 'bot.db'}")
    lookups = LookupLog(store, delay=0.01)
    lookups.add("U1", "asked while the disk was away", "not_found", None)
    await asyncio.sleep(0.1)  # the writer tried and failed
    assert lookups.pending == 1
    folder.mkdir()
    await store.migrate()
    for _ in range(40):  # its first retry comes after half a second
        await asyncio.sleep(0.05)
        if not lookups.pending:
            break
    assert stored_queries(folder / "bot.db") == ["asked while the disk was away"]
    await lookups.close()
    await store.close()


async def test_close_stores_what_is_pending(tmp_path: Path) -> None:
    store = await counting_store(tmp_path / "bot.db")
    lookups = LookupLog(store, delay=60)
    for n in range(5):
        lookups.add("U1", f"q{n}", "found", f"q{n}")
    await lookups.close()
    assert stored_queries(tmp_path / "bot.db") == [f"q{n}" for n in range(5)]
    await store.close()


async def test_when_the_database_stays_away_the_oldest_rows_go_first(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'missing' / 'bot.db'}")
    lookups = LookupLog(store, delay=60, max_pending=3)
    for n in range(5):
        lookups.add("U1", f"q{n}", "found", None)
    assert lookups.pending == 3
    (tmp_path / "missing").mkdir()
    await store.migrate()
    assert await lookups.flush()
    assert stored_queries(tmp_path / "missing" / "bot.db") == ["q2", "q3", "q4"]
    await lookups.close()
    await store.close()
