"""Politeness in front of a paid API: the shared rate limit, Retry-After, and a circuit breaker.

It sits between the cache and the source, so only real calls to the provider pass through it.
"""

from __future__ import annotations

import logging

from pipeline.cache.breaker import BreakerState, CircuitBreaker
from pipeline.cache.ratelimit import REDIS_UNAVAILABLE, RateLimiter
from pipeline.cache.wrapper import EnricherWrapper
from pipeline.enrich.base import Enricher
from pipeline.events import Failed, Outcome

__all__ = ["GuardedEnricher", "UNAUTHORIZED_PAUSE"]

log = logging.getLogger(__name__)

UNAUTHORIZED_PAUSE = 600.0  # a wrong key will not fix itself soon: stop calling for ten minutes


def _is_input_problem(failure: Failed) -> bool:
    """A value the source refused before calling ("not an IP address"): says nothing of the provider."""
    return failure.reason.startswith("not ")


class GuardedEnricher(EnricherWrapper):
    def __init__(self, inner: Enricher, limiter: RateLimiter, breaker: CircuitBreaker) -> None:
        super().__init__(inner)
        self._limiter = limiter
        self._breaker = breaker

    @property
    def breaker_state(self) -> BreakerState:
        return self._breaker.state

    @property
    def rate_limit_waited(self) -> float:
        """Seconds lookups have waited for the provider's rate limit."""
        return self._limiter.waited

    async def lookup(self, value: str) -> Outcome:
        refused = await self._limiter.acquire()
        if refused is not None:
            return Failed(refused, transient=refused == REDIS_UNAVAILABLE)
        if not self._breaker.allow():
            return Failed("circuit open")
        outcome = await self._inner.lookup(value)
        if isinstance(outcome, Failed) and not _is_input_problem(outcome):
            await self._record_failure(outcome)
        else:
            self._breaker.record_success()
        return outcome

    async def _record_failure(self, failure: Failed) -> None:
        if failure.retry_after:
            await self._limiter.block(failure.retry_after)
        was_closed = self._breaker.state is BreakerState.CLOSED
        self._breaker.record_failure(open_for=UNAUTHORIZED_PAUSE if failure.reason == "unauthorized" else None)
        if was_closed and self._breaker.state is BreakerState.OPEN:
            log.warning("%s: circuit breaker open after failures (last: %s); calls paused", self.name,
                        failure.reason)
