"""Redis as the shared cache, and the lock that keeps one external call in flight per key across processes.

When Redis is unreachable, lookups go on without it (counted, logged once): reads miss, writes are dropped and
``lock`` answers None, so the cached enricher falls back to its in-process single-flight.
"""

from __future__ import annotations

import asyncio
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
    """Reads made in the same turn of the event loop (or within ``batch_window`` seconds), from any number
    of events in flight, go to Redis together as one MGET."""

    def __init__(self, url: str, password: str | None = None, socket_timeout: float = 1.0,
                 batch_window: float = 0.0) -> None:
        self._client = redis.asyncio.Redis.from_url(
            url, password=password, socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout, decode_responses=True,
        )
        self.stats = CacheStats()
        self._down = False
        self._batch_window = batch_window
        self._waiting: list[tuple[list[str], asyncio.Future[dict[str, str | None]]]] = []
        self.round_trips = 0  # MGETs sent (a metric: reads per round trip = (hits + misses) / round_trips)

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
        """The values of ``keys``, read together with every other read of the same batch window."""
        if not keys:
            return {}
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, str | None]] = loop.create_future()
        if not self._waiting:
            loop.call_later(self._batch_window, self._start_reading)
        self._waiting.append((list(keys), future))
        return await future

    def _start_reading(self) -> None:
        asyncio.ensure_future(self._read_waiting())

    async def _read_waiting(self) -> None:
        waiting, self._waiting = self._waiting, []
        keys = list(dict.fromkeys(key for request, _ in waiting for key in request))
        values: dict[str, str | None] = dict.fromkeys(keys)
        try:
            self.round_trips += 1
            values = dict(zip(keys, await self._client.mget(keys), strict=True))
            self._note_ok()
        except (RedisError, OSError) as exc:
            self._note_error(exc)
        finally:
            for request, future in waiting:
                if not future.done():
                    answer = {key: values[key] for key in request}
                    found = sum(value is not None for value in answer.values())
                    self.stats.hits += found
                    self.stats.misses += len(answer) - found
                    future.set_result(answer)

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
