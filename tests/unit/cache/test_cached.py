"""pipeline.cache.cached: cache-aside around an enricher; Found for ttl, NotFound for negative ttl, Failed never."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from datetime import timedelta

import pytest

from pipeline.cache.base import SCHEMA_VERSION, cache_key, decode_outcome, encode_outcome, remaining_seconds
from pipeline.cache.cached import CachedEnricher, with_cache
from pipeline.cache.memory import MemoryCache
from pipeline.config import AssetsSettings, GeoIPSettings, Settings
from pipeline.events import Event, Failed, Found, NotFound, Outcome, Target

TTL = timedelta(hours=1)
NEGATIVE_TTL = timedelta(minutes=10)
FAILURE_TTL = timedelta(seconds=60)


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


class CountingEnricher:
    """A real enricher answering from a dict and counting how often each value is looked up."""

    name = "fake"
    title = "Fake"

    def __init__(self, answers: dict[str, Outcome]) -> None:
        self.answers = answers
        self.calls: list[str] = []
        self.closed = False

    def targets(self, event: Event) -> Iterable[Target]:
        value = event.get("source", {}).get("ip")
        return [Target("source", value)] if value else []

    async def lookup(self, value: str) -> Outcome:
        self.calls.append(value)
        return self.answers.get(value, NotFound())

    def fragment(self, target: Target, found: Found) -> Event:
        return {target.field: {"fake": found.data}}

    def summary_rows(self, found: Found) -> list[tuple[str, object]]:
        return []

    async def aclose(self) -> None:
        self.closed = True


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(clock: FakeClock) -> MemoryCache:
    return MemoryCache(clock=clock)


def wrap(inner: CountingEnricher, cache: MemoryCache) -> CachedEnricher:
    return CachedEnricher(inner, cache, "botes", TTL, NEGATIVE_TTL, failure_ttl=FAILURE_TTL)


def lookup(enricher: CachedEnricher, value: str) -> Outcome:
    return asyncio.run(enricher.lookup(value))


class TestCacheKey:
    def test_format(self) -> None:
        assert SCHEMA_VERSION == 1
        assert cache_key("botes", "geoip", "81.2.69.160") == "botes:geoip:v1:81.2.69.160"
        assert cache_key("lab", "assets", "fd00:10::10") == "lab:assets:v1:fd00:10::10"

    def test_outcome_round_trip(self) -> None:
        data = {"geo": {"city_name": "Linköping", "location": {"lat": 58.4, "lon": 15.6}}}
        assert decode_outcome(encode_outcome(Found(data), now=1.0)) == Found(data)
        assert decode_outcome(encode_outcome(NotFound(), now=1.0)) == NotFound()
        assert decode_outcome(encode_outcome(NotFound(), now=1.0).encode()) == NotFound()

    def test_failure_round_trip(self) -> None:
        assert decode_outcome(encode_outcome(Failed("http 503", retry_after=9.0), now=1.0)) == Failed("http 503")

    def test_remaining_life(self) -> None:
        raw = encode_outcome(Found({"a": 1}), now=100.0, ttl=timedelta(seconds=60))
        assert remaining_seconds(raw, 130.0) == 30.0
        assert remaining_seconds(encode_outcome(NotFound(), now=100.0), 130.0) is None  # written without a TTL

    def test_encoded_form(self) -> None:
        assert json.loads(encode_outcome(Failed("timeout"), now=7, ttl=timedelta(seconds=60))) == {
            "d": None, "e": "timeout", "t": 7, "x": 60}
        assert json.loads(encode_outcome(Found({"a": 1}), now=1470864581.4)) == {"d": {"a": 1}, "t": 1470864581}
        assert json.loads(encode_outcome(NotFound(), now=7)) == {"d": None, "t": 7}


class TestCachedEnricher:
    def test_found_is_cached_for_the_ttl(self, cache: MemoryCache, clock: FakeClock) -> None:
        inner = CountingEnricher({"81.2.69.160": Found({"city": "London"})})
        cached = wrap(inner, cache)
        assert lookup(cached, "81.2.69.160") == Found({"city": "London"})
        # Past the negative TTL but inside the TTL: still served from the cache.
        clock.now += NEGATIVE_TTL.total_seconds() + 1
        assert lookup(cached, "81.2.69.160") == Found({"city": "London"})
        assert inner.calls == ["81.2.69.160"]
        # Past the TTL: looked up again.
        clock.now += TTL.total_seconds()
        assert lookup(cached, "81.2.69.160") == Found({"city": "London"})
        assert inner.calls == ["81.2.69.160", "81.2.69.160"]

    def test_not_found_is_cached_for_the_negative_ttl(self, cache: MemoryCache, clock: FakeClock) -> None:
        inner = CountingEnricher({})
        cached = wrap(inner, cache)
        assert lookup(cached, "8.8.8.8") == NotFound()
        clock.now += NEGATIVE_TTL.total_seconds() - 1
        assert lookup(cached, "8.8.8.8") == NotFound()
        assert inner.calls == ["8.8.8.8"]
        # Past the negative TTL (and still well inside the positive one): looked up again.
        clock.now += 2
        assert lookup(cached, "8.8.8.8") == NotFound()
        assert inner.calls == ["8.8.8.8", "8.8.8.8"]

    def test_failed_is_cached_for_the_failure_ttl_and_comes_back_failed(self, cache: MemoryCache,
                                                                        clock: FakeClock) -> None:
        inner = CountingEnricher({"1.2.3.4": Failed("http 503")})
        cached = wrap(inner, cache)
        assert lookup(cached, "1.2.3.4") == Failed("http 503")
        clock.now += FAILURE_TTL.total_seconds() - 1
        assert lookup(cached, "1.2.3.4") == Failed("http 503")  # from the cache, with its reason
        assert inner.calls == ["1.2.3.4"]
        clock.now += 2
        assert lookup(cached, "1.2.3.4") == Failed("http 503")
        assert inner.calls == ["1.2.3.4", "1.2.3.4"]

    def test_a_longer_retry_after_keeps_the_failure_longer(self, cache: MemoryCache, clock: FakeClock) -> None:
        inner = CountingEnricher({"1.2.3.4": Failed("http 429", retry_after=600.0)})
        cached = wrap(inner, cache)
        assert lookup(cached, "1.2.3.4") == Failed("http 429", retry_after=600.0)  # the caller sees it all
        clock.now += 599
        assert lookup(cached, "1.2.3.4") == Failed("http 429")
        assert inner.calls == ["1.2.3.4"]
        clock.now += 2
        lookup(cached, "1.2.3.4")
        assert inner.calls == ["1.2.3.4", "1.2.3.4"]

    def test_a_shorter_retry_after_still_keeps_the_failure_ttl(self, cache: MemoryCache, clock: FakeClock
                                                               ) -> None:
        inner = CountingEnricher({"1.2.3.4": Failed("http 429", retry_after=5.0)})
        cached = wrap(inner, cache)
        lookup(cached, "1.2.3.4")
        clock.now += FAILURE_TTL.total_seconds() - 1
        assert lookup(cached, "1.2.3.4") == Failed("http 429")
        assert inner.calls == ["1.2.3.4"]

    def test_stored_values_say_when_and_for_how_long(self, cache: MemoryCache) -> None:
        cached = wrap(CountingEnricher({"a": Found({"n": 1}), "f": Failed("timeout")}), cache)
        lookup(cached, "a")
        lookup(cached, "b")
        lookup(cached, "f")
        stored = {v: json.loads(asyncio.run(cache.get(f"botes:fake:v1:{v}")) or "") for v in "abf"}
        assert {v: (s["d"], s.get("e"), s["x"]) for v, s in stored.items()} == {
            "a": ({"n": 1}, None, TTL.total_seconds()),
            "b": (None, None, NEGATIVE_TTL.total_seconds()),
            "f": (None, "timeout", FAILURE_TTL.total_seconds()),
        }
        assert all(isinstance(s["t"], int) for s in stored.values())

    def test_entry_is_stored_under_the_documented_key(self, cache: MemoryCache) -> None:
        cached = wrap(CountingEnricher({"81.2.69.160": Found({"city": "London"})}), cache)
        lookup(cached, "81.2.69.160")
        stored = asyncio.run(cache.get("botes:fake:v1:81.2.69.160"))
        assert stored is not None
        assert decode_outcome(stored) == Found({"city": "London"})

    def test_value_written_by_someone_else_is_used(self, cache: MemoryCache) -> None:
        # A shared cache: another worker already stored the answer.
        asyncio.run(cache.set("botes:fake:v1:10.0.0.1", encode_outcome(Found({"from": "peer"})), TTL))
        inner = CountingEnricher({})
        assert lookup(wrap(inner, cache), "10.0.0.1") == Found({"from": "peer"})
        assert inner.calls == []

    def test_sources_do_not_share_entries(self, cache: MemoryCache) -> None:
        first = CountingEnricher({"10.0.0.1": Found({"n": 1})})
        lookup(wrap(first, cache), "10.0.0.1")

        class Other(CountingEnricher):
            name = "other"

        second = Other({"10.0.0.1": Found({"n": 2})})
        assert lookup(wrap(second, cache), "10.0.0.1") == Found({"n": 2})
        assert second.calls == ["10.0.0.1"]

    def test_delegates_name_targets_fragment_and_aclose(self, cache: MemoryCache) -> None:
        inner = CountingEnricher({})
        cached = wrap(inner, cache)
        assert cached.name == "fake"
        assert list(cached.targets({"source": {"ip": "10.0.0.1"}})) == [Target("source", "10.0.0.1")]
        assert cached.fragment(Target("source", "10.0.0.1"), Found({"a": 1})) == {"source": {"fake": {"a": 1}}}
        asyncio.run(cached.aclose())
        assert inner.closed


class TestWithCache:
    class GeoIP(CountingEnricher):
        name = "geoip"

    class Assets(CountingEnricher):
        name = "assets"

    def test_wraps_sources_whose_settings_ask_for_the_cache(self, cache: MemoryCache, clock: FakeClock
                                                            ) -> None:
        settings = Settings(geoip=GeoIPSettings(cache=True, ttl=timedelta(days=7), negative_ttl=timedelta(days=1)),
                            assets=AssetsSettings(cache=False))
        geoip, assets = self.GeoIP({}), self.Assets({})
        wrapped = with_cache([geoip, assets], cache, settings)
        assert isinstance(wrapped[0], CachedEnricher)
        assert wrapped[1] is assets
        # The wrapper uses the source's own negative TTL (1 day) and the redis key prefix.
        asyncio.run(wrapped[0].lookup("8.8.8.8"))
        assert asyncio.run(cache.get(f"{settings.redis.key_prefix}:geoip:v1:8.8.8.8")) is not None
        clock.now += timedelta(hours=23).total_seconds()
        asyncio.run(wrapped[0].lookup("8.8.8.8"))
        assert geoip.calls == ["8.8.8.8"]
        clock.now += timedelta(hours=2).total_seconds()
        asyncio.run(wrapped[0].lookup("8.8.8.8"))
        assert geoip.calls == ["8.8.8.8", "8.8.8.8"]

    def test_passes_the_failure_ttl_and_the_single_flight_wait(self, cache: MemoryCache) -> None:
        settings = Settings(geoip=GeoIPSettings(failure_ttl=timedelta(seconds=90), timeout=4.0))
        wrapped = with_cache([self.GeoIP({})], cache, settings)[0]
        assert isinstance(wrapped, CachedEnricher)
        assert (wrapped._failure_ttl, wrapped._wait) == (timedelta(seconds=90), 5.0)  # wait: timeout + 1
        settings = Settings(geoip=GeoIPSettings(single_flight_wait=0.5))
        wrapped = with_cache([self.GeoIP({})], cache, settings)[0]
        assert isinstance(wrapped, CachedEnricher)
        assert wrapped._wait == 0.5


class TestLookupMany:
    class CountingCache(MemoryCache):
        def __init__(self, clock: FakeClock) -> None:
            super().__init__(clock=clock)
            self.batches: list[list[str]] = []

        async def get_many(self, keys: Sequence[str]) -> dict[str, str | None]:
            self.batches.append(list(keys))
            return await super().get_many(keys)

    def test_one_batched_read_then_calls_for_the_missing_values_only(self, clock: FakeClock) -> None:
        cache = self.CountingCache(clock)
        asyncio.run(cache.set("botes:fake:v1:10.0.0.1", encode_outcome(Found({"from": "cache"})), TTL))
        inner = CountingEnricher({"10.0.0.2": Found({"from": "source"})})
        cached = wrap(inner, cache)
        outcomes = asyncio.run(cached.lookup_many(["10.0.0.2", "10.0.0.1", "10.0.0.3", "10.0.0.2"]))
        assert outcomes == {"10.0.0.2": Found({"from": "source"}), "10.0.0.1": Found({"from": "cache"}),
                            "10.0.0.3": NotFound()}
        assert list(outcomes) == ["10.0.0.2", "10.0.0.1", "10.0.0.3"]
        assert cache.batches == [["botes:fake:v1:10.0.0.2", "botes:fake:v1:10.0.0.1", "botes:fake:v1:10.0.0.3"]]
        assert sorted(inner.calls) == ["10.0.0.2", "10.0.0.3"]

    def test_no_values(self, cache: MemoryCache) -> None:
        assert asyncio.run(wrap(CountingEnricher({}), cache).lookup_many([])) == {}


def test_a_found_answer_with_its_own_ttl_is_cached_no_longer_than_that() -> None:
    import asyncio
    from datetime import timedelta

    from pipeline.cache.cached import CachedEnricher
    from pipeline.cache.memory import MemoryCache
    from pipeline.events import Found

    class ShortLived:
        name, title = "short", "Short"
        calls = 0

        def targets(self, event: object) -> list[object]:
            return []

        async def lookup(self, value: str) -> Found:
            ShortLived.calls += 1
            return Found({"v": value}, ttl=30)

        def fragment(self, target: object, found: Found) -> dict[str, object]:
            return {}

        def summary_rows(self, found: Found) -> list[tuple[str, object]]:
            return []

        async def aclose(self) -> None:
            return None

    now = [0.0]
    cache = MemoryCache(clock=lambda: now[0])
    cached = CachedEnricher(ShortLived(), cache, "t", timedelta(hours=1), timedelta(minutes=5))  # type: ignore[arg-type]
    asyncio.run(cached.lookup("a"))
    now[0] = 29
    asyncio.run(cached.lookup("a"))
    assert ShortLived.calls == 1  # still cached
    now[0] = 31
    asyncio.run(cached.lookup("a"))
    assert ShortLived.calls == 2  # the record's 30 s passed, although the source's ttl is an hour


class TestAnswerNow:
    """The in-process tier answers without I/O, or says it cannot."""

    def test_after_a_lookup_the_answer_is_in_memory(self, cache: MemoryCache) -> None:
        inner = CountingEnricher({"81.2.69.160": Found({"city": "London"})})
        cached = wrap(inner, cache)
        assert cached.answer_now(["81.2.69.160"]) is None  # nothing cached yet: ask lookup
        lookup(cached, "81.2.69.160")
        assert cached.answer_now(["81.2.69.160", "81.2.69.160"]) == {"81.2.69.160": Found({"city": "London"})}
        assert inner.calls == ["81.2.69.160"]

    def test_not_found_and_failed_are_answers_too(self, cache: MemoryCache) -> None:
        cached = wrap(CountingEnricher({"1.2.3.4": Failed("http 503")}), cache)
        lookup(cached, "1.2.3.4")
        lookup(cached, "8.8.8.8")
        assert cached.answer_now(["1.2.3.4", "8.8.8.8"]) == {"1.2.3.4": Failed("http 503"), "8.8.8.8": NotFound()}

    def test_one_unknown_value_means_no_answer(self, cache: MemoryCache) -> None:
        cached = wrap(CountingEnricher({}), cache)
        lookup(cached, "8.8.8.8")
        assert cached.answer_now(["8.8.8.8", "9.9.9.9"]) is None

    def test_expired_answer_is_not_given(self, cache: MemoryCache, clock: FakeClock) -> None:
        cached = wrap(CountingEnricher({}), cache)
        lookup(cached, "8.8.8.8")
        clock.now += NEGATIVE_TTL.total_seconds()
        assert cached.answer_now(["8.8.8.8"]) is None

    def test_a_cache_without_an_in_process_tier_never_answers(self) -> None:
        class FarOnly(MemoryCache):
            get_decoded_many = None  # type: ignore[assignment]

        cached = CachedEnricher(CountingEnricher({}), FarOnly(), "botes", TTL, NEGATIVE_TTL)
        lookup(cached, "8.8.8.8")
        assert cached.answer_now(["8.8.8.8"]) is None


class LocalEnricher(CountingEnricher):
    """A local source (an mmdb, a table): it answers in memory as well as through lookup."""

    def __init__(self, answers: dict[str, Outcome]) -> None:
        super().__init__(answers)
        self.answered: list[str] = []

    def answer_now(self, values: Sequence[str]) -> dict[str, Outcome]:
        self.answered.extend(values)
        return {value: self.answers.get(value, NotFound()) for value in values}


class TestLocalSourceBehindTheMemoryCache:
    def test_a_miss_is_answered_in_memory_and_stored_like_a_lookup(self, cache: MemoryCache,
                                                                    clock: FakeClock) -> None:
        inner = LocalEnricher({"81.2.69.160": Found({"city": "London"})})
        cached = wrap(inner, cache)
        assert cached.answer_now(["81.2.69.160", "8.8.8.8"]) == {"81.2.69.160": Found({"city": "London"}),
                                                                 "8.8.8.8": NotFound()}
        assert cached.answer_now(["81.2.69.160", "8.8.8.8"]) is not None
        assert inner.answered == ["81.2.69.160", "8.8.8.8"]  # the second time from the cache
        assert inner.calls == []
        assert (cached.metrics.calls, cached.metrics.found, cached.metrics.not_found) == (2, 1, 1)
        # Stored for the same TTLs as a lookup stores them.
        clock.now += NEGATIVE_TTL.total_seconds()
        cached.answer_now(["81.2.69.160", "8.8.8.8"])
        assert inner.answered == ["81.2.69.160", "8.8.8.8", "8.8.8.8"]
        assert lookup(cached, "81.2.69.160") == Found({"city": "London"})
        assert inner.calls == []

    def test_behind_a_shared_tier_the_lookup_path_stores_it(self) -> None:
        from pipeline.cache.tiered import TieredCache

        inner = LocalEnricher({"81.2.69.160": Found({"city": "London"})})
        far = MemoryCache()
        cached = CachedEnricher(inner, TieredCache(MemoryCache(), far), "botes", TTL, NEGATIVE_TTL)
        assert cached.answer_now(["81.2.69.160"]) is None
        lookup(cached, "81.2.69.160")
        assert asyncio.run(far.get(cache_key("botes", "fake", "81.2.69.160"))) is not None
        assert cached.answer_now(["81.2.69.160"]) == {"81.2.69.160": Found({"city": "London"})}
