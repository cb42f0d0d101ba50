"""cache.guard and the in-process bucket: rate limit, Retry-After, breaker; clocks injected, no sleeping."""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline.cache.breaker import BreakerState, CircuitBreaker
from pipeline.cache.guard import GuardedEnricher
from pipeline.cache.ratelimit import LocalBucket, RateLimiter
from pipeline.events import Event, Failed, Found, Outcome, Target
from tests.fakes.clock import FakeClock
from tests.fakes.ports import closed_port


class Scripted:
    """A real enricher answering from a script of outcomes, counting calls."""

    name, title = "scripted", "Scripted"

    def __init__(self, outcomes: list[Outcome]) -> None:
        self.outcomes = outcomes
        self.calls = 0

    def targets(self, event: Event) -> list[Target]:
        return []

    async def lookup(self, value: str) -> Outcome:
        self.calls += 1
        return self.outcomes.pop(0)

    def fragment(self, target: Target, found: Found) -> Event:
        return {}

    def summary_rows(self, found: Found) -> list[tuple[str, Any]]:
        return []

    async def aclose(self) -> None:
        return None


def limiter(clock: FakeClock, rate: float = 1.0, burst: int = 1, max_wait: float = 10.0) -> RateLimiter:
    return RateLimiter("scripted", rate, burst, max_wait, client=None, sleep=clock.async_sleep, clock=clock)


def test_bucket_gives_the_burst_then_one_token_per_interval() -> None:
    clock = FakeClock()
    bucket = LocalBucket(rate=2.0, burst=2, clock=clock)
    assert bucket.take() == 0 and bucket.take() == 0
    assert bucket.take() == 0.5
    clock.now += 0.5
    assert bucket.take() == 0


def test_retry_after_blocks_the_provider_for_that_long() -> None:
    clock = FakeClock()
    bucket = LocalBucket(rate=100.0, burst=100, clock=clock)
    bucket.block(2.0)
    assert bucket.take() == 2.0
    clock.now += 2.0
    assert bucket.take() == 0


def test_a_429_delays_the_next_call_by_its_retry_after() -> None:
    clock = FakeClock()
    inner = Scripted([Failed("http 429", retry_after=2.0), Found({"ok": True})])
    guarded = GuardedEnricher(inner, limiter(clock, rate=100, burst=100), CircuitBreaker(clock=clock))
    assert asyncio.run(guarded.lookup("a")) == Failed("http 429", retry_after=2.0)
    assert asyncio.run(guarded.lookup("b")) == Found({"ok": True})
    assert clock.slept == [2.0]  # held back exactly the Retry-After, once


def test_waiting_longer_than_allowed_fails_without_calling() -> None:
    clock = FakeClock()
    inner = Scripted([Found({}), Found({})])
    guarded = GuardedEnricher(inner, limiter(clock, rate=0.1, burst=1, max_wait=5), CircuitBreaker(clock=clock))
    asyncio.run(guarded.lookup("a"))
    assert asyncio.run(guarded.lookup("b")) == Failed("rate limited")
    assert inner.calls == 1


def test_breaker_opens_after_failures_then_recovers() -> None:
    clock = FakeClock()
    inner = Scripted([Failed("http 500"), Failed("http 500"), Found({"ok": 1})])
    breaker = CircuitBreaker(failure_threshold=2, reset_after=30, clock=clock)
    guarded = GuardedEnricher(inner, limiter(clock, rate=1000, burst=1000), breaker)
    asyncio.run(guarded.lookup("a"))
    asyncio.run(guarded.lookup("b"))
    assert guarded.breaker_state is BreakerState.OPEN
    assert asyncio.run(guarded.lookup("c")) == Failed("circuit open")
    assert inner.calls == 2
    clock.now += 31
    assert asyncio.run(guarded.lookup("d")) == Found({"ok": 1})
    assert guarded.breaker_state is BreakerState.CLOSED


def test_a_wrong_key_pauses_the_provider_and_input_problems_do_not_count() -> None:
    clock = FakeClock()
    inner = Scripted([Failed("not an IP address")] * 10 + [Failed("unauthorized")])
    breaker = CircuitBreaker(failure_threshold=5, reset_after=30, clock=clock)
    guarded = GuardedEnricher(inner, limiter(clock, rate=1000, burst=1000), breaker)
    for _ in range(10):
        asyncio.run(guarded.lookup("x"))
    assert guarded.breaker_state is BreakerState.CLOSED
    asyncio.run(guarded.lookup("1.2.3.4"))
    assert guarded.breaker_state is BreakerState.OPEN
    clock.now += 599
    assert asyncio.run(guarded.lookup("1.2.3.5")) == Failed("circuit open")


def test_without_the_shared_redis_external_calls_are_skipped_and_marked() -> None:
    import redis.asyncio

    port = closed_port()

    async def scenario() -> tuple[Outcome, int]:
        client = redis.asyncio.Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.5)
        inner = Scripted([Found({})])
        guarded = GuardedEnricher(inner, RateLimiter("scripted", 10, 10, 1, client=client), CircuitBreaker())
        outcome = await guarded.lookup("1.2.3.4")
        await client.aclose()
        return outcome, inner.calls

    outcome, calls = asyncio.run(scenario())
    assert outcome == Failed("redis unavailable", transient=True)
    assert calls == 0
