"""`botes lookup` on a laptop: with no Redis reachable it still looks up, through the in-process cache and a
per-process rate limit, and says so once. The provider is a loopback HTTP server (tests/fakes/provider.py);
"no Redis" is a loopback port nothing listens on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from tests.fakes.ports import closed_port
from tests.fakes.provider import ProviderServer, Reply

SHODAN = Path(__file__).resolve().parents[1] / "data" / "providers" / "shodan"
IP = "1.1.1.1"


@pytest.fixture
def redis_port() -> int:
    """No Redis: a loopback port nothing listens on."""
    return closed_port()


@pytest.fixture
def shodan(provider: ProviderServer) -> Iterator[ProviderServer]:
    provider.reply(f"/shodan/host/{IP}", Reply.file(SHODAN / "1.1.1.1_shodan.json"))
    yield provider


def lookup(args: list[str], shodan: ProviderServer, redis_port: int) -> tuple[int, dict[str, object], str]:
    env = {"BOTES_REDIS__URL": f"redis://127.0.0.1:{redis_port}/0", "BOTES_SHODAN__URL": shodan.url,
           "BOTES_SHODAN__API_KEY": "test-key-not-real", "BOTES_CONFIG": ""}
    result = CliRunner().invoke(app, ["lookup", *args], env=env)
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}, result.stderr


@pytest.mark.parametrize("cache", [["--no-cache"], []], ids=["no-cache", "cache"])
def test_without_redis_a_paid_lookup_goes_ahead_with_one_warning(
        shodan: ProviderServer, redis_port: int, cache: list[str]) -> None:
    code, printed, stderr = lookup(["shodan", IP, *cache], shodan, redis_port)
    assert code == 0, stderr
    assert printed["outcome"] == "found"
    assert printed["data"]["org"] == "APNIC and Cloudflare DNS Resolver project"  # type: ignore[index]
    assert len(shodan.calls(f"/shodan/host/{IP}")) == 1
    warnings = [line for line in stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, stderr
    assert "redis.url: Redis does not answer" in warnings[0]
    assert "in-process cache and a per-process rate limit" in warnings[0]
    assert "redis unavailable" not in stderr


def test_a_local_source_without_the_cache_does_not_ask_for_redis(shodan: ProviderServer, redis_port: int
                                                                  ) -> None:
    code, printed, stderr = lookup(["geoip", "81.2.69.160", "--no-cache"], shodan, redis_port)
    assert code == 0, stderr
    assert printed["outcome"] == "found"
    assert "warning" not in stderr


@pytest.mark.parametrize(("args", "said"), [
    (["geoip", "notanip"], "'notanip' is not an IP address, a domain name or an MD5, SHA1 or SHA256 hash"),
    (["shodan", "evil.example"], "shodan does not look up a domain name such as evil.example"),
    (["virustotal", IP], f"virustotal does not look up an IP address such as {IP}"),
    (["shodan", "10.0.0.5"], "10.0.0.5 is an internal address; Shodan host does not look internal addresses up."),
    (["assets", "81.2.69.160"], "81.2.69.160 is a public address; Internal asset does not look public addresses up."),
])
def test_a_value_the_source_does_not_look_up_is_refused_before_any_call(
        shodan: ProviderServer, redis_port: int, args: list[str], said: str) -> None:
    env = {"BOTES_REDIS__URL": f"redis://127.0.0.1:{redis_port}/0", "BOTES_SHODAN__URL": shodan.url,
           "BOTES_SHODAN__API_KEY": "test-key-not-real", "BOTES_VIRUSTOTAL__URL": shodan.url,
           "BOTES_VIRUSTOTAL__API_KEY": "test-key-not-real", "BOTES_CONFIG": ""}
    result = CliRunner().invoke(app, ["lookup", *args, "--no-cache"], env=env)
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.stderr.split())
    assert result.stdout == "" and shodan.calls() == []


def test_the_value_is_looked_up_in_its_canonical_form(shodan: ProviderServer, redis_port: int) -> None:
    code, printed, stderr = lookup(["threatlists", " WWW.Evil.Example. ", "--no-cache"], shodan, redis_port)
    assert code == 0, stderr
    assert printed == {"source": "threatlists", "value": "www.evil.example", "outcome": "not_found"}
