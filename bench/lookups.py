"""One worker process of the calls-per-key benchmark: many concurrent Shodan lookups of the same keys, through
the pipeline's cache (in-process tier + Redis, single-flight) exactly as the job builds it.

    python bench/lookups.py KEYS CONCURRENCY     # settings from BOTES_* (Redis, Shodan URL and key)

Looks up KEYS addresses, each CONCURRENCY times, all at once; exits 1 if any lookup failed.
"""

from __future__ import annotations

import asyncio
import sys

from pipeline.cache import open_cache, with_cache
from pipeline.config import load_settings
from pipeline.enrich.registry import build_enrichers
from pipeline.events import Failed


async def lookups(keys: int, concurrency: int) -> int:
    settings = load_settings()
    settings = settings.model_copy(update={"enrichers": ["shodan"]})
    cache = open_cache(settings)
    (shodan,) = with_cache(build_enrichers(settings), cache, settings)
    values = [f"81.2.{i // 250}.{i % 250 + 1}" for i in range(keys)] * concurrency
    outcomes = await asyncio.gather(*(shodan.lookup(value) for value in values))
    await shodan.aclose()
    await cache.aclose()
    return sum(isinstance(outcome, Failed) for outcome in outcomes)


def main() -> None:
    failed = asyncio.run(lookups(int(sys.argv[1]), int(sys.argv[2])))
    if failed:
        print(f"{failed} lookups failed", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
