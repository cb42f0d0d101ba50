"""An in-process cache with TTLs and a size bound (least recently used goes first): the near tier."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import timedelta

from pipeline.cache.base import CacheStats

__all__ = ["MemoryCache"]


class MemoryCache:
    def __init__(self, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock
        self.stats = CacheStats()

    async def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self._clock():
            if entry is not None:
                del self._entries[key]
            self.stats.misses += 1
            return None
        self._entries.move_to_end(key)
        self.stats.hits += 1
        return entry[1]

    async def get_many(self, keys: Sequence[str]) -> dict[str, str | None]:
        return {key: await self.get(key) for key in keys}

    async def set(self, key: str, value: str, ttl: timedelta) -> None:
        self._entries[key] = (self._clock() + ttl.total_seconds(), value)
        self._entries.move_to_end(key)
        self.stats.writes += 1
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def lock(self, key: str, token: str, ttl: timedelta) -> bool | None:
        """No lock between processes: the cached enricher's in-process single-flight is all there is."""
        return None

    async def unlock(self, key: str, token: str) -> None:
        return None

    async def aclose(self) -> None:
        self._entries.clear()
