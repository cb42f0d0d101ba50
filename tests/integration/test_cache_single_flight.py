"""Single-flight across processes: two OS processes, 100 lookups each, of the same 50 values, through the real
Redis and a real HTTP enricher against the loopback provider: exactly 50 calls reach it, and each process
really waited on the other's locks (the provider holds every answer until both are waiting)."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.cache.redis import RedisCache
from tests.fakes.provider import ProviderServer, Reply

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
VALUES = [f"k{i:03d}" for i in range(50)]
FIRST, SECOND = VALUES[:25], VALUES[25:]
TIMEOUT = 120.0  # a bound for a broken implementation, not a measurement


class Worker:
    """One tests/fakes/single_flight_worker process; its stdout lines are collected as they come."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def read_until(self, done: Callable[[], bool], what: str) -> None:
        """Collect output lines into ``seen`` until ``done()``; fail the test after TIMEOUT seconds."""
        deadline = time.monotonic() + TIMEOUT
        while not done():
            if time.monotonic() > deadline or (self.lines.empty() and self.process.poll() is not None):
                stderr = self.process.stderr.read() if self.process.poll() is not None and self.process.stderr else ""
                pytest.fail(f"worker: no {what}; its output so far: {self.seen[-5:]} {stderr}")
            try:
                self.seen.append(self.lines.get(timeout=0.5))
            except queue.Empty:
                continue

    def outcomes(self) -> list[dict[str, object]]:
        self.read_until(lambda: any(line.startswith("[") for line in self.seen), "outcomes line")
        return list(json.loads(next(line for line in self.seen if line.startswith("["))))

    def waited_on(self) -> set[str]:
        """The values whose lock this worker found held by the other (from its ``waited`` lines)."""
        return {match.group(0) for line in self.seen if line.startswith("waited ")
                for match in [re.search(r"k\d{3}", line)] if match}


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_two_processes_make_one_call_per_value(services: object, provider: ProviderServer) -> None:
    gate = threading.Event()  # every answer is held until both processes wait on each other's locks
    for i, value in enumerate(VALUES):
        provider.reply(f"/item/{value}", Reply(body=json.dumps({"n": i}).encode(), gate=gate))
    prefix = f"t{uuid.uuid4().hex[:10]}"
    command = [sys.executable, "-m", "tests.fakes.single_flight_worker", os.environ["BOTES_REDIS__URL"], prefix,
               provider.url]
    a, b = Worker(command), Worker(command)
    try:
        for worker in (a, b):
            worker.read_until(lambda w=worker: "ready" in w.seen, "ready line")
        # A takes the locks of the first 25 values and calls for them; then B those of the other 25.
        a.send("lookup " + " ".join(FIRST * 2))
        until(lambda: len(provider.calls()) == 25, "A's 25 calls")
        b.send("lookup " + " ".join(SECOND * 2))
        until(lambda: len(provider.calls()) == 50, "B's 25 calls")
        # Now each looks up the values whose calls the other has in flight: both must wait, not call.
        a.send("lookup " + " ".join(SECOND * 2))
        b.send("lookup " + " ".join(FIRST * 2))
        for worker, values in ((a, SECOND), (b, FIRST)):
            worker.read_until(lambda w=worker, v=values: w.waited_on() >= set(v), "wait on the other's locks")
        assert len(provider.calls()) == 50  # nobody called while the locks were held
        gate.set()
        results = []
        for worker in (a, b):
            worker.send("finish")
            results.append(worker.outcomes())
            assert worker.process.wait(TIMEOUT) == 0
    finally:
        gate.set()
        for worker in (a, b):
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()
    n = {value: i for i, value in enumerate(VALUES)}
    assert results[0] == [{"found": {"n": n[v]}} for v in FIRST * 2 + SECOND * 2]
    assert results[1] == [{"found": {"n": n[v]}} for v in SECOND * 2 + FIRST * 2]
    assert a.waited_on() == set(SECOND) and b.waited_on() == set(FIRST)
    calls = provider.calls()
    assert sorted(c.path for c in calls) == [f"/item/{value}" for value in VALUES]  # one call per value


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
