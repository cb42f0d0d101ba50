"""The one-pass aggregation, on hand-built enriched events shaped like `botes run --output` writes them."""

from __future__ import annotations

from typing import Any

from pipeline.report.aggregate import SEPARATOR, Aggregate, Limits
from tests.unit.report.enriched import CHANGCHUN, LONDON, SCANNER, WEB, event, fed, side, threat


def counts(counter: Any) -> dict[str, int]:
    return {r.key: r.count for r in counter.top()}


class TestGeoAndNetworks:
    def test_each_side_counts_its_countries_networks_and_locations(self) -> None:
        aggregate = fed(
            event(source=side("81.2.69.160", geo=LONDON, asn=64496, org="Example Net"),
                  destination=side("192.168.250.20")),
            event(source=side("81.2.69.160", geo=LONDON, asn=64496, org="Example Net"),
                  destination=side("175.16.199.0", geo=CHANGCHUN, asn=4837)),
            event(source=side("192.168.250.20"), destination=side("81.2.69.161", geo=LONDON)),
        )
        source, destination = aggregate.sides["source"], aggregate.sides["destination"]
        assert counts(source.countries) == {"GB": 2}
        assert counts(destination.countries) == {"CN": 1, "GB": 1}
        assert counts(source.asns) == {f"64496{SEPARATOR}Example Net": 2}
        assert counts(destination.asns) == {f"4837{SEPARATOR}": 1}  # an AS without an organisation name
        assert counts(source.organizations) == {"Example Net": 2}
        assert counts(source.locations) == {f"51.5142{SEPARATOR}-0.0931{SEPARATOR}London{SEPARATOR}GB": 2}
        assert (source.with_geo, destination.with_geo) == (2, 2)
        assert (source.addresses.estimate, destination.addresses.estimate) == (2, 3)
        assert aggregate.country_names == {"GB": "United Kingdom", "CN": "China"}

    def test_a_location_that_is_not_a_pair_of_numbers_is_left_off_the_map(self) -> None:
        broken = {**LONDON, "location": {"lat": "51.5", "lon": None}}
        aggregate = fed(event(source=side("81.2.69.160", geo=broken)), event(source={"ip": "81.2.69.160", "geo": "x"}))
        assert aggregate.sides["source"].with_geo == 0
        assert counts(aggregate.sides["source"].countries) == {"GB": 1}


class TestThreatHits:
    def test_each_indicator_counts_the_events_that_matched_it_once(self) -> None:
        listed = threat("blocklist", "175.16.199.0", "destination.ip")
        aggregate = fed(
            event(ts="2016-08-10T21:00:02.000Z", destination=side("175.16.199.0", 80),
                  threats=[listed, listed, threat("feodo", "175.16.199.0", "destination.ip")]),
            event(ts="2016-08-10T21:00:01.000Z", source=side("175.16.199.0", 4444), threats=[
                threat("blocklist", "175.16.199.0", "source.ip")]),
            event(destination=side("8.8.8.8")),
        )
        hit = aggregate.threat_hits[("blocklist", "175.16.199.0")]
        assert hit.events == 2
        assert hit.fields == ["destination.ip", "source.ip"]
        assert (hit.first_seen, hit.last_seen) == ("2016-08-10T21:00:01.000Z", "2016-08-10T21:00:02.000Z")
        assert aggregate.threat_hits[("feodo", "175.16.199.0")].events == 1
        assert aggregate.threat_events == 2
        assert aggregate.virustotal_events == 0

    def test_virustotal_detections_are_kept_apart_with_their_verdict(self) -> None:
        digest = "001015aafcae8a6942366cbb0e7d39c0738752a7800c41ea1c655d47b0a4d04c"
        detection = {"indicator": {"provider": "virustotal", "type": "file", "scanner_stats": 53,
                                   "description": "virus.hill/w97m: 53/62 engines flag the file as malicious",
                                   "reference": f"https://www.virustotal.com/gui/file/{digest}"},
                     "matched": {"atomic": digest, "field": "file.hash.sha256", "type": "indicator_match_rule"}}
        aggregate = fed(event(threats=[detection]), event(threats=[detection, threat("bl", "1.2.3.4", "source.ip")]))
        hit = aggregate.virustotal_hits[digest]
        assert (hit.events, hit.detections, hit.fields) == (2, 53, ["file.hash.sha256"])
        assert hit.description.startswith("virus.hill/w97m: 53/62")
        assert list(aggregate.threat_hits) == [("bl", "1.2.3.4")]
        assert (aggregate.virustotal_events, aggregate.threat_events) == (2, 1)

    def test_the_events_behind_a_hit_are_its_first_few_in_order(self) -> None:
        limits = Limits(events_per_hit=3)
        events = [event(ts=f"2016-08-10T21:00:0{i}.000Z", source=side("10.0.0.1", 5000 + i),
                        destination=side("175.16.199.0", 80), rule={"name": f"rule {i}"},
                        threats=[threat("bl", "175.16.199.0", "destination.ip")]) for i in range(7)]
        hit = fed(*events, limits=limits).threat_hits[("bl", "175.16.199.0")]
        assert hit.events == 7
        assert [(b.timestamp, b.source, b.destination, b.summary) for b in hit.samples] == [
            (f"2016-08-10T21:00:0{i}.000Z", f"10.0.0.1:{5000 + i}", "175.16.199.0:80", f"rule {i}") for i in range(3)]


class TestShodan:
    def test_a_contacted_host_is_described_once_and_the_events_to_it_counted(self) -> None:
        facts = {"ports": [443, 80], "vulns": ["CVE-2021-41617"], "org": "Example", "hostnames": ["a.example"]}
        aggregate = fed(*[event(destination=side("81.2.69.160"), botes={"destination": {"shodan": facts}})] * 3,
                        event(destination=side("81.2.69.160"), botes={"destination": {"shodan": {"ports": [22]}}}))
        host = aggregate.shodan_hosts["81.2.69.160"]
        assert (host.ports, host.vulns, host.org, host.hostnames) == ((80, 443), ("CVE-2021-41617",), "Example",
                                                                       ("a.example",))
        assert aggregate.shodan_events["81.2.69.160"] == 4

    def test_a_host_seen_only_as_a_source_is_not_a_contacted_host(self) -> None:
        aggregate = fed(event(source=side("89.160.20.112"), destination=side("192.168.250.20"),
                              botes={"source": {"shodan": {"ports": [22]}}}))
        assert aggregate.shodan_hosts == {} and not aggregate.shodan_events


class TestAssets:
    def test_traffic_from_and_to_critical_assets(self) -> None:
        aggregate = fed(
            event(source=side("192.168.250.70", 5000), destination=side("8.8.8.8", 53),
                  botes={"source": {"asset": WEB}}),
            event(source=side("175.16.199.0", 4000), destination=side("192.168.250.70", 80),
                  botes={"destination": {"asset": WEB}}),
            event(source=side("175.16.199.0", 4001), destination=side("192.168.250.70", 80),
                  botes={"destination": {"asset": WEB}}),
            event(source=side("192.168.250.70"), destination=side("192.168.250.71", 445),
                  botes={"source": {"asset": WEB}, "destination": {"asset": {**WEB, "hostname": "web02"}}}),
            event(source=side("192.168.2.50"), botes={"source": {"asset": {**WEB, "criticality": "Low"}}}),
        )
        web = aggregate.critical["192.168.250.70"]
        assert (web.hostname, web.owner, web.location, web.roles) == ("web01", "Web team", "DC1", ("Web server",))
        assert (web.outbound, web.inbound) == (2, 2)
        assert counts(web.peers) == {"175.16.199.0": 2, "8.8.8.8": 1, "192.168.250.71": 1}
        assert counts(web.ports) == {"80": 2, "53": 1, "445": 1}
        assert aggregate.critical["192.168.250.71"].inbound == 1
        assert set(aggregate.critical) == {"192.168.250.70", "192.168.250.71"}
        assert aggregate.critical_events == 4  # the event between two Critical assets counts once

    def test_scanner_and_red_team_events_are_the_ones_they_send(self) -> None:
        both = {**SCANNER, "hostname": "kali", "roles": ["Red Team", "Scanner"]}
        aggregate = fed(
            *[event(source=side("192.168.250.100"), destination=side(target, 22), botes={"source": {"asset": SCANNER}})
              for target in ("10.0.0.5", "10.0.0.6")],
            event(source=side("10.0.0.9"), destination=side("192.168.250.100"),
                  botes={"destination": {"asset": SCANNER}}),
            event(source=side("10.10.10.10"), destination=side("10.0.0.5", 445), botes={"source": {"asset": both}}),
        )
        scanners, red_team = aggregate.roles["Scanner"], aggregate.roles["Red Team"]
        assert {ip: a.outbound for ip, a in scanners.items()} == {"192.168.250.100": 2, "10.10.10.10": 1}
        assert {ip: a.outbound for ip, a in red_team.items()} == {"10.10.10.10": 1}
        assert counts(scanners["192.168.250.100"].peers) == {"10.0.0.5": 1, "10.0.0.6": 1}
        assert [b.destination for b in scanners["192.168.250.100"].samples] == ["10.0.0.5:22", "10.0.0.6:22"]
        assert aggregate.role_events == {"Scanner": 3, "Red Team": 1}


def test_failures_count_events_per_source_and_reason() -> None:
    aggregate = fed(
        event(failures=[{"source": "shodan", "field": "destination.ip", "reason": "http 503"},
                        {"source": "shodan", "field": "source.ip", "reason": "http 503"},   # same event: once
                        {"source": "virustotal", "field": "file.hash.sha256", "reason": "timeout"}]),
        event(failures=[{"source": "shodan", "field": "source.ip", "reason": "http 503"}]),
        event(),
    )
    assert counts(aggregate.failures) == {f"shodan{SEPARATOR}http 503": 2, f"virustotal{SEPARATOR}timeout": 1}
    assert aggregate.failure_events == 2


def test_source_types_and_time() -> None:
    aggregate = fed(event(ts="2016-08-10T21:00:00.000Z", dataset="fgt_traffic"),
                    event(ts="2016-08-10T22:00:00+00:00", dataset="suricata"),
                    event(ts="not a time", dataset="suricata"),
                    {"event": {"kind": "event"}})
    assert counts(aggregate.datasets) == {"suricata": 2, "fgt_traffic": 1, "unknown": 1}
    assert aggregate.untimed == 2
    assert aggregate.first_epoch == 1470862800.0 and aggregate.last_epoch == 1470866400.0


def test_source_types_past_the_series_limit_share_one_series_on_the_timeline() -> None:
    aggregate = fed(*[event(dataset=f"type{i}") for i in range(5)], limits=Limits(series=3))
    _, series = aggregate.timeline.series()
    assert set(series) == {"type0", "type1", "type2", "other"}
    assert series["other"] == [(1470862800, 2)]


def test_what_is_listed_one_by_one_stops_at_its_limit_and_the_rest_is_counted() -> None:
    limits = Limits(indicators=10, hosts=10, assets=10, events_per_hit=2)
    aggregate = Aggregate(limits)
    for i in range(1000):
        ip = f"10.{i // 256}.{i % 256}.1"
        aggregate.add(event(source=side(ip), destination=side(f"81.{i // 256}.{i % 256}.2"),
                            threats=[threat("bl", ip, "source.ip")],
                            botes={"source": {"asset": {**WEB, "roles": ["Scanner"]}},
                                   "destination": {"shodan": {"ports": [80]}}}))
    assert len(aggregate.threat_hits) == 10 and aggregate.hits_not_itemised == 990
    assert len(aggregate.shodan_hosts) == 10 and aggregate.shodan_not_itemised == 990
    assert len(aggregate.critical) == 10 and len(aggregate.roles["Scanner"]) == 10
    assert aggregate.asset_events_not_itemised == 2 * 990
    assert aggregate.threat_events == 1000 and aggregate.critical_events == 1000  # totals stay exact
    assert all(hit.events == len(hit.samples) == 1 for hit in aggregate.threat_hits.values())  # one each


def test_values_of_the_wrong_shape_are_skipped_not_fatal() -> None:
    aggregate = fed({"@timestamp": 5, "event": "x", "source": {"ip": 7, "geo": [], "as": {"number": "64496"}},
                     "botes": {"source": {"asset": "x"}, "enrichment": {"failures": "x"}},
                     "threat": {"enrichments": ["x", {"indicator": None, "matched": {"atomic": "1.2.3.4"}}]}},
                    {"@timestamp": "2016-08-10T21:00:00Z", "destination": {"ip": "8.8.8.8"},
                     "botes": {"destination": {"asset": {"criticality": "Critical", "roles": "Scanner"},
                                               "shodan": {"ports": "80", "vulns": None}}}})
    assert aggregate.events == 2
    assert list(aggregate.threat_hits) == [("unknown", "1.2.3.4")]
    assert aggregate.shodan_hosts["8.8.8.8"].ports == ()
    assert aggregate.critical["8.8.8.8"].roles == ()
