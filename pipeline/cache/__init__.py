"""The cache in front of every lookup: an in-process LRU before Redis (shared), or in-process only; cache-aside
with per-source TTLs and one external call in flight per value."""

from pipeline.cache.base import Cache, CacheStats
from pipeline.cache.cached import CachedEnricher, with_cache
from pipeline.cache.memory import MemoryCache
from pipeline.cache.redis import RedisCache, open_cache
from pipeline.cache.tiered import TieredCache

__all__ = ["Cache", "CacheStats", "CachedEnricher", "with_cache", "MemoryCache", "RedisCache", "TieredCache",
           "open_cache"]
