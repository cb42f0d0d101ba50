"""pipeline.scot.entities: what a valid value of each SCOT entity type is, and which sources cover it."""

from __future__ import annotations

import pytest

from pipeline.addresses import AddressClassifier
from pipeline.scot.entities import (
    ENTITY_TYPES,
    InvalidEntity,
    covers,
    entity_type_of,
    entity_value,
    probe_event,
    scope_note,
)


class TestValues:
    @pytest.mark.parametrize(("entity_type", "raw", "canonical"), [
        ("ipaddr", " 81.2.69.160 ", "81.2.69.160"),
        ("ipv6", "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("domain", "Evil.Example.COM", "evil.example.com"),
        ("domain", "bücher.example", "xn--bcher-kva.example"),   # IDNs as DNS carries them
        ("md5", "B214DA9F6B0D6E6DE5090B3F9672DEFE", "b214da9f6b0d6e6de5090b3f9672defe"),
        ("sha1", "a" * 40, "a" * 40),
        ("sha256", "0" * 64, "0" * 64),
    ])
    def test_valid_values_become_canonical(self, entity_type: str, raw: str, canonical: str) -> None:
        assert entity_value(entity_type, raw) == canonical  # type: ignore[arg-type]

    @pytest.mark.parametrize(("entity_type", "raw", "why"), [
        ("ipaddr", "999.1.1.1", "not an IPv4 address"),
        ("ipaddr", "2001:db8::1", "not an IPv4 address"),       # SCOT's ipaddr is IPv4; ipv6 is its own type
        ("ipaddr", "010.1.2.3", "not an IPv4 address"),         # leading zeros: octal or decimal? refused
        ("ipv6", "81.2.69.160", "not an IPv6 address"),
        ("domain", "81.2.69.160", "not a domain name"),
        ("domain", "localhost", "not a domain name"),           # no dot
        ("domain", "foo.12", "not a domain name"),              # all-digit last label, as SCOT's flair
        ("domain", "http://evil.example/x", "not a domain name"),
        ("domain", "*.evil.example", "not a domain name"),
        ("domain", "a b.example", "not a domain name"),
        ("md5", "b214da9f6b0d6e6de5090b3f9672def", "not an MD5 hash"),   # 31 digits
        ("md5", "g" * 32, "not an MD5 hash"),
        ("sha1", "0" * 64, "not an SHA1 hash"),
        ("sha256", "0" * 40, "not an SHA256 hash"),
    ])
    def test_invalid_values_say_why(self, entity_type: str, raw: str, why: str) -> None:
        with pytest.raises(InvalidEntity, match=why):
            entity_value(entity_type, raw)  # type: ignore[arg-type]

    def test_a_huge_value_is_refused_without_echoing_it(self) -> None:
        with pytest.raises(InvalidEntity) as refused:
            entity_value("domain", "a" * 1_000_000)
        assert "too long" in str(refused.value)
        assert "1000000 characters" in str(refused.value)
        assert len(str(refused.value)) < 200


    @pytest.mark.parametrize(("raw", "entity_type"), [
        (" 81.2.69.160 ", "ipaddr"), ("2001:DB8::1", "ipv6"), ("Evil.Example", "domain"), ("bücher.example", "domain"),
        ("B214DA9F6B0D6E6DE5090B3F9672DEFE", "md5"), ("a" * 40, "sha1"), ("0" * 64, "sha256"),
        ("a" * 33 + ".example", "domain"),   # hex, but a name
    ])
    def test_a_bare_value_reads_as_its_type(self, raw: str, entity_type: str) -> None:
        assert entity_type_of(raw) == entity_type

    @pytest.mark.parametrize("raw", ["notanip", "999.1.1.1", "010.1.2.3", "b214da9f6b0d6e6de5090b3f9672def", "",
                                     "http://evil.example/x"])
    def test_a_bare_value_of_no_type_says_what_it_should_be(self, raw: str) -> None:
        with pytest.raises(InvalidEntity, match="is not an IP address, a domain name or an MD5, SHA1 or SHA256 hash"):
            entity_type_of(raw)


class TestCoverage:
    def test_which_sources_cover_which_types(self) -> None:
        assert [t for t in ENTITY_TYPES if covers("shodan", t)] == ["ipaddr", "ipv6"]
        assert [t for t in ENTITY_TYPES if covers("virustotal", t)] == ["md5", "sha1", "sha256"]
        assert all(covers("threatlists", t) for t in ENTITY_TYPES)
        assert not covers("geoip", "domain")
        assert not covers("no-such-source", "ipaddr")

    @pytest.mark.parametrize(("entity_type", "value", "event"), [
        ("ipaddr", "81.2.69.160", {"source": {"ip": "81.2.69.160"}}),
        ("domain", "evil.example", {"url": {"domain": "evil.example"}}),
        ("sha1", "a" * 40, {"file": {"hash": {"sha1": "a" * 40}}}),
    ])
    def test_probe_event_holds_the_value_where_events_do(self, entity_type: str, value: str,
                                                         event: dict[str, object]) -> None:
        assert probe_event(entity_type, value) == event  # type: ignore[arg-type]

    def test_scope_notes(self) -> None:
        classifier = AddressClassifier()
        assert scope_note("Shodan host", "10.1.2.3", classifier) == \
            "10.1.2.3 is an internal address; Shodan host does not look internal addresses up."
        assert scope_note("Internal asset", "81.2.69.160", classifier) == \
            "81.2.69.160 is a public address; Internal asset does not look public addresses up."
        assert "neither a public nor an internal address" in scope_note("GeoIP/ASN", "192.0.2.1", classifier)
