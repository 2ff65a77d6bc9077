"""SavedRoles: a user's saved role, reused for a few seconds, never stale on this replica."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store, StoreError, open_store
from bot.store.saved_roles import SavedRoles


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'bot.db'}")
    await opened.migrate()
    yield opened
    await opened.close()


@pytest.fixture
async def other_replica(tmp_path: Path, store: Store) -> AsyncIterator[Store]:
    """A second process's store on the same database."""
    opened = open_store(f"sqlite:///{tmp_path / 'bot.db'}")
    yield opened
    await opened.close()


async def test_a_role_saved_here_is_used_at_once(store: Store) -> None:
    roles = SavedRoles(store, ttl_seconds=60, clock=Clock())
    assert await roles.get("U1") is None
    await roles.set("U1", "legal")
    assert await roles.get("U1") == "legal"
    assert await store.get_role("U1") == "legal"  # and it is in the database
    await roles.set("U1", None)
    assert await roles.get("U1") is None
    assert await store.get_role("U1") is None


async def test_another_replicas_change_arrives_once_the_copy_expires(
    store: Store, other_replica: Store
) -> None:
    clock = Clock()
    here = SavedRoles(store, ttl_seconds=10, clock=clock)
    there = SavedRoles(other_replica, ttl_seconds=10, clock=clock)
    await here.set("U1", "product")
    await there.set("U1", "security")
    clock.now += 9.9
    assert await here.get("U1") == "product"  # still the copy this replica made
    assert here.recent("U1") == (True, "product")
    clock.now += 0.2
    assert here.recent("U1") == (False, None)
    assert await here.get("U1") == "security"


async def test_zero_seconds_asks_the_database_every_time(
    store: Store, other_replica: Store
) -> None:
    here = SavedRoles(store, ttl_seconds=0, clock=Clock())
    await here.set("U1", "product")
    assert here.recent("U1") == (False, None)
    await other_replica.set_role("U1", "legal")
    assert await here.get("U1") == "legal"


class HeldReads:
    """A store whose role reads finish only when told to (as a slow PostgreSQL pool might)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.release = asyncio.Event()

    async def get_role(self, user_id: str) -> str | None:
        role = await self.store.get_role(user_id)
        await self.release.wait()
        return role

    async def set_role(self, user_id: str, role: str | None) -> None:
        await self.store.set_role(user_id, role)


async def test_a_read_that_ends_after_a_save_does_not_bring_the_old_role_back(
    store: Store,
) -> None:
    held = HeldReads(store)
    roles = SavedRoles(held, ttl_seconds=60, clock=Clock())  # type: ignore[arg-type]
    await store.set_role("U1", "product")
    reading = asyncio.ensure_future(roles.get("U1"))
    await asyncio.sleep(0.05)  # the read has its answer ("product") and is held
    await roles.set("U1", "legal")
    held.release.set()
    assert await reading == "product"  # it began before the save
    assert roles.recent("U1") == (True, "legal")
    assert await roles.get("U1") == "legal"


async def test_a_failed_save_leaves_no_copy_behind(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'bot.db'}")
    await store.migrate()
    roles = SavedRoles(store, ttl_seconds=60, clock=Clock())
    await roles.set("U1", "product")
    await store.close()
    with pytest.raises(StoreError):
        await roles.set("U1", "legal")
    assert roles.recent("U1") == (False, None)
    with pytest.raises(StoreError):
        await roles.get("U1")


async def test_memory_is_bounded_oldest_first(store: Store) -> None:
    roles = SavedRoles(store, ttl_seconds=60, clock=Clock(), max_users=3)
    for user in ("U1", "U2", "U3"):
        await roles.set(user, "legal")
    await roles.get("U1")  # still fresh: reading does not make it newer
    await roles.set("U4", "policy")
    assert roles.recent("U1") == (False, None)
    assert [roles.recent(user)[0] for user in ("U2", "U3", "U4")] == [True, True, True]
    assert await roles.get("U1") == "legal"  # asked the database again
