"""`botes cache stats` and `botes cache purge`: what the shared cache holds, and emptying it by source."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import redis
from redis.exceptions import RedisError

from pipeline.config import Settings
from pipeline.errors import DependencyError

__all__ = ["CacheContents", "cache_contents", "purge_cache"]


@dataclass(slots=True)
class CacheContents:
    keys_per_source: Counter[str] = field(default_factory=Counter)
    without_ttl: int = 0  # should stay 0: every entry is written with an expiry
    memory_used: str = ""


def _client(settings: Settings) -> redis.Redis:
    password = settings.redis.password.get_secret_value() if settings.redis.password else None
    return redis.Redis.from_url(settings.redis.url, password=password, decode_responses=True,
                                socket_connect_timeout=settings.redis.socket_timeout)


def _keys(client: redis.Redis, pattern: str) -> list[str]:
    return list(client.scan_iter(match=pattern, count=1000))


def cache_contents(settings: Settings) -> CacheContents:
    """Counts per source under ``redis.key_prefix`` (keys are ``<prefix>:<source>:v<N>:<value>``)."""
    client = _client(settings)
    contents = CacheContents()
    try:
        keys = _keys(client, f"{settings.redis.key_prefix}:*")
        for key in keys:
            contents.keys_per_source[key.split(":", 2)[1]] += 1
        if keys:
            with client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.ttl(key)
                contents.without_ttl = sum(1 for ttl in pipe.execute() if ttl == -1)
        memory: dict[str, object] = client.info("memory")  # type: ignore[assignment]  # sync client
        contents.memory_used = str(memory.get("used_memory_human", ""))
    except (RedisError, OSError) as exc:
        raise DependencyError(f"redis.url: Redis does not answer ({type(exc).__name__})") from None
    finally:
        client.close()
    return contents


def purge_cache(settings: Settings, source: str | None = None) -> int:
    """Delete the cached lookups of one source (or all); returns how many keys went."""
    client = _client(settings)
    pattern = f"{settings.redis.key_prefix}:{source}:*" if source else f"{settings.redis.key_prefix}:*"
    deleted = 0
    try:
        keys = _keys(client, pattern)
        for start in range(0, len(keys), 500):
            deleted += int(client.unlink(*keys[start:start + 500]))  # type: ignore[arg-type]  # sync client
    except (RedisError, OSError) as exc:
        raise DependencyError(f"redis.url: Redis does not answer ({type(exc).__name__})") from None
    finally:
        client.close()
    return deleted
