"""The cache interface, the key layout and the stored value format."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from pipeline.events import Failed, Found, NotFound, Outcome

__all__ = ["Cache", "CacheStats", "SCHEMA_VERSION", "cache_key", "lock_key", "encode_outcome", "decode_outcome",
           "remaining_seconds"]

# Bump when a source's result shape changes, so old entries are never read as new ones.
SCHEMA_VERSION = 1


def cache_key(prefix: str, source: str, value: str) -> str:
    """Namespaced, versioned key: ``botes:geoip:v1:81.2.69.160``."""
    return f"{prefix}:{source}:v{SCHEMA_VERSION}:{value}"


def lock_key(key: str) -> str:
    """The single-flight lock beside a value key: ``botes:geoip:v1:81.2.69.160:lock``."""
    return f"{key}:lock"


def encode_outcome(outcome: Outcome, now: float | None = None, ttl: timedelta | None = None) -> str:
    """Compact JSON with the time it was fetched (``t``, wall-clock seconds).

    ``d`` is the data, null for "not found" and for a failure, whose reason is in ``e``. ``x`` is the TTL in
    seconds the value was stored with, when known, so a nearer tier can keep it no longer than the shared one.
    """
    data: dict[str, Any] = {"d": outcome.data if isinstance(outcome, Found) else None,
                            "t": round(now if now is not None else time.time())}
    if isinstance(outcome, Failed):
        data["e"] = outcome.reason
    if ttl is not None:
        data["x"] = max(0, round(ttl.total_seconds()))
    return json.dumps(data, separators=(",", ":"))


def decode_outcome(raw: str | bytes) -> Outcome:
    stored = json.loads(raw)
    if "e" in stored:
        return Failed(stored["e"])
    data = stored["d"]
    return Found(data) if data is not None else NotFound()


def remaining_seconds(raw: str | bytes, now: float) -> float | None:
    """How much longer a stored value lives (``t + x - now``); None when it does not say (no ``x``)."""
    try:
        stored = json.loads(raw)
        return float(stored["t"]) + float(stored["x"]) - now
    except (ValueError, KeyError, TypeError):
        return None


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    writes: int = 0
    errors: int = 0


class Cache(Protocol):
    stats: CacheStats

    async def get(self, key: str) -> str | None: ...

    async def get_many(self, keys: Sequence[str]) -> dict[str, str | None]:
        """Every key's value (None when absent), in one round trip where the backend allows."""
        ...

    async def set(self, key: str, value: str, ttl: timedelta) -> None: ...

    async def lock(self, key: str, token: str, ttl: timedelta) -> bool | None:
        """Take the lock ``key`` for ``ttl`` unless someone holds it: True taken, False held by another,
        None when this cache has no lock shared between processes (in-process, or the server is away)."""
        ...

    async def unlock(self, key: str, token: str) -> None:
        """Release ``key`` if ``token`` still holds it."""
        ...

    async def aclose(self) -> None: ...
