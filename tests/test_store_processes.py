"""The store shared by several processes, as replicas share it: each backend, real processes.

Workers are separate Python processes started together (each waits until all of them are
connected, so their work overlaps however slowly each interpreter starts), each with its own
store on the same database.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_server import BACKENDS, database_url

from bot.store import LATEST_VERSION, open_store
from bot.store.migrations import MIGRATIONS

REPO = Path(__file__).resolve().parents[1]

WORKER = r"""
import asyncio, json, os, signal, sys, time
from bot.store import open_store

def wait_for_all(barrier, worker):
    # A file a worker: go once every worker has written its own (or after a minute).
    if not barrier:
        return
    folder, count = barrier.rsplit("|", 1)
    open(os.path.join(folder, worker), "w").close()
    deadline = time.time() + 60
    while len(os.listdir(folder)) < int(count) and time.time() < deadline:
        time.sleep(0.002)

async def main(mode, url, worker, barrier, arg):
    store = open_store(url)
    if mode != "migrate":
        await store.ping()
    wait_for_all(barrier, worker)
    out = []
    if mode == "migrate":
        await store.migrate()
        out.append(await store.schema_version())
    elif mode == "deliver":
        while True:
            items = await store.claim_due(worker, limit=3, lease_seconds=300)
            if not items:
                break
            for item in items:
                out.append(item.id)
                await store.mark_delivered(item.id, {"by": worker})
    elif mode == "claim_events":
        for n in range(int(arg)):
            if await store.claim_event(f"Ev{n}", lease_seconds=300):
                out.append(n)
                await store.finish_event(f"Ev{n}")
    elif mode == "die_holding_claims":
        await store.claim_event("EvDead", lease_seconds=float(arg))
        await store.claim_due(worker, lease_seconds=float(arg))
        print("claimed", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    await store.close()
    print(json.dumps(out))

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]))
"""


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as database:
        yield database


def run_workers(mode: str, url: str, count: int, arg: str = "") -> list[list[int]]:
    """Start `count` workers together; return what each printed as its result."""
    barrier = tempfile.mkdtemp(prefix="workers-")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, mode, url, f"worker-{n}", f"{barrier}|{count}", arg],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        for n in range(count)
    ]
    results = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr
            results.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(barrier, ignore_errors=True)
    return results


async def migrated(url: str) -> None:
    store = open_store(url)
    try:
        await store.migrate()
    finally:
        await store.close()


def count_version_rows(url: str) -> int:
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0])
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()
        assert row is not None
        return int(row[0])


class TestAcrossProcesses:
    """Several processes on one database behave like one careful process."""

    def test_concurrent_start_migrates_once(self, url: str) -> None:
        """Four replicas starting at once all end at the latest schema, applied once."""
        versions = run_workers("migrate", url, 4)
        assert versions == [[LATEST_VERSION]] * 4
        assert count_version_rows(url) == len(MIGRATIONS)

    def test_outbox_rows_are_delivered_by_exactly_one_worker(self, url: str) -> None:
        """Three delivery workers draining one outbox never take the same row."""

        async def fill() -> list[int]:
            store = open_store(url)
            await store.migrate()
            ids = [await store.enqueue("dm", {"n": n}, f"k{n}") for n in range(300)]
            await store.close()
            return ids

        ids = asyncio.run(fill())
        claimed = run_workers("deliver", url, 3)
        everything = [item for batch in claimed for item in batch]
        assert sorted(everything) == sorted(ids)  # each row once, none missed
        assert sum(1 for batch in claimed if batch) >= 2, "the workers did not overlap"

        async def check() -> None:
            store = open_store(url)
            for item_id in ids:
                item = await store.get_outbox_item(item_id)
                assert item is not None
                assert (item.state, item.attempts) == ("delivered", 1)
            await store.close()

        asyncio.run(check())

    def test_each_event_is_claimed_by_one_process(self, url: str) -> None:
        """Three replicas racing for the same 150 events handle each exactly once."""
        asyncio.run(migrated(url))
        won = run_workers("claim_events", url, 3, "150")
        everything = [n for batch in won for n in batch]
        assert sorted(everything) == list(range(150))

    def test_claims_of_a_killed_process_are_handed_over(self, url: str) -> None:
        """A process killed (SIGKILL) while holding claims: after the lease, others take over,
        and never before."""

        async def prepare() -> None:
            store = open_store(url)
            await store.migrate()
            await store.enqueue("intake_post", {"request_id": 1}, "intake:1")
            await store.close()

        asyncio.run(prepare())
        lease = 3.0
        process = subprocess.run(
            [sys.executable, "-c", WORKER, "die_holding_claims", url, "doomed", "", str(lease)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            cwd=REPO,
            timeout=60,
            check=False,
        )
        assert process.returncode == -signal.SIGKILL
        assert process.stdout.startswith("claimed")
        died_at = time.monotonic()

        async def take_over() -> None:
            store = open_store(url)
            try:
                assert await store.claim_event("EvDead") is False
                assert await store.claim_due("rescuer") == []
                await asyncio.sleep(max(0.0, lease + 0.2 - (time.monotonic() - died_at)))
                assert await store.claim_event("EvDead") is True
                [item] = await store.claim_due("rescuer")
                assert (item.payload, item.attempts) == ({"request_id": 1}, 2)
            finally:
                await store.close()

        asyncio.run(take_over())
