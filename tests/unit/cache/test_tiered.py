"""pipeline.cache.tiered: the in-process LRU in front of the shared cache, with the shared cache's TTLs."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from pipeline.cache.base import encode_outcome
from pipeline.cache.memory import MemoryCache
from pipeline.cache.tiered import TieredCache
from pipeline.events import Found, NotFound


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Far(MemoryCache):
    """The shared tier, recording each batched read."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.batches: list[list[str]] = []

    async def get_many(self, keys: Sequence[str]) -> dict[str, str | None]:
        self.batches.append(list(keys))
        return await super().get_many(keys)


def tiers(max_entries: int = 100) -> tuple[TieredCache, MemoryCache, Far, Clock, Clock]:
    mono, wall = Clock(1000.0), Clock(1_700_000_000.0)
    near, far = MemoryCache(max_entries, clock=mono), Far(mono)
    return TieredCache(near, far, wall_clock=wall), near, far, mono, wall


def test_a_write_goes_to_both_tiers() -> None:
    cache, near, far, _, _ = tiers()
    asyncio.run(cache.set("k", "v", timedelta(minutes=1)))
    assert asyncio.run(near.get("k")) == "v"
    assert asyncio.run(far.get("k")) == "v"


def test_near_hits_never_ask_the_far_tier() -> None:
    cache, near, far, _, _ = tiers()
    asyncio.run(cache.set("a", "1", timedelta(minutes=1)))
    assert asyncio.run(cache.get_many(["a"])) == {"a": "1"}
    assert far.batches == []
    assert (cache.stats.hits, cache.stats.misses) == (1, 0)


def test_misses_go_to_the_far_tier_in_one_batch() -> None:
    cache, near, far, _, _ = tiers()
    asyncio.run(cache.set("a", "1", timedelta(minutes=1)))
    assert asyncio.run(cache.get_many(["b", "a", "c"])) == {"b": None, "a": "1", "c": None}
    assert far.batches == [["b", "c"]]
    assert (cache.stats.hits, cache.stats.misses) == (1, 2)


def test_a_far_hit_lives_in_the_near_tier_no_longer_than_in_the_far_one() -> None:
    cache, near, far, mono, wall = tiers()
    # Another process stored it 100 s ago for 300 s: 200 s are left.
    value = encode_outcome(Found({"n": 1}), now=wall.now - 100, ttl=timedelta(seconds=300))
    asyncio.run(far.set("k", value, timedelta(seconds=200)))
    assert asyncio.run(cache.get("k")) == value
    mono.now += 199
    assert asyncio.run(near.get("k")) == value
    mono.now += 2
    assert asyncio.run(near.get("k")) is None


def test_a_far_value_that_does_not_say_its_ttl_stays_far_only() -> None:
    cache, near, far, _, wall = tiers()
    asyncio.run(far.set("k", encode_outcome(NotFound(), now=wall.now), timedelta(seconds=60)))
    assert asyncio.run(cache.get("k")) is not None
    assert asyncio.run(near.get("k")) is None


def test_the_near_tier_is_bounded() -> None:
    cache, near, far, _, _ = tiers(max_entries=2)
    for key in "abc":
        asyncio.run(cache.set(key, key, timedelta(minutes=1)))
    assert [asyncio.run(near.get(k)) for k in "abc"] == [None, "b", "c"]
    assert asyncio.run(cache.get("a")) == "a"  # still shared


def test_locks_are_the_far_tiers() -> None:
    cache, _, _, _, _ = tiers()
    assert asyncio.run(cache.lock("k:lock", "t", timedelta(seconds=1))) is None  # memory: no shared lock
    asyncio.run(cache.unlock("k:lock", "t"))
    asyncio.run(cache.aclose())


def test_decoded_reads_come_from_the_near_tier_only() -> None:
    cache, near, far, _, _ = tiers()
    asyncio.run(cache.set("a", "1", timedelta(minutes=1)))
    asyncio.run(far.set("far-only", "2", timedelta(minutes=1)))
    assert cache.get_decoded_many(["a"], int) == [1]
    assert cache.get_decoded_many(["a", "far-only"], int) is None  # the far tier needs I/O: not asked
    assert far.batches == []
    assert cache.stats.hits == 1
