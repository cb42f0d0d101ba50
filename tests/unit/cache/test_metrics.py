"""cache.metrics: per-source call metrics, the summary of a wrapped chain, and merging workers' summaries."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pipeline.cache.cached import CachedEnricher
from pipeline.cache.memory import MemoryCache
from pipeline.cache.metrics import SourceMetrics, merge_summaries, metrics_summary
from pipeline.events import Failed, Found, NotFound
from tests.unit.cache.test_guard import Scripted


def test_source_metrics_count_outcomes_and_latency() -> None:
    metrics = SourceMetrics()
    metrics.record("found", 0.010)
    metrics.record("not_found", 0.030)
    metrics.record("failed", 0.002, "timeout")
    assert metrics.as_dict() == {"calls": 3, "found": 1, "not_found": 1, "failed": {"timeout": 1},
                                 "latency_avg_ms": 14.0, "latency_max_ms": 30.0}


def test_summary_of_a_cached_source_counts_calls_and_tier_hits() -> None:
    cache = MemoryCache()
    inner = Scripted([Found({"a": 1}), NotFound(), Failed("http 500")])
    cached = CachedEnricher(inner, cache, "t", timedelta(hours=1), timedelta(minutes=5))  # type: ignore[arg-type]

    async def lookups() -> None:
        for value in ("a", "a", "b", "c"):
            await cached.lookup(value)

    asyncio.run(lookups())
    summary = metrics_summary([cached], cache)
    assert summary["sources"]["scripted"]["calls"] == 3  # "a" the second time came from the cache
    assert summary["sources"]["scripted"]["failed"] == {"http 500": 1}
    assert summary["cache"]["memory"]["hits"] == 1  # the second "a"; nothing else was ever found there


def test_merging_workers_adds_counts_and_keeps_maxima() -> None:
    one = {"sources": {"geoip": {"calls": 2, "failed": {"timeout": 1}, "latency_max_ms": 5.0}},
           "cache": {"memory": {"hits": 10, "misses": 2, "errors": 0}}}
    two = {"sources": {"geoip": {"calls": 3, "failed": {"timeout": 2, "http 500": 1}, "latency_max_ms": 9.0}},
           "cache": {"memory": {"hits": 1, "misses": 1, "errors": 0}}}
    merged = merge_summaries([one, two])
    assert merged["sources"]["geoip"] == {"calls": 5, "failed": {"timeout": 3, "http 500": 1},
                                          "latency_max_ms": 9.0}
    assert merged["cache"]["memory"] == {"hits": 11, "misses": 3, "errors": 0}
