"""One process of the single-flight integration test (tests/integration/test_cache_single_flight.py).

``python -m tests.fakes.single_flight_worker REDIS_URL KEY_PREFIX PROVIDER_URL``: builds a CachedEnricher (an
in-process LRU in front of the real Redis) around a small aiohttp enricher that GETs ``PROVIDER_URL/item/<value>``
and prints ``ready``. Then it reads commands on stdin:

- ``lookup V1 V2 ...``: starts those lookups at once, without waiting for them (so the test can start more
  while these are held by the provider);
- ``finish``: waits for every lookup started, prints their outcomes (in the order started) as one JSON line
  and exits.

Each time the lock of a value is found held by someone else (this process waits for their answer instead of
calling the provider) it prints ``waited <lock key>``, once per key.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import timedelta

import aiohttp

from pipeline.cache.base import Cache
from pipeline.cache.cached import CachedEnricher
from pipeline.cache.memory import MemoryCache
from pipeline.cache.redis import RedisCache
from pipeline.cache.tiered import TieredCache
from pipeline.events import Event, Failed, Found, NotFound, Outcome, Target

__all__ = ["ItemEnricher", "WaitReporter", "main"]


class ItemEnricher:
    """A real HTTP enricher: one GET per value, its own timeout, errors as Failed."""

    name = "item"
    title = "Item"

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self._url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def targets(self, event: Event) -> Iterable[Target]:
        return []

    async def lookup(self, value: str) -> Outcome:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.get(f"{self._url}/item/{value}") as response:
                if response.status == 404:
                    return NotFound()
                if response.status != 200:
                    return Failed(f"http {response.status}")
                return Found(await response.json())
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Failed(type(exc).__name__)

    def fragment(self, target: Target, found: Found) -> Event:
        return {}

    def summary_rows(self, found: Found) -> list[tuple[str, object]]:
        return []

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class WaitReporter:
    """The cache, passed through; prints ``waited <key>`` the first time a value's lock is held by another."""

    def __init__(self, inner: Cache) -> None:
        self._inner = inner
        self._reported: set[str] = set()
        self.stats = inner.stats

    async def get(self, key: str) -> str | None:
        return await self._inner.get(key)

    async def get_many(self, keys: Sequence[str]) -> dict[str, str | None]:
        return await self._inner.get_many(keys)

    async def set(self, key: str, value: str, ttl: timedelta) -> None:
        await self._inner.set(key, value, ttl)

    async def lock(self, key: str, token: str, ttl: timedelta) -> bool | None:
        taken = await self._inner.lock(key, token, ttl)
        if taken is False and key not in self._reported:
            self._reported.add(key)
            print(f"waited {key}", flush=True)
        return taken

    async def unlock(self, key: str, token: str) -> None:
        await self._inner.unlock(key, token)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def main(redis_url: str, prefix: str, provider_url: str) -> None:
    tiered = TieredCache(MemoryCache(10_000), RedisCache(redis_url))
    # The lock lives as long as a lookup may wait for it: long enough for the test to hold every answer.
    enricher = CachedEnricher(ItemEnricher(provider_url, timeout=90.0), WaitReporter(tiered), prefix,
                              timedelta(hours=1), timedelta(minutes=10), single_flight_wait=90.0)
    await tiered.far.get_many(["warm-up"])  # connect before the first command
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    started: list[asyncio.Future[list[Outcome]]] = []
    while (command := (await loop.run_in_executor(None, sys.stdin.readline)).split()) != ["finish"]:
        if command and command[0] == "lookup":
            started.append(asyncio.gather(*(enricher.lookup(value) for value in command[1:])))
    outcomes = [outcome for batch in await asyncio.gather(*started) for outcome in batch]
    await enricher.aclose()
    await tiered.aclose()
    print(json.dumps([
        {"found": o.data} if isinstance(o, Found) else {"failed": o.reason} if isinstance(o, Failed) else {}
        for o in outcomes
    ]), flush=True)


if __name__ == "__main__":
    url, key_prefix, provider = sys.argv[1:4]
    asyncio.run(main(url, key_prefix, provider))
