"""Every kind of enrichment marked in the index, through the real Flink job.

One synthetic Suricata fileinfo event: its internal source is a Scanner asset, its public destination is
in a local threat list, and its file's SHA-256 is one VirusTotal reports as malicious (a recorded real
VirusTotal response, served by a loopback HTTP server the job's VirusTotal client is pointed at).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from pipeline.index.documents import storage_pattern
from pipeline.index.writer import open_client
from tests.conftest import DATA, isolated, settings_with
from tests.fakes.provider import ProviderServer, Reply
from tests.integration.streaming_job import (
    botes,
    index_count,
    indexed,
    produce_sentinel_events,
    streaming_job,
    wait_for,
)

pytestmark = pytest.mark.integration

MALICIOUS = "001015aafcae8a6942366cbb0e7d39c0738752a7800c41ea1c655d47b0a4d04c"  # 53 engines: virus.hill/w97m
THREAT_IP = "175.16.199.0"
SCANNER = "192.168.250.100"
EVENT = {  # SYNTHETIC, in BOTES suricata form
    "timestamp": "2016-08-10T22:10:00.000000+0000", "event_type": "fileinfo", "src_ip": SCANNER,
    "src_port": 51000, "dest_ip": THREAT_IP, "dest_port": 80, "proto": "TCP", "app_proto": "http",
    "http": {"hostname": "files.example", "url": "/invoice.doc"},
    "fileinfo": {"filename": "/invoice.doc", "size": 40960, "sha256": MALICIOUS, "stored": False},
}


def test_threat_list_virustotal_and_scanner_asset_are_all_marked(
        services: object, provider: ProviderServer, tmp_path: Path) -> None:
    provider.reply(f"/api/v3/files/{MALICIOUS}",
                   Reply.file(DATA / "providers" / "virustotal" / f"{MALICIOUS}.json"))
    blocklist = tmp_path / "blocklist.txt"
    blocklist.write_text(f"# SYNTHETIC test feed\n{THREAT_IP}\n203.0.113.0/24\n")
    source = tmp_path / "botesv1.suricata.json"
    source.write_text(json.dumps(EVENT) + "\n")
    env = {**isolated(f"enr{uuid.uuid4().hex[:8]}"), "BOTES_INDEX__FLUSH_INTERVAL": "0.5",
           "BOTES_VIRUSTOTAL__URL": provider.url, "BOTES_VIRUSTOTAL__API_KEY": "test-key-not-real",
           "BOTES_THREATLISTS__LISTS": json.dumps([{"path": str(blocklist), "kind": "ip", "name": "test-blocklist"}])}
    settings = settings_with(env)
    assert botes("setup", env=env).returncode == 0
    replayed = botes("replay", str(source), env=env)
    assert replayed.returncode == 0, replayed.stderr

    log = tmp_path / "job.log"
    client = open_client(settings.index)
    with streaming_job(env, log) as job:
        wait_for(lambda: index_count(client, settings.index) >= 1, "the enriched event", job, log)
        # An event behind it in every partition: once those are indexed, so is anything replayed before.
        sentinel_ids = produce_sentinel_events(settings, [f"{settings.kafka.topic_prefix}ids"])
        wait_for(lambda: indexed(client, settings.index, sentinel_ids) == len(sentinel_ids),
                 "the sentinel events", job, log)
        hits = client.search(index=storage_pattern(settings.index), size=100, query={"match_all": {}})["hits"]["hits"]
    documents = [hit["_source"] for hit in hits if hit["_id"] not in sentinel_ids]
    assert len(hits) == len(sentinel_ids) + 1 and len(documents) == 1  # the one replayed event, once
    document = documents[0]
    assert document["event"]["original"] == json.dumps(EVENT)

    assert "Scanner" in document["botes"]["source"]["asset"]["roles"]
    enrichments = document["threat"]["enrichments"]
    listed = [e for e in enrichments if e["matched"]["atomic"] == THREAT_IP]
    assert listed and listed[0]["indicator"]["provider"] == "test-blocklist"
    assert listed[0]["matched"]["field"] == "destination.ip"
    flagged = [e for e in enrichments if e["matched"]["atomic"] == MALICIOUS]
    assert flagged and flagged[0]["indicator"]["provider"] == "virustotal"
    assert flagged[0]["matched"]["field"] == "file.hash.sha256"
    assert "failures" not in document["botes"].get("enrichment", {})
    assert len(provider.calls(f"/api/v3/files/{MALICIOUS}")) == 1
    assert all("test-key-not-real" not in line for line in log.read_text().splitlines())
