"""`botes cache stats` / `botes cache purge` against the real Redis."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis

from tests.conftest import settings_with

pytestmark = pytest.mark.integration


def botes(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


def test_stats_counts_per_source_and_purge_empties_one_source(isolated_env: dict[str, str]) -> None:
    prefix = isolated_env["BOTES_REDIS__KEY_PREFIX"]
    client = redis.Redis.from_url(settings_with(isolated_env).redis.url)
    for ip in ("81.2.69.160", "89.160.20.112", "8.8.8.8"):
        client.set(f"{prefix}:geoip:v1:{ip}", '{"d":null,"t":0}', ex=3600)
    client.set(f"{prefix}:assets:v1:10.0.0.1", '{"d":null,"t":0}', ex=3600)
    client.set("someone-else:geoip:v1:1.1.1.1", "x", ex=60)

    stats = botes("cache", "stats", env=isolated_env)
    assert stats.returncode == 0, stats.stderr
    assert "geoip" in stats.stderr and "3" in stats.stderr and "assets" in stats.stderr
    assert "entries without expiry: 0" in stats.stderr

    purged = botes("cache", "purge", "--source", "geoip", env=isolated_env)
    assert purged.returncode == 0, purged.stderr
    assert "deleted 3 cached value(s) of geoip" in purged.stderr
    assert sorted(k.decode() for k in client.scan_iter(f"{prefix}:*")) == [f"{prefix}:assets:v1:10.0.0.1"]
    assert client.exists("someone-else:geoip:v1:1.1.1.1")


def test_purge_refuses_an_unknown_source(isolated_env: dict[str, str]) -> None:
    result = botes("cache", "purge", "--source", "nope", env=isolated_env)
    assert result.returncode == 2
    assert "unknown source 'nope'" in result.stderr
