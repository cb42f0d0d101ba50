"""pipeline.cache.memory: TTL expiry on an injected clock, and a least-recently-used size bound."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from pipeline.cache.memory import MemoryCache


class FakeClock:
    """Monotonic seconds that only move when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def get(cache: MemoryCache, key: str) -> str | None:
    return asyncio.run(cache.get(key))


def put(cache: MemoryCache, key: str, value: str, ttl: timedelta = timedelta(minutes=1)) -> None:
    asyncio.run(cache.set(key, value, ttl))


class TestTtl:
    def test_value_lives_until_its_ttl(self) -> None:
        clock = FakeClock()
        cache = MemoryCache(clock=clock)
        put(cache, "k", "v", timedelta(seconds=60))
        clock.advance(59.999)
        assert get(cache, "k") == "v"

    def test_value_expires_at_its_ttl(self) -> None:
        clock = FakeClock()
        cache = MemoryCache(clock=clock)
        put(cache, "k", "v", timedelta(seconds=60))
        clock.advance(60)
        assert get(cache, "k") is None

    def test_each_key_has_its_own_ttl(self) -> None:
        clock = FakeClock()
        cache = MemoryCache(clock=clock)
        put(cache, "short", "s", timedelta(seconds=10))
        put(cache, "long", "l", timedelta(hours=1))
        clock.advance(11)
        assert get(cache, "short") is None
        assert get(cache, "long") == "l"

    def test_set_again_renews_value_and_ttl(self) -> None:
        clock = FakeClock()
        cache = MemoryCache(clock=clock)
        put(cache, "k", "old", timedelta(seconds=10))
        clock.advance(8)
        put(cache, "k", "new", timedelta(seconds=10))
        clock.advance(8)
        assert get(cache, "k") == "new"

    def test_zero_ttl_is_never_returned(self) -> None:
        cache = MemoryCache(clock=FakeClock())
        put(cache, "k", "v", timedelta(0))
        assert get(cache, "k") is None

    def test_missing_key(self) -> None:
        assert get(MemoryCache(clock=FakeClock()), "nope") is None


class TestSizeBound:
    def test_oldest_entry_goes_first(self) -> None:
        cache = MemoryCache(max_entries=2, clock=FakeClock())
        put(cache, "a", "1")
        put(cache, "b", "2")
        put(cache, "c", "3")
        assert get(cache, "a") is None
        assert get(cache, "b") == "2"
        assert get(cache, "c") == "3"

    def test_a_read_makes_an_entry_recent(self) -> None:
        cache = MemoryCache(max_entries=2, clock=FakeClock())
        put(cache, "a", "1")
        put(cache, "b", "2")
        assert get(cache, "a") == "1"  # a is now more recent than b
        put(cache, "c", "3")
        assert get(cache, "b") is None
        assert get(cache, "a") == "1"
        assert get(cache, "c") == "3"

    def test_rewriting_a_key_makes_it_recent_without_growing(self) -> None:
        cache = MemoryCache(max_entries=2, clock=FakeClock())
        put(cache, "a", "1")
        put(cache, "b", "2")
        put(cache, "a", "1b")
        put(cache, "c", "3")
        assert get(cache, "b") is None
        assert get(cache, "a") == "1b"

    def test_bound_of_one(self) -> None:
        cache = MemoryCache(max_entries=1, clock=FakeClock())
        for i in range(5):
            put(cache, f"k{i}", str(i))
        assert [get(cache, f"k{i}") for i in range(5)] == [None, None, None, None, "4"]


class TestStats:
    def test_hits_misses_writes(self) -> None:
        clock = FakeClock()
        cache = MemoryCache(clock=clock)
        put(cache, "k", "v", timedelta(seconds=5))
        get(cache, "k")
        get(cache, "other")
        clock.advance(5)
        get(cache, "k")  # expired: a miss
        assert (cache.stats.hits, cache.stats.misses, cache.stats.writes, cache.stats.errors) == (1, 2, 1, 0)


def test_aclose_empties_the_cache() -> None:
    cache = MemoryCache(clock=FakeClock())
    put(cache, "k", "v")
    asyncio.run(cache.aclose())
    assert get(cache, "k") is None


class TestGetDecodedMany:
    """The fast path's read: synchronous, all or nothing, each stored value decoded once."""

    def test_all_present_decoded_once_and_shared(self) -> None:
        cache = MemoryCache(clock=FakeClock())
        put(cache, "a", '{"n": 1}')
        put(cache, "b", '{"n": 2}')
        decoded: list[str] = []

        def decode(raw: str) -> dict[str, int]:
            decoded.append(raw)
            return dict(json.loads(raw))

        first = cache.get_decoded_many(["a", "b"], decode)
        second = cache.get_decoded_many(["b", "a"], decode)
        assert first == [{"n": 1}, {"n": 2}]
        assert second is not None and second[1] is first[0]  # the same object, not decoded again
        assert decoded == ['{"n": 1}', '{"n": 2}']
        assert cache.stats.hits == 4

    def test_one_missing_gives_none_and_counts_nothing(self) -> None:
        cache = MemoryCache(clock=FakeClock())
        put(cache, "a", "1")
        assert cache.get_decoded_many(["a", "absent"], int) is None
        # The caller reads both again through get_many, which counts them: nothing counted twice.
        assert (cache.stats.hits, cache.stats.misses) == (0, 0)

    def test_expired_is_missing_and_rewritten_value_is_decoded_anew(self) -> None:
        clock = FakeClock()
        cache = MemoryCache(clock=clock)
        put(cache, "k", "1", timedelta(seconds=5))
        assert cache.get_decoded_many(["k"], int) == [1]
        put(cache, "k", "2", timedelta(seconds=5))
        assert cache.get_decoded_many(["k"], int) == [2]
        clock.advance(5)
        assert cache.get_decoded_many(["k"], int) is None

    def test_counts_as_a_use_for_the_size_bound(self) -> None:
        cache = MemoryCache(max_entries=2, clock=FakeClock())
        put(cache, "a", "1")
        put(cache, "b", "2")
        assert cache.get_decoded_many(["a"], int) == [1]  # a is now more recent than b
        put(cache, "c", "3")
        assert get(cache, "b") is None
        assert get(cache, "a") == "1"
