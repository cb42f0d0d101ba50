"""pipeline.cache.cached: at most one call in flight per value, in a process and across processes.

The clock and the poll sleep are injected: waiting for another process's answer moves a fake clock, it does
not sleep. The cross-process lock is played by a cache whose ``lock`` answers what the test says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta

import pytest

from pipeline.cache.base import Cache, encode_outcome
from pipeline.cache.cached import WAIT_TIMED_OUT, CachedEnricher
from pipeline.cache.memory import MemoryCache
from pipeline.cache.redis import RedisCache
from pipeline.events import Event, Failed, Found, NotFound, Outcome, Target
from tests.fakes.clock import FakeClock

TTL = timedelta(hours=1)
KEY = "botes:gated:v1:8.8.8.8"


class GatedEnricher:
    """Answers only when the test opens the gate, so callers pile up on one value."""

    name = "gated"
    title = "Gated"

    def __init__(self, outcome: Outcome | None = None) -> None:
        self.outcome = outcome if outcome is not None else Found({"n": 1})
        self.gate = asyncio.Event()
        self.called = asyncio.Event()  # set by the first call
        self.calls: list[str] = []
        self.error: Exception | None = None

    def targets(self, event: Event) -> Iterable[Target]:
        return []

    async def lookup(self, value: str) -> Outcome:
        self.calls.append(value)
        self.called.set()
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        return self.outcome

    def fragment(self, target: Target, found: Found) -> Event:
        return {}

    def summary_rows(self, found: Found) -> list[tuple[str, object]]:
        return []

    async def aclose(self) -> None:
        return None


class SharedLockCache(MemoryCache):
    """A memory cache standing in for a shared one: ``lock`` answers from ``answers`` (then the last one)."""

    def __init__(self, clock: FakeClock, answers: list[bool | None]) -> None:
        super().__init__(clock=clock)
        self.answers = answers
        self.locks: list[tuple[str, str]] = []
        self.unlocks: list[tuple[str, str]] = []
        # What "another process" stores while we wait: (after this many sleeps, value).
        self.peer_writes_after: int | None = None
        self.peer_value = encode_outcome(Found({"from": "peer"}))
        self.clock = clock

    async def lock(self, key: str, token: str, ttl: timedelta) -> bool | None:
        self.locks.append((key, token))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    async def unlock(self, key: str, token: str) -> None:
        self.unlocks.append((key, token))

    async def get(self, key: str) -> str | None:
        if self.peer_writes_after is not None and len(self.clock.slept) >= self.peer_writes_after:
            await self.set(key, self.peer_value, TTL)
            self.peer_writes_after = None
        return await super().get(key)


def wrap(inner: GatedEnricher, cache: Cache, clock: FakeClock, wait: float = 3.0) -> CachedEnricher:
    return CachedEnricher(inner, cache, "botes", TTL, timedelta(minutes=10), single_flight_wait=wait,
                          clock=clock, sleep=clock.async_sleep)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


class TestInProcess:
    def test_concurrent_misses_for_one_value_share_one_call(self) -> None:
        async def run() -> None:
            clock = FakeClock()
            inner = GatedEnricher()
            cached = wrap(inner, MemoryCache(clock=clock), clock)
            waiting = [asyncio.ensure_future(cached.lookup("8.8.8.8")) for _ in range(20)]
            await settle()
            assert inner.calls == ["8.8.8.8"]
            inner.gate.set()
            assert await asyncio.gather(*waiting) == [Found({"n": 1})] * 20
            assert inner.calls == ["8.8.8.8"]
            assert cached._in_flight == {}

        asyncio.run(run())

    def test_different_values_do_not_wait_for_each_other(self) -> None:
        async def run() -> None:
            clock = FakeClock()
            inner = GatedEnricher()
            cached = wrap(inner, MemoryCache(clock=clock), clock)
            waiting = [asyncio.ensure_future(cached.lookup(v)) for v in ("a", "b", "a", "c")]
            await settle()
            assert sorted(inner.calls) == ["a", "b", "c"]
            inner.gate.set()
            await asyncio.gather(*waiting)

        asyncio.run(run())

    def test_a_cancelled_caller_leaves_the_call_running_for_the_others(self) -> None:
        async def run() -> None:
            clock = FakeClock()
            inner = GatedEnricher()
            cached = wrap(inner, MemoryCache(clock=clock), clock)
            first = asyncio.ensure_future(cached.lookup("8.8.8.8"))
            second = asyncio.ensure_future(cached.lookup("8.8.8.8"))
            await settle()
            first.cancel()
            await settle()
            inner.gate.set()
            assert await second == Found({"n": 1})
            assert first.cancelled()
            assert inner.calls == ["8.8.8.8"]

        asyncio.run(run())

    def test_a_bug_reaches_every_waiter_and_is_not_cached(self) -> None:
        async def run() -> None:
            clock = FakeClock()
            inner = GatedEnricher()
            inner.error = KeyError("bug")
            cache = MemoryCache(clock=clock)
            cached = wrap(inner, cache, clock)
            waiting = [asyncio.ensure_future(cached.lookup("8.8.8.8")) for _ in range(3)]
            await settle()
            inner.gate.set()
            results = await asyncio.gather(*waiting, return_exceptions=True)
            assert all(isinstance(r, KeyError) for r in results)
            assert cache.stats.writes == 0
            assert cached._in_flight == {}

        asyncio.run(run())

    def test_a_shared_failure_is_returned_to_all_and_cached(self) -> None:
        async def run() -> None:
            clock = FakeClock()
            inner = GatedEnricher(Failed("http 503"))
            cached = wrap(inner, MemoryCache(clock=clock), clock)
            waiting = [asyncio.ensure_future(cached.lookup("8.8.8.8")) for _ in range(5)]
            await settle()
            inner.gate.set()
            assert await asyncio.gather(*waiting) == [Failed("http 503")] * 5
            assert await cached.lookup("8.8.8.8") == Failed("http 503")
            assert inner.calls == ["8.8.8.8"]

        asyncio.run(run())


class TestAcrossProcesses:
    def test_the_lock_holder_calls_and_releases_with_its_token(self) -> None:
        async def run() -> None:
            clock = FakeClock()
            cache = SharedLockCache(clock, [True])
            inner = GatedEnricher()
            inner.gate.set()
            assert await wrap(inner, cache, clock).lookup("8.8.8.8") == Found({"n": 1})
            assert inner.calls == ["8.8.8.8"]
            assert [k for k, _ in cache.locks] == [f"{KEY}:lock"]
            assert cache.unlocks == cache.locks
            assert clock.slept == []

        asyncio.run(run())

    def test_a_value_stored_by_the_previous_holder_is_used(self) -> None:
        class HandedOver(SharedLockCache):
            async def lock(self, key: str, token: str, ttl: timedelta) -> bool | None:
                # The previous holder stored its answer and let go between our read and our lock.
                await MemoryCache.set(self, KEY, self.peer_value, TTL)
                return await super().lock(key, token, ttl)

        async def run() -> None:
            clock = FakeClock()
            cache = HandedOver(clock, [True])
            inner = GatedEnricher()
            assert await wrap(inner, cache, clock).lookup("8.8.8.8") == Found({"from": "peer"})
            assert inner.calls == []
            assert cache.unlocks == cache.locks

        asyncio.run(run())

    def test_a_waiter_gets_the_value_another_process_stores(self) -> None:
        async def run() -> None:
            clock = FakeClock()
            cache = SharedLockCache(clock, [False])
            cache.peer_writes_after = 3
            inner = GatedEnricher()
            assert await wrap(inner, cache, clock).lookup("8.8.8.8") == Found({"from": "peer"})
            assert inner.calls == []
            assert cache.unlocks == []
            assert clock.slept == [0.01, 0.02, 0.04]  # a short, growing backoff

        asyncio.run(run())

    def test_a_waiter_gives_up_after_the_bound(self) -> None:
        async def run() -> None:
            clock = FakeClock()
            cache = SharedLockCache(clock, [False])
            inner = GatedEnricher()
            cached = wrap(inner, cache, clock, wait=2.0)
            assert await cached.lookup("8.8.8.8") == Failed(WAIT_TIMED_OUT)
            assert inner.calls == []
            assert sum(clock.slept) == pytest.approx(2.0)
            assert max(clock.slept) == 0.2
            assert cache.stats.writes == 0  # our own give-up is not the source's answer: not cached

        asyncio.run(run())

    def test_a_lock_left_by_a_crashed_holder_expires_and_is_taken(self) -> None:
        async def run() -> None:
            clock = FakeClock()
            cache = SharedLockCache(clock, [False, False, True])
            inner = GatedEnricher()
            inner.gate.set()
            assert await wrap(inner, cache, clock).lookup("8.8.8.8") == Found({"n": 1})
            assert inner.calls == ["8.8.8.8"]
            assert len(cache.locks) == 3
            assert cache.unlocks == cache.locks[-1:]

        asyncio.run(run())

    def test_redis_away_falls_back_to_in_process_single_flight(self) -> None:
        async def run() -> None:
            clock = FakeClock()
            # Nothing listens on port 1 of loopback: every Redis call fails at once.
            cache = RedisCache("redis://127.0.0.1:1/0", socket_timeout=0.5)
            inner = GatedEnricher()
            cached = wrap(inner, cache, clock)
            waiting = [asyncio.ensure_future(cached.lookup("8.8.8.8")) for _ in range(10)]
            await asyncio.wait_for(inner.called.wait(), 30)  # a bound for a broken fallback, not a measurement
            inner.gate.set()
            assert await asyncio.gather(*waiting) == [Found({"n": 1})] * 10
            assert inner.calls == ["8.8.8.8"]
            assert await cache.get_many(["a", "b"]) == {"a": None, "b": None}
            assert await cache.lock("a:lock", "t", TTL) is None
            await cache.unlock("a:lock", "t")
            assert cache.stats.errors > 0
            await cache.aclose()

        asyncio.run(run())


def test_not_found_is_shared_like_found() -> None:
    async def run() -> None:
        clock = FakeClock()
        inner = GatedEnricher(NotFound())
        cached = wrap(inner, MemoryCache(clock=clock), clock)
        waiting = [asyncio.ensure_future(cached.lookup("x")) for _ in range(4)]
        await settle()
        inner.gate.set()
        assert await asyncio.gather(*waiting) == [NotFound()] * 4
        assert inner.calls == ["x"]

    asyncio.run(run())
