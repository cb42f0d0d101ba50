"""One pass over enriched events, into what the report shows, in memory that does not grow with the events.

Every table is bounded: rankings are ``TopCounter`` sketches, and the things listed one by one (indicators,
Shodan hosts, Critical assets, Scanner and Red Team assets) are kept for the first ``Limits`` of each;
the events behind an indicator are its first ``events_per_hit``. What goes past a limit is still counted,
and the report says how much was not itemised.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pipeline.events import Event, parse_timestamp
from pipeline.report.sketches import DistinctCounter, Timeline, TopCounter

__all__ = ["Limits", "EventBrief", "Hit", "ShodanHost", "AssetActivity", "Aggregate", "SIDES", "ROLES",
           "VIRUSTOTAL", "CRITICAL", "SEPARATOR"]

SIDES = ("source", "destination")
ROLES = ("Scanner", "Red Team")   # asset roles whose events the report shows apart
CRITICAL = "Critical"
VIRUSTOTAL = "virustotal"         # threat.enrichments.indicator.provider of VirusTotal detections
SEPARATOR = "\x1f"                # joins the parts of a composite sketch key


@dataclass(frozen=True, slots=True)
class Limits:
    top: int = 15                 # rows of each ranking
    events_per_hit: int = 5       # events kept behind each indicator and each Scanner / Red Team asset
    indicators: int = 1000        # threat-list and VirusTotal indicators itemised
    hosts: int = 10_000           # Shodan hosts itemised
    assets: int = 1000            # Critical, Scanner and Red Team assets itemised
    locations: int = 500          # map markers per side
    table_rows: int = 50          # rows of each list of indicators, hosts and assets
    timeline_buckets: int = 400   # kept while reading (the width grows to stay within it)
    timeline_bars: int = 120      # drawn: the time range spans at most this many buckets
    series: int = 30              # source types drawn apart on the timeline; the rest are "other"


@dataclass(frozen=True, slots=True)
class EventBrief:
    """One event as a table row: when, what, from where to where."""

    timestamp: str
    dataset: str
    source: str
    destination: str
    summary: str


@dataclass(slots=True)
class Hit:
    """A threat-list or VirusTotal indicator and the events that matched it."""

    provider: str
    indicator: str
    kind: str
    fields: list[str]
    description: str = ""
    detections: int | None = None
    reference: str = ""
    events: int = 0
    first_seen: str = ""
    last_seen: str = ""
    samples: list[EventBrief] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ShodanHost:
    ip: str
    ports: tuple[int, ...]
    vulns: tuple[str, ...]
    org: str
    hostnames: tuple[str, ...]


@dataclass(slots=True)
class AssetActivity:
    """What one internal asset did: events from it, to it, with whom and on which ports."""

    ip: str
    hostname: str
    owner: str
    location: str
    roles: tuple[str, ...]
    outbound: int = 0
    inbound: int = 0
    first_seen: str = ""
    last_seen: str = ""
    peers: TopCounter = field(default_factory=lambda: TopCounter(6))
    ports: TopCounter = field(default_factory=lambda: TopCounter(6))
    datasets: TopCounter = field(default_factory=lambda: TopCounter(5))
    samples: list[EventBrief] = field(default_factory=list)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _epoch(timestamp: Any) -> float | None:
    when = parse_timestamp(timestamp)
    return None if when is None else when.timestamp()


def _endpoint(part: dict[str, Any]) -> str:
    ip, port = part.get("ip"), part.get("port")
    if not isinstance(ip, str):
        return ""
    if port is None:
        return ip
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _summary(event: Event) -> str:
    """The few words that say what the event was about."""
    rule = _text(_dict(event.get("rule")).get("name"))
    if rule:
        return rule
    url = _dict(event.get("url"))
    if url.get("original"):
        return f"{_text(url.get('domain'))}{_text(url.get('original'))}"
    question = _text(_dict(_dict(event.get("dns")).get("question")).get("name"))
    if question:
        return f"DNS {question}"
    file_name = _text(_dict(event.get("file")).get("name"))
    if file_name:
        return f"file {file_name}"
    network = _dict(event.get("network"))
    action = _text(_dict(event.get("event")).get("action"))
    return " ".join(part for part in (_text(network.get("protocol")), action) if part)


def _brief(event: Event, timestamp: str, dataset: str) -> EventBrief:
    return EventBrief(timestamp, dataset, _endpoint(_dict(event.get("source"))),
                      _endpoint(_dict(event.get("destination"))), _summary(event))


def _seen(record: Hit | AssetActivity, timestamp: str) -> None:
    if timestamp:
        if not record.first_seen or timestamp < record.first_seen:
            record.first_seen = timestamp
        if timestamp > record.last_seen:
            record.last_seen = timestamp


class _SideCounts:
    """Per side (source or destination): where, which networks, how many addresses."""

    def __init__(self) -> None:
        self.locations = TopCounter()
        self.countries = TopCounter(10)
        self.asns = TopCounter()
        self.organizations = TopCounter()
        self.addresses = DistinctCounter()
        self.with_geo = 0


class Aggregate:
    """Feed it every event once with ``add``; read the panels off its attributes afterwards."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits = limits or Limits()
        self.events = 0
        self.untimed = 0
        self.first_epoch: float | None = None
        self.last_epoch: float | None = None
        self.datasets = TopCounter(8)
        self.timeline = Timeline(limits.timeline_buckets)
        self.sides = {side: _SideCounts() for side in SIDES}
        self.country_names: dict[str, str] = {}
        self.threat_hits: dict[tuple[str, str], Hit] = {}
        self.virustotal_hits: dict[str, Hit] = {}
        self.threat_events = 0
        self.virustotal_events = 0
        self.hits_not_itemised = 0
        self.shodan_hosts: dict[str, ShodanHost] = {}   # contacted (destination) hosts Shodan knows
        self.shodan_events: Counter[str] = Counter()    # events to each of them
        self.shodan_not_itemised = 0
        self.critical: dict[str, AssetActivity] = {}
        self.roles: dict[str, dict[str, AssetActivity]] = {role: {} for role in ROLES}
        self.asset_events_not_itemised = 0
        self.critical_events = 0
        self.role_events: Counter[str] = Counter()
        self.failure_events = 0
        self.failures = TopCounter(10)   # events per source SEPARATOR reason
        self._series: set[str] = set()

    def add(self, event: Event) -> None:
        self.events += 1
        dataset = self._dataset(event)
        timestamp = _text(event.get("@timestamp"))
        self._time(timestamp, dataset)
        botes = _dict(event.get("botes"))
        critical = False
        for side in SIDES:
            part = event.get(side)
            if isinstance(part, dict):
                critical |= self._side(side, part, _dict(botes.get(side)), event, timestamp, dataset)
        if critical:
            self.critical_events += 1
        enrichments = _dict(event.get("threat")).get("enrichments")
        if isinstance(enrichments, list) and enrichments:
            self._threats(enrichments, event, timestamp, dataset)
        failures = _dict(botes.get("enrichment")).get("failures")
        if isinstance(failures, list) and failures:
            self._failures(failures)

    def _dataset(self, event: Event) -> str:
        dataset = _text(_dict(event.get("event")).get("dataset")) or "unknown"
        self.datasets.add(dataset)
        return dataset

    def _time(self, timestamp: str, dataset: str) -> None:
        epoch = _epoch(timestamp)
        if epoch is None:
            self.untimed += 1
            return
        if self.first_epoch is None or epoch < self.first_epoch:
            self.first_epoch = epoch
        if self.last_epoch is None or epoch > self.last_epoch:
            self.last_epoch = epoch
        if dataset not in self._series:
            if len(self._series) >= self.limits.series:
                dataset = "other"
            self._series.add(dataset)
        self.timeline.add(epoch, dataset)

    def _side(self, side: str, part: dict[str, Any], extra: dict[str, Any], event: Event, timestamp: str,
              dataset: str) -> bool:
        """Counts one side of the event; True if it is a Critical asset."""
        counts = self.sides[side]
        ip = part.get("ip")
        if isinstance(ip, str):
            counts.addresses.add(ip)
        geo = part.get("geo")
        if isinstance(geo, dict):
            self._geo(counts, geo)
        network = part.get("as")
        if isinstance(network, dict):
            number = network.get("number")
            name = _text(_dict(network.get("organization")).get("name"))
            if isinstance(number, int):
                counts.asns.add(f"{number}{SEPARATOR}{name}")
            if name:
                counts.organizations.add(name)
        if not extra or not isinstance(ip, str):
            return False
        shodan = extra.get("shodan")
        if side == "destination" and isinstance(shodan, dict):  # the contacted host, as in the dashboards
            self._shodan(ip, shodan)
        asset = extra.get("asset")
        return isinstance(asset, dict) and self._asset(side, ip, asset, event, timestamp, dataset)

    def _geo(self, counts: _SideCounts, geo: dict[str, Any]) -> None:
        iso = _text(geo.get("country_iso_code"))
        if iso:
            counts.countries.add(iso)
            if iso not in self.country_names and len(self.country_names) < 1000:
                self.country_names[iso] = _text(geo.get("country_name")) or iso
        location = geo.get("location")
        if isinstance(location, dict):
            lat, lon = location.get("lat"), location.get("lon")
            if isinstance(lat, int | float) and isinstance(lon, int | float):
                counts.with_geo += 1
                place = _text(geo.get("city_name")) or _text(geo.get("country_name")) or iso
                counts.locations.add(f"{lat:.4f}{SEPARATOR}{lon:.4f}{SEPARATOR}{place}{SEPARATOR}{iso}")

    def _asset(self, side: str, ip: str, asset: dict[str, Any], event: Event, timestamp: str, dataset: str) -> bool:
        listed = asset.get("roles")
        critical = asset.get("criticality") == CRITICAL
        if not critical and (not listed or side != "source"):
            return False  # most assets: nothing more to note
        roles = tuple(r for r in listed if isinstance(r, str)) if isinstance(listed, list) else ()
        other = "destination" if side == "source" else "source"
        peer = _dict(event.get(other)).get("ip")
        port = _dict(event.get("destination")).get("port")
        if critical:
            activity = self._activity(self.critical, ip, asset, roles)
            if activity is not None:
                self._note(activity, side, peer, port, timestamp, dataset)
        if side != "source":
            return critical
        for role in ROLES:
            if role in roles:
                self.role_events[role] += 1
                activity = self._activity(self.roles[role], ip, asset, roles)
                if activity is not None:
                    self._note(activity, side, peer, port, timestamp, dataset)
                    if len(activity.samples) < self.limits.events_per_hit:
                        activity.samples.append(_brief(event, timestamp, dataset))
        return critical

    def _activity(self, table: dict[str, AssetActivity], ip: str, asset: dict[str, Any], roles: tuple[str, ...]
                  ) -> AssetActivity | None:
        activity = table.get(ip)
        if activity is None:
            if len(table) >= self.limits.assets:
                self.asset_events_not_itemised += 1
                return None
            activity = table[ip] = AssetActivity(ip, _text(asset.get("hostname")), _text(asset.get("owner")),
                                                 _text(asset.get("location")), roles)
        return activity

    @staticmethod
    def _note(activity: AssetActivity, side: str, peer: Any, port: Any, timestamp: str, dataset: str) -> None:
        if side == "source":
            activity.outbound += 1
        else:
            activity.inbound += 1
        if isinstance(peer, str):
            activity.peers.add(peer)
        if isinstance(port, int):
            activity.ports.add(str(port))
        activity.datasets.add(dataset)
        _seen(activity, timestamp)

    def _shodan(self, ip: str, facts: dict[str, Any]) -> None:
        if ip not in self.shodan_hosts:
            if len(self.shodan_hosts) >= self.limits.hosts:
                self.shodan_not_itemised += 1
                return
            ports = facts.get("ports")
            vulns = facts.get("vulns")
            hostnames = facts.get("hostnames")
            self.shodan_hosts[ip] = ShodanHost(
                ip,
                tuple(sorted(p for p in ports if isinstance(p, int))) if isinstance(ports, list) else (),
                tuple(sorted(v for v in vulns if isinstance(v, str))) if isinstance(vulns, list) else (),
                _text(facts.get("org")) or _text(facts.get("isp")),
                tuple(h for h in hostnames if isinstance(h, str))[:3] if isinstance(hostnames, list) else ())
        self.shodan_events[ip] += 1

    def _threats(self, enrichments: list[Any], event: Event, timestamp: str, dataset: str) -> None:
        seen: set[tuple[str, str]] = set()
        for enrichment in enrichments:
            if not isinstance(enrichment, dict):
                continue
            indicator, matched = _dict(enrichment.get("indicator")), _dict(enrichment.get("matched"))
            provider = _text(indicator.get("provider")) or "unknown"
            atomic = _text(matched.get("atomic")) or _text(indicator.get("name"))
            key = (provider, atomic)
            if not atomic or key in seen:
                continue
            seen.add(key)
            hit = self._hit(key, indicator)
            if hit is None:
                continue
            matched_field = _text(matched.get("field"))
            if matched_field and matched_field not in hit.fields and len(hit.fields) < 5:
                hit.fields.append(matched_field)
            hit.events += 1
            _seen(hit, timestamp)
            if len(hit.samples) < self.limits.events_per_hit:
                hit.samples.append(_brief(event, timestamp, dataset))
        providers = {provider for provider, _ in seen}
        if VIRUSTOTAL in providers:
            self.virustotal_events += 1
        if providers - {VIRUSTOTAL}:
            self.threat_events += 1

    def _hit(self, key: tuple[str, str], indicator: dict[str, Any]) -> Hit | None:
        provider, atomic = key
        table: dict[Any, Hit] = self.virustotal_hits if provider == VIRUSTOTAL else self.threat_hits
        table_key: Any = atomic if provider == VIRUSTOTAL else key
        hit = table.get(table_key)
        if hit is None:
            if len(self.threat_hits) + len(self.virustotal_hits) >= self.limits.indicators:
                self.hits_not_itemised += 1
                return None
            detections = indicator.get("scanner_stats")
            hit = table[table_key] = Hit(
                provider, atomic, _text(indicator.get("type")), [],
                description=_text(indicator.get("description")) or _text(indicator.get("name")),
                detections=detections if isinstance(detections, int) else None,
                reference=_text(indicator.get("reference")))
        return hit

    def _failures(self, failures: list[Any]) -> None:
        """Events with a failure, per source and reason (an event counts once for each pair it has)."""
        pairs = {f"{_text(f.get('source')) or 'unknown'}{SEPARATOR}{_text(f.get('reason')) or 'unknown'}"
                 for f in failures if isinstance(f, dict)}
        for pair in pairs:
            self.failures.add(pair)
        if pairs:
            self.failure_events += 1
