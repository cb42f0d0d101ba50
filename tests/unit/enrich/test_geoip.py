"""pipeline.enrich.geoip against MaxMind's test databases bundled in pipeline/data/mmdb.

Expected answers are MaxMind's documented test-database entries (81.2.69.160 London, 89.160.20.112
Linköping / AS29518, 216.160.83.56 Milton WA / AS209, ...), not copies of this code's output.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.addresses import AddressClassifier
from pipeline.config import GeoIPSettings
from pipeline.enrich.geoip import GeoIPEnricher
from pipeline.errors import DependencyError
from pipeline.events import Found, NotFound, Target


@pytest.fixture(scope="module")
def geoip() -> Iterator[GeoIPEnricher]:
    enricher = GeoIPEnricher(GeoIPSettings(), AddressClassifier())
    yield enricher
    asyncio.run(enricher.aclose())


def lookup(enricher: GeoIPEnricher, value: str) -> Found | NotFound:
    outcome = asyncio.run(enricher.lookup(value))
    assert isinstance(outcome, Found | NotFound), outcome
    return outcome


def found(enricher: GeoIPEnricher, value: str) -> dict[str, Any]:
    outcome = lookup(enricher, value)
    assert isinstance(outcome, Found), f"{value}: {outcome}"
    return outcome.data


class TestLookup:
    def test_london_city_only(self, geoip: GeoIPEnricher) -> None:
        data = found(geoip, "81.2.69.160")
        assert "as" not in data  # not in the ASN test database
        geo = data["geo"]
        assert geo["country_iso_code"] == "GB"
        assert geo["city_name"] == "London"
        assert geo["region_iso_code"] == "GB-ENG"
        assert geo["continent_code"] == "EU"
        assert geo["location"] == {"lat": 51.5142, "lon": -0.0931}

    def test_linkoping_city_and_asn(self, geoip: GeoIPEnricher) -> None:
        data = found(geoip, "89.160.20.112")
        assert data["geo"]["country_iso_code"] == "SE"
        assert data["geo"]["city_name"] == "Linköping"
        assert data["as"] == {"number": 29518, "organization": {"name": "Bredband2 AB"}}

    def test_as_without_organisation(self, geoip: GeoIPEnricher) -> None:
        data = found(geoip, "216.160.83.56")
        assert data["geo"]["country_iso_code"] == "US"
        assert data["geo"]["city_name"] == "Milton"
        assert data["geo"]["region_iso_code"] == "US-WA"
        assert data["as"] == {"number": 209}

    def test_changchun_location(self, geoip: GeoIPEnricher) -> None:
        geo = found(geoip, "175.16.199.0")["geo"]
        assert geo["country_iso_code"] == "CN"
        assert geo["city_name"] == "Changchun"
        assert geo["location"] == {"lat": 43.88, "lon": 125.3228}

    def test_asn_only(self, geoip: GeoIPEnricher) -> None:
        assert found(geoip, "1.128.0.0") == {"as": {"number": 1221, "organization": {"name": "Telstra Pty Ltd"}}}

    def test_not_found(self, geoip: GeoIPEnricher) -> None:
        assert lookup(geoip, "8.8.8.8") == NotFound()

    def test_ipv6_city(self, geoip: GeoIPEnricher) -> None:
        assert found(geoip, "2001:218::1")["geo"]["country_iso_code"] == "JP"

    def test_ipv6_asn(self, geoip: GeoIPEnricher) -> None:
        data = found(geoip, "2001:1700::1")
        assert data["as"] == {"number": 6730, "organization": {"name": "Sunrise Communications AG"}}

    def test_ipv4_mapped_address_finds_the_ipv4_entry(self, geoip: GeoIPEnricher) -> None:
        assert found(geoip, "::ffff:81.2.69.160") == found(geoip, "81.2.69.160")

    def test_no_null_values(self, geoip: GeoIPEnricher) -> None:
        # 81.2.69.160 has no postal code in the test DB: absent keys, never None.
        def walk(node: object) -> None:
            assert node is not None
            if isinstance(node, dict):
                for value in node.values():
                    walk(value)

        walk(found(geoip, "81.2.69.160"))
        assert "postal_code" not in found(geoip, "81.2.69.160")["geo"]


class TestTargets:
    @pytest.mark.parametrize("private", [
        "10.1.2.3", "192.168.250.70", "172.16.0.5", "172.31.0.1", "fd00:10::10", "fe80::1",
        "::ffff:10.0.0.1", "127.0.0.1", "100.64.0.1", "169.254.1.1", "224.0.1.1", "192.0.2.10",
    ])
    def test_never_targets_private_or_special_addresses(self, geoip: GeoIPEnricher, private: str) -> None:
        event = {"source": {"ip": private}, "destination": {"ip": private},
                 "client": {"ip": private}, "server": {"ip": private}}
        assert list(geoip.targets(event)) == []

    @pytest.mark.parametrize("public", ["81.2.69.160", "89.160.20.112", "8.8.8.8", "2001:218::1",
                                        "2001:1700::1", "::ffff:81.2.69.160"])
    def test_targets_public_addresses(self, geoip: GeoIPEnricher, public: str) -> None:
        assert list(geoip.targets({"destination": {"ip": public}})) == [Target("destination", public)]

    def test_targets_every_address_field_in_order(self, geoip: GeoIPEnricher) -> None:
        event = {"server": {"ip": "2001:1700::1"}, "client": {"ip": "10.0.0.1"},
                 "destination": {"ip": "89.160.20.112"}, "source": {"ip": "81.2.69.160"},
                 "observer": {"ip": "216.160.83.56"}, "related": {"ip": ["175.16.199.0"]}}
        assert list(geoip.targets(event)) == [
            Target("source", "81.2.69.160"), Target("destination", "89.160.20.112"),
            Target("server", "2001:1700::1")]

    def test_non_string_and_garbage_values(self, geoip: GeoIPEnricher) -> None:
        event = {"source": {"ip": ["81.2.69.160"]}, "destination": {"ip": "garbage"},
                 "client": {"ip": None}, "server": "81.2.69.160"}
        assert list(geoip.targets(event)) == []

    def test_site_internal_public_range_is_not_targeted(self) -> None:
        enricher = GeoIPEnricher(GeoIPSettings(), AddressClassifier(["81.2.69.0/24"]))
        try:
            assert list(enricher.targets({"source": {"ip": "81.2.69.160"}})) == []
        finally:
            asyncio.run(enricher.aclose())


class TestFragment:
    def test_shape(self, geoip: GeoIPEnricher) -> None:
        target = Target("destination", "89.160.20.112")
        outcome = lookup(geoip, target.value)
        assert isinstance(outcome, Found)
        fragment = geoip.fragment(target, outcome)
        assert list(fragment) == ["destination"]
        geo = fragment["destination"]["geo"]
        assert geo["country_iso_code"] == "SE"
        assert set(geo["location"]) == {"lat", "lon"}
        assert isinstance(geo["location"]["lat"], float) and isinstance(geo["location"]["lon"], float)
        assert fragment["destination"]["as"] == {"number": 29518, "organization": {"name": "Bredband2 AB"}}

    def test_fragment_is_pure(self, geoip: GeoIPEnricher) -> None:
        found_outcome = Found({"geo": {"country_iso_code": "GB"}})
        assert geoip.fragment(Target("source", "81.2.69.160"), found_outcome) == \
            {"source": {"geo": {"country_iso_code": "GB"}}}


class TestOpen:
    def test_missing_city_db_names_the_setting(self, tmp_path: Path) -> None:
        with pytest.raises(DependencyError, match=r"geoip\.city_db"):
            GeoIPEnricher(GeoIPSettings(city_db=tmp_path / "missing.mmdb"), AddressClassifier())

    def test_file_that_is_not_an_mmdb_names_the_setting(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.mmdb"
        bad.write_bytes(b"this is not a MaxMind database")
        with pytest.raises(DependencyError, match=r"geoip\.asn_db"):
            GeoIPEnricher(GeoIPSettings(asn_db=bad), AddressClassifier())
