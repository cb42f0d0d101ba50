"""The SCOT side and the providers for tests that play SCOT4 (the service's integration tests and the Airflow
DAG tests): a loopback SCOT API, Shodan/Onyphe/VirusTotal answering with recorded real responses
(tests/data/providers), a loopback DNS server, synthetic threat lists, and the BOTES_* settings pointing at them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.dns_server import DnsServer
from tests.fakes.provider import ProviderServer, Reply
from tests.fakes.scot_api import ScotApi

__all__ = ["World", "scot_world", "ENTITIES", "USER", "PASSWORD", "KEY", "AUTH", "SECRETS", "GITHUB", "CLOUDFLARE",
           "SCANNER", "MALICIOUS", "MALICIOUS_MD5", "UNKNOWN_SHA1", "LISTED_HASH"]

DATA = Path(__file__).resolve().parents[1] / "data"

USER, PASSWORD, KEY = "scot4-enrichment", "pw-6c1d0e", "scot-api-key-93be"
AUTH = (USER, PASSWORD)
SHODAN_KEY, ONYPHE_KEY, VT_KEY = "shodan-key-11aa", "onyphe-key-22bb", "vt-key-33cc"
SECRETS = (PASSWORD, KEY, SHODAN_KEY, ONYPHE_KEY, VT_KEY)

GITHUB, CLOUDFLARE, SCANNER = "140.82.121.4", "1.1.1.1", "192.168.250.100"
MALICIOUS = "001015aafcae8a6942366cbb0e7d39c0738752a7800c41ea1c655d47b0a4d04c"  # VirusTotal: 53 engines
MALICIOUS_MD5 = "b214da9f6b0d6e6de5090b3f9672defe"                                 # the same file's MD5
UNKNOWN_SHA1 = "0123456789abcdef0123456789abcdef01234567"
LISTED_HASH = "ab" * 32


@dataclass
class World:
    scot: ScotApi
    shodan: ProviderServer
    onyphe: ProviderServer
    virustotal: ProviderServer
    dns: DnsServer
    env: dict[str, str]


@contextmanager
def scot_world(tmp_path: Path, env: dict[str, str]) -> Iterator[World]:
    """Everything running, and the settings (``env`` added) a `botes` process or a DAG needs to use it."""
    scot = ScotApi(KEY).start()
    shodan = ProviderServer().start()
    onyphe = ProviderServer().start()
    virustotal = ProviderServer(Reply(404, (DATA / "providers" / "virustotal" / "not_found.json").read_bytes())).start()
    dns = DnsServer().start()
    try:
        shodan.reply(f"/shodan/host/{GITHUB}", Reply.file(DATA / "providers" / "shodan" / "140.82.121.4_shodan.json"))
        shodan.reply(f"/shodan/host/{CLOUDFLARE}", Reply.file(DATA / "providers" / "shodan" / "1.1.1.1_shodan.json"))
        onyphe.reply(f"/summary/ip/{CLOUDFLARE}", Reply.file(DATA / "providers" / "onyphe" / "summary_ip_1.1.1.1.json"))
        onyphe.reply(f"/summary/ip/{GITHUB}", Reply(500, b'{"error": 1, "text": "internal error"}'))
        report = DATA / "providers" / "virustotal" / f"{MALICIOUS}.json"
        for name in (MALICIOUS, MALICIOUS_MD5):
            virustotal.reply(f"/api/v3/files/{name}", Reply.file(report))
        dns.ptr(GITHUB, "lb-140-82-121-4-fra.github.com.")
        dns.ptr(CLOUDFLARE, "one.one.one.one.")
        dns.ptr(SCANNER, "nessus01.corp.example.")
        ips, domains, hashes = tmp_path / "ips.txt", tmp_path / "domains.txt", tmp_path / "hashes.txt"
        ips.write_text("# SYNTHETIC test list\n140.82.121.0/24\n")
        domains.write_text("# SYNTHETIC test list\nevil.example\n")
        hashes.write_text(f"# SYNTHETIC test list\n{LISTED_HASH}\n{MALICIOUS}\n")
        env = {
            **env,
            "BOTES_SCOT__USERNAME": USER, "BOTES_SCOT__PASSWORD": PASSWORD,
            "BOTES_SCOT__API_KEYS": json.dumps({scot.host: KEY}),
            "BOTES_SHODAN__URL": shodan.url, "BOTES_SHODAN__API_KEY": SHODAN_KEY,
            "BOTES_ONYPHE__URL": onyphe.url, "BOTES_ONYPHE__API_KEY": ONYPHE_KEY,
            "BOTES_VIRUSTOTAL__URL": virustotal.url, "BOTES_VIRUSTOTAL__API_KEY": VT_KEY,
            "BOTES_VIRUSTOTAL__RATE": "100", "BOTES_VIRUSTOTAL__BURST": "100",
            "BOTES_RDNS__ENABLED": "true", "BOTES_RDNS__NAMESERVERS": '["127.0.0.1"]',
            "BOTES_RDNS__PORT": str(dns.port),
            "BOTES_THREATLISTS__LISTS": json.dumps([
                {"path": str(ips), "kind": "ip", "name": "test-ips"},
                {"path": str(domains), "kind": "domain", "name": "test-domains"},
                {"path": str(hashes), "kind": "hash", "name": "test-hashes"}]),
            "BOTES_SCOT__CALLBACK_BACKOFF": "0.05",
        }
        yield World(scot, shodan, onyphe, virustotal, dns, env)
    finally:
        for server in (scot, shodan, onyphe, virustotal, dns):
            server.stop()


# (entity id, type, value, the tabs SCOT should get)
ENTITIES = [
    (1, "ipaddr", GITHUB, {"Reverse DNS", "GeoIP/ASN", "Threat lists", "Shodan host", "Onyphe"}),
    (2, "ipaddr", SCANNER, {"Internal asset", "Reverse DNS", "Threat lists"}),
    (3, "ipaddr", CLOUDFLARE, {"Reverse DNS", "GeoIP/ASN", "Threat lists", "Shodan host", "Onyphe"}),
    (4, "sha256", MALICIOUS, {"Threat lists", "VirusTotal file report"}),
    (5, "md5", MALICIOUS_MD5, {"Threat lists", "VirusTotal file report"}),
    (6, "sha1", UNKNOWN_SHA1, {"Threat lists", "VirusTotal file report"}),
    (7, "domain", "www.evil.example", {"Threat lists"}),
]
