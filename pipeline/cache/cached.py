"""Cache-aside around any enricher, with at most one external call in flight per value.

Found answers are kept for the source's TTL (or the answer's own, if shorter), "not found" for its negative TTL
and failures for its failure TTL (or the Retry-After the source asked for, if longer), so a broken source is
not called again for every value. A cached failure comes back as ``Failed`` with its reason.

Single-flight: concurrent misses for one value in a process await one shared task; across processes the
caller that takes the value's lock in the shared cache calls the source, and the others poll for the value it
stores, giving up with ``Failed("single-flight wait timed out")`` after ``single_flight_wait`` seconds. With no
shared lock (memory backend, or Redis away) only the in-process part applies.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import timedelta

import redis.asyncio

from pipeline.cache.base import Cache, cache_key, decode_outcome, encode_outcome, lock_key
from pipeline.cache.breaker import CircuitBreaker
from pipeline.cache.guard import GuardedEnricher
from pipeline.cache.memory import MemoryCache
from pipeline.cache.metrics import SourceMetrics
from pipeline.cache.ratelimit import RateLimiter
from pipeline.cache.wrapper import EnricherWrapper
from pipeline.config import ApiSourceSettings, Settings, SourceSettings
from pipeline.enrich.base import Enricher, answer_now
from pipeline.events import Failed, Found, NotFound, Outcome

__all__ = ["CachedEnricher", "with_cache", "guarded", "WAIT_TIMED_OUT"]

# The reason a lookup gives when another process's call of the same value did not answer in time.
WAIT_TIMED_OUT = "single-flight wait timed out"

_FIRST_POLL = 0.01  # seconds before the first look for another process's answer; doubles up to _LAST_POLL
_LAST_POLL = 0.2


class CachedEnricher(EnricherWrapper):
    """Same interface as the enricher it wraps, plus ``lookup_many`` (one cache round trip for many values)."""

    def __init__(self, inner: Enricher, cache: Cache, prefix: str, ttl: timedelta, negative_ttl: timedelta,
                 *, failure_ttl: timedelta = timedelta(seconds=60), single_flight_wait: float = 3.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        super().__init__(inner)
        self._cache = cache
        self._prefix = prefix
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._failure_ttl = failure_ttl
        self._wait = single_flight_wait
        self._clock = clock
        self._sleep = sleep
        self._in_flight: dict[str, asyncio.Task[Outcome]] = {}
        self.metrics = SourceMetrics()

    async def lookup(self, value: str) -> Outcome:
        return (await self.lookup_many([value]))[value]

    def answer_now(self, values: Sequence[str]) -> dict[str, Outcome] | None:
        """Every value's cached outcome from the in-process tier, without I/O; None if one is not there.
        The outcomes are shared with every other event that asked: read-only (``merge_into`` copies)."""
        get_decoded_many = getattr(self._cache, "get_decoded_many", None)
        if get_decoded_many is None:
            return None
        keys = [cache_key(self._prefix, self.name, value) for value in values]
        outcomes: list[Outcome] | None = get_decoded_many(keys, decode_outcome)
        if outcomes is not None:
            return dict(zip(values, outcomes, strict=True))
        return self._answer_locally(values, keys)

    def _answer_locally(self, values: Sequence[str], keys: list[str]) -> dict[str, Outcome] | None:
        """With nothing shared behind the in-process cache (embedded mode) a local source (an mmdb, a table)
        answers its misses right here, and they are stored as a lookup would store them: there is no other
        process to share them with, nothing to wait for. Behind a shared tier the lookup path does it, so the
        shared tier gets every answer."""
        cache = self._cache
        if not isinstance(cache, MemoryCache) or getattr(self._inner, "answer_now", None) is None:
            return None
        outcomes: dict[str, Outcome] = {}
        for value, key in zip(values, keys, strict=True):
            stored = cache.get_decoded_many([key], decode_outcome)
            if stored is not None:
                outcomes[value] = stored[0]
                continue
            started = time.monotonic()
            answers = answer_now(self._inner, [value])
            if answers is None:
                return None
            cache.stats.misses += 1
            outcome = outcomes[value] = answers[value]
            self._record(outcome, time.monotonic() - started)
            ttl = self._ttl_of(outcome)
            if ttl > timedelta(0):
                cache.put(key, encode_outcome(outcome, ttl=ttl), ttl)
        return outcomes

    async def lookup_many(self, values: Sequence[str]) -> dict[str, Outcome]:
        """Each distinct value's outcome: one batched cache read, then one shared call per missing value."""
        keys = {value: cache_key(self._prefix, self.name, value) for value in dict.fromkeys(values)}
        stored = await self._cache.get_many(list(keys.values()))
        outcomes: dict[str, Outcome] = {}
        missing: list[str] = []
        for value, key in keys.items():
            raw = stored.get(key)
            if raw is None:
                missing.append(value)
            else:
                outcomes[value] = decode_outcome(raw)
        if missing:
            fetched = await asyncio.gather(*(self._shared_fetch(value, keys[value]) for value in missing))
            outcomes.update(zip(missing, fetched, strict=True))
        return {value: outcomes[value] for value in keys}

    async def _shared_fetch(self, value: str, key: str) -> Outcome:
        """In-process single-flight: the first miss starts the work, later ones await the same task."""
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._fetch(value, key))
            self._in_flight[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        # A caller that is cancelled (an operator timeout) leaves the call running for the others.
        return await asyncio.shield(task)

    def _forget(self, key: str, task: asyncio.Task[Outcome]) -> None:
        if self._in_flight.get(key) is task:
            del self._in_flight[key]
        if not task.cancelled():
            task.exception()  # retrieved: whoever awaited it has seen it

    async def _fetch(self, value: str, key: str) -> Outcome:
        """Across processes: call the source under the value's lock, or wait for whoever holds it."""
        deadline = self._clock() + self._wait
        delay = _FIRST_POLL
        token = uuid.uuid4().hex
        while True:
            taken = await self._cache.lock(lock_key(key), token, timedelta(seconds=self._wait))
            if taken is None:  # no lock shared between processes: in-process single-flight only
                return await self._stored_or_call(value, key)
            if taken:
                try:
                    return await self._stored_or_call(value, key)
                finally:
                    await self._cache.unlock(lock_key(key), token)
            left = deadline - self._clock()
            if left <= 0:
                return Failed(WAIT_TIMED_OUT)
            await self._sleep(min(delay, left))
            delay = min(delay * 2, _LAST_POLL)
            raw = await self._cache.get(key)
            if raw is not None:
                return decode_outcome(raw)

    async def _stored_or_call(self, value: str, key: str) -> Outcome:
        # Whoever called before us (another process, or the previous task here) may have stored it just now.
        raw = await self._cache.get(key)
        if raw is not None:
            return decode_outcome(raw)
        started = time.monotonic()
        outcome = await self._inner.lookup(value)
        self._record(outcome, time.monotonic() - started)
        ttl = self._ttl_of(outcome)
        if ttl > timedelta(0):
            await self._cache.set(key, encode_outcome(outcome, ttl=ttl), ttl)
        return outcome

    def _record(self, outcome: Outcome, seconds: float) -> None:
        if isinstance(outcome, Found):
            self.metrics.record("found", seconds)
        elif isinstance(outcome, NotFound):
            self.metrics.record("not_found", seconds)
        else:
            self.metrics.record("failed", seconds, outcome.reason)

    def _ttl_of(self, outcome: Outcome) -> timedelta:
        if isinstance(outcome, Found):
            return min(self._ttl, timedelta(seconds=outcome.ttl)) if outcome.ttl is not None else self._ttl
        if isinstance(outcome, NotFound):
            return self._negative_ttl
        if outcome.transient:
            return timedelta(0)
        return max(self._failure_ttl, timedelta(seconds=outcome.retry_after or 0))


def guarded(enricher: Enricher, settings: Settings) -> Enricher:
    """A paid API behind its shared rate limit (Redis when the cache uses Redis) and a circuit breaker;
    any other source as it is."""
    source = getattr(settings, enricher.name)
    if not isinstance(source, ApiSourceSettings):
        return enricher
    client = None
    if settings.cache.backend == "redis":
        password = settings.redis.password.get_secret_value() if settings.redis.password else None
        client = redis.asyncio.Redis.from_url(settings.redis.url, password=password,
                                              socket_timeout=settings.redis.socket_timeout,
                                              socket_connect_timeout=settings.redis.socket_timeout)
    limiter = RateLimiter(enricher.name, source.rate, source.burst, source.rate_limit_wait, client,
                          settings.redis.key_prefix)
    return GuardedEnricher(enricher, limiter, CircuitBreaker(source.breaker_failures, source.breaker_reset))


def with_cache(enrichers: Iterable[Enricher], cache: Cache, settings: Settings) -> list[Enricher]:
    """Each enricher whose source settings ask for the cache, wrapped in it; paid APIs also get their
    rate limit and breaker, between the cache and the source."""
    wrapped: list[Enricher] = []
    for enricher in enrichers:
        source: SourceSettings = getattr(settings, enricher.name)
        enricher = guarded(enricher, settings)
        wait = source.single_flight_wait if source.single_flight_wait is not None else source.timeout + 1
        wrapped.append(
            CachedEnricher(enricher, cache, settings.redis.key_prefix, source.ttl, source.negative_ttl,
                           failure_ttl=source.failure_ttl, single_flight_wait=wait)
            if source.cache else enricher
        )
    return wrapped
