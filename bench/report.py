"""The HTML report over many enriched events: time, page size and peak memory, against a baseline.

    .venv/bin/python bench/report.py [--events 1000000] [--work DIR]

Input: SYNTHETIC enriched events in the shape `botes run --output` writes (ECS fields, event.original,
GeoIP/ASN, assets, Shodan, threat and VirusTotal matches, failures; about 2 KB a line), with many distinct
values on purpose (200,000 public addresses, 20,000 ASNs, 50,000 indicators, 50,000 Shodan hosts, 30 days),
so that every bounded structure of the report fills up. Generated once into --work (default: a temporary
directory) and reused when already there.

Baselines, measured in the same run on the same file: one pass of the standard library's json.loads over
every line, doing nothing else, and the same with orjson.loads (the parser the report uses), so the rest
of the report's time is its aggregation and rendering. Each measurement runs in its own process, so its
peak memory (max RSS) and CPU time are its own (on a shared machine the CPU time says what the work costs
when the wall-clock time is stretched by others); the report is also run over the first tenth of the
file, to show that its memory does not grow with the number of events.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

DATASETS = ["fgt_traffic", "fgt_utm", "fgt_event", "suricata", "stream-dns", "stream-http", "stream-tcp",
            "stream-ip", "stream-smb", "wineventlog-security", "xmlwineventlog", "iis", "nessus-scan"]
FAILURES = [("shodan", "http 503"), ("shodan", "rate limited"), ("virustotal", "timeout"), ("rdns", "timeout"),
            ("onyphe", "http 429")]


class _Synthetic:
    """Deterministic made-up enriched events."""

    def __init__(self, seed: int = 15) -> None:
        self.rng = random.Random(seed)
        rng = self.rng
        self.cities = [(round(rng.uniform(-55, 70), 4), round(rng.uniform(-180, 180), 4), f"City {i}",
                        f"C{i % 240:03d}") for i in range(2000)]
        self.internal = [f"192.168.{i // 200}.{i % 200 + 10}" for i in range(400)]
        self.assets = {ip: {"hostname": f"host{i}", "owner": f"Team {i % 12}", "location": f"DC{i % 3}",
                            "criticality": "Critical" if i < 50 else ("Medium" if i < 200 else "Low"),
                            **({"roles": ["Scanner"]} if i in (60, 61, 62) else
                               {"roles": ["Red Team"]} if i in (70, 71) else {})}
                       for i, ip in enumerate(self.internal)}
        self.start = 1_470_000_000

    def _public(self) -> str:
        n = self.rng.randrange(200_000)
        return f"{11 + n // 65536}.{(n // 256) % 256}.{n % 256}.{1 + n % 200}"

    def _geo(self, ip: str) -> tuple[dict[str, Any], dict[str, Any]]:
        n = zlib.crc32(ip.encode())
        lat, lon, city, iso = self.cities[n % len(self.cities)]
        asn = 1000 + n % 20_000
        return ({"continent_code": "EU", "country_iso_code": iso, "country_name": f"Country {iso}",
                 "city_name": city, "timezone": "Etc/UTC", "location": {"lat": lat, "lon": lon}},
                {"number": asn, "organization": {"name": f"Network {asn} Ltd"}})

    def event(self, i: int) -> dict[str, Any]:
        rng = self.rng
        dataset = DATASETS[i % len(DATASETS)]
        outbound = rng.random() < 0.6
        inside, outside = rng.choice(self.internal), self._public()
        src, dst = (inside, outside) if outbound else (outside, inside)
        when = self.start + i * 2.592  # 30 days over a million events
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when * 1000) % 1000:03d}Z"
        geo, network = self._geo(outside)
        public_side, inside_side = ("destination", "source") if outbound else ("source", "destination")
        event: dict[str, Any] = {
            "@timestamp": stamp,
            "event": {"dataset": dataset, "module": dataset.split("-")[0], "kind": "event",
                      "category": ["network"], "type": ["connection"], "action": "accept",
                      "original": json.dumps({"date": stamp[:10], "time": stamp[11:19], "srcip": src,
                                              "dstip": dst, "srcport": str(1024 + i % 60000), "dstport": "443",
                                              "devname": "gotham-fw01", "devid": "FGT60D4614044725",
                                              "logid": "0000000013", "type": "traffic", "subtype": "forward",
                                              "policyid": "2", "service": "HTTPS", "sentbyte": str(i % 99991),
                                              "rcvdbyte": str(i % 77773), "app": "SSL", "apprisk": "elevated"})},
            "observer": {"hostname": "gotham-fw01", "vendor": "Fortinet", "product": "FortiGate",
                         "type": "firewall", "serial_number": "FGT60D4614044725",
                         "ingress": {"interface": {"name": "internal"}}, "egress": {"interface": {"name": "wan1"}}},
            "rule": {"id": "2", "name": f"policy {i % 40}"}, "log": {"level": "notice"},
            "source": {"ip": src, "port": 1024 + i % 60000, "bytes": i % 99991, "packets": i % 97},
            "destination": {"ip": dst, "port": rng.choice((443, 80, 53, 22, 445, 3389, 8080)),
                            "bytes": i % 77773, "packets": i % 89},
            "network": {"transport": "tcp", "protocol": "https", "iana_number": "6", "bytes": i % 177764},
            "related": {"ip": [src, dst], "hosts": ["gotham-fw01"]},
            "ecs": {"version": "9.4.0"},
            "botes": {"log": {"type": "traffic", "subtype": "forward"}, inside_side: {"asset": self.assets[inside]},
                      "unmapped": {"vd": "root", "trandisp": "snat", "transip": "10.0.0.1", "poluuid":
                                   "4c6a8c2e-5ba1-51e7-53d7-5a1d26a7e5b0", "countryname": "Reserved"},
                      "network": {"session": {"id": str(1_000_000 + i)}, "nat": {"type": "snat"}},
                      "application": {"category": "Network.Service", "risk": "elevated"}},
        }
        event[public_side]["geo"], event[public_side]["as"] = geo, network
        if rng.random() < 0.3:
            host = zlib.crc32(outside.encode()) % 50_000
            event["botes"].setdefault(public_side, {})["shodan"] = {
                "ports": sorted({80, 443, 22 + host % 7, 8000 + host % 100}), "org": f"Network {host} Ltd",
                "vulns": [f"CVE-2021-{40000 + host % 300}"] if host % 5 == 0 else [],
                "hostnames": [f"h{host}.example"]}
        enrichments = []
        if rng.random() < 0.05:
            indicator = f"{11 + rng.randrange(50_000) // 256}.0.{rng.randrange(256)}.9"
            enrichments.append({"indicator": {"type": "ipv4-addr", "ip": indicator, "name": indicator,
                                              "provider": rng.choice(("spamhaus-drop", "feodo", "blocklist-de"))},
                                "matched": {"atomic": indicator, "field": f"{public_side}.ip",
                                            "type": "indicator_match_rule"}})
        if rng.random() < 0.005:
            digest = f"{rng.randrange(2000):064x}"
            enrichments.append({"indicator": {"type": "file", "provider": "virustotal", "scanner_stats": 40,
                                              "description": "trojan.x: 40/70 engines flag the file as malicious",
                                              "file": {"hash": {"sha256": digest}}},
                                "matched": {"atomic": digest, "field": "file.hash.sha256",
                                            "type": "indicator_match_rule"}})
        if enrichments:
            event["threat"] = {"enrichments": enrichments}
        if rng.random() < 0.03:
            source, reason = rng.choice(FAILURES)
            event["botes"]["enrichment"] = {"failures": [{"source": source, "field": f"{public_side}.ip",
                                                          "reason": reason}]}
        return event


def _generate(path: Path, events: int) -> None:
    import orjson

    synthetic = _Synthetic()
    with path.open("wb") as out:
        for i in range(events):
            out.write(orjson.dumps(synthetic.event(i)) + b"\n")


def _child(mode: str, path: Path, out: Path) -> None:
    """One measurement in this process: print {seconds, max_rss_mb, ...} as JSON."""
    started = time.perf_counter()
    result: dict[str, Any] = {}
    if mode in ("json.loads", "orjson.loads"):
        import orjson

        parse = json.loads if mode == "json.loads" else orjson.loads
        with path.open("rb") as lines:
            for line in lines:
                parse(line)
    else:
        from pipeline.report import write_report

        outcome = write_report(path, out)
        result = {"events": outcome.events, "bad_lines": outcome.bad_lines, "size": outcome.size}
    result["seconds"] = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # includes interpreter start and imports
    result["max_rss_mb"] = usage.ru_maxrss / 1024
    print(json.dumps(result))


def _measure(mode: str, path: Path, out: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", mode, str(path), str(out)],
                          capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=None, help="where to keep the generated input")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "INPUT", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path, out = args.child
        _child(mode, Path(path), Path(out))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-report-"))
    work.mkdir(parents=True, exist_ok=True)
    full, tenth = work / f"enriched-{args.events}.ndjson", work / f"enriched-{args.events // 10}.ndjson"
    if not full.exists():
        started = time.perf_counter()
        _generate(full, args.events)
        print(f"generated {args.events:,} synthetic enriched events in {time.perf_counter() - started:.0f} s")
    if not tenth.exists():
        with full.open("rb") as source, tenth.open("wb") as out:
            out.writelines(itertools.islice(source, args.events // 10))
    print(f"input: {full} ({full.stat().st_size / 1e9:.2f} GB, {full.stat().st_size / args.events:.0f} B/event)")
    baseline = _measure("json.loads", full, work / "unused")
    parse_only = _measure("orjson.loads", full, work / "unused")
    small = _measure("report", tenth, work / "report-tenth.html")
    report = _measure("report", full, work / "report.html")
    print(f"{'':<34}{'events':>11}{'seconds':>9}{'CPU s':>8}{'events/s':>11}{'max RSS':>10}{'page':>9}")
    for name, run, events in (("baseline: json.loads per line", baseline, args.events),
                              ("baseline: orjson.loads per line", parse_only, args.events),
                              ("botes report, first tenth", small, small["events"]),
                              ("botes report", report, report["events"])):
        page = f"{run['size'] / 1e6:.1f} MB" if "size" in run else ""
        print(f"{name:<34}{events:>11,}{run['seconds']:>9.1f}{run['cpu_seconds']:>8.1f}"
              f"{events / run['seconds']:>11,.0f}{run['max_rss_mb']:>7.0f} MB{page:>9}")
    cpu = report["cpu_seconds"]
    print(f"report time / json.loads time: {report['seconds'] / baseline['seconds']:.2f}x, "
          f"/ orjson.loads time: {report['seconds'] / parse_only['seconds']:.2f}x (CPU time: "
          f"{cpu / baseline['cpu_seconds']:.2f}x, {cpu / parse_only['cpu_seconds']:.2f}x); "
          f"max RSS at {args.events:,} / at {args.events // 10:,} events: "
          f"{report['max_rss_mb'] / small['max_rss_mb']:.2f}x")


if __name__ == "__main__":
    main()
