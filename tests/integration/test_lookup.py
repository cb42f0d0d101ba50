"""`botes lookup` with the real Redis reachable: the answer is cached there, no warning, and a second
lookup is answered from Redis without calling the provider."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from tests.conftest import settings_with
from tests.fakes.provider import ProviderServer, Reply
from tests.integration.streaming_job import botes

pytestmark = pytest.mark.integration

SHODAN = Path(__file__).resolve().parents[1] / "data" / "providers" / "shodan"


def test_lookup_uses_the_shared_cache_when_redis_answers(isolated_env: dict[str, str],
                                                          provider: ProviderServer) -> None:
    provider.reply("/shodan/host/1.1.1.1", Reply.file(SHODAN / "1.1.1.1_shodan.json"))
    env = {**isolated_env, "BOTES_SHODAN__URL": provider.url, "BOTES_SHODAN__API_KEY": "test-key-not-real"}
    settings = settings_with(env)
    first, second = botes("lookup", "shodan", "1.1.1.1", env=env), botes("lookup", "shodan", "1.1.1.1", env=env)
    for result in (first, second):
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["outcome"] == "found"
        assert "warning" not in result.stderr
    assert len(provider.calls("/shodan/host/1.1.1.1")) == 1  # the second came from Redis
    client = redis.Redis.from_url(settings.redis.url)
    assert client.ttl(f"{settings.redis.key_prefix}:shodan:v1:1.1.1.1") > 0
    assert client.exists(f"{settings.redis.key_prefix}:ratelimit:shodan") == 1  # the shared bucket was used
