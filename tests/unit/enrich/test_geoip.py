"""pipeline.enrich.geoip against MaxMind's test databases bundled in pipeline/data/mmdb.

Expected answers are MaxMind's documented test-database entries (81.2.69.160 London, 89.160.20.112
Linköping / AS29518, 216.160.83.56 Milton WA / AS209, ...), not copies of this code's output.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import maxminddb.extension
import pytest

from pipeline.addresses import AddressClassifier
from pipeline.config import GeoIPSettings
from pipeline.enrich.geoip import GeoIPEnricher
from pipeline.enrich.reloading import RELOAD_INTERVAL
from pipeline.errors import DependencyError
from pipeline.events import Found, NotFound, Target

# MaxMind's GeoIP2 City test database, for the reload test (provenance in tests/data/mmdb/README.md).
GEOIP2_CITY = Path(__file__).resolve().parents[2] / "data" / "mmdb" / "GeoIP2-City-Test.mmdb"

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


    def test_answers_in_memory_as_lookup_does(self, geoip: GeoIPEnricher) -> None:
        values = ["81.2.69.160", "89.160.20.112", "2001:218::1", "8.8.8.8"]
        assert geoip.answer_now(values) == {value: lookup(geoip, value) for value in values}

    def test_reads_through_maxminddbs_c_extension(self, geoip: GeoIPEnricher) -> None:
        """The pure-Python reader (maxminddb.MODE_MMAP) is about 7x slower per lookup."""
        with geoip._city.lease() as reader:
            assert isinstance(reader._db_reader, maxminddb.extension.Reader)


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


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def replace_file(path: Path, source: Path | bytes) -> None:
    """Write the new version beside the file and rename it over the file, as geoipupdate does."""
    new = path.with_name(path.name + ".new")
    new.write_bytes(source if isinstance(source, bytes) else source.read_bytes())
    os.replace(new, path)


class TestReload:
    """A database file replaced on disk is reopened; the clock is moved on instead of sleeping."""

    def test_city_db_replaced_while_a_thread_looks_up(self, tmp_path: Path) -> None:
        # 214.0.0.1 is in the ASN test database but only GeoIP2-City-Test places it (Singapore).
        city = tmp_path / "city.mmdb"
        city.write_bytes(GeoIPSettings().city_db.read_bytes())
        clock = Clock()
        enricher = GeoIPEnricher(GeoIPSettings(city_db=city), AddressClassifier(), clock=clock)
        expected = GeoIPEnricher(GeoIPSettings(city_db=GEOIP2_CITY), AddressClassifier())
        old, new = lookup(enricher, "214.0.0.1"), lookup(expected, "214.0.0.1")
        asyncio.run(expected.aclose())
        assert isinstance(old, Found) and "geo" not in old.data
        assert isinstance(new, Found) and new.data["geo"]["city_name"] == "Singapore"
        assert new.data["as"] == old.data["as"] == {
            "number": 721, "organization": {"name": "DoD Network Information Center"}}
        old_reader = enricher._city.get()

        answers: list[object] = []
        stop, looked, saw_new = threading.Event(), threading.Event(), threading.Event()

        async def keep_looking() -> None:
            while not stop.is_set():
                try:
                    answer: object = await enricher.lookup("214.0.0.1")
                except Exception as exc:  # any error is an answer the test rejects
                    answer = exc
                answers.append(answer)
                looked.set()
                if answer == new:
                    saw_new.set()
                await asyncio.sleep(0)

        thread = threading.Thread(target=asyncio.run, args=(keep_looking(),))
        thread.start()
        try:
            assert looked.wait(timeout=10)
            replace_file(city, GEOIP2_CITY)
            clock.now += RELOAD_INTERVAL
            assert saw_new.wait(timeout=30)
        finally:
            stop.set()
            thread.join(timeout=10)
        assert all(answer in (old, new) for answer in answers), [a for a in answers if a not in (old, new)]
        first_new = answers.index(new)
        assert old in answers[:first_new]
        assert all(answer == new for answer in answers[first_new:])
        assert found(enricher, "81.2.69.160")["geo"]["city_name"] == "London"  # in both databases
        with pytest.raises(ValueError, match="closed"):  # the old reader was closed once unused
            old_reader.city("81.2.69.160")
        asyncio.run(enricher.aclose())

    def test_bad_file_keeps_the_old_reader_and_logs_once(self, tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
        asn = tmp_path / "asn.mmdb"
        asn.write_bytes(GeoIPSettings().asn_db.read_bytes())
        clock = Clock()
        enricher = GeoIPEnricher(GeoIPSettings(asn_db=asn), AddressClassifier(), clock=clock)
        replace_file(asn, b"this is not a MaxMind database")
        with caplog.at_level(logging.WARNING, logger="pipeline.enrich.reloading"):
            for _ in range(3):
                clock.now += RELOAD_INTERVAL
                assert found(enricher, "1.128.0.0")["as"]["number"] == 1221
                assert enricher._asn.wait(timeout=10)
        assert len(caplog.records) == 1
        assert "geoip.asn_db" in caplog.text and "keeping" in caplog.text
        asyncio.run(enricher.aclose())

    def test_database_of_the_wrong_type_on_reload_is_refused(self, tmp_path: Path) -> None:
        city = tmp_path / "city.mmdb"
        city.write_bytes(GeoIPSettings().city_db.read_bytes())
        clock = Clock()
        enricher = GeoIPEnricher(GeoIPSettings(city_db=city), AddressClassifier(), clock=clock)
        replace_file(city, GeoIPSettings().asn_db)
        clock.now += RELOAD_INTERVAL
        assert found(enricher, "81.2.69.160")["geo"]["city_name"] == "London"
        assert enricher._city.wait(timeout=10)
        assert found(enricher, "81.2.69.160")["geo"]["city_name"] == "London"
        asyncio.run(enricher.aclose())


def test_database_of_the_wrong_type_names_the_setting() -> None:
    with pytest.raises(DependencyError, match=r"geoip\.city_db: .* GeoLite2-ASN database, not a City one"):
        GeoIPEnricher(GeoIPSettings(city_db=GeoIPSettings().asn_db), AddressClassifier())
