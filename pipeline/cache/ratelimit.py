"""Shared rate limits per provider: a token bucket in Redis, made atomic by a Lua script.

Every worker and process asks the same bucket, so the pipeline as a whole stays under a provider's limit.
A 429's Retry-After blocks the provider for everyone until then. If the configured Redis cannot be
reached, the shared limit cannot be kept, so ``acquire`` refuses (the guard skips the call and marks the
event) until Redis answers again; without Redis configured (embedded mode) a per-process bucket is used.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import redis.asyncio
from redis.exceptions import RedisError

__all__ = ["RateLimiter", "LocalBucket", "REDIS_UNAVAILABLE", "RATE_LIMITED"]

REDIS_UNAVAILABLE = "redis unavailable"
RATE_LIMITED = "rate limited"

log = logging.getLogger(__name__)

# KEYS[1] bucket; ARGV: rate per second, burst. Returns milliseconds to wait (0: a token was taken).
# Server time (TIME) keeps every process on one clock.
_TAKE = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'until')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
local blocked = tonumber(state[3]) or 0
if blocked > now then return blocked - now end
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 60000)
return wait
"""
# KEYS[1] bucket; ARGV[1]: milliseconds nobody may call the provider (a Retry-After).
_BLOCK = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local blocked = now + tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'until')) or 0
if blocked > current then redis.call('HSET', KEYS[1], 'until', blocked) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) + 60000)
return blocked
"""


class LocalBucket:
    """The same token bucket in process memory (the fallback, and for runs without Redis)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate, self._burst, self._clock = rate, burst, clock
        self._tokens = float(burst)
        self._at = clock()
        self._blocked_until = 0.0

    def take(self) -> float:
        """Seconds to wait; 0 means a token was taken."""
        now = self._clock()
        if self._blocked_until > now:
            return self._blocked_until - now
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self._rate

    def block(self, seconds: float) -> None:
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)


class RateLimiter:
    """``await acquire()`` before each call to the provider; ``await block(s)`` after a 429."""

    def __init__(self, provider: str, rate: float, burst: int, max_wait: float,
                 client: redis.asyncio.Redis | None = None, key_prefix: str = "botes",
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._key = f"{key_prefix}:ratelimit:{provider}"
        self._provider = provider
        self._rate, self._burst, self._max_wait = rate, burst, max_wait
        self._client = client
        self._local = LocalBucket(rate, burst, clock)
        self._sleep = sleep
        self._redis_down = False
        self.waited = 0.0  # total seconds lookups waited for their turn (a metric)

    async def acquire(self) -> str | None:
        """Wait for a token. None when granted, else why not: "rate limited" when the wait would pass
        ``max_wait``, "redis unavailable" when the shared limit cannot be asked."""
        waited = 0.0
        while True:
            wait = await self._take()
            if wait is None:
                return REDIS_UNAVAILABLE
            if wait <= 0:
                self.waited += waited
                return None
            if waited + wait > self._max_wait:
                return RATE_LIMITED
            await self._sleep(wait)
            waited += wait

    async def block(self, seconds: float) -> None:
        if self._client is None:
            self._local.block(seconds)
        else:
            try:
                await self._client.eval(_BLOCK, 1, self._key, str(int(seconds * 1000)))  # type: ignore[misc]
            except (RedisError, OSError) as exc:
                self._note_redis_down(exc)

    async def _take(self) -> float | None:
        """Seconds to wait (0: a token was taken), or None when the shared bucket cannot be reached."""
        if self._client is None:
            return self._local.take()
        try:
            milliseconds = await self._client.eval(_TAKE, 1, self._key, str(self._rate), str(self._burst))  # type: ignore[misc]
        except (RedisError, OSError) as exc:
            self._note_redis_down(exc)
            return None
        if self._redis_down:
            self._redis_down = False
            log.warning("%s rate limit: Redis is back; external lookups resume", self._provider)
        return float(milliseconds) / 1000

    def _note_redis_down(self, exc: Exception) -> None:
        if not self._redis_down:
            self._redis_down = True
            log.warning("%s rate limit: Redis unavailable (%s); external lookups skipped until it is back",
                        self._provider, type(exc).__name__)
