"""Cache-aside around any enricher: found results for the source's TTL, "not found" for its negative TTL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from pipeline.cache.base import Cache, cache_key, decode_outcome, encode_outcome
from pipeline.config import Settings, SourceSettings
from pipeline.enrich.base import Enricher
from pipeline.events import Event, Failed, Found, Outcome, Target

__all__ = ["CachedEnricher", "with_cache"]


class CachedEnricher:
    """Same interface as the enricher it wraps; failures are never cached."""

    def __init__(self, inner: Enricher, cache: Cache, prefix: str, ttl: timedelta,
                 negative_ttl: timedelta) -> None:
        self.name = inner.name
        self.title = inner.title
        self._inner = inner
        self._cache = cache
        self._prefix = prefix
        self._ttl = ttl
        self._negative_ttl = negative_ttl

    def targets(self, event: Event) -> Iterable[Target]:
        return self._inner.targets(event)

    def fragment(self, target: Target, found: Found) -> Event:
        return self._inner.fragment(target, found)

    def summary_rows(self, found: Found) -> list[tuple[str, Any]]:
        return self._inner.summary_rows(found)

    async def lookup(self, value: str) -> Outcome:
        key = cache_key(self._prefix, self.name, value)
        cached = await self._cache.get(key)
        if cached is not None:
            return decode_outcome(cached)
        outcome = await self._inner.lookup(value)
        if isinstance(outcome, Failed):
            return outcome
        ttl = self._negative_ttl
        if isinstance(outcome, Found):
            ttl = min(self._ttl, timedelta(seconds=outcome.ttl)) if outcome.ttl is not None else self._ttl
        await self._cache.set(key, encode_outcome(outcome), ttl)
        return outcome

    async def aclose(self) -> None:
        await self._inner.aclose()


def with_cache(enrichers: Iterable[Enricher], cache: Cache, settings: Settings) -> list[Enricher]:
    """Each enricher whose source settings ask for the cache, wrapped in it."""
    wrapped: list[Enricher] = []
    for enricher in enrichers:
        source: SourceSettings = getattr(settings, enricher.name)
        wrapped.append(
            CachedEnricher(enricher, cache, settings.redis.key_prefix, source.ttl, source.negative_ttl)
            if source.cache else enricher
        )
    return wrapped


