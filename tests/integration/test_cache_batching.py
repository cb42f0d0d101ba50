"""Reads from many events in flight at once reach the real Redis as one MGET, not one per key."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from pipeline.cache.redis import RedisCache
from tests.conftest import settings_with

pytestmark = pytest.mark.integration


def test_concurrent_reads_share_round_trips(isolated_env: dict[str, str]) -> None:
    settings = settings_with(isolated_env)
    prefix = settings.redis.key_prefix

    async def scenario() -> tuple[int, list[dict[str, str | None]]]:
        cache = RedisCache(settings.redis.url)
        for i in range(0, 200, 2):  # every other key is cached
            await cache.set(f"{prefix}:geoip:v1:k{i}", f"v{i}", timedelta(minutes=5))
        # 100 "events", each asking for its two values at the same moment
        answers = await asyncio.gather(*(cache.get_many([f"{prefix}:geoip:v1:k{2 * n}",
                                                          f"{prefix}:geoip:v1:k{2 * n + 1}"])
                                         for n in range(100)))
        round_trips = cache.round_trips
        await cache.aclose()
        return round_trips, answers

    round_trips, answers = asyncio.run(scenario())
    assert round_trips == 1
    assert answers[7] == {f"{prefix}:geoip:v1:k14": "v14", f"{prefix}:geoip:v1:k15": None}
    assert all(len(answer) == 2 for answer in answers)
