"""Redis stops in the middle of a Flink run and starts again: no event is lost, local enrichment goes on,
external lookups are skipped (and marked) while it is down and resume when it is back."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from pipeline.index.documents import storage_pattern
from pipeline.index.writer import open_client
from tests.conftest import DATA, isolated, settings_with
from tests.fakes.provider import ProviderServer, Reply
from tests.integration.streaming_job import botes, index_count, streaming_job, wait_for

pytestmark = pytest.mark.integration

HASHES = ["001015aafcae8a6942366cbb0e7d39c0738752a7800c41ea1c655d47b0a4d04c",   # before the outage
          "417c06700c3e899f0554654102fa064385bf1d3ecec32471ac488096d81bf38c",   # during it
          "0001a1252300b4732e4a010a5dd13a291dcb8b0ebee6febedb5152dfb0bcd488"]   # after it


def batch(tmp_path: Path, number: int) -> Path:
    """Two SYNTHETIC Suricata events: a file transfer (VirusTotal, GeoIP, assets) and an alert."""
    path = tmp_path / f"batch{number}" / "botesv1.suricata.json"
    path.parent.mkdir()
    events = [
        {"timestamp": f"2016-08-10T22:2{number}:00.000000+0000", "event_type": "fileinfo",
         "src_ip": "192.168.250.100", "src_port": 51000 + number, "dest_ip": "81.2.69.160", "dest_port": 80,
         "proto": "TCP", "fileinfo": {"filename": f"/f{number}.bin", "size": 1, "sha256": HASHES[number]}},
        {"timestamp": f"2016-08-10T22:2{number}:01.000000+0000", "event_type": "alert",
         "src_ip": "89.160.20.112", "src_port": 40000 + number, "dest_ip": "192.168.250.70", "dest_port": 443,
         "proto": "TCP", "alert": {"signature_id": 1, "signature": f"SYNTHETIC {number}", "severity": 2}},
    ]
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def test_redis_outage_loses_nothing(services: Any, provider: ProviderServer, tmp_path: Path) -> None:
    for sha256 in HASHES:
        provider.reply(f"/api/v3/files/{sha256}", Reply.file(DATA / "providers" / "virustotal" / f"{sha256}.json"))
    env = {**isolated(f"out{uuid.uuid4().hex[:8]}"), "BOTES_INDEX__FLUSH_INTERVAL": "0.5",
           "BOTES_REDIS__SOCKET_TIMEOUT": "0.5",
           "BOTES_VIRUSTOTAL__URL": provider.url, "BOTES_VIRUSTOTAL__API_KEY": "test-key-not-real",
           "BOTES_VIRUSTOTAL__RATE": "100", "BOTES_VIRUSTOTAL__BURST": "100"}
    settings = settings_with(env)
    client = open_client(settings.index)
    assert botes("setup", env=env).returncode == 0
    log = tmp_path / "job.log"
    try:
        with streaming_job(env, log) as job:
            for number in range(3):
                if number == 1:
                    services.stop_redis()
                if number == 2:
                    services.start_redis()
                assert botes("replay", str(batch(tmp_path, number)), env=env).returncode == 0
                wait_for(lambda n=number: index_count(client, settings.index) >= 2 * (n + 1),
                         f"batch {number}", job, log)
    finally:
        services.start_redis()  # idempotent: other tests need it

    hits = client.search(index=storage_pattern(settings.index), size=10, query={"match_all": {}})["hits"]["hits"]
    documents = {d["_source"]["source"]["port"]: d["_source"] for d in hits}
    assert len(hits) == 6  # nothing lost
    for number in range(3):
        transfer, alert = documents[51000 + number], documents[40000 + number]
        # local sources applied throughout, outage or not
        assert transfer["botes"]["source"]["asset"]["roles"] == ["Scanner"]
        assert transfer["destination"]["geo"]["city_name"] == "London"
        assert alert["source"]["as"]["number"] == 29518
        failures = transfer["botes"].get("enrichment", {}).get("failures", [])
        if number == 1:  # Redis down: the paid API is skipped, and the event says so
            assert failures == [{"source": "virustotal", "field": "file.hash.sha256", "reason": "redis unavailable"}]
            assert "virustotal" not in transfer["botes"].get("file", {})
        else:            # before and after: looked up
            assert failures == []
            assert transfer["botes"]["file"]["virustotal"]["sha256"] == HASHES[number]
    assert [c.path for c in provider.calls()] == [f"/api/v3/files/{HASHES[0]}", f"/api/v3/files/{HASHES[2]}"]
