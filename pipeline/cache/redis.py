"""Redis as the shared cache, and the lock that keeps one external call in flight per key across processes.

When Redis is unreachable, lookups go on without it (counted, logged once): reads miss, writes are dropped and
``lock`` answers None, so the cached enricher falls back to its in-process single-flight.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

import redis.asyncio
from redis.exceptions import RedisError

from pipeline.cache.base import Cache, CacheStats
from pipeline.cache.memory import MemoryCache
from pipeline.cache.tiered import TieredCache
from pipeline.config import Settings
from pipeline.errors import DependencyError

__all__ = ["RedisCache", "open_cache", "check_redis"]

log = logging.getLogger(__name__)

# Delete the lock only if it still holds our token: a holder whose lock expired must not free someone else's.
_UNLOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class RedisCache:
    def __init__(self, url: str, password: str | None = None, socket_timeout: float = 1.0) -> None:
        self._client = redis.asyncio.Redis.from_url(
            url, password=password, socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout, decode_responses=True,
        )
        self.stats = CacheStats()
        self._down = False

    async def get(self, key: str) -> str | None:
        try:
            value: str | None = await self._client.get(key)
        except (RedisError, OSError) as exc:
            self._note_error(exc)
            return None
        self._note_ok()
        if value is None:
            self.stats.misses += 1
        else:
            self.stats.hits += 1
        return value

    async def get_many(self, keys: Sequence[str]) -> dict[str, str | None]:
        """One MGET for all ``keys``."""
        if not keys:
            return {}
        try:
            values: list[str | None] = await self._client.mget(list(keys))
        except (RedisError, OSError) as exc:
            self._note_error(exc)
            return dict.fromkeys(keys)
        self._note_ok()
        found = sum(value is not None for value in values)
        self.stats.hits += found
        self.stats.misses += len(values) - found
        return dict(zip(keys, values, strict=True))

    async def set(self, key: str, value: str, ttl: timedelta) -> None:
        try:
            await self._client.set(key, value, ex=max(1, int(ttl.total_seconds())))
        except (RedisError, OSError) as exc:
            self._note_error(exc)
            return
        self._note_ok()
        self.stats.writes += 1

    async def lock(self, key: str, token: str, ttl: timedelta) -> bool | None:
        """``SET key token NX PX ttl``; None when Redis does not answer."""
        try:
            taken = await self._client.set(key, token, nx=True, px=max(1, int(ttl.total_seconds() * 1000)))
        except (RedisError, OSError) as exc:
            self._note_error(exc)
            return None
        self._note_ok()
        return bool(taken)

    async def unlock(self, key: str, token: str) -> None:
        """Compare-and-delete in one Lua script. If Redis is away, the lock expires by itself."""
        try:
            await self._client.eval(_UNLOCK, 1, key, token)
        except (RedisError, OSError) as exc:
            self._note_error(exc)
            return
        self._note_ok()

    def _note_error(self, exc: Exception) -> None:
        self.stats.errors += 1
        if not self._down:
            self._down = True
            log.warning("Redis cache unavailable (%s); looking up without the shared cache",
                        type(exc).__name__)

    def _note_ok(self) -> None:
        if self._down:
            self._down = False
            log.warning("Redis cache is back")

    async def aclose(self) -> None:
        await self._client.aclose()


def open_cache(settings: Settings) -> Cache:
    """The cache the settings ask for."""
    if settings.cache.backend == "memory":
        return MemoryCache(settings.cache.memory_max_entries)
    password = settings.redis.password.get_secret_value() if settings.redis.password else None
    # A small in-process LRU in front of Redis: repeated values never leave the process.
    return TieredCache(MemoryCache(settings.cache.memory_max_entries),
                       RedisCache(settings.redis.url, password, settings.redis.socket_timeout))


def check_redis(settings: Settings) -> None:
    """Fail at start, with the setting's name, when Redis does not answer."""
    import redis as sync_redis

    password = settings.redis.password.get_secret_value() if settings.redis.password else None
    client = sync_redis.Redis.from_url(settings.redis.url, password=password,
                                       socket_connect_timeout=settings.redis.socket_timeout)
    try:
        client.ping()
    except (RedisError, OSError) as exc:
        raise DependencyError(f"redis.url: Redis does not answer ({type(exc).__name__}: {exc})") from None
    finally:
        client.close()
