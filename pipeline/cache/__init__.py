"""The cache in front of every lookup: Redis (shared) or in-process, cache-aside with per-source TTLs."""

from pipeline.cache.base import Cache, CacheStats
from pipeline.cache.cached import CachedEnricher, with_cache
from pipeline.cache.memory import MemoryCache
from pipeline.cache.redis import RedisCache, open_cache

__all__ = ["Cache", "CacheStats", "CachedEnricher", "with_cache", "MemoryCache", "RedisCache", "open_cache"]
