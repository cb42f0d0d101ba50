"""pipeline.enrich.rdns: dnspython's async resolver against a real DNS server on loopback (tests/fakes/dns_server.py).

The server answers only what each test registers, so the addresses' real PTR records never matter.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pipeline.addresses import AddressClassifier
from pipeline.config import RdnsSettings, Settings, bundled_data
from pipeline.enrich.chain import EnrichmentChain
from pipeline.enrich.rdns import RdnsEnricher
from pipeline.enrich.registry import build_enricher
from pipeline.enrich.scot import scot_enrichment
from pipeline.errors import ConfigError
from pipeline.events import Failed, Found, NotFound, Outcome, Target, iter_leaves
from tests.fakes.dns_server import DnsServer, Query, reverse_name

PUBLIC = "81.2.69.160"  # a global address (documentation ranges are scope OTHER and never targeted)
INTERNAL = "10.1.2.3"


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


def make(server: DnsServer, **settings: Any) -> RdnsEnricher:
    options: dict[str, Any] = {"enabled": True, "nameservers": ["127.0.0.1"], "port": server.port, **settings}
    return RdnsEnricher(RdnsSettings(**options), AddressClassifier())


def lookup(enricher: RdnsEnricher, value: str) -> Outcome:
    return asyncio.run(enricher.lookup(value))


class TestLookup:
    def test_ipv4_ptr_with_the_record_ttl(self, dns_server: DnsServer) -> None:
        dns_server.ptr(PUBLIC, "host.example.", ttl=137)
        outcome = lookup(make(dns_server), PUBLIC)
        assert outcome == Found({"domain": "host.example", "ttl": 137}, ttl=137)
        assert dns_server.queries == [Query("160.69.2.81.in-addr.arpa.", "PTR", "udp")]

    def test_ipv6_ptr_asks_the_nibble_name(self, dns_server: DnsServer) -> None:
        dns_server.ptr("2001:db8::1", "v6.example", ttl=60)
        assert lookup(make(dns_server), "2001:db8::1") == Found({"domain": "v6.example", "ttl": 60}, ttl=60)
        assert dns_server.queries[0].name == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."

    def test_ipv4_mapped_ipv6_asks_the_ipv4_name(self, dns_server: DnsServer) -> None:
        dns_server.ptr(INTERNAL, "ws-17.corp.example")
        assert lookup(make(dns_server), f"::ffff:{INTERNAL}") == Found({"domain": "ws-17.corp.example", "ttl": 300},
                                                                      ttl=300)
        assert dns_server.queries[0].name == reverse_name(INTERNAL) == "3.2.1.10.in-addr.arpa."

    def test_several_names_first_is_the_domain(self, dns_server: DnsServer) -> None:
        dns_server.ptr(PUBLIC, "a.example", "b.example", "c.example", ttl=90)
        outcome = lookup(make(dns_server), PUBLIC)
        assert outcome == Found({"domain": "a.example", "names": ["b.example", "c.example"], "ttl": 90}, ttl=90)

    def test_classless_delegation_cname_is_followed_and_the_shorter_ttl_kept(self, dns_server: DnsServer) -> None:
        # RFC 2317: the in-addr.arpa name is a CNAME into the customer's zone, which holds the PTR.
        dns_server.add(f"{reverse_name(PUBLIC)} 60 IN CNAME 160.128/25.69.2.81.in-addr.arpa.",
                       "160.128/25.69.2.81.in-addr.arpa. 3600 IN PTR customer.example.")
        assert lookup(make(dns_server), PUBLIC) == Found({"domain": "customer.example", "ttl": 60}, ttl=60)

    def test_nxdomain_is_not_found(self, dns_server: DnsServer) -> None:
        assert lookup(make(dns_server), PUBLIC) == NotFound()
        assert len(dns_server.queries) == 1

    def test_no_answer_is_not_found(self, dns_server: DnsServer) -> None:
        dns_server.rcode(PUBLIC, "NOERROR")
        assert lookup(make(dns_server), PUBLIC) == NotFound()

    def test_silent_server_times_out_within_the_timeout(self, dns_server: DnsServer) -> None:
        dns_server.silence(PUBLIC)
        started = time.monotonic()
        assert lookup(make(dns_server, timeout=0.3), PUBLIC) == Failed("timeout")
        # At least the timeout; well short of dnspython's own 5 s lifetime, which a timeout not passed down
        # would leave in force.
        assert 0.25 < time.monotonic() - started < 4.0
        assert dns_server.queries[0].name == reverse_name(PUBLIC)

    @pytest.mark.parametrize(("rcode", "reason"), [("SERVFAIL", "servfail"), ("REFUSED", "refused"),
                                                   ("NOTIMP", "notimp")])
    def test_server_errors_are_failures(self, dns_server: DnsServer, rcode: str, reason: str) -> None:
        dns_server.rcode(PUBLIC, rcode)
        assert lookup(make(dns_server), PUBLIC) == Failed(reason)

    def test_not_an_address_is_a_failure_without_a_query(self, dns_server: DnsServer) -> None:
        assert lookup(make(dns_server), "not-an-ip") == Failed("not an IP address")
        assert dns_server.queries == []

    def test_in_flight_queries_are_bounded(self, dns_server: DnsServer) -> None:
        addresses = [f"81.2.69.{n}" for n in range(1, 7)]
        for address in addresses:
            dns_server.ptr(address, f"h{address.rsplit('.', 1)[1]}.example")
        dns_server.hold_until_concurrent = 2  # the first answer waits until two queries are in flight
        enricher = make(dns_server, max_in_flight=2)

        async def all_at_once() -> list[Outcome]:
            return await asyncio.gather(*(enricher.lookup(a) for a in addresses))

        outcomes = asyncio.run(all_at_once())
        assert [o.data["domain"] for o in outcomes if isinstance(o, Found)] == [f"h{n}.example" for n in range(1, 7)]
        assert dns_server.max_concurrent == 2

    def test_one_enricher_serves_several_event_loops(self, dns_server: DnsServer) -> None:
        # `botes lookup` and the Flink operator each run their own loop; the bound must not tie to the first.
        dns_server.ptr(PUBLIC, "host.example")
        dns_server.delay = 0.02
        enricher = make(dns_server, max_in_flight=1)

        async def two() -> list[Outcome]:
            return list(await asyncio.gather(enricher.lookup(PUBLIC), enricher.lookup(PUBLIC)))

        answer = Found({"domain": "host.example", "ttl": 300}, ttl=300)
        assert asyncio.run(two()) == [answer, answer]  # on a first event loop
        assert asyncio.run(two()) == [answer, answer]  # and on a second one
        assert len(dns_server.queries) == 4


class TestSettings:
    def test_nameservers_and_port_come_from_settings(self, dns_server: DnsServer) -> None:
        dns_server.ptr(PUBLIC, "host.example")
        assert isinstance(lookup(make(dns_server), PUBLIC), Found)
        other = DnsServer().start()
        try:
            assert lookup(make(other), PUBLIC) == NotFound()  # the other server, which knows nothing
        finally:
            other.stop()
        assert len(dns_server.queries) == 1 and len(other.queries) == 1

    def test_a_bad_nameserver_is_a_config_error_naming_the_setting(self) -> None:
        with pytest.raises(ConfigError, match=r"rdns\.nameservers"):
            RdnsEnricher(RdnsSettings(nameservers=["not a server"]), AddressClassifier())

    def test_registry_builds_it_from_settings(self, dns_server: DnsServer) -> None:
        settings = Settings(rdns=RdnsSettings(enabled=True, nameservers=["127.0.0.1"], port=dns_server.port))
        enricher = build_enricher("rdns", settings, AddressClassifier())
        assert isinstance(enricher, RdnsEnricher)
        assert (enricher.name, enricher.title) == ("rdns", "Reverse DNS")


def _event(**ips: str) -> dict[str, Any]:
    return {field: {"ip": ip} for field, ip in ips.items()}


class TestTargets:
    EVENT = _event(source=INTERNAL, destination=PUBLIC, client="127.0.0.1", server="2001:db8::1")

    @pytest.mark.parametrize(("scope", "expected"), [
        ("all", [Target("source", INTERNAL), Target("destination", PUBLIC)]),
        ("public", [Target("destination", PUBLIC)]),
        ("internal", [Target("source", INTERNAL)]),
    ])
    def test_scope(self, dns_server: DnsServer, scope: str, expected: list[Target]) -> None:
        assert list(make(dns_server, scope=scope).targets(self.EVENT)) == expected

    @pytest.mark.parametrize("other", ["127.0.0.1", "::1", "224.0.1.1", "192.0.2.10", "0.0.0.0", "not-an-ip"])
    def test_never_loopback_multicast_or_documentation(self, dns_server: DnsServer, other: str) -> None:
        event = _event(source=other, destination=other, client=other, server=other)
        assert list(make(dns_server).targets(event)) == []

    def test_every_address_field_in_order(self, dns_server: DnsServer) -> None:
        event = _event(server="fd00::5", client="192.168.1.9", destination=PUBLIC, source="2001:1700::1")
        assert list(make(dns_server).targets(event)) == [
            Target("source", "2001:1700::1"), Target("destination", PUBLIC), Target("client", "192.168.1.9"),
            Target("server", "fd00::5"),
        ]

    def test_site_internal_networks_count_as_internal(self, dns_server: DnsServer) -> None:
        enricher = RdnsEnricher(RdnsSettings(nameservers=["127.0.0.1"], port=dns_server.port, scope="internal"),
                                AddressClassifier(["81.2.69.0/24"]))
        assert list(enricher.targets(_event(destination=PUBLIC))) == [Target("destination", PUBLIC)]

    def test_a_field_that_already_has_a_domain_is_left_alone(self, dns_server: DnsServer) -> None:
        event = {"source": {"ip": INTERNAL, "domain": "WS-17"}, "destination": {"ip": PUBLIC, "domain": "sni.example"},
                 "server": {"ip": "81.2.69.161", "domain": ""}}
        assert list(make(dns_server).targets(event)) == [Target("server", "81.2.69.161")]


def _ecs_fields() -> set[str]:
    with bundled_data("ecs/fields.csv").open(encoding="utf-8", newline="") as f:
        return {row["Field"] for row in csv.DictReader(f)}


class TestFragment:
    def test_one_name(self, dns_server: DnsServer) -> None:
        found = Found({"domain": "host.example", "ttl": 300}, ttl=300)
        assert make(dns_server).fragment(Target("destination", PUBLIC), found) == {
            "destination": {"domain": "host.example"}}

    def test_further_names_under_botes(self, dns_server: DnsServer) -> None:
        found = Found({"domain": "a.example", "names": ["b.example", "c.example"], "ttl": 90})
        assert make(dns_server).fragment(Target("client", INTERNAL), found) == {
            "client": {"domain": "a.example"},
            "botes": {"client": {"rdns": {"names": ["b.example", "c.example"]}}},
        }

    def test_fields_are_ecs_or_botes(self, dns_server: DnsServer) -> None:
        ecs = _ecs_fields()
        found = Found({"domain": "a.example", "names": ["b.example"], "ttl": 90})
        enricher = make(dns_server)
        for field in ("source", "destination", "client", "server"):
            for path, _ in iter_leaves(enricher.fragment(Target(field, PUBLIC), found)):
                assert path in ecs or path.startswith(f"botes.{field}.rdns."), path


class TestSummary:
    def test_rows(self, dns_server: DnsServer) -> None:
        found = Found({"domain": "a.example", "names": ["b.example"], "ttl": 90}, ttl=90)
        assert make(dns_server).summary_rows(found) == [
            ("domain", "a.example"), ("other names", ["b.example"]), ("TTL", "90 s")]

    def test_scot_markdown(self, dns_server: DnsServer) -> None:
        dns_server.ptr(PUBLIC, "a.example", "b.example", ttl=90)
        enricher = make(dns_server)
        scot = scot_enrichment(enricher, PUBLIC, lookup(enricher, PUBLIC))
        assert scot["title"] == "Reverse DNS"  # the tab name in SCOT's entity pane
        assert "| domain | a.example |" in scot["data"]["markdown"]
        assert "| other names | b.example |" in scot["data"]["markdown"]
        assert "| TTL | 90 s |" in scot["data"]["markdown"]


class TestInTheChain:
    def test_both_ends_enriched_and_a_timeout_recorded(self, dns_server: DnsServer,
                                                       caplog: pytest.LogCaptureFixture) -> None:
        dns_server.ptr(INTERNAL, "ws-17.corp.example")
        dns_server.ptr(PUBLIC, "a.example", "b.example")
        dns_server.silence("81.2.69.161")
        event = _event(source=INTERNAL, destination=PUBLIC, server="81.2.69.161", client="127.0.0.1")
        # The answered lookups must not time out on a busy machine: 1.5 s for them, and for the silent one.
        chain = EnrichmentChain([make(dns_server, timeout=1.5)])
        with caplog.at_level(logging.DEBUG):
            enriched = asyncio.run(chain.enrich(event))
        assert enriched["source"] == {"ip": INTERNAL, "domain": "ws-17.corp.example"}
        assert enriched["destination"] == {"ip": PUBLIC, "domain": "a.example"}
        assert enriched["botes"]["destination"] == {"rdns": {"names": ["b.example"]}}
        assert enriched["botes"]["enrichment"]["failures"] == [
            {"source": "rdns", "field": "server.ip", "reason": "timeout"}]
        assert "domain" not in enriched["client"] and "domain" not in enriched["server"]
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
