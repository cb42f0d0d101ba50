"""An in-process cache with TTLs and a size bound (least recently used goes first): the near tier."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from pipeline.cache.base import CacheStats

__all__ = ["MemoryCache"]

T = TypeVar("T")
_NOT_DECODED = object()


class _Entry:
    """A stored value, when it expires, and (once asked for) what it decodes to."""

    __slots__ = ("expires", "value", "decoded")

    def __init__(self, expires: float, value: str) -> None:
        self.expires = expires
        self.value = value
        self.decoded: Any = _NOT_DECODED


class MemoryCache:
    def __init__(self, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock
        self.stats = CacheStats()

    async def get(self, key: str) -> str | None:
        entry = self._fresh(key)
        if entry is None:
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return entry.value

    async def get_many(self, keys: Sequence[str]) -> dict[str, str | None]:
        return {key: await self.get(key) for key in keys}

    def get_decoded_many(self, keys: Sequence[str], decode: Callable[[str], T]) -> list[T] | None:
        """Every key's value as ``decode`` makes it (each stored value is decoded once), or None if one is
        missing: all or nothing, for the event's fast path. Synchronous.

        Hits are counted only when all keys are there; otherwise nothing is, since the caller then reads the
        keys through ``get_many``, which counts them. The decoded objects are shared by every caller: treat
        them as read-only.
        """
        entries = []
        for key in keys:
            entry = self._fresh(key)
            if entry is None:
                return None
            entries.append(entry)
        self.stats.hits += len(entries)
        decoded: list[T] = []
        for entry in entries:
            if entry.decoded is _NOT_DECODED:
                entry.decoded = decode(entry.value)
            decoded.append(entry.decoded)
        return decoded

    def _fresh(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    async def set(self, key: str, value: str, ttl: timedelta) -> None:
        self.put(key, value, ttl)

    def put(self, key: str, value: str, ttl: timedelta) -> None:
        """``set`` without the coroutine, for callers on the fast path."""
        self._entries[key] = _Entry(self._clock() + ttl.total_seconds(), value)
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
