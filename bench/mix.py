"""The benchmark input: a SYNTHETIC, realistic mix of firewall, IDS, DNS and Sysmon events.

Nothing here is real data. Records use the BOTES maps' original field names (as scripts/make_sample.py and
tests/golden do) for four source types: ``fgt_traffic`` (firewall), ``suricata`` (IDS), ``stream-dns`` (DNS)
and ``xmlwineventlog`` (Sysmon process, network and file events).

Addresses follow the skew of Apache Metron's published enrichment benchmark ("10,000 unique IP addresses
... 10% of these IPs were chosen 80% of the time", metron-platform/metron-enrichment/Performance.md,
https://metron.apache.org/current-book/metron-platform/metron-enrichment/Performance.html): a pool of
10,000 unique addresses, internal and public, IPv4 and IPv6, where a tenth of the pool makes 80 % of the
draws. File hashes and DNS names follow the same rule. Public addresses come half from networks the MaxMind
test databases know (so GeoIP answers) and half from elsewhere (so "not found" is cached too).

The assets table written beside the events lists exact internal addresses (a CMDB export): both this
pipeline and the syslog-ng peer (add-contextual-data matches exact values) read the same rows.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["Pools", "Skewed", "make_pools", "write_mix", "write_assets", "MixSummary", "SHARES", "public_ips"]

POOL_SIZE = 10_000      # unique addresses, as in Metron's benchmark
HOT_SHARE = 0.10        # the hot tenth of a pool ...
HOT_WEIGHT = 0.80       # ... makes 80 % of the draws
PUBLIC_SHARE = 0.6      # of the address pool
IPV6_SHARE = 0.2        # of each side (internal, public)
# Share of events per source type (family in brackets).
SHARES = {"fgt_traffic": 0.40, "suricata": 0.25, "stream-dns": 0.15, "xmlwineventlog": 0.20}
START = datetime(2016, 8, 10, 21, 0, tzinfo=UTC)

# Networks of the MaxMind *test* databases (GeoLite2-City-Test, GeoLite2-ASN-Test) with answers.
_KNOWN_V4 = ("81.2.69.160/27", "81.2.69.144/28", "89.160.20.128/25", "175.16.199.0/24", "216.160.83.56/29",
             "202.196.224.0/20", "214.78.0.0/19", "67.43.156.0/24", "1.128.0.0/11", "12.82.0.0/15")
_KNOWN_V6 = ("2001:218::/32", "2001:220::/32", "2001:230::/32", "2001:250::/31", "2001:1700::/27")
_INTERNAL_V4 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
_INTERNAL_V6 = ("fd00::/8",)
_OTHER_PUBLIC_V4 = ("23.0.0.0/8", "45.0.0.0/8", "93.0.0.0/8", "104.0.0.0/8", "185.0.0.0/8", "151.101.0.0/16")
_OTHER_PUBLIC_V6 = ("2a00::/12", "2600::/12")


class Skewed:
    """Draws from ``items`` so that the first ``HOT_SHARE`` of them make ``HOT_WEIGHT`` of the draws."""

    def __init__(self, items: list[str], rng: random.Random) -> None:
        if not items:
            raise ValueError("an empty pool")
        self._rng = rng
        cut = max(1, int(len(items) * HOT_SHARE))
        self._hot, self._cold = items[:cut], items[cut:] or items[:cut]

    def __call__(self) -> str:
        pool = self._hot if self._rng.random() < HOT_WEIGHT else self._cold
        return pool[int(self._rng.random() * len(pool))]


def _random_address(rng: random.Random, networks: tuple[str, ...]) -> str:
    network = ipaddress.ip_network(rng.choice(networks))
    offset = rng.randrange(1, max(2, network.num_addresses - 1))
    return str(network.network_address + offset)


def _unique_addresses(rng: random.Random, count: int, make: Callable[[], str]) -> list[str]:
    seen: dict[str, None] = {}
    while len(seen) < count:
        seen.setdefault(make(), None)
    return list(seen)


@dataclass(slots=True)
class Pools:
    internal: list[str]
    public: list[str]
    hashes: list[tuple[str, str, str]]  # (md5, sha1, sha256)
    domains: list[str]
    resolvers: list[str]                # internal DNS servers


def make_pools(rng: random.Random, size: int = POOL_SIZE) -> Pools:
    public_count = int(size * PUBLIC_SHARE)
    internal_count = size - public_count

    def public() -> str:
        v6 = rng.random() < IPV6_SHARE
        known = rng.random() < 0.5
        return _random_address(rng, (_KNOWN_V6 if known else _OTHER_PUBLIC_V6) if v6
                               else (_KNOWN_V4 if known else _OTHER_PUBLIC_V4))

    def internal() -> str:
        return _random_address(rng, _INTERNAL_V6 if rng.random() < IPV6_SHARE else _INTERNAL_V4)

    public_ips = _unique_addresses(rng, public_count, public)
    internal_ips = _unique_addresses(rng, internal_count, internal)
    hashes = [(f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(160):040x}", f"{rng.getrandbits(256):064x}")
              for _ in range(max(10, size // 5))]
    words = ("mail", "cdn", "api", "update", "login", "static", "files", "portal", "vpn", "news")
    domains = [f"{rng.choice(words)}{n}.example{n % 97}.{rng.choice(('com', 'net', 'org', 'co.uk'))}"
               for n in range(max(10, size // 5))]
    return Pools(internal_ips, public_ips, hashes, domains, internal_ips[:4])


class _Draw:
    """Skewed draws from the pools; addresses of one event share their IP version."""

    def __init__(self, pools: Pools, rng: random.Random) -> None:
        self.pools = pools
        self.rng = rng
        self._internal = {v6: Skewed([ip for ip in pools.internal if (":" in ip) == v6], rng) for v6 in (False, True)}
        self._public = {v6: Skewed([ip for ip in pools.public if (":" in ip) == v6], rng) for v6 in (False, True)}
        self.hashes = Skewed([str(i) for i in range(len(pools.hashes))], rng)
        self.domains = Skewed(pools.domains, rng)

    def v6(self) -> bool:
        return self.rng.random() < IPV6_SHARE

    def internal(self, v6: bool | None = None) -> str:
        return self._internal[self.v6() if v6 is None else v6]()

    def public(self, v6: bool | None = None) -> str:
        return self._public[self.v6() if v6 is None else v6]()

    def pair(self) -> tuple[str, str]:
        """An internal and a public address of the same IP version, in a random direction."""
        v6 = self.v6()
        inside, outside = self.internal(v6), self.public(v6)
        return (inside, outside) if self.rng.random() < 0.7 else (outside, inside)


def _fgt_traffic(d: _Draw, n: int, moment: datetime) -> dict[str, Any]:
    rng = d.rng
    src, dst = d.pair()
    service, port = rng.choice((("HTTPS", 443), ("HTTP", 80), ("DNS", 53), ("SSH", 22), ("SMTP", 25)))
    sent, rcvd = rng.randint(40, 90000), rng.randint(0, 900000)
    return {
        "date": moment.strftime("%Y-%m-%d"), "time": moment.strftime("%H:%M:%S"),
        "devname": "gotham-fw01", "devid": "FGT60D4614044725", "logid": "0000000013",
        "type": "traffic", "subtype": "forward", "level": "notice", "vd": "root",
        "srcip": src, "srcport": str(rng.randint(1024, 65535)), "srcintf": "internal",
        "dstip": dst, "dstport": str(port), "dstintf": "wan1",
        "sessionid": str(1_000_000 + n), "proto": "17" if service == "DNS" else "6",
        "action": rng.choice(("accept", "accept", "close", "deny")),
        "policyid": str(rng.choice((1, 2, 7))), "service": service, "trandisp": "snat",
        "duration": str(rng.randint(1, 300)), "sentbyte": str(sent), "rcvdbyte": str(rcvd),
        "sentpkt": str(sent // 500 + 1), "rcvdpkt": str(rcvd // 500), "app": service,
        "appcat": "Network.Service", "apprisk": "elevated",
    }


_SIGNATURES = ((2008578, "ET SCAN Sipvicious Scan", "Attempted Information Leak"),
               (2012887, "ET POLICY Http Client Body contains pass= in cleartext",
                "Potential Corporate Privacy Violation"),
               (2019284, "ET ATTACK_RESPONSE Possible MS CMD Shell opened on local system",
                "Successful Administrator Privilege Gain"))


def _suricata(d: _Draw, n: int, moment: datetime) -> dict[str, Any]:
    rng = d.rng
    src, dst = d.pair()
    kind = rng.choice(("alert", "alert", "http", "dns", "flow"))
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%f+0000")
    record: dict[str, Any] = {
        "timestamp": stamp, "flow_id": 600_000_000 + n, "in_iface": "eth1", "event_type": kind,
        "src_ip": src, "src_port": rng.randint(1024, 65535), "dest_ip": dst,
        "dest_port": 53 if kind == "dns" else 80, "proto": "UDP" if kind == "dns" else "TCP",
    }
    if kind == "alert":
        sid, signature, category = rng.choice(_SIGNATURES)
        record["alert"] = {"action": "allowed", "gid": 1, "signature_id": sid, "rev": 3,
                           "signature": signature, "category": category, "severity": rng.randint(1, 3)}
    elif kind == "http":
        record["http"] = {"hostname": d.domains(), "url": f"/index.php?id={n}",
                          "http_user_agent": "Mozilla/5.0 (Windows NT 6.1; WOW64)",
                          "http_method": rng.choice(("GET", "POST")), "protocol": "HTTP/1.1",
                          "status": rng.choice((200, 303, 404)), "length": rng.randint(0, 9000)}
    elif kind == "dns":
        record["dns"] = {"type": "query", "id": rng.randint(1, 65535), "rrname": d.domains(), "rrtype": "A"}
    else:
        record["flow"] = {"pkts_toserver": rng.randint(1, 50), "pkts_toclient": rng.randint(0, 50),
                          "bytes_toserver": rng.randint(60, 9000), "bytes_toclient": rng.randint(0, 90000),
                          "start": stamp, "age": rng.randint(0, 60), "state": "closed", "reason": "timeout"}
    return record


def _stream_dns(d: _Draw, n: int, moment: datetime) -> dict[str, Any]:
    rng = d.rng
    name = d.domains()
    resolver = rng.choice(d.pools.resolvers) if rng.random() < 0.7 else d.public()
    answers = [d.public() for _ in range(rng.randint(0, 2))]
    record: dict[str, Any] = {
        "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "src_ip": d.internal(),
        "src_port": rng.randint(1024, 65535), "dest_ip": resolver, "dest_port": 53,
        "transport": "udp", "transaction_id": rng.randint(1, 65535), "bytes_in": rng.randint(40, 200),
        "bytes_out": rng.randint(60, 600), "message_type{}": ["QUERY", "RESPONSE"], "query{}": [name],
        "query_type{}": [rng.choice(("A", "AAAA", "A"))], "reply_code": "NoError" if answers else "NXDomain",
        "time_taken": rng.randint(100, 90000),
    }
    if answers:
        record["host_addr{}"] = answers
        record["ttl{}"] = [rng.choice((60, 300, 3600)) for _ in answers]
    return record


_IMAGES = ("C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
           "C:\\Program Files\\Internet Explorer\\iexplore.exe", "C:\\Windows\\explorer.exe",
           "C:\\Users\\bob.smith\\AppData\\Local\\Temp\\invoice.pdf.exe")


def _sysmon(d: _Draw, n: int, moment: datetime) -> dict[str, Any]:
    rng = d.rng
    code = rng.choice(("1", "1", "3", "3", "11"))
    utc = moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    record: dict[str, Any] = {
        "time": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "EventCode": code,
        "Computer": f"we{8000 + n % 300}desk.waynecorpinc.local", "RecordID": str(80_000 + n),
        "ProcessId": str(rng.randint(4, 9000)), "Image": rng.choice(_IMAGES),
        "User": f"WAYNECORPINC\\user{n % 200}", "UtcTime": utc,
        "EventChannel": "Microsoft-Windows-Sysmon/Operational",
    }
    if code == "1":
        md5, sha1, sha256 = d.pools.hashes[int(d.hashes())]
        record.update({"EventDescription": "Process Create", "CommandLine": f"cmd.exe /c task{n % 50}",
                       "ParentImage": "C:\\Windows\\explorer.exe", "ParentProcessId": "3604",
                       "Hashes": f"MD5={md5.upper()},SHA256={sha256.upper()}", "MD5": md5.upper(),
                       "SHA256": sha256.upper(), "IntegrityLevel": "Medium"})
    elif code == "3":
        v6 = d.v6()
        src, dst = d.internal(v6), d.public(v6)
        record.update({"EventDescription": "Network connection detected", "Protocol": "tcp", "Initiated": "true",
                       "SourceIsIpv6": str(v6).lower(), "SourceIp": src, "SourcePort": str(rng.randint(1024, 65535)),
                       "DestinationIsIpv6": str(v6).lower(), "DestinationIp": dst,
                       "DestinationPort": rng.choice(("80", "443", "8080")), "DestinationPortName": "http"})
    else:
        record.update({"EventDescription": "File created",
                       "TargetFilename": f"C:\\Users\\user{n % 200}\\AppData\\Local\\Temp\\f{n}.tmp",
                       "CreationUtcTime": utc})
    return record


_MAKERS: dict[str, Callable[[_Draw, int, datetime], dict[str, Any]]] = {
    "fgt_traffic": _fgt_traffic, "suricata": _suricata, "stream-dns": _stream_dns, "xmlwineventlog": _sysmon,
}


@dataclass(slots=True)
class MixSummary:
    events: int = 0
    per_type: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    pools: Pools | None = None


def _records(draw: _Draw, source_type: str, count: int) -> Iterator[str]:
    make = _MAKERS[source_type]
    step = 86_400 / max(1, count)  # a day of events
    for n in range(count):
        moment = START + timedelta(seconds=n * step, microseconds=draw.rng.randint(0, 999_999))
        yield json.dumps(make(draw, n, moment), separators=(",", ":"))


def write_mix(directory: Path, events: int, seed: str = "botes-bench", pool_size: int = POOL_SIZE,
              repeat: int = 1) -> MixSummary:
    """``events`` records split over the four source types, one ``botesv1.<type>.json`` file each.

    ``repeat`` > 1 writes the same records that many times over (a larger input with the same key space,
    cheap to produce): used for the memory measurement at 10x the input.
    """
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pools = make_pools(rng, pool_size)
    draw = _Draw(pools, rng)
    summary = MixSummary(pools=pools)
    counts = {name: int(events * share) for name, share in SHARES.items()}
    counts["fgt_traffic"] += events - sum(counts.values())
    for source_type, count in counts.items():
        path = directory / f"botesv1.{source_type}.json"
        lines = [line + "\n" for line in _records(draw, source_type, count)]
        with path.open("w", encoding="utf-8") as f:
            for _ in range(repeat):
                f.writelines(lines)
        summary.per_type[source_type] = count * repeat
        summary.files.append(path)
    summary.events = sum(summary.per_type.values())
    return summary


def write_assets(path: Path, pools: Pools, share: float = 0.6, seed: str = "botes-bench-assets") -> int:
    """An assets CSV (the pipeline's columns) with exact rows for ``share`` of the internal addresses."""
    rng = random.Random(seed)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("# SYNTHETIC assets table for the benchmark (not real data)\n")
        writer = csv.writer(f)
        writer.writerow(("network", "hostname", "owner", "os", "location", "criticality", "roles"))
        for n, address in enumerate(pools.internal):
            if rng.random() >= share:
                continue
            writer.writerow((address, f"host{n:05d}", rng.choice(("IT", "Finance", "Web team", "Research")),
                             rng.choice(("Windows 10", "Debian 12", "Windows Server 2019")),
                             rng.choice(("HQ", "DC1", "Lab")), rng.choice(("Critical", "Medium", "Low")),
                             rng.choice(("Workstation", "Web server", "Scanner;Red Team", "Domain controller"))))
            rows += 1
    return rows


def public_ips(pools: Pools) -> list[str]:
    return list(pools.public)
