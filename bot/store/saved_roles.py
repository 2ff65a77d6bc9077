"""Users' saved roles, read through a short-lived in-memory copy.

Every answer needs the reader's saved role, and asking the database each time costs a
thread hop (SQLite) or a network round trip (PostgreSQL) on the path of the answer itself.
People look up terms in bursts, so a role read a few seconds ago is kept and reused.

A role saved through this process is seen at once. A role saved through another replica
reaches this one within `ttl_seconds` (GLOSSARY_ROLE_CACHE_SECONDS): the price of not
reading the database for every answer. Zero turns the copy off.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.store.base import Store

# Enough for every active user of a large workspace; beyond it the oldest entries go first.
MAX_USERS = 50_000


class SavedRoles:
    """`get`/`set` a user's saved role (a role name, or None for "not saved")."""

    def __init__(
        self,
        store: Store,
        ttl_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_users: int = MAX_USERS,
    ) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._clock = clock
        self._max_users = max_users
        # user id -> (role, read at); dicts keep insertion order, so the first is the oldest.
        self._copies: dict[str, tuple[str | None, float]] = {}
        self._saves = 0

    def recent(self, user_id: str) -> tuple[bool, str | None]:
        """(True, role) when a fresh enough copy is at hand, else (False, None); no waiting."""
        copy = self._copies.get(user_id)
        if copy is not None and self._clock() - copy[1] < self._ttl:
            return True, copy[0]
        return False, None

    async def get(self, user_id: str) -> str | None:
        """The saved role; raises StoreError when it has to ask the store and cannot."""
        known, role = self.recent(user_id)
        if known:
            return role
        now = self._clock()
        saves_before = self._saves
        role = await self._store.get_role(user_id)
        if self._saves == saves_before:  # else a save meanwhile may have made this read stale
            self._keep(user_id, role, now)
        return role

    async def set(self, user_id: str, role: str | None) -> None:
        """Save (or, with None, forget) the role; this process answers with it at once."""
        self._saves += 1
        self._copies.pop(user_id, None)  # if saving fails, the next read asks the store
        await self._store.set_role(user_id, role)
        self._keep(user_id, role, self._clock())

    def _keep(self, user_id: str, role: str | None, read_at: float) -> None:
        if self._ttl <= 0:
            return
        self._copies.pop(user_id, None)  # re-inserted last: the newest
        self._copies[user_id] = (role, read_at)
        if len(self._copies) > self._max_users:
            del self._copies[next(iter(self._copies))]
