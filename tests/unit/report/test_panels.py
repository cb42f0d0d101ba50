"""Reading the panels off an aggregate: rankings over both sides, Shodan per port and CVE, failures, timeline."""

from __future__ import annotations

from pipeline.report.aggregate import Limits
from pipeline.report.panels import CveRow, FailureRow, PortRow, SideRow, panels
from tests.unit.report.enriched import CHANGCHUN, LONDON, event, fed, side


def test_countries_and_networks_rank_by_events_on_either_side() -> None:
    aggregate = fed(
        *[event(source=side("81.2.69.160", geo=LONDON, asn=64496, org="Example Net"))] * 3,
        *[event(destination=side("175.16.199.0", geo=CHANGCHUN, asn=4837))] * 2,
        *[event(source=side("175.16.199.0", geo=CHANGCHUN, asn=4837))] * 2,
        limits=Limits(top=5))
    shown = panels(aggregate)
    assert shown.countries == [SideRow("China (CN)", 2, 2), SideRow("United Kingdom (GB)", 3, 0)]
    assert shown.asns == [SideRow("AS4837", 2, 2), SideRow("AS64496 Example Net", 3, 0)]
    assert shown.organizations == [SideRow("Example Net", 3, 0)]
    assert [(p.place, p.country, p.events) for p in shown.locations["source"]] == [("London", "GB", 3),
                                                                                  ("Changchun", "CN", 2)]


def test_rankings_stop_at_top() -> None:
    aggregate = fed(*[event(source=side(f"81.2.69.{i}", asn=64500 + i)) for i in range(10) for _ in range(i + 1)],
                    limits=Limits(top=3))
    assert [row.label for row in panels(aggregate).asns] == ["AS64509", "AS64508", "AS64507"]


def test_shodan_ports_and_cves_count_events_to_contacted_hosts_and_the_hosts() -> None:
    aggregate = fed(
        *[event(destination=side("81.2.69.160"),
                botes={"destination": {"shodan": {"ports": [80, 443], "vulns": ["CVE-2021-41617"]}}})] * 3,
        event(destination=side("89.160.20.112"),
              botes={"destination": {"shodan": {"ports": [22, 443], "vulns": ["CVE-2021-41617", "CVE-2016-20012"]}}}),
    )
    shown = panels(aggregate)
    assert shown.shodan_ports == [PortRow(443, 2, 4), PortRow(80, 1, 3), PortRow(22, 1, 1)]
    assert shown.shodan_cves == [CveRow("CVE-2021-41617", 2, ["81.2.69.160", "89.160.20.112"], 4),
                                 CveRow("CVE-2016-20012", 1, ["89.160.20.112"], 1)]
    assert [(host.ip, events) for host, events in shown.shodan_hosts] == [("89.160.20.112", 1), ("81.2.69.160", 3)]
    assert shown.shodan_host_count == 2


def test_a_cve_names_its_first_five_hosts_and_counts_them_all() -> None:
    aggregate = fed(*[event(destination=side(f"81.2.69.{i}"),
                            botes={"destination": {"shodan": {"ports": [22], "vulns": ["CVE-2021-41617"]}}})
                      for i in range(12)])
    (row,) = panels(aggregate).shodan_cves
    assert (row.hosts, row.events) == (12, 12)
    assert row.examples == ["81.2.69.0", "81.2.69.1", "81.2.69.10", "81.2.69.11", "81.2.69.2"]


def test_failures_and_timeline() -> None:
    aggregate = fed(
        event(ts="2016-08-10T21:00:00.000Z", dataset="fgt_traffic",
              failures=[{"source": "shodan", "reason": "http 503"}, {"source": "shodan", "reason": "timeout"}]),
        event(ts="2016-08-10T21:30:00.000Z", dataset="suricata", failures=[{"source": "shodan", "reason": "timeout"}]),
        event(ts="2016-08-10T23:59:00.000Z", dataset="suricata"),
        limits=Limits(timeline_bars=10))
    shown = panels(aggregate)
    assert shown.failures == [FailureRow("shodan", "timeout", 2), FailureRow("shodan", "http 503", 1)]
    assert shown.bucket_seconds == 1800  # 3 hours in at most 10 bars
    assert [(s.name, s.starts, s.events) for s in shown.timeline] == [
        ("suricata", ["2016-08-10T21:30:00Z", "2016-08-10T23:30:00Z"], [1, 1]),
        ("fgt_traffic", ["2016-08-10T21:00:00Z"], [1])]
    assert (shown.first_seen, shown.last_seen) == ("2016-08-10T21:00:00Z", "2016-08-10T23:59:00Z")
