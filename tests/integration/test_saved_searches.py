"""The Kibana saved searches, run unchanged (``query_string``, as Kibana sends Lucene queries) against an index
filled by the real job, and the dashboards' botes.* fields as the index really maps them.

Input (SYNTHETIC, BOTES form): one event per case, each with its own source port so that a hit names its case.
Threat list, VirusTotal (recorded real answers) and Shodan (a synthetic answer) are local: a file feed and a
loopback HTTP server the job's clients are pointed at. The bundled assets table has 192.168.250.100 as a
Scanner, 10.10.10.10 as Red Team and 192.168.250.70 as a Critical web server.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.index.documents import index_name
from pipeline.index.writer import open_client
from pipeline.normalize import Normalizer, find_botes_files, read_lines
from tests.conftest import DATA, isolated, settings_with
from tests.fakes.provider import ProviderServer, Reply
from tests.integration.streaming_job import botes, streaming_job, wait_for
from tests.unit.test_kibana_objects import all_uses, by_type

pytestmark = pytest.mark.integration

MALICIOUS = "001015aafcae8a6942366cbb0e7d39c0738752a7800c41ea1c655d47b0a4d04c"  # 53 engines
CLEAN = "0001a1252300b4732e4a010a5dd13a291dcb8b0ebee6febedb5152dfb0bcd488"      # 0 engines
BROKEN = "b" * 64                                                               # VirusTotal answers 500
LISTED_IP, SCANNER, RED_TEAM, CRITICAL = "175.16.199.0", "192.168.250.100", "10.10.10.10", "192.168.250.70"
SHODAN_IP = "81.2.69.160"
LOCATED_IP = "89.160.20.112"  # in MaxMind's test City database (Linköping): a source with a map location
SHODAN_ANSWER = {  # SYNTHETIC Shodan host answer (the fields the enricher reads)
    "ip_str": SHODAN_IP, "ports": [22, 443], "hostnames": ["synthetic.example"], "org": "Synthetic Org",
    "vulns": ["CVE-2016-0001"], "data": [{"port": 443, "vulns": {"CVE-2016-0002": {}}}],
    "last_update": "2016-08-10T00:00:00.000000",
}


def suricata(port: int, src: str, dest: str, sha256: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"timestamp": "2016-08-10T22:10:00.000000+0000", "event_type": "fileinfo",
                             "src_ip": src, "src_port": port, "dest_ip": dest, "dest_port": 80, "proto": "TCP",
                             "app_proto": "http", "http": {"hostname": "files.example", "url": "/f"}}
    if sha256:
        event["fileinfo"] = {"filename": "/f", "size": 1024, "sha256": sha256, "stored": False}
    return event


SURICATA_CASES = {            # source port -> event
    50001: suricata(50001, "192.168.1.20", LISTED_IP),                   # threat list
    50002: suricata(50002, "192.168.1.20", "203.0.114.9", MALICIOUS),    # VirusTotal detection
    50003: suricata(50003, "192.168.1.20", "203.0.114.9", CLEAN),        # VirusTotal: clean, no detection
    50004: suricata(50004, SCANNER, "203.0.114.9"),                      # from a Scanner
    50005: suricata(50005, LOCATED_IP, SCANNER),                         # *to* a Scanner: not "from"
    50006: suricata(50006, "192.168.1.20", "203.0.114.9", BROKEN),       # enrichment failure
    50007: suricata(50007, CRITICAL, SHODAN_IP),                         # from a Critical asset, to a Shodan host
    50008: suricata(50008, "192.168.1.20", "203.0.114.9"),               # nothing to find
}
IIS_RED_TEAM_PORT = 50009      # stands for the IIS request from the Red Team host (client.ip and source.ip)

# What each saved search must return, by source port.
EXPECTED = {
    "Threat-list matches": {50001},
    "VirusTotal detections": {50002},
    "Events from Scanner or Red Team assets": {50004, IIS_RED_TEAM_PORT},
    "Enrichment failures": {50006},
}


def iis_line() -> dict[str, Any]:
    golden = json.loads((Path(__file__).parents[1] / "golden" / "iis" / "input.jsonl").read_text().splitlines()[0])
    return {**golden, "c_ip": RED_TEAM}


@dataclass
class Filled:
    client: Elasticsearch
    indices: str
    count: int


@pytest.fixture(scope="module")
def filled(services: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Filled]:
    tmp = tmp_path_factory.mktemp("saved-searches")
    # Shodan's answer for a host it does not know; VirusTotal fails (500) for BROKEN only.
    provider = ProviderServer(default=Reply(404, b'{"error": "No information available for that IP."}')).start()
    provider.reply(f"/api/v3/files/{BROKEN}", Reply(500, b'{"error": {"code": "ServerError"}}'))
    provider.reply(f"/api/v3/files/{MALICIOUS}", Reply.file(DATA / "providers" / "virustotal" / f"{MALICIOUS}.json"))
    provider.reply(f"/api/v3/files/{CLEAN}", Reply.file(DATA / "providers" / "virustotal" / f"{CLEAN}.json"))
    provider.reply(f"/shodan/host/{SHODAN_IP}", Reply(200, json.dumps(SHODAN_ANSWER).encode()))
    blocklist = tmp / "blocklist.txt"
    blocklist.write_text(f"# SYNTHETIC test feed\n{LISTED_IP}\n")
    inputs = tmp / "botes"
    inputs.mkdir()
    (inputs / "botesv1.suricata.json").write_text("".join(json.dumps(e) + "\n" for e in SURICATA_CASES.values()))
    (inputs / "botesv1.iis.json").write_text(json.dumps(iis_line()) + "\n")
    env = {**isolated(f"ks{uuid.uuid4().hex[:8]}"), "BOTES_INDEX__FLUSH_INTERVAL": "0.5",
           "BOTES_ENRICHERS": json.dumps(["assets", "geoip", "threatlists", "shodan", "virustotal"]),
           "BOTES_VIRUSTOTAL__URL": provider.url, "BOTES_VIRUSTOTAL__API_KEY": "test-key-not-real",
           "BOTES_VIRUSTOTAL__BREAKER_FAILURES": "100", "BOTES_VIRUSTOTAL__RATE": "100",
           "BOTES_VIRUSTOTAL__BURST": "100",
           "BOTES_SHODAN__URL": provider.url, "BOTES_SHODAN__API_KEY": "test-key-not-real",
           "BOTES_THREATLISTS__LISTS": json.dumps([{"path": str(blocklist), "kind": "ip", "name": "test-list"}])}
    settings = settings_with(env)
    # The indices the job writes to, by its own naming (follows a change of index naming).
    normalizer = Normalizer()
    names = {index_name(normalizer.normalize_line(line, f.source_type, "x"), settings.index,  # type: ignore[arg-type]
                        settings.kafka.routing)
             for f in find_botes_files([inputs]) for _, line in read_lines(f.path)}
    indices = ",".join(sorted(names))
    assert botes("setup", env=env).returncode == 0
    replayed = botes("replay", str(inputs), env=env)
    assert replayed.returncode == 0, replayed.stderr
    client = open_client(settings.index)
    total = len(SURICATA_CASES) + 1

    def indexed() -> int:
        client.indices.refresh(index=indices, ignore_unavailable=True)
        return int(client.count(index=indices, ignore_unavailable=True)["count"])

    log = tmp / "job.log"
    try:
        with streaming_job(env, log) as job:
            wait_for(lambda: indexed() >= total, f"{total} enriched events", job, log)
    finally:
        provider.stop()
    yield Filled(client, indices, indexed())


def saved_search_query(title: str) -> str:
    (search,) = [s for s in by_type("search") if s["attributes"]["title"] == title]
    source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    query: str = source["query"]["query"]
    return query


def source_ports(filled: Filled, query: dict[str, Any]) -> set[int]:
    """The cases a query finds: the Suricata events by their source port, the IIS event as IIS_RED_TEAM_PORT."""
    hits = filled.client.search(index=filled.indices, query=query, size=100)["hits"]["hits"]
    return {IIS_RED_TEAM_PORT if hit["_source"]["event"]["dataset"] == "iis" else int(hit["_source"]["source"]["port"])
            for hit in hits}


def test_every_input_event_was_indexed(filled: Filled) -> None:
    assert filled.count == len(SURICATA_CASES) + 1
    every = source_ports(filled, {"match_all": {}})
    assert every == {*SURICATA_CASES, IIS_RED_TEAM_PORT}


@pytest.mark.parametrize("title", sorted(EXPECTED))
def test_each_saved_search_returns_exactly_its_events(filled: Filled, title: str) -> None:
    # What Kibana sends for a Lucene query (its default query:queryString:options).
    query = {"query_string": {"query": saved_search_query(title), "analyze_wildcard": True}}
    assert source_ports(filled, query) == EXPECTED[title]


def field_caps(filled: Filled, fields: list[str]) -> dict[str, dict[str, Any]]:
    # GET with the fields in the query string (the client's field_caps() sends a body osmem-server refuses).
    response = filled.client.perform_request("GET", f"/{filled.indices}/_field_caps",
                                             params={"fields": ",".join(fields)},
                                             headers={"accept": "application/json"})
    caps: dict[str, dict[str, Any]] = response.body["fields"]
    return caps


def test_the_panels_botes_fields_exist_in_the_index_with_the_type_their_panel_needs(filled: Filled) -> None:
    from tests.unit.test_kibana_objects import NEEDS

    uses = [u for u in all_uses() if u.field.startswith("botes.")]
    caps = field_caps(filled, sorted({u.field for u in uses}))
    for use in uses:
        assert use.field in caps, f"{use.where}: the job's documents have no {use.field}"
        kinds = set(caps[use.field])
        wanted = NEEDS[use.need]
        assert wanted is None or kinds <= wanted, f"{use.where}: {use.field} is {kinds}, needs {sorted(wanted)}"
        if use.need in ("keyword", "number"):
            assert all(c["aggregatable"] for c in caps[use.field].values()), use.field


def test_the_map_fields_are_geo_points_in_the_index(filled: Filled) -> None:
    caps = field_caps(filled, ["source.geo.location", "destination.geo.location"])
    assert set(caps["source.geo.location"]) == {"geo_point"}
    assert set(caps["destination.geo.location"]) == {"geo_point"}
    # The map layers' documents: the cases with a located (public, in the test database) address on that side.
    assert source_ports(filled, {"exists": {"field": "source.geo.location"}}) == {50005}
    assert source_ports(filled, {"exists": {"field": "destination.geo.location"}}) == {50001, 50007}
