"""Two tiers: a small in-process LRU (near) in front of a shared cache (far, Redis).

Writes go to both with the same TTL. A read tries the near tier first; a far hit is copied into the near tier
for the rest of its life (the stored value says when it was fetched and for how long), so the near tier never
answers for longer than the shared one would.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TypeVar

from pipeline.cache.base import Cache, CacheStats, remaining_seconds
from pipeline.cache.memory import MemoryCache

__all__ = ["TieredCache"]

T = TypeVar("T")


class TieredCache:
    def __init__(self, near: MemoryCache, far: Cache, wall_clock: Callable[[], float] = time.time) -> None:
        self.near = near
        self.far = far
        self._wall_clock = wall_clock
        self.stats = CacheStats()

    async def get(self, key: str) -> str | None:
        return (await self.get_many([key]))[key]

    async def get_many(self, keys: Sequence[str]) -> dict[str, str | None]:
        found = await self.near.get_many(keys)
        missing = [key for key, value in found.items() if value is None]
        if missing:
            far = await self.far.get_many(missing)
            self.stats.errors = self.far.stats.errors
            for key, value in far.items():
                if value is not None:
                    await self._promote(key, value)
                found[key] = value
        hits = sum(value is not None for value in found.values())
        self.stats.hits += hits
        self.stats.misses += len(found) - hits
        return found

    def get_decoded_many(self, keys: Sequence[str], decode: Callable[[str], T]) -> list[T] | None:
        """The near tier's values of ``keys``, decoded, all or nothing (``MemoryCache.get_decoded_many``)."""
        found = self.near.get_decoded_many(keys, decode)
        if found is not None:
            self.stats.hits += len(found)
        return found

    async def set(self, key: str, value: str, ttl: timedelta) -> None:
        await self.near.set(key, value, ttl)
        await self.far.set(key, value, ttl)
        self.stats.writes += 1
        self.stats.errors = self.far.stats.errors

    async def lock(self, key: str, token: str, ttl: timedelta) -> bool | None:
        return await self.far.lock(key, token, ttl)

    async def unlock(self, key: str, token: str) -> None:
        await self.far.unlock(key, token)

    async def aclose(self) -> None:
        await self.near.aclose()
        await self.far.aclose()

    async def _promote(self, key: str, value: str) -> None:
        left = remaining_seconds(value, self._wall_clock())
        if left is not None and left > 0:  # values that do not say how long they live stay far only
            await self.near.set(key, value, timedelta(seconds=left))
