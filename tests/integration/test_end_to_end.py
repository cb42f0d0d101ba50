"""The whole slice for real: replay -> Kafka (tansu) -> PyFlink job -> Redis cache -> index (osmem).

One job run serves every test in this module (starting Flink costs ~10 s); each test checks one
promise of that run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from pipeline.config import Settings
from pipeline.events import document_id
from pipeline.index.documents import storage_pattern
from pipeline.index.writer import open_client
from tests.conftest import isolated, settings_with
from tests.integration.kafka_topics import SENTINEL, read_to_end, read_until
from tests.integration.streaming_job import (
    INPUTS,
    TIMEOUT,
    UNINDEXABLE,
    as_event,
    botes,
    expected_events,
    index_count,
    indexed,
    produce_one,
    produce_sentinel_events,
    produce_to_every_partition,
    wait_for,
)

pytestmark = pytest.mark.integration

@dataclass
class KafkaRun:
    settings: Settings
    env: dict[str, str]
    documents: dict[str, dict[str, Any]]          # _id -> _source
    replay_first: subprocess.CompletedProcess[str]
    count_after_second_replay: int
    dead_letters: list[dict[str, Any]]            # the whole dead-letter topic
    garbage_sent: int
    parse_sentinels: int
    job_log: str
    redis_keys: dict[str, int] = field(default_factory=dict)  # key -> TTL


@pytest.fixture(scope="module")
def kafka_run(services: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaRun]:
    env = {**isolated(f"e2e{uuid.uuid4().hex[:8]}"), "BOTES_INDEX__FLUSH_INTERVAL": "0.5",
           "BOTES_KAFKA__PARTITIONS": "2", "BOTES_FLINK__CHECKPOINT_INTERVAL": "2"}
    settings = settings_with(env)
    client = open_client(settings.index)
    good, rejected = expected_events()
    family_topics = [f"{settings.kafka.topic_prefix}firewall", f"{settings.kafka.topic_prefix}ids"]

    setup = botes("setup", env=env)
    assert setup.returncode == 0, setup.stderr
    first = botes("replay", *map(str, INPUTS), env=env)
    garbage = produce_to_every_partition(settings, family_topics, "this is not JSON")
    produce_one(settings, family_topics[1], json.dumps(UNINDEXABLE))

    log = tmp_path_factory.mktemp("job") / "job.log"
    with log.open("w") as log_file:
        job = subprocess.Popen([sys.executable, "-m", "pipeline", "run"], env={**os.environ, **env},
                               stdout=log_file, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_for(lambda: index_count(client, settings.index) >= len(good), "the first replay", job, log)
        second = botes("replay", *map(str, INPUTS), env=env)
        assert second.returncode == first.returncode
        # Sentinels behind the second replay in every partition: an indexable event, and a line that is
        # not JSON. Once all are indexed and dead-lettered, the job has read past every replayed event.
        sentinel_ids = produce_sentinel_events(settings, family_topics)
        parse_sentinels = produce_to_every_partition(settings, family_topics, SENTINEL)
        wait_for(lambda: indexed(client, settings.index, sentinel_ids) == len(sentinel_ids),
                 "the sentinel events behind the second replay", job, log)
        bootstrap, dead_letter_topic = settings.kafka.bootstrap_servers, settings.kafka.dead_letter_topic
        read_until(bootstrap, dead_letter_topic, lambda read: sum(
            json.loads(v).get("raw", "").startswith(f"{SENTINEL} ") for v in read) == parse_sentinels and any(
            json.loads(v).get("stage") == "index" for v in read), "the sentinels' and the refused document's "
            "dead letters", TIMEOUT)
        dead = read_to_end(bootstrap, dead_letter_topic)
        count_after_second = index_count(client, settings.index) - len(sentinel_ids)
        hits = client.search(index=storage_pattern(settings.index), size=1000, query={"match_all": {}})
        documents = {hit["_id"]: as_event(hit["_source"]) for hit in hits["hits"]["hits"]
                     if hit["_id"] not in sentinel_ids}
        cache = redis.Redis.from_url(settings.redis.url, decode_responses=True)
        keys = {key: int(cache.ttl(key)) for key in cache.scan_iter(f"{settings.redis.key_prefix}:*")}
    finally:
        os.killpg(job.pid, signal.SIGTERM)
        job.wait(30)
    yield KafkaRun(settings, env, documents, first, count_after_second,
                   [json.loads(d) for d in dead], garbage, parse_sentinels, log.read_text(), keys)


def test_every_event_is_indexed_exactly_once(kafka_run: KafkaRun) -> None:
    good, _ = expected_events()
    assert len(good) == 300 + 2  # the sample, and the two good lines among the bad input
    assert set(kafka_run.documents) == set(good)
    assert len(kafka_run.documents) == len(good)


def test_a_second_replay_adds_no_documents(kafka_run: KafkaRun) -> None:
    good, _ = expected_events()
    assert kafka_run.count_after_second_replay == len(good)


def _by_ip(documents: dict[str, dict[str, Any]], side: str, ip: str) -> list[dict[str, Any]]:
    found = [d for d in documents.values() if d.get(side, {}).get("ip") == ip]
    assert found, f"no indexed event has {side}.ip {ip}"
    return found


@pytest.mark.parametrize("ip, geo, asn", [
    ("81.2.69.160", {"country_iso_code": "GB", "city_name": "London", "region_iso_code": "GB-ENG",
                     "location": {"lat": 51.5142, "lon": -0.0931}}, None),
    ("89.160.20.112", {"country_iso_code": "SE", "city_name": "Linköping"},
     {"number": 29518, "organization": {"name": "Bredband2 AB"}}),
    ("216.160.83.56", {"country_iso_code": "US", "city_name": "Milton", "region_iso_code": "US-WA"},
     {"number": 209}),
    ("175.16.199.0", {"country_iso_code": "CN", "city_name": "Changchun",
                      "location": {"lat": 43.88, "lon": 125.3228}}, None),
    ("1.128.0.0", None, {"number": 1221, "organization": {"name": "Telstra Pty Ltd"}}),
    ("2001:218::1", {"country_iso_code": "JP"}, None),
    ("2001:1700::1", None, {"number": 6730, "organization": {"name": "Sunrise Communications AG"}}),
    ("8.8.8.8", None, None),
])
def test_public_addresses_carry_the_maxmind_test_answers(
        kafka_run: KafkaRun, ip: str, geo: dict[str, Any] | None, asn: dict[str, Any] | None) -> None:
    sides = [(side, d) for d in kafka_run.documents.values() for side in ("source", "destination")
             if d.get(side, {}).get("ip") == ip]
    assert sides, f"no indexed event has {ip}"
    for side, document in sides:
        endpoint = document[side]
        if geo is None:
            assert "geo" not in endpoint
        else:
            assert {k: endpoint["geo"].get(k) for k in geo} == geo
        assert endpoint.get("as") == asn


@pytest.mark.parametrize("ip, criticality, roles", [
    ("192.168.250.70", "Critical", ["Web server"]),
    ("192.168.250.100", "Medium", ["Scanner"]),
    ("10.10.10.10", "Low", ["Red Team"]),
    ("192.168.250.20", "Medium", None),
    ("fd00:10::10", "Critical", ["Domain controller"]),
])
def test_internal_addresses_carry_their_asset_classification(
        kafka_run: KafkaRun, ip: str, criticality: str, roles: list[str] | None) -> None:
    sides = [(side, d) for d in kafka_run.documents.values() for side in ("source", "destination")
             if d.get(side, {}).get("ip") == ip]
    assert sides, f"no indexed event has {ip}"
    for side, document in sides:
        asset = document["botes"][side]["asset"]
        assert asset["criticality"] == criticality
        assert asset.get("roles") == roles


def test_private_addresses_get_no_geo_and_public_ones_no_asset(kafka_run: KafkaRun) -> None:
    from pipeline.addresses import AddressClassifier, Scope

    classifier = AddressClassifier()
    checked = 0
    for document in kafka_run.documents.values():
        for side in ("source", "destination"):
            ip = document.get(side, {}).get("ip")
            if ip is None:
                continue
            if classifier.scope(ip) is Scope.INTERNAL:
                assert "geo" not in document[side] and "as" not in document[side], document[side]
                checked += 1
            else:
                assert side not in document.get("botes", {}) or "asset" not in document["botes"][side]
    assert checked > 100


def test_the_index_maps_addresses_as_ip_and_locations_as_geo_point(kafka_run: KafkaRun) -> None:
    client = open_client(kafka_run.settings.index)
    pattern = storage_pattern(kafka_run.settings.index)
    in_subnet = client.count(index=pattern, query={"term": {"source.ip": "192.168.250.0/24"}})["count"]
    expected = sum(1 for d in kafka_run.documents.values()
                   if d.get("source", {}).get("ip", "").startswith("192.168.250."))
    assert in_subnet == expected > 0
    near_london = client.count(index=pattern, query={"geo_distance": {
        "distance": "50km", "destination.geo.location": {"lat": 51.5, "lon": -0.1}}})["count"]
    assert near_london == len(_by_ip(kafka_run.documents, "destination", "81.2.69.160"))


def test_redis_holds_each_lookup_once_with_a_ttl(kafka_run: KafkaRun) -> None:
    keys = kafka_run.redis_keys
    prefix = kafka_run.settings.redis.key_prefix
    assert f"{prefix}:geoip:v1:81.2.69.160" in keys
    assert f"{prefix}:assets:v1:192.168.250.70" in keys
    assert f"{prefix}:geoip:v1:8.8.8.8" in keys  # "not found" is cached too, for the negative TTL
    assert all(ttl > 0 for ttl in keys.values()), keys
    assert keys[f"{prefix}:geoip:v1:81.2.69.160"] > 6 * 86400  # geoip.ttl is 7 days
    assert keys[f"{prefix}:geoip:v1:8.8.8.8"] <= 86400          # geoip.negative_ttl is 1 day
    assert not any(k.startswith(f"{prefix}:geoip:v1:192.168.") for k in keys)


def test_bad_input_is_reported_with_reasons_and_sent_to_dead_letters(kafka_run: KafkaRun) -> None:
    _, rejected = expected_events()
    reasons = " ".join(r.reason for r in rejected)
    assert "not JSON" in reasons and "not a JSON object" in reasons and "not UTF-8" in reasons
    assert "unknown source type 'stream-unknown'" in reasons
    assert kafka_run.replay_first.returncode == 1
    for r in rejected:
        assert f"{r.location}: {r.reason}" in kafka_run.replay_first.stderr
    stages = [d["stage"] for d in kafka_run.dead_letters]
    assert stages.count("normalize") == 2 * len(rejected)  # both replays
    assert stages.count("parse") == kafka_run.garbage_sent + kafka_run.parse_sentinels
    assert len(stages) == 2 * len(rejected) + kafka_run.garbage_sent + kafka_run.parse_sentinels + 1
    normalized = [d for d in kafka_run.dead_letters if d["stage"] == "normalize"]
    assert sorted((d["location"], d["reason"]) for d in normalized) == sorted(
        (r.location, r.reason) for r in [*rejected, *rejected])
    refused = [d for d in kafka_run.dead_letters if d["stage"] == "index"]
    assert len(refused) == 1 and as_event(json.loads(refused[0]["raw"])) == UNINDEXABLE
    assert refused[0]["reason"].startswith("400 ") and "source.port" in refused[0]["reason"]
    assert all(d["reason"] for d in kafka_run.dead_letters)
    garbage_ip = [d for d in kafka_run.documents.values() if '"not-an-ip"' in d["event"]["original"]]
    assert len(garbage_ip) == 1
    assert "source" not in garbage_ip[0] or "ip" not in garbage_ip[0]["source"]
    assert any("not-an-ip" in e for e in garbage_ip[0]["botes"]["normalize"]["errors"])


def test_embedded_mode_gives_the_same_documents_as_the_kafka_path(
        kafka_run: KafkaRun, tmp_path: Path) -> None:
    output = tmp_path / "enriched.ndjson"
    result = botes("run", *(arg for path in INPUTS for arg in ("--input", str(path))),
                   "--output", str(output), env={})
    _, rejected = expected_events()
    assert result.returncode == 1, result.stderr  # the bad lines are reported
    assert f"{len(rejected)} rejected" in result.stderr
    for r in rejected:  # with the same file:line as `botes replay` gives
        assert f"{r.location}: {r.reason}" in result.stderr
    assert "cache: memory" in result.stderr and "geoip" in result.stderr  # the lookup summary
    embedded = {document_id(d): d for d in map(json.loads, output.read_text().splitlines())}
    assert embedded.keys() == kafka_run.documents.keys()
    for doc_id, document in embedded.items():
        assert document == kafka_run.documents[doc_id], doc_id
