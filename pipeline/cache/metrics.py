"""What the lookups cost: cache hits per tier, calls to each source, their outcomes and latency, rate-limit
waits and breaker state. Exposed as Flink metrics by the job, printed as a summary by `botes run --output`
and `botes lookup`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SourceMetrics", "metrics_summary", "merge_summaries"]


@dataclass(slots=True)
class SourceMetrics:
    calls: int = 0                   # lookups that reached the source itself (cache misses)
    found: int = 0
    not_found: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # by reason
    latency_total: float = 0.0       # seconds, over all calls
    latency_max: float = 0.0

    def record(self, outcome_kind: str, seconds: float, reason: str | None = None) -> None:
        self.calls += 1
        self.latency_total += seconds
        self.latency_max = max(self.latency_max, seconds)
        if outcome_kind == "found":
            self.found += 1
        elif outcome_kind == "not_found":
            self.not_found += 1
        else:
            self.failed[reason or "?"] += 1

    def as_dict(self) -> dict[str, Any]:
        return {"calls": self.calls, "found": self.found, "not_found": self.not_found,
                "failed": dict(self.failed), "latency_avg_ms": round(1000 * self.latency_total / self.calls, 2)
                if self.calls else 0.0, "latency_max_ms": round(1000 * self.latency_max, 2)}


def metrics_summary(enrichers: Iterable[Any], cache: Any) -> dict[str, Any]:
    """One JSON-able summary of a chain's wrapped enrichers and its cache (whatever tiers it has)."""
    summary: dict[str, Any] = {"sources": {}, "cache": {}}
    for enricher in enrichers:
        entry: dict[str, Any] = {}
        for layer in _layers(enricher):
            if isinstance(getattr(layer, "metrics", None), SourceMetrics):
                entry.update(layer.metrics.as_dict())
            if hasattr(layer, "breaker_state"):
                entry["breaker"] = str(layer.breaker_state)
                entry["rate_limit_wait_s"] = round(layer.rate_limit_waited, 3)
        summary["sources"][enricher.name] = entry
    tiers = {"memory": getattr(cache, "near", None), "redis": getattr(cache, "far", None)}
    if tiers["memory"] is None and cache is not None:
        tiers = {type(cache).__name__.removesuffix("Cache").lower(): cache}
    for tier, layer in tiers.items():
        if layer is not None:
            stats = layer.stats
            summary["cache"][tier] = {"hits": stats.hits, "misses": stats.misses, "errors": stats.errors}
    return summary


def _layers(enricher: Any) -> Iterable[Any]:
    while enricher is not None:
        yield enricher
        enricher = getattr(enricher, "_inner", None)


def merge_summaries(summaries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Add up the summaries of several workers (counts add, maxima take the max)."""
    merged: dict[str, Any] = {"sources": {}, "cache": {}}
    for summary in summaries:
        for section in ("sources", "cache"):
            for name, values in summary.get(section, {}).items():
                target = merged[section].setdefault(name, {})
                for key, value in values.items():
                    if isinstance(value, dict):
                        counts = target.setdefault(key, {})
                        for reason, count in value.items():
                            counts[reason] = counts.get(reason, 0) + count
                    elif key.endswith("_max_ms"):
                        target[key] = max(target.get(key, 0), value)
                    elif isinstance(value, (int, float)) and not key.endswith("avg_ms"):
                        target[key] = target.get(key, 0) + value
                    else:
                        target[key] = value
    return merged
