"""pipeline.scot.enrichment: which sources run for which entity type, and one source's tab for one entity,
through the real local enrichers (bundled assets table, MaxMind test databases, a synthetic threat list)
behind the in-process cache."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from pipeline.config import Settings
from pipeline.errors import ConfigError
from pipeline.scot.enrichment import EntityEnricher, NotCovered, check_sources, enabled_sources
from pipeline.scot.entities import Entity
from tests.fakes.scot_api import validate_enrichment

SCANNER = "192.168.250.100"   # in the bundled synthetic assets table: nessus01, Scanner
LONDON = "81.2.69.160"        # in MaxMind's test City database


def settings(**values: Any) -> Settings:
    return Settings(**{"cache": {"backend": "memory"}, **values})


@pytest.fixture
def threat_list(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "list.txt"
    path.write_text(f"# SYNTHETIC test list\n{LONDON}\nevil.example\n{'ab' * 32}\n")
    return {"lists": [{"path": str(path), "kind": "ip", "name": "test-ips"}]}


class TestEnabledSources:
    def test_only_usable_sources_and_types_with_one(self, threat_list: dict[str, Any]) -> None:
        assert enabled_sources(settings()) == {"ipaddr": ["assets", "geoip"], "ipv6": ["assets", "geoip"]}
        keyed = enabled_sources(settings(shodan={"api_key": SecretStr("k")}, virustotal={"api_key": SecretStr("k")},
                                         threatlists=threat_list, rdns={"enabled": True}))
        assert keyed["ipaddr"] == ["assets", "rdns", "geoip", "threatlists", "shodan"]
        assert keyed["domain"] == ["threatlists"]
        assert keyed["sha256"] == ["threatlists", "virustotal"]

    def test_a_source_listed_for_a_type_it_cannot_look_up(self) -> None:
        with pytest.raises(ConfigError, match="scot.sources.domain: geoip cannot look up domain values"):
            check_sources(settings(scot={"sources": {"domain": ["threatlists", "geoip"]}}))

    def test_sources_per_type_follow_the_setting(self) -> None:
        only = settings(scot={"sources": {"ipaddr": ["geoip"]}})
        assert enabled_sources(only) == {"ipaddr": ["geoip"]}


def tabs(config: Settings, sources: list[str], entities: list[Entity]) -> tuple[list[Any], dict[str, Any]]:
    async def go() -> tuple[list[Any], dict[str, Any]]:
        enricher = EntityEnricher(config, sources)
        try:
            results = [await enricher.tab(source, entity) for entity in entities for source in sources]
            return results, enricher.metrics()
        finally:
            await enricher.aclose()
    return asyncio.run(go())


def ip(value: str) -> Entity:
    return Entity(1, "ipaddr", value, "http://scot/api/v1")


def test_each_source_covers_its_own_addresses() -> None:
    (asset, geo_internal, asset_public, geo), _ = tabs(settings(), ["assets", "geoip"], [ip(SCANNER), ip(LONDON)])
    validate_enrichment(asset)
    assert asset["title"] == "Internal asset" and "| roles | Scanner |" in asset["data"]["markdown"]
    assert geo_internal == NotCovered(f"{SCANNER} is an internal address; GeoIP/ASN does not look internal "
                                      "addresses up.")
    assert isinstance(asset_public, NotCovered)
    validate_enrichment(geo)
    assert "| city | London |" in geo["data"]["markdown"]


def test_threat_list_hits_for_each_kind(threat_list: dict[str, Any], tmp_path: Path) -> None:
    domains = tmp_path / "domains.txt"
    domains.write_text("# SYNTHETIC\nevil.example\n")
    hashes = tmp_path / "hashes.txt"
    hashes.write_text(f"# SYNTHETIC\n{'ab' * 32}\n")
    lists = {"lists": [*threat_list["lists"], {"path": str(domains), "kind": "domain", "name": "test-domains"},
                       {"path": str(hashes), "kind": "hash", "name": "test-hashes"}]}
    entities = [ip(LONDON), Entity(2, "domain", "www.evil.example", "http://scot/api/v1"),
                Entity(3, "sha256", "ab" * 32, "http://scot/api/v1"), Entity(4, "domain", "fine.example", "http://s/a")]
    (by_ip, by_domain, by_hash, clean), _ = tabs(settings(threatlists=lists), ["threatlists"], entities)
    assert "| list test-ips | 81.2.69.160 |" in by_ip["data"]["markdown"]
    assert "| list test-domains | evil.example |" in by_domain["data"]["markdown"]  # a subdomain of a listed one
    assert "| list test-hashes |" in by_hash["data"]["markdown"]
    assert clean["description"] == "Threat lists has no record of fine.example"


def test_a_second_request_is_answered_from_the_cache() -> None:
    _, metrics = tabs(settings(), ["geoip"], [ip(LONDON), ip(LONDON), ip(LONDON)])
    assert metrics["sources"]["geoip"]["calls"] == 1
    assert metrics["cache"]["memory"]["hits"] == 2
