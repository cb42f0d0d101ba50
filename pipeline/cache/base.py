"""The cache interface, the key layout and the stored value format."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from pipeline.events import Found, NotFound, Outcome

__all__ = ["Cache", "CacheStats", "SCHEMA_VERSION", "cache_key", "encode_outcome", "decode_outcome"]

# Bump when a source's result shape changes, so old entries are never read as new ones.
SCHEMA_VERSION = 1


def cache_key(prefix: str, source: str, value: str) -> str:
    """Namespaced, versioned key: ``botes:geoip:v1:81.2.69.160``."""
    return f"{prefix}:{source}:v{SCHEMA_VERSION}:{value}"


def encode_outcome(outcome: Found | NotFound, now: float | None = None) -> str:
    """Compact JSON with the time it was fetched; ``d`` is null for "not found"."""
    data = outcome.data if isinstance(outcome, Found) else None
    return json.dumps({"d": data, "t": round(now if now is not None else time.time())},
                      separators=(",", ":"))


def decode_outcome(raw: str | bytes) -> Outcome:
    data = json.loads(raw)["d"]
    return Found(data) if data is not None else NotFound()


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    writes: int = 0
    errors: int = 0


class Cache(Protocol):
    stats: CacheStats

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: timedelta) -> None: ...

    async def aclose(self) -> None: ...
