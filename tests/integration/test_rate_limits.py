"""Shared rate limits in the real Redis, and a real client (vt-py) behind the guard against a loopback
provider: a 429 with Retry-After: 2 delays the next call by at least 2 s; the breaker opens and recovers."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio

from pipeline.addresses import AddressClassifier
from pipeline.cache import MemoryCache, with_cache
from pipeline.cache.ratelimit import RateLimiter
from pipeline.enrich.registry import build_enricher
from pipeline.events import Failed, Found
from tests.conftest import DATA, settings_with
from tests.fakes.provider import ProviderServer, Reply

pytestmark = pytest.mark.integration

WORD_MACRO = "001015aafcae8a6942366cbb0e7d39c0738752a7800c41ea1c655d47b0a4d04c"
TROJAN = "417c06700c3e899f0554654102fa064385bf1d3ecec32471ac488096d81bf38c"
REPORTS = DATA / "providers" / "virustotal"


def test_two_limiters_share_one_bucket_and_a_block(isolated_env: dict[str, str]) -> None:
    settings = settings_with(isolated_env)

    async def scenario() -> tuple[list[str | None], float | None]:
        clients = [redis.asyncio.Redis.from_url(settings.redis.url) for _ in range(2)]
        limiters = [RateLimiter("shodan", rate=0.5, burst=2, max_wait=0, client=c,
                                key_prefix=settings.redis.key_prefix) for c in clients]
        granted = [await limiters[i % 2].acquire() for i in range(4)]  # two "processes", one bucket
        started = time.monotonic()
        await limiters[0].block(2.0)
        wait = await limiters[1]._take()
        took = time.monotonic() - started
        for client in clients:
            await client.aclose()
        return granted, wait, took

    granted, wait, took = asyncio.run(scenario())
    assert granted == [None, None, "rate limited", "rate limited"]
    # The other limiter is held back for the rest of the 2 s block (Redis counts whole milliseconds),
    # however long the machine took between the two calls.
    assert wait is not None and 2.0 - took - 0.002 <= wait <= 2.0


def test_retry_after_delays_the_next_call_and_the_breaker_opens_and_recovers(
        isolated_env: dict[str, str], provider: ProviderServer) -> None:
    provider.reply(f"/api/v3/files/{WORD_MACRO}",
                   Reply(429, b'{"error": {"code": "QuotaExceededError", "message": "quota"}}',
                         {"Content-Type": "application/json", "Retry-After": "2"}))
    provider.reply(f"/api/v3/files/{TROJAN}", Reply.file(REPORTS / f"{TROJAN}.json"))
    settings = settings_with({**isolated_env, "BOTES_VIRUSTOTAL__URL": provider.url,
                              "BOTES_VIRUSTOTAL__API_KEY": "test-key", "BOTES_VIRUSTOTAL__RATE": "100",
                              "BOTES_VIRUSTOTAL__BURST": "100", "BOTES_VIRUSTOTAL__BREAKER_FAILURES": "2",
                              "BOTES_VIRUSTOTAL__BREAKER_RESET": "1", "BOTES_VIRUSTOTAL__CACHE": "false"})

    async def scenario() -> list[object]:
        enricher = with_cache([build_enricher("virustotal", settings, AddressClassifier())], MemoryCache(),
                              settings)[0]
        outcomes: list[object] = [await enricher.lookup(WORD_MACRO), await enricher.lookup(TROJAN)]
        # now two failures in a row (the 429 counted as one): the breaker opens
        provider.reply(f"/api/v3/files/{TROJAN}", Reply(500, b"{}"))
        outcomes.append(await enricher.lookup(TROJAN))
        outcomes.append(await enricher.lookup(TROJAN))
        outcomes.append(await enricher.lookup(TROJAN))          # refused without a call
        await asyncio.sleep(1.1)                                # breaker_reset
        provider.reply(f"/api/v3/files/{TROJAN}", Reply.file(REPORTS / f"{TROJAN}.json"))
        outcomes.append(await enricher.lookup(TROJAN))          # the trial call succeeds
        await enricher.aclose()
        return outcomes

    outcomes = asyncio.run(scenario())
    first, second = provider.calls(f"/api/v3/files/{WORD_MACRO}")[0], provider.calls(f"/api/v3/files/{TROJAN}")[0]
    assert isinstance(outcomes[0], Failed) and outcomes[0].reason == "http 429"
    assert isinstance(outcomes[1], Found)
    assert second.at - first.at >= 2.0  # the Retry-After held the next call back
    assert [getattr(o, "reason", None) for o in outcomes[2:5]] == ["http 500", "http 500", "circuit open"]
    assert len(provider.calls(f"/api/v3/files/{TROJAN}")) == 4  # found, 500, 500, (refused), trial
    assert isinstance(outcomes[5], Found)
    assert outcomes[5] == outcomes[1]  # the recorded report again, as the first successful call gave it
    assert outcomes[5].data["sha256"] == TROJAN and outcomes[5].data["last_analysis_stats"]["malicious"] == 7
