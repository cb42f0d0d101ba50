"""Redis restarted in the middle of a run on the cluster, and every external API failing (500, 429 with
Retry-After, or hanging): every event is still indexed, exactly once, and each failed lookup is marked on
the event it was for. The job's lookup-failure metric, scraped from Prometheus, counts those marks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis

from pipeline.addresses import AddressClassifier, Scope
from pipeline.events import Rejected, document_id
from pipeline.normalize import Normalizer, read_lines
from tests.fakes.provider import ProviderServer, Reply
from tests.integration.cluster_support import ClusterJob, botes, check_delivery, cluster_env, publish, write_botes_files

pytestmark = pytest.mark.integration

HASHES = [f"{n:064x}" for n in range(1, 11)]  # SYNTHETIC sha256 values


def write_file_transfers(directory: Path, count: int, hashes: list[str]) -> dict[str, dict[str, Any]]:
    """SYNTHETIC Suricata fileinfo events (a file hash for VirusTotal, a public address for the others)."""
    directory.mkdir(parents=True)
    path = directory / "botesv1.suricata.json"
    with path.open("w") as out:
        for n in range(count):
            out.write(json.dumps({
                "timestamp": f"2016-08-10T23:{n // 60 % 60:02d}:{n % 60:02d}.000000+0000", "event_type": "fileinfo",
                "src_ip": "192.168.250.100", "src_port": 40000 + n, "dest_ip": "81.2.69.160", "dest_port": 80,
                "proto": "TCP", "fileinfo": {"filename": f"/synthetic/{directory.name}/{n}.bin", "size": n,
                                             "sha256": hashes[n % len(hashes)]}}) + "\n")
    normalizer = Normalizer()
    expected = {}
    for number, line in read_lines(path):
        event = normalizer.normalize_line(line, "suricata", f"{path}:{number}")
        assert not isinstance(event, Rejected)
        expected[document_id(event)] = event
    return expected


def paid_lookups(document: dict[str, Any], classifier: AddressClassifier) -> set[str]:
    """The paid sources that had something to look up in this event."""
    wanted = set()
    for side in ("source", "destination"):
        ip = document.get(side, {}).get("ip")
        if ip and classifier.scope(ip) is Scope.PUBLIC:
            wanted |= {"shodan", "onyphe"}
    if document.get("file", {}).get("hash", {}).get("sha256"):
        wanted.add("virustotal")
    return wanted


def test_redis_restart_and_failing_apis_lose_nothing_and_mark_every_failed_lookup(
        flink_cluster: Any, services: Any, tmp_path: Path) -> None:
    shodan = ProviderServer(default=Reply(500, b'{"error": "internal"}')).start()
    onyphe = ProviderServer(default=Reply(429, b'{"error": 429}', {"Content-Type": "application/json",
                                                                     "Retry-After": "2"})).start()
    virustotal = ProviderServer(default=Reply(200, b"{}", hang=5.0)).start()
    api = {"RATE": "1000", "BURST": "1000", "API_KEY": "synthetic-key-not-real", "TIMEOUT": "1"}
    env = cluster_env("degraded", flink_cluster, BOTES_REDIS__SOCKET_TIMEOUT="0.5",
                      **{f"BOTES_{name}__{key}": value for name in ("SHODAN", "ONYPHE", "VIRUSTOTAL")
                         for key, value in api.items()},
                      BOTES_SHODAN__URL=shodan.url, BOTES_ONYPHE__URL=onyphe.url, BOTES_VIRUSTOTAL__URL=virustotal.url)
    job = ClusterJob(flink_cluster, env)
    expected = write_botes_files(tmp_path / "input", 2_000, seed="degraded")
    expected |= write_file_transfers(tmp_path / "transfers", 200, HASHES[:5])
    # Hashes first seen after Redis is back: their lookups must go through Redis again.
    later = write_file_transfers(tmp_path / "later", 100, HASHES[5:])
    assert botes("setup", env=job.env).returncode == 0
    publish(job.settings, tmp_path / "input")
    publish(job.settings, tmp_path / "transfers")
    job.submit()
    try:
        job.wait(lambda: job.indexed() >= len(expected) // 3, "a third of the events in the index")
        services.stop_redis()
        down_at = job.indexed()
        # Relative to what was indexed when Redis went: a bulk answer can carry the count past any fixed mark.
        job.wait(lambda: job.indexed() > down_at, "events indexed while Redis is away")
        services.start_redis()
        up_at = job.indexed()
        print(f"Redis stopped at {down_at} indexed, started again at {up_at}")
        assert down_at < up_at, "events must be indexed while Redis is away"
        # ... and after: these are published only now that Redis is back.
        publish(job.settings, tmp_path / "later")
        expected |= later
        job.wait(lambda: job.indexed() >= len(expected), "every event in the index")
        documents = check_delivery(job, expected)
    finally:
        services.start_redis()  # idempotent: other tests need it
        for server in (shodan, onyphe, virustotal):
            server.stop()

    try:
        classifier = AddressClassifier()
        reasons: dict[str, set[str]] = {"shodan": set(), "onyphe": set(), "virustotal": set()}
        marks = 0
        for doc_id, document in documents.items():
            failures = document.get("botes", {}).get("enrichment", {}).get("failures", [])
            marks += len(failures)
            failed = {failure["source"] for failure in failures}
            assert paid_lookups(document, classifier) <= failed, f"{doc_id}: an unanswered lookup is not marked"
            for failure in failures:
                assert failure["reason"] and failure["field"], failure
                reasons.setdefault(failure["source"], set()).add(failure["reason"])
        print(f"failure marks: {marks}; reasons: {reasons}")
        # Each provider was really asked, and failed the way it was told to (circuit breakers, Redis being
        # away and cached failures account for the other reasons).
        assert shodan.calls() and onyphe.calls() and virustotal.calls()
        assert "http 500" in reasons["shodan"]
        assert "http 429" in reasons["onyphe"]
        assert "timeout" in reasons["virustotal"]
        # Redis keeps nothing across a restart here (no persistence): the failed lookups of the hashes sent
        # after it are there, so the job went back to Redis once it answered again.
        cache = redis.Redis.from_url(job.settings.redis.url, decode_responses=True)
        cached = {key.rsplit(":", 1)[1] for key in cache.scan_iter(f"{job.settings.redis.key_prefix}:virustotal:*")}
        assert set(HASHES[5:]) <= cached, cached

        port = flink_cluster.metrics_ports[flink_cluster.taskmanagers[-1].name]
        job.wait(lambda: job.metrics(port).get("events_in", 0) >= len(expected), "the job's metrics", 60)
        metrics = job.metrics(port)
        print({name: metrics[name] for name in ("events_in", "documents_indexed", "lookup_failures",
                                                 "cache_hit_ratio_percent")})
        assert metrics["events_in"] == metrics["documents_indexed"] == len(expected)
        assert metrics["lookup_failures"] == marks
    finally:
        job.cancel()
