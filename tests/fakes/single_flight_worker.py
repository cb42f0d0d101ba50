"""One process of the single-flight integration test (tests/integration/test_cache_single_flight.py).

``python -m tests.fakes.single_flight_worker REDIS_URL KEY_PREFIX PROVIDER_URL LOOKUPS VALUES``: builds a
CachedEnricher (in-process LRU in front of the real Redis) around a small aiohttp enricher that GETs
``PROVIDER_URL/item/<value>``, prints ``ready``, waits for a line on stdin (so both processes start together),
fires LOOKUPS concurrent lookups over VALUES distinct values and prints the outcomes as one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterable
from datetime import timedelta

import aiohttp

from pipeline.cache.cached import CachedEnricher
from pipeline.cache.memory import MemoryCache
from pipeline.cache.redis import RedisCache
from pipeline.cache.tiered import TieredCache
from pipeline.events import Event, Failed, Found, NotFound, Outcome, Target

__all__ = ["ItemEnricher", "main"]


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


async def main(redis_url: str, prefix: str, provider_url: str, lookups: int, values: int) -> None:
    cache = TieredCache(MemoryCache(10_000), RedisCache(redis_url))
    enricher = CachedEnricher(ItemEnricher(provider_url), cache, prefix, timedelta(hours=1),
                              timedelta(minutes=10), single_flight_wait=15.0)
    await cache.far.get_many(["warm-up"])  # connect before the start signal
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    outcomes = await asyncio.gather(*(enricher.lookup(f"k{i % values:03d}") for i in range(lookups)))
    await enricher.aclose()
    await cache.aclose()
    print(json.dumps([
        {"found": o.data} if isinstance(o, Found) else {"failed": o.reason} if isinstance(o, Failed) else {}
        for o in outcomes
    ]), flush=True)


if __name__ == "__main__":
    url, key_prefix, provider, count, distinct = sys.argv[1:6]
    asyncio.run(main(url, key_prefix, provider, int(count), int(distinct)))
