"""The cache layer, measured in one run against baselines from the same run.

    .venv/bin/python bench/cache.py [--keys 5000] [--batch 8] [--concurrency 200] [--unique 50]

1. Warm-cache lookups per second from the real Redis (scripts/services.py starts one): one GET per value
   (the baseline) against one MGET per event-sized batch of values (what the chain does).
2. API calls per unique key when many lookups of the same keys arrive at once, against a loopback HTTP
   provider that counts calls: without the cache layer (the baseline: every lookup calls) and with it
   (single-flight: one call per key).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO))

from services import start_services  # noqa: E402

from pipeline.cache.cached import CachedEnricher  # noqa: E402
from pipeline.cache.memory import MemoryCache  # noqa: E402
from pipeline.cache.redis import RedisCache  # noqa: E402
from pipeline.cache.tiered import TieredCache  # noqa: E402
from tests.fakes.provider import ProviderServer, Reply  # noqa: E402
from tests.fakes.single_flight_worker import ItemEnricher  # noqa: E402


async def warm_lookups(redis_url: str, keys: int, batch: int) -> tuple[float, float, float]:
    cache = RedisCache(redis_url)
    names = [f"bench:geoip:v1:10.0.{i // 256}.{i % 256}" for i in range(keys)]
    for name in names:
        await cache.set(name, '{"d":{"geo":{"city_name":"London"}},"t":0}', timedelta(hours=1))
    started = time.perf_counter()
    for name in names:
        await cache.get(name)
    one_by_one = keys / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(0, keys, batch):
        await cache.get_many(names[i:i + batch])
    batched = keys / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(0, keys, 256 * batch):  # 256 events in flight (flink.async_capacity), reads coalesced
        group = names[i:i + 256 * batch]
        await asyncio.gather(*(cache.get_many(group[j:j + batch]) for j in range(0, len(group), batch)))
    in_flight = keys / (time.perf_counter() - started)
    await cache.aclose()
    return one_by_one, batched, in_flight


async def calls_per_key(redis_url: str, provider: ProviderServer, concurrency: int, unique: int) -> tuple[float, float]:
    values = [f"k{i % unique:03d}" for i in range(concurrency)]
    plain = ItemEnricher(provider.url)
    await asyncio.gather(*(plain.lookup(v) for v in values))
    await plain.aclose()
    without = len(provider.calls()) / unique
    provider.requests.clear()
    cache = TieredCache(MemoryCache(10_000), RedisCache(redis_url))
    cached = CachedEnricher(ItemEnricher(provider.url), cache, "bench-sf", timedelta(hours=1),
                            timedelta(minutes=10), single_flight_wait=15.0)
    await asyncio.gather(*(cached.lookup(v) for v in values))
    await cached.aclose()
    await cache.aclose()
    return without, len(provider.calls()) / unique


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=8, help="values per MGET (an event's lookups)")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--unique", type=int, default=50)
    args = parser.parse_args()
    services = start_services(Path(tempfile.mkdtemp(prefix="botes-bench-cache-")))
    provider = ProviderServer(default=Reply(200, b'{"ok": true}', hang=0.05)).start()
    try:
        redis_url = services.env["BOTES_REDIS__URL"]
        one_by_one, batched, in_flight = asyncio.run(warm_lookups(redis_url, args.keys, args.batch))
        without, with_cache = asyncio.run(calls_per_key(redis_url, provider, args.concurrency, args.unique))
    finally:
        provider.stop()
        services.stop()
    print(f"warm-cache lookups from Redis, {args.keys} values:")
    print(f"  one GET per value (baseline)   {one_by_one:>10.0f}/s   1.00")
    print(f"  MGET of {args.batch} values            {batched:>10.0f}/s   {batched / one_by_one:.2f}")
    print(f"  256 events in flight, coalesced {in_flight:>10.0f}/s   {in_flight / one_by_one:.2f}")
    print(f"API calls per unique key, {args.concurrency} concurrent lookups of {args.unique} keys:")
    print(f"  no cache layer (baseline)      {without:>10.2f}")
    print(f"  cache + single-flight          {with_cache:>10.2f}   ({without / with_cache:.1f}x fewer calls)")


if __name__ == "__main__":
    main()
