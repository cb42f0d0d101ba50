"""What each panel of the report shows, read off an ``Aggregate``: plain rows, ready for a chart or a table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from pipeline.report.aggregate import ROLES, SEPARATOR, Aggregate, AssetActivity, Hit, Limits, ShodanHost
from pipeline.report.sketches import Ranked, TopCounter

__all__ = ["Location", "SideRow", "PortRow", "CveRow", "FailureRow", "Series", "Panels", "panels"]


@dataclass(frozen=True, slots=True)
class Location:
    lat: float
    lon: float
    place: str
    country: str
    events: int


@dataclass(frozen=True, slots=True)
class SideRow:
    """One country, ASN or organisation: events with it as source, and as destination."""

    label: str
    source: int
    destination: int
    exact: bool = True

    @property
    def total(self) -> int:
        return self.source + self.destination


@dataclass(frozen=True, slots=True)
class PortRow:
    port: int
    hosts: int    # contacted hosts with the port open
    events: int   # events to them


@dataclass(frozen=True, slots=True)
class CveRow:
    cve: str
    hosts: int
    examples: list[str]   # the first few hosts, by address
    events: int           # events to or from any of the hosts


@dataclass(frozen=True, slots=True)
class FailureRow:
    source: str
    reason: str
    events: int
    exact: bool = True


@dataclass(frozen=True, slots=True)
class Series:
    """Events per time bucket of one source type (bucket start as ISO 8601 UTC)."""

    name: str
    starts: list[str]
    events: list[int]


@dataclass(frozen=True, slots=True)
class Panels:
    limits: Limits
    events: int
    untimed: int
    first_seen: str
    last_seen: str
    datasets: list[Ranked]
    addresses: dict[str, int]
    with_geo: dict[str, int]
    locations: dict[str, list[Location]]
    countries: list[SideRow]
    asns: list[SideRow]
    organizations: list[SideRow]
    threat_hits: list[Hit]
    threat_events: int
    threat_indicators: int
    virustotal_hits: list[Hit]
    virustotal_events: int
    virustotal_files: int
    hits_not_itemised: int
    shodan_ports: list[PortRow]
    shodan_cves: list[CveRow]
    shodan_hosts: list[tuple[ShodanHost, int]]
    shodan_host_count: int
    shodan_not_itemised: int
    critical: list[AssetActivity]
    critical_events: int
    roles: dict[str, list[AssetActivity]]
    role_events: dict[str, int]
    asset_events_not_itemised: int
    failures: list[FailureRow]
    failure_events: int
    timeline: list[Series]
    bucket_seconds: int


_EXAMPLES = 5  # hosts named per CVE


def _iso(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _both_sides(source: TopCounter, destination: TopCounter, n: int, label: dict[str, str] | None = None
                ) -> list[SideRow]:
    """The ``n`` keys with the most events on either side, with each side's count."""
    by_source = {r.key: r for r in source.top()}
    by_destination = {r.key: r for r in destination.top()}
    rows = []
    for key in by_source.keys() | by_destination.keys():
        s, d = by_source.get(key), by_destination.get(key)
        rows.append(SideRow((label or {}).get(key, key), s.count if s else 0, d.count if d else 0,
                            (s is None or s.exact) and (d is None or d.exact)))
    rows.sort(key=lambda r: (-r.total, r.label))
    return rows[:n]


def _locations(counter: TopCounter, n: int) -> list[Location]:
    found = []
    for ranked in counter.top(n):
        lat, lon, place, country = ranked.key.split(SEPARATOR)
        found.append(Location(float(lat), float(lon), place, country, ranked.count))
    return found


def _asn_labels(*counters: TopCounter) -> dict[str, str]:
    labels = {}
    for counter in counters:
        for ranked in counter.top():
            number, _, name = ranked.key.partition(SEPARATOR)
            labels[ranked.key] = f"AS{number} {name}".strip()
    return labels


def _by_events(hits: Iterable[Hit], n: int) -> list[Hit]:
    return sorted(hits, key=lambda h: (-h.events, h.provider, h.indicator))[:n]


def _shodan(aggregate: Aggregate, n: int) -> tuple[list[PortRow], list[CveRow], list[tuple[ShodanHost, int]]]:
    hosts = aggregate.shodan_hosts.values()
    events = aggregate.shodan_events
    port_hosts: Counter[int] = Counter()
    port_events: Counter[int] = Counter()
    for host in hosts:
        for port in host.ports:
            port_hosts[port] += 1
            port_events[port] += events[host.ip]
    ranked = sorted(port_events, key=lambda port: (-port_events[port], -port_hosts[port], port))[:n]
    port_rows = [PortRow(port, port_hosts[port], port_events[port]) for port in ranked]
    with_cve: dict[str, list[str]] = {}
    for host in hosts:
        for cve in host.vulns:
            with_cve.setdefault(cve, []).append(host.ip)
    cve_rows = [CveRow(cve, len(ips), sorted(ips)[:_EXAMPLES], sum(events[ip] for ip in ips))
                for cve, ips in with_cve.items()]
    cve_rows.sort(key=lambda r: (-r.events, -r.hosts, r.cve))
    host_rows = sorted(((host, events[host.ip]) for host in hosts),
                       key=lambda pair: (-len(pair[0].vulns), -pair[1], pair[0].ip))
    return port_rows, cve_rows[:aggregate.limits.table_rows], host_rows[:aggregate.limits.table_rows]


def _failures(counter: TopCounter) -> list[FailureRow]:
    rows = []
    for ranked in counter.top():
        source, _, reason = ranked.key.partition(SEPARATOR)
        rows.append(FailureRow(source, reason, ranked.count, ranked.exact))
    return rows


def _timeline(aggregate: Aggregate) -> tuple[int, list[Series]]:
    width, series = aggregate.timeline.series(aggregate.limits.timeline_bars)
    ordered = sorted(series, key=lambda name: (-sum(count for _, count in series[name]), name))
    return width, [Series(name, [_iso(start) for start, _ in series[name]], [count for _, count in series[name]])
                   for name in ordered]


def _activity(table: dict[str, AssetActivity], n: int) -> list[AssetActivity]:
    return sorted(table.values(), key=lambda a: (-(a.outbound + a.inbound), a.ip))[:n]


def panels(aggregate: Aggregate) -> Panels:
    limits = aggregate.limits
    source, destination = aggregate.sides["source"], aggregate.sides["destination"]
    ports, cves, hosts = _shodan(aggregate, limits.top)
    bucket_seconds, timeline = _timeline(aggregate)
    country_labels = {iso: f"{name} ({iso})" for iso, name in aggregate.country_names.items()}
    return Panels(
        limits=limits,
        events=aggregate.events,
        untimed=aggregate.untimed,
        first_seen=_iso(aggregate.first_epoch),
        last_seen=_iso(aggregate.last_epoch),
        datasets=aggregate.datasets.top(),
        addresses={side: counts.addresses.estimate for side, counts in aggregate.sides.items()},
        with_geo={side: counts.with_geo for side, counts in aggregate.sides.items()},
        locations={side: _locations(counts.locations, limits.locations) for side, counts in aggregate.sides.items()},
        countries=_both_sides(source.countries, destination.countries, limits.top, country_labels),
        asns=_both_sides(source.asns, destination.asns, limits.top, _asn_labels(source.asns, destination.asns)),
        organizations=_both_sides(source.organizations, destination.organizations, limits.top),
        threat_hits=_by_events(aggregate.threat_hits.values(), limits.table_rows),
        threat_events=aggregate.threat_events,
        threat_indicators=len(aggregate.threat_hits),
        virustotal_hits=_by_events(aggregate.virustotal_hits.values(), limits.table_rows),
        virustotal_events=aggregate.virustotal_events,
        virustotal_files=len(aggregate.virustotal_hits),
        hits_not_itemised=aggregate.hits_not_itemised,
        shodan_ports=ports,
        shodan_cves=cves,
        shodan_hosts=hosts,
        shodan_host_count=len(aggregate.shodan_hosts),
        shodan_not_itemised=aggregate.shodan_not_itemised,
        critical=_activity(aggregate.critical, limits.table_rows),
        critical_events=aggregate.critical_events,
        roles={role: _activity(aggregate.roles[role], limits.table_rows) for role in ROLES},
        role_events={role: aggregate.role_events[role] for role in ROLES},
        asset_events_not_itemised=aggregate.asset_events_not_itemised,
        failures=_failures(aggregate.failures),
        failure_events=aggregate.failure_events,
        timeline=timeline,
        bucket_seconds=bucket_seconds,
    )
