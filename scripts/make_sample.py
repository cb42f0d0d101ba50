"""Writes the bundled SYNTHETIC sample: pipeline/data/sample/botesv1.{fgt_traffic,suricata}.json.

The real BOTES files cannot be downloaded here. These events are made up; they use the BOTES maps'
original field names, MaxMind test-database addresses with known answers for public IPs, and the
synthetic assets table for internal ones. Deterministic: the same file every run.

    python scripts/make_sample.py [--count 150]
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "pipeline" / "data" / "sample"
PUBLIC = ["81.2.69.160", "89.160.20.112", "216.160.83.56", "175.16.199.0", "1.128.0.0", "8.8.8.8",
          "2001:218::1", "2001:1700::1", "2001:480::1"]
INTERNAL = ["192.168.250.70", "192.168.250.100", "192.168.250.20", "192.168.2.50", "10.10.10.10",
            "172.16.0.5", "fd00:10::10", "fd00:10::99"]
START = datetime(2016, 8, 10, 21, 0, tzinfo=UTC)


def _pair(rng: random.Random) -> tuple[str, str]:
    """An internal and a public address of the same IP version, in a random direction."""
    v6 = rng.random() < 0.25
    inside = rng.choice([ip for ip in INTERNAL if (":" in ip) == v6])
    outside = rng.choice([ip for ip in PUBLIC if (":" in ip) == v6])
    return (inside, outside) if rng.random() < 0.7 else (outside, inside)


def fgt_traffic(rng: random.Random, n: int) -> dict[str, object]:
    src, dst = _pair(rng)
    moment = START + timedelta(seconds=7 * n)
    service, port = rng.choice([("HTTPS", 443), ("HTTP", 80), ("DNS", 53), ("SSH", 22)])
    proto = "17" if service == "DNS" else "6"
    action = rng.choice(["accept", "accept", "close", "deny"])
    sent, rcvd = rng.randint(40, 90000), rng.randint(0, 900000)
    return {
        "date": moment.strftime("%Y-%m-%d"), "time": moment.strftime("%H:%M:%S"),
        "devname": "gotham-fw01", "devid": "FGT60D4614044725", "logid": "0000000013",
        "type": "traffic", "subtype": "forward", "level": "notice", "vd": "root",
        "srcip": src, "srcport": str(rng.randint(1024, 65535)), "srcintf": "internal",
        "dstip": dst, "dstport": str(port), "dstintf": "wan1",
        "sessionid": str(1_000_000 + n), "proto": proto, "action": action,
        "policyid": str(rng.choice([1, 2, 7])), "service": service, "trandisp": "snat",
        "duration": str(rng.randint(1, 300)), "sentbyte": str(sent), "rcvdbyte": str(rcvd),
        "sentpkt": str(sent // 500 + 1), "rcvdpkt": str(rcvd // 500), "app": service,
        "appcat": "Network.Service", "apprisk": "elevated",
    }


def suricata(rng: random.Random, n: int) -> dict[str, object]:
    src, dst = _pair(rng)
    moment = START + timedelta(seconds=11 * n, microseconds=rng.randint(0, 999999))
    kind = rng.choice(["alert", "alert", "http", "dns", "flow"])
    record: dict[str, object] = {
        "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"), "flow_id": 600_000_000 + n,
        "in_iface": "eth1", "event_type": kind, "src_ip": src, "src_port": rng.randint(1024, 65535),
        "dest_ip": dst, "dest_port": 53 if kind == "dns" else 80,
        "proto": "UDP" if kind == "dns" else "TCP",
    }
    if kind == "alert":
        sid, signature, category = rng.choice([
            (2008578, "ET SCAN Sipvicious Scan", "Attempted Information Leak"),
            (2012887, "ET POLICY Http Client Body contains pass= in cleartext",
             "Potential Corporate Privacy Violation"),
            (2019284, "ET ATTACK_RESPONSE Possible MS CMD Shell opened on local system",
             "Successful Administrator Privilege Gain"),
        ])
        record["alert"] = {"action": "allowed", "gid": 1, "signature_id": sid, "rev": 3,
                           "signature": signature, "category": category, "severity": rng.randint(1, 3)}
    elif kind == "http":
        record["http"] = {"hostname": "imreallynotbatman.com", "url": f"/joomla/index.php?id={n}",
                          "http_user_agent": "Mozilla/5.0 (Windows NT 6.1; WOW64)",
                          "http_method": rng.choice(["GET", "POST"]), "protocol": "HTTP/1.1",
                          "status": rng.choice([200, 303, 404]), "length": rng.randint(0, 9000)}
    elif kind == "dns":
        record["dns"] = {"type": "query", "id": rng.randint(1, 65535),
                         "rrname": rng.choice(["imreallynotbatman.com", "prankglassinebracket.jumpingcrab.com"]),
                         "rrtype": "A"}
    else:
        record["flow"] = {"pkts_toserver": rng.randint(1, 50), "pkts_toclient": rng.randint(0, 50),
                          "bytes_toserver": rng.randint(60, 9000), "bytes_toclient": rng.randint(0, 90000),
                          "start": moment.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"), "age": rng.randint(0, 60),
                          "state": "closed", "reason": "timeout"}
    if n % 4 == 0:  # some records arrive with dotted keys instead of nested objects
        record = _dotted(record)
    return record


def _dotted(record: dict[str, object], prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            flat.update(_dotted(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=150, help="events per source type")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, make in (("fgt_traffic", fgt_traffic), ("suricata", suricata)):
        rng = random.Random(f"botes-sample-{name}")
        path = args.out / f"botesv1.{name}.json"
        with path.open("w", encoding="utf-8") as f:
            for n in range(args.count):
                f.write(json.dumps(make(rng, n), separators=(",", ":")) + "\n")
        print(f"wrote {args.count} events to {path}")


if __name__ == "__main__":
    main()
