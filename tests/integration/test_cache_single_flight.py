"""Single-flight across processes: two OS processes, 100 concurrent lookups each, for the same 50 values,
through the real Redis and a real HTTP enricher against the loopback provider: exactly 50 calls reach it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.cache.redis import RedisCache
from tests.fakes.provider import ProviderServer, Reply

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
VALUES = 50
LOOKUPS_PER_PROCESS = 100


def test_two_processes_make_one_call_per_value(services: object, provider: ProviderServer) -> None:
    for i in range(VALUES):
        # Slow enough that both processes' lookups of a value overlap.
        provider.reply(f"/item/k{i:03d}", Reply(body=json.dumps({"n": i}).encode(), hang=0.3))
    prefix = f"t{uuid.uuid4().hex[:10]}"
    command = [sys.executable, "-m", "tests.fakes.single_flight_worker", os.environ["BOTES_REDIS__URL"], prefix,
               provider.url, str(LOOKUPS_PER_PROCESS), str(VALUES)]
    workers = [subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready", worker.stderr
        for worker in workers:  # start both at once
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = []
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    for outcomes in results:
        assert len(outcomes) == LOOKUPS_PER_PROCESS
        assert outcomes == [{"found": {"n": i % VALUES}} for i in range(LOOKUPS_PER_PROCESS)]
    calls = provider.calls()
    assert len(calls) == VALUES
    assert sorted(c.path for c in calls) == [f"/item/k{i:03d}" for i in range(VALUES)]


def test_the_lock_is_exclusive_and_freed_only_by_its_holder(services: object) -> None:
    async def run() -> None:
        cache = RedisCache(os.environ["BOTES_REDIS__URL"])
        key = f"t{uuid.uuid4().hex[:10]}:item:v1:k:lock"
        try:
            assert await cache.lock(key, "mine", timedelta(seconds=30)) is True
            assert await cache.lock(key, "theirs", timedelta(seconds=30)) is False
            await cache.unlock(key, "theirs")  # not theirs to free
            assert await cache.lock(key, "theirs", timedelta(seconds=30)) is False
            await cache.unlock(key, "mine")
            assert await cache.lock(key, "theirs", timedelta(seconds=30)) is True
            await cache.unlock(key, "theirs")
            assert await cache.lock(key, "brief", timedelta(milliseconds=50)) is True
            await asyncio.sleep(0.2)  # a holder that never releases: the lock expires
            assert await cache.lock(key, "next", timedelta(seconds=30)) is True
            await cache.unlock(key, "next")
        finally:
            await cache.aclose()

    asyncio.run(run())


def test_get_many_reads_every_key_at_once(services: object) -> None:
    async def run() -> None:
        cache = RedisCache(os.environ["BOTES_REDIS__URL"])
        prefix = f"t{uuid.uuid4().hex[:10]}"
        try:
            await cache.set(f"{prefix}:a", "1", timedelta(minutes=1))
            await cache.set(f"{prefix}:c", "3", timedelta(minutes=1))
            keys = [f"{prefix}:{k}" for k in "abc"]
            assert await cache.get_many(keys) == dict(zip(keys, ["1", None, "3"], strict=True))
            assert await cache.get_many([]) == {}
            assert (cache.stats.hits, cache.stats.misses, cache.stats.errors) == (2, 1, 0)
        finally:
            await cache.aclose()

    asyncio.run(run())
